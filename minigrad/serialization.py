"""Checkpoints: ``save(obj, path)`` and ``load(path)`` without pickle.

What can be saved
-----------------
Nested ``dict`` (keys ``str`` or ``int``), ``list`` and ``tuple`` containers
whose leaves are NumPy arrays, NumPy scalars, minigrad Tensors (on either
device) and the Python values ``int``, ``float``, ``bool``, ``str`` and
``None``. That covers model and optimizer state dicts, scheduler state and
training-loop bookkeeping (epoch, step, best loss, RNG seeds). Anything else
raises ``TypeError`` naming where in the structure it sits, e.g.
``state['optimizer']['param_groups'][0]['fn']: cannot save object of type
function``.

The file format
---------------
A checkpoint is one uncompressed ``.npz`` archive, the ZIP file that
``numpy.savez`` writes, so ``numpy.load`` can open it with no minigrad at hand:

* every array is one entry, named ``a0``, ``a1``, ... in the order met while
  walking the structure depth first; CuPy arrays are copied to the host first;
* the entry ``__minigrad_manifest__`` is a ``uint8`` array holding UTF-8 JSON::

      {"format": "minigrad-checkpoint", "version": 1, "root": NODE}

  where each NODE is an object with a ``"type"``:

  ==========  ==========================================================
  ``none``    ``None``
  ``bool``    ``{"value": true}``
  ``int``     ``{"value": "-0x1f"}``: hexadecimal text, so ints of any
              size survive (decimal text of huge ints is capped by Python)
  ``float``   ``{"value": "0.1"}``: ``repr`` text, which reads back to the
              same double; NaN is stored as its IEEE-754 bit pattern
              ``{"bits": "7ff8000000000000"}`` so its sign and payload survive
  ``str``     ``{"value": "..."}``
  ``list``    ``{"items": [NODE, ...]}``
  ``tuple``   ``{"items": [NODE, ...]}``
  ``dict``    ``{"items": [[KEY_NODE, NODE], ...]}`` in insertion order;
              key nodes are ``str``/``int``/``bool`` nodes, so ``{1: ...}``
              comes back with the int key ``1``
  ``array``   ``{"key": "a3", "tensor": false}``: a reference to an array
              entry; ``"tensor": true`` (with ``"requires_grad"`` and the
              ``"device"`` it was saved from) makes ``load`` return a
              ``minigrad.Tensor`` (on the CPU); ``"scalar": true`` marks a
              NumPy scalar such as ``np.float32(1.5)``
  ==========  ==========================================================

Why not pickle
--------------
Unpickling runs code chosen by whoever wrote the file: a checkpoint handed in
with a homework submission or downloaded from a course page could run anything
on the grader's machine. This format holds only numbers, strings and raw array
bytes, and :func:`load` opens it with ``numpy.load(..., allow_pickle=False)``,
so an archive carrying object arrays (which NumPy pickles) is refused, never
executed. It also keeps checkpoints independent of class and module names, so
renaming a class does not break old files.

Atomic writes
-------------
:func:`save` writes to a temporary file in the target's directory, flushes and
``fsync``\\ s it, then renames it over the target with ``os.replace`` (atomic
on POSIX and Windows) and finally ``fsync``\\ s the directory. A crash at any
point leaves either the old checkpoint or the new one, never a half-written
file, and the temporary file is removed when the write fails. A process killed
mid-write cannot remove its temporary file; the next save to the same path does
(see :mod:`minigrad.atomic`).

Bounded loading
---------------
:func:`load` checks the zip directory before reading any data: every entry must
be stored uncompressed (so no small file can expand into a large allocation),
its declared size must fit in the file, the sizes must add up to at most
``max_bytes`` (``DEFAULT_MAX_BYTES``, 4 GiB, unless given), and each ``.npy``
header must declare exactly the bytes that follow it. An entry referred to many
times is read once and shared. Every failure is a ``CheckpointError`` that says
what was wrong.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import struct
import zipfile

import numpy as np

from .atomic import atomic_open
from .backend import to_numpy
from .errors import CheckpointError

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION", "MANIFEST_KEY", "DEFAULT_MAX_BYTES"]

FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1
MANIFEST_KEY = "__minigrad_manifest__"

_ROOT_NAME = "state"


def _tensor_class():
    """The Tensor class, imported late (tensor.py may import this module)."""
    try:
        from .tensor import Tensor
    except ImportError:
        return None
    return Tensor


def _is_cupy_array(x) -> bool:
    return type(x).__module__.startswith("cupy") and hasattr(x, "get")


# ----------------------------------------------------------------------------
# encoding: Python structure -> (manifest node, arrays)
# ----------------------------------------------------------------------------

def _key_repr(key) -> str:
    return f"[{key!r}]"


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._open: set[int] = set()   # ids of containers on the current path
        self._tensor = _tensor_class()

    def _add_array(self, array: np.ndarray, where: str) -> str:
        if array.dtype.hasobject:
            raise TypeError(
                f"{where}: cannot save an array of dtype {array.dtype} "
                "(object arrays need pickle, which checkpoints do not use)"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def encode(self, obj, where: str):
        # bool before int: bool is a subclass of int.
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, np.generic):
            # NumPy scalars (np.float32(1.5), np.int64(3), np.bool_(True)):
            # kept with their exact dtype as 0-d arrays.
            key = self._add_array(np.asarray(obj), where)
            return {"type": "array", "key": key, "tensor": False, "scalar": True}
        if isinstance(obj, int):
            return {"type": "int", "value": hex(int(obj))}
        if isinstance(obj, float):
            return _encode_float(float(obj))
        if isinstance(obj, str):
            return {"type": "str", "value": str(obj)}
        if isinstance(obj, np.ndarray):
            return {"type": "array", "key": self._add_array(obj, where), "tensor": False}
        if _is_cupy_array(obj):
            host = to_numpy(obj)
            return {"type": "array", "key": self._add_array(host, where), "tensor": False}
        if self._tensor is not None and isinstance(obj, self._tensor):
            return self._encode_tensor(obj, where)
        if isinstance(obj, (dict, list, tuple)):
            return self._encode_container(obj, where)
        raise TypeError(
            f"{where}: cannot save object of type {type(obj).__name__} "
            "(checkpoints hold dicts, lists, tuples, arrays, Tensors, int, float, "
            "bool, str and None)"
        )

    def _encode_tensor(self, t, where: str):
        host = to_numpy(t.data)
        node = {"type": "array", "key": self._add_array(host, where), "tensor": True,
                "requires_grad": bool(getattr(t, "requires_grad", False))}
        device = getattr(t, "device", None)
        if device is not None:
            node["device"] = str(device)
        return node

    def _encode_container(self, obj, where: str):
        ident = id(obj)
        if ident in self._open:
            raise ValueError(f"{where}: cannot save a container that contains itself")
        self._open.add(ident)
        try:
            if isinstance(obj, dict):
                items = []
                for key, value in obj.items():
                    if not isinstance(key, (str, int)) or isinstance(key, np.generic):
                        raise TypeError(
                            f"{where}: cannot save dict key {key!r} of type "
                            f"{type(key).__name__} (keys must be str or int)"
                        )
                    key_node = self.encode(key, where)
                    items.append([key_node, self.encode(value, where + _key_repr(key))])
                return {"type": "dict", "items": items}
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {"type": kind,
                    "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        finally:
            self._open.discard(ident)


def _encode_float(x: float):
    if math.isnan(x):
        return {"type": "float", "bits": struct.pack(">d", x).hex()}
    return {"type": "float", "value": repr(x)}


def _encode(obj):
    """Return ``(manifest_bytes, arrays)`` for ``obj``; raises before any I/O."""
    encoder = _Encoder()
    root = encoder.encode(obj, _ROOT_NAME)
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
    text = json.dumps(manifest, allow_nan=False, separators=(",", ":"))
    return text.encode("ascii"), encoder.arrays


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------

def _write_archive(fileobj, manifest: bytes, arrays: dict) -> None:
    """Write the .npz archive (manifest plus arrays) to an open binary file."""
    entries = dict(arrays)
    entries[MANIFEST_KEY] = np.frombuffer(manifest, dtype=np.uint8)
    np.savez(fileobj, **entries)


def save(obj, path) -> None:
    """Write ``obj`` to ``path`` atomically as a minigrad checkpoint.

    ``obj`` is a nested structure of dicts (str/int keys), lists and tuples
    with arrays, Tensors, NumPy scalars, int, float, bool, str and None as
    leaves (see the module docstring for the format). The file at ``path`` is
    replaced only once the new checkpoint is completely on disk; if anything
    fails, the old file stays as it was and no temporary file is left behind.

    Raises ``TypeError`` (naming the place in the structure) for values that
    cannot be saved; nothing is written in that case.
    """
    path = os.fspath(path)
    manifest, arrays = _encode(obj)

    with atomic_open(path, "wb") as f:
        _write_archive(f, manifest, arrays)


# ----------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------

class _Corrupt(Exception):
    """Internal: what is wrong with a checkpoint, turned into CheckpointError."""


#: The most array bytes :func:`load` reads unless told otherwise (``max_bytes``).
DEFAULT_MAX_BYTES = 4 * 2**30

_NPY_SUFFIX = ".npy"


class _Archive:
    """The entries of a checkpoint's zip file, checked before anything is read.

    Every entry must be *stored* (uncompressed, as ``numpy.savez`` writes them):
    its size on disk is then its size in memory, so a small file cannot expand
    into a large allocation. The declared sizes must fit inside the file and add
    up to at most ``max_bytes``. Each entry is read at most once; a manifest that
    refers to one entry many times gets the same array back each time.
    """

    def __init__(self, fileobj, max_bytes: int):
        fileobj.seek(0, os.SEEK_END)
        file_size = fileobj.tell()
        fileobj.seek(0)
        try:
            self.zip = zipfile.ZipFile(fileobj)
        except zipfile.BadZipFile as exc:
            raise _Corrupt(f"not a .npz archive, or a damaged one ({exc})") from exc
        self.entries = {}
        total = 0
        for info in self.zip.infolist():
            name = info.filename
            key = name[:-len(_NPY_SUFFIX)] if name.endswith(_NPY_SUFFIX) else name
            if key in self.entries:
                raise _Corrupt(f"the archive holds entry {key!r} twice")
            if info.compress_type != zipfile.ZIP_STORED:
                raise _Corrupt(f"entry {key!r} is compressed (method {info.compress_type}); "
                               "checkpoints store their entries uncompressed, and a "
                               "compressed entry could expand far beyond the file's size")
            if info.compress_size != info.file_size:
                raise _Corrupt(f"entry {key!r} declares {info.file_size} bytes but "
                               f"occupies {info.compress_size}")
            if info.header_offset + info.file_size > file_size:
                raise _Corrupt(f"entry {key!r} declares {info.file_size} bytes at offset "
                               f"{info.header_offset}, past the end of the "
                               f"{file_size}-byte file")
            total += info.file_size
            self.entries[key] = info
        if total > max_bytes:
            raise _Corrupt(f"the archive holds {total} bytes of arrays, more than "
                           f"max_bytes={max_bytes}; pass a larger max_bytes to load() "
                           "if the file is trusted")
        self._cache: dict = {}

    @property
    def names(self):
        return list(self.entries)

    def array(self, key: str) -> np.ndarray:
        """The array of entry ``key``, read and validated once."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        info = self.entries[key]
        try:
            raw = bytearray(self.zip.read(info))   # checks the CRC
        except Exception as exc:
            raise _Corrupt(f"array entry {key!r} is damaged ({type(exc).__name__}: "
                           f"{exc})") from exc
        array = _parse_npy(raw, key)
        self._cache[key] = array
        return array


