"""The ten lecture demonstrations, each run once in the reduced (quick) setting
through ``experiments.runner.run_experiment``; the key outcomes are read back from
summary.json, and the plots and report.md are checked on disk."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments import registry, runner

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMOS = ["bb-step", "lookahead", "sam", "muon-vs-adamw", "landscape"]

needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="needs scikit-learn")


def _check_outputs(out_dir: Path, summary: dict, min_report_chars: int = 0):
    """Every plot is a PNG of more than 5 kB and report.md (longer than
    ``min_report_chars``) links every plot."""
    assert summary["plots"], "the experiment saved no plot"
    for name in summary["plots"]:
        data = (out_dir / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
        assert len(data) > 5_000, f"{name} is suspiciously small ({len(data)} bytes)"
    report = (out_dir / "report.md").read_text()
    assert len(report) > min_report_chars
    for name in summary["plots"]:
        assert f"({name})" in report, f"report.md does not link {name}"


def _run_quick(name, tmp_path):
    """Run ``name`` once (quick) into ``tmp_path``, check its whole summary.json and
    return its outcomes."""
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
    _check_outputs(out_dir, on_disk)
    return on_disk["outcomes"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run a demo once per module (quick) and return {name: outcomes from summary.json}."""
    out = tmp_path_factory.mktemp("lecture_demos")
    cache = {}

    def get(name):
        if name not in cache:
            summary = runner.run_experiment(name, out=out, seed=0, quick=True)
            out_dir = out / name
            on_disk = json.loads((out_dir / "summary.json").read_text())
            assert on_disk["status"] == "ok" and on_disk["quick"] is True
            assert on_disk["outcomes"] == json.loads(json.dumps(summary["outcomes"]))
            _check_outputs(out_dir, on_disk, min_report_chars=500)
            cache[name] = on_disk["outcomes"]
        return cache[name]
    return get


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


@needs_sklearn
def test_registered_with_descriptions():
    names = registry.names()
    for name in DEMOS:
        assert name in names
        exp = registry.get(name)
        assert exp.available, exp.error
        assert len(exp.description) > 20


@needs_sklearn
def test_bb_step(outcomes):
    o = outcomes("bb-step")
    one = o["derivation"]["one_step"]
    # least squares == closed form == inverse Rayleigh quotient
    for a, b in (("bb1", "bb1_lstsq"), ("bb1", "bb1_inv_rayleigh"),
                 ("bb2", "bb2_lstsq"), ("bb2", "bb2_inv_rayleigh")):
        assert one[a] == pytest.approx(one[b], rel=1e-10)
    assert one["bb2"] <= one["bb1"]
    many = o["derivation"]["random_directions"]
    assert many["all_in_bounds"] and many["all_bb2_le_bb1"]
    assert many["max_rel_err_bb1_vs_inv_rayleigh"] < 1e-10
    assert many["max_rel_err_bb2_vs_inv_rayleigh"] < 1e-10
    it = o["iterations_to_tol"]
    assert it["bb1"] is not None and it["bb2"] is not None and it["fixed"] is not None
    assert it["bb1"] < it["fixed"] and it["bb2"] < it["fixed"]
    assert it["exact"] is not None
    assert o["bb_faster_than_fixed"] is True
    final = o["final_loss"]
    start = math.log(2.0)                      # F(0) = log 2 (w = 0)
    for key in ("sgd_bb", "svrg_bb", "best_sgd"):
        assert math.isfinite(final[key])
        assert final["optimum"] - 1e-9 <= final[key] < start
    assert o["logreg"]["best_sgd_lr"] in [float(k) for k in o["logreg"]["sgd_grid"]]


@needs_sklearn
def test_lookahead(outcomes):
    o = outcomes("lookahead")
    q = o["quadratic"]
    assert q["slow_weights_recorded"] == q["steps"] // q["k"]
    assert len(q["slow_weights_first"]) == 2 and len(q["slow_weights_last"]) == 2
    # the slow weights move toward the minimum at 0
    assert np.linalg.norm(q["slow_weights_last"]) < np.linalg.norm(q["slow_weights_first"])
    for key in ("sgd", "lookahead"):
        assert math.isfinite(q["final_loss"][key]) and q["final_loss"][key] < 10.0
        assert q["distance"]["sgd"] > 0
    assert q["distance"]["lookahead_slow"] > 0
    assert q["distance"]["lookahead_fast"] > q["distance"]["lookahead_slow"]
    m = o["mlp"]
    for key in ("sgd", "lookahead"):
        assert m["final_train_loss"][key] < 0.5 * m["initial_train_loss"]
        assert m["test_accuracy"][key] > 0.8
    assert m["distance"]["lookahead_slow"] > 0


@needs_sklearn
def test_sam(outcomes):
    o = outcomes("sam")
    assert o["sgd_basin"] == "sharp"
    assert o["sam_basin"] == "flat"
    assert o["sgd_final_x"] == pytest.approx(o["sharp_min_x"], abs=0.05)
    assert o["sam_final_x"] == pytest.approx(o["flat_min_x"], abs=0.05)
    assert o["sgd_sharpness"] == pytest.approx(50.0, rel=0.05)
    assert o["sam_sharpness"] == pytest.approx(1.0, rel=0.05)
    assert o["sgd_sharpness"] > 10 * o["sam_sharpness"]
    assert o["sgd_final_loss"] < o["sam_final_loss"]          # the sharp minimum is deeper


@needs_sklearn
def test_muon_vs_adamw(outcomes):
    o = outcomes("muon-vs-adamw")
    for key in ("muon", "adamw"):
        r = o[key]
        assert r["final_objective"] < 0.25 * r["initial_objective"]
        assert r["suboptimality"] > -1e-6
        assert r["train_loss"] < r["initial_objective"]
        assert math.isfinite(r["test_loss"]) and r["test_acc"] > 0.8
    assert o["muon"]["initial_objective"] == pytest.approx(o["adamw"]["initial_objective"])
    assert o["seconds_per_step_ratio"] > 0


@needs_sklearn
def test_landscape(outcomes):
    o = outcomes("landscape")
    for key in ("sgd", "adam"):
        r = o[key]
        values = [r[k] for k in ("loss_at_min", "loss_plus1", "loss_minus1", "loss_2d_max",
                                 "loss_2d_mean", "flatness_proxy")]
        assert all(math.isfinite(v) for v in values)
        assert r["loss_plus1"] > r["loss_at_min"] and r["loss_minus1"] > r["loss_at_min"]
        assert r["loss_2d_max"] > r["loss_2d_center"]
        assert r["loss_2d_center"] == pytest.approx(r["loss_at_min"])
        assert r["flatness_proxy"] > 0
    assert o["flatter"] in ("sgd", "adam")
