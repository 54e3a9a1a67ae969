"""The reference of the ``optimizer-class`` assignment: the project's PyTorch-exact ``optim.SGD`` and ``optim.Adam``.

A graded "function" here is a class: :func:`grading.harness.optimizer_scenario`
drives it through a plan (steps, param groups, closures, learning-rate changes,
``state_dict`` round trips) and returns the trajectory; the reference is the same
plan on the project's classes, which match ``torch.optim`` in float64 (their
parity tests), so no torch is needed at grading time.
"""
import optim
from grading.harness import optimizer_scenario


def SGD(plan, arrays):  # noqa: N802  (graded under the class's name)
    return optimizer_scenario(optim.SGD, plan, arrays)


def Adam(plan, arrays):  # noqa: N802
    return optimizer_scenario(optim.Adam, plan, arrays)
