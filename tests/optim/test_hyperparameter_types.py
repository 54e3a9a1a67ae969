"""A hyperparameter of the wrong type raises TypeError naming the class, the argument and the type.

Every optimizer of ``optim.__all__`` and every scheduler of ``optim.lr_scheduler``:
the hyperparameters are found with ``inspect.signature`` and each gets wrong-typed
values chosen from its annotation (a str or a bool for a number, a str or an int
for a flag, an int for an option, a str element or the wrong length for a tuple,
...), plus a table of explicit cases. The error must be a ``TypeError`` (where
PyTorch raises ``ValueError`` for a wrong type, the error is both) whose message
starts with the class name and names the argument and the type received. The
defaults still construct, and NumPy scalars, ints for floats and Tensor learning
rates are accepted.
"""
import inspect

import numpy as np
import pytest

import minigrad as mg
import optim
from optim import lr_scheduler as L
from optim.checks import HyperparameterTypeError, HyperparameterTypeValueError

# ---------------------------------------------------------------------------
# the classes and how to build them
# ---------------------------------------------------------------------------

OPTIMIZERS = [name for name in optim.__all__
              if isinstance(getattr(optim, name), type) and issubclass(getattr(optim, name), optim.Optimizer)
              and getattr(optim, name) is not optim.Optimizer]

SCHEDULERS = sorted({getattr(L, name).__name__ for name in L.__all__
                     if getattr(L, name) is not L.LRScheduler})

# arguments every construction needs (no default, or a default that cannot run alone)
REQUIRED = {
    "SGDBB": {"inner_steps": 4},
    "QHM": {"lr": 0.1, "momentum": 0.9, "nu": 0.7},
    "LambdaLR": {"lr_lambda": lambda t: 1.0},
    "MultiplicativeLR": {"lr_lambda": lambda t: 1.0},
    "StepLR": {"step_size": 2},
    "MultiStepLR": {"milestones": [2, 4]},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 10},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1},
    "CosineAnnealingWarmRestarts": {"T_0": 5},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 10},
    "HyperbolicLR": {"k": 0.5},
    "TransformerWarmupLR": {"d_model": 16},
    "SequentialLR": {"milestones": [2]},
}

# arguments that are not hyperparameters (what is optimized or scheduled)
NOT_HYPERPARAMETERS = {"params", "optimizer", "base_optimizer", "base_optimizer_class"}

# wrong values the annotation does not give, or instead of what it gives
EXPLICIT = {
    ("CyclicLR", "max_lr"): ["0.1", True, None, [0.1, "x"]],
    ("OneCycleLR", "max_lr"): ["0.1", True, None],
    ("CyclicLR", "base_lr"): ["0.1", True, [True]],
    ("Ranger", "radam_trace"): [3, 0.5],
    ("Ranger21", "agc_clipping"): ["0.01", True],                # None turns clipping off
    ("SequentialLR", "schedulers"): [3],
    ("ChainedScheduler", "schedulers"): [3],
    ("MultiStepLR", "milestones"): [3, ["2"], [2.5]],
    ("SequentialLR", "milestones"): [3, ["2"], (2.5,)],
    ("LambdaLR", "lr_lambda"): [3, "f"],
    ("MultiplicativeLR", "lr_lambda"): [3, "f"],
    ("ReduceLROnPlateau", "min_lr"): ["0", True, [None]],
    ("LinearWarmupLR", "warmup_steps"): ["5", True, [4, "8"]],
    ("AggMo", "betas"): ["ab", 0.9, ("x", 0.5), (0.0, 0.5, True), [0.9, None]],   # any number of betas
    ("ADOPT", "clip_lambda"): [3, "f"],                          # Callable[[int], float] | None
}

# int-annotated arguments whose formula takes any real number (as in PyTorch)
FRACTIONAL = {"T_max", "step_size_up", "step_size_down", "warmup_steps"}


def _params():
    return [mg.Tensor(np.zeros((2, 2)), requires_grad=True)]


def build_optimizer(name, **kwargs):
    params = _params()
    kwargs = {**REQUIRED.get(name, {}), **kwargs}
    if name == "Lookahead":
        return optim.Lookahead(optim.SGD(params, lr=0.1), **kwargs)
    if name == "SAM":
        return optim.SAM(params, optim.SGD, lr=0.1, **kwargs)
    return getattr(optim, name)(params, **kwargs)


