"""Running experiments: one (:func:`run_experiment`) or all lectures (:func:`run_lectures`).

``run_experiment(name, out="results", seed=0, device="cpu", quick=False)``

* creates ``<out>/<name>/`` and a :class:`~experiments.context.RunContext` on it;
* seeds ``minigrad.manual_seed(seed)``, ``numpy.random.seed(seed)`` and
  ``random.seed(seed)`` (``ctx.rng`` is a Generator seeded with ``seed``);
* times ``run(ctx)`` and writes ``<out>/<name>/summary.json`` atomically::

    {"experiment", "seed", "device", "quick", "status": "ok"|"failed",
     "versions": {"python", "numpy", "minigrad"}, "seconds",
     "outcomes": <run's dict>, "plots": [file names], "report": "report.md"|null,
     "error": <traceback, only when failed>}

  Outcomes are made JSON-safe: NumPy scalars and arrays become numbers and lists,
  tuples lists, non-finite floats ``null``.
* returns that summary dict; when ``run`` raised, the summary is still written
  (status "failed", or "interrupted" for Ctrl-C) and the exception propagates.
* holds a lock on ``<out>/<name>/`` while it runs (the file ``.lock``, holding the
  process id): a second run into the same folder is refused with
  :class:`RunLocked` instead of mixing its files and summary with the first's. A
  lock left by a process that no longer runs is taken over.

``seed`` must be an int in ``[0, 2**32)`` (NumPy's seed range) and ``out`` a
directory that can be written: :func:`check_seed` and :func:`check_out` raise
ValueError otherwise, before anything runs.

``run_lectures(out="results", ...)`` runs every registered name of
:data:`experiments.registry.LECTURES` in order, keeps going past a failure, and
rewrites ``<out>/index.md`` after each one (a table with one line of key outcomes
per experiment, then each experiment's report and plots). It returns a
:class:`LectureRun`; ``python -m experiments run lectures`` exits 1 when any
experiment failed.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import pathlib
import platform
import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from . import registry
from .context import RunContext, atomic_write_text

__all__ = ["run_experiment", "run_lectures", "LectureRun", "jsonable", "versions",
           "DEFAULT_OUT", "format_outcomes", "check_seed", "check_out", "RunLocked",
           "MAX_SEED"]

DEFAULT_OUT = "results"

#: Each lecture demonstration's page of the documentation site, relative to the
#: repository root (``python -m sphinx -b html docs docs/_build/html`` builds it).
DOCS_PAGE = "docs/_build/html/generated/gallery/{name}.html"


def docs_page_link(name: str, out) -> Optional[str]:
    """Link from the folder ``out`` to the docs page of lecture demonstration
    ``name`` (None for an experiment that has no page)."""
    if name not in registry.LECTURES:
        return None
    page = pathlib.Path(__file__).resolve().parents[1] / DOCS_PAGE.format(name=name)
    return pathlib.Path(os.path.relpath(page, pathlib.Path(out).resolve())).as_posix()


#: seeds are ints in [0, MAX_SEED]: numpy.random.seed's range
MAX_SEED = 2**32 - 1


class RunLocked(RuntimeError):
    """Another live run is writing into the same output folder."""


def check_seed(seed) -> int:
    """``seed`` as an int in ``[0, MAX_SEED]``; ValueError (or TypeError) otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED} (2**32 - 1), got {seed}")
    return int(seed)


def check_out(out) -> pathlib.Path:
    """``out`` as a directory that exists (it is created) and can be written to."""
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise ValueError(f"cannot write into output directory {str(out)!r}: "
                         f"{e.strerror or e}") from None
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def _locked(directory: pathlib.Path):
    """Hold ``directory/.lock`` (with this process's id) for the block's duration."""
    lock = directory / ".lock"
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise RunLocked(f"another run (process {pid}) is writing into "
                                f"{str(directory)!r}; wait for it to finish or choose "
                                "another --out") from None
            if pid == os.getpid():
                raise RunLocked(f"this process is already running into {str(directory)!r}") from None
            try:
                lock.unlink()   # left by a process that no longer runs
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise RunLocked(f"cannot take the lock {str(lock)!r}")
    try:
        yield
    finally:
        try:
            lock.unlink()
        except FileNotFoundError:
            pass


def versions() -> dict:
    import minigrad

    return {"python": platform.python_version(), "numpy": np.__version__,
            "minigrad": getattr(minigrad, "__version__", "unknown")}


