"""A synthetic fluorescence sample with a known PSF: for the napari sample, the demo command and the benchmarks.

The microscope model is the one ZSSR's PSF kernels assume: HR object blurred by a point-sampled PSF on the HR grid,
integrated over camera pixels (mean of each s x s block), Poisson-like shot noise, camera offset, uint16.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from .core.gaussian import gaussian_taps


@dataclass
class MicroscopySample:
    image: np.ndarray  # the recorded LR image (uint16, camera offset included)
    psf: np.ndarray  # point-sampled PSF on the HR grid, with a camera offset like a computed PSF file would not
    pixel_size: float  # um, of ``image``
    psf_pixel_size: float  # um, of ``psf`` (= pixel_size / SAMPLE_SCALE)


def synthetic_fluorescence(shape: tuple[int, int] = (256, 256), seed: int = 0) -> np.ndarray:
    """Spots of several sizes and thin curved filaments on a dark background, values in [0, 1]."""
    rng = np.random.default_rng(seed)
    image = np.zeros(shape)
    spots = np.zeros(shape)
    rows, cols = rng.integers(0, shape[0], 60), rng.integers(0, shape[1], 60)
    spots[rows, cols] = rng.uniform(0.5, 1.0, 60)
    for sigma in (1.0, 2.0, 3.5):
        image += ndimage.gaussian_filter(spots, sigma) * sigma**2 * 2 * np.pi / 3
    for _ in range(12):
        t = np.linspace(0, 1, 400)
        start, bend = rng.uniform(0, 1, 2) * shape, rng.normal(0, 0.3, 2) * shape
        direction = rng.normal(0, 1, 2)
        direction = direction / np.linalg.norm(direction) * rng.uniform(0.3, 0.8) * shape[0]
        path = start[:, None] + direction[:, None] * t + bend[:, None] * np.sin(np.pi * t)
        inside = (path[0] >= 0) & (path[0] < shape[0] - 1) & (path[1] >= 0) & (path[1] < shape[1] - 1)
        filament = np.zeros(shape)
        filament[np.round(path[0, inside]).astype(int), np.round(path[1, inside]).astype(int)] = 1.0
        image += ndimage.gaussian_filter(filament, 0.6) * rng.uniform(0.6, 1.2) * 2.5
    return np.clip(image / image.max(), 0, 1)


def gaussian_psf(sigma: float, radius: int | None = None) -> np.ndarray:
    taps = gaussian_taps(sigma, radius if radius is not None else int(np.ceil(4 * sigma)))
    return np.outer(taps, taps)


def anisotropic_gaussian_psf(sigma_long: float, sigma_short: float, angle: float,
                             radius: int | None = None) -> np.ndarray:
    """A Gaussian of std ``sigma_long`` along ``angle`` (radians from the x axis) and ``sigma_short`` across it,
    sum 1, on a square grid of ``radius`` pixels each side of the centre (default: 4 of the larger sigma)."""
    radius = radius if radius is not None else int(np.ceil(4 * max(sigma_long, sigma_short)))
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    u, v = np.cos(angle) * x + np.sin(angle) * y, -np.sin(angle) * x + np.cos(angle) * y
    psf = np.exp(-(u**2 / (2 * sigma_long**2) + v**2 / (2 * sigma_short**2)))
    return psf / psf.sum()


#: the sample's HR object (pixels), its HR/LR pixel ratio, photons at the brightest point, and LR pixel size (um)
SAMPLE_HR_SHAPE = (256, 256)
SAMPLE_SCALE = 2
SAMPLE_PHOTONS = 400.0
SAMPLE_PIXEL_SIZE = 0.13


def microscopy_sample(psf_sigma: float = 2.0) -> MicroscopySample:
    """Degrade :func:`synthetic_fluorescence` (seed 0) through the microscope model; ``psf_sigma`` is in HR pixels."""
    rng = np.random.default_rng(1)
    truth = synthetic_fluorescence(SAMPLE_HR_SHAPE, 0)
    psf = gaussian_psf(psf_sigma)
    blurred = ndimage.convolve(truth, psf, mode="reflect")
    camera_pixels = (SAMPLE_HR_SHAPE[0] // SAMPLE_SCALE, SAMPLE_SCALE, SAMPLE_HR_SHAPE[1] // SAMPLE_SCALE, SAMPLE_SCALE)
    binned = blurred.reshape(camera_pixels).mean(axis=(1, 3))  # each LR pixel integrates its scale x scale block
    counts = rng.poisson(np.clip(binned, 0, None) * SAMPLE_PHOTONS) + rng.normal(100.0, 2.0, binned.shape)
    image = np.clip(np.round(counts), 0, 65535).astype(np.uint16)
    psf_file = (psf / psf.max() * 1000 + 100).astype(np.float32)  # like an exported PSF with an offset
    return MicroscopySample(image, psf_file, SAMPLE_PIXEL_SIZE, SAMPLE_PIXEL_SIZE / SAMPLE_SCALE)


def write_example(folder: str | Path) -> tuple[Path, Path]:
    """Write the sample as ``cells.tif`` and its PSF as ``psf.tif`` (both with pixel sizes) into ``folder``."""
    from .io.imagej import write_imagej_tiff

    folder = Path(folder)
    sample = microscopy_sample()
    image_path, psf_path = folder / "cells.tif", folder / "psf.tif"
    write_imagej_tiff(image_path, sample.image, "YX", (sample.pixel_size, sample.pixel_size))
    write_imagej_tiff(psf_path, sample.psf, "YX", (sample.psf_pixel_size, sample.psf_pixel_size))
    return image_path, psf_path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m napari_zssr.sample",
                                     description="Write the synthetic fluorescence image and its PSF as TIFFs.")
    parser.add_argument("folder", nargs="?", default="example", help="where to write them (default: example)")
    folder = parser.parse_args().folder
    try:
        written = write_example(folder)
    except OSError as error:  # a file where the folder goes, no permission...
        parser.error(f"cannot write the example into {folder}: {error.strerror or error}")
    print(*written, sep="\n")
