"""``napari_zssr.batch``: super-resolve TIFF files into an output folder, in this process or on a Dask cluster.

One implementation behind the command line and scripts. Each input is planned, checked against what a previous run
left (resume), super-resolved plane by plane and written as whole files only: a file by one atomic rename, a stack
split over cluster workers from private part files that are assembled and then renamed. The Dask part lives in
:mod:`napari_zssr.cluster` and is imported only when a client is given.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ._version import __version__
from .api import DEFAULT_OUTPUTS, OUTPUTS, BlankPlaneWarning, ZSSRResult, zssr_stack
from .batch_jobs import (
    Job,
    UsageError,
    check_out,
    collect_sources,
    conflict_message,
    input_identity,
    output_path,
    output_state,
    plan_jobs,
    say,
)
from .core.config import ZSSRConfig
from .core.device import select_device
from .core.optics import IMMERSION_INDICES, Optics
from .core.precision import resolve_precision
from .io.ome import read_optics
from .io.tiff import IMAGEJ_DTYPES, TiffImage, read_header, read_tiff, write_imagej_tiff
from .kernel_choice import KernelChoice, describe_kernel, kernel_source
from .overlay import effective_factors, imagej_origin
from .progress import BarProgress
from .resolution_report import describe_resolution, resolution_report

OUTPUT_KINDS = tuple(OUTPUTS)
#: hidden folder under ``out`` for the parts of split stacks; resume and input collection never look inside it
PARTS_FOLDER = ".napari-zssr-parts"
#: the temporary names :func:`write_imagej_tiff` writes before its rename (left behind only by a killed process)
PARTIAL_TIFF_PATTERN = ".*.tif.part"


@dataclass(frozen=True)
class BatchOptions:
    """Every setting of a batch besides its inputs, with the command line's names and defaults.

    Fields that change an output's content go into its settings record (:func:`settings_record`); ``quiet``,
    ``overwrite``, ``recursive`` and ``planes_per_task`` do not.
    """

    out: Path
    scale: float = 2.0
    preset: str = "default"
    max_iterations: int | None = None
    warm_start: int | str | None = None  # "auto": a fifth of the max iterations
    device: str = "auto"
    noise_std: float | str | None = None
    precision: str | None = None
    seed: int = ZSSRConfig().seed
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    dtype: str = "float32"
    psf: tuple[str, ...] = ()
    psf_pixel_size: float | None = None
    pixel_size: float | None = None
    measured_psf: str = "auto"
    kernel: str | None = None
    psf_model: str | None = None
    na: float | None = None
    wavelength: tuple[float, ...] = ()
    refractive_index: float | None = None
    excitation_wavelength: tuple[float, ...] = ()
    pinhole: float | None = None
    recursive: bool = False
    overwrite: bool = False
    quiet: bool = False
    #: on a cluster, a stack with more planes than this is split into ranges of about this many planes
    planes_per_task: int = 16


@dataclass
class WorkerReport:
    """What one worker (or this process) did: for the summary's per-worker lines."""

    host: str
    device: str = ""
    seconds: float = 0.0
    tasks: int = 0
    planes: int = 0


@dataclass
class BatchSummary:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    workers: dict[str, WorkerReport] = field(default_factory=dict)  # worker address ("in-process" here) -> report
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """The command line's: 0 everything done or skipped, 1 some file failed or conflicted."""
        return 1 if self.failed or self.conflicts else 0


@dataclass(frozen=True)
class PreparedBatch:
    """A batch checked and planned, before any work: what :func:`run_prepared` runs."""

    options: BatchOptions
    config: ZSSRConfig
    jobs: tuple[Job, ...]
    settings: dict = field(hash=False)


@dataclass
class TaskReport:
    """What a unit of work returns to whoever runs the batch: messages to print and where it ran."""

    planes: int
    device: str
    seconds: float
    host: str = field(default_factory=socket.gethostname)
    worker: str = "in-process"  # a Dask worker's address
    messages: list[str] = field(default_factory=list)


