"""Crafted checkpoints: compression bombs, aliased entries, lying headers, every
single-byte corruption of a small file, and temporary files of killed saves."""
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from minigrad import atomic
from minigrad.errors import CheckpointError
from minigrad.serialization import MANIFEST_KEY, load, save

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _manifest(root) -> bytes:
    text = json.dumps({"format": "minigrad-checkpoint", "version": 1, "root": root})
    return _npy(np.frombuffer(text.encode(), dtype=np.uint8))


def _write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


ARRAY = {"type": "array", "key": "a0", "tensor": False}


def test_deflate_bomb_is_refused_before_expanding(tmp_path):
    path = tmp_path / "bomb.npz"
    big = _npy(np.zeros(2**21))               # 16 MiB of zeros, ~16 KB deflated
    _write_zip(path, {MANIFEST_KEY + ".npy": _manifest(ARRAY), "a0.npy": big},
               compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(CheckpointError, match="compressed"):
        load(path)


def test_header_declaring_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "liar.npz"
    honest = _npy(np.zeros(4))
    header_len = int.from_bytes(honest[8:10], "little")
    # a well-formed header that declares 2**36 float64 over 32 bytes of data
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (68719476736,), }"
    text = text.ljust(header_len - 1) + "\n"
    lying = honest[:8] + len(text).to_bytes(2, "little") + text.encode() + honest[10 + header_len:]
    _write_zip(path, {MANIFEST_KEY + ".npy": _manifest(ARRAY), "a0.npy": lying})
    with pytest.raises(CheckpointError, match="declares shape"):
        load(path)


def test_many_references_to_one_entry_read_it_once(tmp_path, monkeypatch):
    path = tmp_path / "alias.npz"
    root = {"type": "list", "items": [ARRAY] * 64}
    _write_zip(path, {MANIFEST_KEY + ".npy": _manifest(root),
                      "a0.npy": _npy(np.arange(1000.0))})
    reads = []
    original = zipfile.ZipFile.read

    def counting_read(self, name, pwd=None):
        reads.append(getattr(name, "filename", name))
        return original(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "read", counting_read)
    out = load(path)
    assert len(out) == 64 and all(x is out[0] for x in out)
    assert reads.count("a0.npy") == 1


def test_max_bytes_bounds_the_total(tmp_path):
    path = tmp_path / "big.npz"
    save({"w": np.zeros(10_000)}, path)
    with pytest.raises(CheckpointError, match="max_bytes"):
        load(path, max_bytes=50_000)
    assert load(path, max_bytes=200_000)["w"].shape == (10_000,)


def test_entry_declared_past_the_end_of_the_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(10.0)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("a0.npy")
    # a0's sizes (compressed, uncompressed) in the central directory -> 1 GiB
    cd = data.find(b"PK\x01\x02")
    while cd != -1:
        name_len = int.from_bytes(data[cd + 28:cd + 30], "little")
        if data[cd + 46:cd + 46 + name_len] == info.filename.encode():
            data[cd + 20:cd + 24] = (2**30).to_bytes(4, "little")
            data[cd + 24:cd + 28] = (2**30).to_bytes(4, "little")
        cd = data.find(b"PK\x01\x02", cd + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load(path)


def test_duplicate_entries_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning):
        zf.writestr(MANIFEST_KEY + ".npy", _manifest(ARRAY))
        zf.writestr("a0.npy", _npy(np.arange(3.0)))
        zf.writestr("a0.npy", _npy(np.arange(4.0)))
    with pytest.raises(CheckpointError, match="twice"):
        load(path)


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def test_every_single_byte_corruption_is_a_checkpoint_error_or_harmless(tmp_path):
    path = tmp_path / "small.npz"
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 3, "name": "x"}
    save(state, path)
    original = path.read_bytes()
    assert len(original) < 2000
    outcomes = {"error": 0, "same": 0}
    for i in range(len(original)):
        damaged = bytearray(original)
        damaged[i] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            out = load(path)
        except CheckpointError:
            outcomes["error"] += 1
            continue
        # bytes the format does not depend on (timestamps, attributes) may change
        assert _equal(out, state), f"byte {i}: loaded a different value {out!r}"
        outcomes["same"] += 1
    assert outcomes["error"] > len(original) // 2


def test_temporary_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "ckpt.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".ckpt.npz.{dead_pid}.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    old_style = tmp_path / ".ckpt.npz.k2j3h4g5.tmp"
    old_style.write_bytes(b"from long ago")
    hour_ago = time.time() - 2 * atomic.STALE_SECONDS
    os.utime(old_style, (hour_ago, hour_ago))
    live = tmp_path / f".ckpt.npz.{os.getpid()}.live00.tmp"   # a writer still running
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.npz.{dead_pid}.abc123.tmp"      # another target's
    other.write_bytes(b"not ours")
    save({"w": np.ones(3)}, target)
    assert not stale.exists() and not old_style.exists()
    assert live.exists() and other.exists()
    assert load(target)["w"].tolist() == [1.0, 1.0, 1.0]


def test_a_save_killed_mid_write_is_cleaned_up_by_the_next(tmp_path):
    target = tmp_path / "ckpt.npz"
    code = (
        "import os, sys, numpy as np\n"
        "from minigrad import serialization\n"
        "def die(f, manifest, arrays):\n"
        "    f.write(b'PK partial'); f.flush(); os._exit(9)\n"
        "serialization._write_archive = die\n"
        f"serialization.save({{'w': np.ones(3)}}, {str(target)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 9
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and not target.exists()
    save({"w": np.zeros(2)}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
