"""Containers that register a whole collection of Modules.

A Python list or dict of Modules assigned to an attribute is invisible to
``parameters()``; these containers register each element as a child named by
its position ("0", "1", ...) or key, so ``model.layers.0.weight`` shows up in
``named_parameters()`` and ``state_dict()``.
"""
from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


class _IndexedModules(Module):
    """Shared machinery of Sequential and ModuleList: children named "0".."n-1"."""

    def _position(self, idx):
        idx = operator.index(idx)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {self._get_name()} "
                             f"of length {n}")
        return idx % n

    def _key(self, idx):
        return list(self._modules.keys())[self._position(idx)]

    def _renumber(self, modules):
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __setitem__(self, idx, module):
        self.add_module(self._key(idx), module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._position(idx)]
        self._renumber(modules)   # keep the names 0..n-1, as PyTorch does

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (a list's ``insert``)."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)


class Sequential(_IndexedModules):
    """Modules applied one after the other: ``forward(x) = m_n(...m_2(m_1(x)))``.

    ``Sequential(m1, m2, ...)`` names the children "0", "1", ...;
    ``Sequential(OrderedDict([("fc", m1), ("act", m2)]))`` names them by the
    keys. Supports ``len``, iteration, indexing (a slice gives a Sequential),
    ``append``, ``extend``, ``insert`` and ``del``.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key(idx)]

    def forward(self, input):  # noqa: A002
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of Modules, each registered (``ModuleList([Linear(4, 4) for _ in range(3)])``).

    It has no ``forward``: the owner decides how the elements are used.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]

    def __iadd__(self, modules):
        return self.extend(modules)


class ModuleDict(Module):
    """A dict of Modules, each registered under its key (insertion order kept)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module
