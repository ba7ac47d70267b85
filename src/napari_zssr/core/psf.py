"""Microscope PSF -> ZSSR kernel on the HR pixel grid (ZSSR.md, "Kernels from a microscope PSF")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage, signal

from .degradation import integer_factors
from .kernels import centre_of_mass
from .resize import as_scale_pair

PixelSize = float | Sequence[float] | None

#: a PSF whose peak (after background subtraction) is below this many noise standard deviations is rejected.
MIN_PEAK_SNR = 5.0
#: pixels below this many noise standard deviations are background and dropped from the kernel.
SUPPORT_SNR = 3.0


def in_focus_plane(psf: np.ndarray) -> np.ndarray:
    """The 2D plane of a 3D PSF z-stack with the highest peak (2D input is returned as is)."""
    if psf.ndim == 2:
        return psf
    return psf[int(np.argmax(psf.reshape(psf.shape[0], -1).max(axis=1)))]


def _pixel_pair(size: PixelSize) -> tuple[float, float] | None:
    if size is None:
        return None
    pair = as_scale_pair(size)  # type: ignore[arg-type]
    if min(pair) <= 0 or not all(np.isfinite(pair)):
        raise ValueError(f"pixel sizes must be positive, got {size!r}")
    return pair


def _signal_above_background(psf: np.ndarray) -> np.ndarray:
    """Subtract the camera offset (median of the border), keep the connected blob around the peak above noise."""
    border = np.concatenate([psf[0], psf[-1], psf[1:-1, 0], psf[1:-1, -1]])
    background = float(np.median(border))
    noise = 1.4826 * float(np.median(np.abs(border - background)))
    signal_ = np.clip(psf - background, 0, None)
    peak = float(signal_.max())
    if peak <= 0 or (noise > 0 and peak < MIN_PEAK_SNR * noise):
        raise ValueError("the PSF has no clear peak above its background (it looks like noise or a flat image); "
                         "check that the file holds a bead image or a computed PSF")
    support = signal_ > max(SUPPORT_SNR * noise, 1e-4 * peak)
    labels, _ = ndimage.label(support)
    peak_label = labels[np.unravel_index(np.argmax(signal_), signal_.shape)]
    return np.where(labels == peak_label, signal_, 0.0)


def _resample_centred(psf: np.ndarray, zoom: tuple[float, float]) -> np.ndarray:
    """Sample the PSF on a grid ``zoom`` times finer, centred on its centre of mass (odd size, mass at centre)."""
    centre = centre_of_mass(psf)
    rows, cols = np.nonzero(psf)
    half = [int(np.ceil(np.abs(coords - c).max() * z)) + 1 for coords, c, z in
            zip((rows, cols), centre, zoom)]
    grid_y = centre[0] + np.arange(-half[0], half[0] + 1) / zoom[0]
    grid_x = centre[1] + np.arange(-half[1], half[1] + 1) / zoom[1]
    yy, xx = np.meshgrid(grid_y, grid_x, indexing="ij")
    resampled = ndimage.map_coordinates(psf, [yy, xx], order=3, mode="constant", cval=0.0)
    return np.clip(resampled, 0, None)


def _crop_to_support(kernel: np.ndarray, relative_threshold: float = 1e-4) -> np.ndarray:
    kernel = np.where(kernel > relative_threshold * kernel.max(), kernel, 0.0)
    rows, cols = np.nonzero(kernel)
    cy, cx = kernel.shape[0] // 2, kernel.shape[1] // 2
    ry, rx = max(cy - rows.min(), rows.max() - cy), max(cx - cols.min(), cols.max() - cx)
    return kernel[cy - ry : cy + ry + 1, cx - rx : cx + rx + 1]  # symmetric about the centre pixel


def kernel_from_psf(psf: np.ndarray, *, psf_pixel_size: PixelSize = None, pixel_size: PixelSize = None,
                    scale: float | Sequence[float] = 2, measured: bool | None = None) -> np.ndarray:
    """Turn a PSF (2D, or a 3D z-stack: its in-focus plane) into the HR -> LR kernel for ``zssr``.

    The kernel lives on the HR grid (pixel size = ``pixel_size / scale``): the PSF is background-subtracted,
    resampled to that grid, cropped to its support and normalised, with its centre of mass on the centre pixel.
    ``measured`` says whether the PSF is a bead image taken with the same camera (it then already contains the
    camera-pixel integration); a point-sampled/theoretical PSF gets ``box(scale)`` added. ``measured=None`` infers
    it: sampled at the image's pixel size = measured, sampled finer = theoretical. Pixel sizes (same unit, e.g. um)
    left ``None`` mean "unknown": the PSF is then taken as sampled at the image's pixel size, never resampled by a
    guess.
    """
    factors = integer_factors(as_scale_pair(scale))  # type: ignore[arg-type]
    array = np.asarray(psf)
    if array.dtype == bool or np.iscomplexobj(array) or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"the PSF must be a real-valued numeric array, got dtype {array.dtype}")
    if array.ndim not in (2, 3):
        raise ValueError(f"the PSF must be 2D (Y, X) or a 3D z-stack (Z, Y, X), got shape {array.shape}")
    plane = in_focus_plane(array).astype(np.float64)
    if min(plane.shape) < 3:
        raise ValueError(f"the PSF is too small ({plane.shape}); it needs at least 3x3 pixels")
    if not np.all(np.isfinite(plane)):
        raise ValueError("the PSF contains NaN or infinite values")
    psf_size, image_size = _pixel_pair(psf_pixel_size), _pixel_pair(pixel_size)
    if psf_size is None or image_size is None:
        psf_size = image_size = (1.0, 1.0)
    zoom = (psf_size[0] * factors[0] / image_size[0], psf_size[1] * factors[1] / image_size[1])
    if measured is None:
        measured = min(psf_size[0] / image_size[0], psf_size[1] / image_size[1]) > 0.95
    kernel = _crop_to_support(_resample_centred(_signal_above_background(plane), zoom))
    if not measured:
        kernel = signal.convolve2d(kernel, np.ones(factors) / (factors[0] * factors[1]))
    return kernel / kernel.sum()
