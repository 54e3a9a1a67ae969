"""What an experiment gets to work with: :class:`RunContext`.

The runner builds one per run (``out_dir`` is ``<out>/<name>/``, already created,
minigrad and NumPy already seeded) and passes it to ``run(ctx)``::

    @experiment("demo", "...")
    def run(ctx):
        steps = ctx.pick(quick=50, full=2000)       # reduced setting for tests
        noise = ctx.rng.normal(size=steps)          # seeded Generator
        for t in ctx.progress(range(steps), desc="training"):
            ...
        fig, ax = plt.subplots()
        ax.plot(...)
        ctx.savefig(fig, "loss")                    # out_dir/loss.png, figure closed
        ctx.write_report("What the plot shows ...\\n\\n" + ctx.table(rows, headers))
        return {"final_loss": 0.01}

Plots are PNGs (dpi 110) and are recorded in ``ctx.plots`` (file names relative
to ``out_dir``); the runner lists them in ``summary.json`` and the index, and
:meth:`RunContext.write_report` links every plot the report text does not already
show. matplotlib is switched to the non-interactive Agg backend on import.
"""
from __future__ import annotations

import math
import os
import pathlib
import re
import sys
from typing import Iterable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from minigrad.atomic import atomic_open, write_text  # noqa: E402

__all__ = ["RunContext", "markdown_table", "atomic_write_text", "DPI", "QUICK_NOTE"]

DPI = 110

#: the line a report of a ``--quick`` run carries under its title
QUICK_NOTE = ("*Quick setting (`--quick`): reduced sizes for a smoke test; the numbers "
              "are not the lecture's results.*")


def atomic_write_text(path, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` atomically (see :mod:`minigrad.atomic`)."""
    write_text(path, text)
    return pathlib.Path(path)


def _fmt_cell(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return str(x)
        if x == 0:
            return "0"
        ax = abs(x)
        if ax >= 1e5 or ax < 1e-3:
            return f"{x:.3e}"
        return f"{x:.4g}"
    if x is None:
        return ""
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[Sequence], headers: Sequence[str]) -> str:
    """A GitHub-flavoured Markdown table; floats get 4 significant digits.

    ``rows`` is a sequence of sequences (one per row, same length as
    ``headers``) or of dicts keyed by the headers.
    """
    headers = [str(h) for h in headers]
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---" for _ in headers) + " |"]
    for row in rows:
        if isinstance(row, dict):
            row = [row.get(h, "") for h in headers]
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, the table {len(headers)} headers")
        lines.append("| " + " | ".join(_fmt_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def _progress_enabled() -> bool:
    if "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("MINIGRAD_NO_PROGRESS"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class RunContext:
    """The seeded, output-directory-bound context of one experiment run.

    Attributes: ``out_dir`` (pathlib.Path, created), ``seed``, ``device``
    ("cpu" or "cuda"), ``quick`` (the reduced setting the tests use: a few
    seconds per experiment), ``rng`` (``numpy.random.Generator`` seeded with
    ``seed``), ``name`` (the experiment's name, default ``out_dir.name``),
    ``plots`` (file names of the saved figures, relative to ``out_dir``),
    ``report_path`` (None until :meth:`write_report`).
    """

    def __init__(self, out_dir, seed: int = 0, device: str = "cpu", quick: bool = False,
                 name: Optional[str] = None):
        self.out_dir = pathlib.Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = int(seed)
        self.device = str(device)
        self.quick = bool(quick)
        self.name = name or self.out_dir.name
        self.rng = np.random.default_rng(self.seed)
        self.plots: list = []
        self.report_path: Optional[pathlib.Path] = None

    # --- settings -----------------------------------------------------------------
    def pick(self, quick, full):
        """``quick`` in the reduced (test) setting, ``full`` otherwise."""
        return quick if self.quick else full

    def path(self, name: str) -> pathlib.Path:
        """A path inside ``out_dir`` for any other artifact (CSV, NPZ, ...)."""
        return self.out_dir / name

    # --- outputs ------------------------------------------------------------------
    def savefig(self, fig, name: str) -> pathlib.Path:
        """Save ``fig`` as ``out_dir/<name>.png`` (dpi 110), close it, record it."""
        import matplotlib.pyplot as plt

        stem = str(name)
        if stem.lower().endswith(".png"):
            stem = stem[:-4]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "figure"
        path = self.out_dir / f"{stem}.png"
        try:
            # a unique temporary name per write (see minigrad.atomic): two processes
            # saving the same figure name cannot remove each other's file
            with atomic_open(path, "wb") as f:
                fig.savefig(f, dpi=DPI, bbox_inches="tight", format="png")
        finally:
            plt.close(fig)
        rel = path.name
        if rel not in self.plots:
            self.plots.append(rel)
        return path

    def write_report(self, markdown: str, title: Optional[str] = None) -> pathlib.Path:
        """Write ``out_dir/report.md``: a title, ``markdown``, then every saved plot
        the text does not already link (as Markdown images). Call it after the
        last :meth:`savefig`. Returns the path."""
        text = markdown.strip("\n")
        if not text.lstrip().startswith("#"):
            text = f"# {title or self.name}\n\n" + text
        if self.quick:
            head, _, rest = text.partition("\n")
            text = head + "\n\n" + QUICK_NOTE + ("\n" + rest if rest else "")
        missing = [p for p in self.plots if f"({p})" not in text]
        if missing:
            text += "\n\n## Plots\n\n" + "\n\n".join(
                f"![{pathlib.Path(p).stem}]({p})" for p in missing)
        text += "\n"
        self.report_path = atomic_write_text(self.out_dir / "report.md", text)
        return self.report_path

    def progress(self, iterable=None, desc: Optional[str] = None,
                 total: Optional[int] = None, **kwargs):
        """``tqdm`` over ``iterable``; silent when stderr is not a terminal or
        under pytest."""
        from tqdm import tqdm

        return tqdm(iterable, desc=desc, total=total, leave=False,
                    disable=not _progress_enabled(), **kwargs)

    @staticmethod
    def table(rows, headers) -> str:
        """A Markdown table (see :func:`markdown_table`)."""
        return markdown_table(rows, headers)

    def __repr__(self):
        return (f"RunContext(out_dir={str(self.out_dir)!r}, seed={self.seed}, "
                f"device={self.device!r}, quick={self.quick})")
