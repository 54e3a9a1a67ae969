"""Checking a backward against finite differences: ``gradcheck`` and ``gradgradcheck``.

What a Jacobian check is
------------------------
A function ``f`` from inputs ``x`` (n numbers in all) to outputs ``y`` (m numbers
in all) has a Jacobian ``J`` of shape (m, n): ``J[k, j] = d y_k / d x_j``. Autograd
never builds ``J``; each backward pass computes one *vector-Jacobian product*
``v^T J`` for a given ``v = dL/dy``. Seeding ``v`` with the one-hot vector
``e_k`` gives back row ``k`` of ``J``, so m backward passes rebuild the whole
*analytical* Jacobian, exactly as the ops' ``backward`` methods define it.

The *numerical* Jacobian needs no derivative at all: nudge one input number
``x_j`` by ``±eps`` and look at how every output moves,

    J_num[:, j] = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps).

If ``backward`` is right the two agree, element by element, to within
``atol + rtol * |J_num|``. A wrong sign, a missing ``sum_to`` after
broadcasting, a transposed matrix or a forgotten term shows up as a
disagreement, and the error message below says where.

Why central differences, and why float64
----------------------------------------
The one-sided difference ``(f(x + eps) - f(x)) / eps`` has truncation error
``O(eps)``; the central difference cancels the even terms of the Taylor
series and has error ``O(eps^2)``. Rounding adds an error of about
``u |f| / eps`` where ``u`` is the unit roundoff of the dtype. With float64
(``u ~ 1e-16``) and ``eps = 1e-6`` both errors are around ``1e-10``, far below
the tolerances. With float32 (``u ~ 6e-8``) the rounding term alone is about
``0.06``: the numerical Jacobian would be noise, and every check would either
fail or need tolerances so loose that real bugs pass. Hence inputs that are
checked must be float64, and so must the outputs they produce.

Higher derivatives
------------------
:func:`gradgradcheck` applies the same test to the *backward pass itself*: it
checks the function ``(x, v) -> v^T J(x)`` computed with
``grad(..., create_graph=True)``. That verifies that each ``backward`` is
written with differentiable Tensor ops and that its own derivative is right,
which Hessian-vector products (Newton steps, Sophia) depend on.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import grad
from .errors import GradcheckError
from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "numerical_jacobian", "analytical_jacobian"]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _checked_indices(inputs):
    """Positions of the inputs that require grad; they must be float64."""
    checked = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64:
                raise TypeError(
                    f"gradcheck: input {i} has dtype {x.dtype}; inputs that require "
                    "grad must be float64 (finite differences in float32 are "
                    "dominated by rounding). Build them with dtype=np.float64 or "
                    "call .double()"
                )
            checked.append(i)
    return checked


def _differentiable(y) -> bool:
    return isinstance(y, Tensor) and y.dtype.kind == "f"


def _call(fn, inputs):
    """``fn(*inputs)`` with grad mode on, as a tuple of outputs."""
    with enable_grad():
        outs = _as_tuple(fn(*inputs))
    for k, y in enumerate(outs):
        if not isinstance(y, Tensor):
            raise TypeError(
                f"gradcheck: fn must return Tensors, but output {k} is a "
                f"{type(y).__name__}"
            )
    return outs


def numerical_jacobian(fn, inputs, eps=1e-6):
    """Central-difference Jacobians of ``fn`` at ``inputs``.

    Returns ``J[k][i]``: an array of shape (numel of output k, numel of input i)
    for every differentiable output k and every input i that requires grad
    (``None`` for the other inputs). Each input element is perturbed on a copy,
    so the caller's tensors are never modified.
    """
    inputs = _as_tuple(inputs)
    checked = _checked_indices(inputs)
    outs = _call(fn, inputs)
    jac = [[None] * len(inputs) for _ in outs]
    for k, y in enumerate(outs):
        for i in checked:
            jac[k][i] = np.zeros((y.numel(), inputs[i].numel()), dtype=np.float64)

    for i in checked:
        x = inputs[i]
        base = x.data.reshape(-1)
        for j in range(x.numel()):
            values = []
            for step in (eps, -eps):
                flat = base.copy()
                flat[j] = flat[j] + step
                # keep requires_grad: fn may itself call grad() (gradgradcheck)
                moved = Tensor._make(flat.reshape(x.shape), requires_grad=True)
                args = inputs[:i] + (moved,) + inputs[i + 1:]
                values.append(_call(fn, args))
            for k in range(len(outs)):
                if not _differentiable(outs[k]):
                    continue
                plus = backend.to_numpy(values[0][k].data).astype(np.float64)
                minus = backend.to_numpy(values[1][k].data).astype(np.float64)
                jac[k][i][:, j] = ((plus - minus) / (2 * eps)).reshape(-1)
    return jac


def analytical_jacobian(fn, inputs):
    """Jacobians of ``fn`` at ``inputs`` from backward, one VJP per output element.

    Same layout as :func:`numerical_jacobian`. Row ``r`` of ``J[k][i]`` is the
    gradient of output element ``(k, r)`` with respect to input ``i``, computed
    with :func:`minigrad.grad` seeded by a one-hot ``grad_outputs``.
    Also returns a list of problems found on the way (wrong gradient dtypes).
    """
    inputs = _as_tuple(inputs)
    checked = _checked_indices(inputs)
    outs = _call(fn, inputs)
    wrt = [inputs[i] for i in checked]
    jac = [[None] * len(inputs) for _ in outs]
    problems = []
    for k, y in enumerate(outs):
        for i in checked:
            jac[k][i] = np.zeros((y.numel(), inputs[i].numel()), dtype=np.float64)
        if not _differentiable(y) or not y.requires_grad or not wrt:
            continue  # a constant output: its Jacobian is zero
        xp = backend.get_array_module(y.data)
        for r in range(y.numel()):
            seed = xp.zeros(y.numel(), dtype=y.dtype)
            seed[r] = 1
            seed = Tensor._make(seed.reshape(y.shape))
            grads = grad([y], wrt, grad_outputs=[seed], retain_graph=True,
                         allow_unused=True)
            for i, g in zip(checked, grads):
                if g is None:
                    continue
                if g.dtype != inputs[i].dtype and not problems:
                    problems.append(
                        f"the gradient for input {i} has dtype {g.dtype}, but the "
                        f"input is {inputs[i].dtype}: some op's backward changes dtype"
                    )
                jac[k][i][r, :] = backend.to_numpy(g.data).astype(np.float64).reshape(-1)
    return jac, problems


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check the analytical Jacobian of ``fn`` against central finite differences.

    ``fn`` takes the ``inputs`` (Tensors, or other values passed through
    unchanged) and returns a Tensor or a tuple of Tensors. Every input with
    ``requires_grad=True`` is checked and must be float64. Element ``(k, j)``
    passes when ``|analytical - numerical| <= atol + rtol * |numerical|``.

    Returns True when every element passes. Otherwise raises
    :class:`~minigrad.errors.GradcheckError` naming the worst element (input,
    input element, output element, both values and the errors), or returns
    False when ``raise_exception=False``.

        x = mg.tensor(np.random.randn(3, 4), dtype=np.float64, requires_grad=True)
        mg.gradcheck(lambda x: (x * x).sum(axis=0), [x])
    """
    inputs = _as_tuple(inputs)
    checked = _checked_indices(inputs)
    outs = _call(fn, inputs)
    for k, y in enumerate(outs):
        if _differentiable(y) and y.dtype != np.float64 and checked:
            return _fail(
                f"gradcheck: output {k} has dtype {y.dtype}, but the checked inputs "
                "are float64: some op in fn casts to a lower precision, and finite "
                "differences in that precision are dominated by rounding",
                raise_exception)
    if not checked:
        return True

    numerical = numerical_jacobian(fn, inputs, eps)
    analytical, problems = analytical_jacobian(fn, inputs)
    if problems:
        return _fail("gradcheck: " + problems[0], raise_exception)

    worst = None  # (badness, k, i, row, col, num, ana)
    for k in range(len(outs)):
        if not _differentiable(outs[k]):
            continue
        for i in checked:
            num, ana = numerical[k][i], analytical[k][i]
            if num.size == 0:
                continue
            tol = atol + rtol * np.abs(num)
            err = np.abs(ana - num)
            # NaN anywhere is a failure; rank it above every finite error
            badness = np.where(np.isfinite(err), err / tol, np.inf)
            flat = int(np.argmax(badness))
            b = badness.reshape(-1)[flat]
            if b > 1 and (worst is None or b > worst[0]):
                row, col = divmod(flat, num.shape[1])
                worst = (b, k, i, row, col, num[row, col], ana[row, col])
    if worst is None:
        return True

    _, k, i, row, col, num, ana = worst
    num, ana = float(num), float(ana)
    in_index = tuple(int(v) for v in np.unravel_index(col, inputs[i].shape))
    out_index = tuple(int(v) for v in np.unravel_index(row, outs[k].shape))
    abs_err = abs(ana - num)
    rel_err = abs_err / abs(num) if num != 0 else float("inf")
    n_bad = sum(
        int(np.sum(~(np.abs(analytical[kk][ii] - numerical[kk][ii])
                     <= atol + rtol * np.abs(numerical[kk][ii]))))
        for kk in range(len(outs)) if _differentiable(outs[kk]) for ii in checked)
    out_name = f"output {k}" if len(outs) > 1 else "the output"
    message = (
        f"Jacobian mismatch for input {i} (shape {inputs[i].shape}), element "
        f"{in_index}, and {out_name} (shape {outs[k].shape}), element {out_index}:\n"
        f"    numerical  = {num!r}\n"
        f"    analytical = {ana!r}\n"
        f"    absolute error = {abs_err:.3e}, relative error = {rel_err:.3e} "
        f"(allowed: atol={atol:g} + rtol={rtol:g} * |numerical|)\n"
        f"{n_bad} Jacobian element(s) out of tolerance in all; this is the worst."
    )
    return _fail(message, raise_exception)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """Check second derivatives: gradcheck applied to the backward pass of ``fn``.

    The function checked is ``(inputs, v) -> grad(fn(inputs), inputs, v,
    create_graph=True)``, differentiated with respect to both the inputs that
    require grad and the vectors ``v`` (``grad_outputs``, one per differentiable
    output of ``fn``; drawn from a seeded normal generator when None, so a
    failure repeats).
    """
    inputs = _as_tuple(inputs)
    checked = _checked_indices(inputs)
    if not checked:
        return True
    outs = _call(fn, inputs)
    diff_k = [k for k, y in enumerate(outs) if _differentiable(y) and y.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for k in diff_k:
            y = outs[k]
            xp = backend.get_array_module(y.data)
            v = xp.asarray(rng.standard_normal(y.shape))
            grad_outputs.append(Tensor._make(v.astype(np.float64), requires_grad=True))
    else:
        grad_outputs = list(_as_tuple(grad_outputs))
        if len(grad_outputs) != len(diff_k):
            raise ValueError(
                f"gradgradcheck: got {len(grad_outputs)} grad_outputs for "
                f"{len(diff_k)} differentiable outputs"
            )
        # the vectors are inputs of the checked function: they must require grad
        grad_outputs = [
            (g.detach() if isinstance(g, Tensor) else Tensor(g, dtype=np.float64))
            .requires_grad_() for g in grad_outputs
        ]
    n = len(inputs)

    def backward_of_fn(*args):
        xs, vs = args[:n], args[n:]
        ys = _as_tuple(fn(*xs))
        ys = [ys[k] for k in diff_k]
        wrt = [xs[i] for i in checked]
        gs = grad(ys, wrt, grad_outputs=list(vs), create_graph=True, allow_unused=True)
        # an input the outputs do not depend on has a zero gradient
        return tuple(
            g if g is not None else Tensor._make(
                backend.get_array_module(x.data).zeros_like(x.data))
            for g, x in zip(gs, wrt)
        )

    try:
        return gradcheck(backward_of_fn, tuple(inputs) + tuple(grad_outputs), eps=eps,
                         atol=atol, rtol=rtol, raise_exception=raise_exception)
    except GradcheckError as exc:
        outputs_are = ", ".join(f"output {j} = gradient for input {i}"
                                for j, i in enumerate(checked))
        raise GradcheckError(
            f"gradgradcheck: the backward of fn has wrong derivatives. The function "
            f"checked maps (fn's {n} input(s), then {len(grad_outputs)} grad_output(s) "
            f"as inputs {n}..{n + len(grad_outputs) - 1}) to fn's gradients "
            f"({outputs_are}).\n{exc}"
        ) from None
