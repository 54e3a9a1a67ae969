"""Every op that takes an axis raises IndexError for one out of range (no wrapping)."""
import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F

A2 = np.arange(6.0).reshape(2, 3)

CASES = {
    "permute": (lambda x: x.permute(0, 2), lambda t: t.permute(0, 2)),
    "transpose": (lambda x: mg.transpose(x, 0, 2), lambda t: t.transpose(0, 2)),
    "squeeze": (lambda x: mg.squeeze(x, 2), lambda t: t.squeeze(2)),
    "unsqueeze": (lambda x: mg.unsqueeze(x, 3), lambda t: t.unsqueeze(3)),
    "unsqueeze_neg": (lambda x: mg.unsqueeze(x, -4), lambda t: t.unsqueeze(-4)),
    "flatten": (lambda x: mg.flatten(x, 0, 2), lambda t: t.flatten(0, 2)),
    "concatenate": (lambda x: mg.concatenate([x, x], 2), lambda t: torch.cat([t, t], 2)),
    "concatenate_neg": (lambda x: mg.concatenate([x, x], -3), lambda t: torch.cat([t, t], -3)),
    "stack": (lambda x: mg.stack([x, x], 3), lambda t: torch.stack([t, t], 3)),
    "split": (lambda x: mg.split(x, 1, 2), lambda t: t.split(1, 2)),
    "chunk": (lambda x: mg.chunk(x, 2, 2), lambda t: t.chunk(2, 2)),
    "sum": (lambda x: mg.sum(x, 2), lambda t: t.sum(2)),
    "mean": (lambda x: mg.mean(x, -3), lambda t: t.mean(-3)),
    "max": (lambda x: mg.max(x, 2), lambda t: t.amax(2)),
    "logsumexp": (lambda x: mg.logsumexp(x, 2), lambda t: t.logsumexp(2)),
    "softmax": (lambda x: F.softmax(x, 2), lambda t: t.softmax(2)),
    "log_softmax": (lambda x: F.log_softmax(x, 2), lambda t: t.log_softmax(2)),
    "index_add": (lambda x: mg.index_add(x, 2, np.array([0]), x[:, :1]),
                  lambda t: t.index_add(2, torch.tensor([0]), t[:, :1])),
    "argmax": (lambda x: x.argmax(2), lambda t: t.argmax(2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_of_range_axis_raises_index_error(name):
    ours, theirs = CASES[name]
    with pytest.raises(IndexError):
        theirs(torch.tensor(A2))
    with pytest.raises(IndexError) as info:
        ours(mg.tensor(A2))
    message = str(info.value)
    op = name.split("_neg")[0]
    assert op in message and "2 dimensions" in message, message


def test_concatenate_used_to_wrap_silently():
    a = mg.tensor(np.ones((2, 2)))
    with pytest.raises(IndexError, match=r"concatenate: axis 2 .* 2 dimensions"):
        mg.concatenate([a, a], 2)


@pytest.mark.parametrize("axis", [-2, -1, 0, 1])
def test_in_range_axes_match_torch(axis):
    x = mg.tensor(A2)
    t = torch.tensor(A2)
    np.testing.assert_array_equal(mg.concatenate([x, x], axis).numpy(),
                                  torch.cat([t, t], axis).numpy())
    np.testing.assert_array_equal(mg.unsqueeze(x, axis).numpy(), t.unsqueeze(axis).numpy())
    np.testing.assert_array_equal(mg.sum(x, axis).numpy(), t.sum(axis).numpy())


def test_axis_must_be_an_integer():
    with pytest.raises(TypeError, match="axis must be an integer"):
        mg.sum(mg.tensor(A2), 1.0)


def test_zero_dim_accepts_axis_0_and_minus_1_like_torch():
    x, t = mg.tensor(3.0), torch.tensor(3.0)
    for axis in (0, -1):
        assert mg.sum(x, axis).item() == t.sum(axis).item()
        assert mg.unsqueeze(x, axis).shape == tuple(t.unsqueeze(axis).shape)
    with pytest.raises(IndexError):
        t.sum(1)
    with pytest.raises(IndexError, match="sum: axis 1"):
        mg.sum(x, 1)
