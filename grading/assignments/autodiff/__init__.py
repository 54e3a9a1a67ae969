"""The ``autodiff`` assignment: backward rules of thirteen ops as NumPy functions, checked by the reference.

The student writes ``autodiff.py``: for each op a function ``<op>_backward`` that
takes the op's inputs and ``grad_out`` and returns the gradient of each
differentiable input (of that input's shape). ``python -m grading check
autodiff`` also compares the reference with central finite differences.
"""
from grading.assignment import Arg, Assignment, GradedFunction

from . import cases, reference
from .mistakes import CATALOGUE
from .starter import STARTER

__all__ = ["ASSIGNMENT"]

_S = "scalar"


def _f(name, args, outputs, make_cases, formula, forward, wrt, max_score=1.0):
    return GradedFunction(name=name, args=[a if isinstance(a, Arg) else Arg(a) for a in args], outputs=outputs,
                          reference=getattr(reference, name), make_cases=make_cases, mistakes=CATALOGUE[name],
                          formula=formula, max_score=max_score, forward=forward, wrt=wrt)


_RED = ["x", "grad_out", Arg("axis", _S), Arg("keepdims", _S)]

FUNCTIONS = [
    _f("mul_backward", ["a", "b", "grad_out"], ["grad_a", "grad_b"], cases.binary_cases,
       "∂L/∂a = sum_to(g·b, a.shape), ∂L/∂b = sum_to(g·a, b.shape)", reference.mul, ["a", "b"]),
    _f("add_backward", ["a", "b", "grad_out"], ["grad_a", "grad_b"], cases.binary_cases,
       "∂L/∂a = sum_to(g, a.shape), ∂L/∂b = sum_to(g, b.shape)", reference.add, ["a", "b"]),
    _f("matmul_backward", ["a", "b", "grad_out"], ["grad_a", "grad_b"], cases.matmul_cases,
       "∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G", reference.matmul, ["a", "b"]),
    _f("sum_backward", _RED, ["grad_x"], cases.reduction_cases,
       "∂L/∂x = g broadcast back along the reduced axis", reference.sum_, ["x"]),
    _f("mean_backward", _RED, ["grad_x"], cases.reduction_cases,
       "∂L/∂x = g broadcast back along the reduced axis, divided by its length", reference.mean, ["x"]),
    _f("exp_backward", ["x", "grad_out"], ["grad_x"], cases.exp_cases, "∂L/∂x = g·eˣ", reference.exp, ["x"]),
    _f("log_backward", ["x", "grad_out"], ["grad_x"], cases.log_cases, "∂L/∂x = g/x", reference.log, ["x"]),
    _f("tanh_backward", ["x", "grad_out"], ["grad_x"], cases.tanh_cases, "∂L/∂x = g·(1 − tanh²x)",
       reference.tanh, ["x"]),
    _f("sigmoid_backward", ["x", "grad_out"], ["grad_x"], cases.sigmoid_cases, "∂L/∂x = g·σ(x)(1 − σ(x))",
       reference.sigmoid, ["x"]),
    _f("relu_backward", ["x", "grad_out"], ["grad_x"], cases.relu_cases, "∂L/∂x = g·[x > 0]",
       reference.relu, ["x"]),
    _f("softmax_backward", ["x", "grad_out", Arg("axis", _S)], ["grad_x"], cases.softmax_cases,
       "∂L/∂x = s ⊙ (g − Σ g ⊙ s)", reference.softmax, ["x"]),
    _f("log_softmax_backward", ["x", "grad_out", Arg("axis", _S)], ["grad_x"], cases.softmax_cases,
       "∂L/∂x = g − softmax(x) Σ g", reference.log_softmax, ["x"]),
    _f("cross_entropy_backward", ["logits", Arg("targets", "index"), "grad_out"], ["grad_logits"],
       cases.cross_entropy_cases, "∂L/∂logits = g·(softmax(logits) − one_hot(targets)) / N",
       reference.cross_entropy, ["logits"]),
]

ASSIGNMENT = Assignment(
    name="autodiff",
    summary="backward rules (broadcasting mul/add, matmul, sum/mean, elementwise, softmax, cross-entropy)",
    module="autodiff",
    functions=FUNCTIONS,
    starter=STARTER,
)
