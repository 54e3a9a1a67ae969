"""Shampoo with update_freq > 1: no stale roots of a rank-deficient statistic.

A root computed from the statistic of one gradient is eps^(-1/2k) in every
direction that gradient missed; reused on the next steps it blew those
directions up (steps of 50 on a vector where update_freq=1 moves 0.01). A
mode's root is now recomputed at every step until its statistic has full rank.
"""
import numpy as np
import pytest

import minigrad as mg
import optim


def _step_lengths(shape, update_freq, steps=25, beta=None):
    rng = np.random.default_rng(1)
    w = mg.Tensor(np.zeros(shape), requires_grad=True)
    opt = optim.Shampoo([w], lr=0.01, update_freq=update_freq, beta=beta, trace=["recomputed"])
    lengths = []
    for _ in range(steps):
        before = w.numpy().copy()
        w.grad = mg.Tensor(rng.standard_normal(shape))
        opt.step()
        lengths.append(np.linalg.norm(w.numpy() - before))
    return np.array(lengths), [r["recomputed"] for r in opt.trace], opt.state[w]["full_rank"]


@pytest.mark.parametrize("shape, beta", [((20,), None), ((4, 3), None), ((3, 8), 0.9), ((6, 2, 2), None)])
def test_stale_roots_take_steps_of_the_size_of_fresh_ones(shape, beta):
    fresh, _, _ = _step_lengths(shape, 1, beta=beta)
    for update_freq in (2, 5):
        stale, recomputed, full_rank = _step_lengths(shape, update_freq, beta=beta)
        assert stale.max() < 5 * fresh.max(), (update_freq, stale, fresh)
        assert all(full_rank)
        # after full rank, only the scheduled steps 1, 1 + f, 1 + 2f, ... recompute
        last_growth = max([t for t, r in enumerate(recomputed, 1) if r and (t - 1) % update_freq], default=0)
        assert all(not r for t, r in enumerate(recomputed, 1) if t > last_growth and (t - 1) % update_freq)


def test_a_vector_statistic_needs_n_gradients_for_full_rank():
    """Full-matrix AdaGrad on R^20: rank grows by one per step, so roots are fresh for 20 steps."""
    _, recomputed, _ = _step_lengths((20,), 5, steps=25)
    assert [t for t, r in enumerate(recomputed, 1) if r] == list(range(1, 21)) + [21]
