"""Checkpoints: exact round trips, atomic writes, and refusing damaged or foreign files."""
import io
import json
import math
import os
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import serialization
from minigrad.errors import CheckpointError
from minigrad.serialization import MANIFEST_KEY, load, save


def _tensor_class():
    try:
        from minigrad.tensor import Tensor
    except ImportError:
        return None
    return Tensor


Tensor = _tensor_class()
needs_tensor = pytest.mark.skipif(Tensor is None, reason="minigrad.tensor is not importable")


def assert_same(a, b, where="state"):
    """Structural equality that also checks types, dtypes and float bits."""
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), where
        for k in a:
            assert type(k) is type(next(kk for kk in b if kk == k)), where
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where
    elif Tensor is not None and isinstance(a, Tensor):
        assert_same(a.numpy(), b.numpy(), where)
        assert a.requires_grad == b.requires_grad, where
    elif isinstance(a, float):
        assert struct.pack(">d", a) == struct.pack(">d", b), f"{where}: {a!r} vs {b!r}"
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    else:
        assert a == b, where


def roundtrip(obj, tmp_path, name="ckpt.npz"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


# ----------------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------------

def test_nested_state_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "model": {
            "w": rng.standard_normal((3, 4)).astype(np.float32),
            "b": rng.standard_normal(4),                      # float64
            "idx": np.arange(5, dtype=np.int64),
            "mask": np.array([True, False, True]),
            "scalar": np.array(2.5),                          # 0-d
            "empty": np.zeros((0, 3), dtype=np.float32),      # zero size
            "i8": np.array([-1, 2], dtype=np.int8),
            "f16": np.array([1.5, -0.25], dtype=np.float16),
            "fortran": np.asfortranarray(rng.standard_normal((2, 3))),
        },
        "optimizer": {
            "state": {0: {"step": 10, "exp_avg": rng.standard_normal(3)},
                      1: {"step": 10, "exp_avg": rng.standard_normal(3)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                              "amsgrad": False, "params": [0, 1], "name": None}],
        },
        "epoch": 3,
        "best": float("inf"),
        "worst": float("-inf"),
        "nan": float("nan"),
        "neg_zero": -0.0,
        "tiny": 5e-324,
        "third": 1 / 3,
        "huge_int": 10 ** 5000,
        "neg_int": -(2 ** 70),
        "text": "héllo \u2603 \"quoted\" \\ \n",
        "empty_containers": ([], (), {}),
        "nested_tuple": ((1, 2), [3, (4.0, "5")]),
        "np_scalars": [np.float32(1.5), np.int64(-3), np.bool_(True)],
        -7: "negative int key",
        "": "empty key",
    }
    out = roundtrip(state, tmp_path)
    assert_same(state, out)
    assert out["model"]["scalar"].shape == ()
    assert out["model"]["empty"].shape == (0, 3)
    assert isinstance(out["optimizer"]["param_groups"][0]["betas"], tuple)
    assert set(out["optimizer"]["state"]) == {0, 1}
    assert math.isnan(out["nan"])


def test_nan_sign_and_payload_survive(tmp_path):
    weird_nan = struct.unpack(">d", bytes.fromhex("fff8000000000123"))[0]
    out = roundtrip([weird_nan, -float("nan")], tmp_path)
    assert struct.pack(">d", out[0]).hex() == "fff8000000000123"
    assert math.copysign(1.0, out[1]) == math.copysign(1.0, -float("nan"))


@pytest.mark.parametrize("leaf", [None, True, False, 0, -1, 2 ** 64, 1.0, 0.1,
                                  "", "x", np.array(1, dtype=np.int32)])
def test_scalar_roots(tmp_path, leaf):
    assert_same(leaf, roundtrip(leaf, tmp_path))


def test_bool_and_int_are_kept_apart(tmp_path):
    out = roundtrip({"flag": True, "one": 1, "zero_f": 0.0}, tmp_path)
    assert out["flag"] is True
    assert type(out["one"]) is int
    assert type(out["zero_f"]) is float


@needs_tensor
def test_tensors_come_back_as_tensors_and_arrays_as_arrays(tmp_path):
    w = Tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True)
    n = Tensor(np.array([1, 2, 3], dtype=np.int64))
    f32 = Tensor(np.ones(2, dtype=np.float32))
    state = {"w": w, "n": n, "f32": f32, "raw": np.arange(3.0), "pair": (w, np.ones(1))}
    out = roundtrip(state, tmp_path)
    assert isinstance(out["w"], Tensor) and isinstance(out["n"], Tensor)
    assert isinstance(out["raw"], np.ndarray) and not isinstance(out["raw"], Tensor)
    assert out["w"].dtype == w.dtype and out["n"].dtype == n.dtype
    assert out["f32"].dtype == f32.dtype
    assert out["w"].requires_grad and not out["n"].requires_grad
    np.testing.assert_array_equal(out["w"].numpy(), w.numpy())
    assert isinstance(out["pair"], tuple) and isinstance(out["pair"][0], Tensor)
    assert_same(state, out)


