"""Shared pieces of the optimizer tests: the configurations compared with torch, random
gradient streams, the state_dict round-trip check every optimizer passes, and the
torch comparison of :mod:`minigrad.testing.optimizers` (pairs fed the same gradients,
compared parameter by parameter and buffer by buffer) called with optimizer names."""
import copy

import numpy as np
import torch

import minigrad as mg
import optim
from minigrad.testing import (  # noqa: F401  (re-exported for the optimizer tests)
    assert_same_state,
    feed_grads,
    make_optimizer_pair,
    run_optimizer_parity,
    torch_default_dtype,
)

RTOL = 1e-10                               # relative, no absolute slack
SHAPES = [(), (5,), (4, 3), (2, 3, 2)]     # a 0-d scalar, a vector, a matrix, a 3-d array
STEPS = 50

# The configurations of torch's optim_inputs_func_<name> (CPU, float lr), plus
# the flags PyTorch's list leaves out (decoupled weight decay, amsgrad with
# maximize, nesterov without weight decay, ...).
TORCH_CONFIGS = {
    "SGD": [
        {},
        {"lr": 1e-2},
        {"weight_decay": 0.5},
        {"momentum": 0.9},
        {"weight_decay": 0.1, "maximize": True},
        {"momentum": 0.9, "dampening": 0.5},
        {"momentum": 0.9, "weight_decay": 0.1},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True, "maximize": True},
    ],
    "Adagrad": [
        {},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 0.1},
        {"initial_accumulator_value": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1},
        {"eps": 1e-3, "lr_decay": 1e-2},
    ],
    "RMSprop": [
        {},
        {"lr": 1e-3},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"weight_decay": 0.1, "centered": True},
        {"maximize": True, "weight_decay": 0.1},
        {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
        {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
        {"momentum": 0.9, "alpha": 0.9, "eps": 1e-3},
    ],
    "Adadelta": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"weight_decay": 0.1, "maximize": True},
        {"rho": 0.95, "weight_decay": 0.9},
    ],
    "Adam": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"weight_decay": 0.1, "amsgrad": True},
        {"weight_decay": 0.1, "amsgrad": True, "maximize": True},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "amsgrad": True,
         "decoupled_weight_decay": True, "weight_decay": 0.5},
    ],
    "AdamW": [
        {},
        {"lr": 0.01},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"weight_decay": 0.1, "amsgrad": True},
        {"weight_decay": 0, "betas": (0.5, 0.9)},
    ],
}

