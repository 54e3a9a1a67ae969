"""The functional formulas are pure: they never write into their inputs, and name their quantities.

Each formula is stepped several times on one parameter; its theta, grad and
state must be unchanged afterwards (``optim_utils.check_formula_is_pure``),
and the intermediates must hold the lecture's names.
"""
import numpy as np
import pytest
from optim_utils import (
    check_formula_is_pure,
)

from optim import functional as F

CLASSIC = [
    (F.sgd, F.sgd_init, {"momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    (F.sgd, F.sgd_init, {"momentum": 0.9, "momentum_form": "lecture", "nesterov": True}),
    (F.adagrad, F.adagrad_init, {"weight_decay": 0.1, "lr_decay": 0.1}),
    (F.rmsprop, F.rmsprop_init, {"momentum": 0.5, "centered": True}),
    (F.adadelta, F.adadelta_init, {"weight_decay": 0.1}),
    (F.adam, F.adam_init, {"amsgrad": True, "weight_decay": 0.1,
                           "decoupled_weight_decay": True}),
    (F.adamw, F.adam_init, {"bias_correction": "efficient", "maximize": True}),
]


VARIANTS = [
    (F.adamax, F.adamax_init, {}, {"weight_decay": 0.1, "maximize": True}),
    (F.adamax, F.adamax_init, {}, {"eps": 0.0}),
    (F.nadam, F.nadam_init, {}, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    (F.nadam, F.nadam_init, {}, {"mu_schedule": "constant", "weight_decay": 0.1}),
    (F.radam, F.radam_init, {}, {"weight_decay": 0.1, "beta2": 0.9}),   # rectified from step 6
    (F.radam, F.radam_init, {}, {"threshold": 4, "degenerated_to_sgd": False, "beta2": 0.9,
                                 "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (F.asgd, F.asgd_init, {"lr": 0.1}, {"lr": 0.1, "t0": 1, "weight_decay": 0.1}),
    (F.rprop, F.rprop_init, {"lr": 0.1}, {"maximize": True}),
    (F.rprop, F.rprop_init, {"lr": 0.1, "backtracking": True}, {"backtracking": True}),
    (F.adafactor, F.adafactor_init, {}, {"weight_decay": 0.1}),
    (F.adafactor, F.adafactor_init, {}, {"eps1_form": "paper", "eps1": 1e-30}),
]


INIT_KEYS = ("momentum", "momentum_form", "centered", "amsgrad")
PURE = ([(fn, init, {k: v for k, v in kwargs.items() if k in INIT_KEYS}, kwargs, 3)
         for fn, init, kwargs in CLASSIC]
        + [(fn, init, init_kwargs, kwargs, 8) for fn, init, init_kwargs, kwargs in VARIANTS])


@pytest.mark.parametrize("fn, init, init_kwargs, kwargs, warmup_steps", PURE,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_functional_formulas_are_pure(fn, init, init_kwargs, kwargs, warmup_steps):
    check_formula_is_pure(fn, init, init_kwargs, kwargs, warmup_steps=warmup_steps)


NAMED = [
    (F.lamb, F.lamb_init, {"weight_decay": 0.1, "clamp_value": 5.0},
     {"m_hat", "v_hat", "r", "trust_ratio"}),
    (F.lars, lambda th: F.lars_init(th, momentum=0.9), {"weight_decay": 0.1},
     {"local_lr", "w_norm", "g_norm", "v"}),
    (F.adabelief, lambda th: F.adabelief_init(th, amsgrad=True),
     {"amsgrad": True, "rectify": True, "weight_decay": 0.1}, {"m", "s", "s_max", "rho_t"}),
    (F.swats, F.swats_init, {"switch_eps": 1.0}, {"t", "g"}),
]


@pytest.mark.parametrize("fn, init, kwargs, names", NAMED,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_functional_formulas_are_pure_and_name_their_quantities(fn, init, kwargs, names):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((3, 2))
    state = init(theta)
    for _ in range(8):
        grad = rng.standard_normal((3, 2))
        theta_copy, grad_copy = theta.copy(), grad.copy()
        state_copy = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
        new_theta, new_state, inter = fn(theta, grad, state, **kwargs)
        np.testing.assert_array_equal(theta, theta_copy)
        np.testing.assert_array_equal(grad, grad_copy)
        for key, value in state_copy.items():
            np.testing.assert_array_equal(state[key], value)
        assert names <= set(inter)
        theta, state = new_theta, {**state, **new_state}
