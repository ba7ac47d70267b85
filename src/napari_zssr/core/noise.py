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
    mask = _MASK.to(device=image.device, dtype=image.dtype)[None, None]
    response = F.conv2d(image, mask)
    return float(response.abs().median()) / (_MAD_TO_STD * _MASK_NORM)
