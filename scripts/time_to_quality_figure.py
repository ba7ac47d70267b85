"""The picture of docs/benchmarks.md "Speed and time-to-quality": each preset's PSNR against its seconds so far.

The reference image as benchmarks/speed.py runs it (noise augmentation off, as the authors ran it; each preset in
its own precision), one seed. The output is measured through the full inference every few iterations, the time spent
measuring left out, so a curve shows what the run would give had it stopped there; the authors' result (31.04 dB in
277 s on this machine kind) is the cross. Needs matplotlib (``pip install matplotlib``).
Usage: python scripts/time_to_quality_figure.py [out.png] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from common import REFERENCE  # noqa: E402
from speed import AUTHORS_PSNR, AUTHORS_SECONDS, trace  # noqa: E402

from napari_zssr import ZSSRConfig  # noqa: E402

#: iterations between measurements, per preset: about 20-30 points on each curve
EVERY = {"paper": 100, "default": 50, "fast": 5}
COLOURS = {"paper": "tab:grey", "default": "tab:blue", "fast": "tab:orange"}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/images/time_to_quality.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lr, truth = np.load(REFERENCE / "camera256_lr_x2.npy"), np.load(REFERENCE / "camera256_gt.npy")
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for preset, every in EVERY.items():
        config = replace(ZSSRConfig.preset(preset), noise_std=0.0)
        run = trace(lr, truth, config, args.seed, every)
        seconds = [point[0] for point in run["points"]] + [run["wall"]]
        values = [point[2] for point in run["points"]] + [run["psnr"]]
        start = "learned start" if config.init == "learned" else "random start"
        label = f"{preset} ({start}, {run['precision']}): {run['psnr']:.2f} dB in {run['wall']:.0f} s"
        axes.plot(seconds, values, "-", color=COLOURS[preset], label=label)
        axes.plot(seconds[-1], values[-1], "o", color=COLOURS[preset])
        print(f"{preset}: {run['psnr']:.2f} dB in {run['wall']:.1f} s, {run['iterations']} iterations", flush=True)
    axes.plot(AUTHORS_SECONDS, AUTHORS_PSNR, "x", color="black", markersize=9,
              label=f"the authors' code: {AUTHORS_PSNR} dB in {AUTHORS_SECONDS:.0f} s")
    axes.set_xscale("log")
    axes.set_ylim(29.5, 31.4)
    axes.set_xlabel("seconds (training and inference; measuring left out)")
    axes.set_ylabel("PSNR against the truth, dB")
    axes.set_title(f"ZSSR x2 on the reference image, seed {args.seed}; {cpu_name()}, 2 cores", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
