"""SparseAdam against torch.optim.SparseAdam, and the rule for rows of zeros.

minigrad's gradients are dense: a row (axis 0) whose gradient is all zero is
absent. torch gets the same gradients as sparse COO tensors holding exactly
the nonzero rows; parameters and moments must agree after every step
(float64, within 1e-12 relative).
"""
import numpy as np
import pytest

import minigrad as mg
import optim

torch = pytest.importorskip("torch")

SHAPES = [(6, 3), (5,), (4, 2, 2)]


def _sparse(g):
    rows = np.nonzero(np.any(g.reshape(g.shape[0], -1) != 0, axis=1))[0]
    return torch.sparse_coo_tensor(torch.tensor(rows[None, :]), torch.tensor(g[rows]), g.shape,
                                   check_invariants=True)


def _grad_with_zero_rows(rng, shape):
    g = rng.standard_normal(shape)
    g[rng.random(shape[0]) < 0.4] = 0.0          # absent rows
    if g.ndim > 1:
        g[0, ...] = 0.0
        g[0].flat[0] = 1e-3                        # one nonzero entry: the whole row is present
    return g


@pytest.mark.parametrize("cfg", [{}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-4}, {"maximize": True}], ids=str)
def test_sparse_adam_matches_torch_on_the_present_rows(cfg):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [mg.Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, ref = optim.SparseAdam(ours, **cfg), torch.optim.SparseAdam(theirs, **cfg)
    for t in range(12):
        for p, q, s in zip(ours, theirs, SHAPES):
            g = _grad_with_zero_rows(rng, s)
            p.grad, q.grad = mg.Tensor(g), _sparse(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=0, err_msg=f"step {t + 1}")
            for key in ("exp_avg", "exp_avg_sq"):
                # torch forms m + (g - m)(1 - beta1), minigrad beta1 m + (1 - beta1) g: where m nearly
                # cancels the two round differently, so the slack is relative to the buffer's size
                theirs_m = ref.state[q][key].numpy()
                np.testing.assert_allclose(opt.state[p][key], theirs_m, rtol=1e-12,
                                           atol=1e-13 * np.abs(theirs_m).max())
            assert opt.state[p]["step"] == int(ref.state[q]["step"])


def test_absent_rows_keep_parameter_and_moments_and_a_full_gradient_is_efficient_adam():
    w = mg.Tensor(np.ones((3, 2)), requires_grad=True)
    opt = optim.SparseAdam([w], lr=0.1)
    w.grad = mg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    opt.step()
    m, v, before = opt.state[w]["exp_avg"].copy(), opt.state[w]["exp_avg_sq"].copy(), w.numpy().copy()
    w.grad = mg.Tensor(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))   # rows 0 and 2 absent
    opt.step()
    for row in (0, 2):
        np.testing.assert_array_equal(w.numpy()[row], before[row])
        np.testing.assert_array_equal(opt.state[w]["exp_avg"][row], m[row])
        np.testing.assert_array_equal(opt.state[w]["exp_avg_sq"][row], v[row])
    assert not np.array_equal(w.numpy()[1], before[1])
    # no zero rows: Adam with the efficient bias correction
    rng = np.random.default_rng(3)
    a, b = mg.Tensor(np.ones((4, 3)), requires_grad=True), mg.Tensor(np.ones((4, 3)), requires_grad=True)
    sparse, adam = optim.SparseAdam([a], lr=0.01), optim.Adam([b], lr=0.01, bias_correction="efficient")
    for _ in range(10):
        g = rng.standard_normal((4, 3))
        a.grad, b.grad = mg.Tensor(g), mg.Tensor(g)
        sparse.step()
        adam.step()
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-13)


def test_sparse_adam_errors_like_torch():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    for kwargs, message in [({"lr": -1.0}, "Invalid learning rate"), ({"eps": 0.0}, "Invalid epsilon value"),
                            ({"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0")]:
        with pytest.raises(ValueError, match=message):
            optim.SparseAdam([w], **kwargs)
        with pytest.raises(ValueError, match=message):
            torch.optim.SparseAdam([torch.ones(2, requires_grad=True)], **kwargs)
