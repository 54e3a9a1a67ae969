"""An op (any function of Tensors) against the same function written in PyTorch.

:func:`check_parity` runs both functions on given NumPy inputs and compares

1. the outputs (value, shape, dtype),
2. the vector-Jacobian product ``g = grad(f(x), x, v)`` for a random cotangent ``v``,
   through ``minigrad.grad`` and, on a fresh graph, through ``.backward()``,
3. the Hessian-vector product ``grad((g * w).sum(), x)`` with ``g`` built with
   ``create_graph=True``, for a random ``w`` (unless ``second_order=False``).

:func:`check_op_example` does it for random inputs of given shapes and one seed;
:func:`assert_op_matches_torch` lets hypothesis choose the seeds (and, when asked,
broadcasting variants of the shapes) and reports the failing example with the
seed that reproduces it. torch is the reference throughout: nothing here compares
minigrad with numbers minigrad computed itself.
"""
import numpy as np

from ..autograd import grad as mg_grad
from ..tensor import tensor as mg_tensor_factory
from ._deps import require_hypothesis, require_torch
from .compare import assert_close, to_numpy

RTOL = 1e-10
ATOL = 1e-12
# default tolerances per input dtype (float32: about 100 units in the last place)
TOLERANCES = {"float64": (RTOL, ATOL), "float32": (1e-5, 1e-6)}


# ---------------------------------------------------------------- inputs
def rng_of(seed):
    """NumPy's default generator seeded with ``seed``."""
    return np.random.default_rng(seed)


def randn(rng, shape, low=None, high=None):
    """float64 data: standard normal, or uniform in [low, high)."""
    if low is None:
        return np.asarray(rng.standard_normal(shape))
    return np.asarray(rng.uniform(low, high, size=shape))


def mg_tensor(a, requires_grad=False):
    """A minigrad tensor holding a copy of ``a``."""
    return mg_tensor_factory(np.array(a, copy=True), requires_grad=requires_grad)


