"""The study command's usage errors, its listing, and Ctrl-C."""
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import pytest

from experiments.__main__ import main
from experiments.study.method_naming import select_methods
from experiments.study.profiles import get_profile, override

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("args, message", [
    (["study", "no-such-study"], "unknown study 'no-such-study'"),
    (["study", "method-naming", "--methods", "SGD,Nope"], "unknown method 'Nope'"),
    (["study", "method-naming", "--methods", "local:SWA"], "select at least one global method"),
    (["study", "method-naming", "--set", "hidden=3"], "--set expects KEY=VALUE"),
    (["study", "method-naming", "--set", "max_train=many"], "--set max_train"),
    (["study", "method-naming", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_usage_errors_exit_2_with_a_message(args, message, capsys, tmp_path):
    assert main(args + ["--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_bad_data_path_is_a_usage_error(capsys, tmp_path):
    assert main(["study", "method-naming", "--profile", "smoke", "--data", str(tmp_path / "none"),
                 "--out", str(tmp_path)]) == 2
    assert "neither 'python', 'java' nor an existing file" in capsys.readouterr().err


def test_method_selection_and_profile_overrides():
    sel = select_methods("SGD,LaRAdam,local:BB")
    assert sel == {"global": ["SGD", "LaRAdam"], "local": ["BB", "LaRAdam"]}
    assert select_methods(None)["local"] == ["Adadelta", "BB", "LaRAdam", "SVRG", "SWA"]
    p = override(get_profile("quick"), ["max_train=10", "max_nodes=none", "dropout=0.5"])
    assert (p.max_train, p.max_nodes, p.dropout, p.seeds) == (10, None, 0.5, 3)


def test_list_names_the_studies(capsys):
    assert main(["list"]) == 0
    assert "method-naming" in capsys.readouterr().out


def test_ctrl_c_stops_with_one_line(tmp_path):
    src = tmp_path / "code"
    for pkg in ("json", "email", "http"):
        shutil.copytree(os.path.join(sysconfig.get_paths()["stdlib"], pkg), src / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=ROOT, MINIGRAD_NO_PROGRESS="1", MINIGRAD_DATA_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "experiments", "study", "method-naming", "--profile", "smoke", "--data", str(src),
           "--out", str(tmp_path / "out"), "--workers", "0", "--set", "global_epochs=50"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    trials = tmp_path / "out" / "method-naming" / "trials"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not list(trials.glob("*/*/*/checkpoint.ckpt")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 130, err.decode()[-2000:]
    assert lines[-1].startswith("interrupted: finished trials are kept")
    assert "Traceback" not in err.decode()
