"""The signals that stop a batch, in one place for the handlers that stop it and the sections that hold them back.

A job scheduler's cancel or time limit and ``kill`` send SIGTERM; a closed terminal or a dropped ssh session sends
SIGHUP (where the system has it: not on Windows). Both stop a batch as a Ctrl-C (SIGINT) does: its temporary files
removed, what it finished kept. A signal ignored on purpose (``nohup`` ignores SIGHUP) stays ignored.
"""

from __future__ import annotations

import signal

#: stop a batch as a Ctrl-C does, through a handler that raises KeyboardInterrupt
TERMINATING: tuple[signal.Signals, ...] = (signal.SIGTERM,) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())
#: every signal that stops a batch
STOPPING: tuple[signal.Signals, ...] = (signal.SIGINT, *TERMINATING)