def make_options(out: str | os.PathLike, settings: dict[str, Any]) -> BatchOptions:
    """:class:`BatchOptions` from keyword settings; lists become tuples and ``outputs`` may be "zssr,residual"."""
    known = {f.name for f in fields(BatchOptions)} - {"out"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"unknown batch setting(s) {unknown}; choose from {sorted(known)}")
    settings = dict(settings)
    if isinstance(settings.get("outputs"), str):
        settings["outputs"] = settings["outputs"].split(",")
    for name in ("outputs", "psf", "wavelength", "excitation_wavelength"):
        if name in settings:
            settings[name] = tuple(str(v).strip() if name in ("outputs", "psf") else v for v in settings[name])
    if "outputs" in settings:
        settings["outputs"] = tuple(kind for kind in settings["outputs"] if kind)
    return BatchOptions(out=Path(out), **settings)


def prepare(inputs: Sequence[str | os.PathLike], options: BatchOptions, *, device_here: bool = True) -> PreparedBatch:
    """Every check that needs no training, so that a usage error stops a batch before any work or output.

    ``device_here=False`` (a cluster): the device and precision are resolved on each worker, not on this machine.
    """
    unknown = sorted(set(options.outputs) - set(OUTPUT_KINDS))
    if unknown or not options.outputs:
        raise UsageError(f"unknown output(s) {unknown}; choose from {','.join(OUTPUT_KINDS)}")
    if options.planes_per_task < 2:
        raise UsageError(f"planes per task must be at least 2, got {options.planes_per_task}")
    try:
        overrides = {"max_iterations": options.max_iterations, "precision": options.precision,
                     "noise_std": options.noise_std}
        config = ZSSRConfig.preset(options.preset, seed=options.seed, device=options.device,
                                   **{key: value for key, value in overrides.items() if value is not None})
        if device_here:
            resolve_precision(config.precision, select_device(config.device))  # a usage error, not one per file
    except ValueError as error:
        raise UsageError(str(error)) from None
    if options.warm_start == "auto":
        options = replace(options, warm_start=config.warm_start_iterations())
    out = options.out.resolve()
    check_out(out)
    check_kernel_options(options)
    jobs = plan_jobs(collect_sources([str(item) for item in inputs], options.recursive, out))
    if not jobs:
        raise UsageError("no TIFF files found in the inputs")
    if options.dtype == "input":
        note_dtype_fallbacks(jobs)
    return PreparedBatch(options, config, tuple(jobs), settings_record(options, config))


def channel_axis_of(image: TiffImage) -> int:
    """Where the channel axis is in the outputs (after the leading axes when the input has none)."""
    return image.axes.index("C") if "C" in image.axes else image.data.ndim - 2


def channels_last(image: TiffImage) -> np.ndarray:
    """The image as (leading..., C, Y, X): a channel axis of length 1 where the input has none."""
    if "S" in image.axes:
        raise ValueError("RGB TIFFs are not supported: split the colour channels into a C axis first")
    if "C" not in image.axes:
        return image.data[..., None, :, :]
    return np.moveaxis(image.data, image.axes.index("C"), -3)


def plane_counts(path: Path) -> tuple[int, int]:
    """How many planes each channel of a TIFF has, and how many channels, from its header (no pixels read);
    (1, 1) when it cannot tell (the file then runs whole, and fails there with a message if it must)."""
    header = read_header(path)
    if header is None or "S" in header.axes or len(header.axes) != len(header.shape):
        return 1, 1
    sizes = dict(zip(header.axes, header.shape))
    leading = [size for size, axis in zip(header.shape, header.axes) if axis not in "CYX"]
    return int(np.prod(leading, dtype=np.int64)), sizes.get("C", 1)


