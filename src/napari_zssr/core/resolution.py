"""Single-image resolution by decorrelation analysis (Descloux, Grussmayer & Radenovic, Nature Methods 2019).

The image spectrum ``I(k)`` is correlated with its phase-only version ``I(k)/|I(k)|`` restricted to a disk of radius
``r`` (in normalised frequency, 1 = Nyquist). Where the spectrum holds signal, the two agree in phase and the
correlation grows with ``r``; where it holds only noise, the phases are random and adding them lowers it. The
curve ``d(r)`` thus peaks near the highest frequency with signal. Low frequencies dominate the correlation, so the
analysis is repeated on high-pass filtered images (the image minus its Gaussian blur of ``sigma`` pixels, for
sigmas from 2 / r_peak down to 0.15 pixel, then once more on a finer grid around the best): the highest peak
position ``k_c`` over all curves with a peak amplitude of at least 0.05 is the cut-off, and the resolution is
``2 / k_c`` pixels — at good SNR, an ideal band limit within 2 %; a widefield image 1.1-1.3 times the Abbe limit
lambda / (2 NA) (the OTF's last stretch before its cut-off holds too little signal to stand out).

What it measures is the highest frequency that stands above the noise, not sharpness as a person sees it: noise
that is correlated between pixels (after denoising, deconvolution or a network's output) or invented detail
(hallucinated texture in a super-resolved image) counts as signal and makes the estimate look better than the
truth. Compare input and output resolutions as a sanity check, not as proof of recovered detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .resize import pixel_pair
from .spectrum import NoStructureError, analysis_planes, periodic_spectrum, with_lone_outliers_retried

#: radii sampled per decorrelation curve, and high-pass filters per pass (the paper's defaults)
N_RADII = 50
N_FILTERS = 10
#: smallest high-pass sigma, pixels
MIN_SIGMA = 0.15
#: a peak lower than this is not a peak (the paper's threshold)
MIN_AMPLITUDE = 0.05
#: a maximum must rise this much above the curve's later minimum to count (numerical noise otherwise)
PEAK_SIGNIFICANCE = 1e-3
#: the smallest plane side read. Smaller planes read too fine: their noise wobbles into peaks at high frequencies.
#: Against the reading of a 256 x 256 field (10 pictures, Gaussian blurs of 0.7-3 pixels, noise 0.5-5 %, 4 fields
#: each), the median reading of a centred window is 0.65x at 32 pixels a side, 0.83x at 64, 0.91x at 96 and 0.96x at
#: 128; at 96, 90 % of windows read within 1.5x of it (docs/benchmarks.md "Resolution of small planes")
MIN_SIDE = 96
#: at least one peak of a plane's curves must rise this much above the curve's later minimum: on pure noise the
#: curves of a small image (64 x 64) wobble into peaks that rise 0.001-0.004, on images with structure the
#: highest rises 0.09-0.6
MIN_SIGNAL_RISE = 0.02


class NoCutoffError(NoStructureError):
    """No frequency of an image's spectrum stands out of its noise below the sampling limit: the image is pure noise,
    or its detail reaches its pixels (a resolution limited by the sampling)."""


@dataclass(frozen=True)
class ResolutionEstimate:
    """Resolution (smallest resolved period) of an image by decorrelation analysis."""

    resolution: float  # input pixels (for unequal pixel sides, pixels of their geometric mean)
    resolution_um: float | None  # when the pixel size is known
    cutoff: float  # k_c, normalised frequency (1 = Nyquist)
    amplitude: float  # peak of the unfiltered curve: a measure of the image's signal-to-noise ratio
    planes: int

    def to_dict(self) -> dict[str, Any]:
        return {"resolution_px": round(self.resolution, 3),
                "resolution_um": None if self.resolution_um is None else round(self.resolution_um, 4),
                "cutoff": round(self.cutoff, 4), "amplitude": round(self.amplitude, 3), "planes": self.planes,
                "method": "decorrelation analysis (Descloux et al. 2019)"}


class _Curves:
    """Decorrelation curves of one plane: the phase-only spectrum, sorted by radius, computed once.

    Frequencies are in cycles per pixel of the geometric mean size: ``aspect``, the (y, x) pixel sizes over it,
    makes the rings circles in space, not in pixels (on pixels twice as long in x, a blur is half as many pixels wide
    in x as in y)."""

    def __init__(self, plane: np.ndarray, aspect: tuple[float, float] = (1.0, 1.0)) -> None:
        spectrum = periodic_spectrum(plane - plane.mean())
        ky = np.fft.fftfreq(plane.shape[0])[:, None] / aspect[0]
        kx = np.fft.fftfreq(plane.shape[1])[None, :] / aspect[1]
        self.k2 = (ky**2 + kx**2).ravel()  # cycles^2 / pixel^2
        radius = 2 * np.sqrt(self.k2)  # normalised: 1 = Nyquist
        inside = (radius < 1) & (radius > 0)  # the disk of the analysis, without the mean
        order = np.argsort(radius[inside])
        self.index = np.flatnonzero(inside)[order]
        self.radius = radius[self.index]
        values = spectrum.ravel()[self.index]
        magnitude = np.abs(values)
        self.spectrum = values
        self.phase = np.where(magnitude > 0, values / np.where(magnitude > 0, magnitude, 1), 0)
        self.phase_norm = np.sqrt(np.cumsum(np.abs(self.phase) ** 2))

    def curve(self, radii: np.ndarray, sigma: float | None) -> np.ndarray:
        """``d(r)`` at ``radii`` of the image high-passed by ``1 - Gaussian(sigma)`` (``None``: unfiltered)."""
        values = self.spectrum
        if sigma is not None:
            values = values * (1 - np.exp(-2 * np.pi**2 * sigma**2 * self.k2[self.index]))
        norm = np.sqrt(np.sum(np.abs(values) ** 2))
        products = np.cumsum(np.real(values * np.conj(self.phase)))
        count = np.searchsorted(self.radius, radii, side="left")  # points with radius < r
        position = np.maximum(count - 1, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = products[position] / (norm * self.phase_norm[position])
        return np.where((count > 0) & np.isfinite(d), d, 0.0)


def _peak(curve: np.ndarray) -> tuple[int, float]:
    """Index and height of the curve's highest maximum that is not at its end, or that rises significantly above
    all later points once the end is dropped; (0, 0.0) when there is none (a curve rising to the end: noise)."""
    remaining = curve.copy()
    index = int(np.argmax(remaining))
    while index == len(remaining) - 1:
        remaining = remaining[:-1]
        if not len(remaining):
            return 0, 0.0
        index = int(np.argmax(remaining))
        later_minimum = curve[index:].min()
        if remaining[index] - later_minimum > PEAK_SIGNIFICANCE:
            break
        remaining[index] = later_minimum
        index = len(remaining) - 1
    return index, float(remaining[index])


def _cutoff(plane: np.ndarray, aspect: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """(k_c, amplitude of the unfiltered peak) of one plane (``aspect``: see :class:`_Curves`); k_c is 0 when no
    peak rises above the curves' wobble (:data:`MIN_SIGNAL_RISE`)."""
    curves = _Curves(plane, aspect)
    radii = np.linspace(0, 1, N_RADII)
    curve0 = curves.curve(radii, None)
    index0, amplitude0 = _peak(curve0)
    peaks = [(radii[index0], amplitude0)]
    rise = _rise(curve0, index0) if amplitude0 >= MIN_AMPLITUDE else 0.0
    largest = 2 / radii[index0] if index0 > 0 else max(plane.shape) / 2
    sigmas = np.geomspace(largest, MIN_SIGMA, N_FILTERS)
    for refinement in range(2):
        found = []
        for sigma in sigmas:
            curve = curves.curve(radii, sigma)
            index, amplitude = _peak(curve)
            found.append((radii[index], amplitude if amplitude >= MIN_AMPLITUDE else 0.0))
            if amplitude >= MIN_AMPLITUDE:
                rise = max(rise, _rise(curve, index))
        peaks += found
        if refinement == 0:
            kc = np.array([k if a > 0 else 0.0 for k, a in found])
            quality = np.sqrt(kc * np.array([a for _, a in found]))  # geometric mean of cut-off and amplitude
            first, last = sorted((int(np.argmax(quality)), int(np.argmax(kc))))
            if first == 0:
                last = 0
            last = min(last, N_FILTERS - 2)
            sigmas = np.geomspace(sigmas[first], sigmas[last + 1], N_FILTERS)
            best = kc[int(np.argmax(quality))]
            radii = np.linspace(max(best - 0.05, 0.0), min(best + 0.3, 1.0), N_RADII)
    valid = [k for k, a in peaks if a >= MIN_AMPLITUDE]
    return (max(valid) if valid and rise >= MIN_SIGNAL_RISE else 0.0), amplitude0


