"""Shared helpers of the benchmark scripts: thread matching, machine description,
and interleaved timing.

Rules every script follows (the machines these run on are noisy):

* torch gets the same number of intra-op threads as NumPy's BLAS, and both counts
  are printed;
* the candidates being compared are timed in the same run, interleaved: each
  repeat times every candidate once, in a rotating order, so a slow patch of the
  machine hits all of them alike;
* every candidate is warmed up first, and the reported number is the median over
  many repeats; ratios are taken between numbers of the same run.
"""
from __future__ import annotations

import ctypes
import glob
import math
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from anywhere, without installing the package
    sys.path.insert(0, ROOT)

# OpenBLAS's idle worker threads busy-wait for about 2**28 cycles (~0.1 s) after
# each BLAS call before they sleep. Interleaved with torch on few cores, they take
# the cores torch's OpenMP threads need: measured here, torch's MLP step went from
# 2.9 ms alone to 7.0 ms interleaved with NumPy. OPENBLAS_THREAD_TIMEOUT=4 (2**4
# cycles) lets them sleep at once; NumPy alone is within noise of its default.
# It must be set before NumPy loads OpenBLAS; --keep-blas-spin keeps the default.
BLAS_SPIN_NOTE = "OPENBLAS_THREAD_TIMEOUT unchanged (--keep-blas-spin)"
if "--keep-blas-spin" not in sys.argv:
    if "numpy" in sys.modules:
        BLAS_SPIN_NOTE = "OPENBLAS_THREAD_TIMEOUT not applied: numpy was already loaded"
    else:
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
        BLAS_SPIN_NOTE = (f"OPENBLAS_THREAD_TIMEOUT={os.environ['OPENBLAS_THREAD_TIMEOUT']} "
                          "(idle BLAS threads sleep instead of spinning)")

import numpy as np  # noqa: E402

# ----------------------------------------------------------------------------
# NumPy's BLAS threads
# ----------------------------------------------------------------------------
_GET = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_", "openblas_get_num_threads", "MKL_Get_Max_Threads")
_SET = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
        "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")


def _blas_libraries():
    """Candidate shared libraries holding NumPy's BLAS (wheel-bundled first)."""
    base = os.path.dirname(np.__file__)
    paths = sorted(glob.glob(base + ".libs/*blas*")) + sorted(glob.glob(base + ".libs/*mkl*"))
    paths += sorted(glob.glob(os.path.join(base, "..", "scipy_openblas*", "lib", "*.so*")))
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            pass
    try:  # a system BLAS that numpy linked against is already in the process
        libs.append(ctypes.CDLL(None))
    except OSError:
        pass
    return libs


def numpy_blas_threads() -> tuple[int, str]:
    """(threads NumPy's BLAS uses, how that was found out)."""
    try:
        import threadpoolctl

        infos = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            return int(infos[0]["num_threads"]), f"threadpoolctl ({infos[0]['internal_api']})"
    except ImportError:
        pass
    for lib in _blas_libraries():
        for name in _GET:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn()), name
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), var
    return os.cpu_count() or 1, "os.cpu_count() (BLAS not found; assumed)"


def set_numpy_blas_threads(n: int) -> bool:
    """Ask NumPy's BLAS to use ``n`` threads; False when it could not be reached."""
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(n, user_api="blas")
        return True
    except ImportError:
        pass
    for lib in _blas_libraries():
        for name in _SET:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn(n)
                return True
    return False


def match_threads(requested: int | None = None) -> dict:
    """Give torch (and, when asked, NumPy's BLAS) the same thread count.

    Without ``requested`` the count is whatever NumPy's BLAS uses now, and torch
    is set to it. Returns what was done, for printing.
    """
    import torch

    if requested is not None:
        set_numpy_blas_threads(requested)
    n, how = numpy_blas_threads()
    torch.set_num_threads(n)
    return {"numpy_blas_threads": n, "found_by": how,
            "torch_threads": torch.get_num_threads()}


