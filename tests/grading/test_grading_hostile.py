"""Hostile submissions get 0 and a clear message; the grader never breaks and never trusts the child."""
import json
import os
import shutil
import time

import pytest
from grading_utils import submission, validate_gradescope

from grading import grade
from grading.assignments import get
from grading.results import to_gradescope, write_results
from grading.sandbox import Limits

ASSIGNMENT = get("optimizers")
ROOT = os.geteuid() == 0


def hostile(name):
    return submission("hostile", name)


def by_name(report):
    return {r.function: r for r in report.results}


def text(result):
    return "\n".join(result.lines)


def test_infinite_loop_costs_only_that_function():
    start = time.monotonic()
    report = grade(ASSIGNMENT, hostile("infinite_loop"), limits=Limits(timeout=2.0))
    elapsed = time.monotonic() - start
    results = by_name(report)
    assert results["adam_step"].score == 0
    assert "time limit" in text(results["adam_step"])
    assert all(r.passed for name, r in results.items() if name != "adam_step")
    assert elapsed < 60
    validate_gradescope(to_gradescope(report))


def test_exit_at_import_fails_every_function_with_a_message():
    report = grade(ASSIGNMENT, hostile("exit_at_import"))
    assert report.score == 0
    assert "could not be imported" in report.general and "exited with code 0" in report.general
    assert all(r.score == 0 and "could not be imported" in text(r) for r in report.results)


def test_segfault_is_reported_and_other_functions_graded():
    results = by_name(grade(ASSIGNMENT, hostile("segfault"), functions=["sgd_step", "momentum_step"]))
    assert results["sgd_step"].score == 0 and "SIGSEGV" in text(results["sgd_step"])
    assert results["momentum_step"].passed


def test_ten_gigabyte_allocation_fails_cleanly():
    (result,) = grade(ASSIGNMENT, hostile("huge_allocation"), functions=["sgd_step"],
                      limits=Limits(timeout=10, memory_bytes=1024**3)).results
    assert result.score == 0 and "MemoryError" in text(result)


def test_a_gigabyte_of_printing_is_cut_off():
    start = time.monotonic()
    (result,) = grade(ASSIGNMENT, hostile("print_flood"), functions=["sgd_step"],
                      limits=Limits(timeout=10, file_bytes=4 * 1024**2)).results
    assert result.score == 0 and "more output than allowed" in text(result)
    assert time.monotonic() - start < 30


def test_fork_bomb_is_contained():
    results = by_name(grade(ASSIGNMENT, hostile("fork_bomb"), functions=["sgd_step", "momentum_step"],
                            limits=Limits(timeout=5, processes=16)))
    assert results["sgd_step"].score == 0
    assert results["momentum_step"].passed


def test_monkeypatching_numpy_changes_nothing_in_the_grader():
    (result,) = grade(ASSIGNMENT, hostile("monkeypatch_numpy"), functions=["sgd_step"]).results
    assert result.score == 0 and result.first_mismatch == "theta_new"


def test_an_object_that_pretends_to_be_an_array_fails():
    results = by_name(grade(ASSIGNMENT, hostile("fake_array"), functions=["sgd_step", "momentum_step"]))
    for name, quantity in (("sgd_step", "theta_new"), ("momentum_step", "theta_new")):
        assert results[name].score == 0
        assert f"{quantity} is not a number" in text(results[name])


def test_syntax_error_names_syntaxerror_and_the_line(tmp_path):
    shutil.copy(os.path.join(hostile("syntax_error"), "optimizers.py.txt"), tmp_path / "optimizers.py")
    report = grade(ASSIGNMENT, str(tmp_path))
    assert report.score == 0
    assert "SyntaxError" in report.general and "line 8" in report.general


@pytest.mark.skipif(not ROOT, reason="a detached process outlives the grader unless it runs as root")
def test_forged_results_are_ignored():
    shared = "/tmp/minigrad-grading-forged"
    os.makedirs(shared, exist_ok=True)
    os.chmod(shared, 0o777)
    out = os.path.join(shared, "results.json")
    report = grade(ASSIGNMENT, hostile("forge_results"), functions=["sgd_step"])
    write_results(report, out)
    time.sleep(1.0)  # the detached forger, were it alive, would have rewritten the file by now
    doc = json.load(open(out))
    validate_gradescope(doc)
    assert doc["output"] != "forged" and doc["score"] == 1.0


def test_reading_the_reference_finds_nothing(tmp_path):
    reference = os.path.abspath(os.path.join(os.path.dirname(__import__("grading").__file__),
                                             "assignments", "optimizers", "reference.py"))
    (tmp_path / "optimizers.py").write_text(f'''"""Hostile: tries to import or read the grader's reference."""
import os

STOLEN = {{}}
try:
    import grading.assignments.optimizers.reference as ref
    STOLEN = vars(ref)
except ImportError:
    try:
        exec(open({reference!r}).read(), STOLEN)
    except OSError:
        pass


def sgd_step(theta, grad, lr):
    if "sgd_step" in STOLEN:
        return STOLEN["sgd_step"](theta, grad, lr)
    return theta


def momentum_step(theta, grad, v, lr, gamma):
    raise RuntimeError("scratch holds " + repr(sorted(os.listdir("."))))
''')
    report = grade(ASSIGNMENT, str(tmp_path), functions=["sgd_step", "momentum_step"])
    results = by_name(report)
    if ROOT and not any("reference code" in note for note in report.notes):
        assert results["sgd_step"].score == 0  # neither importable nor readable by its absolute path
    listing = text(results["momentum_step"]).split("scratch holds ")[1]
    assert set(eval(listing.split("]")[0] + "]")) <= {"optimizers.py", "_grading_harness.py", "job.json",
                                                      "inputs.npz", "status.json"}


@pytest.mark.skipif(not ROOT, reason="privileges are dropped only when the grader runs as root")
def test_child_runs_unprivileged_without_network(tmp_path):
    (tmp_path / "optimizers.py").write_text('''import os
import socket


def sgd_step(theta, grad, lr):
    facts = [f"uid={os.getuid()}", f"euid={os.geteuid()}"]
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1)
        facts.append("net=yes")
    except OSError:
        facts.append("net=no")
    raise RuntimeError(" ".join(facts))
''')
    report = grade(ASSIGNMENT, str(tmp_path), functions=["sgd_step"])
    (result,) = report.results
    message = text(result)
    assert "uid=0" not in message and "euid=0" not in message
    if not any("network" in note for note in report.notes):
        assert "net=no" in message


def test_infinite_loop_at_import_is_reported_once(tmp_path):
    (tmp_path / "optimizers.py").write_text("while True:\n    pass\n")
    start = time.monotonic()
    report = grade(ASSIGNMENT, str(tmp_path), limits=Limits(timeout=1.5))
    assert time.monotonic() - start < 30  # one child, not one per function
    assert report.score == 0 and "time limit" in report.general
