"""What the hostile-file tests share: a private cache directory and an alarm that turns a
loader that blocks (a FIFO, a device) into a failure instead of a hang."""
import signal

import pytest


class Blocked(BaseException):
    """Raised by the alarm: not an OSError, so that no loader can mistake it for a bad file."""


def no_hang_fixture(seconds):
    """An autouse fixture: never write into the user's cache directory; fail instead of blocking."""

    @pytest.fixture(autouse=True)
    def _private_cache_and_no_hang(tmp_path, monkeypatch):
        monkeypatch.setenv("MINIGRAD_DATA_DIR", str(tmp_path / "cache"))

        def timeout(signum, frame):
            raise Blocked("the loader blocked")

        old = signal.signal(signal.SIGALRM, timeout)
        signal.alarm(seconds)
        yield
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)

    return _private_cache_and_no_hang
