"""The base class's API against torch.optim: state dicts, closures, groups, gradients, errors.

The state dict has PyTorch's layout and loads PyTorch's; loading validates
the groups and casts; the closure is called once under enable_grad;
add_param_group mid-training, zero_grad (both ways), parameters without
gradients and float32 parameters behave as in PyTorch; bad params raise
PyTorch's errors.
"""
import numpy as np
import pytest
import torch
from optim_utils import (
    SHAPES,
    assert_same_state,
    feed_grads,
    make_pair,
    random_grads,
    train,
)

import minigrad as mg
import optim

# ---------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------

def test_state_dict_has_torch_layout():
    ours, theirs, opt_ours, opt_theirs = make_pair(
        "Adam", {"amsgrad": True}, SHAPES,
        groups=[([0, 1], {}), ([2, 3], {"lr": 0.1})])
    rng = np.random.default_rng(0)
    for t in range(3):
        feed_grads(rng, ours, theirs, t)
        opt_ours.step()
        opt_theirs.step()
    sd, tsd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert sd["state"].keys() == tsd["state"].keys()
    for k in tsd["state"]:
        assert sd["state"][k].keys() == tsd["state"][k].keys()
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                    "decoupled_weight_decay"):
            assert g[key] == tg[key], key


def test_adagrad_state_exists_before_the_first_step_like_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("Adagrad", {"initial_accumulator_value": 0.3},
                                                   SHAPES)
    sd, tsd = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd["state"].keys() == tsd["state"].keys() == set(range(len(SHAPES)))
    for k in tsd["state"]:
        assert sd["state"][k]["step"] == 0
        np.testing.assert_array_equal(sd["state"][k]["sum"], tsd["state"][k]["sum"].numpy())


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam"])
def test_load_torch_state_dict_with_tensors(name):
    """A torch state dict, its tensors turned into minigrad Tensors, continues torch's run."""
    cfg = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True, "momentum": 0.3},
           "Adam": {"amsgrad": True}}.get(name, {})
    ours, theirs, opt_ours, opt_theirs = make_pair(name, cfg, SHAPES)
    rng = np.random.default_rng(5)
    for t in range(10):
        feed_grads(rng, ours, theirs, t)
        opt_theirs.step()
    with torch.no_grad():
        for p, q in zip(ours, theirs):
            p.data[...] = q.numpy()
    tsd = opt_theirs.state_dict()
    converted = {
        "state": {k: {key: mg.Tensor(v.detach().numpy().copy()) for key, v in s.items()}
                  for k, s in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    opt_ours.load_state_dict(converted)
    for t in range(10, 20):
        feed_grads(rng, ours, theirs, t)
        opt_ours.step()
        opt_theirs.step()
    assert_same_state(opt_ours, opt_theirs, ours, theirs)


def test_load_state_dict_validates_groups():
    a, b, c = (mg.Tensor(np.ones(2), requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([a, b, c], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).load_state_dict(
            opt.state_dict())


def test_load_state_dict_casts_dtype_and_copies():
    p = mg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p])
    sd = {"state": {0: {"step": np.array(4.0), "exp_avg": np.ones(3),
                        "exp_avg_sq": np.ones(3)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == np.float32
    assert opt.state[p]["step"] == 4.0 and not isinstance(opt.state[p]["step"], np.ndarray)
    sd["state"][0]["exp_avg"][...] = 7
    assert opt.state[p]["exp_avg"][0] == 1


@pytest.mark.gpu
def test_gpu_matches_cpu_and_load_moves_state_to_device():
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = random_grads(1, 10, SHAPES)
    cpu = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    gpu = [mg.Tensor(a.copy(), requires_grad=True, device="cuda") for a in init]
    opt_cpu = optim.Adam(cpu, lr=0.01, amsgrad=True)
    opt_gpu = optim.Adam(gpu, lr=0.01, amsgrad=True)
    train(opt_cpu, cpu, grads)
    for step_grads in grads:
        for p, g in zip(gpu, step_grads):
            p.grad = None if g is None else mg.Tensor(g.copy(), device="cuda")
        opt_gpu.step()
    for p, q in zip(cpu, gpu):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12)
    fresh = [mg.Tensor(p.numpy(), requires_grad=True, device="cuda") for p in cpu]
    opt_fresh = optim.Adam(fresh)
    opt_fresh.load_state_dict(opt_cpu.state_dict())
    assert all(mg.backend.is_cupy_array(s["exp_avg"]) for s in opt_fresh.state.values())
    assert all(isinstance(s["step"], int) for s in opt_fresh.state.values())


# ---------------------------------------------------------------------------
# closure, add_param_group, zero_grad, parameters without gradients
# ---------------------------------------------------------------------------

def test_closure_is_called_once_under_enable_grad_and_its_loss_returned():
    rng = np.random.default_rng(0)
    target = rng.standard_normal(4)
    w = mg.Tensor(np.zeros(4), requires_grad=True)
    wt = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([wt], lr=0.1, momentum=0.9)
    calls = []

    def closure():
        calls.append(mg.is_grad_enabled())
        opt.zero_grad()
        loss = ((w - mg.Tensor(target)) ** 2).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = ((wt - torch.tensor(target)) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(5):
        with mg.no_grad():
            loss = opt.step(closure)
        tloss = topt.step(tclosure)
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    assert calls == [True] * 5
    np.testing.assert_allclose(w.numpy(), wt.detach().numpy(), rtol=1e-12)
    assert opt.step() is None


def test_add_param_group_mid_training_matches_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("Adam", {"lr": 0.01}, [(3,), (2, 2)])
    extra_init = np.random.default_rng(9).standard_normal((4,))
    extra_ours = mg.Tensor(extra_init.copy(), requires_grad=True)
    extra_theirs = torch.tensor(extra_init.copy(), requires_grad=True)
    rng = np.random.default_rng(1)
    for t in range(20):
        if t == 7:
            opt_ours.add_param_group({"params": [extra_ours], "lr": 0.1, "amsgrad": True})
            opt_theirs.add_param_group({"params": [extra_theirs], "lr": 0.1, "amsgrad": True})
            ours.append(extra_ours)
            theirs.append(extra_theirs)
        feed_grads(rng, ours, theirs, t, skip_some=False)
        opt_ours.step()
        opt_theirs.step()
    assert opt_ours.param_groups[1]["betas"] == (0.9, 0.999)   # defaults filled in
    assert_same_state(opt_ours, opt_theirs, ours, theirs)


def test_zero_grad():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    grad_array = w.grad.data
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.data is grad_array
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_false_still_steps_with_momentum_like_torch():
    ours, theirs, opt_ours, opt_theirs = make_pair("SGD", {"lr": 0.1, "momentum": 0.9},
                                                   [(3,)])
    rng = np.random.default_rng(0)
    feed_grads(rng, ours, theirs, 0)
    opt_ours.step(), opt_theirs.step()
    opt_ours.zero_grad(set_to_none=False)
    opt_theirs.zero_grad(set_to_none=False)
    opt_ours.step(), opt_theirs.step()        # zero gradient: momentum still moves
    assert_same_state(opt_ours, opt_theirs, ours, theirs)
    opt_ours.zero_grad()
    before = ours[0].numpy().copy()
    opt_ours.step()                           # no gradient: untouched
    np.testing.assert_array_equal(ours[0].numpy(), before)


def test_parameter_and_float32():
    from minigrad.nn import Parameter

    w = Parameter(mg.Tensor(np.ones((2, 2), dtype=np.float32)))
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    data = w.data
    opt.step()
    assert w.data is data and w.dtype == np.float32       # updated in place
    assert opt.state[w]["exp_avg"].dtype == np.float32


# ---------------------------------------------------------------------------
# params
# ---------------------------------------------------------------------------

def test_param_errors_follow_torch():
    a = mg.Tensor(np.ones(2), requires_grad=True)
    b = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.SGD([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "minigrad.tensor.Tensor"):
        optim.SGD(a)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of "
                                        "the params is numpy.ndarray"):
        optim.SGD([a, np.ones(2)])
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        optim.SGD([{"params": [a]}, {"params": [b, a]}])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a, b}}])
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", a), b])
    with pytest.raises(ValueError, match="cannot add param group with names"):
        optim.SGD([{"params": [a]}, {"params": [("b", b)]}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([a]).add_param_group([b])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a])
    # like torch: a tensor that does not require grad is accepted (and never stepped)
    frozen = mg.Tensor(np.ones(2))
    opt = optim.SGD([frozen, a], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(frozen.numpy(), 1)


def test_required_hyperparameter():
    class Needs(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, {"lr": lr})

    a = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Needs([a])
    assert Needs([{"params": [a], "lr": 0.5}]).param_groups[0]["lr"] == 0.5
    with pytest.raises(NotImplementedError, match="_update"):
        opt = Needs([{"params": [a], "lr": 0.5}])
        a.grad = mg.Tensor(np.ones(2))
        opt.step()


def test_named_params_and_tensor_lr():
    a = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([("weight", a)], lr=mg.Tensor(0.5))
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.param_groups[0]["lr"] == 0.5
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Adam([a], lr=mg.Tensor([0.1, 0.2]))
