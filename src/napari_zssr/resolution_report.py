"""The resolution of a run's input and output, measured the same way on both (decorrelation analysis), and of the
input's bicubic interpolation as the reference the output must beat.

It tells the user what a run changed in numbers; it cannot tell real detail from hallucinated detail (a network
that invents sharp texture also raises the measured resolution), so the docs pair it with the residual layer. On an
upsampled image the method alone is fooled by the input's own noise, interpolated: the output's band beyond the
input's is nearly empty, so that noise stands out of it as if it were detail, and bicubic interpolation alone read
as twice as fine as its input. The output and the interpolation are therefore read with white noise of the input's
own level added (:class:`WithInputNoise`): what the analysis then finds is detail that stands above the noise the
input was recorded with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .core.noise import estimate_noise_rms
from .core.resize import Scale, pixel_pair, resize
from .io.planes import CroppedPlanes, PlaneSource, ReadOnce

#: side (input pixels) of the centre window the report analyses. The resolution is a property of the optics and of
#: the processing, the same across the field; a 256 x 256 window holds 50,000 frequencies inside the analysis disk,
#: plenty for the cut-off, and keeps the report's cost fixed: on whole planes it grew with the output's area (3 s for
#: a 1024 x 1024 input on a CPU, 20 s for 2048 x 2048 on a GPU machine whose whole ZSSR run took 1 s). 256, not 512:
#: the output is read once per noise draw (a 512 x 512 window x2 cost 7 s on a 2-core CPU, 256 x 256 about 1 s).
REPORT_WINDOW = 256
#: draws of the added noise; the output's and the interpolation's readings are their median (one draw can land on
#: either of two peaks of the decorrelation curve of an upsampled image)
NOISE_DRAWS = 3


def centre_windows(image: PlaneSource, sr: PlaneSource, scale: Scale) -> tuple[ReadOnce, CroppedPlanes]:
    """The centre window of at most ``REPORT_WINDOW`` pixels a side of ``image``'s planes and the same field of
    ``sr``'s, read a plane at a time (a split run's output is assembled from disk, never held whole); the input's
    planes each read once (:class:`ReadOnce`: a lazy input's file would be read again at each of their uses), the
    output's, scale squared times larger, as each is used."""
    input_slices, output_slices = [], []
    for axis, factor in zip((-2, -1), scale, strict=True):
        length = image.shape[axis]
        side = min(length, REPORT_WINDOW)
        start = (length - side) // 2
        input_slices.append(slice(start, start + side))
        output_slices.append(slice(round(start * factor), min(round((start + side) * factor), sr.shape[axis])))
    return ReadOnce(CroppedPlanes(image, *input_slices)), CroppedPlanes(sr, *output_slices)


def resolution_report(image: PlaneSource, sr: PlaneSource, scale: Scale,
                      pixel_size: float | tuple[float, float] | None) -> dict[str, Any]:
    """Input and output resolution in input pixels (and um with ``pixel_size``, one number or (y, x)), measured on
    the same centre field of both (``REPORT_WINDOW``); a ``note`` when unmeasurable. Both are arrays or other plane
    sources (:mod:`.io.planes`)."""
    from .core.resolution import MIN_SIDE, estimate_resolution
    from .core.spectrum import check_layout

    factor = float(np.sqrt(scale[0] * scale[1]))
    pixel = pixel_pair(pixel_size)
    # the pixels' shape (in um where known, else in input pixels): an output of unequal factors is measured in space
    geometry = pixel or (1.0, 1.0)
    output_geometry = (geometry[0] / scale[0], geometry[1] / scale[1])
    try:
        check_layout(image, MIN_SIDE)  # a refusal names the planes' sizes, not their centre window's
        image, sr = centre_windows(image, sr, scale)
        before = estimate_resolution(image, geometry)
        levels: dict[tuple[int, ...], float] = {}  # the input planes' noise levels, read once for every draw
        after, _ = _above_input_noise(sr, image, factor, output_geometry, levels)
        interpolated, hidden = _above_input_noise(Interpolated(image, sr.shape[-2:]), image, factor,
                                                  output_geometry, levels)
    except ValueError as error:
        return {"note": f"resolution not measured: {error}"}
    if hidden:  # the interpolation holds no detail beyond the input's: the noise, not detail, ends its reading
        said = f"{before.resolution_um:.3g} µm" if pixel is not None else f"{before.resolution:.3g} px"
        return {"note": f"resolution {said} -> not measured: the input's noise, carried to the output's grid, hides "
                        "every frequency beyond the input's, even in its bicubic interpolation (too noisy to tell "
                        "detail the run added)"}
    mean_pixel = None if pixel is None else float(np.sqrt(pixel[0] * pixel[1]))

    def um(resolution_px: float) -> float | None:
        return None if mean_pixel is None else round(resolution_px * mean_pixel, 4)

    return {"input_px": round(before.resolution, 3), "output_px": round(after, 3),
            "interpolation_px": round(interpolated, 3),
            "input_um": None if pixel is None else round(before.resolution_um, 4), "output_um": um(after),
            "interpolation_um": um(interpolated),
            "method": "decorrelation analysis (Descloux et al. 2019), in input pixels; the output and the bicubic "
                      "interpolation of the input (the reference the output must beat) read with white noise of the "
                      "input's level added, so that only detail above the input's noise counts",
            "field_px": list(image.shape[-2:])}


def _above_input_noise(planes: PlaneSource, image: PlaneSource, factor: float, geometry: tuple[float, float],
                       levels: dict[tuple[int, ...], float]) -> tuple[float, bool]:
    """The resolution of ``planes`` (an output ``factor`` times finer than ``image``) read with the input's noise
    added (:class:`WithInputNoise`), in input pixels: the median over :data:`NOISE_DRAWS` draws; and whether most
    draws found no frequency standing out below the sampling limit. Such a draw reads that limit (2 output pixels):
    the input has a reading, so the output is no pure noise; its detail reaches its pixels, or the input's noise
    hides it (which the interpolation's reading tells: it holds no detail beyond the input's)."""
    from .core.resolution import NoCutoffError, estimate_resolution

    readings, limited = [], 0
    for draw in range(NOISE_DRAWS):
        try:
            noisy = WithInputNoise(planes, image, factor, draw, levels)
            readings.append(estimate_resolution(noisy, geometry).resolution)
        except NoCutoffError:
            readings.append(2.0)
            limited += 1
    return float(np.median(readings)) / factor, 2 * limited > NOISE_DRAWS


class WithInputNoise:
    """``planes`` of an output ``factor`` times finer than ``image`` (the geometric mean of the two axes' factors),
    read with white noise of the input plane's level added: its std times ``factor``, the same power per unit of
    spectrum as the input's noise (the finer grid spreads a pixel's noise over ``factor`` squared more frequencies).
    The input's noise, interpolated, then no longer reads as detail, and detail an output shows below the input's
    noise is not counted; noise-free inputs get none. Seeded by ``draw`` and the plane's index; ``levels`` keeps
    each input plane's noise level (``estimate_noise_rms``) for the next draw."""

    def __init__(self, planes: PlaneSource, image: PlaneSource, factor: float, draw: int,
                 levels: dict[tuple[int, ...], float]) -> None:
        self._planes, self._image, self._factor, self._draw, self._levels = planes, image, factor, draw, levels
        self.shape, self.dtype = planes.shape, np.dtype(np.float64)

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        index = tuple(int(i) for i in index)
        if index not in self._levels:  # read in float32 at a largest magnitude of 1: any float64 input fits
            plane = np.asarray(self._image[index], dtype=np.float64)
            magnitude = float(np.abs(plane).max()) or 1.0
            unit = torch.as_tensor(plane / magnitude, dtype=torch.float32)[None, None]
            self._levels[index] = magnitude * estimate_noise_rms(unit)
        rng = np.random.default_rng([self._draw, *index])
        plane = np.asarray(self._planes[index], dtype=np.float64)
        return plane + rng.normal(0.0, self._levels[index] * self._factor, plane.shape)


class Interpolated:
    """The bicubic interpolation of ``image``'s planes to ``shape``, made plane by plane as they are read: the
    analysis reads up to 8 planes of a stack, which need not all be interpolated."""

    def __init__(self, image: PlaneSource, shape: tuple[int, ...]) -> None:
        self._image = image
        self.shape = (*image.shape[:-2], *shape)
        self.dtype = np.dtype(np.float64)

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        plane = torch.as_tensor(np.asarray(self._image[index], dtype=np.float64))[None, None]
        return resize(plane, tuple(self.shape[-2:]))[0, 0].numpy()


def describe_resolution(report: dict[str, Any]) -> str:
    """One line for a status bar or a summary, e.g. "resolution 0.31 µm -> 0.24 µm"."""
    if "input_px" not in report:
        return report.get("note", "")
    if report.get("input_um") is not None:
        return (f"resolution {report['input_um']:.3g} µm -> {report['output_um']:.3g} µm"
                + _beside_interpolation(report, "interpolation_um", " µm"))
    return (f"resolution {report['input_px']:.3g} px -> {report['output_px']:.3g} px (input pixels)"
            + _beside_interpolation(report, "interpolation_px", " px"))


def _beside_interpolation(report: dict[str, Any], key: str, unit: str) -> str:
    """The interpolation's reading, the reference the output's must beat (absent from records before it)."""
    return "" if report.get(key) is None else f" (bicubic interpolation alone: {report[key]:.3g}{unit})"
