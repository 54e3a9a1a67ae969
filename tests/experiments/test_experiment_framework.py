"""The experiments framework: the registry, the run context, the runner and the
command line (``python -m experiments``), on throwaway experiments and on the
registered lecture demonstrations' names. The demos themselves are run in
test_lecture_demos.py."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import registry, runner
from experiments.__main__ import main
from experiments.context import RunContext, markdown_table

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ["trajectories", "amsgrad-counterexample", "radam-variance", "schedules",
            "stopping"]


# --- the command line ------------------------------------------------------------------

def test_cli_list_subprocess():
    env = dict(os.environ, MINIGRAD_NO_PROGRESS="1")
    res = subprocess.run([sys.executable, "-m", "experiments", "list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for name in DEMOS:
        assert name in res.stdout
    # one line each, with a description
    line = next(ln for ln in res.stdout.splitlines() if " trajectories " in f" {ln} ")
    assert len(line.split()) > 3


def test_cli_unknown_name_lists_names(capsys):
    assert main(["run", "no-such-experiment"]) == 2
    err = capsys.readouterr().err
    assert "no-such-experiment" in err and "trajectories" in err


def test_lectures_order_and_names():
    names = registry.names()
    for n in DEMOS:
        assert n in names
    lec = registry.lectures()
    assert lec == [n for n in registry.LECTURES if n in names]
    assert registry.LECTURES[:3] == ("trajectories", "amsgrad-counterexample",
                                     "radam-variance")


# --- the framework on throwaway experiments ------------------------------------------

@pytest.fixture
def temp_experiments():
    """Register two throwaway experiments (one failing) and remove them afterwards."""
    import matplotlib.pyplot as plt

    @registry.experiment("zz-test-ok", "a throwaway experiment that works")
    def ok(ctx):
        fig, ax = plt.subplots()
        ax.plot(ctx.rng.normal(size=50))
        ctx.savefig(fig, "noise")
        ctx.write_report("Some *noise*.\n\n" + ctx.table([[1, 2.5]], ["a", "b"]))
        import numpy as np
        return {"value": np.float64(1.5), "n": np.int64(3), "arr": np.arange(3),
                "nested": {"x": 1.0}, "bad": float("nan")}

    @registry.experiment("zz-test-fail", "a throwaway experiment that fails")
    def fail(ctx):
        raise RuntimeError("deliberate failure")

    yield ["zz-test-ok", "zz-test-fail"]
    for n in ("zz-test-ok", "zz-test-fail"):
        registry._REGISTRY.pop(n, None)


def test_run_experiment_writes_summary(tmp_path, temp_experiments):
    s = runner.run_experiment("zz-test-ok", out=tmp_path, seed=3)
    d = json.loads((tmp_path / "zz-test-ok" / "summary.json").read_text())
    assert d["seed"] == 3 and d["device"] == "cpu" and d["quick"] is False
    assert d["outcomes"] == {"value": 1.5, "n": 3, "arr": [0, 1, 2], "nested": {"x": 1.0},
                             "bad": None}
    assert d["plots"] == ["noise.png"] and s["plots"] == ["noise.png"]
    assert d["seconds"] >= 0
    report = (tmp_path / "zz-test-ok" / "report.md").read_text()
    assert report.startswith("# zz-test-ok") and "(noise.png)" in report
    assert "| a | b |" in report
    # no temporary files left behind
    assert not [p for p in (tmp_path / "zz-test-ok").iterdir() if p.name.startswith(".")]


def test_failing_experiment_is_recorded(tmp_path, temp_experiments):
    with pytest.raises(RuntimeError, match="deliberate"):
        runner.run_experiment("zz-test-fail", out=tmp_path)
    d = json.loads((tmp_path / "zz-test-fail" / "summary.json").read_text())
    assert d["status"] == "failed" and "deliberate failure" in d["error"]


def test_run_lectures_continues_past_failure(tmp_path, temp_experiments, monkeypatch):
    monkeypatch.setattr(registry, "lectures", lambda: ["zz-test-fail", "zz-test-ok"])
    rc = main(["run", "lectures", "--out", str(tmp_path), "--quick"])
    assert rc == 1
    index = (tmp_path / "index.md").read_text()
    assert "FAILED" in index and "deliberate failure" in index
    assert "zz-test-ok/noise.png" in index and "zz-test-ok/report.md" in index
    assert "value = 1.5" in index      # the one-line key outcomes
    assert (tmp_path / "zz-test-ok" / "summary.json").exists()


def test_unavailable_module_fails_loudly(tmp_path):
    registry.register_unavailable("zz-broken", "experiments.demos.zz_broken",
                                  "Traceback ...\nImportError: no module named nothere")
    try:
        exp = registry.get("zz-broken")
        assert not exp.available and "ImportError" in exp.description
        with pytest.raises(registry.ExperimentUnavailable, match="nothere"):
            runner.run_experiment("zz-broken", out=tmp_path)
        assert main(["run", "zz-broken", "--out", str(tmp_path)]) == 1
    finally:
        registry._REGISTRY.pop("zz-broken", None)


def test_registry_rejects_duplicates_and_reserved():
    with pytest.raises(ValueError):
        registry.experiment("lectures", "reserved")
    with pytest.raises(ValueError):
        @registry.experiment("trajectories", "a second, different function")
        def other(ctx):
            return {}


def test_context_helpers(tmp_path):
    ctx = RunContext(tmp_path / "x", seed=1, device="cpu", quick=True)
    assert ctx.out_dir.is_dir() and ctx.pick(1, 2) == 1
    assert list(ctx.progress(range(3), desc="d", total=3)) == [0, 1, 2]
    table = markdown_table([{"a": 1, "b": 0.000012345}], ["a", "b"])
    assert table.splitlines()[2] == "| 1 | 1.234e-05 |"
