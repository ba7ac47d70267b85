"""Reader contribution: open a TIFF with its pixel size as the layer scale (napari's own reader sets 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..io.tiff import read_tiff


def get_reader(path: str | list[str]) -> Callable | None:
    if isinstance(path, list) or not str(path).lower().endswith((".tif", ".tiff")):
        return None
    return read_layers


def read_layers(path: str) -> list[tuple]:
    image = read_tiff(path)
    data, axes = image.data, image.axes
    scale = [1.0] * data.ndim
    if image.pixel_size is not None:
        scale[-2:] = image.pixel_size
    if image.z_spacing is not None and "Z" in axes:
        scale[axes.index("Z")] = image.z_spacing
    kwargs: dict = {"name": Path(path).stem, "metadata": {"source_path": str(path), "axes": axes}}
    if "S" in axes:
        kwargs["rgb"] = True
    elif "C" in axes:
        channel_axis = axes.index("C")
        kwargs["channel_axis"] = channel_axis
        del scale[channel_axis]
        axes = axes.replace("C", "")
    kwargs["scale"] = scale
    kwargs["axis_labels"] = list(axes.replace("S", "")) if "S" not in axes else None
    if image.pixel_size is not None:
        kwargs["units"] = ["µm" if a in "ZYX" else "pixel" for a in axes.replace("S", "")]
    return [(data, {k: v for k, v in kwargs.items() if v is not None}, "image")]
