r"""``Optimizer``: the base class every optimizer in :mod:`optim` builds on.

The public API is PyTorch 2.13's ``torch.optim.Optimizer``, so training loops
written for PyTorch read the same here::

    opt = optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

What a subclass writes
----------------------
The base class owns everything that is the same for all optimizers: parameter
groups, per-parameter state, ``zero_grad``, ``step``'s closure handling,
``state_dict``/``load_state_dict`` and tracing. A subclass adds the formula
and nothing else, through two hooks:

``_init_state(self, theta, group) -> dict``
    The state of one parameter before its first step (``m_0 = 0``,
    ``v_0 = 0``, ``step = 0``, ...). ``theta`` is the parameter's backend
    array. Called lazily, the first time the parameter has a gradient while
    its state is empty (PyTorch does the same). Default: ``{}``.

``_update(self, theta, grad, state, group) -> (theta_new, new_state, intermediates)``
    One step of the formula for one parameter: call the pure function in
    :mod:`optim.functional` with the group's hyperparameters and return what
    it returns. ``theta`` and ``grad`` are backend arrays, ``state`` the
    parameter's current state (do not modify it; return a new one).

A whole optimizer is then a constructor (validate, build ``defaults``, call
``super().__init__``) plus these two short methods; see :mod:`optim.adam`.
Two more places can be overridden when an optimizer needs them:

``_step_group(self, group_index, group, first_index)``
    Updates every parameter of one group (the per-parameter loop, the teaching
    path). ``first_index`` is the global index (the one ``state_dict`` uses)
    of the group's first parameter, for tracing. Override it when the
    update of one parameter needs the whole group (Barzilai–Borwein's step
    size, SVRG); the fast path (:class:`optim.fast.FlatPath`) replaces it by
    a step over flat buffers (see "Speed" below).

``step(self, closure=None)``
    The default evaluates the closure (under ``enable_grad``), then calls
    ``self._apply_update()``, which runs ``_step_group`` on every group under
    ``no_grad`` and counts the step. Override it only when the formula needs
    the loss or the gradient somewhere else than at the current parameters
    (``SGD``'s lecture form of Nesterov momentum evaluates the gradient at a
    look-ahead point; LBFGS and line searches call the closure many times):
    do the extra work, then call ``self._apply_update()``.

Parameter state is a dict of backend arrays and Python numbers, keyed by
PyTorch's buffer names (``exp_avg``, ``momentum_buffer``, ...), with the step
counter ``step`` kept as a Python ``int`` (PyTorch keeps a float32 tensor; the
values agree). After a step the state dict of a parameter is updated with the
returned one, never replaced, so ``opt.state[p]`` stays the same object.

Speed
-----
This class is the teaching path: the formula applied to each parameter in
turn, every intermediate available for tracing. The fast path of the
elementwise optimizers (``impl="flat"``: ``SGD``, ``Adam``, ``AdamW``,
``RMSprop``, ``Adagrad``) is in :mod:`optim.fast`; such a class adds the mixin
:class:`optim.fast.FlatPath` to its bases and the results stay bitwise equal.
The base class accepts ``impl="teaching"`` only.

Hyperparameter checks
---------------------
:mod:`optim.checks` (:func:`check_lr`, :func:`check_nonnegative`,
:func:`check_range`, :func:`check_betas`, :func:`check_choice`,
:func:`check_count`, also importable from here) raise ``ValueError`` with
PyTorch's messages (``"Invalid learning rate: -1.0"``, ``"Invalid epsilon
value: -1e-08"``, ``"Invalid beta parameter at index 0: 1.0"``), and a
``TypeError`` naming the class, the argument and the type received for a value
of the wrong type (``"Adam: lr must be a real number (float or int), got str
'0.01'"``): every subclass's ``__init__`` is wrapped by
:func:`optim.checks.names_owner`, which puts the class name in front. Like
PyTorch, optimizers check the constructor's arguments only, not the values
given in param-group dicts.

Tracing
-------
``Opt(params, ..., trace=True)`` records, after every step and for every
parameter that was updated, the intermediate quantities of the formula (the
dict the functional update returns). The format is described in
``optim/TRACING.md``; in short::

    opt.trace                   # list of dicts, one per (step, parameter)
    opt.trace[0]                # {"step": 1, "group": 0, "param": 0,
                                #  "theta": array, "m": array, "v": array, ...}
    opt.trace_of("m_hat", param=0)   # numpy array, steps stacked on axis 0

``trace`` may also be a list of quantity names to keep only those (memory),
or an :class:`optim.Trace` (:mod:`optim.tracing`): a parameter subset, a step
schedule, summaries or coordinates instead of full arrays, a memory bound or a
stream to disk.

Hooks
-----
PyTorch 2.13's optimizer hooks, with its semantics (:mod:`optim.hooks`):
``register_step_pre_hook``/``register_step_post_hook`` (and the global
``optim.hooks.register_optimizer_step_pre_hook``/``post_hook``),
``register_state_dict_pre_hook``/``post_hook`` and
``register_load_state_dict_pre_hook``/``post_hook``, each returning a handle
whose ``remove()`` unregisters the hook. Every subclass's ``step``,
``state_dict`` and ``load_state_dict`` is wrapped when the class is defined
(``__init_subclass__``), so overrides run the hooks too, once per outside call.
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from collections.abc import Iterable
from itertools import chain
from typing import Any

import numpy as np

from minigrad import backend
from minigrad.grad_mode import enable_grad, no_grad
from minigrad.tensor import Tensor

from . import hooks as _hooks
from . import tracing as _tracing
from .checks import (
    check_betas,
    check_choice,
    check_count,
    check_lr,
    check_nonnegative,
    check_range,
    check_trace,
    names_owner,
)
from .fast.mixin import IMPLS  # (kept importable from here: optim.optimizer.IMPLS)
from .types import Closure, Params

__all__ = [
    "Optimizer", "OptimizerStateMixin", "required", "check_lr", "check_nonnegative",
    "check_range", "check_betas", "check_choice", "check_count", "IMPLS",
]


class _RequiredParameter:
    """Marks a hyperparameter without a default: every param group must set it."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# ---------------------------------------------------------------------------
