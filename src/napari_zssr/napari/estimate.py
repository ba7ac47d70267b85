"""The run-time range shown before a run: a few real training steps and an inference, timed off the GUI thread.

The steps go through the trainer itself (pairs drawn by the sampler, the same training step, precision and network),
so what is timed is what a run does. The measurement is kept per device, precision and network size, so it runs
once per session for each. The range covers the step-time spread and, with the lr policy, its earliest possible stop.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..core.config import ZSSRConfig
from ..core.degradation import Degradation
from ..core.device import select_device
from ..core.engine import reconstruction_pair, scale_steps
from ..core.inference import super_resolve
from ..core.network import ZSSRNet
from ..core.pairs import FatherPool, PairSampler, crop_side, father_shapes, min_father_side
from ..core.precision import resolve_precision
from ..core.progress import ProgressEvent, RunProgress
from ..core.resize import Scale, as_scale_pair, scaled_shape
from ..core.trainer import train
from .shutdown import stop_at_exit
from .worker_turns import holder, start_in_turn, turn_ended, withdraw

#: untimed first steps (memory allocation, kernel selection), then timed ones
WARM_UP_STEPS = 3
TIMED_STEPS = 10

CostKey = tuple[str, str, int, int, int]  # device, precision, crop size, width, depth


@dataclass(frozen=True)
class Costs:
    step_seconds: tuple[float, float]  # one training iteration: median and 90th percentile
    inference_seconds_per_pixel: float  # per output pixel and ensemble member
    crop_size: int  # the side of the square crops the steps were timed on


_measured: dict[CostKey, Costs] = {}


@dataclass
class Timing:
    """A measurement running or waiting for its turn, shared by every widget that asks for its settings."""

    worker: Any
    start: Callable[[], None]  # what starts the worker: its turn (:mod:`.worker_turns`)
    askers: weakref.WeakSet[BackgroundEstimate] = field(default_factory=weakref.WeakSet)  # the estimates it answers


_in_flight: dict[CostKey, Timing] = {}
#: runs going (widgets, the console's run()): an estimate asked for meanwhile waits for their end, since runs and
#: measurements take turns (:mod:`.worker_turns`), and says so
_runs = {"going": 0}
#: estimates asked for while a run went on (any panel's), asked again once no run goes on
_deferred: weakref.WeakKeyDictionary[BackgroundEstimate, tuple[str, ZSSRConfig, Workload]] = \
    weakref.WeakKeyDictionary()


def run_started() -> None:
    _runs["going"] += 1


def run_finished() -> None:
    """A run ended (in the GUI thread): once none goes on, every estimate left for then is asked for again."""
    _runs["going"] -= 1
    if not _runs["going"]:
        waiting = list(_deferred.items())
        _deferred.clear()
        for estimate, request in waiting:
            estimate.request(*request)


def timing_holds_turn() -> bool:
    """Whether the worker running now is a time estimate's measurement (what a Run pressed meanwhile waits for)."""
    return any(timing.start is holder() for timing in _in_flight.values())


def _measurement_ended(key: CostKey, start: Callable[[], None]) -> None:
    _in_flight.pop(key, None)
    turn_ended(start)


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


def measure_costs(key: CostKey, should_stop: Callable[[], bool] | None = None) -> Costs:
    """Time :data:`TIMED_STEPS` training iterations and one inference with the settings of ``key`` (slow: seconds).

    ``should_stop`` returning True ends the measurement early with :class:`~napari_zssr.core.trainer.Cancelled`.
    Kept for later requests: it runs in its turn (:mod:`.worker_turns`), so no run shares the device with it; a run
    asked for meanwhile waits for it.
    """
    device_name, precision, crop_size, width, depth = key
    device = torch.device(device_name)
    config = ZSSRConfig(crop_size=crop_size, width=width, depth=depth, precision=precision, device=device_name,
                        max_iterations=WARM_UP_STEPS + TIMED_STEPS, progress_every=1)
    image = torch.rand(1, 1, 2 * crop_size, 2 * crop_size, generator=torch.Generator().manual_seed(0)).to(device)
    degradation = Degradation.create((2.0, 2.0), None, device)
    sampler = PairSampler(FatherPool(image, config.father_min_scale, config.father_levels, 8), degradation,
                          list(range(8)), 0.01, 0, device)
    net = ZSSRNet.create(config, 0, device)
    stamps: list[float] = []

    def stamp(event: ProgressEvent) -> None:  # the loss was read: the step has finished on the device
        stamps.append(time.perf_counter())

    train(net, sampler, reconstruction_pair(image, degradation, config.recon_crop), config,
          progress=RunProgress(stamp, max_iterations=config.max_iterations), should_stop=should_stop,
          dtype=resolve_precision(precision, device))
    steps = np.diff(stamps[WARM_UP_STEPS - 1 :])
    lr = image[..., :crop_size, :crop_size]
    start = time.perf_counter()
    output = super_resolve(net, lr, degradation, [0], 0, config.tile_size, resolve_precision(precision, device))
    float(output.sr[0, 0, 0, 0])  # wait for the device
    inference = (time.perf_counter() - start) / output.sr.numel()
    costs = Costs((float(np.median(steps)), float(np.percentile(steps, 90))), inference, crop_size)
    _measured[key] = costs
    return costs


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
    longest = steps * (config.max_iterations + (trained - 1) * later)
    shortest = longest
    if config.lr_schedule == "policy":  # it may stop once the lr has dropped below the minimum, at the earliest
        drops = math.floor(math.log10(config.learning_rate / config.min_learning_rate)) + 1 if \
            config.min_learning_rate > 0 else math.inf
        earliest = min(drops * (config.min_iterations + 1), config.max_iterations)
        shortest = steps * (earliest + (trained - 1) * min(earliest, later))
    members = config.ensemble
    inference = costs.inference_seconds_per_pixel * math.prod(scaled_shape(tuple(work.plane_shape[-2:]), pair)) \
        * members * steps * work.planes
    crops = mean_crop_area(work.training_shape, config, pair) / costs.crop_size**2  # steps on smaller crops cost less
    return (shortest * costs.step_seconds[0] * crops + inference, longest * costs.step_seconds[1] * crops + inference)


