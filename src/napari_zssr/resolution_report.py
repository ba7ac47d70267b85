"""The resolution of a run's input and output, measured the same way on both (decorrelation analysis).

It tells the user what a run changed in numbers; it cannot tell real detail from hallucinated detail (a network
that invents sharp texture also raises the measured resolution), so the docs pair it with the residual layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.resize import Scale, pixel_pair

#: side (input pixels) of the centre window the report analyses. The resolution is a property of the optics and of
#: the processing, the same across the field; a 512 x 512 window holds 200,000 frequencies inside the analysis disk,
#: plenty for the cut-off, and keeps the report's cost fixed: on whole planes it grew with the output's area (3 s for
#: a 1024 x 1024 input on a CPU, 20 s for 2048 x 2048 on a GPU machine whose whole ZSSR run took 1 s).
REPORT_WINDOW = 512


def centre_windows(image: np.ndarray, sr: np.ndarray, scale: Scale) -> tuple[np.ndarray, np.ndarray]:
    """The centre window of at most ``REPORT_WINDOW`` pixels a side of ``image`` and the same field of ``sr``."""
    input_slices, output_slices = [], []
    for axis, factor in zip((-2, -1), scale, strict=True):
        length = image.shape[axis]
        side = min(length, REPORT_WINDOW)
        start = (length - side) // 2
        input_slices.append(slice(start, start + side))
        output_slices.append(slice(round(start * factor), min(round((start + side) * factor), sr.shape[axis])))
    return image[(..., *input_slices)], sr[(..., *output_slices)]


def resolution_report(image: np.ndarray, sr: np.ndarray, scale: Scale,
                      pixel_size: float | tuple[float, float] | None) -> dict[str, Any]:
    """Input and output resolution in input pixels (and um with ``pixel_size``, one number or (y, x)), measured on
    the same centre field of both (``REPORT_WINDOW``); a ``note`` when unmeasurable."""
    from .core.resolution import estimate_resolution

    factor = float(np.sqrt(scale[0] * scale[1]))
    pixel = pixel_pair(pixel_size)
    output_pixel = None if pixel is None else (pixel[0] / scale[0], pixel[1] / scale[1])
    image, sr = centre_windows(image, sr, scale)
    try:
        before = estimate_resolution(image, pixel)
        after = estimate_resolution(sr, output_pixel)
    except ValueError as error:
        return {"note": f"resolution not measured: {error}"}
    return {"input_px": round(before.resolution, 3), "output_px": round(after.resolution / factor, 3),
            "input_um": None if before.resolution_um is None else round(before.resolution_um, 4),
            "output_um": None if after.resolution_um is None else round(after.resolution_um, 4),
            "method": "decorrelation analysis (Descloux et al. 2019), in input pixels",
            "field_px": list(image.shape[-2:])}


def describe_resolution(report: dict[str, Any]) -> str:
    """One line for a status bar or a summary, e.g. "resolution 0.31 µm -> 0.24 µm"."""
    if "input_px" not in report:
        return report.get("note", "")
    if report.get("input_um") is not None:
        return f"resolution {report['input_um']:.3g} µm -> {report['output_um']:.3g} µm"
    return f"resolution {report['input_px']:.3g} px -> {report['output_px']:.3g} px (input pixels)"
