"""The command line's failure modes: usage errors exit 2 with one line, Ctrl-C exits
130 and marks the run interrupted, concurrent runs into one folder are refused,
and quick runs say so."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import registry, runner
from experiments.__main__ import main
from experiments.context import QUICK_NOTE, RunContext

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def throwaway():
    """Register experiments that work, or are interrupted, and remove them after."""
    import matplotlib.pyplot as plt

    @registry.experiment("zz-cli-ok", "works")
    def ok(ctx):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        ctx.savefig(fig, "line")
        ctx.write_report("A line.")
        return {"value": 1.0}

    @registry.experiment("zz-cli-ctrl-c", "is interrupted")
    def ctrl_c(ctx):
        raise KeyboardInterrupt

    yield
    for name in ("zz-cli-ok", "zz-cli-ctrl-c"):
        registry._REGISTRY.pop(name, None)


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert fragment in err, err


# --- usage errors -----------------------------------------------------------------------

def test_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("x")
    assert main(["run", "trajectories", "--out", str(target), "--quick"]) == 2
    _one_line_error(capsys, "not a directory")


def test_out_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["run", "lectures", "--out", str(blocker / "sub"), "--quick"]) == 2
    _one_line_error(capsys, "cannot write")


@pytest.mark.parametrize("seed", ["-1", str(2**32), str(10**30), "abc", "1.5"])
def test_bad_seed(seed, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "trajectories", "--seed", seed])
    assert info.value.code == 2
    _one_line_error(capsys, "seed")


def test_largest_seed_is_accepted():
    assert runner.check_seed(runner.MAX_SEED) == 2**32 - 1
    with pytest.raises(ValueError):
        runner.check_seed(-1)


def test_unknown_experiment_suggests_the_closest(capsys):
    assert main(["run", "trajectorie"]) == 2
    _one_line_error(capsys, "did you mean 'trajectories'")


# --- Ctrl-C -----------------------------------------------------------------------------

def test_ctrl_c_exits_130_and_marks_the_summary(tmp_path, capsys, throwaway):
    assert main(["run", "zz-cli-ctrl-c", "--out", str(tmp_path)]) == 130
    _one_line_error(capsys, "interrupted")
    summary = json.loads((tmp_path / "zz-cli-ctrl-c" / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert not (tmp_path / "zz-cli-ctrl-c" / ".lock").exists()


def test_ctrl_c_in_lectures_marks_the_index(tmp_path, capsys, throwaway, monkeypatch):
    monkeypatch.setattr(registry, "lectures", lambda: ["zz-cli-ok", "zz-cli-ctrl-c", "trajectories"])
    assert main(["run", "lectures", "--out", str(tmp_path), "--quick"]) == 130
    index = (tmp_path / "index.md").read_text()
    assert "**INTERRUPTED**" in index and "| trajectories | pending |" in index
    summary = json.loads((tmp_path / "zz-cli-ctrl-c" / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert not (tmp_path / "trajectories").exists()
    assert not (tmp_path / ".lock").exists()


def test_real_sigint_in_a_subprocess(tmp_path):
    code = (
        "import os, signal, sys\n"
        "from experiments import registry\n"
        "from experiments.__main__ import main\n"
        "@registry.experiment('zz-sigint', 'sends itself SIGINT')\n"
        "def run(ctx):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    import time; time.sleep(30)\n"
        f"sys.exit(main(['run', 'zz-sigint', '--out', {str(tmp_path)!r}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINIGRAD_NO_PROGRESS": "1"}
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    summary = json.loads((tmp_path / "zz-sigint" / "summary.json").read_text())
    assert summary["status"] == "interrupted"


# --- two runs, one folder -----------------------------------------------------------------

def test_a_live_run_holds_the_folder(tmp_path, capsys, throwaway):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = tmp_path / "zz-cli-ok"
        folder.mkdir()
        (folder / ".lock").write_text(f"{other.pid}\n")
        assert main(["run", "zz-cli-ok", "--out", str(tmp_path)]) == 2
        _one_line_error(capsys, f"process {other.pid}")
        assert not (folder / "summary.json").exists()
    finally:
        other.kill()
        other.wait()
    # once that process is gone its lock is stale and the run goes ahead
    assert main(["run", "zz-cli-ok", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "zz-cli-ok" / ".lock").exists()


def test_savefig_leaves_another_writers_temporary_alone(tmp_path):
    import matplotlib.pyplot as plt

    ctx = RunContext(tmp_path, seed=0)
    # the fixed temporary name every writer used to share
    theirs = tmp_path / ".plot.tmp.png"
    theirs.write_bytes(b"another process, mid-write")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    ctx.savefig(fig, "plot")
    assert theirs.read_bytes() == b"another process, mid-write"
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plot.tmp.png", "plot.png"]


# --- quick runs are marked ---------------------------------------------------------------

def test_quick_is_marked_in_summary_report_and_index(tmp_path, throwaway, monkeypatch):
    monkeypatch.setattr(registry, "lectures", lambda: ["zz-cli-ok"])
    assert main(["run", "lectures", "--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "zz-cli-ok" / "summary.json").read_text())
    assert summary["quick"] is True
    assert QUICK_NOTE in (tmp_path / "zz-cli-ok" / "report.md").read_text()
    row = next(ln for ln in (tmp_path / "index.md").read_text().splitlines()
               if ln.startswith("| [zz-cli-ok]"))
    assert "(quick)" in row


def test_full_runs_are_not_marked_quick(tmp_path, throwaway):
    assert main(["run", "zz-cli-ok", "--out", str(tmp_path)]) == 0
    assert QUICK_NOTE not in (tmp_path / "zz-cli-ok" / "report.md").read_text()
