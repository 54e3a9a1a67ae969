"""Element-wise comparison of minigrad results with reference results.

:func:`mismatch` applies NumPy's ``assert_allclose`` rule
(``|actual - expected| <= atol + rtol * |expected|``, NaN equals NaN, equal
infinities are equal) and, when elements fail it, describes the worst one: its
index, both values, the difference and the difference allowed there. Every
check of :mod:`minigrad.testing` reports failures through it, so each message
names the quantity, where it is worst and by how much.
"""
import sys

import numpy as np

from ..tensor import Tensor


def to_numpy(x):
    """A minigrad Tensor, torch tensor, array or number as a NumPy array (on the host)."""
    if isinstance(x, Tensor):
        return x.numpy()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(force=True)
    return np.asarray(x)


def mismatch(actual, expected, rtol, atol):
    """None when ``actual`` and ``expected`` (same shape) agree element-wise within
    ``rtol``/``atol``; otherwise a text naming the worst element and how many fail."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.size == 0:
        return None
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        a, e = a.astype(np.complex128), e.astype(np.complex128)
    else:
        a, e = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        allowed = atol + rtol * np.abs(e)
        ok = (diff <= allowed) | (np.isnan(a) & np.isnan(e)) | (a == e)
    if ok.all():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(ok, -1.0, diff / allowed)
    excess = np.where(np.isnan(excess), np.inf, excess)
    flat = int(np.argmax(excess))
    index = np.unravel_index(flat, a.shape) if a.ndim else ()
    where = f"at index {tuple(int(i) for i in index)}" if a.ndim else "(0-d)"
    return (f"worst element {where}: minigrad {a.flat[flat].item()!r}, torch {e.flat[flat].item()!r}, "
            f"|difference| {diff.flat[flat]:.3g} > allowed {allowed.flat[flat]:.3g} "
            f"(atol + rtol * |torch|); {int((~ok).sum())} of {a.size} elements out of tolerance")


def assert_close(actual, expected, rtol=1e-10, atol=1e-12, what="value", dtype_check="float64"):
    """minigrad's ``actual`` equals the reference ``expected``: the same shape, values within
    ``rtol``/``atol``. ``dtype_check``: ``"float64"`` (a float64 reference needs a float64
    result), ``"same"`` (any floating reference needs the same dtype) or None."""
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape}, torch has {e.shape}")
    if dtype_check == "float64" and e.dtype == np.float64 and a.dtype != np.float64:
        raise AssertionError(f"{what}: dtype {a.dtype}, torch has float64")
    if dtype_check == "same" and e.dtype.kind == "f" and a.dtype != e.dtype:
        raise AssertionError(f"{what}: dtype {a.dtype}, torch has {e.dtype}")
    report = mismatch(a, e, rtol, atol)
    if report is not None:
        raise AssertionError(f"{what} differs from torch (rtol={rtol:g}, atol={atol:g}): {report}")
