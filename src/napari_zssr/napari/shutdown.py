"""Background work winds down before Python exits.

A worker thread of Qt's pool that is still running while the interpreter finalises ends by emitting into signal
objects Python has already deleted, and Qt then aborts the whole process (exit code 134): e.g. a script that docks the
widget and exits while the run-time estimate is still being measured. So each piece of background work registers
its stop event here, and at exit every event is set and the pool is given a while to finish.
"""

from __future__ import annotations

import atexit
import threading
import weakref

#: how long the exit waits for background work after asking it to stop (a training step, or an inference, to end)
EXIT_WAIT_MS = 30_000

_stops: weakref.WeakSet[threading.Event] = weakref.WeakSet()
_registered = False


def stop_at_exit(stop: threading.Event) -> threading.Event:
    """Set ``stop`` when Python exits, then wait for Qt's worker threads; returns ``stop``."""
    global _registered
    if not _registered:
        atexit.register(_wind_down)
        _registered = True
    _stops.add(stop)
    return stop


def _wind_down() -> None:
    for stop in list(_stops):
        stop.set()
    from qtpy.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(EXIT_WAIT_MS)
