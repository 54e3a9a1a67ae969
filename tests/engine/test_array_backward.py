"""Ops whose backward has an array form (used when no graph of the gradient is
needed) keep their Tensor form as the definition: the two must agree."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("shape,dim", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0)])
def test_array_backward_equals_tensor_backward(op, shape, dim):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(shape) * 3, requires_grad=True)
    y = op(x, dim=dim)
    g = mg.tensor(rng.standard_normal(shape))
    tensor_form = y.creator.backward(g)      # grad mode on: recorded Tensor ops
    assert tensor_form.creator is not None
    np.testing.assert_allclose(y.creator.backward_array(g.data), tensor_form.numpy(),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("op", [F.sigmoid, F.tanh])
def test_elementwise_array_backward_equals_tensor_backward(op):
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((3, 4)) * 3, requires_grad=True)
    y = op(x)
    g = mg.tensor(rng.standard_normal((3, 4)))
    tensor_form = y.creator.backward(g)
    assert tensor_form.creator is not None
    np.testing.assert_allclose(y.creator.backward_array(g.data), tensor_form.numpy(),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False),
                                           ((0, 2), True)])
def test_sum_array_backward_equals_tensor_backward(axis, keepdims):
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    y = x.sum(axis, keepdims=keepdims)
    g = mg.tensor(rng.standard_normal(y.shape))
    tensor_form = y.creator.backward(g)
    array_form = y.creator.backward_array(g.data)
    assert array_form.shape == tensor_form.shape == (2, 3, 4)
    np.testing.assert_array_equal(array_form, tensor_form.numpy())


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
def test_backward_without_and_with_create_graph_agree(op):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 5)))
    (op(x, dim=1) * w).sum().backward()
    plain = x.grad.numpy()
    x.grad = None
    (op(x, dim=1) * w).sum().backward(create_graph=True)
    assert x.grad.creator is not None
    np.testing.assert_allclose(plain, x.grad.numpy(), rtol=1e-13, atol=1e-15)