def jsonable(x):
    """``x`` with NumPy types, tuples, paths and non-finite floats made JSON-safe."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, pathlib.PurePath):
        return str(x)
    if hasattr(x, "item") and callable(x.item):  # 0-d tensors, cupy scalars
        try:
            return jsonable(x.item())
        except Exception:
            pass
    raise TypeError(f"outcome of type {type(x).__name__} is not JSON-serialisable: {x!r}")


def _seed_everything(seed: int) -> None:
    import minigrad

    minigrad.manual_seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    random.seed(int(seed))


def check_device(device: str) -> str:
    device = str(device)
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda":
        import minigrad

        if not minigrad.cuda.is_available():
            raise RuntimeError("device 'cuda' requested but minigrad.cuda.is_available() "
                               "is False (CuPy and a CUDA GPU are needed)")
    return device


def run_experiment(name: str, out=None, seed: int = 0, device: str = "cpu",
                   quick: bool = False) -> dict:
    """Run experiment ``name`` into ``<out>/<name>/``; return its summary dict."""
    exp = registry.get(name)
    device = check_device(device)
    seed = check_seed(seed)
    out = check_out(out if out is not None else DEFAULT_OUT)
    out_dir = check_out(out / exp.name)
    with _locked(out_dir):
        return _run_locked(exp, out_dir, seed, device, quick)


def _run_locked(exp, out_dir: pathlib.Path, seed: int, device: str, quick: bool) -> dict:
    _seed_everything(seed)
    ctx = RunContext(out_dir, seed=seed, device=device, quick=quick, name=exp.name)
    summary = {"experiment": exp.name, "description": exp.description, "seed": int(seed),
               "device": device, "quick": bool(quick), "status": "running",
               "versions": versions(), "seconds": None, "outcomes": {}, "plots": [],
               "report": None}
    t0 = time.perf_counter()
    try:
        outcomes = exp(ctx)
        if outcomes is None:
            outcomes = {}
        if not isinstance(outcomes, dict):
            raise TypeError(f"experiment {exp.name!r} returned {type(outcomes).__name__}, "
                            "expected a dict of outcomes")
        summary["outcomes"] = jsonable(outcomes)
        summary["status"] = "ok"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
        summary["error"] = "interrupted (Ctrl-C)"
        raise
    except BaseException as e:
        summary["status"] = "failed"
        summary["error"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        raise
    finally:
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        summary["plots"] = list(ctx.plots)
        summary["report"] = ctx.report_path.name if ctx.report_path else None
        atomic_write_text(out_dir / "summary.json",
                          json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


# --- the index of a lecture run -----------------------------------------------------

def _flatten(d, prefix="") -> list:
    items = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            items.extend(_flatten(v, key + "."))
        else:
            items.append((key, v))
    return items


def _lookup(d, dotted):
    cur = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return KeyError
        cur = cur[part]
    return cur


def _fmt_value(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3e}" if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3) else f"{v:.4g}"
    if isinstance(v, list):
        if len(v) > 4:
            return f"[{len(v)} values]"
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def format_outcomes(outcomes: dict, headline: Optional[Sequence[str]] = None,
                    limit: int = 8, max_chars: int = 400) -> str:
    """One line of key outcomes: the ``headline`` keys (dotted paths; a dict value is
    expanded), else the first scalars; numbers to 4 significant digits."""
    if not outcomes:
        return ""
    if headline:
        pairs = []
        for k in headline:
            v = _lookup(outcomes, k)
            if v is KeyError:
                continue
            pairs.extend(_flatten(v, k + ".") if isinstance(v, dict) else [(k, v)])
        total = len(pairs)
    else:
        flat = _flatten(outcomes)
        pairs = [(k, v) for k, v in flat if not isinstance(v, list)] or flat
        total = len(flat)
    shown = pairs[:limit]
    text = "; ".join(f"{k} = {_fmt_value(v)}" for k, v in shown)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(";", 1)[0]
        shown = text.split("; ")
    rest = total - len(shown)
    return text + (f"; … (+{rest} more in summary.json)" if rest > 0 else "")


@dataclass
class LectureRun:
    out: pathlib.Path
    results: dict = field(default_factory=dict)  # name -> summary dict
    index: Optional[pathlib.Path] = None

    @property
    def failed(self) -> list:
        return [n for n, s in self.results.items() if s.get("status") != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failed


def _summary_on_disk(out: pathlib.Path, name: str):
    try:
        return json.loads((out / name / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def _write_index(run: LectureRun, pending: Sequence[str], args: dict) -> pathlib.Path:
    lines = ["# Lecture demonstrations", "",
             f"`python -m experiments run lectures` — seed {args['seed']}, device "
             f"{args['device']}, {'quick' if args['quick'] else 'full'} setting; "
             f"minigrad {versions()['minigrad']}, NumPy {versions()['numpy']}, "
             f"Python {versions()['python']}.", "",
             "| experiment | status | seconds | key outcomes |",
             "| --- | --- | --- | --- |"]
    for name, s in run.results.items():
        exp = registry.get(name)
        status = {"ok": "ok", "interrupted": "**INTERRUPTED**"}.get(s.get("status"),
                                                                    "**FAILED**")
        if s.get("quick"):
            status += " (quick)"
        secs = f"{s['seconds']:.1f}" if s.get("seconds") is not None else ""
        if s.get("status") == "ok":
            line = format_outcomes(s.get("outcomes", {}), exp.headline)
        else:
            err = (s.get("error") or "").strip().splitlines()
            line = "error: " + (err[-1] if err else "unknown")
        line = line.replace("|", "\\|")
        lines.append(f"| [{name}](#{name}) | {status} | {secs} | {line} |")
    for name in pending:
        lines.append(f"| {name} | pending | | |")
    total = sum(s.get("seconds") or 0 for s in run.results.values())
    lines += ["", f"Total: {total:.1f} s; {len(run.failed)} failed."]
    for name, s in run.results.items():
        exp = registry.get(name)
        lines += ["", f"## {name}", "", exp.description, ""]
        if s.get("status") == "interrupted":
            lines += ["**Interrupted** (Ctrl-C) before it finished.", ""]
        elif s.get("status") != "ok":
            lines += ["**Failed.**", "", "```", (s.get("error") or "").rstrip(), "```", ""]
        links = [f"[summary.json]({name}/summary.json)"]
        if s.get("report"):
            links.insert(0, f"[report]({name}/{s['report']})")
        page = docs_page_link(name, run.out)
        if page:
            links.append(f"[docs page]({page})")
        lines += [" · ".join(links), ""]
        for p in s.get("plots", []):
            lines += [f"![{name}: {pathlib.Path(p).stem}]({name}/{p})", ""]
    run.index = atomic_write_text(run.out / "index.md", "\n".join(lines).rstrip() + "\n")
    return run.index


def run_lectures(out=None, seed: int = 0, device: str = "cpu", quick: bool = False,
                 names: Optional[Sequence[str]] = None, log=sys.stderr) -> LectureRun:
    """Run the registered lecture demonstrations (or ``names``) and write the index.

    A failing experiment is reported (traceback in its summary.json and the
    index) and the next one runs; check ``.ok`` / ``.failed`` on the result.
    """
    check_device(device)
    seed = check_seed(seed)
    out = check_out(out if out is not None else DEFAULT_OUT)
    todo = list(names) if names is not None else registry.lectures()
    for n in todo:
        registry.get(n)  # unknown names fail before anything runs
    with _locked(out):
        return _run_lectures_locked(out, todo, seed, device, quick, log)


def _run_lectures_locked(out, todo, seed, device, quick, log) -> LectureRun:
    run = LectureRun(out)
    args = {"seed": seed, "device": device, "quick": quick}
    for i, name in enumerate(todo):
        if log:
            print(f"[{i + 1}/{len(todo)}] {name} ...", file=log, flush=True)
        try:
            summary = run_experiment(name, out=out, seed=seed, device=device, quick=quick)
        except KeyboardInterrupt:
            # the index says so too, with the experiments that never ran as pending
            run.results[name] = _summary_on_disk(out, name) or {
                "experiment": name, "status": "interrupted", "quick": bool(quick),
                "seconds": None, "error": "interrupted (Ctrl-C)", "plots": []}
            _write_index(run, todo[i + 1:], args)
            raise
        except Exception:
            path = out / name / "summary.json"
            try:
                summary = json.loads(path.read_text())
            except Exception:
                summary = {"experiment": name, "status": "failed", "seconds": None,
                           "error": traceback.format_exc(), "plots": []}
            if log:
                print(f"    FAILED: {summary.get('error', '').strip().splitlines()[-1:]}",
                      file=log, flush=True)
        else:
            if log:
                print(f"    ok in {summary['seconds']:.1f} s", file=log, flush=True)
        run.results[name] = summary
        _write_index(run, todo[i + 1:], args)
    if not todo:
        _write_index(run, [], args)
    return run
