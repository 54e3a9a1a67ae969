r"""Optimizer hooks with PyTorch 2.13's semantics: handles, the global step hooks, the wrappers.

A hook is a function the optimizer calls at a fixed point of ``step``,
``state_dict`` or ``load_state_dict``: to log, to clip or check gradients
before a step, to add or rename entries of a checkpoint. The per-optimizer
``register_*`` methods are on :class:`optim.Optimizer`; this module holds what
they share:

* :class:`RemovableHandle`: what every ``register_*`` returns;
  ``handle.remove()`` (or leaving a ``with handle:`` block) unregisters.
* :func:`register_optimizer_step_pre_hook`, :func:`register_optimizer_step_post_hook`:
  hooks for the steps of *every* optimizer (PyTorch's
  ``torch.optim.optimizer`` functions of the same names). Global pre-hooks
  run before an optimizer's own, global post-hooks after.
* :func:`hooked_step`, :func:`hooked_state_dict`, :func:`hooked_load_state_dict`:
  the wrappers :class:`optim.Optimizer` puts around these three methods of
  every class, so that a subclass that overrides them still runs the hooks.

The call protocol is PyTorch's:

* step pre-hook ``hook(optimizer, args, kwargs) -> None | (new_args, new_kwargs)``,
  where ``args`` holds the optimizer itself first (as PyTorch passes it);
  a returned pair replaces the arguments of ``step``; anything else returned
  raises ``RuntimeError``. Step post-hook ``hook(optimizer, args, kwargs)``.
* state-dict pre-hook ``hook(optimizer)``; post-hook
  ``hook(optimizer, state_dict) -> None | state_dict`` (a returned dict replaces it).
* load-state-dict pre-hook ``hook(optimizer, state_dict) -> None | state_dict``,
  called on a shallow copy of the given dict (a returned dict is loaded
  instead); post-hook ``hook(optimizer)``.
* ``prepend=True`` (state-dict hooks only) runs the hook before those
  already registered.

One departure, where PyTorch's behaviour is accidental: hooks run once per
call *from outside*. When an override calls ``super().step()`` (or
``state_dict``/``load_state_dict``) of the same optimizer, only the outermost
call runs the hooks, so a post-hook sees the finished result; PyTorch would
run them again for the inner call of a class whose parent's ``step`` was
wrapped first. A wrapper optimizer (``Lookahead``, ``SAM``) calling its inner
optimizer runs the inner optimizer's hooks, which belong to another object.
"""
from __future__ import annotations

import functools
import itertools
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = [
    "RemovableHandle", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook",
    "hooked_step", "hooked_state_dict", "hooked_load_state_dict", "hook_dict",
]

_ids = itertools.count()
_global_step_pre_hooks: OrderedDict = OrderedDict()
_global_step_post_hooks: OrderedDict = OrderedDict()

# the per-optimizer registries, by attribute name (PyTorch's names)
STEP_PRE, STEP_POST = "_optimizer_step_pre_hooks", "_optimizer_step_post_hooks"
STATE_DICT_PRE, STATE_DICT_POST = "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks"
LOAD_PRE, LOAD_POST = "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"


class RemovableHandle:
    """The handle of one registered hook: ``remove()`` unregisters it (twice is harmless).

    It refers to its registry weakly, so a handle kept after its optimizer is
    gone keeps nothing alive. Usable as a context manager: the hook is
    removed when the ``with`` block ends.
    """

    def __init__(self, hooks: OrderedDict) -> None:
        self.hooks_dict_ref = weakref.ref(hooks)
        self.id = next(_ids)

    def remove(self) -> None:
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def register(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """Add ``hook`` to the registry ``hooks`` (first when ``prepend``); return its handle."""
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register a pre-hook for the ``step`` of every optimizer: ``hook(optimizer, args, kwargs)``."""
    return register(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register a post-hook for the ``step`` of every optimizer: ``hook(optimizer, args, kwargs)``."""
    return register(_global_step_post_hooks, hook)


def hook_dict(optimizer, name: str) -> OrderedDict:
    """The optimizer's registry ``name``, created empty on first use."""
    hooks = optimizer.__dict__.get(name)
    if hooks is None:
        hooks = optimizer.__dict__[name] = OrderedDict()
    return hooks


class _Outermost:
    """``with _Outermost(opt, "step") as outer:``: ``outer`` is True for the outermost call only."""

    def __init__(self, optimizer, what: str) -> None:
        self.optimizer, self.key = optimizer, "_hook_depth_" + what

    def __enter__(self) -> bool:
        depth = self.optimizer.__dict__.get(self.key, 0)
        self.optimizer.__dict__[self.key] = depth + 1
        return depth == 0

    def __exit__(self, *exc_info) -> None:
        self.optimizer.__dict__[self.key] -= 1


def _mark(wrapper, func):
    wrapper.hooked = True
    wrapper.__wrapped__ = func
    return wrapper


def hooked_step(func: Callable) -> Callable:
    """``step`` with the global and the optimizer's step pre- and post-hooks around it."""
    if getattr(func, "hooked", False):
        return func

    @functools.wraps(func)
    def step(*args: Any, **kwargs: Any):
        self = args[0]
        with _Outermost(self, "step") as outer:
            if not outer:
                return func(*args, **kwargs)
            for hook in list(itertools.chain(_global_step_pre_hooks.values(),
                                             hook_dict(self, STEP_PRE).values())):
                result = hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{func} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
            out = func(*args, **kwargs)
            for hook in list(itertools.chain(hook_dict(self, STEP_POST).values(),
                                             _global_step_post_hooks.values())):
                hook(self, args, kwargs)
            return out

    return _mark(step, func)


def hooked_state_dict(func: Callable) -> Callable:
    """``state_dict`` with the state-dict pre-hooks before it and the post-hooks after."""
    if getattr(func, "hooked", False):
        return func

    @functools.wraps(func)
    def state_dict(self):
        with _Outermost(self, "state_dict") as outer:
            if not outer:
                return func(self)
            for hook in list(hook_dict(self, STATE_DICT_PRE).values()):
                hook(self)
            result = func(self)
            for hook in list(hook_dict(self, STATE_DICT_POST).values()):
                replaced = hook(self, result)
                if replaced is not None:
                    result = replaced
            return result

    return _mark(state_dict, func)


def hooked_load_state_dict(func: Callable) -> Callable:
    """``load_state_dict`` with the load pre-hooks (on a shallow copy) before it and the post-hooks after."""
    if getattr(func, "hooked", False):
        return func

    @functools.wraps(func)
    def load_state_dict(self, state_dict):
        with _Outermost(self, "load_state_dict") as outer:
            if not outer:
                return func(self, state_dict)
            state_dict = state_dict.copy()
            for hook in list(hook_dict(self, LOAD_PRE).values()):
                replaced = hook(self, state_dict)
                if replaced is not None:
                    state_dict = replaced
            func(self, state_dict)
            for hook in list(hook_dict(self, LOAD_POST).values()):
                hook(self)

    return _mark(load_state_dict, func)
