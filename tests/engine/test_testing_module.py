"""minigrad.testing itself: correct code passes its checks, subtly wrong code fails
them with a message that names the quantity, the shapes, the worst element and how
to reproduce, and the package imports without torch and hypothesis.

The wrong variants are the classic slips: a wrong derivative, a missing second
derivative, epsilon inside instead of outside the square root, a missing bias
correction, a scheduler off by one step.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.testing as mgt
import optim
from minigrad.testing import strategies as mst
from optim import lr_scheduler as M

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- ops
def _tanh_wrong_grad(x):
    """tanh's value with the derivative 1 - tanh (instead of 1 - tanh^2)."""
    y = x.tanh()
    return (x - x.detach()) * (1 - y.detach()) + y.detach()


def _cube_first_order_only(x):
    """x^3 with the right first derivative 3x^2 but second derivative 0."""
    return (x - x.detach()) * (3 * x.detach() ** 2) + (x ** 3).detach()


def test_correct_op_passes_with_broadcasting_and_hvp():
    mgt.assert_op_matches_torch(lambda a, b: a * b.exp(), lambda a, b: a * b.exp(), [(3, 4), (4,)],
                                hvp=True, broadcast=True, examples=10)


def test_correct_op_passes_in_float32_with_a_domain():
    mgt.assert_op_matches_torch(lambda x: x.log(), lambda x: x.log(), [(2, 5)], dtype="float32",
                                domain=(0.5, 3.0), examples=5)


def test_wrong_gradient_fails_with_an_informative_message():
    with pytest.raises(AssertionError) as info:
        mgt.assert_op_matches_torch(_tanh_wrong_grad, torch.tanh, [(3, 2)], examples=5, seed=7)
    msg = str(info.value)
    assert "gradient of input 0 differs from torch" in msg
    assert "input shapes: [(3, 2)]" in msg
    assert "worst element at index" in msg
    assert "reproduce: minigrad.testing.check_op_example(" in msg
    seed = int(msg.split("seed=")[1].split(",")[0])
    with pytest.raises(AssertionError, match="gradient of input 0"):      # the seed reproduces it
        mgt.check_op_example(_tanh_wrong_grad, torch.tanh, [(3, 2)], seed)


def test_missing_second_derivative_is_caught_only_with_hvp():
    cube = lambda x: x ** 3          # noqa: E731
    mgt.assert_op_matches_torch(_cube_first_order_only, cube, [(4,)], examples=5)
    with pytest.raises(AssertionError, match="Hessian-vector product .*of input 0"):
        mgt.assert_op_matches_torch(_cube_first_order_only, cube, [(4,)], hvp=True, examples=5)


def test_wrong_value_and_wrong_dtype_are_named():
    with pytest.raises(AssertionError, match="output 0 differs from torch"):
        mgt.assert_op_matches_torch(lambda x: x * (1 + 1e-7), lambda x: x, [(3,)], examples=3)
    with pytest.raises(AssertionError, match="output 0: dtype float64, torch has float32"):
        mgt.assert_op_matches_torch(lambda x: x.double(), lambda x: x, [(3,)], dtype="float32",
                                    examples=3)


def test_mismatch_names_the_worst_element():
    actual = np.array([[1.0, 2.0], [3.0, 4.5]])
    expected = np.array([[1.0, 2.1], [3.0, 4.0]])
    report = mgt.mismatch(actual, expected, rtol=1e-3, atol=0.0)
    assert "index (1, 1)" in report and "2 of 4 elements" in report
    assert mgt.mismatch(np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), 1e-10, 0) is None
    assert mgt.mismatch(np.array([1.0]), np.array([np.nan]), 1e-10, 0) is not None


@pytest.mark.parametrize("kwargs, error", [
    ({"shapes": 3}, TypeError), ({"shapes": [(2, -1)]}, ValueError),
    ({"shapes": [(2,)], "dtype": "int64"}, ValueError), ({"shapes": [(2,)], "examples": 0}, ValueError),
])
def test_bad_op_arguments_raise_clear_errors(kwargs, error):
    with pytest.raises(error, match="shapes|dtype|examples"):
        mgt.assert_op_matches_torch(lambda x: x, lambda x: x, **kwargs)


