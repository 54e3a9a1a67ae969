"""``Module``: the base class of every layer and model.

A Module is a Python object with three registries, filled in automatically
when attributes are assigned in ``__init__``:

* ``_parameters``: the :class:`~minigrad.nn.Parameter` objects it learns;
* ``_buffers``: Tensors that are part of its state but not learned (running
  statistics, fixed masks), added with :meth:`Module.register_buffer`;
* ``_modules``: its sub-Modules (children), each with registries of its own.

Everything else (``parameters()``, ``state_dict()``, ``to()``, ``train()``,
the nested ``repr``) is a walk over that tree. A walk visits names in the order
they were registered, so the order is deterministic and matches PyTorch's::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()              # creates the registries: call it first
            self.fc1 = nn.Linear(2, 8)      # registered as child "fc1"
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(8, 1)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    [name for name, _ in MLP().named_parameters()]
    # ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']

Two things are *not* registered, exactly as in PyTorch: a plain Tensor (even
one with ``requires_grad=True``; wrap it in ``Parameter``) and a Python list
of Modules (use :class:`~minigrad.nn.ModuleList`).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

import numpy as np

from .. import backend
from ..grad_mode import no_grad
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module", "IncompatibleKeys", "StateDictError"]


class StateDictError(RuntimeError):
    """``load_state_dict`` found keys or shapes that do not fit the model.

    The message lists every problem at once (all missing keys, all unexpected
    keys, every shape mismatch with both shapes); the same facts are kept in
    ``missing_keys``, ``unexpected_keys`` and ``mismatched``, a list of
    ``(key, checkpoint_shape, model_shape)``. Nothing is loaded when it is raised.
    """

    def __init__(self, message, missing_keys=(), unexpected_keys=(), mismatched=()):
        super().__init__(message)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.mismatched = list(mismatched)


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the checkpoint lacked and the
    keys the model did not know (both empty after a strict load)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _check_name(module, name, kind, store):
    """The rules every registered name follows (PyTorch's)."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
    if hasattr(module, name) and name not in store:
        raise KeyError(f"attribute {name!r} already exists")


def _addindent(text, spaces):
    """Indent every line of ``text`` but the first (for nested reprs)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _parse_to_args(device, dtype):
    """Sort ``to``'s arguments out: ``to("cuda")``, ``to(np.float64)``,
    ``to(minigrad.float64)`` (a dtype *name*), ``to("cuda", "float64")``."""
    if device is not None and dtype is None:
        try:
            backend.normalize_device(device)
        except ValueError:
            device, dtype = None, device   # not a device: it must be a dtype
    if device is not None:
        device = backend.normalize_device(device)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Module.to: {dtype!r} is neither a device nor a dtype") from None
        if dtype.kind != "f":
            raise TypeError(f"Module.to only casts to floating point dtypes, got {dtype}")
    return device, dtype


class Module:
    """Base class of layers and models: subclass it, register parts in
    ``__init__``, compute in ``forward``, call the instance.

    ``training`` is True after construction; :meth:`eval` and :meth:`train`
    set it on the whole tree (Dropout reads it).
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these to exist first
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ registration
    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Add ``param`` (a Parameter, or None for "no such parameter") as ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(minigrad.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Add a Tensor that is state but not learned (``None`` reserves the name).

        Buffers move and cast with :meth:`to` and, when ``persistent``, are
        saved in :meth:`state_dict`; optimizers never see them.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(minigrad.Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Add ``module`` as the child ``name`` (what ``self.name = module`` does)."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")

        def forget(*stores):
            for store in stores:
                if store is not None and name in store:
                    del store[name]
            self._non_persistent_buffers.discard(name)

        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            forget(d, buffers, modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(minigrad.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            forget(d, params, buffers)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(minigrad.nn.Module or None expected)"
                )
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(minigrad.Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            registry = d.get(store)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        names = set(super().__dir__())
        names.update(self._parameters, self._buffers, self._modules)
        return sorted(n for n in names if not n[:1].isdigit())

    # ---------------------------------------------------------------- walks
    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, "Module"]]:
        """Yield ``(dotted_name, module)`` for this module and every descendant,
        depth first in registration order; this module's name is ``prefix``. A
        module reachable twice is yielded once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, _join(prefix, name), remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """Yield ``(name, child)`` for the direct sub-modules."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        owners = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                  if recurse else [(prefix, self)])
        seen = set()
        for owner_prefix, owner in owners:
            for name, value in getattr(owner, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield _join(owner_prefix, name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)``, e.g. ``("encoder.fc1.weight", p)``.

        A parameter shared by two modules (tied weights) is yielded once, under
        the first name met, so an optimizer never updates it twice.
        ``recurse=False``: this module's own parameters only.
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield every parameter once (what optimizers are built from)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path ``target`` ("" is this module)."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{module._get_name()} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = child
        return module

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn(module)`` on every child (recursively), then on self; returns self.

        The usual way to re-initialize a model: ``model.apply(init_weights)``.
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------- state dicts
    def state_dict(self, *, destination: Optional[dict] = None, prefix: str = "",
                   keep_vars: bool = False) -> Dict[str, Any]:
        """An ``OrderedDict`` from dotted names to Tensors: the model's state.

        Order as in PyTorch: for each module (depth first), its parameters,
        then its persistent buffers, then its children. The values are
        ``detach()``-ed Tensors that *share memory* with the parameters, so a
        later training step changes them too: ``minigrad.save`` it right away,
        or copy it, for a snapshot. ``keep_vars=True`` gives the Parameters
        themselves. Tied parameters appear under each of their names.
        """
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy the values of ``state_dict`` into this model's parameters and buffers.

        Values may be Tensors or arrays (what ``minigrad.load`` returns). They
        are copied *into* the existing arrays, so every parameter keeps its
        dtype, its device and its identity: an optimizer built on
        ``model.parameters()`` before loading keeps working.

        Everything is checked before anything is copied. A shape mismatch is
        always an error; with ``strict=True`` (default) missing and unexpected
        keys are too. The error (:class:`StateDictError`, a RuntimeError)
        lists all problems at once. Returns
        ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"expected a dict-like state_dict, got {type(state_dict).__name__}")
        targets = self.state_dict(keep_vars=True)
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict.keys() if key not in targets]
        mismatched, sources = [], []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            source = _as_array(state_dict[key], key)
            if tuple(source.shape) != target.shape:
                mismatched.append((key, tuple(source.shape), target.shape))
            else:
                sources.append((target, source))

        if mismatched or (strict and (missing or unexpected)):
            problems = []
            if strict and missing:
                problems.append("Missing key(s) in state_dict: "
                                + ", ".join(f'"{k}"' for k in missing) + ".")
            if strict and unexpected:
                problems.append("Unexpected key(s) in state_dict: "
                                + ", ".join(f'"{k}"' for k in unexpected) + ".")
            for key, ckpt_shape, model_shape in mismatched:
                problems.append(f"size mismatch for {key}: copying a param with shape "
                                f"{ckpt_shape} from checkpoint, the shape in current "
                                f"model is {model_shape}.")
            raise StateDictError(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                + "\n\t".join(problems),
                missing if strict else (), unexpected if strict else (), mismatched)

        with no_grad():
            for target, source in sources:
                # in place: same array, same dtype (numpy casts), same device
                target.data[...] = backend.to_device(source, target.device)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------ devices, dtypes
    def _tensors(self):
        """Every parameter and buffer of the tree, each once."""
        seen = set()
        for module in self.modules():
            for t in list(module._parameters.values()) + list(module._buffers.values()):
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    yield t

    def to(self, device: Optional[str] = None, dtype: Any = None) -> "Module":
        """Move and/or cast every parameter and buffer *in place*; returns self.

        Unlike ``Tensor.to`` (which returns a new tensor), this swaps the
        ``.data`` (and ``.grad.data``) of the existing Parameter objects, so
        references held elsewhere, an optimizer's for instance, stay valid.
        ``dtype`` casts floating point tensors only (integer buffers keep their
        dtype). ``model.to("cuda")``, ``model.to(minigrad.float64)``,
        ``model.to("cuda", dtype="float32")``.
        """
        device, dtype = _parse_to_args(device, dtype)

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
                array = array.astype(dtype)
            return array

        for t in self._tensors():
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad.data = convert(t.grad.data)
        return self

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device: Optional[str] = None) -> "Module":
        return self.to("cuda" if device is None else device)

    def float(self) -> "Module":
        return self.to(dtype=np.float32)

    def double(self) -> "Module":
        return self.to(dtype=np.float64)

    # ------------------------------------------------------------- training
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``True``) or evaluation mode on the whole tree; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)`` (Dropout becomes the identity)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (``False``) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter.

        Gradients *accumulate* over backward calls, so a training loop clears
        them before each one. ``set_to_none=True`` (default) drops ``.grad``;
        ``False`` fills the existing gradient arrays with zeros.
        """
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                if param.grad.creator is not None:
                    param.grad = param.grad.detach()
                param.grad.data[...] = 0

    # ----------------------------------------------------------------- repr
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self) -> str:
        """One line (or several) describing this module's settings, for ``repr``."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


def _as_array(value, key):
    """The backend array inside a state_dict value (Tensor, array or number)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"state_dict[{key!r}]: cannot read a {type(value).__name__} "
                            f"as an array ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"state_dict[{key!r}]: expected a Tensor or a numeric array, "
                        f"got dtype {array.dtype}")
    return array
