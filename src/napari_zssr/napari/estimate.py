"""A rough run-time estimate shown before a long run: a few timed training steps on the chosen device."""

from __future__ import annotations

import time
from functools import lru_cache

import torch

from ..core.config import ZSSRConfig
from ..core.device import select_device
from ..core.network import ZSSRNet
from ..core.precision import autocast, resolve_precision


@lru_cache(maxsize=8)
def seconds_per_iteration(device: str, crop_size: int = 128, width: int = 64, depth: int = 8,
                          precision: str = "auto") -> float:
    """Measured cost of one training step (after one warm-up step) on ``device``."""
    target = select_device(device)
    dtype = resolve_precision(precision, target)
    net = ZSSRNet(1, width, depth).to(device=target, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(1, 1, crop_size, crop_size, device=target).contiguous(memory_format=torch.channels_last)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        with autocast(dtype, target):
            loss = (net(x).float() - x).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # wait for the device
        timings.append(time.perf_counter() - start)
    return min(timings[1:])


def describe_estimate(device: str, config: ZSSRConfig, planes: int, warm_start_iterations: int | None) -> str:
    """E.g. "cpu: up to ~4 min for 3 planes (CPU: slow; a GPU is much faster)"."""
    resolved = str(select_device(device))
    iterations = config.max_iterations + (planes - 1) * (warm_start_iterations or config.max_iterations)
    seconds = iterations * seconds_per_iteration(resolved, config.crop_size, config.width, config.depth,
                                                       config.precision) * 1.15
    amount = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    text = f"{resolved}: up to ~{amount} for {planes} plane{'s' if planes > 1 else ''}"
    if resolved == "cpu":
        text += " (CPU: slow; a GPU is much faster)"
    return text
