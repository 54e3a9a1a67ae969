"""SGD, Adagrad, RMSprop, Adadelta, Adam and AdamW against torch.optim (float64, foreach=False).

For every optimizer and every hyperparameter configuration that PyTorch's own
optimizer tests use (torch/testing/_internal/common_optimizers.py), 50 steps
with the same random gradients on parameters of several shapes (a 0-d
scalar, a vector, a matrix, a 3-d array) must leave the parameters and every
state buffer equal to PyTorch's within 1e-10 (relative), also with param
groups and with hyperparameters drawn at random. The base class's API is in
test_optimizer_base.py, the lecture-form options in test_lecture_and_paper_forms.py.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from optim_utils import (
    TORCH_CONFIGS,
    case_id,
    run_parity,
)

from minigrad.testing.strategies import optimizer_hyperparameters

CONFIGS = TORCH_CONFIGS          # torch's configurations (optim_utils), shared with the fast path
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


# ---------------------------------------------------------------------------
# parity with torch.optim
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch(case):
    name, cfg = case
    run_parity(name, cfg)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_matches_torch_with_param_groups(name):
    """Two groups with their own hyperparameters."""
    extra = {"SGD": {"lr": 0.05, "momentum": 0.5}, "Adagrad": {"lr": 0.2, "lr_decay": 0.1},
             "RMSprop": {"lr": 3e-3, "centered": True}, "Adadelta": {"rho": 0.5},
             "Adam": {"lr": 3e-3, "amsgrad": True}, "AdamW": {"weight_decay": 0.3}}[name]
    cfg = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    run_parity(name, cfg, groups=[([0, 2], {}), ([1, 3], extra)])


# Hyperparameters drawn at random on top of the fixed configurations.
HYPER = {name: optimizer_hyperparameters(name) for name in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam")}


@pytest.mark.parametrize("name", list(HYPER))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_matches_torch_hypothesis(name, data):
    cfg = data.draw(HYPER[name], label="cfg")
    if name == "SGD" and data.draw(st.booleans(), label="nesterov") and cfg["momentum"] > 0:
        cfg.update(nesterov=True, dampening=0.0)
    shapes = data.draw(st.lists(array_shapes(min_dims=0, max_dims=3, max_side=4),
                                min_size=1, max_size=3), label="shapes")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    run_parity(name, cfg, shapes=[tuple(s) for s in shapes], steps=20, seed=seed)
