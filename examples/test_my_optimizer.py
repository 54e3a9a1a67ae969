"""Testing a hand-written optimizer against PyTorch with minigrad.testing.

``MomentumSGD`` below is heavy-ball momentum written on :class:`optim.Optimizer`
(``v <- mu v + g``, ``theta <- theta - lr v``, PyTorch's form); one call compares it
with ``torch.optim.SGD`` step by step. ``BrokenMomentumSGD`` forgets that the first
step starts the buffer at the gradient, and the check says where it goes wrong.

Run it with ``python examples/test_my_optimizer.py`` or under pytest
(``python -m pytest examples/test_my_optimizer.py``); it needs torch and hypothesis
(the ``test`` extra).
"""
import torch

import minigrad.testing as mgt
import optim


class MomentumSGD(optim.Optimizer):
    """SGD with heavy-ball momentum, PyTorch's buffer name ``momentum_buffer``."""

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def _update(self, theta, grad, state, group):
        buf = state.get("momentum_buffer")
        buf = grad.copy() if buf is None else group["momentum"] * buf + grad
        return theta - group["lr"] * buf, {"momentum_buffer": buf}, {}


class BrokenMomentumSGD(MomentumSGD):
    """Starts the buffer at (1 - momentum) g instead of g: a subtle, common slip."""

    def _update(self, theta, grad, state, group):
        buf = state.get("momentum_buffer")
        buf = (1 - group["momentum"]) * grad if buf is None else group["momentum"] * buf + grad
        return theta - group["lr"] * buf, {"momentum_buffer": buf}, {}


def test_momentum_sgd_matches_torch():
    mgt.assert_optimizer_matches_torch(MomentumSGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9},
                                       param_groups=2)


def test_broken_momentum_sgd_is_caught():
    try:
        mgt.assert_optimizer_matches_torch(BrokenMomentumSGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9})
    except AssertionError as exc:
        assert "after step 1: param 0 differs from torch" in str(exc)
    else:
        raise AssertionError("the broken optimizer passed")


if __name__ == "__main__":
    test_momentum_sgd_matches_torch()
    print("MomentumSGD matches torch.optim.SGD")
    try:
        mgt.assert_optimizer_matches_torch(BrokenMomentumSGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9})
    except AssertionError as exc:
        print(f"BrokenMomentumSGD fails:\n{exc}")
