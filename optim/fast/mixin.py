r"""``FlatPath``: the ``impl="flat"`` switch of the optimizers that have a fast path.

An optimizer whose formula is elementwise (every coordinate updated alike,
given scalar hyperparameters and scalar state) can run it over one flat
buffer per param group instead of parameter by parameter. Such a class puts
``FlatPath`` before :class:`optim.Optimizer` among its bases::

    class Adam(FlatPath, Optimizer):
        def _update(self, theta, grad, state, group): ...           # the pure formula
        def _update_inplace(self, theta, grad, state, out, work, group): ...   # optional

and then takes ``impl="teaching"`` (the default: the base class's loop over
the parameters) or ``impl="flat"`` (:func:`optim.fast.flat.step_group`).
Everything else (groups, state, ``state_dict``, tracing) is the base class's:
the mixin only routes ``_step_group`` and keeps the flat buffers in step with
the parameters when groups are added or a state dict is loaded.

The optional hook:

``_update_inplace(self, theta, grad, state, out, work, group) -> new_state``
    The same step with the formula's in-place twin from
    :mod:`optim.fast.inplace` (``adam_`` for ``optim.functional.adam``):
    ``theta`` is overwritten, the new state's arrays are written into
    ``out[key]``, ``work`` holds scratch arrays. Without it the flat path
    calls ``_update`` on each chunk and copies the results back.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..checks import check_choice
from ..types import Params
from . import flat

__all__ = ["FlatPath", "IMPLS"]

IMPLS = ("teaching", "flat")
"""The values of the ``impl`` argument: the formula parameter by parameter, or over flat buffers."""


class FlatPath:
    """Mixin (before :class:`optim.Optimizer`) that adds ``impl="flat"``; see the module docstring.

    Attributes:
        impl: ``"teaching"`` or ``"flat"``, as given to the constructor.
    """

    _flat_inplace = True
    """Whether the flat path uses ``_update_inplace`` when the class has one (benchmarks turn it off)."""

    def __init__(self, params: Params, defaults: dict, *, trace: bool | Iterable[str] = False,
                 impl: str = "teaching") -> None:
        check_choice(impl, "impl", IMPLS)
        self.impl = impl                  # before the groups are added: they join the flat buffers
        super().__init__(params, defaults, trace=trace)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        self._sync_flat()

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._sync_flat()                 # the loaded values go into the flat buffers

    def _sync_flat(self) -> None:
        """With ``impl="flat"``: make params and state buffers views of the flat buffers now."""
        if self.impl == "flat":
            flat.sync(self)

    def _step_group(self, group_index: int, group: dict, first_index: int) -> None:
        """The flat path's step of one group, or the base class's loop with ``impl="teaching"``."""
        if self.impl != "flat":
            super()._step_group(group_index, group, first_index)
            return
        flat.step_group(self, group_index, group, first_index, teaching=super()._step_group)
