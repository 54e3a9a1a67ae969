"""The method-naming study end to end, at a setting smaller than the smoke profile.

One reference study runs in one process, trial after trial (``--workers 0``).
Its trials run on a two-worker Dask cluster, on a running cluster whose worker
is killed in the middle of a trial, and in a process killed with SIGKILL in the
middle of a trial and then resumed, must give bit-identical numbers.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import numpy as np
import pytest

import minigrad as mg

pytest.importorskip("distributed")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = "SGD,SWA,local:SVRG"   # every method is stepped and resumed in test_study_methods.py
SETTINGS = ["--set", "max_train=48", "--set", "max_valid=16", "--set", "max_test=24", "--set", "global_epochs=2"]


def _args(src, out, workers, methods=METHODS):
    return ["study", "method-naming", "--profile", "smoke", "--data", str(src), "--out", str(out),
            "--workers", str(workers), "--methods", methods] + SETTINGS


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    """A small tree of real Python packages (five standard-library packages, five projects)."""
    root = tmp_path_factory.mktemp("code")
    stdlib = sysconfig.get_paths()["stdlib"]
    for pkg in ("json", "email", "http", "urllib", "logging"):
        shutil.copytree(os.path.join(stdlib, pkg), root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module", autouse=True)
def data_cache(tmp_path_factory):
    old = os.environ.get("MINIGRAD_DATA_DIR")
    os.environ["MINIGRAD_DATA_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("MINIGRAD_DATA_DIR", None)
    else:
        os.environ["MINIGRAD_DATA_DIR"] = old


def _run(args):
    from experiments.__main__ import main

    assert main(args) == 0


@pytest.fixture(scope="module")
def reference(src, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    _run(_args(src, out, 0))
    return out / "method-naming"


def _results(study):
    with open(study / "results.json", encoding="utf-8") as f:
        return json.load(f)


def _same_numbers(a, b, subset=False):
    """The trials of ``b`` (all of ``a``'s unless ``subset``) have ``a``'s numbers and weights."""
    ra, rb = _results(a), _results(b)
    ta = {(t["phase"], t["method"], t["seed"]): t for t in ra["trials"]}
    tb = {(t["phase"], t["method"], t["seed"]): t for t in rb["trials"]}
    assert set(tb) <= set(ta) if subset else ta.keys() == tb.keys()
    for k in tb:
        assert ta[k]["metrics"] == tb[k]["metrics"], k
        assert ta[k]["curves"] == tb[k]["curves"], k
        wa = mg.load(a / "trials" / k[0] / k[1] / f"seed{k[2]}" / "model.ckpt")
        wb = mg.load(b / "trials" / k[0] / k[1] / f"seed{k[2]}" / "model.ckpt")
        for name in wa:
            assert np.array_equal(wa[name].numpy(), wb[name].numpy()), (k, name)
    if subset:
        return
    key = lambda c: (c["phase"], c["a"], c["b"], c["metric"], c["test"])  # noqa: E731
    assert sorted((key(c), c["p"], c["p_holm"]) for c in ra["comparisons"]) == \
        sorted((key(c), c["p"], c["p_holm"]) for c in rb["comparisons"])


def test_smoke_study_tables_and_comparisons(reference):
    res = _results(reference)
    keys = {(t["phase"], t["method"], t["seed"]) for t in res["trials"]}
    assert keys == {(p, m, s) for s in (0, 1) for p, ms in
                    (("global", ("SGD", "SWA")), ("local", ("SVRG", "SWA"))) for m in ms}
    for t in res["trials"]:
        assert t["status"] == "done"
        assert set(t["metrics"]) >= {"bleu", "meteor", "rouge1", "rouge2", "rougeL", "f1"}
        assert all(0.0 <= t["metrics"][k] <= 1.0 for k in ("bleu", "meteor", "rouge1", "rouge2", "rougeL", "f1"))
        assert t["examples_per_s"] > 0 and t["seconds"] > 0
        assert t["config"]["embed_size"] == 16 and t["versions"]["numpy"] == np.__version__
        assert len(t["curves"]["train_loss"]) == (2 if t["phase"] == "global" else 1)
        if t["phase"] == "local":
            assert t["start"]["method"] in ("SGD", "SWA")
            assert t["depends_on"] == [f"global/{m}/seed{t['seed']}" for m in ("SGD", "SWA")]
        # local trials continue a global model: they draw their own batches and dropout masks
        assert t["stream"] == (1 if t["phase"] == "local" else 0)
    comps = res["comparisons"]
    # global: 2 methods -> 1 pair; local: 2 methods + start -> 3 pairs; x 6 metrics x 2 tests
    assert len(comps) == (1 + 3) * 6 * 2
    for c in comps:
        assert c["test"] in ("wilcoxon", "mannwhitneyu")
        assert 0 <= c["p"] <= c["p_holm"] <= 1
        assert -1 <= c["effect_size"] <= 1
    wil = [c for c in comps if c["test"] == "wilcoxon"]
    assert all(c["n"] == 2 * 24 for c in wil)  # two seeds x 24 test functions, paired
    report = (reference / "report.md").read_text()
    for text in ("| Method | BLEU | METEOR | ROUGE-1 | ROUGE-2 | ROUGE-L | F1 |", "upside %", "### Significance",
                 "### Ranking", "Lin & Och", "functions", "curves_global.png", "metrics_local.png"):
        assert text in report
    for png in ("curves_global.png", "curves_local.png", "metrics_global.png", "metrics_local.png"):
        assert (reference / png).stat().st_size > 1000


def test_two_workers_give_the_same_results(src, reference, tmp_path):
    # the global trials of two methods (independent of the others) on a two-worker cluster
    _run(_args(src, tmp_path, 2, methods="global:SGD,global:SWA"))
    assert len(_results(tmp_path / "method-naming")["trials"]) == 4
    _same_numbers(reference, tmp_path / "method-naming", subset=True)


def test_sigkill_mid_trial_then_resume_is_bit_identical(src, reference, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, MINIGRAD_NO_PROGRESS="1")
    cmd = [sys.executable, "-m", "experiments"] + _args(src, tmp_path, 0)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    trials = tmp_path / "method-naming" / "trials"
    deadline = time.time() + 120
    killed_in = None
    # kill as soon as the second global trial has checkpointed its first epoch (one trial done before it)
    while time.time() < deadline and proc.poll() is None:
        ckpts = [c for c in trials.glob("*/*/*/checkpoint.ckpt") if not (c.parent / "trial.json").exists()]
        done = list(trials.glob("*/*/*/trial.json"))
        if ckpts and done:
            killed_in = ckpts[0].parent
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    assert killed_in is not None, proc.stderr.read().decode()[-2000:]
    assert not (killed_in / "trial.json").exists()
    finished = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in trials.glob("*/*/*/trial.json")}
    _run(_args(src, tmp_path, 0))
    for p, (mtime, content) in finished.items():
        assert p.stat().st_mtime_ns == mtime and p.read_bytes() == content  # finished trials untouched
    assert not list(trials.glob("*/*/*/checkpoint.ckpt"))
    _same_numbers(reference, tmp_path / "method-naming")


def test_running_cluster_and_a_worker_killed_mid_trial(src, reference, tmp_path):
    """--scheduler ADDRESS; the worker is killed after a checkpoint, Dask reruns the trial, which resumes."""
    import threading

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pid = next(iter(client.run(os.getpid).values()))
        args = ["study", "method-naming", "--profile", "smoke", "--data", str(src), "--out", str(tmp_path),
                "--scheduler", cluster.scheduler_address, "--methods", "global:SGD,global:SWA"] + SETTINGS
        result = {}
        runner = threading.Thread(target=lambda: result.setdefault("rc", _main(args)))
        runner.start()
        trials = tmp_path / "method-naming" / "trials"
        deadline = time.time() + 120
        while time.time() < deadline and runner.is_alive() and not list(trials.glob("*/*/*/checkpoint.ckpt")):
            time.sleep(0.01)
        killed = list(trials.glob("*/*/*/checkpoint.ckpt"))
        os.kill(pid, signal.SIGKILL)
        runner.join(timeout=180)
    assert killed and result.get("rc") == 0
    _same_numbers(reference, tmp_path / "method-naming", subset=True)


def _main(args):
    from experiments.__main__ import main

    return main(args)


def test_local_cluster_workers_keep_the_adaptive_malloc():
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive mmap
    threshold (every large temporary then costs fresh page faults: training steps ran 2.5x slower).
    The study's local cluster starts its workers without it."""
    import dask
    from distributed import Client

    from experiments.study.scheduler import LOCAL_WORKER_ENVIRON, _local_cluster

    def trim():
        return os.environ.get("MALLOC_TRIM_THRESHOLD_")

    # an earlier cluster's nanny leaves Dask's value in this process's environment (as the
    # study's other tests do in this process): the new workers must not inherit it
    old = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"
    try:
        with dask.config.set(LOCAL_WORKER_ENVIRON):
            cluster = _local_cluster(1)
        try:
            with Client(cluster) as client:
                assert client.submit(trim, pure=False).result() is None
        finally:
            cluster.close()
    finally:
        if old is None:
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        else:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = old
