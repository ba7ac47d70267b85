"""Where the time of one ZSSR run goes: training steps, pair generation, reconstruction checks, inference phases.

Runs ``zssr`` on the reference image under cProfile and reads the cumulative time of the functions that make up
each phase (on the CPU every op is synchronous, so a function's time is its real cost).

    python benchmarks/profile_run.py [--presets paper default fast]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

import numpy as np
from common import REFERENCE

from napari_zssr import ZSSRConfig, zssr

#: (phase, function name, file suffix): cumulative times read from the profile.
PHASES = (
    ("whole run", "zssr", "api.py"),
    ("training", "train", "trainer.py"),
    ("  pair generation (father, crop, transform, son, noise, interpolation)", "sample", "pairs.py"),
    ("  reconstruction checks (lr policy)", "reconstruction_error", "trainer.py"),
    ("  network steps (forward, backward, Adam)", "training_step", "trainer.py"),
    ("inference", "super_resolve", "inference.py"),
    ("  network on the 8 transforms", "apply_tiled", "inference.py"),
    ("  back-projection", "back_project", "inference.py"),
    ("  median of the ensemble", "ensemble_median", "inference.py"),
)


def cumulative_seconds(stats: pstats.Stats, name: str, suffix: str) -> float:
    return sum(values[3] for (path, _, function), values in stats.stats.items()  # type: ignore[attr-defined]
               if function == name and path.endswith(suffix))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["paper", "default", "fast"])
    args = parser.parse_args()
    lr = np.load(REFERENCE / "camera256_lr_x2.npy")
    print("| preset | precision | phase | seconds | share of the run |")
    print("|---|---|---|---|---|")
    for preset in args.presets:
        profiler = cProfile.Profile()
        result = profiler.runcall(zssr, lr, 2, config=ZSSRConfig.preset(preset, noise_std=0.0), device="cpu")
        stats = pstats.Stats(profiler)
        whole = cumulative_seconds(stats, "zssr", "api.py")
        for label, name, suffix in PHASES:
            seconds = cumulative_seconds(stats, name, suffix)
            print(f"| {preset} | {result.precision} | {label} | {seconds:.2f} | {100 * seconds / whole:.1f} % |")
        print(f"| {preset} | {result.precision} | iterations | {result.iterations[0]} | |", flush=True)


if __name__ == "__main__":
    main()
