"""What a run will cost, before it runs: a few real training steps, an inference and back-projection steps timed with
the run's settings, and the model that scales them to a whole run (planes, warm starts, gradual steps, crop sizes,
ensemble, back-projection).

The steps go through the trainer itself (pairs drawn by the sampler, the same training step, precision and network),
so what is timed is what a run does. The range covers the step-time spread and, with the lr policy, its earliest
possible stop. The napari widget shows it (:mod:`napari_zssr.napari.estimate` times off the GUI thread and keeps the
timings per device, precision and network size).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .config import ZSSRConfig
from .degradation import Degradation
from .device import select_device
from .engine import reconstruction_pair, scale_steps
from .geometry import scale_symmetries
from .inference import back_project, super_resolve
from .network import ZSSRNet
from .pairs import FatherPool, PairSampler, crop_side, father_shapes, min_father_side
from .precision import resolve_precision
from .progress import ProgressEvent, RunProgress
from .resize import Scale, as_scale_pair, scaled_shape
from .trainer import train

#: untimed first steps (memory allocation, kernel selection), then timed ones
WARM_UP_STEPS = 3
TIMED_STEPS = 10
#: back-projection steps timed after the inference
TIMED_BACK_PROJECTIONS = 2
#: noise on the timed steps' sons, as a run on a noisy image adds (it costs the same at any level)
TIMING_NOISE_STD = 0.01

CostKey = tuple[str, str, int, int, int]  # device, precision, crop size, width, depth


@dataclass(frozen=True)
class Costs:
    step_seconds: tuple[float, float]  # one training iteration: median and 90th percentile
    inference_seconds_per_pixel: float  # per output pixel and ensemble member
    # per output pixel and back-projection step: each member and their median take up to config's steps, which on a
    # large clean plane cost as much as the members' inference
    back_projection_seconds_per_pixel: float
    crop_size: int  # the side of the square crops the steps were timed on


def cost_key(device: str, config: ZSSRConfig, plane_shape: tuple[int, ...] = ()) -> CostKey:
    """What the costs depend on; the device resolved ("auto" -> "cuda:0"), which may raise a ValueError.

    The crop timed is the one the run trains on: ``crop_size``, or less on planes smaller than it (its fathers are
    no larger than the plane), as a square of its area rounded up to a power of two, so that a few sizes cover
    every plane; a 64² plane's steps cost about a quarter of a 128² crop's."""
    crop = config.crop_size
    if len(plane_shape) >= 2 and min(plane_shape[-2:]) < crop:  # the square of the crop's area (16 x 512: 45²)
        side = math.sqrt(min(plane_shape[-2], crop) * min(plane_shape[-1], crop))
        crop = min(crop, 2 ** math.ceil(math.log2(max(8.0, side))))
    return str(select_device(device)), config.precision, crop, config.width, config.depth


def time_costs(key: CostKey, should_stop: Callable[[], bool] | None = None) -> Costs:
    """Time :data:`TIMED_STEPS` training iterations, one inference and :data:`TIMED_BACK_PROJECTIONS` back-projection
    steps (with the bicubic kernel) with the settings of ``key`` (slow: seconds).

    ``should_stop`` returning True ends the measurement early with :class:`~napari_zssr.core.trainer.Cancelled`.
    The timing is of the device alone only when no run shares it: the widget gives it its turn
    (:mod:`napari_zssr.napari.worker_turns`).
    """
    device_name, precision, crop_size, width, depth = key
    device = torch.device(device_name)
    config = ZSSRConfig(crop_size=crop_size, width=width, depth=depth, precision=precision, device=device_name,
                        max_iterations=WARM_UP_STEPS + TIMED_STEPS, progress_every=1)
    image = torch.rand(1, 1, 2 * crop_size, 2 * crop_size, generator=torch.Generator().manual_seed(0)).to(device)
    scale = (2.0, 2.0)
    degradation = Degradation.create(scale, None, device)
    sampler = PairSampler(FatherPool(image, config.father_min_scale, config.father_levels, min_father_side(scale)),
                          degradation, scale_symmetries(scale), TIMING_NOISE_STD, 0, device)
    net = ZSSRNet.create(config, 0, device)
    stamps: list[float] = []

    def stamp(event: ProgressEvent) -> None:  # the loss was read: the step has finished on the device
        stamps.append(time.perf_counter())

    train(net, sampler, reconstruction_pair(image, degradation, config.recon_crop), config,
          progress=RunProgress(stamp, max_iterations=config.max_iterations), should_stop=should_stop,
          dtype=resolve_precision(precision, device))
    steps = np.diff(stamps[WARM_UP_STEPS - 1 :])
    start = time.perf_counter()  # on the whole image: a 4x larger output than the crop's, nearer a real plane's
    output = super_resolve(net, image, degradation, [0], 0, config.tile_size, resolve_precision(precision, device))
    float(output.sr[0, 0, 0, 0])  # wait for the device
    inference = (time.perf_counter() - start) / output.sr.numel()
    start = time.perf_counter()
    projected = back_project(output.sr, image, degradation, TIMED_BACK_PROJECTIONS)  # no noise floor: every step
    float(projected[0, 0, 0, 0])
    back_projection = (time.perf_counter() - start) / (TIMED_BACK_PROJECTIONS * output.sr.numel())
    return Costs((float(np.median(steps)), float(np.percentile(steps, 90))), inference, back_projection, crop_size)


@dataclass(frozen=True)
class Workload:
    """What a run does: ``planes`` inferences of ``plane_shape`` at ``scale``, each trained first (warm-started
    planes for ``warm_start_iterations``), or, for an axial run, ``volumes`` networks trained from scratch on their
    ``lateral_shape`` planes and applied to ``planes`` slices of the volumes."""

    plane_shape: tuple[int, ...]
    scale: float | Scale
    planes: int
    warm_start_iterations: int | None = None
    volumes: int | None = None
    lateral_shape: tuple[int, ...] = ()

    @property
    def training_shape(self) -> tuple[int, ...]:
        """The planes the training crops are cut from: an axial run's lateral planes, else the planes it restores."""
        return self.lateral_shape if self.volumes else self.plane_shape

    def label(self) -> str:
        """E.g. "3 planes", "1 volume"."""
        count, unit = (self.volumes, "volume") if self.volumes else (self.planes, "plane")
        return f"{count} {unit}{'s' if count > 1 else ''}"


