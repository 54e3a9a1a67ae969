r"""
Adam line by line: the formula, the code and the trace
======================================================

Adam (Kingma & Ba 2015, Algorithm 1, in PyTorch's form) keeps two moving averages
per coordinate and divides one by the root of the other:

.. math::
   g_t &= \nabla f(\theta_{t-1}) \\
   m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
   v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
   \hat m_t &= m_t / (1-\beta_1^t) \\
   \hat v_t &= v_t / (1-\beta_2^t) \\
   \theta_t &= \theta_{t-1} - \gamma\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

This tutorial writes those six lines in NumPy, runs ``optim.Adam(trace=True)`` on
the same problem, and compares every quantity at every step.
"""

# %%
# The formula as six lines of NumPy
# ---------------------------------
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import optim


def adam_by_hand(theta, g, m, v, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g                # m_t
    v = beta2 * v + (1 - beta2) * g * g            # v_t
    m_hat = m / (1 - beta1 ** t)                   # m_hat_t
    v_hat = v / (1 - beta2 ** t)                   # v_hat_t
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)   # theta_t
    return theta, {"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}


# %%
# minigrad's own formula, ``optim.functional.adam``, has the same lines (plus
# PyTorch's options: weight decay, AMSGrad, maximize, the "efficient" bias
# correction). Its source, as the optimizer class calls it:
source = inspect.getsource(optim.functional.adam)
doc_end = source.find('"""', source.find('"""') + 3)   # print the body, after the docstring
print(source[doc_end + 3:] if doc_end > 0 else source)

# %%
# An ill-conditioned problem
# --------------------------
# :math:`f(\theta) = \tfrac12 (\theta_1^2 + 25\,\theta_2^2)`: the gradient is 25
# times steeper along :math:`\theta_2`. Gradient descent must take a step small
# enough for the steep direction; Adam divides each coordinate by its own gradient
# scale, :math:`\sqrt{\hat v_t}`.
A = np.array([1.0, 25.0])


def f(theta):
    return 0.5 * (A * theta * theta).sum()


theta = mg.tensor([-2.0, 1.0], dtype=np.float64, requires_grad=True)
opt = optim.Adam([theta], lr=0.1, trace=True)
steps = 60
for _ in range(steps):
    opt.zero_grad()
    f(theta).backward()
    opt.step()

# %%
# Every quantity, every step
# --------------------------
# ``opt.trace`` holds one record per step and parameter, keyed by the formula's
# names. Re-running the six NumPy lines on the traced gradients gives the same
# numbers:
by_hand_theta = np.array([-2.0, 1.0])
m = v = np.zeros(2)
worst = dict.fromkeys(["m", "v", "m_hat", "v_hat", "theta"], 0.0)
for record in opt.trace:
    by_hand_theta, q = adam_by_hand(by_hand_theta, record["g"], m, v, record["t"])
    m, v = q["m"], q["v"]
    q["theta"] = by_hand_theta
    for name in worst:
        worst[name] = max(worst[name], np.abs(q[name] - record[name]).max())
print("largest difference over", steps, "steps:", {k: f"{d:.1e}" for k, d in worst.items()})
assert max(worst.values()) < 1e-12

# %%
# The first three steps side by side: the formula's symbol, the trace's name and
# its value for the two coordinates. At :math:`t = 1`, :math:`\hat m_1 = g_1` and
# :math:`\hat v_1 = g_1^2`, so the first step is :math:`\gamma\,\mathrm{sign}(g_1)`
# in every coordinate, whatever the gradient's size.
symbols = {"g": "g_t", "m": "m_t", "v": "v_t", "m_hat": "m̂_t", "v_hat": "v̂_t", "theta": "θ_t"}
for record in opt.trace[:3]:
    print(f"t = {record['t']}")
    for name, symbol in symbols.items():
        print(f"   {symbol:5s} {name:6s} {np.array2string(record[name], precision=5)}")

# %%
# What the trace shows
# --------------------
# ``opt.trace_of(name)`` stacks one quantity over the steps. The effective step
# :math:`\gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)` is about the same size in
# both coordinates although their gradients differ 25-fold: that is the point of
# the division.
m_hat, v_hat, path = opt.trace_of("m_hat"), opt.trace_of("v_hat"), opt.trace_of("theta")
effective = 0.1 * np.abs(m_hat) / (np.sqrt(v_hat) + 1e-8)
g = opt.trace_of("g")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
u, w = np.meshgrid(np.linspace(-2.3, 0.6, 120), np.linspace(-1.2, 1.2, 120))
axes[0].contour(u, w, 0.5 * (u ** 2 + 25 * w ** 2), levels=25, cmap="Greys", linewidths=0.6)
full_path = np.vstack([[-2.0, 1.0], path])
axes[0].plot(full_path[:, 0], full_path[:, 1], "o-", ms=2.5, color="C1")
axes[0].set(title="Adam's path on f", xlabel="θ₁", ylabel="θ₂")
for k in range(2):
    axes[1].semilogy(np.abs(g[:, k]), label=f"|g| coordinate {k + 1}")
    axes[2].plot(effective[:, k], label=f"coordinate {k + 1}")
axes[1].set(title="gradient size", xlabel="step")
axes[2].set(title="effective step γ|m̂|/(√v̂+ε)", xlabel="step")
axes[1].legend()
axes[2].legend()
fig.tight_layout()

# %%
# The same formula through the class and through the function
# ------------------------------------------------------------
# ``optim.Adam`` applies ``optim.functional.adam`` parameter by parameter; calling
# the function directly on arrays is the same update:
state = optim.functional.adam_init(np.array([-2.0, 1.0]))
theta_np = np.array([-2.0, 1.0])
for record in opt.trace:
    theta_np, state, _ = optim.functional.adam(theta_np, record["g"], state, lr=0.1)
print("class:", theta.numpy(), " function:", theta_np)
assert np.array_equal(theta.numpy(), theta_np)
