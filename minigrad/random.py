"""One seedable source of randomness for every random op in minigrad.

``minigrad.manual_seed(s)`` reseeds the CPU generator and, when a GPU is used,
the GPU generator; dropout masks, ``randn``, ``rand`` and the initializers in
``minigrad.nn.init`` all draw from these, so a seeded run repeats exactly.
"""
from __future__ import annotations

import numpy as np

from . import backend

_DEFAULT_SEED = 0
_seed = _DEFAULT_SEED
_generators: dict = {}


def manual_seed(seed: int) -> None:
    """Reseed every device's generator (like ``torch.manual_seed``)."""
    global _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    _seed = int(seed)
    _generators.clear()


def initial_seed() -> int:
    return _seed


def generator(device: str = "cpu"):
    """The generator random ops on ``device`` draw from (created on first use)."""
    device = backend.normalize_device(device)
    if device not in _generators:
        _generators[device] = _new_generator(device, _seed)
    return _generators[device]


def _new_generator(device: str, seed: int):
    xp = np if device == "cpu" else backend.xp_for("cuda")
    return xp.random.default_rng(seed)


def seed_device(device: str, seed: int) -> None:
    """Reseed one device's generator only (the others keep their state).

    A GPU generator's state cannot be saved to a checkpoint the way the CPU
    generator's can (:func:`get_rng_state`); reseeding it from a number that
    is itself saved or recomputed makes the draws that follow repeatable.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed_device expects an int seed, got {type(seed).__name__}")
    device = backend.normalize_device(device)
    _generators[device] = _new_generator(device, int(seed))


def get_rng_state() -> dict:
    """The CPU generator's state, a plain dict (for checkpoints)."""
    return generator("cpu").bit_generator.state


def set_rng_state(state: dict) -> None:
    generator("cpu").bit_generator.state = state
