"""A minigrad optimizer against a ``torch.optim`` optimizer, step by step.

Both optimizers start from the same float64 parameters and see the same gradients;
after the steps their parameters and every state buffer must agree. The pieces:

* :func:`make_optimizer_pair`: the parameters in both libraries and both optimizers,
  optionally in param groups with their own options;
* :func:`feed_grads`: the same random gradient to both (one parameter skips some steps);
* :func:`assert_same_state`: parameters, state keys (names mapped where they differ)
  and state values compared, with a message naming the parameter, the buffer and the
  worst element;
* :func:`run_optimizer_parity`: random gradients for some steps, then the comparison;
* :func:`assert_optimizer_matches_torch`: the one-call check. Its gradients are those
  of a fixed loss at each library's *current* parameters, so a wrong step changes
  every later gradient too; it compares after every step and saves and reloads the
  minigrad optimizer's state_dict half way.
"""
import contextlib
import copy

import numpy as np

from ..tensor import Tensor
from ._deps import require_torch
from .compare import assert_close, to_numpy

RTOL = 1e-10                               # relative, no absolute slack


@contextlib.contextmanager
def torch_default_dtype(dtype):
    """torch's default dtype set to ``dtype`` inside the block (some torch optimizers keep
    scalar state in it)."""
    torch = require_torch()
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _groups_of(params, groups):
    """The optimizer's first argument: ``params`` itself, or one dict per ``(indices,
    options)`` entry of ``groups``."""
    if groups is None:
        return params
    return [{"params": [params[i] for i in idx], **extra} for idx, extra in groups]


def make_optimizer_pair(mg_cls, torch_cls, hyperparams, shapes, seed=0, groups=None, torch_kwargs=None):
    """Same float64 initial values (standard normal from ``default_rng(seed)``) as minigrad
    and torch parameters, plus ``mg_cls`` and ``torch_cls`` built on them with
    ``hyperparams``. ``groups``: a list of ``(indices, per-group options)``; ``torch_kwargs``
    go to torch's constructor only (e.g. ``{"foreach": False}``).
    Returns ``(ours, theirs, opt_ours, opt_theirs)``."""
    torch = require_torch()
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt_ours = mg_cls(_groups_of(ours, groups), **hyperparams)
    opt_theirs = torch_cls(_groups_of(theirs, groups), **hyperparams, **(torch_kwargs or {}))
    return ours, theirs, opt_ours, opt_theirs


def feed_grads(rng, ours, theirs, t, skip_some=True):
    """Give both sets of parameters the same random gradient; param 1 skips every third step."""
    torch = require_torch()
    for i, (p, q) in enumerate(zip(ours, theirs)):
        if skip_some and i == 1 and t % 3 == 2:
            p.grad, q.grad = None, None
            continue
        g = rng.standard_normal(p.shape)
        p.grad = Tensor(g.copy())
        q.grad = torch.tensor(g.copy())


def assert_same_state(opt_ours, opt_theirs, ours, theirs, rtol=RTOL, atol=0.0, state_names=None,
                      where=""):
    """Parameters and optimizer state agree: for every parameter, the same state keys
    (torch's names translated by ``state_names={torch_name: minigrad_name}``), the same
    ``step`` and every buffer within ``rtol``/``atol``. ``where`` prefixes the message."""
    names = dict(state_names or {})
    prefix = f"{where}: " if where else ""
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert_close(p, q, rtol, atol, what=f"{prefix}param {i}", dtype_check=None)
        s_ours = opt_ours.state.get(p, {})
        s_theirs = {names.get(k, k): v for k, v in opt_theirs.state.get(q, {}).items()}
        if set(s_ours) != set(s_theirs):
            raise AssertionError(f"{prefix}param {i}: state keys differ: minigrad {sorted(s_ours)}, "
                                 f"torch {sorted(s_theirs)} (map names with state_names=)")
        for key, value in s_theirs.items():
            if key == "step":
                if float(to_numpy(s_ours[key])) != float(to_numpy(value)):
                    raise AssertionError(f"{prefix}param {i}: step is {float(to_numpy(s_ours[key]))}, "
                                         f"torch has {float(to_numpy(value))}")
            elif value is None or s_ours[key] is None:
                if not (value is None and s_ours[key] is None):
                    raise AssertionError(f"{prefix}param {i}: state {key!r} is {s_ours[key]!r}, torch has {value!r}")
            else:
                assert_close(s_ours[key], value, rtol, atol, what=f"{prefix}param {i}: state {key!r}",
                             dtype_check=None)


