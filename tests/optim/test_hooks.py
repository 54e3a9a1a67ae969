"""The optimizer hooks against PyTorch 2.13's: the same calls, in the same order, with the same effects.

Each scenario is run on a minigrad optimizer and on the torch optimizer of the
same name with the same hooks; the logs of the calls (which hook, with what)
and the results (parameters, state dicts) must agree.
"""
import numpy as np
import pytest

import minigrad as mg
import optim
from optim import hooks

torch = pytest.importorskip("torch")


def _pair(name="SGD", **cfg):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2))
    ours = mg.Tensor(w0.copy(), requires_grad=True)
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    return (getattr(optim, name)([ours], **cfg), ours), (getattr(torch.optim, name)([theirs], **cfg), theirs)


def _give(p, g):
    if isinstance(p, mg.Tensor):
        p.grad = mg.Tensor(g.copy())
    else:
        p.grad = torch.tensor(g.copy())


def _numpy(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _run_both(scenario, name="SGD", **cfg):
    """``scenario(opt, p, log)`` on both libraries; returns (our log, their log)."""
    logs = []
    for opt, p in _pair(name, **cfg):
        log = []
        scenario(opt, p, log)
        logs.append(log)
    return logs


def test_step_hooks_order_arguments_and_removal():
    def scenario(opt, p, log):
        h1 = opt.register_step_pre_hook(lambda o, a, k: log.append(("pre1", o is opt, len(a), a[0] is opt,
                                                                       sorted(k))))
        opt.register_step_pre_hook(lambda o, a, k: log.append(("pre2", round(float(_numpy(p)[0, 0]), 12))))
        opt.register_step_post_hook(lambda o, a, k: log.append(("post", round(float(_numpy(p)[0, 0]), 12))))
        for step in range(3):
            _give(p, np.full((3, 2), 1.0 + step))
            opt.step()
            if step == 0:
                h1.remove()
                h1.remove()                        # twice is harmless
        _give(p, np.ones((3, 2)))
        opt.step(closure=None)                    # keyword arguments reach the hooks
    ours, theirs = _run_both(scenario, lr=0.1)
    assert ours == theirs
    assert [e[0] for e in ours] == ["pre1", "pre2", "post"] + ["pre2", "post"] * 3


def test_step_pre_hook_can_replace_the_arguments_and_bad_results_raise():
    def closure_for(p):
        def closure():
            _give(p, np.full((3, 2), 2.0))
            return 7.0
        return closure

    def scenario(opt, p, log):
        handle = opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": closure_for(p)}))
        log.append(opt.step())                     # the hook supplies the closure
        log.append(_numpy(p).round(12).tolist())
        handle.remove()
        opt.register_step_pre_hook(lambda o, a, k: "nonsense")
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            opt.step()
        log.append("raised")
    ours, theirs = _run_both(scenario, lr=0.1)
    assert ours == theirs


def test_global_step_hooks_wrap_the_optimizers_own():
    order = []
    pre = hooks.register_optimizer_step_pre_hook(lambda o, a, k: order.append("global pre"))
    post = hooks.register_optimizer_step_post_hook(lambda o, a, k: order.append("global post"))
    try:
        (opt, p), _ = _pair("Adam")
        opt.register_step_pre_hook(lambda o, a, k: order.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: order.append("post"))
        _give(p, np.ones((3, 2)))
        opt.step()
    finally:
        pre.remove()
        post.remove()
    assert order == ["global pre", "pre", "post", "global post"]      # torch's order
    order.clear()
    _give(p, np.ones((3, 2)))
    opt.step()
    assert order == ["pre", "post"]


def test_state_dict_hooks_prepend_and_replacement():
    def scenario(opt, p, log):
        opt.register_state_dict_pre_hook(lambda o: log.append("pre A"))
        opt.register_state_dict_pre_hook(lambda o: log.append("pre B"), prepend=True)

        def add_key(o, sd):
            log.append(("post add", sorted(sd)))
            sd["extra"] = 1

        def replace(o, sd):
            log.append(("post replace", sorted(sd)))
            return {"replaced": sd["extra"] + 1}

        opt.register_state_dict_post_hook(replace)
        opt.register_state_dict_post_hook(add_key, prepend=True)
        _give(p, np.ones((3, 2)))
        opt.step()
        log.append(opt.state_dict())
    ours, theirs = _run_both(scenario, "Adam", lr=0.1)
    assert ours == theirs
    assert ours[-1] == {"replaced": 2}


def test_load_state_dict_hooks_see_a_shallow_copy_and_may_replace_it():
    def scenario(opt, p, log):
        _give(p, np.ones((3, 2)))
        opt.step()
        saved = opt.state_dict()
        saved["param_groups"][0]["lr"] = 0.5

        def edit(o, sd):
            log.append(("pre edit", sorted(sd)))
            sd["marker"] = True                      # on the copy, not the caller's dict

        def replace(o, sd):
            log.append(("pre replace", "marker" in sd))
            sd = dict(sd)
            sd.pop("marker")
            sd["param_groups"] = [dict(sd["param_groups"][0], lr=0.25)]
            return sd

        opt.register_load_state_dict_pre_hook(replace)
        opt.register_load_state_dict_pre_hook(edit, prepend=True)
        opt.register_load_state_dict_post_hook(lambda o: log.append(("post", o.param_groups[0]["lr"])))
        opt.register_load_state_dict_post_hook(lambda o: log.append("post first"), prepend=True)
        opt.load_state_dict(saved)
        log.append(("caller's dict untouched", "marker" not in saved))
        log.append(opt.param_groups[0]["lr"])
    ours, theirs = _run_both(scenario, "Adam", lr=0.1)
    assert ours == theirs
    assert ours[-1] == 0.25


def test_hooks_run_once_for_overrides_and_wrappers_and_handles_work_as_context_managers():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Lookahead(optim.SGD([w], lr=0.1), k=2)     # overrides step and state_dict
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("outer pre"))
    opt.base_optimizer.register_step_pre_hook(lambda o, a, k: calls.append("inner pre"))
    with opt.register_state_dict_post_hook(lambda o, sd: calls.append(sorted(sd))):
        w.grad = mg.Tensor(np.ones(3))
        opt.step()
        opt.state_dict()
    opt.state_dict()                                        # the handle was removed
    assert calls == ["outer pre", "inner pre", ["base_state", "lookahead", "param_groups", "state"]]
    # a mixin that overrides state_dict and calls super(): the post-hook sees the finished dict
    svrg = optim.SVRG([w], lr=0.1)
    seen = []
    svrg.register_state_dict_post_hook(lambda o, sd: seen.append(sorted(sd)))
    svrg.state_dict()
    assert seen == [["optimizer_state", "param_groups", "state"]]


def test_a_hook_must_be_callable():
    (opt, _), _ = _pair()
    with pytest.raises(TypeError, match="hook must be callable"):
        opt.register_step_pre_hook(3)
