"""Sphinx configuration of minigrad's documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` from the repository
root (``pip install -e ".[docs]"`` first). The optimizer, scheduler and lecture
gallery pages are generated at build time from the packages' exports by
``_ext/minigrad_docs.py``; the tutorials in ``tutorials/`` are run and rendered by
sphinx-gallery. MathJax is served from the built site (no CDN), so the formulas
render offline.
"""
import os
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]
os.environ.setdefault("MPLBACKEND", "Agg")

project = "minigrad"
author = "the minigrad authors"
copyright = "the minigrad authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",     # [source] links: the code beside each formula
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",   # MathJax 3 copied into _static/mathjax: no CDN
    "minigrad_docs",            # the generated optimizer, scheduler and gallery pages
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "tutorials", "Thumbs.db", ".DS_Store", "**/sg_execution_times.rst"]
html_theme = "furo"
html_title = "minigrad"
html_static_path = []

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_default_options = {}   # each directive names its options
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True   # the docstrings write "Args:" and "Returns:" sections
napoleon_numpy_docstring = True

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["generated/tutorials"],
    "filename_pattern": r"tutorial_",     # run every tutorial at build time
    "within_subsection_order": "minigrad_docs.tutorial_order",   # reading order
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "write_computation_times": False,
    "reset_modules": ("matplotlib",),
}


# --- known docstring defects, repaired for the site only ---------------------------
# Each entry: the object, the exact source lines, the fix in the source. Until the
# source is fixed, the hook below applies that fix to exactly those lines of exactly
# that docstring (before napoleon reads it); once fixed it matches nothing.
#
# * optim/functional/ranger21.py:149-150, ranger21_update, "Args:": the text after
#   "warmdown_start:" goes on at the margin, so docutils warns "Field list ends
#   without a blank line". Fix: indent those two lines by four more spaces.
# * optim/stopping.py:16 and :23, the module docstring's table: ``grad_norm``
#   (13 characters) is wider than its 12-character column, an error "Malformed
#   table". Fix: make the first column of both "=" rules 13 wide with one space
#   before the second column ("=============" + " " + "=====...").
def _indent(line):
    return "    " + line


def _widen_rule(line):
    return "=============" + line[12:].replace("  =", " =", 1) if line.startswith("============  ") else line


def _ranger21_run_on(line):
    return line.lstrip().startswith((":math:`p`. warmdown_min_lr:", "lookahead_alpha: :math:`k,"))


_DOCSTRING_FIXES = {
    "optim.functional.ranger21.ranger21_update": [(_ranger21_run_on, _indent)],
    "optim.functional.ranger21_update": [(_ranger21_run_on, _indent)],
    "optim.stopping": [(lambda line: line.startswith("============  ====="), _widen_rule)],
}


def _fix_known_docstrings(app, what, name, obj, options, lines):
    for match, fix in _DOCSTRING_FIXES.get(name, ()):
        for i, line in enumerate(lines):
            if match(line):
                lines[i] = fix(line)


def setup(app):
    app.connect("autodoc-process-docstring", _fix_known_docstrings, priority=100)  # before napoleon
