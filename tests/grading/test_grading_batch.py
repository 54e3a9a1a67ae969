"""``batch`` (a process pool, one bad submission never stops it) and the Gradescope autograder zip."""
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

from grading_utils import submission, validate_gradescope

from grading.assignments import get
from grading.batch import run_batch
from grading.cli import main


def test_batch_grades_every_folder_whatever_happens_in_one(tmp_path):
    root = tmp_path / "subs"
    root.mkdir()
    shutil.copytree(submission("optimizers", "adam.no_bias_correction"), root / "alice")
    shutil.copytree(submission("hostile", "exit_at_import"), root / "bob")
    (root / "carol").mkdir()  # uploaded nothing
    (root / "dave").mkdir()
    broken = os.path.join(submission("hostile", "syntax_error"), "optimizers.py.txt")
    shutil.copy(broken, root / "dave" / "optimizers.py")
    out_csv = tmp_path / "grades.csv"
    assert main(["batch", "optimizers", str(root), "--csv", str(out_csv), "--results-dir",
                 str(tmp_path / "results"), "--jobs", "2"]) == 0
    table = list(csv.DictReader(out_csv.open()))
    assert [t["submission"] for t in table] == ["alice", "bob", "carol", "dave"]
    alice, bob, carol, dave = table
    assert float(alice["score"]) == 9.0 and alice["adam_step"] == "0" and alice["mistakes"] == "adam.no_bias_correction"
    assert float(bob["score"]) == 0 and "could not be imported" in bob["error"]
    assert "no optimizers.py" in carol["error"]
    assert "SyntaxError" in dave["error"]
    doc = json.loads((tmp_path / "results" / "alice.json").read_text())
    validate_gradescope(doc)


def test_batch_of_an_empty_directory_writes_a_header_only(tmp_path):
    (tmp_path / "none").mkdir()
    assert run_batch(get("optimizers"), str(tmp_path / "none"), str(tmp_path / "g.csv")) == []
    assert (tmp_path / "g.csv").read_text().startswith("submission,score,max_score,sgd_step")


def test_gradescope_zip_has_the_scripts_and_a_runnable_package(tmp_path, capsys):
    out = tmp_path / "autograder.zip"
    assert main(["gradescope", "optimizers", str(out), "--timeout", "5"]) == 0
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "setup.cfg", "pyproject.toml", "grading/__main__.py",
                "grading/assignments/optimizers/reference.py", "minigrad/__init__.py"} <= names
        assert (zf.getinfo("run_autograder").external_attr >> 16) & 0o111
        run = zf.read("run_autograder").decode()
        assert "python3 -m grading grade optimizers --seed 0 --timeout 5.0 /autograder/submission" in run
        assert "/autograder/results/results.json" in run
        assert "pip install /autograder/source" in zf.read("setup.sh").decode()
        zf.extractall(tmp_path / "source")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tmp_path / "source")}
    listed = subprocess.run([sys.executable, "-m", "grading", "list"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and listed.stdout.startswith("optimizers")


def test_run_autograder_writes_results_where_gradescope_reads_them(tmp_path):
    out = tmp_path / "autograder.zip"
    assert main(["gradescope", "optimizers", str(out)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root / "source")
    shutil.copytree(submission("optimizers", "adam.no_sqrt"), root / "submission")
    script = (root / "source" / "run_autograder").read_text().replace("/autograder", str(root))
    (root / "run_autograder").write_text(script)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(sys.executable, bindir / "python3")
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "PYTHONPATH": str(root / "source")}
    run = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(doc)
    adam = next(t for t in doc["tests"] if t["name"] == "adam_step")
    assert adam["extra_data"]["mistakes"] == ["adam.no_sqrt"]
