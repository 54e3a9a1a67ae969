"""Shared pytest configuration: the GPU skip hook and the hypothesis profiles."""
import os

import pytest
from hypothesis import HealthCheck, settings

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
