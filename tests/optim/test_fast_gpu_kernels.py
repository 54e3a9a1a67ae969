"""The fused kernels' functions (``optim.fast.kernels``), run on NumPy as written: bitwise equal to the formulas.

Each kernel function is plain array code that ``cupy.fuse`` compiles on the
GPU and ``optim.fast.cpu`` compiles to C on the CPU; with ``MINIGRAD_CPU_FUSED=0``
NumPy runs it as written. Here the flat path is made to use the kernel functions
that way on the CPU (``kernels.wanted`` patched to say yes), and 20 steps of every
configuration of SGD, Adam, AdamW, RMSprop and Adagrad of the parity tables
must equal the teaching path's (the pure formula) bit for bit, in float64 and
float32, with tiny chunks so that chunks gather small parameters and cut
large ones. Which configurations the kernels cover is checked too (the rest
runs the in-place twin).
"""
import numpy as np
import pytest
from optim_utils import CONVENTION_CONFIGS, TORCH_CONFIGS, case_id

import minigrad as mg
import optim
from optim.fast import flat, gpu, kernels

SHAPES = [(), (5,), (4, 3), (1,), (37,), (3, 1)]
STEPS = 20
CASES = [(name, cfg) for name in ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW")
         for cfg in TORCH_CONFIGS[name] + CONVENTION_CONFIGS.get(name, [])]


@pytest.fixture(autouse=True)
def kernels_on_cpu(monkeypatch):
    """The flat path runs the kernel functions on NumPy as written (not compiled); chunks of 10 float32 /
    5 float64 elements."""
    monkeypatch.setenv("MINIGRAD_CPU_FUSED", "0")
    monkeypatch.setattr(kernels, "wanted", lambda device: True)
    monkeypatch.setattr(flat, "CHUNK_BYTES", 40)
    saved = flat.get_num_threads()
    flat.set_num_threads(1)
    yield
    flat.set_num_threads(saved)


