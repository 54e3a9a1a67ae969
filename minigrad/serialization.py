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
file, and the temporary file is removed when the write fails.
"""
from __future__ import annotations

import errno
import json
import math
import os
import struct
import zipfile

import numpy as np

from .atomic import atomic_open
from .backend import to_numpy
from .errors import CheckpointError

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION", "MANIFEST_KEY"]

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


class _Decoder:
    def __init__(self, archive, entry_names):
        self.archive = archive
        self.entries = set(entry_names)
        self.used: set[str] = set()
        self._tensor = None

    def _array(self, key):
        if not isinstance(key, str) or key not in self.entries or key == MANIFEST_KEY:
            raise _Corrupt(f"the manifest refers to array entry {key!r}, "
                           "which the archive does not contain")
        try:
            array = self.archive[key]
        except ValueError as exc:
            # numpy refuses object arrays when allow_pickle=False
            raise _Corrupt(f"array entry {key!r} cannot be read without pickle "
                           f"({exc})") from exc
        except Exception as exc:
            raise _Corrupt(f"array entry {key!r} is damaged ({type(exc).__name__}: "
                           f"{exc})") from exc
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise _Corrupt(f"array entry {key!r} holds objects, which checkpoints "
                           "never contain")
        self.used.add(key)
        return array

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
                array = self._array(node["key"])
                if node.get("scalar"):
                    if array.ndim != 0:
                        raise _Corrupt(f"scalar entry {node['key']!r} has shape "
                                       f"{array.shape}")
                    return array[()]
                if node.get("tensor"):
                    return self._make_tensor(array, bool(node.get("requires_grad", False)))
                return array
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise _Corrupt(f"malformed {kind} node {_short(node)} "
                           f"({type(exc).__name__}: {exc})") from exc
        raise _Corrupt(f"unknown manifest node type {kind!r}")

    def _make_tensor(self, array, requires_grad):
        if self._tensor is None:
            self._tensor = _tensor_class()
            if self._tensor is None:
                raise _Corrupt("the checkpoint holds Tensors but minigrad.tensor "
                               "cannot be imported")
        # An ndarray keeps its dtype in Tensor(); float64 stays float64.
        return self._tensor(array, requires_grad=requires_grad)


def _text(node, field):
    value = node[field]
    if not isinstance(value, str):
        raise _Corrupt(f"field {field!r} should be a string in {_short(node)}")
    return value


def _short(node, limit=120):
    text = repr(node)
    return text if len(text) <= limit else text[:limit] + "..."


def _read(fileobj):
    """Parse an open checkpoint file; raises _Corrupt on anything foreign."""
    try:
        archive = np.load(fileobj, allow_pickle=False)
    except ValueError as exc:
        # np.load falls back to pickle for unknown formats and refuses it.
        raise _Corrupt("not a .npz archive (unrecognised file contents)") from exc
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _Corrupt(f"truncated or damaged archive ({type(exc).__name__}: {exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _Corrupt("a single .npy array, not a checkpoint archive")
    with archive:
        names = list(archive.files)
        if MANIFEST_KEY not in names:
            raise _Corrupt(f"no {MANIFEST_KEY!r} entry: this .npz was not written "
                           "by minigrad.save")
        try:
            raw = archive[MANIFEST_KEY]
        except Exception as exc:
            raise _Corrupt(f"the manifest entry is damaged ({type(exc).__name__}: "
                           f"{exc})") from exc
        if not (isinstance(raw, np.ndarray) and raw.dtype == np.uint8 and raw.ndim == 1):
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
        return _Decoder(archive, names).decode(manifest["root"])


def load(path):
    """Read a checkpoint written by :func:`save` and return the structure.

    Arrays come back as NumPy arrays, Tensors as ``minigrad.Tensor`` on the
    CPU (move them with ``.to(device)``), tuples as tuples and int dict keys
    as ints. Nothing is ever unpickled.

    Raises ``FileNotFoundError`` when ``path`` does not exist and
    :class:`minigrad.errors.CheckpointError` when the file is truncated,
    corrupted or not a minigrad checkpoint.
    """
    path = os.fspath(path)
    try:
        fileobj = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no checkpoint file at {path!r}",
                                path) from None
    with fileobj:
        try:
            return _read(fileobj)
        except _Corrupt as exc:
            raise CheckpointError(f"cannot load checkpoint {path!r}: {exc}") from exc
        except (zipfile.BadZipFile, EOFError, ValueError, KeyError,
                struct.error, RecursionError) as exc:
            raise CheckpointError(f"cannot load checkpoint {path!r}: damaged file "
                                  f"({type(exc).__name__}: {exc})") from exc
