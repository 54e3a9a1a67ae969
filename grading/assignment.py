"""What an assignment is: graded functions, their reference, their mistake catalogue, their cases.

An assignment is data plus three kinds of trusted functions, all run only in the
grader's own process:

* the *reference* of each graded function (the lecture's formula in NumPy);
* the *mistake catalogue*: each :class:`Mistake` is one or more variants of the
  reference (a "mutant") that behave the way a student's known mistake behaves,
  with a stable id (``adam.no_bias_correction``) and an explanation that names
  the formula line;
* the *cases*: seeded inputs, each a chain of steps whose state arguments are fed
  from the outputs of the previous step (the student's own outputs when grading).

The student's code never sees any of this: the child process receives only the
inputs of the cases (:mod:`grading.protocol`) and returns plain numbers.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

__all__ = ["Arg", "Assignment", "Case", "GradedFunction", "Mistake", "Step", "QuadraticGrad"]


@dataclasses.dataclass(frozen=True)
class QuadraticGrad:
    r"""A gradient callable passed to the student: :math:`\nabla f(\theta) = a \odot \theta - b`.

    Functions such as Nesterov's step take ``grad_fn``; a callable cannot cross the
    process boundary, so the case carries its coefficients and both sides build
    the same callable from them.
    """

    a: Any
    b: Any

    def __call__(self, theta):
        import numpy as np

        return np.asarray(self.a, dtype=np.float64) * np.asarray(theta, dtype=np.float64) - self.b


@dataclasses.dataclass(frozen=True)
class Arg:
    """One positional argument of a graded function: its name and whether it is an array."""

    name: str
    kind: str = "array"  # "array" (float64), "index" (int64), "arrays" (a dict of them), "scalar" (JSON), "grad_fn"


@dataclasses.dataclass
class Step:
    """One call: the arguments given afresh (by name) and those fed from the previous step's outputs.

    ``feed`` maps an argument name to the name of an output of the previous step
    (``{"theta": "theta_new", "m": "m_new"}``); fed arguments are absent from ``args``.
    """

    args: dict
    feed: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Case:
    """A chain of steps; ``hidden`` cases never show their inputs or expected values in feedback."""

    steps: list
    hidden: bool = False
    label: str = ""


@dataclasses.dataclass
class Mistake:
    """A catalogued mistake: a stable id, its explanation, and the variant(s) that behave like it.

    ``variants`` are functions with the graded function's signature; a student's
    function is diagnosed with this mistake when its outputs agree with one
    variant's on every step of every case (several variants cover the different
    ways of writing the same mistake, e.g. accumulating ``g`` or ``|g|``).
    """

    id: str
    explanation: str
    variants: Sequence[Callable]


@dataclasses.dataclass
class GradedFunction:
    """One function the student writes: signature, outputs, reference, mistakes and a case generator.

    ``make_cases(rng)`` returns the list of :class:`Case` for a
    ``numpy.random.Generator``; ``outputs`` names the returned quantities in
    order (one name: a single return value); ``scalar_output`` marks a function
    that returns one number. For a backward rule, ``forward`` is the function it
    differentiates and ``wrt`` names the arguments whose gradients it returns (in
    the order of ``outputs``; the upstream gradient is the argument ``grad_out``):
    ``check`` then compares the reference with finite differences. ``driver``
    names a function of :mod:`grading.harness` (``DRIVERS``) that the graded name
    -- then a class -- is passed to: ``driver(cls, *args)`` is what gets graded.
    """

    name: str
    args: Sequence[Arg]
    outputs: Sequence[str]
    reference: Callable
    make_cases: Callable
    mistakes: Sequence[Mistake] = ()
    formula: str = ""
    doc: str = ""
    max_score: float = 1.0
    scalar_output: bool = False
    forward: Callable | None = None
    wrt: Sequence[str] = ()
    driver: str | None = None

    @property
    def arg_names(self):
        return [a.name for a in self.args]


@dataclasses.dataclass
class Assignment:
    """A shipped assignment: its name, the module the student writes, and its graded functions.

    ``starter`` is the text of the student's starter file; ``rtol``/``atol`` the
    tolerance of every comparison (the same for the reference and the mistakes);
    ``timeout`` the default wall-clock seconds allowed per graded function.
    """

    name: str
    summary: str
    module: str
    functions: Sequence[GradedFunction]
    starter: str
    rtol: float = 1e-6
    atol: float = 1e-10
    timeout: float = 20.0

    def function(self, name: str) -> GradedFunction:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(f"assignment {self.name!r} has no function {name!r}")

    def mistake_ids(self):
        return [m.id for f in self.functions for m in f.mistakes]
