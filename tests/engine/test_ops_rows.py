"""The engine's row ops (``minigrad.ops.rows``) and host helpers (``minigrad.ops.host``).

``unbind``/``stack_steps`` and ``take_rows``/``put_rows`` are two adjoint pairs,
each one graph node: their values are checked against NumPy, their first and
second derivatives against finite differences (float64), and the node count of
the graph they build. The host helpers must give NumPy data back and build
Tensors without gradient on the device of the Tensor they are given.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.ops import constant, host_array, index_tensor, on_device, put_rows, stack_steps, take_rows, unbind
from minigrad.ops.rows import PutRows, Stack, TakeRows, Unbind


def _x(shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


def test_unbind_values_and_one_node():
    x = _x((4, 2, 3))
    parts = unbind(x)
    assert len(parts) == 4
    for i, part in enumerate(parts):
        np.testing.assert_array_equal(part.numpy(), x.numpy()[i])
        assert isinstance(part.creator, Unbind)
    assert len({id(p.creator) for p in parts}) == 1


def test_unbind_of_one_step_is_a_reshape():
    x = _x((1, 2, 3))
    (part,) = unbind(x)
    assert part.shape == (2, 3) and not isinstance(part.creator, Unbind)
    np.testing.assert_array_equal(part.numpy(), x.numpy()[0])


def test_stack_steps_values_and_one_node():
    xs = [_x((2, 3), seed=s) for s in range(3)]
    y = stack_steps(iter(xs))  # any iterable
    assert isinstance(y.creator, Stack) and y.shape == (3, 2, 3)
    np.testing.assert_array_equal(y.numpy(), np.stack([x.numpy() for x in xs]))
    one = stack_steps([xs[0]])
    assert one.shape == (1, 2, 3) and not isinstance(one.creator, Stack)


def test_unbind_stack_gradients():
    x = _x((3, 2, 2))
    w = mg.tensor(np.arange(12.0).reshape(3, 2, 2))
    assert mg.gradcheck(lambda x: (stack_steps(unbind(x)) * w).sum(), [x])
    assert mg.gradcheck(lambda x: unbind(x), [x])
    assert mg.gradgradcheck(lambda x: (stack_steps(unbind(x * x)) * w).sum(), [x])
    xs = [_x((2, 2), seed=s) for s in range(3)]
    assert mg.gradcheck(lambda *xs: stack_steps(xs), xs)
    assert mg.gradgradcheck(lambda *xs: stack_steps([x * x for x in xs]), xs)


def test_take_rows_values_and_gradients():
    x = _x((5, 3))
    index = np.array([4, 0, 2])
    y = take_rows(x, index)
    assert isinstance(y.creator, TakeRows)
    np.testing.assert_array_equal(y.numpy(), x.numpy()[index])
    assert mg.gradcheck(lambda x: take_rows(x, index), [x])
    assert mg.gradgradcheck(lambda x: take_rows(x * x, index), [x])
    y.sum().backward()
    expected = np.zeros((5, 3))
    expected[index] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_put_rows_values_and_gradients():
    x = _x((3, 2))
    index = np.array([1, 4, 0])
    y = put_rows(x, index, 5)
    assert isinstance(y.creator, PutRows) and y.shape == (5, 2)
    expected = np.zeros((5, 2))
    expected[index] = x.numpy()
    np.testing.assert_array_equal(y.numpy(), expected)
    assert mg.gradcheck(lambda x: put_rows(x, index, 5), [x])
    assert mg.gradgradcheck(lambda x: put_rows(x * x, index, 5), [x])


def test_take_and_put_rows_are_adjoint():
    """<take_rows(x), y> == <x, put_rows(y)> for distinct indices."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    index = rng.permutation(6)[:4]
    lhs = (take_rows(mg.tensor(x), index).numpy() * y).sum()
    rhs = (x * put_rows(mg.tensor(y), index, 6).numpy()).sum()
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_host_helpers():
    like = mg.tensor([1.0, 2.0])
    arr = on_device(np.array([True, False]), like)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.bool_
    c = constant([[1.0, 2.0]], like)
    assert isinstance(c, mg.Tensor) and not c.requires_grad and c.creator is None
    assert c.device == like.device
    np.testing.assert_array_equal(c.numpy(), [[1.0, 2.0]])
    h = host_array(mg.tensor([3, 1, 2]), dtype=np.int32)
    assert isinstance(h, np.ndarray) and h.dtype == np.int32 and h.tolist() == [3, 1, 2]
    assert host_array([[1, 0]]).tolist() == [[1, 0]]
    t = index_tensor([2, 0, 1])
    assert isinstance(t, mg.Tensor) and not t.requires_grad and t.numpy().tolist() == [2, 0, 1]
    assert index_tensor(t) is t
    assert index_tensor(np.array([5])).numpy().tolist() == [5]
