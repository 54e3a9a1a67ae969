"""Tracing: the records of the formula's intermediates (format in optim/TRACING.md)."""
import numpy as np
import pytest

import minigrad as mg
import optim

SHAPES = [(), (3,), (2, 2)]


def _params(seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [mg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _run(opt, params, steps, seed=1, skip=None):
    rng = np.random.default_rng(seed)
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = None if skip and skip(i, t) else mg.Tensor(rng.standard_normal(p.shape))
        opt.step()


def test_off_by_default_and_not_a_group_key():
    params = _params()
    opt = optim.Adam(params)
    _run(opt, params, 3)
    assert opt.trace == [] and not opt.tracing
    traced = optim.Adam(params, trace=True)
    assert traced.tracing
    assert "trace" not in traced.param_groups[0] and "trace" not in traced.defaults
    _run(traced, params, 1)
    assert "trace" not in str(traced.state_dict())


def test_record_format_adam():
    params = _params()
    opt = optim.Adam(params, lr=0.1, amsgrad=True, trace=True)
    _run(opt, params, 4)
    assert len(opt.trace) == 4 * len(params)
    first = opt.trace[0]
    assert (first["step"], first["group"], first["param"]) == (1, 0, 0)
    assert set(first) == {"step", "group", "param", "theta", "t", "g", "m", "v", "v_max",
                          "m_hat", "v_hat"}
    assert [(r["step"], r["param"]) for r in opt.trace[:4]] == [(1, 0), (1, 1), (1, 2), (2, 0)]
    last = opt.trace[-1]
    p = params[2]
    np.testing.assert_array_equal(last["theta"], p.numpy())
    np.testing.assert_array_equal(last["m"], opt.state[p]["exp_avg"])
    np.testing.assert_array_equal(last["v"], opt.state[p]["exp_avg_sq"])
    np.testing.assert_array_equal(last["v_max"], opt.state[p]["max_exp_avg_sq"])
    assert last["t"] == 4
    np.testing.assert_allclose(last["m_hat"], last["m"] / (1 - 0.9 ** 4), rtol=1e-15)
    np.testing.assert_allclose(last["v_hat"], last["v_max"] / (1 - 0.999 ** 4), rtol=1e-15)


def test_trace_of_shapes_values_and_names():
    params = _params()
    named = [("bias", params[0]), ("w", params[1]), ("W", params[2])]
    opt = optim.Adam(named, lr=0.1, trace=True)
    _run(opt, params, 5)
    assert opt.trace_of("m", param=0).shape == (5,)             # 0-d parameter
    assert opt.trace_of("m", param=2).shape == (5, 2, 2)
    assert opt.trace_of("t", param=1).tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(opt.trace_of("v", param="W"), opt.trace_of("v", param=2))
    assert opt.trace[0]["name"] == "bias"
    np.testing.assert_array_equal(opt.trace_of("theta", param="W")[-1], params[2].numpy())
    with pytest.raises(KeyError, match="recorded keys"):
        opt.trace_of("rho_t", param=0)
    with pytest.raises(KeyError, match="trace=True"):
        optim.SGD(params, trace=True).trace_of("g")


def test_records_are_copies():
    p = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, trace=True)
    _run(opt, [p], 3)
    first_b = opt.trace[0]["b"].copy()
    first_theta = opt.trace[0]["theta"].copy()
    np.testing.assert_array_equal(opt.trace[0]["b"], first_b)
    np.testing.assert_array_equal(opt.trace[0]["theta"], first_theta)
    assert not np.array_equal(opt.trace[0]["theta"], p.numpy())


def test_skipped_parameters_and_steps():
    params = _params()
    opt = optim.Adagrad(params, lr=0.1, lr_decay=0.5, trace=True)
    _run(opt, params, 6, skip=lambda i, t: i == 1 and t % 2 == 0)
    steps, lr_t = opt.trace_of("lr_t", param=1, steps=True)
    assert steps.tolist() == [1, 3, 5]
    # lr_t follows the parameter's own step count t, not the optimizer's
    np.testing.assert_allclose(lr_t, [0.1 / (1 + k * 0.5) for k in range(3)])
    assert len(opt.trace_of("lr_t", param=0)) == 6


def test_filter_and_set_trace():
    params = _params()
    opt = optim.RMSprop(params, centered=True, momentum=0.5, trace=["g_bar", "a"])
    _run(opt, params, 2)
    assert set(opt.trace[0]) == {"step", "group", "param", "g_bar", "a"}
    opt.set_trace(False)
    _run(opt, params, 1)
    assert len(opt.trace) == 2 * len(params)
    opt.clear_trace()
    opt.set_trace(True)
    _run(opt, params, 1)
    assert {"v", "a", "g_bar", "b", "theta"} <= set(opt.trace[0])
    assert opt.trace[0]["step"] == 4


def test_groups_and_global_indices():
    params = _params()
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:], "momentum": 0.9}],
                    lr=0.1, trace=True)
    _run(opt, params, 2)
    assert [(r["group"], r["param"]) for r in opt.trace[:3]] == [(0, 0), (1, 1), (1, 2)]
    assert "b" not in opt.trace[0] and "b" in opt.trace[1]


@pytest.mark.parametrize("name, kwargs, keys", [
    ("SGD", {"momentum": 0.9}, {"g", "b", "d"}),
    ("SGD", {"momentum": 0.9, "momentum_form": "lecture"}, {"g", "v"}),
    ("SGD", {}, {"g", "d"}),
    ("Adagrad", {}, {"t", "g", "lr_t", "s", "denom"}),
    ("RMSprop", {}, {"t", "g", "v", "a"}),
    ("Adadelta", {}, {"t", "g", "v", "delta", "u"}),
    ("Adam", {"bias_correction": "efficient"}, {"t", "g", "m", "v", "alpha_t"}),
    ("AdamW", {}, {"t", "g", "m", "v", "m_hat", "v_hat"}),
])
def test_quantities_by_optimizer(name, kwargs, keys):
    params = _params()
    opt = getattr(optim, name)(params, trace=True, **kwargs)
    _run(opt, params, 2)
    assert set(opt.trace[-1]) == {"step", "group", "param", "theta"} | keys


def test_trace_agrees_with_the_formula_by_hand_rmsprop():
    p = mg.Tensor(np.zeros(4), requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, trace=True)
    grads = np.random.default_rng(0).standard_normal((5, 4))
    v = np.zeros(4)
    for g in grads:
        p.grad = mg.Tensor(g.copy())
        opt.step()
        v = 0.9 * v + 0.1 * g ** 2
    np.testing.assert_allclose(opt.trace_of("v")[-1], v, rtol=1e-14)
    np.testing.assert_allclose(opt.trace_of("a")[-1], np.sqrt(v) + 1e-8, rtol=1e-14)
    np.testing.assert_array_equal(opt.trace_of("g"), grads)
