r"""double-descent: test error against model size through the interpolation threshold (Belkin et al. 2019).

Two least-squares models, each fitted with the *minimum-norm* solution
:math:`\hat\theta = \Phi^{+} y` (``numpy.linalg.lstsq``; for :math:`p > n` the
interpolating solution of least norm, the one gradient descent from zero reaches):

* **random ReLU features** on scikit-learn's bundled diabetes regression set
  (442 patients, 10 standardised features, the standardised disease progression as
  target): :math:`\phi(x) = \max(0, Wx + b)/\sqrt{p}` with Gaussian :math:`W, b`
  drawn afresh for every draw; :math:`n` training points drawn at random (the rest
  is the test set), Gaussian label noise added to the training targets only;
* the seminar's **polynomial fit**: :math:`n` noisy samples of a smooth function on
  :math:`[-1, 1]`, features the first :math:`p` Legendre polynomials scaled to unit
  norm under the uniform measure (:math:`\sqrt{2k+1}\,P_k`).

For each :math:`p` from about :math:`0.1n` to :math:`5n` several draws are made; the
curves are the median over draws (bands: the 25-75% range). The same draws are
refitted with a small ridge :math:`\lambda`,
:math:`\hat\theta = \Phi^\top(\Phi\Phi^\top + \lambda I)^{-1} y`. The condition number
is that of :math:`\Phi` (largest over smallest non-zero singular value).

Outcomes (random features): ``peak_features_ratio`` (p/n at the largest median test
error), ``peak_test_error``, ``min_test_error_below_peak``,
``min_test_error_above_peak``, ``ridge_peak_test_error`` (the ridge curve at that
p), ``ridge_max_test_error``; the same keys for the polynomial fit under
``polynomial``; ``per_seed`` holds the draws' test errors at the peak.
"""
from __future__ import annotations

import numpy as np

from experiments.registry import experiment

RATIOS_FULL = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4,
               1.7, 2.0, 2.5, 3.0, 4.0, 5.0)
RATIOS_QUICK = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.4, 2.0, 3.0, 5.0)


def min_norm_fit(Phi, y, lam=0.0):
    """Minimum-norm least squares (``lam = 0``) or ridge; returns theta."""
    if lam == 0.0:
        return np.linalg.lstsq(Phi, y, rcond=None)[0]
    n = Phi.shape[0]
    return Phi.T @ np.linalg.solve(Phi @ Phi.T + lam * np.eye(n), y)


def condition_number(Phi):
    s = np.linalg.svd(Phi, compute_uv=False)
    s = s[s > s[0] * 1e-13]
    return float(s[0] / s[-1])


def diabetes():
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = (data.target - data.target.mean()) / data.target.std()
    return X, y


def relu_features(X, W, b):
    return np.maximum(X @ W.T + b, 0.0) / np.sqrt(W.shape[0])


def _target(x):
    return np.sin(np.pi * x) + 0.5 * np.cos(3 * np.pi * x)


def legendre_features(x, p):
    from numpy.polynomial import legendre

    V = legendre.legvander(x, p - 1)
    return V * np.sqrt(2 * np.arange(p) + 1.0)


def sweep_random_features(n, ps, draws, noise, lam, rng):
    X, y = diabetes()
    out = {k: np.zeros((len(ps), draws)) for k in ("test", "cond", "norm", "ridge_test",
                                                    "ridge_norm", "train")}
    for d in range(draws):
        idx = rng.permutation(len(y))
        tr, te = idx[:n], idx[n:]
        y_tr = y[tr] + noise * rng.standard_normal(n)
        W_all = rng.standard_normal((max(ps), X.shape[1])) / np.sqrt(X.shape[1])
        b_all = rng.standard_normal(max(ps)) * 0.5
        for i, p in enumerate(ps):
            F_tr = relu_features(X[tr], W_all[:p], b_all[:p])
            F_te = relu_features(X[te], W_all[:p], b_all[:p])
            th = min_norm_fit(F_tr, y_tr)
            out["test"][i, d] = np.mean((F_te @ th - y[te]) ** 2)
            out["train"][i, d] = np.mean((F_tr @ th - y_tr) ** 2)
            out["cond"][i, d] = condition_number(F_tr)
            out["norm"][i, d] = np.linalg.norm(th)
            thr = min_norm_fit(F_tr, y_tr, lam)
            out["ridge_test"][i, d] = np.mean((F_te @ thr - y[te]) ** 2)
            out["ridge_norm"][i, d] = np.linalg.norm(thr)
    return out


