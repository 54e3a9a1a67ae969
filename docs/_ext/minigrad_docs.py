"""Sphinx extension: write the pages that follow the packages' exports.

At ``builder-inited`` (before Sphinx reads any source) it writes, under
``docs/generated/``:

* ``optimizers/<family>.md``: one page per optimizer family, for every
  :class:`optim.Optimizer` subclass in ``optim.__all__``, grouped by the module
  that defines it (``Adam`` and ``AdamW`` share a page). Each page renders the
  formula (the docstring of ``optim.functional.<family>``), the pure functions,
  the quantities a trace records (the optimizer's rows of the tracing table) and
  the lecture-versus-PyTorch conventions (its rows of ``docs/CONVENTIONS.md``),
  then the classes' reference.
* ``schedulers.md``: every class in ``optim.lr_scheduler.__all__``.
* ``gallery/<name>.md``: every registered lecture demonstration, its module
  docstring and, when a run of ``python -m experiments run lectures`` is found,
  its report and plots (see :func:`lecture_run_dir`).
* ``guides.md``: the studies and grading guides that exist in ``docs/``.

A new optimizer, scheduler or demonstration appears without editing the docs.
A file is rewritten only when its text changes, so incremental builds stay
incremental.
"""
from __future__ import annotations

import inspect
import json
import os
import pathlib
import re
import shutil

DOCS = pathlib.Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
OUT = DOCS / "generated"

#: the guides other parts of the project write into docs/, listed when present
GUIDES = (("studies", "Optimizer studies"), ("grading", "Grading homework"),
          ("testing", "Testing against PyTorch"))


# --- what the packages export --------------------------------------------------------

def optimizer_families() -> dict:
    """family -> [class names], in ``optim.__all__`` order; the family is the last
    part of the defining module's name (``optim.adam`` -> ``adam``)."""
    import optim

    families: dict = {}
    for name in optim.__all__:
        obj = getattr(optim, name)
        if inspect.isclass(obj) and issubclass(obj, optim.Optimizer) and obj is not optim.Optimizer:
            families.setdefault(obj.__module__.rsplit(".", 1)[-1], []).append(name)
    return families


def scheduler_names() -> list:
    """The scheduler classes exported by ``optim.lr_scheduler``, in its order."""
    from optim import lr_scheduler

    return [n for n in lr_scheduler.__all__ if inspect.isclass(getattr(lr_scheduler, n))]


def functional_module(family: str):
    """``optim.functional.<family>`` as a module, or None when there is none."""
    import importlib

    try:
        return importlib.import_module(f"optim.functional.{family}")
    except ImportError:
        return None


def functional_names(module) -> list:
    """The exported pure functions of ``optim.functional`` defined in ``module``."""
    from optim import functional

    return [n for n in functional.__all__
            if getattr(getattr(functional, n), "__module__", None) == module.__name__]


# --- rows of the project's Markdown tables -------------------------------------------

def find_doc(name: str) -> pathlib.Path | None:
    """The project's Markdown file ``name`` (searched outside build folders)."""
    for path in sorted(ROOT.rglob(name)):
        parts = set(path.relative_to(ROOT).parts)
        if not parts & {"_build", "generated", ".venv", "venv", "build", "results"}:
            return path
    return None


def table_rows(path: pathlib.Path | None, names) -> list:
    """Markdown tables of ``path`` cut to the rows whose first cell names one of
    ``names`` (as a whole word); each item is the table's lines, header first,
    preceded by the heading it sits under."""
    if path is None or not path.exists():
        return []
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, names)) + r")(?![\w])")
    out, heading, lines = [], None, path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1]):
            header, rule, j = line, lines[i + 1], i + 2
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                first = lines[j].strip("|").split("|")[0]
                if pattern.search(first):
                    rows.append(lines[j])
                j += 1
            if rows:
                out.append((heading, [header, rule, *rows]))
            i = j
            continue
        i += 1
    return out


# --- the pages ----------------------------------------------------------------------

