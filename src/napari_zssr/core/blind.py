"""A ZSSR kernel estimated from the image alone: a parametric PSF whose width is fitted to the power spectrum.

The recorded image is the object blurred by the PSF, integrated over camera pixels, sampled, plus noise. Its
radially averaged power spectrum is modelled as

    P(k) = A * sum_m |k + m|^-beta * OTF_w(|k + m|)^2 * sinc^2(k + m) + N

* ``A |k|^-beta``: the object's spectrum, a power law (natural images: beta ~ 2; sparse fluorescence: flatter);
* ``OTF_w``: the optical transfer function of an in-focus PSF of FWHM ``w``, either an Airy pattern (its OTF is
  the "chinese hat" with cutoff 2 NA / lambda) or a Gaussian;
* ``sinc^2``: the camera pixel's integration; the sum over ``m`` (integer offsets, -1..1 per axis) is the aliasing
  of frequencies beyond Nyquist that the sampling folds back;
* ``N``: the white noise floor (read noise and shot noise). It is what keeps noise from passing for detail: a
  noisy image is a blurred spectrum sinking into a flat floor, not a spectrum that stays high.

Every combination of model, FWHM and beta on a grid is fitted (A and N by least squares on the relative error),
and the one with the smallest log-spectrum error wins. Object and PSF share the spectrum: an object that is
itself smooth (large blobs, no edges) reads as blur, so the estimate is an upper bound on the PSF's width when
the object lacks fine structure. Over-estimating the width is the costly error (ZSSR then sharpens beyond the
truth and amplifies noise), so among fits whose error is within :data:`NARROW_TOLERANCE` of the best, the
narrowest is taken, and a width below :data:`MIN_KERNEL_FWHM` (2.6 px) falls back to bicubic (no kernel).

Measured on six kinds of images (generated fluorescence, generated filaments, skimage astronaut, grass, Hubble deep
field, immunohistochemistry), each blurred by Gaussian and Airy PSFs of FWHM 1.5-4 input pixels, 2 x 2 camera
pixels, 1000 photons and read noise 0.01: mean error -2 %, 33 of 36 cases within 15 %; the misses are a
photograph's Airy blur read 18-27 % narrow and an immunohistochemistry image (itself blurred) read 19 % wide. Heavy
noise (100 photons, read noise 0.02) mostly moves the estimate narrower, by up to 20 %. It costs ~0.05 s per
256 x 256 plane.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import DEFAULT_SCALE
from .degradation import integer_factors
from .gaussian import FWHM_PER_SIGMA
from .optics import AIRY_FWHM, DEFAULT_HALF_WIDTH, airy_profile
from .psf import kernel_from_psf
from .resize import pixel_pair, upscale_factors
from .spectrum import NoStructureError, analysis_planes, channels_hint, periodic_spectrum, with_lone_outliers_retried
from .trainer import StopHook

#: the smallest planes (pixels a side) whose spectrum the estimate reads
MIN_PLANE_SIDE = 16
#: planes from this size on (pixels a side) hold enough frequencies for the signal-to-noise test to mean noise
RELIABLE_PLANE_SIDE = 32
#: candidate FWHMs, input pixels: from far below a pixel (the kernel is then the camera box) to wide blur
FWHM_GRID = np.geomspace(0.25, 12.0, 80)
#: candidate spectral exponents of the object
BETA_GRID = np.linspace(0.0, 4.0, 81)
MODELS: tuple[str, ...] = ("airy", "gaussian")
#: fits whose mean squared log-spectrum error is at most this fraction above the best count as equally good (on
#: generated and natural images blurred by known PSFs: 0 gives the smallest bias, 0.1 errs a few % narrow)
NARROW_TOLERANCE = 0.1
#: the lowest frequency fitted, in cycles per image: below it the spectrum is a few large structures, not a law
LOWEST_CYCLES = 4
#: radial bins of the fitted spectrum and directions sampled per bin for the (anisotropic) aliasing sum
N_BINS = 48
N_ANGLES = 8
#: below this FWHM (input pixels) the kernel falls back to bicubic (None). The spectrum cannot tell a PSF from the
#: object's own smoothness (smooth nuclei read as 2.4-2.5 px of blur under a 1.16 px PSF) nor, for a PSF narrower
#: than a camera pixel, from aliasing (0.47 px read as 1.0-1.6 px), and a kernel too wide is ruinous: ZSSR then
#: sharpens beyond the truth, up to 12 dB below no kernel. Measured on 33 validation cases (benchmarks/
#: kernels_validation.py: allowed scikit-image pictures and generated images, PSFs of 3.25, 1.16 and 0.47 px, fast
#: preset): at 1.25 px the estimate was worse than no kernel on average (-0.15 dB; 6 cases below -0.3 dB, worst
#: -12.0); every harmful estimate read at most 2.50 px, every wider one helped (+0.6 to +4.3 dB). At 2.6 px: no case
#: below no kernel, +0.67 dB on average, 42 % of what the true PSF gains. The kernel thus serves blur clearly wider
#: than the camera pixels (Nyquist-sampled high-NA imaging), where it gains most.
MIN_KERNEL_FWHM = 2.6
#: half-width (HR pixels) of an estimated PSF at most, so that its kernel fits ``psf.MAX_KERNEL_SIDE`` (255) with the
#: camera box: only the widest estimates at scale 3-4 reach it, and the Airy rings it cuts hold 6-8 % of the light
MAX_HALF_WIDTH = 120
#: the fitted signal must rise this far above the noise floor at the lowest fitted frequency
MIN_SPECTRAL_SNR = 4.0


@dataclass(frozen=True)
class KernelEstimate:
    """A blind PSF estimate and the HR-grid kernel it gives (use ``kernel`` as ``zssr(..., kernel=...)``). Two are
    equal when all they record is: the PSF, scale and pixel aspect the kernel is made from, and what the estimate
    read (its planes, exponent, SNR, the width in um where a pixel size was given); the kernel and the seconds taken
    are not compared (to compare kernels alone, compare ``kernel``)."""

    # None: no blur told from the object's own; use bicubic
    kernel: np.ndarray | None = field(repr=False, compare=False)
    # of the PSF, input pixels (without the camera pixel's integration); for unequal pixel sides, pixels of their
    # geometric mean (the PSF is round in um)
    fwhm: float
    fwhm_um: float | None  # the same in um, when the pixel size is known
    model: str  # "airy" or "gaussian"
    spectral_exponent: float  # beta of the object's power law
    spectral_snr: float  # fitted signal / noise floor at the lowest fitted frequency
    scale: tuple[int, int]  # (y, x) of ``kernel``, which lives on the HR grid of this scale
    planes: int  # planes of the image the spectrum was averaged over
    seconds: float = field(compare=False)
    assumptions: str
    fallback: str | None = None  # why ``kernel`` is None
    pixel_aspect: tuple[float, float] = (1.0, 1.0)  # (y, x) pixel size over their geometric mean

    def kernel_for(self, scale: float | Sequence[float]) -> np.ndarray | None:
        """The kernel of the estimated PSF for ``scale`` (each gradual step of a run gets the one of its scale);
        None (bicubic) where the estimate fell back."""
        if self.fallback is not None:
            return None
        return _kernel(self.fwhm, self.model, self.pixel_aspect, integer_factors(upscale_factors(scale)))

    def to_dict(self) -> dict[str, Any]:
        """Everything but the kernel array (its shape instead), for result metadata (JSON: an infinite
        ``spectral_snr``, a spectrum without a noise floor, is None)."""
        snr = round(self.spectral_snr, 1) if np.isfinite(self.spectral_snr) else None
        return {"source": "estimate", "fwhm_px": round(self.fwhm, 3),
                "fwhm_um": None if self.fwhm_um is None else round(self.fwhm_um, 4), "model": self.model,
                "spectral_exponent": round(self.spectral_exponent, 2), "spectral_snr": snr,
                "scale": list(self.scale), "planes": self.planes,
                "kernel_shape": None if self.kernel is None else list(self.kernel.shape), "fallback": self.fallback,
                "seconds": round(self.seconds, 3), "assumptions": self.assumptions}


ASSUMPTIONS = ("in-focus, rotationally symmetric PSF (Airy or Gaussian) the same over the field; object spectrum a "
               "power law; white noise; the camera pixel integrates the light (box of one input pixel). A smooth "
               "object (no fine structure) reads as blur: the width is an upper bound, taken as the narrowest of "
               "the equally good fits.")


def _radial_power(planes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres (cycles/pixel) and the log of the mean power per bin, averaged over ``planes``."""
    shape = planes[0].shape
    power = np.zeros(shape)
    for plane in planes:
        power += np.abs(periodic_spectrum(plane - plane.mean())) ** 2 / plane.size
    radius = np.hypot(np.fft.fftfreq(shape[0])[:, None], np.fft.fftfreq(shape[1])[None, :])
    edges = np.linspace(LOWEST_CYCLES / min(shape), 0.5, N_BINS + 1)
    index = np.digitize(radius.ravel(), edges) - 1
    inside = (index >= 0) & (index < N_BINS)
    counts = np.bincount(index[inside], minlength=N_BINS)
    sums = np.bincount(index[inside], power.ravel()[inside] / len(planes), minlength=N_BINS)
    centres = (edges[:-1] + edges[1:]) / 2
    keep = counts > 0
    return centres[keep], np.log(np.maximum(sums[keep] / counts[keep], 1e-300))


