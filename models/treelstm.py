r"""Child-Sum Tree-LSTM (Tai, Socher & Manning 2015, section 3.1), level by level.

For node j with input x_j and children C(j) (none for a leaf),

.. math::

    \tilde h_j &= \sum_{k \in C(j)} h_k\\
    i_j &= \sigma(W^{(i)} x_j + U^{(i)} \tilde h_j + b^{(i)})\\
    f_{jk} &= \sigma(W^{(f)} x_j + U^{(f)} h_k + b^{(f)})
              \quad\text{(one forget gate per child } k)\\
    u_j &= \tanh(W^{(u)} x_j + U^{(u)} \tilde h_j + b^{(u)})\\
    o_j &= \sigma(W^{(o)} x_j + U^{(o)} \tilde h_j + b^{(o)})\\
    c_j &= i_j \odot u_j + \sum_{k \in C(j)} f_{jk} \odot c_k\\
    h_j &= o_j \odot \tanh(c_j)

Parameters, in the layout of ``torch.nn.LSTMCell`` (gate order i, f, g, o, where
the LSTM's cell candidate g is the paper's u):

==============  ===========  ====================================================
``weight_ih``   (4H, I)      rows [W^(i); W^(f); W^(u); W^(o)]
``weight_hh``   (4H, H)      rows [U^(i); U^(f); U^(u); U^(o)]; U^(f) multiplies
                             each child's h_k, the other three the sum h~_j
``bias_ih``     (4H,)        b = bias_ih + bias_hh (two vectors, as in torch,
``bias_hh``     (4H,)        so that weights can be copied from an LSTMCell)
==============  ===========  ====================================================

all drawn from U(-1/sqrt(H), 1/sqrt(H)).

Batched evaluation. The *height* of a node is 0 for a leaf and 1 + the largest
height of its children otherwise. All children of a node have smaller heights,
so the nodes of equal height, across every tree of the batch, can be computed
together once the lower heights are done:

1. ``W_{iuo} x_j + b_{iuo}`` for all N nodes: one matrix product (N, I) x (I, 3H);
   ``W_f x_{parent(k)} + b_f`` for every child k (each child has its own forget
   gate, which sees its parent's input): one product (N - #trees, I) x (I, H);
2. for each height l = 0, 1, ...: gather the states of the children K of the
   level's nodes J; sum them per parent with ``minigrad.segment_sum``
   (h~ for all of J at once); one product h~ U_{iuo}^T for the three node gates;
   one product h_K U_f^T for the forget gates of all children of the level;
   ``segment_sum(f * c_K)`` for the memory sum; then c_J and h_J elementwise.

The Python loop runs over heights (about log N for bushy trees, at most the
depth), never over nodes. :class:`TreeSchedule` holds the index bookkeeping,
computed on the host from ``parent`` (pass a schedule instead of ``parent`` to
reuse it). It orders the nodes so that the children one level reads from a
lower level are a contiguous block of it: gathering states is slicing.

The elementwise part of a level comes in two versions, chosen by ``cell``:
``"composed"`` writes the equations with minigrad ops (twice differentiable);
``"fused"`` (default) computes them with two ops whose backward is written by
hand on arrays (once differentiable, like the fused LSTM cell):

* :class:`ForgetFunction`: (a_x, a_h, c_K) -> f * c_K with f = sigma(a_x + a_h);
  backward: da_x = da_h = g c_K f (1 - f), dc_K = g f.
* :class:`NodeCellFunction`: (a_x, a_h, fc) -> (h, c) with i, u, o =
  sigma(a_i), tanh(a_u), sigma(a_o) of a = a_x + a_h, c = i u + fc,
  h = o tanh(c); backward: dc_tot = dc + dh o (1 - tanh^2 c),
  da_i = dc_tot u i (1 - i), da_u = dc_tot i (1 - u^2),
  da_o = dh tanh(c) o (1 - o), dfc = dc_tot.

(a_x is the input part W x + b of the pre-activations, a_h the recurrent part
U h~ or U_f h_k; adding them inside the op saves a pass and a graph node.)
"""
from __future__ import annotations

