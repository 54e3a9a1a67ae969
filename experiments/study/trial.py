"""One trial of a study: train one method with one seed, checkpoint every epoch, record.

A trial is identified by ``(phase, method, seed)`` and lives in its own folder,
``<study dir>/trials/<phase>/<method>/seed<seed>/``:

* ``checkpoint.ckpt``: written atomically (:func:`minigrad.save`) at every epoch
  end: the trainer's state (model, optimizer, scheduler, averaged weights ...),
  minigrad's CPU generator (dropout; a GPU's generator is reseeded at every epoch
  start from the trial's seed, stream and epoch instead, since its state cannot be
  saved), the data-order generator, the position in
  the data order (the number of finished epochs; a checkpoint is taken only at an
  epoch end, so the batch position is always 0), the curves so far and the seconds
  spent;
* ``examples.ckpt``: the per-example test scores (for paired tests), written
  when training ends;
* ``trial.json``: the record, written atomically last. Its presence with
  ``"status": "done"`` marks the trial finished: a finished trial is never run or
  written again, so rerunning a study leaves its files untouched. The checkpoint is
  removed after the record is written.

Why the result does not depend on interruptions: everything a training epoch
reads is either rebuilt deterministically from the configuration (the data, the
model's initialisation, which is seeded) or restored from the checkpoint, which
holds the state of every generator at the epoch end. So a trial killed at any
moment (also with SIGKILL: the files are replaced atomically, never half written)
and resumed repeats, bit for bit on the CPU, the epochs it lost.

The study module supplies the training through a *trainer* (see
:class:`Trainer`); this module is independent of the model.
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Protocol

import numpy as np

import minigrad as mg
from minigrad.atomic import write_text

__all__ = ["TrialSpec", "Trainer", "run_trial", "trial_dir", "read_record", "versions", "DONE"]

DONE = "done"
RECORD = "trial.json"
CHECKPOINT = "checkpoint.ckpt"
EXAMPLES = "examples.ckpt"


@dataclass(frozen=True)
class TrialSpec:
    """What to run: the study, ``phase``, ``method``, ``seed``, the full configuration,
    the keys of the trials it needs finished first (``depends_on``), and ``stream``:
    which random streams (dropout masks, data order) of the seed the trial draws.

    Trials that train from scratch share stream 0, so every method of a seed sees the
    same batches and masks. A trial that continues another trial's model must draw
    another stream: replaying the masks and batches its model was trained on would
    show it examples it has memorised with those very masks, and its training loss
    would read too low.
    """

    study: str
    phase: str
    method: str
    seed: int
    config: dict = field(default_factory=dict, hash=False, compare=False)
    depends_on: tuple = ()
    stream: int = 0

    @property
    def key(self) -> str:
        return f"{self.phase}/{self.method}/seed{self.seed}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["depends_on"] = list(self.depends_on)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrialSpec":
        return cls(d["study"], d["phase"], d["method"], int(d["seed"]), dict(d.get("config") or {}),
                   tuple(d.get("depends_on") or ()), int(d.get("stream", 0)))


class Trainer(Protocol):
    """What a study module gives :func:`run_trial` for one trial.

    ``epochs``: the number of epochs; ``num_train``: training examples per epoch
    (for ``examples_per_s``); ``state_dict()``/``load_state_dict(d)``: everything
    of the training besides the generators (model, optimizer, scheduler ...);
    ``train_epoch(epoch, order)``: one epoch over the training examples in the
    order ``order`` (an index array), returning the epoch's curve values
    (``{"train_loss": ..., "valid_loss": ..., "lr": ...}``; an optional
    ``"train_seconds"`` entry, the time spent in training steps, is taken out of
    the curves and used for ``examples_per_s``);
    ``finish()``: evaluation, returning ``(metrics, per_example, extra)``:
    the test metrics (a flat dict of numbers), the per-example scores
    (``{metric: array}``) and extra record fields.
    """

    epochs: int
    num_train: int

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def train_epoch(self, epoch: int, order: np.ndarray) -> dict: ...

    def finish(self) -> tuple: ...


def limit_blas_threads(cfg) -> None:
    """Hold BLAS to ``cfg["blas_threads"]`` threads (1 by default) in this process.

    Trials run side by side in worker processes; one BLAS thread each keeps them
    from oversubscribing the cores, and keeps a trial's arithmetic the same
    whatever the number of workers.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return
    threadpool_limits(int(cfg.get("blas_threads", 1)))


def read_prepared_summary(study_dir, summary_path, settings) -> Optional[dict]:
    """The summary of data already prepared in ``study_dir`` with these ``settings``, or None.

    Raises ValueError when the folder holds data prepared with other settings:
    a study's trials must all see the same data.
    """
    if not os.path.exists(summary_path):
        return None
    with open(summary_path, encoding="utf-8") as f:
        summary = json.load(f)
    if summary.get("settings") == settings:
        return summary
    raise ValueError(f"{study_dir} holds a study prepared with other data settings "
                     f"({summary.get('settings')}); use another --out or remove the folder")


def versions() -> dict:
    """Versions that a result depends on (recorded in every trial)."""
    import scipy

    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "minigrad": getattr(mg, "__version__", "unknown")}


def trial_dir(study_dir, spec: TrialSpec) -> pathlib.Path:
    return pathlib.Path(study_dir) / "trials" / spec.phase / spec.method / f"seed{spec.seed}"


