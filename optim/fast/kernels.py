r"""The fused kernels' formulas: one *kernel function* per optimizer, and the host side of a step.

On NumPy each line of an in-place formula (:mod:`optim.fast.inplace`) is one
pass over the chunk, and on CuPy one kernel launch over the bucket; Adam's
twin makes fourteen. A fused kernel reads and writes every array once. Here
each elementwise formula is written once more as a *kernel function*: the
lines of the in-place twin (so of the formula in :mod:`optim.functional`) in
the same order, as one Python function of arrays and scalars that writes its
results into its array arguments (``xp.add(a, b, out=m)`` writes ``m``). It
is plain array code of ``xp``, the one definition of the fused formula, which
:func:`kernel` hands to a compiler for the arrays' device:

* on CuPy arrays :mod:`optim.fast.gpu` gives it to ``cupy.fuse``: one GPU
  kernel per step (the last bits may differ: the CUDA compiler fuses
  multiply-adds);
* on NumPy arrays :mod:`optim.fast.cpu` traces it into one C loop (one pass,
  bitwise NumPy's results; compiled with the machine's C compiler);
* with ``MINIGRAD_CPU_FUSED=0`` (or no C compiler) it runs on NumPy as it
  is, which ``tests/optim/test_fast_gpu_kernels.py`` checks **bitwise**
  against the pure formula (the same operations in the same order, scalars
  in the array's dtype), and ``tests/optim/test_fast_cpu_kernels.py`` checks
  the compiled C against that.

Every scalar (``1 - beta1``, the bias corrections, ``alpha_t`` ...) is
computed on the host exactly as in the formula and passed in the array's
dtype, so a kernel is compiled once per (formula variant, dtype) and not per
step. A configuration a kernel does not cover (SGD's first momentum step,
which copies the gradient; the lecture form of momentum) gets no plan and
the flat path runs the in-place twin instead.

What the flat path calls: :func:`plan`, once per run of parameters with the
same scalar state, for an optimizer that has a kernel here (``Adam``,
``AdamW``, ``SGD``, ``RMSprop``, ``Adagrad``, and no subclass that changes
the formula): the kernel, the state buffers it takes and its scalars. Then
the kernel on each chunk (:func:`run_plan`; on the CPU the flat path hands
the compiled kernel a batch of chunks per call instead). :func:`fused_step`
does both for one chunk. The flat path asks for kernels where :func:`wanted`
says so: on the GPU unless ``MINIGRAD_GPU_FUSED=0``, on the CPU when a C
compiler is there unless ``MINIGRAD_CPU_FUSED=0``.
"""
from __future__ import annotations

from minigrad import backend

__all__ = ["FUSED_OPTIMIZERS", "KernelUnavailable", "Plan", "adagrad_kernel", "adam_kernel", "fused_step", "kernel",
           "plan", "rmsprop_kernel", "run_plan", "sgd_kernel", "stats", "wanted"]


class KernelUnavailable(RuntimeError):
    """Raised by a compiled kernel that cannot run a call (it could not be built, or the call is one it
    does not cover), before it writes anything: the caller runs the in-place twin instead."""


# ---------------------------------------------------------------------------
# the kernel functions (xp and the variant's flags are fixed by the closure)
# ---------------------------------------------------------------------------


def _signed(xp, grad, maximize):
    return xp.negative(grad) if maximize else grad               # g_t (negated to maximize)


