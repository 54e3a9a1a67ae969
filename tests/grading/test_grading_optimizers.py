"""The optimizers assignment end to end: check, the correct submission, each student-style mistake, the CLI."""
import os
import re

import pytest
from grading_utils import SUBMISSIONS, submission, validate_gradescope

from grading import grade
from grading.assignments import get
from grading.check import check_assignment
from grading.cli import main
from grading.results import to_gradescope, to_markdown

ASSIGNMENT = get("optimizers")
MISTAKE_FUNCTION = {m.id: f.name for f in ASSIGNMENT.functions for m in f.mistakes}
STUDENT_MISTAKES = sorted(d for d in os.listdir(os.path.join(SUBMISSIONS, "optimizers")) if d != "correct")


def test_check_reference_full_marks_and_every_mistake_named_as_itself():
    rows = check_assignment(ASSIGNMENT)
    assert [r.subject for r in rows if not r.ok] == []
    assert {r.subject.split(" ")[0] for r in rows} - {"reference"} == set(MISTAKE_FUNCTION)


def test_catalogue_has_the_required_ids():
    required = {"adam.no_bias_correction", "adam.eps_inside_sqrt", "adam.betas_swapped", "adam.step_off_by_one",
                "adagrad.no_square", "rmsprop.missing_one_minus_gamma", "momentum.torch_convention",
                "nesterov.no_lookahead", "amsgrad.no_max", "radam.threshold_5", "radam.no_rectification",
                "bb.variants_swapped"}
    assert required <= set(MISTAKE_FUNCTION)


def test_every_catalogued_mistake_has_a_student_submission():
    assert set(STUDENT_MISTAKES) == set(MISTAKE_FUNCTION)


def test_correct_submission_full_marks():
    doc = to_gradescope(grade(ASSIGNMENT, submission("optimizers", "correct")))
    validate_gradescope(doc)
    assert doc["score"] == sum(f.max_score for f in ASSIGNMENT.functions)
    assert all(t["status"] == "passed" for t in doc["tests"])


def test_same_submission_graded_twice_gives_the_same_results():
    some = ["sgd_step", "adam_step", "bb_step_size"]
    first = to_gradescope(grade(ASSIGNMENT, submission("optimizers", "adam.betas_swapped"), functions=some))
    second = to_gradescope(grade(ASSIGNMENT, submission("optimizers", "adam.betas_swapped"), functions=some))
    first.pop("execution_time")
    second.pop("execution_time")
    assert first == second
    assert first["tests"][1]["extra_data"]["mistakes"] == ["adam.betas_swapped"]


@pytest.mark.parametrize("mistake", STUDENT_MISTAKES)
def test_student_mistake_is_diagnosed(mistake):
    function = MISTAKE_FUNCTION[mistake]
    report = grade(ASSIGNMENT, submission("optimizers", mistake), functions=[function])
    (result,) = report.results
    assert result.score < result.max_score
    assert result.mistakes == [mistake]
    assert mistake in "\n".join(result.lines)


def test_unmatched_wrong_answer_names_first_differing_quantity(tmp_path):
    src = open(os.path.join(submission("optimizers", "correct"), "optimizers.py")).read()
    src = src.replace("    return theta, m, v\n\n\ndef amsgrad", "    return theta, m * 1.5, v\n\n\ndef amsgrad")
    (tmp_path / "optimizers.py").write_text(src)
    (result,) = grade(ASSIGNMENT, str(tmp_path), functions=["adam_step"]).results
    assert result.mistakes == []
    assert result.first_mismatch == "m_new"
    assert "m_new differs at step 1 of case 1" in "\n".join(result.lines)


def test_markdown_report_names_the_mistake_and_its_formula():
    target = submission("optimizers", "adam.eps_inside_sqrt")
    text = to_markdown(grade(ASSIGNMENT, target, functions=["sgd_step", "adam_step"]))
    assert "`adam.eps_inside_sqrt`" in text and "√v̂ + ε" in text and "| `sgd_step` | 1 / 1 |" in text


def test_cli_markdown_names_a_syntax_error_and_its_line(tmp_path):
    (tmp_path / "optimizers.py").write_text("import numpy as np\n\ndef sgd_step(theta, grad, lr)\n    return 0\n")
    md = tmp_path / "report.md"
    assert main(["grade", "optimizers", str(tmp_path), "--out", str(md), "--format", "markdown", "--quiet"]) == 0
    text = md.read_text()
    assert "SyntaxError" in text and "line 3" in text and "0 / 11" in text


def test_cli_list_starter_check(tmp_path, capsys):
    assert main(["list"]) == 0
    assert "optimizers" in capsys.readouterr().out
    assert main(["starter", "optimizers", str(tmp_path)]) == 0
    text = (tmp_path / "optimizers.py").read_text()
    assert "def adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps):" in text
    assert "NotImplementedError" in text
    (result,) = grade(ASSIGNMENT, str(tmp_path), functions=["sgd_step"]).results
    assert result.score == 0 and "NotImplementedError" in "\n".join(result.lines)
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "no-such-assignment", str(tmp_path)])
    assert exit_info.value.code == 2 and "no-such-assignment" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "optimizers", str(tmp_path / "missing"), "--out", str(tmp_path / "r.json")])
    assert exit_info.value.code == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_hidden_case_failure_reveals_no_values(tmp_path):
    (tmp_path / "optimizers.py").write_text('''import numpy as np


def sgd_step(theta, grad, lr):
    if np.size(theta) > 1000:  # wrong on large inputs only: the hidden case
        return theta + lr * grad
    return theta - lr * grad
''')
    doc = to_gradescope(grade(ASSIGNMENT, str(tmp_path), functions=["sgd_step"]))
    (test,) = doc["tests"]
    assert test["status"] == "failed" and test["extra_data"]["first_mismatch"] == "theta_new"
    assert "hidden case" in test["output"]
    assert not re.search(r"yours|expected -?[0-9]|index \(|difference", test["output"])


def test_a_single_file_under_another_name_is_graded(tmp_path):
    src = open(os.path.join(submission("optimizers", "correct"), "optimizers.py")).read()
    (tmp_path / "hw3_final.py").write_text(src)
    (result,) = grade(ASSIGNMENT, str(tmp_path / "hw3_final.py"), functions=["sgd_step"]).results
    assert result.passed
