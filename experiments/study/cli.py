"""``python -m experiments study NAME [options]``: run (or resume) a study and report it.

::

    python -m experiments study method-naming --profile smoke
    python -m experiments study method-naming --profile quick --workers 2
    python -m experiments study method-naming --profile full --scheduler tcp://host:8786
    python -m experiments study method-naming --methods SGD,Adam,local:SWA --seeds 2
    python -m experiments study method-naming --profile full --estimate   # the time it would take

Running the same command again skips finished trials and resumes unfinished
ones from their last epoch. Exit status: 0 done, 1 a trial failed, 2 usage
error, 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import time

__all__ = ["add_parser", "main", "estimate_seconds"]

def add_parser(sub):
    from . import STUDIES

    p = sub.add_parser("study", help="run or resume an optimizer study (trials on Dask, statistics, report)")
    p.add_argument("name", help=f"the study: {', '.join(STUDIES)}")
    p.add_argument("--profile", choices=("smoke", "quick", "full"), default="quick",
                   help="setting: smoke (a minute), quick (under an hour on 2 cores), full (the study's own)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the profile's)")
    p.add_argument("--methods", default=None,
                   help="comma-separated methods (a name selects it in every phase; global:X or local:X one phase)")
    p.add_argument("--out", default="results", help="output folder; the study goes to OUT/NAME (default: results)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None,
                   help="local Dask cluster of N worker processes (default: the number of cores; 0: no Dask)")
    g.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--data", default=None,
                   help="the study's data: method-naming python (default), java or a path (JSONL, src.zip, "
                        "folder); translation gettext (default) or tatoeba:PATH")
    p.add_argument("--estimate", action="store_true",
                   help="prepare the data, time a few training steps, print the time estimate and stop")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a profile field (repeatable), e.g. --set max_train=64")
    return p


def estimate_seconds(profile, corpus, methods, seeds, seconds_per_example) -> float:
    """Training time of the whole study on one worker, from a measured time per training example.

    An epoch of SVRG costs about three plain epochs (the full-gradient snapshot and
    two gradients per step); validation losses and test decoding add about 15%.
    """
    n = corpus["splits"]["train"]["functions"]
    units = lambda names: sum(3 if m == "SVRG" else 1 for m in names)  # noqa: E731
    epochs = seeds * (units(methods["global"]) * profile.global_epochs
                      + units(methods["local"]) * profile.local_epochs)
    return seconds_per_example * n * epochs * 1.15


def _fmt_time(s):
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min"


def _naming_notes():
    """The method-naming study's metric notes for the report and results.json extras."""
    from ..metrics import wordnet_available
    from .scores import BLEU_SMOOTHING

    wn = wordnet_available()
    notes = [f"BLEU: {BLEU_SMOOTHING}, averaged over test functions, 0-1 scale. METEOR: NLTK, "
             + ("with WordNet synonyms." if wn else "WordNet data absent: only exact and stem (Porter) matches "
                "count.") + " F1: sub-token F1 as code2seq counts it (micro-averaged)."]
    return notes, {"bleu_smoothing": BLEU_SMOOTHING, "meteor_wordnet": wn}


def main(args) -> int:
    from ..runner import check_device
    from . import STUDIES
    from .profiles import get_profile, override
    from .results import collect, comparisons, write_report, write_results
    from .scheduler import TrialsFailed, default_workers, run_trials
    from .trial import read_record

    if args.name not in STUDIES:
        print(f"error: unknown study {args.name!r}; studies: {', '.join(STUDIES)}", file=sys.stderr)
        return 2
    try:
        check_device(args.device)
        module = importlib.import_module(STUDIES[args.name])
        profile = override(getattr(module, "get_profile", get_profile)(args.profile), args.set)
        seeds = profile.seeds if args.seeds is None else args.seeds
        if seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {seeds}")
        if args.workers is not None and args.workers < 0:
            raise ValueError(f"--workers must be >= 0, got {args.workers}")
        methods = module.select_methods(args.methods)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    study_dir = os.path.join(args.out, args.name)
    os.makedirs(study_dir, exist_ok=True)
    t0 = time.perf_counter()
    try:
        try:
            data = args.data if args.data is not None else getattr(module, "DEFAULT_DATA", "python")
            corpus = module.prepare(study_dir, data, profile, workers=min(2, default_workers()))
        except (ValueError, FileNotFoundError, ImportError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        specs = module.trial_specs(profile, list(range(seeds)), methods)
        specs = [dataclasses.replace(s, config=dict(s.config, device=args.device)) for s in specs]
        todo = [sp for sp in specs if read_record(study_dir, sp) is None]
        workers = 1 if args.workers == 0 else (args.workers or default_workers())
        unit = getattr(module, "UNIT", "functions")
        where = args.scheduler or (f"{workers} local workers" if args.workers != 0 else "this process")
        line = (f"{args.name}: {len(specs)} trials ({seeds} seeds, profile {profile.name}, "
                f"{corpus['splits']['train'][unit]} training {unit}), {len(specs) - len(todo)} done")
        if (todo or args.estimate) and hasattr(module, "calibrate"):
            per_example = module.calibrate(study_dir, profile, args.device)
            est = getattr(module, "estimate_seconds", estimate_seconds)(profile, corpus, methods, seeds, per_example)
            share = est / min(workers, default_workers()) if args.scheduler is None else est / workers
            line += (f"; measured {per_example * 1e3:.2f} ms per training example: about {_fmt_time(est)} "
                     f"of training on one worker, {_fmt_time(share)} on {where} (all trials from scratch)")
            if profile.name == "full" and args.device == "cpu" and args.scheduler is None and share > 12 * 3600:
                line += ("\nnote: that is days on a laptop CPU; use --device cuda or a Dask cluster "
                         "(--scheduler, see docs/studies.md)")
        print(line, file=sys.stderr)
        if args.estimate:
            return 0
        records = run_trials(specs, study_dir, workers=args.workers, scheduler=args.scheduler)
    except TrialsFailed as e:
        for key, why in e.failures.items():
            print(f"error: trial {key}: {why}", file=sys.stderr)
        print(f"{len(e.failures)} trial(s) failed, {len(e.records)} done; fix and rerun to resume "
              f"(no report written)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: finished trials are kept in {study_dir}; run the same command again to resume",
              file=sys.stderr)
        return 130
    tables = collect(study_dir, module, specs, records)
    comps = comparisons(tables, module.METRICS)
    notes, extra = module.report_notes(records) if hasattr(module, "report_notes") else _naming_notes()
    write_results(study_dir, args.name, profile, specs, records, comps, corpus, dict(extra, seeds=seeds))
    report = getattr(module, "write_report", write_report)(study_dir, args.name, module, profile, tables, comps,
                                                           corpus, notes)
    print(f"{args.name}: {len(records)} trials done in {time.perf_counter() - t0:.1f} s -> {report}")
    return 0
