"""Disk space for a file's outputs: checked before the file trains, so that a full disk costs no training, and
named when a write fails anyway (numpy says only "N requested and M written")."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .core.units import shown_bytes
from .io.imagej import STAGED_SUFFIX

#: room kept beside the outputs: the temporary file of the one being written, TIFF headers, other writers
SPARE_FRACTION = 0.05
#: bytes of each output file besides its pixels, at most for a few hundred planes: TIFF headers, the run's record
FILE_OVERHEAD_BYTES = 64 * 1024
#: bytes of the test file that shows a folder can be written (a block of most file systems)
PROBE_BYTES = 4096


def output_bytes(input_pixels: int, factors: tuple[float, float], outputs: dict[str, np.dtype]) -> int:
    """Bytes of the outputs of an input of ``input_pixels`` pixels super-resolved by ``factors`` (y, x), each output
    kind of its stored type, each file with its headers."""
    pixels = input_pixels * factors[0] * factors[1]
    return int(sum(pixels * np.dtype(dtype).itemsize + FILE_OVERHEAD_BYTES for dtype in outputs.values()))


def read_only_mount(folder: Path) -> bool:
    """Whether ``folder`` sits on a file system mounted read-only, which ``os.access`` reports as no write
    permission: the user would look for a permission to change where there is none."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def not_writable_reason(folder: Path) -> str | None:
    """Why this user cannot make files in the existing ``folder`` (None: it can, as far as its permissions and its
    mount say)."""
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    return "its file system is mounted read-only" if read_only_mount(folder) else "permission denied"


def check_writable(folder: Path) -> None:
    """A PermissionError naming ``folder`` (or the nearest existing folder above it, where it will be made) when this
    user cannot write there, e.g. a subfolder an earlier run of a colleague's made; an OSError when a file written
    there fails, e.g. for a file system without free inodes, over the user's quota or mounted read-only, which the
    permissions and the free space do not show (every input trained in full, then failed at its write)."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"cannot write the outputs into {folder}: {existing} is a file, not a "
                                                "folder; move it away. Nothing was trained")
    reason = not_writable_reason(existing)
    if reason is not None:
        raise PermissionError(errno.EACCES, f"cannot write the outputs into {existing}: {reason}; nothing was "
                                            "trained")
    probe = None
    try:  # named as a half-written output, which a batch's start removes, should this process die meanwhile
        descriptor, probe = tempfile.mkstemp(prefix=".napari-zssr-probe-", suffix=STAGED_SUFFIX, dir=existing)
        try:
            os.write(descriptor, bytes(PROBE_BYTES))
            os.fsync(descriptor)  # a network file system may say only here that the quota is spent
        finally:
            os.close(descriptor)
    except OSError as error:
        described = described_write_error(error, existing, "a test file in")
        raise OSError(described.errno, f"{described.strerror or described}; nothing was trained") from None
    finally:
        if probe is not None:
            Path(probe).unlink(missing_ok=True)


def check_free_space(folder: Path, needed: int) -> None:
    """An OSError saying how much is missing when ``folder`` (or the nearest existing folder above it) has less free
    space than ``needed`` bytes and a margin; nothing where the file system reports no sizes."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    usage = shutil.disk_usage(existing)
    if usage.total == 0:  # some network and object-store mounts report no sizes: unknown, a write will tell
        return
    free, wanted = usage.free, needed * (1 + SPARE_FRACTION)
    if free < wanted:  # said with its margin: "need 1.1 MiB, 1.2 MiB free" read as a contradiction
        raise OSError(errno.ENOSPC, f"not enough space for its outputs: they need about {shown_bytes(needed)}, and "
                                    f"{shown_bytes(wanted)} with a {SPARE_FRACTION:.0%} margin; {existing} has "
                                    f"{shown_bytes(free)} free (outputs they replace are freed only once all are "
                                    "written); nothing was trained")


def described_write_error(error: OSError, path: Path, what: str = "") -> OSError:
    """A failed write as the user should read it: a full disk or a spent quota said as such, with the file that did
    not fit (``what`` before its name: "a test file in" a folder)."""
    full = error.errno == errno.ENOSPC or "requested and" in str(error)  # numpy's short write on a full disk
    if full:
        reason = "the disk is full (no free space, or no free inodes where many small files fill it: df -h, df -i)"
    elif error.errno == errno.EDQUOT:
        reason = "your disk quota is spent (free some space, or ask for more)"
    else:
        reason = error.strerror or str(error)
    code = errno.ENOSPC if full else error.errno  # numpy's has none: it would read "[Errno None]"
    message = f"could not write {what + ' ' if what else ''}{path}: {reason}"
    return OSError(code, message) if code is not None else OSError(message)