def sweep_polynomial(n, ps, draws, noise, lam, rng):
    x_te = np.linspace(-1, 1, 501)
    y_te = _target(x_te)
    out = {k: np.zeros((len(ps), draws)) for k in ("test", "cond", "norm", "ridge_test",
                                                    "ridge_norm", "train")}
    for d in range(draws):
        x = rng.uniform(-1, 1, n)
        y = _target(x) + noise * rng.standard_normal(n)
        for i, p in enumerate(ps):
            F_tr, F_te = legendre_features(x, p), legendre_features(x_te, p)
            th = min_norm_fit(F_tr, y)
            out["test"][i, d] = np.mean((F_te @ th - y_te) ** 2)
            out["train"][i, d] = np.mean((F_tr @ th - y) ** 2)
            out["cond"][i, d] = condition_number(F_tr)
            out["norm"][i, d] = np.linalg.norm(th)
            thr = min_norm_fit(F_tr, y, lam)
            out["ridge_test"][i, d] = np.mean((F_te @ thr - y_te) ** 2)
            out["ridge_norm"][i, d] = np.linalg.norm(thr)
    return out


def outcomes(ratios, res):
    """The named outcomes of one sweep, from the medians over draws."""
    med = np.median(res["test"], axis=1)
    ridge = np.median(res["ridge_test"], axis=1)
    k = int(np.argmax(med))
    below, above = med[:k], med[k + 1:]
    return {"peak_features_ratio": float(ratios[k]), "peak_test_error": float(med[k]),
            "min_test_error_below_peak": float(below.min()) if below.size else None,
            "min_test_error_above_peak": float(above.min()) if above.size else None,
            "ridge_peak_test_error": float(ridge[k]), "ridge_max_test_error": float(ridge.max()),
            "per_draw_test_error_at_peak": res["test"][k].tolist()}


