r"""Plot a trace: one quantity against the step, one line per parameter (layer).

::

    from optim.trace_plot import plot_trace
    plot_trace(opt, "v_hat.norm")                 # every traced parameter
    plot_trace("runs/trace", "r_t", params=["generator.weight"], ax=ax)

The y label is the lecture's symbol (:func:`symbol`): ``"v_hat"`` is
:math:`\hat v_t`, ``"v_hat.norm"`` is :math:`\|\hat v_t\|_2`, ``"m.q50"`` the
median of :math:`m_t`. Matplotlib is imported only when a plot is drawn.
"""
from __future__ import annotations

from .tracing import _records_of, quantile_name, trace_of

__all__ = ["plot_trace", "symbol", "SYMBOLS"]

#: Lecture symbols of the quantities the optimizers record (mathtext, without ``$``).
SYMBOLS = {
    "theta": r"\theta_t", "g": r"g_t", "d": r"d_t", "b": r"b_t", "m": r"m_t", "v": r"v_t",
    "m_hat": r"\hat m_t", "v_hat": r"\hat v_t", "v_max": r"v^{\max}_t", "s": r"s_t",
    "s_hat": r"\hat s_t", "u": r"u_t", "t": r"t", "lr_t": r"\eta_t", "alpha_t": r"\alpha_t",
    "rho_t": r"\rho_t", "rho_inf": r"\rho_\infty", "r_t": r"r_t", "l_t": r"l_t",
    "denom": r"\sqrt{s_t}+\epsilon", "a": r"\sqrt{v_t}+\epsilon", "delta": r"\Delta\theta_t",
    "mu_t": r"\mu_t", "eta": r"\eta_t", "trust_ratio": r"\phi(\|\theta\|)/\|u_t\|",
    "h": r"h_t", "phi": r"\phi_t", "eta_eff": r"\gamma/(\sqrt{\hat v_t}+\epsilon)",
}

_STAT_FORMAT = {"mean": r"mean of ${}$", "std": r"std of ${}$", "min": r"min of ${}$",
                "max": r"max of ${}$", "norm": r"$\|{}\|_2$", "nonfinite": r"non-finite fraction of ${}$",
                "coords": r"${}$ at chosen coordinates"}


def symbol(quantity: str) -> str:
    """The axis label of a trace key: its lecture symbol, with the statistic."""
    base, _, stat = quantity.partition(".")
    sym = SYMBOLS.get(base, base.replace("_", r"\_"))
    if not stat:
        return f"${sym}$"
    if stat in _STAT_FORMAT:
        return _STAT_FORMAT[stat].format(sym)
    if stat.startswith("q"):
        return f"{stat[1:]}% quantile of ${sym}$" if stat != quantile_name(0.5) else f"median of ${sym}$"
    return f"{stat} of ${sym}$"


def plot_trace(source, quantity: str, params=None, *, ax=None, ylabel=None, logy=False, **line_kw):
    """Plot ``quantity`` against the step for each parameter; returns the axes.

    Args:
        source: an optimizer, an :class:`optim.Trace`, a
            :class:`optim.TraceReader`, a trace directory or a list of records.
        quantity: a scalar key of the records (``"r_t"``, ``"v_hat.norm"``,
            ``"m.q50"``); for array keys, plot a statistic of them instead.
        params: names or global indices to plot; default every parameter that
            has the quantity, in index order.
        ax: the axes to draw on (default: a new figure).
        ylabel: override the lecture symbol; ``logy``: a log scale.
        line_kw: passed to ``ax.plot``.
    """
    records = _records_of(source)
    if params is None:
        seen = {}
        for r in records:
            if quantity in r:
                seen.setdefault(r["param"], r.get("name", r["param"]))
        params = [seen[i] for i in sorted(seen)]
        if not params:
            known = sorted({k for r in records for k in r})
            raise KeyError(f"no parameter has {quantity!r} in this trace; recorded keys: {known}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    for p in params:
        steps, values = trace_of(records, quantity, p, steps=True)
        if values.ndim != 1:
            raise ValueError(f"{quantity!r} of {p!r} is an array per step (shape {values.shape[1:]}); "
                             f"plot a statistic (e.g. {quantity + '.norm'!r}) or a coordinate")
        ax.plot(steps, values, label=p if isinstance(p, str) else f"param {p}", **line_kw)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(ylabel or symbol(quantity))
    if len(params) > 1:
        ax.legend(fontsize=7)
    return ax