def read_record(study_dir, spec: TrialSpec) -> Optional[dict]:
    """The trial's record when it is finished, else None."""
    path = trial_dir(study_dir, spec) / RECORD
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as f:
        rec = json.load(f)
    return rec if rec.get("status") == DONE else None


def read_examples(study_dir, spec: TrialSpec) -> dict:
    """The per-example test scores of a finished trial, ``{metric: float64 array}``."""
    d = mg.load(trial_dir(study_dir, spec) / EXAMPLES)
    return {k: np.asarray(v, dtype=np.float64) for k, v in d.items()}


def _jsonable(x):
    from ..runner import jsonable

    return jsonable(x)


def _epoch_progress(total, initial, desc):
    from tqdm import tqdm

    from ..context import _progress_enabled

    return tqdm(total=total, initial=initial, desc=desc, leave=False, disable=not _progress_enabled())


def random_streams(spec: TrialSpec):
    """The data-order generator and the dropout seed of a trial (see ``TrialSpec.stream``)."""
    stream = int(spec.stream)
    key = [int(spec.seed), 0x5EED] + ([stream] if stream else [])
    return np.random.default_rng(key), int(spec.seed) * 1000 + 17 + 7919 * stream


def device_epoch_seed(spec: TrialSpec, epoch: int) -> int:
    """The seed of a GPU's dropout generator for one epoch of a trial (a function of the
    trial's seed, stream and the epoch alone)."""
    ss = np.random.SeedSequence([int(spec.seed), int(spec.stream), int(epoch), 0xD0])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def run_trial(spec: TrialSpec, study_dir, make_trainer: Callable, *, deps: Optional[dict] = None,
              stop_after_epochs: Optional[int] = None) -> dict:
    """Run (or resume, or skip when finished) one trial; return its record.

    ``make_trainer(spec, deps, out)`` builds the trainer, with the model freshly
    initialised for ``spec.seed``; ``deps`` maps the keys of ``spec.depends_on``
    to their records, ``out`` is the trial's folder (for the files it keeps,
    such as the final model). ``stop_after_epochs`` stops (without a record) after that
    many epochs in total, as an interruption would (for tests).
    """
    done = read_record(study_dir, spec)
    if done is not None:
        return done
    d = trial_dir(study_dir, spec)
    d.mkdir(parents=True, exist_ok=True)
    ckpt_path = d / CHECKPOINT
    trainer = make_trainer(spec, deps or {}, d)
    data_rng, dropout_seed = random_streams(spec)
    mg.manual_seed(dropout_seed)
    device = str(spec.config.get("device", "cpu"))
    epoch, curves, seconds, train_seconds = 0, {}, 0.0, 0.0
    if ckpt_path.exists():
        ck = mg.load(ckpt_path)
        trainer.load_state_dict(ck["trainer"])
        mg.random.set_rng_state(ck["rng"]["minigrad_cpu"])
        data_rng.bit_generator.state = ck["rng"]["data_order"]
        epoch = int(ck["position"]["epoch"])
        curves = {k: list(v) for k, v in ck["curves"].items()}
        seconds, train_seconds = float(ck["seconds"]), float(ck["train_seconds"])
    with _epoch_progress(trainer.epochs, epoch, spec.key) as bar:
        while epoch < trainer.epochs:
            if stop_after_epochs is not None and epoch >= stop_after_epochs:
                return {"status": "stopped", "epoch": epoch}
            t0 = time.perf_counter()
            if device != "cpu":
                # the GPU generator's state is not saved: reseeding it per epoch makes a resumed
                # trial draw the masks an uninterrupted one draws
                mg.random.seed_device(device, device_epoch_seed(spec, epoch))
            order = data_rng.permutation(trainer.num_train)
            values = dict(trainer.train_epoch(epoch, order))
            dt = time.perf_counter() - t0
            train_seconds += float(values.pop("train_seconds", dt))
            for k, v in values.items():
                curves.setdefault(k, []).append(float(v))
            epoch += 1
            seconds += dt
            mg.save({"trainer": trainer.state_dict(),
                     "rng": {"minigrad_cpu": mg.random.get_rng_state(),
                             "data_order": data_rng.bit_generator.state},
                     "position": {"epoch": epoch, "batch": 0},
                     "curves": curves, "seconds": seconds, "train_seconds": train_seconds}, ckpt_path)
            bar.update(1)
    t0 = time.perf_counter()
    metrics, per_example, extra = trainer.finish()
    seconds += time.perf_counter() - t0
    mg.save({k: np.asarray(v, dtype=np.float64) for k, v in per_example.items()}, d / EXAMPLES)
    record = {
        "study": spec.study, "phase": spec.phase, "method": spec.method, "seed": int(spec.seed),
        "status": DONE, "metrics": metrics, "curves": curves, "seconds": seconds,
        "train_seconds": train_seconds,
        "examples_per_s": (trainer.num_train * trainer.epochs / train_seconds) if train_seconds > 0 else None,
        "epochs": trainer.epochs, "versions": versions(), "config": spec.config,
        "depends_on": list(spec.depends_on), "stream": int(spec.stream), **extra,
    }
    record = _jsonable(record)
    write_text(d / RECORD, json.dumps(record, indent=1, sort_keys=True) + "\n")
    try:
        os.unlink(ckpt_path)
    except OSError:
        pass
    return record
