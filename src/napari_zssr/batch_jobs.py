"""A batch's jobs and their outputs: the errors and messages of a batch, what one input is (:class:`Job`), where its
outputs go and the checks of those paths. Which files are inputs: :mod:`.batch_inputs`; what a rerun finds already
done: :mod:`.batch_resume`.

Shared by the in-process batch and the Dask one: both plan the same jobs and decide from the same output states.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .batch_disk import not_writable_reason
from .io.imagej import staged_name_bytes
from .io.names import output_name, series_name
from .io.tiff import TiffHeader, image_axes, read_header, run_record


class UsageError(Exception):
    """A problem with the command line or its inputs, found before any training: exit code 2."""


class OptionNeeded(ValueError):
    """An input's failure that an option would fix (``--z-step``, ``--na``...: what its message says to give)."""


#: what the failure of one image series of a file of several adds to an :class:`OptionNeeded`'s advice: the options
#: apply to every series of the file, so given for one they would override the others' own values
SERIES_OPTION_ADVICE = ("; options apply to every series of the file (and every input), so save this series as a file "
                        "of its own and give them for it in a run of its own")


def option_name(field: str) -> str:
    """The command line's option for a library field or argument of that name: pixel_size -> --pixel-size."""
    return f"--{field.replace('_', '-')}"


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def quiet_reader_logs() -> Iterator[None]:
    """Keep tifffile's own log lines about a damaged file off the terminal while a batch runs: the batch names each
    file it cannot read, once, in its own words (tifffile logged the same damage up to three times per file).

    A filter of its own per call, not the logger's level: tasks overlapping in one worker process each add and
    remove theirs, and nothing is left behind."""
    logger, drop = logging.getLogger("tifffile"), _DropAll()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def say(message: str) -> None:
    """A line on stderr, above any progress bar rather than through it."""
    tqdm.write(message, file=sys.stderr)


@dataclass
class Job:
    source: Path
    output_stem: Path  # under --out, without "_<kind>.tif": the input's path relative to the inputs' common folder
    #: which image series of a file of several (positions, wells; 0-based among those
    #: :func:`~.io.series.image_series_count` counts) this input is; None for a file of one, whose names and records
    #: stay as they were before files of several ran each
    series: int | None = None

    @property
    def series_index(self) -> int:
        """The image series the readers read for this input (:func:`~.io.series.image_series`): 0 for a file of one."""
        return self.series or 0

    @property
    def name(self) -> str:
        """How messages name the input: its path, and its series where it is one of several."""
        return series_name(str(self.source), self.series)


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or folder in path.parents


def written_by_us(header: TiffHeader | None) -> bool:
    """Whether a TIFF is an output of this tool: its ImageJ Info holds a run's record, the command line's (with its
    settings) or the napari writer's (a result saved from the viewer)."""
    return header is not None and run_record(header.info) is not None


def check_output_folders(jobs: Sequence[Job], kinds: Sequence[str]) -> None:
    """A usage error where one input's output file would sit where another's outputs need a folder
    (``a.tif`` gives ``a_zssr.tif``; ``a_zssr.tif/b.tif`` needs a folder of that name)."""
    files = {name_key(output_path(Path(), job, kind)): job for job in jobs for kind in kinds}
    for job in jobs:
        for folder in job.output_stem.parents[:-1]:  # the last is "." (``--out`` itself)
            other = files.get(name_key(folder))
            if other is not None:
                raise UsageError(f"the outputs of {job.name} need a folder {folder} where the outputs of "
                                 f"{other.source} put a file; rename one of them")


def check_outputs_are_not_inputs(jobs: Sequence[Job], kinds: Sequence[str], out: Path) -> None:
    """A usage error, before any training, where an output would be written over an input or beside one: through a
    link under ``out`` that leads into an input folder (an input under ``--out`` is refused as it is collected), where
    an input named like another's output (``a_zssr.tif`` beside ``a.tif``) would be replaced by ``--overwrite``."""
    inputs = {job.source.resolve(): job.source for job in jobs}
    input_folders = {real.parent: source for real, source in inputs.items()}
    for job in jobs:
        for kind in kinds:
            written = output_path(out, job, kind)
            overwritten = inputs.get(written.resolve())
            if overwritten is not None:
                raise UsageError(f"the output {written} of {job.name} would be written over the input "
                                 f"{overwritten} (a link under --out leads to it); remove the link or choose another "
                                 "--out")
            folder = written.parent.resolve()
            if folder in input_folders:
                raise UsageError(f"the output {written} of {job.name} would be written beside the input "
                                 f"{input_folders[folder]}, into {folder} (a link under --out leads there); remove the "
                                 "link or choose another --out")


#: the longest file name file systems take: 255 bytes (ext4, XFS, APFS), 255 UTF-16 units (NTFS)
NAME_MAX = 255


def name_length(name: str) -> tuple[int, str]:
    """A file name's length as the file system counts it, and in what: UTF-16 units on Windows, else the bytes it is
    stored as (a name that is not valid UTF-8 or UTF-16, from an old share, keeps its own bytes or units)."""
    if os.name == "nt":
        return len(name.encode("utf-16-le", "surrogatepass")) // 2, "UTF-16 units"
    return len(os.fsencode(name)), "bytes"


