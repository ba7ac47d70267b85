"""``napari-zssr``: batch ZSSR over TIFF files and folders, for facilities processing overnight without a screen."""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ._version import __version__
from .api import OUTPUTS, kernel_from_file, zssr_stack
from .core.config import PRESETS, ZSSRConfig
from .core.device import select_device
from .core.precision import PRECISIONS, resolve_precision
from .io.tiff import TiffImage, read_info, read_tiff, write_imagej_tiff
from .overlay import effective_factors, imagej_origin
from .progress import BarProgress

OUTPUT_KINDS = tuple(OUTPUTS)
TIFF_SUFFIXES = (".tif", ".tiff")


def auto_or(number: type, minimum: float, what: str) -> Callable[[str], float | str]:
    """An argparse type for options that take "auto" or a finite number >= ``minimum``."""

    def parse(text: str) -> float | str:
        if text == "auto":
            return text
        try:
            value = number(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected 'auto' or {what}, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    defaults = ZSSRConfig()
    parser = argparse.ArgumentParser(
        prog="napari-zssr", description="Zero-Shot Super-Resolution of TIFF images and stacks (every YX plane).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF files, folders of TIFFs, or glob patterns")
    parser.add_argument("--out", required=True, type=Path, help="output folder (never the input's folder)")
    parser.add_argument("--psf", action="append", default=[], metavar="FILE",
                        help="PSF file (.tif/.npy/.mat) used as the blur kernel; repeat once per channel")
    parser.add_argument("--psf-pixel-size", type=float, metavar="UM", help="PSF pixel size in um (default: file's)")
    parser.add_argument("--pixel-size", type=float, metavar="UM", help="image pixel size in um (default: file's)")
    parser.add_argument("--measured-psf", choices=("auto", "yes", "no"), default="auto",
                        help="is the PSF a bead image from the same camera? (auto: judged from the pixel sizes)")
    parser.add_argument("--scale", type=float, default=2.0, help="super-resolution factor (default 2)")
    parser.add_argument("--preset", choices=PRESETS, default="default", help="quality preset (default: default)")
    parser.add_argument("--max-iterations", type=int, help=f"training iterations per plane, at most "
                        f"(preset default: {defaults.max_iterations})")
    parser.add_argument("--warm-start", type=auto_or(int, 1, "a whole number >= 1"), nargs="?", const="auto",
                        metavar="N",
                        help="start each plane from the previous plane's weights and train N iterations (N left out "
                             "or auto: a fifth of the max iterations)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--noise-std", type=auto_or(float, 0, "a number >= 0"), metavar="auto|STD",
                        help="noise added to the training inputs: auto = each plane's estimated noise level (default "
                             "and fast presets), or a fraction of the intensity range, 0 = none")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="convolution arithmetic (default: the preset's, auto = bf16 on CUDA GPUs and on CPUs with "
                             "native bf16, fp16 on GPUs without bf16, float32 elsewhere; paper: float32)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help=f"random seed (default {defaults.seed})")
    parser.add_argument("--outputs", default=",".join(OUTPUT_KINDS),
                        help=f"comma-separated outputs to write (default: {','.join(OUTPUT_KINDS)})")
    parser.add_argument("--dtype", choices=("float32", "input"), default="float32",
                        help="type of the super-resolved images: float32, or the input's (rounded, clipped)")
    parser.add_argument("--recursive", "-r", action="store_true", help="also take TIFFs in sub-folders")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs made with other settings")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars, only problems and summary")
    parser.add_argument("--version", action="version", version=f"napari-zssr {__version__}")
    return parser


@dataclass
class Job:
    source: Path
    relative: Path  # where its outputs go under --out (mirrors sub-folders of a folder input)


