"""The child's side of grading: import the submission, call one function on the cases, save plain numbers.

This file is copied into the sandbox's scratch directory and run there by a
fresh interpreter (``python -I -S harness.py``), which drops to the unprivileged
user before it imports the submission (:func:`main`). It
imports nothing but the standard library and NumPy, and it holds no reference
code and no expected values: the case *inputs* arrive in ``inputs.npz`` and
``job.json``; the outputs leave as float64 arrays in ``outputs.npz`` (no pickle)
and the per-case status in ``status.json``. The parent reads both only after
this process has exited, and trusts neither: it checks every array again.

The grader also imports :func:`run_cases` to run its own trusted functions (the
reference and the catalogued mistakes) exactly the way a submission is run.
"""
import errno
import json
import os
import sys
import traceback

STATUS_FILE = "status.json"
OUTPUTS_FILE = "outputs.npz"
MESSAGE_CHARS = 400


def output_key(case, step, index):
    """The ``outputs.npz`` key of output ``index`` of step ``step`` of case ``case``."""
    return f"c{case}s{step}o{index}"


def _short(text):
    text = str(text)
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."


def describe_exception(exc, source_dir=None):
    """Type, message and the submission's line where it was raised (the last frame in ``source_dir``)."""
    info = {"type": type(exc).__name__, "message": _short(exc), "file": None, "line": None}
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        info["message"] = "wrote more output than allowed (file size limit)"
    if isinstance(exc, SyntaxError):
        info["file"] = os.path.basename(exc.filename or "") or None
        info["line"] = exc.lineno
        info["message"] = _short(exc.msg)
        return info
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if source_dir is None or os.path.dirname(os.path.abspath(frame.filename)) == source_dir:
            info["file"] = os.path.basename(frame.filename)
            info["line"] = frame.lineno
            break
    return info


def _make_grad_fn(np, a, b):
    a = np.array(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)

    def grad_fn(theta):
        return a * np.asarray(theta, dtype=np.float64) - b

    return grad_fn


