"""The blur kernel of each channel of a batch's inputs, from the batch's options (and each file's OME metadata)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .batch_jobs import Job, OptionNeeded, UsageError, header_counts, option_name, say
from .batch_options import CONFOCAL_ONLY, MEASURED_PSF_CHOICES, BatchOptions
from .batch_resume import OPTICS_OPTIONS, is_given, kernel_kinds
from .core.choices import KERNEL_SOURCES
from .core.optics import Optics, check_pixel_size_for_optics
from .core.psf import KernelTooWideError
from .core.resize import upscale_factors
from .io.ome import channel_acquisition, read_optics
from .io.psf import open_psf, psf_channels
from .kernel_choice import PSF_FILE_NOTE, KernelChoice, kernel_source, psf_file_note


def per_channel(values: list, channels: int, what: str, users: Sequence[int] | None = None) -> list:
    """One value for every channel from options given once, or once per channel; with ``users`` (the channels that
    use them, where not all do) also once per such channel, in their order: the other channels get None."""
    users = range(channels) if users is None else users
    if len(values) == 1:
        return values * channels
    if len(values) == channels:
        return values
    if len(values) != len(users):
        by_user = f", or one per channel that uses them ({channel_list(users)})" \
            if len(users) != channels else ""
        raise ValueError(f"{len(values)} {what} given for {channels} channels; give one, or one per channel{by_user}")
    spread = [None] * channels
    for channel, value in zip(users, values):
        spread[channel] = value
    return spread


def channel_list(channels: Sequence[int]) -> str:
    """"channel 2", or "channels 1, 2", as messages name them."""
    return f"channel{'s' * (len(channels) > 1)} {', '.join(map(str, channels))}"


def channel_kernel_kinds(options: BatchOptions, channels: int) -> tuple[list[str], dict[str, list[int]]]:
    """Each channel's kernel source (``--kernel`` once, or once per channel), and the channels of each source."""
    kinds = per_channel(list(kernel_kinds(vars(options))), channels, "kernels (--kernel)")
    return kinds, {kind: [channel for channel, each in enumerate(kinds) if each == kind] for kind in set(kinds)}


def kernel_choices(options: BatchOptions, job: Job, channels: int, use: str = "a kernel from the optics",
                   default_immersion: float | None = Optics.refractive_index) -> list[KernelChoice]:
    """The kernel of each channel of one input (``--kernel`` once, or once per channel); the optics fill in from its
    OME metadata (its image series' in a file of several) where options are silent. ``use``: what the optics are
    for, as errors name it; ``default_immersion``: the refractive index where neither says one (None: an error
    naming ``--refractive-index``, for an axial profile, whose width it sets)."""
    kinds, users = channel_kernel_kinds(options, channels)
    # the rest below; any other text is KernelChoice's error, never a channel left out
    choices: list = [None if kind in ("psf", "optics") else KernelChoice(kind) for kind in kinds]
    if "psf" in users:
        for channel, choice in psf_choices(options, channels, users["psf"]).items():
            choices[channel] = choice
    if "optics" in users:
        for channel, choice in zip(users["optics"],
                                   channel_optics(options, job, channels, users["optics"], use, default_immersion)):
            choices[channel] = choice
    return choices  # every channel's: psf and optics ones filled above


def psf_choices(options: BatchOptions, channels: int, users: Sequence[int]) -> dict[int, KernelChoice]:
    """The PSF file's kernel of each channel in ``users`` (of an input's ``channels``): ``--psf`` once, once per
    channel or once per such channel. Of a PSF file with a PSF per channel (a multicolour bead image), channel c of
    the input takes its channel c where the file has as many channels as the input; where it has as many as the
    channels that use a PSF, fewer (two colours beside transmitted light: ``--kernel psf --kernel psf --kernel
    none``), those take its channels in order, as a bead shows in the fluorescence channels alone
    (:meth:`KernelChoice.for_channel`: :class:`PsfChannelError` where neither fits)."""
    paths = per_channel(list(options.psf), channels, "PSFs", users)
    counts = {path: psf_channels(path) for path in {paths[channel] for channel in users}}  # each file's, read once
    choices = {}
    for order, channel in enumerate(users):
        choice = KernelChoice("psf", psf_path=paths[channel], psf_pixel_size=options.psf_pixel_size,
                              measured=measured_psf(options))
        count = counts[paths[channel]]
        by_users = len(users) < channels and count == len(users)
        choices[channel] = (choice.for_channel(order, len(users), count) if by_users else
                            choice.for_channel(channel, channels, count))
    return choices


