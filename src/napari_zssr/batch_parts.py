"""The part files of a stack split across a cluster's workers (``--planes-per-task``): each part's outputs saved by
the worker that ran it, and all of them read back as one stack, a plane at a time.

A stack's parts live in a folder named by the input's version and the run's settings (:func:`parts_folder`), so a
batch stopped by Ctrl-C or a lost scheduler leaves its finished parts for the same command to pick up: a rerun
computes only the parts that are missing. Parts of other inputs or settings cannot be mistaken for them.

The assembled outputs of a large stack can be many times a worker's memory (200 planes of 2048 x 2048 at x2 are
13 GB of float32 per output kind), so the assembly never holds them: it reads each plane from its part's file as the
TIFF writer asks for it. Planes are read with plain file reads, not a memory map, whose pages would count in the
worker's resident memory (what Dask's memory limit watches) until the whole map is dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .batch_resume import input_settings

RECORDS_NAME = "records.json"
#: the name of a batch's live folder under the parts' folder (:attr:`.batching.PreparedBatch.live_folder`)
LIVE_PREFIX = "batch-"
#: the names this tool gives under the parts' folder: a stack's folder of parts, a batch's live folder
STACK_FOLDER_NAME = re.compile(r"[0-9a-f]{32}")
LIVE_FOLDER_NAME = re.compile(LIVE_PREFIX + r"[0-9a-f]{32}")


def parts_folder(root: Path, identity: dict, settings: dict, files: dict, kinds: Collection[str]) -> Path:
    """The folder under ``root`` of the parts of one input (``identity``: its path and version) run with
    ``settings``, whose parts hold the output ``kinds``: only a run that would make the same parts finds them. The
    versions of the PSF and weights files the settings name (``files``: :attr:`.batching.PreparedBatch.files`) count
    too: one replaced in place between two runs would otherwise mix planes made with either in one stack. A
    ``--pixel-size`` or ``--z-step`` equal to the file's own is no other setting
    (:func:`.batch_resume.input_settings`)."""
    key = json.dumps({"input": identity, "settings": input_settings(settings, identity),
                      "outputs": sorted(kinds), "files": files}, sort_keys=True)
    return root / hashlib.sha256(key.encode()).hexdigest()[:32]


def part_path(folder: Path, planes: tuple[int, int]) -> Path:
    """Where the part of planes ``start:stop`` goes in its stack's folder of parts."""
    return folder / f"{planes[0]}-{planes[1]}"


def is_whole_part(part: Path, kinds: Collection[str]) -> bool:
    """Whether ``part`` holds its records and every output kind, each file whole (a part a rerun may use)."""
    try:
        part_records(part)
        for kind in kinds:
            NpyPlanes(part / f"{kind}.npy")
    except (OSError, ValueError):
        return False
    return True


def save_part(part: Path, outputs: dict[str, np.ndarray], records: list[dict]) -> None:
    """Write a part (a folder: one ``.npy`` per output kind, (planes, C, Y, X), and the run's records) whole, then
    put it in place by one rename: a part that exists is complete. A part task run again (Dask reruns one whose
    result was lost with its worker, or a stopped batch's task that ran on) finds its part there and keeps it: the
    run is the same. The stack's folder of parts must exist: it is gone once the stack is assembled."""
    temporary = part.with_name(f".{part.name}.{uuid.uuid4().hex}")  # unique: two tasks of a part may write at once
    temporary.mkdir()
    try:
        for kind, array in outputs.items():
            np.save(temporary / f"{kind}.npy", np.ascontiguousarray(array, dtype=np.float32))
        (temporary / RECORDS_NAME).write_text(json.dumps(records))
        try:
            os.replace(temporary, part)
        except OSError:
            if not part.is_dir():  # else another task of this part put it in place first (a folder over a folder)
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def part_records(part: Path) -> list[dict]:
    """The per-channel records a part's run made."""
    return json.loads((part / RECORDS_NAME).read_text())


def remove_parts(parts: Sequence[Path]) -> None:
    """Remove an assembled stack's parts and their folder (with any parts of another split of the stack)."""
    for folder in {part.parent for part in parts}:
        shutil.rmtree(folder, ignore_errors=True)


class NpyPlanes:
    """The planes of a ``.npy`` file of shape (planes, C, Y, X), read one at a time from disk."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(file)
            self._offset = file.tell()
        if fortran_order or len(shape) != 4:
            raise ValueError(f"{path} is not a part's (planes, C, Y, X) array in C order")
        self.path = path
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        if path.stat().st_size < self._offset + int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize:
            raise ValueError(f"{path} is truncated")

    def plane(self, number: int, channel: int) -> np.ndarray:
        rows, columns = self.shape[-2:]
        with open(self.path, "rb") as file:
            file.seek(self._offset + (number * self.shape[1] + channel) * rows * columns * self.dtype.itemsize)
            return np.fromfile(file, self.dtype, rows * columns).reshape(rows, columns)


class PartsStack:
    """One output kind of a split stack, its parts joined in plane order: a (leading..., C, Y, X) plane source
    (:mod:`.io.planes`) of shape ``leading`` + the parts' (C, Y, X), as if the stack had run whole."""

    def __init__(self, parts: Sequence[Path], kind: str, leading: tuple[int, ...]) -> None:
        self._files = [NpyPlanes(part / f"{kind}.npy") for part in parts]
        counts = [planes.shape[0] for planes in self._files]
        expected = int(np.prod(leading, dtype=np.int64))
        shapes = [planes.shape for planes in self._files]
        if len({shape[1:] for shape in shapes}) != 1:
            raise ValueError(f"the parts' {kind} outputs have different channels or plane sizes: {shapes}")
        if sum(counts) != expected:
            raise ValueError(f"the parts' {kind} outputs ({shapes}) hold {sum(counts)} planes, not the stack's "
                             f"{expected}")
        self._starts = np.cumsum([0, *counts])
        self._leading = leading
        self.dtype = self._files[0].dtype
        self.shape = (*leading, *self._files[0].shape[1:])

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        number = int(np.ravel_multi_index(index[:-1], self._leading)) if self._leading else 0
        part = int(np.searchsorted(self._starts, number, side="right")) - 1
        return self._files[part].plane(number - int(self._starts[part]), index[-1])
