"""Resizing on torch tensors with MATLAB ``imresize`` semantics, and downscaling with an explicit kernel.

Grid convention (used everywhere in the project): the outer pixel edges of input and output coincide, so the
effective factor along an axis is ``out / in`` and output pixel ``j`` samples input coordinate
``(j + 0.5) * in / out - 0.5``. Written here (about 60 lines) rather than taken from ``resize-right`` because that
package zero-pads by default, is unmaintained since 2022 and uses a different grid; the tests pin this code to
Pillow's BICUBIC, which shares MATLAB's kernel and antialiasing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .units import PLAUSIBLE_PIXEL_UM, number_meant

Scale = tuple[float, float]


def as_scale_pair(scale: float | Sequence[float] | np.ndarray) -> Scale:
    """Return ``scale`` (a number, or a (y, x) pair as a tuple, list or numpy array) as a ``(sy, sx)`` pair."""
    if scale is None or isinstance(scale, (str, bytes)) or any(  # text in a pair as alone: numpy would read "2"
            isinstance(value, (bool, np.bool_, str, bytes, np.str_, np.bytes_))
            for value in np.ravel(np.asarray(scale, dtype=object))):
        raise TypeError(f"scale must be a number or a (y, x) pair, got {scale!r}")
    items = list(scale.ravel()) if isinstance(scale, np.ndarray) else list(np.ravel(np.asarray(scale, dtype=object)))
    values = np.array([number_meant(item) for item in items], dtype=np.float64).reshape(np.shape(scale))
    if values.shape == ():
        return float(values), float(values)
    if values.shape != (2,):
        raise ValueError(f"scale must be a number or a (y, x) pair, got {scale!r}")
    return float(values[0]), float(values[1])


#: the largest scale factor accepted: far past what any image supports, small enough to keep sizes finite
MAX_SCALE = 64.0


def upscale_factors(scale: float | Sequence[float] | np.ndarray) -> Scale:
    """``scale`` as a ``(sy, sx)`` pair of factors from above 1 to :data:`MAX_SCALE`, or a ValueError naming it. A
    factor within :data:`WHOLE_TOLERANCE` of a whole number is that number (2.0000000001, a float's rounding): a
    kernel takes it as whole, and the output's size must agree (``ceil(24 * 2.0000000001)`` is 49)."""
    try:
        pair = as_scale_pair(scale)
    except (TypeError, ValueError) as error:
        raise ValueError(f"scale must be a number > 1 or a (y, x) pair of them, got {scale!r}") from error
    if not all(np.isfinite(pair)) or min(pair) <= 1:
        raise ValueError(f"scale must be greater than 1 on every axis, got {scale!r}")
    if max(pair) > MAX_SCALE:
        raise ValueError(f"scale must be at most {MAX_SCALE:g} on every axis, got {scale!r}")
    return (_snapped(pair[0]), _snapped(pair[1]))


#: how near a scale factor must be to a whole number to be taken as it
WHOLE_TOLERANCE = 1e-9


def _snapped(factor: float) -> float:
    return float(round(factor)) if abs(factor - round(factor)) <= WHOLE_TOLERANCE else factor


#: a pixel size in um: one number, or (y, x) for unequal sides
PixelSize = float | Sequence[float]


def pixel_pair(pixel_size: PixelSize | None, name: str = "pixel_size") -> tuple[float, float] | None:
    """A pixel size (um) as a positive finite ``(y, x)`` pair within :data:`PLAUSIBLE_PIXEL_UM`; None stays None
    ("unknown"). A ValueError names ``name`` otherwise."""
    if pixel_size is None:
        return None
    try:
        pair = as_scale_pair(pixel_size)
    except (TypeError, ValueError):
        pair = (float("nan"), float("nan"))
    if not all(np.isfinite(pair)) or min(pair) <= 0:
        raise ValueError(f"{name} must be a positive number of micrometres (or a (y, x) pair), got {pixel_size!r}")
    low, high = PLAUSIBLE_PIXEL_UM
    if not all(low <= side <= high for side in pair):
        raise ValueError(f"{name} must be in micrometres, from {low:g} to {high:g} (0.1 pm to 10 cm), got "
                         f"{pixel_size!r}: a value in another unit?")
    return pair


def scaled_shape(shape: tuple[int, int], scale: Scale) -> tuple[int, int]:
    """MATLAB's output size ``ceil(in * s)`` per axis (robust to floating-point noise in ``in * s``)."""
    return tuple(max(1, math.ceil(n * s - 1e-9)) for n, s in zip(shape, scale))  # type: ignore[return-value]


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic kernel with a = -0.5 (MATLAB and Pillow)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def mirror_indices(positions: np.ndarray, length: int) -> np.ndarray:
    """Map any integer positions into ``[0, length)`` by symmetric mirroring (edge pixel repeated)."""
    period = 2 * length
    folded = np.mod(positions, period)
    return np.where(folded < length, folded, period - 1 - folded)


@lru_cache(maxsize=256)
def _cubic_weights(in_len: int, out_len: int, device: torch.device,
                   dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Input indices and weights, both ``(out_len, taps)``, of cubic resizing from ``in_len`` to ``out_len``.

    Made once per size and device: a host-to-device copy in every training step would stall a GPU.
    """
    factor = out_len / in_len
    stretch = 1.0 / factor if factor < 1 else 1.0  # antialiasing: widen the kernel when shrinking
    centres = (np.arange(out_len) + 0.5) / factor - 0.5
    taps = int(math.ceil(4 * stretch)) + 2
    left = np.floor(centres - 2 * stretch)
    positions = left[:, None] + np.arange(taps)[None, :]
    weights = _cubic((centres[:, None] - positions) / stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    indices = mirror_indices(positions.astype(np.int64), in_len)
    return torch.as_tensor(indices, device=device), torch.as_tensor(weights, device=device, dtype=dtype)


def _resize_axis(x: torch.Tensor, out_len: int, dim: int) -> torch.Tensor:
    in_len = x.shape[dim]
    if in_len == out_len:
        return x
    indices, weights = _cubic_weights(in_len, out_len, x.device, x.dtype)
    view = [1] * x.ndim
    view[dim] = out_len
    out = None
    for tap in range(indices.shape[1]):
        term = x.index_select(dim, indices[:, tap]) * weights[:, tap].reshape(view)
        out = term if out is None else out + term
    return out


def resize(x: torch.Tensor, out_shape: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of the last two axes of ``x`` to ``out_shape`` (effective factor out/in per axis)."""
    return _resize_axis(_resize_axis(x, out_shape[0], x.ndim - 2), out_shape[1], x.ndim - 1)


@lru_cache(maxsize=256)
def _mirrored_range(before: int, length: int, after: int, device: torch.device) -> torch.Tensor:
    """Indices ``-before .. length + after - 1`` mirrored into ``[0, length)``, on ``device`` (made once)."""
    return torch.as_tensor(mirror_indices(np.arange(-before, length + after), length), device=device)


def symmetric_pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Pad the last two axes by symmetric mirroring, for any pad size (torch's ``reflect`` skips the edge)."""
    h, w = x.shape[-2:]
    x = x.index_select(-2, _mirrored_range(top, h, bottom, x.device))
    return x.index_select(-1, _mirrored_range(left, w, right, x.device))


def downscale_with_kernel(x: torch.Tensor, kernel: torch.Tensor, factor: tuple[int, int]) -> torch.Tensor:
    """Correlate ``x`` (N, C, H, W) with a centred ``kernel`` and keep every ``factor``-th pixel from 0.

    ``out[n] = sum_m k[m] x[n + m - K//2]``; the kernel's centre of mass must sit at ``K//2 + (s - 1)/2`` (see
    :func:`napari_zssr.core.kernels.centre_kernel`) so that LR pixel ``j`` lies at HR coordinate
    ``s*j + (s - 1)/2``, the same place as on the bicubic path.
    """
    kh, kw = kernel.shape
    padded = symmetric_pad(x, kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2)
    channels = x.shape[1]
    weight = kernel.to(dtype=x.dtype, device=x.device).expand(channels, 1, kh, kw)
    return F.conv2d(padded, weight, stride=factor, groups=channels)  # only the kept pixels are computed
