"""Isolated spikes: single pixels far above (or below) every one of their neighbours, interpolated, not learned from.

A hot or dead camera pixel, or a cosmic ray's hit, is one pixel that towers over all eight of its neighbours. Optics
cannot make one: a PSF spreads a point over several pixels of a sampled image, and the brightest neighbour of a
point's brightest pixel keeps a good part of its height (about a quarter even for a point imaged by the bicubic
kernel at x2, more for any wider blur). Back-projection, which makes the output explain the input under the
kernel, deconvolved such a pixel into a peak many times its height ringing with deep negatives (a uint16 plane of
background 250 with one pixel at 4095, given its Gaussian PSF: an output from -6,300 to 15,400), and the network
rings around it too. So a run works on the input with each isolated spike replaced by the median of its 3 x 3
neighbourhood, and adds the spikes back to its output as interpolation shows them (docs/benchmarks.md, "Isolated
spikes"). The blur and resolution estimates have a looser test of their own, taken only where an image reads as
pure noise (``core.spectrum.with_lone_outliers_retried``: any pixel far from its 3 x 3 median, clusters of hot
pixels too); a run must not take a bright point of a sparse image for a defect, so it asks for isolation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .noise import estimate_noise_std

#: a spike rises above its brightest neighbour by more than this share of its height over the 3 x 3 median
SPIKE_SHARE = 0.9
#: and by more than this many times the spread of its neighbours (a smooth slope's peak at an image corner is none)
SPIKE_SPREADS = 4.0
#: and by more than this many times the image's typical noise level (a noisy pixel is no spike), and at least by
#: this share of the run's intensity range (a clean image's noise reads near 0: a 1-count step of it is no spike)
SPIKE_NOISE_LEVELS = 10.0
SPIKE_MIN_HEIGHT = 0.01


def without_isolated_spikes(images: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``images`` (N, 1, H, W) with every isolated spike (up or down) replaced by its 3 x 3 median, and how many
    there were (``images`` itself and 0 where there is none, or under 3 x 3 pixels); normalised as a run
    normalises them (intensity range 0-1). The noise level is each image's own (:func:`estimate_noise_std`). The
    neighbourhoods are shifted views of the image and medians are taken only where a pixel clears the noise test,
    so a large plane costs a few copies of itself, not nine."""
    rows, cols = images.shape[-2:]
    if rows < 3 or cols < 3:
        return images, 0
    padded = F.pad(images, (1, 1, 1, 1), mode="reflect")  # a border pixel's own value is no neighbour of it
    shifted = [padded[..., dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)]  # centre: 4
    neighbours = shifted[:4] + shifted[5:]
    highest, lowest = neighbours[0].clone(), neighbours[0].clone()
    for neighbour in neighbours[1:]:
        torch.maximum(highest, neighbour, out=highest)
        torch.minimum(lowest, neighbour, out=lowest)
    levels = torch.tensor([max(estimate_noise_std(image[None]) * SPIKE_NOISE_LEVELS, SPIKE_MIN_HEIGHT)
                           for image in images],
                          dtype=images.dtype, device=images.device)[:, None, None, None]
    above, below = images - highest, lowest - images
    high, low = above > levels, below > levels
    where = torch.nonzero(high | low, as_tuple=True)
    if where[0].numel() == 0:
        return images, 0
    median = torch.stack([view[where] for view in shifted], dim=1).median(dim=1).values
    centre = images[where]
    spread = SPIKE_SPREADS * (highest[where] - lowest[where])
    spikes = (high[where] & (above[where] > SPIKE_SHARE * (centre - median)) & (above[where] > spread)) | \
             (low[where] & (below[where] > SPIKE_SHARE * (median - centre)) & (below[where] > spread))
    count = int(spikes.sum())
    if count == 0:
        return images, 0
    cleaned = images.clone()
    cleaned[tuple(index[spikes] for index in where)] = median[spikes]
    return cleaned, count
