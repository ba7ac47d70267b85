"""Where the blur kernel comes from: a PSF file, the microscope's optics, an estimate from the image, or none.

Every front (the widget, ``run()``, the command line) describes the user's choice as a :class:`KernelChoice` and
passes it to :func:`napari_zssr.zssr_stack` (made first where the front checks it: :class:`PreparedKernel`), so the
four sources behave the same everywhere and the source with its parameters is recorded alike in layer metadata and
TIFF descriptions. Each scale step of a run gets the kernel of its own scale (gradual steps): a choice becomes a
function ``scale -> kernel``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .core.choices import KERNEL_SOURCES, KernelKind
from .core.config import ZSSRConfig, is_switch
from .core.degradation import KernelSource, step_kernels
from .core.gaussian import FWHM_PER_SIGMA
from .core.init_weights import file_sha256
from .core.optics import Optics, kernel_from_optics, profile_fwhm, psf_from_optics
from .core.resize import PixelSize, Scale, pixel_pair
from .core.trainer import StopHook
from .core.units import compact_pixel_size, shown_sizes

if TYPE_CHECKING:  # read only where a PSF file is: scipy and tifffile load with it
    from .io.psf import PsfFile


@dataclass(frozen=True)
class KernelChoice:
    """The user's choice of kernel. ``kind``: ``"psf"`` (``psf_path``), ``"optics"`` (``optics``), ``"estimate"``
    (from the image) or ``"none"`` (the bicubic kernel).

    ``psf_channel``: which channel's PSF to use of a PSF file that holds one per channel (a multicolour bead image,
    e.g. a (C, Z, Y, X) TIFF), counted from 0; such a file without it is refused, with a message saying how to choose
    (one of image series alike gives its first: :func:`~napari_zssr.io.psf.open_psf`).
    :meth:`for_channel` chooses it for a channel of an image, as the fronts do. A PSF file without channels is the PSF
    of its one channel, 0: any other ``psf_channel`` is an error there, as a channel past a file's channels is
    (a ValueError naming the file, its channels and the index), rather than a kernel of another colour unsaid.

    ``psf_pixel_size``: the PSF file's pixel size in um, one number or (y, x); None: from the file's metadata.
    ``measured``: whether the PSF is a bead image from the same camera (its pixels' integration is then in it
    already); None: judged from the pixel sizes. ``note``: set by the fronts, kept in the result's kernel record.
    """

    kind: KernelKind = "none"
    psf_path: str | os.PathLike | None = None
    psf_pixel_size: PixelSize | None = None  # um; None: from the PSF file's metadata
    measured: bool | None = None  # is the PSF a bead image from the same camera? None: judged from pixel sizes
    optics: Optics | None = None
    psf_channel: int | None = None  # of a PSF file with a PSF per channel; None: a file without channels
    # what the front took for this choice that the user did not give, and should know (the modality and pinhole of
    # the optics from the image's file's metadata): the kernel's record keeps it as its note
    note: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KERNEL_SOURCES:
            raise ValueError(f"kernel source must be one of {', '.join(KERNEL_SOURCES)}, got {self.kind!r}")
        if self.optics is not None:
            object.__setattr__(self, "optics", Optics.of(self.optics))
        pair = pixel_pair(self.psf_pixel_size, "psf_pixel_size")  # None (from the file) or a clear error
        if pair is not None:  # plain floats, as the run's record writes them to JSON (not numpy's float32)
            object.__setattr__(self, "psf_pixel_size", compact_pixel_size(*pair))
        if is_switch(self.measured):  # Python's for JSON records; kernel_from_psf refuses others
            object.__setattr__(self, "measured", bool(self.measured))
        if self.psf_path is not None and not isinstance(self.psf_path, (str, os.PathLike)):  # not deep in pathlib
            raise TypeError(f"psf_path must be the PSF file's path (a str or pathlib.Path), got "
                            f"{type(self.psf_path).__name__} {self.psf_path!r}")
        if self.kind == "psf" and not self.psf_path:
            raise ValueError("the 'psf' kernel source needs a PSF file")
        if self.kind == "optics" and self.optics is None:
            raise ValueError("the 'optics' kernel source needs the optics (NA, wavelength, ...)")
        if self.psf_channel is not None:
            from .io.psf import checked_channel

            object.__setattr__(self, "psf_channel", checked_channel(self.psf_path, self.psf_channel))
            if self.kind != "psf":
                raise ValueError(f"psf_channel is the channel of a PSF file (the 'psf' kernel source), not of the "
                                 f"{self.kind!r} kernel source")

    def for_channel(self, channel: int | None, channels: int | None = None, count: int | None = None) -> KernelChoice:
        """This choice for channel ``channel`` of an image (:func:`psf_channel_for`, ``count`` too): a PSF file with a
        PSF per channel gives it that channel's; other sources, a PSF file without channels and a ``psf_channel``
        already given stay as they are."""
        if self.kind != "psf" or self.psf_channel is not None:
            return self
        assert self.psf_path is not None  # checked above
        psf_channel = psf_channel_for(self.psf_path, channel, channels, count)
        return self if psf_channel is None else replace(self, psf_channel=psf_channel)


class PsfChannelError(ValueError):
    """A PSF file with a PSF per channel does not fit the channels of the image it is given for."""


def psf_channel_for(path: str | os.PathLike, channel: int | None, channels: int | None = None,
                    count: int | None = None, by_series: bool | None = None) -> int | None:
    """Which channel's PSF channel ``channel`` of an image uses, of the PSF file at ``path``: None for a file without
    channels (its one PSF serves every channel), else the image's own channel, as every front chooses it (the
    widget and ``run()`` for a layer opened from channel ``channel`` of a multichannel file, the command line for each
    channel of an input).

    ``channel``: the image's channel index, None where it has none (a layer not opened channel by channel, an
    array). ``channels``: how many channels the image has, where known (the command line's inputs): a multichannel
    PSF file must then hold as many, else the PSF of channel ``channel`` of one colour would silently serve another.
    A file with channels for an image without a channel index, one past the file's channels, or of another number of
    channels than ``channels``: :class:`PsfChannelError`. A file whose PSFs are its image series (``by_series``,
    :func:`~napari_zssr.io.psf.psf_series_per_channel`: they may be one colour's bead at several positions as well)
    gives an image without a channel index, or of one channel, its first series (None: its note says so). A file that
    cannot be read: the errors of :func:`~napari_zssr.io.psf.open_psf`. ``count`` and ``by_series``: the file's
    channels and where they are, where already read (the widget keeps them for the file as it is), else read here.
    """
    from .io.psf import psf_channels, psf_series_per_channel

    count = psf_channels(path) if count is None else count
    if count == 1:
        return None
    if channel is not None and channel < count and channels in (None, count):
        return channel
    series = psf_series_per_channel(path) if by_series is None else by_series
    if series and (channel is None or channels == 1):
        return None
    name = os.path.basename(os.fspath(path))
    if series:
        image = f"has {channels}" if channels is not None else f"is channel {channel} of its file"
        raise PsfChannelError(f"the PSF file {name} holds {count} image series, one PSF each, which an image of "
                              f"{count} channels takes one per channel (channel k: series k), while the image {image}: "
                              "give a PSF file of one series (or one channel) per channel of the image, or one PSF "
                              "file per channel; if its series are one colour's bead at several positions, save the "
                              "one to use on its own (e.g. with Fiji's Bio-Formats importer)")
    held = f"the PSF file {name} holds {count} channels, one PSF each"
    if channels == 1:
        raise PsfChannelError(f"{held}, while the image has one: give a PSF file of one channel (the bead image of "
                              "this image's colour, saved on its own: Fiji's Image > Color > Split Channels), or "
                              "choose its channel with KernelChoice('psf', path, psf_channel=k) in Python")
    if channels is not None and channels != count:
        raise PsfChannelError(f"{held}, while the image has {channels}: channel k of the image uses PSF channel k, so "
                              f"give a PSF file of {channels} channels, or one PSF file per channel")
    if channel is None:
        raise PsfChannelError(f"{held}, and the image is no channel of a multichannel file, so which PSF is its own is "
                              "unknown: open the image with its channels (the napari-zssr reader gives each channel of "
                              "a multichannel file its own layer, which uses its channel's PSF), choose the channel "
                              "with KernelChoice('psf', path, psf_channel=k), or give a PSF file of one channel")
    raise PsfChannelError(f"{held} (0-{count - 1}), and the image is channel {channel} of its file: give a PSF "
                          "file with a PSF for each of its file's channels, or this channel's PSF on its own")


#: a PSF pixel more than this many times the image's (a bead taken binned): a note that the kernel is too wide
COARSE_PSF_RATIO = 1.5

#: the key of a kernel record's note on the PSF file itself (the same for every image it is used on), beside "note",
#: the notes on this image's run
PSF_FILE_NOTE = "psf_file_note"

@dataclass(frozen=True)
class PreparedKernel:
    """A :class:`KernelChoice` already made into its kernel source and record (:func:`kernel_source`): what a front
    that checks the choice before the run (the batch, for every channel; the widget and ``run()``, on the main
    thread) passes on as ``kernel``, so that the run neither reads the PSF file again nor makes a kernel the check
    made (the source keeps each scale's kernel)."""

    source: KernelSource | None
    record: dict[str, Any]

    @classmethod
    def of(cls, choice: KernelChoice, pixel_size: PixelSize | None, scale: Scale) -> PreparedKernel:
        """``choice`` made for an image of ``pixel_size`` at the run's ``scale`` (a kernel too wide there fails now,
        not once the first plane is read), or the errors of :func:`kernel_source` (the estimate is one: it is made
        from the run's image)."""
        return cls(*kernel_source(choice, pixel_size, scale=scale))


#: what ``zssr``/``zssr_stack`` take as ``kernel``
KernelArgument = np.ndarray | KernelSource | KernelChoice | PreparedKernel | str | None


def kernel_source(choice: KernelChoice, pixel_size: PixelSize | None, image: np.ndarray | None = None, *,
                  scale: Scale, should_stop: StopHook | None = None) -> tuple[KernelSource | None, dict[str, Any]]:
    """``choice`` as a function ``scale -> kernel`` (None: bicubic) and its record for the result's metadata, whose
    note begins with the choice's own.

    ``pixel_size``: the image's, in um (None: unknown). ``image`` is needed for ``"estimate"`` only. ``scale``: the
    run's, whose kernel is made here (and the estimate's). Bad PSF files, bad optics, optics without a pixel size and
    a kernel too wide at that scale raise a ``ValueError``/``FileNotFoundError`` here, before any training starts,
    naming the run's scale. ``should_stop``: the run's Cancel, asked while the estimate reads the image's planes.
    """
    source, record = _source_of(choice, pixel_size, image, scale, should_stop)
    if choice.note:
        record["note"] = "; ".join(note for note in (choice.note, record.get("note")) if note)
    return source, record


def _source_of(choice: KernelChoice, pixel_size: PixelSize | None, image: np.ndarray | None,
               scale: Scale, should_stop: StopHook | None) -> tuple[KernelSource | None, dict[str, Any]]:
    """:func:`kernel_source` but the choice's note."""
    if choice.kind == "none":
        return None, {"source": "none (bicubic)"}
    if choice.kind == "optics":
        optics = choice.optics
        assert optics is not None  # checked by KernelChoice
        if pixel_size is None:
            raise ValueError("a kernel from the optics needs the image's pixel size, which the file's metadata or "
                             "the layer's scale did not say: give it in µm (the widget's 'image pixel (µm)' field, "
                             "pixel_size= in Python, or --pixel-size on the command line)")
        others = {k: v for k, v in optics.to_dict().items() if k not in ("na", "wavelength")}

        def source(scale: Scale) -> np.ndarray:
            return kernel_from_optics(optics.na, optics.wavelength, pixel_size, scale, **others)

        record = {"source": "optics", **optics.to_dict(), "pixel_size_um": pixel_size,
                  "psf_fwhm_px": psf_fwhm_pixels(optics, pixel_size)}
        if (optics.excitation_wavelength or 0.0) > optics.wavelength:  # one-photon excitation is the shorter
            record["note"] = (f"the excitation wavelength ({optics.excitation_wavelength:g} nm) is longer than the "
                              f"emission ({optics.wavelength:g} nm): were the two swapped? (the confocal model is "
                              "of one-photon excitation, which is shorter than the light it excites)")
        return _checked(source, scale), record
    if choice.kind == "estimate":
        return _estimated(image, pixel_size, scale, should_stop)
    from .core.psf import kernel_from_psf
    from .io.psf import open_psf

    psf_file = open_psf(choice.psf_path, choice.psf_channel)
    psf = psf_file.data
    psf_pixel_size = psf_file.pixel_size if choice.psf_pixel_size is None else choice.psf_pixel_size

    def from_file(scale: Scale) -> np.ndarray:  # one size alone is not used (said in the record's note below)
        both = psf_pixel_size is not None and pixel_size is not None
        return kernel_from_psf(psf, psf_pixel_size=psf_pixel_size if both else None,
                               pixel_size=pixel_size if both else None, scale=scale, measured=choice.measured)

    # absolute: the record travels with the outputs, away from the folder a relative path was typed in
    # measured: as given (None: judged from the two pixel sizes beside it), which changes the kernel; the file's
    # checksum: a bead measured again under the same name makes another kernel
    record = {"source": "psf", "psf_path": os.path.abspath(choice.psf_path), "psf_pixel_size_um": psf_pixel_size,
              "pixel_size_um": pixel_size, "measured": choice.measured, "psf_sha256": file_sha256(choice.psf_path)}
    if psf_file.channel is not None:  # one PSF of a file with one per channel
        record.update(psf_channel=psf_file.channel, psf_channels=psf_file.channels)
    notes = []
    if psf_pixel_size is not None and pixel_size is None:
        # resampling needs both sizes: the PSF is taken as sampled at the image's pixels, which a run should say
        notes.append(f"the image's pixel size is unknown, so the PSF's ({psf_pixel_size} um) is not used: the PSF "
                     "is taken as sampled at the image's pixels; give the image's pixel size to resample it (napari: "
                     "the image pixel field or the layer's scale; pixel_size= in Python; --pixel-size)")
    elif psf_pixel_size is None and pixel_size is not None:  # a .npy or .mat PSF, or a TIFF without calibration
        shown = shown_sizes(pixel_pair(pixel_size))
        notes.append(f"the PSF file gives no pixel size, so it is taken as sampled at the image's pixels ({shown} "
                     "um); if it was not, give its pixel size (psf_pixel_size=, --psf-pixel-size, or the widget's "
                     "PSF pixel size)")
    elif psf_pixel_size is not None:
        psf_sides, image_sides = pixel_pair(psf_pixel_size), pixel_pair(pixel_size)
        if any(psf_side > COARSE_PSF_RATIO * side for psf_side, side in zip(psf_sides, image_sides)):
            notes.append(f"the PSF is sampled more coarsely than the image ({shown_sizes(psf_sides)} against "
                         f"{shown_sizes(image_sides)} um, e.g. a bead taken with binning): its own pixels widen it, "
                         "so the kernel comes out too wide and the run over-sharpens; measure the bead at the image's "
                         "sampling or finer")
    if notes:
        record["note"] = "; ".join(notes)
    file_note = psf_file_note(psf_file)
    if file_note:
        record[PSF_FILE_NOTE] = file_note
    return _checked(from_file, scale), record


def psf_file_note(psf_file: PsfFile) -> str | None:
    """What to say about a PSF file itself, not the image it serves (a batch says it once): how it was read, and where
    it does not look like one bead (e.g. a cell image chosen by mistake); None where nothing."""
    from .core.bead_check import bead_problem

    problem = bead_problem(psf_file.data)
    notes = [psf_file.note,
             problem and f"the PSF file does not look like one bead: {problem}; its brightest blob is used"]
    return "; ".join(note for note in notes if note) or None


def _checked(source: KernelSource, scale: Scale) -> KernelSource:
    """``source`` keeping the kernel of each scale once made, computed now at the run's ``scale`` so that bad values
    fail now, naming that scale, not after the first plane is read: a run's steps (and the checks before it) make
    each kernel once."""
    made: dict[tuple[float, ...], np.ndarray] = {}

    def kept(scale: Scale) -> np.ndarray:
        key = tuple(float(factor) for factor in scale)
        if key not in made:
            made[key] = source(key)
        return made[key]

    kept(scale)
    return kept


def _estimate_fell_back(record: dict[str, Any], why: str) -> dict[str, Any]:
    """An estimate's ``record`` for a run without a kernel, and the note saying ``why``."""
    reason = f"{why}; no kernel (bicubic)"
    return {**record, "fallback": reason, "note": f"kernel estimate: {reason}"}


def _estimated(image: np.ndarray | None, pixel_size: PixelSize | None, scale: Scale,
               should_stop: StopHook | None) -> tuple[KernelSource | None, dict[str, Any]]:
    """The blind estimate (once, from up to 8 planes, for the run's ``scale``) as a kernel source, or a clear error
    without an image. A blur too narrow to use, or an image with nothing to read one from (constant, or pure noise:
    an empty channel of a stack), gives no kernel, with a note that says why."""
    from .core.blind import estimate_kernel
    from .core.spectrum import NoStructureError

    if image is None:
        raise ValueError("kernel='estimate' needs the image; pass it to zssr/zssr_stack")
    try:
        estimate = estimate_kernel(image, scale, pixel_size, should_stop=should_stop)
    except NoStructureError as error:
        return None, _estimate_fell_back({"source": "estimate"}, error.reason)
    record = estimate.to_dict()
    if estimate.fallback is not None:
        record["note"] = f"kernel estimate: {estimate.fallback}"
    return (None if estimate.kernel is None else estimate.kernel_for), record


#: how each kernel source is passed as ``kernel``, for the errors on what is not
KERNEL_FORMS = ("a PSF file is KernelChoice('psf', path) (psf= in run()), the optics KernelChoice('optics', "
                "optics=Optics(...)) (optics= in run())")


def named_kernel(kernel: KernelArgument) -> KernelArgument:
    """``kernel`` with the names it may be as what they name: ``"estimate"`` as its :class:`KernelChoice`,
    ``"none"`` as None (the bicubic kernel, as ``--kernel none``). Any other text or a path is a ValueError, the
    optics or an estimate's whole result a TypeError, saying how they are given."""
    from .core.blind import KernelEstimate

    if isinstance(kernel, (Optics, dict)):
        raise TypeError(f"kernel was given the optics ({kernel!r}); {KERNEL_FORMS}")
    if isinstance(kernel, ZSSRConfig):  # zssr(image, 2, config): the third argument is the kernel
        raise TypeError("kernel was given a ZSSRConfig: pass it as config= (zssr's third argument is the kernel)")
    if isinstance(kernel, KernelEstimate):
        raise TypeError("kernel was given an estimate_kernel() result: pass its .kernel, or kernel='estimate' for the "
                        "run to estimate it")
    if not isinstance(kernel, (str, os.PathLike)):
        return kernel
    if kernel == "none":
        return None
    if kernel != "estimate":
        raise ValueError(f"kernel must be an array, a function scale -> kernel, a KernelChoice, 'estimate' or None "
                         f"('none': bicubic); got {kernel!r}: {KERNEL_FORMS}")
    return KernelChoice("estimate")


def run_kernels(kernel: KernelArgument, steps: Sequence[Scale], image: np.ndarray, pixel_size: PixelSize | None,
                should_stop: StopHook | None = None) -> tuple[list[np.ndarray | None], dict[str, Any]]:
    """The kernel of each scale step of a run, and the record of where it came from (see ``zssr`` for ``kernel``);
    a note in the record where the last step's kernel is too wide for the planes, a ValueError where far too wide
    (:func:`wide_kernel_note`), where an estimate falls back to no kernel instead.
    ``should_stop``: the run's Cancel, asked while an estimate reads the image's planes."""
    kernel = named_kernel(kernel)
    if isinstance(kernel, KernelChoice):
        kernel = PreparedKernel(*kernel_source(kernel, pixel_size, image, scale=steps[-1], should_stop=should_stop))
    if isinstance(kernel, PreparedKernel):
        record = dict(kernel.record)  # its own: the note on this run's planes is added below
        kernels = step_kernels(kernel.source, steps)
    else:
        record = {"source": "none (bicubic)" if kernel is None else "function" if callable(kernel) else "array"}
        kernels = step_kernels(kernel, steps)
        if record["source"] == "array":  # which array: its size and a checksum of its normalised values
            final = np.ascontiguousarray(kernels[-1], dtype=np.float64)
            record.update(shape=list(final.shape), crc32=zlib.crc32(final.view(np.uint8).reshape(-1)))
    try:
        wide = None if kernels[-1] is None else wide_kernel_note(kernels[-1], tuple(image.shape[-2:]), steps[-1])
    except KernelTooWideForPlanesError as error:
        if record.get("source") != "estimate":
            raise
        # an estimate falls back, as it does wherever it cannot serve: the user gave no kernel to check
        return [None] * len(steps), _estimate_fell_back(record, str(error))
    if wide:
        record["note"] = "; ".join(note for note in (record.get("note"), wide) if note)
    return kernels, record


class KernelTooWideForPlanesError(ValueError):
    """A kernel whose blur spans more than :data:`REFUSED_KERNEL_SHARE` of the output planes."""


#: a kernel whose blur (FWHM on the HR grid) spans more than this share of the output plane leaves too little of the
#: image to learn from: the output is then unreliable (overshoots of many times the input's range)
WIDE_KERNEL_SHARE = 0.25
#: ...and more than this share is refused: a 59-pixel blur on 64 x 64 output planes gave outputs from -11 to +16
#: times the input's range, said only in a warning
REFUSED_KERNEL_SHARE = 0.5


def wide_kernel_note(kernel: np.ndarray, plane_shape: tuple[int, int], scale: Scale) -> str | None:
    """Why ``kernel`` (on the HR grid of ``scale``) is too wide for planes of ``plane_shape``, or None; a
    :class:`KernelTooWideForPlanesError` where it spans more than :data:`REFUSED_KERNEL_SHARE` of them. Its width is
    that of a Gaussian of the same spread (second moments), which counts an Airy pattern's rings: about twice its
    FWHM."""
    weights = np.asarray(kernel, dtype=np.float64)
    weights = weights / weights.sum()
    widths = []
    for coordinates in np.indices(weights.shape):
        mean = float((weights * coordinates).sum())
        widths.append(FWHM_PER_SIGMA * float(np.sqrt((weights * (coordinates - mean) ** 2).sum())))
    output = [round(side * factor) for side, factor in zip(plane_shape, scale)]
    share = max(width / side for width, side in zip(widths, output))
    if share <= WIDE_KERNEL_SHARE:
        return None
    blur = f"the kernel's blur (about {max(widths):.0f} HR pixels wide, as the FWHM of a Gaussian of its spread)"
    advice = "check the kernel (the HR -> LR blur on the HR grid, at the run's scale) or use larger planes"
    if share > REFUSED_KERNEL_SHARE:
        raise KernelTooWideForPlanesError(f"{blur} spans more than half of the output planes ({output[0]} x "
                                          f"{output[1]} pixels): nothing of the image is left to learn from; {advice}")
    return (f"{blur} spans more than a quarter of the output planes ({output[0]} x {output[1]} pixels): too little of "
            f"the image is left to learn from, so the output is unreliable; {advice}")


def psf_fwhm_pixels(optics: Optics, pixel_size: PixelSize) -> float:
    """FWHM of the optics' PSF in image pixels (their geometric mean for unequal pixel sides), measured on its centre
    row sampled 1/50 of lambda/NA apart; a confocal's pinhole wider than 8 AU, more coarsely in proportion (its disk
    would take the grid past :data:`~.core.optics.MAX_CONFOCAL_GRID`; its PSF is then as wide as a widefield's)."""
    step = optics.wavelength * 1e-3 / optics.na / 50 * max(1.0, (optics.pinhole or 0.0) / 8)
    pixel = pixel_pair(pixel_size)
    assert pixel is not None
    width = profile_fwhm(psf_from_optics(optics, step, size=101)[50]) * step
    return round(float(width) / float(np.sqrt(pixel[0] * pixel[1])), 3)


def describe_optics(record: dict[str, Any]) -> str:
    """The optics of a kernel or axial-profile record, e.g. "NA 1.4, 520 nm, n 1.518, widefield"; a confocal's
    excitation wavelength where one was given and its pinhole ("confocal, excitation 488 nm, pinhole 1 AU")."""
    confocal = [f"excitation {record['excitation_wavelength']:g} nm"] if record.get("excitation_wavelength") else []
    confocal += [f"pinhole {record['pinhole']:g} AU"] if record.get("pinhole") is not None else []
    return ", ".join([f"NA {record['na']:g}", f"{record['wavelength']:g} nm", f"n {record['refractive_index']:g}",
                      record["modality"], *confocal])


def describe_kernel(record: dict[str, Any]) -> str:
    """A short line for a status bar or a log, from a result's kernel record."""
    source = record.get("source", "")
    if source == "optics":
        return f"from the optics ({describe_optics(record)}; PSF FWHM {record['psf_fwhm_px']:.3g} px)"
    if source == "estimate":
        if record.get("fallback"):  # why no kernel was used: a blur too narrow, or nothing to read one from
            return f"from the image: none, {record['fallback']}"
        return f"estimated from the image ({record['model']}, PSF FWHM {record['fwhm_px']:.3g} px)"
    if source == "psf":
        channel = f", channel {record['psf_channel']}" if record.get("psf_channel") is not None else ""
        return f"PSF file {record['psf_path']}{channel}"
    return source or "given"
