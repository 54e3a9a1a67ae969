"""Run untrusted submission code in a child process that cannot harm the grader.

What the child gets, and why:

* a fresh interpreter, ``python -I -S``: no site-packages, no ``PYTHONPATH``, no
  user site; its ``sys.path`` is the scratch directory plus a *runtime* directory
  that holds only NumPy (links), a copy of ``minigrad`` and an ``optim`` with only
  the base class ``Optimizer`` -- never the ``grading`` package nor the project's
  optimizer classes; the harness loads NumPy, then drops to the unprivileged uid, then
  imports the submission (so that uid need not read the installed interpreter);
* a scratch directory with the submission's ``.py`` files, the harness, the job
  and the case inputs, and nothing else (no reference code, no expected values);
* when the grader runs as root: a private unprivileged uid (one per sandbox, from
  a range nobody else uses, or ``nobody``), so every process the submission
  leaves behind can be found and killed; a new network namespace (no network) and
  a private mount namespace in which the ``grading`` and ``optim`` packages are
  covered by an empty tmpfs (no reference code, even by absolute path), each
  where the kernel allows it; where it does not, grading goes on and
  :attr:`Sandbox.notes` says so;
* resource limits: CPU seconds, address space, file size (which also caps its
  stdout/stderr, written to files the grader owns), number of processes, no core
  files; and a wall-clock timeout that kills the whole process group.

Everything the child leaves is read only after it has exited, without following
links, with size caps, and checked again by :mod:`grading.protocol`.
"""
from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from grading import harness

