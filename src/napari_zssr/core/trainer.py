"""Test-time training: L1 loss, Adam, and a learning-rate schedule (fixed drops, or the authors' linear-fit policy).

The policy (from the ZSSR authors' code): every few iterations the error on a fixed reconstruction pair is recorded;
a line is fitted to the recent errors, and when the fitted improvement is smaller than the uncertainty of the fit,
the learning rate is divided by 10. Training ends when the lr falls below ``min_learning_rate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from scipy.stats import linregress

from .config import ZSSRConfig
from .cuda_graph import GraphedSteps, graph_optimizer
from .network import ZSSRNet, training_layout
from .pairs import PairSampler
from .precision import autocast, grad_scaler
from .progress import RunProgress


class Cancelled(Exception):
    """Raised inside a run when the caller's ``should_stop`` hook returns True."""

    def __init__(self, message: str = "the run was cancelled (its should_stop returned True)") -> None:
        super().__init__(message)


StopHook = Callable[[], bool]


def check_hooks(progress: Any, should_stop: Any) -> None:
    """A TypeError naming ``progress`` or ``should_stop`` where it is neither None nor a function, before any work."""
    for name, hook in (("progress", progress), ("should_stop", should_stop)):
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a function (or None), got {type(hook).__name__} {hook!r}")


