"""Read a PSF file: TIFF (2D or a z-stack, or one of those per channel: a multicolour bead image, on a channel axis or
as one image series each), ``.npy``, or MATLAB ``.mat`` with a ``Kernel``/``kernel`` variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.io

from ..core.psf_layout import planes_last_likely
from ..core.units import compact_pixel_size, is_whole_number
from .names import TIFF_SUFFIXES, file_path
from .series import several_series_note
from .tiff import TiffImage, kept_open, read_header, read_tiff


@dataclass(frozen=True)
class PsfFile:
    """A PSF file as read: its array, its pixel size in micrometres from the file's metadata (one number for square
    pixels, a (y, x) pair for unequal sides, None when unknown), and a note about how the file was read (several
    image series, of which only the first is read, or which are one PSF per channel; planes taken from its last axis;
    None where there is nothing to say). Of a file with a PSF per channel (a multicolour bead image), ``data`` is the
    PSF of its channel ``channel`` of ``channels``; a file without channels has ``channel`` None and ``channels`` 1.
    ``by_series``: the file's PSFs are its image series, one per channel (:func:`_series_channels`); read without a
    channel (``channel`` None), ``data`` is its first series'."""

    data: np.ndarray
    pixel_size: float | tuple[float, float] | None
    note: str | None = None
    channel: int | None = None
    channels: int = 1
    by_series: bool = False


def read_psf(path: str | os.PathLike,
             channel: int | None = None) -> tuple[np.ndarray, float | tuple[float, float] | None]:
    """Return the PSF array and its pixel size in micrometres from the file's metadata: one number for square
    pixels, a (y, x) pair for unequal sides (averaging them would give the kernel the wrong shape), None when unknown.
    ``channel``: which PSF of a file with one per channel (:func:`open_psf`).

    Raises ``FileNotFoundError`` or ``ValueError`` with a message that names the file and the problem.
    """
    psf = open_psf(path, channel)
    return psf.data, psf.pixel_size


def open_psf(path: str | os.PathLike, channel: int | None = None) -> PsfFile:
    """Read a PSF file (:func:`read_psf`), with the note about the file a run passes on.

    A TIFF whose channel axis holds channels (a multicolour bead image: one PSF per channel) gives the PSF of its
    channel ``channel``, read as that channel saved on its own would be (same pixel size and notes); without
    ``channel`` it is refused with a message saying how to choose one, and so is a ``channel`` past its channels. A
    TIFF of several image series alike (:func:`_series_channels`: a multicolour bead saved one series per channel, as
    some exports store it, or one colour's bead at several positions) gives its series ``channel``; without
    ``channel``, its first, with a note saying so. A file without channels is the PSF of its one channel: ``channel``
    may be None or 0. A channel axis of a few planes marked as neither channels nor z planes is refused whatever
    ``channel`` says (:func:`_channel_axis`).
    """
    path = file_path(path, "the PSF", "; for a PSF array use napari_zssr.kernel_from_psf")
    if path.is_dir():
        raise IsADirectoryError(f"the PSF file {path} is a folder; give the PSF's file itself")
    if not path.is_file():
        raise FileNotFoundError(f"PSF file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        image, axis = _tiff_psf(path)
        series = _series_channels(path, image, axis)
        if series > 1:
            chosen = checked_channel(path, channel, series)
            return _channel_psf(path, *(_tiff_psf(path, series=chosen) if chosen else (image, axis)), chosen, series)
        channels = _channel_count(image, axis)
        if channels > 1 and channel is None:
            raise ValueError(_channels_message(path, image, "channels"))
        return _channel_psf(path, image, axis, checked_channel(path, channel, channels))
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"could not read {path.name} as a .npy array: {error}") from error
        if not isinstance(array, np.ndarray):  # np.load opens an .npz archive whatever its name
            with array:
                names = list(array.files)
            raise ValueError(f"{path.name} is an .npz archive of arrays {names}, not one .npy array; save the PSF "
                             "alone with np.save")
        if array.ndim != 4:  # a 4D array: the PSF's own check says how to give one PSF per channel
            checked_channel(path, channel, 1)
        data, z_last = _planes_first(_numbers(array, path.name), path.name)
        return PsfFile(data, None, z_last)
    if suffix == ".mat":
        try:
            variables = scipy.io.loadmat(path)
        except (OSError, ValueError, EOFError, IndexError, NotImplementedError, scipy.io.matlab.MatReadError) as error:
            raise ValueError(f"could not read {path.name} as a MATLAB file: {error}") from error
        named = [name for name in ("Kernel", "kernel") if name in variables]
        if len(named) == 2:
            raise ValueError(f"{path.name} holds both a 'Kernel' and a 'kernel' variable; keep the PSF's alone")
        if named:
            checked_channel(path, channel, 1)
            kernel = _numbers(np.asarray(variables[named[0]]), f"{path.name}'s variable {named[0]!r}")
            return PsfFile(_planes_first(kernel, path.name, matlab=True)[0], None)
        found = [name for name in variables if not name.startswith("__")]
        raise ValueError(f"{path.name} has no variable named 'Kernel' or 'kernel' (found: {found})")
    raise ValueError(f"unsupported PSF file type {suffix!r} ({path.name}); use .tif/.tiff, .npy or .mat")


