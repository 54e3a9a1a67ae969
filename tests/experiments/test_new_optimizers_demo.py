"""The ``new-optimizers`` demonstration, run once in its quick setting through the runner:
the outcomes' structure, verdict counts that agree with the per-seed values, the plots
and the report on disk, and one robust property: on the digits model every method lowers
the objective from its initialisation on every seed."""
import importlib.util
import json
import math

import pytest

from experiments import registry, runner
from experiments.demos.new_optimizers import REL_MARGIN

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn")

NAME = "new-optimizers"
PROBLEMS = ("quadratic", "rosenbrock", "digits")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("new_optimizers")
    summary = runner.run_experiment(NAME, out=out, seed=0, quick=True)
    return out / NAME, summary


def test_registered_outside_the_lectures():
    assert registry.get(NAME).available
    assert NAME not in registry.LECTURES


def test_summary_and_files(result):
    out_dir, summary = result
    on_disk = json.loads((out_dir / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert on_disk["status"] == "ok" and on_disk["quick"] is True
    report = (out_dir / "report.md").read_text()
    assert set(on_disk["plots"]) == {"test_functions.png", "digits.png"}
    for name in on_disk["plots"]:
        data = (out_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
        assert f"({name})" in report
    assert "What our numbers show" in report


def test_outcomes_structure_and_verdict_counts(result):
    o = result[1]["outcomes"]
    methods, refs, seeds = o["methods"], o["references"], o["seeds"]
    assert len(seeds) == 5 and len(set(seeds)) == 5
    assert set(refs) == {"Adam", "SGD"} and set(refs) <= set(methods)
    for new in ("Lion", "Adan", "ADOPT", "Yogi", "AdaBound", "QHAdam", "AggMo", "NovoGrad", "MADGRAD",
                "AdEMAMix", "ScheduleFreeAdamW", "Prodigy", "DAdaptAdam", "AdaHessian"):
        assert new in methods
    for p in PROBLEMS:
        assert set(o["per_seed"][p]) == set(methods)
        for m in methods:
            values = o["per_seed"][p][m]
            assert len(values) == len(seeds)
            assert all(v >= 0 or math.isinf(v) for v in values)       # f >= 0 and F - F* >= 0
        for m in methods:
            if m in refs:
                continue
            for ref in refs:
                expected = sum(a < (1 - REL_MARGIN) * b for a, b in zip(o["per_seed"][p][m], o["per_seed"][p][ref]))
                assert o["below_reference_on_seeds"][p][m][ref] == expected
                assert f"below {ref} on {expected} of {len(seeds)} seeds" in o["verdicts"][p][m]
        assert o[f"{p}_best"] in methods
        sgd, adam = o["per_seed"][p]["SGD"], o["per_seed"][p]["Adam"]
        assert o["sgd_below_adam_on_seeds"][p] == sum(a < (1 - REL_MARGIN) * b for a, b in zip(sgd, adam))


def test_every_method_lowers_the_model_objective_on_every_seed(result):
    o = result[1]["outcomes"]
    for m in o["methods"]:
        for start, end in zip(o["digits_initial"][m], o["per_seed"]["digits"][m]):
            assert end < start, f"{m} did not lower the objective: {start} -> {end}"
        assert o["digits_lowered_on_seeds"][m] == len(o["seeds"])
