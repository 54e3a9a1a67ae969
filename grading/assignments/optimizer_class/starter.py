'''Starter file of the ``optimizer-class`` assignment (written to the student's directory by ``starter``).'''

STARTER = '''"""SGD and Adam as optimizer classes with PyTorch's API, on minigrad's ``optim.Optimizer``.

Write both classes so that they behave exactly like ``torch.optim.SGD`` and
``torch.optim.Adam`` (float64). ``optim.Optimizer`` (the only thing in ``optim``
here) gives you param groups (``self.param_groups``: a list of dicts, each with
"params" and every hyperparameter), per-parameter state (``self.state``: a dict
Tensor -> dict), ``zero_grad()``, ``state_dict()`` and ``load_state_dict()``.
Subclass it and either implement the two hooks ``_init_state(theta, group)``
and ``_update(theta, grad, state, group) -> (theta_new, new_state, {})`` on
NumPy arrays, or override ``step(closure=None)`` yourself. In both cases:

* read every hyperparameter from the parameter's group, not from the constructor
  (groups may set their own, and a scheduler may change ``group["lr"]``);
* skip parameters whose ``.grad`` is None;
* ``step(closure)`` calls the closure once, before the update, and returns its loss;
* keep each parameter's state under PyTorch's names (``momentum_buffer``;
  ``step``, ``exp_avg``, ``exp_avg_sq``) so that ``state_dict()`` round trips.

SGD (PyTorch's form; λ = weight_decay, μ = momentum, τ = dampening, η = lr):
    g ← g + λθ
    b ← g at the first step, else b ← μb + (1 − τ)g
    d ← g + μb if nesterov else b
    θ ← θ − η d

Adam (PyTorch's form; weight_decay is the L2 penalty added to the gradient):
    g ← g + λθ;  t ← t + 1
    m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
    θ ← θ − η (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
"""
import numpy as np

from optim import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    def _init_state(self, theta, group):
        raise NotImplementedError("SGD._init_state")

    def _update(self, theta, grad, state, group):
        raise NotImplementedError("SGD._update")


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _init_state(self, theta, group):
        raise NotImplementedError("Adam._init_state")

    def _update(self, theta, grad, state, group):
        raise NotImplementedError("Adam._update")
'''
