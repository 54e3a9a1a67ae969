"""Everything that differs between NumPy (CPU) and CuPy (GPU) lives here.

The rest of minigrad never imports numpy-vs-cupy decisions on its own: it asks
this module for the array module of an array (:func:`get_array_module`), moves
arrays between devices (:func:`to_device`) and calls the few functions whose
spelling differs between the two libraries (:func:`scatter_add`, :func:`erf`).
Nothing here swaps NumPy for CuPy globally; each array carries its device.

CuPy is optional. It is imported lazily, the first time a GPU is asked for, so a
machine without CuPy (or without a GPU) never pays for the import.
"""
from __future__ import annotations

import numpy as np

_cupy = None          # the cupy module once imported, False if unavailable
_cupy_error = None    # why cupy is unavailable, for the error message


def _load_cupy():
    """Import cupy once; return the module or None when it cannot be used."""
    global _cupy, _cupy_error
    if _cupy is None:
        try:
            import cupy  # noqa: F401  (optional dependency)

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("CuPy found no CUDA device")
            _cupy = cupy
        except Exception as exc:  # ImportError, CUDA driver errors, ...
            _cupy, _cupy_error = False, exc
    return _cupy or None


def cuda_is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return _load_cupy() is not None


# ----------------------------------------------------------------------------
# devices
# ----------------------------------------------------------------------------

def normalize_device(device) -> str:
    """Map user spellings ("cpu", "cuda", "cuda:0", "gpu") to "cpu" or "cuda"."""
    if device is None:
        return "cpu"
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "gpu") or name.startswith("cuda:"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def is_cupy_array(x) -> bool:
    return _cupy not in (None, False) and isinstance(x, _cupy.ndarray)


def device_of(x) -> str:
    """The device ("cpu" or "cuda") an array lives on."""
    return "cuda" if is_cupy_array(x) else "cpu"


def get_array_module(x):
    """numpy for a NumPy array (or a Python scalar), cupy for a CuPy array."""
    return _cupy if is_cupy_array(x) else np


def xp_for(device: str):
    """The array module that creates arrays on ``device``."""
    if normalize_device(device) == "cpu":
        return np
    cp = _load_cupy()
    if cp is None:
        from .cuda import unavailable_reason

        raise RuntimeError(f"device 'cuda' requested but it cannot be used here: {unavailable_reason()}")
    return cp


def to_device(x, device: str):
    """Return ``x`` on ``device`` (the same array when it is already there)."""
    device = normalize_device(device)
    if device_of(x) == device:
        return x
    if device == "cpu":
        return x.get()  # cupy -> numpy
    return xp_for("cuda").asarray(x)


def to_numpy(x) -> np.ndarray:
    return x.get() if is_cupy_array(x) else np.asarray(x)


# ----------------------------------------------------------------------------
# functions spelled differently in numpy and cupy
# ----------------------------------------------------------------------------

def _is_basic_key(key) -> bool:
    """True for keys made of ints, slices, None and Ellipsis only: such a key
    selects every position at most once, so plain ``+=`` is already exact."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis
               for k in parts)


def _row_index(key):
    """The index array when ``key`` picks whole rows with one int array (of any shape:
    ``target[idx]`` with idx (B, T) picks B*T rows)."""
    if isinstance(key, tuple):
        if len(key) != 1:
            return None
        key = key[0]
    if isinstance(key, np.ndarray) and key.ndim >= 1 and key.dtype.kind in "iu":
        return key
    return None


def scatter_add(target, key, values) -> None:
    """``target[key] += values`` where repeated indices in ``key`` all add up.

    Plain ``target[key] += values`` keeps only one of the repeated writes; the
    general tool is the unbuffered ``np.add.at`` / ``cupyx.scatter_add``. Two
    common cases take faster routes with the same result: keys without arrays
    (no position repeats, so ``+=`` is exact), and rows gathered by one index
    array on the CPU (a segment sum: a sparse 0/1 matrix times the rows, which
    is many times faster than ``np.add.at``). Into a zero target (the one use,
    :class:`~minigrad.ops.shape.ScatterAdd`) the result is bit for bit
    ``np.add.at``'s: each row receives its values in the index array's C order,
    starting from 0, in both (the sparse product sums a row's entries in column
    order). Into a nonzero target the sparse route adds each row's sum at once.
    """
    if _is_basic_key(key):
        target[key] += values
        return
    if is_cupy_array(target):
        import cupyx

        cupyx.scatter_add(target, key, values)
        return
    rows = _row_index(key)
    # (scipy.sparse has no float16: half precision takes np.add.at)
    if rows is not None and target.dtype in (np.float32, np.float64) and target.ndim >= 1 \
            and rows.size:
        import scipy.sparse

        n = rows.size
        values = np.broadcast_to(values, rows.shape + target.shape[1:]).reshape(n, -1)
        rows = rows.reshape(-1)
        rows = np.where(rows < 0, rows + target.shape[0], rows)
        selector = scipy.sparse.csr_matrix(
            (np.ones(n, dtype=target.dtype), (rows, np.arange(n))),
            shape=(target.shape[0], n))
        target += (selector @ values).reshape(target.shape)
        return
    np.add.at(target, key, values)


def erf(x):
    """The error function, elementwise, on either device."""
    if is_cupy_array(x):
        import cupyx.scipy.special

        y = cupyx.scipy.special.erf(x)
        return y.astype(x.dtype, copy=False) if x.dtype.kind == "f" else y
    import scipy.special

    # scipy computes float16 in float64: cast back, so erf keeps the input's dtype
    y = scipy.special.erf(x)
    return y.astype(x.dtype, copy=False) if x.dtype.kind == "f" else y


def random_generator(device: str):
    """The module-level generator that random ops on ``device`` draw from."""
    from . import random as _random

    return _random.generator(device)
