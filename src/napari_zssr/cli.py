"""``napari-zssr``: batch ZSSR over TIFF files and folders, for facilities processing overnight without a screen."""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ._version import __version__
from .api import DEFAULT_OUTPUTS, OUTPUTS, BlankPlaneWarning, ZSSRResult, zssr_stack
from .core.config import PRESETS, ZSSRConfig
from .core.device import select_device
from .core.optics import IMMERSION_INDICES, MODALITIES, Optics
from .core.precision import PRECISIONS, resolve_precision
from .io.ome import read_optics
from .io.tiff import IMAGEJ_DTYPES, read_header, read_tiff, write_imagej_tiff
from .kernel_choice import KERNEL_SOURCES, KernelChoice, describe_kernel, kernel_source
from .overlay import effective_factors, imagej_origin
from .progress import BarProgress
from .resolution_report import describe_resolution

OUTPUT_KINDS = tuple(OUTPUTS)
TIFF_SUFFIXES = (".tif", ".tiff")
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


class UsageError(Exception):
    """A problem with the command line or its inputs, found before any training: exit code 2."""


def number_in_range(number: type, minimum: float, what: str, *, exclusive: bool = False,
                    auto: bool = False) -> Callable[[str], float | str]:
    """An argparse type for a finite number >= ``minimum`` (> with ``exclusive``), or "auto" with ``auto``."""

    def parse(text: str) -> float | str:
        if auto and text == "auto":
            return text
        try:
            value = number(text)
        except ValueError:
            value = None
        if value is None or not (value > minimum if exclusive else value >= minimum) or not value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {'auto or ' if auto else ''}{what}, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    defaults = ZSSRConfig()
    pixel_size = number_in_range(float, 0, "a pixel size in um > 0", exclusive=True)
    parser = argparse.ArgumentParser(
        prog="napari-zssr", description="Zero-Shot Super-Resolution of TIFF images and stacks (every YX plane).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF files, folders of TIFFs, or glob patterns")
    parser.add_argument("--out", required=True, type=Path, help="output folder (never one that holds inputs)")
    parser.add_argument("--psf", action="append", default=[], metavar="FILE",
                        help="PSF file (.tif/.npy/.mat) used as the blur kernel; repeat once per channel")
    parser.add_argument("--psf-pixel-size", type=pixel_size, metavar="UM",
                        help="PSF pixel size in um (default: file's)")
    parser.add_argument("--pixel-size", type=pixel_size, metavar="UM", help="image pixel size in um (default: file's)")
    parser.add_argument("--measured-psf", choices=("auto", "yes", "no"), default="auto",
                        help="is the PSF a bead image from the same camera? (auto: judged from the pixel sizes)")
    parser.add_argument("--kernel", choices=KERNEL_SOURCES,
                        help="where the blur kernel comes from: psf (--psf), optics (--na, --wavelength...), estimate "
                             "(from each image's spectrum) or none (bicubic). Default: psf with --psf, optics with "
                             "--na or --psf-model, else none")
    wavelength = number_in_range(float, 200, "a wavelength in nm (200-2000)")
    parser.add_argument("--psf-model", choices=MODALITIES,
                        help="compute the PSF from the optics: widefield or confocal (default widefield)")
    parser.add_argument("--na", type=number_in_range(float, 0, "a numerical aperture > 0", exclusive=True),
                        help="objective NA (default: the file's OME metadata)")
    parser.add_argument("--wavelength", type=wavelength, action="append", default=[], metavar="NM",
                        help="emission wavelength in nm; repeat once per channel (default: the file's OME metadata)")
    parser.add_argument("--refractive-index", type=number_in_range(float, 1, "a refractive index >= 1"),
                        help="immersion medium: 1.0 air, 1.333 water, 1.518 oil (default: the file's OME metadata, "
                             "else oil)")
    parser.add_argument("--excitation-wavelength", type=wavelength, action="append", default=[], metavar="NM",
                        help="confocal: excitation wavelength in nm; repeat once per channel (default: the file's OME "
                             "metadata, else the emission wavelength)")
    parser.add_argument("--pinhole", type=number_in_range(float, 0, "a pinhole size in Airy units >= 0"),
                        metavar="AU", help="confocal: pinhole diameter in Airy units (default 1)")
    parser.add_argument("--scale", type=number_in_range(float, 1, "a factor > 1", exclusive=True), default=2.0,
                        help="super-resolution factor (default 2)")
    parser.add_argument("--preset", choices=PRESETS, default="default", help="quality preset (default: default)")
    parser.add_argument("--max-iterations", type=number_in_range(int, 1, "a whole number >= 1"),
                        help=f"training iterations per plane, at most (preset default: {defaults.max_iterations})")
    parser.add_argument("--warm-start", type=number_in_range(int, 1, "a whole number >= 1", auto=True), nargs="?",
                        const="auto", metavar="N",
                        help="start each plane from the previous plane's weights and train N iterations (N left out "
                             "or auto: a fifth of the max iterations)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--noise-std", type=number_in_range(float, 0, "a number >= 0", auto=True), metavar="auto|STD",
                        help="noise added to the training inputs: auto = each plane's estimated noise level (default "
                             "and fast presets), or a fraction of the intensity range, 0 = none")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="convolution arithmetic (default: the preset's, auto = bf16 on CUDA GPUs and on CPUs with "
                             "native bf16, fp16 on GPUs without bf16, float32 elsewhere; paper: float32)")
    parser.add_argument("--seed", type=number_in_range(int, 0, "a whole number >= 0"), default=defaults.seed,
                        help=f"random seed (default {defaults.seed})")
    parser.add_argument("--outputs", default=",".join(DEFAULT_OUTPUTS),
                        help=f"comma-separated outputs to write, from {','.join(OUTPUT_KINDS)} "
                             f"(default: {','.join(DEFAULT_OUTPUTS)})")
    parser.add_argument("--dtype", choices=("float32", "input"), default="float32",
                        help="type of the super-resolved images: float32, or the input's (rounded, clipped; float32 "
                             "where ImageJ TIFFs cannot hold the input's type)")
    parser.add_argument("--recursive", "-r", action="store_true", help="also take TIFFs in sub-folders")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs made with other settings or from another input, and unreadable files "
                             "in an output's place")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars, only problems and summary")
    parser.add_argument("--version", action="version", version=f"napari-zssr {__version__}")
    return parser