# ---------------------------------------------------------------- optimizers
class HandAdam(optim.Optimizer):
    """Adam as in the paper; ``eps_inside`` and ``bias_correction`` switch on the slips."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, eps_inside=False,
                 bias_correction=True):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        self.eps_inside, self.bias_correction = eps_inside, bias_correction

    def _init_state(self, theta, group):
        return {"step": 0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    def _update(self, theta, grad, state, group):
        (b1, b2), t = group["betas"], state["step"] + 1
        m = b1 * state["exp_avg"] + (1 - b1) * grad
        v = b2 * state["exp_avg_sq"] + (1 - b2) * grad * grad
        m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if self.bias_correction else (m, v)
        denom = np.sqrt(v_hat + group["eps"]) if self.eps_inside else np.sqrt(v_hat) + group["eps"]
        return theta - group["lr"] * m_hat / denom, {"step": t, "exp_avg": m, "exp_avg_sq": v}, {}


def _wrong(**flags):
    return lambda params, **kw: HandAdam(params, **kw, **flags)


ADAM = {"lr": 0.05, "eps": 1e-3}


def test_correct_optimizer_passes():
    mgt.assert_optimizer_matches_torch(HandAdam, torch.optim.Adam, ADAM, param_groups=2, skip_grads=True)


@pytest.mark.parametrize("flags, quantity", [
    ({"eps_inside": True}, "after step 1: param 0 differs from torch"),
    ({"bias_correction": False}, "after step 1: param 0 differs from torch"),
])
def test_subtly_wrong_optimizer_fails_with_an_informative_message(flags, quantity):
    with pytest.raises(AssertionError) as info:
        mgt.assert_optimizer_matches_torch(_wrong(**flags), torch.optim.Adam, ADAM)
    msg = str(info.value)
    assert quantity in msg and "worst element at index" in msg
    assert "hyperparameters {'lr': 0.05, 'eps': 0.001}" in msg and "reproduce:" in msg


def test_state_names_map_and_missing_state_is_named():
    class Renamed(HandAdam):
        def _update(self, theta, grad, state, group):
            inner = {"step": state["step"], "exp_avg": state["m"], "exp_avg_sq": state["exp_avg_sq"]}
            theta, new, _ = super()._update(theta, grad, inner, group)
            return theta, {"step": new["step"], "m": new["exp_avg"], "exp_avg_sq": new["exp_avg_sq"]}, {}

        def _init_state(self, theta, group):
            return {"step": 0, "m": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    with pytest.raises(AssertionError, match=r"state keys differ: minigrad \['exp_avg_sq', 'm', 'step'\]"):
        mgt.assert_optimizer_matches_torch(Renamed, torch.optim.Adam, ADAM, steps=2)
    mgt.assert_optimizer_matches_torch(Renamed, torch.optim.Adam, ADAM, state_names={"exp_avg": "m"})


def test_broken_state_dict_round_trip_is_caught():
    class Forgetful(HandAdam):
        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            self.state.clear()

    with pytest.raises(AssertionError, match="after state_dict\\(\\)/load_state_dict\\(\\) at step 5"):
        mgt.assert_optimizer_matches_torch(Forgetful, torch.optim.Adam, ADAM, steps=10)
    mgt.assert_optimizer_matches_torch(Forgetful, torch.optim.Adam, ADAM, steps=10, state_dict_roundtrip=False)


def test_closure_optimizers_and_library_optimizers_pass():
    mgt.assert_optimizer_matches_torch(optim.LBFGS, torch.optim.LBFGS, {"lr": 0.5, "max_iter": 5},
                                       closure=True, steps=4, rtol=1e-6)
    mgt.assert_optimizer_matches_torch(optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01, "centered": True},
                                       closure=True, param_groups=[{}, {"momentum": 0.5}])


def test_bad_optimizer_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="param_groups must be >= 1"):
        mgt.assert_optimizer_matches_torch(HandAdam, torch.optim.Adam, ADAM, param_groups=0)
    with pytest.raises(ValueError, match="3 param groups need at least as many shapes"):
        mgt.assert_optimizer_matches_torch(HandAdam, torch.optim.Adam, ADAM, param_groups=3)
    with pytest.raises(TypeError, match="hyperparams must be a dict"):
        mgt.assert_optimizer_matches_torch(HandAdam, torch.optim.Adam, [0.1])


# ---------------------------------------------------------------- schedulers
class OffByOneStepLR(M.StepLR):
    """Decays one step late."""

    def get_lr(self):
        self.last_epoch -= 1
        try:
            return super().get_lr()
        finally:
            self.last_epoch += 1


def test_scheduler_check_passes_and_catches_an_off_by_one():
    T = torch.optim.lr_scheduler
    mgt.assert_scheduler_matches_torch(M.StepLR, T.StepLR, {"step_size": 3, "gamma": 0.5}, steps=20)
    mgt.assert_scheduler_matches_torch(M.ReduceLROnPlateau, T.ReduceLROnPlateau, {"patience": 1}, steps=20,
                                       step_args=lambda i: (1.0,))
    with pytest.raises(AssertionError, match="step 3 group 0 'lr': torch"):
        mgt.assert_scheduler_matches_torch(OffByOneStepLR, T.StepLR, {"step_size": 3, "gamma": 0.5},
                                           steps=20)


# ---------------------------------------------------------------- strategies
@settings(max_examples=20, deadline=None)
@given(shapes=mst.broadcast_variants([(3, 1, 4), (2, 4)]))
def test_broadcast_variants_broadcast_to_the_same_result(shapes):
    assert np.broadcast_shapes(*shapes) == (3, 2, 4)


@settings(max_examples=20, deadline=None)
@given(a=mst.arrays("float32", (3, 2), edge_values_too=True))
def test_arrays_have_the_dtype_and_shape(a):
    assert a.dtype == np.float32 and a.shape == (3, 2)


@pytest.mark.parametrize("name", mst.optimizer_names())
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_optimizer_hyperparameters_are_accepted_by_both_libraries(name, data):
    cfg = data.draw(mst.optimizer_hyperparameters(name))
    getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **cfg)
    getattr(optim, name)([mg.zeros(2, requires_grad=True)], **cfg)


@settings(max_examples=3, deadline=None)
@given(cfg=mst.optimizer_hyperparameters("AdamW"), seed=mst.seeds())
def test_adamw_matches_torch_over_its_hyperparameter_ranges(cfg, seed):
    """AdamW's ranges are the one set the optimizer tests do not draw from."""
    mgt.assert_optimizer_matches_torch(optim.AdamW, torch.optim.AdamW, cfg, seed=seed % 2**16)


