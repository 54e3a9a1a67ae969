"""The experiments framework (registry, context, runner, CLI) and the lecture demos
trajectories, amsgrad-counterexample, radam-variance, schedules and stopping, each
run in the reduced (quick) setting."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import registry, runner
from experiments.__main__ import main
from experiments.context import RunContext, markdown_table

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MY_DEMOS = ["trajectories", "amsgrad-counterexample", "radam-variance", "schedules",
            "stopping"]


def _check_plots(out_dir: Path, summary: dict, min_bytes: int = 5_000):
    assert summary["plots"], "the experiment saved no plot"
    for name in summary["plots"]:
        path = out_dir / name
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
        assert len(data) > min_bytes, f"{name} is suspiciously small ({len(data)} bytes)"
    report = (out_dir / "report.md").read_text()
    for name in summary["plots"]:
        assert f"({name})" in report, f"report.md does not link {name}"


def _run_quick(name, tmp_path):
    summary = runner.run_experiment(name, out=tmp_path, seed=0, quick=True)
    out_dir = tmp_path / name
    on_disk = json.loads((out_dir / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("experiment", "seed", "device", "quick", "versions", "seconds", "outcomes",
                "plots"):
        assert key in on_disk
    assert on_disk["experiment"] == name and on_disk["quick"] is True
    assert on_disk["status"] == "ok"
    assert set(on_disk["versions"]) >= {"python", "numpy", "minigrad"}
    _check_plots(out_dir, on_disk)
    return on_disk["outcomes"]


# --- the command line ------------------------------------------------------------------

def test_cli_list_subprocess():
    env = dict(os.environ, MINIGRAD_NO_PROGRESS="1")
    res = subprocess.run([sys.executable, "-m", "experiments", "list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for name in MY_DEMOS:
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
    for n in MY_DEMOS:
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


# --- the demos (quick) ------------------------------------------------------------------

def test_trajectories(tmp_path):
    out = _run_quick("trajectories", tmp_path)
    fl = out["final_loss"]
    assert set(fl) == {"deterministic", "noisy"}
    for setting in fl.values():
        assert set(setting) == {"quadratic", "rosenbrock", "beale"}
        for f in setting.values():
            assert {"GD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adadelta", "Adam",
                    "AMSGrad", "NAdam", "RAdam"} <= set(f)
    q = fl["deterministic"]["quadratic"]
    # starting loss is 0.1*4.5^2 + 2*1.5^2 = 6.525; the working methods make progress
    assert q["GD"] < 0.1 and q["Momentum"] < 0.1 and q["Adam"] < 0.5
    assert len(out["final_loss"]["noisy"]["beale"]) == 10


def test_amsgrad_counterexample(tmp_path):
    out = _run_quick("amsgrad-counterexample", tmp_path)
    assert out["C"] == 3
    assert out["adam_final_x"] > 0.9
    assert out["amsgrad_final_x"] < -0.9
    assert out["library_adam_final_x"] > 0.9
    assert out["library_amsgrad_final_x"] < -0.9
    # average regret of Adam stays near 2(C-2)/3, AMSGrad's vanishes
    assert abs(out["adam_avg_regret"] - 2 / 3) < 0.05
    assert out["amsgrad_avg_regret"] < 0.1
    assert 12 < out["critical_C_beta2_1_over_1pC"] < 13


def test_radam_variance(tmp_path):
    out = _run_quick("radam-variance", tmp_path)
    assert out["first_rectified_step_threshold5"] == 6
    assert out["first_rectified_step_threshold4"] == 5
    assert out["rho_5"] == pytest.approx(4.996, abs=1e-3)
    assert out["rho_6"] == pytest.approx(5.994, abs=1e-3)
    assert out["r_t_max_abs_error_vs_variance_ratio"] < 1e-9
    assert set(out["final_loss"]) == {"Adam (no warmup)", "Adam + linear warmup 2/(1-b2)",
                                      "Adam + linear warmup 200", "RAdam"}
    wc = out["warmup_comparison"]
    assert wc["Adam (no warmup)"]["peak_loss_first_100"] > wc["RAdam"]["peak_loss_first_100"]


def test_schedules(tmp_path):
    out = _run_quick("schedules", tmp_path)
    for w in ("1000", "4000", "8000"):
        tw = out["transformer_warmup"][w]
        assert tw["peak_step"] == int(w)
        assert tw["peak_lr"] == pytest.approx(tw["formula_peak_lr"], rel=1e-12)
    assert out["one_cycle"]["peak_step"] == 30
    assert out["one_cycle"]["peak_lr"] == pytest.approx(0.1)
    assert out["sgdr_restart_epochs"][:3] == [10, 30, 70]
    assert out["linear_warmup"]["0.999"]["full_lr_from_step"] == 2000


def test_stopping(tmp_path):
    out = _run_quick("stopping", tmp_path)
    stop = out["stop_step"]
    assert set(stop) == {"MaxIterations", "TimeBudget", "Patience", "TargetGap",
                         "RelativeLoss", "RelativeGradNorm"}
    assert stop["MaxIterations"] == out["steps"]
    # early stopping fires after the validation minimum, well before the end
    assert out["best_val_step"] < stop["Patience"] < out["steps"]
    assert out["patience_best_step"] == out["best_val_step"]
    assert stop["RelativeGradNorm"] is not None and stop["RelativeLoss"] is not None
