"""The compiled CPU kernels of ``optim.fast.cpu``: bitwise equal to the kernel functions run by NumPy.

Every variant of every kernel function (each flag on and off: amsgrad,
maximize, weight decay, decoupled, efficient bias correction, momentum,
dampening, nesterov, centered, epsilon inside the root), in float32 and
float64, compiled to C, must write the same bits as the same function run by
NumPy, on data with zeros of both signs, subnormals, huge values, infinities
and NaNs (a NaN result must be a NaN there too; only its sign bit is free,
see :func:`assert_bitwise`). The variants are compiled together, one
compiler run per dtype, into a temporary cache. Then the flat path with the
compiled kernels (the kernels must have run) against the teaching path, and
every way of falling back: no compiler, ``MINIGRAD_CPU_FUSED=0``, calls a
kernel does not cover, chunks it cannot take.
``tests/optim/test_fast_path.py`` runs all of the flat path's cases with the
compiled kernels too.
"""
import itertools
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
import optim
from optim.fast import cpu, flat, kernels
from optim.fast.kernels import KernelUnavailable

pytestmark = pytest.mark.skipif(cpu.compiler() is None, reason="no C compiler found (CC, cc, gcc)")

DTYPES = [np.float32, np.float64]
UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _product(**choices):
    return [dict(zip(choices, values)) for values in itertools.product(*choices.values())]


TF = (False, True)
# (kernel function, flags, number of arrays, number of scalars) for every flag combination
VARIANTS = (
    [(kernels.adam_kernel, f, 4 + f["amsgrad"], 9)
     for f in _product(amsgrad=TF, maximize=TF, weight_decay=TF, decoupled=TF, efficient=TF)]
    + [(kernels.sgd_kernel, f, 2 + f["momentum"], 4)
       for f in _product(momentum=TF, dampening=(0, 0.1), weight_decay=TF, nesterov=TF, maximize=TF)]
    + [(kernels.rmsprop_kernel, f, 3 + f["centered"] + f["momentum"], 6)
       for f in _product(centered=TF, momentum=TF, weight_decay=TF, maximize=TF, eps_inside_sqrt=TF)]
    + [(kernels.adagrad_kernel, f, 3, 3) for f in _product(weight_decay=TF, maximize=TF, eps_inside_sqrt=TF)]
)
IDS = [f"{b.__name__[:-7]}-" + "-".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in f.items())
       for b, f, _, _ in VARIANTS]
SCALARS = {"adam_kernel": (0.01, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 0.19, 0.002),
           "sgd_kernel": (0.01, 0.9, 0.9, 0.01),
           "rmsprop_kernel": (0.01, 0.99, 0.01, 1e-8, 0.9, 0.01),
           "adagrad_kernel": (0.01, 1e-10, 0.01)}