def build_scheduler(name, **kwargs):
    opt = optim.Adam(_params(), lr=0.1)         # has betas, for LinearWarmupLR and the cyclic ones
    kwargs = {**REQUIRED.get(name, {}), **kwargs}
    if name == "SequentialLR":
        kwargs.setdefault("schedulers", [L.ConstantLR(opt), L.ExponentialLR(opt, gamma=0.9)])
    if name == "ChainedScheduler":
        kwargs.setdefault("schedulers", [L.ConstantLR(opt), L.ExponentialLR(opt, gamma=0.9)])
        return L.ChainedScheduler(**kwargs)
    return getattr(L, name)(opt, **kwargs)


# ---------------------------------------------------------------------------
# wrong values from the signature
# ---------------------------------------------------------------------------

def _kinds(annotation) -> set:
    text = str(annotation).replace(" ", "")
    if text.startswith("tuple["):
        return {"tuple"}
    return set(text.split("|"))


def wrong_values(owner, parameter):
    """Values of the wrong type for one argument, from its annotation."""
    if (owner, parameter.name) in EXPLICIT:
        return EXPLICIT[(owner, parameter.name)]
    kinds = _kinds(parameter.annotation)
    optional = "None" in kinds
    out = []
    if "tuple" in kinds:
        size = str(parameter.annotation).count(",") + 1
        out += ["ab", 0.9, (0.5,) * (size + 1), ("x",) + (0.5,) * (size - 1), (0.5,) * (size - 1) + (True,)]
    elif "bool" in kinds and "Iterable[str]" in kinds:             # trace (None is off)
        return [3, 0.5]
    elif kinds & {"float", "int"}:
        out += ["0.5", True]
        if "int" in kinds and "float" not in kinds and parameter.name not in FRACTIONAL:
            out += [2.5]
    elif "bool" in kinds:
        out += ["yes", 1]
    elif "str" in kinds:
        out += [3]
    elif "Callable" in kinds:
        out += [3]
    elif "Iterable[str]" in kinds:
        out += [3, ["exp_avg", 1]]
    if out and not optional and parameter.default is not None and "tuple" not in kinds:
        out.append(None)
    return out


def _cases(names, kind):
    build = build_optimizer if kind == "optimizer" else build_scheduler
    cases = []
    for name in names:
        cls = getattr(optim, name) if kind == "optimizer" else getattr(L, name)
        for parameter in inspect.signature(cls).parameters.values():
            if parameter.name in NOT_HYPERPARAMETERS or parameter.kind in (
                    parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                continue
            values = wrong_values(name, parameter)
            assert values or parameter.annotation == "Any", (name, parameter.name, parameter.annotation)
            for value in values:
                cases.append(pytest.param(build, name, parameter.name, value,
                                          id=f"{name}-{parameter.name}={value!r}"))
    return cases


CASES = _cases(OPTIMIZERS, "optimizer") + _cases(SCHEDULERS, "scheduler")


def test_every_class_is_covered():
    covered = {case.values[1] for case in CASES}
    assert covered == set(OPTIMIZERS) | set(SCHEDULERS)
    assert len(OPTIMIZERS) >= 28 and len(SCHEDULERS) >= 18


@pytest.mark.parametrize("build, name, argument, value", CASES)
def test_wrong_type_is_named(build, name, argument, value):
    with pytest.raises(TypeError) as err:
        build(name, **{argument: value})
    message = str(err.value)
    assert isinstance(err.value, HyperparameterTypeError), message
    assert message.startswith(f"{name}: "), message
    assert argument in message, message
    assert type(value).__name__ in message or any(
        type(item).__name__ in message for item in (value if isinstance(value, (list, tuple)) else ())), message


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_defaults_construct(name):
    build_optimizer(name)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_defaults_construct(name):
    build_scheduler(name)


# ---------------------------------------------------------------------------
# what is accepted
# ---------------------------------------------------------------------------

def _float_defaults(cls):
    for parameter in inspect.signature(cls).parameters.values():
        kinds = _kinds(parameter.annotation)
        if "float" in kinds and isinstance(parameter.default, float):
            yield parameter.name, parameter.default


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_numpy_scalars_and_ints_pass_for_floats(name):
    for argument, default in _float_defaults(getattr(optim, name)):
        build_optimizer(name, **{argument: np.float64(default)})
        build_optimizer(name, **{argument: np.float32(default)})
        if np.isfinite(default) and default == int(default):      # growth_rate=inf has no int
            build_optimizer(name, **{argument: int(default)})
            build_optimizer(name, **{argument: np.int64(int(default))})


@pytest.mark.parametrize("name", SCHEDULERS)
def test_numpy_scalars_pass_for_scheduler_floats(name):
    for argument, default in _float_defaults(getattr(L, name)):
        if name == "OneCycleLR" and argument == "pct_start":
            continue                                    # a float only, as in PyTorch
        build_scheduler(name, **{argument: np.float64(default)})


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adafactor", "Muon", "LAMB"])
def test_tensor_lr_is_accepted(name):
    opt = build_optimizer(name, lr=mg.Tensor(np.array(0.05)))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="1-element"):
        build_optimizer(name, lr=mg.Tensor(np.array([0.05, 0.1])))


