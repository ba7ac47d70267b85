"""Memory and time of a large inference: a 2048x2048 plane at x2 with the 8-way ensemble, on the CPU.

Training does not depend on the plane size (128x128 crops), so this times inference only, with a freshly
initialised network. Prints the process's peak resident memory.

    python benchmarks/memory.py [--size 2048] [--tile 1024] [--precision auto]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from napari_zssr.core.config import ZSSRConfig
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.inference import super_resolve
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.precision import PRECISIONS, resolve_precision


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--back-projection", type=int, default=0)
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    args = parser.parse_args()
    net = ZSSRNet.create(ZSSRConfig(), 0, "cpu")
    image = torch.rand(1, 1, args.size, args.size, generator=torch.Generator().manual_seed(0))
    dtype = resolve_precision(args.precision, torch.device("cpu"))
    before = peak_gib()
    start = time.perf_counter()
    output = super_resolve(net, image, Degradation((2.0, 2.0)), list(range(8)), args.back_projection, args.tile,
                           dtype)
    seconds = time.perf_counter() - start
    print("| input | output | ensemble | tile | convolutions in | time s | peak RSS GiB (before inference) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.size}² | {tuple(output.sr.shape[-2:])} | 8 | {args.tile} | {str(dtype)[6:]} | {seconds:.0f} | "
          f"{peak_gib():.2f} ({before:.2f}) |")


if __name__ == "__main__":
    main()