def _otf(k: np.ndarray, fwhm: np.ndarray, model: str) -> np.ndarray:
    """OTF of an in-focus PSF of FWHM ``fwhm`` (pixels) at ``k`` (cycles/pixel); broadcasts."""
    if model == "gaussian":
        sigma = fwhm / FWHM_PER_SIGMA
        return np.exp(-2 * np.pi**2 * sigma**2 * k**2)
    q = np.clip(k * fwhm / (2 * AIRY_FWHM), 0.0, 1.0)  # k over the cutoff 2 NA / lambda
    return 2 / np.pi * (np.arccos(q) - q * np.sqrt(1 - q**2))


def _model_shapes(centres: np.ndarray, aspect: tuple[float, float], model: str) -> np.ndarray:
    """Model power (without A and N) for every (FWHM, beta) on the grids at every bin: (fwhm, beta, bins)."""
    angles = (np.arange(N_ANGLES) + 0.5) * (np.pi / 2) / N_ANGLES
    ky = (centres[:, None] * np.sin(angles)[None, :]).ravel()
    kx = (centres[:, None] * np.cos(angles)[None, :]).ravel()
    offsets = np.array([(my, mx) for my in (-1, 0, 1) for mx in (-1, 0, 1)], dtype=float)
    ay = ky[None, :] + offsets[:, :1]
    ax = kx[None, :] + offsets[:, 1:]
    k = np.hypot(ay / aspect[0], ax / aspect[1])  # cycles per mean pixel: the PSF is round in physical units
    box = np.sinc(ay) ** 2 * np.sinc(ax) ** 2
    object_power = np.exp(-BETA_GRID[:, None, None] * np.log(k)[None])  # (beta, alias, point)
    transfer = _otf(k[None], FWHM_GRID[:, None, None], model) ** 2 * box[None]  # (fwhm, alias, point)
    shapes = np.einsum("fap,bap->fbp", transfer, object_power, optimize=True)
    return shapes.reshape(len(FWHM_GRID), len(BETA_GRID), len(centres), N_ANGLES).mean(axis=-1)


