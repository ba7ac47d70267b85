"""One unit of a batch's work: a file super-resolved whole, a range of planes of a stack into a private part file,
or a stack's parts assembled. Each writes its outputs only by an atomic rename; the same functions run in-process
and on cluster workers.
"""

from __future__ import annotations

import functools
import json
import math
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from ._version import __version__
from .api import (
    WARNED_BLANKS,
    ZSSRResult,
    background_note,
    checked_outputs,
    checked_pixel_size,
    notes_only,
    plane_notes,
    zssr_stack,
)
from .axial import describe_axial_profile, zssr_axial
from .batch_axial import AxialPlan, axial_optics, axial_plan, check_trainable
from .batch_disk import check_free_space, check_writable, described_write_error, output_bytes
from .batch_jobs import Job, channel_planes, header_counts, output_path
from .batch_kernels import kernel_choices
from .batch_options import BatchOptions
from .batch_parts import NpyPlanes, PartsStack, is_whole_part, part_records, remove_parts, save_part
from .core.choices import INTENSITY_OUTPUTS, OUTPUTS
from .core.resize import PixelSize, pixel_pair, upscale_factors
from .input_values import check_plane_values, in_memory
from .io.imagej import (
    IMAGEJ_RANGE_KEYS,
    check_float32_range,
    commit_set,
    imagej_axes,
    imagej_dtype,
    stage_imagej_tiff,
)
from .io.names import series_name
from .io.planes import ChannelPlanes, PlaneSource, ReorderedPlanes
from .io.tiff import (
    TiffHeader,
    TiffImage,
    channels_last,
    image_axes,
    read_header,
    read_planes,
    read_tiff,
)
from .kernel_choice import KernelChoice, PreparedKernel, describe_kernel
from .overlay import effective_factors, imagej_origin
from .progress import BarProgress
from .resolution_report import describe_resolution, resolution_report

if TYPE_CHECKING:
    from .batching import PreparedBatch


class BatchStopped(RuntimeError):
    """The batch that submitted a cluster task ended (Ctrl-C) before the task could put its outputs in place."""


@dataclass
class TaskReport:
    """What a unit of work returns to whoever runs the batch: messages to print and where it ran."""

    planes: int
    device: str
    seconds: float
    host: str = field(default_factory=socket.gethostname)
    worker: str = "in-process"  # a Dask worker's address
    messages: list[str] = field(default_factory=list)


def read_input(job: Job, mapped: bool = False) -> TiffImage:
    """An input as the batch reads it: an RGB TIFF's colours (or planes tifffile tagged as colours) as channels, the
    job's image series of a file of several; ``mapped`` as :func:`read_tiff`.

    Raises a ValueError, before any training, for axes its ImageJ outputs cannot hold, or a dataset missing files."""
    image = read_tiff(job.source, samples_as_channels=True, mapped=mapped, series=job.series_index, whole_dataset=True)
    imagej_axes(image.axes)
    return image


def input_axis_order(image: TiffImage) -> list[int]:
    """The order that puts the channel axis of outputs laid out (leading..., C, Y, X) back where the input has it,
    or drops it where the input has none (:class:`ReorderedPlanes`)."""
    leading = len(image.axes) - 2 - ("C" in image.axes)
    order = list(range(leading))
    if "C" in image.axes:
        order.insert(image.axes.index("C"), leading)
    return order


def plane_counts(path: Path, series: int = 0) -> tuple[int, int]:
    """How many planes each channel of a TIFF (its image series ``series``) has, and how many channels, from its
    header (no pixels read, :func:`.batch_jobs.header_counts`); (1, 1) when it cannot tell (the file then runs whole,
    and fails there with a message if it must)."""
    return header_counts(path, series) or (1, 1)


