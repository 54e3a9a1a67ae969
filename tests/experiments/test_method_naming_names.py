"""Every name that ``experiments.datasets.method_naming`` offers still imports from the
package itself, whichever of its modules defines it, and the package docstring (the
extraction rules) stays on the package."""
import importlib

import pytest

NAMES = [
    "METHOD_NAME", "EXTRACTOR_VERSION", "Tree", "MethodExample", "Problem", "MethodCorpus", "TreeBatch",
    "python_methods_from_source", "java_methods_from_source", "iter_python_files", "build_python_corpus",
    "build_java_corpus", "load_jsonl_corpus", "split_by_project", "python_stdlib_dir", "java_available",
    "encode_tree", "batch_trees", "batch_examples",
    "_progress",  # used by experiments.datasets.parallel_text
]


@pytest.mark.parametrize("name", NAMES)
def test_name_imports_from_the_package(name):
    mn = importlib.import_module("experiments.datasets.method_naming")
    assert getattr(mn, name) is not None
    exec(f"from experiments.datasets.method_naming import {name}", {})


def test_all_and_docstring():
    mn = importlib.import_module("experiments.datasets.method_naming")
    assert set(mn.__all__) == set(NAMES) - {"EXTRACTOR_VERSION", "_progress"}
    assert "post-order" in mn.__doc__ and "split_by_project" in mn.__doc__
