"""Atomic file writes: a file's new content appears whole, or not at all.

The content goes to a temporary file in the same directory, which is flushed to
disk (``fsync``) and then renamed over the target (``os.replace``, atomic on POSIX
and Windows). A crash or an exception before the rename leaves the old file as it
was and removes the temporary file. Checkpoints, cached corpora and experiment
records are all written this way.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time

__all__ = ["atomic_open", "write_bytes", "write_text", "remove_stale_temporaries"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable; best effort (not every platform allows it)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: A temporary file whose writer cannot be identified is stale after this long.
STALE_SECONDS = 3600.0


def _temp_prefix(target: str) -> str:
    return "." + os.path.basename(target) + "."


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # exists, owned by someone else (or cannot tell: keep it)
    return True


def remove_stale_temporaries(path) -> list:
    """Remove the temporary files that earlier writes of ``path`` left behind.

    A process killed between creating its temporary file and renaming it
    leaves ``.<name>.<pid>.<random>.tmp`` next to the target. Such a file is
    stale when process ``<pid>`` no longer runs (or, for a name without a pid,
    when it is older than :data:`STALE_SECONDS`); a live writer's file is left
    alone. Returns the paths removed.
    """
    target = os.path.abspath(os.fspath(path))
    directory, prefix = os.path.dirname(target), _temp_prefix(target)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        full = os.path.join(directory, name)
        try:
            if pid_text.isdigit() and "." in middle:
                stale = not _pid_alive(int(pid_text))
            else:
                stale = now - os.lstat(full).st_mtime > STALE_SECONDS
            if stale:
                os.unlink(full)
                removed.append(full)
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file that replaces ``path`` when the block ends cleanly.

    ``with atomic_open(p) as f: f.write(...)``; missing parent directories are
    created. On an exception inside the block the target is untouched. The
    temporary file's name is unique (``.<name>.<pid>.<random>.tmp``), so several
    processes can write the same path at once (the last rename wins), and the
    stale temporaries of killed writers are removed first.
    """
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.",
                               suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def write_bytes(path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_text(path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
