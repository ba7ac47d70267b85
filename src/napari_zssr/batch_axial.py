"""Axial mode of a batch (``--axial``): its option checks, each input's factor, z geometry and axial optics.

Every input's factor (z-step / lateral pixel size) is worked out from its header in :func:`check_axial_inputs`
before any training, so that a stack without a z axis or with a z-step that is no whole multiple of its pixel size
stops the batch at once, naming the file and what to give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from numbers import Real

from .batch_jobs import Job, OptionNeeded, UsageError, option_name, say
from .batch_kernels import check_optics_options, kernel_choices
from .batch_options import BatchOptions
from .batch_resume import OPTICS_OPTIONS
from .core.axial import MIN_PLANES, axial_factor, square_pixel_size
from .core.config import ZSSRConfig
from .core.engine import check_crop_sizes
from .core.pairs import min_father_side
from .core.resize import pixel_pair
from .core.units import tidy
from .io.calibration import default_z_spacing_note
from .io.ome import read_optics
from .io.tiff import image_axes, read_header
from .kernel_choice import KernelChoice
from .overlay import imagej_origin

#: options that describe a lateral kernel; axial mode learns its blur from the axial profile instead
LATERAL_KERNEL_OPTIONS = ("psf", "kernel", "psf_pixel_size")

@dataclass(frozen=True)
class AxialPlan:
    """One input's axial geometry: input plane ``i`` lands on output plane ``i * factor + (factor - 1) / 2``."""

    factor: int
    z_step: float  # the input's, in um; in lateral pixels where ``pixel_size`` is None
    pixel_size: float | None  # um, lateral: the output's z spacing too; None for an uncalibrated stack

    @property
    def unit(self) -> str:
        """What ``z_step`` counts: "um", or "pixels" (lateral ones) for an uncalibrated stack."""
        return "pixels" if self.pixel_size is None else "um"

    def z_geometry(self, z_origin: float) -> tuple[float, float]:
        """The output's z spacing (um, or lateral pixels) and ImageJ z origin (planes) from the input's z origin:
        outer edges kept."""
        spacing = tidy(self.z_step / self.factor)
        return spacing, imagej_origin((z_origin,), (self.factor,))[0]

    def record(self, z_origin: float) -> dict:
        """The geometry for the outputs' Info (ImageJ also holds the spacing and origin, other readers may not)."""
        spacing, origin = self.z_geometry(z_origin)
        return {"factor": self.factor, f"z_step_{self.unit}": tidy(self.z_step), "pixel_size_um": self.pixel_size,
                f"output_z_spacing_{self.unit}": spacing, "output_z_origin_planes": origin}


def check_axial_options(options: BatchOptions) -> None:
    """The option combinations that axial mode refuses, as usage errors before anything is read or made."""
    if options.z_step is not None and not options.axial:
        raise UsageError("--z-step applies to --axial only")
    if not options.axial:
        return
    z_step = options.z_step
    if z_step is not None and (isinstance(z_step, bool) or not isinstance(z_step, Real) or not 0 < z_step < math.inf):
        raise UsageError(f"--z-step must be a z spacing in um > 0, got {z_step!r}")
    if options.scale is not None:
        raise UsageError("--axial takes its factor from each file's z-step / pixel size; leave out --scale")
    if options.warm_start is not None:
        raise UsageError("--warm-start does not apply to --axial: each volume trains one network for all its planes")
    if options.background_window is not None:
        raise UsageError("--background-window does not apply to --axial: a background is taken off lateral planes "
                         "only")
    given = [name for name in LATERAL_KERNEL_OPTIONS if getattr(options, name)]
    given += ["measured_psf"] if options.measured_psf != "auto" else []
    if given:
        raise UsageError(f"{option_name(given[0])} does not apply to --axial: the z blur comes from the axial "
                         "profile of the optics (--na, --wavelength...; or the file's OME metadata), else a Gaussian "
                         "as wide as the z-step")
    try:
        given_pixel_size(options)
    except ValueError as error:
        raise UsageError(f"--pixel-size {options.pixel_size!r}: {error}") from None
    check_optics_options(options)


