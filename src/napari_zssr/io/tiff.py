"""TIFF stacks read with their axes and pixel size (ImageJ or OME metadata) by tifffile; written by :mod:`.imagej`."""

from __future__ import annotations

import json
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ..core.units import PLAUSIBLE_PIXEL_UM, tidy
from .planes import PlaneSource, ReorderedPlanes

#: length units understood in metadata, in micrometres.
_UNITS_UM = {"um": 1.0, "µm": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
             "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4,
             "m": 1e6, "meter": 1e6, "pm": 1e-6, "picometer": 1e-6, "\u00e5": 1e-4, "angstrom": 1e-4,
             "\u00e5ngstr\u00f6m": 1e-4}
#: ResolutionUnit values that are lengths a microscope's sampling is given in (inch and none are not trusted).
_METRIC_RESUNITS = (tifffile.RESUNIT.CENTIMETER, tifffile.RESUNIT.MILLIMETER, tifffile.RESUNIT.MICROMETER)
#: ImageJ metadata that says how a file is shown (composite or colour mode, each channel's LUT and display range;
#: a file of one channel has its range as ``min`` and ``max``)
IMAGEJ_DISPLAY_KEYS = ("mode", "LUTs", "Ranges", "min", "max")
#: entries of an 8-bit palette (a LUT)
LUT_ENTRIES = 256
#: the file name endings of TIFFs (compared in lower case)
TIFF_SUFFIXES = (".tif", ".tiff")
#: the ImageJ property holding the axes a file was written with, where some have length 1 (ImageJ drops those) or
#: where its only axis but Y and X is a channel axis (which ImageJ's metadata writes as it writes unnamed planes)
AXES_PROPERTY = "napari_zssr_axes"
#: ImageJ display modes in which Fiji shows channels together or each in its colour: marks of real channels.
#: "grayscale" marks nothing: tifffile writes it for any "channels" axis, a z-stack saved without axes included
CHANNEL_MODES = ("composite", "color")


def drop_tiff_suffix(path: Path) -> Path:
    """The path without its file type: ``cells.tif`` and ``cells.ome.tif`` both give ``cells`` (the ``.ome`` of an
    OME-TIFF is part of its type, not of its name)."""
    stem = path.with_suffix("")
    return stem.with_suffix("") if stem.suffix.lower() == ".ome" else stem


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
    # drops (:data:`AXES_PROPERTY`): the napari reader puts them back (:func:`with_written_axes`)
    written_layout: str | None = None
    #: the z spacing is ImageJ's default of 1 unit: a calibrated ImageJ stack that gives no ``spacing`` (Fiji reads
    #: its planes 1 unit apart; a script that wrote the pixel size may just have left the z step out)
    z_spacing_default: bool = False
    #: the channel axis is an ImageJ "channels" axis that nothing marks as channels or as z planes
    #: (:func:`channel_reading`): read as channels, though it may be a z-stack saved without axes
    channels_unmarked: bool = False
    #: a value calibration Fiji applies to the stored values (Analyze > Calibrate: ``cf``, ``c0``, ``c1``... ``vunit``
    #: in the ImageJ description), as words; None where there is none, and for a signed 16-bit image, read as the
    #: values it shows (:func:`is_signed_16bit`)
    value_calibration: str | None = None


def length_um(value: float, unit: str | None) -> float | None:
    """``value`` given in ``unit`` (as written in ImageJ or OME metadata; None = micrometres) in micrometres.

    None for a unit that is not a length this module knows (e.g. "pixel" or "inch").
    """
    key = _unit_key(unit or "um").replace("metre", "meter")  # British spellings, and plurals ("nanometres")
    factor = _UNITS_UM.get(key, _UNITS_UM.get(key[:-1]) if len(key) > 3 and key.endswith("s") else None)
    return None if factor is None else value * factor


def _unit_key(unit: str) -> str:
    """A unit as the tables here spell it: lower case, micro as "µ" (ImageJ escapes it as the text "\\u00b5")."""
    return unit.strip().lower().replace("\\u00b5", "µ").replace("\u03bc", "µ")


def _tag_pixel_size(tif: tifffile.TiffFile, page: tifffile.TiffPage) -> tuple[tuple[float, float] | None,
                                                                               float | None]:
    """Pixel size from the resolution tags, read in ImageJ's ``unit`` when it has one, else in ResolutionUnit's.

    ImageJ's ``yunit`` and ``zunit``, written where they differ from its ``unit``, are honoured. Without an ImageJ
    unit, only metric ResolutionUnits (centimetre, millimetre, micrometre) count: an inch unit is
    what non-scientific software writes (72 or 300 dpi, not a microscope's sampling) and "none" has no scale, so
    both mean "unknown" rather than a guess. ``page``: the first page of the series read (a thumbnail stored before
    it has its own resolution).
    """
    meta = tif.imagej_metadata or {}
    if "XResolution" not in page.tags or "YResolution" not in page.tags:
        return None, None
    if "unit" in meta:
        # the tags' own values, per ImageJ's unit, as ImageJ reads them (whatever ResolutionUnit says: ImageJ writes
        # centimetre for "cm"); get_resolution(RESUNIT.NONE) would convert them to pixels per metre
        x_per_unit, y_per_unit = page.get_resolution()
        per_um = [_per_um(y_per_unit, meta.get("yunit", meta["unit"])), _per_um(x_per_unit, meta["unit"])]
    elif page.resolutionunit in _METRIC_RESUNITS:
        x_per_um, y_per_um = page.get_resolution(tifffile.RESUNIT.MICROMETER)
        per_um = [y_per_um, x_per_um]
    else:
        return None, None
    if any(value is None or not 0 < value < float("inf") for value in per_um):
        return None, None
    sizes = (1.0 / per_um[0], 1.0 / per_um[1])
    if sizes == (1.0, 1.0) and "unit" not in meta:
        return None, None  # resolution 1 without a unit is tifffile's/ImageJ's "not calibrated"
    if _plausible_um(sizes[0]) is None or _plausible_um(sizes[1]) is None:
        return None, None
    spacing = meta.get("spacing", 1.0 if _imagej_z_planes(meta) > 1 else None)  # ImageJ leaves out a depth of 1
    # in ImageJ's z unit where it differs (Fiji writes "zunit" so, and this package "pixel" for a z step unknown
    # beside a known pixel size, :func:`.imagej.stage_imagej_tiff`): a z unit that is no length says "unknown"
    z_unit = meta.get("zunit", meta.get("unit"))
    return sizes, (_plausible_um(length_um(float(spacing), z_unit)) if spacing else None)


