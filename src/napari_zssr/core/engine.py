"""One ZSSR run on one normalised plane: build the degradation and pairs, train (in gradual steps), infer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .background import without_background
from .config import ZSSRConfig
from .degradation import Degradation
from .geometry import ensemble_transforms, scale_symmetries
from .inference import InferenceOutput, super_resolve
from .kernels import kernel_symmetries
from .network import ZSSRNet, training_layout
from .noise import estimate_noise_floor, sons_noise_std
from .pairs import FatherPool, PairSampler, crop_side, min_father_side
from .precision import resolve_precision
from .progress import RunProgress
from .resize import Scale, resize
from .spikes import without_isolated_spikes
from .trainer import StopHook, TrainingLog, train


@dataclass
class PlaneRun:
    output: InferenceOutput
    logs: list[TrainingLog]
    transforms: list[int]
    net: ZSSRNet
    noise_std: float  # of the noise added to the sons (estimated from the input when config says "auto")
    spikes: int = 0  # isolated pixels interpolated, not learned from (core.spikes)
    ringing: float = 0.0  # how far the output reaches beyond the input's range on both sides (see ringing)
    background_taken_off: bool = False  # a dominant smooth background was taken off and put back


def scale_steps(scale: Scale, gradual_steps: tuple[float, ...]) -> list[Scale]:
    """The scales trained in turn: the intermediate steps below the target (same factor on both axes), then it.

    A ValueError for a step not below the target on both axes, which no run could take (rather than a run recorded
    with a step it never took)."""
    beyond = [s for s in gradual_steps if s >= min(scale)]
    if beyond:
        raise ValueError(f"gradual step {beyond[0]:g} is not below the scale {min(scale):g}: gradual steps are "
                         "intermediate factors on the way to the scale (e.g. gradual_steps=(1.5,) for 2); drop it or "
                         "raise the scale")
    return [(float(s), float(s)) for s in sorted(gradual_steps)] + [scale]


def check_crop_sizes(config: ZSSRConfig, scale: Scale) -> None:
    """A clear error, before any work, when a training or reconstruction crop cannot hold a son of two LR pixels
    a side at ``scale`` (crops are cut to multiples of an integer factor, so a smaller one becomes empty)."""
    least = 2 * math.ceil(max(scale) - 1e-9)
    for name in ("crop_size", "recon_crop"):
        value = getattr(config, name)
        if value < least:
            raise ValueError(f"{name} {value} is too small for the scale {max(scale):g}: a crop must hold a son of at "
                             f"least 2 x 2 input pixels, so at least {least} pixels; raise {name}")


def reconstruction_pair(image: torch.Tensor, degradation: Degradation, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed crop of the input and its interpolated, noise-free son: what the lr policy tracks.

    On a plane larger than the crop it is the most varied of nine windows (centre first, then the edges and corners):
    a centre of empty background would keep the error flat, and the policy would drop the rate at every check.
    """
    height, width = image.shape[-2:]
    crop_h = crop_side(height, crop, degradation.scale[0])
    crop_w = crop_side(width, crop, degradation.scale[1])
    windows = [(top, left) for top in _offsets(height - crop_h) for left in _offsets(width - crop_w)]
    top, left = max(windows, key=lambda w: float(image[..., w[0] : w[0] + crop_h, w[1] : w[1] + crop_w].std()))
    target = image[..., top : top + crop_h, left : left + crop_w]
    son = degradation.downscale(target)
    return degradation.upscale(son, (crop_h, crop_w)).contiguous(memory_format=training_layout(son.device.type)), target


