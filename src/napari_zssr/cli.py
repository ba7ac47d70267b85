"""``napari-zssr``: batch ZSSR over TIFF files and folders, for facilities processing overnight without a screen.

The entry point only: the options and the run live in :mod:`napari_zssr.command_line`, loaded inside the Ctrl-C
handler, so that an interruption while torch and scipy load (seconds) exits as one later does, without a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from .stop_signals import STOPPING, TERMINATING, handlers_swapped

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    with stopped_on_terminate():
        try:
            from .command_line import run_command_line

            return run_command_line(argv)
        except KeyboardInterrupt:  # any progress bar has closed on the way out: a plain line is enough
            try:
                print("interrupted: finished files are kept (and, on a cluster, the finished parts of split stacks); "
                      "run the same command again to continue", file=sys.stderr)
            except OSError:  # a hang-up took the terminal away (EIO): the status says it all the same
                pass
            return EXIT_INTERRUPTED


def run_as_process() -> NoReturn:
    """The process of ``napari-zssr`` and ``python -m napari_zssr``: :func:`main`'s status as its exit status.

    An interruption ends it with ``os._exit``, once :func:`main` has cleaned up and said so: where a Ctrl-C (or a
    SIGTERM, raised as one) reached Python while an extension module ran Python code of its own as it loaded (torch
    does), CPython ends the process by a SIGINT of its own however the interruption was then handled, and a job
    scheduler (Slurm) records "killed by signal 2", even of a SIGTERM, instead of exit status 130."""
    status = main()
    if status == EXIT_INTERRUPTED:
        exit_now(status)
    # the batch is over: a SIGTERM (or Ctrl-C) while Python winds down (a second, unloading torch) ends the process
    # with the batch's status, not as killed (143): a job scheduler's cancel landing then marked a finished batch so
    for signum in STOPPING:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, lambda *_: exit_now(status))
    sys.exit(status)


def exit_now(status: int) -> NoReturn:
    """End the process with ``status`` at once, what was printed flushed (where the terminal is still there: after a
    hang-up a flush fails, and the status must come all the same)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # EIO after a hang-up; a stream closed
            pass
    os._exit(status)


@contextmanager
def stopped_on_terminate() -> Iterator[None]:
    """Stop on SIGTERM and SIGHUP as on Ctrl-C (:data:`.stop_signals.TERMINATING`: a job scheduler's cancel or time
    limit, ``kill``, a dropped ssh session): the batch then removes its temporary files and keeps what it finished,
    instead of dying mid-write. The handlers before are put back after; a signal ignored on purpose (``SIG_IGN``,
    as ``nohup`` ignores SIGHUP) stays ignored."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    with handlers_swapped(TERMINATING, interrupt):
        yield


if __name__ == "__main__":  # python -m napari_zssr.cli, as python -m napari_zssr
    run_as_process()
