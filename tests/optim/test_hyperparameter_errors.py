"""Bad hyperparameters raise ValueError with a message naming them.

* Optimizers PyTorch has: the same message as PyTorch's, compared with it.
* Optimizers PyTorch lacks: the message names the argument and its value.
* The convention options (lecture and paper forms) reject unknown values.
"""
import numpy as np
import pytest
import torch
from optim_utils import (
    case_id,
)

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# PyTorch's messages
# ---------------------------------------------------------------------------

TORCH_BAD = [
    ("SGD", {"lr": -1.0}), ("SGD", {"lr": -1}), ("SGD", {"momentum": -0.5}),
    ("SGD", {"weight_decay": -1.0}), ("SGD", {"nesterov": True}),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -0.5}),
    ("Adagrad", {"weight_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1e-10}),
    ("RMSprop", {"lr": -1e-2}), ("RMSprop", {"eps": -1.0}), ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -0.1}), ("RMSprop", {"alpha": -0.9}),
    ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.1}), ("Adadelta", {"rho": -0.1}),
    ("Adadelta", {"eps": -1e-6}), ("Adadelta", {"weight_decay": -1}),
    ("Adam", {"lr": -1e-3}), ("Adam", {"eps": -1e-8}), ("Adam", {"betas": (1.0, 0.0)}),
    ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"betas": (-0.1, 0.9)}),
    ("Adam", {"weight_decay": -1}), ("AdamW", {"betas": (0.9, 1.5)}),
    ("AdamW", {"lr": float("nan")}),
]


TORCH_BAD += [
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1e-8}), ("Adamax", {"betas": (0.0, 1.0)}),
    ("Adamax", {"betas": (-0.1, 0.9)}), ("Adamax", {"weight_decay": -0.1}),
    ("NAdam", {"lr": -1e-3}), ("NAdam", {"eps": -1.0}), ("NAdam", {"betas": (1.0, 0.0)}),
    ("NAdam", {"weight_decay": -1}), ("NAdam", {"momentum_decay": -0.2}),
    ("RAdam", {"lr": -0.1}), ("RAdam", {"eps": -1e-8}), ("RAdam", {"betas": (1.0, 0.0)}),
    ("RAdam", {"betas": (0.9, 1.5)}), ("RAdam", {"weight_decay": -1}),
    ("ASGD", {"lr": -0.01}), ("ASGD", {"weight_decay": -0.5}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.0, 0.5)}), ("Rprop", {"etas": (0.5, 1.0)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"eps": (-1e-30, 1e-3)}),
    ("Adafactor", {"eps": (None, -1e-3)}), ("Adafactor", {"d": 0.0}),
    ("Adafactor", {"beta2_decay": 0.8}), ("Adafactor", {"weight_decay": -0.1}),
    ("Adafactor", {"lr": float("nan")}),
]


@pytest.mark.parametrize("case", TORCH_BAD, ids=case_id)
def test_invalid_hyperparameters_raise_torchs_error(case):
    name, kwargs = case
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------------------
# the optimizers PyTorch lacks
# ---------------------------------------------------------------------------