def _fit_amplitude_and_floor(shapes: np.ndarray, log_power: np.ndarray) -> tuple[np.ndarray, ...]:
    """Least squares of ``A * shape + N`` on the observed power, relative error, A >= 0 and N >= 0 (broadcast over
    the leading axes); returns A, N and the mean squared log error."""
    observed = np.exp(log_power)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # empty bins (a checkerboard): no fit
        a, b = shapes / observed, 1.0 / observed
        saa, sab, sbb = (a * a).sum(-1), (a * b).sum(-1), (b * b).sum(-1)
        sa, sb = a.sum(-1), b.sum(-1)
        det = saa * sbb - sab**2
        amplitude = (sa * sbb - sb * sab) / det
        floor = (saa * sb - sab * sa) / det
        only_signal = sa / saa
        only_floor = sb / sbb
    no_floor = ~(floor > 0)
    amplitude = np.where(no_floor, only_signal, amplitude)
    floor = np.where(no_floor, 0.0, floor)
    no_signal = ~(amplitude > 0)
    amplitude = np.where(no_signal, 0.0, amplitude)
    floor = np.where(no_signal, only_floor, floor)
    fitted = amplitude[..., None] * shapes + floor[..., None]
    error = ((np.log(np.maximum(fitted, 1e-300)) - log_power) ** 2).mean(-1)
    return amplitude, floor, np.where(np.isfinite(error), error, np.inf)


