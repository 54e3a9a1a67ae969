"""Every study method steps, and resumes from a saved state exactly where it stopped."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from experiments.study.methods import METHODS, Method
from minigrad import nn

X = np.random.default_rng(0).normal(size=(32, 5)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(32, 3)).astype(np.float32)
SETTINGS = {"lr": 0.05, "steps_per_epoch": 4, "epochs": 3, "swa_start": 1}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1, self.drop, self.lin2 = nn.Linear(5, 8), nn.Dropout(0.2), nn.Linear(8, 3)

    def forward(self, x):
        return self.lin2(self.drop(F.relu(self.lin1(x))))


def _model():
    mg.manual_seed(3)
    return Net()


def _epoch(method, model, epoch):
    order = np.random.default_rng([7, epoch]).permutation(len(X))
    batches = np.array_split(order, SETTINGS["steps_per_epoch"])
    loss = lambda idx: F.mse_loss(model(mg.tensor(X[idx])), mg.tensor(Y[idx]))  # noqa: E731

    def full_loss(accumulate):
        for idx in batches:
            accumulate(loss(idx) * (len(idx) / len(X)))

    method.begin_epoch(full_loss)
    for idx in batches:
        method.step(lambda idx=idx: loss(idx))
    method.end_epoch()


def _weights(method):
    return {k: v.numpy().copy() for k, v in method.eval_model.state_dict().items()}


@pytest.mark.parametrize("name", METHODS)
def test_resume_from_a_saved_state_is_exact(name, tmp_path):
    model = _model()
    mg.manual_seed(11)
    m = Method(name, model, **SETTINGS)
    start = _weights(m)
    for e in range(3):
        _epoch(m, model, e)
    straight = _weights(m)
    assert any(not np.array_equal(start[k], straight[k]) for k in start), f"{name} did not move"

    model = _model()
    mg.manual_seed(11)
    m = Method(name, model, **SETTINGS)
    _epoch(m, model, 0)
    mg.save({"method": m.state_dict(), "rng": mg.random.get_rng_state()}, tmp_path / "ck.ckpt")
    ck = mg.load(tmp_path / "ck.ckpt")
    model = _model()
    m = Method(name, model, **SETTINGS)
    m.load_state_dict(ck["method"])
    mg.random.set_rng_state(ck["rng"])
    for e in (1, 2):
        _epoch(m, model, e)
    resumed = _weights(m)
    for k in straight:
        assert np.array_equal(straight[k], resumed[k]), (name, k)


def test_swa_evaluates_the_average_and_schedules_follow_the_settings():
    model = _model()
    m = Method("SWA", model, **SETTINGS)
    assert m.lr == pytest.approx(0.0074 - (0.0074 - 0.001) / 4)   # SWACyclicLR's first rate, cycle of 4 steps
    _epoch(m, model, 0)
    assert m.eval_model is model                                     # no average before swa_start
    _epoch(m, model, 1)
    assert m.eval_model is m.swa_model.module and int(m.swa_model.n_averaged.item()) == 1
    adam = Method("Adam", _model(), **SETTINGS)
    _epoch(adam, adam.model, 0)
    assert adam.lr == pytest.approx(0.05 * 0.95)
    with pytest.raises(ValueError, match="unknown method 'Nadam'"):
        Method("Nadam", _model(), **SETTINGS)


def test_local_trials_draw_other_batches_and_masks_than_the_global_model_saw():
    """A local trial continues a global model; replaying that model's data order and dropout
    masks would show it what it memorised (its training loss would read too low)."""
    from experiments.study import method_naming
    from experiments.study.profiles import get_profile
    from experiments.study.trial import random_streams

    specs = method_naming.trial_specs(get_profile("smoke"), [0, 1], method_naming.select_methods(None))
    for s in specs:
        assert s.stream == (1 if s.phase == "local" else 0)
    glob = next(s for s in specs if s.phase == "global" and s.seed == 0)
    loc = next(s for s in specs if s.phase == "local" and s.seed == 0)
    other_seed = next(s for s in specs if s.phase == "global" and s.seed == 1)
    (rg, dg), (rl, dl), (_, do) = random_streams(glob), random_streams(loc), random_streams(other_seed)
    assert dg != dl and dg != do
    # stream 0 is the one every from-scratch trial of the seed shares (and the one of earlier results)
    assert dg == 17 and np.array_equal(rg.permutation(50), np.random.default_rng([0, 0x5EED]).permutation(50))
    assert not np.array_equal(np.random.default_rng([0, 0x5EED]).permutation(50), rl.permutation(50))
    # the stream survives the trip through a Dask worker (specs travel as dicts)
    assert type(loc).from_dict(loc.to_dict()) == loc and type(loc).from_dict(loc.to_dict()).stream == 1