@dataclass
class LinearFitPolicy:
    """Divide the lr by 10 when the fitted progress of the reconstruction error is smaller than its noise."""

    config: ZSSRConfig
    needs_errors = True
    last_change: int = 0
    steps: list[int] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)

    def record(self, iteration: int, error: float) -> None:
        self.steps.append(iteration)
        self.errors.append(error)

    def should_drop(self, iteration: int) -> bool:
        """The authors' rule: every ``lr_check_every`` iterations, once ``min_iterations`` have passed since the last
        drop, drop the lr where ``lr_change_ratio`` times the fall of a line fitted to the recent reconstruction
        errors is not above the fit's standard error: the error has stopped improving beyond its noise."""
        c = self.config
        if (iteration + 1) % c.lr_check_every or iteration - self.last_change <= c.min_iterations:
            return False
        window = max(3, c.lr_slope_range // c.recon_every)
        if len(self.steps) < 3:
            return False
        fit = linregress(self.steps[-window:], self.errors[-window:])
        stderr = 0.0 if np.isnan(fit.stderr) else fit.stderr  # NaN when every error is equal: an exact fit
        if -c.lr_change_ratio * fit.slope <= stderr:  # "<=": an error that does not move is no progress either
            self.last_change = iteration
            return True
        return False


@dataclass
class StepSchedule:
    """Divide the lr by 10 at fixed fractions of ``max_iterations``: converges in a known number of steps."""

    config: ZSSRConfig
    needs_errors = False  # no reconstruction checks: they would cost time for nothing

    def __post_init__(self) -> None:
        self.drops = frozenset(self.config.lr_drop_iterations())  # once, not at every iteration

    def should_drop(self, iteration: int) -> bool:
        return iteration + 1 in self.drops


def make_schedule(config: ZSSRConfig) -> LinearFitPolicy | StepSchedule:
    return LinearFitPolicy(config) if config.lr_schedule == "policy" else StepSchedule(config)


@dataclass
class TrainingLog:
    iterations: int = 0
    final_learning_rate: float = 0.0
    lr_drops: list[int] = field(default_factory=list)
    reconstruction_errors: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Push a new lr into the optimiser: changing a Python variable alone would leave Adam at the old rate (and a
    CUDA graph's Adam reads it from a device tensor)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(learning_rate)
        else:
            group["lr"] = learning_rate


@torch.no_grad()
def reconstruction_error(net: ZSSRNet, son_up: torch.Tensor, target: torch.Tensor, dtype: torch.dtype) -> float:
    """Mean squared error of the net on the fixed noise-free reconstruction pair (what the lr policy tracks)."""
    with autocast(dtype, son_up.device):
        prediction = net(son_up)
    return float(((prediction.float() - target) ** 2).mean())


def l1_loss(net: Callable[[torch.Tensor], torch.Tensor], son_up: torch.Tensor, father: torch.Tensor,
            dtype: torch.dtype) -> torch.Tensor:
    """The training loss: mean absolute error of the net's prediction from ``son_up`` against ``father`` (``net``:
    the network, or any function of the input such as a kernel-conditioned forward pass)."""
    with autocast(dtype, son_up.device):
        prediction = net(son_up.contiguous(memory_format=training_layout(son_up.device.type)))
    return (prediction.float() - father).abs().mean()


def training_step(net: ZSSRNet, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                  son_up: torch.Tensor, father: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """One optimisation step on one (interpolated son, father) pair; returns the L1 loss (not read, so no sync).

    The eager training step: runs on CPUs, the time estimate and the benchmarks call it; on CUDA, runs replay it
    from a graph (:func:`step_function`).
    """
    loss = l1_loss(net, son_up, father, dtype)
    descend(optimizer, scaler, loss)
    return loss


def descend(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss: torch.Tensor) -> None:
    """One optimiser step down ``loss``'s gradient (scaled where the precision needs it)."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


#: replay training steps from CUDA graphs on CUDA devices (float32 and bfloat16); False: eager steps everywhere
USE_CUDA_GRAPHS = True

StepFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def step_function(net: ZSSRNet, learning_rate: float, dtype: torch.dtype) -> tuple[torch.optim.Adam, StepFunction]:
    """Adam and ``step(son_up, father) -> loss`` for ``net``'s device: eager on CPUs (and for float16, whose loss
    scaling decides on the host), replayed from CUDA graphs on CUDA GPUs (:mod:`.cuda_graph`)."""
    device = next(net.parameters()).device
    if device.type == "cuda" and dtype != torch.float16 and USE_CUDA_GRAPHS:
        optimizer = graph_optimizer(net, learning_rate)
        return optimizer, GraphedSteps(net, optimizer, partial(l1_loss, net, dtype=dtype))
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate, fused=True if device.type == "cuda" else None)
    scaler = grad_scaler(dtype, device)
    return optimizer, partial(training_step, net, optimizer, scaler, dtype=dtype)


def train(net: ZSSRNet, sampler: PairSampler, reconstruction_pair: tuple[torch.Tensor, torch.Tensor],
          config: ZSSRConfig, *, progress: RunProgress | None = None, should_stop: StopHook | None = None,
          dtype: torch.dtype = torch.float32) -> TrainingLog:
    """Train ``net`` in place on pairs from ``sampler`` until the lr schedule or ``config.max_iterations`` stops it.

    ``dtype`` other than float32: the convolutions run in mixed precision (see :mod:`.precision`).
    """
    start = time.perf_counter()
    learning_rate = config.learning_rate
    optimizer, step = step_function(net, learning_rate, dtype)
    policy = make_schedule(config)
    log = TrainingLog()
    recon_input, recon_target = reconstruction_pair
    net.train()
    for iteration in range(config.max_iterations):
        if should_stop is not None and should_stop():
            raise Cancelled
        loss = step(*sampler.sample(config.crop_size))
        log.iterations = iteration + 1
        # and at the last iteration: a warm-started plane may train fewer than progress_every
        if progress is not None and ((iteration + 1) % config.progress_every == 0
                                     or iteration + 1 == config.max_iterations):
            progress.training(iteration + 1, config.max_iterations, float(loss.detach()), learning_rate)
        if policy.needs_errors and iteration % config.recon_every == 0:
            error = reconstruction_error(net, recon_input, recon_target, dtype)
            policy.record(iteration, error)
            log.reconstruction_errors.append((iteration, error))
        if policy.should_drop(iteration):
            learning_rate /= 10
            set_learning_rate(optimizer, learning_rate)
            log.lr_drops.append(iteration)
            if learning_rate < config.min_learning_rate:
                break
    net.eval()
    log.final_learning_rate = learning_rate
    log.seconds = time.perf_counter() - start
    return log
