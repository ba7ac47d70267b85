"""The package's background workers (runs and timings, in every widget and the console) run one at a time.

Each superqt worker replaces the process's warning hooks while it runs (to pass warnings on as signals) and puts back
what it found when it ends. Two at once would undo each other: the first to end restores the hooks under the other,
whose warnings (a blank plane's notification) are then lost, and the last to end leaves the first's finished hook
in place for good. A second run therefore waits for its turn; on a shared device it would only have halved the
speed of both.

A turn is known by the function that starts its worker: only the end of the worker that holds the turn passes it on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

Start = Callable[[], None]

_state: dict[str, Start | None] = {"holder": None}
_waiting: deque[Start] = deque()


def start_in_turn(start: Start) -> bool:
    """Call ``start`` (which starts a worker whose end calls :func:`turn_ended` with it) now if no worker of the
    package runs, else once the ones before it have ended; returns whether it started now."""
    if _state["holder"] is not None:
        _waiting.append(start)
        return False
    _start(start)
    return True


def holder() -> Start | None:
    """What started the worker that holds the turn now (None: no worker of the package runs)."""
    return _state["holder"]


def withdraw(start: Start) -> bool:
    """Take a start that is still waiting out of the queue (a run cancelled, or its panel or viewer closed, before
    its turn); returns whether it was waiting. A started worker ends as usual instead."""
    try:
        _waiting.remove(start)
    except ValueError:
        return False
    return True


def turn_ended(start: Start) -> None:
    """The worker ``start`` started has ended (its ``finished`` signal, in the GUI thread): the next waiting one
    starts. The end of a worker that does not hold the turn changes nothing."""
    if _state["holder"] is not start:
        return
    _state["holder"] = None
    if _waiting:
        _start(_waiting.popleft())


def _start(start: Start) -> None:
    _state["holder"] = start
    try:
        start()
    except BaseException:  # it never ran, so it will never end: the turn passes on
        turn_ended(start)
        raise
