"""A ready Gradescope autograder: a zip with ``setup.sh``, ``run_autograder`` and this package's source.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once
when it builds the image, and ``run_autograder`` for each submission (the
student's files are in ``/autograder/submission``; the results must land in
``/autograder/results/results.json``). The source shipped is the ``grading``,
``minigrad`` and ``optim`` packages with a minimal ``setup.cfg`` whose only
dependency is NumPy, so the image builds quickly.
"""
from __future__ import annotations

import io
import os
import shlex
import zipfile

from grading import assignments
from minigrad.atomic import atomic_open

__all__ = ["build_autograder"]

PACKAGES = ("grading", "minigrad", "optim")

SETUP_CFG = """[metadata]
name = minigrad-edu-autograder
version = 0.1.0

[options]
python_requires = >=3.10
packages = find:
install_requires =
    numpy>=1.24

[options.packages.find]
include =
    grading
    grading.*
    minigrad
    minigrad.*
    optim
    optim.*
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"
"""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get update -y
apt-get install -y python3 python3-pip
python3 -m pip install --upgrade pip || true
python3 -m pip install /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; the grader exits 0 whenever grading worked.
set -uo pipefail
mkdir -p /autograder/results
cd /autograder/source
python3 -m grading grade {args} /autograder/submission --out /autograder/results/results.json --quiet
"""


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
    zf.writestr(info, data)


def build_autograder(assignment_name: str, out_zip: str, seed: int = 0, timeout: float | None = None) -> None:
    """Write the autograder zip for ``assignment_name`` to ``out_zip`` (atomically)."""
    assignments.get(assignment_name)  # unknown names fail here, before anything is written
    args = [assignment_name, "--seed", str(int(seed))]
    if timeout is not None:
        args += ["--timeout", str(float(timeout))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(args=shlex.join(args)).encode(), executable=True)
        _add(zf, "setup.cfg", SETUP_CFG.encode())
        _add(zf, "pyproject.toml", PYPROJECT.encode())
        for package in PACKAGES:
            module = __import__(package)
            root = os.path.dirname(os.path.abspath(module.__file__))
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for filename in sorted(filenames):
                    if filename.endswith((".pyc", ".pyo")):
                        continue
                    path = os.path.join(dirpath, filename)
                    rel = os.path.join(package, os.path.relpath(path, root))
                    with open(path, "rb") as f:
                        _add(zf, rel.replace(os.sep, "/"), f.read())
    with atomic_open(out_zip, "wb") as f:
        f.write(buf.getvalue())
