"""Disk space for a file's outputs: checked before the file trains, so that a full disk costs no training, and
named when a write fails anyway (numpy says only "N requested and M written")."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np

#: room kept beside the outputs: the temporary file of the one being written, TIFF headers, other writers
SPARE_FRACTION = 0.05


def output_bytes(input_pixels: int, factors: tuple[float, float], outputs: dict[str, np.dtype]) -> int:
    """Bytes of the outputs of an input of ``input_pixels`` pixels super-resolved by ``factors`` (y, x), each output
    kind of its stored type."""
    pixels = input_pixels * factors[0] * factors[1]
    return int(sum(pixels * np.dtype(dtype).itemsize for dtype in outputs.values()))


def check_free_space(folder: Path, needed: int) -> None:
    """An OSError saying how much is missing when ``folder`` (or the nearest existing folder above it) has less free
    space than ``needed`` bytes and a margin; nothing where the file system reports no sizes."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    usage = shutil.disk_usage(existing)
    if usage.total == 0:  # some network and object-store mounts report no sizes: unknown, a write will tell
        return
    free = usage.free
    if free < needed * (1 + SPARE_FRACTION):
        raise OSError(errno.ENOSPC, f"not enough space for its outputs: they need about {_megabytes(needed)}, "
                                    f"{existing} has {_megabytes(free)} free; nothing was trained")


def described_write_error(error: OSError, path: Path) -> OSError:
    """A failed write as the user should read it: a full disk said as such, with the file that did not fit."""
    full = error.errno == errno.ENOSPC or "requested and" in str(error)  # numpy's short write on a full disk
    reason = "the disk is full" if full else (error.strerror or str(error))
    return OSError(error.errno, f"could not write {path}: {reason}")


def _megabytes(count: float) -> str:
    return f"{count / 1e6:.0f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"
