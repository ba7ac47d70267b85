"""Which warnings a background worker of the package takes as its own.

A superqt worker swaps the process's warning display while it runs (``warnings.showwarning``, inside a
``catch_warnings``): every thread's warnings would reach the worker's ``warned`` signal, and a run would show the
user's console's or another plugin's warnings as its own notifications. :func:`keep_others_warnings`, called in the
worker's thread as its work begins, gives those back to the display that was in place when the worker was made.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

#: ``warnings.showwarning``'s signature: a display of warnings
ShowWarning = Callable[..., None]
#: the attribute of a worker's display that holds the display it gives the other threads' warnings
OTHERS_DISPLAY = "napari_zssr_others_display"


def keep_others_warnings(show_others: ShowWarning, own_threads: set[threading.Thread]) -> None:
    """From now until the worker ends (its ``catch_warnings`` puts the display back), the warnings of threads in
    ``own_threads`` (the set may grow: a run's own thread is added as it starts) go to the worker, every other
    thread's to ``show_others``. Call it in the worker's thread, which counts as its own."""
    # taken as another worker of the package ran (a run pressed during the time estimate's timing): its display
    # routes by its threads, which the pool may give to others since; the display it gave others is the one meant
    show_others = getattr(show_others, OTHERS_DISPLAY, show_others)
    worker_display = warnings.showwarning
    own_threads.add(threading.current_thread())

    def show(*warning: Any) -> None:
        (worker_display if threading.current_thread() in own_threads else show_others)(*warning)

    setattr(show, OTHERS_DISPLAY, show_others)
    warnings.showwarning = show
