r"""The flat fast path: the same formula over one flat buffer per param group.

``optim.Adam(params, impl="flat")`` (also ``SGD``, ``RMSprop``, ``Adagrad``,
``AdamW``) replaces the teaching path's loop "for each parameter: call the
formula" by "for each chunk of a flat buffer: call the formula". The formula
is the one in :mod:`optim.functional` (or its in-place twin in
:mod:`optim.fast.inplace`); nothing about the update is written here. What this module does is bookkeeping:

Flat buffers
    The parameters of a group that share a dtype and a device (a *bucket*)
    are stored one after the other in one contiguous 1-d array, and each
    parameter's ``.data`` is rebound to its view of that array (shaped like
    the parameter), so a chunk of parameters is a slice, never a copy.
    Every state buffer (``exp_avg``, ``momentum_buffer``, ...) is one such
    array too, and ``opt.state[p]["exp_avg"]`` is ``p``'s
    view of it, so ``opt.state`` and ``state_dict()`` look exactly as on the
    teaching path (PyTorch's format). Anything that replaces one of those
    arrays (``p.data = ...``, ``Module.to``, ``load_state_dict``, assigning
    ``opt.state[p][key]``) is noticed at the next step: the new values are
    copied into the flat buffer and the view is put back.

Chunks
    A step walks each bucket in chunks of :data:`CHUNK_BYTES` per array
    (128K float32 elements), so the formula's temporaries stay in cache
    instead of streaming 10M-element temporaries through memory.
    A chunk only spans parameters whose scalar state agrees (the same step
    ``t``, the same buffers present): the formula takes ``t`` as one number.
    A chunk inside one parameter reads that parameter's gradient as a view;
    a chunk across several small parameters gathers their gradients first
    (one copy, in cache). Parameters without a gradient are skipped, as on
    the teaching path.

The formula, three ways
    A chunk is given to the optimizer's **fused kernel** when it has one
    (:mod:`optim.fast.kernels`: Adam/AdamW, SGD in PyTorch's momentum form
    after its first step, RMSprop, Adagrad): on the CPU its kernel function
    compiled to one C loop (:mod:`optim.fast.cpu`), which reads and writes
    each array once where NumPy makes one pass per operation. The flat path
    calls it with rows of addresses, a batch of chunks per call (a parameter
    is a row of its own, up to a chunk: a small one's gradient is read where
    it is, not gathered), so Python costs a microsecond or two per parameter
    and step. Otherwise (no C compiler, ``MINIGRAD_CPU_FUSED=0``, a kernel
    that could not be built, a configuration without a kernel) the chunk goes
    to the optimizer's ``_update_inplace``, which calls the formula's
    in-place twin in :mod:`optim.fast.inplace` (``adam_`` for
    ``optim.functional.adam``: the same lines in the same order with
    ``out=``, so no allocation and no copy back), or, with ``inplace=False``
    or without a twin, to ``_update``: the pure formula, exactly what the
    teaching path calls; its results are copied back into the chunk. All
    three do the same floating-point operations in the same order as the
    teaching path, so the results are **bitwise equal** to it
    (``tests/optim/test_fast_path.py``). Any elementwise optimizer (one whose
    formula treats every coordinate alike given scalar hyperparameters and
    scalar state) can use the flat path with its pure formula alone.

Threads
    NumPy runs a ufunc on one core but releases the GIL while it computes
    (so does a compiled kernel, called through :mod:`ctypes`), so the chunks
    of a step are shared between :func:`get_num_threads`
    threads (the cores this process may use, like torch's intra-op threads;
    :func:`set_num_threads` or ``MINIGRAD_NUM_THREADS`` changes it): each
    thread takes the next chunk not yet taken, so a thread slowed down by
    other work on the machine takes fewer. Chunks are independent (each
    coordinate's update reads only that coordinate), so the result does not
    depend on which thread ran which chunk.

Tracing
    ``trace=True`` with ``impl="flat"`` runs the teaching path for the traced
    steps (the records are the teaching path's, chunking would cut them into
    pieces) and then puts its results back into the flat buffers.

What differs from the teaching path (the numbers never do)
    * ``p.data`` is rebound once, when the optimizer is built, to a view of
      the flat buffer (write into it, ``p.data[...] = x``, as usual; an
      array taken from ``p.data`` before that no longer follows ``p``).
    * The state arrays are updated in place: an array taken from
      ``opt.state[p]`` follows the later steps (the teaching path puts new
      arrays into the state at every step).
    * A gradient whose dtype differs from its parameter's is cast to the
      parameter's dtype (the teaching path would compute, and keep the
      state, in the promoted dtype).
    * A group may not hold the same parameter twice.

On CuPy arrays a bucket is one chunk and no threads; Adam/AdamW, SGD, RMSprop
and Adagrad then run as one fused kernel per bucket (the same kernel functions
of :mod:`optim.fast.kernels`, compiled by ``cupy.fuse`` in :mod:`optim.fast.gpu`),
the others as one kernel per ufunc over the whole group.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minigrad import backend

from . import cpu, kernels

__all__ = ["CHUNK_BYTES", "get_num_threads", "set_num_threads", "step_group", "sync"]

CHUNK_BYTES = 512 * 1024
"""Bytes of one array per chunk (131072 float32 or 65536 float64 elements).