def plane_ranges(planes: int, per_task: int) -> list[tuple[int, int]]:
    """``planes`` cut into as few even ranges as hold at most ``per_task`` planes each (17 planes at 16: two of 8 and
    9; the count was ``planes // per_task``, which left ranges of up to twice ``per_task``), but never one of a single
    plane: a constant single plane is an error for :func:`zssr_stack`, where in a stack it is passed through."""
    count = max(1, min(math.ceil(planes / per_task), planes // 2))
    edges = np.linspace(0, planes, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


@dataclass
class PlanesRun:
    """The outputs of some planes of every channel, as (planes..., C, Y', X') per kind (arrays, or the parts of a split
    stack read from disk), and each channel's record."""

    outputs: dict[str, PlaneSource]
    records: list[dict]
    device: str
    axial: AxialPlan | None = None


#: runs one channel of an image, (planes..., Y, X), with a progress callback (or None)
ChannelRun = Callable[[np.ndarray, int, BarProgress | None], ZSSRResult]


def run_pixel_size(options: BatchOptions, image: TiffImage | TiffHeader) -> PixelSize | None:
    """The pixel size a lateral run is given: ``--pixel-size``, else the file's, a (y, x) pair where they differ."""
    return options.pixel_size or checked_pixel_size(image.pixel_size)


def lateral_runner(job: Job, prepared: PreparedBatch, image: TiffImage | TiffHeader,
                   channels: int) -> ChannelRun:
    """Each channel's planes super-resolved by ``zssr_stack`` with the channel's kernel."""
    options = prepared.options
    pixel_size = run_pixel_size(options, image)
    kernels = channel_kernels(kernel_choices(options, job, channels), pixel_size, options.scale)

    def run(data: np.ndarray, channel: int, progress: BarProgress | None) -> ZSSRResult:
        return zssr_stack(data, options.scale, kernels[channel], prepared.config,
                          progress=progress, warm_start_iterations=options.warm_start, pixel_size=pixel_size,
                          outputs=options.outputs, one_of_channels=channels > 1)

    return run


def channel_kernels(kernels: Sequence[KernelChoice], pixel_size: PixelSize | None,
                    scale: float) -> list[KernelChoice | PreparedKernel]:
    """Every channel's kernel (a PSF file or the optics) made at the run's scale before any channel trains, so that a
    later channel's bad PSF or optics fails the file at once, naming the channel and the PSF file; made, it is what
    the channel's run takes (:class:`PreparedKernel`: the run makes it no second time). Other choices as they are."""
    factors = upscale_factors(scale)
    made: list[KernelChoice | PreparedKernel] = []
    for channel, choice in enumerate(kernels):
        if choice.kind not in ("psf", "optics"):
            made.append(choice)
            continue
        try:
            prepared = PreparedKernel.of(choice, pixel_size, factors)
        except (ValueError, OSError) as error:
            named = ([f"channel {channel}"] if len(kernels) > 1 else []) + \
                ([f"--psf {choice.psf_path}"] if choice.kind == "psf" else [])
            raise ValueError(f"{', '.join(named)}: {error}" if named else str(error)) from None
        made.append(prepared)
    return made


def check_finite(data: np.ndarray, axes: str,
                 in_image: Callable[[tuple[int, ...]], tuple[int, ...]] | None = None) -> None:
    """The library's refusal of NaN or infinity (:func:`.input_values.check_plane_values`) for the first such
    plane of ``data`` (leading..., C, Y, X; ``axes``: the image's), named by its axes (e.g. "plane Z=2, channel 1"),
    before any channel trains: the library checks each channel's stack when that channel's turn comes.
    ``in_image``: a plane's leading index in ``data`` as the whole image numbers it (a split stack's part holds
    planes ``start:stop`` of it, so that a part names a plane as the whole file's run does)."""
    if not (in_memory(data) and np.issubdtype(data.dtype, np.floating)):
        return
    bad = ~np.isfinite(data).all(axis=(-2, -1))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        leading = "".join(axis for axis in axes[:-2] if axis != "C")
        where = index[:-1] if in_image is None else in_image(index[:-1])
        check_plane_values(data[index], plane_label(leading, where, index[-1] if "C" in axes else None))


def axial_runner(job: Job, prepared: PreparedBatch, image: TiffImage, plan: AxialPlan, channels: int) -> ChannelRun:
    """Each channel's volumes restored along z by ``zssr_axial``, its outputs in the file's axis order.

    A channel's data has the file's axes but C; its Z axis goes last but Y and X for ``zssr_axial`` (leading T...
    run volume by volume) and back afterwards.
    """
    options = prepared.options
    choices = axial_optics(options, job, channels)
    z_axis = image.axes.replace("C", "").index("Z")

    def run(data: np.ndarray, channel: int, progress: BarProgress | None) -> ZSSRResult:
        choice = choices[channel]
        result = zssr_axial(np.moveaxis(data, z_axis, -3), plan.factor, config=prepared.config,
                            progress=progress, optics=None if choice is None else choice.optics,
                            pixel_size=plan.pixel_size, outputs=options.outputs, one_of_channels=channels > 1)
        if choice is not None and choice.note:  # what of the optics came from the file, as a lateral run says it
            result.notes.insert(0, choice.note)
        for kind in options.outputs:
            setattr(result, OUTPUTS[kind], np.moveaxis(getattr(result, OUTPUTS[kind]), -3, z_axis))
        return result

    return run


def super_resolve_image(job: Job, prepared: PreparedBatch, image: TiffImage,
                        planes_bar: tqdm | None = None) -> PlanesRun:
    """Super-resolve every channel of a whole image (laterally, or along z in axial mode)."""
    options = prepared.options
    check_float32_range(image.data, "the float32 TIFFs of its outputs")  # before training, not after
    data = channels_last(image.data, image.axes)
    check_finite(data, image.axes)
    if not options.axial:
        return run_channels(job, options, data, lateral_runner(job, prepared, image, data.shape[-3]), planes_bar)
    plan = axial_plan(image.axes, image.data.shape, image.pixel_size, image.z_spacing, options,
                      image.z_step_pixels)
    # said before the batch for a file, but here for an image series of a file of several (it fails alone)
    check_trainable(plan, image.data.shape[-2:], prepared.config)
    volumes = int(np.prod(data.shape[:-3], dtype=np.int64)) // image.data.shape[image.axes.index("Z")]
    run = run_channels(job, options, data, axial_runner(job, prepared, image, plan, data.shape[-3]), planes_bar,
                       volumes)  # the bar counts volumes, as zssr_axial reports them
    run.axial = plan
    return run


def super_resolve_part(job: Job, prepared: PreparedBatch, planes: tuple[int, int]) -> PlanesRun:
    """Super-resolve leading planes ``start:stop`` (in C order) of every channel of an input, reading only those
    planes where the file allows (:func:`read_planes`); warm start, when asked, runs within them."""
    data, leading = read_planes(job.source, *planes, job.series_index, whole_dataset=True)  # as read_input reads
    header = read_header(job.source, samples_as_channels=True, series=job.series_index)
    if header is None:  # read a moment ago: changed or removed since
        raise ValueError(f"could not read {job.name}'s header")
    axes = image_axes(header.axes, len(header.shape))
    imagej_axes(axes)  # what read_input refuses, refused before training
    check_float32_range(data, "the float32 TIFFs of its outputs", whole=False)

    def in_image(number: int) -> tuple[int, ...]:  # the part's plane ``number`` as the whole image numbers it
        return tuple(int(i) for i in np.unravel_index(planes[0] + number, leading))

    check_finite(data, axes, lambda index: in_image(index[0]))  # bad values named as a whole file's run names them
    kinds = checked_outputs(prepared.options.outputs)  # with zssr: the assembly measures the stack's resolution on it
    factors = upscale_factors(prepared.options.scale)
    check_room_for_outputs(job, prepared, header, output_bytes(data.size, factors, dict.fromkeys(kinds, np.float32)))
    run = run_channels(job, prepared.options, data, lateral_runner(job, prepared, header, data.shape[-3]),
                       kinds=list(kinds))
    for record in run.records:
        record["blank_planes"] = [list(in_image(index[0])) for index in record["blank_planes"]]
    return run


def run_channels(job: Job, options: BatchOptions, data: np.ndarray, run: ChannelRun, planes_bar: tqdm | None = None,
                 per_channel: int | None = None, kinds: Sequence[str] | None = None) -> PlanesRun:
    """Run each channel of ``data`` (planes..., C, Y, X) and stack the outputs (``kinds``, the batch's outputs
    unless given); ``per_channel``: what the bar counts for a channel (its planes unless given)."""
    channels = data.shape[-3]
    if per_channel is None:
        per_channel = int(np.prod(data.shape[:-3], dtype=np.int64))
    if planes_bar is not None:
        planes_bar.reset(total=per_channel * channels)
        planes_bar.set_description(series_name(job.source.name, job.series))
    outputs: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds or options.outputs}
    records: list[dict] = []
    for channel in range(channels):
        progress = None if planes_bar is None else BarProgress(planes_bar, per_plane=True,
                                                               planes_before=channel * per_channel)
        with notes_only():  # blank planes, constant planes and kernel notes: reported with the file's name
            result = run(data[..., channel, :, :], channel, progress)
        records.append(channel_record(result))
        for kind in outputs:
            outputs[kind].append(getattr(result, OUTPUTS[kind]))
    # one channel: a view, not a copy (the result's other outputs are already dropped: a stack's peak memory)
    stacked = {kind: arrays[0][..., None, :, :] if len(arrays) == 1 else np.stack(arrays, axis=-3)
               for kind, arrays in outputs.items()}
    return PlanesRun(stacked, records, result.device)


def file_messages(job: Job, image: TiffImage, records: list[dict], quiet: bool,
                  axial: AxialPlan | None = None) -> list[str]:
    """The lines a finished file prints: constant planes (volumes in axial mode), and (unless quiet) each channel's
    kernel and resolution, or its axial factor and profile."""
    messages = []
    if image.value_calibration:
        messages.append(f"{job.name}: {calibration_note(image.value_calibration)}")
    counted = "CZ" if axial else "C"  # a blank is a plane of a channel, or a whole volume
    leading_axes = "".join(axis for axis in image.axes[:-2] if axis not in counted)
    count = channel_planes(image.axes, image.data.shape, counted)
    for channel, record in enumerate(records):
        where = f" channel {channel}" if "C" in image.axes else ""
        summed_up = not quiet and not axial  # the kernel line below says why an estimate gave no kernel
        said_below = record["kernel"].get("note") if summed_up and record["kernel"].get("fallback") else None
        messages.extend(f"{job.name}{where}: {note}" for note in record.get("notes", ()) if note != said_below)
        messages.extend(f"{job.name}{where}: {note}" for note in plane_notes(
            record.get("isolated_pixels", []), record.get("ringing", []), "volume" if axial else "plane"))
        blanks = [tuple(index) for index in record["blank_planes"]]
        messages.extend(f"{job.name}: {line}" for line in blank_notes(
            leading_axes, blanks, count, channel if "C" in image.axes else None, "volume" if axial else "plane"))
        if quiet:
            continue
        if axial:
            unit = axial.unit.replace("um", "µm")  # an uncalibrated stack: lateral pixels
            messages.append(f"{job.name}{where}: axial x{axial.factor} (z-step {axial.z_step:g} {unit} -> "
                            f"{axial.z_geometry(0.0)[0]:g} {unit}); {describe_axial_profile(record['kernel'])}")
        else:
            background = background_note(record.get("background_taken_off", []))
            messages.append(f"{job.name}{where}: kernel {describe_kernel(record['kernel'])}; "
                            f"{describe_resolution(record['resolution'])}" + (f"; {background}" if background else ""))
    return messages


def stored_dtype(kind: str, dtype_option: str, input_dtype: np.dtype) -> np.dtype:
    """The type an output kind is written in: float32, or with ``--dtype input`` the outputs in the input's
    intensities in the input's type where an ImageJ TIFF holds it (:func:`~.io.imagej.imagej_dtype`)."""
    if kind in INTENSITY_OUTPUTS and dtype_option == "input":
        return imagej_dtype(input_dtype)
    return np.dtype(np.float32)


def write_outputs(job: Job, prepared: PreparedBatch, image: TiffImage, run: PlanesRun, identity: dict) -> None:
    """Write each output kind as an ImageJ hyperstack with the input's geometry and the run's record (atomically).

    Lateral runs scale the pixel size and (y, x) origin; axial runs the z spacing and z origin (also recorded in the
    Info's ``axial`` entry).
    """
    options = prepared.options
    sr_shape = run.outputs[options.outputs[0]].shape
    factors = effective_factors(image.data.shape, sr_shape)
    pixel_size = pixel_pair(run_pixel_size(options, image))
    new_pixel_size = None if pixel_size is None else (pixel_size[0] / factors[0], pixel_size[1] / factors[1])
    z_spacing, z_origin = image.z_spacing, image.z_origin or None
    if z_spacing is None and (image.z_step_pixels is not None or (pixel_size is None and "Z" in image.axes)):
        # counted in lateral pixels (an uncalibrated stack without one: 1, as Fiji takes it): in um, or in the new
        # ones (written as none, Fiji took 1 of the new pixels, half the input's step at x2)
        z_spacing = (image.z_step_pixels or 1.0) * (pixel_size[1] if pixel_size is not None else factors[1])
    elif pixel_size is None:  # an OME z step in um beside pixels of unknown size: ImageJ would count it in pixels
        z_spacing = None
    record = {"napari_zssr_version": __version__, "settings": prepared.settings, "input": identity,
              "settings_files": prepared.files,
              "input_axes": image.axes, "channels": run.records,  # blank_planes count in the input's axis order
              "pixels_per_input_pixel": list(factors)}  # (y, x): how an uncalibrated output overlays its input
    if image.value_calibration:  # not carried over: the outputs are in the stored values
        record["input_value_calibration"] = image.value_calibration
    if image.description:  # the input's own ImageJ Info (the microscope's settings): the record takes its place
        record["input_info"] = image.description
    if run.axial is not None:
        z_spacing, z_origin = run.axial.z_geometry(image.z_origin)
        record["axial"] = run.axial.record(image.z_origin)
    info = json.dumps(record)
    staged: list[tuple[Path, Path]] = []  # (temporary, its place): all put in place once all are written
    for kind in options.outputs:
        dtype = stored_dtype(kind, options.dtype, image.data.dtype)
        stacked = ReorderedPlanes(run.outputs[kind], input_axis_order(image), dtype,
                                  functools.partial(cast_output, dtype=dtype))
        # display ranges in the input's intensities fit the outputs in them, not the residual or the spread
        display = {key: value for key, value in image.display.items()
                   if key not in IMAGEJ_RANGE_KEYS or kind in INTENSITY_OUTPUTS}
        path = output_path(options.out, job, kind)
        try:
            staged.append((stage_imagej_tiff(path, stacked, image.axes, new_pixel_size, z_spacing, info,
                                             imagej_origin(image.origin, factors), z_origin, image.frame_interval,
                                             display, image.channel_names,
                                             z_unknown=z_spacing is None and new_pixel_size is not None), path))
        except BaseException as error:  # the outputs come as a set: an earlier run's stay as they were, whole
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            if isinstance(error, OSError):  # a part that could not be read is a PlaneReadError, not this
                raise described_write_error(error, path) from error
            raise
    if prepared.live_folder is not None and not prepared.live_folder.is_dir():
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise BatchStopped(f"{job.name}: its batch was stopped while it ran; nothing was put in place")
    commit_set(staged)


def check_room_for_outputs(job: Job, prepared: PreparedBatch, image: TiffImage | TiffHeader,
                           besides: int = 0) -> None:
    """Refuse a file whose outputs (and ``besides`` bytes more: a split stack's part) could not be written into their
    folder, or would not fit on its disk, before it trains."""
    options = prepared.options
    shape, dtype = (image.data.shape, image.data.dtype) if isinstance(image, TiffImage) else (image.shape, image.dtype)
    if options.axial:
        factors = (float(axial_plan(image.axes, shape, image.pixel_size, image.z_spacing, options,
                                    image.z_step_pixels).factor), 1.0)
    else:
        factors = upscale_factors(options.scale)
    types = {kind: stored_dtype(kind, options.dtype, dtype) for kind in options.outputs}
    # all of them: they are staged whole before any takes its place, so outputs they replace free nothing till then
    needed = output_bytes(int(np.prod(shape, dtype=np.int64)), factors, types)
    paths = [output_path(options.out, job, kind) for kind in options.outputs]
    check_free_space(paths[0].parent, needed + besides)  # first: on a full disk, how much is missing
    check_writable(paths[0].parent)


def process_file(job: Job, prepared: PreparedBatch, identity: dict, planes_bar: tqdm | None = None) -> TaskReport:
    """Super-resolve one input whole and write its outputs: the unit of work of a file that is not split."""
    start = time.perf_counter()
    image = read_input(job)
    check_room_for_outputs(job, prepared, image)
    run = super_resolve_image(job, prepared, image, planes_bar)
    write_outputs(job, prepared, image, run, identity)
    planes = int(np.prod(image.data.shape[:-2], dtype=np.int64))
    return TaskReport(planes, run.device, time.perf_counter() - start,
                      messages=file_messages(job, image, run.records, prepared.options.quiet, run.axial))


def process_part(job: Job, prepared: PreparedBatch, planes: tuple[int, int], part: Path) -> TaskReport:
    """Super-resolve planes ``start:stop`` of one input into a private part (written whole, then renamed); a part
    already whole is kept as it is (Dask runs a finished task again when the worker holding its report is lost)."""
    start = time.perf_counter()
    if is_whole_part(part, checked_outputs(prepared.options.outputs)):
        count = int(np.prod(NpyPlanes(part / "zssr.npy").shape[:-2], dtype=np.int64))  # planes x channels
        return TaskReport(count, part_records(part)[0]["device"], time.perf_counter() - start)
    run = super_resolve_part(job, prepared, planes)
    try:
        save_part(part, run.outputs, run.records)
    except OSError as error:
        raise described_write_error(error, part) from error
    count = int(np.prod(run.outputs[prepared.options.outputs[0]].shape[:-2], dtype=np.int64))  # planes x channels
    return TaskReport(count, run.device, time.perf_counter() - start)


def assemble_parts(job: Job, prepared: PreparedBatch, identity: dict, parts: Sequence[Path]) -> TaskReport:
    """Join the parts of one input (in plane order) into its outputs, as if it had run whole.

    The outputs are read from the parts a plane at a time as they are written (:class:`PartsStack`), never held
    whole. The resolution report is measured again on the whole stack, so that it equals an unsplit run's.
    """
    start = time.perf_counter()
    options = prepared.options
    image = read_input(job, mapped=True)  # the report reads a few of its planes
    check_room_for_outputs(job, prepared, image)  # beside the parts, which go once the outputs are written
    data = channels_last(image.data, image.axes)
    outputs = {kind: PartsStack(parts, kind, data.shape[:-3]) for kind in options.outputs}
    sr = outputs["zssr"] if "zssr" in outputs else PartsStack(parts, "zssr", data.shape[:-3])  # in every part
    records_of_parts = [part_records(part) for part in parts]
    records = []
    for channel in range(len(records_of_parts[0])):
        # the settings of the run (transforms, device, precision) from a part that trained: a part of blank planes
        # records none
        record = next((part[channel] for part in records_of_parts if any(part[channel]["iterations"])),
                      records_of_parts[0][channel])
        merged = dict(record)
        for key in ("iterations", "noise_stds", "isolated_pixels", "ringing", "blank_planes"):
            # .get: a part left by a version before isolated pixels and ringing were recorded has none of them
            merged[key] = [value for part in records_of_parts for value in part[channel].get(key, [])]
        # a part left by a version before backgrounds were taken off took none off its planes
        merged["background_taken_off"] = [value for part in records_of_parts for value in part[channel].get(
            "background_taken_off", [False] * len(part[channel]["iterations"]))]
        merged["resolution"] = resolution_report(ChannelPlanes(data, channel), ChannelPlanes(sr, channel),
                                                 tuple(record["scale"]), run_pixel_size(options, image))
        records.append(merged)
    write_outputs(job, prepared, image, PlanesRun(outputs, records, records[0]["device"]), identity)
    remove_parts(parts)
    return TaskReport(0, records[0]["device"], time.perf_counter() - start,
                      messages=file_messages(job, image, records, options.quiet))


def calibration_note(calibration: str) -> str:
    """What a file whose values Fiji shows through a calibration is told: its outputs are not in those values."""
    return (f"Fiji shows its values through a calibration, {calibration}, which the outputs do not carry: they are in "
            "the stored values (apply the calibration to them, e.g. Analyze > Calibrate in Fiji)")


def cast_output(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip to an integer type's range (floats become float32, held to its finite range as the library's
    float32 outputs are: a float64 output that overshoots 3.4e38 stays finite; already float32, the data itself)."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(data), info.min, info.max).astype(dtype)
    if data.dtype.itemsize > np.dtype(np.float32).itemsize:
        limit = np.finfo(np.float32).max
        return np.clip(data, -limit, limit).astype(np.float32)
    return data.astype(np.float32, copy=False)


def blank_notes(axes: str, blanks: Sequence[tuple[int, ...]], count: int, channel: int | None,
                element: str = "plane") -> list[str]:
    """The notes on a channel's constant planes (``blanks``, of its ``count``; volumes in axial runs), which pass
    through as their interpolation: one a plane for a few; one for many, or for all, so that a stack of 60 empty
    planes is not 60 lines (the first :data:`~.api.WARNED_BLANKS` named, as a run warns them)."""
    passed = "passed through as their interpolation"
    whose = f"channel {channel}" if channel is not None else "the image"
    if count > 1 and len(blanks) == count:
        return [f"all {count} {element}s of {whose} are constant; {passed}"]
    if len(blanks) > WARNED_BLANKS:
        named = "; ".join(plane_label(axes, index, None).removeprefix("plane ") for index in blanks[:WARNED_BLANKS])
        return [f"{len(blanks)} {element}s of {whose} are constant ({named}; ...); {passed}"]
    return [f"{plane_label(axes, index, channel).replace('plane', element, 1)} is constant; passed through as its "
            "interpolation" for index in blanks]


def plane_label(axes: str, index: tuple[int, ...], channel: int | None) -> str:
    """A plane's position for messages, e.g. "plane Z=3, channel 1"; "channel 1" of an image of one plane."""
    where = [f"{axis}={i}" for axis, i in zip(axes, index)] if "Q" not in axes else [str(index)]
    if not where:
        return "the image" if channel is None else f"channel {channel}"
    if channel is not None:
        where.append(f"channel {channel}")
    return f"plane {', '.join(where)}"


def channel_record(result: ZSSRResult) -> dict:
    """One channel's run (iterations, noise levels, device, precision...) for the TIFF Info."""
    return {key: value for key, value in result.metadata().items() if key not in ("config", "napari_zssr_version")}