def test_unknown_optimizer_name_is_named():
    with pytest.raises(ValueError, match="no ranges for 'Nope'"):
        mst.optimizer_hyperparameters("Nope")


def test_gradcheck_is_reexported():
    assert mgt.gradcheck is mg.gradcheck and mgt.gradgradcheck is mg.gradgradcheck


# ---------------------------------------------------------------- optional dependencies
PROBE = textwrap.dedent('''
    import importlib.abc, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "hypothesis"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Refuse())
    import minigrad.testing as mgt
    from minigrad.testing import strategies
    for call in (lambda: mgt.assert_op_matches_torch(None, None, [(2,)]),
                 lambda: mgt.assert_optimizer_matches_torch(None, None, {}),
                 lambda: mgt.assert_scheduler_matches_torch(None, None, {}),
                 lambda: strategies.shapes()):
        try:
            call()
        except ImportError as exc:
            print("ERROR", exc)
''')


def test_imports_without_torch_and_hypothesis_and_names_what_to_install():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4, res.stdout
    assert all("pip install torch" in line for line in lines[:3]), res.stdout
    assert "pip install hypothesis" in lines[3], res.stdout


# ---------------------------------------------------------------- the example
def test_the_example_runs():
    spec = importlib.util.spec_from_file_location("example", ROOT / "examples" / "test_my_optimizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.test_momentum_sgd_matches_torch()
    module.test_broken_momentum_sgd_is_caught()