def test_file_is_a_plain_npz_with_a_manifest(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"x": np.arange(3), "y": [np.ones(2)]}, path)
    with zipfile.ZipFile(path) as zf:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(["a0", "a1", MANIFEST_KEY])
        manifest = json.loads(npz[MANIFEST_KEY].tobytes().decode("utf-8"))
    assert manifest["format"] == "minigrad-checkpoint"
    assert manifest["version"] == 1


def test_path_is_used_as_given_without_npz_suffix(tmp_path):
    path = tmp_path / "model.ckpt"
    save({"a": 1}, str(path))
    assert path.exists() and not (tmp_path / "model.ckpt.npz").exists()
    assert load(str(path)) == {"a": 1}


def test_overwrite_replaces_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"step": 1}, path)
    save({"step": 2}, path)
    assert load(path) == {"step": 2}
    assert os.listdir(tmp_path) == ["ckpt.npz"]


json_leaves = (st.none() | st.booleans() | st.integers() | st.text()
               | st.floats(allow_nan=True, allow_infinity=True))
structures = st.recursive(
    json_leaves,
    lambda children: (st.lists(children, max_size=4)
                      | st.lists(children, max_size=4).map(tuple)
                      | st.dictionaries(st.text(max_size=5) | st.integers(), children,
                                        max_size=4)),
    max_leaves=20,
)


@given(structures)
def test_round_trip_property(tmp_path_factory, obj):
    tmp = tmp_path_factory.mktemp("prop")
    assert_same(obj, roundtrip(obj, tmp))


@given(st.sampled_from(["float16", "float32", "float64", "int8", "int32", "int64",
                        "uint8", "bool", "complex128"]),
       st.lists(st.integers(0, 3), max_size=3))
def test_array_dtypes_and_shapes_property(tmp_path_factory, dtype, shape):
    rng = np.random.default_rng(len(shape))
    arr = (rng.standard_normal(shape) * 10).astype(dtype)
    tmp = tmp_path_factory.mktemp("arr")
    out = roundtrip({"a": arr}, tmp)["a"]
    assert_same(arr, out)


# ----------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------

def _old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"step": 1, "w": np.arange(4.0)}, path)
    return path, path.read_bytes()


def test_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    path, before = _old_checkpoint(tmp_path)

    def crash(src, dst):
        raise OSError("simulated power loss before rename")

    monkeypatch.setattr(serialization.os, "replace", crash)
    with pytest.raises(OSError, match="simulated power loss"):
        save({"step": 2, "w": np.zeros(1000)}, path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert_same(load(path), {"step": 1, "w": np.arange(4.0)})
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_crash_while_writing_keeps_old_file(tmp_path, monkeypatch):
    path, before = _old_checkpoint(tmp_path)
    real_write = serialization._write_archive

    def half_write(fileobj, manifest, arrays):
        real_write(fileobj, manifest, arrays)
        fileobj.truncate(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_archive", half_write)
    with pytest.raises(KeyboardInterrupt):
        save({"step": 2}, path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_unsavable_object_writes_nothing(tmp_path):
    path, before = _old_checkpoint(tmp_path)
    with pytest.raises(TypeError):
        save({"f": lambda x: x}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_new_file_gets_ordinary_permissions(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"a": 1}, path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


# ----------------------------------------------------------------------------
# what cannot be saved
# ----------------------------------------------------------------------------

def test_lambda_error_names_key_path(tmp_path):
    state = {"optimizer": {"param_groups": [{"lr": 0.1, "fn": lambda p: p}]}}
    with pytest.raises(TypeError) as info:
        save(state, tmp_path / "x.npz")
    msg = str(info.value)
    assert "['optimizer']['param_groups'][0]['fn']" in msg
    assert "function" in msg


@pytest.mark.parametrize("bad, fragment", [
    ({"s": {1, 2}}, "['s']: cannot save object of type set"),
    ({"b": b"bytes"}, "['b']: cannot save object of type bytes"),
    ([1, (2, object())], "[1][1]: cannot save object of type object"),
    ({"a": np.array([1, None], dtype=object)}, "['a']: cannot save an array of dtype object"),
    ({1.5: "x"}, "dict key 1.5 of type float"),
    ({(1, 2): "x"}, "of type tuple"),
])
def test_unsupported_values_raise_type_error(tmp_path, bad, fragment):
    with pytest.raises(TypeError) as info:
        save(bad, tmp_path / "x.npz")
    assert fragment in str(info.value)
    assert not (tmp_path / "x.npz").exists()


def test_self_containing_structure_is_refused(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, tmp_path / "x.npz")


def test_shared_subtree_is_fine(tmp_path):
    shared = [1, 2]
    out = roundtrip({"a": shared, "b": shared}, tmp_path)
    assert out == {"a": [1, 2], "b": [1, 2]}


# ----------------------------------------------------------------------------
# damaged and foreign files
# ----------------------------------------------------------------------------

def test_missing_file_raises_file_not_found(tmp_path):
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError) as info:
        load(path)
    assert str(path) in str(info.value)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0), "step": 5}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("keep", [0, 1, 4, 30, 200])
def test_checkpoint_truncated_anywhere(tmp_path, keep):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(100.0)}, path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(CheckpointError):
        load(path)


