r"""
Autodiff from scratch with minigrad
===================================

Reverse-mode automatic differentiation in four steps: record the graph while
computing, look at it, walk it backwards with the chain rule, and check the result
against finite differences. Then the same machinery trains a small network.
"""

# %%
# A function and its graph
# ------------------------
# Take :math:`f(w, b) = \tanh(w x + b)^2` at :math:`x = 0.5`. Every operation on a
# tensor that requires a gradient is recorded as a node (a ``Function``) whose
# inputs are the tensors it used.
import numpy as np

import minigrad as mg
from minigrad.graphviz import plot

x = mg.tensor(0.5, dtype=np.float64)
x.name = "x"
w = mg.tensor(1.5, dtype=np.float64, requires_grad=True)
b = mg.tensor(-0.25, dtype=np.float64, requires_grad=True)

z = w * x + b
a = mg.tanh(z)
f = a * a
print("f =", f.item(), "  made by", f.creator)

# %%
# The graph that ``backward()`` will walk: leaves on top (blue if they require a
# gradient, dashed if constant), ops as rounded boxes, the output at the bottom.
# ``minigrad.graphviz.draw(f, "graph.svg")`` writes the same picture to a file
# (through Graphviz's ``dot`` when it is installed), and ``mg.to_dot(f)`` gives the
# DOT text.
ax = plot(f, {"w": w, "b": b})
_ = ax.set_title("the graph of f = tanh(w x + b)^2")

# %%
# The chain rule by hand
# ----------------------
# Backward visits the nodes from the output to the leaves. Each node multiplies the
# gradient it receives by its local derivative:
#
# .. math::
#    \frac{\partial f}{\partial a} = 2a, \qquad
#    \frac{\partial a}{\partial z} = 1 - \tanh^2 z, \qquad
#    \frac{\partial z}{\partial w} = x, \qquad \frac{\partial z}{\partial b} = 1.
zv = 1.5 * 0.5 - 0.25
av = np.tanh(zv)
df_dz = 2 * av * (1 - av ** 2)
by_hand = {"w": float(df_dz * 0.5), "b": float(df_dz)}
print("by hand:", by_hand)

# %%
# ``backward()`` does the same walk on the recorded graph and accumulates the
# results into the leaves' ``.grad``:
f.backward()
print("minigrad: w.grad =", w.grad.item(), " b.grad =", b.grad.item())
assert np.isclose(w.grad.item(), by_hand["w"]) and np.isclose(b.grad.item(), by_hand["b"])

# %%
# After ``backward()`` the values each op saved are freed (a second
# ``f.backward()`` raises ``GraphError`` unless the first had
# ``retain_graph=True``), but the graph's shape is kept, so it can still be drawn.
#
# Gradients accumulate
# --------------------
# A second forward and backward *adds* to ``.grad``, as in PyTorch; training loops
# call ``zero_grad()`` (or set ``.grad = None``) between steps.
f2 = mg.tanh(w * x + b) ** 2
f2.backward()
print("after a second backward: w.grad =", w.grad.item(), "= 2 x", by_hand["w"])
w.grad = None
b.grad = None

# %%
# Checking against finite differences
# -----------------------------------
# ``mg.gradcheck`` compares every analytical derivative with the central
# difference :math:`(f(\theta + \epsilon) - f(\theta - \epsilon)) / 2\epsilon` (in
# float64, where the comparison is meaningful).
W = mg.tensor(np.random.default_rng(0).normal(size=(3, 2)), requires_grad=True)
X = mg.tensor(np.random.default_rng(1).normal(size=(4, 3)))
print("gradcheck:", mg.gradcheck(lambda W: mg.tanh(X @ W).sum(), [W]))

# %%
# Second derivatives
# ------------------
# ``backward`` is itself written with tensor operations, so ``create_graph=True``
# records it too: differentiating the gradient gives second derivatives. Here
# :math:`g(t) = t^3`, :math:`g'(2) = 12`, :math:`g''(2) = 12`.
t = mg.tensor(2.0, dtype=np.float64, requires_grad=True)
(dg,) = mg.grad(t ** 3, [t], create_graph=True)
(d2g,) = mg.grad(dg, [t])
print("g'(2) =", dg.item(), " g''(2) =", d2g.item())

# %%
# Training a small network
# ------------------------
# The same three calls — forward, ``backward()``, an optimizer step — train a
# multilayer perceptron on two interleaved half-moons.
import matplotlib.pyplot as plt  # noqa: E402

import optim  # noqa: E402
from minigrad import functional as F  # noqa: E402
from models import MLP  # noqa: E402

rng = np.random.default_rng(0)
n = 200
angle = rng.uniform(0, np.pi, n)
label = rng.integers(0, 2, n)
points = np.stack([np.cos(angle) + label, np.sin(angle) * (1 - 2 * label) + 0.3 * label], 1)
points += rng.normal(scale=0.1, size=points.shape)
inputs, targets = mg.tensor(points), mg.tensor(label)

mg.manual_seed(0)
model = MLP([2, 16, 2], activation="tanh", dtype=np.float64)
opt = optim.Adam(model.parameters(), lr=0.05)
losses = []
for _ in range(150):
    opt.zero_grad()
    loss = F.cross_entropy(model(inputs), targets)
    loss.backward()
    opt.step()
    losses.append(loss.item())
accuracy = (model(inputs).numpy().argmax(1) == label).mean()
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.2f}")
assert losses[-1] < 0.5 * losses[0]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(losses)
ax1.set(xlabel="step", ylabel="cross-entropy", title="training loss")
grid = np.stack(np.meshgrid(np.linspace(-1.5, 2.5, 80), np.linspace(-1.2, 1.6, 60)), -1).reshape(-1, 2)
with mg.no_grad():
    p1 = F.softmax(model(mg.tensor(grid)), dim=1).numpy()[:, 1].reshape(60, 80)
ax2.contourf(np.linspace(-1.5, 2.5, 80), np.linspace(-1.2, 1.6, 60), p1, levels=20, cmap="coolwarm", alpha=0.6)
ax2.scatter(points[:, 0], points[:, 1], c=label, cmap="coolwarm", s=8, edgecolors="k", linewidths=0.2)
ax2.set(title="P(class 1)")
fig.tight_layout()

# %%
# The graph of one training step's loss, drawn after its ``backward()``: the
# parameters (blue) feed the matrix products, the data (dashed) enters at the top.
_ = plot(loss, dict(model.named_parameters()))
