"""Reading input files that may be hostile, and naming cache files safely.

Data files come from directories the user points at: a source tree, a locale
directory, a folder of JSON lines. Anything can sit there under a matching name:
a FIFO named ``x.py`` (reading it blocks forever), a device (``/dev/zero``
behind a symlink never ends), a directory, a symlink loop, a file of gigabytes.
Every loader reads its inputs through :func:`read_regular_file` or
:func:`open_regular_file`, which open without blocking, accept regular files
only, bound the size, and raise :class:`SkippedInput` (an :class:`OSError`)
with a short machine-readable ``reason``, so that a loader can skip the file
and count the reason in its corpus summary.

Cache file names are built from arguments (a language code, a corpus kind):
:func:`safe_name_part` keeps only ``[A-Za-z0-9_.-]`` and :func:`cache_file`
checks that the result lies directly in the cache directory, so that an
argument such as ``"x/../../escaped"`` cannot write elsewhere.
"""
from __future__ import annotations

import errno
import io
import os
import re
import stat

__all__ = [
    "SkippedInput",
    "MissingInput",
    "DEFAULT_MAX_BYTES",
    "read_regular_file",
    "open_regular_file",
    "safe_name_part",
    "cache_file",
]

#: Largest input file read by default (64 MiB): the biggest source file or
#: gettext catalog of a real distribution is a few MiB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class SkippedInput(OSError):
    """An input file that is not read: ``reason`` (a short word), ``path`` and ``detail``.

    Reasons: ``not_regular`` (FIFO, device, socket, directory), ``too_large``,
    ``unreadable`` (any other :class:`OSError`, a symlink loop included).
    """

    def __init__(self, reason, path, detail):
        super().__init__(detail)
        self.reason = reason
        self.path = os.fspath(path)
        self.detail = detail

    def __str__(self):
        return f"{self.path}: {self.detail}"


class MissingInput(SkippedInput, FileNotFoundError):
    """A :class:`SkippedInput` (reason ``unreadable``) for a file that does not exist (or a
    dangling symlink); also a :class:`FileNotFoundError`, as ``open`` would raise."""


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _open_fd(path, max_bytes):
    """A descriptor on the regular file ``path`` (blocking mode restored), or :class:`SkippedInput`."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise SkippedInput("not_regular", path, "is a directory, not a regular file") from None
    except FileNotFoundError as exc:
        raise MissingInput("unreadable", path, f"cannot open: {exc.strerror or 'no such file'}") from None
    except OSError as exc:
        what = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or type(exc).__name__)
        raise SkippedInput("unreadable", path, f"cannot open: {what}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SkippedInput("not_regular", path, f"is {_kind(st.st_mode)}, not a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise SkippedInput("too_large", path, f"{st.st_size} bytes, more than the limit of {max_bytes}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path, max_bytes=DEFAULT_MAX_BYTES):
    """The bytes of the regular file ``path``; :class:`SkippedInput` for anything else.

    ``max_bytes`` (None: no limit) bounds what is read even when the file grows
    while it is being read.
    """
    fd = _open_fd(os.fspath(path), max_bytes)
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise SkippedInput("unreadable", path, f"cannot read: {exc.strerror or exc}") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise SkippedInput("too_large", path, f"more than the limit of {max_bytes} bytes")
    return data


def open_regular_file(path, max_bytes=DEFAULT_MAX_BYTES):
    """A binary file object on the regular file ``path`` (for line-by-line reading).

    Raises :class:`SkippedInput` as :func:`read_regular_file`; the size limit is
    checked when the file is opened.
    """
    fd = _open_fd(os.fspath(path), max_bytes)
    return io.open(fd, "rb", closefd=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name_part(text, max_len=64):
    """``text`` made safe as part of one file name: only ``[A-Za-z0-9_.-]``, no leading dot.

    Runs of other characters (``/``, ``\\``, spaces, NUL) become ``_`` and leading
    dots are dropped, so the result can neither name another directory nor hide
    the file; an empty result becomes ``_``.
    """
    out = _UNSAFE.sub("_", str(text)).lstrip(".")[:max_len]
    return out or "_"


def cache_file(cache_dir, *parts, ext):
    """``cache_dir/part1-part2-....ext``, each part made safe; checked to lie inside ``cache_dir``."""
    if not re.fullmatch(r"[a-z0-9]+", ext):
        raise ValueError(f"cache file extension must be lower-case letters and digits, got {ext!r}")
    name = "-".join(safe_name_part(p) for p in parts) + "." + ext
    directory = os.path.abspath(os.fspath(cache_dir))
    path = os.path.join(directory, name)
    if os.path.dirname(os.path.abspath(path)) != directory:  # cannot happen with safe parts; kept as a guard
        raise ValueError(f"cache file name {name!r} would leave the cache directory {directory}")
    return path

