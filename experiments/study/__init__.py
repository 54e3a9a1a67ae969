"""Optimizer studies: several seeds, several metrics, significance tests, resumable, on Dask.

``python -m experiments study NAME [--profile smoke|quick|full] ...`` (:mod:`.cli`).
A study is a set of independent trials (phase x method x seed, :mod:`.trial`) run
through Dask distributed (:mod:`.scheduler`), collected into ``results.json`` and
``report.md`` (:mod:`.results`). The studies are listed in :data:`STUDIES`
(name -> module); each module defines ``NAME``, ``DESCRIPTION``, ``PHASES``,
``BASELINES``, ``METRICS``, ``select_methods``, ``prepare``, ``trial_specs``,
``make_trainer`` and optionally ``claims``, ``calibrate``; a study with its own
profiles, data default, report or time estimate also defines ``get_profile``,
``DEFAULT_DATA``, ``UNIT`` (the word for a training example in ``corpus.json``'s
split counts), ``report_notes``, ``write_report``, ``estimate_seconds``.
"""
STUDIES = {"method-naming": "experiments.study.method_naming", "translation": "experiments.study.translation"}

__all__ = ["STUDIES", "describe"]


def describe() -> dict:
    """``{name: one-line description}`` of every study."""
    import importlib

    return {name: importlib.import_module(mod).DESCRIPTION for name, mod in STUDIES.items()}
