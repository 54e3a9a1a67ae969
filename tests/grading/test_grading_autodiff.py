"""The autodiff assignment: check (with finite differences), the correct submission, each student-style mistake."""
import dataclasses
import os

import pytest
from grading_utils import SUBMISSIONS, submission, validate_gradescope

from grading import grade
from grading.assignments import get
from grading.check import _finite_difference_row, check_assignment
from grading.results import to_gradescope

ASSIGNMENT = get("autodiff")
MISTAKE_FUNCTION = {m.id: f.name for f in ASSIGNMENT.functions for m in f.mistakes}
STUDENT_MISTAKES = sorted(d for d in os.listdir(os.path.join(SUBMISSIONS, "autodiff")) if d != "correct")


def test_check_passes_with_finite_differences():
    rows = check_assignment(ASSIGNMENT)
    assert [r.subject for r in rows if not r.ok] == []
    assert sum(r.subject == "finite differences" for r in rows) == len(ASSIGNMENT.functions)


def test_finite_difference_check_catches_a_wrong_reference():
    gfunc = ASSIGNMENT.function("sigmoid_backward")
    wrong = dataclasses.replace(gfunc, reference=lambda x, grad_out: grad_out * x * (1 - x))
    assert not _finite_difference_row(wrong, 0).ok
    assert _finite_difference_row(gfunc, 0).ok


def test_required_mistakes_are_catalogued_and_have_submissions():
    assert {"mul.broadcast_not_reduced", "add.broadcast_not_reduced", "matmul.transposed_wrongly",
            "softmax.missing_subtraction", "sigmoid.uses_x", "sum.loses_reduced_axis"} <= set(MISTAKE_FUNCTION)
    assert set(STUDENT_MISTAKES) == set(MISTAKE_FUNCTION)


def test_correct_submission_full_marks():
    doc = to_gradescope(grade(ASSIGNMENT, submission("autodiff", "correct")))
    validate_gradescope(doc)
    assert doc["score"] == len(ASSIGNMENT.functions)


@pytest.mark.parametrize("mistake", STUDENT_MISTAKES)
def test_student_mistake_is_diagnosed(mistake):
    (result,) = grade(ASSIGNMENT, submission("autodiff", mistake), functions=[MISTAKE_FUNCTION[mistake]]).results
    assert result.score < result.max_score
    assert result.mistakes == [mistake]


def test_unreduced_broadcast_reports_the_shape(tmp_path):
    src = open(os.path.join(submission("autodiff", "correct"), "autodiff.py")).read()
    src = src.replace("return unbroadcast(grad_out, a.shape), unbroadcast(grad_out, b.shape)",
                      "return unbroadcast(grad_out, a.shape), grad_out * 1.0")
    (tmp_path / "autodiff.py").write_text(src)
    (result,) = grade(ASSIGNMENT, str(tmp_path), functions=["add_backward"]).results
    assert result.mistakes == [] and result.first_mismatch == "grad_b"
    assert "grad_b has shape (3, 4) at case 2, expected shape (4,)" in "\n".join(result.lines)
