"""Cost of one training iteration through the real pipeline vs the bare network step on the same 128x128 crop.

The pipeline iteration (father choice, crop, transform, kernel/bicubic son, noise, interpolation, step, and the
amortised reconstruction checks) should cost at most 1.3x the bare forward + backward + Adam step.

    python benchmarks/step_cost.py [--iterations 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import REFERENCE, anisotropic_gaussian

from napari_zssr import ZSSRConfig
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.engine import reconstruction_pair
from napari_zssr.core.kernels import kernel_symmetries
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.pairs import FatherPool, PairSampler
from napari_zssr.core.trainer import train


def bare_step_seconds(iterations: int, crop: int = 128) -> float:
    net = ZSSRNet().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(1, 1, crop, crop).contiguous(memory_format=torch.channels_last)
    y = torch.rand(1, 1, crop, crop)
    for _ in range(5):
        loss = (net(x) - y).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    start = time.perf_counter()
    for _ in range(iterations):
        loss = (net(x) - y).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / iterations


def pipeline_step_seconds(iterations: int, kernel: np.ndarray | None) -> float:
    image = torch.as_tensor(np.load(REFERENCE / "camera256_gt.npy"), dtype=torch.float32)[None, None]
    config = ZSSRConfig(max_iterations=iterations, lr_schedule="steps")
    degradation = Degradation.create((2.0, 2.0), kernel, torch.device("cpu"))
    pool = FatherPool(image, config.father_min_scale, config.father_levels, 8)
    sampler = PairSampler(pool, degradation, kernel_symmetries(kernel, (2.0, 2.0)), config.noise_std, 0,
                          torch.device("cpu"))
    net = ZSSRNet().to(memory_format=torch.channels_last)
    net.reset_parameters(torch.Generator().manual_seed(0))
    log = train(net, sampler, reconstruction_pair(image, degradation, config.recon_crop), config)
    return log.seconds / log.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 256x256 input, 128x128 crops")
    bare = bare_step_seconds(args.iterations)
    print("| step | ms per iteration | ratio to bare step |")
    print("|---|---|---|")
    print(f"| bare net forward + backward + Adam | {bare * 1e3:.1f} | 1.00 |")
    for label, kernel in (("pipeline, bicubic sons", None),
                          ("pipeline, 15x15 kernel sons", anisotropic_gaussian(2.0, 0.8, 0.5))):
        seconds = pipeline_step_seconds(args.iterations, kernel)
        print(f"| {label} | {seconds * 1e3:.1f} | {seconds / bare:.2f} |", flush=True)


if __name__ == "__main__":
    main()
