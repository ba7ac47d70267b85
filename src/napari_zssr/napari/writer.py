"""Writer contribution: save an image layer as an ImageJ TIFF that keeps its pixel size (napari's drops it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io.tiff import write_imagej_tiff


def write_image(path: str, data: Any, attributes: dict) -> list[str]:
    array = np.asarray(data[0] if attributes.get("multiscale") else data)
    if attributes.get("rgb"):
        raise ValueError("RGB layers are not written by this writer; use napari's built-in TIFF writer")
    if array.ndim > 5:
        raise ValueError(f"ImageJ TIFFs hold at most 5 axes, the layer has {array.ndim}")
    scale = list(attributes.get("scale") or [1.0] * array.ndim)
    pixel_size = None if scale[-2:] == [1.0, 1.0] else (float(scale[-2]), float(scale[-1]))
    axes = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}[array.ndim]
    z_spacing = float(scale[-3]) if array.ndim >= 3 and scale[-3] != 1.0 else None
    data_out = array if array.dtype != np.float64 else array.astype(np.float32)
    write_imagej_tiff(path, data_out, axes, pixel_size, z_spacing)
    return [path]