def torch_tensor(a, requires_grad=False):
    """A torch tensor holding a copy of ``a`` (same dtype)."""
    torch = require_torch()
    t = torch.from_numpy(np.array(a, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def torch_dims(axis, ndim):
    """minigrad's ``axis`` (None = all) written as an explicit torch ``dim`` tuple."""
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def reduced_sizes(shape, axis):
    """Sizes of the axes that ``axis`` reduces."""
    ndim = len(shape)
    axes = range(ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    return [shape[a % ndim] for a in axes] if ndim else []


# ---------------------------------------------------------------- one comparison
def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _zeros_if_none(g, shape, dtype):
    return np.zeros(shape, dtype=dtype) if g is None else to_numpy(g)


def _like(v, ref):
    """``v`` in the floating dtype of ``ref`` (torch wants cotangents of the output's dtype)."""
    dtype = to_numpy(ref).dtype
    return v.astype(dtype) if dtype.kind == "f" else v


def check_parity(mg_fn, torch_fn, inputs, *, grad=True, second_order=True,
                 wrt=None, rtol=RTOL, atol=ATOL, second_atol=None, seed=0, dtype_check="float64"):
    """Run ``mg_fn`` and ``torch_fn`` on the same ``inputs`` and compare everything.

    ``inputs`` are NumPy arrays (or other values, passed through unchanged). Float
    arrays become leaves requiring grad (or only those at the positions ``wrt``);
    integer/bool arrays become constant tensors. The functions return one
    tensor or a tuple/list of tensors. ``second_atol`` (default ``atol``) is the
    absolute tolerance of the second derivatives, for ops whose exact second
    derivative is 0 where both libraries return rounding noise. ``seed`` draws the
    random cotangents. A difference raises AssertionError naming the quantity
    (output k, gradient of input i, ...) and the worst element.
    """
    torch = require_torch()
    rng = np.random.default_rng(seed)
    # NumPy scalars (what rng.standard_normal(()) returns) count as 0-d arrays
    arrays = [np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a
              for a in inputs]
    is_float = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    if wrt is None:
        wrt = [i for i, f in enumerate(is_float) if f]
    wrt = list(wrt) if grad else []

    def build(make):
        return [make(a, i in wrt) if isinstance(a, np.ndarray) else a
                for i, a in enumerate(arrays)]

    def close(m, t, what, tol=atol):
        assert_close(m, t, rtol, tol, what=what, dtype_check=dtype_check)

    mg_in, th_in = build(mg_tensor), build(torch_tensor)
    mg_out, th_out = _as_list(mg_fn(*mg_in)), _as_list(torch_fn(*th_in))
    if len(mg_out) != len(th_out):
        raise AssertionError(f"{len(mg_out)} outputs, torch has {len(th_out)}")
    for k, (m, t) in enumerate(zip(mg_out, th_out)):
        close(m, t, f"output {k}")
    if not wrt:
        return

    # first derivative: vector-Jacobian product with a random cotangent v
    vs = [_like(rng.standard_normal(tuple(t.shape)), t) for t in th_out]
    mg_x = [mg_in[i] for i in wrt]
    th_x = [th_in[i] for i in wrt]
    mg_g = mg_grad(mg_out, mg_x, grad_outputs=[mg_tensor(v) for v in vs],
                   create_graph=second_order, allow_unused=True)
    th_g = torch.autograd.grad(th_out, th_x, grad_outputs=[torch_tensor(v) for v in vs],
                               create_graph=second_order, allow_unused=True)
    for i, m, t in zip(wrt, mg_g, th_g):
        shape, dt = np.shape(arrays[i]), arrays[i].dtype
        close(_zeros_if_none(m, shape, dt), _zeros_if_none(t, shape, dt), f"gradient of input {i}")

    # the same first derivative through .backward() on a fresh graph
    mg_in2 = build(mg_tensor)
    outs = _as_list(mg_fn(*mg_in2))
    for o, v in zip(outs, vs):
        if o.requires_grad:
            o.backward(mg_tensor(v), retain_graph=True)
    for i, t in zip(wrt, th_g):
        shape, dt = np.shape(arrays[i]), arrays[i].dtype
        close(_zeros_if_none(mg_in2[i].grad, shape, dt), _zeros_if_none(t, shape, dt),
              f".backward() gradient of input {i}")

    if not second_order:
        return
    # second derivative: grad of (g . w) with respect to the inputs (a Hessian-vector product)
    ws = [rng.standard_normal(np.shape(arrays[i])).astype(arrays[i].dtype) for i in wrt]
    mg_terms = [(g * mg_tensor(w)).sum() for g, w in zip(mg_g, ws)
                if g is not None and g.requires_grad]
    th_terms = [(g * torch_tensor(w)).sum() for g, w in zip(th_g, ws)
                if g is not None and g.requires_grad]
    mg_h = [None] * len(wrt)
    th_h = [None] * len(wrt)
    if mg_terms:
        total = mg_terms[0]
        for term in mg_terms[1:]:
            total = total + term
        mg_h = mg_grad(total, mg_x, allow_unused=True)
    if th_terms:
        th_h = torch.autograd.grad(sum(th_terms), th_x, allow_unused=True)
    for i, m, t in zip(wrt, mg_h, th_h):
        shape, dt = np.shape(arrays[i]), arrays[i].dtype
        close(_zeros_if_none(m, shape, dt), _zeros_if_none(t, shape, dt),
              f"Hessian-vector product (second derivative) of input {i}",
              atol if second_atol is None else second_atol)


# ---------------------------------------------------------------- random examples
def _check_shapes(shapes):
    try:
        out = [tuple(int(n) for n in s) for s in shapes]
    except TypeError:
        raise TypeError(f"shapes must be a list of shapes (tuples of ints), got {shapes!r}") from None
    if any(n < 0 for s in out for n in s):
        raise ValueError(f"shapes must have non-negative sizes, got {shapes!r}")
    return out


def _check_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return name


def make_inputs(shapes, seed, dtype="float64", domain=None):
    """Random inputs of the given shapes: standard normal, or uniform in
    ``domain=(low, high)``, drawn from ``default_rng(seed)``, cast to ``dtype``."""
    rng = np.random.default_rng(seed)
    low, high = (None, None) if domain is None else domain
    return [randn(rng, s, low, high).astype(dtype) for s in _check_shapes(shapes)]


def check_op_example(mg_fn, torch_fn, shapes, seed, *, dtype="float64", grad=True, hvp=False,
                     rtol=None, atol=None, domain=None):
    """One example of :func:`assert_op_matches_torch`: inputs of ``shapes`` from ``seed``.

    This is also the call that reproduces a failure that :func:`assert_op_matches_torch`
    reports. The AssertionError adds the input shapes, the dtype and the seed.
    """
    dtype = _check_dtype(dtype)
    shapes = _check_shapes(shapes)
    d_rtol, d_atol = TOLERANCES[dtype]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    inputs = make_inputs(shapes, seed, dtype, domain)
    try:
        check_parity(mg_fn, torch_fn, inputs, grad=grad, second_order=hvp and grad,
                     rtol=rtol, atol=atol, seed=seed, dtype_check="same")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n  input shapes: {shapes}, dtype {dtype}, seed {seed}"
            f"\n  reproduce: minigrad.testing.check_op_example(mg_fn, torch_fn, {shapes}, seed={seed}, "
            f"dtype={dtype!r}, grad={grad}, hvp={hvp}, rtol={rtol:g}, atol={atol:g}, domain={domain!r})"
        ) from None
    except Exception as exc:
        exc.add_note(f"minigrad.testing: input shapes {shapes}, dtype {dtype}, seed {seed}")
        raise


def assert_op_matches_torch(mg_fn, torch_fn, shapes, *, dtype="float64", grad=True, hvp=False,
                            examples=50, rtol=None, atol=None, seed=0, broadcast=False,
                            domain=None):
    """``mg_fn`` computes what ``torch_fn`` computes: outputs, first derivatives and,
    with ``hvp=True``, Hessian-vector products, on ``examples`` random inputs.

    ``shapes`` lists one shape per input; with ``broadcast=True`` hypothesis also tries
    shapes that broadcast to the same result (some axes of size 1, leading axes
    dropped). ``domain=(low, high)`` draws uniform inputs (e.g. ``(0.1, 2)`` for log),
    otherwise standard normal. ``rtol``/``atol`` default to 1e-10/1e-12 in float64 and
    1e-5/1e-6 in float32. ``seed`` makes the run reproducible. A failure raises an
    AssertionError naming the quantity, the input shapes, the worst element and the
    :func:`check_op_example` call that reproduces it; hypothesis first shrinks the example.
    """
    require_torch()
    hypothesis = require_hypothesis()
    from hypothesis import strategies as st

    from .strategies import broadcast_variants

    dtype = _check_dtype(dtype)
    shapes = _check_shapes(shapes)
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be a positive int, got {examples!r}")
    shape_lists = st.just(shapes)
    if broadcast:
        shape_lists = st.one_of(shape_lists, broadcast_variants(shapes))

    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
                                 hypothesis.Phase.shrink])
    @hypothesis.seed(seed)
    @hypothesis.given(example_shapes=shape_lists, example_seed=st.integers(0, 2**32 - 1))
    @hypothesis.example(example_shapes=shapes, example_seed=seed)
    def run(example_shapes, example_seed):
        check_op_example(mg_fn, torch_fn, example_shapes, example_seed, dtype=dtype, grad=grad,
                         hvp=hvp, rtol=rtol, atol=atol, domain=domain)

    run()