import math

import numpy as np

import minigrad.functional as F
from minigrad import backend, nn
from minigrad.errors import GraphError
from minigrad.function import Function
from minigrad.grad_mode import state as _grad_state
from minigrad.nn import init
from minigrad.ops import (
    concatenate,
    getitem,
    host_array,
    matmul,
    on_device,
    segment_sum,
    sigmoid,
    split,
    take_rows,
    tanh,
    transpose,
)
from minigrad.tensor import Tensor

from ._ops import sigmoid_

__all__ = ["TreeSchedule", "ChildSumTreeLSTM", "tree_heights", "batch_trees",
           "ForgetFunction", "NodeCellFunction"]


def tree_heights(parent):
    """Height of every node of a forest given by ``parent`` (-1 for a root).

    Vectorized peeling, one round per height: the leaves get height 0 and are
    removed; every node whose children are now all removed gets height 1; and
    so on. ``np.bincount`` counts the children still waiting. A node on a cycle
    never runs out of children and is reported.
    """
    parent = np.asarray(parent, dtype=np.int64)
    if parent.ndim != 1:
        raise ValueError(f"parent must be one-dimensional, got shape {parent.shape}")
    n = parent.shape[0]
    if n and (parent.min() < -1 or parent.max() >= n):
        raise ValueError(f"parent entries must be -1 (root) or a node index in [0, {n})")
    if np.any(parent == np.arange(n)):
        raise ValueError("a node cannot be its own parent")
    waiting = np.bincount(parent[parent >= 0], minlength=n)    # children not yet done
    height = np.full(n, -1, dtype=np.int64)
    ready = np.flatnonzero(waiting == 0)                       # the leaves
    level = 0
    while ready.size:
        height[ready] = level
        up = parent[ready]
        waiting -= np.bincount(up[up >= 0], minlength=n)
        ready = np.flatnonzero((waiting == 0) & (height < 0))
        level += 1
    if np.any(height < 0):
        raise ValueError("parent array contains a cycle: it is not a forest")
    return height


# ------------------------------------------------- the elementwise part, twice
def _once_differentiable(fn):
    if _grad_state.grad_enabled:
        raise GraphError(f"{fn.op_name} is once differentiable (its backward works on "
                         "arrays): build the model with cell='composed' for create_graph=True")


class ForgetFunction(Function):
    """(a_x, a_h, c_K) -> f * c_K with f = sigma(a_x + a_h): the forget-gated
    memory of every child (a_x = W_f x_j + b_f, a_h = U_f h_k)."""

    name = "TreeForgetFused"

    def forward(self, a_x, a_h, c_k):
        f = sigmoid_(a_x + a_h)
        self.saved = (f,)
        return f * c_k

    def backward(self, g):
        _once_differentiable(self)
        (f,) = self.saved
        g = g.data
        need = self.needs_input_grad
        d_a = g * self.inputs[2].data * f * (1 - f) if need[0] or need[1] else None
        d_c = g * f if need[2] else None
        return tuple(None if d is None else Tensor._make(d) for d in (d_a, d_a, d_c))