def run(name, cfg, impl, dtype, steps=STEPS):
    rng = np.random.default_rng(0)
    params = [mg.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = getattr(optim, name)(params, impl=impl, **cfg)
    grads = np.random.default_rng(1)
    for t in range(steps):
        for i, p in enumerate(params):
            skip = i == 1 and t % 3 == 2              # a parameter without a gradient now and then
            p.grad = None if skip else mg.Tensor(grads.standard_normal(SHAPES[i]).astype(dtype))
        if name == "SGD" and cfg.get("momentum_form") == "lecture" and cfg.get("nesterov"):
            opt.step(lambda: None)
        else:
            opt.step()
    return params, opt


def _host(x):
    return np.asarray(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, cfg", CASES, ids=[case_id(c) for c in CASES])
def test_fused_kernels_equal_the_formula_bitwise(name, cfg, dtype):
    if name == "SGD" and cfg.get("momentum_form") == "lecture" and cfg.get("nesterov"):
        pytest.skip("the look-ahead form needs a closure that recomputes the gradient")
    before = dict(kernels.stats)
    a_params, a = run(name, cfg, "teaching", dtype)
    b_params, b = run(name, cfg, "flat", dtype)
    assert kernels.stats["fused"] > before["fused"] or (name == "SGD" and cfg.get("momentum_form") == "lecture")
    for p, q in zip(a_params, b_params):
        assert q.data.dtype == dtype
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert set(a.state.get(p, {})) == set(b.state.get(q, {}))
        for key, value in a.state.get(p, {}).items():
            np.testing.assert_array_equal(_host(value), _host(b.state[q][key]))


def test_kernel_coverage():
    """Which optimizers have a kernel: the five flat ones, not a subclass that changes the formula."""
    class MyAdam(optim.Adam):
        def _update(self, theta, grad, state, group):
            return super()._update(theta, grad, state, group)

    p = [mg.Tensor(np.ones(3), requires_grad=True)]
    assert kernels._chunk_function(optim.AdamW(p)) is kernels.FUSED_OPTIMIZERS["Adam"]
    assert kernels._chunk_function(optim.SGD(p, lr=0.1)) is kernels.FUSED_OPTIMIZERS["SGD"]
    assert kernels._chunk_function(MyAdam(p)) is None
    assert kernels._chunk_function(optim.Adamax(p)) is None


def test_kernel_functions_write_in_place():
    """A kernel writes theta and the state arrays it is given, and nothing else."""
    rng = np.random.default_rng(0)
    theta, grad, m, v = (rng.standard_normal(8) for _ in range(4))
    v = np.abs(v)
    grad_before = grad.copy()
    fn = kernels.kernel(kernels.adam_kernel, np, amsgrad=False, maximize=False, weight_decay=False,
                    decoupled=False, efficient=False)
    state = {"step": 0, "exp_avg": m.copy(), "exp_avg_sq": v.copy()}
    expected, new_state, _ = optim.functional.adam(theta.copy(), grad, state, lr=0.1)
    fn(theta, grad, m, v, 0.1, 0.9, 1 - 0.9, 0.999, 1 - 0.999, 1e-8, 0.0, 1 - 0.9, 1 - 0.999)
    np.testing.assert_array_equal(theta, expected)
    np.testing.assert_array_equal(m, new_state["exp_avg"])
    np.testing.assert_array_equal(v, new_state["exp_avg_sq"])
    np.testing.assert_array_equal(grad, grad_before)


def test_cpu_flat_path_does_not_ask_for_kernels(monkeypatch):
    """Without the patch and with ``MINIGRAD_CPU_FUSED=0`` the CPU never runs a fused kernel (the NumPy twin)."""
    monkeypatch.undo()
    monkeypatch.setenv("MINIGRAD_CPU_FUSED", "0")
    assert kernels.wanted("cpu") is False
    before = dict(kernels.stats)
    run("Adam", {}, "flat", np.float64, steps=2)
    assert kernels.stats == before


def test_a_kernel_that_cannot_be_built_falls_back_once(monkeypatch):
    """A kernel whose first call fails warns once, is recorded, and the step runs the in-place twin."""
    monkeypatch.setattr(gpu, "failures", {})
    calls = []

    def broken(*args):
        calls.append(1)
        raise TypeError("cannot trace this")

    k = gpu._Kernel([broken, broken], "adam_kernel(test)")
    monkeypatch.setattr(kernels, "kernel", lambda builder, xp, **flags: k)
    before = dict(kernels.stats)
    with pytest.warns(RuntimeWarning, match="could not be built"):
        b_params, _ = run("Adam", {"amsgrad": True}, "flat", np.float64, steps=4)
    assert len(calls) == 2 and "cannot trace this" in gpu.failures["adam_kernel(test)"]
    assert kernels.stats["fused"] == before["fused"] and kernels.stats["not_fused"] > before["not_fused"]
    a_params, _ = run("Adam", {"amsgrad": True}, "teaching", np.float64, steps=4)
    for p, q in zip(a_params, b_params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_a_kernel_that_worked_raises_later_errors():
    state = {"fail": False}

    def fn(x):
        if state["fail"]:
            raise ValueError("out of memory")
        return x

    def no_result(x):
        raise TypeError("a result is needed")

    k = gpu._Kernel([no_result, fn], "k")                # the second candidate is kept
    assert k(3) == 3 and k.fn is fn
    state["fail"] = True
    with pytest.raises(ValueError, match="out of memory"):
        k(3)


def test_kernel_on_cupy_goes_through_fuse(monkeypatch):
    """With a stand-in for CuPy (NumPy's ufuncs and a ``fuse`` that records its calls), ``kernel``
    fuses the function, keeps the candidate without a result, and computes the formula."""
    import types

    fake = types.ModuleType("cupy")
    for name in ("add", "multiply", "subtract", "divide", "sqrt", "maximum", "negative"):
        setattr(fake, name, getattr(np, name))
    fused_names = []

    def fuse(kernel_name=None):
        fused_names.append(kernel_name)
        return lambda fn: fn
    fake.fuse = fuse
    monkeypatch.setattr(kernels, "_KERNELS", {})
    fn = kernels.kernel(kernels.adam_kernel, fake, amsgrad=True, maximize=False, weight_decay=True,
                    decoupled=True, efficient=False)
    assert isinstance(fn, gpu._Kernel) and fused_names == ["minigrad_adam_kernel"]
    rng = np.random.default_rng(0)
    theta, grad, m, v, v_max = (rng.standard_normal(6) for _ in range(5))
    v, v_max = np.abs(v), np.abs(v_max)
    state = {"step": 2, "exp_avg": m.copy(), "exp_avg_sq": v.copy(), "max_exp_avg_sq": v_max.copy()}
    expected, new_state, _ = optim.functional.adamw(theta.copy(), grad, state, lr=0.1, weight_decay=0.2,
                                                    amsgrad=True)
    t = 3
    assert fn(theta, grad, m, v, v_max, 0.1, 0.9, 1 - 0.9, 0.999, 1 - 0.999, 1e-8, 1 - 0.1 * 0.2,
              1 - 0.9 ** t, 1 - 0.999 ** t) is None
    np.testing.assert_array_equal(theta, expected)
    np.testing.assert_array_equal(v_max, new_state["max_exp_avg_sq"])
    assert fn.state == "ok"