def given_pixel_size(options: BatchOptions) -> float | None:
    """The lateral pixel size (um) given for every input, or None: ``napari_zssr.batch`` takes a (y, x) pair too,
    as its lateral runs do, which must then be square (restored along z to one size, voxels of rectangular pixels
    could not be cubes)."""
    pair = pixel_pair(options.pixel_size)
    return None if pair is None else square_pixel_size(pair)


class CalibrationError(OptionNeeded):
    """A file's z spacing or pixel size is unknown or gives no whole factor: ``--z-step``/``--pixel-size`` fix it."""


def axial_plan(axes: str, shape: Sequence[int], pixel_size: tuple[float, float] | None, z_spacing: float | None,
               options: BatchOptions, z_step_pixels: float | None = None) -> AxialPlan:
    """An input's factor from its axes and calibration (``--z-step``/``--pixel-size`` override the file's), or a
    ``ValueError`` that says what to give. An uncalibrated stack whose z spacing counts lateral pixels
    (``z_step_pixels``) has that ratio as its factor, as it has in napari."""
    if "Z" not in axes:
        raise ValueError(f"--axial needs a z-stack of at least {MIN_PLANES} planes, but its axes are {axes} (no Z "
                         "axis, or one of a single plane, which is read without it); save it as an ImageJ hyperstack "
                         "or OME-TIFF with a Z axis")
    if shape[axes.index("Z")] < MIN_PLANES:
        planes = shape[axes.index("Z")]
        raise ValueError(f"it has {planes} z plane{'s' if planes != 1 else ''}; axial super-resolution needs at least "
                         f"{MIN_PLANES}")
    given = given_pixel_size(options)
    if z_step_pixels is not None and z_spacing is None and pixel_size is None and options.z_step is None:
        if not given:
            return AxialPlan(_factor(z_step_pixels, 1.0, "pixels"), z_step_pixels, None)
        z_spacing = z_step_pixels * given  # the pixels given a size
    z_step = options.z_step or z_spacing
    if z_step is None:  # named with the pixel size where that is unknown too: one rerun, not two, fixes the file
        raise CalibrationError("its z spacing is unknown (the file gives none, or zero, a negative or no number): "
                               "give --z-step UM" + ("" if given or pixel_size is not None else
                                                     " and --pixel-size UM (its pixel size is unknown too)"))
    if given:
        lateral = given
    elif pixel_size is None:
        raise CalibrationError("its pixel size is unknown: give --pixel-size UM")
    else:
        lateral = square_pixel_size(pixel_size)
    return AxialPlan(_factor(z_step, lateral, "um"), z_step, lateral)


def _factor(z_step: float, lateral: float, unit: str) -> int:
    try:
        return axial_factor(z_step / lateral, name="the ratio")
    except ValueError as error:
        raise CalibrationError(f"z-step {z_step:g} {unit} / pixel size {lateral:g} {unit}: {error} (or give --z-step "
                               "/ --pixel-size if the file's are wrong)") from None


def check_trainable(plan: AxialPlan, plane_shape: Sequence[int], config: ZSSRConfig) -> None:
    """A :class:`CalibrationError` where ``plan``'s factor is too large for the planes or the training crops to
    train (the checks the run itself makes, made from the header): most often a z-step given in nm as um."""
    scale = (float(plan.factor), 1.0)
    problem = None
    if min(plane_shape) < min_father_side(scale):
        problem = (f"planes of {plane_shape[0]} x {plane_shape[1]} pixels are too small for it: each side needs at "
                   f"least {min_father_side(scale)}")
    else:
        try:
            check_crop_sizes(config, scale)
        except ValueError:  # its advice (raise crop_size) is the library's: the command line has no such option
            problem = f"the preset's training crops of {config.crop_size} pixels are too small for it"
    if problem:
        raise CalibrationError(f"its factor, z-step {plan.z_step:g} / pixel size {plan.pixel_size or 1:g} "
                               f"{plan.unit} = {plan.factor}, is too large to train ({problem}); check that both are "
                               "in um, or give --z-step / --pixel-size")