def test_tensor_betas_and_int_betas_are_accepted():
    opt = optim.Adam(_params(), betas=(mg.Tensor(np.array(0.8)), 0))
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.8), 0.0)


def test_messages_read_as_documented():
    with pytest.raises(TypeError) as err:
        optim.Adam(_params(), lr="0.01")
    assert str(err.value) == "Adam: lr must be a real number (float or int), got str '0.01'"
    with pytest.raises(TypeError) as err:
        optim.AdamW(_params(), eps=True)
    assert str(err.value) == "AdamW: eps must be a real number (float or int), got bool True"
    with pytest.raises(TypeError) as err:
        optim.SGD(_params(), lr=0.1, nesterov="no")
    assert str(err.value) == "SGD: nesterov must be a bool (True or False), got str 'no'"
    with pytest.raises(TypeError) as err:            # the wrapper and the optimizer it builds
        optim.SAM(_params(), optim.SGD, lr="0.1")
    assert str(err.value) == "SAM: SGD: lr must be a real number (float or int), got str '0.1'"
    with pytest.raises(TypeError) as err:
        L.StepLR(optim.SGD(_params(), lr=0.1), step_size=2, gamma="0.5")
    assert str(err.value) == "StepLR: gamma must be a real number (float or int), got str '0.5'"


def test_errors_where_pytorch_raises_value_error_are_both():
    opt = optim.SGD(_params(), lr=0.1)
    for call in (lambda: L.CosineAnnealingWarmRestarts(opt, T_0=2.5),
                 lambda: L.CosineAnnealingWarmRestarts(opt, T_0=5, eta_min="0"),
                 lambda: L.OneCycleLR(opt, max_lr=0.1, total_steps="10"),
                 lambda: optim.Lookahead(opt, k=2.5),
                 lambda: optim.Adam(_params(), betas=(0.9, 0.99, 0.999)),
                 lambda: optim.SGD(_params(), lr=0.1, momentum_form=1)):
        with pytest.raises(ValueError) as err:
            call()
        assert isinstance(err.value, HyperparameterTypeValueError)


def test_iterables_are_read_once():
    """A generator given for a sequence argument is checked and still used whole."""
    base = optim.SGD(_params(), lr=0.1, momentum=0.9)
    assert optim.Lookahead(base, momentum_keys=(k for k in ["momentum_buffer"])).momentum_keys == ("momentum_buffer",)
    sched = L.MultiStepLR(optim.SGD(_params(), lr=0.1), milestones=(m for m in [2, 2, 5]))
    assert sorted(sched.milestones.elements()) == [2, 2, 5]
    assert optim.Rprop(_params(), etas=(e for e in (0.4, 1.3))).defaults["etas"] == (0.4, 1.3)


@pytest.mark.parametrize("kwargs, argument, value_error", [
    ({"swa_lr": "0.05"}, "swa_lr", False),
    ({"swa_lr": 0.05, "anneal_epochs": 2.5}, "anneal_epochs", True),
    ({"swa_lr": 0.05, "anneal_strategy": 1}, "anneal_strategy", True),
])
def test_swalr_names_wrong_types(kwargs, argument, value_error):
    with pytest.raises(TypeError) as err:
        optim.swa_utils.SWALR(optim.SGD(_params(), lr=0.1), **kwargs)
    assert str(err.value).startswith(f"SWALR: {argument} must be "), str(err.value)
    assert isinstance(err.value, ValueError) == value_error


@pytest.mark.parametrize("kwargs, argument", [
    ({"alpha_1": "0.1", "alpha_2": 0.01, "cycle_length": 5}, "alpha_1"),
    ({"alpha_1": 0.1, "alpha_2": True, "cycle_length": 5}, "alpha_2"),
    ({"alpha_1": 0.1, "alpha_2": 0.01, "cycle_length": "5"}, "cycle_length"),
])
def test_swa_cyclic_lr_names_wrong_types(kwargs, argument):
    with pytest.raises(TypeError) as err:
        optim.swa_utils.SWACyclicLR(optim.SGD(_params(), lr=0.1), **kwargs)
    assert str(err.value).startswith(f"SWACyclicLR: {argument} must be "), str(err.value)
