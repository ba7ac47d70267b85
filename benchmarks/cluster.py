"""Batch throughput on Dask: planes per minute in-process, on 1 worker and on 2 single-thread workers.

Every run is the same batch (``napari_zssr.batch``, fast preset, float32, one 128x128 plane per file so that each
plane is one task) into a fresh folder; the clusters are started and warmed up (torch imported, a first tiny batch
run) before the clock starts. Prints planes per minute, the speed-up of 2 workers over 1, and the per-task overhead
of a single-thread worker against a single-thread in-process run of the same files.

    python benchmarks/cluster.py            # 12 planes of 128x128
    python benchmarks/cluster.py --quick    # 2 planes of 48x48, 2 iterations: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import tempfile
import time
from pathlib import Path

import distributed
import torch

from napari_zssr import batch
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.sample import synthetic_fluorescence


def write_planes(folder: Path, count: int, side: int) -> None:
    for index in range(count):
        plane = synthetic_fluorescence((side, side), seed=index) * 1000 + 100
        write_imagej_tiff(folder / f"plane_{index:03d}.tif", plane.astype("float32"), "YX", (0.1, 0.1))


def timed_batch(inputs: Path, out: Path, settings: dict, **where) -> float:
    start = time.perf_counter()
    summary = batch([str(inputs)], out, quiet=True, **settings, **where)
    seconds = time.perf_counter() - start
    if summary.exit_code or len(summary.done) != len(list(inputs.glob("*.tif"))):
        raise SystemExit(f"the batch did not complete: {summary}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, default=12)
    parser.add_argument("--side", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="2 planes of 48x48, 2 iterations")
    args = parser.parse_args()
    planes, side = (2, 48) if args.quick else (args.planes, args.side)
    settings = {"preset": "fast", "precision": "float32", "outputs": "zssr"}
    if args.quick:
        settings["max_iterations"] = 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{planes} planes of {side}x{side}, one per file; fast preset; {platform.processor() or platform.machine()},"
          f" {cores} cores, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_planes(root / "warm-up", 1, 48)
        write_planes(root / "data", planes, side)
        runs = {}
        threads_before = torch.get_num_threads()
        for label, threads in (("in-process, all cores", threads_before), ("in-process, 1 thread", 1)):
            torch.set_num_threads(threads)
            timed_batch(root / "warm-up", root / f"warm-{threads}", settings)
            runs[label] = timed_batch(root / "data", root / f"local-{threads}", settings)
        torch.set_num_threads(threads_before)
        for label, workers in (("1 worker, 1 thread", 1), ("2 workers, 1 thread each", 2)):
            with contextlib.ExitStack() as stack:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None))
                client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
                timed_batch(root / "warm-up", root / f"warm-w{workers}", settings, client=client, threads=1)
                runs[label] = timed_batch(root / "data", root / f"workers-{workers}", settings, client=client,
                                          threads=1)
    print("| run | seconds | planes per minute |")
    print("|---|---|---|")
    for label, seconds in runs.items():
        print(f"| {label} | {seconds:.1f} | {planes / seconds * 60:.1f} |")
    one, two = runs["1 worker, 1 thread"], runs["2 workers, 1 thread each"]
    local = runs["in-process, 1 thread"]
    print(f"2 workers / 1 worker: {one / two:.2f}x (target >= 1.8x)")
    print(f"per-task overhead of a worker: {(one - local) / planes:.2f} s per task, {(one / local - 1) * 100:.1f} % "
          f"of the in-process time (target <= 5 %)")


if __name__ == "__main__":
    main()
