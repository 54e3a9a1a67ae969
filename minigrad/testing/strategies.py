"""hypothesis strategies for property tests of minigrad code.

* :func:`shapes`, :func:`broadcastable_shapes`, :func:`broadcast_variants`: array
  shapes, including size-1 and zero-size axes, and lists of shapes that broadcast;
* :func:`axes_for`: reduction ``axis`` arguments (None, an int, a tuple; negative too);
* :func:`arrays`: float arrays of a dtype, optionally with edge values (0, -0, tiny
  and huge magnitudes, inf, NaN);
* :func:`seeds`: seeds for ``np.random.default_rng``;
* :func:`optimizer_hyperparameters`: keyword arguments of each ``torch.optim``
  optimizer in ranges where minigrad's optimizer of the same name must match it.

hypothesis is imported when a strategy is built, not when this module is: importing
it without hypothesis works, building a strategy raises an ImportError naming
``pip install hypothesis``. ``seeds`` can also be imported as a ready strategy
(``from minigrad.testing.strategies import seeds``).
"""
import numpy as np

from ._deps import require_hypothesis


def _st():
    require_hypothesis("minigrad.testing.strategies")
    from hypothesis import strategies as st
    return st


def _hnp():
    require_hypothesis("minigrad.testing.strategies")
    from hypothesis.extra import numpy as hnp
    return hnp


def seeds():
    """Seeds for ``np.random.default_rng``: integers in [0, 2**32)."""
    return _st().integers(min_value=0, max_value=2**32 - 1)


def shapes(min_dims=0, max_dims=4, min_side=0, max_side=4):
    """Array shapes, including size-1 and (with ``min_side=0``) zero-size axes."""
    return _hnp().array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                               max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4):
    """``num_shapes`` shapes that broadcast together (a list of tuples)."""
    return _hnp().mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda s: list(s.input_shapes))


def broadcast_variants(shapes):
    """Lists of shapes, one per entry of ``shapes``, that broadcast to the same result
    as ``shapes`` do: each axis either of its given size or 1, leading axes possibly
    dropped. For ops that broadcast their inputs."""
    st = _st()
    shapes = [tuple(int(n) for n in s) for s in shapes]
    result = np.broadcast_shapes(*shapes) if shapes else ()

    @st.composite
    def draw_variants(draw):
        drops = [draw(st.integers(0, len(s))) for s in shapes]
        kept = [[n if draw(st.booleans()) else 1 for n in s] for s in shapes]
        for ax, need in enumerate(result):
            if need == 1:
                continue
            holders = [(i, ax - (len(result) - len(s))) for i, s in enumerate(shapes)
                       if 0 <= ax - (len(result) - len(s)) and s[ax - (len(result) - len(s))] == need]
            if not any(j >= drops[i] and kept[i][j] == need for i, j in holders):
                i, j = holders[0]          # give the axis back to the first input that had it
                kept[i][j], drops[i] = need, min(drops[i], j)
        return [tuple(k[d:]) for k, d in zip(kept, drops)]

    return draw_variants()


def axes_for(ndim, allow_none=True):
    """A reduction axis argument for an ``ndim``-dim array: None, an int or a tuple
    of distinct axes, each possibly written negative."""
    st = _st()

    @st.composite
    def draw_axes(draw):
        options = ["none"] if (allow_none or ndim == 0) else []
        if ndim > 0:
            options += ["int", "tuple"]
        kind = draw(st.sampled_from(options))
        if kind == "none":
            return None
        if kind == "int":
            return draw(st.integers(-ndim, ndim - 1))
        picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        return tuple(a - ndim if draw(st.booleans()) else a for a in picked)

    return draw_axes()


# values at the edges of floating point: signed zeros, the smallest normal and
# subnormal numbers, the largest finite number, infinities and NaN
def edge_values(dtype="float64"):
    """The edge values of ``dtype`` that :func:`arrays` mixes in."""
    info = np.finfo(dtype)
    return [0.0, -0.0, float(info.tiny), -float(info.tiny), float(info.smallest_subnormal),
            float(info.max), -float(info.max), float(info.eps), 1.0, -1.0,
            float("inf"), float("-inf"), float("nan")]


def arrays(dtype="float64", shape=None, *, edge_values_too=False, min_value=-10.0, max_value=10.0):
    """Float arrays of ``dtype`` and ``shape`` (default: :func:`shapes`). Elements are
    finite floats in [min_value, max_value]; with ``edge_values_too`` some are
    :func:`edge_values` (infinities, NaN, zeros of both signs, tiny and huge numbers)."""
    st, hnp = _st(), _hnp()
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"arrays: dtype must be a float dtype, got {dtype}")
    width = dtype.itemsize * 8
    elements = st.floats(min_value, max_value, width=width, allow_nan=False, allow_infinity=False)
    if edge_values_too:
        elements = st.one_of(elements, st.sampled_from(edge_values(dtype)).map(lambda v: dtype.type(v)))
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)


