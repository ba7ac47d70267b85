"""Arithmetic precision of the network: float32, or automatic mixed precision (bf16/fp16) where it is fast.

Only the convolutions run in the low precision (``torch.autocast``); weights, Adam's state, the residual sum, the
loss, the ensemble and back-projection stay float32, so the result keeps float32 accuracy to within the tiny
rounding of the predicted residual (docs/benchmarks.md: no measurable PSNR cost).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from .config import PRECISIONS

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """bf16 dot products in hardware: Intel AMX (Sapphire Rapids and later; a bf16 training step ~4x faster than
    float32) or AVX512-BF16 (Cooper Lake, AMD Zen 4 and later; ~2.3x). Without them bf16 is emulated and slower."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)


def cuda_has_native_bf16(device: torch.device) -> bool:
    """bf16 tensor cores: Ampere (compute capability 8) and later, or any ROCm GPU. Not
    ``torch.cuda.is_bf16_supported()``: by default it also says yes to older GPUs that only emulate bf16 (slow)."""
    return bool(torch.version.hip) or torch.cuda.get_device_capability(device)[0] >= 8


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the convolutions run in. ``"auto"``: bf16 on CUDA GPUs with bf16 tensor cores, fp16 on older ones,
    bf16 on CPUs with native bf16, float32 elsewhere (MPS autocast is incomplete)."""
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if cuda_has_native_bf16(device) else torch.float16
        if device.type == "cpu" and cpu_has_native_bf16():
            return torch.bfloat16
        return torch.float32
    if precision not in _DTYPES:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "float16" and device.type != "cuda":
        raise ValueError(f"precision 'float16' is for CUDA GPUs only (on {device.type} it is emulated, hundreds of "
                         "times slower); use 'auto' (bfloat16 where the CPU has it, else float32) or 'float32'")
    return _DTYPES[precision]


def emulated_precision_note(precision: str, device: torch.device) -> str | None:
    """What a run asked to train in bfloat16 on a CPU without it in hardware should be told (it then runs several
    times slower than in float32: 4x on a 48² image, measured), or None."""
    if precision == "bfloat16" and device.type == "cpu" and not cpu_has_native_bf16():
        return ("this CPU has no bfloat16 in hardware (AMX or AVX512-BF16), so 'bfloat16' is emulated and slower than "
                "float32; use 'auto' (float32 here) or 'float32'")
    return None


def autocast(dtype: torch.dtype, device: torch.device) -> AbstractContextManager:
    """Mixed precision for the code inside; a no-op for float32.

    Its casts of the weights are not cached: torch keeps such a cache until the outermost autocast region ends, and
    a run is inside one (:func:`~.torch_modes.own_torch_modes` disables a caller's), so every step after the first
    would compute with the first step's low-precision copy of the weights: training did nothing in bf16 (and a
    CUDA graph would replay a cached copy). The casts cost a few microseconds a step (the net has 300 k weights).

    float32 on a device other than the CPU and CUDA (MPS) enters no autocast: a torch without autocast on MPS
    refuses ``torch.autocast("mps")`` even disabled, which failed every Mac GPU run at its first step."""
    if dtype == torch.float32 and device.type not in ("cpu", "cuda"):
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32, cache_enabled=False)


def grad_scaler(dtype: torch.dtype, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling keeps small fp16 gradients from flushing to zero; bf16 and float32 need none (disabled)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
