"""PSF benchmark: does giving ZSSR the microscope's PSF file pay off?

A synthetic fluorescence object (HR, 256x256) is blurred by a Gaussian PSF on the HR grid and integrated over camera
pixels (mean of 2x2 blocks) -> 128x128 LR, without and with shot/read noise. The PSF is written as a TIFF with its
pixel size (point-sampled on the HR grid, i.e. finer than the image pixels: kernel_from_psf adds the camera box).
Ground truth is the unblurred object. Compares bicubic interpolation, ZSSR without the PSF and ZSSR with the PSF file.

    python benchmarks/psf.py [--seeds 0] [--preset default]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import bicubic_up, psnr, ssim
from scipy import ndimage

from napari_zssr import ZSSRConfig, kernel_from_file, zssr
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.sample import gaussian_psf, synthetic_fluorescence

PIXEL_SIZE = 0.13  # um, camera pixels


def degrade(truth: np.ndarray, psf: np.ndarray, noisy: bool, seed: int) -> np.ndarray:
    blurred = ndimage.convolve(truth, psf, mode="reflect")
    lr = blurred.reshape(128, 2, 128, 2).mean(axis=(1, 3))
    if noisy:
        rng = np.random.default_rng(seed)
        photons = 300.0
        lr = (rng.poisson(np.clip(lr, 0, None) * photons) + rng.normal(0, 2.0, lr.shape)) / photons
    return lr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--sigma", type=float, default=1.5, help="PSF sigma in HR pixels")
    args = parser.parse_args()
    psf = gaussian_psf(args.sigma)
    folder = Path(tempfile.mkdtemp())
    psf_path = folder / "psf.tif"
    write_imagej_tiff(psf_path, (psf / psf.max() * 1000 + 100).astype(np.float32), "YX",
                      (PIXEL_SIZE / 2, PIXEL_SIZE / 2))  # with a camera offset, as a PSF export would have
    kernel = kernel_from_file(str(psf_path), pixel_size=PIXEL_SIZE, scale=2)
    print(f"PSF sigma {args.sigma} HR px, written at {PIXEL_SIZE / 2} um; kernel {kernel.shape}, preset {args.preset}")
    print("| object seed | noise | method | PSNR dB | SSIM | time s |")
    print("|---|---|---|---|---|---|")
    gains: dict[str, list[float]] = {"vs bicubic": [], "vs no PSF": []}
    for seed in args.seeds:
        truth = synthetic_fluorescence((256, 256), seed=seed + 10)
        for noisy in (False, True):
            lr = degrade(truth, psf, noisy, seed)
            bicubic = bicubic_up(lr, truth.shape)
            rows = {"bicubic interpolation": (bicubic, 0.0)}
            for label, given in (("ZSSR without PSF", None), ("ZSSR with PSF file", kernel)):
                start = time.perf_counter()
                result = zssr(lr, 2, kernel=given, config=ZSSRConfig.preset(args.preset), seed=seed)
                rows[label] = (result.sr, time.perf_counter() - start)
            for label, (image, seconds) in rows.items():
                print(f"| {seed} | {'shot+read' if noisy else 'none'} | {label} | {psnr(image, truth):.2f} | "
                      f"{ssim(image, truth):.3f} | {seconds:.1f} |", flush=True)
            with_psf = psnr(rows["ZSSR with PSF file"][0], truth)
            gains["vs bicubic"].append(with_psf - psnr(bicubic, truth))
            gains["vs no PSF"].append(with_psf - psnr(rows["ZSSR without PSF"][0], truth))
    for name, values in gains.items():
        print(f"ZSSR with PSF file, gain {name}: {', '.join(f'{v:+.2f}' for v in values)} dB")


if __name__ == "__main__":
    main()