def _numbers(array: np.ndarray, where: str) -> np.ndarray:
    """``array``, or a ValueError naming ``where`` when it holds no numbers (a MATLAB cell array or text, a structured
    ``.npy``), which numpy's own conversions would only call "a sequence" or a cast."""
    if array.dtype.kind not in "biufc":  # complex ones are refused later with their own advice
        raise ValueError(f"{where} holds {array.dtype} data (a cell array, text or records?), not an array of "
                         "numbers; save the PSF as a numeric array")
    return array


def open_psf_channels(path: str | os.PathLike) -> list[PsfFile]:
    """Every PSF of the file at ``path``, read once: each channel's of a file with a PSF per channel (as
    :func:`open_psf` reads each), else its one. Raises what :func:`open_psf` raises."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        return [open_psf(path)]
    image, axis = _tiff_psf(path)
    series = _series_channels(path, image, axis)
    if series > 1:
        return [_channel_psf(path, *(_tiff_psf(path, series=number) if number else (image, axis)), number, series)
                for number in range(series)]
    channels = _channel_count(image, axis)
    return [_channel_psf(path, image, axis, channel if channels > 1 else None) for channel in range(channels)]


def psf_channels(path: str | os.PathLike) -> int:
    """How many channels, one PSF each, the PSF file at ``path`` holds (a multicolour bead image: on a channel axis,
    or its image series alike, :func:`_series_channels`); 1 for a file without channels (a 2D image or z-stack, any
    ``.npy`` or ``.mat``). Raises what :func:`open_psf` raises for a file it cannot read (a TIFF whose few planes may
    be channels or a z-stack among them)."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        open_psf(path)  # the file's own errors, or the PSF of its one channel
        return 1
    image, axis = _tiff_psf(path, mapped=True)  # from its layout: its pixels, which open_psf reads, unread
    return max(_series_channels(path, image, axis), _channel_count(image, axis))  # one of them is 1


