"""gradcheck / gradgradcheck: they pass on correct ops and catch wrong backwards."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import GradcheckError
from minigrad.function import Function


def t64(a, requires_grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def randn(*shape, seed=0):
    return t64(np.random.default_rng(seed).standard_normal(shape))


# ----------------------------------------------------------- custom Functions
class SquareWrongAt(Function):
    """x^2 whose backward is wrong by +1 at one element."""

    def __init__(self, bad_index):
        self.bad_index = bad_index

    def forward(self, x):
        return x * x

    def backward(self, g):
        x = self.inputs[0]
        bump = np.zeros(x.shape)
        bump[self.bad_index] = 1.0
        return g * 2 * x + g * mg.tensor(bump)


class SquareConstBackward(Function):
    """x^2 with a first-order-correct backward that the graph cannot see through."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * mg.tensor(2 * self.inputs[0].data)  # a constant: d/dx is lost


class TwoOutputs(Function):
    """(x * y, x + y) with a wrong gradient of the second output wrt y."""

    def forward(self, x, y):
        return x * y, x + y

    def backward(self, g_prod, g_sum):
        x, y = self.inputs
        return g_prod * y + g_sum, g_prod * x + 3 * g_sum


# --------------------------------------------------------------------- passing
def test_exported():
    assert mg.gradcheck is not None and mg.gradgradcheck is not None
    assert issubclass(GradcheckError, RuntimeError)
    assert mg.GradcheckError is GradcheckError


@pytest.mark.parametrize("fn, shapes", [
    (lambda x: mg.tanh(x) * x, [(3, 4)]),
    (lambda a, b: a @ b, [(2, 3), (3, 4)]),
    (lambda a, b: a * b + a / (b * b + 1.0), [(3, 1), (1, 4)]),   # broadcasting
    (lambda x: x.exp().sum(axis=1), [(2, 5)]),
    (lambda x: mg.log(x * x + 1.0).mean(), [(4,)]),
    (lambda x: tuple(mg.split(x, 2, dim=1)), [(2, 4)]),             # several outputs
    (lambda x: x ** 3, [()]),                                        # 0-d
])
def test_correct_ops_pass(fn, shapes):
    inputs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    assert mg.gradcheck(fn, inputs) is True


def test_single_tensor_input_and_non_tensor_arguments():
    x = randn(3)
    assert mg.gradcheck(lambda x: x * 2.0, x)
    # non-Tensor arguments and tensors without requires_grad pass through
    c = mg.tensor(np.ones(3, dtype=np.float32))
    assert mg.gradcheck(lambda x, k, c: (x ** k) * c.double(), [x, 3, c])


def test_inputs_are_not_modified():
    x = randn(2, 3)
    before = x.numpy().copy()
    mg.gradcheck(lambda x: x.tanh() * x, [x])
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None  # gradcheck returns gradients, it does not accumulate them


def test_unused_input_passes():
    x, y = randn(3), randn(3, seed=1)
    assert mg.gradcheck(lambda x, y: x * 2.0, [x, y])


def test_non_leaf_input():
    x = randn(3)
    h = x * 2.0
    assert mg.gradcheck(lambda h: h.tanh(), [h])


# --------------------------------------------------------------------- failing
def test_wrong_backward_reports_worst_element():
    a = randn(2, 3)
    x = randn(2, 3, seed=1)
    fn = lambda a, x: a + SquareWrongAt((1, 2))(x)  # noqa: E731
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(fn, [a, x])
    msg = str(info.value)
    assert "input 1" in msg and "(2, 3)" in msg
    assert "element (1, 2)" in msg           # input element and output element
    assert msg.count("(1, 2)") >= 2
    num = float(re.search(r"numerical\s*=\s*(\S+)", msg).group(1))
    ana = float(re.search(r"analytical\s*=\s*(\S+)", msg).group(1))
    true = 2 * x.numpy()[1, 2]
    assert num == pytest.approx(true, abs=1e-6)
    assert ana == pytest.approx(true + 1, abs=1e-12)
    assert "absolute error = 1.000e+00" in msg
    assert "relative error" in msg
    assert "1 Jacobian element(s)" in msg


def test_raise_exception_false_returns_false():
    x = randn(3)
    assert mg.gradcheck(lambda x: SquareWrongAt(0)(x), [x], raise_exception=False) is False


def test_wrong_second_output_is_named():
    x, y = randn(3), randn(3, seed=1)
    with pytest.raises(GradcheckError, match=r"input 1 .*output 1"):
        mg.gradcheck(lambda x, y: TwoOutputs()(x, y), [x, y])


def test_tolerances_are_used():
    x = t64([1.0, 2.0])

    class Off(Function):  # derivative off by 1e-4 (relative 1e-4 .. 5e-5)
        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return g * (2 + 1e-4)

    assert mg.gradcheck(lambda x: Off()(x), [x])  # within rtol=1e-3
    assert not mg.gradcheck(lambda x: Off()(x), [x], atol=1e-8, rtol=1e-6,
                            raise_exception=False)


def test_nan_gradient_fails():
    x = t64([1.0, 4.0])

    class NanGrad(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, g):
            return g * float("nan")

    with pytest.raises(GradcheckError, match="nan"):
        mg.gradcheck(lambda x: NanGrad()(x), [x])


def test_float32_input_raises_type_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.raises(TypeError, match="input 0 has dtype float32.*float64"):
        mg.gradcheck(lambda x: x * x, [x])


def test_float32_output_is_reported():
    x = randn(3)
    with pytest.raises(GradcheckError, match="output 0 has dtype float32"):
        mg.gradcheck(lambda x: (x * x).float(), [x])


def test_non_tensor_output_raises():
    x = randn(3)
    with pytest.raises(TypeError, match="output 0 is a float"):
        mg.gradcheck(lambda x: 1.0, [x])


# --------------------------------------------------------------- gradgradcheck
@pytest.mark.parametrize("fn, shapes", [
    (lambda x: mg.tanh(x) * x, [(3,)]),
    (lambda a, b: (a @ b).exp(), [(2, 3), (3, 2)]),
    (lambda x: mg.sigmoid(x).sum(), [(2, 2)]),
    (lambda x, y: (x * y, x.exp()), [(3,), (3,)]),
    (lambda x: x * 3.0, [(2,)]),  # linear: second derivative wrt x is zero
])
def test_gradgradcheck_passes(fn, shapes):
    inputs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    assert mg.gradgradcheck(fn, inputs) is True


def test_gradgradcheck_catches_non_differentiable_backward():
    x = randn(4)
    fn = lambda x: SquareConstBackward()(x)  # noqa: E731
    assert mg.gradcheck(fn, [x])  # first derivatives are right
    with pytest.raises(GradcheckError, match="input 0"):
        mg.gradgradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x], raise_exception=False) is False


def test_gradgradcheck_explicit_grad_outputs():
    x = randn(2, 3)
    v = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert mg.gradgradcheck(lambda x: x.tanh(), [x], grad_outputs=[mg.tensor(v)])
    assert mg.gradgradcheck(lambda x: x.tanh(), [x], grad_outputs=v)
    with pytest.raises(ValueError, match="grad_outputs"):
        mg.gradgradcheck(lambda x: x.tanh(), [x], grad_outputs=[v, v])


def test_gradgradcheck_float32_raises_type_error():
    x = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError):
        mg.gradgradcheck(lambda x: x * x, [x])
