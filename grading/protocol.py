"""The grader's side of the wire: cases to ``job.json`` + ``inputs.npz``, and the child's answers back.

Only inputs go out; what comes back is read without pickle and checked again
here (every array must be float64; anything else is treated as a wrong answer),
because the process that wrote it ran the submission's code.
"""
from __future__ import annotations

import io
import json

import numpy as np

from grading.assignment import Case, GradedFunction, QuadraticGrad
from grading.harness import output_key

__all__ = ["encode_job", "decode_outputs", "step_inputs"]


def encode_job(assignment, gfunc: GradedFunction, cases: list[Case]):
    """The job description and the input arrays the child needs for ``gfunc`` on ``cases``."""
    arrays = {}
    job_cases = []
    for ci, case in enumerate(cases):
        steps = []
        for si, step in enumerate(case.steps):
            entry = {"arrays": {}, "scalars": {}, "feed": {}}
            for arg in gfunc.args:
                name = arg.name
                if name in step.feed:
                    entry["feed"][name] = list(gfunc.outputs).index(step.feed[name])
                    continue
                value = step.args[name]
                key = f"c{ci}s{si}{name}"
                if arg.kind in ("array", "index"):
                    arrays[key] = np.asarray(value, dtype=np.float64 if arg.kind == "array" else np.int64)
                    entry["arrays"][name] = key
                elif arg.kind == "arrays":
                    entry["arrays"][name] = {}
                    for sub, arr in value.items():
                        arrays[f"{key}_{sub}"] = np.asarray(arr, dtype=np.float64)
                        entry["arrays"][name][sub] = f"{key}_{sub}"
                elif arg.kind == "grad_fn":
                    arrays[key + "_a"] = np.asarray(value.a, dtype=np.float64)
                    arrays[key + "_b"] = np.asarray(value.b, dtype=np.float64)
                    entry["arrays"][name] = [key + "_a", key + "_b"]
                else:
                    entry["scalars"][name] = value.item() if isinstance(value, np.generic) else value
            steps.append(entry)
        job_cases.append({"steps": steps})
    job = {
        "module": assignment.module,
        "function": gfunc.name,
        "driver": gfunc.driver,
        "preload": ["minigrad"] if gfunc.driver else [],
        "args": [{"name": a.name, "kind": a.kind} for a in gfunc.args],
        "outputs": list(gfunc.outputs),
        "cases": job_cases,
    }
    return job, arrays


def job_bytes(job, arrays):
    """``(job.json bytes, inputs.npz bytes)``."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return json.dumps(job).encode("utf-8"), buf.getvalue()


def decode_outputs(npz_bytes: bytes | None, gfunc: GradedFunction, cases: list[Case], statuses):
    """Per case, per completed step, the list of returned float64 arrays; ``None`` where unreadable.

    A step whose arrays are missing or not float64 ends its case there (the child
    claimed more than it delivered: treated as not done).
    """
    data = {}
    if npz_bytes:
        try:
            with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as z:
                for key in z.files:
                    value = z[key]
                    if isinstance(value, np.ndarray) and value.dtype == np.float64:
                        data[key] = np.array(value, dtype=np.float64)
        except Exception:
            data = {}
    result = []
    for ci, case in enumerate(cases):
        claimed = statuses[ci]["steps_done"] if ci < len(statuses) else 0
        steps = []
        for si in range(min(claimed, len(case.steps))):
            keys = [output_key(ci, si, k) for k in range(len(gfunc.outputs))]
            if not all(k in data for k in keys):
                break
            steps.append([data[k] for k in keys])
        result.append(steps)
    return result


def step_inputs(gfunc: GradedFunction, case: Case, step_index: int, previous_outputs):
    """The positional arguments of one step, with fed arguments taken from ``previous_outputs``."""
    step = case.steps[step_index]
    args = []
    for arg in gfunc.args:
        if arg.name in step.feed:
            args.append(np.array(previous_outputs[list(gfunc.outputs).index(step.feed[arg.name])]))
        elif arg.kind == "array":
            args.append(np.array(step.args[arg.name], dtype=np.float64))
        elif arg.kind == "index":
            args.append(np.array(step.args[arg.name], dtype=np.int64))
        elif arg.kind == "grad_fn":
            value = step.args[arg.name]
            args.append(QuadraticGrad(np.array(value.a), np.array(value.b)))
        elif arg.kind == "arrays":
            args.append({k: np.array(v, dtype=np.float64) for k, v in step.args[arg.name].items()})
        else:
            args.append(step.args[arg.name])
    return args