@pytest.fixture(scope="module", autouse=True)
def kernel_cache(tmp_path_factory):
    """A temporary kernel cache, compiled kernels on, and a fresh table of kernels for this module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINIGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("kernels")))
        mp.delenv("MINIGRAD_CPU_FUSED", raising=False)
        mp.setattr(kernels, "_KERNELS", {})
        yield


def special_values(dtype, n, seed):
    """Random values over many magnitudes, a third of them replaced by zeros of both signs,
    subnormals, the extremes, infinities and NaNs of both signs."""
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 4, n)).astype(dtype)
    specials = np.array([0.0, -0.0, info.smallest_subnormal, -info.smallest_subnormal, info.tiny, -info.tiny,
                         info.max, -info.max, info.max / 4, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0], dtype=dtype)
    where = rng.random(n) < 1 / 3
    x[where] = rng.choice(specials, where.sum())
    return x


def arguments(builder, dtype, n_arrays, n=203, seed=0):
    arrays = [special_values(dtype, n, seed + k) for k in range(n_arrays)]
    return arrays, [dtype(s) for s in SCALARS[builder.__name__]]


@pytest.fixture(scope="module")
def compiled():
    """Every variant compiled for both dtypes: one compiler run per dtype."""
    calls = []
    for builder, flags, n_arrays, _ in VARIANTS:
        for dtype in DTYPES:
            arrays, scalars = arguments(builder, dtype, n_arrays)
            calls.append((kernels.kernel(builder, np, **flags), (*arrays, *scalars)))
    cpu.precompile(calls, stem="test_kernels")
    return {id(k): k for k, _ in calls}


def assert_bitwise(a, b, what, nan_sign=False):
    """Every element's bits equal; ``nan_sign=True``: except the sign bit of a NaN, where both are NaN.

    IEEE 754 leaves the sign of a NaN result unspecified, and C compilers use
    that freedom (GCC folds ``-a + b`` into ``b - a`` and orders the operands
    of ``+`` and ``*`` as it likes; so are NumPy's own loops compiled), so
    which of two NaNs an operation returns, or a negated NaN's sign, is not
    something a compiled kernel can promise. Every other bit it does.
    """
    a_bits, b_bits = a.view(UINT[a.dtype]), b.view(UINT[b.dtype])
    differ = a_bits != b_bits
    if nan_sign:
        differ &= ~(np.isnan(a) & np.isnan(b))
    bad = np.flatnonzero(differ)
    assert bad.size == 0, (f"{what}: {bad.size} elements differ, e.g. at {bad[:5]}: "
                           f"{a[bad[:5]]} ({a_bits[bad[:5]]}) vs {b[bad[:5]]} ({b_bits[bad[:5]]})")


# ---------------------------------------------------------------------------
# the kernels against the kernel functions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("builder, flags, n_arrays, n_scalars", VARIANTS, ids=IDS)
def test_compiled_kernel_equals_numpy_bitwise(compiled, builder, flags, n_arrays, n_scalars, dtype):
    """Every bit of every result, but a NaN's sign (see :func:`assert_bitwise`)."""
    fn = kernels.kernel(builder, np, **flags)
    assert isinstance(fn, cpu.CpuKernel) and np.dtype(dtype) in fn.compiled
    for seed in (0, 100):
        arrays, scalars = arguments(builder, dtype, n_arrays, seed=seed)
        assert len(scalars) == n_scalars
        expected = [a.copy() for a in arrays]
        with np.errstate(all="ignore"):
            builder(np, **flags)(*expected, *scalars)
        fn(*arrays, *scalars)
        for k, (a, e) in enumerate(zip(arrays, expected)):
            assert_bitwise(a, e, f"array {k} (seed {seed})", nan_sign=True)


def test_maximum_follows_numpy_on_nan_and_signed_zeros():
    """``np.maximum``'s rules, which C's fmax does not follow: NaN propagates, the first of two NaNs,
    and of +0 and -0 the second argument."""
    def builder(xp):
        def step(a, b):
            xp.maximum(a, b, out=a)
        return step
    nan, neg_nan = np.float64(np.nan), -np.float64(np.nan)
    a = np.array([0.0, -0.0, nan, 1.0, nan, neg_nan, -np.inf, 2.0])
    b = np.array([-0.0, 0.0, 1.0, nan, neg_nan, nan, nan, 1.0])
    for dtype in DTYPES:
        x, y = a.astype(dtype), b.astype(dtype)
        expected = np.maximum(x, y)
        cpu.CpuKernel(builder, {}, "maximum")(x, y)
        assert_bitwise(x, expected, "maximum")
        assert np.signbit(x[:2]).tolist() == [True, False]           # the second of two zeros


def test_a_read_after_an_out_write_sees_the_new_value():
    """As in NumPy: ``out=a`` replaces ``a``'s value for the rest of the function."""
    def builder(xp):
        def step(a, b, s):
            xp.add(a, s, out=a)                  # a <- a + s
            xp.multiply(a, b, out=b)             # b <- (a + s) b
            xp.negative(a, out=a)                # a <- -(a + s)
        return step
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(33), rng.standard_normal(33)
    ea, eb = a.copy(), b.copy()
    builder(np)(ea, eb, 0.5)
    cpu.CpuKernel(builder, {}, "reads")(a, b, 0.5)
    assert_bitwise(a, ea, "a")
    assert_bitwise(b, eb, "b")
    source = cpu.c_source("f", builder, {}, np.float64, 2, 1)
    assert "a0[i] = t2;" in source and "a1[i] = t1;" in source


def test_the_tracer_rejects_what_it_cannot_compile():
    def constant(xp):
        def step(a):
            xp.add(a, 2.0, out=a)
        return step

    def into_a_result(xp):
        def step(a):
            xp.add(a, xp.sqrt(a), out=xp.sqrt(a))
        return step
    with pytest.raises(TypeError, match="only compute with its arguments"):
        cpu.c_source("f", constant, {}, np.float32, 1, 0)
    with pytest.raises(TypeError, match="out= must be one of"):
        cpu.c_source("f", into_a_result, {}, np.float32, 1, 0)


def test_no_fused_multiply_add_and_no_fast_math():
    assert "-ffp-contract=off" in cpu.CFLAGS and not any("fast-math" in f for f in cpu.CFLAGS)


# ---------------------------------------------------------------------------
# the flat path with the compiled kernels
# ---------------------------------------------------------------------------

def _train(name, cfg, impl, dtype, steps=5, shapes=((70000,), (3, 5), (), (40000,), (7,))):
    rng = np.random.default_rng(0)
    params = [mg.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    opt = getattr(optim, name)(params, impl=impl, **cfg)
    grads = np.random.default_rng(1)
    for _ in range(steps):
        for p in params:
            p.grad = mg.Tensor(grads.standard_normal(p.shape).astype(dtype))
        opt.step()
    return params, opt


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name, cfg", [("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {}),
                                       ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                       ("RMSprop", {"centered": True, "momentum": 0.5}),
                                       ("Adagrad", {"lr_decay": 0.01})])