def format_range(low: float, high: float) -> str:
    """E.g. "~40-70 s", "~2-5 min", "~1.5-3.2 h"."""
    if high >= 5400:
        low_text, high_text, unit = f"{low / 3600:.1f}", f"{high / 3600:.1f}", "h"
    elif high >= 90:
        low_text, high_text, unit = f"{max(1, round(low / 60))}", f"{max(1, math.ceil(high / 60))}", "min"
    else:
        low_text, high_text, unit = f"{max(1, round(low))}", f"{max(1, math.ceil(high))}", "s"
    return f"~{high_text} {unit}" if low_text == high_text else f"~{low_text}-{high_text} {unit}"


def describe_estimate(costs: Costs, device: str, config: ZSSRConfig, work: Workload) -> str:
    """E.g. "cpu: ~3-4 min for 3 planes (CPU: slow; a GPU is much faster)"."""
    low, high = estimate_seconds(costs, config, work)
    text = f"{device}: {format_range(low, high)} for {work.label()}"
    if device == "cpu":
        text += " (CPU: slow; a GPU is much faster)"
    return text


class BackgroundEstimate:
    """Shows the estimate for the latest settings through ``show``; measures off the GUI thread when needed.

    A measurement runs in a worker thread (napari must not freeze); its answer is shown only if no newer request
    came in meanwhile. Costs already measured give the answer at once. The worker holds this object only weakly,
    so a widget closed during a measurement is freed.
    """

    def __init__(self, show: Callable[[str], None]) -> None:
        self._show = show
        self._latest = 0

    def request(self, device: str, config: ZSSRConfig, work: Workload) -> None:
        """Raises ValueError for a device that is not available (the caller shows it)."""
        from superqt.utils import create_worker

        self._latest += 1
        ticket = self._latest
        key = cost_key(device, config, work.training_shape)
        owner = weakref.ref(self)
        self._drop_superseded(key)

        def answer(costs: Costs) -> None:
            estimate = owner()
            if estimate is not None and ticket == estimate._latest:
                estimate._display(describe_estimate(costs, key[0], config, work))

        def fail(error: Exception) -> None:
            estimate = owner()
            if estimate is not None and ticket == estimate._latest:
                estimate._display(f"no estimate: {error}")

        if key in _measured:
            answer(_measured[key])
            return
        if _runs["going"] and key not in _in_flight:  # it would time the run's share of the device; asked again after
            self._display(f"{key[0]}: timed once the run ends")
            _deferred[self] = (device, config, work)
            return
        self._display(f"{key[0]}: timing a few training steps for {work.label()}...")
        timing = _in_flight.get(key)
        start = timing is None
        if timing is None:
            worker = create_worker(measure_costs, key, stop_at_exit(threading.Event()).is_set, _start_thread=False,
                                   _ignore_errors=True)
            begin = worker.start  # one object: the turn is known by it
            worker.finished.connect(lambda: _measurement_ended(key, begin))
            timing = _in_flight[key] = Timing(worker, begin)
        timing.worker.returned.connect(answer)
        timing.worker.errored.connect(fail)
        timing.askers.add(self)
        if start:
            start_in_turn(timing.start)

    def say(self, text: str) -> None:
        """Show ``text`` (why the current settings have no estimate: Run would refuse them) in place of any answer
        still to come for earlier settings, which would otherwise replace it with the time of a run Run refuses."""
        self._latest += 1
        _deferred.pop(self, None)
        self._drop_superseded(None)
        self._display(text)

    def _drop_superseded(self, key: CostKey | None) -> None:
        """This estimate no longer waits for the timings of settings other than ``key``'s (None: of any); those no
        panel waits for any more are taken out of the queue if they have not begun: a Run pressed now would
        otherwise wait for the timing of every setting tried on the way."""
        for other, timing in list(_in_flight.items()):
            if other != key:
                timing.askers.discard(self)
                if not timing.askers and withdraw(timing.start):
                    del _in_flight[other]

    def _display(self, text: str) -> None:
        try:
            self._show(text)
        except RuntimeError:  # the widget was deleted while the speed was measured
            pass
