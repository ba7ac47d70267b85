"""Speed: wall time, iterations, PSNR and time-to-quality of the presets on the reference image (and others).

Time-to-quality is the training + inference time until the output's PSNR is within 0.1 dB of the "paper" preset's
final PSNR (mean over seeds); the time spent measuring PSNR against the ground truth is excluded. Noise
augmentation is switched off for all presets here (as the authors ran it), unless --noise is given. Each preset
runs in its own precision (paper: float32; default and fast: auto) unless --precision is given.

    python benchmarks/speed.py [--seeds 0 1 2] [--every 50] [--images reference ...] [--noise] [--precision P]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch
from common import REFERENCE, benchmark_images, bicubic_down, psnr

from napari_zssr import ZSSRConfig
from napari_zssr.api import denormalised_array, intensity_range, normalised_tensor
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.device import select_device
from napari_zssr.core.engine import run_plane
from napari_zssr.core.inference import super_resolve
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.precision import PRECISIONS, resolve_precision
from napari_zssr.core.progress import RunProgress


def trace(lr: np.ndarray, truth: np.ndarray, config: ZSSRConfig, seed: int, every: int) -> dict:
    """Train like ``zssr`` does, measuring the full-inference PSNR every ``every`` iterations (time excluded)."""
    device = select_device(config.device)
    dtype = resolve_precision(config.precision, device)
    low, high = intensity_range(lr)
    image = normalised_tensor(lr, low, high, device)
    net = ZSSRNet.create(config, seed, device)
    degradation = Degradation.create((2.0, 2.0), None, device)
    points: list[tuple[float, int, float]] = []
    excluded = 0.0
    start = time.perf_counter()

    def measure(event) -> None:
        nonlocal excluded
        if event.stage != "training" or event.iteration % every:
            return
        now = time.perf_counter()
        inference_start = time.perf_counter()
        output = super_resolve(net, image, degradation, list(range(8)) if config.ensemble else [0],
                               config.back_projection_iterations, config.tile_size, dtype)
        inference = time.perf_counter() - inference_start
        value = psnr(denormalised_array(output.sr, low, high), truth)
        net.train()
        points.append((now - start - excluded + inference, event.iteration, value))
        excluded += time.perf_counter() - now

    progress = RunProgress(measure, max_iterations=config.max_iterations)
    run = run_plane(image, (2.0, 2.0), None, config, seed=seed, device=device, progress=progress, net=net)
    wall = time.perf_counter() - start - excluded
    final = psnr(denormalised_array(run.output.sr, low, high), truth)
    return {"wall": wall, "iterations": run.logs[-1].iterations, "psnr": final, "points": points,
            "precision": str(dtype)[6:]}


def time_to(points: list[tuple[float, int, float]], target: float, final: tuple[float, float]) -> str:
    for seconds, _, value in [*points, (final[0], -1, final[1])]:
        if value >= target:
            return f"{seconds:.1f}"
    return "not reached"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--every", type=int, default=50, help="iterations between PSNR measurements")
    parser.add_argument("--images", nargs="*", default=["reference"])
    parser.add_argument("--noise", action="store_true", help="keep each preset's noise augmentation")
    parser.add_argument("--precision", choices=PRECISIONS, help="one precision for every preset")
    args = parser.parse_args()
    print(f"device {select_device('auto')}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| image | preset | precision | seed | wall s | iterations | PSNR dB | time to paper-0.1 dB s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, truth in benchmark_images(args.images):
        lr = np.load(REFERENCE / "camera256_lr_x2.npy") if name == "reference" else bicubic_down(truth)
        runs = {}
        for preset in ("paper", "default", "fast"):
            config = ZSSRConfig.preset(preset)
            if not args.noise:
                config = replace(config, noise_std=0.0)
            if args.precision:
                config = replace(config, precision=args.precision)
            runs[preset] = [trace(lr, truth, config, seed, args.every) for seed in args.seeds]
        target = float(np.mean([r["psnr"] for r in runs["paper"]])) - 0.1
        for preset, results in runs.items():
            for seed, r in zip(args.seeds, results):
                print(f"| {name} | {preset} | {r['precision']} | {seed} | {r['wall']:.1f} | {r['iterations']} | "
                      f"{r['psnr']:.2f} | "
                      f"{time_to(r['points'], target, (r['wall'], r['psnr']))} |", flush=True)
            print(f"| {name} | **{preset} mean** | {results[0]['precision']} | – | "
                  f"{np.mean([r['wall'] for r in results]):.1f} | "
                  f"{np.mean([r['iterations'] for r in results]):.0f} | "
                  f"{np.mean([r['psnr'] for r in results]):.2f} | target {target:.2f} |", flush=True)


if __name__ == "__main__":
    main()
