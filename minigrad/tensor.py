"""``Tensor``: an array plus what autograd needs to know about it.

A Tensor wraps a backend array (``.data``: NumPy on the CPU, CuPy on the GPU)
and, when it was computed by a recorded op, the Function that made it
(``.creator``, also called ``.grad_fn``). Tensors made by the user are *leaves*;
a leaf with ``requires_grad=True`` receives its gradient in ``.grad``.

The operators (``+``, ``*``, ``@``, ``x[i]``, ...) and methods (``x.sum()``,
``x.exp()``, ...) call the ops in :mod:`minigrad.ops`, which are bound at the
bottom of this file.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from . import backend
from .errors import GraphError
from .grad_mode import state as _grad_state

_default_dtype = np.dtype(np.float32)

#: The write clock: one integer, bumped by every in-place operation on any tensor.
#: A Function notes its value when it records its inputs; a tensor whose last
#: write is later than that was modified after the Function saved it. A list, so
#: that function.py and autograd.py share the one cell without a global lookup.
write_clock = [0]


def set_default_dtype(dtype: Any) -> None:
    """The float dtype for tensors built from Python floats (float32 unless set)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"default dtype must be a floating point type, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    return _default_dtype


def _infer_array(data, dtype, device):
    """Turn user data into a backend array, with torch.tensor's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    device = backend.normalize_device(device) if device is not None else None
    xp = backend.get_array_module(data)
    if xp is np:
        if isinstance(data, (str, bytes)):
            raise TypeError(f"cannot build a Tensor from a {type(data).__name__}: {data!r}")
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"cannot build a Tensor from this data: {exc}") from None
        from_python = not isinstance(data, np.ndarray) and not isinstance(data, np.generic)
    else:
        arr, from_python = data, False
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"cannot build a Tensor from data of dtype {arr.dtype} "
            f"({'strings' if kind in 'USa' else 'objects' if kind == 'O' else kind}); "
            "expected numbers or booleans"
        )
    if dtype is not None:
        arr = arr.astype(np.dtype(dtype), copy=False)
    elif kind == "f" and from_python:
        arr = arr.astype(_default_dtype, copy=False)  # Python floats -> float32
    elif kind in "iu" and from_python:
        arr = arr.astype(np.int64, copy=False)
    if device is not None:
        arr = backend.to_device(arr, device)
    return arr


class Tensor:
    """A multi-dimensional array that records the ops applied to it.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` is a
    number, a (nested) list, a NumPy/CuPy array or a Tensor. Python floats
    become float32 (see :func:`set_default_dtype`), Python ints int64, and an
    array keeps its dtype unless ``dtype`` is given.
    """

    # numpy must let Tensor's reflected operators handle `ndarray + Tensor`
    __array_ufunc__ = None
    __array_priority__ = 1000

    #: The version counter, shared by a tensor and its views (``reshape``,
    #: ``transpose``, basic indexing, ``detach``): ``[last write on the write
    #: clock, number of writes, name of the last in-place op]``. ``None`` (the
    #: class default, so building a tensor costs nothing) until the first
    #: in-place write or view.
    _vc = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 device: Optional[str] = None) -> None:
        self.data = _infer_array(data, dtype, device)
        self.grad = None
        self.creator = None
        self._output_index = 0
        self._retains_grad = False
        self._requires_grad = False
        self.name = None
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, array, requires_grad=False):
        """Fast constructor for arrays produced by ops (no checks, no copies)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t.creator = None
        t._output_index = 0
        t._retains_grad = False
        t._requires_grad = requires_grad
        t.name = None
        return t

    # ------------------------------------------------------------ autograd
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating point tensors can require gradients, got dtype "
                f"{self.data.dtype}; build it with dtype=float32 or float64"
            )
        if not flag and self.creator is not None:
            raise GraphError(
                "requires_grad can only be turned off on leaf tensors; use "
                ".detach() to get a tensor outside the graph"
            )
        self._requires_grad = flag

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    @property
    def grad_fn(self):
        return self.creator

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor during backward."""
        if not self._requires_grad:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True

    def backward(self, grad: Any = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the gradient of some scalar with respect to ``self``; it may
        be omitted only when ``self`` has one element (a loss). The graph is
        freed afterwards unless ``retain_graph=True``; ``create_graph=True``
        records the backward pass itself, for higher derivatives.
        """
        from .autograd import run_backward  # (autograd imports this module)

        run_backward([self], None if grad is None else [grad], retain_graph,
                     create_graph)

    def _accumulate_grad(self, g: "Tensor", create_graph: bool) -> None:
        if g.data.shape != self.data.shape:
            raise RuntimeError(
                f"internal error: gradient of shape {tuple(g.shape)} for a tensor "
                f"of shape {tuple(self.shape)}"
            )
        if self.grad is None:
            # A fresh, writable array: backward may return views or share one
            # array between inputs (x + y), and optimizers update .grad in place.
            # With create_graph the copy is a recorded clone, so it stays differentiable.
            self.grad = g.clone() if create_graph else Tensor._make(g.data.copy())
        elif create_graph:
            self.grad = self.grad + g
        else:            # a new array (never written into the old one), not recorded
            self.grad = Tensor._make(self.grad.data + g.data)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no creator, no grad).

        It shares the memory and the version counter: an in-place write to one
        is seen by a backward that needs the other.
        """
        out = Tensor._make(self.data)
        self._share_version(out)
        return out

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------ array attributes
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    def size(self, dim: Optional[int] = None) -> Union[tuple, int]:
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied to the host from a GPU)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> Union[float, int, bool]:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, got shape {self.shape}"
            )
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous"
            )
        return bool(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be an index")
        return int(self.item())

    def to(self, device: Any = None, dtype: Any = None) -> "Tensor":
        """A copy on ``device`` and/or of ``dtype`` (the same tensor when nothing changes).

        Differentiable: gradients flow back to the original device and dtype.
        ``t.to("cuda")``, ``t.to(dtype=np.float64)``, ``t.to(np.float64)``,
        ``t.to(minigrad.float64)``.
        """
        if device is not None and dtype is None:
            # t.to(np.float64) and t.to(minigrad.float64) (a dtype *name*) cast
            try:
                backend.normalize_device(device)
            except ValueError:
                try:
                    np.dtype(device)
                except TypeError:
                    raise ValueError(f"to: {device!r} is neither a device ('cpu', "
                                     "'cuda') nor a dtype") from None
                device, dtype = None, device
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = _ops().astype(out, dtype)
        if device is not None and backend.normalize_device(device) != self.device:
            out = _ops().to_device(out, backend.normalize_device(device))
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(dtype=np.float32)

    def double(self) -> "Tensor":
        return self.to(dtype=np.float64)

    def type(self, dtype: Any) -> "Tensor":
        return self.to(dtype=dtype)

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph."""
        return _ops().clone(self)

    # ---------------------------------------------------- in-place (no graph)
    # In-place operations are not recorded in the graph. Each one bumps the
    # tensor's version counter, so that a backward that needs the old values
    # (a Function saved this tensor, or produced it) raises instead of silently
    # using the new ones -- torch's "modified by an inplace operation" check.
    # Writes through ``.data`` (``t.data[...] = x``) bypass the counter, as in
    # torch: they are the escape hatch for code that knows what it does.
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor (or a view of its memory) has had."""
        vc = self._vc
        return 0 if vc is None else vc[1]

    def _bump_version(self, op: str = "an in-place write") -> None:
        """Record an in-place write (``op`` names it in the backward error)."""
        write_clock[0] += 1
        vc = self._vc
        if vc is None:
            self._vc = [write_clock[0], 1, op]
        else:
            vc[0] = write_clock[0]
            vc[1] += 1
            vc[2] = op

    def _share_version(self, view: "Tensor") -> None:
        """Make ``view`` (whose array shares this tensor's memory) share its counter."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, 0, ""]
        view._vc = vc

    def _check_inplace(self, what: str) -> None:
        if not (_grad_state.grad_enabled and self._requires_grad):
            return
        if self.creator is None:
            raise GraphError(
                f"{what}: a leaf tensor that requires grad cannot be modified in "
                "place while grad mode is on; wrap the update in minigrad.no_grad()"
            )
        # torch records in-place ops in the graph; minigrad does not, so the
        # gradient would silently skip this write: refuse it instead
        raise GraphError(
            f"{what}: this tensor was computed by {self.creator.op_name} from tensors that "
            "require grad, and in-place operations are not recorded in the graph; write "
            "it out of place (h = h * 0 rather than h.zero_()), or wrap it in "
            "minigrad.no_grad() if the gradient should not see it"
        )

    def _as_operand(self, value, what: str):
        """``value`` (a Tensor, array or number) as an array on this tensor's device."""
        data = value.data if isinstance(value, Tensor) else value
        if isinstance(data, (str, bytes)) or data is None:
            raise TypeError(f"{what}: expected a Tensor, an array or a number, got "
                            f"{type(value).__name__}")
        return backend.to_device(backend.get_array_module(data).asarray(data), self.device)

    def _write(self, what: str, key, value) -> "Tensor":
        self._check_inplace(what)
        try:
            self.data[key] = value
        except ValueError as exc:
            from .errors import ShapeError

            raise ShapeError(f"{what}: {exc} (tensor of shape {self.shape})") from None
        self._bump_version(what)
        return self

    def zero_(self) -> "Tensor":
        """Set every element to 0, in place."""
        return self._write("zero_", Ellipsis, 0)

    def fill_(self, value: Any) -> "Tensor":
        """Set every element to ``value``, in place."""
        return self._write("fill_", Ellipsis, self._as_operand(value, "fill_"))

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src``'s values into this tensor (shape must broadcast, dtype is kept)."""
        return self._write("copy_", Ellipsis, self._as_operand(src, "copy_"))

    def _update(self, what: str, ufunc: str, other) -> "Tensor":
        self._check_inplace(what)
        operand = self._as_operand(other, what)
        xp = backend.get_array_module(self.data)
        try:
            getattr(xp, ufunc)(self.data, operand, out=self.data, casting="same_kind")
        except ValueError as exc:
            from .errors import ShapeError

            raise ShapeError(f"{what}: {exc} (tensor of shape {self.shape})") from None
        self._bump_version(what)
        return self

    def add_(self, other: Any, alpha: float = 1) -> "Tensor":
        """``self += alpha * other``, in place."""
        if alpha != 1:
            other = self._as_operand(other, "add_") * alpha
        return self._update("add_", "add", other)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """``self -= alpha * other``, in place."""
        if alpha != 1:
            other = self._as_operand(other, "sub_") * alpha
        return self._update("sub_", "subtract", other)

    def mul_(self, other: Any) -> "Tensor":
        """``self *= other``, in place."""
        return self._update("mul_", "multiply", other)

    def div_(self, other: Any) -> "Tensor":
        """``self /= other``, in place."""
        return self._update("div_", "true_divide", other)

    def clamp_(self, min: Optional[float] = None, max: Optional[float] = None) -> "Tensor":  # noqa: A002
        """Clip every element to ``[min, max]``, in place."""
        self._check_inplace("clamp_")
        backend.get_array_module(self.data).clip(self.data, min, max, out=self.data)
        self._bump_version("clamp_")
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        """``t[key] = value``: an in-place write (not recorded in the graph)."""
        from .ops.shape import _unwrap_key

        self._write("__setitem__", _unwrap_key(key, self.device),
                    self._as_operand(value, "__setitem__"))

    # ---------------------------------------------------------------- misc
    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", precision=4,
                               prefix="tensor(")
        extra = []
        if self.dtype != _default_dtype and self.dtype.kind == "f" or self.dtype.kind != "f":
            extra.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self.creator is not None:
            extra.append(f"grad_fn=<{self.creator.op_name}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    __hash__ = object.__hash__


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           device: Optional[str] = None) -> Tensor:
    """Build a leaf Tensor (same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _ops():
    """The ops package. Imported on use: the ops import this module, and
    ``minigrad/__init__.py`` binds them as Tensor methods once both exist."""
    from . import ops

    return ops