def test_flat_path_with_compiled_kernels_equals_teaching(monkeypatch, name, cfg, threads):
    """Chunks of 4096 float32 elements (a parameter cut into pieces), on 1 and 2 threads: every chunk
    after SGD's first step runs a compiled kernel, and the results are bitwise the teaching path's."""
    monkeypatch.setattr(flat, "CHUNK_BYTES", 16384)
    saved = flat.get_num_threads()
    flat.set_num_threads(threads)
    try:
        before = dict(kernels.stats)
        params, opt = _train(name, cfg, "flat", np.float32)
        fused, not_fused = (kernels.stats[k] - before[k] for k in ("fused", "not_fused"))
    finally:
        flat.set_num_threads(saved)
    rows = 18 + 10 + 3             # 70000 and 40000 elements in pieces; each small parameter a row of its own
    twin_chunks = 18 + 10 + 2      # the twin gathers (3, 5) and () into one chunk (SGD's first step)
    assert fused == (4 if name == "SGD" else 5) * rows and not_fused == (twin_chunks if name == "SGD" else 0)
    ref_params, ref = _train(name, cfg, "teaching", np.float32)
    for p, q in zip(ref_params, params):
        assert_bitwise(q.numpy(), p.numpy(), name)
        for key, value in ref.state[p].items():
            if isinstance(value, np.ndarray) and value.shape == p.shape:
                assert_bitwise(np.asarray(opt.state[q][key]), value, key)


# ---------------------------------------------------------------------------
# falling back
# ---------------------------------------------------------------------------

def _fresh(monkeypatch):
    """New kernels (so that none compiled before is reused) and no recorded failures."""
    monkeypatch.setattr(kernels, "_KERNELS", {})
    monkeypatch.setattr(cpu, "failures", {})


def test_a_missing_compiler_warns_once_and_the_twin_gives_the_same_numbers(monkeypatch, tmp_path):
    _fresh(monkeypatch)
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path / "cache"))
    before = dict(kernels.stats)
    with pytest.warns(RuntimeWarning, match="could not be built") as caught:
        params, _ = _train("Adam", {}, "flat", np.float64, steps=4)
    assert len([w for w in caught if "could not be built" in str(w.message)]) == 1
    assert kernels.stats["fused"] == before["fused"] and kernels.stats["not_fused"] > before["not_fused"]
    assert any("no-such-cc" in reason for reason in cpu.failures.values())
    monkeypatch.setenv("MINIGRAD_CPU_FUSED", "0")
    ref_params, _ = _train("Adam", {}, "teaching", np.float64, steps=4)
    for p, q in zip(ref_params, params):
        assert_bitwise(q.numpy(), p.numpy(), "Adam")


def test_switched_off_the_flat_path_runs_the_twin(monkeypatch):
    _fresh(monkeypatch)
    monkeypatch.setenv("MINIGRAD_CPU_FUSED", "0")
    assert not kernels.wanted("cpu")
    before = dict(kernels.stats)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, _ = _train("Adagrad", {}, "flat", np.float32, steps=3)
    assert kernels.stats == before
    monkeypatch.delenv("MINIGRAD_CPU_FUSED")
    compiled_params, _ = _train("Adagrad", {}, "flat", np.float32, steps=3)
    assert kernels.stats["fused"] > before["fused"]
    for p, q in zip(compiled_params, params):
        assert_bitwise(q.numpy(), p.numpy(), "Adagrad")


def test_a_cache_hit_does_not_compile(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path))
    flags = dict(weight_decay=True, maximize=True, eps_inside_sqrt=False)
    args = (*(np.ones(8) for _ in range(3)), 0.1, 1e-10, 0.01)
    first = cpu.CpuKernel(kernels.adagrad_kernel, flags, "adagrad(cache test)")
    first(*args)
    assert first.compiles == 1 and len(list(tmp_path.glob("*.so"))) == 1
    monkeypatch.setattr(cpu, "_loaded", {})                # as a new process would
    second = cpu.CpuKernel(kernels.adagrad_kernel, flags, "adagrad(cache test)")
    second(*args)
    assert second.compiles == 0
    assert not list(tmp_path.glob(".*.tmp"))               # no temporary left behind


def test_an_unwritable_cache_dir_falls_back_to_a_temporary_one(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(blocker / "kernels"))      # cannot be created
    monkeypatch.setattr(cpu, "_fallback_dir", None)
    directory = cpu.cache_dir()
    assert os.path.isdir(directory) and not directory.startswith(str(blocker))
    k = cpu.CpuKernel(kernels.adagrad_kernel, dict(weight_decay=False, maximize=False, eps_inside_sqrt=True),
                      "adagrad(fallback dir test)")
    theta = np.ones(5)
    k(theta, np.ones(5), np.zeros(5), 0.5, 0.0, 0.0)
    assert theta.tolist() == [0.5] * 5 and list(os.scandir(directory))


