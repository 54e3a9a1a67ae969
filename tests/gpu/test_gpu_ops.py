"""Every op of the gradcheck table, forward and backward, and second derivatives: CPU vs GPU.

The ops and their inputs are ``tests/engine/test_ops_gradcheck.py``'s table;
each runs on the CPU and on the GPU from the same inputs, in float64 (tight
tolerance) and float32, with a random weighting of the outputs so that the
backward pass gets a non-trivial upstream gradient. Second derivatives
(float64) go through ``mg.autograd.grad(..., create_graph=True)``.
"""
import os
import sys

import numpy as np
import pytest
from gpu_utils import GPU, assert_close, on

import minigrad as mg
import minigrad.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "engine"))
from test_ops_gradcheck import CASES, TARGET, make_inputs  # noqa: E402

pytestmark = pytest.mark.gpu

# the cases whose function holds a CPU tensor get a version that builds it on the inputs' device
DEVICE_AWARE = {
    "cross_entropy": lambda x: F.cross_entropy(
        x, TARGET, label_smoothing=0.2,
        weight=mg.tensor(np.array([1.0, 2.0, 0.5], dtype=x.dtype), device=x.device)),
}


def _fn(name):
    return DEVICE_AWARE.get(name, CASES[name][0])


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _forward_backward(name, arrays, device, dtype, create_graph=False):
    leaves = [on(device, a, dtype, requires_grad=True) for a in arrays]
    outs = _outputs(_fn(name)(*leaves))
    rng = np.random.default_rng(7)
    weights = [on(device, rng.standard_normal(o.shape), dtype) for o in outs]
    loss = sum((o * w).sum() for o, w in zip(outs, weights))
    grads = mg.autograd.grad(loss, leaves, create_graph=create_graph, allow_unused=True)
    return leaves, outs, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_forward_backward(name, dtype):
    arrays = [leaf.numpy() for leaf in make_inputs(CASES[name][1])]
    _, outs_cpu, grads_cpu = _forward_backward(name, arrays, "cpu", dtype)
    _, outs_gpu, grads_gpu = _forward_backward(name, arrays, GPU, dtype)
    assert len(outs_cpu) == len(outs_gpu)
    for i, (a, b) in enumerate(zip(outs_cpu, outs_gpu)):
        assert b.device == mg.backend.normalize_device(GPU) and b.dtype == a.dtype
        assert_close(a, b, dtype, f"{name} output {i}")
    for i, (a, b) in enumerate(zip(grads_cpu, grads_gpu)):
        assert (a is None) == (b is None), f"{name} gradient {i}"
        if a is not None:
            assert_close(a, b, dtype, f"{name} gradient {i}")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[2]))
def test_op_second_derivatives(name):
    arrays = [leaf.numpy() for leaf in make_inputs(CASES[name][1], seed=1)]
    results = []
    for device in ("cpu", GPU):
        leaves, _, grads = _forward_backward(name, arrays, device, np.float64, create_graph=True)
        rng = np.random.default_rng(3)
        terms = [(g * on(device, rng.standard_normal(g.shape))).sum()
                 for g in grads if g is not None and g.requires_grad]
        if not terms:                       # a linear op: no second derivative
            results.append(None)
            continue
        second = mg.autograd.grad(sum(terms), leaves, allow_unused=True)
        results.append(second)
    cpu, gpu = results
    assert (cpu is None) == (gpu is None)
    for i, (a, b) in enumerate(zip(cpu or [], gpu or [])):
        assert (a is None) == (b is None), f"{name} second derivative {i}"
        if a is not None:
            assert_close(a, b, np.float64, f"{name} second derivative {i}")
