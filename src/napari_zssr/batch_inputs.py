"""Which files a batch reads: its inputs (files, folders, glob patterns) collected, the files it skips counted and
named, and the jobs planned from them (each image series of a file of several its own)."""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .batch_jobs import Job, UsageError, is_within, name_key, say, written_by_us
from .io.names import TIFF_SUFFIXES, drop_tiff_suffix, series_stem
from .io.tiff import read_header


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


def home_folder(typed: str) -> str | None:
    """The home folder where ``typed`` begins with ``~`` alone or before a separator, as a shell expands it (which
    leaves it to us in a quoted pattern or ``--out=~/results``); None for any other path: ``~lock.tif`` (an
    editor's lock file, say) and ``~user`` are names, not expansions."""
    if typed == "~" or typed.startswith(("~/", "~" + os.sep)):
        return os.path.expanduser("~")
    return None


def expanded_home(typed: str) -> str:
    """``typed`` with a leading ``~`` that :func:`home_folder` expands replaced by the home folder; else as typed."""
    home = home_folder(typed)
    return typed if home is None else home + typed[1:]


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

    A file or folder named on the command line that does not exist, or an empty name, is a :class:`UsageError` (a
    pattern that matches nothing only gets a note); this tool's outputs under ``out``, named, walked or matched, are
    skipped, so a rerun never takes its own outputs as inputs (the same command again, its unquoted ``*`` expanded by
    the shell, names ``out`` itself), and any other TIFF there is a :class:`UsageError`: an input in the output folder
    (``data -r --out data/A`` with raw data in A), and so are inputs that hold no TIFF to process.
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
        typed = str(item)
        path = Path(expanded_home(typed))  # the shell leaves a quoted pattern's ~ ('~/data/*.tif') to us
        if path.exists():  # one under --out too (a shell's * gives --out itself on a rerun): its files as below
            root = path if path.is_dir() else path.parent
            candidates, unreadable = folder_entries(path, recursive) if path.is_dir() else ([path], [])
            skipped[UNREADABLE].extend(unreadable)
        elif not is_pattern(typed):  # named outright: a typo must not pass as a done batch
            raise UsageError(f"{item}: no such file or folder")
        else:
            typed_root = Path(*itertools.takewhile(lambda part: not is_pattern(part), Path(typed).parent.parts))
            root = Path(expanded_home(str(typed_root)))
            # the home folder's own text is no pattern, whatever characters it holds
            home = home_folder(typed)
            pattern = path if home is None else Path(glob.escape(home) + typed[1:])
            candidates, unreadable = glob_matches(pattern, root, recursive)
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
                named = candidate == path  # given outright, not found by a walk or a pattern
                if candidate.suffix.lower() not in TIFF_SUFFIXES:  # the batch's own lock and partial files go unsaid
                    if named:
                        foreign_in_out.append(candidate)
                    continue
                header = read_header(candidate)
                if written_by_us(header) or (header is None and not named):
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
    counts = Counter(map(name_key, stems))
    suffixed = {number for (number, _, _), stem in zip(inputs, stems) if counts[name_key(stem)] > 1}  # all its series
    stems = [series_stem(path, series) if number in suffixed else stem
             for (number, path, series), stem in zip(inputs, stems)]
    counts = Counter(map(name_key, stems))
    clashes = dict.fromkeys(str(sources[number].path) for (number, _, _), stem in zip(inputs, stems)
                            if counts[name_key(stem)] > 1)
    if clashes:
        raise UsageError(f"inputs {', '.join(clashes)} would share output names; rename one of them")
    return [Job(sources[number].path, stem, series) for (number, _, series), stem in zip(inputs, stems)]
