r"""Fused GPU kernels for the flat path: one kernel per optimizer step.

On CuPy arrays each NumPy-style line of a formula is a kernel launch that
reads and writes whole arrays from GPU memory; Adam's in-place twin is about
fifteen of them. Here each elementwise formula is written once more as a
*kernel function*: the lines of :mod:`optim.fast.inplace`'s twin (so of the
formula in :mod:`optim.functional`) in the same order, as one Python
function of arrays and scalars that writes its results into its array
arguments (``xp.add(a, b, out=m)`` writes ``m``). It is plain array code, so:

* on NumPy arrays it runs as it is, and ``tests/optim/test_fast_gpu_kernels.py``
  checks it **bitwise** against the pure formula on the CPU, line by line
  (the same operations in the same order, scalars in the array's dtype);
* on CuPy arrays :func:`kernel` hands the same function to ``cupy.fuse``,
  which compiles it into **one** elementwise kernel: every array is read and
  written once per step.

On the GPU the fused kernel may differ from the teaching path in the last
bits: the CUDA compiler contracts ``a * b + c`` into one fused multiply-add
(one rounding instead of two), which the separate kernels of the teaching
path cannot do. The ``gpu`` tests compare the two to a few ulps per step.

Every scalar (``1 - beta1``, the bias corrections, ``alpha_t`` ...) is
computed on the host exactly as in the formula and passed in the array's
dtype, so a kernel is compiled once per (formula variant, dtype) and not
per step. A configuration a kernel does not cover (SGD's first momentum
step, which copies the gradient; the lecture form of momentum) returns None
from its step function and the flat path runs the in-place twin instead.

What the flat path calls is :func:`fused_step`: for an optimizer that has a
kernel here (``Adam``, ``AdamW``, ``SGD``, ``RMSprop``, ``Adagrad``, and no
subclass that changes the formula) it runs the kernel on a chunk and returns
the new state, else None. The flat path only asks on CuPy arrays
(:func:`wanted`), so the CPU path is unchanged.
"""
from __future__ import annotations

import os

from minigrad import backend

__all__ = ["FUSED_OPTIMIZERS", "KernelUnavailable", "adagrad_kernel", "adam_kernel", "enabled", "failures",
           "fused_step", "kernel",
           "rmsprop_kernel", "sgd_kernel", "stats", "wanted"]

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
# compiling: cupy.fuse on CuPy, the function itself on NumPy
# ---------------------------------------------------------------------------

_KERNELS: dict = {}

failures: dict = {}
"""Kernels that CuPy could not build, by name and flags, with the error: their steps
ran the in-place twin instead (a warning said so once); the ``gpu`` tests and the
benchmark report them."""


class KernelUnavailable(RuntimeError):
    """Raised by a kernel that could not be built (see :data:`failures`)."""


class _Kernel:
    """A fused kernel that, if its first call fails (CuPy cannot trace or compile it, before
    anything is written), says so once and raises :class:`KernelUnavailable` from then on.

    ``candidates`` are tried in order at the first call and the first that works is kept:
    the kernel function without a result (it only writes its arguments) and the same
    function returning ``theta`` (for a CuPy whose ``fuse`` wants a result; that costs
    one more array written per step).
    """

    def __init__(self, candidates, name):
        self.candidates, self.name, self.fn, self.state = list(candidates), name, None, "new"

    def __call__(self, *args):
        if self.state == "ok":
            return self.fn(*args)
        if self.state == "broken":
            raise KernelUnavailable(self.name)
        errors = []
        for fn in self.candidates:
            try:
                result = fn(*args)
            except Exception as exc:      # tracing or compiling failed: nothing was written yet
                errors.append(exc)
                continue
            self.fn, self.state = fn, "ok"
            return result
        import warnings

        self.state = "broken"
        failures[self.name] = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        warnings.warn(f"the fused GPU kernel {self.name} could not be built ({failures[self.name]}); "
                      "its steps run one kernel per operation", RuntimeWarning, stacklevel=2)
        raise KernelUnavailable(self.name) from errors[-1]


def _without_result(fn):
    def step(*args):
        fn(*args)
    return step


def kernel(builder, xp, **flags):
    """The kernel function ``builder(xp, **flags)``, fused with ``cupy.fuse`` when ``xp`` is CuPy (cached)."""
    key = (builder.__name__, xp.__name__, tuple(sorted(flags.items())))
    fn = _KERNELS.get(key)
    if fn is None:
        fn = builder(xp, **flags)
        if xp.__name__ == "cupy":
            name = f"{builder.__name__}({', '.join(f'{k}={v}' for k, v in sorted(flags.items()))})"
            fuse = xp.fuse(kernel_name=f"minigrad_{builder.__name__}")
            fn = _Kernel([fuse(_without_result(fn)), fuse(fn)], name)
        _KERNELS[key] = fn
    return fn


def enabled() -> bool:
    """Whether the flat path uses the fused kernels on the GPU (``MINIGRAD_GPU_FUSED=0`` turns them off)."""
    return os.environ.get("MINIGRAD_GPU_FUSED", "1") != "0"


def wanted(device: str) -> bool:
    """Whether the flat path asks :func:`fused_step` for a bucket on ``device``: on the GPU only."""
    return device != "cpu" and enabled()


# ---------------------------------------------------------------------------
# one chunk of the flat path
# ---------------------------------------------------------------------------