@dataclass
class Summary:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def collect_jobs(inputs: Sequence[str], recursive: bool) -> list[Job]:
    """Expand files, folders and globs into TIFF jobs; other files are skipped with a note."""
    jobs: list[Job] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = [f for f in sorted(path.glob("**/*" if recursive else "*")) if f.is_file()]
            tiffs = [f for f in files if f.suffix.lower() in TIFF_SUFFIXES]
            jobs.extend(Job(found, found.relative_to(path)) for found in tiffs)
            if len(files) > len(tiffs):
                say(f"note: skipped {len(files) - len(tiffs)} non-TIFF file(s) in {path}")
            continue
        matches = [Path(m) for m in sorted(glob.glob(item, recursive=recursive))] if not path.exists() else [path]
        if not matches:
            say(f"note: {item}: no such file or folder")
        for found in matches:
            if found.is_dir():
                continue
            if found.suffix.lower() not in TIFF_SUFFIXES:
                say(f"note: skipped {found} (not a TIFF)")
                continue
            jobs.append(Job(found, Path(found.name)))
    return jobs


def settings_record(args: argparse.Namespace, config: ZSSRConfig, job_source: Path) -> dict:
    """What decides an output's content: equal records mean an existing output can be kept (JSON-normalised)."""
    return json.loads(json.dumps({"source": str(job_source.resolve()), "scale": args.scale, "config": config.to_dict(),
            "psf": [str(Path(p).resolve()) for p in args.psf], "psf_pixel_size": args.psf_pixel_size,
            "pixel_size": args.pixel_size, "measured_psf": args.measured_psf, "warm_start": args.warm_start,
            "dtype": args.dtype}))


def output_path(out: Path, job: Job, kind: str) -> Path:
    return out / job.relative.parent / f"{job.relative.stem}_{kind}.tif"


def existing_state(paths: dict[str, Path], settings: dict) -> str:
    """"different" (an output made with other settings exists), "same" (all done with these) or "missing"."""
    present = [path for path in paths.values() if path.exists()]
    if any(_settings_of(path) != settings for path in present):
        return "different"
    return "same" if len(present) == len(paths) else "missing"


def _settings_of(path: Path) -> dict | None:
    info = read_info(path)
    try:
        return json.loads(info)["settings"] if info else None
    except (ValueError, KeyError, TypeError):
        return None


def kernels_for(args: argparse.Namespace, image: TiffImage, channels: int) -> list[np.ndarray | None]:
    if not args.psf:
        return [None] * channels
    if len(args.psf) not in (1, channels):
        raise ValueError(f"{len(args.psf)} PSFs given for {channels} channels; give one, or one per channel")
    pixel_size = args.pixel_size or (float(np.mean(image.pixel_size)) if image.pixel_size else None)
    measured = {"auto": None, "yes": True, "no": False}[args.measured_psf]
    kernels = [kernel_from_file(p, psf_pixel_size=args.psf_pixel_size, pixel_size=pixel_size, scale=args.scale,
                                measured=measured) for p in args.psf]
    return kernels * channels if len(kernels) == 1 else kernels