def optimizer_names():
    """The ``torch.optim`` optimizers :func:`optimizer_hyperparameters` knows."""
    return sorted(_HYPER_BUILDERS)


def _sgd(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "momentum": rate, "dampening": rate,
                                  "weight_decay": wd, "maximize": st.booleans()})


def _adagrad(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "lr_decay": st.floats(0, 1),
                                  "initial_accumulator_value": st.floats(0, 1),
                                  "weight_decay": wd, "eps": st.floats(1e-10, 1e-3)})


def _rmsprop(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "alpha": st.floats(0.5, 0.99), "momentum": rate,
                                  "centered": st.booleans(), "weight_decay": wd,
                                  "maximize": st.booleans()})


def _adadelta(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": st.floats(0.1, 2.0), "rho": beta,
                                  "eps": st.floats(1e-8, 1e-3), "weight_decay": wd})


def _adam(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "betas": st.tuples(beta, beta),
                                  "eps": st.floats(1e-10, 1e-4), "weight_decay": wd,
                                  "amsgrad": st.booleans(), "maximize": st.booleans(),
                                  "decoupled_weight_decay": st.booleans()})


def _adamw(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "betas": st.tuples(beta, beta),
                                  "eps": st.floats(1e-10, 1e-4), "weight_decay": wd,
                                  "amsgrad": st.booleans(), "maximize": st.booleans()})


# the variants: betas with beta2 in [0.5, 0.999], eps up to 1e-3
def _betas(st):
    return st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.999))


def _adamax(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "betas": _betas(st), "eps": st.floats(1e-10, 1e-3),
                                  "weight_decay": wd, "maximize": st.booleans()})


def _nadam(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "betas": _betas(st), "eps": st.floats(1e-10, 1e-3),
                                  "weight_decay": wd, "momentum_decay": st.floats(0.0, 0.5),
                                  "decoupled_weight_decay": st.booleans(),
                                  "maximize": st.booleans()})


def _radam(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": lr, "betas": _betas(st), "eps": st.floats(1e-10, 1e-3),
                                  "weight_decay": wd, "decoupled_weight_decay": st.booleans(),
                                  "maximize": st.booleans()})


def _asgd(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": st.floats(1e-3, 0.1), "lambd": st.floats(0.0, 0.5),
                                  "alpha": st.floats(0.5, 1.0), "t0": st.integers(0, 30),
                                  "weight_decay": wd, "maximize": st.booleans()})


def _rprop(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": st.floats(1e-4, 0.5),
                                  "etas": st.tuples(st.floats(0.1, 0.9), st.floats(1.05, 2.0)),
                                  "step_sizes": st.tuples(st.floats(1e-7, 1e-3), st.floats(0.01, 100.0)),
                                  "maximize": st.booleans()})


def _adafactor(st, lr, wd, rate, beta):
    return st.fixed_dictionaries({"lr": st.floats(1e-3, 1.0),
                                  "beta2_decay": st.floats(-1.0, -0.2),
                                  "eps": st.tuples(st.sampled_from([None, 1e-30, 1e-8]),
                                                   st.floats(1e-4, 1.0)),
                                  "d": st.floats(1.0, 3.0), "weight_decay": wd,
                                  "maximize": st.booleans()})


_HYPER_BUILDERS = {"SGD": _sgd, "Adagrad": _adagrad, "RMSprop": _rmsprop, "Adadelta": _adadelta,
                   "Adam": _adam, "AdamW": _adamw, "Adamax": _adamax, "NAdam": _nadam,
                   "RAdam": _radam, "ASGD": _asgd, "Rprop": _rprop, "Adafactor": _adafactor}


def optimizer_hyperparameters(name):
    """Keyword arguments of ``torch.optim.<name>`` in ranges where minigrad's optimizer
    of the same name matches it within 1e-10 over 20 steps (minigrad's parity tests draw
    from them; LBFGS, configured by its line search, has none): mostly learning rates in
    [1e-4, 0.3], weight decay 0, 1e-3 or 0.1, momentum-like rates in [0, 0.95], betas
    in [0, 0.99], eps from 1e-10, and the optimizer's flags (``maximize``, ``amsgrad``,
    ...). SGD's ``nesterov`` is left out (it needs ``momentum > 0`` and ``dampening ==
    0``; set it after drawing)."""
    st = _st()
    if name not in _HYPER_BUILDERS:
        raise ValueError(f"optimizer_hyperparameters: no ranges for {name!r}; known: {optimizer_names()}")
    lr = st.floats(1e-4, 0.3)
    wd = st.sampled_from([0.0, 1e-3, 0.1])
    rate = st.floats(0.0, 0.95)
    beta = st.floats(0.0, 0.99)
    return _HYPER_BUILDERS[name](st, lr, wd, rate, beta)

