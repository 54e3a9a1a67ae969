"""The ``optimizer-class`` assignment: SGD and Adam as classes on ``optim.Optimizer``, against PyTorch-exact references.

A graded name is a class; the grader drives it through seeded plans (many
steps, param groups, closures, learning-rate changes, ``state_dict`` round
trips) with :func:`grading.harness.optimizer_scenario` and compares the
parameters after every step, the final state buffers and the closures' losses
with the project's ``optim.SGD`` and ``optim.Adam``.
"""
from grading.assignment import Arg, Assignment, GradedFunction

from . import cases, reference
from .mistakes import CATALOGUE
from .starter import STARTER

__all__ = ["ASSIGNMENT"]

_ARGS = [Arg("plan", "scalar"), Arg("arrays", "arrays")]
_OUTPUTS = ["theta_trajectory", "state", "losses"]

FUNCTIONS = [
    GradedFunction(name="SGD", args=_ARGS, outputs=_OUTPUTS, reference=reference.SGD, make_cases=cases.sgd_cases,
                   mistakes=CATALOGUE["SGD"], formula="PyTorch's SGD (momentum, dampening, Nesterov, weight decay)",
                   max_score=2.0, driver="optimizer_scenario"),
    GradedFunction(name="Adam", args=_ARGS, outputs=_OUTPUTS, reference=reference.Adam, make_cases=cases.adam_cases,
                   mistakes=CATALOGUE["Adam"], formula="PyTorch's Adam (L2 weight decay, bias correction)",
                   max_score=2.0, driver="optimizer_scenario"),
]

ASSIGNMENT = Assignment(
    name="optimizer-class",
    summary="SGD and Adam as classes on optim.Optimizer, checked against PyTorch-exact references",
    module="optimizer_classes",
    functions=FUNCTIONS,
    starter=STARTER,
    rtol=1e-9,
    atol=1e-12,
)
