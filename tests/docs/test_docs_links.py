"""The index of `run lectures` links each demonstration's page of the docs site."""
import pathlib

from experiments import registry, runner

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_link_points_at_the_gallery_page(tmp_path):
    name = registry.lectures()[0]
    link = runner.docs_page_link(name, tmp_path / "results")
    target = (tmp_path / "results" / link).resolve()
    assert target == ROOT / "docs" / "_build" / "html" / "generated" / "gallery" / f"{name}.html"
    assert runner.docs_page_link("not-a-lecture", tmp_path) is None


def test_index_has_a_docs_link_per_lecture(tmp_path):
    names = registry.lectures()[:2]
    run = runner.LectureRun(tmp_path)
    for name in names:
        run.results[name] = {"status": "ok", "seconds": 0.1, "outcomes": {"x": 1.0}, "plots": []}
    index = runner._write_index(run, [], {"seed": 0, "device": "cpu", "quick": True}).read_text()
    for name in names:
        assert f"[docs page]({runner.docs_page_link(name, tmp_path)})" in index
        assert runner.docs_page_link(name, tmp_path).endswith(f"generated/gallery/{name}.html")
