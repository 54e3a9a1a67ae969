"""Shared pytest configuration: ``tests/`` on ``sys.path``, the GPU skip hook and the
hypothesis profiles.

The tests live in folders by area (``engine/``, ``optim/``, ``models/``,
``experiments/``, ``grading/``) without ``__init__.py``; their shared helpers
(``torch_utils``) stay here in ``tests/``, so this folder goes on ``sys.path``
for ``import torch_utils`` to work from every area folder.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

# "ci" keeps runs short and reproducible; "dev" searches harder. Pick one with
# HYPOTHESIS_PROFILE=dev python -m pytest ...
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=30,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=300,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _cuda_available():
    """Ask minigrad whether a GPU is usable; any failure means no."""
    try:
        import minigrad

        return bool(minigrad.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Compiled CPU kernels (``optim.fast.cpu``) go to a temporary cache for the session, not to
    ``~/.cache`` (unless ``MINIGRAD_CACHE_DIR`` is set already)."""
    if os.environ.get("MINIGRAD_CACHE_DIR"):
        yield
        return
    os.environ["MINIGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("minigrad-kernels"))
    try:
        yield
    finally:
        os.environ.pop("MINIGRAD_CACHE_DIR", None)
