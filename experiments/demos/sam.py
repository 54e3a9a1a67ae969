r"""sam: SGD lands in a sharp minimum, SAM in a flat one (a 1-D loss with both).

The loss is a smooth minimum of two parabolas (a soft-min with temperature
:math:`\tau`),

.. math::

    q_s(x) = \tfrac{h_s}{2}(x - 1)^2 - 1.1, \qquad
    q_f(x) = \tfrac{h_f}{2}(x + 1)^2 - 1, \qquad
    f(x) = -\tau \log\big(e^{-q_s(x)/\tau} + e^{-q_f(x)/\tau}\big),

with :math:`h_s = 50`, :math:`h_f = 1`, :math:`\tau = 0.05`: a sharp minimum at
:math:`x = 1` (curvature 50, value -1.1, the deeper one) and a flat one at
:math:`x = -1` (curvature 1, value -1.0), separated by a barrier (a local
maximum) at :math:`x_b \approx 0.74`. Unlike Gaussian wells, the walls keep
their curvature away from the minima, so a minimum's sharpness is one number.

Both runs use the same plain gradient step, lr :math:`\eta = 1.9/h_s`: gradient
descent (``optim.SGD``) is stable in the sharp well (:math:`\eta h_s < 2`) and,
started at :math:`x_0 = 0.8` (between the two minima, on the sharp side of the
barrier), converges to the sharp minimum. SAM (``optim.SAM`` around the same
SGD) evaluates the gradient at :math:`x + \rho\,\mathrm{sign}(f'(x))` (the
normalised ascent step in 1-D). In a well of curvature :math:`h` its update is
:math:`x \leftarrow x - \eta h (x - m + \rho\,\mathrm{sign}(x - m))`, which never
settles: it bounces in a 2-cycle of amplitude
:math:`a = \eta h\rho/(2 - \eta h)`. In the sharp well
(:math:`\eta h_s = 1.9`) that is :math:`19\rho`; with :math:`\rho = 0.04`,
:math:`a = 0.76`, far wider than the sharp basin (0.26 from the minimum to the
barrier), so the sharp basin is unstable for SAM and the bouncing throws it
out; in the flat well (:math:`\eta h_f = 0.038`) the amplitude is
:math:`\approx 10^{-3}` and SAM settles there. The sharpness at the end points
is :math:`f''(x)` computed with two calls of ``minigrad.grad``
(``create_graph=True`` for the first). A sweep over :math:`\rho` shows where
SAM starts to leave the sharp basin.

Basins are those of gradient flow: "sharp" right of the barrier :math:`x_b`,
"flat" left of it.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
import optim
from experiments.registry import experiment
from minigrad import nn

H_SHARP, X_SHARP, D_SHARP = 50.0, 1.0, 1.1
H_FLAT, X_FLAT, D_FLAT = 1.0, -1.0, 1.0
TAU = 0.05
X0 = 0.8
LR = 1.9 / H_SHARP
RHO = 0.04


def loss_fn(x):
    """f(x) for a minigrad Tensor x (any shape); returns a Tensor of the same shape."""
    q_s = 0.5 * H_SHARP * (x - X_SHARP) ** 2 - D_SHARP
    q_f = 0.5 * H_FLAT * (x - X_FLAT) ** 2 - D_FLAT
    return -TAU * mg.logsumexp(mg.stack([-q_s / TAU, -q_f / TAU]), axis=0)


def f_numpy(x):
    with mg.no_grad():
        return loss_fn(mg.tensor(np.asarray(x, dtype=np.float64))).numpy()


def derivatives(x):
    """(f'(x), f''(x)) at a point, by automatic differentiation (grad of grad)."""
    t = mg.tensor(np.array([float(x)]), requires_grad=True, dtype=np.float64)
    (g,) = mg.grad(loss_fn(t).sum(), [t], create_graph=True)
    (h,) = mg.grad(g.sum(), [t])
    return float(g.numpy()[0]), float(h.numpy()[0])


def find_stationary(lo, hi, iters=52):
    """The zero of f' in [lo, hi] by bisection (f' changes sign there)."""
    glo = derivatives(lo)[0]
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        gm = derivatives(mid)[0]
        if np.sign(gm) == np.sign(glo):
            lo, glo = mid, gm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def train(rho, steps, lr=LR, x0=X0):
    """Gradient descent (rho = 0) or SAM with an SGD base; the iterates x_0..x_T."""
    x = nn.Parameter(mg.tensor(np.array([x0]), dtype=np.float64))
    opt = (optim.SGD([x], lr=lr) if rho == 0 else
           optim.SAM([x], optim.SGD, rho=rho, lr=lr))

    def closure():
        opt.zero_grad()
        loss = loss_fn(x).sum()
        loss.backward()
        return loss

    xs = [x0]
    for _ in range(steps):
        if rho == 0:
            closure()
            opt.step()
        else:
            opt.step(closure)
        xs.append(float(x.numpy()[0]))
        if not np.isfinite(xs[-1]):
            break
    return np.array(xs)


@experiment("sam", "SAM vs SGD on a 1-D loss with a sharp (deeper) and a flat minimum: SGD ends "
            "in the sharp one, SAM in the flat one; sharpness f'' at both ends",
            headline=("sgd_basin", "sam_basin", "sgd_sharpness", "sam_sharpness"))
def run(ctx):
    import matplotlib.pyplot as plt

    steps = ctx.pick(300, 800)
    x_barrier = find_stationary(0.2, 0.95)
    x_sharp = find_stationary(0.9, 1.1)
    x_flat = find_stationary(-1.2, -0.8)
    basin = lambda x: "sharp" if x > x_barrier else "flat"      # noqa: E731
    amp = lambda h, rho: LR * h * rho / (2 - LR * h)            # noqa: E731

    sgd = train(0.0, steps)
    sam = train(RHO, steps)
    sgd_x, sam_x = float(sgd[-1]), float(sam[-1])
    sgd_sharp, sam_sharp = derivatives(sgd_x)[1], derivatives(sam_x)[1]
    # where did SAM first leave the sharp basin?
    left = np.nonzero(sam < x_barrier)[0]
    escape_step = int(left[0]) if left.size else None

    sweep_rhos = ctx.pick([0.01, 0.04],
                          [0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    sweep = {}
    for rho in ctx.progress(sweep_rhos, desc="rho sweep"):
        xs = sam if rho == RHO else train(rho, steps)
        sweep[f"{rho:g}"] = {"final_x": float(xs[-1]), "basin": basin(xs[-1]),
                             "amplitude_sharp": amp(H_SHARP, rho)}

    # -- plots ------------------------------------------------------------------------
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6))
    grid = np.linspace(-2.3, 1.7, 2001)
    ax1.plot(grid, f_numpy(grid), color="0.3", lw=1.5, label="f(x)")
    ax1.plot(sgd, f_numpy(sgd), "o-", color="tab:red", ms=3, lw=0.6, alpha=0.7,
             label=f"SGD (lr={LR:g}) -> x={sgd_x:.3f}")
    ax1.plot(sam, f_numpy(sam), "s-", color="tab:blue", ms=2.5, lw=0.4, alpha=0.6,
             label=rf"SAM ($\rho$={RHO:g}, same lr) -> x={sam_x:.3f}")
    ax1.plot([X0], f_numpy([X0]), "k*", ms=12, label=f"start x0={X0}")
    ax1.axvline(x_barrier, color="k", ls=":", lw=0.8)
    ax1.annotate(f"sharp min\nf''={derivatives(x_sharp)[1]:.0f}", (x_sharp, f_numpy([x_sharp])[0]),
                 xytext=(1.15, -0.55), fontsize=8, arrowprops={"arrowstyle": "->"})
    ax1.annotate(f"flat min\nf''={derivatives(x_flat)[1]:.2f}", (x_flat, f_numpy([x_flat])[0]),
                 xytext=(-1.9, -0.45), fontsize=8, arrowprops={"arrowstyle": "->"})
    ax1.set_ylim(-1.2, 1.0)
    ax1.set_xlabel("x")
    ax1.set_ylabel("f(x)")
    ax1.set_title("the loss and the iterates (dotted: the barrier)")
    ax1.legend(fontsize=8, loc="upper left")
    ax2.plot(sgd, color="tab:red", lw=1, label="SGD")
    ax2.plot(sam, color="tab:blue", lw=0.8, label="SAM")
    ax2.axhline(x_barrier, color="k", ls=":", lw=0.8, label="barrier")
    ax2.set_xscale("symlog", linthresh=10)
    ax2.set_xlim(left=0)
    ax2.set_xlabel("step")
    ax2.set_ylabel("x")
    ax2.set_title("x against step: SAM bounces out of the sharp well")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "sam_trajectories")

    rows = [["SGD", sgd_x, basin(sgd_x), float(f_numpy([sgd_x])[0]), sgd_sharp],
            [f"SAM (rho={RHO:g})", sam_x, basin(sam_x), float(f_numpy([sam_x])[0]), sam_sharp]]
    sweep_rows = [[r, v["amplitude_sharp"], v["final_x"], v["basin"]] for r, v in sweep.items()]
    report = f"""
The loss is a soft-min of two parabolas: a sharp minimum at x = {x_sharp:.4f} (f'' =
{derivatives(x_sharp)[1]:.2f}, f = {f_numpy([x_sharp])[0]:.4f}, the deeper one) and a flat
minimum at x = {x_flat:.4f} (f'' = {derivatives(x_flat)[1]:.3f}, f = {f_numpy([x_flat])[0]:.4f}),
with the barrier at x = {x_barrier:.4f}. Both runs start at x0 = {X0} and take {steps} steps
of lr = {LR:g} (lr * h_sharp = {LR * H_SHARP:.2f} < 2, so gradient descent is stable in
the sharp well). Gradient descent ends at x = {sgd_x:.4f}, in the {basin(sgd_x)} basin, where
f'' = {sgd_sharp:.2f}. SAM with rho = {RHO:g} bounces across the sharp minimum in a 2-cycle
whose predicted amplitude lr*h*rho/(2 - lr*h) = {amp(H_SHARP, RHO):.2f} is wider than the
sharp basin ({x_sharp - x_barrier:.2f} from the minimum to the barrier): it leaves the sharp
basin at step {escape_step} and ends at x = {sam_x:.4f}, in the {basin(sam_x)} basin, where f''
= {sam_sharp:.3f} ({sgd_sharp / sam_sharp:.0f} times flatter), at a loss
{f_numpy([sam_x])[0] - f_numpy([sgd_x])[0]:.3f} higher than SGD's: SAM trades depth for
flatness. The sharpness values are second derivatives by double backward (minigrad.grad with
create_graph=True).

{ctx.table(rows, ['method', 'final x', 'basin', 'f(final x)', "sharpness f''"])}

The sweep over rho (same start, same lr): small rho keeps SAM in the sharp basin (it bounces
there); once the 2-cycle amplitude in the sharp well is a few times the basin width, SAM
ends in the flat basin. Between the two, 1-D SAM can get caught where x + rho sign(f'(x))
lands on a stationary point (its first-order ascent step is exact only for small rho), which
is why rho is chosen well inside the flat-ending range.

{ctx.table(sweep_rows, ['rho', 'predicted amplitude in the sharp well', 'final x', 'basin'])}
"""
    ctx.write_report(report)
    return {
        "loss": "soft-min of 0.5*50*(x-1)^2-1.1 and 0.5*(x+1)^2-1, tau 0.05",
        "x0": X0, "lr": LR, "rho": RHO, "steps": steps,
        "sharp_min_x": x_sharp, "flat_min_x": x_flat, "barrier_x": x_barrier,
        "sgd_final_x": sgd_x, "sam_final_x": sam_x,
        "sgd_basin": basin(sgd_x), "sam_basin": basin(sam_x),
        "sgd_sharpness": sgd_sharp, "sam_sharpness": sam_sharp,
        "sgd_final_loss": float(f_numpy([sgd_x])[0]), "sam_final_loss": float(f_numpy([sam_x])[0]),
        "sam_escape_step": escape_step,
        "rho_sweep": sweep,
    }
