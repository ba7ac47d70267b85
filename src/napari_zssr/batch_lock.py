"""One batch per output folder at a time: an advisory lock on a file in ``--out``, held while a batch runs.

A batch removes what a killed run left in its output folder (half-written TIFFs, part files of split stacks) when it
starts and ends; a second batch writing to the same folder at the same time would remove the first one's work in
progress. The lock makes the second a usage error instead, naming the first. The lock file itself stays (hidden,
a line of text): deleting it on exit would let two later batches each lock a different file of that name.

Where the file system offers no locks (Lustre without ``-o flock``, some SMB and FUSE mounts) or the lock file
cannot be opened (another user's, read-only), the batch runs without one, with a note.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .batch_jobs import UsageError, say

LOCK_NAME = ".napari-zssr.lock"
#: the byte locked on Windows, far past the holder's line: Windows locks are mandatory, and a locked first byte
#: could not be read to name the holder
_WINDOWS_LOCK_OFFSET = 1 << 30
#: errors that mean "another process holds the lock" (any other: the file system cannot lock)
_HELD = {errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


@contextmanager
def output_folder_lock(out: Path) -> Iterator[None]:
    """Hold the lock of ``out`` (created if needed) for the ``with`` block, or raise :class:`UsageError` at once
    when another batch holds it."""
    out = Path(out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # allowed by the permission bits check_out reads (root on sysfs, a root-squashed share)
        raise UsageError(f"--out {out} cannot be created: {error.strerror or error}; give a folder you can write "
                         "to") from None
    descriptor = _open_lock_file(out / LOCK_NAME)
    if descriptor is None:
        say(f"note: --out {out} could not be locked (its lock file cannot be opened); make sure no other batch "
            "writes there")
        yield
        return
    try:
        held = _try_lock(descriptor)
        if held is None:
            say(f"note: the file system of --out {out} offers no locks; make sure no other batch writes there")
        elif not held:
            raise _in_use(out, _holder(descriptor))
        else:
            _stamp(descriptor)
        try:
            yield
        finally:
            if held:
                _unlock(descriptor)
    finally:
        os.close(descriptor)


def refuse_a_folder_in_use(out: Path) -> None:
    """The :class:`UsageError` of :func:`output_folder_lock` for a folder another batch writes to, found without
    creating anything: checked with the settings, before the inputs are scanned or a local cluster starts, and before
    a check of the cluster's workers that may still refuse the batch (the lock, taken after it, creates ``out``).
    The lock checks again when it is taken: two batches started at the same moment both pass this."""
    out = Path(out).resolve()
    holder = lock_holder(out)
    if holder is not None:
        raise _in_use(out, holder)


def held_by_another_batch(folder: Path) -> bool:
    """Whether a batch (another process) holds the lock of ``folder`` now; False where it has no lock file or its
    file system cannot lock. Not for a folder this process holds: its own lock reads as held."""
    return lock_holder(folder) is not None


def lock_holder(folder: Path) -> str | None:
    """The line naming the batch (another process) that holds the lock of ``folder`` now, or None (see
    :func:`held_by_another_batch`)."""
    path = Path(folder) / LOCK_NAME
    try:
        if not path.is_file():
            return None
    except OSError:  # a folder this user cannot enter holds no batch of theirs
        return None
    descriptor = _open_lock_file(path)
    if descriptor is None:
        return None
    try:
        held = _try_lock(descriptor)
        if held:
            _unlock(descriptor)
        return _holder(descriptor) if held is False else None
    finally:
        os.close(descriptor)


def _holder(descriptor: int) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    return os.read(descriptor, 200).decode("utf-8", "replace").strip() or "another process"


def _in_use(out: Path, holder: str) -> UsageError:
    return UsageError(f"another napari-zssr batch ({holder}) is writing to --out {out}; wait for it to finish, or "
                      "choose another output folder")


def _open_lock_file(path: Path) -> int | None:
    """The lock file, read-write; read-only where another user made it (a lock needs no write access; only the
    holder's line then stays the other's); None where neither opens."""
    flags = getattr(os, "O_BINARY", 0)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o666)
    except OSError:
        try:
            return os.open(path, os.O_RDONLY | flags)
        except OSError:
            return None


def _stamp(descriptor: int) -> None:
    """Name this batch in the lock file, where it may write, for a refused second batch to show."""
    stamp = f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
    try:
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, stamp.encode("utf-8"))
    except OSError:
        pass  # opened read-only: the lock holds all the same


def _try_lock(descriptor: int) -> bool | None:
    """True: locked; False: another process holds it; None: this file system cannot lock."""
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(descriptor, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        return False if error.errno in _HELD else None
    return True


def _unlock(descriptor: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(descriptor, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(descriptor, fcntl.LOCK_UN)
