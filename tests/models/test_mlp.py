"""models.MLP and models.LogisticRegression: torch parity and a learning check."""
import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F
import optim
from models import MLP, LogisticRegression


@pytest.mark.parametrize("activation, torch_act", [
    ("tanh", torch.nn.Tanh), ("relu", torch.nn.ReLU), ("sigmoid", torch.nn.Sigmoid)])
def test_mlp_matches_torch_sequential(activation, torch_act):
    torch.manual_seed(0)
    sizes = [4, 6, 5, 3]
    ref = torch.nn.Sequential(torch.nn.Linear(4, 6), torch_act(), torch.nn.Linear(6, 5),
                              torch_act(), torch.nn.Linear(5, 3)).double()
    model = MLP(sizes, activation=activation).double()
    assert [n for n, _ in model.named_parameters()] == [
        f"layers.{k}.{w}" for k in range(3) for w in ("weight", "bias")]
    ref_params = list(ref.parameters())
    for p, q in zip(model.parameters(), ref_params):
        p.data[...] = q.detach().numpy()
    x = np.random.default_rng(0).standard_normal((7, 4))
    xt = torch.tensor(x, requires_grad=True)
    ref(xt).square().sum().backward()
    xm = mg.tensor(x, requires_grad=True)
    out = model(xm)
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for p, q in zip(model.parameters(), ref_params):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_mlp_arguments():
    assert MLP([3, 2], activation=lambda x: x)(mg.zeros(1, 3)).shape == (1, 2)
    with pytest.raises(ValueError, match="activation"):
        MLP([3, 2], activation="swish")
    with pytest.raises(ValueError, match="at least"):
        MLP([3])


def test_logistic_regression_learns_separable_classes():
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    y = rng.integers(0, 3, 150)
    x = mg.tensor(centers[y] + 0.5 * rng.standard_normal((150, 2)))
    mg.manual_seed(0)
    model = LogisticRegression(2, 3).double()
    assert [(n, p.shape) for n, p in model.named_parameters()] == [
        ("linear.weight", (3, 2)), ("linear.bias", (3,))]
    opt = optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    assert (model.predict(x).numpy() == y).mean() > 0.97
    np.testing.assert_allclose(model.predict_proba(x).numpy().sum(1), 1.0)
    binary = LogisticRegression(2, 1)
    p = binary.predict_proba(mg.zeros(4, 2)).numpy()
    assert p.shape == (4, 1) and np.all((p > 0) & (p < 1))


@pytest.mark.gpu
def test_mlp_and_logistic_regression_on_gpu():
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for model in (MLP([4, 8, 3]), LogisticRegression(4, 3)):
        cpu = model(mg.tensor(x)).numpy()
        model.to("cuda")
        out = model(mg.tensor(x, device="cuda"))
        out.sum().backward()
        assert out.device == "cuda"
        np.testing.assert_allclose(out.numpy(), cpu, rtol=1e-5, atol=1e-6)
