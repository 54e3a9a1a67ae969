"""Small models that the optimizer studies train.

=====================  ========================================================
``mlp.py``             ``MLP``, ``LogisticRegression`` (the demos)
``lstm.py``            ``LSTM`` (torch.nn.LSTM's parameters), ``LSTMCell``; the
                       cell composed from ops and the fused cell (one op)
``treelstm.py``        ``ChildSumTreeLSTM`` (Tai et al. 2015), evaluated level
                       by level; ``TreeSchedule``, ``batch_trees``
``attention.py``       ``LuongAttention`` (general score)
``tree2seq.py``        ``Tree2Seq``: TreeLSTM encoder, LSTM decoder with attention
``transformer.py``     ``MultiheadAttention``, ``TransformerEncoderLayer``,
                       ``TransformerDecoderLayer``, ``Transformer``
``decoding.py``        greedy and beam-search decoding
=====================  ========================================================

Every model runs unchanged on the GPU after ``model.to("cuda")``: array work
goes through :mod:`minigrad.backend`, never through NumPy on tensor data.
"""
from .attention import LuongAttention
from .decoding import beam_search, greedy_search
from .lstm import LSTM, LSTMCell, LSTMCellFunction, lstm_cell_composed, lstm_cell_fused
from .mlp import MLP, LogisticRegression
from .transformer import (
                          MultiheadAttention,
                          PositionalEncoding,
                          Transformer,
                          TransformerDecoderLayer,
                          TransformerEncoderLayer,
                          causal_mask,
)
from .tree2seq import Tree2Seq
from .treelstm import ChildSumTreeLSTM, TreeSchedule, batch_trees, tree_heights

__all__ = ["MLP", "LogisticRegression", "LSTM", "LSTMCell", "LSTMCellFunction",
           "lstm_cell_composed", "lstm_cell_fused", "ChildSumTreeLSTM", "TreeSchedule",
           "batch_trees", "tree_heights", "LuongAttention", "Tree2Seq", "MultiheadAttention",
           "PositionalEncoding", "Transformer", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "causal_mask", "greedy_search", "beam_search"]