def check_channel_options(jobs: Sequence[Job], options: BatchOptions) -> None:
    """Options given once per channel (``--kernel``, ``--psf``, ``--wavelength``, ``--excitation-wavelength``) or a
    PSF file with a PSF per channel (channel c of an input taking its channel c) that do not fit an input's channels,
    as a usage error naming the input and both counts, before any input runs: found when its turn came, after the
    inputs before it had trained. An input whose channels its header does not tell fails, or runs, on its own; so does
    an image series of a file of several (options cannot be given for one series alone)."""
    repeated = [kernel_kinds(vars(options)), options.psf, options.wavelength, options.excitation_wavelength]
    if all(len(values) <= 1 for values in repeated) and \
            all(psf_channels(path) == 1 for path in dict.fromkeys(options.psf)):
        return  # every option fits every input: their headers go unread
    fitting: set[int] = set()  # inputs of as many channels are checked once: the PSF files counted once a count
    for job in jobs:
        counts = header_counts(job.source, job.series_index)  # None: the input fails, or runs, on its own
        channels = None if counts is None else counts[1]
        if channels is None or channels in fitting:
            continue
        try:
            check_channel_counts(options, channels)
        except ValueError as error:  # PsfChannelError too
            if job.series is None:
                raise UsageError(f"{job.name}: {error}") from None
            continue
        fitting.add(channels)


def check_channel_counts(options: BatchOptions, channels: int) -> None:
    """A ValueError (:class:`PsfChannelError` for a PSF file's channels) where the options given once per channel do
    not fit an input of ``channels``, as the kernel of each channel is made from them (:func:`kernel_choices`)."""
    _, users = channel_kernel_kinds(options, channels)
    if "psf" in users:
        psf_choices(options, channels, users["psf"])
    if "optics" in users:
        for values, what in ((options.wavelength, "wavelengths"),
                             (options.excitation_wavelength, "excitation wavelengths")):
            if values:
                per_channel(list(values), channels, what, users["optics"])


#: how a note on the modality or pinhole a file gave ends: how to choose others
FILE_ACQUISITION_OVERRIDE = "--psf-model and --pinhole choose others"