def _offsets(slack: int) -> list[int]:
    """Centre, then start and end, of a window with ``slack`` pixels to spare (one offset when there is none)."""
    return list(dict.fromkeys((slack // 2, 0, slack)))


#: how far past the input's largest magnitude (normalised, at least 1) a converged output can reach: a real output
#: overshoots by a fraction of the range; beyond this the training ran away
DIVERGED_MAGNITUDE = 100.0


def check_converged(sr: torch.Tensor, image: torch.Tensor, config: ZSSRConfig, noise_std: float) -> None:
    """Raise a RuntimeError if training diverged, before a NaN, infinite or runaway result is written anywhere."""
    limit = DIVERGED_MAGNITUDE * max(1.0, float(image.abs().max()))
    if not bool(sr.abs().le(limit).all()):  # NaN compares False too
        raise RuntimeError(f"training diverged: the output has NaN, infinite or runaway values (learning rate "
                           f"{config.learning_rate:g}, noise on the sons {noise_std:g}); lower learning_rate or "
                           "noise_std, or use another preset")


def run_plane(image: torch.Tensor, scale: Scale, kernels: Sequence[np.ndarray | None] | None, config: ZSSRConfig,
              *, seed: int, device: torch.device, progress: RunProgress | None = None,
              should_stop: StopHook | None = None, net: ZSSRNet | None = None) -> PlaneRun:
    """Super-resolve ``image`` (1, 1, H, W, normalised, on ``device``); ``net`` given = warm start from it.

    ``kernels``: the kernel of each step of :func:`scale_steps` (see ``step_kernels``); None: bicubic throughout.
    The run learns from and restores the image without its isolated spikes, which its outputs get back interpolated
    (``core.spikes``).
    """
    steps = scale_steps(scale, config.gradual_steps)
    kernels = list(kernels or [None] * len(steps))
    degradations = [Degradation.create(step, kernel, device) for step, kernel in zip(steps, kernels, strict=True)]
    as_given = image
    # the background first, so that the spikes' tests work in the structures' range; the last step's degradation
    # maps the output onto the input
    image, background = without_background(image, config.background_window)
    image, spikes = without_isolated_spikes(image, degradations[-1])
    cleaned = image if background is None else background.plane_of(image)  # the plane without its spikes
    if spikes and background is not None:  # an opening keeps a dead pixel, which dips the envelope: taken again
        image, background = without_background(cleaned, config.background_window)
    noise_std = sons_noise_std(config.noise_std, [cleaned])  # a fraction of the plane's range, as the result records it
    sons_noise = noise_std / background.contrast if background is not None else noise_std  # of what the run learns
    # the last step's degradation maps the whole output onto the input
    noise_floor = estimate_noise_floor(image, degradations[-1]) if config.back_projects_to_noise else 0.0
    if net is None:
        net = ZSSRNet.create(config, seed, device, kernel=kernels[0], scale=steps[0], noise_std=sons_noise)
    dtype = resolve_precision(config.precision, device)
    pool = FatherPool(image, config.father_min_scale, config.father_levels, min_father_side(scale))
    logs = []
    for step_index, (step_scale, kernel, degradation) in enumerate(zip(steps, kernels, degradations, strict=True)):
        # the ensemble may only use transforms that keep the kernel; training pairs may use any that keep the scale
        transforms = ensemble_transforms(kernel_symmetries(kernel, step_scale), config.ensemble)
        sampler = PairSampler(pool, degradation, scale_symmetries(step_scale), sons_noise, seed + step_index, device)
        recon = reconstruction_pair(image, degradation, config.recon_crop)
        logs.append(train(net, sampler, recon, config, progress=progress, should_stop=should_stop, dtype=dtype))
        if progress is not None:
            progress.step_finished(logs[-1].iterations, config.max_iterations)
        output = super_resolve(net, image, degradation, transforms, config.back_projection_iterations,
                               config.tile_size, dtype, noise_floor, should_stop)
        check_converged(output.sr, image, config, noise_std)
        if step_index < len(steps) - 1:
            pool.add(output.sr)  # gradual SR: this stage's output is a father for the next
    # of the input the run restored (a hot pixel would set the range; the structures', where a background was off)
    rings = ringing(image, output.sr)
    if background is not None:
        background.restore(output, degradations[-1])
    if spikes:
        interpolated = resize(as_given - cleaned, tuple(output.sr.shape[-2:]))
        output.sr, output.ensemble_median = output.sr + interpolated, output.ensemble_median + interpolated
    return PlaneRun(output, logs, transforms, net, noise_std, spikes, rings, background is not None)


def ringing(image: torch.Tensor, output: torch.Tensor) -> float:
    """How far ``output`` reaches beyond ``image``'s range on both sides, in units of that range: the lesser of its
    fall below the minimum and its rise above the maximum (0 where either stays within). Deblurring with the right
    kernel reaches far past one side only (sparse bright spots rise by up to 1.2 ranges; dark spots on a bright
    ground, the mirror image, fall); a kernel much wider than the image's blur rings both ways, as does a line of dead
    pixels (docs/benchmarks.md, "A kernel too wide"). A run measures it on the plane it learned from: less its
    background, where one was taken off (``core.background``), so that the structures' range is the unit."""
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return 0.0
    return max(0.0, min(low - float(output.min()), float(output.max()) - high) / (high - low))
