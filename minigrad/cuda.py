"""Whether tensors can go to a GPU, and if not, why: ``minigrad.cuda``.

The GPU backend is CuPy, installed as the wheel built for the machine's CUDA
major version (the extras ``gpu-cuda12`` = ``cupy-cuda12x`` and ``gpu-cuda13``
= ``cupy-cuda13x``; ``gpu`` is ``gpu-cuda12``). Whichever one is installed is
found by importing ``cupy`` (all the wheels install that module), so nothing
here depends on which one it is; :func:`cupy_distribution` names it for
reports.

Three things can be missing, and :func:`unavailable_reason` says which, with
what to do about it: CuPy itself, a working CUDA driver (absent, or older than
the CUDA the wheel was built for), or a visible device.
"""
from __future__ import annotations

from importlib import metadata

from . import backend

__all__ = ["is_available", "unavailable_reason", "cupy_distribution", "device_info"]

_INSTALL_HINT = ("install CuPy for the machine's CUDA major version (nvidia-smi shows it): "
                 "pip install 'minigrad-edu[gpu-cuda12]' or 'minigrad-edu[gpu-cuda13]'")


def is_available() -> bool:
    """True when CuPy is installed, the CUDA driver works and at least one GPU is visible."""
    return backend.cuda_is_available()


def cupy_distribution() -> str | None:
    """The installed CuPy distribution with its version (``"cupy-cuda13x 14.2.0"``), or None.

    Read from the installed packages' metadata, without importing CuPy.
    """
    found = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-"):
            found.append(f"{name} {dist.version}")
    return ", ".join(sorted(found)) or None


def _classify(exc: BaseException | None) -> str:
    """A sentence for why CuPy could not be used, from the error the import or the device query raised."""
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"
    installed = cupy_distribution()
    if isinstance(exc, ImportError):
        if installed:
            return (f"CuPy ({installed}) is installed but cannot be imported ({text}); "
                    "two CuPy wheels installed at once, or a wheel for another CUDA version, "
                    f"are the usual causes: keep one. {_INSTALL_HINT}")
        return f"CuPy is not installed; {_INSTALL_HINT}"
    lowered = text.lower()
    if "no cuda device" in lowered or "nodevice" in lowered or "no cuda-capable device" in lowered:
        return ("CuPy is installed but no CUDA device is visible (check nvidia-smi and "
                f"CUDA_VISIBLE_DEVICES) ({text})")
    if "insufficientdriver" in lowered or "driver version is insufficient" in lowered:
        return (f"the CUDA driver is older than the CUDA that CuPy ({installed}) was built for "
                f"({text}); install the CuPy wheel for the driver's CUDA version. {_INSTALL_HINT}")
    return (f"CuPy ({installed or 'installed'}) cannot use the CUDA driver ({text}); "
            "an NVIDIA driver must be installed and loaded (nvidia-smi must work)")


def unavailable_reason() -> str | None:
    """None when a GPU can be used; otherwise one sentence saying what is missing and what to do."""
    if backend.cuda_is_available():
        return None
    return _classify(backend._cupy_error)


def device_info() -> dict:
    """What the GPU backend runs on: ``available``, ``reason``, ``cupy`` and, with a device,
    ``device`` (its name), ``memory_gib``, ``cuda_runtime`` and ``cuda_driver`` versions."""
    info = {"available": is_available(), "reason": unavailable_reason(),
            "cupy": cupy_distribution()}
    if info["available"]:
        cp = backend.xp_for("cuda")
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"]
        info["device"] = name.decode() if isinstance(name, bytes) else str(name)
        info["memory_gib"] = round(props["totalGlobalMem"] / 2**30, 1)
        info["cuda_runtime"] = cp.cuda.runtime.runtimeGetVersion()
        info["cuda_driver"] = cp.cuda.runtime.driverGetVersion()
        info["cupy_version"] = cp.__version__
    return info
