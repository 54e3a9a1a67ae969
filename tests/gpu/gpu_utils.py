"""Helpers of the ``gpu`` tests: the device under test and CPU-vs-GPU comparisons.

``MINIGRAD_GPU_TEST_DEVICE`` (default ``cuda``) names the device the tests
compare with the CPU; ``cpu`` runs the whole sweep on a machine without a GPU
(CPU against CPU), which checks the tests themselves, not the GPU.
"""
import os

import numpy as np

import minigrad as mg

GPU = os.environ.get("MINIGRAD_GPU_TEST_DEVICE", "cuda")

# float64: the same operations in the same order give the same numbers up to
# library differences (cuBLAS vs OpenBLAS sums, CUDA's libm); float32: a few
# thousand ulps after a backward pass through a model.
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-4}
ATOL = {np.dtype(np.float64): 1e-11, np.dtype(np.float32): 2e-5}


def host(x):
    """A NumPy array of a Tensor, a CuPy or NumPy array, or a number."""
    if isinstance(x, mg.Tensor):
        return x.numpy()
    if mg.backend.is_cupy_array(x):
        return mg.backend.to_numpy(x)
    return np.asarray(x)


def assert_close(cpu, gpu, dtype, what, scale=1.0):
    """CPU and GPU results agree within the dtype's tolerance (``scale`` widens it for long chains)."""
    dtype = np.dtype(dtype)
    a, b = host(cpu), host(gpu)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    np.testing.assert_allclose(b, a, rtol=RTOL[dtype] * scale, atol=ATOL[dtype] * scale, err_msg=what)


def on(device, array, dtype=None, requires_grad=False):
    """A leaf Tensor on ``device`` holding ``array`` (cast to ``dtype``)."""
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    return mg.Tensor(array.copy(), requires_grad=requires_grad, device=device)
