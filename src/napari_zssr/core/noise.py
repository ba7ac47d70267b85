"""The noise level of the input: it sets the noise added to the LR sons, and where back-projection stops.

At test time the network is fed the input itself, noise included; sons with the same noise level teach it to
leave that noise out of the detail it adds (too little: it sharpens the noise; too much: it smooths real detail).
Back-projection makes the output explain the input; once it does so to within the input's noise, further steps
would only put that noise back (the discrepancy principle), so it stops at the noise floor read here.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .degradation import Degradation, integer_factors
from .spectrum import periodic_spectrum

#: Immerkær's mask: the difference of two Laplacians; it cancels smooth structure up to second order.
_MASK = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], dtype=torch.float32)
_MASK_NORM = 6.0  # L2 norm of the mask: white noise of std s gives a response of std 6 s
_MAD_TO_STD = 0.6745  # median |N(0, 1)|


def estimate_noise_std(image: torch.Tensor) -> float:
    """Std of white Gaussian noise in ``image`` (1, 1, H, W), from the median absolute mask response.

    The median (not Immerkær's mean) keeps edges and texture, which are a minority of pixels, from counting as
    noise. Structure finer than 3 pixels still reads partly as noise: on noise-free texture the estimate is a
    small positive number, not 0.
    """
    return float(_mask_response(image).abs().median()) / (_MAD_TO_STD * _MASK_NORM)


def sons_noise_std(noise_std: float | str, planes: list[torch.Tensor]) -> float:
    """The std of the noise a run adds to its sons: ``noise_std`` (``ZSSRConfig.noise_std``) as given, or for
    "auto" the median of the estimates of the ``planes`` it trains on (one plane's own)."""
    if noise_std != "auto":
        return float(noise_std)
    return float(np.median([estimate_noise_std(plane) for plane in planes]))


def _mask_response(image: torch.Tensor) -> torch.Tensor:
    """The mask's response at every pixel whose 3 x 3 neighbourhood lies inside ``image`` (1, 1, H, W)."""
    return F.conv2d(image, _MASK.to(device=image.device, dtype=image.dtype)[None, None])


#: intensity bins of :func:`estimate_noise_rms` (equal pixel counts): enough to follow shot noise's rise with the
#: signal, few enough that each bin's median stays robust
_NOISE_BINS = 16


def estimate_noise_rms(image: torch.Tensor) -> float:
    """RMS of the noise over all of ``image`` (1, 1, H, W), also where it grows with the signal (shot noise).

    :func:`estimate_noise_std` gives the typical level, which on a sparse fluorescence image is the dark background's;
    the noise of the bright structures, a few times larger under shot noise, is missed. Here the mask responses are
    grouped by the local intensity into bins of equal pixel counts, each bin's level is read from its median (so that
    edges and texture still do not count), and the levels' squares are averaged: the mean noise variance.
    """
    response = _mask_response(image).flatten()
    intensity = F.avg_pool2d(image, 3, stride=1).flatten()  # the 3 x 3 mean under each response
    order = torch.argsort(intensity)
    levels = [bin_.abs().median() / (_MAD_TO_STD * _MASK_NORM)
              for bin_ in torch.tensor_split(response[order], _NOISE_BINS) if bin_.numel()]
    return float(torch.stack(levels).square().mean().sqrt())


#: an input frequency lies beyond the kernel where each HR frequency that aliases onto it keeps at most this
#: fraction of its amplitude: there the input holds its noise and little of the signal (1 % of each alias's power)
BEYOND_KERNEL_TRANSFER = 0.1
#: the fewest such frequencies, as a share of the spectrum, for a stable median
MIN_BEYOND_KERNEL_SHARE = 0.01
#: the kernel's transfer is computed on an LR frequency grid of at least this many points per axis and looked up:
#: it is smooth at that scale
ENVELOPE_GRID = 128
#: the noise is read from a centre crop of at most this side (LR pixels): enough frequencies, bounded memory
MAX_READING_SIDE = 2048


def kernel_envelope(kernel: np.ndarray, factors: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """The largest |transfer| of ``kernel`` (on the HR grid) over the HR frequencies that alias onto each LR
    frequency of a ``grid`` (``numpy.fft.fftfreq`` layout per axis, in cycles per LR pixel).

    Sampling every ``factor``-th HR pixel folds HR frequency ``(f + m) / factor`` onto LR frequency ``f``: on an HR
    grid of ``factor * n`` points that is index ``i + m * n``, so the folds are the reshaped spectrum's axes 0 and 2.
    """
    # per axis a multiple of the grid's points that the kernel fits in (fft2 would crop a longer kernel)
    sizes = [points * -(-side // (factor * points)) for points, side, factor in zip(grid, kernel.shape, factors,
                                                                                      strict=True)]
    transfer = np.abs(np.fft.fft2(kernel, s=(factors[0] * sizes[0], factors[1] * sizes[1])))
    envelope = transfer.reshape(factors[0], sizes[0], factors[1], sizes[1]).max(axis=(0, 2))
    return envelope[:: sizes[0] // grid[0], :: sizes[1] // grid[1]]  # the grid's frequencies: every m-th point


def noise_rms_beyond_kernel(image: torch.Tensor, kernel: np.ndarray, factors: tuple[int, int]) -> float | None:
    """RMS of the noise of ``image`` (1, 1, H, W) read from the frequencies the kernel cannot have passed, or None
    where the kernel leaves too few of them (a kernel narrower than an LR pixel, or bicubic).

    The degradation blurs before sampling, so above the kernel's band the input holds only noise; noise that is
    independent between pixels has a flat spectrum whose level is the mean of its variance over the image, shot
    noise included. The level is the median of the periodogram there (ln 2 times the mean for noise), which
    leaked structure at a few frequencies does not move.
    """
    rows, cols = image.shape[-2:]
    top, left = max(0, (rows - MAX_READING_SIDE) // 2), max(0, (cols - MAX_READING_SIDE) // 2)
    plane = image[0, 0, top : top + MAX_READING_SIDE, left : left + MAX_READING_SIDE]
    kernel = np.ascontiguousarray(kernel, dtype=np.float64)
    beyond = _beyond_kernel(kernel.tobytes(), kernel.shape, tuple(factors), tuple(plane.shape))
    if int(beyond.sum()) < max(1, MIN_BEYOND_KERNEL_SHARE * plane.numel()):
        return None
    # read where the image is (a GPU's run copies nothing to the host), in float64 where the device has it (not MPS)
    plane = plane.to(torch.float32 if plane.device.type == "mps" else torch.float64)
    spectrum = periodic_spectrum(plane)[beyond.to(plane.device)]
    power = spectrum.abs().square() / plane.numel()
    return float(torch.sqrt(torch.quantile(power, 0.5) / np.log(2)))


@functools.lru_cache(maxsize=16)
def _beyond_kernel(kernel: bytes, kernel_shape: tuple[int, ...], factors: tuple[int, int],
                   shape: tuple[int, int]) -> torch.Tensor:
    """Where on the spectrum of a plane of ``shape`` the kernel (float64 ``bytes`` of ``kernel_shape``) passes
    less than :data:`BEYOND_KERNEL_TRANSFER`. Kept for the kernel and shape: a run reads the noise there at each
    back-projection step, and an axial run on each slice, all of one shape under one kernel (on a GPU the envelope,
    computed on the host, would cost more than the reading). A tensor: indexing copies from it, nothing writes it."""
    envelope = kernel_envelope(np.frombuffer(kernel).reshape(kernel_shape), factors, (ENVELOPE_GRID, ENVELOPE_GRID))
    nearest = [np.round(np.fft.fftfreq(n) * ENVELOPE_GRID).astype(int) % ENVELOPE_GRID for n in shape]
    return torch.from_numpy(envelope[np.ix_(*nearest)] < BEYOND_KERNEL_TRANSFER)


#: back-projection stops once the residual's RMS is at most this times the noise RMS (the discrepancy principle's
#: safety factor): the readings are good to about 5 %, and at exactly the noise level a few generated shot-noise
#: cases lost up to 0.25 dB where 1.1 lost none (docs/benchmarks.md "A noise floor read beyond the kernel")
DISCREPANCY_FACTOR = 1.1


def _reading_beyond_kernel(image: torch.Tensor, degradation: Degradation) -> float | None:
    """:func:`noise_rms_beyond_kernel` of ``image`` under ``degradation``'s kernel; None without a kernel."""
    if degradation.kernel is None:
        return None
    kernel = degradation.kernel.cpu().double().numpy()
    return noise_rms_beyond_kernel(image, kernel, integer_factors(degradation.scale))


def estimate_noise_floor(image: torch.Tensor, degradation: Degradation) -> float:
    """The residual RMS at which back-projection of ``image`` (1, 1, H, W) under ``degradation`` stops:
    :data:`DISCREPANCY_FACTOR` times the smaller of two noise readings that structure can only raise,
    :func:`estimate_noise_rms` and, with a kernel, :func:`noise_rms_beyond_kernel`.

    The first reads fine structure of bright regions as noise, the second signal that leaks past the kernel's
    band; on noise both read its RMS (shot noise included), so the smaller is the closer to it.
    """
    readings = [estimate_noise_rms(image), _reading_beyond_kernel(image, degradation)]
    return DISCREPANCY_FACTOR * min(r for r in readings if r is not None)


def refined_noise_floor(floor: float, image: torch.Tensor, output: torch.Tensor, degradation: Degradation) -> float:
    """``floor`` lowered, where a kernel allows, to the noise read beyond the kernel from the residual
    ``image - down_k(output)`` of a run's ``output`` (1, 1, H', W').

    Signal leaks past the kernel's band where the image is bright and sharp (sparse bright objects leak the most),
    so a clean image reads a few thousandths of its range there; the output holds most of that signal, so its
    residual reads 3-7 times less on clean validation images, and within 5 % of the input's reading on noisy ones.
    """
    if floor <= 0:
        return floor
    return lowered_noise_floor(floor, image - degradation.downscale(output, tuple(image.shape[-2:])), degradation)


def lowered_noise_floor(floor: float, residual: torch.Tensor, degradation: Degradation) -> float:
    """``floor``, or :data:`DISCREPANCY_FACTOR` times the noise read beyond the kernel from ``residual`` (1, 1, H,
    W) where that is lower; ``floor`` without a kernel."""
    beyond = _reading_beyond_kernel(residual, degradation)
    return floor if beyond is None else min(floor, DISCREPANCY_FACTOR * beyond)