PAPER_BAD = [
    ("LAMB", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("LAMB", {"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    ("LAMB", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ("LAMB", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("LAMB", {"clamp_value": 0.0}, "Invalid clamp_value value: 0.0"),
    ("LARS", {"lr": -0.5}, "Invalid learning rate: -0.5"),
    ("LARS", {"momentum": -0.9}, "Invalid momentum value: -0.9"),
    ("LARS", {"trust_coefficient": -1e-3}, "Invalid trust_coefficient value: -0.001"),
    ("LARS", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("AdaBelief", {"eps": -1e-16}, "Invalid epsilon value: -1e-16"),
    ("AdaBelief", {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("AdaBelief", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("SWATS", {"switch_eps": -1.0}, "Invalid switch_eps value: -1.0"),
    ("SWATS", {"eps": -1e-9}, "Invalid epsilon value: -1e-09"),
    ("SWATS", {"betas": (-0.1, 0.999)}, "Invalid beta parameter at index 0: -0.1"),
    ("Lookahead", {"k": 0}, "Invalid k value: 0"),
    ("Lookahead", {"k": 2.5}, "Invalid k value: 2.5"),
    ("Lookahead", {"alpha": 1.5}, "Invalid alpha value: 1.5"),
    ("Lookahead", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    ("Lookahead", {"pullback_momentum": "both"}, "Invalid pullback_momentum: 'both'"),
    ("SAM", {"rho": -0.05}, "Invalid rho value: -0.05"),
    ("SAM", {"eta": -0.01}, "Invalid eta value: -0.01"),
    ("SAM", {"lr": -0.1}, "Invalid learning rate: -0.1"),     # the base optimizer's check
]


PAPER_BAD += [
    ("SVRG", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("SVRG", {"option": "III"}, "Invalid option: 'III'"),
    ("SVRG", {"option": "II"}, "Invalid inner_steps value: None"),
    ("SVRG", {"inner_steps": 0}, "Invalid inner_steps value: 0"),
    ("SVRG", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("BarzilaiBorwein", {"variant": "medium"}, "Invalid variant: 'medium'"),
    ("BarzilaiBorwein", {"fallback": "zero"}, "Invalid fallback: 'zero'"),
    ("BarzilaiBorwein", {"alpha_min": 0.0}, "Invalid alpha_min value: 0.0"),
    ("BarzilaiBorwein", {"alpha_min": 1.0, "alpha_max": 0.5}, "Invalid alpha_max value: 0.5"),
    ("SGDBB", {"inner_steps": 0}, "Invalid inner_steps value: 0"),
    ("SGDBB", {"inner_steps": 4, "beta": 1.5}, "Invalid beta value: 1.5"),
    ("SVRGBB", {"eta_max": -1.0}, "Invalid eta_max value: -1.0"),
    ("Sophia", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("Sophia", {"rho": -0.1}, "Invalid rho value: -0.1"),
    ("Sophia", {"estimator": "exact"}, "Invalid estimator: 'exact'"),
    ("Sophia", {"update_period": 0}, "Invalid update_period value: 0"),
    ("Shampoo", {"eps": 0.0}, "Invalid epsilon value: 0.0"),
    ("Shampoo", {"beta": 1.0}, "Invalid beta value: 1.0"),
    ("Shampoo", {"update_freq": 0}, "Invalid update_freq value: 0"),
    ("Shampoo", {"vector_statistic": "none"}, "Invalid vector_statistic: 'none'"),
    ("Ranger21", {"num_iterations": 0}, "Invalid num_iterations value: 0"),
    ("Ranger21", {"warmdown_start": 1.5}, "Invalid warmdown_start value: 1.5"),
    ("Ranger21", {"lookahead_alpha": 2.0}, "Invalid lookahead_alpha value: 2.0"),
    ("Ranger21", {"lookahead_k": -1}, "Invalid lookahead_k value: -1"),
    ("Ranger21", {"agc_eps": 0.0}, "Invalid agc_eps value: 0.0"),
    ("Ranger21", {"weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
]


@pytest.mark.parametrize("name, kwargs, message", PAPER_BAD, ids=lambda x: str(x))
def test_invalid_hyperparameters_raise_value_error_naming_them(name, kwargs, message):
    params = [mg.Tensor(np.zeros(2), requires_grad=True)]
    if name == "SGDBB":
        kwargs = {"inner_steps": 4, **kwargs}
    with pytest.raises(ValueError) as err:
        if name == "Lookahead":
            optim.Lookahead(optim.SGD(params, lr=0.1), **kwargs)
        elif name == "SAM":
            optim.SAM(params, optim.SGD, **kwargs)
        else:
            getattr(optim, name)(params, **kwargs)
    assert message in str(err.value)


def test_wrappers_reject_the_wrong_kind_of_base():
    params = [mg.Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(TypeError, match="Lookahead wraps an optimizer instance"):
        optim.Lookahead(optim.SGD, k=5)
    with pytest.raises(TypeError, match="SAM takes the base optimizer's class"):
        optim.SAM(params, optim.SGD(params, lr=0.1))


# ---------------------------------------------------------------------------
# convention options
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, match", [
    ("SGD", {"momentum_form": "sutskever"}, "momentum_form|bias_correction|dampening"),
    ("Adam", {"bias_correction": "none"}, "momentum_form|bias_correction|dampening"),
    ("SGD", {"momentum": 0.9, "dampening": 0.5, "momentum_form": "lecture"},
     "momentum_form|bias_correction|dampening"),
    ("NAdam", {"mu_schedule": "ruder"}, "mu_schedule"),
    ("RAdam", {"threshold": 3.5}, "threshold must be >= 4"),
    ("Adafactor", {"eps1_form": "tf"}, "eps1_form"),
])
def test_invalid_convention_options(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([mg.Tensor(np.zeros(1), requires_grad=True)], **kwargs)
