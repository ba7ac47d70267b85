"""Writer contribution: save an image layer as an ImageJ TIFF that keeps its pixel size, z spacing, placement and
axes (napari's own TIFF writer drops them)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..core.units import has_length_units, is_unit_of, measures_no_length, shown_sizes, tidy, um_per_unit
from ..io.channels import LUT_ENTRIES
from ..io.imagej import (
    FLOAT32_DIGITS,
    check_float32_range,
    commit_set,
    float32_loses_precision,
    imagej_dtype,
    imagej_letters,
    write_imagej_tiff,
    written_here,
)
from ..io.names import WRITTEN_TIFF_SUFFIXES, drop_tiff_suffix
from .lookup_tables import lut_of
from .qt_app import qt_running
from .reader import scale_counts_input_pixels

#: the axes assumed for a layer whose axis labels name no such letters (napari's default labels are "-3", "-2"...)
DEFAULT_AXES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}


class LayerNotWritable(Exception):
    """Why a layer cannot be saved by this writer. Not a ValueError: saving with the writer named
    (``viewer.layers.save(path, plugin="napari-zssr")``), napari takes its ValueError for "no writer found" and
    shows only that, so the user would never learn the reason."""


def write_image(path: str, data: Any, attributes: dict) -> list[str]:
    """napari's writer hook for one image layer: an ImageJ TIFF at ``path`` (``.tif`` added where missing) with the
    layer's calibration and the run's record, as the command line writes its outputs, so that a result saved from
    the viewer opens in Fiji at its pixel size and tells how it was made. Layers it cannot write faithfully (RGB,
    complex) are refused with what to use instead."""
    if path.endswith(("/", os.sep)) or Path(path).is_dir():  # a folder: the file in it takes the layer's name
        path = str(Path(path) / _file_name(attributes))
    path = _with_tif_suffix(path)  # napari's Save dialog passes a name typed without one as it is
    array = np.asarray(data[0] if attributes.get("multiscale") else data)
    if attributes.get("rgb"):
        raise LayerNotWritable("RGB layers are not written by the napari-zssr writer; save it with napari's "
                               "built-in TIFF writer")
    if np.issubdtype(array.dtype, np.complexfloating):  # as float32 it would lose its imaginary part
        raise LayerNotWritable("complex values cannot be stored in an ImageJ TIFF: save their magnitude (np.abs) or "
                               "their real part as a layer of their own")
    if array.ndim > 5:
        raise LayerNotWritable(f"ImageJ TIFFs hold at most 5 axes, the layer has {array.ndim}: save it with "
                               "napari's built-in TIFF writer, or drop axes first")
    units = attributes.get("units")
    axis_units = list(units) if units is not None and len(units) == array.ndim else [None] * array.ndim
    axes = _layer_axes(attributes.get("axis_labels"), axis_units)
    # in um (and seconds), as ImageJ's calibration is written: a layer may be scaled in nm or ms
    factors = [_file_unit_factor(unit) for unit in axis_units]
    in_input_pixels, input_pixel = _scale_in_input_pixels(attributes)
    if input_pixel is not None:  # the run was given the input's pixel size: its lengths in um (a z step in
        # pixels too, one already in a length, as an OME file that gives it alone opens, not)
        factors = [input_pixel[0] if axis == "Y" else input_pixel[1] if axis == "X" or (
            axis == "Z" and not is_unit_of(unit, "[length]")) else factor
            for axis, factor, unit in zip(axes, factors, axis_units)]
    correction = _typed_correction(attributes, factors[-2:])
    if correction is not None:  # the run was given a pixel size other than its input layer's scale said
        factors = [factor * correction[0] if axis == "Y" else factor * correction[1] if axis == "X" else factor
                   for axis, factor in zip(axes, factors)]
        typed = shown_sizes(_pair(attributes["metadata"]["typed_pixel_size_um"]))
        _tell(f"{Path(path).name}: saved at the pixel size its run was given (the input's typed as {typed} µm), not "
              "at its layer's scale, which follows the input layer's")
    if in_input_pixels and input_pixel is None and any(measures_no_length(unit) for unit in axis_units[-2:]):
        _tell(f"{Path(path).name}: its y and x units ({', '.join(map(str, axis_units[-2:]))}) are not both lengths, "
              "which an ImageJ TIFF cannot hold: saved without a pixel size")
    scale = [size * factor for size, factor in zip(_per_axis(attributes.get("scale"), 1.0, array.ndim), factors)]
    if not all(np.isfinite(scale)) or 0 in scale:  # no pixel size, and no place for the origin
        raise LayerNotWritable(f"{Path(path).name}: the layer's scale {tuple(scale)} has a size of 0 or not a number "
                               "along an axis; give it its pixel sizes first")
    converted = sorted({str(unit) for unit in axis_units if is_unit_of(unit, "[length]") and um_per_unit(unit) != 1.0})
    if converted:  # the napari-zssr reader opens it in um: beside layers in the layer's unit it would not overlay
        _tell(f"{Path(path).name}: its lengths in {', '.join(converted)} are saved in µm, ImageJ's unit here; it "
              "reopens in µm, so set the other layers' scale in µm too for it to overlay them")
    translate = [shift * factor
                 for shift, factor in zip(_per_axis(attributes.get("translate"), 0.0, array.ndim), factors)]
    for axis in range(array.ndim):
        if scale[axis] < 0:  # a flipped axis: ImageJ has no negative pixel size, so the data is flipped instead
            array = np.flip(array, axis)
            translate[axis] += scale[axis] * (array.shape[axis] - 1)  # the same pixel stays at the same place
            scale[axis] = -scale[axis]
    calibrated = input_pixel is not None if in_input_pixels else scale[-2:] != [1.0, 1.0] or has_length_units(units)
    pixel_size = (scale[-2], scale[-1]) if calibrated else None
    origin = None if translate[-2:] == [0.0, 0.0] else (-translate[-2] / scale[-2], -translate[-1] / scale[-1])
    z_spacing = z_origin = None
    z_unknown = False
    if "Z" in axes:
        z = axes.index("Z")
        # uncalibrated, ImageJ's spacing counts the file's own lateral pixels (the reader's convention); 1 is the
        # default either way
        spacing = tidy(scale[z] if calibrated else scale[z] / scale[-1])  # 0.1, not 0.09999999999999999
        if is_unit_of(axis_units[z], "[length]") and not calibrated and spacing != 1.0:  # um beside unknown pixels
            _tell(f"{Path(path).name}: its z step ({scale[z]:g} µm) is not saved: ImageJ counts a z spacing in the "
                  "pixels of an image without a pixel size; give the layer its pixel size to keep it")
            spacing = 1.0
        z_spacing = spacing if spacing != 1.0 else None
        # z in pixels beside y and x in um: the reader's layer of a file whose z step is unknown (an OME file that
        # does not say), which must not reopen at ImageJ's default of 1 um
        z_unknown = (z_spacing is None and calibrated and has_length_units(units)
                     and not is_unit_of(axis_units[z], "[length]"))
        z_origin = -translate[z] / scale[z] if translate[z] else None
    frame_interval = None
    if "T" in axes:  # 1 with a unit of time is 1 s (or 1 ms...), without one napari's default: unknown
        t = axes.index("T")
        frame_interval = scale[t] if is_unit_of(axis_units[t], "[time]") or scale[t] != 1.0 else None
        if translate[t]:
            _tell(f"{Path(path).name}: its start in time ({translate[t]:g}) is not saved: ImageJ has no time origin, "
                  "so it reopens at 0")
    try:
        check_float32_range(array, "ImageJ TIFFs (float32)")
    except ValueError as error:
        raise LayerNotWritable(f"{Path(path).name}: {error}") from error
    if imagej_dtype(array.dtype) != array.dtype:
        digits = f" ({FLOAT32_DIGITS})" if float32_loses_precision(array.dtype) else ""
        _tell(f"{array.dtype} data cannot be stored in an ImageJ TIFF: {Path(path).name} holds it as float32{digits}")
    if _is_transformed(attributes, array.ndim):
        _tell(f"{Path(path).name}: its rotation, shear or affine transform is not saved (an ImageJ TIFF has none): "
              "it reopens axis-aligned, at its scale and translate")
    try:
        write_imagej_tiff(path, array, axes, pixel_size, z_spacing, info=_run_record_text(attributes),
                          origin=origin, z_origin=z_origin, frame_interval=frame_interval,
                          display=_display(attributes, array.shape[axes.index("C")] if "C" in axes else 1),
                          z_unknown=z_unknown)
    except ValueError as error:
        raise LayerNotWritable(f"{Path(path).name}: {error}") from error
    except OSError as error:  # a folder without write permission, a name too long...
        raise LayerNotWritable(f"could not write {path}: {error.strerror or error}") from error
    return [path]


def write_images(path: str, layers: list[tuple[Any, dict, str]]) -> list[str]:
    """Several image layers into the folder ``path`` (made where missing), each as :func:`write_image` writes it,
    named by its layer (``cells_zssr.tif``), as napari's own "Save to Folder" does with its TIFFs. Every file is
    written before any takes its place: a layer that cannot be saved leaves the folder as it was."""
    folder = Path(path)
    if folder.suffix.lower() in WRITTEN_TIFF_SUFFIXES and not folder.is_dir():  # a file's name typed in the Save dialog
        folder = drop_tiff_suffix(folder)
    names = [_file_name(attributes) for _, attributes, _ in layers]
    # names that differ only in case are one file on macOS's and Windows' disks: one layer's would replace the other's
    folded = [name.casefold() for name in names]
    shared = sorted({name for name, key in zip(names, folded) if folded.count(key) > 1})
    if shared:
        raise LayerNotWritable(f"several layers would be saved as {', '.join(shared)}; rename them first")
    if folder.is_file():
        raise LayerNotWritable(f"{folder} is a file: choose a folder name to save several layers into")
    in_the_way = [name for name in names if (folder / name).exists() and not (folder / name).is_file()]
    if in_the_way:
        raise LayerNotWritable(f"{', '.join(in_the_way)} in {folder} are not files; move them away first")
    # no dialog asks before these are replaced (napari's asks for the name typed, a folder's files it never sees):
    # a file there that napari-zssr did not write (raw data of the same name) is never replaced
    foreign = [name for name in names if (folder / name).is_file() and not written_here(folder / name)]
    if foreign:
        raise LayerNotWritable(f"{folder} already holds {', '.join(foreign)}, which napari-zssr did not write: not "
                               "replaced; save into another folder, or move those files away first")
    made = next((part for part in [*reversed(folder.parents), folder] if not part.exists()), None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".napari-zssr-") as staging:
            for (data, attributes, _), name in zip(layers, names):
                write_image(str(Path(staging) / name), data, attributes)
            commit_set([(Path(staging) / name, folder / name) for name in names])
    except BaseException as error:
        if made is not None:  # the first folder this save made, with all it made inside
            shutil.rmtree(made, ignore_errors=True)
        if isinstance(error, OSError):  # no write permission, a full disk...
            raise LayerNotWritable(f"could not save the layers into {folder}: {error.strerror or error}") from error
        raise
    return [str(folder / name) for name in names]


def _tell(note: str) -> None:
    """A note on what a save could not keep: a notification in napari (its Save dialog shows a writer's warnings
    only when it fails), else a warning."""
    if qt_running():
        from napari.utils.notifications import show_warning  # here: opening a file must not import napari

        show_warning(note)
    else:
        warnings.warn(note, stacklevel=3)


def _display(attributes: dict, channels: int) -> dict:
    """The layer's colormap and contrast limits as ImageJ's display settings (a LUT, and ``min`` and ``max``), so
    that the file opens in Fiji, and here, as the layer looked. A layer with a channel axis (``channels`` > 1) shows
    each channel in its one colormap and limits: each channel gets them, in ImageJ's "color" mode (one channel at a
    time in its LUT, as napari's slider shows them); grey too, written as a grey LUT each: without LUTs, Fiji and the
    reader show channels in their own colours (napari's magenta and green)."""
    display: dict = {}
    lut = lut_of(attributes["colormap"]) if attributes.get("colormap") is not None else None
    if lut is None and channels > 1 and attributes.get("colormap") is not None:
        lut = np.tile(np.arange(LUT_ENTRIES, dtype=np.uint8), (3, 1))
    if lut is not None:
        display["LUTs"] = [lut] * channels
        if channels > 1:
            display["mode"] = "color"
    limits = attributes.get("contrast_limits")
    if limits is not None and len(limits) == 2 and float(limits[0]) < float(limits[1]):
        if channels > 1:
            display["Ranges"] = (float(limits[0]), float(limits[1])) * channels
        else:
            display["min"], display["max"] = float(limits[0]), float(limits[1])
    return display


def _run_record_text(attributes: dict) -> str | None:
    """The record of the run that made the layer (its metadata; or, for a layer opened from a napari-zssr output,
    the record read from it), as JSON for the ImageJ Info, where the command line writes its record too; None for
    other layers."""
    metadata = attributes.get("metadata") or {}
    record = metadata.get("zssr_record") or (metadata if "napari_zssr_version" in metadata else None)
    return None if record is None else json.dumps(record, default=_plain)


def _plain(value: Any) -> Any:
    """A metadata value json cannot write as it is: numpy's as numbers or lists, anything else as its text."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)


def _scale_in_input_pixels(attributes: dict) -> tuple[bool, tuple[float, float] | None]:
    """Whether the layer's scale counts input pixels (:func:`scale_counts_input_pixels`); and the input's (y, x)
    pixel size in um where the run was given one (typed)."""
    metadata = attributes.get("metadata") or {}
    if not scale_counts_input_pixels(metadata) or has_length_units(attributes.get("units")):  # units set since
        return False, None
    typed = metadata.get("input_pixel_size_um")  # as the run took it: one number, or a (y, x) pair
    return True, None if typed is None else _pair(typed)


def _typed_correction(attributes: dict, unit_factors: list[float]) -> tuple[float, float] | None:
    """For a run's output layer whose run was typed a pixel size other than its calibrated input layer's (to correct
    it), the (y, x) factors from the layer's lengths (``unit_factors``: um per unit of y and x) to what the run was
    told; None for any other layer, and for one whose y/x scale is no longer the one the run gave it (the user set
    it since). The layer keeps the input layer's scale, to overlay it; the file carries the size the user said is
    right. A layer reopened from such a file holds the record under "zssr_record", its scale the corrected one."""
    metadata = attributes.get("metadata") or {}
    typed, layer = metadata.get("typed_pixel_size_um"), metadata.get("layer_pixel_size_um")
    scale = attributes.get("scale")
    if "napari_zssr_version" not in metadata or typed is None or layer is None or scale is None:
        return None
    # the layer's y/x scale as the run set it
    given = np.divide(_pair(layer), metadata["pixels_per_input_pixel"])
    if not np.allclose(np.abs(np.multiply(scale[-2:], unit_factors)), given, rtol=1e-6):
        return None
    correction = np.divide(_pair(typed), _pair(layer))
    return None if np.allclose(correction, 1.0, rtol=1e-9) else (float(correction[0]), float(correction[1]))


def _pair(size: Any) -> tuple[float, float]:
    """A recorded pixel size (one number, or a (y, x) pair) as a (y, x) pair of floats. Not core.resize's
    as_scale_pair: that module imports torch, which opening and saving a file in napari must not load."""
    y, x = (size, size) if np.ndim(size) == 0 else size
    return float(y), float(x)


def _file_unit_factor(unit: Any) -> float:
    """What one ``unit`` of a layer is in the file's units: um for lengths, seconds for times, else 1."""
    if is_unit_of(unit, "[time]"):
        return float((1 * unit).to("second").magnitude)
    return um_per_unit(unit)


def _per_axis(values: Any, default: float, ndim: int) -> list[float]:
    """A layer attribute with one value per axis (scale, translate); ``default`` where absent."""
    if values is None or len(values) != ndim:
        return [default] * ndim
    return [float(value) for value in values]


def _layer_axes(labels: Any, units: list[Any]) -> str:
    """The layer's axes as ImageJ letters: its axis labels where they name distinct letters of TZCYX, Y and X last (as
    the reader sets them; :func:`write_imagej_tiff` puts the leading ones in ImageJ's order), else the default axes
    for the dimension count, with T where one leading axis has a unit of time (``units``: one per axis)."""
    ndim = len(units)
    letters = "".join(str(label).upper() for label in labels) if labels is not None and len(labels) == ndim else ""
    if len(letters) == ndim and imagej_letters(letters):
        return letters
    timed = [axis for axis in range(ndim - 2) if is_unit_of(units[axis], "[time]")]
    if len(timed) != 1:
        return DEFAULT_AXES[ndim]
    others = iter(letter for letter in DEFAULT_AXES[ndim][:-2] if letter != "T")
    return "".join("T" if axis in timed else next(others) for axis in range(ndim - 2)) + "YX"


def _is_transformed(attributes: dict, ndim: int) -> bool:
    """Whether the layer has a rotation, shear or affine transform besides its scale and translate."""
    identity = np.eye(ndim), np.zeros(ndim * (ndim - 1) // 2), np.eye(ndim + 1)
    for key, plain in zip(("rotate", "shear", "affine"), identity):
        value = attributes.get(key)
        if value is None:
            continue
        value = np.asarray(value, dtype=float)
        if value.shape == plain.shape and not np.allclose(value, plain) or value.shape != plain.shape and value.any():
            return True
    return False


def _file_name(attributes: dict) -> str:
    """The file a layer saves as in a folder: its name (a separator in it replaced), ``.tif``."""
    return f"{str(attributes.get('name') or 'image').replace('/', '_').replace(os.sep, '_')}.tif"


def _with_tif_suffix(path: str) -> str:
    """``path`` ending in .tif or .tiff (as given), else with .tif added: a file the readers recognise."""
    return path if Path(path).suffix.lower() in WRITTEN_TIFF_SUFFIXES else f"{path}.tif"