def _psf_on_grid(fwhm: float, model: str, pixel: tuple[float, float]) -> np.ndarray:
    """The PSF of FWHM ``fwhm`` (mean input pixels) point-sampled at ``pixel`` (in the same unit), at most
    :data:`MAX_HALF_WIDTH` pixels each side of its centre."""
    extent = DEFAULT_HALF_WIDTH * fwhm / AIRY_FWHM if model == "airy" else 2.5 * fwhm
    half = [min(MAX_HALF_WIDTH, max(1, int(np.ceil(extent / p)))) for p in pixel]
    y = np.arange(-half[0], half[0] + 1) * pixel[0]
    x = np.arange(-half[1], half[1] + 1) * pixel[1]
    radius = np.hypot(y[:, None], x[None, :])
    if model == "gaussian":
        return np.exp(-(radius**2) / (2 * (fwhm / FWHM_PER_SIGMA) ** 2))
    return airy_profile(radius, 1.0, 1000.0 * fwhm / AIRY_FWHM)  # radius read as um: NA 1, lambda = fwhm / 0.514


def _kernel(fwhm: float, model: str, aspect: tuple[float, float], factors: tuple[int, int]) -> np.ndarray:
    """The ZSSR kernel of the PSF of FWHM ``fwhm``: computed on the HR grid, plus the camera pixel's box."""
    hr_pixel = (aspect[0] / factors[0], aspect[1] / factors[1])
    psf = _psf_on_grid(fwhm, model, hr_pixel)
    return kernel_from_psf(psf, psf_pixel_size=hr_pixel, pixel_size=aspect, scale=factors, computed=True)


def check_estimable(shape: Sequence[int]) -> None:
    """A ValueError naming the kernel estimate, before any work, for planes too small to read a spectrum from."""
    if len(shape) >= 2 and min(shape[-2:]) < MIN_PLANE_SIDE:
        # a colour image's planes are its channels' rows: then the advice is to pass one channel, not another source
        advice = channels_hint(tuple(shape), "the estimate") or ("; choose another kernel source (a PSF file, the "
                                                                 "optics, or none)")
        raise ValueError(f"the kernel estimate reads the planes' power spectrum and needs planes of at least "
                         f"{MIN_PLANE_SIDE} x {MIN_PLANE_SIDE} pixels, got {shape[-2]} x {shape[-1]}{advice}")


def _best_fit(planes: list[np.ndarray], aspect: tuple[float, float]) -> tuple[float, str, float, float]:
    """The PSF FWHM (input pixels), model, object exponent and spectral signal-to-noise of the narrowest of the fits
    as good as the best (:data:`NARROW_TOLERANCE`); a :class:`~.spectrum.NoStructureError` where the signal does not
    rise above the noise floor."""
    centres, log_power = _radial_power(planes)
    fits = {model: (shapes, *_fit_amplitude_and_floor(shapes, log_power))
            for model in MODELS for shapes in [_model_shapes(centres, aspect, model)]}
    best_error = min(float(fit[3].min()) for fit in fits.values())
    candidates = []  # (fwhm index, error, model, beta index) of every fit as good as the best
    for model, (*_, error) in fits.items():
        for i, j in np.argwhere(error <= best_error * (1 + NARROW_TOLERANCE)):
            candidates.append((i, error[i, j], model, j))
    i, _, model, j = min(candidates, key=lambda c: (c[0], c[1]))
    shapes, amplitude, floor, _ = fits[model]
    low_signal, noise_floor = float(amplitude[i, j] * shapes[i, j, 0]), float(floor[i, j])
    snr = low_signal / noise_floor if noise_floor > 0 else float("inf")
    if not snr >= MIN_SPECTRAL_SNR:
        rows, cols = planes[0].shape
        looks = ("the image looks like pure noise" if min(rows, cols) >= RELIABLE_PLANE_SIDE else
                 f"planes of {rows} x {cols} pixels hold too few frequencies to tell structure from noise "
                 f"({RELIABLE_PLANE_SIDE} x {RELIABLE_PLANE_SIDE} or more do), or the image is pure noise")
        raise NoStructureError(f"no structure found above the noise (spectral signal-to-noise {snr:.1f} < "
                               f"{MIN_SPECTRAL_SNR:g}): {looks}, so no blur can be estimated",
                               advice="use no kernel (bicubic)")
    return float(FWHM_GRID[i]), model, float(BETA_GRID[j]), snr