def channel_optics(options: BatchOptions, job: Job, channels: int, users: Sequence[int], use: str,
                   default_immersion: float | None) -> list[KernelChoice]:
    """The kernel from the optics of each channel in ``users`` (of the ``channels`` of the input ``job``), from the
    options and, where they are silent, the file's OME metadata (of the job's image series), its acquisition mode and
    pinhole too (:func:`~.io.ome.channel_acquisition`: its note says what came from the file, or is not used)."""
    metadata = read_optics(job.source, job.series_index)
    na = options.na or (metadata and metadata.na)
    if not na:
        raise OptionNeeded(f"{use} needs the objective's NA: give --na (the file's metadata does not say)")
    emission = options.wavelength or list(metadata.emission_wavelengths if metadata else ())
    if not emission:
        raise OptionNeeded(f"{use} needs the emission wavelength: give --wavelength (the file's metadata does not "
                           "say)")
    emission = per_channel(list(emission), channels, "wavelengths", users)
    missing = [channel for channel in users if emission[channel] is None]
    if missing:  # the file names some channels' wavelengths, not all (a transmitted-light channel?)
        known = ", ".join("?" if wavelength is None else f"{wavelength:g}" for wavelength in emission)
        raise OptionNeeded(f"{use} needs the emission wavelength of every channel; the file's metadata does not say "
                           f"it for {channel_list(missing)} (channels 0-{channels - 1}: {known} nm): give --wavelength "
                           "once per channel, in their order, or --kernel once per channel with none for a channel "
                           "that has no emission (transmitted light)")
    excitation = options.excitation_wavelength or list(metadata.excitation_wavelengths if metadata else ())
    excitation = per_channel(list(excitation), channels, "excitation wavelengths", users) if excitation \
        else [None] * channels
    refractive_index = options.refractive_index or (metadata and metadata.refractive_index) or default_immersion
    if refractive_index is None:
        raise OptionNeeded(f"{use} needs the immersion's refractive index: give --refractive-index (the file's "
                           "metadata does not say; e.g. 1.518 oil, 1.333 water)")
    acquisitions = {channel: channel_acquisition(metadata, channel, channels, options.psf_model, options.pinhole,
                                                 na=options.na, wavelength=options.wavelength and emission[channel])
                    for channel in users}
    try:
        optics = {channel: Optics(na, emission[channel], refractive_index, acquisition.modality,
                                  excitation[channel] if acquisition.modality == "confocal" else None,
                                  acquisition.pinhole)
                  for channel, acquisition in acquisitions.items()}
    except ValueError as error:  # each option was checked before the batch: the file's values, or the mix, are wrong
        na_from = "--na" if options.na else "the file's metadata"  # which, the user's or the file's, to mend
        index_from = ("--refractive-index" if options.refractive_index else "the file's metadata"
                      if metadata and metadata.refractive_index else "the default immersion")
        sources = f"NA {na:g} from {na_from}, refractive index {refractive_index:g} from {index_from}"
        overrides = "--na, --wavelength or --refractive-index"
        if not options.psf_model and any(each.modality == "confocal" for each in acquisitions.values()):
            sources += ", the confocal model (and its excitation) from the file's acquisition mode"
            overrides = "--na, --wavelength, --refractive-index, --excitation-wavelength or --psf-model"
        raise OptionNeeded(f"{error} ({sources}: override with {overrides})") from None
    return [KernelChoice("optics", optics=optics[channel], note=f"{'; '.join(acquisitions[channel].notes)} "
                         f"({FILE_ACQUISITION_OVERRIDE})" if acquisitions[channel].notes else None)
            for channel in users]


#: the NA that :func:`check_optics_options` checks the other options with where it is left out: below the index of
#: every immersion (air's 1.0 too), so that only the values given can fail
STAND_IN_NA = 0.5


def measured_psf(options: BatchOptions) -> bool | None:
    if options.measured_psf not in MEASURED_PSF_CHOICES:
        raise UsageError(f"measured_psf must be one of {', '.join(MEASURED_PSF_CHOICES)}, got {options.measured_psf!r}")
    return MEASURED_PSF_CHOICES[options.measured_psf]


def named_as_options(error: Exception, fields: Sequence[str]) -> str:
    """``error``'s message with its leading library field named as the command line's option ("na must..." ->
    "--na must...")."""
    return re.sub(rf"^({'|'.join(fields)})\b", lambda name: option_name(name[1]), str(error))


def check_optics_options(options: BatchOptions) -> None:
    """Bad optics given on the command line (NA, wavelengths, immersion, a confocal excitation and pinhole) as a
    usage error, before the batch; values left out, which each file's metadata may give, are checked with a
    stand-in; confocal options beside the widefield model, which would silently leave them out."""
    confocal_only = [name for name in CONFOCAL_ONLY if getattr(options, name) not in (None, ())]
    if confocal_only and options.psf_model == "widefield":
        raise UsageError(f"{option_name(confocal_only[0])} applies to a confocal PSF, not to --psf-model widefield "
                         "(a widefield PSF has no excitation or pinhole): leave out one or the other")
    try:
        for wavelength in options.wavelength or [520.0]:
            for excitation in options.excitation_wavelength or [None]:
                Optics(STAND_IN_NA if options.na is None else options.na, wavelength,
                       Optics.refractive_index if options.refractive_index is None else options.refractive_index,
                       options.psf_model or "widefield", excitation, options.pinhole)
    except ValueError as error:
        raise UsageError(named_as_options(error, OPTICS_OPTIONS)) from None


