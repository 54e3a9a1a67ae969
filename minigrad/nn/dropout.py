"""``Dropout``: randomly zero activations while training."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the survivors by 1/(1-p).

    Only in training mode (``module.train()``); after ``module.eval()`` it is the
    identity. The scaling keeps the expected value of every activation equal in
    both modes ("inverted dropout"). Masks come from minigrad's seeded generator.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, input):  # noqa: A002
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
