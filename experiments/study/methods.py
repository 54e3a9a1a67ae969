"""The optimization methods a study compares, built by name, with their epoch loop.

A *method* is an optimizer with its schedule and, for some, more than a plain
``step()``: SWA keeps an averaged copy of the model, SVRG takes a snapshot of
the full gradient at every epoch start. :class:`Method` hides these differences
behind ``begin_epoch`` / ``step`` / ``end_epoch`` and one ``state_dict``, so a
trial checkpoints every method the same way.

The settings (the method-naming study's, see ``docs/studies.md``):

==========  ==============================================================
``SGD``     SGD, Nesterov momentum 0.95
``Adam``    Adam, betas (0.9, 0.999), eps 1e-8
``RAdam``   RAdam, betas (0.9, 0.999), eps 1e-8
``LAMB``    LAMB with Adam's betas and eps (0.9, 0.999, 1e-8)
``LaSGD``   Lookahead (k = 5, alpha = 0.5) over ``SGD``
``LaAdam``  Lookahead over ``Adam``
``LaRAdam`` Lookahead over ``RAdam``
``SWA``     ``SGD`` with the SWA paper's cyclic lr (one cycle per epoch,
            from ``swa_lr_max`` down to ``swa_lr_min``); the weights are
            averaged at every cycle end from epoch ``swa_start`` on, and the
            averaged model is the result
``Adadelta`` Adadelta (rho 0.9, eps 1e-6) at the phase's lr
``BB``      SGD with Barzilai-Borwein step sizes (SGD-BB, one step size per
            epoch of ``steps_per_epoch`` steps, starting from the phase's lr)
``SVRG``    SVRG (option I): a full-gradient snapshot at every epoch start
==========  ==============================================================

Every method except ``SWA`` and ``BB`` (which set their own step sizes) follows
the schedule ``lr_epoch = lr * gamma**epoch`` (``ExponentialLR``, stepped at
epoch ends). No weight decay anywhere.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import minigrad as mg
import optim
from optim.lr_scheduler import ExponentialLR
from optim.swa_utils import AveragedModel, SWACyclicLR

__all__ = ["METHODS", "Method", "make_method"]

METHODS = ("SGD", "Adam", "RAdam", "LAMB", "LaSGD", "LaAdam", "LaRAdam", "SWA", "Adadelta", "BB", "SVRG")

_BETAS = (0.9, 0.999)


def _base(name, params, lr):
    if name == "SGD":
        return optim.SGD(params, lr=lr, momentum=0.95, nesterov=True)
    if name == "Adam":
        return optim.Adam(params, lr=lr, betas=_BETAS, eps=1e-8)
    if name == "RAdam":
        return optim.RAdam(params, lr=lr, betas=_BETAS, eps=1e-8)
    if name == "LAMB":
        return optim.LAMB(params, lr=lr, betas=_BETAS, eps=1e-8)
    raise ValueError(f"unknown base optimizer {name!r}")


class Method:
    """One method on one model: ``begin_epoch(full_loss)``, ``step(loss_fn)``, ``end_epoch()``.

    ``loss_fn()`` returns the minibatch loss (a scalar Tensor) of a batch that it
    holds fixed; ``full_loss(accumulate)`` runs the loss of every training batch,
    weighted so the sum is the training-set mean, calling ``accumulate(loss)`` on
    each (only SVRG calls it). ``eval_model`` is the model to evaluate (SWA's
    average, else the model itself).
    """

    def __init__(self, name: str, model, *, lr: float, steps_per_epoch: int, epochs: int,
                 gamma: float = 0.95, swa_lr_min: float = 0.001, swa_lr_max: float = 0.0074,
                 swa_start: int = 0):
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.name, self.model, self.epoch = name, model, 0
        self.swa_start = int(swa_start)
        params = list(model.parameters())
        self.swa_model = None
        self.batch_scheduler = None
        self.scheduler = None
        if name in ("SGD", "Adam", "RAdam", "LAMB"):
            self.optimizer = _base(name, params, lr)
        elif name.startswith("La"):
            self.optimizer = optim.Lookahead(_base(name[2:], params, lr), k=5, alpha=0.5)
        elif name == "SWA":
            self.optimizer = _base("SGD", params, swa_lr_max)
            self.batch_scheduler = SWACyclicLR(self.optimizer, swa_lr_max, swa_lr_min, steps_per_epoch)
            self.swa_model = AveragedModel(model)
        elif name == "Adadelta":
            self.optimizer = optim.Adadelta(params, lr=lr, rho=0.9, eps=1e-6)
        elif name == "BB":
            self.optimizer = optim.SGDBB(params, lr=lr, inner_steps=steps_per_epoch)
        elif name == "SVRG":
            self.optimizer = optim.SVRG(params, lr=lr)
        if name not in ("SWA", "BB"):
            self.scheduler = ExponentialLR(self.optimizer, gamma=gamma)

    @property
    def eval_model(self):
        if self.swa_model is not None and int(self.swa_model.n_averaged.item()) > 0:
            return self.swa_model.module
        return self.model

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def begin_epoch(self, full_loss: Callable) -> None:
        if self.name == "SVRG":
            def closure():
                self.optimizer.zero_grad()
                total = [0.0]

                def accumulate(loss):
                    loss.backward()
                    total[0] += float(loss.item())

                full_loss(accumulate)
                return mg.tensor(np.float32(total[0]))

            self.optimizer.take_snapshot(closure)

    def step(self, loss_fn: Callable) -> float:
        """One optimizer step on the batch of ``loss_fn``; the batch loss."""
        opt = self.optimizer
        if self.name == "SVRG":
            # SVRG evaluates the batch twice (at the snapshot and at w): the same
            # dropout masks both times, so that both gradients are of one function.
            replay = self._replay_masks()

            def closure():
                replay()
                opt.zero_grad()
                loss = loss_fn()
                loss.backward()
                return loss

            return float(opt.step(closure).item())
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        if self.batch_scheduler is not None:
            if self.epoch >= self.swa_start and self.batch_scheduler.is_cycle_end():
                self.swa_model.update_parameters(self.model)
            self.batch_scheduler.step()
        return float(loss.item())

    def _replay_masks(self) -> Callable:
        """A function that puts the dropout generator of the model's device back to where it is now.

        The CPU generator's state can be saved and restored; a GPU generator's cannot, so
        there it is reseeded, both times, from a number drawn from the CPU generator (whose
        state a checkpoint holds).
        """
        device = next(iter(self.model.parameters())).device
        if device == "cpu":
            state = mg.random.get_rng_state()
            return lambda: mg.random.set_rng_state(state)
        seed = int(mg.random.generator("cpu").integers(2 ** 31))
        return lambda: mg.random.seed_device(device, seed)

    def end_epoch(self) -> None:
        self.epoch += 1
        if self.scheduler is not None:
            self.scheduler.step()

    def state_dict(self) -> dict:
        d = {"epoch": self.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.scheduler is not None:
            d["scheduler"] = self.scheduler.state_dict()
        if self.batch_scheduler is not None:
            d["batch_scheduler"] = self.batch_scheduler.state_dict()
        if self.swa_model is not None:
            d["swa_model"] = self.swa_model.state_dict()
        return d

    def load_state_dict(self, d: dict) -> None:
        self.epoch = int(d["epoch"])
        self.model.load_state_dict(d["model"])
        self.optimizer.load_state_dict(d["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(d["scheduler"])
        if self.batch_scheduler is not None:
            self.batch_scheduler.load_state_dict(d["batch_scheduler"])
        if self.swa_model is not None:
            self.swa_model.load_state_dict(d["swa_model"])


def make_method(name: str, model, **settings) -> Method:
    """``Method(name, model, **settings)`` (see :class:`Method`)."""
    return Method(name, model, **settings)