def check_kernel_options(options: BatchOptions) -> None:
    """Check the kernel options once, before the batch: a bad PSF file or bad optics are usage errors, not one
    failure per input. Each input's own pixel size (for the resampling) is only known when it is read; with
    ``--pixel-size`` the check already uses it.
    """
    kinds = kernel_kinds(vars(options))
    unknown = [kind for kind in kinds if kind not in KERNEL_SOURCES]
    if unknown:  # batch() from Python takes any text (the command line's choices refuse it)
        raise UsageError(f"kernel must be one of {', '.join(KERNEL_SOURCES)} (once, or once per channel), got "
                         f"{unknown[0]!r}")
    kind = " ".join(dict.fromkeys(kinds))  # as messages name it: "optics", or "optics none" given per channel
    if any(not str(path).strip() for path in options.psf or ()):  # Path("") is the current folder
        raise UsageError("--psf is empty ('': an unset variable?); give the PSF file's path")
    if options.psf and "psf" not in kinds:
        raise UsageError(f"--psf cannot be combined with --kernel {kind}")
    # the model last: --pinhole or --excitation-wavelength alone sets it (to confocal), so it is not what was typed
    optics_options = sorted((name for name in OPTICS_OPTIONS if is_given(getattr(options, name))),
                            key=lambda name: name == "psf_model")
    if optics_options and "optics" not in kinds:
        raise UsageError(f"{option_name(optics_options[0])} applies to a kernel from the optics, not to "
                         f"--kernel {kind}")
    if "psf" in kinds and not options.psf:
        raise UsageError("--kernel psf needs --psf FILE")
    psf_options = ["--psf-pixel-size"] * (options.psf_pixel_size is not None)
    psf_options += ["--measured-psf"] * (options.measured_psf != "auto")
    if psf_options and not options.psf:  # ignored, they would still make a rerun a conflict
        chosen = f"not to --kernel {kind}" if options.kernel is not None else "give the PSF file with --psf FILE"
        raise UsageError(f"{psf_options[0]} applies to a PSF file (--psf), {chosen}")
    if "optics" in kinds:
        check_optics_options(options)
        if options.na is not None and options.pixel_size is not None:  # one error, not one per file
            try:
                for wavelength in options.wavelength:
                    check_pixel_size_for_optics(options.na, wavelength, options.pixel_size)
            except ValueError as error:
                raise UsageError(named_as_options(error, ("pixel_size",))) from None
    measured_psf(options)
    said = set()
    for path in options.psf:
        channel = None
        try:  # every PSF of a file with one per channel, which the inputs' channels take
            channels = psf_channels(path)
            for channel in range(channels) if channels > 1 else [None]:
                try:
                    _, record = kernel_source(KernelChoice("psf", psf_path=path, psf_pixel_size=options.psf_pixel_size,
                                                           measured=measured_psf(options), psf_channel=channel),
                                              options.pixel_size, scale=upscale_factors(options.scale))
                except KernelTooWideError:
                    psf_file = open_psf(path, channel)
                    sized = options.psf_pixel_size is not None or psf_file.pixel_size is not None
                    if options.pixel_size is None and sized:  # made with each input's own pixel size, not as here
                        # with the PSF as sampled at the image's: an input without one fails on its own
                        record = {PSF_FILE_NOTE: psf_file_note(psf_file)}
                    else:
                        raise
                note = record.get(PSF_FILE_NOTE)
                if note and note not in said:  # said once here, not for every file (a cell image chosen by mistake)
                    said.add(note)
                    say(f"note: --psf {path}{'' if channel is None else f' (channel {channel})'}: {note}")
        except (ValueError, TypeError, OSError) as error:
            raise UsageError(f"--psf {path}{'' if channel is None else f' (channel {channel})'}: {error}") from None