def _plot(ctx, ratios, res, lam, title, stem):
    import matplotlib.pyplot as plt

    r = np.asarray(ratios)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = [("test", "ridge_test", "test MSE", "test error"),
              ("cond", None, "condition number of $\\Phi$", "condition number"),
              ("norm", "ridge_norm", "$\\|\\hat\\theta\\|_2$", "norm of the solution")]
    for ax, (key, rkey, ylabel, ptitle) in zip(axes, panels):
        for k, label, col in ((key, "minimum norm", "C0"), (rkey, f"ridge $\\lambda$={lam:g}", "C1")):
            if k is None:
                continue
            q1, med, q3 = np.percentile(res[k], [25, 50, 75], axis=1)
            ax.plot(r, med, "o-", ms=3, color=col, label=f"{label} (median)")
            ax.fill_between(r, q1, q3, color=col, alpha=0.25, label=f"{label} (25-75% of draws)")
        ax.axvline(1.0, color="0.4", ls="--", lw=0.8, label="interpolation threshold p = n")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("features / training points, p/n (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(ptitle)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    ctx.savefig(fig, stem)


@experiment("double-descent",
            "Double descent: minimum-norm least squares on random ReLU features of the diabetes "
            "data and on Legendre polynomials, test error peaking at p = n and falling beyond; "
            "a small ridge removes the peak",
            headline=("peak_features_ratio", "peak_test_error", "min_test_error_below_peak",
                      "min_test_error_above_peak", "ridge_peak_test_error"))
def run(ctx):
    ratios = ctx.pick(RATIOS_QUICK, RATIOS_FULL)
    n, draws = 40, ctx.pick(5, 20)
    noise, lam = 0.5, 0.1
    ps = [max(1, int(round(r * n))) for r in ratios]
    ratios = [p / n for p in ps]
    rf = sweep_random_features(n, ps, draws, noise, lam, ctx.rng)
    n_poly, poly_noise, poly_lam = 20, 0.2, 1e-3
    pps = [max(1, int(round(r * n_poly))) for r in ctx.pick(RATIOS_QUICK, RATIOS_FULL)]
    pratios = [p / n_poly for p in pps]
    poly = sweep_polynomial(n_poly, pps, draws, poly_noise, poly_lam, ctx.rng)

    _plot(ctx, ratios, rf, lam, f"Random ReLU features on diabetes, n = {n}, label noise "
          f"σ = {noise}, {draws} draws per p", "random_features")
    _plot(ctx, pratios, poly, poly_lam, f"Legendre features, n = {n_poly}, noise σ = {poly_noise}, "
          f"{draws} draws per p", "polynomial")

    o_rf, o_poly = outcomes(ratios, rf), outcomes(pratios, poly)
    rows = []
    for name, o in (("random ReLU features", o_rf), ("Legendre polynomials", o_poly)):
        rows.append([name, o["peak_features_ratio"], o["peak_test_error"],
                     o["min_test_error_below_peak"], o["min_test_error_above_peak"],
                     o["ridge_peak_test_error"], o["ridge_max_test_error"]])

    def verdict(o, name):
        parts = []
        at_threshold = 0.7 <= o["peak_features_ratio"] <= 1.4
        parts.append(f"the median test error of the {name} peaks at p/n = "
                     f"{o['peak_features_ratio']:.2f} ({o['peak_test_error']:.3g})"
                     + (", at the interpolation threshold" if at_threshold
                        else ", away from the interpolation threshold"))
        if o["min_test_error_above_peak"] is not None and o["min_test_error_below_peak"] is not None:
            second = o["min_test_error_above_peak"] < o["min_test_error_below_peak"]
            parts.append(f"beyond it the error falls again to {o['min_test_error_above_peak']:.3g}, "
                         + ("below" if second else "not below")
                         + f" the best under-parameterised error {o['min_test_error_below_peak']:.3g}")
        removed = o["ridge_max_test_error"] < 0.5 * o["peak_test_error"]
        parts.append(f"with ridge the error at that p is {o['ridge_peak_test_error']:.3g} and the "
                     f"ridge curve's maximum {o['ridge_max_test_error']:.3g}"
                     + (" (the peak is gone)" if removed else " (the peak is not removed)"))
        return "; ".join(parts) + "."

    peaks = {k: ratios[int(np.argmax(np.median(rf[k], axis=1)))] for k in ("test", "cond", "norm")}
    if peaks["cond"] == peaks["norm"] == peaks["test"]:
        cond_text = (f"The condition number of $\\Phi$ and the norm of the solution peak at the same "
                     f"p/n = {peaks['test']:.2f} as the test error (middle and right panels): the "
                     "peak in test error is the norm of the interpolating solution blowing up.")
    else:
        cond_text = (f"The condition number of $\\Phi$ peaks at p/n = {peaks['cond']:.2f} and the "
                     f"norm of the solution at {peaks['norm']:.2f}, the test error at "
                     f"{peaks['test']:.2f} (middle and right panels).")
    report = f"""
**Claim** (Belkin et al. 2019): as the number of parameters p grows past the number
of training points n, the test error of the minimum-norm least-squares fit first
follows the classical U, then peaks at the interpolation threshold p = n, where the
fit must pass through every noisy point with a badly conditioned feature matrix and
a huge coefficient vector, and falls again beyond it, where among many
interpolants the least-norm one is smooth. A small ridge penalty removes the peak.

**What our numbers show**: {verdict(o_rf, 'random-feature model')}
For the seminar's polynomial version: {verdict(o_poly, 'Legendre fit')}
{cond_text}

{ctx.table(rows, ["model", "peak p/n", "peak test MSE", "min below peak", "min above peak",
                  "ridge at peak", "ridge max"])}
Setting: random features: diabetes (scikit-learn), n = {n} training points per draw
(the other {442 - n} are the test set), Gaussian label noise σ = {noise} on the
standardised target, ridge λ = {lam}; polynomial: target sin(πx) + 0.5 cos(3πx) on
[-1, 1], n = {n_poly} uniform points, noise σ = {poly_noise}, test on a grid of 501
points, ridge λ = {poly_lam}. {draws} draws per p; medians (bands: 25-75%)."""
    ctx.write_report(report, title="Double descent")
    result = {k: v for k, v in o_rf.items() if k != "per_draw_test_error_at_peak"}
    result["per_seed"] = {"test_error_at_peak": o_rf["per_draw_test_error_at_peak"]}
    result["polynomial"] = {k: v for k, v in o_poly.items() if k != "per_draw_test_error_at_peak"}
    result["n_train"], result["draws"] = n, draws
    result["features_ratios"] = ratios
    result["median_test_error"] = np.median(rf["test"], axis=1).tolist()
    result["median_ridge_test_error"] = np.median(rf["ridge_test"], axis=1).tolist()
    return result