# array helpers
# ---------------------------------------------------------------------------

def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or backend.is_cupy_array(x)


def _clone(value):
    """A deep copy of a state value: arrays copied, containers rebuilt."""
    if _is_array(value):
        return value.copy()
    if isinstance(value, Tensor):
        return value.data.copy()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return copy.deepcopy(value)


def _typename(obj) -> str:
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


_to_host = _tracing.to_host   # (kept importable from here)


# ---------------------------------------------------------------------------
# the base class
# ---------------------------------------------------------------------------

def _marks_parameters_modified(step):
    """Wrap ``step`` so that every parameter's version counter is bumped after it.

    The update writes through ``p.data``, which the counter does not see; bumping
    it here makes a backward through a graph recorded before the step (which
    would use the new values) raise instead of returning wrong gradients.
    """
    @functools.wraps(step)
    def wrapped(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):     # a subclass's step calling super().step: the outer one bumps
            return step(self, *args, **kwargs)
        self.__dict__["_in_step"] = True
        try:
            return step(self, *args, **kwargs)
        finally:
            del self.__dict__["_in_step"]
            for group in self.param_groups:
                for p in group["params"]:
                    p._bump_version("an optimizer step")

    wrapped._marks_parameters_modified = True
    return wrapped


class Optimizer:
    """Base class of all optimizers (PyTorch's ``torch.optim.Optimizer`` API).

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of
            param-group dicts (``{"params": [...], "lr": 0.1, ...}``); the
            Tensors are the leaves to optimize (``minigrad.nn.Parameter`` or
            any Tensor with ``requires_grad=True``).
        defaults: hyperparameter name -> default value, used for every group
            that does not set its own.
        trace: ``False`` (default), ``True`` to record every intermediate of
            the formula after each step, or a list of quantity names to record
            only those. Not a param-group key: it belongs to the optimizer.
        impl: ``"teaching"``, the only speed of this class (the classes
            with a fast path take ``"flat"`` too: :class:`optim.fast.FlatPath`).
            Not a param-group key.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (list of Tensors)
            and every hyperparameter.
        state: dict Tensor -> dict of that parameter's state.
        defaults: the ``defaults`` given.
        trace: list of trace records (empty unless tracing).
        impl: ``"teaching"`` (``"flat"`` on :class:`optim.fast.FlatPath` classes).
    """

    impl = "teaching"

    def __init_subclass__(cls, **kwargs) -> None:
        """Wrap the class's methods: ``step`` bumps its parameters' version counters (inside)
        and runs the hooks (outside), ``state_dict``/``load_state_dict`` run the hooks, and a
        hyperparameter of the wrong type names the class ("Adam: lr must be ...")."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _marks_parameters_modified(cls.__dict__["step"])
        for name, wrap in (("step", _hooks.hooked_step), ("state_dict", _hooks.hooked_state_dict),
                           ("load_state_dict", _hooks.hooked_load_state_dict)):
            func = getattr(cls, name)
            if not getattr(func, "hooked", False):
                setattr(cls, name, wrap(func))
        if "__init__" in cls.__dict__:
            cls.__init__ = names_owner(cls.__dict__["__init__"])

    def __init__(self, params: Params, defaults: dict, *, trace: bool | Iterable[str] = False,
                 impl: str = "teaching") -> None:
        if impl != "teaching":
            raise ValueError(f"{type(self).__name__} has no flat fast path (impl={impl!r}); "
                             "use impl='teaching'")
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_count = 0
        self._tracer = None               # an optim.tracing recorder; None: off
        self.trace = []

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of "
                "Tensors or dicts, but got " + _typename(params)
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)
        self.set_trace(trace)             # after the groups: a Trace resolves names against them

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters.

        Missing hyperparameters take the optimizer's defaults. Raises like
        PyTorch: ``TypeError`` for a non-dict, a set of params or a
        non-Tensor; ``ValueError`` for a non-leaf Tensor, a parameter already
        in another group, names given for some params only, or a required
        hyperparameter left out. Duplicates within the group warn.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            params = list(params)

        tensors, names = [], []
        for entry in params:
            if isinstance(entry, tuple):          # (name, tensor), as named_parameters()
                names.append(entry[0])
                tensors.append(entry[1])
            else:
                tensors.append(entry)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. "
                    "Some param names are missing"
                )
            param_group["param_names"] = names

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(p)
                )
            if not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required "
                    f"optimization parameter {name}"
                )
            param_group.setdefault(name, default)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error",
                stacklevel=3,
            )

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        ``set_to_none=True`` (the default, as in PyTorch) sets ``.grad`` to
        None: a parameter that then gets no gradient is skipped by ``step``.
        ``set_to_none=False`` fills the gradients with zeros instead (such a
        parameter is stepped with a zero gradient, which still moves it when
        the optimizer has momentum or weight decay).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.creator is not None:     # a gradient built with create_graph
                    xp = backend.get_array_module(p.grad.data)
                    p.grad = Tensor._make(xp.zeros_like(p.grad.data))
                else:
                    p.grad.data[...] = 0

    # ------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``.

        ``args`` starts with the optimizer itself (as in PyTorch). The hook may
        return ``(new_args, new_kwargs)`` to change the arguments of ``step``.
        """
        return _hooks.register(_hooks.hook_dict(self, _hooks.STEP_PRE), hook)

    def register_step_post_hook(self, hook) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _hooks.register(_hooks.hook_dict(self, _hooks.STEP_POST), hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer)`` before ``state_dict`` builds the dict (first when ``prepend``)."""
        return _hooks.register(_hooks.hook_dict(self, _hooks.STATE_DICT_PRE), hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on the built dict; a returned dict replaces it."""
        return _hooks.register(_hooks.hook_dict(self, _hooks.STATE_DICT_POST), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before loading, on a shallow copy of the
        given dict; a returned dict is loaded instead."""
        return _hooks.register(_hooks.hook_dict(self, _hooks.LOAD_PRE), hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> _hooks.RemovableHandle:
        """Call ``hook(optimizer)`` after ``load_state_dict`` has loaded the state."""
        return _hooks.register(_hooks.hook_dict(self, _hooks.LOAD_POST), hook, prepend)

    # ------------------------------------------------------------ stepping
    @_hooks.hooked_step
    def step(self, closure: Closure | None = None) -> Any:
        """Perform one optimization step; return the closure's loss (or None).

        ``closure`` is a function that recomputes the loss and its gradients
        (zero the gradients, forward, backward) and returns the loss. It is
        called once, under ``enable_grad`` (so it works inside ``no_grad``),
        before the parameters are updated. Parameters whose ``.grad`` is None
        are left unchanged and their state untouched.
        """
        loss = self._evaluate_closure(closure)
        self._apply_update()
        return loss

    step = _marks_parameters_modified(step)

    @staticmethod
    def _evaluate_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _apply_update(self) -> None:
        """Update every group with :meth:`_step_group` (under ``no_grad``) and count the step."""
        self._step_count += 1
        with no_grad():
            first_index = 0
            for group_index, group in enumerate(self.param_groups):
                self._step_group(group_index, group, first_index)
                first_index += len(group["params"])

    def _step_group(self, group_index: int, group: dict, first_index: int) -> None:
        """The teaching path: apply the formula to each parameter of the group in turn."""
        names = group.get("param_names")
        for k, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            state = self.state.get(p)
            if not state:
                state = self._init_state(p.data, group)
            theta_new, new_state, intermediates = self._update(
                p.data, p.grad.data, state, group)
            self._commit(p, theta_new, new_state, intermediates, group_index,
                         first_index + k, None if names is None else names[k])

    def _commit(self, p, theta_new, new_state, intermediates, group_index, param_index,
                name=None) -> None:
        """The end of one parameter's update: write the new value, merge the new
        state into ``self.state[p]`` and record the trace. Optimizers whose
        ``_step_group`` looks at a whole group before updating any parameter
        (Barzilai–Borwein, Ranger21, SVRG) call it for each parameter."""
        p.data[...] = theta_new
        new_state = {key: (np.asarray(v) if isinstance(v, np.generic) else v)
                     for key, v in new_state.items()}
        if p in self.state:
            self.state[p].update(new_state)
        elif new_state:
            self.state[p] = new_state
        if self.tracing:
            self._record(group_index, param_index, name, p.data, intermediates)

    def _indexed_params(self):
        """``(group_index, group, global_index, name, p)`` for every parameter,
        in ``state_dict`` order."""
        index = 0
        for group_index, group in enumerate(self.param_groups):
            names = group.get("param_names")
            for k, p in enumerate(group["params"]):
                yield group_index, group, index, None if names is None else names[k], p
                index += 1

    def _init_state(self, theta, group) -> dict:
        """The state of one parameter before its first step (override)."""
        return {}

    def _update(self, theta, grad, state, group):
        """One step of the formula for one parameter (override).

        Returns ``(theta_new, new_state, intermediates)`` as the functions in
        :mod:`optim.functional` do.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement _update(theta, grad, state, group)"
        )

    # ------------------------------------------------------------ tracing
    # (the machinery is in optim.tracing; format in optim/TRACING.md)
    @property
    def tracing(self) -> bool:
        """Whether steps are being recorded in ``self.trace``."""
        return self._tracer is not None

    def set_trace(self, trace) -> None:
        """Turn tracing on (``True``, a list of quantity names or an
        :class:`optim.Trace`) or off (``False``).

        Records already in ``self.trace`` are kept; see :meth:`clear_trace`.
        With a :class:`optim.Trace`, ``self.trace`` is that object.
        """
        if not isinstance(trace, _tracing.Trace):
            trace = check_trace(trace)
        tracer = _tracing.recorder_for(trace)
        if isinstance(tracer, _tracing.Trace):
            tracer.bind(self)
            self.trace = tracer
        elif tracer is not None and not isinstance(self.trace, list):
            self.trace = []
        self._tracer = tracer

    def clear_trace(self) -> None:
        if isinstance(self.trace, list):
            self.trace = []
        else:
            self.trace.clear()

    def _record(self, group_index, param_index, name, theta, intermediates) -> None:
        self._tracer.record(self, group_index, param_index, name, theta, intermediates)

    def trace_of(self, quantity: str, param=0, *, steps: bool = False):
        """The recorded series of one quantity for one parameter.

        Args:
            quantity: a key of the trace records (``"m"``, ``"v_hat"``,
                ``"theta"``, ``"lr_t"``, ``"v_hat.norm"``, ...).
            param: the parameter's global index (as in ``state_dict``: counted
                over the groups in order) or its name (when the params were
                given as ``(name, tensor)`` pairs).
            steps: also return the optimizer step numbers of the records.

        Returns:
            A NumPy array with the steps on axis 0 (shape ``(T,)`` for scalar
            quantities, ``(T, *param.shape)`` for arrays); ``(step_numbers,
            values)`` when ``steps=True``. Records that lack the quantity
            (a step where the formula did not compute it) are left out. A
            streamed :class:`optim.Trace` is read back from its store.
        """
        return _tracing.trace_of(self.trace, quantity, param, steps=steps)

    # ------------------------------------------------------------ state dicts
    @_hooks.hooked_state_dict
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's format.

        ``{"state": {index: {buffer name: value}}, "param_groups": [group]}``
        where each parameter is replaced by its index (counted over the groups
        in order) and each group holds its hyperparameters and ``"params"``,
        the list of its parameters' indices (plus ``"param_names"`` when the
        params were named). State arrays are copies of the backend arrays (a
        later step does not change a state dict already taken). Save it with
        ``minigrad.save``.
        """
        index_of = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for key, value in self.state.items():
            if isinstance(key, Tensor):
                if id(key) not in index_of:
                    raise RuntimeError(
                        "the optimizer holds state for a tensor that is in none of its "
                        "param groups"
                    )
                key = index_of[id(key)]
            state[key] = _clone(value)
        return {"state": state, "param_groups": groups}

    @_hooks.hooked_load_state_dict
    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict made by :meth:`state_dict` (possibly through save/load).

        Parameters are matched by position: the i-th parameter of the saved
        groups gets the i-th parameter's state here, so the groups must have
        the same sizes (``ValueError`` otherwise). Hyperparameters are taken
        from the saved groups. Arrays (backend arrays or Tensors) are copied
        onto the parameter's device, floating ones cast to its dtype; the
        step counter is kept as a number.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match "
                "the size of optimizer's group"
            )

        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {name: _cast_state(param, name, v) for name, v in value.items()}
            else:
                state[key] = value

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    # ------------------------------------------------------------ misc
    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _cast_state(param: Tensor, key, value):
    """A copy of one loaded state value, on ``param``'s device (and dtype, for floats)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if _is_array(value):
        if key == "step":                       # a counter, not a buffer
            return value.item()
        xp = backend.xp_for(param.device)
        out = backend.to_device(value, param.device)
        if value.dtype.kind == "f" and param.dtype.kind == "f":
            return xp.array(out, dtype=param.dtype, copy=True)
        return xp.array(out, copy=True)
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, None, v) for v in value)
    return copy.deepcopy(value)


