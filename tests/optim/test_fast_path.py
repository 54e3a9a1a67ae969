"""The flat fast path (``impl="flat"``) against the teaching path: bitwise equal.

The flat path runs the same formula, with the same floating-point operations in
the same order, over chunks of one flat buffer per group, so its parameters and
state must equal the teaching path's exactly (``assert_array_equal``, not a
tolerance), in float64 and float32, for every configuration of SGD, Adam,
AdamW, RMSprop and Adagrad that the torch-parity tests use plus the
lecture-form options. Chunks are made tiny here (a few elements), so that they
cross parameter boundaries (gradients gathered), cut parameters into pieces,
and are shared between threads. Where a C compiler is found the flat path runs
the compiled kernels (``optim.fast.cpu``, cached in a temporary directory: conftest.py),
and the main test checks all three ways of running a chunk: the compiled kernel
(which must have run), the in-place twin (``MINIGRAD_CPU_FUSED=0``) and the pure
formula.
"""
import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from optim_utils import CONVENTION_CONFIGS, TORCH_CONFIGS, case_id, take_checkpoint

import minigrad as mg
import optim
from optim.fast import flat, kernels
from optim.fast.inplace import adagrad_, adam_, rmsprop_, sgd_
from optim.functional.adagrad import adagrad, adagrad_init
from optim.functional.adam import adam, adam_init
from optim.functional.rmsprop import rmsprop, rmsprop_init
from optim.functional.sgd import sgd, sgd_init

# A 0-d scalar, tiny tensors (several per chunk), one spanning many chunks.
SHAPES = [(), (5,), (4, 3), (2, 3, 2), (1,), (37,), (3, 1)]
STEPS = 12

# torch's configurations (the parity tests' table) plus the convention options, for the
# optimizers with a fast path
CONFIGS = {name: TORCH_CONFIGS[name] + CONVENTION_CONFIGS.get(name, [])
           for name in ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW")}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    """Chunks of 5 float64 / 10 float32 elements and two threads, restored afterwards."""
    monkeypatch.setattr(flat, "CHUNK_BYTES", 40)
    saved = flat.get_num_threads()
    flat.set_num_threads(2)
    yield
    flat.set_num_threads(saved)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def make(name, cfg, impl, shapes=SHAPES, dtype=np.float64, seed=0, groups=None,
         inplace=True, dtypes=None):
    """Parameters (``dtypes``: index -> dtype overrides) and their optimizer."""
    rng = np.random.default_rng(seed)
    dtypes = dtypes or {}
    params = [mg.Tensor(rng.standard_normal(s).astype(dtypes.get(i, dtype)), requires_grad=True)
              for i, s in enumerate(shapes)]
    if groups is None:
        opt = getattr(optim, name)(params, impl=impl, **cfg)
    else:
        opt = getattr(optim, name)(
            [{"params": [params[i] for i in idx], **extra} for idx, extra in groups],
            impl=impl, **cfg)
    opt._flat_inplace = inplace
    return params, opt


def gradients(shapes, steps, seed=1, dtype=np.float64, skip=True):
    """Random gradients; param 1 skips every third step and param 4 the first two."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(steps):
        step = []
        for i, s in enumerate(shapes):
            g = rng.standard_normal(s).astype(dtype)
            if skip and ((i == 1 and t % 3 == 2) or (i == 4 and t < 2)):
                g = None
            step.append(g)
        out.append(step)
    return out


def train(opt, params, grads):
    """Steps with the given gradients, each cast to its parameter's dtype (as backward gives)."""
    for step in grads:
        for p, g in zip(params, step):
            p.grad = None if g is None else mg.Tensor(g.astype(p.dtype))
        opt.step()


def assert_same(opt_a, params_a, opt_b, params_b):
    for i, (p, q) in enumerate(zip(params_a, params_b)):
        assert p.dtype == q.dtype and p.shape == q.shape
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=f"param {i}")
        sa, sb = opt_a.state.get(p, {}), opt_b.state.get(q, {})
        assert set(sa) == set(sb), f"param {i}: state keys {set(sa)} != {set(sb)}"
        for key in sa:
            a, b = sa[key], sb[key]
            assert type(a) is type(b), f"param {i}: {key} type"
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and a.shape == b.shape, f"param {i}: {key}"
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b),
                                          err_msg=f"param {i}: {key}")


