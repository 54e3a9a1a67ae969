"""The optimizer-class assignment: check, the correct classes, each student-style mistake, the child's optim."""
import os

import pytest
from grading_utils import SUBMISSIONS, submission, validate_gradescope

from grading import grade
from grading.assignments import get
from grading.check import check_assignment
from grading.cli import main
from grading.results import to_gradescope

ASSIGNMENT = get("optimizer-class")
MISTAKE_FUNCTION = {m.id: f.name for f in ASSIGNMENT.functions for m in f.mistakes}
STUDENT_MISTAKES = sorted(d for d in os.listdir(os.path.join(SUBMISSIONS, "optimizer-class")) if d != "correct")


def test_check_passes():
    rows = check_assignment(ASSIGNMENT)
    assert [r.subject for r in rows if not r.ok] == []


def test_every_mistake_has_a_student_submission():
    assert set(STUDENT_MISTAKES) == set(MISTAKE_FUNCTION)


def test_correct_classes_full_marks():
    doc = to_gradescope(grade(ASSIGNMENT, submission("optimizer-class", "correct")))
    validate_gradescope(doc)
    assert doc["score"] == 4.0


@pytest.mark.parametrize("mistake", STUDENT_MISTAKES)
def test_student_mistake_is_diagnosed(mistake):
    function = MISTAKE_FUNCTION[mistake]
    (result,) = grade(ASSIGNMENT, submission("optimizer-class", mistake), functions=[function]).results
    assert result.score < result.max_score
    assert result.mistakes == [mistake]


def test_the_project_optimizers_are_not_available_to_the_child(tmp_path):
    (tmp_path / "optimizer_classes.py").write_text('''"""Tries to hand in the project's own classes."""
try:
    from optim import SGD, Adam  # noqa: F401
except ImportError as exc:
    raise ImportError("no reference here: " + str(exc)) from None
''')
    report = grade(ASSIGNMENT, str(tmp_path))
    assert report.score == 0 and "no reference here" in report.general


def test_check_all_prints_every_assignment(capsys):
    assert main(["check", "all"]) == 0
    out = capsys.readouterr().out
    assert "## optimizers" in out and "## autodiff" in out and "## optimizer-class" in out and "| NO |" not in out
