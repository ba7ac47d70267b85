"""Fourier spectra of image planes without edge artefacts, and the choice of planes a stack is analysed by.

Both the blind kernel estimate and the resolution estimate read the image's spectrum. The FFT treats an image as
periodic, so the jump between opposite borders adds a bright cross of power falling as 1/k^2 that would read as
structure; the periodic component of Moisan's periodic + smooth decomposition ("Periodic plus smooth image
decomposition", J. Math. Imaging Vis. 2011) has no such jump and keeps every pixel of the image.
"""

from __future__ import annotations

import numpy as np

#: planes of an N-D stack that the estimates combine (evenly spaced; more cost time and add little)
MAX_PLANES = 8


def periodic_spectrum(plane: np.ndarray) -> np.ndarray:
    """FFT (unshifted, ``numpy.fft.fft2`` layout) of the periodic component of ``plane`` (2D, float)."""
    u = np.asarray(plane, dtype=np.float64)
    rows, cols = u.shape
    boundary = np.zeros_like(u)
    boundary[0, :] += u[-1, :] - u[0, :]
    boundary[-1, :] += u[0, :] - u[-1, :]
    boundary[:, 0] += u[:, -1] - u[:, 0]
    boundary[:, -1] += u[:, 0] - u[:, -1]
    q = np.cos(2 * np.pi * np.arange(rows) / rows)[:, None]
    r = np.cos(2 * np.pi * np.arange(cols) / cols)[None, :]
    denominator = 2 * q + 2 * r - 4
    denominator[0, 0] = 1.0
    smooth = np.fft.fft2(boundary) / denominator
    smooth[0, 0] = 0.0
    return np.fft.fft2(u) - smooth


def analysis_planes(image: np.ndarray, max_planes: int = MAX_PLANES) -> list[np.ndarray]:
    """Up to ``max_planes`` evenly spaced non-constant YX planes (float64, largest magnitude 1) of a 2D or N-D image.

    Raises a ValueError naming the problem when the image is not at least 2D, is too small, holds NaN or
    infinite values, or has no plane with any variation.
    """
    array = np.asarray(image)
    if array.dtype == bool or np.iscomplexobj(array) or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"the image must be a real-valued numeric array, got dtype {array.dtype}")
    if array.ndim < 2:
        raise ValueError(f"the image must have at least 2 dimensions (..., Y, X), got shape {array.shape}")
    if min(array.shape[-2:]) < 16:
        raise ValueError(f"the image's planes are too small ({array.shape[-2:]}) for a spectral estimate; "
                         "they need at least 16 x 16 pixels")
    planes = array.reshape(-1, *array.shape[-2:])
    if not np.all(np.isfinite(planes)):
        raise ValueError("the image contains NaN or infinite values")
    varying = [i for i in range(planes.shape[0]) if planes[i].max() > planes[i].min()]  # ptp overflows near 3e38
    if not varying:
        raise ValueError("the image is constant: it holds no structure to estimate a blur or a resolution from")
    chosen = np.unique(np.round(np.linspace(0, len(varying) - 1, min(max_planes, len(varying)))).astype(int))
    # each plane scaled to a largest magnitude of 1: the analysis is scale-free, and float64 powers of data near
    # 1e50 or 1e-50 would overflow or underflow
    return [plane / np.abs(plane).max() for plane in (planes[varying[i]].astype(np.float64) for i in chosen)]