def check_output_names(jobs: Sequence[Job], kinds: Sequence[str], out: Path) -> None:
    """A usage error, before any training, for an output file name longer than a file system takes, or an output
    path (or its temporary file's) longer than the system takes (PATH_MAX, 4,096 bytes on Linux): the file trained,
    then failed at its write with a message of kilobytes."""
    longest_path = _path_max(out)
    for job in jobs:
        for kind in kinds:
            path = output_path(out, job, kind)
            length, unit = name_length(path.name)
            if length > NAME_MAX:
                raise UsageError(f"the output {path.name} of {job.name} would be a name of {length} {unit}, longer "
                                 f"than file systems take ({NAME_MAX}); rename the input")
            name_bytes = max(len(os.fsencode(path.name)), staged_name_bytes(path))  # the temporary file beside it
            path_bytes = len(os.fsencode(os.path.abspath(path.parent))) + 1 + name_bytes
            if longest_path is not None and path_bytes >= longest_path:
                raise UsageError(f"the outputs of {job.name} would lie {path_bytes} bytes deep, over the "
                                 f"{longest_path - 1} this system takes; choose a shorter --out or move the input "
                                 "up its folders")


def _path_max(folder: Path) -> int | None:
    """The system's longest path in bytes, with its closing NUL (PATH_MAX), where it says (not on Windows)."""
    existing = next((path for path in (folder, *folder.parents) if path.is_dir()), None)
    try:
        return os.pathconf(existing or ".", "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):
        return None


def name_key(stem: Path) -> str:
    """Output names that one disk may not tell apart (case-insensitive file systems) share a key."""
    return str(stem).casefold()


def input_identity(source: Path, series: int | None = None) -> dict:
    """Which input an output was made from, and which version of it: path, size and modification time; and its
    ``series`` where it is one of a file's several (:attr:`Job.series`), which tells its outputs from the others'.

    Size and modification time (as ``make`` and ``rsync`` use) cost nothing on a resume over thousands of large
    stacks, where a content hash would read every input again; a touched or copied file then counts as changed and
    is redone, which costs time but never keeps a stale result.
    """
    stat = source.stat()
    identity = {"path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return identity if series is None else {**identity, "series": series}


def input_header(identity: dict, samples_as_channels: bool = False) -> TiffHeader | None:
    """The header of the input ``identity`` names (:func:`input_identity`): its series' where it is one of several."""
    return read_header(identity["path"], samples_as_channels=samples_as_channels, series=identity.get("series", 0))


def header_counts(path: Path, series: int = 0) -> tuple[int, int] | None:
    """How many planes each channel of a TIFF (its image series ``series``) has, and how many channels, from its
    header (no pixels read); None where it cannot tell."""
    header = read_header(path, samples_as_channels=True, series=series)
    if header is None or "S" in header.axes or len(header.axes) != len(header.shape):
        return None
    axes = image_axes(header.axes, len(header.shape))  # as the planes are read: "CQYX" is "QQYX", no channels
    return channel_planes(axes, header.shape), dict(zip(axes, header.shape)).get("C", 1)


def channel_planes(axes: str, shape: Sequence[int], beside: str = "C") -> int:
    """How many YX planes each channel of an image of ``axes`` and ``shape`` has (axes in ``beside`` not counted:
    "CZ" counts an axial run's volumes), by position: unnamed axes are all "Q"."""
    return int(np.prod([size for axis, size in zip(axes[:-2], shape[:-2]) if axis not in beside], dtype=np.int64))


def output_path(out: Path, job: Job, kind: str) -> Path:
    return out / job.output_stem.parent / f"{output_name(job.output_stem.name, kind)}.tif"


def settings_of_info(info: str | None) -> dict | None:
    """The record the batch writes into an output's ImageJ Info, with its settings (None for any other text)."""
    record = run_record(info)
    return record if record is not None and "settings" in record else None


def refuse_dangling_links(out: Path) -> None:
    """Refuse ``--out`` as given where it, or a folder on its path, is a link to nothing (a share that is not
    mounted): the folder would be made at the link's target, on the local disk, hidden once the share is mounted
    over it."""
    dangling = next((path for path in (out, *out.parents) if path.is_symlink() and not path.exists()), None)
    if dangling is not None:
        raise UsageError(f"--out {out}: {dangling} is a link to {os.readlink(dangling)}, which does not exist (a share "
                         "that is not mounted?); mount or create it, or give another folder")


def check_out(out: Path, given: Path) -> None:
    """Refuse an output folder (``out``, resolved from the ``given`` path) that cannot be made or written, without
    creating anything yet."""
    for name in out.parts:  # before any look at it: the system refuses to say whether such a path exists
        length, unit = name_length(name)
        if length > NAME_MAX:
            raise UsageError(f"--out {out} cannot be created: its folder name {name[:20]}... is {length} {unit}, "
                             f"longer than file systems take ({NAME_MAX}); give a shorter one")
    refuse_dangling_links(given)  # before the target's own checks, which would not say it came through a link
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out} cannot be created: {existing} is a file")
    reason = not_writable_reason(existing)
    if reason is not None:
        raise UsageError(f"--out {out} cannot be written: {existing}: {reason}")
