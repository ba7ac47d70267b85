"""Cost of one training iteration through the real pipeline vs the bare network step on the same 128x128 crop.

The pipeline iteration (father choice, crop, transform, kernel/bicubic son, noise, interpolation, step, and the
amortised reconstruction checks) should cost at most 1.3x the bare forward + backward + Adam step; measured in
float32 and with bf16 autocast (the "auto" precision on CPUs with AMX and on GPUs).

    python benchmarks/step_cost.py [--iterations 200] [--layouts]

``--layouts`` compares the memory layouts the net could train and infer in (see ``core.network.training_layout``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import REFERENCE

from napari_zssr import ZSSRConfig
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.engine import reconstruction_pair
from napari_zssr.core.geometry import scale_symmetries
from napari_zssr.core.network import ZSSRNet, training_layout
from napari_zssr.core.pairs import FatherPool, PairSampler
from napari_zssr.core.precision import grad_scaler
from napari_zssr.core.trainer import train, training_step
from napari_zssr.sample import anisotropic_gaussian_psf

CPU = torch.device("cpu")


def bare_step_seconds(iterations: int, crop: int = 128, dtype: torch.dtype = torch.float32,
                      layout: torch.memory_format | None = None) -> float:
    """The trainer's own step on one fixed pair: no pair generation, no reconstruction checks; in the net's own
    training layout, or in ``layout``."""
    net = ZSSRNet.create(ZSSRConfig(), 0, CPU)
    if layout is not None:
        net = net.to(memory_format=layout)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = grad_scaler(dtype, CPU)
    x = torch.rand(1, 1, crop, crop)
    y = torch.rand(1, 1, crop, crop)
    for _ in range(5):
        training_step(net, optimizer, scaler, x, y, dtype)
    start = time.perf_counter()
    for _ in range(iterations):
        training_step(net, optimizer, scaler, x, y, dtype)
    return (time.perf_counter() - start) / iterations


def pipeline_step_seconds(iterations: int, kernel: np.ndarray | None, dtype: torch.dtype) -> float:
    image = torch.as_tensor(np.load(REFERENCE / "camera256_gt.npy"), dtype=torch.float32)[None, None]
    config = ZSSRConfig(max_iterations=iterations, lr_schedule="steps")
    degradation = Degradation.create((2.0, 2.0), kernel, CPU)
    pool = FatherPool(image, config.father_min_scale, config.father_levels, 8)
    noise_std = 0.0125  # a fixed level: the cost of adding noise does not depend on it
    sampler = PairSampler(pool, degradation, scale_symmetries((2.0, 2.0)), noise_std, 0, CPU)
    net = ZSSRNet.create(config, 0, CPU)
    log = train(net, sampler, reconstruction_pair(image, degradation, config.recon_crop), config, dtype=dtype)
    return log.seconds / log.iterations


def inference_seconds(layout: torch.memory_format, side: int = 512, repeats: int = 3) -> float:
    """One pass of the net over a ``side``² input, with its weights in ``layout``."""
    net = ZSSRNet.create(ZSSRConfig(), 0, CPU).to(memory_format=layout)
    x = torch.rand(1, 1, side, side)
    with torch.inference_mode():
        net(x)
        start = time.perf_counter()
        for _ in range(repeats):
            net(x)
    return (time.perf_counter() - start) / repeats


def compare_layouts(iterations: int) -> None:
    """float32 training step and inference pass in each memory layout, alternated twice (the CPU is shared)."""
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}; the net trains in "
          f"{training_layout('cpu')} here, and infers in torch.channels_last")
    print("| layout | round | float32 step, 128² crop, ms | inference pass, 512², ms |")
    print("|---|---|---|---|")
    for round_ in (1, 2):
        for layout in (torch.channels_last, torch.contiguous_format):
            step = bare_step_seconds(iterations, layout=layout)
            print(f"| {layout} | {round_} | {step * 1e3:.0f} | {inference_seconds(layout) * 1e3:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--layouts", action="store_true", help="compare the memory layouts instead (float32)")
    args = parser.parse_args()
    if args.layouts:
        compare_layouts(args.iterations)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 256x256 input, 128x128 crops")
    print("| convolutions in | step | ms per iteration | ratio to bare step | ratio to bare float32 step |")
    print("|---|---|---|---|---|")
    bare_float32 = None
    for dtype in (torch.float32, torch.bfloat16):
        name = str(dtype).removeprefix("torch.")
        bare = bare_step_seconds(args.iterations, dtype=dtype)
        bare_float32 = bare_float32 or bare
        print(f"| {name} | bare net forward + backward + Adam | {bare * 1e3:.1f} | 1.00 | {bare / bare_float32:.2f} |")
        for label, kernel in (("pipeline, bicubic sons", None),
                              ("pipeline, 15x15 kernel sons", anisotropic_gaussian_psf(2.0, 0.8, 0.5, radius=7))):
            seconds = pipeline_step_seconds(args.iterations, kernel, dtype)
            print(f"| {name} | {label} | {seconds * 1e3:.1f} | {seconds / bare:.2f} | "
                  f"{seconds / bare_float32:.2f} |", flush=True)


if __name__ == "__main__":
    main()