def cast_output(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip to an integer type's range (floats pass through as float32)."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(data), info.min, info.max).astype(dtype)
    return data.astype(np.float32)


def process(job: Job, args: argparse.Namespace, config: ZSSRConfig, kinds: list[str], settings: dict,
            planes_bar: tqdm | None) -> None:
    image = read_tiff(job.source)
    if "S" in image.axes:
        raise ValueError("RGB TIFFs are not supported: split the colour channels into a C axis first")
    data = image.data if "C" in image.axes else image.data[..., None, :, :]
    channel_axis = image.axes.index("C") if "C" in image.axes else data.ndim - 3
    channels = data.shape[channel_axis]
    kernels = kernels_for(args, image, channels)
    planes = int(np.prod(data.shape[:-2]))
    if planes_bar is not None:
        planes_bar.reset(total=planes)
        planes_bar.set_description(job.source.name)
    outputs: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds}
    noise_stds: list[list[float]] = []  # per channel, per plane
    done_planes = 0

    for channel in range(channels):
        progress = None if planes_bar is None else BarProgress(planes_bar, per_plane=True, planes_before=done_planes)
        result = zssr_stack(np.take(data, channel, axis=channel_axis), args.scale, kernels[channel], config,
                            device=args.device, progress=progress, warm_start_iterations=args.warm_start)
        done_planes += int(np.prod(result.sr.shape[:-2]))
        noise_stds.append(result.metadata()["noise_stds"])
        for kind in kinds:
            outputs[kind].append(getattr(result, OUTPUTS[kind]))
    factors = effective_factors(data.shape, result.sr.shape)
    pixel_size = (args.pixel_size, args.pixel_size) if args.pixel_size else image.pixel_size
    new_pixel_size = None if pixel_size is None else (pixel_size[0] / factors[0], pixel_size[1] / factors[1])
    info = json.dumps({"napari_zssr_version": __version__, "settings": settings,
                       "iterations": result.iterations, "device": result.device, "precision": result.precision,
                       "noise_stds": noise_stds})
    for kind in kinds:
        stacked = np.stack(outputs[kind], axis=channel_axis)
        if "C" not in image.axes:
            stacked = stacked[..., 0, :, :]
        if kind != "residual" and args.dtype == "input":
            stacked = cast_output(stacked, image.data.dtype)
        write_imagej_tiff(output_path(args.out, job, kind), stacked, image.axes, new_pixel_size, image.z_spacing,
                          info, imagej_origin(image.origin, factors))


def say(message: str) -> None:
    print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kinds = [k.strip() for k in args.outputs.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(OUTPUT_KINDS))
    if unknown or not kinds:
        say(f"error: unknown output(s) {unknown}; choose from {','.join(OUTPUT_KINDS)}")
        return 2
    try:
        overrides = {"max_iterations": args.max_iterations, "precision": args.precision, "noise_std": args.noise_std}
        config = ZSSRConfig.preset(args.preset, seed=args.seed, device=args.device,
                                   **{key: value for key, value in overrides.items() if value is not None})
        resolve_precision(config.precision, select_device(config.device))  # a usage error, not one per file
        if args.warm_start == "auto":
            args.warm_start = config.warm_start_iterations()
    except ValueError as error:
        say(f"error: {error}")
        return 2
    jobs = collect_jobs(args.inputs, args.recursive)
    out = args.out.resolve()
    for job in jobs:
        if job.source.resolve().parent == output_path(out, job, "zssr").parent:
            say(f"error: --out would put results next to the input {job.source}; choose another folder")
            return 2
    summary = Summary()
    start = time.perf_counter()
    files_bar = None if args.quiet else tqdm(total=len(jobs), unit="file", desc="files", position=0)
    planes_bar = None if args.quiet else tqdm(unit="plane", position=1, leave=False)
    try:
        for job in jobs:
            settings = settings_record(args, config, job.source)
            paths = {kind: output_path(args.out, job, kind) for kind in kinds}
            state = existing_state(paths, settings)
            if state == "same":
                summary.skipped.append(job.source)
            elif state == "different" and not args.overwrite:
                say(f"{job.source}: outputs exist with different settings; left alone (use --overwrite)")
                summary.conflicts.append(job.source)
            else:
                try:
                    process(job, args, config, kinds, settings, planes_bar)
                    summary.done.append(job.source)
                except (ValueError, TypeError, OSError, RuntimeError) as error:
                    say(f"{job.source}: failed: {error}")
                    summary.failed.append((job.source, str(error)))
            if files_bar is not None:
                files_bar.update()
    except KeyboardInterrupt:
        say("interrupted: finished files are kept; run the same command again to continue")
        return 130
    finally:
        for bar in (planes_bar, files_bar):
            if bar is not None:
                bar.close()
    say(f"done {len(summary.done)}, skipped {len(summary.skipped)} (already done), "
        f"conflicts {len(summary.conflicts)}, failed {len(summary.failed)}, "
        f"{time.perf_counter() - start:.1f} s")
    if not jobs:
        say("error: no TIFF files found in the inputs")
        return 2
    return 1 if summary.failed or summary.conflicts else 0
