"""Tracing at scale (optim.Trace): subsets, schedules, summaries, coordinates, the
in-memory bound, streaming to disk and reading back."""
import json
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
import optim
from optim.tracing import TraceReader, summarize

SHAPES = {"bias": (), "w": (5,), "W": (3, 4)}


def _named(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(n, mg.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True))
            for n, s in SHAPES.items()]


def _run(opt, params, steps, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for _, p in params:
            p.grad = mg.Tensor(rng.standard_normal(p.shape).astype(p.data.dtype))
        opt.step()


def _pair(trace, steps=6, opt_cls=optim.Adam, **kw):
    """The same run traced in full (trace=True) and with ``trace``."""
    full_params, params = _named(), _named()
    full = opt_cls(full_params, lr=0.1, trace=True, **kw)
    opt = opt_cls(params, lr=0.1, trace=trace, **kw)
    _run(full, full_params, steps)
    _run(opt, params, steps)
    return full, opt


def test_summaries_equal_statistics_of_the_full_arrays():
    full, opt = _pair(optim.Trace(quantiles=(0.05, 0.5, 0.95)))
    assert len(opt.trace) == len(full.trace)
    for name in ("w", "W"):
        for q in ("theta", "g", "m", "v", "m_hat", "v_hat"):
            arr = full.trace_of(q, param=name).reshape(6, -1)
            np.testing.assert_allclose(opt.trace_of(f"{q}.mean", param=name), arr.mean(1), rtol=1e-12)
            np.testing.assert_allclose(opt.trace_of(f"{q}.std", param=name), arr.std(1), rtol=1e-10)
            np.testing.assert_array_equal(opt.trace_of(f"{q}.min", param=name), arr.min(1))
            np.testing.assert_array_equal(opt.trace_of(f"{q}.max", param=name), arr.max(1))
            np.testing.assert_allclose(opt.trace_of(f"{q}.norm", param=name),
                                       np.linalg.norm(arr, axis=1), rtol=1e-12)
            for p, key in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
                np.testing.assert_allclose(opt.trace_of(f"{q}.{key}", param=name),
                                           np.quantile(arr, p, axis=1), rtol=1e-12)
            np.testing.assert_array_equal(opt.trace_of(f"{q}.nonfinite", param=name), 0.0)
    # scalars and 0-d parameters are kept as they are
    np.testing.assert_array_equal(opt.trace_of("t", param="W"), np.arange(1, 7))
    np.testing.assert_array_equal(opt.trace_of("v_hat", param="bias"), full.trace_of("v_hat", param="bias"))
    assert "v_hat" not in opt.trace[-1] and "v_hat.norm" in opt.trace[-1]


def test_summary_float32_and_nonfinite_entries():
    x = np.random.default_rng(3).standard_normal(10_000).astype(np.float32) + 5
    s = summarize(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose([s["mean"], s["std"], s["norm"]],
                               [x64.mean(), x64.std(), np.linalg.norm(x64)], rtol=1e-6)
    y = x64.copy()
    y[[1, 7, 9]] = [np.nan, np.inf, -np.inf]
    s = summarize(y, quantiles=(0.5,))
    finite = y[np.isfinite(y)]
    assert s["nonfinite"] == pytest.approx(3 / y.size)
    np.testing.assert_allclose([s["mean"], s["std"], s["min"], s["max"], s["norm"], s["q50"]],
                               [finite.mean(), finite.std(), finite.min(), finite.max(),
                                np.linalg.norm(finite), np.median(finite)], rtol=1e-12)
    s = summarize(np.full(4, np.nan))
    assert s["nonfinite"] == 1.0 and np.isnan(s["mean"])
    with pytest.raises(ValueError, match="unknown summary statistic"):
        summarize(x, stats=("median",))


def test_parameter_subset_by_name_and_index():
    _, opt = _pair(optim.Trace(params=["W", 1], mode="full"))
    assert {r["param"] for r in opt.trace} == {1, 2}
    assert {r["name"] for r in opt.trace} == {"w", "W"}
    full, _ = _pair(True)
    np.testing.assert_array_equal(opt.trace_of("m", param="W"), full.trace_of("m", param="W"))
    with pytest.raises(ValueError, match="no parameter named 'nope'.*names"):
        optim.Adam(_named(), trace=optim.Trace(params=["nope"]))
    with pytest.raises(ValueError, match=r"parameter 7 is neither a name nor an index in \[0, 3\)"):
        optim.Adam(_named(), trace=optim.Trace(params=[7]))


@pytest.mark.parametrize("kw, expected", [
    ({"every": 3}, [3, 6, 9]),
    ({"first": 2}, [1, 2]),
    ({"steps": [4, 7, 100]}, [4, 7]),
    ({"every": 4, "first": 1}, [1, 4, 8]),
    ({}, list(range(1, 11))),
])
def test_schedules(kw, expected):
    _, opt = _pair(optim.Trace(params=["w"], **kw), steps=10)
    steps, _ = opt.trace_of("m.norm", param="w", steps=True)
    assert steps.tolist() == expected


def test_full_mode_equals_trace_true_and_coords():
    full, opt = _pair(optim.Trace(mode="full", quantities=["m", "v_hat", "theta"],
                                  modes={"theta": "coords", "v_hat": ("full", "summary")},
                                  coords={"W": [(0, 1), (2, 3), -1], "w": [4, 0]}))
    for name in ("w", "W"):
        np.testing.assert_array_equal(opt.trace_of("m", param=name), full.trace_of("m", param=name))
        np.testing.assert_array_equal(opt.trace_of("v_hat", param=name), full.trace_of("v_hat", param=name))
        np.testing.assert_allclose(opt.trace_of("v_hat.max", param=name),
                                   full.trace_of("v_hat", param=name).reshape(6, -1).max(1))
    theta_W = full.trace_of("theta", param="W")
    np.testing.assert_array_equal(opt.trace_of("theta.coords", param="W"),
                                  np.stack([theta_W[:, 0, 1], theta_W[:, 2, 3], theta_W[:, 2, 3]], 1))
    np.testing.assert_array_equal(opt.trace_of("theta.coords", param="w"),
                                  full.trace_of("theta", param="w")[:, [4, 0]])
    assert "g" not in opt.trace[-1] and "theta" not in opt.trace[-1]
    with pytest.raises(ValueError, match=r"coordinate \(3, 0\) is outside parameter 'W'"):
        optim.Adam(_named(), trace=optim.Trace(mode="coords", coords={"W": [(3, 0)]}))
    with pytest.raises(ValueError, match="needs coords"):
        optim.Trace(mode="coords")
    with pytest.raises(ValueError, match="mode must be one or more of"):
        optim.Trace(mode="all")


def test_derived_quantity_radam():
    lr, eps = 0.1, 1e-8
    tr = optim.Trace(params=["W"], mode="full",
                     derived={"r_step": lambda q: lr * q["r_t"] / (np.sqrt(q["v"]) + eps)})
    full, opt = _pair(tr, steps=8, opt_cls=optim.RAdam)
    steps, r_step = opt.trace_of("r_step", param="W", steps=True)
    r_steps, r_t = full.trace_of("r_t", param="W", steps=True)
    assert steps.tolist() == r_steps.tolist() and len(steps) > 0        # only rectified steps
    v = full.trace_of("v", param="W")[r_steps - 1]
    np.testing.assert_allclose(r_step, lr * r_t[:, None, None] / (np.sqrt(v) + eps), rtol=1e-14)


def test_memory_bound_refuses_with_a_warning():
    tr = optim.Trace(mode="full", max_records=7)
    params = _named()
    opt = optim.Adam(params, trace=tr)
    with pytest.warns(RuntimeWarning, match="optim.Trace is full.*max_records=7"):
        _run(opt, params, 5)
    assert len(opt.trace) == 7 and tr.refused == 15 - 7
    assert [r["step"] for r in opt.trace] == [1, 1, 1, 2, 2, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # warned once only
        _run(opt, params, 1)


def test_memory_bound_in_bytes_ring_buffer():
    one = 12 * 8 + 4 * 8            # the (3, 4) float64 theta, and 8 bytes per other entry
    tr = optim.Trace(params=["W"], quantities=["theta"], mode="full", max_bytes=3 * one,
                     when_full="ring")
    params = _named()
    opt = optim.Adam(params, trace=tr)
    _run(opt, params, 10)
    assert [r["step"] for r in opt.trace] == [8, 9, 10] and tr.dropped == 7
    assert tr.nbytes <= tr.max_bytes
    np.testing.assert_array_equal(opt.trace_of("theta", param="W")[-1], params[2][1].numpy())


def test_streaming_round_trip_while_running(tmp_path):
    store = tmp_path / "trace"
    tr = optim.Trace(mode=("summary", "full"), quantiles=(0.5,), store=store, chunk_steps=3)
    full_params, params = _named(), _named()
    full = optim.RAdam(full_params, lr=0.1, trace=True)
    opt = optim.RAdam(params, lr=0.1, trace=tr)
    _run(full, full_params, 4)
    _run(opt, params, 4)
    # training "still running": chunk 0 (steps 1-3) is on disk, step 4 waits in memory
    reader = TraceReader(store)
    index = json.loads((store / "index.json").read_text())
    assert [(c["first_step"], c["last_step"]) for c in index["chunks"]] == [(1, 3)]
    assert index["params"]["2"] == {"name": "W", "group": 0, "shape": [3, 4]}
    assert len(reader) == 9 and len(opt.trace) == 12
    np.testing.assert_array_equal(reader.trace_of("m", param="W"), full.trace_of("m", param="W")[:3])
    _run(full, full_params, 4, seed=2)
    _run(opt, params, 4, seed=2)
    tr.flush()
    assert sorted(os.listdir(store)) == ["chunk_000000.npz", "chunk_000001.npz", "chunk_000002.npz",
                                         "index.json"]
    for source in (opt, tr, reader, store, str(store)):
        for q in ("m", "v", "rho_t", "rectified", "r_t", "theta"):
            for name in ("bias", "w", "W"):
                s_full, v_full = full.trace_of(q, param=name, steps=True)
                s, v = optim.trace_of(source, q, param=name, steps=True)
                np.testing.assert_array_equal(s, s_full)
                np.testing.assert_array_equal(v, v_full)
        np.testing.assert_allclose(optim.trace_of(source, "v.q50", param="W"),
                                   np.median(full.trace_of("v", param="W").reshape(8, -1), axis=1))
    assert [r["step"] for r in reader.records()] == [r["step"] for r in full.trace]
    assert reader.records()[5]["name"] == full.trace[5]["name"]
    with np.load(store / "chunk_000001.npz", allow_pickle=False) as z:   # no pickle needed
        assert z["rec.step"].tolist() == [4, 4, 4, 5, 5, 5, 6, 6, 6]
    with pytest.raises(FileExistsError, match="already holds a trace"):
        optim.Trace(store=store)
    with pytest.raises(FileNotFoundError, match="no trace index"):
        TraceReader(tmp_path / "empty")


def test_switching_back_and_forth_keeps_trace_true_unchanged():
    params = _named()
    tr = optim.Trace(params=["w"])
    opt = optim.Adam(params, trace=tr)
    _run(opt, params, 2)
    assert opt.trace is tr and len(tr) == 2
    opt.set_trace(True)
    _run(opt, params, 1)
    assert isinstance(opt.trace, list) and len(opt.trace) == 3 and len(tr) == 2
    opt.set_trace(False)
    assert not opt.tracing
    with pytest.raises(TypeError, match="trace must be"):
        optim.Adam(params, trace=3.5)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        optim.Trace(every=0)


def test_plot_trace_draws_one_line_per_parameter(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optim.trace_plot import plot_trace, symbol

    full, opt = _pair(optim.Trace(params=["w", "W"]), steps=5, opt_cls=optim.RAdam)
    ax = plot_trace(opt, "m.norm")
    assert [line.get_label() for line in ax.lines] == ["w", "W"]
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), np.arange(1, 6))
    np.testing.assert_allclose(ax.lines[1].get_ydata(),
                               np.linalg.norm(full.trace_of("m", param="W").reshape(5, -1), axis=1))
    assert ax.get_ylabel() == r"$\|m_t\|_2$" and ax.get_xlabel() == "step t"
    assert symbol("rho_t") == r"$\rho_t$" and symbol("v_hat.q50") == r"median of $\hat v_t$"
    with pytest.raises(ValueError, match="plot a statistic"):
        plot_trace(full, "m", params=["W"])
    with pytest.raises(KeyError, match="no parameter has 'nope'"):
        plot_trace(opt, "nope")
    plt.close("all")


def test_a_trace_serves_one_optimizer():
    tr = optim.Trace()
    params = _named()
    opt = optim.Adam(params, trace=tr)
    opt.set_trace(tr)                                    # the same optimizer again: fine
    with pytest.raises(ValueError, match="already records another optimizer"):
        optim.SGD(params, lr=0.1, trace=tr)


def test_streamed_coords_in_chunks_by_bytes(tmp_path):
    tr = optim.Trace(params=["W"], mode="coords", coords=[0, 5], store=tmp_path / "t", chunk_bytes=1)
    full, opt = _pair(tr, steps=4)
    tr.flush()
    index = json.loads((tmp_path / "t" / "index.json").read_text())
    assert [(c["first_step"], c["last_step"]) for c in index["chunks"]] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert index["coords"]["2"] == [0, 5] and index["spec"]["mode"] == ["coords"]
    np.testing.assert_array_equal(optim.trace_of(tmp_path / "t", "m.coords", param="W"),
                                  full.trace_of("m", param="W").reshape(4, -1)[:, [0, 5]])
    assert optim.trace_of(tmp_path / "t", "t", param="W").dtype.kind == "i"