@dataclass
class Job:
    source: Path
    output_stem: Path  # under --out, without "_<kind>.tif": the input's path relative to the inputs' common folder


@dataclass
class Summary:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or folder in path.parents


def written_by_us(path: Path) -> bool:
    """Whether a TIFF is an output of this tool (its ImageJ Info holds our settings record)."""
    header = read_header(path)
    return header is not None and settings_of_info(header.info) is not None


@dataclass
class Source:
    path: Path
    root: Path  # the folder its output path is mirrored from: a folder input, a file's folder, a glob's fixed part


def collect_sources(inputs: Sequence[str], recursive: bool, out: Path) -> list[Source]:
    """Expand files, folders and globs into TIFF files; never files under ``out`` nor outputs of this tool.

    A file or folder named on the command line that lies in ``out`` is a :class:`UsageError`; files found under
    ``out`` by a folder walk or a glob are skipped, so a rerun never takes its own outputs as inputs.
    """
    found: list[Source] = []
    skipped = {"not a TIFF": 0, "under --out": 0, "written by napari-zssr": 0}
    for item in inputs:
        path = Path(item)
        if path.exists():
            if is_within(path.resolve(), out):
                raise UsageError(f"--out {out} holds the input {item}; choose an output folder outside the inputs")
            root = path if path.is_dir() else path.parent
            candidates = sorted(path.glob("**/*" if recursive else "*")) if path.is_dir() else [path]
        else:
            root = Path(*itertools.takewhile(lambda part: not any(c in part for c in "*?["), path.parent.parts))
            candidates = [Path(match) for match in sorted(glob.glob(item, recursive=recursive))]
            if not candidates:
                say(f"note: {item}: no such file or folder")
        for candidate in candidates:
            if not candidate.is_file():
                continue
            if is_within(candidate.resolve(), out):
                skipped["under --out"] += 1
            elif candidate.suffix.lower() not in TIFF_SUFFIXES:
                skipped["not a TIFF"] += 1
            elif written_by_us(candidate):
                skipped["written by napari-zssr"] += 1
            else:
                found.append(Source(candidate, root))
    for reason, count in skipped.items():
        if count:
            say(f"note: skipped {count} file(s): {reason}")
    seen: set[Path] = set()
    unique = []
    for source in found:  # one job per file, however many times the inputs name it
        if source.path.resolve() not in seen:
            seen.add(source.path.resolve())
            unique.append(source)
    return unique


