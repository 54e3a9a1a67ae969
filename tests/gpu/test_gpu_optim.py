"""Every optimizer and every scheduler, 20 steps on the CPU and on the GPU: the same numbers.

Each optimizer minimizes the same smooth loss (a closure, so that line
searches, SAM, SVRG and Sophia get what they need) from the same start on
both devices; parameters and losses must agree (float64, tight). The
optimizers with a flat path run it too: on the GPU it is the fused kernels of
``optim.fast.kernels`` compiled by ``optim.fast.gpu`` (one kernel per step), compared with the teaching path on
the GPU to a few ulps per step (the CUDA compiler fuses multiply-adds) and
with the CPU; the kernels must actually have run. The schedulers drive Adam on
both devices and must give the same learning rates and parameters.
"""
import numpy as np
import pytest
from gpu_utils import GPU, assert_close, on

import minigrad as mg
import optim
from optim import lr_scheduler as S
from optim.fast import gpu as fused
from optim.fast import kernels

pytestmark = pytest.mark.gpu

SHAPES = [(), (5,), (4, 3)]
STEPS = 20

# torch's optimizers with their parity tables' first and last configurations; the others
# with settings that make them move in 20 steps
TORCH_NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
               "ASGD", "Rprop", "LBFGS"]
BUILDERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "SGD-lecture": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, momentum_form="lecture"),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.01),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    "Adadelta": lambda ps: optim.Adadelta(ps, lr=1.0, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True, weight_decay=0.01),
    "Adam-efficient": lambda ps: optim.Adam(ps, lr=0.05, bias_correction="efficient"),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.05),
    "Adamax": lambda ps: optim.Adamax(ps, lr=0.05),
    "NAdam": lambda ps: optim.NAdam(ps, lr=0.05),
    "RAdam": lambda ps: optim.RAdam(ps, lr=0.05),
    "ASGD": lambda ps: optim.ASGD(ps, lr=0.05, t0=5),
    "Rprop": lambda ps: optim.Rprop(ps, lr=0.05),
    "Adafactor": lambda ps: optim.Adafactor(ps, lr=0.05),
    "LBFGS": lambda ps: optim.LBFGS(ps, lr=1, max_iter=4, line_search_fn="strong_wolfe"),
    "Muon": lambda ps: optim.Muon(ps, lr=0.05),
    "AdaBelief": lambda ps: optim.AdaBelief(ps, lr=0.05),
    "LAMB": lambda ps: optim.LAMB(ps, lr=0.05),
    "LARS": lambda ps: optim.LARS(ps, lr=0.05),
    "Lookahead": lambda ps: optim.Lookahead(optim.Adam(ps, lr=0.05), k=3),
    "Ranger": lambda ps: optim.Ranger(ps, lr=0.05),
    "Ranger21": lambda ps: optim.Ranger21(ps, lr=0.05, num_iterations=STEPS),
    "SAM": lambda ps: optim.SAM(ps, optim.SGD, lr=0.05, momentum=0.9),
    "SWATS": lambda ps: optim.SWATS(ps, lr=0.05),
    "SVRG": lambda ps: optim.SVRG(ps, lr=0.05, inner_steps=5),
    "BarzilaiBorwein": lambda ps: optim.BarzilaiBorwein(ps, lr=0.05),
    "SGDBB": lambda ps: optim.SGDBB(ps, lr=0.05, inner_steps=5),
    "SVRGBB": lambda ps: optim.SVRGBB(ps, lr=0.05, inner_steps=5),
    "Sophia": lambda ps: optim.Sophia(ps, lr=0.05),
    "Shampoo": lambda ps: optim.Shampoo(ps, lr=0.05),
}
FLAT = {"SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        "SGD-plain": dict(lr=0.05, maximize=False, weight_decay=0.1),
        "SGD-dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
        "Adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01),
        "Adagrad-lecture": dict(lr=0.1, eps=1e-3, eps_inside_sqrt=True, maximize=True),
        "RMSprop": dict(lr=0.01, centered=True, momentum=0.5),
        "RMSprop-plain": dict(lr=0.01, weight_decay=0.1),
        "Adam": dict(lr=0.05, amsgrad=True, weight_decay=0.01),
        "Adam-efficient": dict(lr=0.05, bias_correction="efficient", maximize=True),
        "AdamW": dict(lr=0.05, weight_decay=0.1)}


def _problem(device, dtype, shapes=SHAPES):
    """Parameters and a closure: a quartic-plus-quadratic loss, the same on every device."""
    rng = np.random.default_rng(0)
    params = [on(device, rng.standard_normal(s), dtype, requires_grad=True) for s in shapes]
    targets = [on(device, rng.standard_normal(s), dtype) for s in shapes]
    scales = [on(device, rng.uniform(0.5, 2.0, s), dtype) for s in shapes]

    def loss_fn():
        total = None
        for p, t, a in zip(params, targets, scales):
            d = p - t
            term = (a * d * d).sum() + 0.05 * (d * d * d * d).sum()
            total = term if total is None else total + term
        return total

    return params, loss_fn


