"""The run-time range shown before a run, timed off the GUI thread (:mod:`napari_zssr.core.run_time`).

The timing is kept per device, precision, crop and network size, so it runs once per session for each, in its turn
with the runs (:mod:`.worker_turns`): a timing shares the device with no run.
"""

from __future__ import annotations

import math
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.config import ZSSRConfig
from ..core.run_time import CostKey, Costs, Workload, cost_key, estimate_seconds, time_costs
from .shutdown import stop_at_exit
from .worker_turns import holder, start_in_turn, turn_ended, withdraw
from .worker_warnings import ShowWarning, keep_others_warnings

#: the timings taken this session, for every panel
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


def measure_costs(key: CostKey, should_stop: Callable[[], bool], show_others_warnings: ShowWarning) -> Costs:
    """:func:`~napari_zssr.core.run_time.time_costs`, kept for later requests of every panel. It runs in its turn
    (:mod:`.worker_turns`), so no run shares the device with it; a run asked for meanwhile waits for it. Its worker's
    own warnings go unshown (a timing is no run); the rest of the process's go to ``show_others_warnings``."""
    keep_others_warnings(show_others_warnings, set())
    costs = _measured[key] = time_costs(key, should_stop)
    return costs


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
            worker = create_worker(measure_costs, key, stop_at_exit(threading.Event()).is_set, warnings.showwarning,
                                   _start_thread=False, _ignore_errors=True)
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