def buckets(opt):
    return [b for layout in opt._flat_layouts.values() for b in layout.buckets]


def assert_views(opt):
    """Every parameter's data and every state buffer is a view of its flat buffer."""
    for bucket in buckets(opt):
        for k, p in enumerate(bucket.params):
            assert p.data is bucket.theta_views[k]
            assert np.shares_memory(p.data, bucket.theta)
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, np.ndarray) and value.shape == p.shape:
                    assert value is bucket.buffer_views[key][k], key
                    assert np.shares_memory(value, bucket.buffers[key])


# ---------------------------------------------------------------------------
# bitwise equality with the teaching path
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_flat_equals_teaching_bitwise(case, dtype, monkeypatch):
    name, cfg = case
    grads = gradients(SHAPES, STEPS, dtype=dtype)
    ref_params, ref = make(name, cfg, "teaching", dtype=dtype)
    train(ref, ref_params, grads)
    has_kernel = not (name == "SGD" and cfg.get("momentum_form") == "lecture" and cfg.get("momentum", 0))
    # the compiled kernel, the in-place twin, and the pure formula
    for compiled, inplace in ((True, True), (False, True), (False, False)):
        monkeypatch.setenv("MINIGRAD_CPU_FUSED", "1" if compiled else "0")
        before = kernels.stats["fused"]
        params, opt = make(name, cfg, "flat", dtype=dtype, inplace=inplace)
        train(opt, params, grads)
        ran = kernels.stats["fused"] > before
        assert ran == (compiled and has_kernel and kernels.wanted("cpu")), f"compiled kernels ran: {ran}"
        assert_same(ref, ref_params, opt, params)
        assert_views(opt)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("threads", [1, 3])
def test_flat_with_groups_mixed_dtypes_and_threads(name, threads):
    """Two groups with their own hyperparameters; float32 and float64 in one group."""
    flat.set_num_threads(threads)
    extra = {"SGD": {"lr": 0.05, "momentum": 0.5}, "Adagrad": {"lr": 0.2, "lr_decay": 0.1},
             "RMSprop": {"lr": 3e-3, "centered": True}, "Adam": {"lr": 3e-3, "amsgrad": True},
             "AdamW": {"weight_decay": 0.3}}[name]
    cfg = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    groups = [([0, 2, 5], {}), ([1, 3, 4, 6], extra)]

    float32 = {2: np.float32, 3: np.float32}         # among float64 parameters
    grads = gradients(SHAPES, STEPS)
    ref_params, ref = make(name, cfg, "teaching", groups=groups, dtypes=float32)
    params, opt = make(name, cfg, "flat", groups=groups, dtypes=float32)
    train(ref, ref_params, grads)
    train(opt, params, grads)
    assert_same(ref, ref_params, opt, params)
    assert sorted(str(b.dtype) for b in buckets(opt)) == ["float32"] * 2 + ["float64"] * 2


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_flat_equals_teaching_random(data):
    name = data.draw(st.sampled_from(list(CONFIGS)), label="optimizer")
    cfg = data.draw(st.sampled_from(CONFIGS[name]), label="cfg")
    shapes = [tuple(s) for s in data.draw(
        st.lists(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
                 min_size=1, max_size=6), label="shapes")]
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    flat.CHUNK_BYTES = data.draw(st.sampled_from([8, 24, 64, 1 << 17]), label="chunk bytes")
    flat.set_num_threads(data.draw(st.integers(1, 3), label="threads"))
    grads = gradients(shapes, 6, seed=data.draw(st.integers(0, 99), label="seed"), dtype=dtype)
    ref_params, ref = make(name, cfg, "teaching", shapes, dtype)
    params, opt = make(name, cfg, "flat", shapes, dtype,
                       inplace=data.draw(st.booleans(), label="inplace"))
    train(ref, ref_params, grads)
    train(opt, params, grads)
    assert_same(ref, ref_params, opt, params)


