"""The mistake catalogue of the ``optimizer-class`` assignment: each mistake as a variant of the reference class.

Each variant is a small subclass of the project's ``optim.SGD`` / ``optim.Adam``
(or an ``Optimizer`` written out) that behaves the way the student's class does,
driven through the same plan as the reference.
"""
import numpy as np

import optim
from grading.assignment import Mistake
from grading.harness import optimizer_scenario
from optim import functional as F

HYPER_SGD = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
HYPER_ADAM = ("lr", "betas", "eps", "weight_decay")


def _driven(cls):
    def run(plan, arrays):
        return optimizer_scenario(cls, plan, arrays)

    return run


class _DefaultsOnly:
    """Mixin: every group is updated with the optimizer's defaults (the group's own values ignored)."""

    _hyper = ()

    def _update(self, theta, grad, state, group):
        group = {**group, **{k: self.defaults[k] for k in self._hyper}}
        return super()._update(theta, grad, state, group)


class _ClosureLossDropped:
    """Mixin: ``step(closure)`` calls the closure but returns nothing."""

    def step(self, closure=None):
        super().step(closure)
        return None


# --- SGD ------------------------------------------------------------------------------------


class _SGDNoNesterov(optim.SGD):
    def __init__(self, params, **kwargs):
        kwargs["nesterov"] = False
        super().__init__(params, **kwargs)


class _SGDDecayOutside(optim.SGD):
    def _update(self, theta, grad, state, group):
        theta_new, new_state, inter = F.sgd(theta, grad, state, lr=group["lr"], momentum=group["momentum"],
                                            dampening=group["dampening"], weight_decay=0.0,
                                            nesterov=group["nesterov"])
        return theta_new - group["lr"] * group["weight_decay"] * theta, new_state, inter


class _SGDDefaults(_DefaultsOnly, optim.SGD):
    _hyper = HYPER_SGD


class _SGDLecture(optim.SGD):
    """v ← μv + η g (g with weight decay), θ ← θ − v, kept under PyTorch's buffer name."""

    def _update(self, theta, grad, state, group):
        g = grad + group["weight_decay"] * theta
        v = state.get("momentum_buffer")
        v = group["lr"] * g if v is None else group["momentum"] * v + group["lr"] * g
        step = group["momentum"] * v + group["lr"] * g if group["nesterov"] else v
        return theta - step, {"momentum_buffer": v}, {}


class _SGDDampenedFirst(optim.SGD):
    def _update(self, theta, grad, state, group):
        g = grad + group["weight_decay"] * theta
        b = state.get("momentum_buffer")
        b = np.zeros_like(theta) if b is None else b
        b = group["momentum"] * b + (1 - group["dampening"]) * g
        d = g + group["momentum"] * b if group["nesterov"] else b
        return theta - group["lr"] * d, {"momentum_buffer": b}, {}


class _SGDClosure(_ClosureLossDropped, optim.SGD):
    pass


SGD = [
    Mistake("sgd.nesterov_ignored",
            "nesterov=True is ignored: with Nesterov the step is g + μb (PyTorch's form), not b.",
            [_driven(_SGDNoNesterov)]),
    Mistake("sgd.weight_decay_outside_momentum",
            "weight decay is applied to θ after the step; PyTorch adds λθ to the gradient first "
            "(g ← g + λθ), so it goes through the momentum buffer.", [_driven(_SGDDecayOutside)]),
    Mistake("sgd.ignores_param_groups",
            "every group is updated with the constructor's hyperparameters: read lr, momentum, ... from "
            "each group (group['lr']), which may set its own and may be changed between steps.",
            [_driven(_SGDDefaults)]),
    Mistake("sgd.lecture_momentum",
            "the buffer holds the lecture's velocity v ← μv + ηg (θ ← θ − v); PyTorch's buffer is "
            "b ← μb + g with θ ← θ − η b, and the two differ once the learning rate changes.",
            [_driven(_SGDLecture)]),
    Mistake("sgd.dampened_first_step",
            "the buffer starts at zero and is dampened at the first step; PyTorch starts it at b = g "
            "(no dampening on the first step).", [_driven(_SGDDampenedFirst)]),
    Mistake("sgd.closure_loss_dropped",
            "step(closure) must return the loss the closure returned.", [_driven(_SGDClosure)]),
]

# --- Adam -----------------------------------------------------------------------------------


class _AdamNoCorrection(optim.Adam):
    def _update(self, theta, grad, state, group):
        beta1, beta2 = group["betas"]
        g = grad + group["weight_decay"] * theta
        m = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        theta_new = theta - group["lr"] * m / (np.sqrt(v) + group["eps"])
        return theta_new, {"step": state["step"] + 1, "exp_avg": m, "exp_avg_sq": v}, {}


class _AdamDecoupled(optim.Adam):
    def __init__(self, params, **kwargs):
        super().__init__(params, decoupled_weight_decay=True, **kwargs)


class _AdamDefaults(_DefaultsOnly, optim.Adam):
    _hyper = HYPER_ADAM


class _AdamStepLost(optim.Adam):
    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for state in self.state.values():
            if "step" in state:
                state["step"] = 0


class _AdamClosure(_ClosureLossDropped, optim.Adam):
    pass


ADAM = [
    Mistake("adam.no_bias_correction",
            "m and v are not bias-corrected: θ ← θ − η m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).",
            [_driven(_AdamNoCorrection)]),
    Mistake("adam.decoupled_weight_decay",
            "you wrote AdamW's decoupled decay (θ ← θ − ηλθ); Adam's weight_decay adds λθ to the gradient "
            "before the moments.", [_driven(_AdamDecoupled)]),
    Mistake("adam.ignores_param_groups",
            "every group is updated with the constructor's hyperparameters: read lr, betas, eps and "
            "weight_decay from each group.", [_driven(_AdamDefaults)]),
    Mistake("adam.step_not_saved",
            "the step count does not survive state_dict()/load_state_dict(): keep it in each parameter's "
            "state as state['step'] so the bias correction continues after a reload.", [_driven(_AdamStepLost)]),
    Mistake("adam.closure_loss_dropped",
            "step(closure) must return the loss the closure returned.", [_driven(_AdamClosure)]),
]

CATALOGUE = {"SGD": SGD, "Adam": ADAM}