def psf_series_per_channel(path: str | os.PathLike) -> bool:
    """Whether the PSFs, one per channel, of the PSF file at ``path`` are its image series (:func:`_series_channels`),
    which an image takes one per channel only where it has as many channels (they may be one colour's bead at several
    positions), not a channel axis. Raises what :func:`psf_channels` raises."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        return False
    return _series_channels(path, *_tiff_psf(path, mapped=True)) > 1


def _channel_psf(path: Path, image: TiffImage, axis: int | None, channel: int | None, series: int = 1) -> PsfFile:
    """The PSF of channel ``channel`` (None: of a file without channels) of the PSF TIFF at ``path`` read as
    ``image``, its channels on ``axis`` (:func:`_tiff_psf`); ``series``: the file's image series where they are one
    PSF per channel (:func:`_series_channels`; ``image`` is then series ``channel``, its first for None), else 1."""
    channels = series if series > 1 else _channel_count(image, axis)
    if axis is not None:  # the channel's planes (of an axis of one too)
        image = replace(image, data=np.take(image.data, channel or 0, axis=axis), axes=image.axes.replace("C", ""))
    read = channel if channels > 1 else None
    note = _series_note(path.name, image.series_count, series > 1) if image.series_count > 1 else None
    pixel_size = None if image.pixel_size is None else compact_pixel_size(*image.pixel_size)
    if image.axes[0] not in UNNAMED_AXES:
        return PsfFile(image.data, pixel_size, note, read, channels, series > 1)
    data, z_last = _planes_first(image.data, path.name)  # a bare array saved by tifffile: its first axis unnamed
    return PsfFile(data, pixel_size, "; ".join(each for each in (note, z_last) if each) or None, read, channels,
                   series > 1)


def _series_channels(path: Path, image: TiffImage, axis: int | None) -> int:
    """The image series of the PSF TIFF at ``path`` (read as ``image``, its first, with its channels on ``axis``)
    where they may be one PSF per channel: several, alike (of one shape and axes), none with channels of its own. A
    multicolour bead saved one series per channel (as some exports store it) is such a file, and so is one colour's
    bead taken at several positions: an image takes its series one per channel only where it has as many channels
    (:func:`~napari_zssr.kernel_choice.psf_channel_for`). 1 for any other file."""
    if image.series_count == 1 or axis is not None:
        return 1
    with kept_open([path]):  # one parse of the file for every series' header
        headers = [read_header(path, series=number) for number in range(image.series_count)]
    layouts = {None if header is None else (header.shape, header.axes) for header in headers}
    return image.series_count if len(layouts) == 1 and None not in layouts else 1


def _series_note(name: str, count: int, per_channel: bool) -> str:
    """What a reader of the PSF file ``name`` of ``count`` image series is told: where they are alike
    (``per_channel``, :func:`_series_channels`), which an image takes; else that only the first is read."""
    if not per_channel:
        return several_series_note(name, count)
    return (f"{name} holds {count} image series alike, one PSF each: an image of {count} channels takes series k for "
            "its channel k (a multicolour bead saved one series per channel); for any other image only the first is "
            "read (one colour's bead at several positions?): to use another, save it on its own (e.g. with Fiji's "
            "Bio-Formats importer)")


def _channel_count(image: TiffImage, axis: int | None) -> int:
    """The PSFs of a PSF TIFF read as ``image`` with its channels on ``axis`` (:func:`_tiff_psf`)."""
    return 1 if axis is None else image.data.shape[axis]


def _tiff_psf(path: Path, mapped: bool = False, series: int = 0) -> tuple[TiffImage, int | None]:
    """A PSF TIFF as read (its image series ``series``) and the axis of its channels (None where it has none, or its
    channel axis holds a z-stack), or its refusal: a colour image, or a channel axis that may be channels or planes.
    ``mapped``: its data as :func:`.tiff.read_tiff` maps it (for the channels alone: only the layout is used)."""
    image = read_tiff(path, mapped=mapped, series=series)
    # tifffile writes a (3 or 4, Y, X) array as planar RGB unless told otherwise; a colour photograph is not
    # stored as floats, a PSF z-stack of 3 or 4 planes is
    planar_floats = image.axes == "SYX" and np.issubdtype(image.data.dtype, np.floating)
    if "S" in image.axes and not planar_floats:
        raise ValueError(f"{path.name} is a colour (RGB) image of shape {image.data.shape}; a PSF is a grey "
                         f"2D image or z-stack: save the bead's channel on its own (a z-stack of 3 or 4 planes "
                         f"reads as RGB unless saved with tifffile.imwrite(..., photometric='minisblack'))")
    reading = _channel_axis(image) if "C" in image.axes else "z-stack"
    if reading == "either":
        raise ValueError(_channels_message(path, image, reading))
    return image, image.axes.index("C") if reading == "channels" else None


def checked_channel(path: str | os.PathLike | None, channel: object, channels: int | None = None) -> int | None:
    """``channel`` (None, or a whole number >= 0: a numpy integer as a plain int) of the PSF file at ``path``, which
    holds ``channels`` (None: not known yet); a TypeError for what is no whole number, a ValueError naming the file,
    its channels and ``channel`` for one it does not hold."""
    if channel is None:
        return None
    if not is_whole_number(channel):
        raise TypeError(f"psf_channel must be a whole number >= 0 (the PSF file's channel, counted from 0) or None, "
                        f"got {type(channel).__name__} {channel!r}")
    if channel < 0:
        raise ValueError(f"psf_channel must be a whole number >= 0 (the PSF file's channel, counted from 0) or None, "
                         f"got {channel!r}")
    if channels is not None and channel >= channels:
        held = f"{channels} channels (0-{channels - 1})" if channels > 1 else \
            "1 channel (0: a PSF without a channel axis is the PSF of its one channel)"
        raise ValueError(f"{Path(path).name} holds {held}: it has no channel {channel} (psf_channel={channel})")
    return int(channel)


#: tifffile's names of a first axis that its file does not name (a bare array saved by ``tifffile.imwrite``)
UNNAMED_AXES = "QI"


def _planes_first(array: np.ndarray, name: str, matlab: bool = False) -> tuple[np.ndarray, str | None]:
    """A PSF array of ``name`` with a z-stack's planes first, as this package keeps them, and a note where they were
    moved there against its format's order (None otherwise).

    MATLAB keeps a stack's planes last (Y, X, Z): a ``.mat`` array is moved unless its planes are square and first (one
    saved from numpy with ``scipy.io.savemat``). numpy keeps them first (Z, Y, X); but arrays made in MATLAB's order,
    or stacked on their last axis, keep them last, and a bead's planes are square crops: a ``.npy`` or bare TIFF array
    whose first two sides are equal and whose third differs is moved, with a note (read as it is, its planes would be
    rows of the bead, its kernel a slice through it). A last axis of 3 or 4 stays, for the PSF's check to refuse as
    the colour image such an array is.
    """
    if array.ndim != 3 or array.shape[-1] in (3, 4):
        return array, None
    if matlab:
        square_first = array.shape[1] == array.shape[2] != array.shape[0]
        return (array if square_first else np.moveaxis(array, -1, 0)), None
    if not planes_last_likely(array.shape):
        return array, None
    y, x, z = array.shape
    return np.moveaxis(array, -1, 0), (f"{name} holds a {y} x {x} x {z} array: read as a z-stack of {z} planes of "
                                       f"{y} x {x} pixels kept on its last axis (Y, X, Z), since planes of {x} x {z} "
                                       "would not be square; to say otherwise, save it as a TIFF with its axes "
                                       "named: tifffile.imwrite(path, psf, imagej=True, metadata={'axes': 'ZYX'})")


#: the most planes of an ImageJ "channels" axis, unmarked as to what it holds, that may be a multicolour bead's
#: channels (a TetraSpeck bead has 4 colours); more are taken as the z-stack they nearly always are
MOST_BEAD_COLOURS = 4


def _channel_axis(image: TiffImage) -> str:
    """What the channel axis (C) of a PSF file holds: "channels", "z-stack" or "either".

    The reader's rule (:func:`.channels.channel_reading`) already reads unmarked ImageJ channels with a z step as the
    z-stack they are; of those it leaves unmarked (ImageJ planes without a z step, OME channels bare of any name,
    colour or wavelength), more than a bead has colours are the z-stack they nearly always are, and the few left can
    be either."""
    if not image.channels_unmarked:
        return "channels"
    return "z-stack" if image.data.shape[0] > MOST_BEAD_COLOURS else "either"


def _channels_message(path: Path, image: TiffImage, reading: str) -> str:
    """Why a PSF file with a channel axis is refused: one of ``"channels"`` read without saying which channel's PSF to
    use (and how to say it), or one whose few planes may be channels or a z-stack (``"either"``: how to save the
    channel wanted, or the z-stack, so that it reads as what it is)."""
    channels = image.data.shape[image.axes.index("C")]
    held = f"{path.name} holds {channels} channels (axes {image.axes}, shape {image.data.shape})"
    saved_alone = ("save the channel wanted on its own (Fiji: Image > Color > Split Channels; Python: "
                   "tifffile.imwrite(path, data[channel], imagej=True, ...)) and give one PSF file per channel (--psf "
                   "repeated on the command line)")
    if reading == "channels":
        return (f"{held}, one PSF each (a multicolour bead image): say which channel's PSF to use: "
                "KernelChoice('psf', path, psf_channel=k) or read_psf(path, channel=k) in Python; in napari and "
                "run() a layer opened from channel k of a multichannel file (the napari-zssr reader gives each channel "
                f"its own layer) uses its channel k, and on the command line each channel of an input of {channels} "
                f"channels uses its own (--psf given once). Or {saved_alone}")
    return (f"{held}, but nothing in it says whether they are channels or the planes of a z-stack (tifffile stores a "
            "3D ImageJ or OME array as channels unless told). If they are one PSF per channel (a multicolour bead "
            "image), mark them as channels: save it as a composite (Fiji: Image > Color > Make Composite; Python: "
            "tifffile.imwrite(path, data, imagej=True, metadata={'axes': 'CYX', 'mode': 'composite'})) or, in an OME "
            f"file, name its channels or give their wavelengths; or {saved_alone}. If they are a z-stack, save it with "
            "its axes named (tifffile.imwrite(..., imagej=True, metadata={'axes': 'ZYX'}), or with its z step as "
            "metadata={'spacing': ...})")
