"""Property tests of minigrad code against PyTorch, as a public API.

One call checks a new op, optimizer or scheduler against its PyTorch counterpart::

    import minigrad.testing as mgt

    mgt.assert_op_matches_torch(lambda a, b: a * b.exp(), lambda a, b: a * b.exp(),
                                [(3, 4), (4,)], hvp=True, broadcast=True)
    mgt.assert_optimizer_matches_torch(MySGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9})
    mgt.assert_scheduler_matches_torch(MyStepLR, torch.optim.lr_scheduler.StepLR, {"step_size": 3})

Each raises an AssertionError naming the quantity that differs, the worst element and
how to reproduce the failure. :func:`gradcheck`/:func:`gradgradcheck` (finite
differences, no PyTorch needed) are re-exported; hypothesis strategies are in
:mod:`minigrad.testing.strategies`; the lower-level pieces (:func:`check_parity`,
:func:`assert_same_state`, ...) are the ones minigrad's own test suite uses.

PyTorch and hypothesis are optional: importing this package needs neither, and a
check called without them raises an ImportError that names what to install.
See docs/testing.md.
"""
from ..gradcheck import gradcheck, gradgradcheck
from .compare import assert_close, mismatch, to_numpy
from .ops import (
    assert_op_matches_torch,
    check_op_example,
    check_parity,
    make_inputs,
    mg_tensor,
    randn,
    reduced_sizes,
    rng_of,
    torch_dims,
    torch_tensor,
)
from .optimizers import (
    assert_optimizer_matches_torch,
    assert_same_state,
    feed_grads,
    make_optimizer_pair,
    run_optimizer_parity,
    torch_default_dtype,
)
from .schedulers import assert_scheduler_matches_torch, run_scheduler_parity

__all__ = [
    "assert_op_matches_torch", "assert_optimizer_matches_torch", "assert_scheduler_matches_torch",
    "gradcheck", "gradgradcheck",
    "check_op_example", "check_parity", "make_inputs", "assert_close", "mismatch", "to_numpy",
    "mg_tensor", "torch_tensor", "randn", "rng_of", "torch_dims", "reduced_sizes",
    "assert_same_state", "feed_grads", "make_optimizer_pair", "run_optimizer_parity",
    "torch_default_dtype", "run_scheduler_parity",
]
