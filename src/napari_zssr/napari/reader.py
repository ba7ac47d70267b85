"""Reader contribution: open a TIFF with its pixel size as the layer scale (napari's own reader sets 1).

It claims every TIFF: napari offers the readers whose file patterns match before any of them looks at the file,
so declining plain TIFFs would not spare the "which reader?" question, and a user who chose this reader for all
``.tif`` files would then get an error for some. Files without a pixel size open with scale 1 ("unknown"), colour
TIFFs as RGB layers.

A file of several image series (a multi-position or multi-well OME-TIFF) opens every series, as Fiji's Bio-Formats
importer does with "open all series": each as that series saved as a file of its own would open (its own axes,
pixel size, channels and OME optics), its layers named as the command line's outputs of it begin ("plate_series2",
0-based: the outputs of a run in napari, saved, then bear the command line's names), with ``series`` in their
metadata. So that a stack or a plate larger than the memory opens, a series of more than :data:`LAZY_BYTES` is read
as napari shows its planes and a run reads them, where its layout lets them be read alone (mapped from the file where
it lies there raw; else, a page a plane, decoded as they are read), and the others are read whole only as far as all
those read fit in :data:`ALL_SERIES_BYTES` (:func:`read_layers`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.units import shown_bytes
from ..io.names import TIFF_SUFFIXES, drop_tiff_suffix, series_name, series_stem
from ..io.ome import PER_CHANNEL_FIELDS, read_optics
from ..io.planes import PlaneSource, ReorderedPlanes
from ..io.series import image_series, image_series_count, image_series_nbytes
from ..io.tiff import TiffImage, opened_series, read_tiff, reads_lazily, run_record, with_written_axes
from .lookup_tables import colormap_of, is_lut

if TYPE_CHECKING:
    import dask.array
    import tifffile

#: metadata of a layer opened from a run's output without a pixel size: its scale counts its input's pixels, not um
INPUT_PIXELS_KEY = "scale_counts_input_pixels"
#: metadata of a layer whose file gives no z spacing, so that its z scale is ImageJ's default of 1 (um)
Z_SPACING_DEFAULT_KEY = "z_spacing_is_imagej_default"
#: metadata of a layer of a file of several image series: which (0-based, as the command line numbers them)
SERIES_KEY = "series"
#: the memory (bytes) the image series of a file of several may take together, read whole, for the reader to open the
#: series after the first (which always opens, as a file of one does); a series that would take the total past it is
#: left out, and those after it, with a warning
ALL_SERIES_BYTES = 4 * 1024**3
#: a series larger than this (bytes) opens lazily, its planes read as they are shown or run (read-only data), where
#: they can be read alone: mapped from the file where it lies there uncompressed in one piece, else where each page of
#: the file holds one plane (a compressed stack: each decoded as it is read); a stack larger than the memory then opens
#: at once. Smaller ones are read whole: writable, and the file is not kept open (on Windows an open file cannot be
#: moved or deleted)
LAZY_BYTES = 1024**3


def scale_counts_input_pixels(metadata: dict) -> bool:
    """Whether a layer's scale (e.g. 0.5 at x2) counts the pixels of the layer a run made it from, not um: a run's
    output of a layer without a pixel size, made in this session or opened from its file. It has no pixel size
    either; a writer must not save that scale as um."""
    if "napari_zssr_version" in metadata:  # a run's own output layer
        return metadata.get("layer_pixel_size_um", 0) is None
    return bool(metadata.get(INPUT_PIXELS_KEY))


def get_reader(path: str | list[str]) -> Callable | None:
    """napari's reader hook: :func:`read_layers` for one TIFF path, None (another reader's turn) for anything else."""
    if isinstance(path, list) or not str(path).lower().endswith(TIFF_SUFFIXES):
        return None
    return read_layers


def read_layers(path: str) -> list[tuple]:
    """The layers of a TIFF: of each of its image series, where it holds several (:func:`series_layers`).

    A series of more than :data:`LAZY_BYTES` whose planes can be read alone opens lazily (:func:`_lazy_data`); any
    other is read whole. The first series always opens; the others open in order as long as all
    those read whole take at most :data:`ALL_SERIES_BYTES` together, from the sizes the file's header gives before
    any is read, so that a large plate does not exhaust the memory where a file of one series would not. Those left
    out are named in a warning (the napari-zssr command line runs every series of a file, one at a time), and so is
    a series that cannot be opened (e.g. complex values, a damaged series), while the others open; a file that
    cannot be read, or none of whose series opens, is a ValueError. Every series is read from one opening of the
    file (:func:`.io.tiff.tiff_file`): each opening parses all of them.
    """
    failure = None
    with opened_series(Path(path)) as (tif, _):  # what goes wrong opening it is the file's: it does not open
        try:
            layers, left, whole_bytes = _all_layers(path, tif)
            count = image_series_count(tif)
        except ValueError as error:  # said as it is, not as opened_series would rename it ("could not read...")
            failure = error
    if failure is not None:
        raise failure
    if left:
        warnings.warn(left_out_note(Path(path).name, count, left, whole_bytes), stacklevel=2)
    return layers


def _all_layers(path: str, tif: tifffile.TiffFile) -> tuple[list[tuple], list[int], int]:
    """:func:`read_layers`' layers of the open file, the series left out for want of memory, and the bytes all the
    series read whole would take."""
    sizes = image_series_nbytes(tif) or [0]  # none but thumbnails: the first is the file's image
    if len(sizes) == 1:
        return series_layers(path, _read_series(path, 0, tif, _lazy(tif, 0, sizes[0])), None, tif), [], 0
    layers: list[tuple] = []
    errors = []
    left = []  # series left out
    held = 0  # bytes of the series read whole so far
    whole = [not _lazy(tif, series, size) for series, size in enumerate(sizes)]
    for series, size in enumerate(sizes):
        if series and whole[series] and held + size > ALL_SERIES_BYTES:
            left.append(series)
            continue
        try:
            layers += series_layers(path, _read_series(path, series, tif, not whole[series]), series, tif)
            held += size if whole[series] else 0
        except ValueError as error:  # this series alone (e.g. complex values): the others open
            errors.append(error)
            warnings.warn(f"{series_name(Path(path).name, series)} was not opened: {error}", stacklevel=3)
    if not layers:
        raise ValueError(f"none of the image series of {Path(path).name} could be opened: {errors[0]}")
    return layers, left, sum(size for size, read in zip(sizes, whole) if read)


def _lazy(tif: tifffile.TiffFile, series: int, size: int) -> bool:
    """Whether image series ``series`` (``size`` bytes) opens lazily rather than read whole: large, and stored so
    that its planes can be read alone (:func:`.io.tiff.reads_lazily`)."""
    return size > LAZY_BYTES and reads_lazily(image_series(tif, series))


def left_out_note(name: str, count: int, left: list[int], whole_bytes: int) -> str:
    """What the reader says of the image series ``left`` out of the ``count`` of file ``name``, whose series read
    whole would take ``whole_bytes`` together, over :data:`ALL_SERIES_BYTES`."""
    which = f"series {left[0]} was" if len(left) == 1 else f"series {', '.join(map(str, left))} were"
    return (f"{name} holds {count} image series (positions, wells...); {which} not opened: read whole, they would "
            f"take {shown_bytes(whole_bytes)} of memory, over the reader's {shown_bytes(ALL_SERIES_BYTES)}. "
            "The napari-zssr command line runs every series of a file; to look at the others here, split the file "
            "(e.g. with Fiji's Bio-Formats importer)")


def _read_series(path: str, series: int, opened: tifffile.TiffFile, lazy: bool) -> TiffImage:
    """Image series ``series`` of the open file, read ``lazy`` (:func:`_lazy`: :func:`_lazy_data`) or whole, as the
    reader shows it (the axes of length 1 this package wrote put back)."""
    image = read_tiff(path, series=series, opened=opened, mapped=lazy)
    return with_written_axes(replace(image, data=_lazy_data(image.data)) if lazy else image)


def _lazy_data(planes: PlaneSource) -> np.ndarray | dask.array.Array:
    """A lazily read series as napari shows it: an array mapped from the file as it is (where its values are this
    machine's), any other plane source (:func:`.io.tiff.read_tiff` with ``mapped``: a compressed stack's pages, a
    big-endian mapping, Fiji's signed 16-bit values converted) as a dask array of one chunk a plane, each read as it
    is shown or run, in this machine's byte order (a writer would take another order for another type)."""
    if isinstance(planes, np.ndarray) and planes.dtype.isnative:
        return planes
    import dask.array  # napari's own dependency

    native = planes.dtype.newbyteorder("=")
    source = ReorderedPlanes(planes, range(len(planes.shape) - 2), native)
    leading = len(planes.shape) - 2

    def plane(block_info: dict) -> np.ndarray:
        index = tuple(start for start, _ in block_info[None]["array-location"][:leading])
        return source[index][(None,) * leading]

    chunks = tuple((1,) * side for side in planes.shape[:leading]) + tuple((side,) for side in planes.shape[-2:])
    return dask.array.map_blocks(plane, chunks=chunks, dtype=native, meta=np.empty((0,) * len(planes.shape), native))


def series_layers(path: str, image: TiffImage, series: int | None = None,
                  opened: tifffile.TiffFile | None = None) -> list[tuple]:
    """The layers of ``image``, read from ``path``: the file, or its image series ``series`` of several (None: a
    file of one), with what a file of that series alone would give, its name and metadata saying which series;
    ``opened``: ``path`` already open, where its other series are read from it too."""
    if np.issubdtype(image.data.dtype, np.complexfloating):  # napari's own error on it is a bare NotImplementedError
        raise ValueError(f"{Path(path).name} holds complex values, which napari cannot show: save their magnitude "
                         "(np.abs) or their real part")
    data, axes = image.data, image.axes
    known_axes = len(axes) == data.ndim and (axes.count("C") + axes.count("S")) <= 1
    if known_axes and "T" in axes and "Z" in axes and axes.index("Z") < axes.index("T"):
        # time before z, as ImageJ and napari order them: z is the axis a z-stack's time points are stacks along,
        # and axial mode restores the axis before y and x (an OME file may store ZTYX)
        data = data.swapaxes(axes.index("Z"), axes.index("T"))
        axes = axes.replace("Z", "t").replace("T", "Z").replace("t", "T")
    rgb = known_axes and axes.endswith("S") and data.shape[-1] in (3, 4)
    layer_axes = axes[:-1] if rgb else axes.replace("S", "C")  # one letter per layer axis, a channel axis included
    scale = [1.0] * (data.ndim - 1 if rgb else data.ndim)
    record = run_record(image.description)
    # an uncalibrated output of a run counts its input's pixels, so that it overlays its input (opened here too)
    input_pixels = None if image.pixel_size is not None or record is None else record.get("pixels_per_input_pixel")
    # on Y and X wherever they are (a colour-sample axis may follow them)
    y, x = (layer_axes.index("Y"), layer_axes.index("X")) if "Y" in layer_axes and "X" in layer_axes else (-2, -1)
    if image.pixel_size is not None:
        scale[y], scale[x] = image.pixel_size
    elif input_pixels is not None:
        scale[y], scale[x] = 1 / input_pixels[0], 1 / input_pixels[1]
    metadata: dict = {"source_path": str(path), "axes": axes}
    if series is not None:  # two series of one file are two inputs, as in the command line
        metadata[SERIES_KEY] = series
    if input_pixels is not None:
        metadata[INPUT_PIXELS_KEY] = True
    if image.z_spacing_default and "Z" in layer_axes:  # an axial run's factor would rest on it: the run says so
        metadata[Z_SPACING_DEFAULT_KEY] = True
    if record is not None:  # a napari-zssr output: the run that made it (not as a run's own layer's metadata, so a
        metadata["zssr_record"] = record  # later run still leaves this file's layer be)
    optics = read_optics(path, series or 0, opened)
    if optics is not None:  # the widget offers these as the defaults of a kernel "from optics"
        metadata["optics"] = asdict(optics)
    # a series' layers "plate_series2" (channels: "plate_series2 DAPI"), as the command line's outputs of it begin
    kwargs: dict = {"name": series_stem(drop_tiff_suffix(Path(path)), series).name, "metadata": metadata, "rgb": rgb}
    if not known_axes:
        return [(data, {**kwargs, "scale": scale, "translate": _translate(image, layer_axes, scale)}, "image")]
    if "Z" in layer_axes:  # in um, or, in a file without calibration, in lateral pixels (its own, or its input's)
        z_step_pixels = image.z_step_pixels and image.z_step_pixels * scale[x]
        scale[layer_axes.index("Z")] = image.z_spacing or z_step_pixels or 1.0
    if image.frame_interval is not None and "T" in layer_axes:
        scale[layer_axes.index("T")] = image.frame_interval  # seconds
    if "C" in layer_axes:
        kwargs["channel_axis"] = layer_axes.index("C")
        channels = data.shape[kwargs["channel_axis"]]
        kwargs["metadata"] = channel_metadata(metadata, channels)
        names = image.channel_names
        if len(set(names)) == channels:  # "cells DAPI", not "cells [1]"
            kwargs["name"] = [f"{kwargs['name']} {name}" for name in names]
        del scale[kwargs["channel_axis"]]
        layer_axes = layer_axes.replace("C", "")
    if not rgb:
        kwargs.update(display_of(image.display, data.shape[kwargs["channel_axis"]] if "channel_axis" in kwargs else 0,
                                 kwargs["name"]))
    kwargs["scale"] = scale
    kwargs["translate"] = _translate(image, layer_axes, scale)
    kwargs["axis_labels"] = list(layer_axes)
    # an axis whose size the file does not give stays in napari's "pixel" (an axial run then asks for it); a z
    # spacing in um beside pixels of unknown size keeps its unit, so that it is not read as lateral pixels
    units = ["µm" if axis in "YX" and image.pixel_size is not None or axis == "Z" and image.z_spacing
             else "s" if axis == "T" and image.frame_interval else "pixel" for axis in layer_axes]
    if any(unit != "pixel" for unit in units):
        kwargs["units"] = units
    return [(data, kwargs, "image")]


def display_of(display: dict, channels: int, names: str | list[str]) -> dict:
    """The colormap and contrast limits of the file's ImageJ display settings (``display``: as :class:`TiffImage`
    reads them), as the layer's keyword arguments: each channel's (``channels`` of them; 0: a layer without a
    channel axis), where the file gives them all (a range for each channel that has one), so that a Fiji composite
    opens in its own colours and ranges."""
    count = channels or 1
    if isinstance(names, str):  # each colormap named after its layer, as napari numbers unnamed channels' layers
        names = [f"{names} [{channel}]" for channel in range(count)] if channels else [names]
    kwargs: dict = {}
    luts = display.get("LUTs")
    if isinstance(luts, list) and len(luts) == count and all(is_lut(lut) for lut in luts):
        colormaps = [colormap_of(lut, f"{name} LUT") for lut, name in zip(luts, names)]
        kwargs["colormap"] = colormaps if channels else colormaps[0]
    # ImageJ keeps one channel's range as min and max, a file that keeps a channel axis of 1 too
    ranges = display.get("Ranges") if count > 1 or "Ranges" in display else [display.get("min"), display.get("max")]
    try:
        limits = [(float(ranges[2 * channel]), float(ranges[2 * channel + 1])) for channel in range(count)]
    except (TypeError, ValueError, IndexError):  # none, or not one (low, high) pair per channel
        return kwargs
    # a channel whose range is no range (a blank channel's 0-0, as ImageJ sets it) opens in napari's own limits; the
    # others keep theirs
    own = [(low, high) if low < high else None for low, high in limits]
    if len(ranges) == 2 * count and any(own):
        kwargs["contrast_limits"] = own if channels else own[0]
    return kwargs


def channel_metadata(metadata: dict, channels: int) -> list[dict]:
    """Each channel layer's metadata: its channel index and the file's count of channels (so that a PSF file of one PSF
    per channel is used only where it has as many), and the optics with that channel's own wavelengths, acquisition
    mode and pinhole (where the file gives one per channel), so that a kernel from the optics of channel 2 uses
    channel 2's emission."""
    layers = []
    for channel in range(channels):
        own = {**metadata, "channel": channel, "channels": channels}
        optics = metadata.get("optics")
        if optics is not None:
            own["optics"] = {**optics, **{key: [optics[key][channel]] for key in PER_CHANNEL_FIELDS
                                          if len(optics.get(key) or ()) == channels}}
        layers.append(own)
    return layers


def _translate(image: TiffImage, axes: str, scale: list[float]) -> list[float]:
    """Where ImageJ's calibration origin puts the first pixel, ``-origin * scale`` on Z, Y and X: a super-resolved
    output (whose origin keeps the outer edges in place) then overlays its input."""
    origin = {"Z": image.z_origin, "Y": image.origin[0], "X": image.origin[1]}
    return [-origin.get(axis, 0.0) * size for axis, size in zip(axes, scale)]
