"""What a TIFF's channel axis holds (channels, or a z-stack saved without axes) and its channels' names and
colours (LUTs), from ImageJ or OME metadata. Apart from the readers: the rule that tells channels from z
planes decides the axes every reader, and the batch, gives a file."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import tifffile

from .imagej import written_layout
from .series import ome_name

#: entries of an 8-bit palette (a LUT)
LUT_ENTRIES = 256
#: ImageJ display modes in which Fiji shows channels together or each in its colour: marks of real channels.
#: "grayscale" marks nothing: tifffile writes it for any "channels" axis, a z-stack saved without axes included
CHANNEL_MODES = ("composite", "color")
#: the attributes tifffile gives each OME ``Channel`` it writes without being told of channels: nothing of a colour
OME_BARE_CHANNEL = {"ID", "SamplesPerPixel"}


def channel_reading(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, pixels: ET.Element | None) -> str:
    """What the channel axis of a file whose only other axes are Y and X (tifffile's "CYX") holds: "channels",
    "z-stack" or "unmarked"; "channels" for any other file (a file with z planes or time points beside its channels
    says what its C is). ``pixels``: the file's OME ``Pixels`` element (:func:`.series.ome_pixels`).

    tifffile writes any 3D ImageJ array without axes as ``channels=N``, exactly as it writes real channels, and Fiji
    opens both as channels (grey, one at a time). Fiji marks the channels it saves: a composite or colour display
    mode, a display range per channel (``Ranges``, saved for every multichannel image), a LUT each (where they are
    not its default colours) or names (slice labels); this package's writer records such a file's axes
    (:data:`.imagej.AXES_PROPERTY`). Unmarked planes with a z step (``spacing``) are the z-stack their writer meant:
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
            or isinstance(ranges, (list, tuple)) and len(ranges) == 2 * count or channel_names(meta, None, count)
            or "C" in (written_layout(meta) or "").split(" ")[0]):
        return "channels"
    return "z-stack" if "spacing" in meta else "unmarked"


def named_axes(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries,
               pixels: ET.Element | None) -> tuple[str, bool]:
    """tifffile's axes of ``series``, an ImageJ channel axis that holds z planes named Z, and whether the channel axis
    is unmarked (:func:`channel_reading`): what every reader here names a file's axes by."""
    reading = channel_reading(tif, series, pixels)
    return ("ZYX" if reading == "z-stack" else series.axes), reading == "unmarked"


def channel_names(imagej: dict, pixels: ET.Element | None, channels: int) -> tuple[str, ...]:
    """Each channel's name: OME's ``Channel Name`` (``pixels``: :func:`.series.ome_pixels`), else ImageJ's slice labels
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
    return [element for element in pixels if ome_name(element) == "Channel"]


def ome_channel_luts(pixels: ET.Element | None, channels: int) -> list[np.ndarray] | None:
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


def colour_luts(channels: int) -> list[np.ndarray]:
    """ImageJ LUTs (3 x 256 each) showing RGB channels as red, green and blue; an alpha channel (a fourth) black, so
    that the composite, which adds the channels, is not washed out by it."""
    luts = [np.zeros((3, LUT_ENTRIES), np.uint8) for _ in range(channels)]
    for colour, lut in enumerate(luts[:3]):
        lut[colour] = np.arange(LUT_ENTRIES, dtype=np.uint8)
    return luts
