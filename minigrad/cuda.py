"""``minigrad.cuda.is_available()``: whether tensors can be moved to a GPU."""
from .backend import cuda_is_available


def is_available() -> bool:
    """True when CuPy is installed and a CUDA GPU is visible."""
    return cuda_is_available()
