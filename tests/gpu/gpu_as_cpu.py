"""pytest plugin that reports a GPU as present, so that the ``gpu`` tests are not skipped.

With ``MINIGRAD_GPU_TEST_DEVICE=cpu`` the sweep then compares the CPU with itself,
which checks the tests on a machine without a GPU (it measures nothing about GPUs)::

    MINIGRAD_GPU_TEST_DEVICE=cpu PYTHONPATH=.:tests/gpu python -m pytest -p gpu_as_cpu -m gpu tests/gpu
"""


def pytest_configure(config):
    import minigrad

    minigrad.cuda.is_available = lambda: True
