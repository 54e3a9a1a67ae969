"""Study profiles: how much data, how large a model, how many epochs and seeds.

``full`` is the study's own setting; ``quick`` fits a laptop (3 seeds, part of
the data, a smaller model, fewer epochs: under an hour on 2 cores); ``smoke``
checks the whole pipeline in well under a minute (tiny data and model, one epoch
per phase). ``--set KEY=VALUE`` on the command line overrides any field (the
tests use it for an even smaller setting).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

__all__ = ["Profile", "PROFILES", "get_profile", "override"]


@dataclass(frozen=True)
class Profile:
    """One setting of the method-naming study (every field is recorded in each trial)."""

    name: str
    seeds: int
    embed_size: int
    hidden_size: int
    dropout: float
    batch_size: int
    global_epochs: int
    local_epochs: int
    global_lr: float = 0.01
    local_lr: float = 0.0037
    gamma: float = 0.95
    swa_lr_min: float = 0.001
    swa_lr_max: float = 0.0074
    #: Python data: "stdlib" or "stdlib+site" (the standard library and site-packages)
    python_sources: str = "stdlib+site"
    max_train: Optional[int] = None
    max_valid: Optional[int] = None
    max_test: Optional[int] = None
    max_nodes: Optional[int] = 400
    token_min_freq: int = 2
    max_target_len: int = 6
    eval_batch: int = 512
    #: BLAS threads inside a trial (1: results independent of where a trial runs)
    blas_threads: int = 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES = {
    "full": Profile("full", seeds=5, embed_size=128, hidden_size=128, dropout=0.25, batch_size=512,
                    global_epochs=7, local_epochs=4),
    # quick: the full model (E = H = 128) on 6,000 training functions, batch 128 for more steps
    "quick": Profile("quick", seeds=3, embed_size=128, hidden_size=128, dropout=0.25, batch_size=128,
                     global_epochs=5, local_epochs=3, max_train=6000, max_valid=500, max_test=1000,
                     max_nodes=200, eval_batch=400),
    "smoke": Profile("smoke", seeds=2, embed_size=16, hidden_size=16, dropout=0.25, batch_size=32,
                     global_epochs=1, local_epochs=1, python_sources="stdlib", max_train=96, max_valid=32,
                     max_test=48, max_nodes=60, eval_batch=64),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def _convert(field: dataclasses.Field, text: str):
    kind = str(field.type)
    if text.lower() in ("none", "null") and "Optional" in kind:
        return None
    if "int" in kind:
        return int(text)
    if "float" in kind:
        return float(text)
    return text


def override(profile: Profile, assignments) -> Profile:
    """``profile`` with ``KEY=VALUE`` assignments applied (values converted to the field's type)."""
    fields = {f.name: f for f in dataclasses.fields(type(profile))}
    changes = {}
    for a in assignments or ():
        key, sep, value = str(a).partition("=")
        key = key.strip()
        if not sep or key not in fields or key == "name":
            raise ValueError(f"--set expects KEY=VALUE with KEY one of "
                             f"{', '.join(k for k in fields if k != 'name')}; got {a!r}")
        try:
            changes[key] = _convert(fields[key], value.strip())
        except ValueError:
            raise ValueError(f"--set {key}: cannot read {value!r} as {fields[key].type}") from None
    return dataclasses.replace(profile, **changes) if changes else profile