def plan_jobs(sources: Sequence[Source]) -> list[Job]:
    """Give every input its own outputs: its path relative to the common folder of the inputs given, suffix dropped.

    A folder input is its own root, so files added to it later do not move the outputs of the others. Where two
    inputs would still share a name (``x.tif`` and ``x.tiff``, or names that differ only in case, which a
    case-insensitive disk cannot tell apart) both keep their suffix in the name (``x.tif_zssr.tif``).
    """
    if not sources:
        return []
    files = [Path(os.path.abspath(source.path)) for source in sources]
    try:
        common = Path(os.path.commonpath([os.path.abspath(source.root) for source in sources]))
        relative = [path.relative_to(common) for path in files]
    except ValueError:  # inputs on different drives (Windows): mirror each drive as a folder
        relative = [Path(path.drive.rstrip(":")) / path.relative_to(path.anchor) for path in files]
    stems = [path.with_suffix("") for path in relative]
    counts = Counter(map(_key, stems))
    stems = [path if counts[_key(stem)] > 1 else stem for path, stem in zip(relative, stems)]
    counts = Counter(map(_key, stems))
    clashes = [str(source.path) for source, stem in zip(sources, stems) if counts[_key(stem)] > 1]
    if clashes:
        raise UsageError(f"inputs {', '.join(clashes)} would share output names; rename one of them")
    return [Job(source.path, stem) for source, stem in zip(sources, stems)]


def _key(stem: Path) -> str:
    """Output names that one disk may not tell apart (case-insensitive file systems) share a key."""
    return str(stem).casefold()


def settings_record(args: argparse.Namespace, config: ZSSRConfig) -> dict:
    """What decides an output's content besides its input: equal records mean an output can be kept."""
    return json.loads(json.dumps({"scale": args.scale, "config": config.to_dict(),
            "psf": [str(Path(p).resolve()) for p in args.psf], "psf_pixel_size": args.psf_pixel_size,
            "pixel_size": args.pixel_size, "measured_psf": args.measured_psf, "warm_start": args.warm_start,
            "dtype": args.dtype, "kernel": args.kernel, "psf_model": args.psf_model, "na": args.na,
            "wavelength": args.wavelength, "refractive_index": args.refractive_index,
            "excitation_wavelength": args.excitation_wavelength, "pinhole": args.pinhole}))


def input_identity(source: Path) -> dict:
    """Which input an output was made from, and which version of it: path, size and modification time.

    Size and modification time (as ``make`` and ``rsync`` use) cost nothing on a resume over thousands of large
    stacks, where a content hash would read every input again; a touched or copied file then counts as changed and
    is redone, which costs time but never keeps a stale result.
    """
    stat = source.stat()
    return {"path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def output_path(out: Path, job: Job, kind: str) -> Path:
    return out / job.output_stem.parent / f"{job.output_stem.name}_{kind}.tif"


def settings_of_info(info: str | None) -> dict | None:
    """The record this tool writes into an output's ImageJ Info (None for any other text)."""
    try:
        record = json.loads(info) if info else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and "napari_zssr_version" in record and "settings" in record else None


#: states of an input's existing outputs, most serious first: the first that applies to any output decides.
STATES = ("folder", "unreadable", "other input", "different", "changed", "missing", "same")


def output_state(paths: dict[str, Path], settings: dict, identity: dict) -> tuple[str, Path | None]:
    """The state of an input's outputs (one of :data:`STATES`) and the output file that decided it."""
    found: dict[str, Path] = {}
    for path in paths.values():
        found.setdefault(_state_of(path, settings, identity), path)
    state = next(state for state in STATES if state in found or state == "same")
    return state, found.get(state)


def _state_of(path: Path, settings: dict, identity: dict) -> str:
    if path.is_dir():
        return "folder"
    if not path.exists():
        return "missing"
    header = read_header(path)
    record = settings_of_info(None if header is None else header.info)
    if record is None:
        return "unreadable"
    made_from = record.get("input")
    if made_from is None:  # written by a version that did not record its input
        return "different"
    if made_from.get("path") != identity["path"]:
        return "other input"
    if record["settings"] != settings:
        return "different"
    return "same" if made_from == identity else "changed"


def conflict_message(state: str, path: Path, overwrite: bool) -> str | None:
    """Why an input is left alone (None when it is processed)."""
    if state == "folder":
        return f"a folder is where the output {path} goes; move it away"
    if overwrite:
        return None
    reason = {"unreadable": "exists but is not a readable napari-zssr output (corrupt, or another program's file)",
              "other input": "was made from another input (the inputs given have changed)",
              "different": "was made with different settings"}.get(state)
    return None if reason is None else f"{path} {reason}; left alone (use --overwrite to replace it)"


def kernel_kind(args: argparse.Namespace) -> str:
    """The kernel source asked for: ``--kernel``, else what the other options imply."""
    if args.kernel is not None:
        return args.kernel
    if args.psf:
        return "psf"
    return "optics" if args.na is not None or args.psf_model is not None else "none"


def per_channel(values: list, channels: int, what: str) -> list:
    """One value for every channel from options given once, or once per channel."""
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} {what} given for {channels} channels; give one, or one per channel")
    return values * channels if len(values) == 1 else values


