r"""The mistake catalogue of the ``optimizers`` assignment: each known mistake as a variant of the reference.

A variant is the reference with the student's mistake written in; a submission
whose outputs agree with a variant on every step of every case is diagnosed with
that mistake. Several variants under one id are the different ways of writing
the same mistake. Run ``python -m grading check optimizers`` after any change:
every mistake must be caught by the cases and told apart from all the others.
"""
import numpy as np

from grading.assignment import Mistake

from .reference import adam_step, amsgrad_step, radam_rho

# --- SGD ------------------------------------------------------------------------------------


def _sgd_sign(theta, grad, lr):
    return theta + lr * grad


def _sgd_no_lr(theta, grad, lr):
    return theta - grad


SGD = [
    Mistake("sgd.sign_error", "you step up the gradient: expected θ ← θ − η g (a minus sign).", [_sgd_sign]),
    Mistake("sgd.no_learning_rate", "the learning rate is missing: expected θ ← θ − η g.", [_sgd_no_lr]),
]

# --- momentum -------------------------------------------------------------------------------


def _momentum_torch(theta, grad, v, lr, gamma):
    v_new = gamma * v + grad
    return theta - lr * v_new, v_new


def _momentum_stale(theta, grad, v, lr, gamma):
    v_new = gamma * v + lr * grad
    return theta - v, v_new


MOMENTUM = [
    Mistake("momentum.torch_convention",
            "you used PyTorch's convention v ← γv + g, θ ← θ − ηv; the lecture's is v ← γv + ηg, θ ← θ − v "
            "(the learning rate goes into v).", [_momentum_torch]),
    Mistake("momentum.stale_velocity",
            "θ is updated with the old velocity: expected θ ← θ − v with the new v = γv + ηg.", [_momentum_stale]),
]

# --- Nesterov -------------------------------------------------------------------------------


def _nesterov_no_lookahead(theta, grad_fn, v, lr, gamma):
    v_new = gamma * v + lr * grad_fn(theta)
    return theta - v_new, v_new


def _nesterov_lookahead_sign(theta, grad_fn, v, lr, gamma):
    v_new = gamma * v + lr * grad_fn(theta + gamma * v)
    return theta - v_new, v_new


NESTEROV = [
    Mistake("nesterov.no_lookahead",
            "the gradient is taken at θ: Nesterov's is taken at the look-ahead point, ∇f(θ − γv).",
            [_nesterov_no_lookahead]),
    Mistake("nesterov.lookahead_sign",
            "the look-ahead point has the wrong sign: expected ∇f(θ − γv), not ∇f(θ + γv).",
            [_nesterov_lookahead_sign]),
]

# --- AdaGrad --------------------------------------------------------------------------------


def _adagrad_no_square(theta, grad, G, lr, eps):
    G_new = G + grad
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def _adagrad_abs(theta, grad, G, lr, eps):
    G_new = G + np.abs(grad)
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def _adagrad_eps_outside(theta, grad, G, lr, eps):
    G_new = G + grad**2
    return theta - lr * grad / (np.sqrt(G_new) + eps), G_new


def _adagrad_stale(theta, grad, G, lr, eps):
    G_new = G + grad**2
    return theta - lr * grad / np.sqrt(G + eps), G_new


ADAGRAD = [
    Mistake("adagrad.no_square",
            "G accumulates g (or |g|) instead of the squared gradient: expected G ← G + g².",
            [_adagrad_no_square, _adagrad_abs]),
    Mistake("adagrad.eps_outside_sqrt",
            "ε is outside the square root: expected θ ← θ − η g / √(G + ε).", [_adagrad_eps_outside]),
    Mistake("adagrad.stale_accumulator",
            "the step divides by the old G: accumulate first (G ← G + g²), then θ ← θ − η g / √(G + ε).",
            [_adagrad_stale]),
]

# --- RMSProp --------------------------------------------------------------------------------


def _rmsprop_no_one_minus(theta, grad, G, lr, gamma, eps):
    G_new = gamma * G + grad**2
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def _rmsprop_swapped(theta, grad, G, lr, gamma, eps):
    G_new = (1 - gamma) * G + gamma * grad**2
    return theta - lr * grad / np.sqrt(G_new + eps), G_new


