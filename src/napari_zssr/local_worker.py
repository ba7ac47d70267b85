"""Set-up of the worker processes of a local Dask cluster (``napari-zssr --workers``), which Dask runs in each worker
process at its start as a preload (:func:`dask_setup`)."""

from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Ignore SIGINT in this worker process. A Ctrl-C in the terminal reaches every process of its group, the workers
    too: each printed a KeyboardInterrupt traceback over the batch's own "interrupted" line, while the batch, which
    catches it, closes the cluster and its workers anyway."""
    if threading.current_thread() is threading.main_thread():  # where Python lets a handler be set
        signal.signal(signal.SIGINT, signal.SIG_IGN)