def machine_info(threads: dict) -> str:
    import torch

    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor() or platform.machine()
    return (f"machine: {cpu}, {os.cpu_count()} logical cores, {platform.system()} "
            f"{platform.machine()}\n"
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"torch {torch.__version__}\n"
            f"threads: numpy BLAS {threads['numpy_blas_threads']} "
            f"(via {threads['found_by']}), torch {threads['torch_threads']} "
            "(NumPy's elementwise ops are single-threaded either way)\n"
            f"{BLAS_SPIN_NOTE}\n"
            f"load average at start: {load_average()} (on {os.cpu_count()} cores)")


# ----------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------
class Stats:
    """Per-call times (seconds) of one candidate, one sample per repeat."""

    def __init__(self, samples):
        self.samples = list(samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quartiles(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4)
        return q[0], q[2]


def get_clock(kind: str, threads: int):
    """``time.perf_counter`` for "wall"; the calling thread's CPU time for "cpu".

    The CPU clock does not count time the thread spends descheduled, so it is
    immune to other work on a busy machine, but it only sees the calling thread:
    it is valid with one thread (NumPy's BLAS and torch then compute in it).
    """
    if kind == "wall":
        return time.perf_counter
    if kind == "cpu":
        if threads != 1:
            raise SystemExit("--clock cpu measures one thread only: use it with --threads 1")
        return time.thread_time
    raise ValueError(f"unknown clock {kind!r}")


def interleaved(candidates: dict, *, repeats: int, number: int = 1, warmup: int = 3,
                block: int = 1, clock=time.perf_counter) -> dict:
    """Time several callables against each other.

    Each of ``repeats`` rounds gives every candidate, in an order that rotates
    from round to round, ``block`` samples of ``number`` back-to-back calls each.
    Returns ``{name: Stats}`` with the per-call time of every sample
    (``repeats * block`` samples per candidate).

    ``block > 1`` keeps the interleaving but lets each candidate run a few samples
    in a row: with multi-threaded BLAS/OpenMP on few cores, the previous
    candidate's worker threads keep spinning for a while after it returns and
    steal cores from the next one; in a block only its first sample pays.
    """
    names = list(candidates)
    for name in names:
        for _ in range(warmup):
            candidates[name]()
    samples = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn = candidates[name]
            for _ in range(block):
                t0 = clock()
                for _ in range(number):
                    fn()
                samples[name].append((clock() - t0) / number)
    return {name: Stats(s) for name, s in samples.items()}



def alternating_ratio(a, b, *, rounds: int, clock=time.perf_counter, seed: int = 0) -> tuple[float, float, float]:
    """The time of ``a`` over the time of ``b``, two callables measured alone, in ABBA order.

    Each round times one call of each, ``a`` first in even rounds and ``b``
    first in odd ones, so neither always follows the same work (in
    :func:`interleaved` a candidate always follows the same neighbour, whose
    allocations and cache traffic it inherits). Returns the median of the
    ``rounds`` per-round ratios and a 95% bootstrap interval of that median.
    """
    ratios = []
    for r in range(rounds):
        elapsed = {}
        for name, fn in ((("a", a), ("b", b)) if r % 2 == 0 else (("b", b), ("a", a))):
            t0 = clock()
            fn()
            elapsed[name] = clock() - t0
        ratios.append(elapsed["a"] / elapsed["b"])
    ratios = np.asarray(ratios)
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(ratios, size=(2000, len(ratios))), axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(np.median(ratios)), float(low), float(high)


class OtherLoad:
    """How much of the machine's CPU *other* processes used while we ran.

    ``/proc/stat`` gives the busy time of all CPUs, ``os.times()`` our own; the
    difference over the run, as a share of (wall time x cores), is the load we
    competed with. A few percent is normal; well above that, multi-threaded
    wall-clock timings on a small machine are skewed (a BLAS call waits for its
    descheduled second thread), and ``--threads 1 --clock cpu`` is the
    trustworthy comparison. Linux only; elsewhere it reports nothing.
    """

    def __init__(self):
        self.start = self._snapshot()

    @staticmethod
    def _snapshot():
        try:
            with open("/proc/stat") as f:
                vals = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        t = os.times()
        # user nice system idle iowait irq softirq steal
        busy = sum(vals) - vals[3] - vals[4] - vals[7]
        return busy, vals[7], t.user + t.system, time.perf_counter()

    def report(self, cpu_clock: bool = False) -> str:
        end = self._snapshot()
        if self.start is None or end is None:
            return "CPU used by other processes during the run: unknown"
        hz = os.sysconf("SC_CLK_TCK")
        busy = (end[0] - self.start[0]) / hz
        steal = (end[1] - self.start[1]) / hz
        own = end[2] - self.start[2]
        capacity = (end[3] - self.start[3]) * (os.cpu_count() or 1)
        other = max(0.0, busy - own) / capacity
        line = (f"CPU used by other processes during the run: {other:.0%} of "
                f"{os.cpu_count()} cores (hypervisor steal {steal / capacity:.0%})")
        if other + steal / capacity > 0.10 and cpu_clock:
            line += " (the thread CPU clock used here does not count time spent waiting)"
        elif other + steal / capacity > 0.10:
            line += ("\nWARNING: the machine was busy; multi-threaded wall-clock numbers "
                     "are unreliable: rerun, or use --threads 1 --clock cpu")
        return line


def load_average() -> str:
    """The 1/5/15-minute load average (other work on the machine skews timings)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def paired_ratio(a: Stats, b: Stats) -> tuple[float, float, float]:
    """Median and quartiles of the round-by-round ratio a/b (same-run pairs)."""
    ratios = [x / y for x, y in zip(a.samples, b.samples)]
    s = Stats(ratios)
    q1, q3 = s.quartiles()
    return s.median, q1, q3


def add_common_args(ap) -> None:
    """The options every benchmark script takes."""
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    ap.add_argument("--threads", type=int, default=None,
                    help="set NumPy's BLAS and torch to N threads (default: NumPy's count)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time (default) or the thread's CPU time (needs --threads 1; "
                         "immune to other load on the machine)")
    ap.add_argument("--keep-blas-spin", action="store_true",
                    help="leave OPENBLAS_THREAD_TIMEOUT at OpenBLAS's default (spinning "
                         "idle threads; skews interleaved multi-threaded timings)")


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def linear_init(sizes, seed=0) -> list:
    """PyTorch's default Linear init for an MLP of layer ``sizes``, drawn with NumPy so
    every candidate (minigrad, torch, plain NumPy) starts from the same weights:
    [W1, b1, W2, b2, ...], each U(-1/sqrt(fan_in), 1/sqrt(fan_in)), float32."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return weights


def report_training_steps(step_minigrad, step_torch, *, repeats: int, clock: str, threads: int,
                          batch: int, unit: str, target: float) -> float:
    """Time two training-step callables interleaved; print the medians, the median of the
    per-round ratios minigrad / torch with its quartiles, and minigrad's throughput.
    Returns the ratio."""
    res = interleaved({"minigrad": step_minigrad, "torch": step_torch}, repeats=repeats, warmup=2,
                      clock=get_clock(clock, threads))
    ratio, q1, q3 = paired_ratio(res["minigrad"], res["torch"])
    print(f"training step ({clock} clock), median of {repeats}: "
          f"minigrad {res['minigrad'].median * 1e3:.1f} ms, torch {res['torch'].median * 1e3:.1f} ms")
    print(f"ratio minigrad / torch: {ratio:.2f} (quartiles {q1:.2f}-{q3:.2f}; target <= {target})")
    print(f"minigrad throughput: {batch / res['minigrad'].median:.0f} {unit}/s")
    return ratio


def parse_step_args(ap, argv, repeats: int):
    """Add the training-step benchmarks' shared options (--repeats, --quick, --threads, --clock), parse,
    match the threads and print the machine; returns ``args``."""
    ap.add_argument("--repeats", type=int, default=repeats)
    ap.add_argument("--quick", action="store_true", help="3 repeats (a smoke run)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or the thread's CPU time (with --threads 1; immune to other load)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 3
    print(machine_info(match_threads(args.threads)))
    return args