def _write(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _autodoc(directive: str, target: str, *options: str) -> list:
    """Lines of an autodoc directive, wrapped in ``eval-rst`` so that the
    docstrings are read as reStructuredText (their math included), not Markdown."""
    return ["```{eval-rst}", f".. {directive}:: {target}", *(f"   :{o}:" for o in options), "```", ""]


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def _first_line(doc: str | None) -> str:
    """A docstring's first line, its reStructuredText inline markup written as MyST
    (``:math:`x``` -> ``{math}`x```, double-backquoted literals -> single), for a
    Markdown table."""
    line = inspect.cleandoc(doc).split("\n")[0].strip() if doc else ""
    line = re.sub(r"``([^`]+)``", r"`\1`", line)
    return re.sub(r":(\w+):`([^`]+)`", r"{\1}`\2`", line)


def family_page(family: str, classes: list, tracing: pathlib.Path | None,
                conventions: pathlib.Path | None) -> str:
    """The Markdown of one optimizer family's page."""
    import optim

    module = functional_module(family)
    title = ", ".join(classes)
    lines = [f"# {title}", ""]
    if module is None:  # else the formula's docstring below opens with the summary
        lines += [_first_line(getattr(optim, classes[0]).__doc__), ""]
    lines += ["```python", "import optim", "",
              *(f"optimizer = optim.{c}(model.parameters())" for c in classes[:1]), "```", ""]
    if module is not None:
        lines += ["## The formula", "",
                  f"From `{module.__name__}`: the update as the lecture writes it, with its source.", "",
                  *_autodoc("automodule", module.__name__, "no-index")]
        funcs = functional_names(module)
        if funcs:
            lines += ["### The pure functions", "",
                      "Each returns the new parameter, the new state and the formula's "
                      "intermediate quantities by their lecture names.", ""]
            for f in funcs:
                lines += _autodoc("autofunction", f"optim.functional.{f}")
    traced = table_rows(tracing, classes)
    lines += ["## What a trace records", "",
              f"`optim.{classes[0]}(params, trace=True)` records, after each step and for each "
              "parameter, the quantities below (`opt.trace`, `opt.trace_of(name)`).", ""]
    if traced:
        for _, table in traced:
            lines += [*table, ""]
    else:
        lines += ["The intermediates its formula returns; see the tracing guide of `optim`.", ""]
    conv = table_rows(conventions, classes)
    lines += ["## Lecture versus PyTorch", ""]
    if conv:
        lines += ["Where the lecture, the paper and PyTorch differ, the default is PyTorch's form "
                  "and a named option selects the other ({doc}`/CONVENTIONS`).", ""]
        for heading, table in conv:
            if heading:
                lines += [f"**{heading}**", ""]
            lines += [*table, ""]
    else:
        lines += ["No difference is listed for this family in {doc}`/CONVENTIONS`.", ""]
    lines += ["## Reference", ""]
    for c in classes:
        lines += _autodoc("autoclass", f"optim.{c}", "members", "show-inheritance")
    return "\n".join(lines)


def optimizer_pages() -> list:
    """Write one page per family and the index; returns the family names."""
    families = optimizer_families()
    tracing, conventions = find_doc("TRACING.md"), DOCS / "CONVENTIONS.md"
    for family, classes in families.items():
        _write(OUT / "optimizers" / f"{family}.md", family_page(family, classes, tracing, conventions))
    for stale in (OUT / "optimizers").glob("*.md"):
        if stale.stem not in families and stale.stem != "index":
            stale.unlink()
    table = ["| family | optimizers | formula |", "| --- | --- | --- |"]
    for family, classes in families.items():
        module = functional_module(family)
        summary = _first_line(module.__doc__) if module else ""
        table.append(f"| {{doc}}`{family}` | {', '.join(f'`optim.{c}`' for c in classes)} | "
                     f"{_cell(summary)} |")
    index = ["# Optimizers", "",
             "Every optimizer of `optim`, one page per family: the formula rendered, the "
             "quantities a trace records, the lecture-versus-PyTorch conventions and the "
             "reference. The base class is {class}`optim.Optimizer` (see {doc}`/api`).", "",
             *table, "", "```{toctree}", ":hidden:", "", *families, "```", ""]
    _write(OUT / "optimizers" / "index.md", "\n".join(index))
    return list(families)


def scheduler_page() -> list:
    names = scheduler_names()
    lines = ["# Learning-rate schedulers", "",
             "Every scheduler of `optim.lr_scheduler`, with PyTorch's names and semantics: "
             "call `scheduler.step()` once per epoch (or per batch, for the per-step ones) "
             "after `optimizer.step()`.", "",
             "| scheduler | what it does |", "| --- | --- |"]
    from optim import lr_scheduler

    for n in names:
        lines.append(f"| {{class}}`~optim.lr_scheduler.{n}` | "
                     f"{_cell(_first_line(getattr(lr_scheduler, n).__doc__))} |")
    lines += ["", *_autodoc("automodule", "optim.lr_scheduler", "no-index")]
    for n in names:
        lines += _autodoc("autoclass", f"optim.lr_scheduler.{n}", "members", "show-inheritance")
    _write(OUT / "schedulers.md", "\n".join(lines))
    return names


# --- the lecture gallery -------------------------------------------------------------

def lecture_run_dir() -> pathlib.Path | None:
    """Where the gallery takes its plots and reports from.

    ``MINIGRAD_DOCS_LECTURES``: a folder written by ``python -m experiments run
    lectures --out DIR`` (use a full run for the published site), or ``off`` for
    pages without plots. Unset: ``docs/_build/lectures``, filled by a quick run of
    each lecture demonstration that is not there yet (about a minute, once).
    """
    value = os.environ.get("MINIGRAD_DOCS_LECTURES", "").strip()
    if value.lower() == "off":
        return None
    if value:
        path = pathlib.Path(value)
        if not path.is_dir():
            raise FileNotFoundError(f"MINIGRAD_DOCS_LECTURES={value!r} is not a folder "
                                    "(write one with `python -m experiments run lectures --out DIR`)")
        return path
    path = DOCS / "_build" / "lectures"
    from experiments import registry
    from experiments.runner import run_lectures

    missing = [n for n in registry.lectures() if not _summary_ok(path / n)]
    if missing:
        run_lectures(out=path, quick=True, names=missing)
    return path


def _summary_ok(folder: pathlib.Path) -> bool:
    try:
        return json.loads((folder / "summary.json").read_text()).get("status") == "ok"
    except (OSError, ValueError):
        return False


def _demote(markdown: str) -> str:
    """A report's headings one level down, its first title dropped (the page has one)."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("#" + line if re.match(r"^#{1,5} ", line) else line for line in lines)


def gallery_page(name: str, run_dir: pathlib.Path | None) -> str:
    from experiments import registry

    exp = registry.get(name)
    lines = [f"# {name}", "", exp.description, "",
             "```bash", f"python -m experiments run {name}", "```", ""]
    if exp.module:
        lines += _autodoc("automodule", exp.module, "no-index")
    folder = run_dir / name if run_dir is not None else None
    if folder is not None and _summary_ok(folder):
        summary = json.loads((folder / "summary.json").read_text())
        dest = OUT / "gallery" / name
        dest.mkdir(parents=True, exist_ok=True)
        setting = "quick (reduced) setting" if summary.get("quick") else "full setting"
        lines += ["## Results", "", f"From a run with seed {summary.get('seed')}, {setting}.", ""]
        report = folder / (summary.get("report") or "")
        for plot in summary.get("plots", []):
            shutil.copyfile(folder / plot, dest / pathlib.Path(plot).name)
        if summary.get("report") and report.is_file():
            text = report.read_text(encoding="utf-8")
            text = re.sub(r"\]\((?!https?:)([^)#]+\.(?:png|svg))\)", rf"]({name}/\1)", text)
            lines += [_demote(text), ""]
        for plot in summary.get("plots", []):
            if pathlib.Path(plot).name not in (report.read_text() if report.is_file() else ""):
                lines += [f"![{name}: {pathlib.Path(plot).stem}]({name}/{pathlib.Path(plot).name})", ""]
    else:
        lines += ["## Results", "",
                  f"Run `python -m experiments run {name}` for the plots and the report, or build the "
                  "site with `MINIGRAD_DOCS_LECTURES` unset (the quick setting of every demonstration).", ""]
    return "\n".join(lines)


def gallery_pages() -> list:
    from experiments import registry

    names = registry.lectures()
    run_dir = lecture_run_dir()
    for name in names:
        _write(OUT / "gallery" / f"{name}.md", gallery_page(name, run_dir))
    rows = ["| demonstration | what it shows |", "| --- | --- |"]
    for name in names:
        rows.append(f"| {{doc}}`{name}` | {_cell(registry.get(name).description)} |")
    index = ["# Lecture demonstrations", "",
             "Each lecture demonstration of `python -m experiments run lectures`, with its "
             "method, plots and report.", "", *rows, "", "```{toctree}", ":hidden:", "", *names, "```", ""]
    _write(OUT / "gallery" / "index.md", "\n".join(index))
    return names


def guides_page() -> list:
    present = [(stem, title) for stem, title in GUIDES if (DOCS / f"{stem}.md").exists()]
    lines = ["# Guides", ""]
    if present:
        lines += ["```{toctree}", ":maxdepth: 2", "", *(f"/{stem}" for stem, _ in present), "```", ""]
    else:
        lines += ["The guides to the optimizer studies and the homework grader will appear here.", ""]
    _write(OUT / "guides.md", "\n".join(lines))
    return [stem for stem, _ in present]


#: The tutorials in reading order (sphinx-gallery's ``within_subsection_order``);
#: a tutorial not listed follows them, by file name.
TUTORIAL_ORDER = ("tutorial_autodiff.py", "tutorial_adam.py", "tutorial_radam.py",
                  "tutorial_comparing_optimizers.py")


def tutorial_order(filename: str) -> tuple:
    """Sort key of a tutorial file: its place in :data:`TUTORIAL_ORDER`, then its name."""
    name = os.path.basename(filename)
    return (TUTORIAL_ORDER.index(name) if name in TUTORIAL_ORDER else len(TUTORIAL_ORDER), name)


def generate(app=None) -> None:
    """Write every generated page (Sphinx calls it at ``builder-inited``)."""
    optimizer_pages()
    scheduler_page()
    gallery_pages()
    guides_page()


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