def plane_ranges(planes: int, per_task: int) -> list[tuple[int, int]]:
    """``planes`` cut into ranges of about ``per_task`` (never one of a single plane: a constant single plane is
    an error for :func:`zssr_stack`, where in a stack it is passed through)."""
    count = max(1, planes // per_task)
    edges = np.linspace(0, planes, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


@dataclass
class PlanesRun:
    """The outputs of some planes of every channel, as (planes..., C, Y', X') per kind, and each channel's record."""

    outputs: dict[str, np.ndarray]
    records: list[dict]
    device: str


def super_resolve_planes(job: Job, prepared: PreparedBatch, image: TiffImage, planes: tuple[int, int] | None = None,
                         planes_bar: tqdm | None = None) -> PlanesRun:
    """Super-resolve every channel of the whole image (``planes`` None) or of leading planes ``start:stop`` (in C
    order); warm start, when asked, runs within those planes."""
    options = prepared.options
    data = channels_last(image)
    leading, channels = data.shape[:-3], data.shape[-3]
    if planes is not None:
        data = data.reshape(-1, *data.shape[-3:])[planes[0]:planes[1]]
    kernels = kernel_choices(options, job.source, channels)
    mean_pixel_size = options.pixel_size or (float(np.mean(image.pixel_size)) if image.pixel_size else None)
    per_channel_planes = int(np.prod(data.shape[:-3], dtype=np.int64))
    if planes_bar is not None:
        planes_bar.reset(total=per_channel_planes * channels)
        planes_bar.set_description(job.source.name)
    outputs: dict[str, list[np.ndarray]] = {kind: [] for kind in options.outputs}
    records: list[dict] = []
    for channel in range(channels):
        progress = None if planes_bar is None else BarProgress(planes_bar, per_plane=True,
                                                               planes_before=channel * per_channel_planes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlankPlaneWarning)  # reported with the file's name
            result = zssr_stack(data[..., channel, :, :], options.scale, kernels[channel], prepared.config,
                                device=options.device, progress=progress, warm_start_iterations=options.warm_start,
                                pixel_size=mean_pixel_size)
        record = channel_record(result)
        if planes is not None:  # indices within the range -> within the image
            record["blank_planes"] = [[int(i) for i in np.unravel_index(planes[0] + index[0], leading)]
                                      for index in result.blank_planes]
        records.append(record)
        for kind in options.outputs:
            outputs[kind].append(getattr(result, OUTPUTS[kind]))
    return PlanesRun({kind: np.stack(arrays, axis=-3) for kind, arrays in outputs.items()}, records, result.device)


def file_messages(job: Job, image: TiffImage, records: list[dict], quiet: bool) -> list[str]:
    """The lines a finished file prints: constant planes, and (unless quiet) each channel's kernel and resolution."""
    messages = []
    leading_axes = image.axes[:-2].replace("C", "")
    for channel, record in enumerate(records):
        for index in record["blank_planes"]:
            where = plane_label(leading_axes, tuple(index), channel if "C" in image.axes else None)
            messages.append(f"{job.source}: {where} is constant; passed through as its interpolation")
        if not quiet:
            where = f" channel {channel}" if "C" in image.axes else ""
            messages.append(f"{job.source}{where}: kernel {describe_kernel(record['kernel'])}; "
                            f"{describe_resolution(record['resolution'])}")
    return messages


def write_outputs(job: Job, prepared: PreparedBatch, image: TiffImage, run: PlanesRun, identity: dict) -> None:
    """Write each output kind as an ImageJ hyperstack with the input's geometry and the run's record (atomically)."""
    options = prepared.options
    sr_shape = run.outputs[options.outputs[0]].shape
    factors = effective_factors(image.data.shape, sr_shape)
    pixel_size = (options.pixel_size, options.pixel_size) if options.pixel_size else image.pixel_size
    new_pixel_size = None if pixel_size is None else (pixel_size[0] / factors[0], pixel_size[1] / factors[1])
    info = json.dumps({"napari_zssr_version": __version__, "settings": prepared.settings, "input": identity,
                       "channels": run.records})
    for kind in options.outputs:
        stacked = np.moveaxis(run.outputs[kind], -3, channel_axis_of(image))
        if "C" not in image.axes:
            stacked = stacked[..., 0, :, :]
        if kind in ("zssr", "ensemble_median") and options.dtype == "input":
            stacked = cast_output(stacked, output_dtype(image.data.dtype))
        write_imagej_tiff(output_path(options.out, job, kind), stacked, image.axes, new_pixel_size, image.z_spacing,
                          info, imagej_origin(image.origin, factors))


def process_file(job: Job, prepared: PreparedBatch, identity: dict, planes_bar: tqdm | None = None) -> TaskReport:
    """Super-resolve one input whole and write its outputs: the unit of work of a file that is not split."""
    start = time.perf_counter()
    image = read_tiff(job.source)
    run = super_resolve_planes(job, prepared, image, None, planes_bar)
    write_outputs(job, prepared, image, run, identity)
    planes = int(np.prod(run.outputs[prepared.options.outputs[0]].shape[:-2], dtype=np.int64))
    return TaskReport(planes, run.device, time.perf_counter() - start,
                      messages=file_messages(job, image, run.records, prepared.options.quiet))


def process_part(job: Job, prepared: PreparedBatch, planes: tuple[int, int], part: Path) -> TaskReport:
    """Super-resolve planes ``start:stop`` of one input into a private part file (written whole, then renamed)."""
    start = time.perf_counter()
    run = super_resolve_planes(job, prepared, read_tiff(job.source), planes)
    part.parent.mkdir(parents=True, exist_ok=True)
    temporary = part.with_name(f".{part.name}.{os.getpid()}.npz")
    np.savez(temporary, records=np.array(json.dumps(run.records)), **run.outputs)
    os.replace(temporary, part)
    count = int(np.prod(run.outputs[prepared.options.outputs[0]].shape[:-2], dtype=np.int64))
    return TaskReport(count, run.device, time.perf_counter() - start)


def assemble_parts(job: Job, prepared: PreparedBatch, identity: dict, parts: Sequence[Path]) -> TaskReport:
    """Join the part files of one input (in plane order) into its outputs, as if it had run whole.

    The resolution report is measured again on the whole stack, so that it equals an unsplit run's.
    """
    start = time.perf_counter()
    options = prepared.options
    image = read_tiff(job.source)
    data = channels_last(image)
    loaded = [np.load(part, allow_pickle=False) for part in parts]
    part_records = [json.loads(str(part["records"][()])) for part in loaded]
    outputs = {kind: np.concatenate([part[kind] for part in loaded]) for kind in options.outputs}
    outputs = {kind: array.reshape(data.shape[:-3] + array.shape[1:]) for kind, array in outputs.items()}
    records = []
    for channel, record in enumerate(part_records[0]):
        merged = dict(record)
        for key in ("iterations", "noise_stds", "blank_planes"):
            merged[key] = [value for records in part_records for value in records[channel][key]]
        sr = outputs["zssr"] if "zssr" in outputs else None
        if sr is not None:
            pixel_size = options.pixel_size or (float(np.mean(image.pixel_size)) if image.pixel_size else None)
            merged["resolution"] = resolution_report(data[..., channel, :, :], sr[..., channel, :, :],
                                                     tuple(record["scale"]), pixel_size)
        records.append(merged)
    write_outputs(job, prepared, image, PlanesRun(outputs, records, records[0]["device"]), identity)
    for part in parts:
        part.unlink(missing_ok=True)
    return TaskReport(0, records[0]["device"], time.perf_counter() - start,
                      messages=file_messages(job, image, records, options.quiet))


def triage(job: Job, prepared: PreparedBatch) -> tuple[str, dict]:
    """Whether an input is "skipped" (done before), a "conflict" (left alone) or "todo"; and its identity."""
    options = prepared.options
    identity = input_identity(job.source)
    paths = {kind: output_path(options.out, job, kind) for kind in options.outputs}
    state, decided_by = output_state(paths, prepared.settings, identity)
    if state == "same":
        return "skipped", identity
    conflict = None if decided_by is None else conflict_message(state, decided_by, options.overwrite)
    if conflict is not None:
        say(f"{job.source}: {conflict}")
        return "conflict", identity
    if state == "changed":
        say(f"{job.source}: changed since {decided_by} was made from it; redoing it")
    return "todo", identity


#: errors that fail one file (its data, its optics, a full disk...) and let the batch go on
FILE_ERRORS = (ValueError, TypeError, OSError, RuntimeError)


def add_report(summary: BatchSummary, report: TaskReport) -> None:
    """Count a finished task for its worker and print its messages."""
    entry = summary.workers.setdefault(report.worker, WorkerReport(report.host))
    entry.device = report.device or entry.device
    entry.seconds += report.seconds
    entry.tasks += 1
    entry.planes += report.planes
    for message in report.messages:
        say(message)


def run_in_process(prepared: PreparedBatch, summary: BatchSummary) -> None:
    """The batch in this process, one file after the other, each whole (warm start over its whole stack)."""
    quiet = prepared.options.quiet
    files_bar = None if quiet else tqdm(total=len(prepared.jobs), unit="file", desc="files", position=0)
    planes_bar = None if quiet else tqdm(unit="plane", position=1, leave=False)
    try:
        for job in prepared.jobs:
            try:
                outcome, identity = triage(job, prepared)
                if outcome == "todo":
                    add_report(summary, process_file(job, prepared, identity, planes_bar))
                    outcome = "done"
                record_outcome(summary, job, outcome)
            except FILE_ERRORS as error:
                record_failure(summary, job, error)
            if files_bar is not None:
                files_bar.update()
    finally:
        for bar in (planes_bar, files_bar):
            if bar is not None:
                bar.close()


def record_outcome(summary: BatchSummary, job: Job, outcome: str) -> None:
    {"done": summary.done, "skipped": summary.skipped, "conflict": summary.conflicts}[outcome].append(job.source)


def record_failure(summary: BatchSummary, job: Job, error: BaseException | str) -> None:
    say(f"{job.source}: failed: {error}")
    summary.failed.append((job.source, str(error)))


def clean_stale_parts(out: Path) -> None:
    """Remove what a killed run left under ``out``: part files of split stacks and half-written TIFFs.

    Only temporary names of this tool are touched (hidden, never an output's name). One batch per output folder at
    a time: a second batch writing to the same folder would lose its parts.
    """
    if not out.is_dir():
        return
    shutil.rmtree(out / PARTS_FOLDER, ignore_errors=True)
    for leftover in out.rglob(PARTIAL_TIFF_PATTERN):
        leftover.unlink(missing_ok=True)


def run_prepared(prepared: PreparedBatch, client: Any = None, threads: int | None = None) -> BatchSummary:
    """Run a planned batch in this process (``client`` None) or on a ``distributed.Client``; print the summary.

    ``threads``: torch threads per cluster task (None: each host's cores shared among the tasks it runs at once).
    """
    summary = BatchSummary()
    start = time.perf_counter()
    out = prepared.options.out
    clean_stale_parts(out)
    try:
        if client is None:
            run_in_process(prepared, summary)
        else:
            from .cluster import run_on_cluster

            run_on_cluster(prepared, client, summary, threads)
    finally:
        clean_stale_parts(out)
    summary.seconds = time.perf_counter() - start
    say(f"done {len(summary.done)}, skipped {len(summary.skipped)} (already done), "
        f"conflicts {len(summary.conflicts)}, failed {len(summary.failed)}, {summary.seconds:.1f} s")
    for worker, report in sorted(summary.workers.items()):
        say(f"  {worker} on {report.host} ({report.device}): {report.tasks} task(s), {report.planes} plane(s), "
            f"{report.seconds:.1f} s")
    return summary


def batch(inputs: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike, *, client: Any = None,
          threads: int | None = None, **settings: Any) -> BatchSummary:
    """Super-resolve TIFF files, folders or glob patterns into ``out``, as the ``napari-zssr`` command does.

    ``settings`` are :class:`BatchOptions` fields (the command line's options: ``scale``, ``preset``, ``psf``,
    ``outputs``...). ``client``: a ``distributed.Client`` to run on a Dask cluster (each file, or each range of
    ``planes_per_task`` planes of a bigger stack, is one task); None runs here. ``threads``: torch threads per
    cluster task (None: each host's cores shared among the tasks it runs at once). A rerun skips what is done. Raises
    :class:`UsageError` for bad settings or inputs before any work; a file that fails is reported in the summary.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]  # one file, folder or pattern
    prepared = prepare(inputs, make_options(out, settings), device_here=client is None)
    return run_prepared(prepared, client, threads)


def kernel_kind(options: BatchOptions) -> str:
    """The kernel source asked for: ``--kernel``, else what the other options imply."""
    if options.kernel is not None:
        return options.kernel
    if options.psf:
        return "psf"
    return "optics" if options.na is not None or options.psf_model is not None else "none"


def per_channel(values: list, channels: int, what: str) -> list:
    """One value for every channel from options given once, or once per channel."""
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} {what} given for {channels} channels; give one, or one per channel")
    return values * channels if len(values) == 1 else values


def kernel_choices(options: BatchOptions, source: Path, channels: int) -> list[KernelChoice]:
    """The kernel of each channel of one input; the optics fill in from its OME metadata where options are silent."""
    kind = kernel_kind(options)
    if kind == "psf":
        return [KernelChoice("psf", psf_path=path, psf_pixel_size=options.psf_pixel_size,
                             measured=measured_psf(options))
                for path in per_channel(options.psf, channels, "PSFs")]
    if kind != "optics":
        return [KernelChoice(kind)] * channels
    metadata = read_optics(source)
    na = options.na or (metadata and metadata.na)
    if not na:
        raise ValueError("a kernel from the optics needs the objective's NA: give --na (the file's metadata does "
                         "not say)")
    emission = options.wavelength or list(metadata.emission_wavelengths if metadata else ())
    if not emission or None in emission:
        raise ValueError("a kernel from the optics needs the emission wavelength: give --wavelength (the file's "
                         "metadata does not say)")
    confocal = options.psf_model == "confocal"
    excitation = options.excitation_wavelength or list(metadata.excitation_wavelengths if metadata else ())
    excitation = per_channel(excitation, channels, "excitation wavelengths") if excitation else [None] * channels
    refractive_index = options.refractive_index or (metadata and metadata.refractive_index) or IMMERSION_INDICES["oil"]
    return [KernelChoice("optics", optics=Optics(na, wavelength, refractive_index, options.psf_model or "widefield",
                                                 excitation_nm if confocal else None,
                                                 options.pinhole if confocal else None))
            for wavelength, excitation_nm in zip(per_channel(emission, channels, "wavelengths"), excitation)]


def measured_psf(options: BatchOptions) -> bool | None:
    return {"auto": None, "yes": True, "no": False}[options.measured_psf]


def check_kernel_options(options: BatchOptions) -> None:
    """Check the kernel options once, before the batch: a bad PSF file or bad optics are usage errors, not one
    failure per input. Each input's own pixel size (for the resampling) is only known when it is read; with
    ``--pixel-size`` the check already uses it.
    """
    kind = kernel_kind(options)
    if options.psf and kind != "psf":
        raise UsageError(f"--psf cannot be combined with --kernel {kind}")
    optics_options = [name for name in ("na", "psf_model", "refractive_index", "pinhole") if getattr(options, name)]
    optics_options += [name for name in ("wavelength", "excitation_wavelength") if getattr(options, name)]
    if optics_options and kind != "optics":
        raise UsageError(f"--{optics_options[0].replace('_', '-')} applies to a kernel from the optics, not to "
                         f"--kernel {kind}")
    if kind == "psf" and not options.psf:
        raise UsageError("--kernel psf needs --psf FILE")
    if kind == "optics":
        try:
            for wavelength in options.wavelength or [520.0]:
                Optics(options.na or 1.0, wavelength, options.refractive_index or IMMERSION_INDICES["oil"],
                       options.psf_model or "widefield", None, None)
        except ValueError as error:
            raise UsageError(str(error)) from None
    for path in options.psf:
        try:
            kernel_source(KernelChoice("psf", psf_path=path, psf_pixel_size=options.psf_pixel_size,
                                       measured=measured_psf(options)), options.pixel_size)
        except (ValueError, TypeError, OSError) as error:
            raise UsageError(f"--psf {path}: {error}") from None


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


def settings_record(options: BatchOptions, config: ZSSRConfig) -> dict:
    """What decides an output's content besides its input: equal records mean an output can be kept."""
    return json.loads(json.dumps({"scale": options.scale, "config": config.to_dict(),
            "psf": [str(Path(p).resolve()) for p in options.psf], "psf_pixel_size": options.psf_pixel_size,
            "pixel_size": options.pixel_size, "measured_psf": options.measured_psf, "warm_start": options.warm_start,
            "dtype": options.dtype, "kernel": options.kernel, "psf_model": options.psf_model, "na": options.na,
            "wavelength": options.wavelength, "refractive_index": options.refractive_index,
            "excitation_wavelength": options.excitation_wavelength, "pinhole": options.pinhole}))
