"""Hostile inputs of the parallel-text loaders and vocabularies: crafted ``.mo`` catalogs
(bad charsets, wrapping offsets, truncation, huge counts, shared strings), FIFOs and
directories under data names, path parts from arguments, malformed caches and vocabularies.
Each bad input is skipped and counted by reason, or refused with an error naming it."""
import json
import os
import struct

import pytest
from hostile_files import no_hang_fixture

from experiments.datasets import cache as dcache
from experiments.datasets import parallel_text as pt
from experiments.datasets.files import SkippedInput, cache_file, read_regular_file, safe_name_part
from experiments.datasets.vocab import SPECIALS, Vocab, VocabError

HEADER = "Content-Type: text/plain; charset={}\nPlural-Forms: nplurals=2; plural=(n > 1);\n"


_private_cache_and_no_hang = no_hang_fixture(seconds=20)


def mo_bytes(messages, charset="UTF-8"):
    """A little-endian GNU .mo of ``messages`` (msgid → msgstr); the header entry is added.

    Layout: 28-byte header, original table at 28, translation table at 28 + 8n, strings.
    """
    items = sorted([(b"", HEADER.format(charset).encode("ascii"))]
                   + [(k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items()])
    n = len(items)
    orig_off, trans_off = 28, 28 + 8 * n
    pos = trans_off + 8 * n
    otab, ttab, blob = b"", b"", b""
    for k, _ in items:
        otab += struct.pack("<2I", len(k), pos + len(blob))
        blob += k + b"\0"
    for _, v in items:
        ttab += struct.pack("<2I", len(v), pos + len(blob))
        blob += v + b"\0"
    return struct.pack("<7I", 0x950412DE, 0, n, orig_off, trans_off, 0, 0) + otab + ttab + blob


GOOD = {"Open file": "Ouvrir le fichier", "Close the window": "Fermer la fenêtre"}


def locale_with(tmp_path, **catalogs):
    """``locale/fr/LC_MESSAGES/<name>.mo`` for each ``name=bytes``; returns the locale directory."""
    lc = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    lc.mkdir(parents=True, exist_ok=True)
    for name, data in catalogs.items():
        (lc / f"{name}.mo").write_bytes(data)
    return tmp_path / "locale"


def load(locale, **kw):
    return pt.load_gettext_pairs(locale_dir=str(locale), progress=False, cache=False, **kw)


# --------------------------------------------------------------------------- .mo catalogs


def test_mo_with_a_punycode_charset_is_skipped_and_counted(tmp_path):
    locale = locale_with(tmp_path, good=mo_bytes(GOOD), odd=mo_bytes({"Save": "Enregistrer"}, charset="punycode"))
    corpus = load(locale)
    assert set(corpus.pairs) == {("Ouvrir le fichier", "Open file"), ("Fermer la fenêtre", "Close the window")}
    assert corpus.stats["files_skipped"] == 1
    assert corpus.stats["files_skipped_by_reason"] == {"bad_charset": 1}
    assert corpus.problems[0].path.endswith("odd.mo") and "punycode" in corpus.problems[0].message
    assert "1 files skipped (1 bad_charset)" in corpus.summary()


@pytest.mark.parametrize("charset", ["idna", "rot13", "base64", "no-such-charset"])
def test_mo_charsets_that_are_not_text_encodings_are_refused(charset):
    with pytest.raises(pt.MoError, match="charset") as info:
        pt.read_mo(mo_bytes({"Save": "Enregistrer"}, charset=charset))
    assert info.value.reason == "bad_charset"


def test_mo_entry_undecodable_in_its_charset_is_counted_not_fatal(tmp_path):
    data = mo_bytes({"Open file": "Ouvrir le fichier", "Save": "Enregistrer"}, charset="ascii")
    data = data.replace(b"Enregistrer", "Enregistré".encode("utf-8")[:11])  # same length, not ASCII
    corpus = load(locale_with(tmp_path, a=data))
    assert corpus.pairs == [("Ouvrir le fichier", "Open file")]
    assert corpus.stats["entries_undecodable"] == 1 and corpus.stats["files_skipped"] == 0


def _patch_entry(data, table, index, length, offset):
    """Overwrite (length, offset) of entry ``index`` of the original (0) or translation (1) table."""
    n, orig_off, trans_off = struct.unpack("<3I", data[8:20])
    at = (orig_off if table == 0 else trans_off) + 8 * index
    return data[:at] + struct.pack("<2I", length, offset) + data[at + 8:]


def test_mo_offset_plus_length_that_wraps_around_32_bits_is_refused():
    data = mo_bytes(GOOD)
    # 0xFFFFFFF0 + 0x20 wraps to 0x10 in uint32: inside the file, yet pointing past its end
    bad = _patch_entry(data, 1, 1, 0x20, 0xFFFFFFF0)
    with pytest.raises(pt.MoError, match="past the end"):
        pt.read_mo(bad)
    with pytest.raises(pt.MoError, match="past the end"):
        pt.read_mo(_patch_entry(data, 0, 2, 0xFFFFFFFF, 0xFFFFFFFF))


@pytest.mark.parametrize("cut", [19, 20, 30, 60, -5])
def test_truncated_mo_is_a_clear_error(cut):
    data = mo_bytes(GOOD)
    with pytest.raises(pt.MoError):
        pt.read_mo(data[:cut])


def test_mo_with_a_huge_declared_count_fails_fast():
    data = mo_bytes(GOOD)
    huge = data[:8] + struct.pack("<I", 0xFFFFFFFF) + data[12:]
    with pytest.raises(pt.MoError, match="runs past the end"):
        pt.read_mo(huge)
    tables_far = data[:12] + struct.pack("<2I", 0xFFFFFFF0, 0xFFFFFFF8) + data[20:]
    with pytest.raises(pt.MoError, match="runs past the end"):
        pt.read_mo(tables_far)


def test_mo_entries_sharing_one_long_string_cannot_amplify_memory():
    """n entries all pointing at one long string would be copied n times."""
    n = 400
    long = b"x" * 4000
    orig_off, trans_off = 28, 28 + 8 * n
    strings = trans_off + 8 * n
    table = struct.pack("<2I", len(long), strings) * n
    data = struct.pack("<7I", 0x950412DE, 0, n, orig_off, trans_off, 0, 0) + table + table + long
    with pytest.raises(pt.MoError, match="times the file"):
        pt.read_mo(data)


def test_fifo_directory_and_symlink_loop_named_mo_are_skipped_without_blocking(tmp_path):
    locale = locale_with(tmp_path, good=mo_bytes(GOOD))
    lc = locale / "fr" / "LC_MESSAGES"
    os.mkfifo(lc / "fifo.mo")
    (lc / "folder.mo").mkdir()
    os.symlink(lc / "loop2.mo", lc / "loop1.mo")
    os.symlink(lc / "loop1.mo", lc / "loop2.mo")
    corpus = load(locale)
    assert len(corpus.pairs) == 2
    assert corpus.stats["files_skipped_by_reason"] == {"not_regular": 2, "unreadable": 2}
    messages = {os.path.basename(p.path): p.message for p in corpus.problems}
    assert "FIFO" in messages["fifo.mo"] and "directory" in messages["folder.mo"]
    assert "symlink loop" in messages["loop1.mo"]


def test_lang_cannot_move_the_cache_file_out_of_the_cache_directory(tmp_path):
    cdir = tmp_path / "deep" / "cache"
    mo = tmp_path / "a.mo"
    mo.write_bytes(mo_bytes(GOOD))
    corpus = pt.load_gettext_pairs([mo], lang="x/../../escaped", cache_dir=cdir, progress=False)
    assert len(corpus.pairs) == 2
    written = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs if f != "a.mo"]
    assert len(written) == 1 and os.path.dirname(written[0]) == str(cdir), written
    assert "/" not in os.path.basename(written[0]).replace("gettext-", "")
    with pytest.raises(ValueError, match="locale name"):
        pt.find_mo_files("x/../../escaped", str(tmp_path))


