"""models.ChildSumTreeLSTM (level by level) against the plain per-node recursion.

The reference is Tai et al.'s Child-Sum equations written node by node in torch
(recursion over children), with the weights copied; outputs and gradients with
respect to the inputs and every parameter are compared on random forests.
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import GraphError
from models import ChildSumTreeLSTM, TreeSchedule, batch_trees, tree_heights
from models.treelstm import ForgetFunction, NodeCellFunction

TOL = dict(rtol=1e-9, atol=1e-11)


@st.composite
def forests(draw, max_trees=4, max_nodes=9):
    """A parent array of 1..max_trees random trees, node ids shuffled across trees."""
    parent = []
    for _ in range(draw(st.integers(1, max_trees))):
        base = len(parent)
        parent.append(-1)
        for j in range(1, draw(st.integers(1, max_nodes))):
            parent.append(base + draw(st.integers(0, j - 1)))
    perm = draw(st.permutations(range(len(parent))))     # new node i is old node perm[i]
    new_id = np.empty(len(parent), dtype=np.int64)
    new_id[list(perm)] = np.arange(len(parent))
    return np.array([-1 if parent[old] < 0 else new_id[parent[old]] for old in perm])


def torch_per_node(x, parent, weights):
    """Child-Sum TreeLSTM by plain recursion, one node at a time (Tai et al. 2015, 3.1)."""
    w_ih, w_hh, b_ih, b_hh = weights
    H = w_hh.shape[1]
    W_i, W_f, W_u, W_o = w_ih.split(H)
    U_i, U_f, U_u, U_o = w_hh.split(H)
    b_i, b_f, b_u, b_o = (b_ih + b_hh).split(H)
    children = {j: [k for k in range(len(parent)) if parent[k] == j] for j in range(len(parent))}
    memo = {}

    def node(j):
        if j not in memo:
            kids = [node(k) for k in children[j]]
            h_tilde = sum((h for h, _ in kids), torch.zeros(H, dtype=x.dtype))
            i = torch.sigmoid(W_i @ x[j] + U_i @ h_tilde + b_i)
            u = torch.tanh(W_u @ x[j] + U_u @ h_tilde + b_u)
            o = torch.sigmoid(W_o @ x[j] + U_o @ h_tilde + b_o)
            c = i * u
            for h_k, c_k in kids:
                c = c + torch.sigmoid(W_f @ x[j] + U_f @ h_k + b_f) * c_k   # f_jk c_k
            memo[j] = (o * torch.tanh(c), c)
        return memo[j]

    states = [node(j) for j in range(len(parent))]
    return torch.stack([h for h, _ in states]), torch.stack([c for _, c in states])


def compare_with_per_node(parent, cell, I=3, H=4, seed=0):
    rng = np.random.default_rng(seed)
    N = len(parent)
    mg.manual_seed(seed)
    m = ChildSumTreeLSTM(I, H, cell=cell).double()
    x = rng.standard_normal((N, I))
    gh, gc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    weights = [torch.tensor(p.numpy(), requires_grad=True)
               for p in (m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)]
    xt = torch.tensor(x, requires_grad=True)
    h_t, c_t = torch_per_node(xt, parent, weights)
    ((h_t * torch.tensor(gh)).sum() + (c_t * torch.tensor(gc)).sum()).backward()

    xm = mg.tensor(x, requires_grad=True)
    h, c = m(xm, parent)
    ((h * mg.tensor(gh)).sum() + (c * mg.tensor(gc)).sum()).backward()

    np.testing.assert_allclose(h.numpy(), h_t.detach().numpy(), err_msg="h", **TOL)
    np.testing.assert_allclose(c.numpy(), c_t.detach().numpy(), err_msg="c", **TOL)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), err_msg="dx", **TOL)
    for p, w, name in zip((m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh), weights,
                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        # a batch of leaves never uses weight_hh: no gradient (torch's recursion: zeros)
        grad = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        assert p.grad is not None or (name == "weight_hh" and np.all(parent < 0))
        np.testing.assert_allclose(grad, w.grad.numpy(), err_msg=name, **TOL)


@given(parent=forests(), cell=st.sampled_from(["fused", "composed"]),
       seed=st.integers(0, 2**16))
def test_matches_per_node_recursion_on_random_forests(parent, cell, seed):
    compare_with_per_node(parent, cell, seed=seed)


@pytest.mark.parametrize("cell", ["fused", "composed"])
@pytest.mark.parametrize("parent", [
    [-1],                                        # one leaf
    [-1, 0, 1, 2, 3, 4, 5, 6],                   # a chain: 8 levels of one node
    [-1, 0, 0, 0, 0, 0],                         # a star: one parent, five children
    [3, 3, -1, 2, 2, -1, 5, 6, 6, 2],            # two trees, children of mixed heights
])
def test_matches_per_node_recursion_on_fixed_shapes(cell, parent):
    compare_with_per_node(np.array(parent), cell)


def test_fused_and_composed_agree_in_float32():
    rng = np.random.default_rng(0)
    parent = batch_trees([[-1, 0, 0, 1, 1, 2], [-1, 0, 1]])
    x = mg.tensor(rng.standard_normal((len(parent), 8)).astype(np.float32))
    mg.manual_seed(0)
    fused = ChildSumTreeLSTM(8, 16)
    composed = ChildSumTreeLSTM(8, 16, cell="composed")
    composed.load_state_dict(fused.state_dict())
    for a, b in zip(fused(x, parent), composed(x, parent)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_fused_level_ops_gradcheck():
    rng = np.random.default_rng(1)
    a_x, a_h, c_k = (mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
                     for _ in range(3))
    assert mg.gradcheck(lambda a, b, c: ForgetFunction()(a, b, c), [a_x, a_h, c_k])
    a_x, a_h = (mg.tensor(rng.standard_normal((4, 9)), requires_grad=True) for _ in range(2))
    fc = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert mg.gradcheck(lambda a, b, f: NodeCellFunction()(a, b, f), [a_x, a_h, fc])
    assert mg.gradcheck(lambda a: NodeCellFunction()(a), [a_x])


def test_composed_is_twice_differentiable_and_fused_says_it_is_not():
    parent = np.array([-1, 0, 0, 1])
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    mg.manual_seed(0)
    m = ChildSumTreeLSTM(2, 2, cell="composed").double()
    assert mg.gradgradcheck(lambda x: m(x, parent)[0], [x])
    m.cell = "fused"
    with pytest.raises(GraphError, match="once differentiable"):
        mg.grad(m(x, parent)[0].sum(), [x], create_graph=True)


def test_parameter_names_and_shapes():
    m = ChildSumTreeLSTM(5, 7)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        ("weight_ih", (28, 5)), ("weight_hh", (28, 7)), ("bias_ih", (28,)), ("bias_hh", (28,))]
    assert max(np.abs(p.numpy()).max() for p in m.parameters()) <= 1 / np.sqrt(7)


# ------------------------------------------------------------------ schedule
def test_schedule_levels_heights_and_trees():
    #        0            5
    #      / | \          |
    #     1  2  3         6
    #    /       \
    #   4         7
    parent = np.array([-1, 0, 0, 0, 1, -1, 5, 3])
    s = TreeSchedule(parent)
    np.testing.assert_array_equal(s.height, [2, 1, 0, 1, 0, 1, 0, 0])
    assert s.level_sizes == [4, 3, 1]
    # by height, then by the height of the parent that reads the state (roots last)
    np.testing.assert_array_equal(s.order, [4, 6, 7, 2, 1, 3, 5, 0])
    np.testing.assert_array_equal(s.order[s.position], np.arange(8))
    assert s.blocks == [[3, 1], [2, 1], [1]]
    # level 1 reads block 0 of level 0 (nodes 4, 6, 7; parents 1, 5, 3 = rows 0, 2, 1)
    pieces, seg = s.levels[1]
    assert pieces == [(0, 0)]
    np.testing.assert_array_equal(seg, [0, 2, 1])
    # level 2 (node 0) reads node 2 (block 1 of level 0), then nodes 1, 3 (block 0 of level 1)
    pieces, seg = s.levels[2]
    assert pieces == [(0, 1), (1, 0)]
    np.testing.assert_array_equal(seg, [0, 0, 0])
    np.testing.assert_array_equal(s.child_parent, [1, 5, 3, 0, 0, 0])
    assert s.child_counts == [3, 3]
    np.testing.assert_array_equal(s.roots, [0, 5])
    np.testing.assert_array_equal(s.tree_of, [0, 0, 0, 0, 0, 1, 1, 0])
    index, valid = s.padded_nodes()
    np.testing.assert_array_equal(index, [[0, 1, 2, 3, 4, 7], [5, 6, 5, 5, 5, 5]])
    np.testing.assert_array_equal(valid.sum(1), [6, 2])


def test_schedule_rejects_non_forests():
    with pytest.raises(ValueError, match="cycle"):
        tree_heights([1, 2, 0])
    with pytest.raises(ValueError, match="own parent"):
        tree_heights([-1, 1])
    with pytest.raises(ValueError, match="-1"):
        tree_heights([-1, 5])


def test_batch_trees_offsets_parents():
    np.testing.assert_array_equal(batch_trees([[-1, 0], [-1, 0, 1]]), [-1, 0, -1, 2, 3])


def test_empty_batch():
    m = ChildSumTreeLSTM(3, 4)
    h, c = m(mg.zeros(0, 3), np.zeros(0, dtype=np.int64))
    assert h.shape == (0, 4) and c.shape == (0, 4)


@pytest.mark.gpu
def test_treelstm_on_gpu_matches_cpu():
    rng = np.random.default_rng(0)
    parent = np.array([3, 3, -1, 2, 2, -1, 5, 6, 6, 2])
    x = rng.standard_normal((10, 3)).astype(np.float32)
    mg.manual_seed(0)
    m = ChildSumTreeLSTM(3, 4)
    results = {}
    for device in ("cpu", "cuda"):
        m.to(device)
        for cell in ("fused", "composed"):
            m.cell = cell
            m.zero_grad()
            xm = mg.tensor(x, device=device, requires_grad=True)
            h, c = m(xm, parent)
            assert h.device == device
            (h.sum() + c.sum()).backward()
            results[device, cell] = [h.numpy(), c.numpy(), xm.grad.numpy(),
                                     m.weight_hh.grad.numpy()]
    for cell in ("fused", "composed"):
        for a, b in zip(results["cpu", cell], results["cuda", cell]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