def adam_kernel(xp, *, amsgrad, maximize, weight_decay, decoupled, efficient):
    r"""Adam/AdamW's step as one function of arrays (``theta``, ``grad``, ``m``, ``v``[, ``v_max``]).

    Scalars: ``lr, beta1, c1 = 1 - beta1, beta2, c2 = 1 - beta2, eps, wd``
    (``wd`` is :math:`\lambda`, or :math:`1 - \gamma\lambda` when decoupled),
    ``b1 = 1 - beta1^t, b2 = 1 - beta2^t`` (standard) or ``alpha_t, unused``
    (efficient). Writes :math:`\theta_t, m_t, v_t` (and :math:`v^{max}_t`) into
    the arrays given.
    """
    def step(theta, grad, m, v, *rest):
        v_max, rest = (rest[0], rest[1:]) if amsgrad else (None, rest)
        lr, beta1, c1, beta2, c2, eps, wd, b1, b2 = rest
        g = _signed(xp, grad, maximize)
        th = theta
        if weight_decay:
            if decoupled:
                th = xp.multiply(theta, wd)                      # theta (1 - gamma lambda)
            else:
                g = xp.add(g, xp.multiply(wd, theta))            # g_t + lambda theta_{t-1}
        m = xp.add(xp.multiply(beta1, m), xp.multiply(c1, g), out=m)             # m_t
        v = xp.add(xp.multiply(beta2, v), xp.multiply(xp.multiply(c2, g), g), out=v)   # v_t
        v_used = v
        if amsgrad:
            v_used = xp.maximum(v_max, v, out=v_max)                 # v_max_t
        if efficient:
            num = xp.multiply(b1, m)                             # alpha_t m_t
            denom = xp.add(xp.sqrt(v_used), eps)                 # sqrt(v_t) + eps
        else:
            num = xp.multiply(lr, xp.divide(m, b1))              # gamma m_t / (1 - beta1^t)
            denom = xp.add(xp.sqrt(xp.divide(v_used, b2)), eps)  # sqrt(v_hat_t) + eps
        xp.subtract(th, xp.divide(num, denom), out=theta)            # theta_t
        return theta
    return step


def sgd_kernel(xp, *, momentum, dampening, weight_decay, nesterov, maximize):
    """SGD's step (PyTorch's form, after the first momentum step): ``theta``, ``grad`` (, ``b``).

    Scalars: ``lr, mu, c = 1 - dampening, wd``.
    """
    def step(theta, grad, *rest):
        b, rest = (rest[0], rest[1:]) if momentum else (None, rest)
        lr, mu, c, wd = rest
        g = _signed(xp, grad, maximize)
        if weight_decay:
            g = xp.add(g, xp.multiply(wd, theta))                # g_t + lambda theta_{t-1}
        if not momentum:
            xp.subtract(theta, xp.multiply(lr, g), out=theta)        # theta_t <- theta - gamma g_t
            return theta
        if dampening == 0:
            b = xp.add(xp.multiply(mu, b), g, out=b)                 # b_t <- mu b_{t-1} + g_t
        else:
            b = xp.add(xp.multiply(mu, b), xp.multiply(c, g), out=b)   # + (1 - tau) g_t
        d = xp.add(g, xp.multiply(mu, b)) if nesterov else b     # d_t
        xp.subtract(theta, xp.multiply(lr, d), out=theta)            # theta_t <- theta - gamma d_t
        return theta
    return step


def rmsprop_kernel(xp, *, centered, momentum, weight_decay, maximize, eps_inside_sqrt):
    """RMSprop's step: ``theta``, ``grad``, ``v`` (, ``g_bar`` if centered) (, ``b`` with momentum).

    Scalars: ``lr, alpha, c = 1 - alpha, eps, mu, wd``.
    """
    def step(theta, grad, v, *rest):
        rest = list(rest)
        g_bar = rest.pop(0) if centered else None
        b = rest.pop(0) if momentum else None
        lr, alpha, c, eps, mu, wd = rest
        g = _signed(xp, grad, maximize)
        if weight_decay:
            g = xp.add(g, xp.multiply(wd, theta))                # g_t + lambda theta_{t-1}
        v = xp.add(xp.multiply(alpha, v), xp.multiply(xp.multiply(c, g), g), out=v)   # v_t
        variance = v
        if centered:
            g_bar = xp.add(xp.multiply(alpha, g_bar), xp.multiply(c, g), out=g_bar)   # g_bar_t
            variance = xp.subtract(v, xp.multiply(g_bar, g_bar))              # v_t - g_bar_t^2
        if eps_inside_sqrt:
            a = xp.sqrt(xp.add(variance, eps))                   # a_t <- sqrt(v_t + eps)
        else:
            a = xp.add(xp.sqrt(variance), eps)                   # a_t <- sqrt(v_t) + eps
        if momentum:
            b = xp.add(xp.multiply(mu, b), xp.divide(g, a), out=b)   # b_t <- mu b_{t-1} + g_t / a_t
            xp.subtract(theta, xp.multiply(lr, b), out=theta)        # theta_t <- theta - gamma b_t
        else:
            xp.subtract(theta, xp.divide(xp.multiply(lr, g), a), out=theta)   # theta - gamma g_t / a_t
        return theta
    return step