def _rmsprop_eps_outside(theta, grad, G, lr, gamma, eps):
    G_new = gamma * G + (1 - gamma) * grad**2
    return theta - lr * grad / (np.sqrt(G_new) + eps), G_new


RMSPROP = [
    Mistake("rmsprop.missing_one_minus_gamma",
            "the new squared gradient is not weighted by (1 − γ): expected G ← γG + (1 − γ)g².",
            [_rmsprop_no_one_minus]),
    Mistake("rmsprop.gamma_swapped",
            "γ and (1 − γ) are swapped: expected G ← γG + (1 − γ)g² (γ weighs the old average).",
            [_rmsprop_swapped]),
    Mistake("rmsprop.eps_outside_sqrt",
            "ε is outside the square root: expected θ ← θ − η g / √(G + ε).", [_rmsprop_eps_outside]),
]

# --- Adam -----------------------------------------------------------------------------------


def _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, *, tc=None, m_beta=None, v_beta=None,
                  mc_beta=None, vc_beta=None, correct=True, eps_inside=False, sqrt=True, sign=-1.0,
                  state="raw"):
    """Adam with each line open to one known change (used only to write the variants below)."""
    tc = t if tc is None else tc
    m_beta = beta1 if m_beta is None else m_beta
    v_beta = beta2 if v_beta is None else v_beta
    mc_beta = m_beta if mc_beta is None else mc_beta
    vc_beta = v_beta if vc_beta is None else vc_beta
    m_new = m_beta * m + (1 - m_beta) * grad
    v_new = v_beta * v + (1 - v_beta) * grad**2
    m_hat = m_new / (1 - mc_beta**tc) if correct else m_new
    v_hat = v_new / (1 - vc_beta**tc) if correct else v_new
    if eps_inside:
        denom = np.sqrt(v_hat + eps)
    elif sqrt:
        denom = np.sqrt(v_hat) + eps
    else:
        denom = v_hat + eps
    theta_new = theta + sign * lr * m_hat / denom
    if state == "hat":
        return theta_new, m_hat, v_hat
    if state == "m_hat":
        return theta_new, m_hat, v_new
    return theta_new, m_new, v_new


def _variant(**changes):
    def adam_variant(theta, grad, m, v, t, lr, beta1, beta2, eps):
        return _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, **changes)

    return adam_variant


def _adam_t_plus(theta, grad, m, v, t, lr, beta1, beta2, eps):
    return _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, tc=t + 1)


def _adam_t_minus(theta, grad, m, v, t, lr, beta1, beta2, eps):
    return _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, tc=t - 1)


def _adam_betas_swapped(theta, grad, m, v, t, lr, beta1, beta2, eps):
    return _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, m_beta=beta2, v_beta=beta1)


def _adam_betas_swapped_updates_only(theta, grad, m, v, t, lr, beta1, beta2, eps):
    return _adam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, m_beta=beta2, v_beta=beta1,
                         mc_beta=beta1, vc_beta=beta2)


ADAM = [
    Mistake("adam.no_bias_correction",
            "m̂ and v̂ are not bias-corrected: expected m̂ = m/(1−β1ᵗ) and v̂ = v/(1−β2ᵗ).",
            [_variant(correct=False)]),
    Mistake("adam.eps_inside_sqrt",
            "ε is inside the square root: Adam's step is θ ← θ − η m̂/(√v̂ + ε).", [_variant(eps_inside=True)]),
    Mistake("adam.betas_swapped",
            "β1 and β2 are swapped: m ← β1m + (1−β1)g (β1 = 0.9 for the mean) and v ← β2v + (1−β2)g².",
            [_adam_betas_swapped, _adam_betas_swapped_updates_only]),
    Mistake("adam.step_off_by_one",
            "the bias correction uses the wrong step: expected 1−β1ᵗ and 1−β2ᵗ with t as given "
            "(1 at the first step), not t+1 or t−1.", [_adam_t_plus, _adam_t_minus]),
    Mistake("adam.bias_corrected_state",
            "the bias-corrected m̂ (or v̂) is returned as the new state: return m and v, "
            "and use m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ) only in the step.",
            [_variant(state="hat"), _variant(state="m_hat")]),
    Mistake("adam.no_sqrt", "the square root of v̂ is missing: expected θ ← θ − η m̂/(√v̂ + ε).",
            [_variant(sqrt=False)]),
    Mistake("adam.sign_error", "you step up the gradient: expected θ ← θ − η m̂/(√v̂ + ε).",
            [_variant(sign=1.0)]),
]