def kernel_choices(args: argparse.Namespace, source: Path, channels: int) -> list[KernelChoice]:
    """The kernel of each channel of one input; the optics fill in from its OME metadata where options are silent."""
    kind = kernel_kind(args)
    if kind == "psf":
        return [KernelChoice("psf", psf_path=path, psf_pixel_size=args.psf_pixel_size, measured=measured_psf(args))
                for path in per_channel(args.psf, channels, "PSFs")]
    if kind != "optics":
        return [KernelChoice(kind)] * channels
    metadata = read_optics(source)
    na = args.na or (metadata and metadata.na)
    if not na:
        raise ValueError("a kernel from the optics needs the objective's NA: give --na (the file's metadata does "
                         "not say)")
    emission = args.wavelength or list(metadata.emission_wavelengths if metadata else ())
    if not emission or None in emission:
        raise ValueError("a kernel from the optics needs the emission wavelength: give --wavelength (the file's "
                         "metadata does not say)")
    confocal = args.psf_model == "confocal"
    excitation = args.excitation_wavelength or list(metadata.excitation_wavelengths if metadata else ())
    excitation = per_channel(excitation, channels, "excitation wavelengths") if excitation else [None] * channels
    refractive_index = args.refractive_index or (metadata and metadata.refractive_index) or IMMERSION_INDICES["oil"]
    return [KernelChoice("optics", optics=Optics(na, wavelength, refractive_index, args.psf_model or "widefield",
                                                 excitation_nm if confocal else None,
                                                 args.pinhole if confocal else None))
            for wavelength, excitation_nm in zip(per_channel(emission, channels, "wavelengths"), excitation)]


def measured_psf(args: argparse.Namespace) -> bool | None:
    return {"auto": None, "yes": True, "no": False}[args.measured_psf]


def check_kernel_options(args: argparse.Namespace) -> None:
    """Check the kernel options once, before the batch: a bad PSF file or bad optics are usage errors, not one
    failure per input. Each input's own pixel size (for the resampling) is only known when it is read; with
    ``--pixel-size`` the check already uses it.
    """
    kind = kernel_kind(args)
    if args.psf and kind != "psf":
        raise UsageError(f"--psf cannot be combined with --kernel {kind}")
    optics_options = [name for name in ("na", "psf_model", "refractive_index", "pinhole") if getattr(args, name)]
    optics_options += [name for name in ("wavelength", "excitation_wavelength") if getattr(args, name)]
    if optics_options and kind != "optics":
        raise UsageError(f"--{optics_options[0].replace('_', '-')} applies to a kernel from the optics, not to "
                         f"--kernel {kind}")
    if kind == "psf" and not args.psf:
        raise UsageError("--kernel psf needs --psf FILE")
    if kind == "optics":
        try:
            for wavelength in args.wavelength or [520.0]:
                Optics(args.na or 1.0, wavelength, args.refractive_index or IMMERSION_INDICES["oil"],
                       args.psf_model or "widefield", None, None)
        except ValueError as error:
            raise UsageError(str(error)) from None
    for path in args.psf:
        try:
            kernel_source(KernelChoice("psf", psf_path=path, psf_pixel_size=args.psf_pixel_size,
                                       measured=measured_psf(args)), args.pixel_size)
        except (ValueError, TypeError, OSError) as error:
            raise UsageError(f"--psf {path}: {error}") from None


