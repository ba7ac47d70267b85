"""Peak memory of assembling a split stack (``--planes-per-task``): its parts joined into the output TIFFs.

Builds an input stack and the parts a split run would leave (the first part run for real with one training step,
for genuine records; the others hold random outputs, which cost the assembly the same), then assembles them in a
fresh process and prints its peak resident memory beside the size of the outputs it wrote.

    python benchmarks/assembly.py [--planes 100] [--size 512] [--per-task 10] [--compressed]

``--compressed`` writes the input zlib-compressed, one page a plane (then read a plane at a time, not mapped).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SETTINGS = {"preset": "fast", "max_iterations": 1, "quiet": True, "dtype": "input"}


def build(folder: Path, planes: int, size: int, per_task: int, compressed: bool) -> None:
    import tifffile

    from napari_zssr.batch_files import plane_ranges, process_part
    from napari_zssr.batch_parts import part_records, save_part
    from napari_zssr.batching import make_options, prepare
    from napari_zssr.io.imagej import write_imagej_tiff

    rng = np.random.default_rng(0)
    stack = (rng.random((planes, size, size)) * 1000 + 100).astype(np.uint16)
    if compressed:
        tifffile.imwrite(folder / "stack.tif", stack, imagej=True, compression="zlib", resolution=(10.0, 10.0),
                         metadata={"axes": "ZYX", "unit": "um"})
    else:
        write_imagej_tiff(folder / "stack.tif", stack, "ZYX", (0.1, 0.1))
    prepared = prepare([folder / "stack.tif"], make_options(folder / "out", SETTINGS))
    ranges = plane_ranges(planes, per_task)
    first = folder / "parts" / "0"
    first.parent.mkdir()
    process_part(prepared.jobs[0], prepared, ranges[0], first)
    record = part_records(first)[0]
    kinds = prepared.options.outputs
    for number, (start, stop) in enumerate(ranges[1:], 1):
        count = stop - start
        outputs = {kind: rng.random((count, 1, 2 * size, 2 * size), dtype=np.float32) * 1000 for kind in kinds}
        records = [dict(record, iterations=[1] * count, noise_stds=[0.0] * count, blank_planes=[])]
        save_part(folder / "parts" / str(number), outputs, records)


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux). Not ``ru_maxrss``, which a child process inherits from the parent
    it was forked from, so it would report the parent's build."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def assemble(folder: Path) -> None:
    from napari_zssr.batch_files import assemble_parts
    from napari_zssr.batch_jobs import input_identity
    from napari_zssr.batching import make_options, prepare

    prepared = prepare([folder / "stack.tif"], make_options(folder / "out", SETTINGS))
    parts = sorted((folder / "parts").iterdir(), key=lambda part: int(part.name))
    job = prepared.jobs[0]
    before = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20  # now, not peak
    start = time.perf_counter()
    assemble_parts(job, prepared, input_identity(job.source), parts)
    seconds = time.perf_counter() - start
    written = sum(path.stat().st_size for path in (folder / "out").glob("*.tif")) / 2**20
    peak = peak_rss_mb()
    print(f"{seconds:.1f} {written:.0f} {before:.0f} {peak:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--per-task", type=int, default=10)
    parser.add_argument("--compressed", action="store_true", help="the input zlib-compressed")
    parser.add_argument("--assemble", type=Path, help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args()
    if args.assemble:
        assemble(args.assemble)
        return
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder), args.planes, args.size, args.per_task, args.compressed)
        line = subprocess.run([sys.executable, __file__, "--assemble", folder], check=True, capture_output=True,
                              text=True).stdout.split()
    seconds, written, before, peak = (float(value) for value in line)
    print("| input | outputs written MB | assembly s | peak RSS MB (RSS before the assembly) |")
    print("|---|---|---|---|")
    kind = "zlib-compressed" if args.compressed else "uncompressed"
    print(f"| {args.planes} x {args.size}² uint16 ({kind}), parts of {args.per_task} | {written:.0f} | {seconds:.1f} | "
          f"{peak:.0f} ({before:.0f}) |")


if __name__ == "__main__":
    main()