class NodeCellFunction(Function):
    """(a_x, a_h, fc) -> (h, c) with a = a_x + a_h split into (a_i, a_u, a_o):
    c = sigma(a_i) tanh(a_u) + fc, h = sigma(a_o) tanh(c).

    Leaves pass ``a_x`` alone (no children: a_h = 0, fc = 0).
    """

    name = "TreeNodeCellFused"

    def forward(self, a_x, a_h=None, fc=None):
        xp = backend.get_array_module(a_x)
        H = a_x.shape[1] // 3
        act = a_x.copy() if a_h is None else a_x + a_h
        sigmoid_(act[:, :H])
        xp.tanh(act[:, H:2 * H], out=act[:, H:2 * H])
        sigmoid_(act[:, 2 * H:])
        i, u, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:]
        c = i * u
        if fc is not None:
            c += fc
        tc = xp.tanh(c)
        self.saved = (act, tc)
        return o * tc, c

    def backward(self, gh, gc):
        _once_differentiable(self)
        act, tc = self.saved
        xp = backend.get_array_module(act)
        H = tc.shape[1]
        i, u, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:]
        gh = gh.data
        dc = gh * o
        dc *= 1 - tc * tc
        dc += gc.data
        d_a = xp.empty_like(act)
        xp.multiply(dc, u, out=d_a[:, :H])
        d_a[:, :H] *= i * (1 - i)
        xp.multiply(dc, i, out=d_a[:, H:2 * H])
        d_a[:, H:2 * H] *= 1 - u * u
        xp.multiply(gh, tc, out=d_a[:, 2 * H:])
        d_a[:, 2 * H:] *= o * (1 - o)
        d_a = Tensor._make(d_a)
        return (d_a,) if len(self.inputs) == 1 else (d_a, d_a, Tensor._make(dc))


def _forget_composed(a_x, a_h, c_k):
    return sigmoid(a_x + a_h) * c_k


