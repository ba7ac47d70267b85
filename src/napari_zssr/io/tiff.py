"""TIFF stacks read with their axes by tifffile: an image whole (:func:`read_tiff`), its header alone
(:func:`read_header`) or some of its planes (:func:`read_planes`, :class:`PagedPlanes`); written by
:mod:`.imagej`. What the metadata says is read beside this module: the physical sizes by :mod:`.calibration`,
the image series and whether a dataset is whole by :mod:`.series`, the channels by :mod:`.channels`, the
values' calibration by :mod:`.value_calibration`."""

from __future__ import annotations

import json
import os
import struct
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .calibration import calibration, frame_interval, z_spacing_is_default, z_step_pixels
from .channels import LUT_ENTRIES, channel_names, colour_luts, named_axes, ome_channel_luts
from .imagej import written_layout
from .planes import PlaneSource, ReorderedPlanes
from .series import (
    IncompleteTiffError,
    binary_only_master,
    check_complete,
    image_series,
    image_series_count,
    ome_pixels,
)
from .value_calibration import (
    IMAGEJ_NO_CALIBRATION,
    as_signed_16bit,
    describe_value_calibration,
    is_signed_16bit,
    signed_plane,
)

#: colour samples (red, green, blue): JPEG-compressed RGB is stored as YCbCr, which tifffile decodes into RGB
COLOUR_PHOTOMETRICS = (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR)

#: ImageJ metadata that says how a file is shown (composite or colour mode, each channel's LUT and display range;
#: a file of one channel has its range as ``min`` and ``max``)
IMAGEJ_DISPLAY_KEYS = ("mode", "LUTs", "Ranges", "min", "max")


@dataclass
class TiffImage:
    data: np.ndarray | PagedPlanes  # PagedPlanes only from read_tiff(mapped=True)
    axes: str  # e.g. "ZYX", "TCYX"; "YX" for a plain 2D image
    pixel_size: tuple[float, float] | None  # (y, x) in micrometres, None when the file does not say
    z_spacing: float | None = None
    origin: tuple[float, float] = (0.0, 0.0)  # ImageJ's (yorigin, xorigin), in pixels
    description: str | None = None  # ImageJ "Info" text, where this project records a run's settings
    z_origin: float = 0.0  # ImageJ's zorigin, in planes
    series_count: int = 1  # image series in the file (positions, wells...), one read (the first unless told)
    frame_interval: float | None = None  # seconds between time points (ImageJ finterval, OME TimeIncrement)
    # an uncalibrated file's z spacing in lateral pixels (ImageJ "spacing" without a unit: what the napari-zssr writer
    # saves for a layer whose only scale is along z); None where the file is calibrated or does not say
    z_step_pixels: float | None = None
    # ImageJ's display settings (``mode``, per-channel ``LUTs`` and ``Ranges``, or one channel's ``min`` and ``max``),
    # so that a Fiji file's outputs open with its colours; empty for other files
    display: dict = field(default_factory=dict)
    # each channel's name (OME Channel Name, or Fiji's slice labels where each channel's planes share one); () where
    # the file does not name every channel
    channel_names: tuple[str, ...] = ()
    # the axes and shape this package wrote the file with where some axes have length 1, which ImageJ's metadata
    # drops (:data:`.imagej.AXES_PROPERTY`): the napari reader puts them back (:func:`with_written_axes`)
    written_layout: str | None = None
    #: the z spacing is ImageJ's default of 1 unit: a calibrated ImageJ stack that gives no ``spacing`` (Fiji reads
    #: its planes 1 unit apart; a script that wrote the pixel size may just have left the z step out)
    z_spacing_default: bool = False
    #: the channel axis is an ImageJ "channels" axis that nothing marks as channels or as z planes
    #: (:func:`.channels.channel_reading`): read as channels, though it may be a z-stack saved without axes
    channels_unmarked: bool = False
    #: a value calibration Fiji applies to the stored values (Analyze > Calibrate: ``cf``, ``c0``, ``c1``... ``vunit``
    #: in the ImageJ description), as words; None where there is none, and for a signed 16-bit image, read as the
    #: values it shows (:func:`.value_calibration.is_signed_16bit`)
    value_calibration: str | None = None