def test_malformed_gettext_cache_is_rebuilt(tmp_path):
    mo = tmp_path / "a.mo"
    mo.write_bytes(mo_bytes(GOOD))
    cdir = tmp_path / "c"
    first = pt.load_gettext_pairs([mo], cache_dir=cdir, progress=False)
    (path,) = [cdir / f for f in os.listdir(cdir)]
    d = json.loads(path.read_text())
    d["pairs"] = [[1, 2] for _ in d["pairs"]]
    path.write_text(json.dumps(d))
    with pytest.warns(RuntimeWarning, match="unreadable cache"):
        again = pt.load_gettext_pairs([mo], cache_dir=cdir, progress=False)
    assert again.pairs == first.pairs
    path.unlink()
    os.mkfifo(path)
    with pytest.warns(RuntimeWarning, match="not a regular file"):
        assert pt.load_gettext_pairs([mo], cache_dir=cdir, progress=False).pairs == first.pairs


def test_tatoeba_lines_skipped_by_reason_and_a_fifo_refused(tmp_path):
    f = tmp_path / "fra.txt"
    f.write_bytes(b"Hello.\tBonjour.\nno tab here\nBad \xff\tbyte\nThanks.\tMerci.\n")
    corpus = pt.load_tatoeba_tsv(f)
    assert corpus.pairs == [("Bonjour.", "Hello."), ("Merci.", "Thanks.")]
    assert corpus.stats["lines_skipped_by_reason"] == {"bad_columns": 1, "not_text": 1}
    assert "2 lines skipped" in corpus.summary()
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(SkippedInput, match="FIFO"):
        pt.load_tatoeba_tsv(tmp_path / "pipe.txt")