def adagrad_kernel(xp, *, weight_decay, maximize, eps_inside_sqrt):
    """Adagrad's step: ``theta``, ``grad``, ``s``. Scalars: ``lr_t, eps, wd``."""
    def step(theta, grad, s, lr_t, eps, wd):
        g = _signed(xp, grad, maximize)
        if weight_decay:
            g = xp.add(g, xp.multiply(wd, theta))                # g_t + lambda theta_{t-1}
        s = xp.add(s, xp.multiply(g, g), out=s)                      # s_t <- s_{t-1} + g_t^2
        if eps_inside_sqrt:
            denom = xp.sqrt(xp.add(s, eps))                      # sqrt(s_t + eps)
        else:
            denom = xp.add(xp.sqrt(s), eps)                      # sqrt(s_t) + eps
        xp.subtract(theta, xp.divide(xp.multiply(lr_t, g), denom), out=theta)   # theta_t
        return theta
    return step


# ---------------------------------------------------------------------------
# compiling: cupy.fuse on CuPy, C on NumPy (or the function itself)
# ---------------------------------------------------------------------------

_KERNELS: dict = {}


def kernel(builder, xp, **flags):
    """The kernel function ``builder(xp, **flags)`` compiled for ``xp`` (cached).

    CuPy: fused by ``cupy.fuse`` (:func:`optim.fast.gpu.fuse`). NumPy: compiled
    to C (:class:`optim.fast.cpu.CpuKernel`) unless ``MINIGRAD_CPU_FUSED=0``,
    then the function itself, run by NumPy as written.
    """
    from . import cpu, gpu

    compiled = xp.__name__ == "numpy" and cpu.enabled()
    key = (builder.__name__, xp.__name__, compiled, tuple(sorted(flags.items())))
    fn = _KERNELS.get(key)
    if fn is None:
        name = f"{builder.__name__}({', '.join(f'{k}={v}' for k, v in sorted(flags.items()))})"
        if xp.__name__ == "cupy":
            fn = gpu.fuse(builder, xp, flags, name)
        elif compiled:
            fn = cpu.CpuKernel(builder, flags, name)
        else:
            fn = builder(xp, **flags)
        _KERNELS[key] = fn
    return fn


def wanted(device: str) -> bool:
    """Whether the flat path asks :func:`fused_step` for a bucket on ``device``: on the GPU unless
    ``MINIGRAD_GPU_FUSED=0``; on the CPU if a C compiler is found, unless ``MINIGRAD_CPU_FUSED=0``."""
    from . import cpu, gpu

    if device == "cpu":
        return cpu.enabled() and cpu.compiler() is not None
    return gpu.enabled()


# ---------------------------------------------------------------------------
# the host side: a plan per run of chunks, then one kernel call per chunk
# ---------------------------------------------------------------------------
# Each optimizer's plan function reads the (scalar) state and the group and
# returns (kernel function, its flags, the state keys of its array arguments
# in order, its scalars as Python numbers, the new scalar state), or None for
# a configuration without a kernel. It is the host half of the step: every
# scalar is computed here exactly as in the formula.

def _adam(state, group):
    beta1, beta2 = group["betas"]
    lr, wd, amsgrad = group["lr"], group["weight_decay"], group["amsgrad"]
    decoupled = group["decoupled_weight_decay"]
    efficient = group["bias_correction"] == "efficient"
    t = state["step"] + 1                                        # t <- t + 1
    if efficient:
        b1, b2 = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t), 1.0   # alpha_t
    else:
        b1, b2 = 1 - beta1 ** t, 1 - beta2 ** t
    flags = dict(amsgrad=bool(amsgrad), maximize=bool(group["maximize"]), weight_decay=wd != 0,
                 decoupled=bool(decoupled), efficient=efficient)
    keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
    wd_arg = 1 - lr * wd if decoupled else wd
    scalars = (lr, beta1, 1 - beta1, beta2, 1 - beta2, group["eps"], wd_arg, b1, b2)
    return adam_kernel, flags, keys, scalars, {"step": t}


def _sgd(state, group):
    momentum = group["momentum"]
    if momentum != 0 and (group["momentum_form"] != "torch" or "momentum_buffer" not in state):
        return None                   # the lecture form, or the first step (b_1 <- g_1): the twin
    flags = dict(momentum=momentum != 0, dampening=group["dampening"], weight_decay=group["weight_decay"] != 0,
                 nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]))
    keys = ("momentum_buffer",) if momentum != 0 else ()
    return sgd_kernel, flags, keys, (group["lr"], momentum, 1 - group["dampening"], group["weight_decay"]), {}


