"""Which files a batch reads and writes, and what a rerun finds already done (resume, conflicts).

Shared by the in-process batch and the Dask one: both plan the same jobs and decide from the same output states.
"""

from __future__ import annotations

import fnmatch
import functools
import glob
import itertools
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .core.config import INITS
from .core.optics import Optics
from .core.resize import as_scale_pair
from .io.imagej import staged_name_bytes
from .io.names import TIFF_SUFFIXES, drop_tiff_suffix, output_name, series_name, series_stem
from .io.ome import OpticsMetadata, channel_acquisition, read_optics
from .io.tiff import TiffHeader, image_axes, read_header, run_record

#: how near a --pixel-size or --z-step must be to the file's own to count as it (TIFF stores them as fractions)
CALIBRATION_RTOL = 1e-6


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
    """Whether a TIFF is an output of this tool (its ImageJ Info holds our settings record)."""
    return header is not None and settings_of_info(header.info) is not None


@dataclass
class Source:
    path: Path
    root: Path  # the folder its output path is mirrored from: a folder input, a file's folder, a glob's fixed part
    series_count: int = 1  # its image series (positions, wells...): each is an input of its own


def is_hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` or a folder between ``root`` and it is hidden (its name starts with '.'): macOS's '._'
    resource files beside every TIFF on a shared drive, '.Trash', '.snapshot' and the like are no inputs."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
    return any(part.startswith(".") and part not in (".", "..") for part in parts)


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return any(character in text for character in "*?[")


#: skipped files a note names, at most
NAMED_SKIPS = 3


def first_named(names: Sequence[str]) -> str:
    """The first :data:`NAMED_SKIPS` of ``names``, joined for a message, with ", ..." where there are more."""
    return ", ".join(names[:NAMED_SKIPS]) + (", ..." if len(names) > NAMED_SKIPS else "")

#: why inputs are skipped, as the note counting them says
HIDDEN = "hidden (a name starting with '.', e.g. macOS '._' files)"
IN_DATASET = "part of a multi-file OME dataset, run from the file with its first plane"
UNREADABLE = "could not be read (no permission?)"
BROKEN_LINK = "broken (pointing nowhere: a share that is not mounted?)"
SPECIAL = "not a regular file (a pipe, socket or device)"
WRITTEN_BY_US = ("written by napari-zssr (its ImageJ Info record says so: outputs are never taken as inputs; an output "
                 "edited elsewhere keeps the record unless saved without it)")


def collect_sources(inputs: Sequence[str], recursive: bool, out: Path) -> list[Source]:
    """Expand files, folders and globs into TIFF files; never files under ``out`` nor outputs of this tool.

    A file or folder named on the command line that does not exist or lies in ``out``, or an empty name, is a
    :class:`UsageError` (a pattern that matches nothing only gets a note); this tool's outputs found under ``out`` by
    a folder walk or a glob are skipped, so a rerun never takes its own outputs as inputs, and any other TIFF found
    there is a :class:`UsageError`: an input in the output folder (``data -r --out data/A`` with raw data in A), and
    so are inputs that hold no TIFF to process.
    """
    found: list[Source] = []
    dataset_files: dict[Path, Path] = {}  # a multi-file OME dataset's other files -> the file with its first plane
    skipped: dict[str, list[Path]] = {reason: [] for reason in ("not a TIFF", BROKEN_LINK, UNREADABLE, "under --out",
                                                                 WRITTEN_BY_US, HIDDEN, IN_DATASET, SPECIAL)}
    foreign_in_out: list[Path] = []  # TIFFs a walk or a glob found under ``out`` that this tool did not write
    unreadable_tiffs: list[Path] = []  # inputs whose header cannot be read: each fails in its turn, said now
    for item in inputs:
        if not str(item).strip():  # Path("") is the current folder: a script's unset variable must not run it
            raise UsageError(f"an input is empty ({item!r}: an unset variable?); name a file, folder or pattern, "
                             "e.g. . for the current folder")
        path = Path(item)
        if path.exists():
            if is_within(path.resolve(), out):
                raise UsageError(f"--out {out} holds the input {item}; choose an output folder outside the inputs")
            root = path if path.is_dir() else path.parent
            candidates, unreadable = folder_entries(path, recursive) if path.is_dir() else ([path], [])
            skipped[UNREADABLE].extend(unreadable)
        elif not is_pattern(str(item)):  # named outright: a typo must not pass as a done batch
            raise UsageError(f"{item}: no such file or folder")
        else:
            root = Path(*itertools.takewhile(lambda part: not is_pattern(part), path.parent.parts))
            candidates, unreadable = glob_matches(path, root, recursive)
            skipped[UNREADABLE].extend(unreadable)
            if "**" in str(item) and not recursive:
                say(f"note: {item}: without -r, ** matches one folder level, as * does; add -r for every depth")
            if not candidates:
                say(f"note: {item}: no file matches")
        asks_for_hidden = not path.exists() and is_hidden(path, root)  # a glob such as "data/._*.tif": as asked
        for candidate in candidates:
            try:
                if candidate.is_symlink() and not candidate.exists():  # e.g. into a share that is not mounted
                    skipped[BROKEN_LINK].append(candidate)
                    continue
                if not candidate.is_file():
                    if candidate.is_dir():  # a sub-folder of a folder read without -r
                        continue
                    if candidate == path:  # named outright: reading a pipe would wait forever
                        raise UsageError(f"{item}: {SPECIAL}; give TIFF files or folders")
                    if candidate.suffix.lower() in TIFF_SUFFIXES:
                        skipped[SPECIAL].append(candidate)
                    continue
                real = candidate.resolve()
            except OSError:  # a folder that can be listed but not entered (read but no execute permission)
                if candidate.parent not in skipped[UNREADABLE]:
                    skipped[UNREADABLE].append(candidate.parent)
                continue
            if is_within(real, out):
                if candidate.suffix.lower() not in TIFF_SUFFIXES:  # the batch's own lock and partial files go unsaid
                    continue
                header = read_header(candidate)
                if header is None or written_by_us(header):
                    skipped["under --out"].append(candidate)
                else:  # raw data in the output folder: left unprocessed, outputs written beside it or over it
                    foreign_in_out.append(candidate)
            elif candidate != path and not asks_for_hidden and is_hidden(candidate, root):
                skipped[HIDDEN].append(candidate)
            elif candidate.suffix.lower() not in TIFF_SUFFIXES:
                skipped["not a TIFF"].append(candidate)
            elif written_by_us(header := read_header(candidate)):  # even named: the shell may have expanded a glob
                skipped[WRITTEN_BY_US].append(candidate)
            else:
                found.append(Source(candidate, root, 1 if header is None else header.series_count))
                if header is None:
                    unreadable_tiffs.append(candidate)
                elif header.first_plane_file is not None:
                    dataset_files[candidate.resolve()] = header.first_plane_file
    if foreign_in_out:
        raise UsageError(f"--out {out} lies among the inputs and holds {len(foreign_in_out)} TIFF(s) napari-zssr did "
                         f"not write ({first_named([str(path) for path in foreign_in_out])}): inputs there would be "
                         "left out and outputs written beside them; choose an output folder that holds no input (e.g. "
                         "a new folder)")
    inputs_found = {source.path.resolve() for source in found}
    in_dataset = {path for path, first in dataset_files.items() if first in inputs_found}
    found = [source for source in found if source.path.resolve() not in in_dataset]
    skipped[IN_DATASET] = sorted(in_dataset)
    for reason, paths in skipped.items():
        if paths:
            what = {UNREADABLE: "folder", BROKEN_LINK: "link"}.get(reason, "file")
            say(f"note: skipped {len(paths)} {what}(s): {reason} ({first_named([path.name for path in paths])})")
    if unreadable_tiffs:  # said before any training: their failures would otherwise come hours into a batch
        say(f"note: {len(unreadable_tiffs)} file(s) cannot be read as TIFFs (empty, damaged, unreadable or not "
            f"TIFFs); each fails in its turn: {first_named([path.name for path in unreadable_tiffs])}")
    if not found:
        passed_over = sum(map(len, skipped.values()))
        what = "the one entry found was" if passed_over == 1 else f"each of the {passed_over} entries found was"
        raise UsageError("no TIFF files to process in the inputs" + (
            f": {what} skipped, as the notes above say" if passed_over else ""))
    unique: dict[Path, Source] = {}
    for source in found:  # one job per file, however many times the inputs name it; named as itself, not a link
        real = source.path.resolve()
        if real not in unique or links_on(source.path) < links_on(unique[real].path):
            unique[real] = source
    return list(unique.values())


def links_on(path: Path) -> int:
    """How many names on ``path`` (made absolute) are symbolic links, its own included: of the paths that reach one
    file, the one through fewest is its own (``zreal/x.tif``, not ``a_alias/x.tif`` through a linked folder)."""
    parts = Path(os.path.abspath(path)).parts
    return sum(Path(*parts[:end]).is_symlink() for end in range(2, len(parts) + 1))


def folder_entries(folder: Path, recursive: bool) -> tuple[list[Path], list[Path]]:
    """The entries of ``folder``, sorted, and the folders that could not be read; ``recursive``: of its sub-folders
    too, then of linked folders (a facility links acquisitions in from other disks) not reached otherwise, so that
    a folder both in the tree and linked keeps its own path (and its outputs' place), and a link loop ends."""
    unreadable: list[Path] = []
    if not recursive:
        try:
            return sorted(folder.iterdir()), unreadable
        except OSError:
            return [], [folder]
    entries: list[Path] = []
    seen: set[Path] = set()
    links: list[Path] = []

    def walk(top: Path, follow_links: bool) -> None:
        for parent, folders, files in os.walk(top, followlinks=follow_links,
                                              onerror=lambda error: unreadable.append(Path(error.filename))):
            real = Path(parent).resolve()
            if real in seen:
                folders.clear()
                continue
            seen.add(real)
            folders.sort()
            if not follow_links:
                links.extend(Path(parent) / name for name in folders if (Path(parent) / name).is_symlink())
            entries.extend(Path(parent) / name for name in files)

    walk(folder, follow_links=False)
    for link in links:
        walk(link, follow_links=True)
    return sorted(entries), unreadable


def glob_matches(pattern: Path, root: Path, recursive: bool) -> tuple[list[Path], list[Path]]:
    """The files a glob ``pattern`` names, sorted: those it matches and those in the folders it matches, as the
    shell expanding it into folder inputs would give (in their sub-folders too with ``recursive``); and the folders
    that could not be read. ``root``: the pattern's leading folders without wildcards.

    With ``recursive``, a ``**`` matches below ``root`` what a walk of it as a folder input finds
    (:func:`folder_entries`): linked folders entered once, under their path in the tree. ``glob`` follows links
    round a loop until the path grows too long (with two links up, 2^40 ways round: it never ends), and names a
    file by its path through a link where that sorts first, which moves its outputs from a folder input's place.
    """
    if recursive and "**" in pattern.parts:
        if not root.is_dir():
            return [], []
        entries, unreadable = folder_entries(root, recursive=True)
        parts = pattern.parts[len(root.parts):]
        return [entry for entry in entries if _named_by(entry.relative_to(root).parts, parts)], unreadable
    files: list[Path] = []
    unreadable = []
    for match in map(Path, sorted(glob.glob(str(pattern), recursive=recursive))):
        if match.is_dir():
            entries, unread = folder_entries(match, recursive)
            files.extend(entries)
            unreadable.extend(unread)
        else:
            files.append(match)
    return files, unreadable


def _named_by(names: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether a glob's ``parts`` match a relative path's ``names``, or a folder on it (whose files it names)."""
    return any(_glob_match(names[:end], parts) for end in range(1, len(names) + 1))


def _glob_match(names: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether a relative path's ``names`` match a glob's ``parts``: ``**`` any number of folders (none too), any
    other part one name, as ``glob`` with ``recursive`` matches them."""
    if not parts:
        return not names
    if parts[0] == "**":
        return any(_glob_match(names[skip:], parts[1:]) for skip in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatch(names[0], parts[0]) and _glob_match(names[1:], parts[1:])


def plan_jobs(sources: Sequence[Source]) -> list[Job]:
    """Give every input its own outputs: its path relative to the common folder of the inputs given, file type dropped
    (``.tif``, ``.ome.tif``).

    A folder input is its own root, so files added to it later do not move the outputs of the others. Where two
    inputs would still share a name (``x.tif`` and ``x.tiff``, or names that differ only in case, which a
    case-insensitive disk cannot tell apart) both keep their suffix in the name (``x.tif_zssr.tif``).

    A file of several image series is one input per series, ``_series<k>`` added to its name (``plate_series2``).
    """
    if not sources:
        return []
    files = [Path(os.path.abspath(source.path)) for source in sources]
    try:
        common = Path(os.path.commonpath([os.path.abspath(source.root) for source in sources]))
        relative = [path.relative_to(common) for path in files]
    except ValueError:  # inputs on different drives (Windows): mirror each drive as a folder
        relative = [Path(path.drive.rstrip(":")) / path.relative_to(path.anchor) for path in files]
    inputs = [(number, path, series) for number, (source, path) in enumerate(zip(sources, relative))
              for series in (range(source.series_count) if source.series_count > 1 else [None])]
    stems = [series_stem(drop_tiff_suffix(path), series) for _, path, series in inputs]
    counts = Counter(map(_key, stems))
    suffixed = {number for (number, _, _), stem in zip(inputs, stems) if counts[_key(stem)] > 1}  # all its series
    stems = [series_stem(path, series) if number in suffixed else stem
             for (number, path, series), stem in zip(inputs, stems)]
    counts = Counter(map(_key, stems))
    clashes = dict.fromkeys(str(sources[number].path) for (number, _, _), stem in zip(inputs, stems)
                            if counts[_key(stem)] > 1)
    if clashes:
        raise UsageError(f"inputs {', '.join(clashes)} would share output names; rename one of them")
    return [Job(sources[number].path, stem, series) for (number, _, series), stem in zip(inputs, stems)]


def check_output_folders(jobs: Sequence[Job], kinds: Sequence[str]) -> None:
    """A usage error where one input's output file would sit where another's outputs need a folder
    (``a.tif`` gives ``a_zssr.tif``; ``a_zssr.tif/b.tif`` needs a folder of that name)."""
    files = {_key(output_path(Path(), job, kind)): job for job in jobs for kind in kinds}
    for job in jobs:
        for folder in job.output_stem.parents[:-1]:  # the last is "." (``--out`` itself)
            other = files.get(_key(folder))
            if other is not None:
                raise UsageError(f"the outputs of {job.name} need a folder {folder} where the outputs of "
                                 f"{other.source} put a file; rename one of them")


def check_outputs_are_not_inputs(jobs: Sequence[Job], kinds: Sequence[str], out: Path) -> None:
    """A usage error, before any training, where an output would be written over an input or beside one: through a
    link under ``out`` that leads into an input folder (``--out`` holding an input is refused as it is named), where
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


def _key(stem: Path) -> str:
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


def comparable_record(info: str | None) -> dict | None:
    """:func:`settings_of_info`'s record where it has the shape the batch writes, so that its settings and input can
    be compared with a run's; None for any other (a record edited by hand: its output is then "unreadable", left
    alone, where comparing it stopped the batch with an AttributeError)."""
    record = settings_of_info(info)
    if record is None or not isinstance(record["settings"], dict):
        return None
    made_from = record.get("input") or {}
    if not isinstance(made_from, dict):
        return None
    number = (int, type(None))
    fields = [(record["settings"].get("config", {}), dict), (made_from.get("path", ""), str),
              (made_from.get("size"), number), (made_from.get("mtime_ns"), number), (made_from.get("series"), number)]
    return record if all(isinstance(value, kind) for value, kind in fields) else None


#: states of an input's existing outputs, most serious first: the first that applies to any output decides.
STATES = ("folder", "unreadable", "other input", "different", "changed", "z planes", "kernel changed", "missing",
          "same")
#: options that describe the optics: any of them asks for a kernel from the optics (the axial profile, in axial mode)
OPTICS_OPTIONS = ("na", "psf_model", "wavelength", "refractive_index", "excitation_wavelength", "pinhole")


def kernel_kinds(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The kernel sources a batch's settings ask for (its options' fields, or an output's record of them): one for
    every channel, or one per channel (``kernel``), else the one the other settings imply."""
    kernel = settings.get("kernel")
    if kernel:
        return (kernel,) if isinstance(kernel, str) else tuple(kernel)
    if settings.get("psf"):
        return ("psf",)
    return ("optics",) if any(is_given(settings.get(name)) for name in OPTICS_OPTIONS) else ("none",)


def is_given(value: Any) -> bool:
    """Whether an option was given: not None and not an empty list (of repeatable options); a 0 is given (a bad
    value that ``batch()`` takes from Python, to be refused rather than ignored)."""
    return value is not None and not (isinstance(value, (list, tuple)) and not value)


def settings_files(settings: dict) -> dict[str, list[int]]:
    """The size and modification time of each PSF and weights file ``settings`` name: one replaced in place (a PSF
    measured again under the same name) changes the outputs made with it."""
    init = settings.get("config", {}).get("init")
    named = [*settings.get("psf", []), *([] if init in INITS else [init])]
    files = {path: Path(path).stat() for path in named if isinstance(path, str) and Path(path).is_file()}
    return {path: [stat.st_size, stat.st_mtime_ns] for path, stat in files.items()}


def output_state(paths: dict[str, Path], settings: dict, identity: dict,
                 files: dict) -> tuple[str, Path | None]:
    """The state of an input's outputs (one of :data:`STATES`) and the output file that decided it; ``files``: the
    versions of the files the settings name (:func:`settings_files`)."""
    found: dict[str, Path] = {}
    axes_now = functools.cache(functools.partial(axes_as_read, identity))  # read once, where asked
    for path in paths.values():
        found.setdefault(_state_of(path, settings, identity, files, axes_now), path)
    state = next(state for state in STATES if state in found or state == "same")
    return state, found.get(state)


def _state_of(path: Path, settings: dict, identity: dict, files: dict, axes_now: Callable[[], str | None]) -> str:
    if path.is_dir():
        return "folder"
    if not path.exists():
        return "missing"
    header = read_header(path)
    record = comparable_record(None if header is None else header.info)
    if record is None:
        return "unreadable"
    made_from = record.get("input")
    if made_from is None:  # written by a version that did not record its input
        return "different"
    if made_from.get("path") != identity["path"] and not _same_file_moved(made_from, identity):
        return "other input"
    if made_from.get("series") != identity.get("series"):  # another image series of the file: never mixed up
        return "other input"
    then, now = comparable_settings(record["settings"], settings, identity)
    if then != now:
        return "different"
    if (made_from.get("size"), made_from.get("mtime_ns")) != (identity["size"], identity["mtime_ns"]):
        return "changed"
    # an ImageJ z-stack saved by tifffile without axes was read as channels before its z spacing made it z planes
    # (io.channels.channel_reading): the only input read otherwise since, so only those inputs are read again
    if record.get("input_axes") == "CYX" and axes_now() == "ZYX":
        return "z planes"
    # outputs written before the files were recorded are taken as made with the files named now
    return "kernel changed" if record.get("settings_files", files) != files else "same"


def axes_as_read(identity: dict) -> str | None:
    """The axes the batch reads the input ``identity`` names with (as the outputs' records give them); None where it
    cannot be read."""
    header = input_header(identity, samples_as_channels=True)
    return None if header is None else image_axes(header.axes, len(header.shape))


def _same_file_moved(made_from: dict, identity: dict) -> bool:
    """Whether an output's input and ``identity`` are one file reached by another path: where the recorded path
    still leads to a file, the same file (a link, another mount); where it is gone (the folder moved, mounted
    elsewhere), a file of the same name, size and modification time."""
    recorded = Path(made_from.get("path", ""))
    try:
        if recorded.exists():
            return os.path.samefile(recorded, identity["path"])
    except OSError:
        return False
    return (recorded.name == Path(identity["path"]).name
            and (made_from.get("size"), made_from.get("mtime_ns")) == (identity["size"], identity["mtime_ns"]))


#: a settings record's ``psf_model`` where ``--psf-model`` is left out: each file's acquisition mode decides (a
#: record without one is from before: its runs took widefield)
FILES_MODEL = "the file's"


def deciding(settings: dict) -> dict:
    """The settings that decide an output's content: all but the device, whose choice (``auto``, ``cpu``, ``cuda``)
    changes where a run goes, not what it makes, so that a batch resumed on another machine keeps what is done;
    defaults spelled out count as left out (``--kernel psf`` beside ``--psf``); ``psf_model`` of a record from
    before the acquisition mode was read is the widefield model its runs took."""
    config = {key: value for key, value in settings.get("config", {}).items() if key != "device"}
    # an axial run takes its optics from each file whatever the options imply: its kernel setting stays as recorded
    # one kernel given once per channel is the one given once (as records from before per-channel kernels say it)
    kinds = kernel_kinds(settings)
    kernel = settings.get("kernel") if settings.get("axial") else kinds[0] if len(set(kinds)) == 1 else list(kinds)
    return {**settings, "config": config, "kernel": kernel, "psf_model": settings.get("psf_model") or Optics.modality}


def comparable_settings(then: dict, now: dict, identity: dict | None) -> tuple[dict, dict]:
    """What decides the outputs of the input ``identity`` names (:func:`input_identity`) in two settings records:
    :func:`deciding`, or where they differ, :func:`input_settings` (None: the file not read)."""
    if deciding(then) == deciding(now) or identity is None:
        return deciding(then), deciding(now)
    return input_settings(then, identity), input_settings(now, identity)


def input_settings(settings: dict, identity: dict) -> dict:
    """What decides the outputs of the input ``identity`` names in ``settings`` (:func:`deciding`), a
    ``--pixel-size``, ``--z-step`` or optics option equal to its own (its series' in a file of several) left out (it
    changes nothing): the same for runs that differ only by giving those or not. A file whose header cannot be read:
    :func:`deciding` alone."""
    header = input_header(identity)
    own = {} if header is None else {"pixel_size": header.pixel_size, "z_step": header.z_spacing}
    settings = _own_left_out(settings, own)
    optics = _files_optics(identity) if _optics_options_given(settings) else None
    if optics is not None:
        settings = _files_model_named(_own_optics_left_out(settings, *optics), *optics)
    return deciding(settings)


def _optics_options_given(settings: dict) -> bool:
    """Whether ``settings`` hold anything the file's optics decide: an optics option, or the model left to them."""
    return settings.get("psf_model") == FILES_MODEL or any(
        settings.get(name) for name in ("na", "refractive_index", "wavelength", "excitation_wavelength"))


def _files_optics(identity: dict) -> tuple[OpticsMetadata | None, int] | None:
    """What the OME metadata of the input ``identity`` names says of its optics (None: it has none), and its channel
    count; None where the file cannot be read (it fails on its own)."""
    series = identity.get("series", 0)
    try:
        optics = read_optics(identity["path"], series)
    except (OSError, ValueError):
        return None
    counts = header_counts(Path(identity["path"]), series)
    return optics, 1 if counts is None else counts[1]


def _own_optics_left_out(settings: dict, optics: OpticsMetadata | None, channels: int) -> dict:
    """``settings`` with a ``--na``, ``--refractive-index``, ``--wavelength`` or ``--excitation-wavelength`` equal to
    what the input's OME metadata says (``optics``, of its ``channels``; their defaults) left out: a default spelled
    out is no other setting. A wavelength counts where given once for every channel or once per channel, and the
    file gives each channel's."""
    if optics is None:
        return settings

    def same(given: Sequence[float], own: Sequence[float | None]) -> bool:
        if len(given) == 1:
            given = list(given) * channels
        return len(given) == len(own) == channels and None not in own and bool(
            np.allclose(given, np.asarray(own, dtype=float), rtol=1e-6, atol=0))

    left_out = {}
    for name, own in (("na", optics.na), ("refractive_index", optics.refractive_index)):
        if settings.get(name) is not None and own is not None and same([settings[name]], [own] * channels):
            left_out[name] = None
    for name, own in (("wavelength", optics.emission_wavelengths),
                      ("excitation_wavelength", optics.excitation_wavelengths)):
        if settings.get(name) and same(settings[name], own):
            left_out[name] = []
    return {**settings, **left_out}


def _files_model_named(settings: dict, optics: OpticsMetadata | None, channels: int) -> dict:
    """``settings`` with the model each file's acquisition mode decides (:data:`FILES_MODEL`) named where every
    channel of the input (``optics``, of its ``channels``) takes the same (:func:`~.io.ome.channel_acquisition`): a
    ``--psf-model`` equal to it, or a run from before that took widefield on a file that names widefield or nothing,
    is no other setting."""
    if settings.get("psf_model") != FILES_MODEL:
        return settings
    models = {channel_acquisition(optics, channel, channels).modality for channel in range(channels)}
    return {**settings, "psf_model": models.pop()} if len(models) == 1 else settings


def _own_left_out(settings: dict, own: Mapping[str, Any]) -> dict:
    """``settings`` with each of ``own``'s names set to None where it equals the input's own value."""
    def equal(given: Any, file_value: Any) -> bool:
        try:
            return file_value is not None and bool(np.allclose(as_scale_pair(given), as_scale_pair(file_value),
                                                               rtol=CALIBRATION_RTOL, atol=0))
        except (TypeError, ValueError):
            return False
    return {**settings, **{name: None for name, value in own.items() if equal(settings.get(name), value)}}


def conflict_message(state: str, path: Path, overwrite: bool, settings: dict | None = None,
                     identity: dict | None = None) -> str | None:
    """Why an input is left alone (None when it is processed); for other settings, which (``settings``: this run's,
    ``identity``: the input's, :func:`input_identity`, whose own pixel size and z-step are no other setting)."""
    if state == "folder":
        return f"a folder is where the output {path} goes; move it away"
    if overwrite:
        return None
    reason = {"unreadable": "exists but is not a readable napari-zssr output (corrupt, or another program's file)",
              "other input": "was made from another input (the inputs given have changed)",
              "different": "was made with different settings"}.get(state)
    if state == "different" and settings is not None:
        reason += settings_difference(path, settings, identity)
    return None if reason is None else f"{path} {reason}; left alone (use --overwrite to replace it)"


#: differing settings a conflict names, at most
NAMED_DIFFERENCES = 3


def settings_difference(path: Path, settings: dict, identity: dict | None = None) -> str:
    """" (name: then -> now, ...)": the settings an output (of the input ``identity`` names) was made with that
    differ from ``settings`` (:func:`comparable_settings`)."""
    header = read_header(path)
    record = comparable_record(None if header is None else header.info)
    if record is None:
        return ""
    then, now = map(_flat, comparable_settings(record["settings"], settings, identity))
    if bool(then.get("axial")) != bool(now.get("axial")):  # the settings of one mode are not the other's
        return f" (by {_mode(then)}; this is {_mode(now)})"
    names = [name for name in sorted(then.keys() | now.keys()) if then.get(name) != now.get(name)]
    shown = [f"{name}: {_shown(then.get(name))} -> {_shown(now.get(name))}" for name in names[:NAMED_DIFFERENCES]]
    more = f", and {len(names) - NAMED_DIFFERENCES} more" if len(names) > NAMED_DIFFERENCES else ""
    return f" ({', '.join(shown)}{more})" if shown else ""


def _mode(settings: dict) -> str:
    return "an axial run (--axial)" if settings.get("axial") else "a lateral run"


def _shown(value: Any) -> str:
    return "not set" if value is None else repr(value)


def _flat(settings: dict, prefix: str = "") -> dict:
    """Nested settings as one level of dotted names ("config.init")."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_out(out: Path) -> None:
    """Refuse an output folder that cannot be made or written, without creating anything yet."""
    for name in out.parts:  # before any look at it: the system refuses to say whether such a path exists
        length, unit = name_length(name)
        if length > NAME_MAX:
            raise UsageError(f"--out {out} cannot be created: its folder name {name[:20]}... is {length} {unit}, "
                             f"longer than file systems take ({NAME_MAX}); give a shorter one")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out} cannot be written: no write permission on {existing}")
