"""Hostile inputs of the method-naming loaders: FIFOs, devices, binary and undecodable files
and symlink loops under source names, bad JSON lines, unreadable zip members, and
corrupted corpus caches. Each is skipped (or the cache rebuilt) and counted by reason."""
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hostile_files import no_hang_fixture

from experiments.datasets import cache as dcache
from experiments.datasets import method_naming as mn

pytestmark = pytest.mark.filterwarnings("ignore:.*only [0-9]+ project:RuntimeWarning")

GOOD_PY = "def compute_total(items):\n    return sum(items)\n\n\ndef read_line(f):\n    return f.readline()\n"


_private_cache_and_no_hang = no_hang_fixture(seconds=30)


def build(root, **kw):
    return mn.build_python_corpus(root, progress=False, cache=False, **kw)


def python_tree_with(tmp_path, name, make):
    """``src/good.py`` plus ``src/<name>`` made by ``make(path)``."""
    root = tmp_path / "src"
    root.mkdir()
    (root / "good.py").write_text(GOOD_PY)
    make(root / name)
    return root


# --------------------------------------------------------------------------- Python sources


@pytest.mark.parametrize("name, make, reason, says", [
    ("x.py", os.mkfifo, "not_regular", "FIFO"),
    ("zero.py", lambda p: os.symlink("/dev/zero", p), "not_regular", "character device"),
    ("loop.py", lambda p: os.symlink(p, p), "unreadable", "symlink loop"),
    ("dangling.py", lambda p: os.symlink(p.parent / "nowhere", p), "unreadable", "cannot open"),
    ("blob.py", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256))), "binary", "NUL"),
    ("latin.py", lambda p: p.write_bytes("def café_au_lait():\n    pass\n".encode("latin-1")), "not_text", "decod"),
    ("cookie.py", lambda p: p.write_bytes(b"# -*- coding: no-such-codec -*-\ndef a_b():\n    pass\n"), "not_text",
     "encoding"),
    ("broken.py", lambda p: p.write_text("def ok_name(:\n    pass\n"), "syntax_error", "SyntaxError"),
    ("deep.py", lambda p: p.write_text("def too_deep():\n    return " + "-" * 100000 + "1\n"), "too_deep", "nested"),
    ("long.py", lambda p: p.write_text("def too_long():\n    return " + "+".join(["a"] * 200000) + "\n"), "too_deep",
     "nested"),
])
def test_bad_python_files_are_skipped_and_counted_by_reason(tmp_path, name, make, reason, says):
    root = python_tree_with(tmp_path, name, make)
    corpus = build(root)
    assert sorted(e.name for e in corpus.examples()) == ["compute_total", "read_line"]
    assert corpus.stats["files"] == 2 and corpus.stats["files_skipped"] == 1
    assert corpus.stats["files_skipped_by_reason"] == {reason: 1}
    (problem,) = corpus.problems
    assert problem.path == name and problem.reason == reason and says in problem.message
    assert f"1 files skipped (1 {reason})" in corpus.summary()


def test_reasons_add_up_across_worker_processes(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "good.py").write_text(GOOD_PY)
    (root / "a.py").write_bytes(b"\0")
    (root / "b.py").write_bytes(b"\0\0")
    os.mkfifo(root / "c.py")
    corpus = build(root, workers=2)
    assert corpus.stats["files_skipped_by_reason"] == {"binary": 2, "not_regular": 1}
    assert corpus.stats["files_skipped"] == 3 and corpus.stats["examples"] == 2


# --------------------------------------------------------------------------- JSON lines

TREE = {"node": "m", "token": "", "children": [{"node": "name", "token": "x", "children": []}]}


def line(**obj):
    return json.dumps({"ast": TREE, **obj})


def test_bad_json_lines_are_skipped_by_reason_and_the_rest_is_read(tmp_path):
    lines = [
        line(name="getValue").encode(),
        line(name="setValue", target=5).encode(),                 # not a list
        line(name="setValue", target=["set", 5]).encode(),        # not strings
        line(name="setValue", target=[]).encode(),                # empty
        line(name="setValue", project=["p"]).encode(),            # project not a string
        b"[1, 2]", b"5", b"null", b'"text"',                      # not objects
        b"{not json",
        b'{"name": "badByte\xff", "ast": {"node": "m"}}',         # not UTF-8: only this line lost
        b"[" * 100000 + b"]" * 100000,                            # nested too deeply
        line(name="x_y", ast=None).encode().replace(b'"ast": {', b'"ast": {"node": 3, '),
        json.dumps({"name": 7, "ast": TREE}).encode(),
        line(name="putValue", target=["put", "value"], project="p2").encode(),
    ]
    f = tmp_path / "p1.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    corpus = mn.load_jsonl_corpus(f, progress=False)
    assert sorted(e.name for e in corpus.examples()) == ["getValue", "putValue"]
    assert corpus.stats["lines_skipped_by_reason"] == {
        "bad_target": 3, "bad_project": 1, "not_an_object": 4, "bad_json": 2, "not_utf8": 1, "bad_tree": 1,
        "bad_name": 1,
    }
    assert corpus.stats["lines_skipped"] == 13 == corpus.stats["dropped_parse_error"]
    assert [p.line for p in corpus.problems] == list(range(2, 15))
    assert "13 lines skipped (4 not_an_object, 3 bad_target" in corpus.summary()
    put = next(e for e in corpus.examples() if e.name == "putValue")
    assert put.target == ["put", "value"] and put.project == "p2"


