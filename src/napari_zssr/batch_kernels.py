"""The blur kernel of each channel of a batch's inputs, from the batch's options (and each file's OME metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .batch_jobs import OPTICS_OPTIONS, UsageError, kernel_kind, say
from .core.optics import IMMERSION_INDICES, Optics
from .io.ome import read_optics
from .kernel_choice import PSF_FILE_NOTE, KernelChoice, kernel_source

if TYPE_CHECKING:
    from .batching import BatchOptions


def per_channel(values: list, channels: int, what: str) -> list:
    """One value for every channel from options given once, or once per channel."""
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} {what} given for {channels} channels; give one, or one per channel")
    return values * channels if len(values) == 1 else values


def kernel_choices(options: BatchOptions, source: Path, channels: int, use: str = "a kernel from the optics",
                   default_immersion: float | None = IMMERSION_INDICES["oil"]) -> list[KernelChoice]:
    """The kernel of each channel of one input; the optics fill in from its OME metadata where options are silent.
    ``use``: what the optics are for, as errors name it; ``default_immersion``: the refractive index where neither
    says one (None: an error naming ``--refractive-index``, for an axial profile, whose width it sets)."""
    kind = kernel_kind(vars(options))
    if kind == "psf":
        return [KernelChoice("psf", psf_path=path, psf_pixel_size=options.psf_pixel_size,
                             measured=measured_psf(options))
                for path in per_channel(options.psf, channels, "PSFs")]
    if kind != "optics":
        return [KernelChoice(kind)] * channels
    metadata = read_optics(source)
    na = options.na or (metadata and metadata.na)
    if not na:
        raise ValueError(f"{use} needs the objective's NA: give --na (the file's metadata does not say)")
    emission = options.wavelength or list(metadata.emission_wavelengths if metadata else ())
    if not emission:
        raise ValueError(f"{use} needs the emission wavelength: give --wavelength (the file's metadata does not "
                         "say)")
    if None in emission:  # the file names some channels' wavelengths, not all (a transmitted-light channel?)
        missing = ", ".join(str(channel) for channel, wavelength in enumerate(emission) if wavelength is None)
        known = ", ".join("?" if wavelength is None else f"{wavelength:g}" for wavelength in emission)
        raise ValueError(f"{use} needs the emission wavelength of every channel; the file's metadata does not say it "
                         f"for channel {missing} (channels 0-{len(emission) - 1}: {known} nm): give --wavelength once "
                         "per channel, in their order")
    confocal = options.psf_model == "confocal"
    excitation = options.excitation_wavelength or list(metadata.excitation_wavelengths if metadata else ())
    excitation = per_channel(excitation, channels, "excitation wavelengths") if excitation else [None] * channels
    refractive_index = options.refractive_index or (metadata and metadata.refractive_index) or default_immersion
    if refractive_index is None:
        raise ValueError(f"{use} needs the immersion's refractive index: give --refractive-index (the file's metadata "
                         "does not say; e.g. 1.518 oil, 1.333 water)")
    emission = per_channel(emission, channels, "wavelengths")
    try:
        return [KernelChoice("optics", optics=Optics(na, wavelength, refractive_index,
                                                     options.psf_model or "widefield",
                                                     excitation_nm if confocal else None,
                                                     options.pinhole if confocal else None))
                for wavelength, excitation_nm in zip(emission, excitation)]
    except ValueError as error:  # the command line's values were checked before the batch: the file's are wrong
        raise ValueError(f"{error} (from the file's OME metadata: override with --na, --wavelength or "
                         "--refractive-index)") from None


MEASURED_PSF_CHOICES = {"auto": None, "yes": True, "no": False}


def measured_psf(options: BatchOptions) -> bool | None:
    if options.measured_psf not in MEASURED_PSF_CHOICES:
        raise UsageError(f"measured_psf must be one of {', '.join(MEASURED_PSF_CHOICES)}, got {options.measured_psf!r}")
    return MEASURED_PSF_CHOICES[options.measured_psf]


def check_optics_options(options: BatchOptions) -> None:
    """Bad optics given on the command line (NA, wavelengths, immersion) as a usage error, before the batch; values
    left out, which each file's metadata may give, are checked with a stand-in; confocal options without the
    confocal model, which a widefield PSF would silently leave out."""
    confocal_only = [name for name in ("excitation_wavelength", "pinhole") if getattr(options, name)]
    if confocal_only and options.psf_model != "confocal":
        raise UsageError(f"--{confocal_only[0].replace('_', '-')} applies to a confocal PSF: add --psf-model "
                         "confocal (a widefield PSF has no excitation or pinhole)")
    try:
        for wavelength in options.wavelength or [520.0]:
            Optics(options.na or 1.0, wavelength, options.refractive_index or IMMERSION_INDICES["oil"],
                   options.psf_model or "widefield", None, None)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_kernel_options(options: BatchOptions) -> None:
    """Check the kernel options once, before the batch: a bad PSF file or bad optics are usage errors, not one
    failure per input. Each input's own pixel size (for the resampling) is only known when it is read; with
    ``--pixel-size`` the check already uses it.
    """
    kind = kernel_kind(vars(options))
    if options.psf and kind != "psf":
        raise UsageError(f"--psf cannot be combined with --kernel {kind}")
    optics_options = [name for name in OPTICS_OPTIONS if getattr(options, name)]
    if optics_options and kind != "optics":
        raise UsageError(f"--{optics_options[0].replace('_', '-')} applies to a kernel from the optics, not to "
                         f"--kernel {kind}")
    if kind == "psf" and not options.psf:
        raise UsageError("--kernel psf needs --psf FILE")
    psf_options = ["--psf-pixel-size"] * (options.psf_pixel_size is not None)
    psf_options += ["--measured-psf"] * (options.measured_psf != "auto")
    if psf_options and not options.psf:  # ignored, they would still make a rerun a conflict
        raise UsageError(f"{psf_options[0]} applies to a PSF file (--psf), not to --kernel {kind}")
    if kind == "optics":
        check_optics_options(options)
    measured_psf(options)
    for path in options.psf:
        try:
            _, record = kernel_source(KernelChoice("psf", psf_path=path, psf_pixel_size=options.psf_pixel_size,
                                                   measured=measured_psf(options)), options.pixel_size)
        except (ValueError, TypeError, OSError) as error:
            raise UsageError(f"--psf {path}: {error}") from None
        if PSF_FILE_NOTE in record:  # said once here, not for every file (a cell image chosen by mistake)
            say(f"note: --psf {path}: {record[PSF_FILE_NOTE]}")