def _to_float64(np, value, name):
    """A returned quantity as a fresh float64 array; anything else is an error naming the quantity."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        raise TypeError(f"{name} is an array of Python objects, not of numbers")
    try:
        out = np.array(value, dtype=np.float64)
    except Exception as exc:  # the message names what came back
        raise TypeError(f"{name} is not a number or an array of numbers "
                        f"(got {type(value).__name__}: {_short(exc)})") from None
    if out.dtype != np.float64:
        raise TypeError(f"{name} could not be read as float64 numbers")
    return out


def _bind(driver, cls):
    def run(*args):
        return driver(cls, *args)

    return run


def optimizer_scenario(cls, plan, arrays):
    """Drive an optimizer class through a plan; return ``(theta_trajectory, state, losses)``.

    The plan (plain JSON) builds minigrad Parameters from ``arrays``, the
    optimizer from ``plan["groups"]`` (param groups with their own
    hyperparameters) and ``plan["kwargs"]``, then runs ``plan["ops"]``:
    ``["grad", k]`` (set every gradient to ``g{k}_<param>``, ``step()``),
    ``["closure", k]`` (``step(closure)``, the closure setting the gradients of
    ½ a θ² − b θ and returning that loss), ``["skip"]`` (``zero_grad()``,
    ``step()``: nothing may change), ``["set_lr", group, lr]`` and
    ``["roundtrip"]`` (``state_dict()`` into a new optimizer on the same
    parameters through ``load_state_dict``). Returns the parameters after each op
    (one row per op), the state buffers named in ``plan["state_keys"]`` after the
    last op, and the closures' returned losses. Used by the child for the
    submission's class and by the grader for its reference classes.
    """
    import copy

    import numpy as np

    import minigrad as mg

    names = plan["params"]
    params = {n: mg.nn.Parameter(np.array(arrays[n], dtype=np.float64)) for n in names}
    kwargs = dict(plan["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])

    def groups():
        out = []
        for g in plan["groups"]:
            group = {"params": [params[n] for n in g["params"]]}
            group.update({k: tuple(v) if k == "betas" else v for k, v in g.get("hyper", {}).items()})
            out.append(group)
        return out

    def flat():
        return np.concatenate([np.ravel(params[n].data) for n in names])

    opt = cls(groups(), **kwargs)
    rows, losses = [], []
    for op in plan["ops"]:
        kind = op[0]
        if kind == "grad":
            for n in names:
                params[n].grad = mg.Tensor(np.array(arrays[f"g{op[1]}_{n}"], dtype=np.float64))
            opt.step()
        elif kind == "closure":
            def closure(k=op[1], opt=opt):
                opt.zero_grad()
                total = 0.0
                for n in names:
                    a, b = arrays[f"a{k}_{n}"], arrays[f"b{k}_{n}"]
                    theta = np.array(params[n].data, dtype=np.float64)
                    params[n].grad = mg.Tensor(a * theta - b)
                    total += float(np.sum(0.5 * a * theta * theta - b * theta))
                return total
            loss = opt.step(closure)
            losses.append(np.nan if loss is None else float(loss))
        elif kind == "skip":
            opt.zero_grad()
            opt.step()
        elif kind == "set_lr":
            opt.param_groups[op[1]]["lr"] = op[2]
        elif kind == "roundtrip":
            saved = copy.deepcopy(opt.state_dict())
            opt = cls(groups(), **kwargs)
            opt.load_state_dict(saved)
        else:
            raise ValueError(f"unknown plan step {kind!r}")
        rows.append(flat())
    final = opt.state_dict()["state"]
    state = []
    for index in range(len(names)):
        entry = final.get(index)
        if entry is None:
            raise KeyError(f"state_dict()['state'] has no entry for parameter {index}")
        for key in plan["state_keys"]:
            if key not in entry:
                raise KeyError(f"state_dict()['state'][{index}] has no {key!r}")
            value = entry[key]
            value = getattr(value, "data", value)
            state.append(np.ravel(np.array(value, dtype=np.float64)))
    return np.stack(rows), np.concatenate(state) if state else np.zeros(0), np.array(losses, dtype=np.float64)


DRIVERS = {"optimizer_scenario": optimizer_scenario}


def run_cases(fn, job, arrays, np, source_dir=None):
    """Call ``fn`` on every case of ``job`` (steps chained); return ``(outputs, statuses)``.

    ``outputs`` maps :func:`output_key` to float64 arrays; ``statuses`` has one
    ``{"steps_done": n, "error": None | {...}}`` per case. A case stops at its
    first exception or malformed return value; the other cases still run.
    """
    names = job["outputs"]
    n_out = len(names)
    outputs = {}
    statuses = []
    for ci, case in enumerate(job["cases"]):
        previous = None
        done = 0
        error = None
        for si, step in enumerate(case["steps"]):
            try:
                args = []
                for arg in job["args"]:
                    name, kind = arg["name"], arg["kind"]
                    if name in step["feed"]:
                        args.append(np.array(previous[step["feed"][name]]))
                    elif kind in ("array", "index"):
                        args.append(np.array(arrays[step["arrays"][name]]))
                    elif kind == "grad_fn":
                        ka, kb = step["arrays"][name]
                        args.append(_make_grad_fn(np, arrays[ka], arrays[kb]))
                    elif kind == "arrays":
                        args.append({k: np.array(arrays[v]) for k, v in step["arrays"][name].items()})
                    else:
                        args.append(step["scalars"][name])
                result = fn(*args)
                if n_out == 1:
                    result = (result,)
                elif not isinstance(result, (tuple, list)) or len(result) != n_out:
                    got = (f"{len(result)} values" if isinstance(result, (tuple, list))
                           else f"one {type(result).__name__}")
                    raise TypeError(f"expected {n_out} return values ({', '.join(names)}), got {got}")
                converted = [_to_float64(np, value, names[k]) for k, value in enumerate(result)]
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the case failed
                if isinstance(exc, (MemoryError, RecursionError)):
                    info = {"type": type(exc).__name__, "message": _short(exc), "file": None, "line": None}
                else:
                    info = describe_exception(exc, source_dir)
                info["step"] = si
                error = info
                break
            for k, value in enumerate(converted):
                outputs[output_key(ci, si, k)] = value
            previous = converted
            done = si + 1
        statuses.append({"steps_done": done, "error": error})
    return outputs, statuses


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f)


def _readable(directory, entry=None):
    """Whether this process can list ``directory`` (and read ``entry`` in it)."""
    try:
        os.listdir(directory)
        if entry is not None:
            path = os.path.join(directory, entry)
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb"):
                    pass
        return True
    except OSError:
        return False


def _extend_package_paths(fallbacks):
    """Let packages already imported from the standard library find submodules in its readable copy too."""
    if not fallbacks:
        return
    stdlib, copy = os.path.dirname(os.__file__), fallbacks[0]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if not isinstance(paths, list):
            continue
        for p in list(paths):
            if p.startswith(stdlib + os.sep):
                paths.append(copy + p[len(stdlib):])


def drop_privileges(uid):
    """Become ``uid`` for good (real, effective and saved ids; no supplementary groups)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != uid:
        raise SystemExit("could not drop privileges")


