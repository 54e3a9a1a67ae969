r"""The fast paths: the formulas of :mod:`optim.functional`, run faster, bitwise equal.

Nothing about an update is decided here; this package holds how a formula is
run quickly:

* :mod:`optim.fast.flat`: the flat path (``impl="flat"``): every param group
  stored as one flat buffer per dtype and device, the formula applied chunk by
  chunk (cache-sized), on several threads.
* :mod:`optim.fast.inplace`: the in-place twins of the elementwise formulas
  (``adam_``, ``sgd_``, ``sgd_lecture_``, ``rmsprop_``, ``adagrad_``): the
  same operations in the same order with ``out=``, so no step allocates.
* :mod:`optim.fast.kernels`: the elementwise formulas once more as *kernel
  functions* (array code of ``xp`` with ``out=``), and the host side of a fused
  step (its scalars), for both devices;
* :mod:`optim.fast.cpu`: a kernel function compiled to one C loop with the
  machine's C compiler (bitwise NumPy's results), which the flat path uses on
  the CPU (``MINIGRAD_CPU_FUSED=0`` or no compiler: the in-place twins);
* :mod:`optim.fast.gpu`: a kernel function compiled by ``cupy.fuse``, which the
  flat path uses on the GPU.
* :class:`FlatPath`: the mixin that gives an optimizer class the ``impl``
  argument (``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``).

The results are bitwise equal to the teaching path's (the pure formula
parameter by parameter): ``tests/optim/test_fast_path.py``.
"""
from . import cpu, flat, gpu, inplace, kernels
from .flat import get_num_threads, set_num_threads
from .inplace import adagrad_, adam_, rmsprop_, sgd_, sgd_lecture_
from .mixin import IMPLS, FlatPath

__all__ = ["cpu", "flat", "gpu", "inplace", "kernels", "FlatPath", "IMPLS", "get_num_threads", "set_num_threads",
           "adagrad_", "adam_", "rmsprop_", "sgd_", "sgd_lecture_"]