def _train(build, device, dtype=np.float64, steps=STEPS, shapes=SHAPES):
    params, loss_fn = _problem(device, dtype, shapes)
    opt = build(params)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    losses = []
    for t in range(steps):
        if hasattr(opt, "take_snapshot") and t % 5 == 0:      # SVRG's epochs: 5 inner steps
            opt.take_snapshot(closure)
        losses.append(float(opt.step(closure).item()))
    return params, losses, opt


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_optimizer_20_steps_cpu_vs_gpu(name):
    shapes = [(4, 3), (2, 5)] if name == "Muon" else SHAPES      # Muon: matrices only
    cpu, cpu_losses, _ = _train(BUILDERS[name], "cpu", shapes=shapes)
    gpu, gpu_losses, _ = _train(BUILDERS[name], GPU, shapes=shapes)
    assert cpu_losses[-1] < cpu_losses[0]                  # it did optimize
    assert_close(np.array(cpu_losses), np.array(gpu_losses), np.float64, f"{name} losses", scale=10)
    for i, (p, q) in enumerate(zip(cpu, gpu)):
        assert q.device == mg.backend.normalize_device(GPU)
        assert_close(p, q, np.float64, f"{name} parameter {i}", scale=10)


def _flat_builder(key, impl):
    name = key.split("-")[0]
    return lambda ps: getattr(optim, name)(ps, impl=impl, **FLAT[key])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("key", sorted(FLAT))
def test_flat_path_fused_on_gpu(key, dtype):
    """The flat path on the GPU (the fused kernels) against the teaching path on the GPU and the CPU."""
    before = kernels.stats["fused"]
    flat, flat_losses, opt = _train(_flat_builder(key, "flat"), GPU, dtype)
    if GPU != "cpu":
        assert kernels.stats["fused"] >= before + STEPS - 1, f"the fused kernels did not run: {fused.failures}"
    teaching, teaching_losses, _ = _train(_flat_builder(key, "teaching"), GPU, dtype)
    cpu, cpu_losses, _ = _train(_flat_builder(key, "teaching"), "cpu", dtype)
    # fused multiply-adds: about an ulp per operation and step, 20 steps
    rtol, atol = (1e-12, 1e-13) if dtype == np.float64 else (1e-5, 1e-6)
    for i, (p, q, r) in enumerate(zip(teaching, flat, cpu)):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=rtol, atol=atol, err_msg=f"{key} {i}")
        assert_close(r, q, dtype, f"{key} parameter {i} (CPU)", scale=10)
    assert_close(np.array(cpu_losses), np.array(flat_losses), dtype, f"{key} losses", scale=10)


SCHEDULERS = {
    "LambdaLR": lambda o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lambda e: 0.95),
    "StepLR": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, milestones=[4, 9], gamma=0.3),
    "ConstantLR": lambda o: S.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda o: S.LinearLR(o, start_factor=0.2, total_iters=8),
    "ExponentialLR": lambda o: S.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda o: S.PolynomialLR(o, total_iters=15, power=2.0),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                 S.ExponentialLR(o, gamma=0.9)], milestones=[5]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([S.StepLR(o, 4, 0.5), S.ExponentialLR(o, 0.95)]),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=1, factor=0.5),
    "CyclicLR": lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.05, step_size_up=4, cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=STEPS, cycle_momentum=False),
    "HyperbolicLR": lambda o: S.HyperbolicLR(o, k=0.5),
    "TransformerWarmupLR": lambda o: S.TransformerWarmupLR(o, d_model=16, warmup_steps=5),
    "LinearWarmupLR": lambda o: S.LinearWarmupLR(o, warmup_steps=5),
}


def _scheduled(name, device):
    params, loss_fn = _problem(device, np.float64)
    opt = optim.Adam(params, lr=0.05)
    sched = SCHEDULERS[name](opt)
    lrs = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        if name == "ReduceLROnPlateau":
            sched.step(round(loss.item(), 1))      # a coarse metric so that it plateaus
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return params, lrs


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_cpu_vs_gpu(name):
    cpu, cpu_lrs = _scheduled(name, "cpu")
    gpu, gpu_lrs = _scheduled(name, GPU)
    assert len(set(cpu_lrs)) > 1 or name == "ReduceLROnPlateau"
    assert cpu_lrs == gpu_lrs
    for i, (p, q) in enumerate(zip(cpu, gpu)):
        assert_close(p, q, np.float64, f"{name} parameter {i}", scale=10)
