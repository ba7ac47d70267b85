"""Degradation kernels: validation, centring for strided sampling and symmetry (a PSF becomes a kernel in
:mod:`.psf`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .geometry import scale_symmetries, transform_array
from .values import real_values

#: L1 distance (on a sum-1 kernel) below which a transformed kernel counts as unchanged; a measured PSF is never
#: exactly symmetric, and treating bead noise as asymmetry would needlessly shrink the ensemble.
SYMMETRY_TOLERANCE = 0.1


def validate_kernel(kernel: np.ndarray) -> np.ndarray:
    """Return ``kernel`` as float64 normalised to sum 1, or raise a clear error."""
    k = real_values(kernel, "kernel", "kernel.filled(0)")
    if k.ndim != 2:
        raise ValueError(f"kernel must be a 2D array, got {k.ndim} dimensions (shape {k.shape})")
    if k.size == 0:
        raise ValueError("kernel is empty")
    if np.any(k < 0):
        raise ValueError("kernel has negative values: a blur kernel must be non-negative (subtract the background "
                         "and clip, or use kernel_from_psf for a measured PSF)")
    if not np.any(k > 0):
        raise ValueError("kernel sums to zero: it must contain some positive weight")
    k = k / k.max()  # first, so that values near the float64 limit cannot overflow the sum
    return k / k.sum()


def centre_of_mass(kernel: np.ndarray) -> tuple[float, float]:
    """Centre of mass of a non-negative 2D array, in (row, column) pixel coordinates, as plain floats."""
    row, col = ndimage.center_of_mass(kernel)
    return float(row), float(col)


def _crop_to_support_keeping_centre(k: np.ndarray) -> np.ndarray:
    """Drop zero rows/columns in pairs (one from each end) so that ``K//2`` keeps its place relative to the mass."""
    for axis in (0, 1):
        while k.shape[axis] > 2:
            first = np.take(k, 0, axis=axis)
            last = np.take(k, -1, axis=axis)
            if np.any(first) or np.any(last):
                break
            k = np.take(k, np.arange(1, k.shape[axis] - 1), axis=axis)
    return k


def centre_kernel(kernel: np.ndarray, factor: tuple[int, int]) -> np.ndarray:
    """Shift a kernel so that its centre of mass sits at ``K//2 + (s - 1)/2`` per axis.

    Correlating with the result and sampling every ``s``-th pixel from 0 then puts LR pixel ``j`` at HR coordinate
    ``s*j + (s - 1)/2``, as bicubic downscaling does. Sub-pixel shifts use a cubic spline (exact for integer
    shifts); the small negative ringing is clipped and the kernel renormalised.
    """
    k = validate_kernel(kernel)
    com = centre_of_mass(k)
    shift = [k.shape[a] // 2 + (factor[a] - 1) / 2 - com[a] for a in (0, 1)]
    margin = [int(np.ceil(abs(s))) + 2 for s in shift]
    k = np.pad(k, [(margin[0], margin[0]), (margin[1], margin[1])])
    k = ndimage.shift(k, shift, order=3, mode="constant")
    k = np.clip(k, 0, None)
    k[k < 1e-9 * k.max()] = 0
    return _crop_to_support_keeping_centre(k / k.sum())


def kernel_symmetries(kernel: np.ndarray | None, scale: tuple[float, float]) -> list[int]:
    """Indices into :data:`DIHEDRAL` of the transforms ``T`` with ``T(k) = k`` about the kernel's centre.

    The bicubic kernel (``None``) is invariant under all eight; with ``s_y != s_x`` only axis-keeping transforms
    (identity, flips, 180 degrees) can be valid.
    """
    candidates = scale_symmetries(scale)
    if kernel is None:
        return candidates
    k = validate_kernel(kernel)
    size = 2 * max(k.shape) + 3  # odd square canvas: every dihedral transform fixes its centre pixel
    canvas = np.zeros((size, size))
    top, left = (size - k.shape[0]) // 2, (size - k.shape[1]) // 2
    canvas[top : top + k.shape[0], left : left + k.shape[1]] = k
    com = centre_of_mass(canvas)
    # grid-constant: the spline sees zeros beyond the canvas; "constant" mirrors there while prefiltering, which
    # leaves an even-sized kernel's half-pixel shift lopsided and judges a symmetric kernel asymmetric.
    canvas = ndimage.shift(canvas, [size // 2 - com[0], size // 2 - com[1]], order=3, mode="grid-constant")
    return [i for i in candidates if np.abs(transform_array(canvas, i) - canvas).sum() < SYMMETRY_TOLERANCE]
