"""Every registered experiment runs with ``device="cuda"`` (the reduced, quick setting).

The experiments build their tensors and models on the device they are given;
each must finish with status "ok" and write its summary, as on the CPU.
"""
import pytest
from gpu_utils import GPU

from experiments import registry, runner

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("name", sorted(registry.names()))
def test_experiment_runs_on_the_gpu(name, tmp_path):
    summary = runner.run_experiment(name, out=tmp_path, seed=0, device=GPU, quick=True)
    assert summary["status"] == "ok", summary.get("error", summary)
    assert summary["device"] == GPU
    assert (tmp_path / name / "summary.json").exists()