def estimate_kernel(image: np.ndarray, scale: float | Sequence[float] = DEFAULT_SCALE,
                    pixel_size: float | Sequence[float] | None = None, *,
                    should_stop: StopHook | None = None) -> KernelEstimate:
    """Estimate the PSF from the image's power spectrum and return the ZSSR kernel it gives (see the module doc).

    ``image``: 2D, or N-D with YX last (the spectrum is averaged over up to 8 evenly spaced non-constant planes;
    pass one plane to estimate per plane). ``pixel_size`` (um, or a (y, x) pair) only converts the FWHM to um and
    keeps the PSF round for unequal pixel sizes. The kernel is built as a theoretical PSF is
    (``kernel_from_psf(..., computed=True)``: the camera pixel's box is added). When in doubt the estimate errs
    narrow, since a too-wide kernel makes ZSSR over-sharpen and amplify noise (by several dB). Below
    ``MIN_KERNEL_FWHM`` (2.6 input pixels) ``kernel`` is None, i.e. bicubic, with the reason in ``fallback``:
    ``zssr(image, kernel=estimate.kernel)`` works either way.

    Raises :class:`~.spectrum.NoStructureError` (a ValueError) when the image is constant or when its spectrum
    shows no structure above the noise floor (pure noise), also once pixels that stand out alone (hot pixels, which
    can hide the structure) are read as the median around them: then use no kernel (bicubic), as
    ``kernel="estimate"`` does. ``should_stop`` (a run's Cancel) is asked before each plane is read and raises
    :class:`~.trainer.Cancelled`.
    """
    start = time.perf_counter()
    factors = integer_factors(upscale_factors(scale))  # type: ignore[arg-type]
    check_estimable(np.shape(image))
    pixel = pixel_pair(pixel_size) or (1.0, 1.0)
    mean_pixel = float(np.sqrt(pixel[0] * pixel[1]))
    aspect = (pixel[0] / mean_pixel, pixel[1] / mean_pixel)
    planes = analysis_planes(image, min_side=MIN_PLANE_SIDE, should_stop=should_stop)
    (fwhm, model, beta, snr), replaced = with_lone_outliers_retried(lambda read: _best_fit(read, aspect), planes)
    assumptions = ASSUMPTIONS if not replaced else (
        f"{ASSUMPTIONS} {replaced} pixel(s) standing out alone (hot pixels, cosmic rays) were read as the median of "
        "their neighbours: with them the spectrum showed no structure.")
    fallback = None
    if fwhm < MIN_KERNEL_FWHM:
        fallback = (f"PSF FWHM {fwhm:.2f} px is below {MIN_KERNEL_FWHM} px: too narrow to tell from the object's own "
                    "smoothness or the camera's aliasing, and a kernel too wide costs far more than bicubic; no "
                    "kernel (bicubic)")
    return KernelEstimate(kernel=None if fallback else _kernel(fwhm, model, aspect, factors), fwhm=fwhm,
                          fwhm_um=fwhm * mean_pixel if pixel_size is not None else None,
                          model=model, spectral_exponent=beta, spectral_snr=snr, scale=factors, planes=len(planes),
                          seconds=time.perf_counter() - start, assumptions=assumptions, fallback=fallback,
                          pixel_aspect=aspect)
