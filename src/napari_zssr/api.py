"""The library call behind every front's lateral runs (widget, ``run()``, and the command line through its batch):
``zssr`` and ``zssr_stack``; axial runs have theirs in :mod:`napari_zssr.axial`."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from ._version import __version__
from .core.choices import OUTPUTS
from .core.config import DEFAULT_SCALE, INITS, ZSSRConfig, check_seed, is_switch
from .core.device import release_device_memory, select_device
from .core.engine import check_crop_sizes, run_plane, scale_steps
from .core.init_weights import file_sha256
from .core.network import ZSSRNet, check_start
from .core.precision import emulated_precision_note, resolve_precision
from .core.progress import ProgressCallback, RunProgress
from .core.resize import PixelSize, Scale, pixel_pair, resize, scaled_shape, upscale_factors
from .core.torch_modes import in_own_torch_modes
from .core.trainer import Cancelled, StopHook, check_hooks
from .core.units import compact_pixel_size, shown_bytes
from .core.values import from_torch
from .input_values import (
    constant_input,
    intensity_ranges,
    normalised_tensor,
    output_dtype,
    plane_intensity_range,
    plane_name,
    read_checked,
    restored,
    validate_image,
)
from .kernel_choice import PSF_FILE_NOTE, KernelArgument, KernelChoice, kernel_source, run_kernels
from .resolution_report import resolution_report


class KernelNoteWarning(UserWarning):
    """What a run assumed about its kernel that the user may not expect (also in the result's notes)."""


class BlankPlaneWarning(UserWarning):
    """A constant plane in a stack was passed through as its interpolation instead of being trained on."""


_this_thread = threading.local()


@contextmanager
def notes_only() -> Iterator[None]:
    """Runs of this thread keep their notes (``ZSSRResult.notes``, ``blank_planes``) without warning them: for a
    caller that reports them itself (the batch, by file name). Unlike ``warnings.catch_warnings``, which swaps the
    process's filters, it leaves the runs of other threads (another batch, napari's console) warning as before."""
    before = getattr(_this_thread, "notes_only", False)
    _this_thread.notes_only = True
    try:
        yield
    finally:
        _this_thread.notes_only = before


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn``, shown at the first line outside this package (the user's call, however deep in the
    package it was raised), unless this thread's runs keep notes only."""
    if getattr(_this_thread, "notes_only", False):
        return
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == __package__.split(".")[0]:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


@dataclass
class ZSSRResult:
    """Outputs in the input's intensity units, the settings used and what the run cost.

    ``sr`` (the super-resolved image), ``ensemble_median``, ``residual`` and ``ensemble_spread`` have the input's
    leading axes and planes of round(H * scale_y) x round(W * scale_x) pixels. They are float32, or float64 for
    inputs whose values float32 cannot hold exactly (float64, int32, int64, uint32, uint64): ``np.promote_types(input
    dtype, float32)``. An output a run was not asked for (``outputs=``) is None: it is not kept (each is as large as
    the whole output).

    ``timings``: ``training_s``, ``inference_s`` and ``total_s`` (seconds). ``kernel``: ``source`` ("none
    (bicubic)", "array", "function", "psf", "optics" or "estimate") and what the kernel was made from.
    ``resolution``: the resolution report, input -> output (``input_px``, ``output_px``, ``interpolation_px`` for
    bicubic interpolation alone, the same in um as ``*_um`` where the pixel size is known, ``method``), or ``note``
    where it was not measured (e.g. planes under 96 x 96 pixels). :meth:`metadata` gives all of it as plain values.
    """

    sr: np.ndarray
    ensemble_median: np.ndarray | None
    residual: np.ndarray | None  # sr minus the bicubic interpolation of the input: the detail the net added
    ensemble_spread: np.ndarray | None  # std across ensemble members: where the net is unsure
    scale: Scale
    config: ZSSRConfig
    seed: int
    device: str
    precision: str = "float32"  # what the convolutions ran in (config.precision resolved for the device)
    # per plane, lined up with each other: a blank plane has 0 iterations and 0.0 noise
    iterations: list[int] = field(default_factory=list)  # summed over gradual steps
    noise_stds: list[float] = field(default_factory=list)  # noise added to the sons (range fraction)
    # hot or dead camera pixels and cosmic rays interpolated, not learned from (core.spikes)
    isolated_pixels: list[int] = field(default_factory=list)
    # how far the output reached beyond the input's range on both sides, in input ranges (core.engine.ringing; of the
    # structures' range where a dominant background was taken off, core.background)
    ringing: list[float] = field(default_factory=list)
    # whether a dominant smooth background was taken off before training and put back (core.background)
    background_taken_off: list[bool] = field(default_factory=list)
    transforms: list[int] = field(default_factory=list)  # the ensemble's dihedral transforms (the last plane's)
    timings: dict[str, float] = field(default_factory=dict)
    blank_planes: list[tuple[int, ...]] = field(default_factory=list)
    kernel: dict[str, Any] = field(default_factory=dict)  # where the kernel came from, with its parameters
    resolution: dict[str, Any] = field(default_factory=dict)  # input -> output, by decorrelation analysis
    notes: list[str] = field(default_factory=list)  # what the user should know of the input (also warned)
    # planes trained at most this long: each after the first from the one before's weights (a random start), or
    # every one from the config's start again (None: each plane trained fully): the config alone would not rerun
    # the run
    warm_start_iterations: int | None = None
    # the SHA-256 of the weights file a run started from (config.init a path: a file changed in place starts
    # another run); None for the shipped start or none
    init_sha256: str | None = None
    version: str = __version__

    def metadata(self) -> dict[str, Any]:
        """The settings behind this result, as plain values (layer metadata, TIFF descriptions)."""
        record = {"napari_zssr_version": self.version, "scale": list(self.scale), "seed": self.seed,
                  "device": self.device, "precision": self.precision, "iterations": self.iterations,
                  "noise_stds": [round(n, 5) for n in self.noise_stds], "isolated_pixels": self.isolated_pixels,
                  "ringing": [round(r, 3) for r in self.ringing],
                  "background_taken_off": self.background_taken_off, "ensemble_transforms": self.transforms,
                  "blank_planes": [list(p) for p in self.blank_planes], "kernel": self.kernel,
                  "resolution": self.resolution, "warm_start_iterations": self.warm_start_iterations,
                  "init_sha256": self.init_sha256, "config": self.config.to_dict()}
        if self.notes:
            record["notes"] = self.notes
        return record


def requested_outputs(outputs: str | Collection[str]) -> tuple[str, ...]:
    """The output kinds (:data:`OUTPUTS`) ``outputs`` names: a list of them or one string with commas
    (``"zssr,residual"``), each once and in :data:`OUTPUTS` order; a ValueError for none or an unknown one, before
    any work. Every front (library, ``run()``, widget, batch) reads its outputs through it."""
    if isinstance(outputs, str):
        outputs = outputs.split(",")
    if isinstance(outputs, Collection) and all(isinstance(kind, str) for kind in outputs):
        named = [kind.strip() for kind in outputs if kind.strip()]
    else:
        raise TypeError(f"outputs must be output kinds (a list of names, or one string of them with commas), got "
                        f"{outputs!r}")
    unknown = [kind for kind in named if kind not in OUTPUTS]
    if unknown or not named:
        raise ValueError(f"unknown output(s) {unknown}; choose from {', '.join(OUTPUTS)}" if unknown else
                         f"outputs names no output kind; choose from {', '.join(OUTPUTS)}")
    return tuple(kind for kind in OUTPUTS if kind in named)


def checked_outputs(outputs: str | Collection[str] | None) -> tuple[str, ...]:
    """The output kinds a run keeps: every one for None, else those named (:func:`requested_outputs`) and always
    ``"zssr"`` (the others and the resolution report are read from it)."""
    if outputs is None:
        return tuple(OUTPUTS)
    named = requested_outputs(outputs)
    return tuple(kind for kind in OUTPUTS if kind == "zssr" or kind in named)


def allocate_outputs(shape: tuple[int, ...], dtype: np.dtype, kinds: tuple[str, ...],
                     working_bytes: int = 0) -> list[np.ndarray | None]:
    """Empty arrays for the outputs in :data:`OUTPUTS` order (sr, median, residual, spread), None for those not in
    ``kinds``: each is as large as the whole output, so a big stack holds only the ones asked for.

    Outputs larger than all the memory this process can have, with the ``working_bytes`` the run holds beside them
    (an axial run's sums of a volume's slices), are a ValueError that says so, before any training: numpy would
    refuse only the first that cannot be had, or grant them all and leave the run to be killed once they fill."""
    needed = math.prod(map(int, shape)) * np.dtype(dtype).itemsize * len(kinds)  # exact, not int64's wrap
    memory = memory_limit_bytes()
    if memory is not None and needed + working_bytes > memory:
        beside = f" and the run {shown_bytes(working_bytes)} more beside them" if working_bytes else ""
        raise ValueError(f"the {len(kinds)} output(s) of shape {shape} ({', '.join(kinds)}) need {shown_bytes(needed)}"
                         f"{beside}, more than the {shown_bytes(memory)} of memory this process can have: ask "
                         "for fewer outputs, less of the data (fewer planes, or a crop of each), or a smaller scale")
    return [np.empty(shape, dtype) if kind in kinds else None for kind in OUTPUTS]


def checked_warm_start(iterations: Any, config: ZSSRConfig) -> int | None:
    """A warm-started plane's iterations as an int (None: no warm start), or a ValueError naming a bad value: a whole
    number from 1 to ``config.max_iterations`` (a warm plane trains less than a plane trained fully, never more)."""
    if iterations is None:
        return None
    if is_switch(iterations) or not isinstance(iterations, Integral) or iterations < 1:
        raise ValueError(f"warm_start_iterations must be None or a whole number >= 1, got {iterations!r}")
    if iterations > config.max_iterations:
        raise ValueError(f"warm_start_iterations {iterations} is more than max_iterations {config.max_iterations}: "
                         "a warm-started plane trains at most as long as a plane trained fully; give fewer, or "
                         "more max_iterations")
    return int(iterations)


def new_result(out_shape: tuple[int, ...], input_dtype: np.dtype, kinds: tuple[str, ...], scale: Scale,
               config: ZSSRConfig, seed: int | None, device: str | torch.device | None,
               kernel_record: dict[str, Any], working_bytes: int = 0) -> tuple[ZSSRResult, torch.device]:
    """A run's result with its outputs allocated (:func:`allocate_outputs`, in :func:`output_dtype`, beside the
    run's ``working_bytes``), and the device it runs on: ``seed``/``device`` None take the config's; a bad seed or a
    missing device fails here."""
    seed = config.seed if seed is None else check_seed(seed, "seed")
    torch_device = select_device(config.device if device is None else device)
    precision = str(resolve_precision(config.precision, torch_device)).removeprefix("torch.")
    slow = emulated_precision_note(config.precision, torch_device)
    if slow:
        warn_user(slow, UserWarning)
    arrays = allocate_outputs(out_shape, output_dtype(input_dtype), kinds, working_bytes)
    config = replace(config, seed=seed)  # the config recorded reruns the run: the seed given in its place too
    return ZSSRResult(*arrays, scale, config, seed, str(torch_device), precision, kernel=kernel_record), torch_device


def store_outputs(result: ZSSRResult, index: tuple[int, ...], output: Any, low: float, high: float,
                  interpolated: Callable[[], torch.Tensor]) -> None:
    """One plane's (or volume's) normalised ``output`` (an inference's ``sr``, ``ensemble_median`` and
    ``ensemble_spread``; leading axes of length 1 are dropped) at ``index`` of ``result``'s arrays, in the input's
    range, each the run keeps; ``interpolated`` computes the interpolated input only for the residual (the output
    minus it), when that is kept."""
    dtype = result.sr.dtype
    result.sr[index] = restored(output.sr, low, high, dtype)
    if result.ensemble_median is not None:
        result.ensemble_median[index] = restored(output.ensemble_median, low, high, dtype)
    if result.ensemble_spread is not None:
        result.ensemble_spread[index] = restored(output.ensemble_spread, low, high, dtype, offset=False)
    if result.residual is not None:
        result.residual[index] = restored(output.sr - interpolated(), low, high, dtype, offset=False)


def memory_limit_bytes() -> int | None:
    """The most memory this process can have on Linux: the machine's memory and swap, or its container's limit
    (cgroup v2 ``memory.max``, e.g. a batch job's or a Dask worker's container) where lower; None elsewhere (the
    check is then not made: no refusal of what the system might grant)."""
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        limit = sum(int(meminfo[key].split()[0]) * 1024 for key in ("MemTotal", "SwapTotal"))
    except (OSError, KeyError, ValueError):
        return None
    try:
        container = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return limit
    return min(limit, int(container)) if container.isdigit() else limit


def kernel_from_file(path: str | os.PathLike, *, psf_pixel_size: PixelSize | None = None,
                     pixel_size: PixelSize | None = None, scale: float | Sequence[float] = DEFAULT_SCALE,
                     measured: bool | None = None, psf_channel: int | None = None) -> np.ndarray:
    """Read a PSF file and turn it into the ZSSR kernel of ``scale``, as the "psf" kernel source does for the
    widget, ``run()`` and the CLI; returns the kernel array on the HR grid of ``scale``. ``psf_pixel_size`` (um)
    overrides the pixel size found in the file's metadata; ``pixel_size``: the image's pixel size (um; one number or
    (y, x)), with neither known the PSF is taken as sampled at the image's pixels; ``measured``: whether the PSF is a
    bead image from the same camera (None: judged from the pixel sizes, as :func:`kernel_from_psf`);
    ``psf_channel``: which channel's PSF of a file with one per channel (see :class:`KernelChoice`).
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a PSF file's path, got a {type(path).__name__}; for a PSF array use "
                        "napari_zssr.kernel_from_psf(psf, ...)")
    choice = KernelChoice("psf", psf_path=os.fsdecode(path), psf_pixel_size=psf_pixel_size, measured=measured,
                          psf_channel=psf_channel)
    factors = upscale_factors(scale)
    source, record = kernel_source(choice, pixel_size, scale=factors)  # made, and kept, at these factors
    warn_kernel_notes(record)
    return source(factors)


def warn_kernel_notes(record: dict[str, Any]) -> None:
    """Warn a kernel record's notes: on this image's run, and on the PSF file itself."""
    for key in ("note", PSF_FILE_NOTE):
        if key in record:
            warn_user(record[key], KernelNoteWarning)


def checked_config(config: Any) -> ZSSRConfig:
    """``config`` as a :class:`ZSSRConfig` (None: the defaults); a TypeError saying how to make one for anything
    else, which would otherwise fail on a missing attribute deep in a run."""
    if config is None:
        return ZSSRConfig()
    if not isinstance(config, ZSSRConfig):
        hint = " (for a dict d: ZSSRConfig(**d))" if isinstance(config, dict) else ""
        raise TypeError(f"config must be a ZSSRConfig, e.g. ZSSRConfig(max_iterations=300) or "
                        f"ZSSRConfig.preset('fast'), got a {type(config).__name__}{hint}")
    # validated again (a field may have been assigned since it was made), and a copy: the result records the settings
    # the run used, whatever the caller assigns to its config later
    return replace(config)


def checked_pixel_size(pixel_size: PixelSize | None) -> PixelSize | None:
    """``pixel_size`` as one number where y and x agree, else the (y, x) pair; a ValueError naming a bad one (zero,
    negative, not a number, outside :data:`~napari_zssr.core.units.PLAUSIBLE_PIXEL_UM`, a pair of the wrong
    length) before any work starts."""
    pixel = pixel_pair(pixel_size)
    return None if pixel is None else compact_pixel_size(*pixel)


def zssr(image: ArrayLike, scale: float | Sequence[float] = DEFAULT_SCALE, kernel: KernelArgument = None,
         config: ZSSRConfig | None = None, seed: int | None = None, device: str | torch.device | None = None,
         progress: ProgressCallback | None = None, should_stop: StopHook | None = None,
         pixel_size: PixelSize | None = None, outputs: str | Collection[str] | None = None) -> ZSSRResult:
    """Super-resolve one 2D image by ``scale`` (a number or a (y, x) pair).

    ``image``: a numpy array, or array-like data numpy can read (a torch tensor on the CPU, a dask or zarr array,
    read plane by plane).
    ``kernel`` is the HR->LR blur: None or ``"none"`` (MATLAB bicubic), the kernel array of ``scale``, a function
    ``scale -> kernel`` (needed with ``config.gradual_steps``: each step gets the kernel of its own scale, e.g.
    ``lambda s: kernel_from_psf(psf, psf_pixel_size=..., pixel_size=..., scale=s)``), ``"estimate"`` (estimated
    from the image, see :func:`estimate_kernel`) or a :class:`KernelChoice` (a PSF file, the optics, the estimate
    or none, as the fronts offer them; made before the run, a :class:`~.kernel_choice.PreparedKernel`).
    ``pixel_size`` (um; a (y, x) pair for unequal sides) is needed by a kernel from the optics and puts the
    resolution report in um. ``seed``/``device`` left None take the config's.
    ``progress`` receives :class:`ProgressEvent` s. ``outputs``: which of ``"zssr"`` (``result.sr``),
    ``"ensemble_median"``, ``"residual"`` and ``"ensemble_spread"`` to keep, as a list or one comma-separated
    string (None: all; ``"zssr"`` always); the others are None in the result. Raises :class:`napari_zssr.Cancelled` when
    ``should_stop`` returns True.
    """
    return zssr_stack(validate_image(image, upscale_factors(scale)), scale, kernel, config, seed, device, progress,
                      should_stop, pixel_size=pixel_size, outputs=outputs)


@in_own_torch_modes
def zssr_stack(image: ArrayLike, scale: float | Sequence[float] = DEFAULT_SCALE,
               kernel: KernelArgument = None, config: ZSSRConfig | None = None,
               seed: int | None = None, device: str | torch.device | None = None,
               progress: ProgressCallback | None = None, should_stop: StopHook | None = None,
               warm_start_iterations: int | None = None, pixel_size: PixelSize | None = None,
               outputs: str | Collection[str] | None = None, one_of_channels: bool = False) -> ZSSRResult:
    """Super-resolve every 2D (Y, X) plane of an N-D array over its leading axes, with an overall progress.

    A constant plane is passed through as its interpolation with a :class:`BlankPlaneWarning`; a constant image of
    one plane is an error, unless ``one_of_channels`` (a channel of an image whose other channels hold the
    structure, e.g. the empty blue of an RGB picture) passes it through too. With
    ``warm_start_iterations``, planes train for at most that many iterations: where the config starts at random
    (``init="scratch"``), each plane after the first (which trains ``config.max_iterations``) from the previous
    plane's weights; else every plane, the first too, from the config's start again (the learned start, which adapts
    to each plane's noise level, or a weights file), so a plane's output does not depend on its place in the stack.
    Measured with the learned start: as good a start as a like neighbour's weights, and an unlike plane (nearly empty,
    far dimmer) does not inherit its neighbour's fit (docs/benchmarks.md, "Stacks: warm start").
    ``kernel="estimate"`` estimates one kernel for the whole stack (from up to 8 planes). Other arguments as
    :func:`zssr`.
    """
    config = checked_config(config)
    pair = upscale_factors(scale)
    array = validate_image(image, pair, ndim=None)
    pixel_size = checked_pixel_size(pixel_size)
    kinds = checked_outputs(outputs)
    warm_start_iterations = checked_warm_start(warm_start_iterations, config)
    check_hooks(progress, should_stop)
    if not is_switch(one_of_channels):  # "no" would act as True
        raise TypeError(f"one_of_channels must be True or False, got {one_of_channels!r}")
    steps = scale_steps(pair, config.gradual_steps)
    check_crop_sizes(config, pair)
    leading = array.shape[:-2]
    out_shape = leading + scaled_shape(array.shape[-2:], pair)
    if any(side_out == side for side_out, side in zip(out_shape[-2:], array.shape[-2:])):
        raise ValueError(f"scale {scale!r} is too close to 1 for planes of {array.shape[-2:]}: the output would have "
                         "an axis of the input's size; give a larger scale")
    # the outputs first: a stack too large is refused at once, before an estimate reads its planes
    result, torch_device = new_result(out_shape, array.dtype, kinds, pair, config, seed, device, {})
    n_planes = int(np.prod(leading, dtype=np.int64))
    if n_planes > 1:  # one plane starts from nothing before it
        result.warm_start_iterations = warm_start_iterations
    check_start(config)  # a weights file that does not load fails now, not after an estimate reads planes
    if config.init not in INITS:
        result.init_sha256 = file_sha256(config.init)
    kernels, kernel_record = run_kernels(from_torch(kernel), steps, array, pixel_size, should_stop)
    result.kernel = kernel_record
    if "note" in kernel_record:
        result.notes.append(kernel_record["note"])
    warn_kernel_notes(kernel_record)
    ranges = intensity_ranges(array, should_stop)
    plan = RunProgress(progress, n_planes=n_planes, n_steps=len(steps), max_iterations=config.max_iterations,
                       warm_start_iterations=warm_start_iterations,
                       every_plane_warm=config.first_plane_warm(n_planes))
    net: ZSSRNet | None = None
    run = None
    result.timings["training_s"] = planes_seconds = 0.0
    start = time.perf_counter()
    try:
        for plane_number, index in enumerate(np.ndindex(*leading)):
            if should_stop is not None and should_stop():  # a lazy stack's constant planes are read for seconds
                raise Cancelled
            plane = read_checked(array[index], plane_name(index))
            if plane.max() == plane.min():  # in its own type: 64-bit integers may differ where their floats do not
                pass_through_constant(plane, index, plane_name(index), result,
                                      alone=n_planes == 1 and not one_of_channels)
                plan.plane_finished(plane_number, trained=False)
                continue
            low, high = ranges[plane_number] if ranges else plane_intensity_range(plane, index)
            lr = normalised_tensor(plane, low, high, torch_device)
            iterations = plan.next_plane_iterations()
            plan.start_plane(plane_number, iterations)
            plane_config = config if iterations == config.max_iterations else replace(config, max_iterations=iterations)
            plane_start = time.perf_counter()
            run = None  # the previous plane's outputs are not held (on a GPU) while this one trains
            run = run_plane(lr, pair, kernels, plane_config, seed=result.seed, device=torch_device, progress=plan,
                            should_stop=should_stop, net=net)
            planes_seconds += time.perf_counter() - plane_start
            result.timings["training_s"] += sum(log.seconds for log in run.logs)
            net = run.net if warm_start_iterations is not None and not config.warm_planes_restart else None
            store_outputs(result, index, run.output, low, high, partial(resize, lr, run.output.sr.shape[-2:]))
            result.iterations.append(sum(log.iterations for log in run.logs))
            result.noise_stds.append(run.noise_std)
            result.isolated_pixels.append(run.spikes)
            result.ringing.append(run.ringing)
            result.background_taken_off.append(run.background_taken_off)
            result.transforms = run.transforms
            plan.plane_finished(plane_number, trained=True)
    finally:
        run = net = None  # drop every reference to the network before returning its memory to the device
        release_device_memory(torch_device)
    if should_stop is not None and should_stop():  # before the resolution report: a cancel answers at once
        raise Cancelled
    warn_other_blanks(result)
    note_a_spread_of_one_member(result, outputs)
    warn_plane_notes(result)
    result.resolution = resolution_report(array, result.sr, pair, pixel_size)
    result.timings["total_s"] = time.perf_counter() - start
    # what each plane cost besides its training: noise estimate, father pool, inference with its ensemble
    result.timings["inference_s"] = planes_seconds - result.timings["training_s"]
    plan.finished()
    return result


#: constant planes (or volumes) of a run warned one by one, at most; more are one warning when the run ends (a stack
#: of 60 empty planes gave 60 notifications in napari)
WARNED_BLANKS = 3


def note_a_spread_of_one_member(result: ZSSRResult, outputs: str | Collection[str] | None) -> None:
    """Say, in ``result``'s notes and a warning, that a spread asked for by name (``outputs``) measured nothing
    where the ensemble had one member (ensemble off, or a kernel that no rotation or flip keeps): all zeros would read
    as a network sure of every pixel. (An axial run's spread is across its two slicings too, so it measures.)"""
    if outputs is None or result.ensemble_spread is None or len(result.transforms) != 1:
        return
    note = ("the ensemble spread is 0 everywhere: the ensemble had one member (ensemble off, or a kernel that no "
            "rotation or flip keeps), so nothing measured the network's uncertainty")
    result.notes.append(note)
    warn_user(note, UserWarning)


def named_items(indices: list[int], shown: int = 3) -> str:
    """The first ``shown`` of a run's plane (volume) numbers, and "..." where there are more."""
    return ", ".join(map(str, indices[:shown])) + " ..." * (len(indices) > shown)


def isolated_pixels_note(counts: list[int], item: str = "plane") -> str | None:
    """What a run says of the isolated pixels it interpolated (``counts``: per ``item``), or None where none."""
    total, items = sum(counts), [index for index, count in enumerate(counts) if count]
    if total == 0:
        return None
    where = f" in {item}{'s' * (len(items) > 1)} {named_items(items)}" if len(counts) > 1 else ""
    return (f"{total} isolated pixel{'s' * (total > 1)}{where} (far above or below all their neighbours, more than "
            "the kernel lets a point be: hot or dead camera pixels, cosmic rays) interpolated, not super-resolved; "
            "remove them beforehand to have them gone")


def background_note(taken_off: list[bool], item: str = "plane") -> str | None:
    """What a run says of the planes it took a smooth background off (``taken_off``: per ``item``), or None where
    it took none off: their outputs are learned without it, so a user comparing runs knows why they differ."""
    items = [index for index, off in enumerate(taken_off) if off]
    if not items:
        return None
    if len(taken_off) == 1:
        where = ""
    elif len(items) == 1:
        where = f" of {item} {items[0]}"
    else:
        where = f" of {len(items)} {item}s ({named_items(items)})"
    return f"smooth background taken off{where} before training, and put back"


#: an output that reaches further than this many input intensity ranges beyond the input's range on both sides
#: rings: the right kernel's deblurring did by 0.07 at most on the quality benchmark's 18 cases, Gaussians 2-2.5 times
#: the blur's width by 1.1-3.7 where they cost 7-15 dB (docs/benchmarks.md, "A kernel too wide")
RINGING_LIMIT = 0.5


def ringing_note(ringing: list[float], item: str = "plane") -> str | None:
    """What a run says of outputs that ring (``ringing``: per ``item``, as :func:`~napari_zssr.core.engine.ringing`
    measures it), or None where none does."""
    ringing_items = [index for index, value in enumerate(ringing) if value > RINGING_LIMIT]
    if not ringing_items:
        return None
    where = f"of {item}{'s' * (len(ringing_items) > 1)} {named_items(ringing_items)} " if len(ringing) > 1 else ""
    return (f"the output {where}rings: it reaches beyond the input's intensity range (its structures', where a "
            f"smooth background was taken off) on both sides by up to {max(ringing):.2f} times that range. Seen "
            "where the kernel is wider than the image's blur (check the PSF's pixel size, wavelength and objective, "
            "or compare with a narrower kernel or none), around a line "
            "or cluster of dead or hot pixels or a cosmic ray's streak (correct them first), and where "
            "back-projection does not stop at a noisy input's noise level (the paper preset)")


def plane_notes(isolated_pixels: list[int], ringing: list[float], item: str = "plane") -> list[str]:
    """What a run says of the isolated pixels it interpolated and the outputs that ring, from their records per
    ``item`` (a run's, or a split stack's merged from its parts)."""
    return [note for note in (isolated_pixels_note(isolated_pixels, item), ringing_note(ringing, item)) if note]


def warn_plane_notes(result: ZSSRResult, item: str = "plane") -> None:
    """The warnings of :func:`plane_notes` on ``result``, once its run ends."""
    for note in plane_notes(result.isolated_pixels, result.ringing, item):
        warn_user(note, UserWarning)


def warn_other_blanks(result: ZSSRResult, item: str = "plane") -> None:
    """The one warning on a run's constant ``item`` s beyond the first :data:`WARNED_BLANKS`, once it ends."""
    others = len(result.blank_planes) - WARNED_BLANKS
    if others > 0:
        warn_user(f"{others} more {item}{'s' * (others > 1)} constant, passed through as their interpolation "
                  f"({len(result.blank_planes)} in all: ZSSRResult.blank_planes lists them)", BlankPlaneWarning)


def pass_through_constant(data: np.ndarray, index: tuple[int, ...], label: str, result: ZSSRResult, alone: bool,
                          element: str = "pixel", interpolated: np.ndarray | None = None) -> None:
    """Fill ``result``'s outputs at ``index`` from the constant ``data`` (a plane, or an axial run's volume, named
    ``label``): its value, or ``interpolated`` where given (an axial volume constant plane by plane: its planes'
    values interpolated along z, broadcast over y and x), in the super-resolved and median, 0 in the residual and
    spread, each where the run keeps it; recorded as blank. An error where ``alone``: the constant data is all there
    is."""
    value = data.flat[0]  # cast to the outputs' type (float64 for inputs float32 cannot hold) on assignment
    if alone:
        raise constant_input(label, value, element)
    if len(result.blank_planes) < WARNED_BLANKS:  # the others in one warning at the end (warn_other_blanks)
        warn_user(f"{label} is constant; passed through as its interpolation", BlankPlaneWarning)
    kept = value if interpolated is None else interpolated
    for array, fill in ((result.sr, kept), (result.ensemble_median, kept), (result.residual, 0),
                        (result.ensemble_spread, 0)):
        if array is not None:
            array[index] = fill
    result.blank_planes.append(index)
    result.iterations.append(0)
    result.noise_stds.append(0.0)
    result.isolated_pixels.append(0)
    result.ringing.append(0.0)
    result.background_taken_off.append(False)