def _parse_npy(raw: bytearray, key: str) -> np.ndarray:
    """An .npy file's array from its bytes; the header must match the data exactly.

    The header is parsed here (not by ``numpy.load``, which allocates the declared
    shape before reading it): a declared size that differs from the bytes present
    is an error, and object dtypes (which would need pickle) are refused.
    """
    buf = io.BytesIO(raw)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(buf)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except Exception as exc:
        raise _Corrupt(f"array entry {key!r} has a damaged header ({type(exc).__name__}: "
                       f"{exc})") from exc
    if dtype.hasobject:
        raise _Corrupt(f"array entry {key!r} holds objects (dtype {dtype}), which cannot "
                       "be read without pickle; checkpoints never contain them")
    count = math.prod(shape)
    offset = buf.tell()
    if count * dtype.itemsize != len(raw) - offset:
        raise _Corrupt(f"array entry {key!r} declares shape {shape} of {dtype} "
                       f"({count * dtype.itemsize} bytes) but holds {len(raw) - offset}")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


class _Decoder:
    def __init__(self, archive: _Archive):
        self.archive = archive
        self._tensor = None
        self._tensors: dict = {}

    def _array(self, key):
        if not isinstance(key, str) or key not in self.archive.entries or key == MANIFEST_KEY:
            raise _Corrupt(f"the manifest refers to array entry {key!r}, "
                           "which the archive does not contain")
        return self.archive.array(key)

    def decode(self, node):
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise _Corrupt(f"malformed manifest node {_short(node)}")
        kind = node["type"]
        try:
            if kind == "none":
                return None
            if kind == "bool":
                value = node["value"]
                if not isinstance(value, bool):
                    raise _Corrupt(f"malformed bool node {_short(node)}")
                return value
            if kind == "int":
                return int(_text(node, "value"), 16)
            if kind == "float":
                if "bits" in node:
                    return struct.unpack(">d", bytes.fromhex(_text(node, "bits")))[0]
                return float(_text(node, "value"))
            if kind == "str":
                return _text(node, "value")
            if kind in ("list", "tuple"):
                items = node["items"]
                if not isinstance(items, list):
                    raise _Corrupt(f"malformed {kind} node {_short(node)}")
                values = [self.decode(item) for item in items]
                return tuple(values) if kind == "tuple" else values
            if kind == "dict":
                items = node["items"]
                if not isinstance(items, list):
                    raise _Corrupt(f"malformed dict node {_short(node)}")
                out = {}
                for pair in items:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise _Corrupt(f"malformed dict item {_short(pair)}")
                    key_node, value_node = pair
                    if not (isinstance(key_node, dict)
                            and key_node.get("type") in ("str", "int", "bool")):
                        raise _Corrupt(f"malformed dict key {_short(key_node)}")
                    out[self.decode(key_node)] = self.decode(value_node)
                return out
            if kind == "array":
                key = node["key"]
                array = self._array(key)
                if node.get("scalar"):
                    if array.ndim != 0:
                        raise _Corrupt(f"scalar entry {key!r} has shape {array.shape}")
                    return array[()]
                if node.get("tensor"):
                    return self._make_tensor(key, array, bool(node.get("requires_grad", False)))
                return array
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise _Corrupt(f"malformed {kind} node {_short(node)} "
                           f"({type(exc).__name__}: {exc})") from exc
        raise _Corrupt(f"unknown manifest node type {kind!r}")

    def _make_tensor(self, key, array, requires_grad):
        if self._tensor is None:
            self._tensor = _tensor_class()
            if self._tensor is None:
                raise _Corrupt("the checkpoint holds Tensors but minigrad.tensor "
                               "cannot be imported")
        # one entry referred to twice comes back as one Tensor (shared, as written)
        cached = self._tensors.get((key, requires_grad))
        if cached is None:
            # An ndarray keeps its dtype in Tensor(); float64 stays float64.
            cached = self._tensors[(key, requires_grad)] = self._tensor(
                array, requires_grad=requires_grad)
        return cached