# --------------------------------------------------------------------------- vocabularies


@pytest.mark.parametrize("content, what", [
    ("[1, 2]", "JSON object"),
    ('{"counts": {}}', "no 'itos'"),
    ('{"itos": 5}', "must be a list"),
    ('{"itos": ["<pad>", "<unk>", "<s>", "</s>", 7]}', "entry 4 is int"),
    ('{"itos": ["a", "b"]}', "not a vocabulary of this package"),
    ('{"itos": ["<pad>", "<unk>", "<s>", "</s>", "x", "y", "x"]}', "twice"),
    ('{"itos": ["<pad>", "<unk>", "<s>", "</s>"], "counts": {"x": "3"}}', "counts"),
    ('{"itos": [', "unreadable JSON"),
    ("", "unreadable JSON"),
])
def test_vocab_load_names_the_file_and_what_is_wrong(tmp_path, content, what):
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(VocabError) as info:
        Vocab.load(path)
    assert str(path) in str(info.value) and what in str(info.value)


def test_vocab_load_refuses_a_fifo_and_reports_a_missing_file(tmp_path):
    os.mkfifo(tmp_path / "vocab.json")
    with pytest.raises(VocabError, match="FIFO"):
        Vocab.load(tmp_path / "vocab.json")
    with pytest.raises(FileNotFoundError):
        Vocab.load(tmp_path / "missing.json")
    v = Vocab(["a", "b"], counts={"a": 2, "b": 1})
    v.save(tmp_path / "ok.json")
    assert Vocab.load(tmp_path / "ok.json") == v and Vocab.load(tmp_path / "ok.json").itos[:4] == list(SPECIALS)


# --------------------------------------------------------------------------- file helpers


def test_safe_name_parts_and_cache_files_stay_in_their_directory(tmp_path):
    for hostile in ["x/../../escaped", "..", "../..", "/etc/passwd", "a\\b", "a\0b", "", ".hidden", "é"]:
        part = safe_name_part(hostile)
        assert part and "/" not in part and "\\" not in part and not part.startswith(".")
        path = cache_file(tmp_path, "kind", hostile, "key", ext="json")
        assert os.path.dirname(path) == str(tmp_path)
    assert safe_name_part("pt_BR") == "pt_BR"
    with pytest.raises(ValueError, match="extension"):
        cache_file(tmp_path, "a", ext="../json")


def test_read_regular_file_refuses_devices_and_bounds_the_size(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zero.bin")
    with pytest.raises(SkippedInput, match="character device") as info:
        read_regular_file(tmp_path / "zero.bin")
    assert info.value.reason == "not_regular"
    (tmp_path / "big.bin").write_bytes(b"x" * 100)
    with pytest.raises(SkippedInput, match="limit") as info:
        read_regular_file(tmp_path / "big.bin", max_bytes=99)
    assert info.value.reason == "too_large"
    assert read_regular_file(tmp_path / "big.bin", max_bytes=100) == b"x" * 100
    with pytest.raises(FileNotFoundError) as info:  # as open() would raise, and a SkippedInput
        read_regular_file(tmp_path / "missing")
    assert isinstance(info.value, SkippedInput) and info.value.reason == "unreadable"


def test_cache_readers_raise_cache_error_for_a_non_regular_file(tmp_path):
    (tmp_path / "d.json").mkdir()
    with pytest.raises(dcache.CacheError, match="directory"):
        dcache.read_json(tmp_path / "d.json")
    os.mkfifo(tmp_path / "p.npz")
    with pytest.raises(dcache.CacheError, match="FIFO"):
        dcache.read_npz(tmp_path / "p.npz")
