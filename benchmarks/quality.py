"""Quality benchmark: PSNR/SSIM and wall time of bicubic interpolation and ZSSR (default and fast presets).

Degradations, x2: (a) MATLAB bicubic; (b) an anisotropic Gaussian kernel, ZSSR given the true kernel and given
the bicubic one; (c) (b) plus Gaussian noise (std 0.01 of the range). Prints a Markdown table, row by row.

    python benchmarks/quality.py [--images NAME ...] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from common import REFERENCE, anisotropic_gaussian, benchmark_images, bicubic_down, bicubic_up, kernel_down, psnr, ssim

from napari_zssr import ZSSRConfig, zssr


def degradations(name: str, hr: np.ndarray, seed: int):
    """(label, LR image, true kernel or None) for each degradation of one image."""
    rng = np.random.default_rng(seed + sum(map(ord, name)))
    kernel = anisotropic_gaussian(rng.uniform(1.6, 2.4), rng.uniform(0.6, 1.0), rng.uniform(0, np.pi))
    lr_bicubic = np.load(REFERENCE / "camera256_lr_x2.npy") if name == "reference" else bicubic_down(hr)
    lr_kernel = kernel_down(hr, kernel)
    yield "(a) bicubic", lr_bicubic, None
    yield "(b) aniso Gaussian", lr_kernel, kernel
    yield "(c) aniso Gaussian + noise", lr_kernel + rng.normal(0, 0.01, lr_kernel.shape), kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="*", help="names of the images to run (default: all available)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, seed {args.seed}")
    print("| image | degradation | method | PSNR dB | gain dB | SSIM | time s | iterations |")
    print("|---|---|---|---|---|---|---|---|")
    for name, hr in benchmark_images(args.images):
        for label, lr, kernel in degradations(name, hr, args.seed):
            baseline = psnr(bicubic_up(lr, hr.shape), hr)
            print(f"| {name} | {label} | bicubic interpolation | {baseline:.2f} | – | "
                  f"{ssim(bicubic_up(lr, hr.shape), hr):.3f} | – | – |", flush=True)
            runs = [("ZSSR default", "default", kernel), ("ZSSR fast", "fast", kernel)]
            if kernel is not None:
                runs.insert(1, ("ZSSR default, bicubic kernel", "default", None))
            for method, preset, given_kernel in runs:
                start = time.perf_counter()
                result = zssr(lr, 2, kernel=given_kernel, config=ZSSRConfig.preset(preset), seed=args.seed)
                seconds = time.perf_counter() - start
                value = psnr(result.sr, hr)
                print(f"| {name} | {label} | {method} | {value:.2f} | {value - baseline:+.2f} | "
                      f"{ssim(result.sr, hr):.3f} | {seconds:.1f} | {result.iterations[0]} |", flush=True)


if __name__ == "__main__":
    main()