def test_flat_matches_torch_too():
    """Transitively true (teaching == torch, flat == teaching); checked once directly."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = optim.Adam(ours, lr=0.01, amsgrad=True, weight_decay=0.1, impl="flat")
    topt = torch.optim.Adam(theirs, lr=0.01, amsgrad=True, weight_decay=0.1, foreach=False)
    for step in gradients(SHAPES, 20, skip=False):
        for p, q, g in zip(ours, theirs, step):
            p.grad, q.grad = mg.Tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], topt.state[q]["exp_avg_sq"],
                                   rtol=1e-10)


# ---------------------------------------------------------------------------
# the in-place twins against the pure formulas
# ---------------------------------------------------------------------------

TWINS = [
    (sgd, sgd_, sgd_init, {"momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    (sgd, sgd_, sgd_init, {"momentum": 0.9, "dampening": 0.3, "maximize": True}),
    (sgd, sgd_, sgd_init, {"momentum": 0.9, "momentum_form": "lecture", "nesterov": True,
                           "weight_decay": 0.1}),
    (sgd, sgd_, sgd_init, {"weight_decay": 0.1}),
    (adagrad, adagrad_, adagrad_init, {"weight_decay": 0.1, "lr_decay": 0.1}),
    (adagrad, adagrad_, adagrad_init, {"eps_inside_sqrt": True, "maximize": True}),
    (rmsprop, rmsprop_, rmsprop_init, {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (rmsprop, rmsprop_, rmsprop_init, {"eps_inside_sqrt": True, "maximize": True}),
    (adam, adam_, adam_init, {"amsgrad": True, "weight_decay": 0.1,
                              "decoupled_weight_decay": True}),
    (adam, adam_, adam_init, {"amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    (adam, adam_, adam_init, {"bias_correction": "efficient", "maximize": True}),
]


@pytest.mark.parametrize("aliased", [True, False], ids=["out-is-state", "separate-out"])
@pytest.mark.parametrize("pure, twin, init, kwargs", TWINS,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_inplace_twin_equals_pure_formula(pure, twin, init, kwargs, aliased):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(50).astype(np.float32)
    init_kwargs = {k: v for k, v in kwargs.items()
                   if k in ("momentum", "momentum_form", "centered", "amsgrad")}
    state = init(theta, **init_kwargs)
    theta_twin, state_twin = theta.copy(), copy.deepcopy(state)
    for _ in range(4):
        grad = rng.standard_normal(50).astype(np.float32)
        grad_before = grad.copy()
        theta, state, _ = pure(theta, grad, state, **kwargs)
        if aliased:    # as in the flat path: the new state is written over the old
            out = {k: state_twin.get(k, np.full_like(theta_twin, np.nan)) for k in state}
        else:
            out = {k: np.full_like(theta_twin, np.nan) for k in state}
        work = [np.full_like(theta_twin, np.nan) for _ in range(flat.N_WORK)]
        new = twin(theta_twin, grad, state_twin, out, work, **kwargs)
        np.testing.assert_array_equal(grad, grad_before)            # the gradient is read only
        assert set(new) == set(state)
        for k in state:
            if isinstance(state[k], np.ndarray):
                assert new[k] is out[k]
            np.testing.assert_array_equal(new[k], state[k], err_msg=k)
        np.testing.assert_array_equal(theta_twin, theta)
        state_twin = new


# ---------------------------------------------------------------------------
# state dicts, schedulers, tracing, replaced arrays
# ---------------------------------------------------------------------------

ROUND_TRIP = [
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "momentum_form": "lecture"}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "eps_inside_sqrt": True}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"bias_correction": "efficient"}),
]


@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "save-load"])
@pytest.mark.parametrize("impls", [("flat", "flat"), ("flat", "teaching"), ("teaching", "flat")],
                         ids=lambda x: "-to-".join(x))
@pytest.mark.parametrize("case", ROUND_TRIP, ids=case_id)
def test_state_dict_round_trip(case, impls, through_file, tmp_path):
    name, cfg = case
    grads = gradients(SHAPES, 16)
    ref_params, ref = make(name, cfg, "teaching")
    train(ref, ref_params, grads)

    params, opt = make(name, cfg, impls[0])
    train(opt, params, grads[:7])
    sd, values = take_checkpoint(opt, params, tmp_path, through_file)
    train(opt, params, grads[7:9])           # must not change the state dict taken
    resumed = [mg.Tensor(np.array(v), requires_grad=True) for v in values]
    opt_resumed = getattr(optim, name)(resumed, lr=123.0, impl=impls[1])
    opt_resumed.load_state_dict(sd)
    if impls[1] == "flat":
        assert_views(opt_resumed)           # loaded straight into the flat buffers
    train(opt_resumed, resumed, grads[7:])
    assert_same(ref, ref_params, opt_resumed, resumed)


def test_state_dict_of_flat_has_the_teaching_layout():
    grads = gradients(SHAPES, 5)
    a_params, a = make("Adam", {"amsgrad": True}, "teaching")
    b_params, b = make("Adam", {"amsgrad": True}, "flat")
    train(a, a_params, grads)
    train(b, b_params, grads)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys()
    for k in sa["state"]:
        for key, value in sa["state"][k].items():
            other = sb["state"][k][key]
            assert type(value) is type(other)
            np.testing.assert_array_equal(value, other)
            if isinstance(other, np.ndarray):
                assert other.shape == SHAPES[k]
                assert not any(np.shares_memory(other, buf) for bucket in buckets(b)
                               for buf in bucket.buffers.values())   # copies


def test_hyperparameters_are_read_every_step():
    """A scheduler (lr) and a hand change of betas between steps: flat follows like teaching."""
    grads = gradients(SHAPES, STEPS)
    results = []
    for impl in ("teaching", "flat"):
        params, opt = make("Adam", {"lr": 0.1}, impl)
        sched = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        for t, step in enumerate(grads):
            for p, g in zip(params, step):
                p.grad = None if g is None else mg.Tensor(g.copy())
            if t == 5:
                opt.param_groups[0]["betas"] = (0.5, 0.9)
            opt.step()
            sched.step()
        results.append((params, opt))
    (a_params, a), (b_params, b) = results
    assert b.param_groups[0]["lr"] == a.param_groups[0]["lr"] < 0.1
    assert_same(a, a_params, b, b_params)


def test_trace_takes_the_teaching_path_and_keeps_the_buffers():
    grads = gradients(SHAPES, 8)
    a_params, a = make("RMSprop", {"momentum": 0.5, "centered": True}, "teaching")
    b_params, b = make("RMSprop", {"momentum": 0.5, "centered": True}, "flat")
    a.set_trace(True)
    b.set_trace(True)
    train(a, a_params, grads[:4])
    train(b, b_params, grads[:4])
    assert len(a.trace) == len(b.trace) > 0
    for ra, rb in zip(a.trace, b.trace):
        assert ra.keys() == rb.keys()
        for key in ra:
            np.testing.assert_array_equal(ra[key], rb[key])
    assert_views(b)
    a.set_trace(False)
    b.set_trace(False)
    train(a, a_params, grads[4:])
    train(b, b_params, grads[4:])
    assert_same(a, a_params, b, b_params)
    assert_views(b)


def test_sgd_lecture_nesterov_with_closure():
    rng = np.random.default_rng(0)
    target = [rng.standard_normal(s) for s in SHAPES]
    results = []
    for impl in ("teaching", "flat"):
        params, opt = make("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True,
                                   "momentum_form": "lecture", "weight_decay": 0.1}, impl)

        def closure(opt=opt, params=params):
            opt.zero_grad()
            loss = sum(((p - mg.Tensor(c)) ** 2).sum() for p, c in zip(params, target))
            loss.backward()
            return loss

        for _ in range(10):
            opt.step(closure)
        results.append((params, opt))
    (a_params, a), (b_params, b) = results
    assert_same(a, a_params, b, b_params)


def test_replaced_arrays_are_adopted_at_the_next_step():
    """p.data = ..., Module-style dtype change, opt.state[p][key] = ...: all noticed."""
    grads = gradients(SHAPES, 9, skip=False)
    runs = []
    for impl in ("teaching", "flat"):
        params, opt = make("Adam", {"lr": 0.05}, impl)
        train(opt, params, grads[:3])
        params[2].data = np.full(SHAPES[2], 0.5)                      # new array, same kind
        opt.state[params[3]]["exp_avg"] = np.ones(SHAPES[3])          # state replaced
        train(opt, params, grads[3:6])
        for p in params:                                              # a dtype change
            p.data = p.data.astype(np.float32)
            for key, value in opt.state[p].items():
                if isinstance(value, np.ndarray):
                    opt.state[p][key] = value.astype(np.float32)
        train(opt, params, [[g.astype(np.float32) for g in step] for step in grads[6:]])
        runs.append((params, opt))
    (a_params, a), (b_params, b) = runs
    assert_same(a, a_params, b, b_params)
    assert_views(b)
    assert [str(bucket.dtype) for bucket in buckets(b)] == ["float32"]


def test_add_param_group_and_zero_grad_without_none():
    extra_init = np.random.default_rng(9).standard_normal((4,))
    runs = []
    for impl in ("teaching", "flat"):
        params, opt = make("SGD", {"lr": 0.1, "momentum": 0.9}, impl, shapes=[(3,), (2, 2)])
        extra = mg.Tensor(extra_init.copy(), requires_grad=True)
        grads = gradients([(3,), (2, 2), (4,)], 10, skip=False)
        for t, step in enumerate(grads):
            if t == 4:
                opt.add_param_group({"params": [extra], "lr": 0.01, "nesterov": True})
                params.append(extra)
            if t == 7:
                opt.zero_grad(set_to_none=False)      # zero gradients still move with momentum
            else:
                for p, g in zip(params, step):
                    p.grad = mg.Tensor(g.copy())
            opt.step()
        runs.append((params, opt))
    (a_params, a), (b_params, b) = runs
    assert_same(a, a_params, b, b_params)


def test_model_parameters_are_views_and_the_model_still_trains():
    from minigrad.nn import Linear

    layer = Linear(4, 3)
    opt = optim.Adam(layer.parameters(), lr=0.1, impl="flat")
    (bucket,) = buckets(opt)
    assert all(np.shares_memory(p.data, bucket.theta) for p in layer.parameters())
    x = mg.Tensor(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32))
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = (layer(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_impl_argument_is_checked():
    p = mg.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="Invalid impl: 'fast'"):
        optim.Adam([p], impl="fast")

    class Mine(optim.Optimizer):             # _flat is False unless a class says otherwise
        def __init__(self, params, impl="teaching"):
            super().__init__(params, {"lr": 0.1}, impl=impl)

    with pytest.raises(ValueError, match="Mine has no flat fast path"):
        Mine([p], impl="flat")
    with pytest.raises(ValueError, match="every parameter of a group once"):
        with pytest.warns(UserWarning, match="duplicate"):
            optim.SGD([p, p], impl="flat")
    assert optim.SGD([p]).impl == "teaching"
    assert "impl" not in optim.SGD([p], impl="flat").state_dict()["param_groups"][0]


def test_deepcopy_of_a_flat_optimizer_is_independent_and_equal():
    grads = gradients(SHAPES, 8)
    params, opt = make("Adam", {"amsgrad": True}, "flat")
    train(opt, params, grads[:4])
    twin = copy.deepcopy(opt)
    twin_params = twin.param_groups[0]["params"]
    train(opt, params, grads[4:])
    train(twin, twin_params, grads[4:])
    assert_same(opt, params, twin, twin_params)
    assert_views(twin)
    assert not np.shares_memory(params[0].data, twin_params[0].data)


def test_a_wrapper_that_replaces_state_arrays():
    """Lookahead with pullback momentum puts new momentum arrays into the inner state."""
    grads = gradients(SHAPES, 12)
    runs = []
    for impl in ("teaching", "flat"):
        params, inner = make("SGD", {"lr": 0.05, "momentum": 0.9}, impl)
        opt = optim.Lookahead(inner, k=3, alpha=0.5, pullback_momentum="pullback")
        train(opt, params, grads)
        runs.append((params, inner))
    (a_params, a), (b_params, b) = runs
    assert_same(a, a_params, b, b_params)
    b._sync_flat()             # the last synchronisation replaced them; the next step would
    assert_views(b)


def test_threads_setting():
    flat.set_num_threads(1)
    assert flat.get_num_threads() == 1
    with pytest.raises(ValueError):
        flat.set_num_threads(0)


def _step_in_child(conn):
    params, opt = make("Adam", {}, "flat", shapes=[(40,), (30,)])
    train(opt, params, gradients([(40,), (30,)], 3, skip=False))
    conn.send(params[0].numpy())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threads_work_in_a_forked_child():
    """The thread pool is made again in a child process (threads do not survive fork)."""
    import multiprocessing

    params, opt = make("Adam", {}, "flat", shapes=[(40,), (30,)])
    train(opt, params, gradients([(40,), (30,)], 3, skip=False))   # the parent has a pool
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_step_in_child, args=(child,), daemon=True)
    proc.start()
    try:
        assert parent.poll(60), "the child did not answer"
        np.testing.assert_array_equal(parent.recv(), params[0].numpy())
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


@pytest.mark.gpu
@pytest.mark.parametrize("name, cfg", [("Adam", {"amsgrad": True, "weight_decay": 0.1}),
                                       ("SGD", {"momentum": 0.9, "nesterov": True}),
                                       ("RMSprop", {"centered": True, "momentum": 0.5}),
                                       ("Adagrad", {"lr_decay": 0.1})])
def test_flat_on_gpu_equals_teaching(name, cfg, monkeypatch):
    """On CuPy without the fused kernels a bucket is one chunk (one kernel per ufunc); still the
    teaching path's results, bitwise (the fused kernels: tests/gpu/test_gpu_optim.py)."""
    monkeypatch.setenv("MINIGRAD_GPU_FUSED", "0")
    grads = gradients(SHAPES, 6)
    runs = []
    for impl in ("teaching", "flat"):
        rng = np.random.default_rng(0)
        params = [mg.Tensor(rng.standard_normal(s), requires_grad=True, device="cuda")
                  for s in SHAPES]
        opt = getattr(optim, name)(params, impl=impl, **cfg)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = None if g is None else mg.Tensor(g.copy(), device="cuda")
            opt.step()
        runs.append((params, opt))
    (a_params, a), (b_params, b) = runs
    def host(x):
        return np.asarray(x) if isinstance(x, (int, float)) else mg.backend.to_numpy(x)

    for p, q in zip(a_params, b_params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert set(a.state.get(p, {})) == set(b.state.get(q, {}))
        for key, value in a.state.get(p, {}).items():
            np.testing.assert_array_equal(host(value), host(b.state[q][key]))


# ---------------------------------------------------------------------------
# exact identities the twins use: Adam's division by 1 - beta^t once that is 1
# ---------------------------------------------------------------------------

# the first step t at which 1 - beta^t rounds to 1 in the dtype, for beta1 = 0.9 and beta2 = 0.999
ONE_FROM = {np.float32: (165, 17321), np.float64: (356, 37412)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_the_steps_where_the_bias_corrections_become_one(dtype):
    """The premise of the tests below: those are the first steps where 1 - beta^t is 1."""
    for beta, t in zip((0.9, 0.999), ONE_FROM[dtype]):
        assert dtype(1 - beta ** (t - 1)) != 1
        assert dtype(1 - beta ** t) == 1


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_adam_twin_equals_formula_across_the_exact_divisions(dtype, amsgrad):
    """Steps on both sides of each boundary (the twin leaves a division out after it): bitwise equal."""
    rng = np.random.default_rng(3)
    for start in ONE_FROM[dtype]:
        theta = rng.standard_normal(40).astype(dtype)
        state = adam_init(theta, amsgrad=amsgrad)
        state["step"] = start - 4
        state["exp_avg"][...] = rng.standard_normal(40)
        state["exp_avg_sq"][...] = rng.random(40)
        if amsgrad:
            state["max_exp_avg_sq"][...] = rng.random(40)
        theta_twin, state_twin = theta.copy(), copy.deepcopy(state)
        work = [np.full_like(theta, np.nan) for _ in range(flat.N_WORK)]
        for _ in range(7):
            grad = rng.standard_normal(40).astype(dtype)
            grad[:3] = [0.0, -0.0, np.inf]                  # zeros and an infinity divide exactly too
            with np.errstate(invalid="ignore"):
                theta, state, _ = adam(theta, grad, state, amsgrad=amsgrad, lr=0.01)
                state_twin = adam_(theta_twin, grad, state_twin, state_twin, work,
                                   amsgrad=amsgrad, lr=0.01)
            for key in state:
                np.testing.assert_array_equal(state_twin[key], state[key], err_msg=key)
                if isinstance(state[key], np.ndarray):
                    assert np.array_equal(np.signbit(state_twin[key]), np.signbit(state[key]))
            np.testing.assert_array_equal(theta_twin, theta)
            assert np.array_equal(np.signbit(theta_twin), np.signbit(theta))


class _CountingDivisions:
    """NumPy, counting the calls of ``divide`` (the ``/=`` of the last line is not one of them)."""

    def __init__(self):
        self.divisions = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def divide(self, *args, **kwargs):
        self.divisions += 1
        return np.divide(*args, **kwargs)


@pytest.mark.parametrize("dtype, t, expected", [
    (np.float32, 164, 2), (np.float32, 165, 1), (np.float32, 17321, 0),
    (np.float64, 165, 2), (np.float64, 356, 1), (np.float64, 37412, 0),
])
def test_adam_twin_leaves_out_a_division_by_one(monkeypatch, dtype, t, expected):
    """m_t / (1 - beta1^t) and v_t / (1 - beta2^t) are passes only while the divisor is not 1."""
    import optim.fast.inplace as inplace

    counting = _CountingDivisions()
    monkeypatch.setattr(inplace, "get_array_module", lambda *arrays: counting)
    theta = np.ones(8, dtype=dtype)
    state = {**adam_init(theta), "step": t - 1}
    work = [np.empty_like(theta) for _ in range(flat.N_WORK)]
    adam_(theta, np.full_like(theta, 0.5), state, dict(state), work)
    assert counting.divisions == expected
    counting.divisions = 0                           # the efficient form never divides an array
    adam_(theta, np.full_like(theta, 0.5), state, dict(state), work, bias_correction="efficient")
    assert counting.divisions == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_flat_equals_teaching_past_the_exact_divisions(dtype):
    """The optimizers themselves across beta1's boundary, every parameter at the same step."""
    grads = gradients(SHAPES, 7, dtype=dtype, skip=False)
    results = []
    for impl in ("teaching", "flat"):
        params, opt = make("Adam", {"lr": 0.01, "amsgrad": True}, impl, dtype=dtype)
        train(opt, params, grads[:1])
        for p in params:
            opt.state[p]["step"] = ONE_FROM[dtype][0] - 3
        train(opt, params, grads[1:])
        assert all(opt.state[p]["step"] == ONE_FROM[dtype][0] + 3 for p in params)
        results.append((opt, params))
    (ref, ref_params), (opt, params) = results
    assert_same(ref, ref_params, opt, params)


def test_twins_still_check_their_choices():
    """The twins test a valid choice cheaply; anything else still gets the full check's error."""
    from optim.checks import HyperparameterTypeValueError

    theta = np.zeros(3)
    work = [np.empty(3) for _ in range(flat.N_WORK)]
    state = adam_init(theta)
    with pytest.raises(ValueError, match="bias_correction: 'Standard'"):
        adam_(theta, theta, state, dict(state), work, bias_correction="Standard")
    with pytest.raises(HyperparameterTypeValueError, match="bias_correction"):
        adam_(theta, theta, state, dict(state), work, bias_correction=1)
    with pytest.raises(ValueError, match="momentum_form: 'lectures'"):
        sgd_(theta, theta, {}, {}, work, momentum=0.9, momentum_form="lectures")
