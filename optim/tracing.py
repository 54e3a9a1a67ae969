r"""Tracing at scale: what an optimizer records, where, and how to read it back.

``trace=True`` keeps every full array of every parameter at every step: right
for a toy problem, gigabytes for a real model. :class:`Trace` says instead

* **what** to record: a parameter subset (``params``: names as
  ``model.named_parameters()`` gives them, or global indices), a step schedule
  (``every``, ``first``, ``steps``), the quantities (``quantities``), and per
  quantity the full array (``"full"``), chosen coordinates (``"coords"``) or
  summary statistics (``"summary"``: mean, std, min, max, L2 norm, quantiles,
  the fraction of non-finite values);
* **where**: in memory under a bound (``max_records``, ``max_bytes``; beyond it
  new records are refused with a warning, or, with ``when_full="ring"``, the
  oldest are dropped), or streamed to a directory (``store``) in ``.npz``
  chunks, each written atomically and readable without pickle, listed by a
  small JSON index, so a trace can be read while training still runs
  (:class:`TraceReader`, :func:`trace_of`).

Keys of a record: a full array keeps the quantity's name (``"v_hat"``), a
summary statistic is ``"<quantity>.<stat>"`` (``"v_hat.norm"``,
``"m.q50"``), chosen coordinates ``"<quantity>.coords"`` (a 1-d array, one
value per coordinate). Scalars (``t``, ``rho_t``, ``r_t``, ...) are kept as they
are in every mode. The format is described in ``optim/TRACING.md``.

The optimizer routes its tracing here: :func:`recorder_for` turns the ``trace``
argument into a recorder, and every recorder has ``record(opt, group_index,
param_index, name, theta, intermediates)``.
"""
from __future__ import annotations

import json
import math
import os
import warnings
import weakref
from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np

from minigrad import atomic, backend

__all__ = ["Trace", "TraceReader", "KeysRecorder", "recorder_for", "trace_of", "summarize",
           "STATS", "DEFAULT_STATS", "MODES", "stat_key", "to_host"]

#: Every summary statistic :func:`summarize` knows (quantiles come from ``quantiles``).
STATS = ("mean", "std", "min", "max", "norm", "nonfinite")
#: The statistics a :class:`Trace` computes unless told otherwise.
DEFAULT_STATS = STATS
#: How an array quantity can be recorded.
MODES = ("full", "coords", "summary")

INDEX = "index.json"
FORMAT = "minigrad-trace"
VERSION = 1


# --------------------------------------------------------------------------- values

def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or backend.is_cupy_array(x)


def to_host(value):
    """A trace value: arrays become NumPy copies, NumPy scalars Python numbers."""
    if _is_array(value):
        return np.array(backend.to_numpy(value), copy=True)
    if isinstance(value, np.generic):
        return value.item()
    return value


def quantile_name(q: float) -> str:
    """``0.5`` -> ``"q50"``, ``0.05`` -> ``"q05"``, ``0.999`` -> ``"q99.9"``."""
    pct = f"{100 * q:.6g}"
    whole, _, frac = pct.partition(".")
    return "q" + whole.zfill(2) + ("." + frac if frac else "")


def stat_key(quantity: str, stat) -> str:
    """The record key of one statistic: ``stat_key("v_hat", "norm") == "v_hat.norm"``;
    a number is a quantile (``stat_key("m", 0.5) == "m.q50"``)."""
    if not isinstance(stat, str):
        stat = quantile_name(float(stat))
    return f"{quantity}.{stat}"