def run_optimizer_parity(mg_cls, torch_cls, hyperparams, shapes, steps, seed=0, groups=None,
                         lr_change=None, torch_dtype=None, torch_kwargs=None, rtol=RTOL):
    """Train both for ``steps`` steps on the same random gradients (:func:`feed_grads`,
    ``default_rng(seed + 1)``) and compare everything at the end; ``lr_change=(step,
    factor)`` scales every lr once; ``torch_dtype`` sets torch's default dtype meanwhile.
    Returns both optimizers."""
    torch = require_torch()
    with torch_default_dtype(torch_dtype or torch.get_default_dtype()):
        ours, theirs, opt_ours, opt_theirs = make_optimizer_pair(
            mg_cls, torch_cls, hyperparams, shapes, seed, groups, torch_kwargs)
        rng = np.random.default_rng(seed + 1)
        for t in range(steps):
            if lr_change is not None and t == lr_change[0]:
                for opt in (opt_ours, opt_theirs):
                    for group in opt.param_groups:
                        group["lr"] *= lr_change[1]
            feed_grads(rng, ours, theirs, t)
            opt_ours.step()
            opt_theirs.step()
        assert_same_state(opt_ours, opt_theirs, ours, theirs, rtol)
    return opt_ours, opt_theirs


# ---------------------------------------------------------------- the one-call check
class _Loss:
    """``sum(c/2 p^2 - cos(3p)/6 + n_t p)`` per parameter: curvatures ``c`` in [0.5, 2],
    a fresh noise ``n_t`` each step. Its gradient ``c p + sin(3p)/2 + n_t`` depends on
    the parameters, so the gradient sequence follows each library's own trajectory."""

    def __init__(self, shapes, steps, seed):
        rng = np.random.default_rng(seed + 1)
        self.curv = [rng.uniform(0.5, 2.0, size=s) for s in shapes]
        self.noise = [[0.5 * rng.standard_normal(s) for s in shapes] for _ in range(steps)]

    def value_and_grads(self, values, t):
        loss, grads = 0.0, []
        for p, c, n in zip(values, self.curv, self.noise[t]):
            loss += float(np.sum(0.5 * c * p * p - np.cos(3 * p) / 6 + n * p))
            grads.append(c * p + 0.5 * np.sin(3 * p) + n)
        return loss, grads


def _check_groups(param_groups, hyperparams, n_params):
    """``param_groups`` (an int or a list of per-group option dicts) as (indices, options)
    pairs, or None for a plain parameter list."""
    if isinstance(param_groups, bool) or not isinstance(param_groups, (int, list, tuple)):
        raise TypeError(f"param_groups must be an int or a list of dicts, got {param_groups!r}")
    if isinstance(param_groups, int):
        if param_groups < 1:
            raise ValueError(f"param_groups must be >= 1, got {param_groups}")
        if param_groups == 1:
            return None
        lr = hyperparams.get("lr")
        options = [{} if (k == 0 or lr is None) else {"lr": lr * 0.5 ** k} for k in range(param_groups)]
    else:
        options = [dict(o) for o in param_groups]
    if len(options) > n_params:
        raise ValueError(f"{len(options)} param groups need at least as many shapes, got {n_params}")
    return [(list(range(k, n_params, len(options))), o) for k, o in enumerate(options)]


