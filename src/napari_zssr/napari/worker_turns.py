"""The package's background workers (runs and timings, in every widget and the console) run one at a time.

Each superqt worker replaces the process's warning hooks while it runs (to pass warnings on as signals) and puts back
what it found when it ends. Two at once would undo each other: the first to end restores the hooks under the other,
whose warnings (a blank plane's notification) are then lost, and the last to end leaves the first's finished hook
in place for good. A second run therefore waits for its turn; on a shared device it would only have halved the
speed of both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

_state = {"busy": False}
_waiting: deque[Callable[[], None]] = deque()


def start_in_turn(start: Callable[[], None]) -> bool:
    """Call ``start`` (which starts a worker that calls :func:`worker_ended` when it ends) now if no worker of the
    package runs, else once the ones before it have ended; returns whether it started now."""
    if _state["busy"]:
        _waiting.append(start)
        return False
    _start(start)
    return True


def worker_ended() -> None:
    """A worker started by :func:`start_in_turn` has ended (its ``finished`` signal, in the GUI thread): the next
    waiting one starts."""
    if _waiting:
        _start(_waiting.popleft())
    else:
        _state["busy"] = False


def _start(start: Callable[[], None]) -> None:
    _state["busy"] = True
    try:
        start()
    except BaseException:  # it never ran, so it will never end: the turn passes on
        worker_ended()
        raise
