"""``Embedding``: a lookup table of learned vectors, one row per token id."""
from __future__ import annotations

from .. import functional as F
from ..factories import empty
from ..grad_mode import no_grad
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """``out[..., :] = weight[input[...], :]`` for integer ``input`` of any shape.

    ``weight`` has shape ``(num_embeddings, embedding_dim)``, initialized from
    N(0, 1) as in PyTorch. With ``padding_idx`` that row starts at zero and never
    receives a gradient, so padding tokens map to a fixed zero vector. A
    negative ``padding_idx`` counts from the end, like a Python index.

    Mathematically an embedding is a Linear layer (without bias) applied to a
    one-hot vector; the lookup skips the multiplications by zero, and its
    backward scatter-adds the output gradients into the picked rows.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *,
                 device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _normalize_padding_idx(padding_idx, num_embeddings)
        self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype,
                                      device=device or "cpu"))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        self._zero_padding_row()

    def _zero_padding_row(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose weight is (a copy of) the 2-D ``embeddings``;
        ``freeze=True`` makes it not require gradients."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embeddings parameter is expected to be 2-dimensional, "
                             f"got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        module = cls(rows, cols, padding_idx=padding_idx, dtype=embeddings.dtype,
                     device=getattr(embeddings, "device", "cpu"))
        with no_grad():
            module.weight.copy_(embeddings)
        module.weight.requires_grad_(not freeze)
        return module

    def forward(self, input):  # noqa: A002
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


def _normalize_padding_idx(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx must be within num_embeddings "
                         f"(got {padding_idx} for {num_embeddings} embeddings)")
    return padding_idx % num_embeddings
