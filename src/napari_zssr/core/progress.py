"""Progress of a run, computed once here: events with ``done``/``total`` work units that every front just shows.

A work unit is one training iteration. ``total`` is the current plan: each plane not yet finished trains every gradual
step for its iteration budget (the full ``max_iterations`` until a plane has been trained, the warm-start budget after
that when warm start is on, or from the first plane where every plane restarts from a learned start). The plan shrinks
when a plane turns out to be blank (constant) or a step stops early (the lr policy), so ``done`` never goes back and
equals ``total`` at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """What a progress callback receives: where the run is, the current loss and learning rate, and the work done.

    ``stage`` is "training" (every ``progress_every`` iterations and at the last), "inference" (after each gradual
    step's training), "plane done" (after each plane, blank ones included) or "done" (once, at the end). ``unit``
    names what ``plane`` counts: "plane", or "volume" in an axial run (one network per volume).
    """

    stage: str
    iteration: int
    max_iterations: int
    loss: float | None = None
    learning_rate: float | None = None
    plane: int = 0
    n_planes: int = 1
    done: int = 0  # work units (training iterations) finished so far in the whole run
    total: int = 0  # work units of the whole run, as currently planned
    unit: str = "plane"

    @property
    def finished_planes(self) -> int:
        """Planes finished by the time of this event (planes run in order)."""
        return self.plane + 1 if self.stage in ("plane done", "done") else self.plane


ProgressCallback = Callable[[ProgressEvent], None]


class RunProgress:
    """Keeps the plan of a run (see the module docstring) and sends its events to ``callback``."""

    def __init__(self, callback: ProgressCallback | None, *, n_planes: int = 1, n_steps: int = 1,
                 max_iterations: int, warm_start_iterations: int | None = None, every_plane_warm: bool = False,
                 unit: str = "plane") -> None:
        self.callback = callback
        self.unit = unit
        self.n_planes = n_planes
        self.n_steps = n_steps
        self.max_iterations = max_iterations
        self.warm_start_iterations = warm_start_iterations
        self.every_plane_warm = every_plane_warm  # the first plane trains the warm budget too (a learned start)
        self.done = 0
        self.plane = 0
        self.trained_planes = 0
        self.plane_left = 0  # planned iterations of the current plane not yet done (including the running step)
        self.step_done = 0  # iterations of the running step so far
        self.plane_trains = False  # the current plane trains (started, not finished): the planes after it start warm

    def iterations_per_step(self, warm: bool) -> int:
        return self.warm_start_iterations if warm and self.warm_start_iterations is not None else self.max_iterations

    def next_plane_iterations(self) -> int:
        """Iterations each step of the next plane to train plans: warm once a plane has trained, or from the first."""
        return self.iterations_per_step(warm=self.every_plane_warm or self.trained_planes > 0)

    @property
    def total(self) -> int:
        """The work units of the whole run as known now: done, left of this plane, and the later planes' (warm
        started where this run warm-starts), so that a bar's end moves as little as possible."""
        later_planes = self.n_planes - self.plane - 1
        # in the current plane's inference too, its training all done
        warm_later = self.every_plane_warm or self.trained_planes > 0 or self.plane_trains
        later = later_planes * self.n_steps * self.iterations_per_step(warm_later)
        return self.done + self.plane_left + later

    def start_plane(self, plane: int, iterations_per_step: int) -> None:
        self.plane, self.plane_left, self.step_done = plane, self.n_steps * iterations_per_step, 0
        self.plane_trains = True

    def training(self, iteration: int, max_iterations: int, loss: float, learning_rate: float) -> None:
        """Iteration ``iteration`` (1-based) of the running step is done."""
        self.step_done = iteration
        self._send("training", iteration, max_iterations, loss, learning_rate)

    def step_finished(self, iterations: int, max_iterations: int) -> None:
        """A gradual step trained ``iterations`` of its ``max_iterations``; inference follows."""
        self.done += iterations
        self.plane_left -= max_iterations
        self.step_done = 0
        self._send("inference", iterations, max_iterations)

    def plane_finished(self, plane: int, trained: bool) -> None:
        self.plane, self.plane_left, self.step_done, self.plane_trains = plane, 0, 0, False
        self.trained_planes += trained
        self._send("plane done", 0, 0)

    def finished(self) -> None:
        self._send("done", self.n_planes, self.n_planes)

    def _send(self, stage: str, iteration: int, max_iterations: int, loss: float | None = None,
              learning_rate: float | None = None) -> None:
        if self.callback is not None:
            self.callback(ProgressEvent(stage, iteration, max_iterations, loss, learning_rate, self.plane,
                                        self.n_planes, self.done + self.step_done, self.total, self.unit))
