"""The lecture demos bb-step, lookahead, sam, muon-vs-adamw and landscape, each run once
in the reduced (quick) setting through ``experiments.runner.run_experiment``; the key
outcomes are read back from summary.json."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments import registry, runner

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMOS = ["bb-step", "lookahead", "sam", "muon-vs-adamw", "landscape"]

pytest.importorskip("sklearn")


def _check_outputs(out_dir: Path, summary: dict):
    assert summary["plots"], "the experiment saved no plot"
    for name in summary["plots"]:
        data = (out_dir / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
        assert len(data) > 5_000, f"{name} is suspiciously small ({len(data)} bytes)"
    report = (out_dir / "report.md").read_text()
    assert len(report) > 500
    for name in summary["plots"]:
        assert f"({name})" in report, f"report.md does not link {name}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run every demo once (quick) and return {name: outcomes from summary.json}."""
    out = tmp_path_factory.mktemp("experiments_more")
    cache = {}

    def get(name):
        if name not in cache:
            summary = runner.run_experiment(name, out=out, seed=0, quick=True)
            out_dir = out / name
            on_disk = json.loads((out_dir / "summary.json").read_text())
            assert on_disk["status"] == "ok" and on_disk["quick"] is True
            assert on_disk["outcomes"] == json.loads(json.dumps(summary["outcomes"]))
            _check_outputs(out_dir, on_disk)
            cache[name] = on_disk["outcomes"]
        return cache[name]
    return get


def test_registered_with_descriptions():
    names = registry.names()
    for name in DEMOS:
        assert name in names
        exp = registry.get(name)
        assert exp.available, exp.error
        assert len(exp.description) > 20


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