def test_calls_a_kernel_does_not_cover_raise_before_writing(compiled):
    flags = dict(amsgrad=False, maximize=False, weight_decay=False, decoupled=False, efficient=False)
    fn = kernels.kernel(kernels.adam_kernel, np, **flags)
    s = np.float32
    scalars = [s(x) for x in SCALARS["adam_kernel"]]

    def arrays(dtype=np.float32, n=16):
        return [np.linspace(1, 2, n).astype(dtype) for _ in range(4)]

    def check(args, match):
        saved = [a.copy() for a in args if isinstance(a, np.ndarray)]
        with pytest.raises(KernelUnavailable, match=match):
            fn(*args)
        for a, b in zip([a for a in args if isinstance(a, np.ndarray)], saved):
            np.testing.assert_array_equal(a, b)

    a = arrays(n=32)
    check([a[0][::2], *(x[:16] for x in a[1:]), *scalars], "C-contiguous")          # strided
    a = arrays()
    check([a[0], a[1].astype(np.float64), *a[2:], *scalars], "C-contiguous float32")  # another dtype
    check([*arrays(np.float16), *scalars], "no CPU kernel for")                       # float16
    big = np.linspace(1, 2, 20).astype(np.float32)
    a = arrays()
    check([a[0], a[1], big[:16], big[4:], *scalars], "overlap")                       # m and v overlap
    check([*arrays(), *scalars[:-1], np.float64(0.5)], "float64 scalar")             # NumPy would promote
    # the flat path's chunk: a kernel that cannot run leaves the chunk to the twin
    step_plan = kernels.Plan(fn, ("exp_avg", "exp_avg_sq"), tuple(scalars), {"step": 1})
    a = arrays()
    before = dict(kernels.stats)
    assert kernels.run_plan(step_plan, a[0][::2], a[1][::2], [a[2][::2], a[3][::2]]) is None
    assert kernels.stats["not_fused"] == before["not_fused"] + 1


def test_a_compiler_without_march_native_builds_without_it(monkeypatch, tmp_path):
    """A compiler that rejects ``-march=native`` (some ARM ones): the kernel is built without it, silently."""
    _fresh(monkeypatch)
    real = " ".join(cpu.compiler())
    script = tmp_path / "picky-cc"
    script.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = "-march=native" ] && '
                      '{ echo "unknown -march" >&2; exit 1; }; done\n'
                      f'exec {real} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("CC", str(script))
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path / "cache"))
    k = cpu.CpuKernel(kernels.adagrad_kernel, dict(weight_decay=False, maximize=False, eps_inside_sqrt=False),
                      "adagrad(picky compiler test)")
    theta, s = np.ones(7), np.zeros(7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k(theta, np.full(7, 2.0), s, 0.5, 0.0, 0.0)
    assert k.compiles == 1 and s.tolist() == [4.0] * 7 and theta.tolist() == [0.5] * 7


@pytest.mark.parametrize("case", ["strided gradient", "gradient is the parameter"])
def test_chunks_the_kernel_cannot_take_go_to_the_twin(monkeypatch, case):
    """A gradient that is a strided view (not contiguous), or the parameter's own memory (it would
    overlap ``theta``): those chunks run the NumPy twin, the others the kernel, and the numbers are
    the twin's everywhere."""
    monkeypatch.setattr(flat, "CHUNK_BYTES", 4096)

    def train(compiled):
        monkeypatch.setenv("MINIGRAD_CPU_FUSED", "1" if compiled else "0")
        rng = np.random.default_rng(0)
        params = [mg.Tensor(rng.standard_normal(n), requires_grad=True) for n in (3000, 10, 700)]
        opt = optim.Adam(params, impl="flat", lr=0.01)
        for _ in range(3):
            for i, p in enumerate(params):
                if i == 1 and case == "gradient is the parameter":
                    p.grad = mg.Tensor(p.data)                        # shares p's memory
                elif i == 1:
                    p.grad = mg.Tensor(rng.standard_normal(2 * p.shape[0])[::2])
                else:
                    p.grad = mg.Tensor(rng.standard_normal(p.shape))
            assert case != "strided gradient" or not params[1].grad.data.flags.c_contiguous
            opt.step()
        return params, opt
    before = dict(kernels.stats)
    compiled, _ = train(True)
    assert kernels.stats["fused"] > before["fused"] and kernels.stats["not_fused"] >= before["not_fused"] + 3
    twin, _ = train(False)
    for p, q in zip(twin, compiled):
        assert_bitwise(q.numpy(), p.numpy(), case)
