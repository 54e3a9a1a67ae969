"""The method-naming study's data: sources, split by project, duplicates, the prepared file."""
import json

import pytest

from experiments.datasets import java_available
from experiments.study import naming_data
from experiments.study.profiles import get_profile, override


@pytest.fixture(autouse=True)
def data_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA_DIR", str(tmp_path / "cache"))


def _jsonl(path, projects=6, per_project=5):
    lines = []
    for p in range(projects):
        for i in range(per_project):
            name = f"get_item{p}_{i}" if i % 2 else f"set_value_{p}{i}"
            tree = {"node": "FunctionDef", "token": name, "children": [
                {"node": "Return", "token": None, "children": [{"node": "Name", "token": f"x{i}", "children": []}]}]}
            lines.append(json.dumps({"name": name, "ast": tree, "project": f"proj{p}"}))
    lines.append(lines[0])                                   # a duplicate function
    path.write_text("\n".join(lines) + "\n")
    return path


def test_prepare_jsonl_splits_by_project_and_drops_duplicates(tmp_path):
    data = _jsonl(tmp_path / "corpus.jsonl")
    prof = override(get_profile("smoke"), ["max_train=100"])
    summary = naming_data.prepare(tmp_path / "study", str(data), prof)
    assert summary["duplicates_removed"] == 1
    splits = summary["splits"]
    assert sum(s["functions"] for s in splits.values()) == 30
    assert sum(s["projects"] for s in splits.values()) == 6
    loaded, vocabs = naming_data.load(tmp_path / "study", prof.max_target_len)
    projects = {k: set(v.projects) for k, v in loaded.items()}
    assert not (projects["train"] & projects["valid"] or projects["train"] & projects["test"]
                or projects["valid"] & projects["test"])
    assert all(len(v) == splits[k]["functions"] for k, v in loaded.items())
    assert loaded["test"].references[0] and loaded["train"].targets[0, 0] == vocabs["targets"].bos_id
    # the same settings reuse the prepared file; other settings are refused
    assert naming_data.prepare(tmp_path / "study", str(data), prof) == summary
    with pytest.raises(ValueError, match="other data settings"):
        naming_data.prepare(tmp_path / "study", str(data), override(prof, ["max_train=5"]))


def test_profile_limits_sample_each_split(tmp_path):
    data = _jsonl(tmp_path / "corpus.jsonl", projects=10, per_project=6)
    prof = override(get_profile("smoke"), ["max_train=7", "max_valid=2", "max_test=3"])
    summary = naming_data.prepare(tmp_path / "s", str(data), prof)
    assert [summary["splits"][k]["functions"] for k in ("train", "valid", "test")] == [7, 2, 3]


def test_unknown_data_is_refused(tmp_path):
    with pytest.raises(ValueError, match="neither 'python', 'java' nor an existing file"):
        naming_data.prepare(tmp_path / "s", str(tmp_path / "missing"), get_profile("smoke"))


JAVA = """package p;
class C{k} {{
    int countItems{k}(int[] xs) {{ int n = 0; for (int x : xs) {{ n += x; }} return n; }}
    String getName{k}() {{ return "name"; }}
    void setValue{k}(int v) {{ this.v = v; }}
}}
"""


@pytest.mark.skipif(not java_available(), reason="tree-sitter-java is not installed")
def test_java_sources_split_by_module(tmp_path):
    src = tmp_path / "src"
    for k, module in enumerate(("java.base", "java.sql", "java.xml", "java.logging")):
        d = src / module / "p"
        d.mkdir(parents=True)
        (d / f"C{k}.java").write_text(JAVA.format(k=k))
    summary = naming_data.prepare(tmp_path / "s", str(src), get_profile("smoke"))
    assert summary["source"]["source"] == "java"
    assert sum(s["functions"] for s in summary["splits"].values()) == 12
    assert sum(s["projects"] for s in summary["splits"].values()) == 4