def _text(node, field):
    value = node[field]
    if not isinstance(value, str):
        raise _Corrupt(f"field {field!r} should be a string in {_short(node)}")
    return value


def _short(node, limit=120):
    text = repr(node)
    return text if len(text) <= limit else text[:limit] + "..."


def _read(fileobj, max_bytes: int):
    """Parse an open checkpoint file; raises _Corrupt on anything foreign."""
    head = fileobj.read(6)
    fileobj.seek(0)
    if head == b"\x93NUMPY":
        raise _Corrupt("a single .npy array, not a checkpoint archive")
    if not head.startswith(b"PK"):
        raise _Corrupt("not a .npz archive (unrecognised file contents)")
    archive = _Archive(fileobj, max_bytes)
    if MANIFEST_KEY not in archive.entries:
        raise _Corrupt(f"no {MANIFEST_KEY!r} entry: this .npz was not written "
                       "by minigrad.save")
    try:
        raw = archive.array(MANIFEST_KEY)
    except _Corrupt as exc:
        raise _Corrupt(f"the manifest entry is damaged ({exc})") from exc
    if not (raw.dtype == np.uint8 and raw.ndim == 1):
        raise _Corrupt("the manifest entry is not a 1-d uint8 array")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Corrupt(f"the manifest is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise _Corrupt("the manifest is not a JSON object")
    name = manifest.get("format")
    if name != FORMAT_NAME:
        raise _Corrupt(f"format {name!r} is not {FORMAT_NAME!r}")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Corrupt(f"format version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise _Corrupt(f"format version {version} is newer than this minigrad "
                       f"reads (up to {FORMAT_VERSION}); upgrade minigrad")
    if version < 1:
        raise _Corrupt(f"unknown format version {version}")
    if "root" not in manifest:
        raise _Corrupt("the manifest has no 'root'")
    return _Decoder(archive).decode(manifest["root"])


def load(path, max_bytes: int = DEFAULT_MAX_BYTES):
    """Read a checkpoint written by :func:`save` and return the structure.

    Arrays come back as NumPy arrays, Tensors as ``minigrad.Tensor`` on the
    CPU (move them with ``.to(device)``), tuples as tuples and int dict keys
    as ints. Nothing is ever unpickled.

    The reader is bounded: entries must be stored uncompressed, their declared
    sizes must fit the file and add up to at most ``max_bytes`` (4 GiB unless
    given), and each entry is read once however often the manifest refers to it.

    Raises ``FileNotFoundError`` when ``path`` does not exist and
    :class:`minigrad.errors.CheckpointError`, with the reason, for every way the
    file can be truncated, corrupted, oversized or not a minigrad checkpoint.
    """
    path = os.fspath(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise TypeError(f"load: max_bytes must be a non-negative int, got {max_bytes!r}")
    try:
        fileobj = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no checkpoint file at {path!r}",
                                path) from None
    with fileobj:
        try:
            return _read(fileobj, max_bytes)
        except _Corrupt as exc:
            raise CheckpointError(f"cannot load checkpoint {path!r}: {exc}") from exc
        except (Exception, RecursionError) as exc:
            # zipfile and the .npy header parser have many ways to fail on damaged
            # bytes (BadZipFile, NotImplementedError, OverflowError, ...): all of
            # them mean the same thing here
            raise CheckpointError(f"cannot load checkpoint {path!r}: damaged file "
                                  f"({type(exc).__name__}: {exc})") from exc
