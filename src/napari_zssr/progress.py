"""Showing a run's progress on a bar: tqdm on the command line, napari's ``progress`` (a tqdm too) in napari.

The core computes the work done and planned (:class:`napari_zssr.ProgressEvent` ``done``/``total``); this adapter
only moves a bar to it, so every front shows the same numbers.
"""

from __future__ import annotations

from typing import Any

from .core.progress import ProgressEvent


class BarProgress:
    """A progress callback that moves a tqdm-like ``bar`` to ``event.done`` of ``event.total`` work units.

    ``per_plane=True``: the bar counts finished planes instead, from ``planes_before`` (its total is the caller's:
    the command line counts the planes of every channel of a file). The postfix shows the plane, the iteration and
    the loss.
    """

    def __init__(self, bar: Any, *, per_plane: bool = False, planes_before: int = 0) -> None:
        self.bar = bar
        self.per_plane = per_plane
        self.planes_before = planes_before

    def __call__(self, event: ProgressEvent) -> None:
        if self.per_plane:
            target = self.planes_before + event.finished_planes
        else:
            if event.total != self.bar.total:
                self.bar.total = event.total
            target = event.done
        if target != self.bar.n:
            self.bar.update(target - self.bar.n)  # update(), not n = ...: napari's bar only redraws on update
        where = [f"{event.unit} {event.plane + 1}/{event.n_planes}"] if event.n_planes > 1 else []
        if event.stage == "training":
            self.bar.set_postfix_str(", ".join([*where, f"it {event.iteration}/{event.max_iterations}",
                                                f"loss {event.loss:.4f}"]))
        elif event.stage == "inference":
            self.bar.set_postfix_str(", ".join([*where, "inference"]))
