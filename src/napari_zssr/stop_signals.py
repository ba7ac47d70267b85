"""The signals that stop a batch, in one place for the handlers that stop it and the sections that hold them back.

A job scheduler's cancel or time limit and ``kill`` send SIGTERM; a closed terminal or a dropped ssh session sends
SIGHUP (where the system has it: not on Windows). Both stop a batch as a Ctrl-C (SIGINT) does: its temporary files
removed, what it finished kept. A signal ignored on purpose (``nohup`` ignores SIGHUP) stays ignored.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: stop a batch as a Ctrl-C does, through a handler that raises KeyboardInterrupt
TERMINATING: tuple[signal.Signals, ...] = (signal.SIGTERM,) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())
#: every signal that stops a batch
STOPPING: tuple[signal.Signals, ...] = (signal.SIGINT, *TERMINATING)


@contextmanager
def handlers_swapped(signals: Sequence[signal.Signals], handler: Callable[[int, FrameType | None], Any]
                     ) -> Iterator[None]:
    """Handle ``signals`` with ``handler`` inside the block, the handlers before put back after, each even where
    another signal arrives meanwhile. A signal ignored on purpose (``SIG_IGN``) stays ignored, and one whose handler
    was not set from Python (``None``, which could not be put back) is left as it is. Only the main thread may set
    a handler: elsewhere (a Dask worker's task) nothing is set, nor needed, as Python runs handlers in the main
    thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signals
                if signal.getsignal(signum) not in (None, signal.SIG_IGN)}
    try:
        yield
    finally:
        each_surely([functools.partial(signal.signal, signum, before) for signum, before in previous.items()])


def each_surely(steps: Sequence[Callable[[], object]]) -> None:
    """Run every step, the later ones even where an earlier one raised (the first exception is raised after): each
    in a ``finally`` of the one before, so that a signal handled meanwhile cannot skip the rest."""
    if steps:
        try:
            steps[0]()
        finally:
            each_surely(steps[1:])
