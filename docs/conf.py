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
