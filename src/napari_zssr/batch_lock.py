"""One batch per output folder at a time: an advisory lock on a file in ``--out``, held while a batch runs.

A batch removes what a killed run left in its output folder (half-written TIFFs, part files of split stacks) when it
starts and ends; a second batch writing to the same folder at the same time would remove the first one's work in
progress. The lock makes the second a usage error instead, naming the first. The lock file itself stays (hidden,
empty of data): deleting it on exit would let two later batches each lock a different file of that name.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .batch_jobs import UsageError

LOCK_NAME = ".napari-zssr.lock"


@contextmanager
def output_folder_lock(out: Path) -> Iterator[None]:
    """Hold the lock of ``out`` (created if needed) for the ``with`` block, or raise :class:`UsageError` at once
    when another batch holds it."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_NAME, "a+", encoding="utf-8") as handle:
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UsageError(f"another napari-zssr batch ({holder}) is writing to --out {out}; wait for it to "
                             "finish, or choose another output folder")
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
            handle.flush()
            yield
        finally:
            _unlock(handle)


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