def test_flipped_byte_in_array_data(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("a0.npy")
    # the local header is 30 bytes plus the name; flip a byte well inside the data
    data[info.header_offset + 30 + len(info.filename) + 500] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="a0"):
        load(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError):
        load(path)


def test_foreign_zip(tmp_path):
    path = tmp_path / "foreign.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="manifest"):
        load(path)


def test_plain_savez_without_manifest(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a0=np.arange(3))
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert MANIFEST_KEY in str(info.value) and str(path) in str(info.value)


def test_single_npy_file(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.arange(3))
    with pytest.raises(CheckpointError):
        load(path)


def _write_npz(path, entries):
    """Write a zip whose entries are .npy files, bypassing minigrad.save."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in entries.items():
            buf = io.BytesIO()
            np.save(buf, array, allow_pickle=True)
            zf.writestr(name + ".npy", buf.getvalue())


def _manifest(obj):
    return np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8)


GOOD_ROOT = {"type": "array", "key": "a0", "tensor": False}


@pytest.mark.parametrize("manifest, fragment", [
    ({"format": "something-else", "version": 1, "root": {"type": "none"}}, "format"),
    ({"version": 1, "root": {"type": "none"}}, "format"),
    ({"format": "minigrad-checkpoint", "version": 99, "root": {"type": "none"}}, "newer"),
    ({"format": "minigrad-checkpoint", "version": "1", "root": {"type": "none"}}, "version"),
    ({"format": "minigrad-checkpoint", "version": 1}, "root"),
    ({"format": "minigrad-checkpoint", "version": 1,
      "root": {"type": "array", "key": "a7", "tensor": False}}, "a7"),
    ({"format": "minigrad-checkpoint", "version": 1, "root": {"type": "pickle"}}, "pickle"),
    ({"format": "minigrad-checkpoint", "version": 1,
      "root": {"type": "int", "value": "zz"}}, "int"),
    ({"format": "minigrad-checkpoint", "version": 1,
      "root": {"type": "dict", "items": [[{"type": "list", "items": []},
                                           {"type": "none"}]]}}, "key"),
    ({"format": "minigrad-checkpoint", "version": 1, "root": [1, 2]}, "malformed"),
    ([1, 2, 3], "JSON object"),
])
def test_bad_manifests(tmp_path, manifest, fragment):
    path = tmp_path / "bad.npz"
    _write_npz(path, {MANIFEST_KEY: _manifest(manifest), "a0": np.arange(2)})
    with pytest.raises(CheckpointError, match=fragment) as info:
        load(path)
    assert str(path) in str(info.value)


def test_manifest_not_json(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, {MANIFEST_KEY: np.frombuffer(b"{not json", dtype=np.uint8)})
    with pytest.raises(CheckpointError, match="JSON"):
        load(path)


def test_manifest_wrong_dtype(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, {MANIFEST_KEY: np.arange(3.0)})
    with pytest.raises(CheckpointError, match="uint8"):
        load(path)


class _Boom:
    """Unpickling this would record that code ran."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Boom.ran = True
    return "executed"


def test_object_array_is_refused_not_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Boom()
    manifest = {"format": "minigrad-checkpoint", "version": 1, "root": GOOD_ROOT}
    _write_npz(path, {MANIFEST_KEY: _manifest(manifest), "a0": evil})
    _Boom.ran = False
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert not _Boom.ran
    assert "pickle" in str(info.value)


def test_pickled_file_is_refused_not_unpickled(tmp_path):
    import pickle

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Boom()))
    _Boom.ran = False
    with pytest.raises(CheckpointError):
        load(path)
    assert not _Boom.ran


def test_checkpoint_error_is_runtime_error():
    assert issubclass(CheckpointError, RuntimeError)
