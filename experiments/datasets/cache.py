"""Atomic, pickle-free cache files for built corpora.

Building a corpus (parsing a source tree, reading every gettext catalog) takes
seconds to minutes; the result is cached on disk and reused. Two formats, both
readable without this package and neither able to run code when loaded:

* JSON (``.json``): small structured results (parallel-text pairs, statistics,
  vocabularies);
* NumPy ``.npz`` (``.npz``, compressed): large integer arrays (flattened ASTs) plus a JSON
  manifest stored as a ``uint8`` array under the key ``__json__``. It is read
  with ``numpy.load(..., allow_pickle=False)``.

Every write goes to a temporary file in the target's directory, is flushed and
``fsync``-ed, renamed over the target with :func:`os.replace` (atomic on POSIX
and Windows), and the directory is ``fsync``-ed. A crash leaves the old file or
the new one, never half of one; the temporary file is removed when the write
fails. A cache file that cannot be read back (truncated by a foreign tool,
written by another version, not a regular file, declaring arrays larger than
itself) is treated as missing and rebuilt.

The cache directory is ``$MINIGRAD_DATA_DIR`` when set, otherwise
``$XDG_CACHE_HOME/minigrad/datasets`` (``~/.cache/minigrad/datasets``).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib

import numpy as np

from minigrad.atomic import write_bytes

from .files import SkippedInput, read_regular_file

__all__ = [
    "default_cache_dir",
    "atomic_write_bytes",
    "write_json",
    "read_json",
    "write_npz",
    "read_npz",
    "cache_key",
    "fingerprint_files",
    "CacheError",
]

#: Bumped when the layout of any cached corpus changes, so old files are ignored.
CACHE_FORMAT_VERSION = 1

#: Largest cache file read back, and largest total of arrays in one ``.npz`` (4 GiB).
MAX_CACHE_BYTES = 4 * 1024 ** 3


class CacheError(RuntimeError):
    """A cache file exists but cannot be read back."""


def default_cache_dir():
    """Where corpora are cached (see the module docstring); not created here."""
    env = os.environ.get("MINIGRAD_DATA_DIR")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigrad", "datasets")


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (see :mod:`minigrad.atomic`)."""
    write_bytes(path, data)


def _json_bytes(obj, **kw):
    """``obj`` as UTF-8 JSON; with ASCII escapes when it holds a lone surrogate (a file name
    that is not UTF-8, decoded by the OS with ``surrogateescape``), which UTF-8 cannot encode
    but ``\\udcff`` escapes carry back exactly."""
    try:
        return json.dumps(obj, ensure_ascii=False, **kw).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, **kw).encode("ascii")


def write_json(path, obj):
    """Atomically write ``obj`` as UTF-8 JSON."""
    atomic_write_bytes(path, _json_bytes(obj, separators=(",", ":")))


def read_json(path):
    """Read a JSON cache file; :class:`CacheError` when it is not a readable regular file of valid JSON."""
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = read_regular_file(path, MAX_CACHE_BYTES)
        return json.loads(data.decode("utf-8"))
    except SkippedInput as exc:
        raise CacheError(f"{path}: unreadable JSON cache file ({exc.detail})") from exc
    except (ValueError, RecursionError) as exc:
        raise CacheError(f"{path}: unreadable JSON cache file ({exc})") from exc


def write_npz(path, meta, arrays):
    """Atomically write integer/float ``arrays`` (a dict) and a JSON ``meta`` to one ``.npz``."""
    if "__json__" in arrays:
        raise ValueError("the array name '__json__' is reserved for the manifest")
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which would need pickle")
    buf = io.BytesIO()
    manifest = np.frombuffer(_json_bytes(meta), dtype=np.uint8)
    np.savez_compressed(buf, __json__=manifest, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def _check_npz_sizes(path, data):
    """Refuse an ``.npz`` whose arrays would take more memory than the file can hold.

    Each member's ``.npy`` header declares a shape; NumPy allocates that much
    before reading, so a few corrupted bytes could ask for terabytes. The
    declared size must not exceed the member's uncompressed size in the zip
    directory, and their total must stay under :data:`MAX_CACHE_BYTES`.
    """
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes > info.file_size:
                raise ValueError(f"member {info.filename} declares {nbytes} bytes in {info.file_size}")
            total += info.file_size
            if total > MAX_CACHE_BYTES:
                raise ValueError(f"more than {MAX_CACHE_BYTES} bytes uncompressed")


def read_npz(path):
    """Read a file written by :func:`write_npz`; returns ``(meta, arrays)``.

    :class:`CacheError` for anything but a readable regular file in that format
    (bounded: see :func:`_check_npz_sizes`).
    """
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = read_regular_file(path, MAX_CACHE_BYTES)
        _check_npz_sizes(path, data)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(arrays.pop("__json__").tobytes().decode("utf-8"))
    except SkippedInput as exc:
        raise CacheError(f"{path}: unreadable npz cache file ({exc.detail})") from exc
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError, RuntimeError,
            NotImplementedError, zlib.error, MemoryError, RecursionError) as exc:
        raise CacheError(f"{path}: unreadable npz cache file ({type(exc).__name__}: {exc})") from exc
    return meta, arrays


def cache_key(**config):
    """A short stable hash of a JSON-able configuration (plus the cache format version)."""
    blob = json.dumps({"v": CACHE_FORMAT_VERSION, **config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def fingerprint_files(paths):
    """Hash of (path, size, mtime) of each file: changes when a source changes."""
    h = hashlib.sha256()
    for p in sorted(os.fspath(p) for p in paths):
        try:
            st = os.stat(p)
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{p}\0missing\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]