def check_out(out: Path) -> None:
    """Refuse an output folder that cannot be made or written, without creating anything yet."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out} cannot be written: no write permission on {existing}")


def output_dtype(dtype: np.dtype) -> np.dtype:
    """The input's type where an ImageJ TIFF holds it, else float32 (for ``--dtype input``)."""
    return dtype if dtype in IMAGEJ_DTYPES else np.dtype(np.float32)


def note_dtype_fallbacks(jobs: Sequence[Job]) -> None:
    for job in jobs:
        header = read_header(job.source)
        if header is not None and output_dtype(header.dtype) != header.dtype:
            say(f"note: {job.source} is {header.dtype}, which ImageJ TIFFs cannot hold; its outputs will be float32")


def cast_output(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip to an integer type's range (floats pass through as float32)."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(data), info.min, info.max).astype(dtype)
    return data.astype(np.float32)


def plane_label(axes: str, index: tuple[int, ...], channel: int | None) -> str:
    """A plane's position for messages, e.g. "plane Z=3, channel 1"."""
    where = [f"{axis}={i}" for axis, i in zip(axes, index)] if "Q" not in axes else [str(index)]
    if channel is not None:
        where.append(f"channel {channel}")
    return f"plane {', '.join(where)}" if where else "the image"


def channel_record(result: ZSSRResult) -> dict:
    """One channel's run (iterations, noise levels, device, precision...) for the TIFF Info."""
    return {key: value for key, value in result.metadata().items() if key not in ("config", "napari_zssr_version")}


def process(job: Job, args: argparse.Namespace, config: ZSSRConfig, kinds: list[str], settings: dict,
            planes_bar: tqdm | None) -> None:
    identity = input_identity(job.source)
    image = read_tiff(job.source)
    if "S" in image.axes:
        raise ValueError("RGB TIFFs are not supported: split the colour channels into a C axis first")
    data = image.data if "C" in image.axes else image.data[..., None, :, :]
    channel_axis = image.axes.index("C") if "C" in image.axes else data.ndim - 3
    channels = data.shape[channel_axis]
    kernels = kernel_choices(args, job.source, channels)
    mean_pixel_size = args.pixel_size or (float(np.mean(image.pixel_size)) if image.pixel_size else None)
    planes = int(np.prod(data.shape[:-2]))
    if planes_bar is not None:
        planes_bar.reset(total=planes)
        planes_bar.set_description(job.source.name)
    outputs: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds}
    records: list[dict] = []
    done_planes = 0

    for channel in range(channels):
        progress = None if planes_bar is None else BarProgress(planes_bar, per_plane=True, planes_before=done_planes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlankPlaneWarning)  # reported below with the file's name
            result = zssr_stack(np.take(data, channel, axis=channel_axis), args.scale, kernels[channel], config,
                                device=args.device, progress=progress, warm_start_iterations=args.warm_start,
                                pixel_size=mean_pixel_size)
        for index in result.blank_planes:
            where = plane_label(image.axes[:-2].replace("C", ""), index, channel if "C" in image.axes else None)
            say(f"{job.source}: {where} is constant; passed through as its interpolation")
        done_planes += int(np.prod(result.sr.shape[:-2]))
        records.append(channel_record(result))
        if not args.quiet:
            where = f" channel {channel}" if "C" in image.axes else ""
            say(f"{job.source}{where}: kernel {describe_kernel(result.kernel)}; "
                f"{describe_resolution(result.resolution)}")
        for kind in kinds:
            outputs[kind].append(getattr(result, OUTPUTS[kind]))
    factors = effective_factors(data.shape, result.sr.shape)
    pixel_size = (args.pixel_size, args.pixel_size) if args.pixel_size else image.pixel_size
    new_pixel_size = None if pixel_size is None else (pixel_size[0] / factors[0], pixel_size[1] / factors[1])
    info = json.dumps({"napari_zssr_version": __version__, "settings": settings, "input": identity,
                       "channels": records})
    for kind in kinds:
        stacked = np.stack(outputs[kind], axis=channel_axis)
        if "C" not in image.axes:
            stacked = stacked[..., 0, :, :]
        if kind in ("zssr", "ensemble_median") and args.dtype == "input":
            stacked = cast_output(stacked, output_dtype(image.data.dtype))
        write_imagej_tiff(output_path(args.out, job, kind), stacked, image.axes, new_pixel_size, image.z_spacing,
                          info, imagej_origin(image.origin, factors))


