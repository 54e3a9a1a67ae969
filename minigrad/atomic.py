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

__all__ = ["atomic_open", "write_bytes", "write_text"]


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


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file that replaces ``path`` when the block ends cleanly.

    ``with atomic_open(p) as f: f.write(...)``; missing parent directories are
    created. On an exception inside the block the target is untouched.
    """
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".",
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