def _node_composed(a_x, a_h=None, fc=None):
    a = a_x if a_h is None else a_x + a_h
    i, u, o = split(a, a.shape[1] // 3, 1)
    c = sigmoid(i) * tanh(u)
    if fc is not None:
        c = c + fc
    return sigmoid(o) * tanh(c), c


def _forget_fused(a_x, a_h, c_k):
    return ForgetFunction()(a_x, a_h, c_k)


def _node_fused(a_x, a_h=None, fc=None):
    fn = NodeCellFunction()
    return fn(a_x) if a_h is None else fn(a_x, a_h, fc)


CELLS = {"composed": (_forget_composed, _node_composed), "fused": (_forget_fused, _node_fused)}


def batch_trees(parents):
    """One forest from several trees: concatenate their ``parent`` arrays, shifting
    each tree's node ids by the number of nodes before it. Returns the joint
    ``parent`` array; tree b's nodes are rows offsets[b]..offsets[b+1]-1 of any
    per-node array concatenated in the same order."""
    out, offset = [], 0
    for parent in parents:
        parent = np.asarray(parent, dtype=np.int64)
        out.append(np.where(parent < 0, -1, parent + offset))
        offset += parent.shape[0]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


class TreeSchedule:
    """Level-by-level plan for a batch of trees (host-side NumPy).

    ``TreeSchedule(parent)`` with ``parent`` an int array of length N (-1 for a
    root). Nodes are put in *schedule order*: by height, and within a height
    by the height of their parent (the level that reads their state; roots
    last). So the children that level l reads from level m < l are one
    contiguous block of level m's rows: gathering them is a split and a
    concatenation, with no index arrays. Attributes:

    * ``height`` (N,), ``level_sizes``: nodes per height;
    * ``order``: node ids in schedule order; ``position``: its inverse
      (node -> row in schedule order);
    * ``blocks[m]``: sizes of the consecutive blocks of level m, one per
      reading level (increasing), the roots' block last;
    * ``levels[l]`` for l >= 1: ``(pieces, segments)``, where ``pieces`` lists
      ``(m, j)``: block j of level m holds children of level l, and
      ``segments`` gives, for each child in the concatenation of those blocks,
      the row of its parent inside level l;
    * ``child_parent``: the parent node id of every child, level after level in
      that same order, and ``child_counts``: how many children each level has;
    * ``roots``: root node ids in array order (tree b is the b-th root),
      ``tree_of`` (N,): the tree of every node.
    """

    def __init__(self, parent):
        parent = host_array(parent, np.int64).reshape(-1)
        n = parent.shape[0]
        self.num_nodes = n
        self.parent = parent
        self.height = height = tree_heights(parent)
        top = int(height.max()) + 1 if n else 0
        reader = np.where(parent >= 0, height[np.maximum(parent, 0)], top)  # parent's height
        self.order = np.lexsort((reader, height))          # by height, then reader
        self.position = np.empty(n, dtype=np.int64)
        self.position[self.order] = np.arange(n)
        self.level_sizes = np.bincount(height).tolist() if n else []
        starts = np.concatenate([[0], np.cumsum(self.level_sizes)]).astype(np.int64)
        row_in_level = self.position - starts[height]

        # the blocks of every level, and where each reading level finds them
        self.blocks, block_of = [], {}
        for m in range(len(self.level_sizes)):
            readers = reader[self.order[starts[m]:starts[m + 1]]]
            ids, sizes = np.unique(readers, return_counts=True)
            self.blocks.append(sizes.tolist())
            block_of.update({(m, int(r)): j for j, r in enumerate(ids)})
        self.levels = [None]
        child_parents, self.child_counts = [], []
        for level in range(1, len(self.level_sizes)):
            pieces = [(m, block_of[m, level]) for m in range(level) if (m, level) in block_of]
            k = self.order[reader[self.order] == level]     # this level's children, in order
            self.levels.append((pieces, row_in_level[parent[k]]))
            child_parents.append(parent[k])
            self.child_counts.append(len(k))
        self.child_parent = (np.concatenate(child_parents) if child_parents
                             else np.zeros(0, dtype=np.int64))

        self.roots = np.flatnonzero(parent < 0)
        root_of = np.where(parent < 0, np.arange(n), parent)
        while True:                                          # pointer jumping
            nxt = root_of[root_of]
            if np.array_equal(nxt, root_of):
                break
            root_of = nxt
        tree_index = np.full(n, -1, dtype=np.int64)
        tree_index[self.roots] = np.arange(len(self.roots))
        self.tree_of = tree_index[root_of]

    def padded_nodes(self):
        """``(index, valid)``, both (num_trees, max_nodes): row b lists tree b's
        nodes in node order, padded with the tree's root where ``valid`` is False."""
        counts = np.bincount(self.tree_of, minlength=self.num_trees)
        width = int(counts.max()) if self.num_trees else 0
        by_tree = np.argsort(self.tree_of, kind="stable")
        slot = np.arange(self.num_nodes) - np.repeat(np.cumsum(counts) - counts, counts)
        index = np.repeat(self.roots[:, None], width, axis=1)
        index[self.tree_of[by_tree], slot] = by_tree
        valid = np.arange(width)[None, :] < counts[:, None]
        return index, valid

    @property
    def num_trees(self):
        return len(self.roots)

    def to_device(self, like):
        """The index arrays moved to the device of Tensor ``like`` (cached per device)."""
        cache = self.__dict__.setdefault("_device_cache", {})
        device = like.device
        if device not in cache:
            segments = [None] + [on_device(seg, like) for _, seg in self.levels[1:]]
            identity = np.array_equal(self.order, np.arange(self.num_nodes))
            cache[device] = {
                "child_parent": on_device(self.child_parent, like),
                "order": None if identity else on_device(self.order, like),
                "position": None if identity else on_device(self.position, like),
                "segments": segments,
            }
        return cache[device]


class ChildSumTreeLSTM(nn.Module):
    """Child-Sum Tree-LSTM over a batch of trees (see the module docstring).

    ``ChildSumTreeLSTM(input_size, hidden_size, cell="fused")``; ``cell`` picks
    the elementwise part: ``"fused"`` (fast, once differentiable) or
    ``"composed"`` (ops only, twice differentiable).

    ``forward(x, parent) -> (h, c)``: ``x`` (N, input_size) holds the inputs of
    all nodes of all trees; ``parent`` (N integers) the parent of each node, -1
    for a root; ``h`` and ``c`` are (N, hidden_size), row j for node j. A
    precomputed :class:`TreeSchedule` may be passed as ``parent``.
    """

    def __init__(self, input_size, hidden_size, cell="fused", device=None, dtype=None):
        super().__init__()
        from minigrad.factories import empty

        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.input_size, self.hidden_size, self.cell = input_size, hidden_size, cell
        H = hidden_size
        device = device or "cpu"
        self.weight_ih = nn.Parameter(empty(4 * H, input_size, dtype=dtype, device=device))
        self.weight_hh = nn.Parameter(empty(4 * H, H, dtype=dtype, device=device))
        self.bias_ih = nn.Parameter(empty(4 * H, dtype=dtype, device=device))
        self.bias_hh = nn.Parameter(empty(4 * H, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, x, parent):
        sched = parent if isinstance(parent, TreeSchedule) else TreeSchedule(parent)
        if x.ndim != 2 or x.shape != (sched.num_nodes, self.input_size):
            raise ValueError(f"ChildSumTreeLSTM: expected x of shape ({sched.num_nodes}, "
                             f"{self.input_size}) for {sched.num_nodes} nodes, got {x.shape}")
        H = self.hidden_size
        if sched.num_nodes == 0:
            empty = Tensor._make(backend.get_array_module(x.data).zeros((0, H), dtype=x.dtype))
            return empty, empty
        idx = sched.to_device(x)

        # 1. the input half of every gate, for all nodes in one product (rows in
        #    schedule order, cut into levels)
        wi, wf, wu, wo = split(self.weight_ih, H, 0)
        ui, uf, uu, uo = split(self.weight_hh, H, 0)
        bi, bf, bu, bo = split(self.bias_ih + self.bias_hh, H, 0)
        w_iuo = concatenate([wi, wu, wo], 0)                     # (3H, I)
        u_iuo_t = transpose(concatenate([ui, uu, uo], 0))        # U_iuo^T (H, 3H)
        uf_t = transpose(uf)                                     # U_f^T (H, H)
        x_sorted = x if idx["order"] is None else take_rows(x, idx["order"])
        x_iuo = F.linear(x_sorted, w_iuo, concatenate([bi, bu, bo], 0))  # (N, 3H)
        x_iuo_levels = split(x_iuo, sched.level_sizes, 0)
        if sched.child_counts:
            # W_f x_j + b_f for the parent j of every child k (each child has its
            # own forget gate), in the children's order, cut into levels
            x_parent = getitem(x, idx["child_parent"])
            x_f_levels = (None,) + split(F.linear(x_parent, wf, bf), sched.child_counts, 0)

        forget, node = CELLS[self.cell]
        hs, cs, h_blocks, c_blocks = [], [], [], []
        for level, n_level in enumerate(sched.level_sizes):
            a_iuo = x_iuo_levels[level]
            if level == 0:                       # leaves: h~ = 0 and no children
                h, c = node(a_iuo)
            else:
                pieces, _ = sched.levels[level]
                seg = idx["segments"][level]
                # 2. the children's states: blocks of the lower levels
                h_k = concatenate([h_blocks[m][j] for m, j in pieces], 0)
                c_k = concatenate([c_blocks[m][j] for m, j in pieces], 0)
                h_sum = segment_sum(h_k, seg, n_level)                      # h~_j
                # f_jk c_k for every child, summed per parent: sum_k f_jk c_k
                fc = segment_sum(forget(x_f_levels[level], matmul(h_k, uf_t), c_k),
                                 seg, n_level)
                h, c = node(a_iuo, matmul(h_sum, u_iuo_t), fc)
            hs.append(h)
            cs.append(c)
            h_blocks.append(split(h, sched.blocks[level], 0))
            c_blocks.append(split(c, sched.blocks[level], 0))

        h, c = concatenate(hs, 0), concatenate(cs, 0)            # schedule order
        if idx["position"] is not None:                          # back to node order
            h, c = take_rows(h, idx["position"]), take_rows(c, idx["position"])
        return h, c

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, cell={self.cell!r}"