def main(argv):
    """Run the job of a scratch directory: ``harness.py WORKDIR UID|- [RUNTIME...]``.

    NumPy is imported (and the job read) before the privileges are dropped, so
    the unprivileged user need not be able to read the installed NumPy; the
    submission is imported only after, as that user.
    """
    sys.dont_write_bytecode = True  # nothing of the submission's is cached on disk
    workdir = argv[1] if argv[1] == "--probe" else os.path.abspath(argv[1])
    uid = None if argv[2] == "-" else int(argv[2])
    sys.path[:0] = [p for p in argv[3:] if not p.startswith("+")]
    fallbacks = [p[1:] for p in argv[3:] if p.startswith("+")]
    sys.path.extend(fallbacks)  # tried last: a readable copy of the standard library, where needed
    import importlib.util

    import numpy as np
    import numpy.fft  # noqa: F401  (loaded now: after the drop the installed files may be unreadable)
    import numpy.linalg  # noqa: F401
    import numpy.random  # noqa: F401

    if workdir == "--probe":
        stdlib = os.path.dirname(os.__file__)
        dynload = [p for p in sys.path if p.endswith("lib-dynload")]
        numpy_dir = os.path.realpath(os.path.dirname(np.__file__))
        if uid is not None:
            drop_privileges(uid)
        np.zeros(3).sum()
        print(json.dumps({"stdlib": _readable(stdlib, "fractions.py"),
                          "dynload": all(_readable(d) for d in dynload),
                          "numpy": _readable(numpy_dir, "testing")}))
        return 0
    os.chdir(workdir)
    with open("job.json", encoding="utf-8") as f:
        job = json.load(f)
    with np.load("inputs.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for name in job.get("preload", []):
        importlib.import_module(name)
    _extend_package_paths(fallbacks)
    if uid is not None:
        drop_privileges(uid)
    sys.path.insert(0, workdir)
    status = {"imported": False, "import_error": None, "function_error": None, "cases": []}
    _write_json(STATUS_FILE, status)
    module_path = os.path.join(workdir, job["module"] + ".py")
    try:
        spec = importlib.util.spec_from_file_location(job["module"], module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[job["module"]] = module
        spec.loader.exec_module(module)
    except BaseException as exc:
        status["import_error"] = describe_exception(exc, workdir)
        _write_json(STATUS_FILE, status)
        return 0
    status["imported"] = True
    _write_json(STATUS_FILE, status)
    fn = getattr(module, job["function"], None)
    if not callable(fn):
        what = "class" if job.get("driver") else "function"
        status["function_error"] = f"{job['module']}.py defines no {what} {job['function']}"
        _write_json(STATUS_FILE, status)
        return 0
    if job.get("driver"):
        fn = _bind(DRIVERS[job["driver"]], fn)
    outputs, statuses = run_cases(fn, job, arrays, np, source_dir=workdir)
    np.savez(OUTPUTS_FILE, **outputs)
    status["cases"] = statuses
    _write_json(STATUS_FILE, status)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