def _adam(theta, grad, state, out, group, xp, s):
    beta1, beta2 = group["betas"]
    lr, wd, amsgrad = group["lr"], group["weight_decay"], group["amsgrad"]
    decoupled = group["decoupled_weight_decay"]
    efficient = group["bias_correction"] == "efficient"
    t = state["step"] + 1                                        # t <- t + 1
    if efficient:
        b1, b2 = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t), 1.0   # alpha_t
    else:
        b1, b2 = 1 - beta1 ** t, 1 - beta2 ** t
    fn = kernel(adam_kernel, xp, amsgrad=bool(amsgrad), maximize=bool(group["maximize"]),
                weight_decay=wd != 0, decoupled=bool(decoupled), efficient=efficient)
    m, v = out["exp_avg"], out["exp_avg_sq"]
    arrays = (m, v, out["max_exp_avg_sq"]) if amsgrad else (m, v)
    wd_arg = 1 - lr * wd if decoupled else wd
    fn(theta, grad, *arrays, s(lr), s(beta1), s(1 - beta1), s(beta2), s(1 - beta2), s(group["eps"]),
       s(wd_arg), s(b1), s(b2))
    new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}
    if amsgrad:
        new_state["max_exp_avg_sq"] = arrays[2]
    return new_state


def _sgd(theta, grad, state, out, group, xp, s):
    momentum = group["momentum"]
    if momentum != 0 and (group["momentum_form"] != "torch" or "momentum_buffer" not in state):
        return None                   # the lecture form, or the first step (b_1 <- g_1): the twin
    fn = kernel(sgd_kernel, xp, momentum=momentum != 0, dampening=group["dampening"],
                weight_decay=group["weight_decay"] != 0, nesterov=bool(group["nesterov"]),
                maximize=bool(group["maximize"]))
    arrays = (out["momentum_buffer"],) if momentum != 0 else ()
    fn(theta, grad, *arrays, s(group["lr"]), s(momentum), s(1 - group["dampening"]), s(group["weight_decay"]))
    return {"momentum_buffer": arrays[0]} if momentum != 0 else {}


def _rmsprop(theta, grad, state, out, group, xp, s):
    momentum, centered = group["momentum"], group["centered"]
    fn = kernel(rmsprop_kernel, xp, centered=bool(centered), momentum=momentum > 0,
                weight_decay=group["weight_decay"] != 0, maximize=bool(group["maximize"]),
                eps_inside_sqrt=bool(group["eps_inside_sqrt"]))
    v = out["square_avg"]
    extra = {}
    if centered:
        extra["grad_avg"] = out["grad_avg"]
    if momentum > 0:
        extra["momentum_buffer"] = out["momentum_buffer"]
    alpha = group["alpha"]
    fn(theta, grad, v, *extra.values(), s(group["lr"]), s(alpha), s(1 - alpha), s(group["eps"]), s(momentum),
       s(group["weight_decay"]))
    return {"step": state["step"] + 1, "square_avg": v, **extra}


def _adagrad(theta, grad, state, out, group, xp, s):
    t = state["step"] + 1                                        # t <- t + 1
    lr_t = group["lr"] / (1 + (t - 1) * group["lr_decay"])       # gamma_t <- gamma / (1 + (t-1) eta)
    fn = kernel(adagrad_kernel, xp, weight_decay=group["weight_decay"] != 0,
                maximize=bool(group["maximize"]), eps_inside_sqrt=bool(group["eps_inside_sqrt"]))
    s_arr = out["sum"]
    fn(theta, grad, s_arr, s(lr_t), s(group["eps"]), s(group["weight_decay"]))
    return {"step": t, "sum": s_arr}


FUSED_OPTIMIZERS = {"Adam": _adam, "SGD": _sgd, "RMSprop": _rmsprop, "Adagrad": _adagrad}
"""The optimizer classes (of :mod:`optim`) with a fused kernel, by name (AdamW is an Adam)."""


def _chunk_function(opt):
    """The chunk function for ``opt``'s class: the nearest class of :mod:`optim` in its MRO that
    has a kernel, provided no class in between replaced the formula (``_update``)."""
    cls = type(opt)
    for base in cls.__mro__:
        fn = FUSED_OPTIMIZERS.get(base.__name__)
        if fn is not None and base.__module__.startswith("optim."):
            if cls._update is base._update and cls._init_state is base._init_state:
                return fn
            return None
    return None


stats = {"fused": 0, "not_fused": 0}
"""How many chunks ran a fused kernel and how many were left to the in-place twin
(no kernel for the optimizer or its configuration); the ``gpu`` tests and the
benchmark read it to show that the kernels did run."""


def fused_step(opt, theta, grad, state, out, group):
    """Run ``opt``'s fused kernel on one chunk; the new state, or None when there is no kernel for it.

    ``theta`` is overwritten and the state's arrays are written into ``out``
    (the flat buffers' chunks), as with ``_update_inplace``.
    """
    fn = _chunk_function(opt)
    new_state = None
    if fn is not None:
        xp = backend.get_array_module(theta)
        try:
            new_state = fn(theta, grad, state, out, group, xp, theta.dtype.type)
        except KernelUnavailable:
            new_state = None
    stats["fused" if new_state is not None else "not_fused"] += 1
    return new_state