def say(message: str) -> None:
    print(message, file=sys.stderr)


def prepare(args: argparse.Namespace) -> tuple[ZSSRConfig, list[str], list[Job]]:
    """Every check that needs no training, so that a usage error stops the command before any work or output."""
    kinds = [k.strip() for k in args.outputs.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(OUTPUT_KINDS))
    if unknown or not kinds:
        raise UsageError(f"unknown output(s) {unknown}; choose from {','.join(OUTPUT_KINDS)}")
    try:
        overrides = {"max_iterations": args.max_iterations, "precision": args.precision, "noise_std": args.noise_std}
        config = ZSSRConfig.preset(args.preset, seed=args.seed, device=args.device,
                                   **{key: value for key, value in overrides.items() if value is not None})
        resolve_precision(config.precision, select_device(config.device))  # a usage error, not one per file
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.warm_start == "auto":
        args.warm_start = config.warm_start_iterations()
    out = args.out.resolve()
    check_out(out)
    check_kernel_options(args)
    jobs = plan_jobs(collect_sources(args.inputs, args.recursive, out))
    if not jobs:
        raise UsageError("no TIFF files found in the inputs")
    if args.dtype == "input":
        note_dtype_fallbacks(jobs)
    return config, kinds, jobs


def run_job(job: Job, args: argparse.Namespace, config: ZSSRConfig, kinds: list[str], settings: dict,
            planes_bar: tqdm | None) -> str:
    """Process one input unless its outputs say otherwise; returns "done", "skipped" or "conflict"."""
    paths = {kind: output_path(args.out, job, kind) for kind in kinds}
    state, decided_by = output_state(paths, settings, input_identity(job.source))
    if state == "same":
        return "skipped"
    conflict = None if decided_by is None else conflict_message(state, decided_by, args.overwrite)
    if conflict is not None:
        say(f"{job.source}: {conflict}")
        return "conflict"
    if state == "changed":
        say(f"{job.source}: changed since {decided_by} was made from it; redoing it")
    process(job, args, config, kinds, settings, planes_bar)
    return "done"


def run_batch(args: argparse.Namespace, config: ZSSRConfig, kinds: list[str], jobs: list[Job]) -> int:
    summary = Summary()
    start = time.perf_counter()
    settings = settings_record(args, config)
    files_bar = None if args.quiet else tqdm(total=len(jobs), unit="file", desc="files", position=0)
    planes_bar = None if args.quiet else tqdm(unit="plane", position=1, leave=False)
    try:
        for job in jobs:
            try:
                outcome = run_job(job, args, config, kinds, settings, planes_bar)
                {"done": summary.done, "skipped": summary.skipped, "conflict": summary.conflicts}[outcome].append(
                    job.source)
            except (ValueError, TypeError, OSError, RuntimeError) as error:
                say(f"{job.source}: failed: {error}")
                summary.failed.append((job.source, str(error)))
            if files_bar is not None:
                files_bar.update()
    finally:
        for bar in (planes_bar, files_bar):
            if bar is not None:
                bar.close()
    say(f"done {len(summary.done)}, skipped {len(summary.skipped)} (already done), "
        f"conflicts {len(summary.conflicts)}, failed {len(summary.failed)}, "
        f"{time.perf_counter() - start:.1f} s")
    return 1 if summary.failed or summary.conflicts else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        try:
            config, kinds, jobs = prepare(args)
        except UsageError as error:
            say(f"error: {error}")
            return EXIT_USAGE
        return run_batch(args, config, kinds, jobs)
    except KeyboardInterrupt:
        say("interrupted: finished files are kept; run the same command again to continue")
        return EXIT_INTERRUPTED