def _rmsprop(state, group):
    momentum, centered = group["momentum"], group["centered"]
    flags = dict(centered=bool(centered), momentum=momentum > 0, weight_decay=group["weight_decay"] != 0,
                 maximize=bool(group["maximize"]), eps_inside_sqrt=bool(group["eps_inside_sqrt"]))
    keys = ("square_avg",) + (("grad_avg",) if centered else ()) + (("momentum_buffer",) if momentum > 0 else ())
    alpha = group["alpha"]
    scalars = (group["lr"], alpha, 1 - alpha, group["eps"], momentum, group["weight_decay"])
    return rmsprop_kernel, flags, keys, scalars, {"step": state["step"] + 1}


def _adagrad(state, group):
    t = state["step"] + 1                                        # t <- t + 1
    lr_t = group["lr"] / (1 + (t - 1) * group["lr_decay"])       # gamma_t <- gamma / (1 + (t-1) eta)
    flags = dict(weight_decay=group["weight_decay"] != 0, maximize=bool(group["maximize"]),
                 eps_inside_sqrt=bool(group["eps_inside_sqrt"]))
    return adagrad_kernel, flags, ("sum",), (lr_t, group["eps"], group["weight_decay"]), {"step": t}


FUSED_OPTIMIZERS = {"Adam": _adam, "SGD": _sgd, "RMSprop": _rmsprop, "Adagrad": _adagrad}
"""The optimizer classes (of :mod:`optim`) with a fused kernel, by name (AdamW is an Adam): their plan functions."""


def _chunk_function(opt):
    """The plan function for ``opt``'s class: the nearest class of :mod:`optim` in its MRO that
    has a kernel, provided no class in between replaced the formula (``_update``)."""
    cls = type(opt)
    for base in cls.__mro__:
        fn = FUSED_OPTIMIZERS.get(base.__name__)
        if fn is not None and base.__module__.startswith("optim."):
            if cls._update is base._update and cls._init_state is base._init_state:
                return fn
            return None
    return None


class Plan:
    """What one step does to every chunk of a run of parameters with the same scalar state.

    ``kernel`` (compiled for the arrays' module), ``keys`` (the state buffers
    it takes after ``theta`` and ``grad``, in order), ``scalars`` (in the
    arrays' dtype), ``state`` (the new scalar state).
    """

    __slots__ = ("kernel", "keys", "scalars", "state")

    def __init__(self, kernel, keys, scalars, state):
        self.kernel, self.keys, self.scalars, self.state = kernel, keys, scalars, state


def plan(opt, state, group, xp, dtype):
    """``opt``'s :class:`Plan` for a chunk with ``state`` (its scalars and buffers), or None without a kernel."""
    fn = _chunk_function(opt)
    planned = fn(state, group) if fn is not None else None
    if planned is None:
        return None
    builder, flags, keys, scalars, new_state = planned
    s = dtype.type
    return Plan(kernel(builder, xp, **flags), keys, tuple(s(x) for x in scalars), new_state)


stats = {"fused": 0, "not_fused": 0}
"""How many chunks ran a fused kernel and how many were left to the in-place twin
(no kernel for the optimizer or its configuration, or a kernel that could not
run); the tests and the benchmarks read it to show that the kernels did run."""


def run_plan(step_plan, theta, grad, arrays, new_state=True):
    """Run a plan's kernel on one chunk: ``theta`` and ``arrays`` (the chunks of the buffers ``step_plan.keys``)
    are overwritten. Returns the new state (``new_state=False``: True), or None if there is no plan or
    the kernel could not run the call (then nothing was written)."""
    if step_plan is not None:
        try:
            step_plan.kernel(theta, grad, *arrays, *step_plan.scalars)
        except KernelUnavailable:
            pass
        else:
            stats["fused"] += 1
            return {**step_plan.state, **dict(zip(step_plan.keys, arrays))} if new_state else True
    stats["not_fused"] += 1
    return None


def fused_step(opt, theta, grad, state, out, group):
    """Run ``opt``'s fused kernel on one chunk; the new state, or None when there is no kernel for it.

    ``theta`` is overwritten and the state's arrays are written into ``out``
    (the flat buffers' chunks), as with ``_update_inplace``.
    """
    step_plan = plan(opt, state, group, backend.get_array_module(theta), theta.dtype)
    arrays = [out[key] for key in step_plan.keys] if step_plan is not None else []
    return run_plan(step_plan, theta, grad, arrays)
