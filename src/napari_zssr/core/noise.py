"""The noise level of the input, which sets the noise added to the LR sons.

At test time the network is fed the input itself, noise included; sons with the same noise level teach it to
leave that noise out of the detail it adds (too little: it sharpens the noise; too much: it smooths real detail).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Immerkær's mask: the difference of two Laplacians; it cancels smooth structure up to second order.
_MASK = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_MASK_NORM = 6.0  # L2 norm of the mask: white noise of std s gives a response of std 6 s
_MAD_TO_STD = 0.6745  # median |N(0, 1)|


def estimate_noise_std(image: torch.Tensor) -> float:
    """Std of white Gaussian noise in ``image`` (1, 1, H, W), from the median absolute mask response.

    The median (not Immerkær's mean) keeps edges and texture, which are a minority of pixels, from counting as
    noise. Structure finer than 3 pixels still reads partly as noise: on noise-free texture the estimate is a
    small positive number, not 0.
    """
    return float(_mask_response(image).abs().median()) / (_MAD_TO_STD * _MASK_NORM)


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
