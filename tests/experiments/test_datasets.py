"""Corpus builders on small fixtures that the tests write themselves.

No test reads the machine's standard library, locale catalogs or JDK: Python
and Java methods, JSON lines, a tiny ``.mo`` file and a Tatoeba TSV are all
written into ``tmp_path`` here.
"""
import gettext
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest

from experiments.datasets import cache as dcache
from experiments.datasets import method_naming as mn
from experiments.datasets import parallel_text as pt
from experiments.datasets.vocab import SPECIALS, Vocab, detokenize, pad_sequences, split_subtokens, tokenize


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never write into the user's cache directory."""
    monkeypatch.setenv("MINIGRAD_DATA_DIR", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- fixtures

PY_UTIL = '''\
"""Module docstring."""


def get_value(self):
    """Return the value of get_value."""
    return self._value


def run():
    return 1


def fib_number(n):
    if n < 2:
        return n
    return fib_number(n - 1) + fib_number(n - 2)


class Account:
    def __init__(self):
        self.total = 0

    def addAmount(self, amount):
        self.total += amount
        return self.addAmount


def make_adder(k):
    def add_inner(x):
        return x + k
    return add_inner
'''
# usable: get_value, fib_number, addAmount, make_adder, add_inner -> 5
# dropped for a one-subtoken name: run, __init__ -> 2

PY_SIMPLE = '''\
def compute_total(items):
    return sum(items)


def parse_args(argv=None):
    global STATE
    return [a for a in argv if a != "compute_total"]
'''


def write_python_project(root):
    files = {
        "alpha/__init__.py": "",
        "alpha/util.py": PY_UTIL,                      # 5 usable
        "alpha/tests/test_util.py": PY_SIMPLE,          # excluded: tests directory
        "beta.py": PY_SIMPLE,                           # 2 usable
        "gamma/sub/deep.py": PY_SIMPLE,                 # 2 usable
        "delta/core.py": PY_SIMPLE,                     # 2 usable
        "delta/test_core.py": PY_SIMPLE,                # excluded: test file
        "test/test_all.py": PY_SIMPLE,                  # excluded: test package
        "broken.py": "def good_one():\n    pass\n\ndef bad_one(:\n    pass\n",  # SyntaxError line 4
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


JAVA_A = """\
package org.demo;

public abstract class Calc {
    private int total;

    public Calc() { total = 0; }                 // constructor: not a method example

    /** Adds. */
    public int addValue(int x) {
        // a comment inside the body
        total += x;
        return total;
    }

    public abstract void resetState();           // no body

    int run() { return 1; }                      // one subtoken

    static long factorialOf(int n) {
        if (n <= 1) return 1L;
        return n * factorialOf(n - 1);
    }

    String getLabel() { return "getLabel" + " is a long string literal"; }
}
"""
# usable: addValue, factorialOf, getLabel -> 3; dropped: resetState (no body), run (short)

JAVA_B = """\
package org.other;

class Util {
    static boolean isEmpty(String s) { return s == null || s.length() == 0; }
    void brokenMethod( { int x = ; }
    int sizeOf(java.util.List<?> xs) { return xs.size(); }
}
"""


def write_java_tree(root):
    files = {
        "mod.one/org/demo/Calc.java": JAVA_A,
        "mod.two/org/other/Util.java": JAVA_B,
        "mod.three/org/demo/Calc.java": JAVA_A,
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def write_mo(path, messages, big_endian=False):
    """A minimal GNU .mo writer: ``messages`` maps msgid keys (with \\x04 context and
    \\x00 plural separators) to msgstr values (plural forms joined by \\x00)."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items())
    n = len(items)
    e = ">" if big_endian else "<"
    orig_off = 28
    trans_off = orig_off + 8 * n
    ids_start = trans_off + 8 * n
    ids = b"".join(k + b"\0" for k, _ in items)
    strs_start = ids_start + len(ids)
    otab, ttab, pos_i, pos_s = b"", b"", 0, 0
    for k, v in items:
        otab += struct.pack(e + "2I", len(k), ids_start + pos_i)
        pos_i += len(k) + 1
        ttab += struct.pack(e + "2I", len(v), strs_start + pos_s)
        pos_s += len(v) + 1
    strs = b"".join(v + b"\0" for _, v in items)
    header = struct.pack(e + "7I", 0x950412DE, 0, n, orig_off, trans_off, 0, 0)
    path.write_bytes(header + otab + ttab + ids + strs)
    return path


MO_HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"
MO_MESSAGES = {
    "": MO_HEADER,
    "Open file": "Ouvrir le fichier",
    "_Open": "_Ouvrir",                                   # accelerators removed
    "Could not open %s: %s": "Impossible d'ouvrir %s : %s",
    "%d item\x00%d items": "%d élément\x00%d éléments",   # plural: two pairs
    "menu\x04Quit": "Quitter",                            # context dropped
    "Bad %s format": "Mauvais format",                    # specifier count mismatch
    "%s: %s": "%s : %s",                                  # no text
    "Linux": "Linux",                                     # identical
    "Save as {name}": "Enregistrer sous {name}",
    "Save <b>all</b> files": "Enregistrer <b>tous</b> les fichiers",
    "Untranslated": "",
    "Open the file": "Ouvrir le fichier",                 # same French, different English: kept
    "Open   file": "Ouvrir le  fichier",                  # duplicate after whitespace cleaning
    "word " * 60: "mot " * 60,                            # too long
}


# --------------------------------------------------------------------------- tokens and vocab


def test_split_subtokens():
    assert split_subtokens("getValue") == ["get", "value"]
    assert split_subtokens("parse_http_header") == ["parse", "http", "header"]
    assert split_subtokens("HTTPServer") == ["http", "server"]
    assert split_subtokens("toUTF8String") == ["to", "utf", "string"]
    assert split_subtokens("__init__") == ["init"]
    assert split_subtokens("XMLHttpRequest2") == ["xml", "http", "request"]


def test_tokenize_french_and_english():
    assert tokenize("L'homme n'est pas là.", "fr") == ["l'", "homme", "n'", "est", "pas", "là", "."]
    assert tokenize("Qu’il vienne jusqu'à moi !", "fr") == ["qu'", "il", "vienne", "jusqu'", "à", "moi", "!"]
    assert tokenize("I don't know, peut-être.", "en") == ["i", "don't", "know", ",", "peut-être", "."]
    assert tokenize("Open <var> now", "en") == ["open", "<var>", "now"]
    assert tokenize("Keep Case", lowercase=False) == ["Keep", "Case"]
    assert detokenize(["l'", "homme", "est", "là", "."]) == "l'homme est là."


def test_vocab_min_freq_order_and_specials(tmp_path):
    seqs = [["b", "a", "c"], ["a", "b"], ["a", "d"], ["<unk>"]]
    v = Vocab.build(seqs, min_freq=2)
    assert v.itos[:4] == list(SPECIALS) == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4:] == ["a", "b"]          # by count, then text; c and d below min_freq
    assert v.encode(["a", "c"], add_bos=True, add_eos=True) == [2, 4, 1, 3]
    assert v.decode([2, 4, 1, 3, 5, 0]) == ["a", "<unk>"]
    assert Vocab.build(seqs, min_freq=1, max_size=3).itos[4:] == ["a", "b", "c"]
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == v
    ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError):
        Vocab.build(seqs, min_freq=0)


# --------------------------------------------------------------------------- cache


def test_atomic_writes_leave_no_temporary_files(tmp_path):
    dcache.write_json(tmp_path / "a.json", {"x": [1, 2]})
    dcache.write_json(tmp_path / "a.json", {"x": [3]})
    assert dcache.read_json(tmp_path / "a.json") == {"x": [3]}
    dcache.write_npz(tmp_path / "b.npz", {"k": "v"}, {"arr": np.arange(5, dtype=np.int32)})
    meta, arrays = dcache.read_npz(tmp_path / "b.npz")
    assert meta == {"k": "v"} and arrays["arr"].tolist() == [0, 1, 2, 3, 4]
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.npz"]
    with pytest.raises(TypeError):
        dcache.write_npz(tmp_path / "c.npz", {}, {"obj": np.array([object()])})
    assert not (tmp_path / "c.npz").exists()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(dcache.CacheError):
        dcache.read_npz(tmp_path / "bad.npz")


# --------------------------------------------------------------------------- Python


def test_python_examples_placeholder_and_docstring():
    exs = mn.python_methods_from_source(PY_UTIL, "util.py", "alpha")
    names = [e.name for e in exs]
    assert names == ["get_value", "fib_number", "addAmount", "make_adder", "add_inner"]
    by = {e.name: e for e in exs}
    assert by["addAmount"].target == ["add", "amount"]
    fib = by["fib_number"].tree
    # the recursive calls and the definition itself are hidden
    assert fib.tokens.count(mn.METHOD_NAME) == 3
    assert "fib_number" not in fib.tokens
    assert fib.node_types[-1] == "FunctionDef" and fib.tokens[-1] == mn.METHOD_NAME
    # self.addAmount inside its own body is hidden too
    assert "addAmount" not in by["addAmount"].tree.tokens
    assert by["addAmount"].tree.tokens.count(mn.METHOD_NAME) == 2
    # the docstring (which spells the name) is gone; the attribute survives
    gv = by["get_value"].tree
    assert "<str>" not in gv.tokens and "_value" in gv.tokens
    assert "Constant" not in gv.node_types
    # operators folded into their node, contexts dropped
    assert ("BinOp", "Sub") in zip(fib.node_types, fib.tokens)
    assert ("Compare", "Lt") in zip(fib.node_types, fib.tokens)
    assert "Load" not in fib.node_types
    # nested function's name is a token of the enclosing function's tree
    assert "add_inner" in by["make_adder"].tree.tokens
    assert by["make_adder"].line == 28 and by["make_adder"].language == "python"


def test_tree_is_post_order_and_round_trips():
    ex = mn.python_methods_from_source(PY_UTIL, "util.py", "alpha")[1]
    t = ex.tree
    n = len(t)
    assert t.parent[-1] == -1 and np.all(t.parent[:-1] > np.arange(n - 1))
    again = mn.Tree.from_nested(t.to_nested())
    assert again.node_types == t.node_types and again.tokens == t.tokens
    assert np.array_equal(again.parent, t.parent)
    with pytest.raises(ValueError):
        mn.Tree(["a", "b"], ["", ""], [-1, 0])  # root first: not post-order


def test_python_corpus_counts_splits_and_bad_files(tmp_path):
    root = write_python_project(tmp_path / "src")
    corpus = mn.build_python_corpus(root, cache=False, progress=False)
    s = corpus.stats
    assert s["files"] == 6          # alpha/__init__, alpha/util, beta, gamma/sub/deep, delta/core, broken
    assert s["files_skipped"] == 1
    assert s["examples"] == 5 + 2 + 2 + 2
    assert s["dropped_short_name"] == 2
    assert s["projects"] == 4       # alpha, beta, gamma, delta (broken has no usable function)
    assert [(p.path, p.line) for p in corpus.problems] == [("broken.py", 4)]
    assert corpus.problems[0].message.startswith("SyntaxError")
    projects = [{e.project for e in part} for part in (corpus.train, corpus.valid, corpus.test)]
    assert all(projects)                                       # four projects: no split empty
    assert not (projects[0] & projects[1] or projects[0] & projects[2] or projects[1] & projects[2])
    assert set().union(*projects) == {"alpha", "beta", "gamma", "delta"}
    assert sum(map(len, (corpus.train, corpus.valid, corpus.test))) == 11
    assert all("tests" not in e.path and "test_" not in e.path for e in corpus.examples())
    assert {e.project for e in corpus.examples() if e.path.startswith("gamma/")} == {"gamma"}


def test_split_by_project_is_seeded_disjoint_and_balanced():
    exs = []
    for p in range(40):
        for i in range(1 + p % 7):
            exs.append(mn.MethodExample(mn.Tree(["Name"], [""], [-1]), f"f{i}", ["f"], f"p{p}", "x.py", 1, "python"))
    a = mn.split_by_project(exs, seed=3)
    b = mn.split_by_project(exs, seed=3)
    c = mn.split_by_project(exs, seed=4)
    key = lambda parts: [sorted({e.project for e in part}) for part in parts]  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)
    sets = [set(x) for x in key(a)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    n = len(exs)
    assert sum(map(len, a)) == n
    assert abs(len(a[0]) / n - 0.8) < 0.05 and abs(len(a[1]) / n - 0.1) < 0.05
    with pytest.raises(ValueError):
        mn.split_by_project(exs, fractions=(0.5, 0.5, 0.5))


def test_python_corpus_cache_reused_and_rebuilt_when_corrupt(tmp_path):
    root = write_python_project(tmp_path / "src")
    cdir = tmp_path / "cache"
    first = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    files = os.listdir(cdir)
    assert len(files) == 1 and files[0].endswith(".npz")
    second = mn.build_python_corpus(root, cache_dir=cdir, progress=False, seed=0)
    assert [e.name for e in second.examples()] == [e.name for e in first.examples()]
    t1, t2 = first.examples()[0].tree, second.examples()[0].tree
    assert t1.tokens == t2.tokens and t1.node_types == t2.node_types and np.array_equal(t1.parent, t2.parent)
    assert second.stats["files_skipped"] == 1 and second.problems[0].line == 4
    (cdir / files[0]).write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="unreadable cache"):
        third = mn.build_python_corpus(root, cache_dir=cdir, progress=False)
    assert third.stats["examples"] == first.stats["examples"]
    dcache.read_npz(cdir / files[0])  # rewritten, readable again


def test_batch_trees_offsets_and_parents():
    exs = mn.python_methods_from_source(PY_SIMPLE + PY_UTIL, "m.py", "m")
    corpus = mn.MethodCorpus(exs, [], [])
    types, tokens, targets = corpus.build_vocabs(min_freq=1)
    batch, tgt, lengths = mn.batch_examples(exs[:3], types, tokens, targets)
    sizes = [len(e.tree) for e in exs[:3]]
    assert batch.offsets.tolist() == [0, sizes[0], sizes[0] + sizes[1], sum(sizes)]
    assert batch.roots.tolist() == [sizes[0] - 1, sizes[0] + sizes[1] - 1, sum(sizes) - 1]
    assert np.flatnonzero(batch.parent == -1).tolist() == batch.roots.tolist()
    for b in range(3):
        lo, hi = batch.offsets[b], batch.offsets[b + 1]
        par = batch.parent[lo:hi]
        assert np.all((par[:-1] >= lo) & (par[:-1] < hi) & (par[:-1] > np.arange(lo, hi - 1)))
        assert np.array_equal(np.where(par >= 0, par - lo, -1), exs[b].tree.parent)
    assert batch.tree_of().tolist() == [0] * sizes[0] + [1] * sizes[1] + [2] * sizes[2]
    # nodes without a token get <pad>; the placeholder is a real token
    no_tok = np.array([t == "" for e in exs[:3] for t in e.tree.tokens])
    assert np.all(batch.token_ids[no_tok] == tokens.pad_id)
    assert np.all(batch.token_ids[batch.roots] == tokens[mn.METHOD_NAME])
    assert batch.node_type_ids.dtype == np.int64 and batch.node_type_ids.shape == batch.parent.shape
    assert tgt[:, 0].tolist() == [targets.bos_id] * 3
    assert tgt[0, : lengths[0]].tolist() == targets.encode(exs[0].target, add_bos=True, add_eos=True)
    enc = [mn.encode_tree(e.tree, types, tokens) for e in exs[:3]]
    assert np.array_equal(mn.batch_trees(enc).parent, batch.parent)


# --------------------------------------------------------------------------- JSON lines


def test_jsonl_loader_reports_bad_lines(tmp_path):
    tree = {"node": "method", "token": "computeSum", "children": [
        {"node": "call", "token": "computeSum", "children": [{"node": "name", "token": "x", "children": []}]},
        {"node": "return", "token": None, "children": []}]}
    lines = [
        json.dumps(tree),
        "{not json",
        json.dumps({"name": "readLine", "project": "p2", "ast": {"node": "m", "token": "", "children": []}}),
        "",
        json.dumps({"node": "m", "token": "run", "children": []}),           # one subtoken: dropped
        json.dumps({"name": "x", "ast": {"node": 3}}),                         # bad node type
        json.dumps({"name": "setItem", "project": "p3", "target": ["set", "item"],
                    "ast": {"node": "m", "token": "setItem", "children": []}}),
    ]
    f = tmp_path / "p1.jsonl"
    f.write_text("\n".join(lines) + "\n")
    corpus = mn.load_jsonl_corpus(f, progress=False)
    exs = corpus.examples()
    assert sorted(e.name for e in exs) == ["computeSum", "readLine", "setItem"]
    assert [(p.line, p.path) for p in corpus.problems] == [(2, str(f)), (6, str(f))]
    assert corpus.stats["dropped_parse_error"] == 2 and corpus.stats["dropped_short_name"] == 1
    cs = next(e for e in exs if e.name == "computeSum")
    assert cs.project == "p1" and cs.target == ["compute", "sum"]
    assert cs.tree.node_types == ["name", "call", "return", "method"]
    assert cs.tree.tokens == ["x", mn.METHOD_NAME, "", mn.METHOD_NAME]
    assert cs.tree.parent.tolist() == [1, 3, 3, -1]
    assert {e.project for e in exs} == {"p1", "p2", "p3"}


# --------------------------------------------------------------------------- Java

java = pytest.mark.skipif(not mn.java_available(), reason="tree-sitter-java not installed")


@java
def test_java_methods_from_source():
    exs = mn.java_methods_from_source(JAVA_A, "Calc.java", "demo")
    assert [e.name for e in exs] == ["addValue", "factorialOf", "getLabel"]
    fact = exs[1].tree
    assert fact.node_types[-1] == "method_declaration" and fact.tokens[-1] == mn.METHOD_NAME
    assert "factorialOf" not in fact.tokens
    assert fact.tokens.count(mn.METHOD_NAME) == 3     # declaration node, its name, the recursive call
    assert ("binary_expression", "*") in zip(fact.node_types, fact.tokens)
    assert ("modifiers", "static") in zip(fact.node_types, fact.tokens)
    assert "1L" in fact.tokens and "line_comment" not in exs[0].tree.node_types
    label = exs[2].tree
    assert mn.METHOD_NAME in label.tokens[:-1] and "<str>" in label.tokens   # "getLabel" literal hidden
    assert np.all(fact.parent[:-1] > np.arange(len(fact) - 1))
    assert exs[0].line == 9 and exs[0].target == ["add", "value"]


@java
def test_java_corpus_from_directory_and_zip(tmp_path):
    root = write_java_tree(tmp_path / "jsrc")
    corpus = mn.build_java_corpus(root, cache=False, progress=False)
    s = corpus.stats
    assert s["files"] == 3 and s["files_with_errors"] == 1
    assert s["examples"] == 3 + 2 + 3                  # Util: isEmpty, sizeOf; brokenMethod dropped
    assert s["dropped_no_body"] == 2 and s["dropped_short_name"] == 2
    assert s["dropped_parse_error"] >= 1
    assert corpus.problems[0].path == "mod.two/org/other/Util.java" and corpus.problems[0].line == 5
    assert {e.project for e in corpus.examples()} == {"mod.one", "mod.two", "mod.three"}
    parts = [{e.project for e in p} for p in (corpus.train, corpus.valid, corpus.test)]
    assert all(len(p) == 1 for p in parts) and len(set().union(*parts)) == 3
    zpath = tmp_path / "src.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(root.rglob("*.java")):
            zf.write(p, p.relative_to(root).as_posix())
    zcorpus = mn.build_java_corpus(zpath, cache_dir=tmp_path / "c", progress=False)
    assert sorted((e.project, e.name) for e in zcorpus.examples()) == sorted(
        (e.project, e.name) for e in corpus.examples())
    again = mn.build_java_corpus(zpath, cache_dir=tmp_path / "c", progress=False)  # from the cache
    assert again.stats["examples"] == 8 and again.problems[0].line == 5


# --------------------------------------------------------------------------- gettext and Tatoeba


def test_read_mo_matches_gettext_and_handles_context_and_plural(tmp_path):
    path = write_mo(tmp_path / "demo.mo", MO_MESSAGES)
    entries, charset = pt.read_mo(path)
    assert charset == "UTF-8"
    by = {(e.context, e.msgid): e for e in entries}
    assert by[("menu", "Quit")].msgstr == ["Quitter"]
    plural = by[(None, "%d item")]
    assert plural.msgid_plural == "%d items" and plural.msgstr == ["%d élément", "%d éléments"]
    with open(path, "rb") as fh:   # the writer is a valid .mo: the standard library agrees
        tr = gettext.GNUTranslations(fh)
    assert tr.gettext("Open file") == "Ouvrir le fichier"
    assert tr.ngettext("%d item", "%d items", 2) == "%d éléments"
    assert tr.pgettext("menu", "Quit") == "Quitter"
    big = write_mo(tmp_path / "big.mo", {"": MO_HEADER, "Yes": "Oui"}, big_endian=True)
    assert [(e.msgid, e.msgstr) for e in pt.read_mo(big)[0] if e.msgid] == [("Yes", ["Oui"])]
    with pytest.raises(pt.MoError, match="magic"):
        pt.read_mo(b"\x00" * 40)
    truncated = path.read_bytes()[:60]
    with pytest.raises(pt.MoError):
        pt.read_mo(truncated)


def test_gettext_pairs_cleaning_dedup_and_bad_files(tmp_path):
    locale = tmp_path / "locale"
    lc = locale / "fr" / "LC_MESSAGES"
    lc.mkdir(parents=True)
    write_mo(lc / "demo.mo", MO_MESSAGES)
    write_mo(lc / "other.mo", {"": MO_HEADER, "Open file": "Ouvrir le fichier", "Close": "Fermer"})
    (lc / "broken.mo").write_bytes(b"this is not a catalog at all")
    corpus = pt.load_gettext_pairs(locale_dir=str(locale), progress=False, cache=False)
    pairs = set(corpus.pairs)
    assert pairs == {
        ("Ouvrir le fichier", "Open file"),
        ("Ouvrir", "Open"),
        ("Impossible d'ouvrir <var> : <var>", "Could not open <var> : <var>"),
        ("<var> élément", "<var> item"),
        ("<var> éléments", "<var> items"),
        ("Quitter", "Quit"),
        ("Enregistrer sous <var>", "Save as <var>"),
        ("Enregistrer tous les fichiers", "Save all files"),
        ("Ouvrir le fichier", "Open the file"),
        ("Fermer", "Close"),
    }
    assert len(corpus.pairs) == len(pairs) == 10
    s = corpus.stats
    assert s["files"] == 3 and s["files_skipped"] == 1
    assert s["dropped_format_mismatch"] == 1 and s["dropped_no_text"] == 1
    assert s["dropped_identical"] == 1 and s["dropped_too_long"] == 1
    assert s["entries_untranslated"] == 1 and s["duplicates"] == 2   # "Open   file" and other.mo's copy
    assert corpus.problems[0].path.endswith("broken.mo")
    assert corpus.groups[corpus.pairs.index(("Fermer", "Close"))] == "other"
    train, valid, test = corpus.split(seed=0)
    assert len(train) + len(valid) + len(test) == 10 and len(train) == 8
    assert not set(train) & set(test)
    src_vocab, tgt_vocab = corpus.build_vocabs(train, min_freq=1)
    assert "<var>" in tgt_vocab and src_vocab.itos[:4] == list(SPECIALS)
    # cached: a second load reads the JSON file
    cdir = tmp_path / "c"
    a = pt.load_gettext_pairs(locale_dir=str(locale), progress=False, cache_dir=cdir)
    b = pt.load_gettext_pairs(locale_dir=str(locale), progress=False, cache_dir=cdir)
    assert a.pairs == b.pairs and len(os.listdir(cdir)) == 1
    with pytest.raises(FileNotFoundError):
        pt.load_gettext_pairs(locale_dir=str(tmp_path / "nowhere"), cache=False)


def test_format_specifiers_and_accelerators():
    assert pt.replace_format_specifiers("%1$s of %(count)d at %5.2f%% and {0} {name:>4} $HOME %lu")[1] == 7
    assert pt.replace_format_specifiers("100%% done")[0] == "100% done"
    s, t, reason = pt.clean_pair("_Fichier", "_File")
    assert (s, t, reason) == ("Fichier", "File", None)
    s, t, _ = pt.clean_pair("fichier_de_config introuvable", "config_file not found", drop_identical=False)
    assert s == "fichier_de_config introuvable"   # two underscores: not an accelerator
    assert pt.clean_pair("a %s", "b", )[2] == "format_mismatch"


def test_tatoeba_tsv_layouts_and_bad_lines(tmp_path):
    f = tmp_path / "fra.txt"
    f.write_text(
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
        "Hi.\tSalut !\tCC-BY 2.0\n"
        "a line without a tab\n"
        "Hi.\tSalut !\tCC-BY 2.0\n",
        encoding="utf-8",
    )
    c = pt.load_tatoeba_tsv(f)
    assert c.pairs == [("Va !", "Go."), ("Salut !", "Hi.")]
    assert [(p.path, p.line) for p in c.problems] == [(str(f), 3)]
    assert c.stats["duplicates"] == 1 and c.stats["lines_skipped"] == 1
    g = tmp_path / "pairs.tsv"
    g.write_bytes("1\tJe t'aime.\t2\tI love you.\n3\tBonjour\n".encode() + b"5\t\xff\xfe\t6\tbad\n")
    c2 = pt.load_tatoeba_tsv(g, source_column=0, target_column=1)
    assert c2.pairs == [("Je t'aime.", "I love you.")]
    assert [p.line for p in c2.problems] == [2, 3]
    assert c2.tokenize()[0] == (["je", "t'", "aime", "."], ["i", "love", "you", "."])


def test_no_warnings_from_building(tmp_path):
    root = write_python_project(tmp_path / "src")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mn.build_python_corpus(root, cache=False, progress=False)


def test_python_literal_tokens():
    src = (
        "def get_none(x):\n"
        "    if x is None:\n"
        "        return None\n"
        '    return 0x1FFFFFFFFFFF, 1.5, b"x", "hello world", "utf_8", ...\n'
    )
    tree = mn.python_methods_from_source(src)[0].tree
    consts = [tok for typ, tok in zip(tree.node_types, tree.tokens) if typ == "Constant"]
    assert consts == ["None", "None", "<num>", "1.5", "<bytes>", "<str>", "utf_8", "Ellipsis"]
    assert ("Compare", "Is") in zip(tree.node_types, tree.tokens)


@pytest.mark.skipif(__import__("shutil").which("msgfmt") is None, reason="msgfmt (gettext tools) not installed")
def test_read_mo_of_a_catalog_compiled_by_msgfmt(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        'msgctxt "menu"\nmsgid "_Quit"\nmsgstr "_Quitter"\n\n'
        'msgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] "%d fichier"\nmsgstr[1] "%d fichiers"\n',
        encoding="utf-8",
    )
    import subprocess

    subprocess.run(["msgfmt", "-o", str(tmp_path / "x.mo"), str(po)], check=True)
    corpus = pt.load_gettext_pairs([tmp_path / "x.mo"], cache=False, progress=False)
    assert sorted(corpus.pairs) == [("<var> fichier", "<var> file"), ("<var> fichiers", "<var> files"),
                                    ("Quitter", "Quit")]
