"""detect_anomaly(): the first op making a NaN/Inf is named, with where it was made."""
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import AnomalyError
from minigrad.function import Function
from minigrad.grad_mode import state

THIS_FILE = os.path.basename(__file__)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


class NanBackward(Function):
    """Identity whose backward makes a NaN."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g * float("nan")


def test_forward_nan_names_op_and_shape():
    x = mg.tensor([-1.0, 2.0, 3.0])
    with mg.detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            mg.log(x)
    msg = str(info.value)
    assert "Log" in msg and "NaN" in msg and "forward" in msg
    assert "(3,)" in msg


def test_forward_inf_with_graph_names_creation_line():
    x = mg.tensor([0.0, 2.0], requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        x.log()
    msg = str(info.value)
    assert "Log produced Inf" in msg
    assert THIS_FILE in msg and "x.log()" in msg


def test_backward_inf_of_sqrt_at_zero_names_sqrt_and_user_line():
    x = mg.tensor([0.0, 4.0], requires_grad=True, dtype=np.float64)
    with mg.detect_anomaly():
        y = mg.sqrt(x)  # forward is finite: sqrt(0) = 0
        loss = y.sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    msg = str(info.value)
    # the op whose backward failed is Sqrt, not the Div its backward uses
    assert msg.startswith("Sqrt produced Inf in its gradient")
    assert "(2,)" in msg
    assert THIS_FILE in msg and "y = mg.sqrt(x)" in msg


def test_backward_nan_of_custom_function_names_it_and_user_line():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with mg.detect_anomaly():
        y = NanBackward()(x)
        with pytest.raises(AnomalyError) as info:
            (y * 2.0).sum().backward()
    msg = str(info.value)
    assert msg.startswith("NanBackward produced NaN in its gradient for input 0")
    assert "(2, 3)" in msg
    assert THIS_FILE in msg and "y = NanBackward()(x)" in msg


def test_backward_only_under_anomaly_gives_a_hint():
    x = mg.tensor([0.0], requires_grad=True)
    y = mg.sqrt(x).sum()  # forward recorded without anomaly mode
    with mg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        y.backward()
    assert "Sqrt" in str(info.value)
    assert "run the forward pass under detect_anomaly()" in str(info.value)


def test_backward_anomaly_with_create_graph():
    x = mg.tensor([0.0, 1.0], requires_grad=True, dtype=np.float64)
    with mg.detect_anomaly():
        y = mg.sqrt(x).sum()
        with pytest.raises(AnomalyError, match="^Sqrt"):
            mg.grad(y, x, create_graph=True)


def test_state_restored_after_error():
    x = mg.tensor([0.0], requires_grad=True)
    with mg.detect_anomaly():
        y = mg.sqrt(x).sum()
        with pytest.raises(AnomalyError):
            y.backward()
    assert state.backward_fn is None
    assert not mg.grad_mode.is_anomaly_enabled()
    # and ordinary ops are checked again afterwards
    with mg.detect_anomaly(), pytest.raises(AnomalyError, match="Log"):
        mg.log(mg.tensor([-1.0]))


def test_off_by_default_and_as_decorator():
    x = mg.tensor([0.0], requires_grad=True)
    y = mg.sqrt(x).sum()
    y.backward()  # no anomaly mode: inf gradient, no error
    assert np.isinf(x.grad.numpy()[0])

    @mg.detect_anomaly()
    def f():
        return mg.log(mg.tensor([-1.0]))

    with pytest.raises(AnomalyError):
        f()
    assert not mg.grad_mode.is_anomaly_enabled()


def test_finite_graph_passes_under_anomaly():
    x = mg.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    with mg.detect_anomaly():
        (mg.sqrt(x) * x.log()).sum().backward()
    expected = 0.5 / np.sqrt([1.0, 2.0]) * np.log([1.0, 2.0]) + np.sqrt([1.0, 2.0]) / [1.0, 2.0]
    np.testing.assert_allclose(x.grad.numpy(), expected)