def test_jsonl_directory_skips_fifos_and_folders(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.jsonl").write_text(line(name="getValue") + "\n")
    os.mkfifo(d / "b.jsonl")
    (d / "c.jsonl").mkdir()
    corpus = mn.load_jsonl_corpus(d, progress=False)
    assert [e.name for e in corpus.examples()] == ["getValue"]
    assert corpus.stats["files_skipped_by_reason"] == {"not_regular": 2}


# --------------------------------------------------------------------------- Java sources

java = pytest.mark.skipif(not mn.java_available(), reason="tree-sitter-java not installed")
JAVA = "class A {\n  int getValue() { return 1; }\n  void setValue(int v) { }\n}\n"


def _set_compression(data, name, method):
    """Rewrite the compression method of member ``name`` in its local and central headers."""
    out = bytearray(data)
    encoded = name.encode()
    for sig, at_method, at_name in ((b"PK\x03\x04", 8, 30), (b"PK\x01\x02", 10, 46)):
        i = out.find(sig)
        while i >= 0:
            if out[i + at_name:i + at_name + len(encoded)] == encoded:
                out[i + at_method:i + at_method + 2] = struct.pack("<H", method)
            i = out.find(sig, i + 1)
    return bytes(out)


@java
def test_bad_zip_members_are_skipped_by_reason(tmp_path):
    z = tmp_path / "src.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("mod/p/A.java", JAVA)
        zf.writestr("mod/p/Image.java", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")  # not Java
        zf.writestr("mod/p/Odd.java", JAVA.replace("A", "Odd"))
        zf.writestr("mod/p/Bad.java", JAVA.replace("A", "Bad"))
    data = _set_compression(z.read_bytes(), "mod/p/Odd.java", 99)  # an unknown compression method
    data = data.replace(b"class Bad", b"class B\xffd")  # stored: the checksum no longer matches
    z.write_bytes(data)
    corpus = mn.build_java_corpus(z, progress=False, cache=False)
    assert sorted(e.name for e in corpus.examples()) == ["getValue", "setValue"]
    assert corpus.stats["files_skipped_by_reason"] == {"binary": 1, "bad_zip_member": 2}
    assert {p.path for p in corpus.problems if p.reason} == {"mod/p/Image.java", "mod/p/Odd.java", "mod/p/Bad.java"}


@java
def test_java_directory_skips_fifos_and_a_fifo_path_is_refused(tmp_path):
    root = tmp_path / "j"
    (root / "p").mkdir(parents=True)
    (root / "p" / "A.java").write_text(JAVA)
    os.mkfifo(root / "p" / "Pipe.java")
    corpus = mn.build_java_corpus(root, progress=False, cache=False)
    assert corpus.stats["files_skipped_by_reason"] == {"not_regular": 1} and corpus.stats["examples"] == 2
    os.mkfifo(tmp_path / "pipe.zip")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        mn.build_java_corpus(tmp_path / "pipe.zip", progress=False, cache=False)


# --------------------------------------------------------------------------- the corpus cache


def _cached(tmp_path):
    root = tmp_path / "src"
    root.mkdir(exist_ok=True)
    (root / "good.py").write_text(GOOD_PY)
    cdir = tmp_path / "cache"
    first = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    (path,) = [cdir / f for f in os.listdir(cdir)]
    return root, cdir, path, first


def _tamper_node_types(meta, arrays):
    arrays["node_type"] = arrays["node_type"] + 1000   # indices past the type table: IndexError before


def _tamper_parent(meta, arrays):
    arrays["parent"] = np.full_like(arrays["parent"], 1000)


def _tamper_offsets(meta, arrays):
    arrays["offsets"] = arrays["offsets"][::-1].copy()


def _tamper_record(meta, arrays):
    meta["examples"][0] = ["name", "target"]


def _tamper_string_index(meta, arrays):
    meta["examples"][0][2] = 10 ** 6


def _tamper_types(meta, arrays):
    meta["types"] = {"not": "a list"}


def _tamper_counts(meta, arrays):
    meta["counts"] = [1, 2]


def _tamper_problems(meta, arrays):
    meta["problems"] = [[1]]


def _tamper_dtype(meta, arrays):
    arrays["node_token"] = arrays["node_token"].astype(np.float32)


def _tamper_meta(meta, arrays):
    meta.clear()


@pytest.mark.parametrize("tamper", [_tamper_node_types, _tamper_parent, _tamper_offsets, _tamper_record,
                                    _tamper_string_index, _tamper_types, _tamper_counts, _tamper_problems,
                                    _tamper_dtype, _tamper_meta])
def test_corrupted_methods_cache_is_rebuilt(tmp_path, tamper):
    root, cdir, path, first = _cached(tmp_path)
    meta, arrays = dcache.read_npz(path)
    tamper(meta, arrays)
    dcache.write_npz(path, meta, arrays)
    with pytest.warns(RuntimeWarning, match="unreadable cache"):
        again = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert [e.name for e in again.examples()] == [e.name for e in first.examples()]
    dcache.read_npz(path)  # rewritten
    assert [e.name for e in mn.build_python_corpus(root, cache_dir=cdir, progress=False).examples()] == \
        [e.name for e in first.examples()]


def test_cache_declaring_a_huge_array_is_rebuilt_without_allocating_it(tmp_path):
    root, cdir, path, first = _cached(tmp_path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    npy = members["parent.npy"]
    header_end = npy.index(b"\n") + 1
    old_header = npy[:header_end]
    shape_at = old_header.index(b"'shape': (") + len(b"'shape': (")
    shape_end = old_header.index(b")", shape_at)
    new_header = old_header[:shape_at] + b"10000000000000," + old_header[shape_end:]
    new_header = new_header.replace(b" " * (len(new_header) - len(old_header)) + b"\n", b"\n", 1)
    assert len(new_header) == len(old_header)
    members["parent.npy"] = new_header + npy[header_end:]
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(dcache.CacheError, match="declares"):
        dcache.read_npz(path)
    with pytest.warns(RuntimeWarning, match="unreadable cache"):
        again = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert again.stats["examples"] == first.stats["examples"]


def test_cache_path_that_is_a_fifo_or_folder_is_not_read(tmp_path):
    root, cdir, path, first = _cached(tmp_path)
    path.unlink()
    os.mkfifo(path)
    with pytest.warns(RuntimeWarning, match="FIFO"):
        again = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert again.stats["examples"] == first.stats["examples"]
    assert path.is_file()  # the FIFO was replaced by the rebuilt cache
    path.unlink()
    path.mkdir()
    with pytest.warns(RuntimeWarning) as caught:
        again = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    messages = [str(w.message) for w in caught]
    assert any("is a directory" in m for m in messages) and any("could not write the cache" in m for m in messages)
    assert again.stats["examples"] == first.stats["examples"] and path.is_dir()


def test_reasons_survive_the_cache(tmp_path):
    root = python_tree_with(tmp_path, "x.py", os.mkfifo)
    (root / "b.py").write_bytes(b"\0")
    cdir = tmp_path / "cache"
    first = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    second = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert first.stats["files_skipped_by_reason"] == second.stats["files_skipped_by_reason"] == \
        {"binary": 1, "not_regular": 1}
    assert [(p.path, p.reason) for p in second.problems] == [(p.path, p.reason) for p in first.problems]


def test_file_names_that_are_not_utf8_survive_the_cache(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "good.py").write_text(GOOD_PY)
    with open(os.path.join(os.fsencode(root), b"\xffodd.py"), "wb") as fh:  # a name the OS gives as a surrogate
        fh.write(b"def get_value(x):\n    return x\n")
    with open(os.path.join(os.fsencode(root), b"\xfe.py"), "wb") as fh:
        fh.write(b"\0")
    cdir = tmp_path / "cache"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
        second = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert not [w for w in caught if "cache" in str(w.message)]  # written, then read back
    assert sorted(e.path for e in second.examples()) == sorted(e.path for e in first.examples())
    assert "\udcffodd.py" in {e.path for e in second.examples()}
    assert [p.path for p in second.problems] == ["\udcfe.py"]


def test_directory_symlink_loops_are_not_followed(tmp_path):
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "good.py").write_text(GOOD_PY)
    os.symlink(root, root / "pkg" / "back_to_root")
    os.symlink(root / "pkg", root / "pkg" / "self")
    corpus = build(root)
    assert corpus.stats["files"] == 1 and corpus.stats["examples"] == 2
    d = tmp_path / "jsonl"
    d.mkdir()
    os.symlink(d / "loop.jsonl", d / "loop.jsonl")
    (d / "a.jsonl").write_text(line(name="getValue") + "\n")
    jl = mn.load_jsonl_corpus(d, progress=False)
    assert jl.stats["files_skipped_by_reason"] == {"unreadable": 1} and jl.stats["examples"] == 1
