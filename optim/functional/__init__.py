r"""The update formulas, one pure function per optimizer.

Each function takes one parameter's array, its gradient and its state, plus
the hyperparameters as keywords, and returns::

    theta_new, new_state, intermediates = optim.functional.adam(theta, grad, state, lr=1e-3)

* ``theta``, ``grad``: backend arrays (NumPy, or CuPy on a GPU); the array
  module comes from ``minigrad.backend.get_array_module``.
* ``state``: a dict keyed by PyTorch's buffer names (``exp_avg``,
  ``momentum_buffer``, ``step``, ...); ``<name>_init(theta, ...)`` builds the
  state before the first step.
* ``intermediates``: the formula's quantities by their lecture names (``g``,
  ``m``, ``v``, ``m_hat``, ``v_hat``, ...); tracing and grading read them.

The functions are pure: they never write into their inputs (they allocate
new arrays instead), so calling one twice with the same arguments gives the
same result. Each module's docstring holds the formula in LaTeX and its
source, and the lines of code follow the formula's lines with its symbols.

The optimizer classes in :mod:`optim` call these functions parameter by
parameter; the fast path (:mod:`optim.fast`) runs them, or their in-place
twins, over flat buffers. Beside the formulas:

* :mod:`optim.functional.flags`: PyTorch's flags (``maximize``, the two weight
  decays, AMSGrad) as the named steps the formulas take around their lines;
* :mod:`optim.functional.schedules`: the learning-rate schedules' closed forms
  and Ma & Yarats' untuned warmup length;
* :mod:`optim.functional.transforms`: Ranger21's components;
* :func:`lookahead_sync`: Lookahead's synchronisation, shared by every
  optimizer that synchronises.
"""
from . import flags, schedules, transforms
from .adabelief import adabelief, adabelief_init
from .adabound import adabound, adabound_bounds, adabound_init
from .adadelta import adadelta, adadelta_init
from .adafactor import adafactor, adafactor_init
from .adagrad import adagrad, adagrad_init
from .adahessian import adahessian, adahessian_init, spatial_average
from .adam import adam, adam_init, adamw
from .adamax import adamax, adamax_init
from .adan import adan, adan_init
from .ademamix import ademamix, ademamix_alpha, ademamix_beta3, ademamix_init
from .adopt import adopt, adopt_clip, adopt_init
from .aggmo import aggmo, aggmo_init
from .asgd import asgd, asgd_init
from .barzilai_borwein import (
                               barzilai_borwein,
                               barzilai_borwein_init,
                               bb_step_size,
                               sgd_bb,
                               sgd_bb_init,
                               sgd_bb_step_size,
                               svrg_bb_step_size,
)
from .dadapt_adam import dadapt_adam_accumulate, dadapt_adam_estimate, dadapt_adam_init, dadapt_adam_update
from .lamb import lamb, lamb_init
from .lars import lars, lars_init
from .lbfgs import cubic_interpolate, lbfgs_two_loop, lbfgs_update_history, strong_wolfe
from .lion import lion, lion_init
from .lookahead import lookahead, lookahead_init, lookahead_momentum, lookahead_sync
from .madgrad import madgrad, madgrad_init
from .muon import muon, muon_adjust_lr, muon_init, newton_schulz, orthogonalize, polar_express, svd_polar
from .nadam import nadam, nadam_init
from .novograd import novograd, novograd_init
from .prodigy import prodigy_accumulate, prodigy_estimate, prodigy_init, prodigy_lr, prodigy_update
from .qhm import qhadam, qhadam_init, qhm, qhm_init
from .radam import radam, radam_init
from .ranger21 import ranger21, ranger21_init, ranger21_lr, ranger21_moments, ranger21_update, ranger21_warmup_steps
from .rmsprop import rmsprop, rmsprop_init
from .rprop import rprop, rprop_init
from .sam import sam, sam_ascent, sam_grad_norm
from .schedule_free import (
    schedule_free_adamw,
    schedule_free_eval_point,
    schedule_free_init,
    schedule_free_sgd,
    schedule_free_train_point,
    schedule_free_weight,
)
from .schedules import (
    anneal_cos,
    anneal_linear,
    constant_warmup,
    cosine_annealing,
    cyclic_position,
    exponential_decay,
    hyperbolic_decay,
    linear_ramp,
    linear_warmdown,
    linear_warmup,
    multistep_decay,
    noam_rate,
    polynomial_decay,
    step_decay,
    untuned_warmup_period,
    untuned_warmup_steps,
)
from .sgd import sgd, sgd_init, sgd_lecture, sgd_lookahead
from .shampoo import shampoo, shampoo_init
from .soap import soap, soap_init
from .sophia import gnb_estimate, hutchinson_estimate, sophia, sophia_hessian_update, sophia_init
from .sparse_adam import present_rows, sparse_adam, sparse_adam_init
from .svrg import svrg, svrg_snapshot
from .swa import ema_average, lerp, swa_average, swa_cyclic_lr, swalr_anneal
from .swats import swats, swats_init
from .transforms import (
    adamw_denominator,
    adaptive_gradient_clipping,
    gradient_centralization,
    gradient_normalization,
    norm_loss,
    positive_negative_momentum,
    stable_weight_decay,
    unitwise_norm,
)
from .yogi import yogi, yogi_init

# the update functions (the submodules of the same names are reached as modules)
__all__ = sorted(name for name, value in dict(globals()).items()
                 if callable(value) and not name.startswith("_"))
