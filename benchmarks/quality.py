"""Quality benchmark: PSNR/SSIM and wall time of bicubic interpolation and ZSSR (default and fast presets).

Degradations, x2: (a) MATLAB bicubic; (b) an anisotropic Gaussian kernel, ZSSR given the true kernel and given
the bicubic one; (c) (b) plus Gaussian noise (std 0.01 of the range). Prints a Markdown table, row by row.

    python benchmarks/quality.py [--images NAME ...] [--seed 0]
    python benchmarks/quality.py --learned     # fast (learned start) against default from scratch, per case
    python benchmarks/quality.py --learned --init FILE.npz    # the same with another start
    python benchmarks/quality.py --learned --preset default   # default from the learned start

``--learned`` runs only ZSSR default with ``init="scratch"`` (the original method) and the ``fast`` preset with the
learned start, and prints each case's difference and time ratio, then their mean, worst and overall time ratio.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from common import REFERENCE, benchmark_images, bicubic_down, bicubic_up, kernel_down, psnr, ssim

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.sample import anisotropic_gaussian_psf


def degradations(name: str, hr: np.ndarray, seed: int):
    """(label, LR image, true kernel or None) for each degradation of one image."""
    rng = np.random.default_rng(seed + sum(map(ord, name)))
    kernel = anisotropic_gaussian_psf(rng.uniform(1.6, 2.4), rng.uniform(0.6, 1.0), rng.uniform(0, np.pi), radius=7)
    lr_bicubic = np.load(REFERENCE / "camera256_lr_x2.npy") if name == "reference" else bicubic_down(hr)
    lr_kernel = kernel_down(hr, kernel)
    yield "(a) bicubic", lr_bicubic, None
    yield "(b) aniso Gaussian", lr_kernel, kernel
    yield "(c) aniso Gaussian + noise", lr_kernel + rng.normal(0, 0.01, lr_kernel.shape), kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="*", help="names of the images to run (default: all available)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learned", action="store_true", help="fast (learned start) against default from scratch")
    parser.add_argument("--init", default="learned", help="with --learned: the start (learned, or a weights file)")
    parser.add_argument("--preset", default="fast", help="with --learned: the preset run from that start")
    args = parser.parse_args()
    if args.learned:
        compare_learned(args.images, args.seed, args.init, args.preset)
        return
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


def compare_learned(images: list[str] | None, seed: int, init: str = "learned", preset: str = "fast") -> None:
    """Each case with ``default`` from scratch and ``preset`` from ``init`` (both given the true kernel)."""
    scratch, learned = ZSSRConfig.preset("default", init="scratch"), ZSSRConfig.preset(preset, init=init)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, seed {seed}; {preset}: {learned.max_iterations} iterations, lr "
          f"{learned.learning_rate:g}, start {init}")
    print(f"| image | degradation | default, scratch dB | {preset}, learned dB | difference dB | time s (both) |")
    print("|---|---|---|---|---|---|")
    differences, times = [], []
    for name, hr in benchmark_images(images):
        for label, lr, kernel in degradations(name, hr, seed):
            values = []
            for config in (scratch, learned):
                start = time.perf_counter()
                values.append((psnr(zssr(lr, 2, kernel=kernel, config=config, seed=seed).sr, hr),
                               time.perf_counter() - start))
            (base, base_s), (new, new_s) = values
            differences.append(new - base)
            times.append((base_s, new_s))
            print(f"| {name} | {label} | {base:.2f} | {new:.2f} | {new - base:+.2f} | {base_s:.1f} / {new_s:.1f} |",
                  flush=True)
    total = np.sum(times, axis=0)
    print(f"mean difference {np.mean(differences):+.2f} dB, worst {np.min(differences):+.2f} dB, time "
          f"{total[1]:.0f} s / {total[0]:.0f} s = {total[1] / total[0]:.2f}x")


if __name__ == "__main__":
    main()
