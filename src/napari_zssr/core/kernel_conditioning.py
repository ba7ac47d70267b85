"""A learned start that knows the degradation: per-channel gains of the network's layers computed from its code.

A generic start has to guess the blur from the image; ZSSR from it then spends its few steps learning the kernel it
was given. Non-blind SR networks (SRMD, Zhang et al. 2018) take the kernel and the noise level as inputs instead.
Here the degradation is summarised by :func:`degradation_code` (the kernel's width along its two axes, orientation,
anisotropy, tail weight, the scale, whether it is the bicubic assumption, and the noise the run adds to its sons), and
a small MLP (:class:`KernelConditioning`) turns the code into one gain per output channel of every convolution. The
degradation is fixed for a whole run, so the gains are folded into the weights once (:meth:`KernelConditioning.fold`):
the run trains a plain, bias-free :class:`ZSSRNet` as before, only from a start that depends on its degradation.
``scripts/train_init.py --conditioned`` learns the MLP jointly with the weights (:func:`conditioned_forward`), each
training pair under its own task's kernel and noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .kernels import centre_of_mass

#: entries of :func:`degradation_code`
CODE_SIZE = 9
#: entries of the codes before the noise level was added (the noise entry comes right after them): a conditioning
#: trained on them ignores the noise
KERNEL_CODE_SIZE = 8
#: noise std (fraction of the intensity range) at which the code's noise entry is log(2): the faintest noise trained
NOISE_SCALE = 0.002
#: added to the kernel's standard deviations (HR pixels) before the log, so a one-axis or box kernel stays finite
WIDTH_FLOOR = 0.25
#: the ratio E[r^4] / E[r^2]^2 of an isotropic 2D Gaussian; the code holds the log of a kernel's ratio over it
GAUSSIAN_TAIL_RATIO = 2.0
#: a kernel whose E[r^2] (HR pixels squared) is below this is a point (at most about 1 % of its weight a pixel from
#: its centre; the narrowest kernel trained, a Gaussian of std 0.4, has 0.3): its moments give no shape (0 / 0, or
#: ratios of rounding errors), so it is coded as what it tends to, round and without a tail
POINT_SPREAD = 1e-2


def degradation_code(kernel: np.ndarray | None, scale: tuple[float, float], noise_std: float = 0.0) -> np.ndarray:
    """The description of a ZSSR degradation the start is conditioned on (float32, :data:`CODE_SIZE` entries).

    ``[bicubic, log s_y, log s_x, log major width, log minor width, anisotropy x cos 2 angle, anisotropy x sin 2
    angle, log tail ratio, log(1 + noise_std / NOISE_SCALE)]``: widths are the standard deviations of the (sum-1)
    kernel along its principal axes in HR pixels; the angle is the major axis's (invariant to a half turn, hence 2
    angle); the tail ratio tells an Airy pattern's rings from a Gaussian. ``None`` (the bicubic assumption) is its own
    flag with zero moments. ``noise_std`` is the noise the run adds to its sons (the input's own noise level): a start
    that knows it need not hedge between denoising and sharpening.
    """
    code = np.zeros(CODE_SIZE, np.float32)
    code[1], code[2] = np.log(scale[0]), np.log(scale[1])
    code[KERNEL_CODE_SIZE] = np.log1p(max(noise_std, 0.0) / NOISE_SCALE)
    if kernel is None:
        code[0] = 1.0
        return code
    k = np.asarray(kernel, np.float64)
    k = k / k.sum()
    rows, cols = np.indices(k.shape)
    centre_row, centre_col = centre_of_mass(k)
    d_row, d_col = rows - centre_row, cols - centre_col
    covariance = np.array([[(k * d_row * d_row).sum(), (k * d_row * d_col).sum()],
                           [(k * d_row * d_col).sum(), (k * d_col * d_col).sum()]])
    variances, axes = np.linalg.eigh(covariance)
    minor, major = np.sqrt(np.maximum(variances, 0.0))
    angle = np.arctan2(axes[0, 1], axes[1, 1])
    radius2 = d_row**2 + d_col**2
    spread = (k * radius2).sum()
    if spread < POINT_SPREAD:  # a point (point sampling): round, its mass at one radius (the least tail ratio, 1)
        anisotropy, tail_ratio = 0.0, 1.0
    else:
        anisotropy, tail_ratio = 1.0 - minor / major, (k * radius2**2).sum() / spread**2
    code[3], code[4] = np.log(major + WIDTH_FLOOR), np.log(minor + WIDTH_FLOOR)
    code[5], code[6] = anisotropy * np.cos(2 * angle), anisotropy * np.sin(2 * angle)
    code[7] = np.log(tail_ratio / GAUSSIAN_TAIL_RATIO)
    return code


def convolutions(net: nn.Module) -> list[nn.Conv2d]:
    return [module for module in net.modules() if isinstance(module, nn.Conv2d)]


class KernelConditioning(nn.Module):
    """Degradation code -> one gain per output channel of each convolution: ``1 + MLP(code)``, the MLP's last layer
    starting at zero (so a fresh conditioning leaves the start it is added to unchanged)."""

    def __init__(self, out_channels: list[int], hidden: int = 64) -> None:
        super().__init__()
        self.out_channels = list(out_channels)
        # float32 whatever torch's default type (a caller's torch.set_default_dtype(torch.float64))
        self.hidden = nn.Linear(CODE_SIZE, hidden, dtype=torch.float32)
        self.out = nn.Linear(hidden, sum(self.out_channels), dtype=torch.float32)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @classmethod
    def for_net(cls, net: nn.Module) -> KernelConditioning:
        return cls([conv.out_channels for conv in convolutions(net)])

    @staticmethod
    def widen_code_input(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A conditioning's arrays written for the kernel-only code (:data:`KERNEL_CODE_SIZE` inputs) with zero
        weights on the entries added since: the same gains for every noise level, as when it was trained."""
        weight = arrays.get("hidden.weight")
        if weight is None or weight.ndim != 2 or weight.shape[1] != KERNEL_CODE_SIZE:
            return arrays
        padding = np.zeros((weight.shape[0], CODE_SIZE - KERNEL_CODE_SIZE), weight.dtype)
        return arrays | {"hidden.weight": np.concatenate([weight, padding], axis=1)}

    def forward(self, codes: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Gains per convolution, each (batch, out_channels), for codes (batch, CODE_SIZE)."""
        return torch.split(1 + self.out(torch.relu(self.hidden(codes))), self.out_channels, dim=-1)

    @torch.no_grad()
    def fold(self, net: nn.Module, code: np.ndarray) -> None:
        """Scale ``net``'s weights in place by the gains for ``code``: the plain net then computes what
        :func:`conditioned_forward` computes for that degradation."""
        gains = self(torch.as_tensor(code, dtype=torch.float32)[None])
        for conv, gain in zip(convolutions(net), gains, strict=True):
            conv.weight.mul_(gain[0].to(conv.weight)[:, None, None, None])


def conditioned_forward(net: nn.Module, conditioning: KernelConditioning, x: torch.Tensor,
                        codes: torch.Tensor) -> torch.Tensor:
    """``net(x)`` with each sample's channels scaled by the gains of its own degradation (training on many)."""
    gains = conditioning(codes)
    layers = convolutions(net)
    features = x
    for index, (conv, gain) in enumerate(zip(layers, gains, strict=True)):
        features = conv(features) * gain[:, :, None, None].to(features.dtype)
        if index < len(layers) - 1:
            features = torch.relu(features)
    return x + features