def assert_optimizer_matches_torch(mg_cls, torch_cls, hyperparams, *, steps=20, shapes=((4, 3), (5,)),
                                   param_groups=1, closure=False, state_dict_roundtrip=True,
                                   rtol=RTOL, atol=0.0, seed=0, state_names=None, torch_kwargs=None,
                                   skip_grads=False):
    """``mg_cls(params, **hyperparams)`` steps as ``torch_cls(params, **hyperparams)`` does.

    Parameters of ``shapes`` (float64, from ``seed``) go through ``steps`` steps of both
    optimizers; the gradients are those of a fixed smooth loss at each side's current
    parameters (plus the same noise each step), so a wrong update also changes every later
    gradient. After every step the parameters, the state keys and every state value must
    agree within ``rtol``/``atol``; ``state_names={torch_name: minigrad_name}`` maps
    names that differ. ``param_groups``: a number of groups (group k gets ``lr * 0.5**k``
    when ``lr`` is given) or a list of per-group option dicts. ``closure=True`` calls
    ``step(closure)`` with a closure that sets the gradients and returns the loss (needed
    by LBFGS). ``state_dict_roundtrip`` rebuilds the minigrad optimizer half way from a
    deep copy of its ``state_dict()`` (on new parameter tensors). ``skip_grads`` leaves
    parameter 1 without a gradient every third step. ``torch_kwargs`` go to torch only.

    A difference raises AssertionError naming the step, the parameter, the quantity
    (the parameter or a state buffer), the worst element, and the call that reproduces it.
    """
    torch = require_torch()
    if not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict of keyword arguments, got {type(hyperparams).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    shapes = [tuple(int(n) for n in s) for s in shapes]
    if not shapes:
        raise ValueError("shapes must name at least one parameter shape")
    groups = _check_groups(param_groups, hyperparams, len(shapes))
    loss = _Loss(shapes, steps, seed)
    ours, theirs, opt_ours, opt_theirs = make_optimizer_pair(
        mg_cls, torch_cls, hyperparams, shapes, seed, groups, torch_kwargs)
    context = (f"\n  optimizers: {getattr(mg_cls, '__qualname__', mg_cls)} vs "
               f"{getattr(torch_cls, '__module__', '')}.{getattr(torch_cls, '__qualname__', torch_cls)}, "
               f"hyperparameters {hyperparams}, shapes {shapes}, param_groups {param_groups!r}, "
               f"closure={closure}, seed {seed}")

    def give(params, make, t, skip):
        values = [to_numpy(p) for p in params]
        value, grads = loss.value_and_grads(values, t)
        for i, (p, g) in enumerate(zip(params, grads)):
            p.grad = None if (skip and i == 1 and t % 3 == 2) else make(g)
        return value

    def step_both(t):
        skip = skip_grads and len(shapes) > 1
        if closure:
            opt_ours.step(lambda: Tensor(np.array(give(ours, Tensor, t, skip), dtype=np.float64)))
            opt_theirs.step(lambda: torch.tensor(give(theirs, torch.tensor, t, skip), dtype=torch.float64))
        else:
            give(ours, Tensor, t, skip)
            give(theirs, torch.tensor, t, skip)
            opt_ours.step()
            opt_theirs.step()

    def compare(where, at_step):
        try:
            assert_same_state(opt_ours, opt_theirs, ours, theirs, rtol, atol, state_names, where)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}{context}\n  reproduce: minigrad.testing.assert_optimizer_matches_torch("
                f"{getattr(mg_cls, '__name__', 'mg_cls')}, {getattr(torch_cls, '__name__', 'torch_cls')}, "
                f"{hyperparams}, steps={at_step}, shapes={shapes}, param_groups={param_groups!r}, "
                f"closure={closure}, state_dict_roundtrip={state_dict_roundtrip}, seed={seed})") from None

    half = steps // 2
    for t in range(steps):
        try:
            step_both(t)
        except Exception as exc:
            if not isinstance(exc, AssertionError):
                exc.add_note(f"minigrad.testing: in step {t + 1}{context}")
            raise
        compare(f"after step {t + 1}", t + 1)
        if state_dict_roundtrip and t + 1 == half:
            sd = copy.deepcopy(opt_ours.state_dict())
            ours = [Tensor(to_numpy(p).copy(), requires_grad=True) for p in ours]
            opt_ours = mg_cls(_groups_of(ours, groups), **hyperparams)
            opt_ours.load_state_dict(sd)
            compare(f"after state_dict()/load_state_dict() at step {t + 1}", t + 1)