def _rise(curve: np.ndarray, index: int) -> float:
    """How far the curve's peak at ``index`` rises above the curve's later minimum (0 for no peak)."""
    return float(curve[index] - curve[index:].min()) if index > 0 else 0.0


def _median_cutoff(planes: list[np.ndarray], aspect: tuple[float, float]) -> tuple[float, float]:
    """The median over ``planes`` of their cutoffs found (:func:`_cutoff`) and of their peak amplitudes; a
    :class:`NoCutoffError` where no plane has one."""
    results = [_cutoff(plane, aspect) for plane in planes]
    cutoffs = np.array([kc for kc, _ in results])
    if not np.any(cutoffs > 0):
        raise NoCutoffError("no resolution found: no frequency of the image's spectrum stands out of the noise "
                            "below the sampling limit (the image is pure noise or too noisy for decorrelation "
                            "analysis, or its detail reaches the pixel size: a resolution limited by the sampling, 2 "
                            "pixels)")
    return float(np.median(cutoffs[cutoffs > 0])), float(np.median([a for _, a in results]))


def estimate_resolution(image: np.ndarray, pixel_size: float | Sequence[float] | None = None) -> ResolutionEstimate:
    """Resolution of ``image`` (2D, or N-D with YX last: up to 8 evenly spaced planes, their median) by
    decorrelation analysis; in pixels, and in um when ``pixel_size`` (um, or a (y, x) pair) is given. Unequal sides
    are measured in space (a blur as wide in y as in x in um reads as one width), in pixels of their geometric mean.

    Raises ValueError for a constant image, planes under :data:`MIN_SIDE` pixels a side, or one in which no
    frequency carries signal above the noise (pure noise), also once pixels that stand out alone (hot pixels, which
    can hide the structure) are read as the median around them.
    """
    pixel = pixel_pair(pixel_size)
    planes = analysis_planes(image, min_side=MIN_SIDE)
    mean = None if pixel is None else float(np.sqrt(pixel[0] * pixel[1]))
    aspect = (1.0, 1.0) if pixel is None else (pixel[0] / mean, pixel[1] / mean)
    (cutoff, amplitude), _ = with_lone_outliers_retried(lambda read: _median_cutoff(read, aspect), planes)
    resolution = 2.0 / cutoff
    resolution_um = resolution * mean if mean is not None else None
    return ResolutionEstimate(resolution, resolution_um, cutoff, amplitude, len(planes))
