r"""``Lookahead`` (Zhang et al. 2019), a wrapper around any optimizer, and ``Ranger``.

The formula is :mod:`optim.functional.lookahead`::

    base = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt = optim.Lookahead(base, k=5, alpha=0.5)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()            # a step of `base`; every k-th step also synchronises

The slow weights :math:`\phi` are copied from the parameters when the wrapper
is built. Every ``step()`` is one step of the inner ("fast") optimizer; after
every ``k``-th, :math:`\phi \leftarrow \phi + \alpha(\theta - \phi)` and
:math:`\theta \leftarrow \phi`.

Param groups and schedulers
---------------------------
``opt.param_groups`` *is* ``base.param_groups`` (the same list, also after
``load_state_dict``), so learning-rate schedulers built on the wrapper change
the inner optimizer's rates. ``opt.defaults`` is the inner optimizer's.
Add groups through ``opt.add_param_group`` so that their slow weights are
created.

State
-----
``opt.state[p]`` holds Lookahead's own state: ``slow_param`` (:math:`\phi`)
and, with ``pullback_momentum="pullback"``, ``slow_momentum`` (the slow copy
of each momentum buffer). The inner optimizer's state stays in
``opt.base_optimizer.state``. ``state_dict()`` holds both::

    {"state": {index: {"slow_param": ...}},      # Lookahead's own
     "param_groups": [...],                      # the inner optimizer's groups
     "base_state": {index: {...}},               # the inner optimizer's state
     "lookahead": {"k": 5, "alpha": 0.5, "pullback_momentum": "none", "step_count": n}}

Momentum at a synchronisation
-----------------------------
``pullback_momentum`` acts on the inner optimizer's momentum buffers, found
in its state under the keys of ``momentum_keys``:

* ``"momentum_buffer"``: ``SGD`` (PyTorch's form), ``LARS``, ``SWATS``'s SGD phase;
* ``"velocity"``: ``SGD(momentum_form="lecture")``;
* ``"exp_avg"``: the first moment of the Adam family (``Adam``, ``AdamW``,
  ``RAdam``, ``LAMB``, ``AdaBelief``, ``SWATS``'s Adam phase).

``"none"`` (default, the paper's) keeps them; ``"reset"`` sets them to zero;
``"pullback"`` interpolates them like the weights. Second moments are never
touched.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from itertools import chain
from typing import Any

from minigrad.grad_mode import no_grad

from . import functional as F
from .checks import check_choice, check_count, check_range, check_strs, check_trace
from .functional.lookahead import PULLBACK_MODES
from .optimizer import Optimizer, _cast_state, _clone
from .types import Closure, Params

__all__ = ["Lookahead", "Ranger", "MOMENTUM_KEYS"]

MOMENTUM_KEYS = ("momentum_buffer", "velocity", "exp_avg")


class Lookahead(Optimizer):
    r"""Lookahead (Zhang, Lucas, Hinton & Ba 2019), a wrapper around any optimizer.

    "Lookahead Optimizer: k steps forward, 1 step back", Algorithm 1.

    Args:
        base_optimizer: the inner optimizer (an :class:`Optimizer`), already
            built on the parameters.
        k: number of inner steps between synchronisations (default 5).
        alpha: :math:`\alpha`, the slow weights' step size, in [0, 1] (default 0.5).
        pullback_momentum: ``"none"`` (default), ``"reset"`` or ``"pullback"``:
            what a synchronisation does to the inner momentum (module docstring).
        momentum_keys: the state keys treated as momentum buffers
            (default ``("momentum_buffer", "velocity", "exp_avg")``).
        trace: record, at each synchronisation, ``theta_k`` (the fast weights
            before it) and ``phi`` (the new slow weights) for every parameter.

    With ``k=1, alpha=1`` Lookahead is exactly its inner optimizer.
    """

    def __init__(self, base_optimizer: Optimizer, k: int = 5, alpha: float = 0.5,
                 pullback_momentum: str = "none", *, momentum_keys: Iterable[str] = MOMENTUM_KEYS,
                 trace: bool | Iterable[str] = False) -> None:
        if not isinstance(base_optimizer, Optimizer):
            raise TypeError("Lookahead wraps an optimizer instance (e.g. optim.SGD(params, "
                            f"lr=0.1)), got {type(base_optimizer).__name__}")
        check_count(k, "k", minimum=1)
        check_range(alpha, "alpha", 0.0, 1.0)
        check_choice(pullback_momentum, "pullback_momentum", PULLBACK_MODES)
        momentum_keys = check_strs(momentum_keys, "momentum_keys")
        self.base_optimizer = base_optimizer
        self.k = int(k)
        self.alpha = float(alpha)
        self.pullback_momentum = pullback_momentum
        self.momentum_keys = tuple(momentum_keys)
        # The base class adds the inner optimizer's groups again (the same dicts, into a
        # new list of the inner optimizer) and starts their slow weights: add_param_group.
        super().__init__(list(base_optimizer.param_groups), base_optimizer.defaults, trace=trace)

    # ------------------------------------------------------------ mirrored groups
    @property
    def param_groups(self):
        """The inner optimizer's param groups (the same list)."""
        return self.base_optimizer.param_groups

    @param_groups.setter
    def param_groups(self, groups):
        self.base_optimizer.param_groups = groups

    @property
    def defaults(self):
        """The inner optimizer's defaults."""
        return self.base_optimizer.defaults

    @defaults.setter
    def defaults(self, defaults):
        self.base_optimizer.defaults = defaults

    def add_param_group(self, param_group: dict) -> None:
        """Add a group to the inner optimizer and start its slow weights at its parameters."""
        self.base_optimizer.add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self.state[p] = F.lookahead_init(p.data)              # phi_0 = theta_0

    # ------------------------------------------------------------ stepping
    def step(self, closure: Closure | None = None) -> Any:
        """One inner step (``base_optimizer.step(closure)``); every k-th also synchronises.

        Returns the inner step's return value (the closure's loss, or None).
        """
        loss = self.base_optimizer.step(closure)
        self._step_count += 1
        if self._step_count % self.k == 0:
            self.synchronize()
        return loss

    def synchronize(self) -> None:
        r"""Synchronise every parameter: :math:`\phi \leftarrow \phi + \alpha(\theta - \phi)`.

        Then :math:`\theta \leftarrow \phi`.

        ``step`` calls it after every k-th inner step; call it yourself to
        synchronise at other times (e.g. before evaluating on the slow weights).
        """
        with no_grad():
            first_index = 0
            for group_index, group in enumerate(self.param_groups):
                names = group.get("param_names")
                for j, p in enumerate(group["params"]):
                    state = self.state[p]
                    if "slow_param" not in state:                  # added behind our back
                        state.update(F.lookahead_init(p.data))
                    theta_k = p.data.copy()                        # p.data is overwritten below
                    theta_new, new_state, intermediates = F.lookahead(theta_k, state,
                                                                      alpha=self.alpha)
                    p.data[...] = theta_new
                    state.update(new_state)
                    if self.pullback_momentum != "none":
                        self._act_on_momentum(p, state)
                    if self.tracing:
                        self._record(group_index, first_index + j,
                                     None if names is None else names[j], p.data, intermediates)
                first_index += len(group["params"])

    def _act_on_momentum(self, p, state) -> None:
        base_state = self.base_optimizer.state.get(p)
        if not base_state:
            return
        slow = state.setdefault("slow_momentum", {})
        for key in self.momentum_keys:
            buffer = base_state.get(key)
            if buffer is None or not hasattr(buffer, "shape"):
                continue
            new_buffer, slow_buffer = F.lookahead_momentum(buffer, slow.get(key), alpha=self.alpha,
                                                           mode=self.pullback_momentum)
            base_state[key] = new_buffer
            if self.pullback_momentum == "pullback":
                slow[key] = slow_buffer
        if not slow:
            del state["slow_momentum"]

    # ------------------------------------------------------------ state dicts
    def _params(self):
        return list(chain.from_iterable(group["params"] for group in self.param_groups))

    def state_dict(self) -> dict:
        """The slow weights, the inner optimizer's state dict, and k, alpha, the step count."""
        base = self.base_optimizer.state_dict()
        index_of = {}
        for i, p in enumerate(self._params()):
            index_of.setdefault(id(p), i)
        own = {index_of[id(p)]: _clone(s) for p, s in self.state.items() if id(p) in index_of}
        return {
            "state": own,
            "param_groups": base["param_groups"],
            "base_state": base["state"],
            "lookahead": {"k": self.k, "alpha": self.alpha,
                          "pullback_momentum": self.pullback_momentum,
                          "step_count": self._step_count},
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict made by :meth:`state_dict` (the inner optimizer's part too)."""
        self.base_optimizer.load_state_dict({"state": state_dict["base_state"],
                                             "param_groups": state_dict["param_groups"]})
        params = self._params()
        state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            p = params[int(index)]
            state[p] = {name: _cast_state(p, name, v) for name, v in value.items()}
        for p in params:                                   # params without saved slow weights
            if "slow_param" not in state[p]:
                state[p].update(F.lookahead_init(p.data))
        self.state = state
        settings = copy.deepcopy(state_dict.get("lookahead", {}))
        self.k = int(settings.get("k", self.k))
        self.alpha = float(settings.get("alpha", self.alpha))
        self.pullback_momentum = settings.get("pullback_momentum", self.pullback_momentum)
        self._step_count = int(settings.get("step_count", self._step_count))

    def __repr__(self) -> str:
        head = (f"{type(self).__name__} (k={self.k}, alpha={self.alpha}, "
                f"pullback_momentum={self.pullback_momentum!r})")
        return head + "\n" + repr(self.base_optimizer)


class Ranger(Lookahead):
    r"""Ranger (Wright 2019): Lookahead around RAdam.

    ``Ranger(params, lr, k, alpha, **kw)`` is ``Lookahead(RAdam(params, lr, **kw), k, alpha)``.

    Args:
        params: parameters or param groups (given to ``optim.RAdam``).
        lr: RAdam's learning rate (default 1e-3).
        k, alpha, pullback_momentum: Lookahead's (defaults 5, 0.5, "none").
        trace: Lookahead's tracing (pass ``radam_trace=True`` to trace RAdam).
        **radam_kwargs: the rest of ``optim.RAdam``'s arguments (``betas``,
            ``eps``, ``weight_decay``, ``decoupled_weight_decay``, ...).

    The original Ranger code also used other defaults (k 6, betas (0.95,
    0.999), eps 1e-5) and later added gradient centralization; this class
    keeps Lookahead's k 5, alpha 0.5 and ``optim.RAdam``'s defaults
    (PyTorch's): pass ``k=6, betas=(0.95, 0.999), eps=1e-5`` for that setting.
    """

    def __init__(self, params: Params, lr: float = 1e-3, k: int = 5, alpha: float = 0.5,
                 pullback_momentum: str = "none", *, trace: bool | Iterable[str] = False, radam_trace: bool = False,
                 **radam_kwargs) -> None:
        try:
            from .radam import RAdam
        except ImportError as exc:                      # optim/radam.py not there yet
            raise ImportError("Ranger needs optim.RAdam (optim/radam.py), which could not be "
                              f"imported: {exc}") from exc
        radam_trace = check_trace(radam_trace, "radam_trace")
        base = RAdam(params, lr=lr, trace=radam_trace, **radam_kwargs)
        super().__init__(base, k=k, alpha=alpha, pullback_momentum=pullback_momentum,
                         trace=trace)