# --- AMSGrad --------------------------------------------------------------------------------


def _amsgrad_no_max(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    return amsgrad_step(theta, grad, m, v, np.full_like(np.asarray(v_max, dtype=float), -np.inf), t,
                        lr, beta1, beta2, eps)


def _amsgrad_v_in_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    theta_new, m_new, v_new = adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps)
    return theta_new, m_new, v_new, np.maximum(v_max, v_new)


AMSGRAD = [
    Mistake("amsgrad.no_max",
            "v_max is not a running maximum: expected v_max ← max(v_max, v), elementwise.", [_amsgrad_no_max]),
    Mistake("amsgrad.v_in_step",
            "the step uses v, not v_max: expected θ ← θ − η m̂/(√(v_max/(1−β2ᵗ)) + ε).", [_amsgrad_v_in_step]),
]

# --- RAdam ----------------------------------------------------------------------------------


def _radam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, *, threshold=4.0, rectify=True,
                   correct_l=True):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    rho_inf, rho_t = radam_rho(t, beta2)
    if rho_t > threshold:
        l_t = (np.sqrt(1 - beta2**t) if correct_l else 1.0) / (np.sqrt(v_new) + eps)
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        theta_new = theta - lr * (r_t if rectify else 1.0) * m_hat * l_t
    else:
        theta_new = theta - lr * m_hat
    return theta_new, m_new, v_new


def _radam_variant(**changes):
    def radam_variant(theta, grad, m, v, t, lr, beta1, beta2, eps):
        return _radam_general(theta, grad, m, v, t, lr, beta1, beta2, eps, **changes)

    return radam_variant


RADAM = [
    Mistake("radam.threshold_5",
            "the adaptive step starts when ρₜ > 5 (PyTorch's threshold); the lecture's is ρₜ > 4.",
            [_radam_variant(threshold=5.0)]),
    Mistake("radam.no_rectification",
            "the rectification term rₜ is left out: expected θ ← θ − η rₜ m̂ lₜ with "
            "rₜ = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)).", [_radam_variant(rectify=False)]),
    Mistake("radam.l_t_not_corrected",
            "lₜ lacks the bias correction √(1−β2ᵗ): expected lₜ = √(1−β2ᵗ)/(√v + ε).",
            [_radam_variant(correct_l=False)]),
]

# --- Barzilai-Borwein -----------------------------------------------------------------------


def _bb_swapped(s, y, variant):
    s, y = np.ravel(s), np.ravel(y)
    return float(s @ y / (y @ y)) if variant == 1 else float(s @ s / (s @ y))


def _bb_reciprocal(s, y, variant):
    s, y = np.ravel(s), np.ravel(y)
    return float(s @ y / (s @ s)) if variant == 1 else float(y @ y / (s @ y))


BB = [
    Mistake("bb.variants_swapped",
            "the two variants are swapped: variant 1 is sᵀs / sᵀy (the long step), variant 2 is sᵀy / yᵀy.",
            [_bb_swapped]),
    Mistake("bb.reciprocal",
            "the fraction is upside down: variant 1 is sᵀs / sᵀy, variant 2 is sᵀy / yᵀy.", [_bb_reciprocal]),
]

CATALOGUE = {
    "sgd_step": SGD, "momentum_step": MOMENTUM, "nesterov_step": NESTEROV, "adagrad_step": ADAGRAD,
    "rmsprop_step": RMSPROP, "adam_step": ADAM, "amsgrad_step": AMSGRAD, "radam_step": RADAM,
    "bb_step_size": BB,
}
