"""The pages generated from the packages' exports cover every optimizer, scheduler and demo."""
import importlib
import inspect
import json
import pathlib
import sys

import pytest

import optim
from optim import lr_scheduler

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
gen = importlib.import_module("minigrad_docs")


def test_every_optimizer_class_has_a_family():
    families = gen.optimizer_families()
    listed = [c for classes in families.values() for c in classes]
    expected = [n for n in optim.__all__ if inspect.isclass(getattr(optim, n))
                and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"]
    assert sorted(listed) == sorted(expected) and len(set(listed)) == len(listed)
    assert families["adam"] == ["Adam", "AdamW"]


def test_family_page_has_formula_trace_conventions_and_reference():
    page = gen.family_page("adam", ["Adam", "AdamW"], gen.find_doc("TRACING.md"), gen.DOCS / "CONVENTIONS.md")
    assert ".. automodule:: optim.functional.adam" in page
    assert ".. autofunction:: optim.functional.adam" in page
    assert ".. autoclass:: optim.Adam" in page and ".. autoclass:: optim.AdamW" in page
    assert "`m_hat`" in page                      # the trace table's row
    assert "bias_correction=\"efficient\"" in page  # the conventions' row


def test_table_rows_match_whole_names_only(tmp_path):
    md = tmp_path / "t.md"
    md.write_text("# Head\n\n| opt | x |\n|---|---|\n| AdamW | 1 |\n| Adam, NAdam | 2 |\n| SGD | 3 |\n")
    (heading, table), = gen.table_rows(md, ["Adam"])
    assert heading == "Head"
    assert table[2:] == ["| Adam, NAdam | 2 |"]
    assert gen.table_rows(md, ["Rprop"]) == []
    assert gen.table_rows(tmp_path / "missing.md", ["Adam"]) == []


def test_every_scheduler_is_listed():
    names = gen.scheduler_names()
    assert "StepLR" in names and "OneCycleLR" in names
    assert names == [n for n in lr_scheduler.__all__ if inspect.isclass(getattr(lr_scheduler, n))]


def test_gallery_page_embeds_a_runs_plots_and_report(tmp_path, monkeypatch):
    from experiments import registry

    name = registry.lectures()[0]
    run = tmp_path / "run"
    (run / name).mkdir(parents=True)
    (run / name / "curve.png").write_bytes(b"\x89PNG fake")
    (run / name / "report.md").write_text("# Title\n\nThe result, $x^2$.\n\n## Detail\n\n![c](curve.png)\n")
    (run / name / "summary.json").write_text(json.dumps(
        {"status": "ok", "seed": 3, "quick": True, "plots": ["curve.png"], "report": "report.md"}))
    monkeypatch.setattr(gen, "OUT", tmp_path / "generated")
    page = gen.gallery_page(name, run)
    assert page.startswith(f"# {name}\n")
    assert "The result, $x^2$." in page and "\n### Detail" in page and "# Title" not in page
    assert f"![c]({name}/curve.png)" in page            # the report's image, pointed at the copy
    assert page.count("curve.png") == 1                   # not embedded twice
    assert (tmp_path / "generated" / "gallery" / name / "curve.png").read_bytes() == b"\x89PNG fake"
    assert "seed 3, quick" in page
    without = gen.gallery_page(name, None)
    assert f"python -m experiments run {name}" in without and "curve.png" not in without


def test_lecture_run_dir_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DOCS_LECTURES", "off")
    assert gen.lecture_run_dir() is None
    monkeypatch.setenv("MINIGRAD_DOCS_LECTURES", str(tmp_path))
    assert gen.lecture_run_dir() == tmp_path
    monkeypatch.setenv("MINIGRAD_DOCS_LECTURES", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="MINIGRAD_DOCS_LECTURES"):
        gen.lecture_run_dir()
