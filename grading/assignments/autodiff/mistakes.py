"""The mistake catalogue of the ``autodiff`` assignment: each known mistake as a variant of a backward rule.

Where a mistake breaks some shapes (a gradient that cannot broadcast), the
student's code and the variant both raise there; diagnosis counts that as
behaving alike (see :func:`grading.evaluate.evaluate_function`).
"""
import numpy as np

from grading.assignment import Mistake

from .reference import _softmax, sum_backward, sum_to

# --- mul, add -------------------------------------------------------------------------------


def _mul_unreduced(a, b, grad_out):
    return grad_out * b, grad_out * a


def _mul_swapped(a, b, grad_out):
    return sum_to(grad_out * a, np.shape(a)), sum_to(grad_out * b, np.shape(b))


def _add_unreduced(a, b, grad_out):
    return grad_out, grad_out


MUL = [
    Mistake("mul.broadcast_not_reduced",
            "the gradients keep the broadcast shape: sum grad_out·b over the broadcast axes so that ∂L/∂a has "
            "a's shape (and likewise for b).", [_mul_unreduced]),
    Mistake("mul.grads_swapped",
            "each input's gradient uses the input itself: ∂L/∂a = grad_out·b and ∂L/∂b = grad_out·a.",
            [_mul_swapped]),
]
ADD = [
    Mistake("add.broadcast_not_reduced",
            "the gradients keep the broadcast shape: sum grad_out over the broadcast axes so that each gradient "
            "has its input's shape.", [_add_unreduced]),
]

# --- matmul ---------------------------------------------------------------------------------


def _matmul_transposed(a, b, grad_out):
    return b @ grad_out.T, grad_out.T @ a


def _matmul_no_transpose(a, b, grad_out):
    return grad_out @ b, a @ grad_out


MATMUL = [
    Mistake("matmul.transposed_wrongly",
            "the operands are transposed wrongly: for C = A B, ∂L/∂A = G Bᵀ and ∂L/∂B = Aᵀ G "
            "(G = grad_out).", [_matmul_transposed, _matmul_no_transpose]),
]

# --- sum, mean ------------------------------------------------------------------------------


def _sum_loses_axis(x, grad_out, axis, keepdims):
    return np.broadcast_to(grad_out, np.shape(x)).copy()


def _mean_no_division(x, grad_out, axis, keepdims):
    return sum_backward(x, grad_out, axis, keepdims)


def _mean_total_count(x, grad_out, axis, keepdims):
    return sum_backward(x, grad_out, axis, keepdims) / np.size(x)


SUM = [
    Mistake("sum.loses_reduced_axis",
            "grad_out is broadcast without putting the reduced axis back: with keepdims=False, expand grad_out "
            "at `axis` (np.expand_dims) before broadcasting it to x's shape.", [_sum_loses_axis]),
]
MEAN = [
    Mistake("mean.no_division",
            "the gradient is not divided by the number of averaged elements: ∂L/∂x = grad_out / n.",
            [_mean_no_division]),
    Mistake("mean.divides_by_total_size",
            "the gradient is divided by x.size: divide by the number of elements along `axis` only.",
            [_mean_total_count]),
]

# --- elementwise ----------------------------------------------------------------------------


def _tanh_not_squared(x, grad_out):
    return grad_out * (1.0 - np.tanh(x))


def _tanh_uses_x(x, grad_out):
    return grad_out * (1.0 - x**2)


def _sigmoid_uses_x(x, grad_out):
    return grad_out * x * (1.0 - x)


def _relu_ignores_grad_out(x, grad_out):
    return (x > 0).astype(np.float64) * np.ones_like(grad_out)


TANH = [
    Mistake("tanh.not_squared", "tanh's derivative is 1 − tanh²(x): the square is missing.", [_tanh_not_squared]),
    Mistake("tanh.uses_x", "tanh's derivative is 1 − tanh²(x), not 1 − x²: apply tanh first.", [_tanh_uses_x]),
]
SIGMOID = [
    Mistake("sigmoid.uses_x",
            "σ'(x) = σ(x)(1 − σ(x)), computed from σ(x), not from x: you wrote x(1 − x).", [_sigmoid_uses_x]),
]
RELU = [
    Mistake("relu.ignores_grad_out",
            "the chain rule is missing: ∂L/∂x = grad_out · [x > 0], not [x > 0] alone.", [_relu_ignores_grad_out]),
]
LOG = []  # no catalogued mistake yet: a wrong log backward is reported by its first difference
EXP = []

# --- softmax family -------------------------------------------------------------------------


def _softmax_no_subtraction(x, grad_out, axis):
    return _softmax(x, axis) * grad_out


def _log_softmax_missing_sum(x, grad_out, axis):
    return grad_out - _softmax(x, axis)


def _ce_no_mean(logits, targets, grad_out):
    p = _softmax(logits, 1)
    p[np.arange(logits.shape[0]), targets] -= 1.0
    return grad_out * p


def _ce_sign(logits, targets, grad_out):
    p = _softmax(logits, 1)
    p[np.arange(logits.shape[0]), targets] -= 1.0
    return -grad_out * p / logits.shape[0]


SOFTMAX = [
    Mistake("softmax.missing_subtraction",
            "the subtraction term is missing: ∂L/∂x = s ⊙ (g − Σ g ⊙ s), the sum along `axis` "
            "(s = softmax(x), g = grad_out).", [_softmax_no_subtraction]),
]
LOG_SOFTMAX = [
    Mistake("log_softmax.missing_sum",
            "softmax must be scaled by the sum of grad_out: ∂L/∂x = g − softmax(x) · Σ g (along `axis`).",
            [_log_softmax_missing_sum]),
]
CROSS_ENTROPY = [
    Mistake("cross_entropy.no_batch_mean",
            "the loss is the mean over the batch: divide (softmax − one_hot) by the batch size N.", [_ce_no_mean]),
    Mistake("cross_entropy.sign_error",
            "the sign is flipped: ∂L/∂logits = (softmax − one_hot) / N, times grad_out.", [_ce_sign]),
]


CATALOGUE = {
    "mul_backward": MUL, "add_backward": ADD, "matmul_backward": MATMUL, "sum_backward": SUM,
    "mean_backward": MEAN, "exp_backward": EXP, "log_backward": LOG, "tanh_backward": TANH,
    "sigmoid_backward": SIGMOID, "relu_backward": RELU, "softmax_backward": SOFTMAX,
    "log_softmax_backward": LOG_SOFTMAX, "cross_entropy_backward": CROSS_ENTROPY,
}