# The lecture and paper forms that minigrad's options add to these optimizers
# (torch has no counterpart to compare them with; the fast path must equal them too).
CONVENTION_CONFIGS = {
    "SGD": [
        {"lr": 0.05, "momentum": 0.9, "momentum_form": "lecture", "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.9, "momentum_form": "lecture", "maximize": True},
    ],
    "Adagrad": [
        {"eps": 1e-3, "eps_inside_sqrt": True, "maximize": True},
    ],
    "RMSprop": [
        {"eps": 1e-3, "eps_inside_sqrt": True},
        {"eps": 1e-3, "eps_inside_sqrt": True, "centered": True, "momentum": 0.5},
    ],
    "Adam": [
        {"bias_correction": "efficient", "eps": 1e-3},
        {"bias_correction": "efficient", "amsgrad": True, "maximize": True, "weight_decay": 0.1},
    ],
}


def train(opt, params, grads):
    """Feed one list of gradients per step (None: that parameter gets no gradient)."""
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else mg.Tensor(g.copy())
        opt.step()


def random_grads(seed, steps, shapes):
    """Gaussian gradients; parameter 1 skips every fourth step."""
    rng = np.random.default_rng(seed)
    return [[None if (i == 1 and t % 4 == 3) else rng.standard_normal(s)
             for i, s in enumerate(shapes)] for t in range(steps)]


def take_checkpoint(opt, params, tmp_path, through_file):
    """The optimizer's state dict and copies of the parameters' values; with
    ``through_file``, both written to a checkpoint file and read back."""
    sd = opt.state_dict()
    values = [p.numpy().copy() for p in params]
    if through_file:
        mg.save({"optimizer": sd, "params": values}, tmp_path / "ckpt.npz")
        loaded = mg.load(tmp_path / "ckpt.npz")
        sd, values = loaded["optimizer"], loaded["params"]
    return sd, values


def check_round_trip(name, cfg, shapes, tmp_path, through_file):
    """Training interrupted by state_dict()/load_state_dict() (optionally through a
    checkpoint file) continues exactly as uninterrupted training: same parameters,
    same state keys, values and types. Hyperparameters come from the state dict."""
    rng = np.random.default_rng(3)
    init = [rng.standard_normal(s) for s in shapes]
    grads = random_grads(4, 30, shapes)

    full = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    opt_full = getattr(optim, name)(full, **cfg)
    train(opt_full, full, grads)

    first = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    opt_first = getattr(optim, name)(first, **cfg)
    train(opt_first, first, grads[:12])
    sd, values = take_checkpoint(opt_first, first, tmp_path, through_file)
    train(opt_first, first, grads[12:14])       # must not change the state dict taken

    resumed = [mg.Tensor(np.array(v), requires_grad=True) for v in values]
    opt_resumed = getattr(optim, name)(resumed, lr=123.0)   # hyperparameters come from sd
    opt_resumed.load_state_dict(sd)
    for key, value in opt_full.param_groups[0].items():
        if key != "params":
            assert opt_resumed.param_groups[0][key] == value, key
    train(opt_resumed, resumed, grads[12:])

    for p, q in zip(full, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        s1, s2 = opt_full.state.get(p, {}), opt_resumed.state.get(q, {})
        assert set(s1) == set(s2)
        for key in s1:
            np.testing.assert_array_equal(np.asarray(s1[key]), np.asarray(s2[key]))
            assert type(s1[key]) is type(s2[key]), key


def case_id(case):
    name, cfg = case
    return name + "-" + ("default" if not cfg else ",".join(f"{k}={v}" for k, v in cfg.items()))


def make_pair(name, cfg, shapes, seed=0, groups=None):
    """Same float64 initial values as minigrad and torch parameters, plus both optimizers
    (``optim.<name>`` and ``torch.optim.<name>`` with ``foreach=False``)."""
    return make_optimizer_pair(getattr(optim, name), getattr(torch.optim, name), cfg, shapes, seed,
                               groups, torch_kwargs={"foreach": False})


def run_parity(name, cfg, shapes=SHAPES, steps=STEPS, seed=0, groups=None, lr_change=None,
               torch_dtype=None):
    """Train both for ``steps`` steps on the same gradients and compare everything;
    ``lr_change=(step, factor)`` scales every lr once; ``torch_dtype`` sets torch's
    default dtype meanwhile (some torch optimizers keep scalar state in it)."""
    return run_optimizer_parity(getattr(optim, name), getattr(torch.optim, name), cfg, shapes, steps,
                                seed, groups, lr_change, torch_dtype, torch_kwargs={"foreach": False})


def check_formula_is_pure(fn, init, init_kwargs, kwargs, warmup_steps):
    """A functional update never writes into its inputs, gives the same result when
    called twice, and returns new arrays rather than its input arrays."""
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((3, 2))
    state = init(theta, **init_kwargs)
    for _ in range(warmup_steps):       # get non-trivial state first
        theta, state, _ = fn(theta, rng.standard_normal((3, 2)), state, **kwargs)
    grad = rng.standard_normal((3, 2))
    theta_before, grad_before, state_before = theta.copy(), grad.copy(), copy.deepcopy(state)
    out1 = fn(theta, grad, state, **kwargs)
    out2 = fn(theta, grad, state, **kwargs)
    np.testing.assert_array_equal(theta, theta_before)
    np.testing.assert_array_equal(grad, grad_before)
    assert state.keys() == state_before.keys()
    for k in state:
        np.testing.assert_array_equal(state[k], state_before[k])
    np.testing.assert_array_equal(out1[0], out2[0])
    assert out1[0] is not theta
    for k in out1[1]:
        np.testing.assert_array_equal(out1[1][k], out2[1][k])
        if isinstance(out1[1][k], np.ndarray):
            assert out1[1][k] is not state.get(k), f"{k} returned the input array"