def _imagej_z_planes(meta: dict) -> int:
    """The z planes of an ImageJ file: ``slices``, or ``images`` in a plain stack (no channels or frames)."""
    try:
        if "slices" in meta or "channels" in meta or "frames" in meta:
            return int(meta.get("slices", 1))
        return int(meta.get("images", 1))
    except (TypeError, ValueError):
        return 1


def _per_um(pixels_per_unit: float, unit: str) -> float | None:
    """Pixels per micrometre from pixels per ``unit`` (None for a unit that is not a length this module knows)."""
    unit_um = length_um(1.0, unit)
    return None if unit_um is None else pixels_per_unit / unit_um


def _plausible_um(value: float | None) -> float | None:
    """``value`` (um) if it can be a microscope's sampling (:data:`PLAUSIBLE_PIXEL_UM`), else None ("unknown"): a
    zero, negative, NaN or absurd size in a file's metadata must not stop a run, nor be written into its outputs.
    Tidied, as frame intervals are: 100000 pm is 0.1 um, not 0.09999999999999999."""
    return tidy(value) if value is not None and PLAUSIBLE_PIXEL_UM[0] <= value <= PLAUSIBLE_PIXEL_UM[1] else None


def _ome_length_um(pixels: ET.Element, axis: str, fallback: str | None = None) -> float | None:
    """``PhysicalSize<axis>`` in um (or ``fallback``'s when the axis has none); None when absent or not usable."""
    name = axis if f"PhysicalSize{axis}" in pixels.attrib or fallback is None else fallback
    text = pixels.attrib.get(f"PhysicalSize{name}")
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return _plausible_um(None if value is None else length_um(value, pixels.attrib.get(f"PhysicalSize{name}Unit")))