def summarize(x, stats=DEFAULT_STATS, quantiles=()) -> dict:
    """Summary statistics of one array, as ``{stat: float}``.

    ``mean``, ``std`` (population, ``ddof=0``), ``min``, ``max`` and the
    quantiles are taken over the finite entries; ``norm`` is the L2 norm of the
    finite entries; ``nonfinite`` is the fraction of NaN and infinite entries.
    With no finite entry the statistics are NaN. Computed in one pass for the
    sums (mean by NumPy's pairwise summation in the array's dtype, then the
    centred sum of squares, from which std and the norm follow without
    cancellation) on the array's device; only the numbers move.
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise ValueError(f"unknown summary statistic(s) {unknown}; known: {list(STATS)}")
    xp = backend.get_array_module(x)
    x = x.reshape(-1)
    n = x.size
    out = {}
    if n == 0:
        return {**{s: math.nan for s in stats if s != "nonfinite"},
                **({"nonfinite": 0.0} if "nonfinite" in stats else {}),
                **{quantile_name(q): math.nan for q in quantiles}}
    lo, hi = float(x.min()), float(x.max())
    bad = 0
    if not (math.isfinite(lo) and math.isfinite(hi)):     # NaN or inf somewhere: keep the finite part
        finite = xp.isfinite(x)
        bad = n - int(finite.sum())
        x = x[finite]
        n = x.size
        lo, hi = (float(x.min()), float(x.max())) if n else (math.nan, math.nan)
    if n:
        acc = np.float32 if x.dtype.kind == "f" and x.dtype.itemsize < 4 else None   # float16
        mean = float(x.sum(dtype=acc)) / n                      # pairwise summation: accurate
        d = x - x.dtype.type(mean) if x.dtype.kind == "f" else x.astype(np.float64) - mean
        css = float(xp.dot(d, d))                               # centred sum of squares
        std, norm = math.sqrt(css / n), math.sqrt(css + n * mean * mean)
    else:
        mean = std = norm = math.nan
    values = {"mean": mean, "std": std, "min": lo, "max": hi, "norm": norm,
              "nonfinite": bad / (n + bad)}
    for s in stats:
        out[s] = values[s]
    if quantiles:
        qs = (backend.to_numpy(xp.quantile(x, xp.asarray(list(quantiles))))
              if n else [math.nan] * len(quantiles))
        for q, v in zip(quantiles, qs):
            out[quantile_name(q)] = float(v)
    return out


def _nbytes(record: dict) -> int:
    return sum(v.nbytes if isinstance(v, np.ndarray) else 8 for v in record.values())


# --------------------------------------------------------------------------- recorders

class KeysRecorder:
    """``trace=True`` or a list of quantity names: full copies of every (kept)
    quantity, appended to ``opt.trace`` (a plain list), with no bound."""

    def __init__(self, keys=None):
        self.keys = keys          # None: every quantity

    def record(self, opt, group_index, param_index, name, theta, intermediates) -> None:
        record = {"step": opt._step_count, "group": group_index, "param": param_index}
        if name is not None:
            record["name"] = name
        keys = self.keys
        for key, value in {"theta": theta, **intermediates}.items():
            if keys is None or key in keys:
                record[key] = to_host(value)
        opt.trace.append(record)


def recorder_for(trace):
    """The recorder of an optimizer's ``trace`` argument (``None``: tracing off).

    ``True`` and lists of names give :class:`KeysRecorder` (today's behaviour);
    a :class:`Trace` is its own recorder.
    """
    if trace is True:
        return KeysRecorder(None)
    if trace is False or trace is None:
        return None
    if isinstance(trace, Trace):
        return trace
    if isinstance(trace, str):
        return KeysRecorder(frozenset([trace]))
    if isinstance(trace, Iterable):
        return KeysRecorder(frozenset(trace))
    raise TypeError(f"trace must be True, False, a list of quantity names or an optim.Trace, "
                    f"got {type(trace).__name__}")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Trace: {name} must be a positive integer, got {value!r}")
    return int(value)


class Trace:
    """What to record of an optimizer's steps, and where: pass it as ``trace=``.

    ::

        tr = optim.Trace(params=["encoder.W_iou", "generator.weight"], every=10,
                         quantities=["m_hat", "v_hat", "r_t"], mode="summary")
        opt = optim.RAdam(model.named_parameters(), lr=1e-3, trace=tr)
        ...
        tr.trace_of("v_hat.norm", param="generator.weight", steps=True)

    Args:
        quantities: names of the formula's quantities to record (``"theta"``
            included); ``None`` records all.
        params: the parameters to record, by name (when the optimizer was given
            ``(name, tensor)`` pairs) or global index; ``None``: all. Unknown
            names or indices raise ``ValueError`` when the trace is attached.
        every, first, steps: the schedule. A step is recorded when
            ``step % every == 0``, or ``step <= first``, or ``step in steps``;
            with none of them, every step.
        mode: how array quantities are recorded, ``"full"``, ``"coords"`` or
            ``"summary"`` (default), or a tuple of them.
        modes: per-quantity modes overriding ``mode``: ``{"theta": "coords",
            "v_hat": ("summary", "full")}``.
        coords: the coordinates of ``"coords"`` mode: a list of flat indices
            (into the raveled array) or of index tuples, the same for every
            parameter, or a dict parameter name/index -> such a list.
        stats: the statistics of ``"summary"`` mode (default all of
            :data:`STATS`); ``quantiles``: a few quantiles, e.g. ``(0.05, 0.5,
            0.95)`` (recorded as ``q05``, ``q50``, ``q95``; sorting costs time).
        derived: extra quantities, ``{name: f(quantities) -> array or
            number}`` where ``quantities`` holds the formula's intermediates
            and ``theta`` (backend arrays); recorded in ``mode`` like the
            others. A function that raises ``KeyError`` (a quantity absent at
            this step) is skipped for the record.
        max_records, max_bytes: the in-memory bound (default ``max_bytes``
            256 MiB, no record limit). ``when_full="refuse"`` (default) keeps the
            first records and refuses the rest with one ``RuntimeWarning``
            (``refused`` counts them); ``"ring"`` keeps the newest.
        store: a directory to stream the records to: ``.npz`` chunks written
            atomically, plus ``index.json``. Records wait in memory until a
            chunk is full (``chunk_steps`` steps or ``chunk_bytes`` bytes,
            whichever first; chunks hold whole steps) or :meth:`flush`.
            Call :meth:`flush` (or :meth:`close`) at the end of training.
    """

    def __init__(self, quantities=None, params=None, *, every=None, first=None, steps=None,
                 mode="summary", modes=None, coords=None, stats=DEFAULT_STATS, quantiles=(),
                 derived=None, max_records=None, max_bytes=256 * 2 ** 20, when_full="refuse",
                 store=None, chunk_steps=100, chunk_bytes=64 * 2 ** 20):
        if isinstance(quantities, str):
            quantities = [quantities]
        self.quantities = None if quantities is None else frozenset(quantities)
        if params is not None and (isinstance(params, (str, int)) or not isinstance(params, Iterable)):
            params = [params]
        self.params = None if params is None else list(params)
        self.every = None if every is None else _positive_int("every", every)
        self.first = None if first is None else _positive_int("first", first)
        self.steps = None if steps is None else frozenset(_positive_int("steps", s) for s in steps)
        self.mode = self._check_mode("mode", mode)
        self.modes = {q: self._check_mode(f"modes[{q!r}]", m) for q, m in (modes or {}).items()}
        uses_coords = "coords" in self.mode or any("coords" in m for m in self.modes.values())
        if uses_coords and coords is None:
            raise ValueError("Trace: mode 'coords' needs coords= (flat indices or index tuples)")
        self.coords = coords
        self.stats = tuple(stats)
        bad = [s for s in self.stats if s not in STATS]
        if bad:
            raise ValueError(f"Trace: unknown statistic(s) {bad}; known: {list(STATS)}")
        self.quantiles = tuple(float(q) for q in quantiles)
        if any(not 0 <= q <= 1 for q in self.quantiles):
            raise ValueError(f"Trace: quantiles must lie in [0, 1], got {list(quantiles)}")
        self.derived = dict(derived or {})
        if any(not callable(f) for f in self.derived.values()):
            raise TypeError("Trace: derived must map names to functions of the quantities")
        self.max_records = None if max_records is None else _positive_int("max_records", max_records)
        self.max_bytes = None if max_bytes is None else _positive_int("max_bytes", max_bytes)
        if when_full not in ("refuse", "ring"):
            raise ValueError(f"Trace: when_full must be 'refuse' or 'ring', got {when_full!r}")
        self.when_full = when_full
        self.store = None if store is None else os.fspath(store)
        self.chunk_steps = _positive_int("chunk_steps", chunk_steps)
        self.chunk_bytes = _positive_int("chunk_bytes", chunk_bytes)

        self.records = deque()          # in memory: the kept records; streamed: not yet written
        self.nbytes = 0
        self.refused = 0
        self.dropped = 0
        self._warned = False
        self._selected = None           # set of global indices, or None for all
        self._coords = {}               # global index -> flat indices (np.intp) or None
        self._shapes = {}
        self._params_meta = {}          # global index -> {"name", "group", "shape"}
        self._chunks = []
        self._pending_first_step = None
        self._reader = None
        self._owner = None
        if self.store is not None:
            self._init_store()

    # ------------------------------------------------------------ setup
    @staticmethod
    def _check_mode(where, mode):
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise ValueError(f"Trace: {where} must be one or more of {list(MODES)}, got {mode!r}")
        return modes

    def _init_store(self):
        os.makedirs(self.store, exist_ok=True)
        if os.path.exists(os.path.join(self.store, INDEX)):
            raise FileExistsError(f"Trace: {self.store!r} already holds a trace ({INDEX}); "
                                  "give an empty or new directory")

    def bind(self, opt) -> None:
        """Resolve the parameter subset and the coordinates against ``opt``'s
        parameters (called by ``opt.set_trace``). A Trace serves one optimizer."""
        owner = self._owner() if self._owner is not None else None
        if owner is not None and owner is not opt:
            raise ValueError("Trace: this Trace already records another optimizer; "
                             "give each optimizer its own optim.Trace(...)")
        self._owner = weakref.ref(opt)
        by_name, count, meta = {}, 0, {}
        for group_index, _, index, name, p in opt._indexed_params():
            if name is not None:
                by_name[name] = index
            meta[index] = {"name": name, "group": group_index, "shape": list(p.shape)}
            count += 1
        self._params_meta = meta

        def resolve(ref):
            if isinstance(ref, str):
                if ref not in by_name:
                    known = sorted(by_name) if by_name else "none: give the optimizer (name, tensor) pairs"
                    raise ValueError(f"Trace: no parameter named {ref!r}; names: {known}")
                return by_name[ref]
            if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool) and 0 <= ref < count:
                return int(ref)
            raise ValueError(f"Trace: parameter {ref!r} is neither a name nor an index in [0, {count})")

        self._selected = None if self.params is None else {resolve(r) for r in self.params}
        self._coords = {}
        if self.coords is not None:
            if isinstance(self.coords, Mapping):
                spec = {resolve(k): v for k, v in self.coords.items()}
            else:
                spec = {i: self.coords for i in meta          # 0-d parameters record scalars
                        if meta[i]["shape"] and (self._selected is None or i in self._selected)}
            for i, cs in spec.items():
                self._coords[i] = self._flat_coords(cs, tuple(meta[i]["shape"]), meta[i]["name"] or i)

    @staticmethod
    def _flat_coords(coords, shape, who):
        size = int(np.prod(shape, dtype=np.int64))
        flat = []
        for c in coords:
            if isinstance(c, (tuple, list)):
                if len(c) != len(shape) or any(not -s <= k < s for k, s in zip(c, shape)):
                    raise ValueError(f"Trace: coordinate {tuple(c)} is outside parameter {who!r} "
                                     f"of shape {shape}")
                flat.append(int(np.ravel_multi_index(tuple(k % s for k, s in zip(c, shape)), shape)))
            else:
                if not -size <= int(c) < size:
                    raise ValueError(f"Trace: flat coordinate {c} is outside parameter {who!r} "
                                     f"of {size} entries")
                flat.append(int(c) % size)
        return np.asarray(flat, dtype=np.intp)

    # ------------------------------------------------------------ recording
    def wants(self, step: int, param_index: int) -> bool:
        """Whether the schedule and the subset record this (step, parameter)."""
        if self._selected is not None and param_index not in self._selected:
            return False
        if self.every is None and self.first is None and self.steps is None:
            return True
        return bool((self.every is not None and step % self.every == 0)
                    or (self.first is not None and step <= self.first)
                    or (self.steps is not None and step in self.steps))

    def record(self, opt, group_index, param_index, name, theta, intermediates) -> None:
        step = opt._step_count
        if not self.wants(step, param_index):
            return
        quantities = {"theta": theta, **intermediates}
        chosen = quantities if self.quantities is None else {
            k: v for k, v in quantities.items() if k in self.quantities}
        for dname, f in self.derived.items():
            try:
                chosen[dname] = f(quantities)
            except KeyError:
                pass
        record = {"step": step, "group": group_index, "param": param_index}
        if name is not None:
            record["name"] = name
        for key, value in chosen.items():
            self._add(record, key, value, param_index)
        self._keep(record)

    def _add(self, record, key, value, param_index):
        if not _is_array(value) or value.ndim == 0:
            v = to_host(value)
            record[key] = v.item() if isinstance(v, np.ndarray) else v
            return
        for mode in self.modes.get(key, self.mode):
            if mode == "full":
                record[key] = to_host(value)
            elif mode == "coords":
                idx = self._coords.get(param_index)
                if idx is not None:
                    xp = backend.get_array_module(value)
                    picked = value.reshape(-1)[idx if xp is np else xp.asarray(idx)]
                    record[key + ".coords"] = np.array(backend.to_numpy(picked), copy=True)
            elif value.dtype.kind in "fiub":
                for s, v in summarize(value, self.stats, self.quantiles).items():
                    record[f"{key}.{s}"] = v

    def _keep(self, record):
        size = _nbytes(record)
        if self.store is not None:
            if (self.records and record["step"] != self.records[-1]["step"]
                    and (record["step"] - self._pending_first_step >= self.chunk_steps
                         or self.nbytes >= self.chunk_bytes)):
                self.flush()
            if not self.records:
                self._pending_first_step = record["step"]
            self.records.append(record)
            self.nbytes += size
            return
        if self._over(size):
            if self.when_full == "refuse":
                self.refused += 1
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"optim.Trace is full ({len(self.records)} records, {self.nbytes} bytes; "
                        f"bounds: max_records={self.max_records}, max_bytes={self.max_bytes}): "
                        "later records are refused. Record less (params=, every=, mode='summary'), "
                        "raise the bound, use when_full='ring' or stream with store=",
                        RuntimeWarning, stacklevel=2)
                return
            while self.records and self._over(size):
                old = self.records.popleft()
                self.nbytes -= _nbytes(old)
                self.dropped += 1
            if self._over(size):                     # one record larger than the whole bound
                self.dropped += 1
                return
        self.records.append(record)
        self.nbytes += size

    def _over(self, size):
        return ((self.max_records is not None and len(self.records) + 1 > self.max_records)
                or (self.max_bytes is not None and self.nbytes + size > self.max_bytes))

    # ------------------------------------------------------------ streaming
    def flush(self) -> None:
        """Write the records waiting in memory as one chunk (streamed traces only)."""
        if self.store is None or not self.records:
            return
        records = list(self.records)
        arrays = _columns(records)
        fname = f"chunk_{len(self._chunks):06d}.npz"
        with atomic.atomic_open(os.path.join(self.store, fname), "wb") as f:
            np.savez(f, **arrays)
        self._chunks.append({"file": fname, "records": len(records),
                             "first_step": records[0]["step"], "last_step": records[-1]["step"]})
        self.records.clear()
        self.nbytes = 0
        self._write_index()

    close = flush

    def _write_index(self):
        index = {"format": FORMAT, "version": VERSION, "spec": self.describe(),
                 "params": {str(i): m for i, m in self._params_meta.items()},
                 "coords": {str(i): c.tolist() for i, c in self._coords.items()},
                 "chunks": self._chunks}
        atomic.write_text(os.path.join(self.store, INDEX), json.dumps(index, indent=1))

    def describe(self) -> dict:
        """The settings, as JSON-able values (written into the store's index)."""
        return {"quantities": None if self.quantities is None else sorted(self.quantities),
                "params": self.params, "every": self.every, "first": self.first,
                "steps": None if self.steps is None else sorted(self.steps),
                "mode": list(self.mode), "modes": {k: list(v) for k, v in self.modes.items()},
                "stats": list(self.stats), "quantiles": list(self.quantiles),
                "derived": sorted(self.derived)}

    # ------------------------------------------------------------ reading
    def all_records(self) -> list:
        """Every record: the written chunks (streamed) then those in memory."""
        if self.store is not None and self._chunks:
            if self._reader is None:
                self._reader = TraceReader(self.store)
            done = self._reader.records()
        else:
            done = []
        return done + list(self.records)

    def __iter__(self):
        return iter(self.all_records())

    def __len__(self):
        return sum(c["records"] for c in self._chunks) + len(self.records)

    def __getitem__(self, i):
        if self.store is None:
            return list(self.records)[i] if isinstance(i, slice) else self.records[i]
        return self.all_records()[i]

    def __bool__(self):
        return len(self) > 0

    def __eq__(self, other):
        if isinstance(other, list):
            return self.all_records() == other
        return self is other

    __hash__ = object.__hash__

    def clear(self) -> None:
        """Forget the records in memory (a store's written chunks stay on disk)."""
        self.records.clear()
        self.nbytes = 0

    def trace_of(self, quantity, param=0, *, steps=False):
        """As :meth:`optim.Optimizer.trace_of`, over :meth:`all_records`."""
        return trace_of(self.all_records(), quantity, param, steps=steps)


# --------------------------------------------------------------------------- the store



def _scalar_kind(v):
    if isinstance(v, (bool, np.bool_)):
        return "b"
    if isinstance(v, (int, np.integer)):
        return "i"
    if isinstance(v, (float, np.floating)):
        return "f"
    return None


def _columns(records) -> dict:
    """One chunk's arrays.

    ``rec.step``, ``rec.param``, ``rec.group``: one entry per record (row).
    ``scalar.values`` (rows x columns, float64) and ``scalar.mask`` (which
    rows have the column): every number (statistics, ``t``, ``r_t``, ...),
    one column per key, the key and its type (float, int, bool, restored on
    reading) in ``meta``. Arrays: per (parameter, key) series ``s<i>.rows``
    (the rows that have it) and ``s<i>.values`` (stacked), named in ``meta``.
    """
    columns, series = {}, {}
    for row, r in enumerate(records):
        for k, v in r.items():
            if k in ("step", "param", "group", "name"):
                continue
            kind = _scalar_kind(v)
            if kind is not None and columns.get(k, (kind,))[0] == kind:
                columns.setdefault(k, (kind, []))[1].append((row, v))
            else:
                series.setdefault((r["param"], k), ([], []))
                series[(r["param"], k)][0].append(row)
                series[(r["param"], k)][1].append(v)
    R = len(records)
    out = {"rec.step": np.array([r["step"] for r in records], dtype=np.int64),
           "rec.param": np.array([r["param"] for r in records], dtype=np.int64),
           "rec.group": np.array([r["group"] for r in records], dtype=np.int64)}
    values = np.full((R, len(columns)), np.nan)
    mask = np.zeros((R, len(columns)), dtype=bool)
    for j, (_, entries) in enumerate(columns.values()):
        rows = [e[0] for e in entries]
        values[rows, j] = [float(e[1]) for e in entries]
        mask[rows, j] = True
    out["scalar.values"], out["scalar.mask"] = values, mask
    names = []
    for i, ((param, key), (rows, vals)) in enumerate(series.items()):
        try:
            arr = np.asarray(vals)
        except ValueError:                       # ragged: not one array
            arr = np.empty(0, dtype=object)
        if arr.dtype == object:
            arr = np.asarray([str(v) for v in vals])
        out[f"s{i}.rows"] = np.asarray(rows, dtype=np.int64)
        out[f"s{i}.values"] = arr
        names.append([param, key])
    meta = {"scalars": [[k, kind] for k, (kind, _) in columns.items()], "series": names}
    out["meta"] = np.asarray(json.dumps(meta))
    return out


_CAST = {"f": float, "i": int, "b": bool}


def _chunk_records(path, names) -> list:
    """The records of one chunk file (see :func:`_columns`)."""
    with np.load(path, allow_pickle=False) as z:
        recs = [{"step": int(s), "group": int(g), "param": int(p)}
                for s, g, p in zip(z["rec.step"], z["rec.group"], z["rec.param"])]
        for r in recs:
            if names.get(r["param"]) is not None:
                r["name"] = names[r["param"]]
        meta = json.loads(str(z["meta"]))
        values, mask = z["scalar.values"], z["scalar.mask"]
        for j, (key, kind) in enumerate(meta["scalars"]):
            cast = _CAST[kind]
            for row in np.flatnonzero(mask[:, j]):
                recs[row][key] = cast(values[row, j])
        for i, (_, key) in enumerate(meta["series"]):
            for row, v in zip(z[f"s{i}.rows"], z[f"s{i}.values"]):
                recs[row][key] = v.item() if v.ndim == 0 else v
    return recs


class TraceReader:
    """Read a streamed trace back (also while training still writes it).

    Only the chunks the index lists are read, and each chunk is whole (written
    atomically before the index names it), so a reader never sees half a
    chunk. ``np.load(..., allow_pickle=False)``: no code runs on reading.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(os.path.join(self.path, INDEX)):
            raise FileNotFoundError(f"no trace index {INDEX!r} in {self.path!r} (nothing written yet, "
                                    "or not a trace directory)")
        self._cache = {}

    def index(self) -> dict:
        with open(os.path.join(self.path, INDEX), encoding="utf-8") as f:
            index = json.load(f)
        if index.get("format") != FORMAT:
            raise ValueError(f"{self.path!r}: not a {FORMAT} index")
        return index

    def records(self) -> list:
        """Every written record, as the dicts an in-memory trace holds
        (chunks already read are kept: they never change)."""
        index = self.index()
        names = {int(i): m["name"] for i, m in index["params"].items()}
        out = []
        for chunk in index["chunks"]:
            if chunk["file"] not in self._cache:
                self._cache[chunk["file"]] = _chunk_records(os.path.join(self.path, chunk["file"]), names)
            out.extend(self._cache[chunk["file"]])
        return out

    def __iter__(self):
        return iter(self.records())

    def __len__(self):
        return sum(c["records"] for c in self.index()["chunks"])

    def trace_of(self, quantity, param=0, *, steps=False):
        """As :meth:`optim.Optimizer.trace_of`, over the written records."""
        return trace_of(self.records(), quantity, param, steps=steps)


# --------------------------------------------------------------------------- reading, any source

def _records_of(source) -> list:
    if isinstance(source, (str, os.PathLike)):
        return TraceReader(source).records()
    if hasattr(source, "trace") and hasattr(source, "param_groups"):     # an optimizer
        source = source.trace
    if isinstance(source, (Trace, TraceReader)):
        return list(source)
    return source


def trace_of(source, quantity: str, param=0, *, steps: bool = False):
    """One quantity of one parameter over the records of ``source``, stacked on axis 0.

    ``source``: an optimizer, a :class:`Trace`, a :class:`TraceReader`, a
    trace directory, or a list of records. ``param`` is the global index or
    the name. With ``steps=True`` returns ``(step_numbers, values)``. Raises
    ``KeyError`` (listing the recorded keys) when nothing matches.
    """
    records = _records_of(source)
    key = "name" if isinstance(param, str) else "param"
    chosen = [r for r in records if r.get(key) == param and quantity in r]
    if not chosen:
        known = sorted({k for r in records for k in r})
        raise KeyError(
            f"no trace of {quantity!r} for param {param!r}; recorded keys: {known}"
            if records else
            "the trace is empty: build the optimizer with trace=True and call step()"
        )
    values = np.stack([np.asarray(r[quantity]) for r in chosen])
    if steps:
        return np.array([r["step"] for r in chosen]), values
    return values
