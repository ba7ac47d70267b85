"""The ZSSR network: ``depth`` bias-free 3x3 convolutions (the authors' 8) with ReLU, predicting a residual over the
interpolated input."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import torch
from torch import nn

from .config import DEFAULT_SCALE, ZSSRConfig
from .init_weights import load_start, load_weights
from .kernel_conditioning import degradation_code


class _Conv(nn.Conv2d):
    """A convolution without torch's own initialisation, which draws from its global generator: the caller's, which a
    run leaves as it was (and another thread may be drawing from). :meth:`ZSSRNet.reset_parameters` sets the weights.
    (Not ``nn.utils.skip_init``: its meta device loads sympy, a third of a second of a process's first run.)"""

    def reset_parameters(self) -> None:
        pass


class ZSSRNet(nn.Module):
    """``forward(x) = x + body(x)``, with ``x`` the input already interpolated to the output size.

    Bias-free (as the authors' net): with ReLU and no bias ``f(a x) = a f(x)``, so results do not depend on the
    intensity scale of the data.
    """

    def __init__(self, channels: int, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = channels
        for index in range(depth):
            out_channels = channels if index == depth - 1 else width
            layers.append(_Conv(in_channels, out_channels, 3, padding=1, bias=False,
                                dtype=torch.float32))  # whatever torch's default type
            if index < depth - 1:
                layers.append(nn.ReLU(inplace=True))
            in_channels = out_channels
        self.body = nn.Sequential(*layers)
        self.depth = depth
        self.reset_parameters(torch.Generator().manual_seed(0))  # :meth:`create` draws from the run's seed

    @classmethod
    def create(cls, config: ZSSRConfig, seed: int, device: torch.device | str = "cpu", *,
               kernel: np.ndarray | None = None, scale: tuple[float, float] = (DEFAULT_SCALE, DEFAULT_SCALE),
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
        return net.to(device=device, memory_format=training_layout(torch.device(device).type))

    def for_inference(self) -> ZSSRNet:
        """This net in eval mode and channels-last, the faster layout for inference on every device measured: itself
        where it trains in that layout, else a copy, so that the weights a warm start goes on training from keep
        theirs."""
        if training_layout(next(self.parameters()).device.type) == torch.channels_last:
            return self.eval()
        return copy.deepcopy(self).to(memory_format=torch.channels_last).eval()

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
                    sample = torch.randn(conv.weight.shape, generator=generator, dtype=torch.float32)
                    sample *= math.sqrt(0.1 / fan_in)
                    conv.weight.copy_(sample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@functools.cache
def training_layout(device_type: str) -> torch.memory_format:
    """The memory layout the net trains in on ``device_type``: channels-last, except on CPUs whose widest vector
    instructions are AVX2, where torch's convolutions train faster in the default layout (an AMD EPYC without
    AVX-512, float32: a step on a 128² crop 0.25 s against 0.36-0.53 s, a fast run on 128² 18.7 s against 24.0 s),
    while channels-last is 20 % faster on an Intel Xeon with AMX. Inference is channels-last everywhere
    (:meth:`ZSSRNet.for_inference`: 1.2 s against 1.9 s for a 512² pass on that EPYC)."""
    if device_type == "cpu" and torch.backends.cpu.get_cpu_capability() == "AVX2":
        return torch.contiguous_format
    return torch.channels_last


def check_start(config: ZSSRConfig) -> None:
    """Load ``config.init`` into a network of ``config``'s width and depth, so that a weights file that is missing,
    damaged or made for another network fails before any long work (``WeightsDoNotFit``, ``ValueError``); the
    authors' random start ("scratch") has nothing to check."""
    if config.init != "scratch":
        load_start(ZSSRNet(1, config.width, config.depth), config.init)
