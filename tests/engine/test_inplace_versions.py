"""In-place writes after the forward pass make backward raise, as in torch.

Each case is run in torch too: where torch raises its "modified by an inplace
operation" error, minigrad must raise GraphError; where torch computes a
gradient, minigrad must compute the same one.
"""
import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.errors import GraphError
from optim import SGD, Adam

MSG = "modified by an inplace operation"


def _both(build):
    """Run ``build(lib)`` with minigrad and torch: (minigrad outcome, torch outcome),
    each the leaf gradient as an array or the string "error"."""
    out = []
    for lib in ("mg", "torch"):
        try:
            out.append(build(lib))
        except GraphError as e:
            assert MSG in str(e)
            out.append("error")
        except RuntimeError as e:
            if lib == "mg" or "inplace" not in str(e):
                raise
            out.append("error")
    return out


def _leaf(lib, values):
    if lib == "mg":
        return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def _no_grad(lib):
    return mg.no_grad() if lib == "mg" else torch.no_grad()


def _grad(x):
    return np.asarray(x.grad.numpy() if hasattr(x.grad, "numpy") else x.grad, dtype=np.float64)


@pytest.mark.parametrize("op", ["copy_", "zero_", "fill_", "add_", "sub_", "mul_", "div_",
                                "setitem", "clamp_"])
def test_leaf_modified_after_mul_raises(op):
    def build(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        y = (x * x).sum()
        with _no_grad(lib):
            if op == "copy_":
                x.copy_(x * 10)
            elif op == "fill_":
                x.fill_(5.0)
            elif op == "setitem":
                x[0] = 7.0
            elif op == "clamp_":
                x.clamp_(0.0, 1.5)
            elif op == "zero_":
                x.zero_()
            else:
                getattr(x, op)(2.0)
        y.backward()
        return _grad(x)

    got, want = _both(build)
    assert want == "error" and got == "error"


def test_the_message_names_the_op_and_the_tensor():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.name = "weights"
    y = (x * x).sum()
    with mg.no_grad():
        x.copy_(mg.tensor([10.0, 10.0, 10.0]))
    with pytest.raises(GraphError, match=r"input \d of Mul \('weights'.*copy_"):
        y.backward()


def test_intermediate_zeroed_raises():
    def build(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        h = x * 2
        z = (h * h).sum()
        with _no_grad(lib):
            h.zero_()
        z.backward()
        return _grad(x)

    assert _both(build) == ["error", "error"]


def test_inplace_on_an_intermediate_in_grad_mode_is_refused():
    # torch records it (and then fails in backward here); minigrad does not
    # record in-place ops, so it refuses the write rather than skip it silently
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    with pytest.raises(GraphError, match="not recorded in the graph"):
        h.zero_()
    with pytest.raises(GraphError, match="not recorded in the graph"):
        h[0] = 1.0


def test_writing_an_output_that_backward_does_not_read_is_fine():
    def build(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        h = x * 2
        z = (h + 1).sum()
        with _no_grad(lib):
            h.add_(5.0)
        z.backward()
        return _grad(x)

    got, want = _both(build)
    np.testing.assert_array_equal(got, want)


def test_writing_an_output_that_backward_reads_raises():
    def build(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        h = x.exp()          # exp's backward reads its output
        z = h.sum()
        with _no_grad(lib):
            h.mul_(2.0)
        z.backward()
        return _grad(x)

    assert _both(build) == ["error", "error"]


def test_modifying_an_input_that_add_does_not_save_is_fine():
    def build(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        y = (x + 1).sum()
        with _no_grad(lib):
            x.add_(1.0)
        y.backward()
        return _grad(x)

    got, want = _both(build)
    np.testing.assert_array_equal(got, want)


def test_only_what_mul_saves_is_checked():
    # torch's mul saves `other` for self's gradient only: c does not require grad,
    # so changing x (needed only for c's gradient) is allowed
    def build(lib):
        x = _leaf(lib, [1.0, 2.0])
        c = _leaf(lib, [3.0, 4.0]).detach()
        y = (x * c).sum()
        with _no_grad(lib):
            c.mul_(2.0)
        y.backward()
        return _grad(x)

    assert _both(build) == ["error", "error"]

    def build2(lib):
        x = _leaf(lib, [1.0, 2.0])
        c = _leaf(lib, [3.0, 4.0]).detach()
        y = (x * c).sum()
        with _no_grad(lib):
            x.mul_(2.0)
        y.backward()
        return _grad(x)

    got, want = _both(build2)
    np.testing.assert_array_equal(got, want)


def test_write_through_a_view_is_seen_by_the_base():
    def build(lib):
        x = _leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
        y = (x.exp()).sum()  # exp saves its output
        e = x.exp()
        v = e.reshape(4) if lib == "mg" else e.view(4)
        out = (e * 1.0).sum() + y
        z = (e.sqrt()).sum()
        with _no_grad(lib):
            v[0] = 100.0  # writes into e through the view
        (z + out).backward()
        return _grad(x)

    assert _both(build) == ["error", "error"]


def test_write_through_detach_is_seen():
    def build(lib):
        x = _leaf(lib, [1.0, 2.0])
        y = (x * x).sum()
        x.detach().zero_()
        y.backward()
        return _grad(x)

    assert _both(build) == ["error", "error"]


def test_changes_before_the_forward_are_fine():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        x.mul_(3.0)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    assert x._version == 1


def test_writes_through_data_are_not_checked():
    # the documented escape hatch, as in torch
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[...] = 5.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0])


@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_optimizer_step_between_forward_and_second_backward_raises(opt_cls):
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    x = mg.tensor(rng.normal(size=(4, 3)))
    loss = ((x @ w) ** 2).sum() + (w * w).sum()  # weight decay: Mul saves w
    loss.backward(retain_graph=True)
    opt_cls([w], lr=0.1).step()
    with pytest.raises(GraphError, match=MSG):
        loss.backward()

    wt = torch.tensor(w.numpy(), requires_grad=True)
    tloss = ((torch.tensor(x.numpy()) @ wt) ** 2).sum() + (wt * wt).sum()
    tloss.backward(retain_graph=True)
    torch.optim.SGD([wt], lr=0.1).step()
    with pytest.raises(RuntimeError, match="inplace"):
        tloss.backward()



@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_an_optimizer_step_is_one_write(opt_cls):
    """SGD's own step calls the base class's: the step still counts as one write, not two."""
    w = mg.tensor(np.ones(3), requires_grad=True)
    w.grad = mg.tensor(np.ones(3))
    opt = opt_cls([w], lr=0.1)
    opt.step()
    before = w._vc[1]
    opt.step()
    assert w._vc[1] == before + 1


def test_version_counts_writes():
    x = mg.tensor([1.0, 2.0])
    assert x._version == 0
    x.add_(1.0)
    x[0] = 3.0
    x.zero_()
    assert x._version == 3


def test_inplace_on_a_leaf_requiring_grad_needs_no_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="no_grad"):
        x.add_(1.0)
    with pytest.raises(GraphError, match="no_grad"):
        x[0] = 1.0


def test_inplace_shape_mismatch_is_a_shape_error():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="copy_"):
        x.copy_(mg.tensor([1.0, 2.0, 3.0]))