The size matters to the NumPy twin (below). A compiled kernel makes one pass
without temporaries, so the cache does not matter to it: it takes a parameter
larger than a chunk in chunk-sized pieces only so that threads can share it.

A chunk of Adam touches seven such arrays (theta, g, m, v and three scratch
arrays), 3.5 MiB: in the last-level cache, so each of the formula's dozen
passes reads cache and only the four real arrays travel to and from memory,
once. Measured for Adam on 10M float32 parameters (2-core AMD EPYC, see
benchmarks/README.md): one chunk per 10M-element tensor is 1.6x slower;
L2-sized chunks (16K-32K elements) are 1.2-1.4x slower on one thread and
1.7-2.4x slower on two, because each NumPy call costs about a microsecond of
Python and, with threads, a hand-over of the GIL, and there are 16 calls per
chunk; 128K-256K elements are best. Measured again on one thread (thread CPU
time, Zen 4 with 1 MiB L2 per core): 25K-33K-element chunks 1.15-1.22x slower
(Adam and SGD), 50K 1.04-1.08x. A pass in L2 is no faster than one in L3
(NumPy's loops run at 7-10 G float32 elements/s either way), so smaller chunks
only add calls.
"""

N_WORK = 3
"""Scratch arrays per thread that the in-place formulas may use (``work``)."""

# ---------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------

def _default_threads() -> int:
    env = os.environ.get("MINIGRAD_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                       # not on Linux
        return max(1, os.cpu_count() or 1)


_num_threads = _default_threads()
_pool = None
_pool_pid = None
_pool_lock = threading.Lock()
_buffer_lock = threading.Lock()


def get_num_threads() -> int:
    """How many threads a flat step uses (default: ``MINIGRAD_NUM_THREADS`` or the usable cores)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (1 = no threads) for the chunks of a flat step."""
    global _num_threads
    n = int(n)
    if n < 1:
        raise ValueError(f"the number of threads must be positive, got {n}")
    _num_threads = n


def _get_pool(workers):
    """A pool with at least ``workers`` threads (the calling thread is the other one).

    A process forked from one that had a pool gets a new pool (the threads do
    not survive ``fork``).
    """
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minigrad-flat")
            _pool_pid = os.getpid()
        return _pool


# ---------------------------------------------------------------------------
# the layout: buckets of flat buffers
# ---------------------------------------------------------------------------

def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or backend.is_cupy_array(x)


class _Bucket:
    """The parameters of one group that share a device and a dtype, stored flat."""

    def __init__(self, params, device, dtype):
        self.params = params
        self.device = device
        self.dtype = dtype
        self.xp = backend.xp_for(device)
        self.shapes = [p.data.shape for p in params]
        self.sizes = [int(p.data.size) for p in params]
        self.offsets = [0]
        for n in self.sizes:
            self.offsets.append(self.offsets[-1] + n)
        self.total = self.offsets[-1]
        self.theta = self.xp.empty(self.total, dtype=dtype)
        self.theta_views = self._views(self.theta)
        self.buffers = {}           # state key -> flat array
        self.buffer_views = {}      # state key -> list of per-parameter views
        if device == "cpu":
            self.chunk = max(1, CHUNK_BYTES // np.dtype(dtype).itemsize)
        else:                       # one kernel per ufunc over the whole bucket
            self.chunk = max(1, self.total)

    def _views(self, flat):
        return [flat[a:b].reshape(shape)
                for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def buffer(self, key):
        """The flat array of state buffer ``key`` (allocated at first use)."""
        flat = self.buffers.get(key)
        if flat is None:
            with _buffer_lock:          # threads may ask for a new buffer at once
                flat = self.buffers.get(key)
                if flat is None:
                    flat = self.xp.zeros(self.total, dtype=self.dtype)
                    self.buffer_views[key] = self._views(flat)
                    self.buffers[key] = flat
        return flat

    def view(self, key, k):
        self.buffer(key)
        return self.buffer_views[key][k]

    # ------------------------------------------------------------ adoption
    def adopt_param(self, k):
        """Make parameter ``k``'s ``.data`` its view of the flat buffer (copying its values)."""
        p, view = self.params[k], self.theta_views[k]
        if p.data is not view:
            view[...] = backend.to_device(p.data, self.device)
            p.data = view

    def is_buffer(self, k, value) -> bool:
        """Whether a state value is a buffer (an array shaped like the parameter)."""
        return _is_array(value) and value.shape == self.shapes[k]

    def adopt_state(self, k, state):
        """Make every buffer of parameter ``k``'s state its view of a flat buffer."""
        for key, value in state.items():
            if self.is_buffer(k, value):
                view = self.view(key, k)
                if value is not view:
                    view[...] = backend.to_device(value, self.device)
                    state[key] = view


def _no_layout():
    return None


class _Layout:
    """The flat buffers of one param group: one bucket per (device, dtype).

    A copy (``copy.deepcopy`` or pickle of the optimizer) holds no layout:
    the copied parameters are no longer views of copied buffers, so the copy
    builds its own at its next step.
    """

    def __reduce__(self):
        return _no_layout, ()

    def __init__(self, params):
        self.param_ids = tuple(id(p) for p in params)
        if len(set(self.param_ids)) != len(self.param_ids):
            raise ValueError("impl='flat' needs every parameter of a group once; the group "
                             "holds a parameter twice")
        by_kind = {}
        for p in params:
            by_kind.setdefault((backend.device_of(p.data), p.data.dtype), []).append(p)
        self.buckets = [_Bucket(ps, device, dtype) for (device, dtype), ps in by_kind.items()]
        self.valid = True

    def matches(self, params) -> bool:
        return (self.valid and len(params) == len(self.param_ids)
                and all(id(p) == i for p, i in zip(params, self.param_ids)))

    def sync(self, state, with_state=True) -> bool:
        """Put the views back wherever something replaced them; False if the layout is stale.

        Stale: a parameter changed its shape, dtype or device (``Module.to``),
        so the group needs a new layout. ``with_state=False`` leaves the state
        to the step (which adopts the state of each parameter it updates).
        """
        for bucket in self.buckets:
            for k, p in enumerate(bucket.params):
                data = p.data
                if data is not bucket.theta_views[k]:
                    if (data.shape != bucket.shapes[k] or data.dtype != bucket.dtype
                            or backend.device_of(data) != bucket.device):
                        self.valid = False
                        return False
                    bucket.adopt_param(k)
                if with_state:
                    st = state.get(p)
                    if st:
                        bucket.adopt_state(k, st)
        return True


def _layout(opt, group_index, group, with_state=True):
    """The group's layout, built (or rebuilt) and synchronised with the parameters (and state)."""
    layouts = opt.__dict__.setdefault("_flat_layouts", {})
    layout = layouts.get(group_index)
    params = group["params"]
    if (layout is None or not layout.matches(params)
            or not layout.sync(opt.state, with_state)):
        layout = _Layout(params)
        layouts[group_index] = layout
        layout.sync(opt.state)
    return layout


def sync(opt) -> None:
    """Adopt every parameter and state buffer of ``opt`` into its flat buffers.

    Called by the optimizer after construction, ``add_param_group`` and
    ``load_state_dict`` (every step does it too, so it is never required for
    correctness: it makes ``p.data`` and ``opt.state[p][key]`` views at once).
    """
    layouts = opt.__dict__.setdefault("_flat_layouts", {})
    for i in [i for i in layouts if i >= len(opt.param_groups)]:
        del layouts[i]
    for i, group in enumerate(opt.param_groups):
        _layout(opt, i, group)


# ---------------------------------------------------------------------------
# one step
# ---------------------------------------------------------------------------

class _Run:
    """Consecutive parameters (in flat order) with the same scalar state, updated together."""

    __slots__ = ("lo", "hi", "members", "state", "result", "keys")

    def __init__(self, lo, state, keys):
        self.lo = self.hi = lo
        self.members = []             # list of (k, gradient as a flat array)
        self.state = state            # scalar state shared by the members
        self.keys = keys              # names of the buffers the members have
        self.result = None            # the new state returned by the first chunk


def _runs(opt, bucket, group):
    """Group the parameters with a gradient into runs; initialize or adopt their state.

    Two neighbours share a run when their scalar state (``step``, ...) is
    equal, value and type, and they have the same buffers.
    """
    runs, current, current_key = [], None, None
    xp, dtype, device = bucket.xp, bucket.dtype, bucket.device
    shapes, offsets, views = bucket.shapes, bucket.offsets, bucket.buffer_views
    opt_state = opt.state
    for k, p in enumerate(bucket.params):
        grad = p.grad
        if grad is None:
            current = None
            continue
        g = grad.data
        if g.shape != shapes[k]:
            raise RuntimeError(f"the gradient of a parameter of shape {shapes[k]} has "
                               f"shape {g.shape}")
        if g.dtype != dtype or ((device != "cpu" or type(g) is not np.ndarray)
                                and backend.device_of(g) != device):
            g = xp.asarray(backend.to_device(g, device), dtype=dtype)
        if g.ndim != 1:
            g = g.reshape(-1)                            # a view unless g is not contiguous
        state = opt_state.get(p)
        if not state:
            state = opt._init_state(p.data, group)
            if state:
                opt_state[p] = state
        scalars, keys = [], []
        for key, value in state.items():
            per_param = views.get(key)
            if per_param is not None and value is per_param[k]:
                keys.append(key)                         # already a view: the usual case
                continue
            if type(value) is int or type(value) is float:
                pass                                     # a scalar (step): the usual case
            elif _is_array(value):
                if value.shape == shapes[k]:
                    bucket.adopt_state(k, state)         # new or replaced: copy it in
                    keys.append(key)
                    continue
                value = value.item() if value.size == 1 else ("array", id(value))
            elif isinstance(value, np.generic):
                value = value.item()
            scalars.append((key, value.__class__, value))
        phase = (tuple(scalars), tuple(keys))
        lo = offsets[k]
        if current is None or phase != current_key or current.hi != lo:
            current = _Run(lo, {key: state[key] for key, _, _ in scalars}, phase[1])
            current_key = phase
            runs.append(current)
        current.members.append((k, g))
        current.hi = offsets[k + 1]
    return runs


def _chunks(bucket, runs):
    """Cut the runs into chunks ``(run, lo, hi, pieces)``, pieces ``(flat gradient, a, b)``.

    A parameter of at least a quarter of a chunk gets chunks of its own (its
    length split evenly into pieces of at most a chunk), so its gradient is
    read as a view; consecutive smaller parameters share chunks, for which
    their gradients are gathered into one array.
    """
    size = bucket.chunk
    offsets = bucket.offsets
    tasks = []
    for run in runs:
        pending, pending_lo, pending_n = [], 0, 0
        for k, g in run.members:
            lo, n = offsets[k], offsets[k + 1] - offsets[k]
            if 4 * n >= size:
                if pending:
                    tasks.append((run, pending_lo, pending_lo + pending_n, pending))
                    pending, pending_n = [], 0
                count = -(-n // size)
                for j in range(count):
                    a, b = n * j // count, n * (j + 1) // count
                    tasks.append((run, lo + a, lo + b, [(g, a, b)]))
            else:
                if pending and pending_n + n > size:
                    tasks.append((run, pending_lo, pending_lo + pending_n, pending))
                    pending, pending_n = [], 0
                if not pending:
                    pending_lo = lo
                pending.append((g, 0, n))
                pending_n += n
        if pending:          # (also a run of empty parameters: the formula still runs)
            tasks.append((run, pending_lo, pending_lo + pending_n, pending))
    return tasks


class _Worker:
    """One thread's scratch arrays for one dtype: ``work`` and a buffer to gather gradients."""

    def __init__(self, xp, dtype, size):
        self.work = [xp.empty(size, dtype=dtype) for _ in range(N_WORK)]
        self.gather = xp.empty(size, dtype=dtype)
        self._sized = {}

    def work_of_size(self, n):
        """The scratch arrays cut to ``n`` elements (the cuts are kept: chunks repeat sizes)."""
        work = self._sized.get(n)
        if work is None:
            work = self._sized[n] = [w[:n] for w in self.work]
        return work


class _ChunkOut(dict):
    """``out`` for an in-place formula: ``out[key]`` is the chunk of flat buffer ``key``.

    Holds the chunks of the buffers the parameters have; a new one (SGD's
    ``momentum_buffer`` at the first step) is allocated when first asked for.
    """

    __slots__ = ("bucket", "lo", "hi")

    def __missing__(self, key):
        value = self[key] = self.bucket.buffer(key)[self.lo:self.hi]
        return value


def _run_chunks(opt, bucket, group, tasks, worker, inplace, fused=False):
    """Apply the formula to each chunk of ``tasks`` (in one thread, with its scratch arrays).

    ``fused``: run the optimizer's fused kernel (:mod:`optim.fast.kernels`: compiled C on the
    CPU, ``cupy.fuse`` on the GPU) where it has one; its plan (kernel and scalars) is made once
    per run of parameters with the same state.
    """
    buffers = bucket.buffers
    theta_flat = bucket.theta
    plans = {}                                           # run -> its kernels.Plan (or None)
    for run, lo, hi, pieces in tasks:
        n = hi - lo
        if len(pieces) == 1:
            g, a, b = pieces[0]
            grad = g[a:b]
        else:                                            # gather the small parameters' gradients
            grad = worker.gather[:n]
            pos = 0
            for g, a, b in pieces:
                grad[pos:pos + b - a] = g[a:b]
                pos += b - a
        theta = theta_flat[lo:hi]
        new_state = None
        if fused:
            step_plan = plans.get(run, False)
            if step_plan is False:
                state = {**run.state, **{key: buffers[key][lo:hi] for key in run.keys}}
                step_plan = kernels.plan(opt, state, group, bucket.xp, bucket.dtype)
                if step_plan is not None and not set(step_plan.keys) <= set(run.keys):
                    step_plan = None     # a state value that is not a flat buffer (a number): the twin
                plans[run] = step_plan
            if step_plan is not None and run.result is not None:     # the usual case, kept short
                arrays = [buffers[key][lo:hi] for key in step_plan.keys]
                if kernels.run_plan(step_plan, theta, grad, arrays, new_state=False):
                    continue
            else:
                arrays = [buffers[key][lo:hi] for key in step_plan.keys] if step_plan is not None else ()
                new_state = kernels.run_plan(step_plan, theta, grad, arrays)
        if new_state is not None:
            pass
        elif inplace:
            arrays = {key: buffers[key][lo:hi] for key in run.keys}
            out = _ChunkOut(arrays)
            out.bucket, out.lo, out.hi = bucket, lo, hi
            work = worker.work_of_size(n)
            new_state = opt._update_inplace(theta, grad, {**run.state, **arrays}, out, work, group)
        else:
            arrays = {key: buffers[key][lo:hi] for key in run.keys}
            theta_new, new_state, _ = opt._update(theta, grad, {**run.state, **arrays}, group)
            theta[...] = theta_new
            for key, value in new_state.items():
                if _is_array(value) and value.ndim == 1 and value.shape[0] == n:
                    target = bucket.buffer(key)[lo:hi]
                    if value is not target:
                        target[...] = value
        if run.result is None:
            run.result = new_state


class _Batch:
    """The chunks of one run that a compiled CPU kernel takes, a batch of them per call.

    Each chunk is a row of addresses: ``theta``'s and the state buffers' are
    the flat arrays' plus the chunk's offset, the gradient's is its own
    array's plus the piece's offset. Nothing is sliced, gathered or checked
    per chunk in Python (which costs as much as the kernel's work on tens of
    thousands of elements), and a small parameter is a row of its own: in C a
    row costs nanoseconds, so gathering small gradients into one array would
    only add a copy.
    """

    __slots__ = ("plan", "many", "los", "counts", "grads", "pieces", "width")

    def __init__(self, step_plan, many):
        self.plan, self.many = step_plan, many
        self.los, self.counts, self.grads, self.pieces = [], [], [], []     # per chunk
        self.width = 2 + len(step_plan.keys)


def _batch_for(opt, bucket, group, run):
    """A :class:`_Batch` for ``run`` if its optimizer has a compiled CPU kernel that can run (built now if
    needed), else None."""
    buffers = bucket.buffers
    k, g = run.members[0]
    lo, hi = bucket.offsets[k], bucket.offsets[k + 1]
    state = {**run.state, **{key: buffers[key][lo:hi] for key in run.keys}}
    step_plan = kernels.plan(opt, state, group, np, bucket.dtype)
    if (step_plan is None or not isinstance(step_plan.kernel, cpu.CpuKernel)
            or not set(step_plan.keys) <= set(run.keys)):     # (a state value that is a number: the twin)
        return None
    arrays = [buffers[key][lo:hi] for key in step_plan.keys]
    try:
        many = step_plan.kernel.batch_function(bucket.theta[lo:hi], g, *arrays, *step_plan.scalars)
    except kernels.KernelUnavailable:                          # could not be built (it said so)
        return None
    run.result = {**step_plan.state, **dict(zip(step_plan.keys, arrays))}
    return _Batch(step_plan, many)


def _run_compiled(opt, bucket, group, runs, n_threads):
    """Run what a compiled CPU kernel can take (:mod:`optim.fast.cpu`), batches of chunks per call.

    Returns the runs it left (no kernel for them) and the tasks (chunks, as
    :func:`_chunks` makes them) it could not run (a gradient that is not
    contiguous, arrays that overlap), for :func:`_run_chunks`.
    """
    itemsize, size, offsets = bucket.dtype.itemsize, bucket.chunk, bucket.offsets
    theta = cpu.pointer(bucket.theta)
    buffers = {key: cpu.pointer(flat) for key, flat in bucket.buffers.items()}
    left, rest, batches = [], [], []
    for run in runs:
        batch = _batch_for(opt, bucket, group, run)
        if batch is None:
            left.append(run)
            continue
        batches.append(batch)
        los, counts, grads, pieces = batch.los, batch.counts, batch.grads, batch.pieces
        for k, g in run.members:
            lo = offsets[k]
            n = offsets[k + 1] - lo
            if n == 0:
                continue
            try:                                           # (cpu.pointer, inlined: this loop is the step's cost)
                pointer = _addressof(_from_buffer(g))      # raises unless C-contiguous and writable
            except TypeError:
                if not g.flags.c_contiguous:
                    rest += _chunks(bucket, [_single(run, k, g, lo, n)])
                    continue
                pointer = g.ctypes.data                    # read-only
            if n <= size:                                  # the usual case: a parameter, a chunk
                los.append(lo)
                counts.append(n)
                grads.append(pointer)
                pieces.append((run, lo, g, 0))
                continue
            count = -(-n // size)                          # cut as _chunks does (for the threads)
            for j in range(count):
                a, b = n * j // count, n * (j + 1) // count
                los.append(lo + a)
                counts.append(b - a)
                grads.append(pointer + a * itemsize)
                pieces.append((run, lo + a, g, a))
    # the rows of addresses, then each run's rows cut into pieces for the threads (one per run on one thread)
    work = []
    for batch in batches:
        count = len(batch.counts)
        if not count:
            continue
        counts = np.array(batch.counts, dtype=np.intp)
        starts = np.array(batch.los, dtype=np.uintp) * np.uintp(itemsize)
        rows = np.empty((count, batch.width), dtype=np.uintp)
        rows[:, 0] = starts + np.uintp(theta)
        rows[:, 1] = batch.grads
        for column, key in enumerate(batch.plan.keys, 2):
            rows[:, column] = starts + np.uintp(buffers[key])
        per = count if n_threads <= 1 else max(1, -(-count // (4 * n_threads)))
        work += [(batch, counts, rows, j, min(j + per, count)) for j in range(0, count, per)]

    def run_work(share):
        """Run the pieces of ``share``; how many chunks ran."""
        ran = 0
        for batch, counts, rows, j, k in share:
            done = batch.many(k - j, counts.ctypes.data + j * counts.itemsize,
                              rows.ctypes.data + j * batch.width * rows.itemsize, *batch.plan.scalars)
            finished = k - j if done == 0 else done - 1
            ran += finished
            for c in range(j + finished, k if done else j):   # arrays overlap from there on: the twin
                run, lo, g, a = batch.pieces[c]
                n = int(counts[c])
                rest.append((run, lo, lo + n, [(g, a, a + n)]))
        return ran

    n = min(n_threads, len(work))
    if n <= 1:
        ran = run_work(work)
    else:
        counter = itertools.count()
        shares = [_claim(work, counter) for _ in range(n)]
        futures = [_get_pool(n - 1).submit(run_work, share) for share in shares[1:]]
        ran = 0
        try:
            ran = run_work(shares[0])
        finally:
            for f in futures:
                ran += f.result()
    kernels.stats["fused"] += ran
    return left, rest


_addressof, _from_buffer = ctypes.addressof, ctypes.c_char.from_buffer


def _single(run, k, g, lo, n):
    """A run of one parameter of ``run`` (to cut it into chunks alone)."""
    single = _Run(lo, run.state, run.keys)
    single.members.append((k, g))
    single.hi = lo + n
    single.result = run.result
    return single


def step_group(opt, group_index, group, first_index, *, teaching, inplace=None):
    """One step of one param group on the flat path (see the module docstring).

    ``teaching(group_index, group, first_index)`` is the teaching path's step
    of the group, which a traced step runs instead (then the results go back
    into the flat buffers).
    ``inplace``: use the optimizer's ``_update_inplace`` (the default when it
    has one, unless ``opt._flat_inplace`` is False) or its pure ``_update``
    on each chunk (``False``; what an optimizer without an in-place formula
    always gets). The two give bitwise equal results.
    """
    layout = _layout(opt, group_index, group, with_state=False)
    if opt.tracing:                      # the teaching path records; then back into the buffers
        teaching(group_index, group, first_index)
        layout.sync(opt.state)
        return
    if inplace is None:
        inplace = getattr(opt, "_flat_inplace", True)
    inplace = inplace and getattr(opt, "_update_inplace", None) is not None
    for bucket in layout.buckets:
        runs = _runs(opt, bucket, group)
        if not runs:
            continue
        # the fused kernel where the optimizer has one; on the CPU, asking for the pure formula
        # (inplace=False) gets the pure formula (the tests and benchmarks compare the three)
        fused = kernels.wanted(bucket.device) and (inplace or bucket.device != "cpu")
        if fused and bucket.device == "cpu" and kernels._chunk_function(opt) is not None:
            left, rest = _run_compiled(opt, bucket, group, runs, get_num_threads())
            tasks = (_chunks(bucket, left) if left else []) + rest
            if not tasks:
                _finish(opt, bucket, runs)
                continue
        else:
            tasks = _chunks(bucket, runs)
        size = min(bucket.chunk, max(run.hi - run.lo for run in runs))
        workers = _workers(opt, bucket, size)
        n_threads = min(len(workers), len(tasks)) if bucket.device == "cpu" else 1
        if n_threads <= 1:
            _run_chunks(opt, bucket, group, tasks, workers[0], inplace, fused)
        else:
            counter = itertools.count()      # each thread takes the next chunk not yet taken
            shares = [_claim(tasks, counter) for _ in range(n_threads)]
            pool = _get_pool(n_threads - 1)
            futures = [pool.submit(_run_chunks, opt, bucket, group, share, worker, inplace, fused)
                       for share, worker in zip(shares[1:], workers[1:])]
            try:
                _run_chunks(opt, bucket, group, shares[0], workers[0], inplace, fused)
            finally:                         # never return while another thread still writes
                for f in futures:
                    f.result()
        _finish(opt, bucket, runs)


def _claim(tasks, counter):
    """The chunks one thread takes: the next unclaimed one, until none is left.

    ``next`` on an ``itertools.count`` is atomic under the GIL, so no chunk
    is taken twice; a thread that another process slows down takes fewer.
    """
    n = len(tasks)
    for i in counter:
        if i >= n:
            return
        yield tasks[i]


def _workers(opt, bucket, size):
    """One :class:`_Worker` per thread for this dtype/device, grown to ``size`` elements."""
    cache = opt.__dict__.setdefault("_flat_workers", {})
    key = (bucket.device, bucket.dtype)
    n = get_num_threads() if bucket.device == "cpu" else 1
    workers = cache.get(key)
    if workers is None or len(workers) != n or workers[0].gather.shape[0] < size:
        workers = [_Worker(bucket.xp, bucket.dtype, size) for _ in range(n)]
        cache[key] = workers
    return workers


def _finish(opt, bucket, runs):
    """Write each run's new scalar state into its parameters' state; add views of new buffers."""
    for run in runs:
        scalars, new_keys = {}, []
        for key, value in run.result.items():
            if _is_array(value) and value.ndim == 1 and key in bucket.buffers:
                if key not in run.keys:
                    new_keys.append(key)
            else:
                scalars[key] = np.asarray(value) if isinstance(value, np.generic) else value
        for k, _ in run.members:
            p = bucket.params[k]
            if not scalars and not new_keys and p not in opt.state:
                continue                 # a stateless formula (SGD without momentum)
            state = opt.state[p]
            state.update(scalars)
            for key in new_keys:
                state[key] = bucket.buffer_views[key][k]
