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


def test_svrg_replays_the_dropout_masks_on_the_device():
    """SVRG evaluates a batch twice; both evaluations must see the same dropout masks, also on a GPU
    (whose generator state cannot be saved, so it is reseeded)."""
    import minigrad as mg
    import minigrad.functional as F
    from experiments.study.methods import Method
    from minigrad import nn

    mg.manual_seed(0)
    model = nn.Linear(4, 4).to(GPU)
    method = Method("SVRG", model, lr=0.01, steps_per_epoch=1, epochs=1)
    replay = method._replay_masks()
    x = mg.ones(256, device=GPU)
    replay()
    first = F.dropout(x, 0.5, True).numpy()
    replay()
    assert (F.dropout(x, 0.5, True).numpy() == first).all()


def test_a_resumed_study_trial_draws_the_same_masks_on_the_device(tmp_path):
    """A trial stopped after one epoch and resumed ends as an uninterrupted one (the GPU generator is
    reseeded per epoch from the trial's seed, stream and epoch)."""
    from experiments.study import translation as tr
    from experiments.study.trial import TrialSpec, run_trial

    pairs = tmp_path / "fra.txt"
    words = [("the cat", "le chat"), ("the dog", "le chien"), ("the man", "l'homme"), ("the girl", "la fille")]
    verbs = [("sees", "voit"), ("likes", "aime"), ("takes", "prend")]
    pairs.write_text("".join(f"{e} {v} {o}.\t{f} {w} {p}.\tCC-BY\n" for e, f in words for v, w in verbs
                             for o, p in words), encoding="utf-8")
    profile = tr.get_profile("smoke")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        tr.prepare(tmp_path / name, f"tatoeba:{pairs}", profile)
    spec = next(s for s in tr.trial_specs(profile, [0], tr.select_methods("main:Adam")) if s.method == "Adam")
    spec = TrialSpec(spec.study, spec.phase, spec.method, spec.seed, dict(spec.config, device=GPU),
                     spec.depends_on, spec.stream)
    whole = run_trial(spec, tmp_path / "a", tr.make_trainer)
    assert run_trial(spec, tmp_path / "b", tr.make_trainer, stop_after_epochs=1)["status"] == "stopped"
    resumed = run_trial(spec, tmp_path / "b", tr.make_trainer)
    assert resumed["curves"] == whole["curves"]
    assert {k: v for k, v in resumed["metrics"].items() if k != "time_s"} == \
        {k: v for k, v in whole["metrics"].items() if k != "time_s"}
