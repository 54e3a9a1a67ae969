"""The README's example training must run and make the loss fall."""
import importlib.util
from pathlib import Path


def _load(name):
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_mlp_loss_falls(capsys):
    first, last = _load("train_mlp").main(["--epochs", "30"])
    assert last < 0.7 * first
    assert "loss fell" in capsys.readouterr().out