def ome_image(root: ET.Element, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> ET.Element | None:
    """The ``Image`` element of the OME-XML ``root`` of ``tif`` that ``series`` was read from (None where it cannot
    be told). tifffile makes a series of each Image that has pixel data, in their order: the Image at the series'
    position where every Image has data, as usual; else the one Image of the series' name (tifffile names a series
    by its Image: a label kept without pixel data, or a position whose file is missing, has no series, and moved
    the later series off their Images); else the first, for the first series. Not always the first Image: an
    overview stored first as a reduced page is passed over (:func:`image_series`), and its pixel size and
    objective are not the image's."""
    images = [element for element in root.iter() if element.tag.endswith("Image")]
    number = next((number for number, each in enumerate(tif.series) if each is series), None)
    if len(images) == len(tif.series) and number is not None:
        return images[number]
    named = [image for image in images if series.name and image.get("Name") == series.name]
    if len(named) == 1:
        return named[0]
    return images[0] if images and number == 0 else None


def ome_pixels(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> ET.Element | None:
    """The ``Pixels`` element of the OME ``Image`` of ``series`` (:func:`ome_image`; None without OME-XML or one)."""
    if not (tif.is_ome and tif.ome_metadata):
        return None
    image = ome_image(ET.fromstring(tif.ome_metadata), tif, series)
    return None if image is None else next((element for element in image if element.tag.endswith("Pixels")), None)


def _ome_pixel_size(pixels: ET.Element | None) -> tuple[tuple[float, float] | None, float | None]:
    if pixels is None:
        return None, None
    x, y = _ome_length_um(pixels, "X"), _ome_length_um(pixels, "Y", fallback="X")
    return ((y, x) if x and y else None), _ome_length_um(pixels, "Z")


def tiff_file(path: str | os.PathLike, opened: tifffile.TiffFile | None = None) -> Any:
    """``with tiff_file(path, opened) as tif``: ``path`` opened, closed after; or ``opened``, the file already open,
    read again and left open. Each opening parses every image series of the file (an OME plate's hundreds of wells),
    so a reader of every series reads them all from one opening: one each made a plate take minutes to open."""
    return nullcontext(opened) if opened is not None else tifffile.TiffFile(path)


@contextmanager
def opened_series(path: Path, index: int = 0, whole_dataset: bool = False, opened: tifffile.TiffFile | None = None,
                  ) -> Iterator[tuple[tifffile.TiffFile, tifffile.TiffPageSeries]]:
    """The open file and its image series ``index`` (:func:`image_series`: 0, the first, as readers read a file; a
    batch reads every position of a file of several by this one path), checked to hold what it announces
    (``whole_dataset``: as :func:`check_complete`); what goes wrong reading it (here or in the ``with`` body) is a
    ``ValueError`` naming the file. ``opened``: the file already open (:func:`tiff_file`)."""
    if opened is None and not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with tiff_file(path, opened) as tif:
            series = image_series(tif, index)
            check_complete(tif, series, path, whole_dataset)
            yield tif, series
    except IncompleteTiffError:
        raise
    except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError, ET.ParseError) as error:
        raise ValueError(f"could not read {path.name} as a TIFF: {error}") from error
    except NotImplementedError as error:  # a RuntimeError: a valid file using a feature tifffile does not read
        raise ValueError(f"could not read {path.name}: it uses a TIFF feature this reader does not support ({error}); "
                         "save it again in another form (e.g. with Fiji, uncompressed or LZW)") from error
    except RuntimeError as error:  # imagecodecs' codecs raise RuntimeErrors of their own on damaged data
        raise ValueError(f"could not read {path.name}: its pixels could not be decoded ({error}); the file may be "
                         "truncated or corrupt (was it still being copied?)") from error


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
    other layout. ``series``: which image series of a file of several (positions, wells: :func:`image_series`),
    with its own axes, calibration and OME metadata; the first unless told. ``whole_dataset``: refuse a multi-file
    OME dataset that has lost a position (:func:`check_complete`), as a batch, which runs every series, does.
    ``opened``: ``path`` already open, to read several series from one opening (:func:`tiff_file`).
    """
    index = series  # the number asked for: ``series`` is the series itself below
    with opened_series(Path(path), index, whole_dataset, opened) as (tif, series):
        if mapped and _mappable(series):
            data = tif.asarray(series=series, out="memmap")
        elif mapped and _one_page_a_plane(series) and "S" not in series.axes:
            data = PagedPlanes(Path(path), tuple(series.shape), series.dtype, index)
        else:
            data = series.asarray()
        pixels = ome_pixels(tif, series)  # parsed once: the axes, the calibration and the frame interval all read it
        axes, channels_unmarked = _named_axes(tif, series, pixels)
        ndim = len(data.shape)
        colours = 0  # colour samples that became channels
        if samples_as_channels:
            as_stored = axes
            axes, order = samples_to_channels(axes, ndim)
            if order != tuple(range(ndim)):  # colour samples moved (never in PagedPlanes)
                data = data.transpose(order)
            if axes != as_stored and series.keyframe.photometric == tifffile.PHOTOMETRIC.RGB:
                colours = data.shape[axes.index("C")]
        elif "S" in axes and len(axes) == ndim and series.keyframe.photometric == tifffile.PHOTOMETRIC.RGB:
            colours = data.shape[axes.index("S")]  # kept as samples: where not an RGB layer, a layer per colour
        axes = image_axes(axes, ndim)
        pixel_size, z_spacing = _calibration(tif, series, pixels)
        imagej = tif.imagej_metadata or {}
        origin = (float(imagej.get("yorigin", 0.0)), float(imagej.get("xorigin", 0.0)))
        z_origin = float(imagej.get("zorigin", 0.0))
        series_count = image_series_count(tif)
        frame_interval = _frame_interval(tif, pixels)
        z_step_pixels = _z_step_pixels(tif, pixel_size)
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
        channels = data.shape[axes.index("C")] if "C" in axes else 1
        ome_luts = _ome_channel_luts(pixels, channels)
        if ome_luts and not display:
            display = {"mode": "composite", "LUTs": ome_luts}
        names = _channel_names(imagej, pixels, channels)
        value_calibration = None
        if is_signed_16bit(imagej, data.dtype):
            data = as_signed_16bit(data)
            # Fiji's display range counts the stored values, 32768 above these: it fits no output
            display = {key: value for key, value in display.items() if key not in ("Ranges", "min", "max")}
        elif imagej.get("cf", IMAGEJ_NO_CALIBRATION) != IMAGEJ_NO_CALIBRATION:
            value_calibration = describe_value_calibration(imagej)
    return TiffImage(data, axes, pixel_size, z_spacing, origin, imagej.get("Info"), z_origin, series_count,
                     frame_interval, z_step_pixels, display, names, _written_layout(imagej),
                     _z_spacing_is_default(tif, z_spacing), channels_unmarked, value_calibration)


#: Fiji's signed 16-bit image: stored as uint16 32768 above its values, with ImageJ's calibration function that
#: shows them as they are (``Calibration.setSigned16BitCalibration``: a straight line, cf=0, c0=-32768, c1=1)
SIGNED_16BIT_OFFSET = 32768


def is_signed_16bit(imagej: dict, dtype: Any) -> bool:
    """Whether an ImageJ TIFF of stored type ``dtype`` (and ``imagej``, tifffile's ``imagej_metadata``) holds a
    signed 16-bit image as Fiji saves one (:data:`SIGNED_16BIT_OFFSET`)."""
    try:
        return (np.dtype(dtype) == np.uint16 and imagej.get("cf") == 0
                and float(imagej.get("c0")) == -SIGNED_16BIT_OFFSET and float(imagej.get("c1")) == 1.0)
    except (TypeError, ValueError):
        return False


#: ImageJ's code for no value calibration (Calibration.NONE), which Fiji writes beside a 32-bit image's value unit
IMAGEJ_NO_CALIBRATION = 20


def describe_value_calibration(imagej: dict) -> str:
    """An ImageJ value calibration (``cf`` the function's code, ``c0``... its coefficients, ``vunit`` its unit) in
    words: "f(x) = 10 + 0.5 x (nM)" for a straight line (code 0), else the code and coefficients."""
    coefficients = [imagej[f"c{index}"] for index in range(10) if f"c{index}" in imagej]
    unit = f" ({imagej['vunit']})" if imagej.get("vunit") else ""
    if imagej.get("cf") == 0 and len(coefficients) == 2:
        return f"f(x) = {coefficients[0]:g} + {coefficients[1]:g} x{unit}"
    return f"ImageJ calibration function {imagej.get('cf')} with coefficients {coefficients}{unit}"


def _signed_plane(plane: Any) -> np.ndarray:
    """Stored uint16 values as the int16 values they stand for (``stored - 32768``, exact)."""
    return (np.asarray(plane) ^ np.uint16(SIGNED_16BIT_OFFSET)).view(np.int16)


def as_signed_16bit(data: PlaneSource) -> PlaneSource:
    """A Fiji signed 16-bit image's stored data as its int16 values: an array read whole converted at once, a mapped or
    paged one plane by plane as its planes are read."""
    if isinstance(data, np.ndarray) and not isinstance(data, np.memmap):
        return _signed_plane(data)
    return ReorderedPlanes(data, range(len(data.shape) - 2), np.int16, _signed_plane)


def _written_layout(imagej: dict) -> str | None:
    """The axes and shape this package wrote an ImageJ file with (:data:`AXES_PROPERTY`, "ZCYX 1,3,64,64"); None
    where it does not give them."""
    properties = imagej.get("Properties")
    layout = properties.get(AXES_PROPERTY) if isinstance(properties, dict) else None
    return layout if isinstance(layout, str) else None


#: the attributes tifffile gives each OME ``Channel`` it writes without being told of channels: nothing of a colour
OME_BARE_CHANNEL = {"ID", "SamplesPerPixel"}


def channel_reading(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, pixels: ET.Element | None) -> str:
    """What the channel axis of a file whose only other axes are Y and X (tifffile's "CYX") holds: "channels",
    "z-stack" or "unmarked"; "channels" for any other file (a file with z planes or time points beside its channels
    says what its C is). ``pixels``: the file's OME ``Pixels`` element (:func:`ome_pixels`).

    tifffile writes any 3D ImageJ array without axes as ``channels=N``, exactly as it writes real channels, and Fiji
    opens both as channels (grey, one at a time). Fiji marks the channels it saves: a composite or colour display
    mode, a display range per channel (``Ranges``, saved for every multichannel image), a LUT each (where they are
    not its default colours) or names (slice labels); this package's writer records such a file's axes
    (:data:`AXES_PROPERTY`). Unmarked planes with a z step (``spacing``) are the z-stack their writer meant:
    ``tifffile.imwrite(path, volume, imagej=True, metadata={'spacing': ...})`` (Fiji writes a spacing beside channels
    too, where the image's voxel depth is set, but marks them as above). Unmarked planes without one may be either.
    An OME file written by tifffile without axes has channels too, bare of any name, colour or wavelength
    (:data:`OME_BARE_CHANNEL`): unmarked; an OME channel that says anything more is a channel."""
    if series.axes != "CYX":
        return "channels"
    if tif.is_ome:
        bare = pixels is not None and all(set(channel.attrib) <= OME_BARE_CHANNEL for channel in _ome_channels(pixels))
        return "unmarked" if bare else "channels"
    meta = tif.imagej_metadata or {}
    if "channels" not in meta:
        return "channels"
    count = series.shape[0]
    luts, ranges = meta.get("LUTs"), meta.get("Ranges")  # one LUT over a stack is a look, as a z-stack has in Fiji
    if (meta.get("mode") in CHANNEL_MODES or isinstance(luts, list) and len(luts) == count
            or isinstance(ranges, (list, tuple)) and len(ranges) == 2 * count or _channel_names(meta, None, count)
            or "C" in (_written_layout(meta) or "").split(" ")[0]):
        return "channels"
    return "z-stack" if "spacing" in meta else "unmarked"


def _named_axes(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries,
                pixels: ET.Element | None) -> tuple[str, bool]:
    """tifffile's axes of ``series``, an ImageJ channel axis that holds z planes named Z, and whether the channel axis
    is unmarked (:func:`channel_reading`): what every reader here names a file's axes by."""
    reading = channel_reading(tif, series, pixels)
    return ("ZYX" if reading == "z-stack" else series.axes), reading == "unmarked"


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
    if (not isinstance(image.data, np.ndarray) or len(axes) != len(shape) or "".join(axes[i] for i in kept) !=
            image.axes or tuple(shape[i] for i in kept) != image.data.shape
            or any(shape[i] != 1 for i in range(len(axes)) if i not in kept)):
        return image
    return replace(image, data=image.data.reshape(shape), axes=axes)


def _channel_names(imagej: dict, pixels: ET.Element | None, channels: int) -> tuple[str, ...]:
    """Each channel's name: OME's ``Channel Name`` (``pixels``: :func:`ome_pixels`), else ImageJ's slice labels
    where the planes of each channel share one (how Fiji names channels; its planes go channel fastest); () where
    the file does not name every channel."""
    if pixels is not None:
        names = [channel.get("Name") for channel in _ome_channels(pixels)]
    else:  # ImageJ's own channels only (not an RGB stack's colours), and a label for every plane
        labels = imagej.get("Labels")
        labels = list(labels) if isinstance(labels, (list, tuple)) else []
        own = int(imagej.get("channels", 1)) == channels and len(labels) == int(imagej.get("images", len(labels)))
        names = labels[:channels] if own and labels and all(label == labels[index % channels]
                                                             for index, label in enumerate(labels)) else []
    return tuple(names) if len(names) == channels and all(isinstance(name, str) and name for name in names) else ()


def _ome_channels(pixels: ET.Element) -> list[ET.Element]:
    """The ``Channel`` elements of an OME ``Pixels`` element, in order."""
    return [element for element in pixels if element.tag.rsplit("}", 1)[-1] == "Channel"]


def _ome_channel_luts(pixels: ET.Element | None, channels: int) -> list[np.ndarray] | None:
    """Each channel's OME ``Color`` (a signed RGBA integer) as an ImageJ LUT, black to that colour, so that a
    multichannel OME file opens, and its outputs save, in the colours Bio-Formats shows; None where a channel has
    none, or all are white (OME's default: grey)."""
    if pixels is None or channels < 2:
        return None
    colours = [channel.get("Color") for channel in _ome_channels(pixels)]
    try:
        rgba = [int(colour) & 0xFFFFFFFF for colour in colours]  # a TypeError where one is missing
    except (TypeError, ValueError):
        return None
    if len(rgba) != channels or all(value >> 8 == 0xFFFFFF for value in rgba):
        return None
    ramp = np.arange(LUT_ENTRIES, dtype=np.float64) / (LUT_ENTRIES - 1)
    return [np.round(np.outer([(value >> shift) & 0xFF for shift in (24, 16, 8)], ramp)).astype(np.uint8)
            for value in rgba]


def _z_step_pixels(tif: tifffile.TiffFile, pixel_size: tuple[float, float] | None) -> float | None:
    """An uncalibrated ImageJ file's z spacing in lateral pixels (:attr:`TiffImage.z_step_pixels`)."""
    if pixel_size is not None or tif.is_ome:
        return None
    return _spacing_in_pixels(tif.imagej_metadata or {})


def _z_spacing_is_default(tif: tifffile.TiffFile, z_spacing: float | None) -> bool:
    """Whether a calibrated z spacing is ImageJ's default: an ImageJ file that gives none (1 unit, as Fiji reads it)."""
    return z_spacing is not None and not tif.is_ome and "spacing" not in (tif.imagej_metadata or {})


def default_z_spacing_note(z_step: str, factor: int) -> str:
    """What a front says of an axial run on a stack whose z spacing is ImageJ's default (:attr:`TiffImage.
    z_spacing_default`), after the file's name and before its own remedy: ``z_step`` as it shows lengths ("1 um")."""
    return (f"gives no z spacing, so its planes are taken {z_step} apart, ImageJ's default (x{factor}; Fiji leaves out "
            "a spacing of 1, and a script may have left out any)")


def _spacing_in_pixels(imagej: dict) -> float | None:
    """ImageJ's ``spacing`` where no length unit is given (none, or "pixel"): a ratio to the lateral pixels."""
    if imagej.get("unit") not in (None, "pixel", "pixels"):
        return None
    try:
        spacing = float(imagej.get("spacing"))
    except (TypeError, ValueError):
        return None
    return spacing if 0 < spacing < float("inf") and spacing != 1.0 else None


#: time units this module reads (OME TimeIncrementUnit values; ImageJ's ``tunit``, as ImageJ writes it or a user
#: types it, lower-cased), in seconds
_TIME_UNITS_S = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3,
                 "millisecond": 1e-3, "milliseconds": 1e-3, "µs": 1e-6, "us": 1e-6, "usec": 1e-6, "µsec": 1e-6,
                 "microsecond": 1e-6, "microseconds": 1e-6, "ns": 1e-9, "min": 60.0, "mins": 60.0, "minute": 60.0,
                 "minutes": 60.0, "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
                 "day": 86400.0, "days": 86400.0}


def _frame_interval(tif: tifffile.TiffFile, pixels: ET.Element | None) -> float | None:
    """Seconds between time points from ImageJ's ``finterval`` (in its ``tunit``, seconds when it has none, as
    ImageJ writes it, or an empty one, as ImageJ reads it) or OME's ``TimeIncrement`` (``pixels``: the OME ``Pixels``
    element, :func:`ome_pixels`), else the planes' OME ``DeltaT`` (:func:`_delta_t_interval`); None when not said,
    in a unit that is not a time (ImageJ lets users type "frame"), or not a positive finite time."""
    imagej = tif.imagej_metadata or {}
    value, unit = imagej.get("finterval"), str(imagej.get("tunit") or "s")
    if value is None and pixels is not None:
        value, unit = pixels.attrib.get("TimeIncrement"), pixels.attrib.get("TimeIncrementUnit", "s")
        if value is None:
            return _delta_t_interval(pixels)
    return _seconds(value, unit)


def _seconds(value: object, unit: str) -> float | None:
    """``value`` in ``unit`` as seconds (tidied: 33.3 ms is 0.0333 s, not 0.033299999999999996); None unless a
    positive finite time."""
    try:
        seconds = float(value) * _TIME_UNITS_S[_unit_key(unit)]
    except (TypeError, ValueError, KeyError):
        return None
    return tidy(seconds) if 0 < seconds < float("inf") else None


def _delta_t_interval(pixels: ET.Element) -> float | None:
    """The median time per time point between the ``DeltaT`` of the time points' first planes (Z 0, C 0), as
    Bio-Formats records the time of each plane where no ``TimeIncrement`` is given; None with fewer than two such
    times."""
    times = {}
    for plane in (element for element in pixels if element.tag.endswith("Plane")):
        attrib = plane.attrib
        if attrib.get("TheZ", "0") == "0" and attrib.get("TheC", "0") == "0" and "DeltaT" in attrib:
            try:
                times[int(attrib.get("TheT", "0"))] = float(attrib["DeltaT"]) * \
                    _TIME_UNITS_S[_unit_key(attrib.get("DeltaTUnit", "s"))]
            except (ValueError, KeyError):
                return None
    if len(times) < 2:
        return None
    points = sorted(times)
    steps = np.diff([times[t] for t in points]) / np.diff(points)  # a time point without its DeltaT skipped
    return _seconds(float(np.median(steps)), "s")


def read_planes(path: str | os.PathLike, start: int, stop: int, series: int = 0,
                whole_dataset: bool = False) -> tuple[np.ndarray, tuple[int, ...]]:
    """Planes ``start:stop`` of a TIFF's first image series (``series``: another) as (planes, C, Y, X), counted in C
    order over its axes but C, Y and X (colour samples are channels, as :func:`read_tiff` with
    ``samples_as_channels`` reads them), and the shape of those axes (where the planes' numbers count).

    Only those planes are read where the file allows it: a contiguous uncompressed file maps them, a file of one
    page per plane (the usual microscope stack, compressed or not) reads their pages; other layouts are read whole.
    A part of a stack split across a cluster's workers thus holds its own planes, not the file. Raises
    ``ValueError`` with the file name, as :func:`read_tiff` (``whole_dataset`` too).
    """
    with opened_series(Path(path), series, whole_dataset) as (tif, series):
        axes = _named_axes(tif, series, ome_pixels(tif, series))[0]
        if _mappable(series):
            part, leading = _part(tif.asarray(series=series, out="memmap"), axes, start, stop)
        elif _one_page_a_plane(series):  # read the part's pages only
            shape = tuple(series.shape)
            numbers = np.arange(len(series.pages)).reshape(shape[:-2] + (1, 1))
            wanted, leading = _part(numbers, axes, start, stop)  # (planes, C, 1, 1)
            pages = tif.asarray(key=[int(n) for n in wanted.ravel()], series=series)
            part = pages.reshape(wanted.shape[:2] + shape[-2:])
        else:
            part, leading = _part(series.asarray(), axes, start, stop)
        return (_signed_plane(part) if is_signed_16bit(tif.imagej_metadata or {}, series.dtype) else part), leading


def _one_page_a_plane(series: tifffile.TiffPageSeries) -> bool:
    """Whether each page of a series holds one of its planes (the usual microscope stack), so that a plane can be
    read, and decoded, alone."""
    shape = tuple(series.shape)
    return tuple(series.keyframe.shape) == shape[-2:] and int(np.prod(shape[:-2], dtype=np.int64)) == len(series.pages)


class PagedPlanes:
    """The planes of a TIFF's image series ``index`` (:func:`image_series`) stored one page a plane, each read (and
    decoded) from the file when it is asked for: a plane source (:mod:`.planes`) of a compressed stack that is never
    read whole."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any, index: int = 0) -> None:
        self._path = path
        self._index = index
        self.shape = shape
        self.dtype = np.dtype(dtype)

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        number = int(np.ravel_multi_index(index, self.shape[:-2])) if len(self.shape) > 2 else 0
        with opened_series(self._path, self._index) as (tif, series):
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


def _mappable(series: tifffile.TiffPageSeries) -> bool:
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


def several_series_note(name: str, count: int) -> str:
    """What a reader of the first of ``count`` image series tells the user (a PSF file's: the napari reader opens
    every series)."""
    return (f"{name} holds {count} image series (positions, wells...); only the first is read: split the file (e.g. "
            "with Fiji's Bio-Formats importer) for the others")


def series_name(name: str, series: int | None) -> str:
    """How messages and layers name a file's image series (0-based): ``name``, with the series where the file holds
    several ("plate.ome.tif (series 2)"; None: a file of one)."""
    return name if series is None else f"{name} (series {series})"


def series_stem(stem: Path, series: int | None) -> Path:
    """The outputs' stem of image series ``series`` of a file of several (``plate_series2``), which the napari reader
    names its layers too (their outputs then save under the command line's names); ``stem`` for a file of one
    (None), whose outputs keep their names."""
    return stem if series is None else stem.with_name(f"{stem.name}_series{series}")


def image_series_nbytes(path: str | os.PathLike, opened: tifffile.TiffFile | None = None) -> list[int]:
    """The bytes each image series of a TIFF (those :func:`image_series_count` counts, in order) takes read whole, from
    its header alone: what a reader that opens every series would hold in memory. Errors as :func:`read_tiff`'s;
    ``opened`` as its."""
    with opened_series(Path(path), opened=opened) as (tif, _):
        return [int(series.nbytes) for series in _image_series(tif)]


def image_series_count(tif: tifffile.TiffFile) -> int:
    """The file's image series (positions, wells...), not counting reduced ones (an LSM file's thumbnails, a slide
    scanner's label and overview images) nor unmarked thumbnails (:func:`_is_thumbnail`)."""
    return len(_image_series(tif))


def image_series(tif: tifffile.TiffFile, index: int) -> tifffile.TiffPageSeries:
    """Image series ``index`` (0-based) of those :func:`image_series_count` counts, by the same rule, so that the
    series a batch runs are the series it counted; series 0 of a file where every series looks like a thumbnail is
    its first. An ``IndexError`` saying how many it holds for an ``index`` past them (the file changed since)."""
    counted = _image_series(tif)
    if not counted and index == 0:
        return tif.series[0]
    if not 0 <= index < len(counted):
        raise IndexError(f"it holds {len(counted)} image series, no series {index}")
    return counted[index]


def _image_series(tif: tifffile.TiffFile) -> list[tifffile.TiffPageSeries]:
    """The file's image series, in order: its series but thumbnails (:func:`_is_thumbnail`). The one rule of which
    series there are, for counting them and for choosing one."""
    return [each for number, each in enumerate(tif.series) if not _is_thumbnail(tif, number)]


def _is_thumbnail(tif: tifffile.TiffFile, number: int) -> bool:
    """Whether series ``number`` is a reduced image, or an unmarked thumbnail: one 8-bit colour page stored before
    a series at least four times its height and width, as some writers store a preview (not in OME files, where
    every image is one of the dataset's, nor a grey page, which may be a small first position)."""
    series = tif.series[number]
    if _is_reduced(series):
        return True
    if tif.is_ome or len(series.pages) != 1 or "S" not in series.axes or series.dtype != np.uint8:
        return False
    height, width = _plane_shape(series)
    later = tif.series[number + 1 :]
    return any(4 * height <= other_height and 4 * width <= other_width for other_height, other_width in
               map(_plane_shape, later))


def _plane_shape(series: tifffile.TiffPageSeries) -> tuple[int, int]:
    shape = dict(zip(series.axes, series.shape))
    return shape.get("Y", 0), shape.get("X", 0)


def _is_reduced(series: tifffile.TiffPageSeries) -> bool:
    try:
        return bool(series.keyframe.is_reduced)
    except (AttributeError, IndexError):
        return False


class IncompleteTiffError(ValueError):
    """A TIFF that holds less than its own metadata announces."""


def check_complete(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, path: Path,
                   whole_dataset: bool = False) -> None:
    """A clear error for a file that does not hold what its own metadata announces, where tifffile would read on:
    a truncated stack (still being copied, a full disk) comes back as its first page, and the planes of a
    multi-file OME dataset whose other files are missing come back as zeros. With ``whole_dataset`` (a batch, which
    runs every image series), also a dataset that has lost a position: an Image kept in a file of its own
    (Micro-Manager's ``_Pos1.ome.tif``) that is not beside ``path`` has no series at all, and the others would run
    as if they were all (numbered among themselves: the same outputs would later be another position's)."""
    master = binary_only_master(tif, path)
    if master is not None:
        what = (f"give {master.name} instead" if master.suffix.lower() in TIFF_SUFFIXES else
                "a companion file this tool does not read: convert the dataset into one OME-TIFF first (e.g. with "
                "bfconvert)")
        raise IncompleteTiffError(f"{path.name} holds only pixel data of a multi-file OME dataset whose metadata "
                                  f"(axes, pixel size, channels) is in {master.name}: {what}")
    announced = int((tif.imagej_metadata or {}).get("images", 0) or 0)
    held = int(np.prod([n for n, axis in zip(series.shape, series.axes) if axis not in "YXS"], dtype=np.int64))
    if announced > held:
        raise IncompleteTiffError(f"{path.name} is truncated or corrupt: its ImageJ header announces {announced} "
                                  f"images, the file holds {held} (was it still being copied, or the disk full?)")
    if pages_go_past_end(tif, series):
        raise IncompleteTiffError(f"{path.name} is truncated or corrupt: its pages go on past the end of the file "
                                  "(was it still being copied, or the disk full?)")
    unread = sum(page is None for page in series.pages) if tif.is_ome else 0
    if unread or (whole_dataset and tif.is_ome and _images_with_data(tif) > len(tif.series)):
        missing = sorted({name for name in ome_file_names(tif) if not (path.parent / name).exists()})
        if missing:
            raise IncompleteTiffError(f"{path.name} is part of a multi-file OME dataset whose file(s) "
                                      f"{', '.join(missing)} are not beside it; keep the dataset's files together")
    if unread:
        raise IncompleteTiffError(f"{unread} of the {len(series.pages)} planes of {path.name}'s OME dataset could not "
                                  "be read from the files its metadata names (changed or unreadable companion files?)")


def pages_go_past_end(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> bool:
    """Whether the file was cut short: its contiguous image data runs past its end, or the last page it holds
    links to a next one past its end (a file whose metadata (OME-XML, tifffile's shape) and later pages were written
    after the part that is there: tifffile stops at such a link, only logging it, and reads what is left as the
    whole image, often its first plane alone). The pages of an ImageJ file are not walked: tifffile has not read
    them (a stack of 100,000 pages, on a network share one read each), and its header's image count is checked."""
    handle = tif.filehandle
    in_this_file = series.keyframe.parent is tif  # not a multi-file OME dataset's companion file
    if series.dataoffset is not None and in_this_file and series.dataoffset + series.nbytes > handle.size:
        return True
    if tif.is_imagej:
        return False
    layout = tif.tiff
    last = tif.pages[len(tif.pages) - 1].offset
    handle.seek(last)
    tags = struct.unpack(layout.tagnoformat, handle.read(layout.tagnosize))[0]
    handle.seek(last + layout.tagnosize + tags * layout.tagsize)
    link = handle.read(layout.offsetsize)
    return len(link) < layout.offsetsize or struct.unpack(layout.offsetformat, link)[0] >= handle.size


def binary_only_master(tif: tifffile.TiffFile, path: Path) -> Path | None:
    """The file holding the metadata of a multi-file OME dataset where ``tif`` is one of its other files written in
    the OME "BinaryOnly" form (its OME-XML names only that file); None for any other TIFF."""
    xml = tif.ome_metadata if tif.is_ome else None
    if not xml or "BinaryOnly" not in xml:
        return None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    element = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "BinaryOnly"), None)
    name = None if element is None else element.get("MetadataFile")
    return None if not name else (Path(path).parent / name).resolve()


def _images_with_data(tif: tifffile.TiffFile) -> int:
    """The Images of an OME-TIFF's metadata that have pixel data (TiffData): each one series, where none is lost."""
    return sum(any(element.tag.endswith("TiffData") for element in image.iter())
               for image in ET.fromstring(tif.ome_metadata).iter() if image.tag.endswith("Image"))


def ome_file_names(tif: tifffile.TiffFile) -> list[str]:
    """The other files a multi-file OME dataset's metadata names (its TiffData UUID FileName attributes), not this
    file's own: a file renamed since it was written names itself by its old name, and is known by its UUID."""
    root = ET.fromstring(tif.ome_metadata)
    own = root.get("UUID")
    return [element.attrib["FileName"] for element in root.iter()
            if element.tag.endswith("UUID") and "FileName" in element.attrib and (element.text or "").strip() != own]


def image_axes(axes: str, ndim: int) -> str:
    """tifffile's axis letters as this package names them: an image sequence (I) is Z; unnamed axes (Q), or letters
    that do not fit the shape, make every leading axis unknown ("Q...QYX"), but colour samples (S) beside Y and X,
    or a channel axis just before them, stay what they are ("Q...QYXS", "Q...QSYX", "Q...QCYX")."""
    letters = axes.replace("I", "Z") if ndim == len(axes) else ""
    if letters and "Q" not in letters:
        return letters
    known = next((end for end in ("YXS", "SYX", "CYX") if letters.endswith(end) and ndim >= 3), "YX")
    return "Q" * (ndim - len(known)) + known


def colour_luts(channels: int) -> list[np.ndarray]:
    """ImageJ LUTs (3 x 256 each) showing RGB channels as red, green and blue; an alpha channel (a fourth) black, so
    that the composite, which adds the channels, is not washed out by it."""
    luts = [np.zeros((3, LUT_ENTRIES), np.uint8) for _ in range(channels)]
    for colour, lut in enumerate(luts[:3]):
        lut[colour] = np.arange(LUT_ENTRIES, dtype=np.uint8)
    return luts


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


def _calibration(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries,
                 pixels: ET.Element | None) -> tuple[tuple[float, float] | None, float | None]:
    """(y, x) pixel size and z spacing in um from OME (``pixels``: its ``Pixels`` element, :func:`ome_pixels`) or
    ImageJ metadata (None where the file does not say)."""
    if tif.is_ome and tif.ome_metadata:
        return _ome_pixel_size(pixels)
    return _tag_pixel_size(tif, series.keyframe)


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
    series_count: int = 1  # the file's image series (:func:`image_series_count`): a batch runs each


def read_header(path: str | os.PathLike, *, samples_as_channels: bool = False, series: int = 0) -> TiffHeader | None:
    """The dtype, shape and axes of a TIFF's first image series (``series``: another), its calibration and the ImageJ
    "Info" text (None when it is not a readable TIFF); ``samples_as_channels`` as :func:`read_tiff`."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = image_series(tif, series)  # the number asked for, then the series itself
            pixels = ome_pixels(tif, series)
            shape, axes = tuple(series.shape), _named_axes(tif, series, pixels)[0]
            if samples_as_channels:
                axes, order = samples_to_channels(axes, len(shape))
                shape = tuple(shape[axis] for axis in order)
            first_page = series.pages[0] if tif.is_ome and len(series.pages) else None
            first_file = None if first_page is None else Path(first_page.parent.filehandle.path).resolve()
            first_file = binary_only_master(tif, Path(path)) or first_file
            calibration = _calibration(tif, series, pixels)
            imagej = tif.imagej_metadata or {}
            dtype = np.dtype(np.int16) if is_signed_16bit(imagej, series.dtype) else np.dtype(series.dtype)
            return TiffHeader(dtype, imagej.get("Info"), shape, axes,
                              *calibration, first_file if first_file != Path(path).resolve() else None,
                              _z_step_pixels(tif, calibration[0]), _z_spacing_is_default(tif, calibration[1]),
                              image_series_count(tif))
    except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError, ET.ParseError):
        return None
