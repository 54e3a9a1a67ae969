"""The ``optimizers`` assignment: nine update formulas as NumPy functions, each with its mistake catalogue."""
from grading.assignment import Arg, Assignment, GradedFunction

from . import cases, reference
from .mistakes import CATALOGUE
from .starter import STARTER

__all__ = ["ASSIGNMENT"]

_A = Arg
_S = "scalar"


def _f(name, args, outputs, make_cases, formula, max_score=1.0, scalar_output=False):
    return GradedFunction(name=name, args=[a if isinstance(a, Arg) else Arg(a) for a in args], outputs=outputs,
                          reference=getattr(reference, name), make_cases=make_cases,
                          mistakes=CATALOGUE[name], formula=formula, max_score=max_score,
                          scalar_output=scalar_output)


FUNCTIONS = [
    _f("sgd_step", ["theta", "grad", _A("lr", _S)], ["theta_new"], cases.sgd_cases, "θ ← θ − η g"),
    _f("momentum_step", ["theta", "grad", "v", _A("lr", _S), _A("gamma", _S)], ["theta_new", "v_new"],
       cases.momentum_cases, "v ← γv + ηg; θ ← θ − v"),
    _f("nesterov_step", ["theta", _A("grad_fn", "grad_fn"), "v", _A("lr", _S), _A("gamma", _S)],
       ["theta_new", "v_new"], cases.nesterov_cases, "v ← γv + η∇f(θ − γv); θ ← θ − v"),
    _f("adagrad_step", ["theta", "grad", "G", _A("lr", _S), _A("eps", _S)], ["theta_new", "G_new"],
       cases.adagrad_cases, "G ← G + g²; θ ← θ − η g / √(G + ε)"),
    _f("rmsprop_step", ["theta", "grad", "G", _A("lr", _S), _A("gamma", _S), _A("eps", _S)],
       ["theta_new", "G_new"], cases.rmsprop_cases, "G ← γG + (1−γ)g²; θ ← θ − η g / √(G + ε)"),
    _f("adam_step", ["theta", "grad", "m", "v", _A("t", _S), _A("lr", _S), _A("beta1", _S), _A("beta2", _S),
                     _A("eps", _S)], ["theta_new", "m_new", "v_new"], cases.adam_cases,
       "m ← β1m + (1−β1)g; v ← β2v + (1−β2)g²; m̂ = m/(1−β1ᵗ); v̂ = v/(1−β2ᵗ); θ ← θ − η m̂/(√v̂ + ε)",
       max_score=2.0),
    _f("amsgrad_step", ["theta", "grad", "m", "v", "v_max", _A("t", _S), _A("lr", _S), _A("beta1", _S),
                        _A("beta2", _S), _A("eps", _S)], ["theta_new", "m_new", "v_new", "v_max_new"],
       cases.amsgrad_cases, "as Adam; v_max ← max(v_max, v); θ ← θ − η m̂/(√(v_max/(1−β2ᵗ)) + ε)"),
    _f("radam_step", ["theta", "grad", "m", "v", _A("t", _S), _A("lr", _S), _A("beta1", _S), _A("beta2", _S),
                      _A("eps", _S)], ["theta_new", "m_new", "v_new"], cases.radam_cases,
       "ρₜ = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ); if ρₜ > 4: θ ← θ − η rₜ m̂ lₜ, else θ ← θ − η m̂", max_score=2.0),
    _f("bb_step_size", ["s", "y", _A("variant", _S)], ["step_size"], cases.bb_cases,
       "variant 1: sᵀs / sᵀy; variant 2: sᵀy / yᵀy", scalar_output=True),
]

ASSIGNMENT = Assignment(
    name="optimizers",
    summary="nine optimizer update formulas (SGD to RAdam, Barzilai-Borwein) as NumPy functions",
    module="optimizers",
    functions=FUNCTIONS,
    starter=STARTER,
)