__all__ = ["ChildResult", "Limits", "Sandbox", "SandboxError"]

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 1, 2, 4, 16384, 1 << 18
NOBODY_UID = 65534
UID_RANGE = (61000, 64999)  # private uids handed out one per sandbox when running as root
MAX_SUBMISSION_BYTES = 5 * 1024 * 1024
MAX_STATUS_BYTES = 1024 * 1024
MAX_OUTPUTS_BYTES = 256 * 1024 * 1024


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up (not a fault of the submission)."""


@dataclasses.dataclass
class Limits:
    """Resource limits of one child run.

    ``timeout``: wall-clock seconds for one graded function (import included);
    ``cpu_seconds``: CPU limit (default: the timeout plus one);
    ``memory_bytes``: address space; ``file_bytes``: the largest file the child
    may write (its stdout and stderr included); ``processes``: RLIMIT_NPROC.
    """

    timeout: float = 20.0
    cpu_seconds: int | None = None
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 16 * 1024**2
    processes: int = 32


@dataclasses.dataclass
class ChildResult:
    """What one child run left: its status (``None`` if it wrote none), outputs, how it ended."""

    status: dict | None
    outputs: bytes | None
    returncode: int | None
    timed_out: bool
    wall_seconds: float
    stderr_tail: str
    stdout_bytes: int
    stderr_bytes: int

    def ending(self) -> str:
        """How the process ended, in words (for feedback)."""
        if self.timed_out:
            return "was stopped: it ran past the time limit"
        rc = self.returncode
        if rc is None:
            return "ended in an unknown way"
        if rc < 0:
            sig = -rc
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGXCPU:
                return "was stopped: it used up its CPU time"
            if sig == signal.SIGXFSZ:
                return "was stopped: it wrote more output than allowed (file size limit)"
            if sig == signal.SIGSEGV:
                return "crashed (segmentation fault, SIGSEGV)"
            return f"was killed by signal {name}"
        return f"exited with code {rc} before returning its results"


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(libc, result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _isolator(netns: bool, hide: tuple):
    """The part of the child's set-up that needs root: a new network namespace, reference code hidden.

    ``hide`` lists directories covered by an empty read-only tmpfs in a private
    mount namespace (the ``grading`` and ``optim`` packages: no reference code is
    visible, even by its absolute path). Returns a function for ``preexec_fn``.
    """
    libc = _libc()
    flags = (CLONE_NEWNET if netns else 0) | (CLONE_NEWNS if hide else 0)
    targets = [d.encode() for d in hide]

    def isolate():
        if flags:
            _check(libc, libc.unshare(flags), "unshare")
        if targets:
            _check(libc, libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
            for target in targets:
                _check(libc, libc.mount(b"tmpfs", target, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                                        b"size=4k,mode=0755"), "mount tmpfs")

    return isolate


def _read_capped(path: str, cap: int) -> bytes | None:
    """A regular file's bytes, not following a link and at most ``cap`` bytes; ``None`` otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
            return None
        chunks = []
        remaining = cap
        while remaining > 0:
            chunk = os.read(fd, min(1 << 20, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _tail(path: str, chars: int = 2000) -> tuple[str, int]:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            f.seek(max(0, size - chars))
            return f.read().decode("utf-8", "replace"), size
    except OSError:
        return "", 0


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def _kill_uid(uid: int) -> None:
    """Kill every process of the sandbox's private uid (what a fork bomb or a daemon left behind)."""
    for _ in range(200):
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def find_submission_files(submission: str, module: str) -> tuple[str, list[str]]:
    """The directory holding ``<module>.py`` and the ``.py`` files in it (to copy into scratch).

    ``submission`` is a directory (searched recursively, the shallowest match
    first, as Gradescope may nest uploads) or the ``.py`` file itself.
    """
    submission = os.path.abspath(submission)
    target = module + ".py"
    if os.path.isfile(submission):
        if not submission.endswith(".py"):
            raise FileNotFoundError(f"submission {submission} is not a .py file")
        if os.path.basename(submission) != target:
            return os.path.dirname(submission), [submission]  # renamed by the student: copied as target
        home = os.path.dirname(submission)
    elif os.path.isdir(submission):
        found = []
        for root, dirs, files in os.walk(submission):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
            if target in files:
                found.append(os.path.join(root, target))
        if not found:
            raise FileNotFoundError(f"no {target} in submission directory {submission}")
        found.sort(key=lambda p: (p.count(os.sep), p))
        home = os.path.dirname(found[0])
    else:
        raise FileNotFoundError(f"submission {submission} does not exist")
    files = sorted(os.path.join(home, f) for f in os.listdir(home)
                   if f.endswith(".py") and os.path.isfile(os.path.join(home, f)))
    return home, files


class _UidLease:
    """An exclusive private uid for this sandbox, held by an ``flock`` on a file in the temp directory."""

    def __init__(self):
        self.uid = None
        self._fd = None
        lock_dir = os.path.join(tempfile.gettempdir(), "minigrad-grading-uids")
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        lo, hi = UID_RANGE
        start = lo + os.getpid() % (hi - lo + 1)
        for k in range(hi - lo + 1):
            uid = lo + (start - lo + k) % (hi - lo + 1)
            fd = os.open(os.path.join(lock_dir, f"{uid}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise SandboxError("no free private uid for the sandbox")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_PROBED: dict = {}  # per interpreter, in this process: (network namespace allowed, harness probe passed)


class Sandbox:
    """One grading's sandbox: a runtime directory, a uid, and :meth:`run` for each child.

    Use as a context manager; ``notes`` lists how the sandbox differs from the full
    set of measures on this machine (no network namespace, not root, ...).
    """

    def __init__(self, limits: Limits | None = None, uid: int | str | None = "auto"):
        self.limits = limits or Limits()
        self.notes: list[str] = []
        self.python = os.path.realpath(sys.executable)
        self._lease = None
        self.root = os.geteuid() == 0
        if not self.root:
            self.uid = None
            self.notes.append("the grader is not root: the submission runs as the grader's own user "
                              "and without a private network namespace")
        elif uid == "auto":
            self._lease = _UidLease()
            self.uid = self._lease.uid
        else:
            self.uid = None if uid is None else int(uid)
        self.fallbacks: list[str] = []  # sys.path entries the child tries last (readable stdlib copy)
        self.base = tempfile.mkdtemp(prefix="minigrad-grade-")
        os.chmod(self.base, 0o711)  # the child may enter its scratch directory, list nothing else
        self.private = tempfile.mkdtemp(prefix="private-", dir=self.base)  # 0700: stdout/stderr files
        self.netns = False
        self.hide: tuple = ()
        if self.root:
            key = ("netns", self.python)
            if key not in _PROBED:
                _PROBED[key] = self._probe_isolation(netns=True, hide=())
            self.netns = _PROBED[key]
            if not self.netns:
                self.notes.append("network: not isolated (this machine does not allow a new network "
                                  "namespace); the other measures hold")
            key = ("mountns", self.python)
            if key not in _PROBED:
                _PROBED[key] = self._probe_isolation(netns=False, hide=(self.private,))
            if _PROBED[key]:
                import optim

                self.hide = (os.path.dirname(os.path.abspath(harness.__file__)),
                             os.path.dirname(os.path.abspath(optim.__file__)))
            else:
                self.notes.append("reference code: not hidden from the child by a mount namespace (not "
                                  "allowed here); it is still not on its path and no expected values leave "
                                  "the grader")
        self.runtime = self._prepare_runtime()

    # -- set-up -----------------------------------------------------------------------------
    def _probe_isolation(self, netns: bool, hide: tuple) -> bool:
        try:
            r = subprocess.run([self.python, "-I", "-S", "-c", "pass"], preexec_fn=_isolator(netns, hide),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return False
        return r.returncode == 0

    def _prepare_runtime(self) -> str:
        """A directory holding ``numpy`` (links) and a copy of ``minigrad``: the child's only packages."""
        import numpy

        import minigrad

        runtime = os.path.join(self.base, "runtime")
        os.mkdir(runtime, 0o755)
        numpy_dir = os.path.dirname(os.path.abspath(numpy.__file__))
        numpy_libs = os.path.join(os.path.dirname(numpy_dir), "numpy.libs")
        minigrad_dir = os.path.dirname(os.path.abspath(minigrad.__file__))
        shutil.copytree(minigrad_dir, os.path.join(runtime, "minigrad"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _base_optim(os.path.join(runtime, "optim"))
        os.symlink(numpy_dir, os.path.join(runtime, "numpy"))
        if os.path.isdir(numpy_libs):
            os.symlink(numpy_libs, os.path.join(runtime, "numpy.libs"))
        _chmod_tree(runtime)
        key = ("harness", self.python, self.root)
        if key not in _PROBED:
            _PROBED[key] = self._readable_copies(runtime, numpy_dir, numpy_libs)
        copies = _PROBED[key]
        for name in ("numpy", "numpy.libs"):
            if name in copies:
                os.unlink(os.path.join(runtime, name))
                os.symlink(copies[name], os.path.join(runtime, name))
        if "stdlib" in copies:
            self.fallbacks = ["+" + copies["stdlib"], "+" + os.path.join(copies["stdlib"], "lib-dynload")]
        return runtime

    def _readable_copies(self, runtime: str, numpy_dir: str, numpy_libs: str) -> dict:
        """Readable copies of what the unprivileged user cannot read (NumPy, the standard library), made once.

        The harness imports NumPy before it drops its privileges, but modules
        imported later (``numpy.testing``, ``fractions``, ...) are read as the
        unprivileged user: where the installation is not readable to it (a Python
        under ``/root``), the child gets world-readable copies instead.
        """
        copies = {}
        seen = self._probe(runtime)
        if not seen.get("numpy"):
            sources = {"numpy": numpy_dir}
            if os.path.isdir(numpy_libs):
                sources["numpy.libs"] = numpy_libs
            target = _readable_copy(sources, "numpy", ("tests", "__pycache__"))
            copies.update({k: os.path.join(target, k) for k in sources})
        if not (seen.get("stdlib") and seen.get("dynload")):
            stdlib = os.path.dirname(os.__file__)
            copies["stdlib"] = os.path.join(_readable_copy({"stdlib": stdlib}, "stdlib", _STDLIB_SKIP), "stdlib")
            self.fallbacks = ["+" + copies["stdlib"], "+" + os.path.join(copies["stdlib"], "lib-dynload")]
        if copies:
            for name in ("numpy", "numpy.libs"):
                if name in copies:
                    os.unlink(os.path.join(runtime, name))
                    os.symlink(copies[name], os.path.join(runtime, name))
            seen = self._probe(runtime)
            if not seen.get("numpy"):
                raise SandboxError(f"the sandbox user (uid {self.uid}) cannot read NumPy or the standard "
                                   f"library even from copies: {seen}")
        return copies

    def _probe(self, runtime: str) -> dict:
        """Start the harness without a job: NumPy loads and the privileges drop, or a clear error.

        Returns what the unprivileged user can read: ``{"stdlib", "dynload", "numpy"}``.
        """
        probe = os.path.join(self.base, "_grading_harness.py")
        shutil.copyfile(harness.__file__, probe)
        os.chmod(probe, 0o644)
        cmd = [self.python, "-I", "-S", probe, "--probe", self._uid_arg(), runtime] + self.fallbacks
        try:
            r = subprocess.run(cmd, cwd=self.base, env=self._env(self.base), preexec_fn=self._preexec(60),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                               start_new_session=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"cannot start the sandboxed interpreter {self.python}: {exc}") from exc
        finally:
            self._cleanup_processes(None)
        try:
            if r.returncode != 0:
                raise ValueError
            return json.loads(r.stdout.decode("utf-8").strip().splitlines()[-1])
        except (ValueError, IndexError):
            tail = (r.stdout + r.stderr).decode("utf-8", "replace")[-800:]
            raise SandboxError(f"the sandboxed interpreter {self.python} cannot load NumPy and drop to uid "
                               f"{self.uid}: {tail}") from None

    def _uid_arg(self) -> str:
        return "-" if self.uid is None else str(self.uid)

    def _own(self, path: str) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        os.chmod(path, 0o700)

    def _env(self, scratch: str) -> dict:
        return {
            "PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        }

    def _preexec(self, timeout: float):
        limits = self.limits
        cpu = int(limits.cpu_seconds or (int(timeout) + 1))
        isolate = _isolator(self.netns, self.hide)

        def preexec():
            isolate()
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        return preexec

    def _cleanup_processes(self, proc) -> None:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.uid is not None and self._lease is not None:
            _kill_uid(self.uid)

    # -- running ----------------------------------------------------------------------------
    def run(self, submission_files: list[str], module: str, job: bytes, inputs: bytes,
            timeout: float | None = None) -> ChildResult:
        """Run the harness on one job in a fresh scratch directory; return what it left."""
        timeout = float(timeout or self.limits.timeout)
        scratch = tempfile.mkdtemp(prefix="scratch-", dir=self.base)
        out_path = os.path.join(self.private, "stdout.txt")
        err_path = os.path.join(self.private, "stderr.txt")
        try:
            for path in submission_files:
                name = os.path.basename(path) if len(submission_files) > 1 else module + ".py"
                shutil.copyfile(path, os.path.join(scratch, name))
            shutil.copyfile(harness.__file__, os.path.join(scratch, "_grading_harness.py"))
            with open(os.path.join(scratch, "job.json"), "wb") as f:
                f.write(job)
            with open(os.path.join(scratch, "inputs.npz"), "wb") as f:
                f.write(inputs)
            for name in os.listdir(scratch):
                self._own(os.path.join(scratch, name))
                os.chmod(os.path.join(scratch, name), 0o600)
            self._own(scratch)
            cmd = [self.python, "-I", "-S", os.path.join(scratch, "_grading_harness.py"), scratch, self._uid_arg(),
                   self.runtime] + self.fallbacks
            start = time.monotonic()
            timed_out = False
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(cmd, cwd=scratch, env=self._env(scratch), stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=err, preexec_fn=self._preexec(timeout),
                                        start_new_session=True, close_fds=True)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    self._cleanup_processes(proc)
                    proc.wait()
                self._cleanup_processes(proc)
            wall = time.monotonic() - start
            raw_status = _read_capped(os.path.join(scratch, harness.STATUS_FILE), MAX_STATUS_BYTES)
            status = None
            if raw_status is not None:
                try:
                    status = json.loads(raw_status.decode("utf-8"))
                    if not isinstance(status, dict):
                        status = None
                except (ValueError, UnicodeDecodeError):
                    status = None
            outputs = _read_capped(os.path.join(scratch, harness.OUTPUTS_FILE), MAX_OUTPUTS_BYTES)
            stderr_tail, stderr_bytes = _tail(err_path)
            _, stdout_bytes = _tail(out_path, 0)
            return ChildResult(status, outputs, proc.returncode, timed_out, wall, stderr_tail,
                               stdout_bytes, stderr_bytes)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            for p in (out_path, err_path):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    def close(self) -> None:
        self._cleanup_processes(None)
        shutil.rmtree(self.base, ignore_errors=True)
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_BASE_OPTIM_INIT = '''"""minigrad's optimizer base class, alone: what a student's optimizer classes build on."""
from .optimizer import Optimizer, check_betas, check_lr, check_nonnegative, required

__all__ = ["Optimizer", "check_betas", "check_lr", "check_nonnegative", "required"]
'''


_BASE_OPTIM_FILES = ("optimizer.py", "hooks.py", "checks.py", "types.py", "fast/mixin.py", "fast/flat.py")
_BASE_FAST_INIT = '''"""The flat path's mixin alone (the base class imports it); no formulas."""
'''


def _base_optim(target: str) -> None:
    """An ``optim`` package holding only the base class and what it imports, no optimizers and no formulas.

    The child may build on ``optim.Optimizer``; the project's own optimizer
    classes and ``optim.functional`` (the reference of the ``optimizer-class``
    assignment) stay out.
    """
    import optim

    source = os.path.dirname(os.path.abspath(optim.__file__))
    os.mkdir(target, 0o755)
    os.mkdir(os.path.join(target, "fast"), 0o755)
    for name in _BASE_OPTIM_FILES:
        shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    with open(os.path.join(target, "__init__.py"), "w", encoding="utf-8") as f:
        f.write(_BASE_OPTIM_INIT)
    with open(os.path.join(target, "fast", "__init__.py"), "w", encoding="utf-8") as f:
        f.write(_BASE_FAST_INIT)


def _chmod_tree(path: str) -> None:
    for root, _dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


_STDLIB_SKIP = ("test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "idlelib", "tkinter",
                "turtledemo", "ensurepip", "lib2to3", "config-*", "pydoc_data")


def _readable_copy(sources: dict, name: str, skip) -> str:
    """World-readable copies of directories (name -> source) side by side in one cached directory.

    Made once per set of sources (keyed by their paths and modification times) and
    reused; NumPy and ``numpy.libs`` go together so that the libraries' relative
    run paths (``$ORIGIN/../../numpy.libs``) still hold.
    """
    import hashlib

    key = ";".join(f"{k}={v}:{os.stat(v).st_mtime_ns}" for k, v in sorted(sources.items()))
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache = os.path.join(tempfile.gettempdir(), "minigrad-grading-cache")
    os.makedirs(cache, mode=0o755, exist_ok=True)
    os.chmod(cache, 0o755)
    target = os.path.join(cache, f"{name}-{tag}")
    if os.path.isdir(target):
        return target
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=cache)
    for sub, src in sources.items():
        shutil.copytree(src, os.path.join(tmp, sub), symlinks=True, ignore=shutil.ignore_patterns(*skip))
    for root, _dirs, files in os.walk(tmp):
        os.chmod(root, 0o755)
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)
    try:
        os.rename(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isdir(target):
            raise
    return target
