"""Schedule-Free SGD and AdamW against the reference code's form of the algorithm, and the train/eval switch.

The by-hand reference keeps only y and z and updates y in place as the
authors' code does (y <- y + c (z - y) + lr (beta (1 - c) - 1) g, then
z <- z - lr g), an algebraically different route from the formula's
z -> x -> y: parameters agree within 1e-12 (relative) after every step.
"""
import numpy as np
import pytest
from paper_utils import Reference, make_grads, make_params, run_against

import minigrad as mg
import optim


class ScheduleFreeByHand(Reference):
    def __init__(self, init, lr=1.0, momentum=0.9, betas=None, eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0):
        super().__init__(init)
        self.adaptive = betas is not None
        self.beta = betas[0] if self.adaptive else momentum
        self.beta2, self.lr, self.eps, self.wd = (betas[1] if self.adaptive else None), lr, eps, weight_decay
        self.warmup, self.r, self.power = warmup_steps, r, weight_lr_power

    def __call__(self, i, g):
        s, y = self.state[i], self.theta[i]
        t = s.get("step", 0) + 1
        lr = self.lr * (t / self.warmup if t < self.warmup else 1.0)
        lr_max = max(lr, s.get("lr_max", -1.0))
        weight = t ** self.r * lr_max ** self.power
        weight_sum = s.get("weight_sum", 0.0) + weight
        c = weight / weight_sum
        z = s.get("z", y.copy())
        new = {"step": t, "lr_max": lr_max, "weight_sum": weight_sum}
        if self.adaptive:
            v = self.beta2 * s.get("exp_avg_sq", 0.0) + (1 - self.beta2) * g * g
            g = g / (np.sqrt(v / (1 - self.beta2 ** t)) + self.eps)
            new["exp_avg_sq"] = v
        g = g + self.wd * y
        y = y + c * (z - y) + lr * (self.beta * (1 - c) - 1) * g
        new["z"] = z - lr * g
        self.theta[i] = y
        self.state[i] = new


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1, "warmup_steps": 10},
    {"lr": 0.05, "r": 1.0, "weight_lr_power": 1.0, "warmup_steps": 5},
], ids=str)
def test_schedule_free_sgd_is_its_algorithm(cfg):
    init, params = make_params()
    run_against(optim.ScheduleFreeSGD(params, **cfg), params, make_grads(), ScheduleFreeByHand(init, **cfg),
                ["step", "z", "lr_max", "weight_sum"])


@pytest.mark.parametrize("cfg", [
    {}, {"lr": 0.01, "betas": (0.95, 0.99), "weight_decay": 0.1, "warmup_steps": 10},
    {"lr": 0.01, "r": 0.5, "eps": 1e-3},
], ids=str)
def test_schedule_free_adamw_is_its_algorithm(cfg):
    init, params = make_params()
    hand_cfg = dict(cfg, betas=cfg.get("betas", (0.9, 0.999)), lr=cfg.get("lr", 0.0025))
    run_against(optim.ScheduleFreeAdamW(params, **cfg), params, make_grads(), ScheduleFreeByHand(init, **hand_cfg),
                ["step", "z", "lr_max", "weight_sum", "exp_avg_sq"])


def test_eval_holds_the_average_of_the_z_iterates_and_train_restores_y():
    """Constant rate, r = 0: c_t = 1/t, so x is the plain mean of z_1..z_t; eval()/train() switch exactly."""
    w = mg.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = optim.ScheduleFreeSGD([w], lr=0.1, momentum=0.9, trace=["z"])
    rng = np.random.default_rng(0)
    for _ in range(7):
        w.grad = mg.Tensor(rng.standard_normal(2))
        opt.step()
    y = w.numpy().copy()
    opt.eval()
    np.testing.assert_allclose(w.numpy(), opt.trace_of("z").mean(axis=0), rtol=1e-13)
    assert opt.param_groups[0]["train_mode"] is False
    with pytest.raises(RuntimeError, match="evaluation mode: call train"):
        opt.step()
    opt.eval()                                                     # twice is harmless
    opt.train()
    np.testing.assert_allclose(w.numpy(), y, rtol=1e-14)
    # the mode travels with the state dict
    opt.eval()
    other = optim.ScheduleFreeSGD([mg.Tensor(w.numpy().copy(), requires_grad=True)])
    other.load_state_dict(opt.state_dict())
    assert other.param_groups[0]["train_mode"] is False


def test_schedule_free_sgd_solves_a_quadratic_without_a_schedule():
    """f = ||w||^2 / 2, unit gradient noise, constant rate: SGD stalls at its noise floor
    (norm about sqrt(d lr / (2 - lr)) = 1.0), the average x keeps improving like the mean of the
    noise (norm about sqrt(d / T) = 0.1)."""
    rng = np.random.default_rng(1)
    w = mg.Tensor(np.full(20, 3.0), requires_grad=True)
    v = mg.Tensor(np.full(20, 3.0), requires_grad=True)
    sf, sgd = optim.ScheduleFreeSGD([w], lr=0.1, momentum=0.9), optim.SGD([v], lr=0.1)
    for _ in range(2000):
        noise = rng.standard_normal(20)
        w.grad, v.grad = mg.Tensor(w.numpy() + noise), mg.Tensor(v.numpy() + noise)
        sf.step()
        sgd.step()
    sf.eval()
    assert np.linalg.norm(v.numpy()) > 0.5 * np.sqrt(20 * 0.1 / 1.9)
    assert np.linalg.norm(w.numpy()) < 3 * np.sqrt(20 / 2000)
