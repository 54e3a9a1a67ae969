r"""Fused GPU kernels for the flat path: a kernel function compiled by ``cupy.fuse``.

On CuPy arrays each NumPy-style line of a formula is a kernel launch that
reads and writes whole arrays from GPU memory; Adam's in-place twin is about
fifteen of them. :func:`fuse` hands a kernel function of
:mod:`optim.fast.kernels` (the formula's lines as one function of arrays and
scalars, the same one the CPU compiles to C in :mod:`optim.fast.cpu`) to
``cupy.fuse``, which compiles it into **one** elementwise kernel: every array
is read and written once per step.

On the GPU the fused kernel may differ from the teaching path in the last
bits: the CUDA compiler contracts ``a * b + c`` into one fused multiply-add
(one rounding instead of two), which the separate kernels of the teaching
path cannot do. The ``gpu`` tests compare the two to a few ulps per step.

A kernel that CuPy cannot build says so once (:data:`failures`) and its
steps run the in-place twin; ``MINIGRAD_GPU_FUSED=0`` turns the kernels off.
"""
from __future__ import annotations

import os

# the kernel functions and the host side live in optim.fast.kernels (shared with the CPU);
# their names stay importable from here too
from .kernels import (  # noqa: F401
    FUSED_OPTIMIZERS,
    KernelUnavailable,
    adagrad_kernel,
    adam_kernel,
    fused_step,
    kernel,
    rmsprop_kernel,
    sgd_kernel,
    stats,
)

__all__ = ["enabled", "failures", "fuse"]

failures: dict = {}
"""Kernels that CuPy could not build, by name and flags, with the error: their steps
ran the in-place twin instead (a warning said so once); the ``gpu`` tests and the
benchmark report them."""


def enabled() -> bool:
    """Whether the flat path uses the fused kernels on the GPU (``MINIGRAD_GPU_FUSED=0`` turns them off)."""
    return os.environ.get("MINIGRAD_GPU_FUSED", "1") != "0"


class _Kernel:
    """A fused kernel that, if its first call fails (CuPy cannot trace or compile it, before
    anything is written), says so once and raises :class:`KernelUnavailable` from then on.

    ``candidates`` are tried in order at the first call and the first that works is kept:
    the kernel function without a result (it only writes its arguments) and the same
    function returning ``theta`` (for a CuPy whose ``fuse`` wants a result; that costs
    one more array written per step).
    """

    def __init__(self, candidates, name):
        self.candidates, self.name, self.fn, self.state = list(candidates), name, None, "new"

    def __call__(self, *args):
        if self.state == "ok":
            return self.fn(*args)
        if self.state == "broken":
            raise KernelUnavailable(self.name)
        errors = []
        for fn in self.candidates:
            try:
                result = fn(*args)
            except Exception as exc:      # tracing or compiling failed: nothing was written yet
                errors.append(exc)
                continue
            self.fn, self.state = fn, "ok"
            return result
        import warnings

        self.state = "broken"
        failures[self.name] = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        warnings.warn(f"the fused GPU kernel {self.name} could not be built ({failures[self.name]}); "
                      "its steps run one kernel per operation", RuntimeWarning, stacklevel=2)
        raise KernelUnavailable(self.name) from errors[-1]


def _without_result(fn):
    def step(*args):
        fn(*args)
    return step


def fuse(builder, xp, flags, name):
    """``builder(xp, **flags)`` fused by ``xp.fuse`` (CuPy), as a :class:`_Kernel` named ``name``."""
    fn = builder(xp, **flags)
    fusion = xp.fuse(kernel_name=f"minigrad_{builder.__name__}")
    return _Kernel([fusion(_without_result(fn)), fusion(fn)], name)
