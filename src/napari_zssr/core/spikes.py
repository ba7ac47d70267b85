"""Isolated spikes: single pixels far above (or below) every one of their neighbours, interpolated, not learned from.

A hot or dead camera pixel, or a cosmic ray's hit, is one pixel that towers over all eight of its neighbours. The
run's kernel says how isolated a pixel of an optical image can be: it spreads a point over the pixels of the input,
and wherever the point lies within its pixel, the brightest neighbour keeps at least a share of the brightest
pixel's height (its :func:`least_neighbour_share`: about a quarter for the bicubic kernel at x2, more for any
microscope PSF of a few pixels, next to nothing for a PSF narrower than a pixel). Back-projection, which makes the
output explain the input under the kernel, deconvolved a pixel far more isolated than that into a peak many times
its height ringing with deep negatives (a uint16 plane of background 250 with one pixel at 4095, given its Gaussian
PSF: an output from -6,300 to 15,400), and the network rings around it too. So a run works on the input with each
such spike replaced by the median of its 3 x 3 neighbourhood, and adds the spikes back to its output as
interpolation shows them (docs/benchmarks.md, "Isolated spikes"). The blur and resolution estimates have a looser
test of their own, taken only where an image reads as pure noise (``core.spectrum.with_lone_outliers_retried``: any
pixel far from its 3 x 3 median, clusters of hot pixels too).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from .degradation import Degradation
from .noise import estimate_noise_rms, estimate_noise_std

#: a spike's brightest neighbour keeps less than this fraction of the least share the kernel leaves it (a margin
#: for noise on the neighbours)
SHARE_MARGIN = 0.5
#: a spike rises by more than this many times the image's noise level over the ring of pixels around its
#: neighbours (a noisy pixel is no spike), and at least by this share of the run's intensity range (a clean image's
#: noise reads near 0: a 1-count step of it is no spike)
SPIKE_NOISE_LEVELS = 10.0
SPIKE_MIN_HEIGHT = 0.01
#: LR pixels on each side of the point that :func:`least_neighbour_share` images
_PROBE_RADIUS = 6


def without_isolated_spikes(images: torch.Tensor, degradation: Degradation,
                            noise: float | None = None) -> tuple[torch.Tensor, int]:
    """``images`` (N, 1, H, W, normalised to an intensity range of 0-1) with every spike (up or down) that is more
    isolated than ``degradation``'s kernel lets a point be replaced by its 3 x 3 median, and how many there were
    (``images`` itself and 0 where there is none, or under 5 x 5 pixels).

    A pixel's height is measured over the median of the 16 pixels around its 3 x 3 neighbourhood (the local
    background, which a point's own light hardly reaches); its brightest (darkest) neighbour's likewise. The noise
    level is ``noise``, or each image's :func:`noise_level`. The neighbourhoods are shifted views of the image and
    the rings are read only where a pixel clears the noise test, so a large plane costs a few copies of itself."""
    rows, cols = images.shape[-2:]
    share = SHARE_MARGIN * least_neighbour_share(degradation)
    if rows < 5 or cols < 5 or share <= 0:
        return images, 0
    padded = F.pad(images, (2, 2, 2, 2), mode="reflect")  # a border pixel's own value is no neighbour of it
    window = [padded[..., dy : dy + rows, dx : dx + cols] for dy in range(5) for dx in range(5)]  # centre: 12
    neighbours = [window[5 * dy + dx] for dy in range(1, 4) for dx in range(1, 4) if (dy, dx) != (2, 2)]
    ring = [window[5 * dy + dx] for dy in range(5) for dx in range(5) if not (0 < dy < 4 and 0 < dx < 4)]
    highest, lowest = neighbours[0].clone(), neighbours[0].clone()
    for neighbour in neighbours[1:]:
        torch.maximum(highest, neighbour, out=highest)
        torch.minimum(lowest, neighbour, out=lowest)
    noises = [noise_level(image[None]) for image in images] if noise is None else [noise] * images.shape[0]
    levels = torch.tensor([max(SPIKE_NOISE_LEVELS * level, SPIKE_MIN_HEIGHT) for level in noises],
                          dtype=images.dtype, device=images.device)[:, None, None, None]
    where = torch.nonzero((images - highest > levels) | (lowest - images > levels), as_tuple=True)
    if where[0].numel() == 0:
        return images, 0
    background = torch.stack([view[where] for view in ring], dim=1).median(dim=1).values
    centre, level = images[where], levels[where[0], 0, 0, 0]
    height = centre - background
    up = (height > level) & (highest[where] - background < share * height)
    down = (-height > level) & (background - lowest[where] < share * -height)
    spikes = up | down
    count = int(spikes.sum())
    if count == 0:
        return images, 0
    at = tuple(index[spikes] for index in where)
    median = torch.stack([view[at] for view in neighbours + [window[12]]], dim=1).median(dim=1).values
    cleaned = images.clone()
    cleaned[at] = median
    return cleaned, count


def noise_level(image: torch.Tensor) -> float:
    """The noise level a spike of ``image`` (1, 1, H, W) is measured against: the larger of its typical and its
    shot-noise-aware readings (a sparse photon-counting image's typical level reads 0, and its single photons would
    pass for spikes)."""
    return max(estimate_noise_std(image), estimate_noise_rms(image))


def least_neighbour_share(degradation: Degradation) -> float:
    """The smallest share of its brightest pixel's height that the brightest of its 8 neighbours keeps, over the
    places of a point within an input pixel, when the point is imaged through ``degradation`` (its kernel and
    sampling, or bicubic resizing): how isolated a pixel of an image the kernel explains can be."""
    kernel = None if degradation.kernel is None else degradation.kernel.detach().cpu().double().numpy()
    return _least_neighbour_share(None if kernel is None else kernel.tobytes(),
                                  None if kernel is None else kernel.shape, tuple(degradation.scale))


@functools.lru_cache(maxsize=16)
def _least_neighbour_share(kernel: bytes | None, kernel_shape: tuple[int, ...] | None,
                           scale: tuple[float, float]) -> float:
    """:func:`least_neighbour_share` of a kernel given as float64 ``bytes`` (None: bicubic), kept per kernel."""
    weights = None if kernel is None else torch.from_numpy(np.frombuffer(kernel).reshape(kernel_shape).copy())
    degradation = Degradation(scale, None if weights is None else weights.float())
    side = 2 * _PROBE_RADIUS + 1
    places = [math.ceil(factor) for factor in scale]
    hr_shape = degradation.hr_shape((side, side))
    least = 1.0
    for dy in range(places[0]):
        for dx in range(places[1]):
            point = torch.zeros((1, 1, *hr_shape))
            point[..., hr_shape[0] // 2 + dy, hr_shape[1] // 2 + dx] = 1.0
            image = degradation.downscale(point, (side, side))[0, 0]
            row, col = divmod(int(image.argmax()), side)
            around = image[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2].clone()
            peak = float(image[row, col])
            around[min(row, 1), min(col, 1)] = -math.inf
            least = min(least, max(float(around.max()), 0.0) / peak)
    return least