def mean_crop_area(plane_shape: tuple[int, ...], config: ZSSRConfig, scale: Scale) -> float:
    """The mean area (pixels) of the training crops a run cuts from planes of ``plane_shape``: crops come from the
    fathers (:class:`~napari_zssr.core.pairs.FatherPool`: the plane and its copies down to ``father_min_scale``,
    drawn in proportion to their area), and a father narrower than ``crop_size`` gives crops of its width. A step's
    cost grows with its crop's area, so on planes under twice the crop size the steps cost less than the timed
    crop's (a 128 x 128 plane's crops average 0.7 of a 128 x 128 crop's area)."""
    pair = as_scale_pair(scale)
    shape = (int(plane_shape[-2]), int(plane_shape[-1]))
    fathers = father_shapes(shape, config.father_min_scale, config.father_levels, min_father_side(pair)) or [shape]
    areas = np.array([height * width for height, width in fathers], dtype=np.float64)
    crops = np.array([crop_side(height, config.crop_size, pair[0]) * crop_side(width, config.crop_size, pair[1])
                      for height, width in fathers], dtype=np.float64)
    return float(np.sum(areas * crops) / np.sum(areas))


def estimate_seconds(costs: Costs, config: ZSSRConfig, work: Workload) -> tuple[float, float]:
    """(shortest, longest) likely run time of ``work`` with ``config``."""
    pair = as_scale_pair(work.scale)
    steps = len(scale_steps(pair, config.gradual_steps))
    trained = work.volumes or work.planes
    later = config.max_iterations if work.volumes else work.warm_start_iterations or config.max_iterations
    first = later if config.first_plane_warm(trained) else config.max_iterations
    longest = steps * (first + (trained - 1) * later)
    shortest = longest
    if config.lr_schedule == "policy":  # it may stop once the lr has dropped below the minimum, at the earliest
        drops = math.floor(math.log10(config.learning_rate / config.min_learning_rate)) + 1 if \
            config.min_learning_rate > 0 else math.inf
        earliest = min(drops * (config.min_iterations + 1), config.max_iterations)
        shortest = steps * (min(earliest, first) + (trained - 1) * min(earliest, later))
    members = config.ensemble
    output_pixels = math.prod(scaled_shape(tuple(work.plane_shape[-2:]), pair)) * steps * work.planes
    inference = costs.inference_seconds_per_pixel * output_pixels * members
    # each member and their median back-project; stopped at the noise level, a noisy plane may take no step at all
    back_projection = costs.back_projection_seconds_per_pixel * output_pixels * (members + 1) \
        * config.back_projection_iterations
    fewest_back_projections = 0.0 if config.back_projection_to_noise else back_projection
    crops = mean_crop_area(work.training_shape, config, pair) / costs.crop_size**2  # steps on smaller crops cost less
    return (shortest * costs.step_seconds[0] * crops + inference + fewest_back_projections,
            longest * costs.step_seconds[1] * crops + inference + back_projection)
