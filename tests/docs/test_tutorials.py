"""The tutorials run as they are, each in a fresh interpreter, and are named as tutorials."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("tutorial_*.py"))


def test_at_least_the_four_tutorials():
    names = {p.stem for p in TUTORIALS}
    assert {"tutorial_autodiff", "tutorial_adam", "tutorial_radam",
            "tutorial_comparing_optimizers"} <= names


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{path.name} printed nothing"
    # a tutorial is a page of text and code: it opens with a title and explains itself
    source = path.read_text()
    assert source.lstrip().startswith(('r"""', '"""')) and "\n=====" in source.split("# %%")[0]
    assert source.count("# %%") >= 3


def test_getting_started_code_runs(tmp_path):
    """The Python blocks of the getting-started page, run in order, train the model."""
    import re

    page = (ROOT / "docs" / "getting_started.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", page, re.S))
    assert "optim.Adam" in code and "loss.backward()" in code
    script = tmp_path / "getting_started.py"
    script.write_text(code + "\nassert loss.item() < 0.3, loss.item()\n")
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