#: what reading a TIFF raises for what the file holds, whoever raises it (tifffile, this package's readers)
READ_ERRORS: tuple[type[Exception], ...] = (tifffile.TiffFileError, ValueError, KeyError, IndexError, ET.ParseError)
#: what tifffile's parsing also raises on a damaged or truncated file (a file cut after a few bytes, a corrupt tag): it
#: unpacks, compares and divides by what the file's bytes say, and allocates what they announce. Taken for the file's
#: fault only where raised in tifffile (:func:`file_fault`): from this package's code they are its own bugs
PARSING_ERRORS: tuple[type[Exception], ...] = (struct.error, TypeError, ZeroDivisionError, AssertionError, MemoryError,
                                               RuntimeError)
#: the packages whose errors reading a TIFF's bytes are the file's fault: tifffile, and the codecs it decodes with
FILE_READING_PACKAGES = ("tifffile", "imagecodecs")


def file_fault(error: Exception) -> bool:
    """Whether ``error``, raised reading a TIFF, is the file's fault (:data:`READ_ERRORS`, or one of
    :data:`PARSING_ERRORS` raised in tifffile or its codecs), not a bug of this package's to let through."""
    if isinstance(error, READ_ERRORS):
        return True
    if not isinstance(error, PARSING_ERRORS):
        return False
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return False
    frame = trace.tb_frame  # a codec's (Cython) frame has no module name, and its package's folder as its file's
    module = frame.f_globals.get("__name__") or Path(frame.f_code.co_filename).parts[0]
    return str(module).split(".")[0] in FILE_READING_PACKAGES


def damage_said(error: Exception) -> str:
    """An error :func:`file_fault` takes for the file's, as words: tifffile's and this package's say what is wrong,
    the others only that the bytes are not what a TIFF holds."""
    if isinstance(error, (tifffile.TiffFileError, ValueError, ET.ParseError)):
        return str(error)
    return f"it looks damaged or truncated ({type(error).__name__}{': ' if str(error) else ''}{error})"


def tiff_file(path: str | os.PathLike, opened: tifffile.TiffFile | None = None) -> Any:
    """``with tiff_file(path, opened) as tif``: ``path`` opened, closed after; or ``opened``, the file already open,
    read again and left open; or, within :func:`kept_open` for ``path``, the opening it keeps. Each opening parses
    every image series of the file (an OME plate's hundreds of wells), so a reader of every series reads them all from
    one opening: one each made a plate take minutes to open."""
    if opened is not None:
        return nullcontext(opened)
    if os.path.abspath(path) in (getattr(_KEPT, "paths", None) or ()):
        return _kept_file(path)
    return tifffile.TiffFile(path)


#: this thread's :func:`kept_open` scope: ``paths``, the files it keeps open, and ``file``, (path, version, TiffFile)
#: of the one it holds open now
_KEPT = threading.local()


