"""The seminar's landscape and rate demonstrations, each run once in the quick setting:
grokking, double-descent, mode-connectivity, finite-sum and adabelief-regions. Each
test asserts the outcome the experiment exists to show."""
import json
import math

import pytest

from experiments import registry, runner

NEW = ["grokking", "double-descent", "mode-connectivity", "finite-sum", "adabelief-regions"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run each demo once (quick, seed 0); {name: outcomes as read back from summary.json}."""
    out = tmp_path_factory.mktemp("landscape")
    result = {}
    for name in NEW:
        runner.run_experiment(name, out=out, seed=0, quick=True)
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["status"] == "ok" and summary["quick"] is True
        assert summary["plots"], f"{name} saved no plot"
        report = (out / name / "report.md").read_text()
        assert "**Claim**" in report and "**What our numbers show**" in report
        for plot in summary["plots"]:
            data = (out / name / plot).read_bytes()
            assert data[:8] == PNG_SIGNATURE and len(data) > 5_000
            assert f"({plot})" in report
        result[name] = summary["outcomes"]
    return result


def test_registered_in_lectures():
    lectures = registry.lectures()
    for name in NEW:
        assert registry.get(name).available, registry.get(name).error
        assert name in lectures


def _delay(rec):
    if rec["val_fit_step"] is None:
        return math.inf                        # never generalised within the step cap
    return rec["val_fit_step"] - rec["train_fit_step"]


def test_grokking_validation_fits_late_and_weight_decay_shortens_the_delay(outcomes):
    o = outcomes["grokking"]
    assert o["train_fit_step"] is not None and o["val_fit_step"] is not None
    assert o["val_fit_step"] >= 2 * o["train_fit_step"]
    assert o["final_val_acc"] >= 0.95
    by_wd = o["by_weight_decay"]
    assert len(by_wd) >= 2
    wds = sorted(by_wd, key=float)
    assert all(by_wd[w]["train_fit_step"] is not None for w in wds)
    assert _delay(by_wd[wds[-1]]) < _delay(by_wd[wds[0]])


def test_double_descent_peaks_at_the_threshold_and_ridge_removes_it(outcomes):
    o = outcomes["double-descent"]
    assert 0.7 <= o["peak_features_ratio"] <= 1.4
    assert o["min_test_error_above_peak"] < o["peak_test_error"] / 5     # it falls again
    assert o["min_test_error_below_peak"] < o["peak_test_error"] / 5
    assert o["ridge_peak_test_error"] < o["peak_test_error"] / 5
    assert len(o["per_seed"]["test_error_at_peak"]) == o["draws"] >= 5


def test_mode_connectivity_curve_has_almost_no_barrier(outcomes):
    o = outcomes["mode-connectivity"]
    assert o["line_barrier"] > 0.1
    assert o["curve_barrier"] < 0.2 * o["line_barrier"]
    assert o["chain_barrier"] < 0.2 * o["line_barrier"]
    assert o["curve_min_test_acc"] > o["line_min_test_acc"]
    assert min(o["endpoint_test_acc"]) > 0.9
    per = o["per_seed"]
    assert len(per["line_barrier"]) == len(per["curve_barrier"]) == len(o["seeds"]) >= 2
    assert all(c < 0.2 * ln for c, ln in zip(per["curve_barrier"], per["line_barrier"]))


def test_finite_sum_rates_and_floors(outcomes):
    o = outcomes["finite-sum"]
    assert 0 < o["gd_rate"] <= o["gd_rate_bound"] < 1                    # linear, within 1 - mu/L
    f = o["floors"]
    assert f["1"] > f["16"] > f["full"]
    assert f["1"] > f["2"]
    assert o["floors_decrease_on_seeds"] >= 3 and len(o["seeds"]) >= 5
    assert -1.5 < o["sgd_decreasing_slope"] < -0.5                        # about O(1/k)
    assert len(o["per_seed"]["floors"]["1"]) == len(o["seeds"])


def test_adabelief_regions_match_the_lecture_table(outcomes):
    o = outcomes["adabelief-regions"]
    assert o["measured"] == o["lecture"]
    assert o["lecture"]["AdaBelief"] == "L,S,L" and o["lecture"]["Adam"] == "L,S,S"
    steps = o["steps"]
    # on the long slope AdaBelief's step is larger than Adam's; in the valley both are small
    assert steps["AdaBelief"]["region 3"] > 10 * steps["Adam"]["region 3"]
    assert steps["Adam"]["region 2"] < steps["Adam"]["region 1"]
