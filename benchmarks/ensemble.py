"""What each member of the geometric self-ensemble buys: PSNR and inference time with 8, 4, 2 and 1 members.

Every case of the quality benchmark (quality.py's images and degradations, the true kernel given) is trained once
with a preset; the same trained net then infers with the first 8, 4, 2 and 1 of the transforms its kernel allows, in
``ensemble_transforms``'s order (identity, a diagonal mirror, 180 degrees, the other diagonal mirror, then the rest),
as ``ZSSRConfig.ensemble`` takes them. Inference times are per output megapixel.

    python benchmarks/ensemble.py [--preset fast] [--images NAME ...]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from common import benchmark_images, psnr
from quality import degradations

from napari_zssr import ZSSRConfig
from napari_zssr.core.degradation import Degradation, step_kernels
from napari_zssr.core.device import select_device
from napari_zssr.core.engine import run_plane, scale_steps
from napari_zssr.core.geometry import ensemble_transforms
from napari_zssr.core.inference import super_resolve
from napari_zssr.core.kernels import kernel_symmetries
from napari_zssr.core.precision import resolve_precision
from napari_zssr.input_values import intensity_range, normalised_tensor, restored

SIZES = (8, 4, 2, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--init", help="override the preset's init")
    parser.add_argument("--images", nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = ZSSRConfig.preset(args.preset, **({"init": args.init} if args.init else {}))
    device = select_device(config.device)
    dtype = resolve_precision(config.precision, device)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; preset "
          f"{args.preset}, init {config.init}, {config.max_iterations} iterations")
    print("| image | degradation | " + " | ".join(f"{n} members dB" for n in SIZES) + " | "
          + " | ".join(f"{n} s/MP" for n in SIZES) + " |")
    print("|---|---|" + "---|" * 2 * len(SIZES))
    losses = {n: [] for n in SIZES}
    rates = {n: [] for n in SIZES}
    for name, hr in benchmark_images(args.images):
        for label, lr, kernel in degradations(name, hr, args.seed):
            low, high = intensity_range(lr)
            image = normalised_tensor(lr, low, high, device)
            kernels = step_kernels(kernel, scale_steps((2.0, 2.0), config.gradual_steps))
            run = run_plane(image, (2.0, 2.0), kernels, config, seed=args.seed, device=device)
            degradation = Degradation.create((2.0, 2.0), kernel, device)
            allowed = kernel_symmetries(kernel, (2.0, 2.0))
            values, seconds = [], []
            for size in SIZES:
                start = time.perf_counter()
                members = ensemble_transforms(allowed, size)
                output = super_resolve(run.net, image, degradation, members, config.back_projection_iterations,
                                       config.tile_size, dtype, run.output.noise_floor)
                seconds.append((time.perf_counter() - start) / (hr.size / 1e6))
                values.append(psnr(restored(output.sr[0, 0], low, high, np.float32), hr))
            for size, value, rate in zip(SIZES, values, seconds):
                losses[size].append(value - values[0])
                rates[size].append(rate)
            print(f"| {name} | {label} | " + " | ".join(f"{v:.2f}" for v in values) + " | "
                  + " | ".join(f"{s:.1f}" for s in seconds) + " |", flush=True)
    print("\n| members | mean difference to 8, dB | worst | s per output MP |")
    print("|---|---|---|---|")
    for size in SIZES:
        print(f"| {size} | {np.mean(losses[size]):+.3f} | {np.min(losses[size]):+.2f} | {np.mean(rates[size]):.1f} |")


if __name__ == "__main__":
    main()
