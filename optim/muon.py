r"""``Muon``: momentum orthogonalized by Newton–Schulz, for the hidden 2-D weights.

The formula is :func:`optim.functional.muon` (its docstring has the math and
the sources); this class applies it parameter by parameter with PyTorch
2.13's argument names, defaults and checks. One difference: PyTorch runs the
Newton–Schulz iteration in bfloat16, this class in the parameter's dtype
(NumPy has no bfloat16), so its updates are the exact iteration's up to
float32/float64 rounding, and differ from PyTorch's by bfloat16 rounding.

Muon is meant for the 2-D weight matrices of hidden layers only. Embeddings,
the output layer, biases and normalization gains are trained with AdamW;
:func:`split_params_for_muon` makes that split for a model::

    split = optim.muon.split_params_for_muon(model)
    opt_muon = optim.Muon(split.muon, lr=0.02)
    opt_adamw = optim.AdamW(split.adamw, lr=3e-4)
    ...
    loss.backward()
    opt_muon.step()
    opt_adamw.step()
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from minigrad.nn.embedding import Embedding
from minigrad.nn.linear import Linear

from . import functional as F
from .checks import _scalar, check_bool, check_choice, check_int, check_real, check_reals, check_str
from .functional.muon import ADJUST_LR_FNS, NS_COEFFICIENTS, NS_EPS, NS_STEPS, ORTHOGONALIZE_METHODS
from .optimizer import Optimizer
from .types import Params

__all__ = ["Muon", "split_params_for_muon", "MuonParamSplit"]


class Muon(Optimizer):
    r"""Muon (Jordan et al. 2024), PyTorch's API; 2-D parameters only.

    Args:
        params: parameters or param groups; every parameter must be 2-D.
        lr: :math:`\gamma` (default 1e-3).
        weight_decay: :math:`\lambda`, decoupled: :math:`\theta \leftarrow
            \theta(1-\gamma\lambda)` (default 0.1).
        momentum: :math:`\mu` (default 0.95).
        nesterov: use :math:`U = (1-\mu)g + \mu B` instead of :math:`B` (default True).
        ns_coefficients: :math:`(a, b, c)` of the quintic (default
            (3.4445, -4.7750, 2.0315)).
        eps: :math:`\varepsilon` in :math:`X / \max(\lVert X\rVert_F, \varepsilon)`
            (default 1e-7).
        ns_steps: Newton–Schulz steps :math:`k` (default 5; must be < 100).
        adjust_lr_fn: ``None``/``"original"`` (:math:`\gamma\sqrt{\max(1, m/n)}`)
            or ``"match_rms_adamw"`` (:math:`0.2\gamma\sqrt{\max(m, n)}`).
        orthogonalize: ``"newton_schulz"`` (default, PyTorch's), ``"polar_express"``
            (Amsel et al. 2025: ``ns_steps`` steps of per-step optimal quintics)
            or ``"svd"`` (the exact polar factor :math:`UV^\top`, the reference);
            see :mod:`optim.functional.muon`. An attribute of the optimizer,
            not a param-group key (the groups keep PyTorch's keys exactly).
        trace: record the formula's intermediates (``g``, ``B``, ``U``, ``O``,
            ``lr_adj``; see :class:`Optimizer`).

    State per parameter: ``momentum_buffer`` (:math:`B`), as PyTorch (no
    step counter).
    """

    def __init__(self, params: Params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: float = NS_EPS, ns_steps: int = NS_STEPS, adjust_lr_fn: str | None = None, *,
                 orthogonalize: str = "newton_schulz", trace: bool | Iterable[str] = False) -> None:
        lr = _scalar(check_real(lr, "lr", allow_tensor=True), "lr")
        check_real(momentum, "momentum")
        check_real(weight_decay, "weight_decay")
        check_bool(nesterov, "nesterov")
        ns_coefficients = check_reals(ns_coefficients, "ns_coefficients", 3)
        check_real(eps, "eps")
        check_int(ns_steps, "ns_steps")
        check_str(adjust_lr_fn, "adjust_lr_fn", allow_none=True)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        check_choice(orthogonalize, "orthogonalize", ORTHOGONALIZE_METHODS)
        defaults = {
            "lr": lr, "weight_decay": weight_decay, "momentum": momentum,
            "nesterov": nesterov, "ns_coefficients": tuple(ns_coefficients), "eps": eps,
            "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn,
        }
        self.orthogonalize = orthogonalize
        super().__init__(params, defaults, trace=trace)

    def add_param_group(self, param_group: dict) -> None:
        """As :meth:`Optimizer.add_param_group`, and every parameter must be 2-D."""
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                self.param_groups.pop()
                raise ValueError("Muon only supports 2D parameters whereas we found a "
                                 f"parameter with size: {tuple(p.shape)}")

    def _init_state(self, theta, group):
        return F.muon_init(theta)

    def _update(self, theta, grad, state, group):
        return F.muon(theta, grad, state, lr=group["lr"],
                      weight_decay=group["weight_decay"], momentum=group["momentum"],
                      nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                      ns_steps=group["ns_steps"], eps=group["eps"],
                      adjust_lr_fn=group["adjust_lr_fn"],
                      orthogonalize=self.orthogonalize)


class MuonParamSplit(NamedTuple):
    """What :func:`split_params_for_muon` returns: two lists of parameters."""

    muon: list
    adamw: list


def split_params_for_muon(model, *, head=None, named=False) -> MuonParamSplit:
    r"""Split a model's parameters between Muon (hidden 2-D weights) and AdamW (the rest).

    The usual recipe (Jordan et al. 2024; PyTorch's ``Muon`` docs): Muon
    orthogonalizes a matrix update, which suits the weight matrices of hidden
    layers; the input embedding (a lookup table: each row gets its own sparse
    gradient), the output head (its rows are per-class scores) and all
    vectors and scalars (biases, normalization gains) are trained with AdamW.
    By module type, a parameter goes to AdamW when

    1. it belongs to an :class:`~minigrad.nn.Embedding`, or
    2. it belongs to the output head: by default the *last*
       :class:`~minigrad.nn.Linear` registered in the model (the last one
       ``model.modules()`` yields), or
    3. it is not 2-D (``ndim < 2``: biases, gains, scalars; also ``ndim > 2``,
       which Muon does not take);

    every other parameter (the 2-D weights of the hidden layers) goes to Muon.
    A parameter shared between modules (tied embedding and output weights)
    appears once, in AdamW if any of its owners sends it there.

    Args:
        model: a :class:`~minigrad.nn.Module`.
        head: the output layer: a module, its dotted name in the model, or
            ``False`` for none (every Linear weight to Muon); default: the
            last Linear.
        named: return ``(name, parameter)`` pairs (as ``named_parameters``)
            instead of parameters.

    Returns:
        ``MuonParamSplit(muon=[...], adamw=[...])``, a named pair of lists in
        ``model.named_parameters()`` order; each list can be given to an
        optimizer as its ``params`` (or wrapped in param-group dicts).
    """
    if head is None:
        linears = [m for m in model.modules() if isinstance(m, Linear)]
        head = linears[-1] if linears else None
    elif head is False:
        head = None
    elif isinstance(head, str):
        head = model.get_submodule(head)

    to_adamw = set()
    for module in model.modules():
        if isinstance(module, Embedding) or module is head:
            to_adamw.update(id(p) for p in module.parameters(recurse=False))

    split = MuonParamSplit([], [])
    for name, p in model.named_parameters():
        item = (name, p) if named else p
        if id(p) in to_adamw or p.ndim != 2:
            split.adamw.append(item)
        else:
            split.muon.append(item)
    return split
