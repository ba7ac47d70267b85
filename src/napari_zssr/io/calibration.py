"""The physical sizes a TIFF gives: its pixel size (resolution tags in ImageJ's unit or the TIFF's, or OME's
``PhysicalSize``), its z spacing (and whether it is ImageJ's default, or a step in lateral pixels) and the time
between its frames. Apart from the readers: these rules of units and plausible values are a file's calibration
whichever reader asks (:func:`.tiff.read_tiff`, :func:`.tiff.read_header`), and :mod:`.ome` reads lengths by
them too."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import tifffile

from ..core.units import PLAUSIBLE_PIXEL_UM, tidy

#: length units understood in metadata, in micrometres.
_UNITS_UM = {"um": 1.0, "µm": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
             "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4,
             "m": 1e6, "meter": 1e6, "pm": 1e-6, "picometer": 1e-6, "\u00e5": 1e-4, "angstrom": 1e-4,
             "\u00e5ngstr\u00f6m": 1e-4}
#: ResolutionUnit values that are lengths a microscope's sampling is given in (inch and none are not trusted).
_METRIC_RESUNITS = (tifffile.RESUNIT.CENTIMETER, tifffile.RESUNIT.MILLIMETER, tifffile.RESUNIT.MICROMETER)


def length_um(value: float, unit: str | None) -> float | None:
    """``value`` given in ``unit`` (as written in ImageJ or OME metadata; None = micrometres) in micrometres.

    None for a unit that is not a length this module knows (e.g. "pixel" or "inch").
    """
    key = _unit_key(unit or "um").replace("metre", "meter")  # British spellings, and plurals ("nanometres")
    factor = _UNITS_UM.get(key, _UNITS_UM.get(key[:-1]) if len(key) > 3 and key.endswith("s") else None)
    return None if factor is None else value * factor


def _unit_key(unit: object) -> str:
    """A unit as the tables here spell it: lower case, micro as "µ"; ImageJ's escapes of characters beyond ASCII
    (the text "\\u00B5" for µ, "\\u00C5" for Å) as those characters; a unit that is no text (``unit=5`` in a header)
    as its text, which no table holds: unknown."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda escape: chr(int(escape[1], 16)), str(unit))
    return unescaped.strip().lower().replace("\u03bc", "µ")


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


def _ome_pixel_size(pixels: ET.Element | None) -> tuple[tuple[float, float] | None, float | None]:
    if pixels is None:
        return None, None
    x, y = _ome_length_um(pixels, "X"), _ome_length_um(pixels, "Y", fallback="X")
    return ((y, x) if x and y else None), _ome_length_um(pixels, "Z")


def calibration(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries,
                pixels: ET.Element | None) -> tuple[tuple[float, float] | None, float | None]:
    """(y, x) pixel size and z spacing in um from OME (``pixels``: its ``Pixels`` element, :func:`.series.ome_pixels`)
    or ImageJ metadata or the resolution tags (None where the file does not say). An OME file without a PhysicalSize
    falls back on its resolution tags, as a plain TIFF is read (tifffile writes an OME file's ``resolution=`` there
    alone)."""
    if tif.is_ome and tif.ome_metadata:
        pixel_size, z_spacing = _ome_pixel_size(pixels)
        if pixel_size is None:
            pixel_size = _tag_pixel_size(tif, series.keyframe)[0]
        return pixel_size, z_spacing
    return _tag_pixel_size(tif, series.keyframe)


def z_step_pixels(tif: tifffile.TiffFile, pixel_size: tuple[float, float] | None) -> float | None:
    """An uncalibrated ImageJ file's z spacing in lateral pixels (:attr:`.tiff.TiffImage.z_step_pixels`)."""
    if pixel_size is not None or tif.is_ome:
        return None
    return _spacing_in_pixels(tif.imagej_metadata or {})


def z_spacing_is_default(tif: tifffile.TiffFile, z_spacing: float | None) -> bool:
    """Whether a calibrated z spacing is ImageJ's default: an ImageJ file that gives none (1 unit, as Fiji reads it)."""
    return z_spacing is not None and not tif.is_ome and "spacing" not in (tif.imagej_metadata or {})


def default_z_spacing_note(z_step: str, factor: int) -> str:
    """What a front says of an axial run on a stack whose z spacing is ImageJ's default
    (:attr:`.tiff.TiffImage.z_spacing_default`), after the file's name and before its own remedy: ``z_step`` as it shows
    lengths ("1 um")."""
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


def frame_interval(tif: tifffile.TiffFile, pixels: ET.Element | None) -> float | None:
    """Seconds between time points from ImageJ's ``finterval`` (in its ``tunit``, seconds when it has none, as ImageJ
    writes it, or an empty one, as ImageJ reads it) or OME's ``TimeIncrement`` (``pixels``: the OME ``Pixels`` element,
    :func:`.series.ome_pixels`), else the planes' OME ``DeltaT`` (:func:`_delta_t_interval`); None when not said, in a
    unit that is not a time (ImageJ lets users type "frame"), or not a positive finite time."""
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