def check_axial_inputs(jobs: Sequence[Job], options: BatchOptions, config: ZSSRConfig) -> None:
    """Every input's :func:`axial_plan` from its header, and whether it can train (:func:`check_trainable`); the
    first that fails is a usage error naming the file.

    Unreadable files are left to fail on their own when processed, as in lateral runs, and so is an image series of a
    file of several: options cannot be given for one series alone, so one without a z step (or a z axis) must not
    stop the file's others.
    """
    for job in jobs:
        header = read_header(job.source, samples_as_channels=True, series=job.series_index)
        if header is None:
            continue
        axes = image_axes(header.axes, len(header.shape))
        try:
            plan = axial_plan(axes, header.shape, header.pixel_size, header.z_spacing, options, header.z_step_pixels)
            check_trainable(plan, header.shape[-2:], config)
            if plan.pixel_size is None and optics_asked(options):
                raise CalibrationError("an axial profile from the optics needs the lateral pixel size, which the file "
                                       "does not give: give --pixel-size UM")
        except ValueError as error:
            if job.series is not None:
                continue
            alone = ("; --z-step and --pixel-size apply to every input, so give them for this file in a run of its "
                     "own" if isinstance(error, CalibrationError) and len(jobs) > 1 else "")
            raise UsageError(f"{job.name}: {error}{alone}") from None
        if header.z_spacing_default and options.z_step is None:  # the factor rests on a default: say so
            say(f"note: {job.name} {default_z_spacing_note(f'{plan.z_step:g} um', plan.factor)}; if its z step "
                "differs, give --z-step UM")
        note_no_optics_profile(job, options, dict(zip(axes, header.shape)).get("C", 1))


def optics_asked(options: BatchOptions) -> bool:
    """Whether the options ask for the axial profile from the optics (any optics option given): values they leave
    out must then come from each file's metadata, whatever its acquisition mode."""
    return any(getattr(options, name) for name in OPTICS_OPTIONS)


def note_no_optics_profile(job: Job, options: BatchOptions, channels: int) -> None:
    """Say why a file whose metadata gives optics gets no axial profile from them: an acquisition mode neither model
    describes (a light sheet), or which optics it leaves out (an OME file with the NA and the wavelengths
    but no immersion): without optics options its axial profile is then a Gaussian of the z-step, and the line
    after the run says only "no optics used", not which option would use the file's own."""
    if optics_asked(options):
        return
    metadata = read_optics(job.source, job.series_index)
    unmodelled = None if metadata is None or not metadata.names_optics(channels) else metadata.unmodelled_mode()
    if unmodelled is not None:  # optics it would take but for the mode (else what they lack is said below)
        say(f"note: {job.name}: {unmodelled}, so its axial profile is a Gaussian of the z-step; give --psf-model "
            "widefield or confocal to take the profile from its optics all the same")
        return
    short = None if metadata is None else metadata.short_of_a_profile(channels)
    if short is not None:
        missing, options_giving = short
        say(f"note: {job.name}: its metadata gives optics but not {missing}, so its axial profile is a Gaussian of "
            f"the z-step; give {options_giving} to take the profile from the optics")


def axial_optics(options: BatchOptions, job: Job, channels: int) -> list[KernelChoice | None]:
    """Each channel's optics for its axial profile (as a kernel from the optics, whose note says what of them came
    from the file's metadata), or None (then a Gaussian as wide as the z-step).

    Optics options on the command line ask for them: missing values must then come from the file's OME metadata
    (a clear error otherwise). Without such options the metadata is used when it names the NA, the immersion and
    every channel's emission wavelength: an axial profile from a guessed medium would be badly wrong; and not where
    it names an acquisition mode neither model describes (:meth:`~.io.ome.OpticsMetadata.unmodelled_mode`).
    """
    if not optics_asked(options):
        metadata = read_optics(job.source, job.series_index)
        if metadata is None or not metadata.names_optics(channels) or metadata.unmodelled_mode() is not None:
            return [None] * channels
    return list(kernel_choices(replace(options, kernel="optics"), job, channels, "the axial profile from the optics",
                               default_immersion=None))
