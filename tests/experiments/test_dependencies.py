"""The experiments' libraries: setup.cfg's extras agree with
:mod:`experiments.dependencies`, and the command line names the missing library and
the extra that installs it."""
import configparser
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from experiments import dependencies, registry
from experiments.__main__ import _main_or_hint

ROOT = Path(__file__).resolve().parents[2]


def _requirements(text):
    """{distribution name: requirement line} of a setup.cfg list."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return {re.split(r"[<>=!~\[; ]", ln, maxsplit=1)[0].lower(): ln for ln in lines}


@pytest.fixture(scope="module")
def setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_core_needs_numpy_and_scipy_only(setup_cfg):
    assert set(_requirements(setup_cfg["options"]["install_requires"])) == {"numpy", "scipy"}


def test_extras_list_the_experiments_libraries(setup_cfg):
    extras = setup_cfg["options.extras_require"]
    experiments = _requirements(extras["experiments"])
    assert set(experiments) == set(dependencies.LIBRARIES.values())
    test = _requirements(extras["test"])
    for name, line in experiments.items():
        assert test.get(name) == line, f"the test extra must repeat {line!r}"
    assert {"torch", "pytest", "hypothesis", "pytest-xdist", "ruff"} <= set(test)


def test_license_metadata(setup_cfg):
    meta = setup_cfg["metadata"]
    assert meta["license"] == "MIT"
    assert "License :: OSI Approved :: MIT License" in meta["classifiers"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the minigrad authors" in text


def test_missing_library_and_message():
    assert dependencies.missing_library(ModuleNotFoundError("x", name="sklearn.datasets")) == "scikit-learn"
    trace = "Traceback ...\nModuleNotFoundError: No module named 'rouge_score'"
    assert dependencies.missing_library(trace) == "rouge-score"
    assert dependencies.missing_library(ModuleNotFoundError("x", name="no_such_thing")) is None
    assert dependencies.missing_library("ImportError: cannot import name 'x'") is None
    message = dependencies.missing_message(ModuleNotFoundError("x", name="tree_sitter_java"))
    assert "tree-sitter-java" in message and '".[experiments]"' in message
    assert dependencies.missing_message(ValueError("No module named 'numpy'")) is None


def _cli_without(refused, *args):
    """``python -m experiments ARGS`` in an interpreter that refuses to import ``refused``."""
    code = textwrap.dedent('''
        import importlib.abc
        import runpy
        import sys

        REFUSED = set(sys.argv[1].split(","))


        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in REFUSED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None


        sys.meta_path.insert(0, Refuse())
        sys.argv = ["experiments"] + sys.argv[2:]
        runpy.run_module("experiments", run_name="__main__", alter_sys=True)
    ''')
    env = dict(os.environ, PYTHONPATH=str(ROOT), MINIGRAD_NO_PROGRESS="1")
    return subprocess.run([sys.executable, "-c", code, ",".join(refused), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_without_matplotlib_names_the_extra():
    res = _cli_without(["matplotlib"], "list")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "matplotlib" in res.stderr and '".[experiments]"' in res.stderr


def test_cli_without_sklearn_names_the_extra(tmp_path):
    res = _cli_without(["sklearn"], "run", "bb-step", "--quick", "--out", str(tmp_path))
    assert res.returncode == 1
    assert "scikit-learn" in res.stderr and '".[experiments]"' in res.stderr


def test_unavailable_demo_names_the_extra(tmp_path):
    trace = "Traceback ...\nModuleNotFoundError: No module named 'sacrebleu'"
    exp = registry.register_unavailable("zz-no-sacrebleu", "experiments.demos.zz_no_sacrebleu", trace)
    try:
        assert not exp.available and "'experiments' extra" in exp.description
        with pytest.raises(registry.ExperimentUnavailable, match=r"sacrebleu(.|\n)*\.\[experiments\]"):
            exp(None)
    finally:
        registry._REGISTRY.pop("zz-no-sacrebleu", None)


def test_library_missing_while_running(tmp_path, capsys):
    @registry.experiment("zz-needs-nltk", "a throwaway experiment whose library is missing")
    def needs_nltk(ctx):
        raise ModuleNotFoundError("No module named 'nltk'", name="nltk")

    try:
        with pytest.raises(SystemExit) as exit_info:
            _main_or_hint(["run", "zz-needs-nltk", "--out", str(tmp_path)])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert "nltk" in err and '".[experiments]"' in err
    finally:
        registry._REGISTRY.pop("zz-needs-nltk", None)
