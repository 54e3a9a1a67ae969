"""Optimizers, each written as its lecture formula.

The package has three layers (``docs/ARCHITECTURE.md``):

* :mod:`optim.functional`: the update formulas as pure functions (one module
  per family, the formula and its source in each docstring), with PyTorch's
  flags as named steps (:mod:`optim.functional.flags`), Ranger21's transforms,
  the schedules' closed forms and Lookahead's synchronisation.
* The classes: :class:`optim.Optimizer`, the base class (PyTorch's API: param
  groups, state, ``zero_grad``, ``step(closure)``, ``state_dict``, tracing);
  every optimizer of ``torch.optim`` 2.13, with its names, arguments and
  defaults (where a lecture or paper writes the formula differently, a named
  option selects that form, ``docs/CONVENTIONS.md``; PyTorch's is the
  default); optimizers PyTorch lacks, checked against their papers;
  :mod:`optim.lr_scheduler` (schedules), :mod:`optim.stopping` (stopping
  criteria), :mod:`optim.swa_utils` (weight averaging), :mod:`optim.transforms`
  (Ranger21's gradient transforms applied to a model's gradients),
  :mod:`optim.checks` (the hyperparameter checks).
* :mod:`optim.fast`: the flat fast path (``impl="flat"``) and the formulas'
  in-place twins, bitwise equal to the formulas.
"""
from . import checks, fast, functional, hooks, lr_scheduler, stopping, swa_utils, tracing, transforms

# beyond torch.optim
from .adabelief import AdaBelief
from .adabound import AdaBound

# in torch.optim
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adahessian import AdaHessian
from .adam import Adam, AdamW
from .adamax import Adamax
from .adan import Adan
from .ademamix import AdEMAMix
from .adopt import ADOPT
from .aggmo import AggMo
from .asgd import ASGD
from .barzilai_borwein import SGDBB, SVRGBB, BarzilaiBorwein
from .dadapt_adam import DAdaptAdam
from .lamb import LAMB
from .lars import LARS
from .lbfgs import LBFGS
from .lion import Lion
from .lookahead import Lookahead, Ranger
from .madgrad import MADGRAD
from .muon import Muon
from .nadam import NAdam
from .novograd import NovoGrad
from .optimizer import Optimizer, required
from .prodigy import Prodigy
from .qhm import QHM, QHAdam
from .radam import RAdam
from .ranger21 import Ranger21
from .rmsprop import RMSprop
from .rprop import Rprop
from .sam import SAM
from .schedule_free import ScheduleFreeAdamW, ScheduleFreeSGD
from .sgd import SGD
from .shampoo import Shampoo
from .soap import SOAP
from .sophia import Sophia
from .sparse_adam import SparseAdam
from .svrg import SVRG
from .swats import SWATS
from .tracing import Trace, TraceReader, trace_of
from .yogi import Yogi

__all__ = [
    "checks", "fast", "functional", "hooks", "lr_scheduler", "stopping", "swa_utils", "transforms",
    "Optimizer", "required",
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
    "ASGD", "Rprop", "Adafactor", "LBFGS", "Muon", "SparseAdam",
    "AdaBelief", "LAMB", "LARS", "Lookahead", "Ranger", "Ranger21", "SAM", "SWATS",
    "SVRG", "BarzilaiBorwein", "SGDBB", "SVRGBB", "Sophia", "Shampoo", "SOAP",
    "tracing", "Trace", "TraceReader", "trace_of",
    "Lion", "Adan", "ADOPT", "Yogi", "AdaBound", "QHM", "QHAdam", "AggMo", "NovoGrad", "MADGRAD",
    "AdEMAMix", "ScheduleFreeSGD", "ScheduleFreeAdamW", "Prodigy", "DAdaptAdam", "AdaHessian",
]
