"""The sampled Gaussian, numpy only: the sample's PSF uses it, and the sample (napari's File > Open Sample) must not
import torch."""

from __future__ import annotations

import numpy as np

#: a Gaussian's full width at half maximum over its std
FWHM_PER_SIGMA = float(2 * np.sqrt(2 * np.log(2)))


def gaussian_taps(sigma: float, radius: int) -> np.ndarray:
    """A centred Gaussian of std ``sigma``, point-sampled at the integers -radius..radius, sum 1: the one sampled
    Gaussian behind the default axial profile and the sample's PSF (2D: the outer product)."""
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()
