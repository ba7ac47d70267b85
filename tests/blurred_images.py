"""Images blurred by PSFs of known width and recorded by a simulated camera, for the blind-estimate tests.

The object is a 256 x 256 HR image in [0, 1]; the PSF is point-sampled on that grid; the camera integrates 2 x 2 HR
pixels (one input pixel), counts photons (Poisson) and adds read noise. Widths are FWHMs in input (LR) pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal
from skimage import color, data

from napari_zssr.core.optics import airy_profile
from napari_zssr.sample import synthetic_fluorescence

#: FWHM of the Airy pattern in units of lambda / NA
AIRY_FWHM = 1.61634 / np.pi


def _unit(image: np.ndarray, size: int = 256) -> np.ndarray:
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    crop = image[top : top + size, left : left + size].astype(np.float64)
    low, high = np.percentile(crop, [0.1, 99.9])
    return np.clip((crop - low) / (high - low), 0, 1)


def filaments(seed: int = 1, size: int = 256) -> np.ndarray:
    """Thin curved filaments of random brightness, as in a microtubule image."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size))
    for _ in range(40):
        t = np.linspace(0, 1, 2000)
        start = rng.uniform(0, size, 2)
        direction = rng.normal(0, 1, 2)
        direction *= rng.uniform(50, 200) / np.linalg.norm(direction)
        path = start[:, None] + direction[:, None] * t + rng.normal(0, 30, 2)[:, None] * np.sin(np.pi * t)
        inside = (path >= 0).all(0) & (path < size - 1).all(0)
        image[np.round(path[0, inside]).astype(int), np.round(path[1, inside]).astype(int)] += rng.uniform(0.5, 1)
    image = ndimage.gaussian_filter(image, 0.5)
    return np.clip(image / np.percentile(image, 99.9), 0, 1)


IMAGES = {
    "fluorescence": lambda: synthetic_fluorescence((256, 256), seed=5),
    "grass": lambda: _unit(data.grass()),
    "filaments": filaments,
    "stars": lambda: _unit(color.rgb2gray(data.hubble_deep_field())),
}


def hr_psf(kind: str, fwhm: float) -> np.ndarray:
    """A Gaussian or Airy PSF of ``fwhm`` input pixels, point-sampled on the 2x finer HR grid, sum 1."""
    hr_fwhm = 2 * fwhm
    half = int(np.ceil(6 * hr_fwhm)) + 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    radius = np.hypot(y, x)
    if kind == "gaussian":
        psf = np.exp(-(radius**2) / (2 * (hr_fwhm / (2 * np.sqrt(2 * np.log(2)))) ** 2))
    else:
        psf = airy_profile(radius, 1.0, 1000 * hr_fwhm / AIRY_FWHM)
    return psf / psf.sum()


def record(hr: np.ndarray, psf: np.ndarray, photons: float = 1000, read_noise: float = 0.01,
           seed: int = 0) -> np.ndarray:
    """Blur ``hr`` by ``psf``, integrate 2x2 camera pixels, add shot noise (``photons`` at 1; 0: none), read noise."""
    blurred = signal.fftconvolve(np.pad(hr, psf.shape[0] // 2, mode="reflect"), psf, mode="valid")
    lr = blurred.reshape(blurred.shape[0] // 2, 2, blurred.shape[1] // 2, 2).mean(axis=(1, 3))
    rng = np.random.default_rng(seed)
    if photons:
        lr = rng.poisson(np.clip(lr, 0, None) * photons) / photons
    return lr + rng.normal(0, read_noise, lr.shape)