@contextmanager
def kept_open(paths: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Within it, the readers of this module (:func:`tiff_file`) in this thread read each of ``paths`` from one
    opening while the file stays as it was (size, modification time, inode); closed on leaving.

    Opening a TIFF parses all its image series: a batch, which reads a plate's wells one job each (their headers,
    then their pixels), parsed the whole plate again for each well, seconds each for hundreds of wells. Only
    ``paths`` (a batch's inputs), never an output read to see whether it is done, which is replaced next (Windows
    cannot replace an open file). The last one read is held (a file's series run one after the other), not every
    one (a batch of thousands of files). Per thread, for a tifffile file is read by seeking its one handle, and a Dask
    worker runs tasks in threads side by side; an open file cannot go to another process, so each task or process
    opens its own."""
    outer = getattr(_KEPT, "paths", None)
    _KEPT.paths = (outer or frozenset()) | {os.path.abspath(path) for path in paths}
    try:
        yield
    finally:
        _KEPT.paths = outer
        if outer is None:
            _close_kept()


@contextmanager
def _kept_file(path: str | os.PathLike) -> Iterator[tifffile.TiffFile]:
    """The opening of ``path`` that :func:`kept_open` holds, opened anew where the file changed or another is held;
    dropped when a read from it fails (a file still being copied is read anew once it is whole)."""
    key = os.path.abspath(path)
    stat = os.stat(key)
    version = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    held = getattr(_KEPT, "file", None)
    if held is None or held[:2] != (key, version):
        _close_kept()
        _KEPT.file = (key, version, tifffile.TiffFile(path))
    try:
        yield _KEPT.file[2]
    except BaseException:
        _close_kept()
        raise


def _close_kept() -> None:
    held = getattr(_KEPT, "file", None)
    _KEPT.file = None
    if held is not None:
        held[2].close()


@contextmanager
def opened_series(path: Path, index: int = 0, whole_dataset: bool = False, opened: tifffile.TiffFile | None = None,
                  ) -> Iterator[tuple[tifffile.TiffFile, tifffile.TiffPageSeries]]:
    """The open file and its image series ``index`` (:func:`.series.image_series`: 0, the first, as readers read a file;
    a batch reads every position of a file of several by this one path), checked to hold what it announces
    (``whole_dataset``: as :func:`.series.check_complete`); what goes wrong reading it (here or in the ``with`` body) is
    a ``ValueError`` naming the file. ``opened``: the file already open (:func:`tiff_file`)."""
    if opened is None and not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if opened is None and path.is_file() and path.stat().st_size == 0:  # tifffile: "not a TIFF file: header=b''"
        raise ValueError(f"{path.name} is empty (0 bytes): was its copy, or its writing, interrupted? Copy it again")
    try:
        with file_faults_named(path.name), tiff_file(path, opened) as tif:
            series = image_series(tif, index)
            check_complete(tif, series, path, whole_dataset)
            yield tif, series
    except OSError as error:
        raise ValueError(f"could not read {path.name} as a TIFF: {error}") from error
    except NotImplementedError as error:  # raised outside tifffile, which file_faults_named leaves to its caller
        raise ValueError(unreadable_said(path.name, error)) from error


@contextmanager
def file_faults_named(name: str, part: str | None = None) -> Iterator[None]:
    """``with file_faults_named(path.name):`` around reading the TIFF ``name``: an error that is the file's fault
    (:func:`file_fault`) comes out as a ``ValueError`` naming the file (:func:`unreadable_said`; ``part``: the part
    of it read, e.g. "the OME metadata", with :func:`damage_said`'s words). OSErrors (a file missing, unreadable),
    this package's own bugs and an :class:`.series.IncompleteTiffError`, which names the file already, pass through
    as they are. The one rule of what a broken TIFF is, for every reader of one."""
    try:
        yield
    except (OSError, IncompleteTiffError):
        raise
    except Exception as error:
        if not file_fault(error):
            raise
        if part is None:
            raise ValueError(unreadable_said(name, error)) from error
        raise ValueError(f"could not read {part} of {name}: {damage_said(error)}") from error


def unreadable_said(name: str, error: Exception) -> str:
    """Why the TIFF ``name`` could not be read, of an ``error`` that is the file's (:func:`file_fault`), or a feature
    of it this reader lacks (a ``NotImplementedError``): what to do about it where there is something to do."""
    if isinstance(error, NotImplementedError):  # a RuntimeError: a valid file using a feature tifffile does not read
        return (f"could not read {name}: it uses a TIFF feature this reader does not support ({error}); save it "
                "again in another form (e.g. with Fiji, uncompressed or LZW)")
    if isinstance(error, MemoryError):  # a file that holds more than the memory, or a damaged one that says so
        return (f"could not read {name}: {error}, more than this machine's memory (a damaged file may announce a size "
                "it does not hold)")
    if isinstance(error, RuntimeError):  # imagecodecs' codecs raise RuntimeErrors of their own on damaged data
        return (f"could not read {name}: its pixels could not be decoded ({error}); the file may be truncated or "
                "corrupt (was it still being copied?)")
    return f"could not read {name} as a TIFF: {damage_said(error)}"


def run_record(info: str | None) -> dict | None:
    """The record of a run that napari-zssr writes into an output's ImageJ Info (JSON with ``napari_zssr_version``);
    None for any other text."""
    try:
        record = json.loads(info) if info else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and "napari_zssr_version" in record else None


def read_tiff(path: str | os.PathLike, *, samples_as_channels: bool = False, mapped: bool = False,
              series: int = 0, whole_dataset: bool = False, opened: tifffile.TiffFile | None = None) -> TiffImage:
    """Read a TIFF with its axes and pixel size; raises ``ValueError`` with the file name when it cannot.

    ``samples_as_channels``: a colour-sample axis (S) comes back as the channel axis C (:func:`samples_to_channels`).
    ``mapped``: the data mapped read-only from a contiguous uncompressed file, or a :class:`PagedPlanes` of a file
    of one page per plane (compressed or not; no colour samples): only the planes used are read; read whole from any
    other layout. ``series``: which image series of a file of several (positions, wells: :func:`.series.image_series`),
    with its own axes, calibration and OME metadata; the first unless told. ``whole_dataset``: refuse a multi-file
    OME dataset that has lost a position (:func:`.series.check_complete`), as a batch, which runs every series, does.
    ``opened``: ``path`` already open, to read several series from one opening (:func:`tiff_file`).
    """
    index = series  # the number asked for: ``series`` is the series itself below
    with opened_series(Path(path), index, whole_dataset, opened) as (tif, series):
        if mapped and mappable(series):
            data = tif.asarray(series=series, out="memmap")
        elif mapped and reads_lazily(series):  # one page a plane
            data = PagedPlanes(Path(path), tuple(series.shape), series.dtype, index)
        else:
            data = series.asarray()
        pixels = ome_pixels(tif, series)  # parsed once: the axes, the calibration and the frame interval all read it
        axes, channels_unmarked = named_axes(tif, series, pixels)
        ndim = len(data.shape)
        colours = 0  # colour samples that became channels
        if samples_as_channels:
            as_stored = axes
            axes, order = samples_to_channels(axes, ndim)
            if order != tuple(range(ndim)):  # colour samples moved (never in PagedPlanes)
                data = data.transpose(order)
            if axes != as_stored and series.keyframe.photometric in COLOUR_PHOTOMETRICS:
                colours = data.shape[axes.index("C")]
        elif "S" in axes and len(axes) == ndim and series.keyframe.photometric in COLOUR_PHOTOMETRICS:
            colours = data.shape[axes.index("S")]  # kept as samples: where not an RGB layer, a layer per colour
        axes = image_axes(axes, ndim)
        pixel_size, z_spacing = calibration(tif, series, pixels)
        imagej = tif.imagej_metadata or {}
        origin = (float(imagej.get("yorigin", 0.0)), float(imagej.get("xorigin", 0.0)))
        z_origin = float(imagej.get("zorigin", 0.0))
        series_count = image_series_count(tif)
        interval = frame_interval(tif, pixels)
        z_step = z_step_pixels(tif, pixel_size)
        display = {key: imagej[key] for key in IMAGEJ_DISPLAY_KEYS if key in imagej}
        if isinstance(display.get("LUTs"), np.ndarray) and display["LUTs"].ndim == 2:  # one channel's, unlisted
            display["LUTs"] = [display["LUTs"]]
        palette = series.keyframe.colormap if series.keyframe.photometric == tifffile.PHOTOMETRIC.PALETTE else None
        if "LUTs" not in display and data.dtype == np.uint8 and np.shape(palette) == (3, LUT_ENTRIES):
            # ImageJ saves an 8-bit image (or stack) of one channel with a LUT as a palette TIFF: the LUT is its
            # colour map (16 bits an entry; some software writes 8-bit values, which tifffile too takes as they are)
            palette = np.asarray(palette)
            display["LUTs"] = [(palette >> 8 if palette.max() > np.iinfo(np.uint8).max else palette).astype(np.uint8)]
        if colours in (3, 4) and not display:  # an RGB(A) picture's outputs show in colour, not as grey channels
            display = {"mode": "composite", "LUTs": colour_luts(colours)}
            if data.dtype == np.uint8:  # each at the full 8-bit range, as shown in colour: a float output's channels
                # were each stretched to their own extremes, a picture's colour balance lost
                display["Ranges"] = (0.0, float(np.iinfo(np.uint8).max)) * colours
        channels = data.shape[axes.index("C")] if "C" in axes else 1
        if "LUTs" not in display and series.keyframe.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            # white is zero (a scan, some brightfield cameras): its outputs, written black is zero, showed inverted
            display["LUTs"] = [np.tile(np.arange(LUT_ENTRIES - 1, -1, -1, dtype=np.uint8), (3, 1))] * channels
        ome_luts = ome_channel_luts(pixels, channels)
        if ome_luts and not display:
            display = {"mode": "composite", "LUTs": ome_luts}
        names = channel_names(imagej, pixels, channels)
        value_calibration = None
        if is_signed_16bit(imagej, data.dtype):
            data = as_signed_16bit(data)
            # Fiji's display range counts the stored values, 32768 above these: it fits no output
            display = {key: value for key, value in display.items() if key not in ("Ranges", "min", "max")}
        elif imagej.get("cf", IMAGEJ_NO_CALIBRATION) != IMAGEJ_NO_CALIBRATION:
            value_calibration = describe_value_calibration(imagej)
    return TiffImage(data, axes, pixel_size, z_spacing, origin, imagej.get("Info"), z_origin, series_count,
                     interval, z_step, display, names, written_layout(imagej),
                     z_spacing_is_default(tif, z_spacing), channels_unmarked, value_calibration)


def with_written_axes(image: TiffImage) -> TiffImage:
    """``image`` with the axes of length 1 this package wrote (:attr:`TiffImage.written_layout`: a single z plane at
    its depth, a time series of one z plane) put back, where its data is still what was written (the same shape once
    those axes are dropped; a file saved again by other software may keep the property for other data)."""
    try:
        axes, shape_text = (image.written_layout or "").split(" ")
        shape = tuple(int(side) for side in shape_text.split(","))
    except ValueError:
        return image
    kept = [index for index, letter in enumerate(axes) if letter in image.axes]
    if (not hasattr(image.data, "reshape") or len(axes) != len(shape) or "".join(axes[i] for i in kept) !=
            image.axes or tuple(shape[i] for i in kept) != image.data.shape
            or any(shape[i] != 1 for i in range(len(axes)) if i not in kept)):
        return image
    return replace(image, data=image.data.reshape(shape), axes=axes)


@dataclass
class TiffHeader:
    """What can be learnt from a TIFF without reading its pixels."""

    dtype: np.dtype
    info: str | None  # ImageJ "Info" text
    shape: tuple[int, ...] = ()  # of the image series read (the first unless another is asked for)
    axes: str = ""  # tifffile's letters for ``shape`` (e.g. "ZCYX", "YXS")
    pixel_size: tuple[float, float] | None = None  # (y, x) in um, as :class:`TiffImage`
    z_spacing: float | None = None  # um
    first_plane_file: Path | None = None  # the file holding the first plane, where it is another (multi-file OME)
    z_step_pixels: float | None = None  # as :class:`TiffImage`
    z_spacing_default: bool = False  # as :class:`TiffImage`
    series_count: int = 1  # the file's image series (:func:`.series.image_series_count`): a batch runs each


def read_header(path: str | os.PathLike, *, samples_as_channels: bool = False, series: int = 0) -> TiffHeader | None:
    """The dtype, shape and axes of a TIFF's first image series (``series``: another), its calibration and the ImageJ
    "Info" text (None when it is not a readable TIFF); ``samples_as_channels`` as :func:`read_tiff`."""
    try:
        with file_faults_named(Path(path).name), tiff_file(path) as tif:
            series = image_series(tif, series)  # the number asked for, then the series itself
            pixels = ome_pixels(tif, series)
            shape, axes = tuple(series.shape), named_axes(tif, series, pixels)[0]
            if samples_as_channels:
                axes, order = samples_to_channels(axes, len(shape))
                shape = tuple(shape[axis] for axis in order)
            first_page = series.pages[0] if tif.is_ome and len(series.pages) else None
            first_file = None if first_page is None else Path(first_page.parent.filehandle.path).resolve()
            first_file = binary_only_master(tif, Path(path)) or first_file
            sizes = calibration(tif, series, pixels)
            imagej = tif.imagej_metadata or {}
            dtype = np.dtype(np.int16) if is_signed_16bit(imagej, series.dtype) else np.dtype(series.dtype)
            return TiffHeader(dtype, imagej.get("Info"), shape, axes,
                              *sizes, first_file if first_file != Path(path).resolve() else None,
                              z_step_pixels(tif, sizes[0]), z_spacing_is_default(tif, sizes[1]),
                              image_series_count(tif))
    except (OSError, ValueError):  # no file, or a broken one (file_faults_named): this package's bugs pass
        return None


def read_planes(path: str | os.PathLike, start: int, stop: int, series: int = 0,
                whole_dataset: bool = False) -> tuple[np.ndarray, tuple[int, ...]]:
    """Planes ``start:stop`` of a TIFF's first image series (``series``: another) as (planes, C, Y, X), counted in C
    order over its axes but C, Y and X (colour samples are channels, as :func:`read_tiff` with
    ``samples_as_channels`` reads them), and the shape of those axes (where the planes' numbers count).

    Only those planes are read where the file allows it: a contiguous uncompressed file maps them, a file whose pages
    each hold whole planes (the usual microscope stack of a page a plane, compressed or not; a page of colour samples
    or of a whole volume) decodes the pages that hold them, each once; other layouts are read whole. A part of a stack
    split across a cluster's workers thus holds its own planes (and their pages), not the file. Raises ``ValueError``
    with the file name, as :func:`read_tiff` (``whole_dataset`` too).
    """
    with opened_series(Path(path), series, whole_dataset) as (tif, series):
        axes = named_axes(tif, series, ome_pixels(tif, series))[0]
        if mappable(series):
            part, leading = _part(tif.asarray(series=series, out="memmap"), axes, start, stop)
        else:
            part, leading = _planes_from_pages(tif, series, axes, start, stop) or \
                _part(series.asarray(), axes, start, stop)
        return (signed_plane(part) if is_signed_16bit(tif.imagej_metadata or {}, series.dtype) else part), leading


def _planes_from_pages(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, axes: str, start: int, stop: int,
                       ) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """Planes ``start:stop`` of a series as :func:`_part` gives them, from the pages that hold them, each decoded
    once; None where its pages do not each hold whole planes along its leading axes. A compressed page is decoded
    whole to read any plane of it: a part of a stack of colour pages, or of a page a volume, decoded every page of
    the stack for its few planes."""
    shape, page_shape = tuple(series.shape), tuple(series.keyframe.shape)
    page_axes = series.keyframe.axes
    outer = len(shape) - len(page_shape)
    if (outer < 0 or shape[outer:] != page_shape or int(np.prod(shape[:outer], dtype=np.int64)) != len(series.pages)
            or "Y" not in page_axes or "X" not in page_axes):
        return None
    rows, columns = outer + page_axes.index("Y"), outer + page_axes.index("X")
    collapsed = tuple(1 if axis in (rows, columns) else length for axis, length in enumerate(shape))
    wanted, leading = _part(np.arange(int(np.prod(collapsed, dtype=np.int64))).reshape(collapsed), axes, start, stop)
    if wanted.shape[-2:] != (1, 1):  # its axes put the rows and columns elsewhere than its pages do
        return None
    where = np.unravel_index(wanted.ravel(), collapsed)  # each plane's position in the series, rows and columns 0
    numbers = np.ravel_multi_index(where[:outer], shape[:outer]) if outer else np.zeros(wanted.size, np.int64)
    needed, page_of_plane = np.unique(numbers, return_inverse=True)
    pages = tif.asarray(key=[int(n) for n in needed], series=series).reshape(len(needed), *page_shape)
    within = tuple(slice(None) if axis in (rows, columns) else where[axis] for axis in range(outer, len(shape)))
    planes = pages[(page_of_plane.ravel(), *within)]  # (planes x C, Y, X): rows before columns in every page layout
    return planes.reshape(wanted.shape[:2] + (shape[rows], shape[columns])), leading


def _one_page_a_plane(series: tifffile.TiffPageSeries) -> bool:
    """Whether each page of a series holds one of its planes (the usual microscope stack), so that a plane can be
    read, and decoded, alone."""
    shape = tuple(series.shape)
    return tuple(series.keyframe.shape) == shape[-2:] and int(np.prod(shape[:-2], dtype=np.int64)) == len(series.pages)


class PagedPlanes:
    """The planes of a TIFF's image series ``index`` (:func:`.series.image_series`) stored one page a plane, each read
    (and decoded) from the file when it is asked for: a plane source (:mod:`.planes`) of a compressed stack that is
    never read whole.

    The file is opened when this is made and kept open until it is dropped, as a mapped file is, so that its planes
    come from the file as it was opened even after it is replaced (an output saved over its own input in napari: a
    file opened anew would give the output's planes, of another shape, as the input's; on Windows an open file cannot
    be replaced, and the save fails instead). The other files of a multi-file OME dataset are opened by name as their
    planes are read. Planes asked for from several threads at once (napari's display, a run) are read in turn."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any, index: int = 0) -> None:
        self._path = path
        self._index = index
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self._file = tifffile.TiffFile(path)
        self._turn = threading.Lock()

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        number = int(np.ravel_multi_index(index, self.shape[:-2])) if len(self.shape) > 2 else 0
        with self._turn, opened_series(self._path, self._index, opened=self._file) as (tif, series):
            # a page in another file of a multi-file OME dataset, which tifffile closes once it has parsed it
            handle = series.pages[number].parent.filehandle
            reopened = handle.closed
            if reopened:
                handle.open()
            try:
                return tif.asarray(key=number, series=series)
            finally:
                if reopened:
                    handle.close()

    def __del__(self) -> None:
        file = getattr(self, "_file", None)  # None where opening it failed
        if file is not None:
            file.close()


def reads_lazily(series: tifffile.TiffPageSeries) -> bool:
    """Whether ``read_tiff(..., mapped=True)`` reads the series as its planes are asked for (mapped, or one page a
    plane) rather than whole."""
    return mappable(series) or (_one_page_a_plane(series) and "S" not in series.axes)


def mappable(series: tifffile.TiffPageSeries) -> bool:
    """Whether a series lies contiguous and uncompressed in its file, so that numpy can map it."""
    return series.dataoffset is not None and series.keyframe.is_memmappable


def _part(data: np.ndarray, axes: str, start: int, stop: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Planes ``start:stop`` of ``data`` (with tifffile's ``axes``) as (planes, C, Y, X), and the shape the planes
    are counted in; only those planes are copied."""
    axes, order = samples_to_channels(axes, data.ndim)
    data = channels_last(data.transpose(order), image_axes(axes, data.ndim))
    leading = data.shape[:-3]
    planes = np.arange(start, min(stop, int(np.prod(leading, dtype=np.int64))))
    if not leading:  # one plane of channels
        return np.array(data[None][planes]), leading
    return np.array(data[np.unravel_index(planes, leading)]), leading


def channels_last(data: PlaneSource, axes: str) -> PlaneSource:
    """``data`` (with this package's ``axes``) as (leading..., C, Y, X), a view: a channel axis of length 1 where it
    has none. An array gives an array; another plane source (:class:`PagedPlanes`) a :class:`.planes.ReorderedPlanes`.
    """
    if "S" in axes:
        raise ValueError(f"the TIFF has both a channel axis and colour samples (axes {axes}); save each "
                         "channel's colours as channels of one C axis")
    if not isinstance(data, np.ndarray):
        leading = axes[:-2]
        return ReorderedPlanes(data, [axis for axis, letter in enumerate(leading) if letter != "C"]
                               + [leading.index("C") if "C" in leading else None])
    if "C" not in axes:
        return data[..., None, :, :]
    return np.moveaxis(data, axes.index("C"), -3)


def image_axes(axes: str, ndim: int) -> str:
    """tifffile's axis letters as this package names them: an image sequence (I) is Z; unnamed axes (Q), or letters
    that do not fit the shape, make every leading axis unknown ("Q...QYX"), but colour samples (S) beside Y and X,
    or a channel axis just before them, stay what they are ("Q...QYXS", "Q...QSYX", "Q...QCYX")."""
    letters = axes.replace("I", "Z") if ndim == len(axes) else ""
    if letters and "Q" not in letters:
        return letters
    known = next((end for end in ("YXS", "SYX", "CYX") if letters.endswith(end) and ndim >= 3), "YX")
    return "Q" * (ndim - len(known)) + known


def samples_to_channels(axes: str, ndim: int) -> tuple[str, tuple[int, ...]]:
    """``axes`` (tifffile's, of an ``ndim``-dimensional series) with a colour-sample axis (S) as the channel axis C in
    ImageJ's place, just before Y and X, and the axis order that moves the data so; unchanged where there is no S,
    already a C, or letters that do not fit the shape.

    An RGB TIFF's colours, and the planes tifffile tags as RGB samples (it writes a (3, Y, X) array so unless told
    ``photometric="minisblack"``), are channels to ZSSR: each is super-resolved on its own.
    """
    order = tuple(range(ndim))
    if "S" not in axes or "C" in axes or len(axes) != ndim:
        return axes, order
    rest = [axis for axis in order if axes[axis] != "S"]
    order = (*rest[:-2], axes.index("S"), *rest[-2:])
    return "".join(axes[axis] for axis in order).replace("S", "C"), order
