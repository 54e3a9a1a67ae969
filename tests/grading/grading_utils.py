"""Shared helpers of the grading tests: where the submissions live, Gradescope's field list."""
import os

SUBMISSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "submissions")

# Gradescope's autograder specification: the fields allowed at the top level and per test, and their values.
TOP_LEVEL = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
             "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
STATUS = {"passed", "failed"}


def submission(assignment, name):
    return os.path.join(SUBMISSIONS, assignment, name)


def validate_gradescope(doc):
    """Raise AssertionError unless ``doc`` is a valid Gradescope results.json object with our extra_data."""
    assert isinstance(doc, dict)
    assert set(doc) <= TOP_LEVEL, set(doc) - TOP_LEVEL
    for key in ("score", "execution_time", "output", "visibility", "stdout_visibility", "tests"):
        assert key in doc, key
    assert isinstance(doc["score"], (int, float))
    assert isinstance(doc["execution_time"], (int, float))
    assert isinstance(doc["output"], str)
    assert doc["visibility"] in VISIBILITY and doc["stdout_visibility"] in VISIBILITY
    for test in doc["tests"]:
        assert set(test) <= TEST, set(test) - TEST
        for key in ("name", "score", "max_score", "status", "output", "visibility", "extra_data"):
            assert key in test, key
        assert test["status"] in STATUS and test["visibility"] in VISIBILITY
        assert 0 <= test["score"] <= test["max_score"]
        assert set(test["extra_data"]) == {"function", "mistakes", "first_mismatch"}
        assert isinstance(test["extra_data"]["mistakes"], list)
    assert abs(doc["score"] - sum(t["score"] for t in doc["tests"])) < 1e-9
