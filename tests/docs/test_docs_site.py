"""The documentation site builds warning-free (-W) and its math is typeset offline.

Skipped when the docs dependencies (the ``docs`` extra) are not installed. The
tutorials are not executed here (``plot_gallery=0``; ``test_tutorials.py`` runs
them) and the lecture gallery is built without plots (``MINIGRAD_DOCS_LECTURES=off``),
so the build stays within about a minute on two cores. The browser check is
skipped without Chromium.
"""
import importlib.util
import inspect
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NEEDED = ("sphinx", "myst_parser", "sphinx_gallery", "furo", "sphinx-mathjax-offline")
missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"docs extra not installed (missing {missing})")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, MPLBACKEND="Agg", MINIGRAD_DOCS_LECTURES="off",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "-D", "plot_gallery=0",
         "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return done, out / "html"


def test_builds_without_warnings(site):
    done, html = site
    assert done.returncode == 0, f"sphinx -W failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert "WARNING" not in done.stderr
    assert (html / "index.html").is_file()


def test_every_optimizer_and_scheduler_appears(site):
    import optim
    from optim import lr_scheduler

    _, html = site
    pages = "".join(p.read_text() for p in (html / "generated" / "optimizers").glob("*.html"))
    classes = [n for n in optim.__all__ if inspect.isclass(getattr(optim, n))
               and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"]
    absent = [n for n in classes if f'id="optim.{n}"' not in pages]
    assert not absent, f"optimizers without a reference entry: {absent}"
    schedulers = (html / "generated" / "schedulers.html").read_text()
    absent = [n for n in lr_scheduler.__all__ if inspect.isclass(getattr(lr_scheduler, n))
              and f'id="optim.lr_scheduler.{n}"' not in schedulers]
    assert not absent, f"schedulers without a reference entry: {absent}"


def test_tutorials_gallery_and_guides_are_pages(site):
    from experiments import registry

    _, html = site
    tutorials = sorted(p.name for p in (html / "generated" / "tutorials").glob("*.html") if p.stem != "index")
    assert len(tutorials) >= 4 and all("tutorial" in name for name in tutorials)
    for name in registry.lectures():
        assert (html / "generated" / "gallery" / f"{name}.html").is_file(), name
    assert (html / "ARCHITECTURE.html").is_file() and (html / "CONVENTIONS.html").is_file()


def test_mathjax_is_served_by_the_site(site):
    _, html = site
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    adam = (html / "generated" / "optimizers" / "adam.html").read_text()
    assert 'src="../../_static/mathjax/tex-chtml.js"' in adam
    assert "cdn" not in adam.lower().split("mathjax", 1)[0][-200:]
    assert 'class="math' in adam


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_docs_math", ROOT / "scripts" / "check_docs_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.find_browser() is None:
        pytest.skip("Chromium not installed (Debian: apt-get install chromium)")
    return module


def test_math_is_typeset_in_headless_chromium(site, checker):
    _, html = site
    assert checker.main(["--site", str(html)]) == 0


def test_browser_check_fails_without_mathjax(site, checker, tmp_path):
    _, html = site
    page = tmp_path / "generated" / "optimizers" / "adam.html"
    page.parent.mkdir(parents=True)
    shutil.copyfile(html / "generated" / "optimizers" / "adam.html", page)  # no _static: no MathJax
    assert checker.main(["--site", str(tmp_path)]) == 1
