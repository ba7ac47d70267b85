"""Device choice: CUDA, then Apple MPS, then CPU, or what the caller names."""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """Devices this machine can run on, best first (``cpu`` always last)."""
    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices + ["cpu"]


def select_device(requested: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``"auto"``/``None`` to the best available device; check that an explicit one exists."""
    if requested is None or str(requested) == "auto":
        return torch.device(available_devices()[0])
    unsupported = f"unsupported device {str(requested)!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise ValueError(unsupported) from error
    except TypeError:  # torch's own message lists its constructor's signatures
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, got "
                        f"{type(requested).__name__} {requested!r}") from None
    if device.type == "cuda":
        index = device.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ValueError(f"device {str(requested)!r} is not available here; choose one of {available_devices()}")
        return torch.device("cuda", index)
    if device.type == "mps" and "mps" not in available_devices():
        raise ValueError(f"device 'mps' is not available here; choose one of {available_devices()}")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(unsupported)
    # torch accepts "cpu:1", but a CPU has no index (ZSSRConfig refuses it): the run is on, and records, "cpu"
    return torch.device("cpu") if device.type == "cpu" else device


def release_device_memory(device: torch.device) -> None:
    """Return cached GPU memory to the driver after a run (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
