"""Smooth backgrounds: what a haze, a ramp or an illumination field under the structures costs, and what taking the
background off (``ZSSRConfig.background_window``) gives back.

Validation images only (neither benchmark nor held-out images): the real ones of learned_start.py (a photograph, an
MRI slice, a terrain model, a retinal image) and three generated fluorescence-like ones (scripts/init_corpus.py,
validation seeds). Each HR image (0-1) gets a background added: none; a linear ramp twice its range; a haze (the
image blurred by a Gaussian of 12 HR pixels, as bright as the image, once and four times); a lumpy illumination field
(Gaussian-filtered noise, 40 HR pixels, three times the range). Then quality.py's anisotropic Gaussian kernel of
the image, x2, Gaussian noise 0.005; ZSSR with each window (0: none taken off), the true kernel given, seed 0. PSNR
against the HR image with its background (peak 1: the structures' range), and the share of the plane's range the
rest spans at each window (the background is taken off where it is at most ``DOMINANT_CONTRAST``).

    python benchmarks/background.py [--preset fast] [--windows 0 8 16] [--backgrounds none "ramp x2" ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from common import kernel_down
from learned_start import QUALITY_CASES_SEED, real_images
from quality import degradations
from scipy import ndimage

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core.background import split_background
from napari_zssr.input_values import intensity_range

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from init_corpus import generated_image  # noqa: E402

NOISE_STD = 0.005


def images() -> Iterator[tuple[str, np.ndarray]]:
    yield from real_images()
    for seed in range(QUALITY_CASES_SEED, QUALITY_CASES_SEED + 3):
        yield f"generated {seed}", generated_image(seed)


def backgrounds(hr: np.ndarray, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """(name, background) pairs for ``hr``; ``rng`` draws the ramp's direction and the field."""
    rows, cols = np.mgrid[0 : hr.shape[0], 0 : hr.shape[1]] / (np.array(hr.shape)[:, None, None] - 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * cols + np.sin(angle) * rows
    haze = ndimage.gaussian_filter(hr, 12)
    field = ndimage.gaussian_filter(rng.normal(size=hr.shape), 40)
    yield "none", np.zeros_like(hr)
    yield "ramp x2", 2 * (ramp - ramp.min()) / np.ptp(ramp)
    yield "haze x1", haze / haze.max()
    yield "haze x4", 4 * haze / haze.max()
    yield "field x3", 3 * (field - field.min()) / np.ptp(field)


def psnr_on_structures(estimate: np.ndarray, truth: np.ndarray, shave: int = 2) -> float:
    """PSNR with the structures' range (1) as peak, the background included in both, no clipping."""
    error = (estimate - truth)[shave:-shave, shave:-shave]
    return float(10 * np.log10(1.0 / np.mean(error**2)))


def rest_share(lr: np.ndarray, window: int) -> float:
    """The share of the plane's intensity range its rest spans less its background at ``window``."""
    low, high = intensity_range(lr)
    return split_background(torch.as_tensor((lr - low) / (high - low))[None, None], window)[1].contrast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--windows", type=int, nargs="+", default=[0, 8, 16])
    parser.add_argument("--backgrounds", nargs="+", help="names of the backgrounds to run (default: all)")
    args = parser.parse_args()
    shown = [w for w in args.windows if w]
    print(f"preset {args.preset}, seed 0, noise {NOISE_STD}")
    print("| image | background | " + " | ".join(f"window {w} dB" for w in args.windows) + " | "
          + " | ".join(f"rest share at {w}" for w in shown) + " |")
    print("|---|---|" + "---|" * (len(args.windows) + len(shown)))
    rng = np.random.default_rng(5)
    for name, hr in images():
        kernel = list(degradations(name, hr, 0))[1][2]
        for label, background in backgrounds(hr, rng):
            if args.backgrounds and label not in args.backgrounds:
                continue
            truth = hr + background
            lr = kernel_down(truth, kernel)
            lr = lr + np.random.default_rng(1).normal(0, NOISE_STD, lr.shape)
            values = [psnr_on_structures(zssr(lr, 2, kernel=kernel, seed=0, config=ZSSRConfig.preset(
                args.preset, background_window=window)).sr, truth) for window in args.windows]
            shares = [rest_share(lr, window) for window in shown]
            print(f"| {name} | {label} | " + " | ".join(f"{v:.2f}" for v in values) + " | "
                  + " | ".join(f"{s:.2f}" for s in shares) + " |", flush=True)


if __name__ == "__main__":
    main()
