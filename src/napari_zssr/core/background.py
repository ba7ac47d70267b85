"""A smooth background taken off a plane before a run learns from it, and put back after.

Widefield fluorescence sits on out-of-focus haze, uneven illumination and autofluorescence: light that varies over
many pixels. The network sees 17 x 17 pixels of its input (8 convolutions of 3 x 3); in them such a background is a
local level that its layers must carry through, and it leaves the structures a small part of the intensity range the
run normalises to (and the learned start reads their noise as that much weaker). On fluorescence-like images a ramp
twice the structures' range, or a lumpy illumination field three times it, cost `fast` up to 5 dB
(docs/benchmarks.md, "Smooth backgrounds"). So where the plane's lower envelope at the scale of the network's view
(a grey opening, smoothed) takes at least half its intensity range, a run learns from and restores the plane less
that envelope, rescaled to the intensity range again, and adds the envelope back to its outputs, upscaled so that
the kernel maps it onto the input's (smooth, it needs no network). Where the background takes less, taking it off
changes little either way, and the plane is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from .degradation import Degradation
from .inference import InferenceOutput, back_project
from .resize import resize
from .values import normalisation_range

#: back-projection steps that make the background's upscaled copy explain it under the kernel: smooth, it needs few
#: (on a clean validation image, 0 / 1 / 2 / 10 steps: 48.84 / 50.72 / 50.73 / 50.74 dB)
BACKGROUND_BACK_PROJECTIONS = 1
#: the background is taken off where the rest spans at most this share of the plane's intensity range: there it
#: gains up to several dB; taken off where it takes less of the range, it gave -0.3 to +1.0 dB (docs/benchmarks.md)
DOMINANT_CONTRAST = 0.5
#: and where the rest spans at least this share: less is the rounding of a plane that is all background (a float32
#: ramp's rest spans 1e-7 of it), which rescaled to the full range would be all a network learned from
MIN_CONTRAST = 1e-4


@dataclass
class Background:
    """What :func:`without_background` took off: the input was ``offset + contrast * image``."""

    offset: torch.Tensor  # (N, 1, H, W): the smooth background plus the level of the rest's low end
    contrast: float

    def restore(self, output: InferenceOutput, degradation: Degradation) -> None:
        """Put ``output`` (of the image less its background) in the input's intensities, in place: the super-resolved
        image and the ensemble's median get the background back, upscaled and back-projected until ``degradation``
        (the run's kernel) maps it onto the background; the spread and the noise floor are rescaled."""
        upscaled = self.upscaled(tuple(output.sr.shape[-2:]), degradation)
        output.sr = upscaled + self.contrast * output.sr
        output.ensemble_median = upscaled + self.contrast * output.ensemble_median
        output.ensemble_spread = self.contrast * output.ensemble_spread
        output.noise_floor = self.contrast * output.noise_floor

    def plane_of(self, rest: torch.Tensor) -> torch.Tensor:
        """The input plane whose rest is ``rest`` (of the input's shape): the background put back."""
        return self.offset + self.contrast * rest

    def upscaled(self, shape: tuple[int, int], degradation: Degradation) -> torch.Tensor:
        """The background at ``shape``, which ``degradation`` maps onto it: interpolation alone leaves the kernel's
        attenuation of its finer variations (:data:`BACKGROUND_BACK_PROJECTIONS`)."""
        return back_project(resize(self.offset, shape), self.offset, degradation, BACKGROUND_BACK_PROJECTIONS)


def lower_envelope(image: torch.Tensor, window: int) -> torch.Tensor:
    """The smooth background of ``image`` (N, 1, H, W): its grey opening over ``window`` x ``window`` pixels (what
    remains with every structure narrower than the window taken off) smoothed by a Gaussian of ``window`` / 2; a
    window wider than the image takes its sides (a wider one would change nothing but the cost).

    Both reflect the image at its edges, where a ramp would fold into a valley the opening follows (a ramp of 6
    over 48 pixels read up to twice the structures' range off at the edges), so they work on the image less the
    plane fitted to it, and add the plane back."""
    window = min(window, max(image.shape[-2:]))
    values = image.detach().cpu().double().numpy()
    trend = fitted_planes(values)
    opened = ndimage.grey_opening(values - trend, size=(1, 1, window, window), mode="reflect")
    smooth = ndimage.gaussian_filter(opened, (0, 0, window / 2, window / 2), mode="reflect")
    return torch.from_numpy(trend + smooth).to(device=image.device, dtype=image.dtype)


def fitted_planes(values: np.ndarray) -> np.ndarray:
    """The least-squares plane a + b * row + c * column of each image of ``values`` (N, 1, H, W). On a full grid
    the centred rows and columns are orthogonal to each other and to the constant, so each coefficient is a
    projection of its own (no design matrix of three times the image)."""
    rows = np.arange(values.shape[-2], dtype=np.float64)[:, None]
    cols = np.arange(values.shape[-1], dtype=np.float64)[None, :]
    rows, cols = rows - rows.mean(), cols - cols.mean()
    level = values.mean(axis=(-2, -1), keepdims=True)
    row_slope = (values * rows).sum(axis=(-2, -1), keepdims=True) / max(float((rows**2).sum()) * cols.size, 1e-300)
    col_slope = (values * cols).sum(axis=(-2, -1), keepdims=True) / max(float((cols**2).sum()) * rows.size, 1e-300)
    return level + row_slope * rows + col_slope * cols


def without_background(image: torch.Tensor, window: int) -> tuple[torch.Tensor, Background | None]:
    """``image`` (1, 1, H, W, normalised: one plane, one range) less its :func:`lower_envelope` and rescaled to an
    intensity range of 0-1, and how to put it back, where the envelope takes at least half the intensity range (the
    rest spans at most :data:`DOMINANT_CONTRAST` of it, and at least :data:`MIN_CONTRAST`); else ``image`` itself and
    None, as where ``window`` is 0 (off)."""
    if window == 0:
        return image, None
    rest, background = split_background(image, window)
    if not MIN_CONTRAST <= background.contrast <= DOMINANT_CONTRAST:
        return image, None
    return rest, background


def split_background(image: torch.Tensor, window: int) -> tuple[torch.Tensor, Background]:
    """``image`` as ``background.offset + background.contrast * rest``: its :func:`lower_envelope` (with the rest's
    low end) and the rest, rescaled to an intensity range of 0-1 (left as it is where it is constant, contrast 0)."""
    background = lower_envelope(image, window)
    rest = image - background
    low, high = normalisation_range(rest.detach().cpu().double().numpy())
    contrast = high - low
    return (rest - low) / (contrast or 1.0), Background(background + low, contrast)
