"""The ZSSR network: 8 bias-free 3x3 convolutions with ReLU, predicting a residual over the interpolated input."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .config import ZSSRConfig
from .init_weights import load_weights
from .kernel_conditioning import degradation_code


class ZSSRNet(nn.Module):
    """``forward(x) = x + body(x)``, with ``x`` the input already interpolated to the output size.

    Bias-free (as the authors' net): with ReLU and no bias ``f(a x) = a f(x)``, so results do not depend on the
    intensity scale of the data.
    """

    def __init__(self, channels: int = 1, width: int = 64, depth: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = channels
        for index in range(depth):
            out_channels = channels if index == depth - 1 else width
            # without torch's own initialisation, which draws from its global generator: the caller's, which a run
            # leaves as it was (and another thread may be drawing from)
            layers.append(nn.utils.skip_init(nn.Conv2d, in_channels, out_channels, 3, padding=1, bias=False))
            if index < depth - 1:
                layers.append(nn.ReLU(inplace=True))
            in_channels = out_channels
        self.body = nn.Sequential(*layers)
        self.depth = depth
        self.reset_parameters(torch.Generator().manual_seed(0))  # :meth:`create` draws from the run's seed

    @classmethod
    def create(cls, config: ZSSRConfig, seed: int, device: torch.device | str = "cpu", *,
               kernel: np.ndarray | None = None, scale: tuple[float, float] = (2.0, 2.0),
               noise_std: float = 0.0) -> ZSSRNet:
        """The net of ``config`` (width, depth) on ``device``, starting from ``config.init``: the authors'
        initialisation drawn from ``seed`` ("scratch"), the learned start or a weights file. A start conditioned on
        the degradation (the shipped one) is taken for ``kernel`` (None: bicubic) at ``scale``, the run's first, and the
        ``noise_std`` the run adds to its sons.

        The weights are drawn or loaded on the CPU, so a seed gives the same start on every device.
        """
        net = cls(1, config.width, config.depth)
        if config.init == "scratch":
            net.reset_parameters(torch.Generator().manual_seed(seed))
        else:
            load_weights(net, config.init, degradation_code(kernel, scale, noise_std))
        return net.to(device=device, memory_format=torch.channels_last)

    @property
    def receptive_radius(self) -> int:
        """Pixels of context each output pixel sees on each side (one per 3x3 layer)."""
        return self.depth

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Authors' initialisation: normal with std sqrt(0.1 / (9 * C_in)), drawn from ``generator``."""
        with torch.no_grad():
            for conv in self.body:
                if isinstance(conv, nn.Conv2d):
                    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                    sample = torch.randn(conv.weight.shape, generator=generator) * math.sqrt(0.1 / fan_in)
                    conv.weight.copy_(sample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
