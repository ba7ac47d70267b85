"""``napari-zssr``: batch ZSSR over TIFF files and folders, for facilities processing overnight without a screen.

The entry point only: the options and the run live in :mod:`napari_zssr.command_line`, loaded inside the Ctrl-C
handler, so that an interruption while torch and scipy load (seconds) exits as one later does, without a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from .command_line import run_command_line

        return run_command_line(argv)
    except KeyboardInterrupt:  # any progress bar has closed on the way out: a plain line is enough
        print("interrupted: finished files are kept, and on a cluster the finished parts of split stacks (in "
              "--out/.napari-zssr-parts, until a batch into that folder ends without using them; its tasks still "
              "running write no outputs); run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
