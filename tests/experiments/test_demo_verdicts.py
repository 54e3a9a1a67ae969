"""The faster and multi-seed paths the demonstrations use compute what the plain loops do."""
import numpy as np

from experiments.demos import amsgrad_counterexample as ams
from experiments.demos import trajectories as traj


def test_online_adam_sequence_matches_the_theorem_loop():
    rng = np.random.default_rng(0)
    c = np.where(rng.random(3000) < 0.01, 1010.0, -10.0)
    for amsgrad in (False, True):
        loop = ams.online_adam(lambda t: c[t - 1], len(c), 1.0, 0.9, 0.99, amsgrad,
                               expected_coef=0.2, record_every=7)
        fast = ams.online_adam_sequence(c, 1.0, 0.9, 0.99, amsgrad, expected_coef=0.2,
                                        record_every=7)
        assert loop[0] == fast[0]
        for a, b in zip(loop[1:], fast[1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_trajectory_seeds_run_side_by_side_as_alone():
    """Each row of a multi-seed run equals the same noise run on its own."""
    steps = 40
    noise = 0.5 * np.random.default_rng(1).standard_normal((3, steps, 2))
    for opt in ("Adam", "Momentum", "RAdam"):
        paths, losses = traj.run_one("rosenbrock", opt, steps, noise)
        assert paths.shape == (3, steps + 1, 2) and losses.shape == (3, steps + 1)
        for i in range(3):
            alone, alone_losses = traj.run_one("rosenbrock", opt, steps, noise[i:i + 1])
            np.testing.assert_allclose(paths[i], alone[0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(losses[i], alone_losses[0], rtol=1e-12)


def test_trajectory_divergence_freezes_only_that_run():
    steps = 30
    paths, losses = traj.run_one("rosenbrock", "RAdam", steps, None)
    assert np.all(np.isfinite(paths))
    # RAdam's un-normalised first steps throw it far out of the valley
    assert losses[0, -1] > losses[0, 0]
