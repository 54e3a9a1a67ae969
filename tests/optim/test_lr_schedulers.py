"""Learning-rate schedulers: parity with torch.optim.lr_scheduler 2.13, step by step.

Each case builds the same scheduler twice, once from torch on a torch optimizer and
once from optim.lr_scheduler on a stand-in optimizer that has only what a minigrad
optimizer exposes to schedulers (param_groups, defaults, step()). After construction
and after each of 200 steps, every hyperparameter of every group (lr, momentum,
betas, initial_lr, max_lr, ...), get_last_lr() and last_epoch must agree to 1e-12,
and at the end the scheduler state dicts must agree too.
"""
import copy
import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as T

import minigrad as mg
from minigrad.testing.schedulers import FakeOptimizer, run_scheduler_parity
from minigrad.testing.schedulers import assert_values_close as assert_close
from minigrad.testing.schedulers import make_scheduler_pair as make_pair
from optim import lr_scheduler as M

pytestmark = [
    pytest.mark.filterwarnings("ignore:The epoch parameter"),
    pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`"),
]

STEPS = 200
RTOL = 1e-12


# ----------------------------------------------------------------------------------
# the stand-in optimizer, the pair builder and the comparisons: minigrad.testing.schedulers
# ----------------------------------------------------------------------------------

def run_parity(build, kind="sgd", lrs=(0.1, 0.03), steps=STEPS, args=None):
    """Build with both libraries, step both `steps` times, compare after every step.

    build(L, opt) -> scheduler, with L the scheduler module.
    args(i) -> positional arguments of step() number i (metric, epoch, ...).
    """
    return run_scheduler_parity(lambda o: build(T, o), lambda o: build(M, o), kind, lrs, steps, args,
                                rtol=RTOL)


# ----------------------------------------------------------------------------------
# chainable schedules stepped with step()
# ----------------------------------------------------------------------------------

def _decay(epoch):
    return 0.97 ** epoch


def _bumpy(epoch):
    return 1.0 + 0.5 * math.sin(epoch / 5.0)


class Warm:
    """A callable object (its __dict__ goes into state_dict)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


CASES = {
    "lambda": lambda L, o: L.LambdaLR(o, _decay),
    "lambda_per_group": lambda L, o: L.LambdaLR(o, [_decay, Warm(17)]),
    "lambda_lambda": lambda L, o: L.LambdaLR(o, lambda e: 1 / (1 + 0.1 * e)),
    "multiplicative": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.99),
    "multiplicative_per_group": lambda L, o: L.MultiplicativeLR(o, [_bumpy, lambda e: 0.98]),
    "step": lambda L, o: L.StepLR(o, step_size=30),
    "step_7_half": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "step_1": lambda L, o: L.StepLR(o, step_size=1, gamma=0.99),
    "multistep": lambda L, o: L.MultiStepLR(o, milestones=[30, 80, 150]),
    "multistep_repeated": lambda L, o: L.MultiStepLR(o, milestones=[5, 5, 60, 1], gamma=0.7),
    "constant": lambda L, o: L.ConstantLR(o),
    "constant_half_40": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=40),
    "constant_1": lambda L, o: L.ConstantLR(o, factor=1.0, total_iters=3),
    "linear": lambda L, o: L.LinearLR(o),
    "linear_warmup_50": lambda L, o: L.LinearLR(o, start_factor=0.01, total_iters=50),
    "linear_decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                            total_iters=120),
    "linear_to_half": lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.5,
                                              total_iters=33),
    "exponential": lambda L, o: L.ExponentialLR(o, gamma=0.95),
    "exponential_slow": lambda L, o: L.ExponentialLR(o, gamma=0.999),
    "polynomial": lambda L, o: L.PolynomialLR(o),
    "polynomial_sq": lambda L, o: L.PolynomialLR(o, total_iters=150, power=2.0),
    "polynomial_sqrt": lambda L, o: L.PolynomialLR(o, total_iters=199, power=0.5),
    "cosine": lambda L, o: L.CosineAnnealingLR(o, T_max=50),
    "cosine_eta_min": lambda L, o: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
    "cosine_long": lambda L, o: L.CosineAnnealingLR(o, T_max=200, eta_min=0.01),
    "cosine_short": lambda L, o: L.CosineAnnealingLR(o, T_max=1),
    "cosine_7": lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.005),
    "warm_restarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=10),
    "warm_restarts_mult2": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                      eta_min=1e-4),
    "warm_restarts_mult3": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3),
    "sequential_warmup_exp": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=10), L.ExponentialLR(o, 0.97)],
        milestones=[10]),
    "sequential_three": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.25, total_iters=20), L.CosineAnnealingLR(o, T_max=40),
            L.StepLR(o, step_size=15, gamma=0.5)],
        milestones=[20, 100]),
    "sequential_multistep": lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.MultiStepLR(o, [10, 20], 0.5),
            L.PolynomialLR(o, total_iters=60, power=2.0), L.LambdaLR(o, _decay)],
        milestones=[5, 50, 120]),
    "sequential_restarts": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.5, total_iters=4),
            L.CosineAnnealingWarmRestarts(o, T_0=8, T_mult=2)],
        milestones=[4]),
    "chained": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.1, total_iters=10), L.ExponentialLR(o, gamma=0.98)]),
    "chained_three": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, start_factor=0.2, total_iters=25), L.CosineAnnealingLR(o, T_max=60),
         L.MultiStepLR(o, [100, 150], 0.3)], optimizer=o),
    # (torch cannot restart a ChainedScheduler at a milestone: it has no get_lr)
    "chained_in_sequential": lambda L, o: L.SequentialLR(
        o, [L.ChainedScheduler([L.ExponentialLR(o, 0.99), L.StepLR(o, 10, 0.8)]),
            L.LinearLR(o, start_factor=0.5, total_iters=5)],
        milestones=[30]),
}


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_parity_chainable(name, kind):
    run_parity(CASES[name], kind=kind)


def test_parity_single_group():
    run_parity(CASES["cosine_eta_min"], lrs=(0.5,))
    run_parity(CASES["sequential_three"], lrs=(1.0,))


# ----------------------------------------------------------------------------------
# step(epoch): closed forms and fractional epochs
# ----------------------------------------------------------------------------------

def _jumping(i):
    return ((i * 7) % 97,)


def _ascending(i):
    return (i + 1,)


EPOCH_CASES = {
    "step": (lambda L, o: L.StepLR(o, step_size=9, gamma=0.5), _jumping),
    "multistep": (lambda L, o: L.MultiStepLR(o, [10, 10, 40, 70], 0.6), _jumping),
    "constant": (lambda L, o: L.ConstantLR(o, 0.3, 12), _jumping),
    "linear": (lambda L, o: L.LinearLR(o, 0.05, 0.9, 30), _jumping),
    "exponential": (lambda L, o: L.ExponentialLR(o, 0.97), _jumping),
    "polynomial": (lambda L, o: L.PolynomialLR(o, 50, 1.5), _jumping),
    "cosine": (lambda L, o: L.CosineAnnealingLR(o, 25, 0.001), _jumping),
    "lambda": (lambda L, o: L.LambdaLR(o, _decay), _jumping),
    "multiplicative": (lambda L, o: L.MultiplicativeLR(o, lambda e: 0.995), _ascending),
}


@pytest.mark.parametrize("name", sorted(EPOCH_CASES))
def test_parity_step_with_epoch(name):
    build, args = EPOCH_CASES[name]
    run_parity(build, args=args)


def _fractional(iters):
    # the documented SGDR pattern: step(epoch + i / iters) after batch i
    return lambda i: (i // iters + (i % iters) / iters,)


@pytest.mark.parametrize("T_0,T_mult,eta_min,iters", [
    (10, 1, 0.0, 7), (3, 2, 1e-3, 5), (2, 3, 0.0, 4), (5, 2, 0.01, 20), (1, 1, 0.0, 3),
])
def test_parity_warm_restarts_fractional_epochs(T_0, T_mult, eta_min, iters):
    run_parity(lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0, T_mult, eta_min),
               args=_fractional(iters))


def test_parity_warm_restarts_mixed_steps():
    # step() and step(epoch) interleaved, including going back in time
    def args(i):
        if i % 3 == 0:
            return ()
        return (0.37 * i,) if i % 3 == 1 else (max(0.0, 50 - 0.5 * i),)
    run_parity(lambda L, o: L.CosineAnnealingWarmRestarts(o, 4, 2, 1e-4), args=args)


# ----------------------------------------------------------------------------------
# ReduceLROnPlateau
# ----------------------------------------------------------------------------------

def _metric_sequence(seed, mode):
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)
    # decreasing with plateaus, bumps and noise
    loss = 1.0 / (1.0 + 0.05 * t) + 0.03 * np.sin(t / 4.0) + 0.01 * rng.standard_normal(STEPS)
    loss[60:90] = loss[60]                       # an exact plateau
    seq = loss if mode == "min" else 1.0 - loss
    return [float(x) for x in seq]


@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 3},
    {"patience": 0, "factor": 0.5},
    {"mode": "max", "patience": 4, "factor": 0.7},
    {"threshold_mode": "abs", "threshold": 0.01, "patience": 2},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.005, "cooldown": 5},
    {"patience": 2, "cooldown": 3, "factor": 0.5, "min_lr": 1e-3},
    {"patience": 1, "factor": 0.3, "min_lr": [0.01, 0.0]},
    {"patience": 1, "factor": 0.9, "eps": 5e-3},
    {"threshold": 0.1, "patience": 5},
])
@pytest.mark.parametrize("seed", [0, 1])
def test_parity_reduce_on_plateau(kwargs, seed):
    seq = _metric_sequence(seed, kwargs.get("mode", "min"))
    lrs = run_parity(lambda L, o: L.ReduceLROnPlateau(o, **kwargs), args=lambda i: (seq[i],))
    if kwargs.get("eps") is None:
        assert lrs[-1, 0] < lrs[0, 0]            # the schedule did something


def test_reduce_on_plateau_accepts_array_and_tensor_metrics():
    _, fopt = make_pair()
    sched = M.ReduceLROnPlateau(fopt, patience=0)
    sched.step(np.float64(1.0))
    sched.step(mg.tensor(2.0))
    sched.step(np.array(3.0))
    assert fopt.param_groups[0]["lr"] == pytest.approx(0.001)


# ----------------------------------------------------------------------------------
# CyclicLR and OneCycleLR (momentum / beta1 cycling)
# ----------------------------------------------------------------------------------

class HalfSine:
    def __init__(self):
        self.period = 4.0

    def __call__(self, x):
        return 0.5 * (1 + math.sin(x * math.pi / self.period))


CYCLIC_CASES = [
    ("sgd", dict(base_lr=0.01, max_lr=0.1, step_size_up=10)),
    ("sgd", dict(base_lr=0.01, max_lr=0.1, step_size_up=10, step_size_down=25)),
    ("adam", dict(base_lr=1e-4, max_lr=1e-2, step_size_up=7, mode="triangular2")),
    ("adam", dict(base_lr=[1e-4, 1e-3], max_lr=[1e-2, 5e-2], step_size_up=13,
                  mode="exp_range", gamma=0.99)),
    ("sgd", dict(base_lr=0.001, max_lr=0.1, step_size_up=6, step_size_down=3,
                 scale_fn=HalfSine(), scale_mode="cycle")),
    ("adam", dict(base_lr=0.001, max_lr=0.1, step_size_up=20,
                  scale_fn=lambda x: 1 / (1 + 0.01 * x), scale_mode="iterations",
                  base_momentum=[0.85, 0.8], max_momentum=[0.95, 0.9])),
    ("adagrad", dict(base_lr=0.01, max_lr=0.2, step_size_up=15, cycle_momentum=False)),
    ("sgd", dict(base_lr=0.02, max_lr=0.3, step_size_up=1, step_size_down=1)),
]


@pytest.mark.parametrize("kind,kwargs", CYCLIC_CASES)
def test_parity_cyclic(kind, kwargs):
    run_parity(lambda L, o: L.CyclicLR(o, **kwargs), kind=kind)


ONECYCLE_CASES = [
    ("sgd", dict(max_lr=0.1, total_steps=STEPS)),
    ("adam", dict(max_lr=0.01, total_steps=STEPS)),
    ("adam", dict(max_lr=[0.01, 0.05], epochs=20, steps_per_epoch=10,
                  anneal_strategy="linear")),
    ("adam", dict(max_lr=0.02, total_steps=STEPS, three_phase=True)),
    ("sgd", dict(max_lr=0.5, total_steps=STEPS, three_phase=True, pct_start=0.25,
                 anneal_strategy="linear", base_momentum=0.8, max_momentum=[0.9, 0.99])),
    ("sgd", dict(max_lr=0.1, total_steps=250, pct_start=0.5, div_factor=10.0,
                 final_div_factor=100.0)),
    ("adagrad", dict(max_lr=0.1, total_steps=STEPS, cycle_momentum=False)),
    ("adam", dict(max_lr=0.003, total_steps=STEPS, pct_start=0.1, three_phase=True,
                  cycle_momentum=False)),
]


@pytest.mark.parametrize("kind,kwargs", ONECYCLE_CASES)
def test_parity_one_cycle(kind, kwargs):
    lrs = run_parity(lambda L, o: L.OneCycleLR(o, **kwargs), kind=kind)
    assert lrs.max() <= max(np.atleast_1d(kwargs["max_lr"])) * (1 + 1e-12)


def test_one_cycle_momentum_cycles_beta1_and_keeps_beta2():
    _, fopt = make_pair("adam")
    sched = M.OneCycleLR(fopt, max_lr=0.01, total_steps=100)
    beta1 = []
    for _ in range(99):                      # step 99 = total_steps - 1 ends the cycle
        sched.step()
        beta1.append(fopt.param_groups[0]["betas"][0])
        assert fopt.param_groups[0]["betas"][1] == 0.999
    assert min(beta1) == pytest.approx(0.85, abs=1e-3)
    assert beta1[-1] == pytest.approx(0.95, rel=1e-12)
    assert fopt.param_groups[0]["lr"] == pytest.approx(0.01 / 25 / 1e4, rel=1e-12)


def test_errors_match_torch():
    topt, fopt = make_pair("adagrad")
    for L, o in ((T, topt), (M, fopt)):
        with pytest.raises(ValueError, match="momentum or beta1"):
            L.OneCycleLR(o, max_lr=0.1, total_steps=10)
        with pytest.raises(ValueError, match="momentum or beta1"):
            L.CyclicLR(o, 0.01, 0.1)
    topt, fopt = make_pair("sgd")
    for L, o in ((T, topt), (M, fopt)):
        sched = L.OneCycleLR(o, max_lr=0.1, total_steps=5)
        for _ in range(5):
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 6 times"):
            sched.step()
    for L in (T, M):
        topt, fopt = make_pair("sgd")
        o = topt if L is T else fopt
        with pytest.raises(KeyError, match="initial_lr"):
            L.StepLR(o, 3, last_epoch=4)
        with pytest.raises(ValueError):
            L.ReduceLROnPlateau(o, factor=1.0)
        with pytest.raises(ValueError):
            L.SequentialLR(o, [L.StepLR(o, 3), L.StepLR(o, 4)], milestones=[1, 2])
        with pytest.raises(ValueError):
            L.ChainedScheduler([L.StepLR(o, 3), L.ReduceLROnPlateau(o)])
        with pytest.raises(ValueError):
            L.CosineAnnealingWarmRestarts(o, T_0=0)
        with pytest.raises(ValueError):
            L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1)


def test_rejects_objects_without_param_groups():
    with pytest.raises(TypeError, match="not an optimizer"):
        M.StepLR(object(), 3)
    with pytest.raises(TypeError, match="not an optimizer"):
        M.ReduceLROnPlateau(FakeOptimizer(param_groups=[1, 2], defaults={}))


def test_cycle_momentum_without_defaults_uses_group_keys():
    opt = type("Bare", (), {})()
    opt.param_groups = [{"lr": 0.1, "betas": (0.9, 0.99)}]
    M.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)


# ----------------------------------------------------------------------------------
# resuming with last_epoch
# ----------------------------------------------------------------------------------

def _resumed(make_first, make_second, k):
    def build(L, o):
        first = make_first(L, o)
        for _ in range(k):
            first.step()
        return make_second(L, o, k)
    return build


@pytest.mark.parametrize("second", [
    lambda L, o, k: L.StepLR(o, 7, 0.5, last_epoch=k),
    lambda L, o, k: L.CosineAnnealingLR(o, 20, 0.001, last_epoch=k),
    lambda L, o, k: L.ExponentialLR(o, 0.95, last_epoch=k),
    lambda L, o, k: L.LinearLR(o, 0.5, 1.0, 30, last_epoch=k),
    lambda L, o, k: L.CosineAnnealingWarmRestarts(o, 6, 2, last_epoch=k),
    lambda L, o, k: L.LambdaLR(o, _decay, last_epoch=k),
])
def test_parity_resume_with_last_epoch(second):
    run_parity(_resumed(lambda L, o: L.ExponentialLR(o, 0.9), second, 9), steps=60)


# ----------------------------------------------------------------------------------
# state_dict round trips
# ----------------------------------------------------------------------------------

ROUND_TRIP = {
    "lambda_object": (CASES["lambda_per_group"], "sgd", None),
    "multiplicative": (CASES["multiplicative"], "sgd", None),
    "step": (CASES["step_7_half"], "sgd", None),
    "multistep": (CASES["multistep_repeated"], "sgd", None),
    "linear": (CASES["linear_warmup_50"], "sgd", None),
    "polynomial": (CASES["polynomial_sq"], "sgd", None),
    "cosine": (CASES["cosine_7"], "sgd", None),
    "warm_restarts": (CASES["warm_restarts_mult2"], "sgd", None),
    "warm_restarts_fractional": (lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, 2),
                                 "sgd", _fractional(6)),
    "sequential": (CASES["sequential_multistep"], "sgd", None),
    "chained": (CASES["chained_three"], "sgd", None),
    "plateau": (lambda L, o: L.ReduceLROnPlateau(o, patience=2, cooldown=1, factor=0.5),
                "sgd", lambda i: (_metric_sequence(3, "min")[i],)),
    "cyclic": (lambda L, o: L.CyclicLR(o, 0.01, 0.1, 5, mode="exp_range", gamma=0.995),
               "adam", None),
    "cyclic_object_fn": (lambda L, o: L.CyclicLR(o, 0.01, 0.1, 5, scale_fn=HalfSine()),
                         "sgd", None),
    "one_cycle": (lambda L, o: L.OneCycleLR(o, 0.1, total_steps=120, three_phase=True),
                  "adam", None),
    "hyperbolic": (lambda L, o: M.HyperbolicLR(o, k=0.1), "sgd", None),
    "transformer": (lambda L, o: M.TransformerWarmupLR(o, d_model=32, warmup_steps=40),
                    "adam", None),
    "linear_warmup": (lambda L, o: M.LinearWarmupLR(o, beta2=0.95), "adam", None),
}


def _drive(sched, opt, args, start, n):
    lrs = []
    for i in range(start, start + n):
        opt.step()
        sched.step(*(args(i) if args else ()))
        lrs.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
    return lrs


@pytest.mark.parametrize("via_file", [False, True])
@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_state_dict_round_trip(name, via_file, tmp_path):
    build, kind, args = ROUND_TRIP[name]
    _, opt = make_pair(kind)
    sched = build(M, opt)
    _drive(sched, opt, args, 0, 37)
    saved_groups = copy.deepcopy(opt.param_groups)
    state = sched.state_dict()
    if via_file:  # the checkpoint format holds no code: only numbers, strings, containers
        mg.save({"scheduler": state}, tmp_path / "sched.ckpt")
        state = mg.load(tmp_path / "sched.ckpt")["scheduler"]
    else:
        state = copy.deepcopy(state)
    expected = _drive(sched, opt, args, 37, 50)

    _, opt2 = make_pair(kind)
    sched2 = build(M, opt2)                  # a fresh run, then restore both states
    opt2.param_groups[:] = copy.deepcopy(saved_groups)
    sched2.load_state_dict(state)
    assert _drive(sched2, opt2, args, 37, 50) == expected


def test_lambda_state_dict_saves_objects_not_functions():
    _, opt = make_pair()
    warm = Warm(17)
    sched = M.LambdaLR(opt, [_decay, warm])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"n": 17}]
    warm.n = 3
    sched.load_state_dict(state)
    assert warm.n == 17 and state["lr_lambdas"] == [None, {"n": 17}]


def test_state_dict_excludes_optimizer():
    _, opt = make_pair()
    for sched in (M.StepLR(opt, 3), M.ReduceLROnPlateau(opt),
                  M.ChainedScheduler([M.ExponentialLR(opt, 0.9)])):
        assert "optimizer" not in sched.state_dict()


def test_legacy_alias():
    assert issubclass(M._LRScheduler, M.LRScheduler)
    assert M._LRScheduler.__name__ == "_LRScheduler"


# ----------------------------------------------------------------------------------
# the lectures' schedules, against their formulas written out
# ----------------------------------------------------------------------------------

def _sequence(sched, opt, n=STEPS):
    out = [[g["lr"] for g in opt.param_groups]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)


@pytest.mark.parametrize("k", [0.0, 0.01, 0.5, 3.0])
def test_hyperbolic_formula(k):
    _, opt = make_pair(lrs=(0.1, 0.03))
    got = _sequence(M.HyperbolicLR(opt, k=k), opt)
    t = np.arange(STEPS + 1)[:, None]
    eta0 = np.array([0.1, 0.03])[None, :]
    np.testing.assert_allclose(got, eta0 / (1 + k * t), rtol=1e-12)


def test_hyperbolic_closed_form_and_errors():
    _, opt = make_pair(lrs=(0.2,))
    sched = M.HyperbolicLR(opt, k=0.25)
    sched.step(12)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 / 4, rel=1e-12)
    with pytest.raises(ValueError):
        M.HyperbolicLR(opt, k=-1.0)


@pytest.mark.parametrize("d_model,warmup,factor", [
    (512, 4000, 1.0), (32, 50, 1.0), (32, 50, 2.0), (128, 1, 0.5), (64, 199, 1.0),
])
def test_transformer_warmup_formula(d_model, warmup, factor):
    _, opt = make_pair("adam", lrs=(0.0, 123.0))          # the optimizer's lr is unused
    got = _sequence(M.TransformerWarmupLR(opt, d_model, warmup, factor), opt)
    want = [factor * d_model ** -0.5 * min(s ** -0.5, s * warmup ** -1.5)
            for s in range(1, STEPS + 2)]               # s starts at 1
    np.testing.assert_allclose(got, np.array([want, want]).T, rtol=1e-12)
    if warmup <= STEPS:                                   # peak at s = w
        assert got[:, 0].max() == pytest.approx(factor * (d_model * warmup) ** -0.5, rel=1e-12)
        assert int(np.argmax(got[:, 0])) + 1 == warmup


def test_transformer_warmup_factor_none_scales_group_lrs():
    _, opt = make_pair("adam", lrs=(2.0, 0.5))
    got = _sequence(M.NoamLR(opt, d_model=16, warmup_steps=10, factor=None), opt, n=30)
    base = np.array([16 ** -0.5 * min(s ** -0.5, s * 10 ** -1.5) for s in range(1, 32)])
    np.testing.assert_allclose(got, np.outer(base, [2.0, 0.5]), rtol=1e-12)


def test_untuned_linear_warmup_formula():
    # beta2 read from each group's betas: 0.98 -> tau = 2/(1-0.98) = 100, 0.99 -> 200
    _, opt = make_pair("adam", lrs=(0.1, 0.001))
    opt.param_groups[0]["betas"] = (0.9, 0.98)
    opt.param_groups[1]["betas"] = (0.9, 0.99)
    sched = M.LinearWarmupLR(opt)
    assert sched.warmup_periods == [100, 200]
    got = _sequence(sched, opt, n=250)
    t = np.arange(1, 252)                                 # t starts at 1
    want = np.stack([0.1 * np.minimum(1, t / 100), 0.001 * np.minimum(1, t / 200)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the paper's factor min(1, (1 - beta2) t / 2) is the same schedule here
    paper = np.stack([0.1 * np.minimum(1, (1 - 0.98) * t / 2),
                      0.001 * np.minimum(1, (1 - 0.99) * t / 2)], axis=1)
    np.testing.assert_allclose(got, paper, rtol=1e-12)


@pytest.mark.parametrize("beta2,tau", [
    (0.9, 20), (0.95, 40), (0.98, 100), (0.99, 200), (0.999, 2000), (0.997, 667),
    (0.9999, 20000), (0.5, 4), (0.0, 2),
])
def test_untuned_warmup_period_is_ceil_of_2_over_1_minus_beta2(beta2, tau):
    # float 2/(1-0.9) is 20.000000000000004: a naive ceil would give 21
    _, opt = make_pair("adam", lrs=(1.0,))
    assert M.LinearWarmupLR(opt, beta2=beta2).warmup_periods == [tau]


def test_linear_warmup_non_integer_period():
    beta2 = 0.997                                          # 2/(1 - beta2) = 666.67
    _, opt = make_pair("adam", lrs=(1.0,))
    opt.param_groups[0]["betas"] = (0.9, beta2)
    got = _sequence(M.LinearWarmupLR(opt), opt, n=700)[:, 0]
    t = np.arange(1, 702)
    np.testing.assert_allclose(got, np.minimum(1, t / 667), rtol=1e-12)

    _, opt = make_pair("adam", lrs=(1.0,))
    opt.param_groups[0]["betas"] = (0.9, beta2)
    exact = _sequence(M.LinearWarmupLR(opt, round_up=False), opt, n=700)[:, 0]
    paper = np.minimum(1, (1 - beta2) / 2 * t)
    lecture = np.minimum(1, np.maximum((1 - beta2) / 2 * t, t / 667))  # t_warmup = ceil
    np.testing.assert_allclose(exact, paper, rtol=1e-12)
    np.testing.assert_allclose(exact, lecture, rtol=1e-12)


def test_linear_warmup_explicit_steps_and_errors():
    _, opt = make_pair("sgd", lrs=(0.4, 0.2))
    got = _sequence(M.LinearWarmupLR(opt, warmup_steps=[4, 8]), opt, n=10)
    t = np.arange(1, 12)
    np.testing.assert_allclose(got, np.stack([0.4 * np.minimum(1, t / 4),
                                              0.2 * np.minimum(1, t / 8)], 1), rtol=1e-12)
    _, opt = make_pair("sgd")
    with pytest.raises(ValueError, match="betas"):
        M.LinearWarmupLR(opt)                              # SGD has no beta2
    with pytest.raises(ValueError):
        M.LinearWarmupLR(opt, beta2=1.0)


def test_lecture_schedules_compose_with_torch_style_ones():
    # warmup then cosine decay, through SequentialLR, matches the formulas
    _, opt = make_pair("adam", lrs=(0.01,))
    warm = M.LinearWarmupLR(opt, warmup_steps=20)
    cos = M.CosineAnnealingLR(opt, T_max=100)
    got = _sequence(M.SequentialLR(opt, [warm, cos], milestones=[20]), opt, n=120)[:, 0]
    t = np.arange(121)
    want = np.where(t < 20, 0.01 * (t + 1) / 20,
                    0.01 * (1 + np.cos(np.pi * (t - 20) / 100)) / 2)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------------------------------
# with the project's own optimizers, once they exist
# ----------------------------------------------------------------------------------

END_TO_END = [
    ("SGD", {"lr": 0.1, "momentum": 0.9},
     lambda L, o: L.CyclicLR(o, 0.01, 0.2, step_size_up=7, mode="triangular2")),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True},
     lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=40, three_phase=True)),
    ("Adam", {"lr": 0.01},
     lambda L, o: L.OneCycleLR(o, max_lr=0.05, total_steps=40)),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1},
     lambda L, o: L.CyclicLR(o, 1e-3, 1e-2, step_size_up=5, mode="exp_range", gamma=0.99)),
    ("SGD", {"lr": 0.1, "momentum": 0.5},
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=5),
                                     L.CosineAnnealingLR(o, T_max=20)], milestones=[5])),
]


@pytest.mark.parametrize("name,cfg,build", END_TO_END)
def test_end_to_end_with_project_optimizers(name, cfg, build):
    """The project's optimizers, scheduled, follow torch's parameter trajectory."""
    import optim
    Opt = getattr(optim, name, None)
    if Opt is None:
        pytest.skip(f"optim.{name} is not written yet")
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in [(3,), (2, 2)]]
    ours = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt_m = Opt([{"params": [ours[0]]}, {"params": [ours[1]], "lr": cfg["lr"] / 2}], **cfg)
    opt_t = getattr(torch.optim, name)(
        [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": cfg["lr"] / 2}],
        foreach=False, **cfg)
    sched_m, sched_t = build(M, opt_m), build(T, opt_t)
    for _ in range(40):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = mg.Tensor(g.copy()), torch.tensor(g.copy())
        opt_m.step()
        opt_t.step()
        sched_m.step()
        sched_t.step()
        assert_close(sched_t.get_last_lr(), sched_m.get_last_lr(), "lr")
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-14)
