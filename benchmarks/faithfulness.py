"""Faithfulness: the "paper" preset on the reference image of ../shared/ZSSR.md, against the authors' numbers.

Runs 3 seeds at 500 iterations and with the authors' stopping rule; prints PSNR (2-pixel shave, [0, 1]), iterations
and wall time beside theirs (measured on this machine kind: 30.90 dB / 72 s at 500 iterations; 31.04 dB / 1,860
iterations / 277 s with their stopping rule).

    python benchmarks/faithfulness.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import REFERENCE, bicubic_up, psnr

from napari_zssr import ZSSRConfig, zssr

AUTHORS = {"500 iterations": (30.90, 500, 72.0), "stopping rule": (31.04, 1860, 277.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    truth = np.load(REFERENCE / "camera256_gt.npy")
    lr = np.load(REFERENCE / "camera256_lr_x2.npy")
    print(f"bicubic interpolation: {psnr(bicubic_up(lr, truth.shape), truth):.2f} dB (reference: 28.44)")
    print("| run | seed | PSNR dB | iterations | time s |")
    print("|---|---|---|---|---|")
    for run, max_iterations in (("500 iterations", 500), ("stopping rule", 3000)):
        values, iterations, seconds = [], [], []
        for seed in args.seeds:
            start = time.perf_counter()
            result = zssr(lr, 2, config=ZSSRConfig.preset("paper", max_iterations=max_iterations), seed=seed)
            seconds.append(time.perf_counter() - start)
            values.append(psnr(result.sr, truth))
            iterations.append(result.iterations[0])
            print(f"| {run} | {seed} | {values[-1]:.2f} | {iterations[-1]} | {seconds[-1]:.1f} |", flush=True)
        theirs = AUTHORS[run]
        print(f"| **{run}, mean** | – | **{np.mean(values):.2f}** (authors {theirs[0]:.2f}, "
              f"diff {np.mean(values) - theirs[0]:+.2f}) | {np.mean(iterations):.0f} (authors {theirs[1]}) | "
              f"{np.mean(seconds):.1f} (authors {theirs[2]:.0f}) |", flush=True)


if __name__ == "__main__":
    main()