class OptimizerStateMixin:
    """State that belongs to the optimizer, not to one parameter, saved with ``state_dict``.

    A subclass builds ``self.optimizer_state`` (a dict of Python numbers,
    lists and dicts) in its constructor, and may own a NumPy generator
    ``self._rng`` whose state is saved too. ``state_dict()["optimizer_state"]``
    holds a deep copy of both; ``load_state_dict`` puts them back (a state
    dict without the key leaves them as they are).
    """

    optimizer_state: dict
    _rng = None

    def state_dict(self) -> dict:
        sd = super().state_dict()
        extra = {"values": copy.deepcopy(self.optimizer_state)}
        if self._rng is not None:
            extra["rng"] = copy.deepcopy(self._rng.bit_generator.state)
        sd["optimizer_state"] = extra
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        extra = state_dict.pop("optimizer_state", None)
        super().load_state_dict(state_dict)
        if extra is None:
            return
        self.optimizer_state = copy.deepcopy(extra["values"])
        if self._rng is not None and "rng" in extra:
            self._rng.bit_generator.state = copy.deepcopy(extra["rng"])

    def _group_state(self, group_index: int) -> dict:
        """The optimizer-level state of one param group (created empty on first use)."""
        groups = self.optimizer_state.setdefault("groups", [])
        while len(groups) <= group_index:
            groups.append({})
        return groups[group_index]
