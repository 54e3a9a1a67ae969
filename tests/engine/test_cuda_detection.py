"""``minigrad.cuda``: detection of CuPy and the reason given when the GPU cannot be used.

CuPy is not needed: the import and the device query are replaced by fakes, so
each way of failing (no CuPy, no driver, an old driver, no device) is tested
on any machine.
"""
import sys
import types

import pytest

import minigrad as mg
from minigrad import backend, cuda


class _FakeRuntimeError(Exception):
    """Stands for cupy_backends.cuda.api.runtime.CUDARuntimeError."""


def _fake_cupy(count=None, error=None):
    def get_device_count():
        if error is not None:
            raise error
        return count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    mod = types.ModuleType("cupy")
    mod.cuda = types.SimpleNamespace(runtime=runtime)
    mod.ndarray = type("ndarray", (), {})
    return mod


@pytest.fixture
def fresh(monkeypatch):
    """A backend that has not looked for CuPy yet (restored after the test)."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", None)
    return monkeypatch


def test_no_cupy(fresh):
    fresh.setitem(sys.modules, "cupy", None)          # import cupy raises ImportError
    fresh.setattr(cuda, "cupy_distribution", lambda: None)
    assert cuda.is_available() is False
    reason = cuda.unavailable_reason()
    assert "CuPy is not installed" in reason and "gpu-cuda12" in reason and "gpu-cuda13" in reason
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        mg.zeros(3, device="cuda")


def test_cupy_installed_but_broken_import(fresh):
    fresh.setitem(sys.modules, "cupy", None)
    fresh.setattr(cuda, "cupy_distribution", lambda: "cupy-cuda12x 13.0.0, cupy-cuda13x 14.2.0")
    reason = cuda.unavailable_reason()
    assert "cannot be imported" in reason and "cupy-cuda13x 14.2.0" in reason


def test_no_driver(fresh):
    err = _FakeRuntimeError("cudaErrorInitializationError: initialization error")
    fresh.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    fresh.setattr(cuda, "cupy_distribution", lambda: "cupy-cuda13x 14.2.0")
    assert not cuda.is_available()
    reason = cuda.unavailable_reason()
    assert "cannot use the CUDA driver" in reason and "initialization error" in reason


def test_old_driver(fresh):
    err = _FakeRuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient "
                            "for CUDA runtime version")
    fresh.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    fresh.setattr(cuda, "cupy_distribution", lambda: "cupy-cuda13x 14.2.0")
    reason = cuda.unavailable_reason()
    assert "older than the CUDA" in reason and "cupy-cuda13x" in reason


@pytest.mark.parametrize("fake", [_fake_cupy(count=0),
                                  _fake_cupy(error=_FakeRuntimeError("cudaErrorNoDevice: no CUDA-capable "
                                                                     "device is detected"))])
def test_no_device(fresh, fake):
    fresh.setitem(sys.modules, "cupy", fake)
    assert not cuda.is_available()
    assert "no CUDA device is visible" in cuda.unavailable_reason()


def test_working_cupy_is_available(fresh):
    fresh.setitem(sys.modules, "cupy", _fake_cupy(count=1))
    assert cuda.is_available() is True
    assert cuda.unavailable_reason() is None


def test_device_info_without_gpu(fresh):
    fresh.setitem(sys.modules, "cupy", None)
    info = cuda.device_info()
    assert info["available"] is False and info["reason"] and "device" not in info


def test_cupy_distribution_reads_metadata(monkeypatch):
    dists = [types.SimpleNamespace(metadata={"Name": "numpy"}, version="2.0"),
             types.SimpleNamespace(metadata={"Name": "cupy-cuda13x"}, version="14.2.0")]
    monkeypatch.setattr(cuda.metadata, "distributions", lambda: dists)
    assert cuda.cupy_distribution() == "cupy-cuda13x 14.2.0"
    monkeypatch.setattr(cuda.metadata, "distributions", lambda: dists[:1])
    assert cuda.cupy_distribution() is None
