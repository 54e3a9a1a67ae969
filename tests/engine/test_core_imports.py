"""The engine, the optimizers and the models need NumPy and SciPy only.

In a fresh interpreter whose import system refuses the experiments' libraries
(:data:`experiments.dependencies.LIBRARIES`), PyTorch, CuPy, Dask and the test
tools, every module of ``minigrad``, ``optim`` and ``models`` must import, a model
must train a step, and nothing outside the standard library, NumPy and SciPy may
have been loaded.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from experiments.dependencies import LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
REFUSED = sorted(set(LIBRARIES) | {"torch", "cupy", "cupyx", "dask", "distributed", "pytest", "hypothesis",
                                   "experiments", "grading"})

PROBE = textwrap.dedent('''
    import importlib
    import importlib.abc
    import pkgutil
    import sys

    REFUSED = set(sys.argv[1].split(","))


    class Refuse(importlib.abc.MetaPathFinder):
        """Behave as if the refused top-level packages were not installed."""

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in REFUSED:
                raise ModuleNotFoundError(f"No module named {name!r} (refused by the test)", name=name)
            return None


    for name in [n for n in sys.modules if n.split(".")[0] in REFUSED]:
        del sys.modules[name]
    sys.meta_path.insert(0, Refuse())

    for package in ("minigrad", "optim", "models"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            importlib.import_module(info.name)

    import numpy as np

    import minigrad as mg
    import minigrad.functional as F
    import optim
    from models import LSTM, MLP

    mg.manual_seed(0)
    model = MLP([3, 8, 2])
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x = mg.tensor(np.random.default_rng(0).normal(size=(5, 3)))
    y = mg.tensor(np.array([0, 1, 1, 0, 1]))
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    out, _ = LSTM(3, 4)(mg.tensor(np.ones((2, 1, 3))))
    out.sum().backward()

    # cython_runtime: the module Cython-compiled extensions of NumPy and SciPy create
    allowed = {"numpy", "scipy", "minigrad", "optim", "models", "cython_runtime"}
    loaded = {n.split(".")[0] for n in sys.modules}
    outside = sorted(n for n in loaded - set(sys.stdlib_module_names) - set(sys.builtin_module_names) - allowed
                     if not n.startswith("_"))  # _distutils_hack, __editable__ finders, __main__
    print("OUTSIDE", outside)
''')


def test_core_packages_need_numpy_and_scipy_only():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", PROBE, ",".join(REFUSED)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "OUTSIDE []" in res.stdout, res.stdout
