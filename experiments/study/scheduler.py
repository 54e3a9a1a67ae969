"""Running a study's trials: in this process, or on Dask distributed.

Each trial is one Dask task (:func:`execute`, a plain function of picklable
arguments). A trial that depends on others (a local method on a global model)
gets their tasks' results as arguments, so Dask starts it only when they are
done. Every trial writes its own files in the study folder, which must
therefore be visible to every worker (a local cluster: always; a real cluster:
a shared file system).

* ``workers=N`` (N >= 1): a :class:`distributed.LocalCluster` of N worker
  processes with one thread each, started here and closed at the end;
* ``scheduler="tcp://host:8786"``: a running cluster (see ``docs/studies.md``);
* ``workers=0``: no Dask, the trials run one after the other in this process
  (for debugging; the results are the same).

Results do not depend on where or in which order trials run: a trial's numbers
come only from its configuration, its seed, the prepared data and the records of
the trials it depends on. A worker that dies loses only its trial's progress
since that trial's last checkpoint: Dask reschedules the task, which resumes.
"""
from __future__ import annotations

import importlib
import logging
import os
import uuid
from typing import Callable, Optional

from . import trial as _trial

__all__ = ["execute", "run_trials", "default_workers", "TrialsFailed"]


class TrialsFailed(RuntimeError):
    """Some trials raised; ``failures`` maps their keys to the error text, ``records`` holds the others."""

    def __init__(self, failures: dict, records: dict):
        self.failures, self.records = failures, records
        first = next(iter(failures.items()))
        super().__init__(f"{len(failures)} trial(s) failed (first: {first[0]}: {first[1]})")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _study_module(name):
    from . import STUDIES

    return importlib.import_module(STUDIES[name])


def execute(spec_dict: dict, study_dir: str, *dep_records) -> dict:
    """Run one trial (on whichever process this is called); its record."""
    spec = _trial.TrialSpec.from_dict(spec_dict)
    mod = _study_module(spec.study)
    deps = {f"{r['phase']}/{r['method']}/seed{r['seed']}": r for r in dep_records}
    return _trial.run_trial(spec, study_dir, mod.make_trainer, deps=deps)


def _order(specs):
    """The specs with every dependency before its dependents (a stable topological order)."""
    keys = {s.key for s in specs}
    done, out, pending = set(), [], list(specs)
    while pending:
        rest = []
        for s in pending:
            if all(d in done or d not in keys for d in s.depends_on):
                out.append(s)
                done.add(s.key)
            else:
                rest.append(s)
        if len(rest) == len(pending):
            raise ValueError(f"circular trial dependencies among {[s.key for s in rest]}")
        pending = rest
    return out


def _missing_deps(specs):
    keys = {s.key for s in specs}
    for s in specs:
        for d in s.depends_on:
            if d not in keys:
                raise ValueError(f"trial {s.key} depends on {d}, which is not part of the study")


def run_trials(specs, study_dir, *, workers: Optional[int] = None, scheduler: Optional[str] = None,
               on_done: Optional[Callable] = None, progress: bool = True) -> dict:
    """Run every trial (finished ones are read back, not rerun); ``{key: record}``.

    ``on_done(record)`` is called as each trial finishes, in completion order.
    A trial that raises does not stop the others (those that depend on it are
    not run); at the end :class:`TrialsFailed` lists the failures.
    """
    from tqdm import tqdm

    from ..context import _progress_enabled

    specs = _order(list(specs))
    _missing_deps(specs)
    study_dir = os.path.abspath(os.fspath(study_dir))
    records = {}
    for s in specs:                       # finished trials are read, not scheduled
        rec = _trial.read_record(study_dir, s)
        if rec is not None:
            records[s.key] = rec
    pending = [s for s in specs if s.key not in records]
    bar = tqdm(total=len(specs), initial=len(records), desc="trials",
               disable=not (progress and _progress_enabled()))
    try:
        failures = {}
        if not pending:
            pass
        elif scheduler is None and workers == 0:
            for s in sorted(pending, key=lambda s: s.seed):    # seed by seed, as on Dask
                missing = [d for d in s.depends_on if d not in records]
                if missing:
                    failures[s.key] = f"not run: {missing[0]} failed"
                    continue
                try:
                    rec = execute(s.to_dict(), study_dir, *[records[d] for d in s.depends_on])
                except Exception as e:  # reported with the trial's key; the others go on
                    failures[s.key] = f"{type(e).__name__}: {e}"
                    continue
                records[s.key] = rec
                bar.update(1)
                if on_done:
                    on_done(rec)
        else:
            _run_dask(pending, study_dir, workers, scheduler, records, bar, on_done, failures)
        if failures:
            raise TrialsFailed(failures, records)
        return records
    finally:
        bar.close()


#: Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers (to hand memory back to the system
#: sooner). Any such setting also turns off glibc's adaptive mmap threshold, so every large
#: temporary array of a training step is mapped and unmapped afresh, page faults and all: a
#: Transformer step measured 2.5 times slower in such a worker than in a plain process. The
#: local cluster's workers start without it (``docs/studies.md`` says how for other clusters).
LOCAL_WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
#: the value Dask's default configuration gives it
DASK_TRIM_THRESHOLD = 65536


def _local_cluster(n):
    from distributed import LocalCluster

    # A nanny writes its pre-spawn settings into its own process's environment too (Dask says
    # so), and spawned workers inherit that environment: an earlier cluster in this process
    # would hand its workers' MALLOC_TRIM_THRESHOLD_ on to ours. Dask's own value is dropped.
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") == str(DASK_TRIM_THRESHOLD):
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                        silence_logs=logging.ERROR)


def _run_dask(specs, study_dir, workers, scheduler, records, bar, on_done, failures):
    import dask
    from distributed import Client, as_completed

    cluster = None
    if scheduler is None:
        n = min(default_workers() if workers is None else int(workers), len(specs))
        with dask.config.set(LOCAL_WORKER_ENVIRON):
            cluster = _local_cluster(n)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures, run_id = {}, uuid.uuid4().hex[:8]
        # seed by seed: an interrupted study then holds whole seeds, which a report can use
        rank = {s.key: r for r, s in enumerate(sorted(specs, key=lambda s: s.seed))}
        for s in specs:
            futures[s.key] = client.submit(execute, s.to_dict(), study_dir,
                                           *[futures[d] if d in futures else records[d] for d in s.depends_on],
                                           key=f"trial-{s.key}-{run_id}", pure=False,
                                           priority=len(specs) - rank[s.key])
        key_of = {f.key: k for k, f in futures.items()}
        for fut in as_completed(list(futures.values())):
            if fut.status != "finished":
                exc = fut.exception()
                failures[key_of[fut.key]] = f"{type(exc).__name__}: {exc}"
                continue
            rec = fut.result()
            records[f"{rec['phase']}/{rec['method']}/seed{rec['seed']}"] = rec
            bar.update(1)
            if on_done:
                on_done(rec)
        return records
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
