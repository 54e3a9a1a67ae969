"""A minigrad learning-rate scheduler against ``torch.optim.lr_scheduler``, step by step.

The torch scheduler drives a real torch optimizer; the minigrad one drives a
:class:`FakeOptimizer` with the same param groups and defaults (a scheduler only
reads and writes ``param_groups``), so the check needs no minigrad optimizer. After
construction and after every step the groups' hyperparameters (lr, momentum or
betas, ...), ``get_last_lr()`` and ``last_epoch`` must agree; at the end, the state
dicts.
"""
import copy
import math

import numpy as np

from ._deps import require_torch

RTOL = 1e-12
ABS_TOL = 1e-15
# Keys of torch's state dicts that minigrad does not keep: a flag behind a torch warning.
IGNORED_STATE = {"_get_lr_called_within_step"}


class FakeOptimizer:
    """Only the surface a scheduler may use: param_groups, defaults, step()."""

    def __init__(self, param_groups, defaults):
        self.param_groups = param_groups
        self.defaults = defaults
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1


def make_scheduler_pair(kind="sgd", lrs=(0.1, 0.03)):
    """A torch optimizer (``kind``: "sgd" with momentum 0.9, "adam" or "adagrad"), one
    param group per entry of ``lrs``, and a FakeOptimizer with identical hyperparameters."""
    torch = require_torch()
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "sgd":
        opt = torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    elif kind == "adam":
        opt = torch.optim.Adam(groups, lr=lrs[0], betas=(0.9, 0.999))
    elif kind == "adagrad":  # neither momentum nor betas
        opt = torch.optim.Adagrad(groups, lr=lrs[0])
    else:
        raise ValueError(f"kind must be 'sgd', 'adam' or 'adagrad', got {kind!r}")
    fake_groups = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
                   for g in opt.param_groups]
    for g in fake_groups:
        g["params"] = []
    fake = FakeOptimizer(fake_groups, copy.deepcopy(opt.defaults))
    return opt, fake


def assert_values_close(a, b, where, rtol=RTOL, abs_tol=ABS_TOL):
    """torch's ``a`` and minigrad's ``b`` agree: numbers within ``rtol`` (and ``abs_tol``),
    containers item by item, anything else equal."""
    torch = require_torch()
    if isinstance(a, torch.Tensor):
        a = a.item()
    if isinstance(a, bool) or a is None or isinstance(a, str):
        assert a == b, f"{where}: torch {a!r} != ours {b!r}"
    elif isinstance(a, (int, float)):
        assert isinstance(b, (int, float)) and not isinstance(b, bool), \
            f"{where}: ours is {type(b).__name__}"
        if math.isinf(a) or math.isnan(a):
            assert a == b or (math.isnan(a) and math.isnan(b)), f"{where}: {a} != {b}"
        else:
            assert math.isclose(a, b, rel_tol=rtol, abs_tol=abs_tol), \
                f"{where}: torch {a!r} != ours {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict), f"{where}: ours is {type(b).__name__}"
        for k in a:
            assert k in b, f"{where}: ours lacks key {k!r}"
            assert_values_close(a[k], b[k], f"{where}[{k!r}]", rtol, abs_tol)
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_values_close(x, y, f"{where}[{i}]", rtol, abs_tol)
    else:
        assert a == b, f"{where}: torch {a!r} != ours {b!r}"


def assert_groups_match(topt, fopt, where, rtol=RTOL):
    """Both optimizers' param groups hold the same keys and values (``params`` aside)."""
    assert len(topt.param_groups) == len(fopt.param_groups)
    for i, (tg, fg) in enumerate(zip(topt.param_groups, fopt.param_groups)):
        assert set(tg) == set(fg), f"{where} group {i}: keys {set(tg) ^ set(fg)} differ"
        for key in tg:
            if key != "params":
                assert_values_close(tg[key], fg[key], f"{where} group {i} {key!r}", rtol)


def assert_state_match(tsd, msd, where, rtol=RTOL):
    """minigrad's scheduler state dict ``msd`` holds torch's ``tsd`` (nested schedulers too)."""
    for key in tsd:
        if key in IGNORED_STATE:
            continue
        assert key in msd, f"{where}: state_dict lacks {key!r}"
        if key == "_schedulers":
            for i, (a, b) in enumerate(zip(tsd[key], msd[key])):
                assert_state_match(a, b, f"{where}._schedulers[{i}]", rtol)
        else:
            assert_values_close(tsd[key], msd[key], f"{where}.{key}", rtol)


def run_scheduler_parity(build_torch, build_ours, kind="sgd", lrs=(0.1, 0.03), steps=200, args=None,
                         rtol=RTOL):
    """Build with both libraries, step both ``steps`` times, compare after every step.

    ``build_torch(opt)`` and ``build_ours(opt)`` return the schedulers; ``args(i)`` the
    positional arguments of step number i (metric, epoch, ...). Returns the lr history
    of minigrad's groups, one row per step.
    """
    topt, fopt = make_scheduler_pair(kind, lrs)
    tsched, msched = build_torch(topt), build_ours(fopt)
    assert_groups_match(topt, fopt, "construction", rtol)
    assert_values_close(tsched.get_last_lr(), msched.get_last_lr(), "construction get_last_lr", rtol)
    lr_history = []
    for i in range(steps):
        topt.step()
        fopt.step()
        a = args(i) if args else ()
        tsched.step(*a)
        msched.step(*a)
        where = f"step {i + 1}"
        assert_groups_match(topt, fopt, where, rtol)
        assert_values_close(tsched.get_last_lr(), msched.get_last_lr(), where + " get_last_lr", rtol)
        if hasattr(tsched, "last_epoch"):
            assert tsched.last_epoch == msched.last_epoch, where
        lr_history.append([g["lr"] for g in fopt.param_groups])
    assert_state_match(tsched.state_dict(), msched.state_dict(), type(msched).__name__, rtol)
    return np.array(lr_history)


def assert_scheduler_matches_torch(mg_cls, torch_cls, kwargs, *, steps=100, optimizer="sgd",
                                   lrs=(0.1, 0.03), step_args=None, rtol=RTOL):
    """``mg_cls(optimizer, **kwargs)`` schedules as ``torch_cls(optimizer, **kwargs)`` does.

    Both are stepped ``steps`` times (``step_args(i)``: the positional arguments of step
    i, e.g. the metric of ReduceLROnPlateau) on an optimizer of kind ``optimizer``
    ("sgd", "adam" or "adagrad") with one param group per entry of ``lrs``. A difference
    raises AssertionError naming the step and the quantity (a group's lr or momentum,
    ``get_last_lr()``, ``last_epoch``, a state_dict entry) with both values.
    """
    require_torch()
    if not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict of keyword arguments, got {type(kwargs).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    try:
        return run_scheduler_parity(lambda o: torch_cls(o, **kwargs), lambda o: mg_cls(o, **kwargs),
                                    optimizer, tuple(lrs), steps, step_args, rtol)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n  schedulers: {getattr(mg_cls, '__qualname__', mg_cls)} vs "
            f"{getattr(torch_cls, '__qualname__', torch_cls)}, kwargs {kwargs}, optimizer "
            f"{optimizer!r}, lrs {tuple(lrs)}") from None
