"""What TIFF files and their image series are called: the endings that mark a TIFF, a path's stem without them,
and the names messages, layers and outputs give one series of a file of several. Apart from the readers: the
writer and the batch's output names use them without opening a file."""

from __future__ import annotations

import os
from pathlib import Path

#: the file name endings of TIFFs read (compared in lower case): BigTIFFs too, which some software names .btf
TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf2", ".tf8")
#: those the writer writes (an ImageJ TIFF): a name typed with another ending gets .tif
WRITTEN_TIFF_SUFFIXES = (".tif", ".tiff")


def file_path(path: object, what: str, instead: str = "") -> Path:
    """``path`` (a str, ``pathlib.Path`` or bytes, as ``os`` takes them) as a Path, or a TypeError naming ``what`` the
    file is and what was given (an array, None), with ``instead`` (what to call for it) where given; pathlib's own
    message names neither."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        shown = f"an array of shape {tuple(path.shape)}" if hasattr(path, "shape") else \
            f"{type(path).__name__} {path!r}"
        raise TypeError(f"{what} must be a file's path (a str or pathlib.Path), got {shown}{instead}")
    return Path(path)


def drop_tiff_suffix(path: Path) -> Path:
    """The path without its file type: ``cells.tif`` and ``cells.ome.tif`` both give ``cells`` (the ``.ome`` of an
    OME-TIFF is part of its type, not of its name)."""
    stem = path.with_suffix("")
    return stem.with_suffix("") if stem.suffix.lower() == ".ome" else stem


def series_name(name: str, series: int | None) -> str:
    """How messages and layers name a file's image series (0-based): ``name``, with the series where the file holds
    several ("plate.ome.tif (series 2)"; None: a file of one)."""
    return name if series is None else f"{name} (series {series})"


def series_stem(stem: Path, series: int | None) -> Path:
    """The outputs' stem of image series ``series`` of a file of several (``plate_series2``), which the napari reader
    names its layers too (their outputs then save under the command line's names); ``stem`` for a file of one
    (None), whose outputs keep their names."""
    return stem if series is None else stem.with_name(f"{stem.name}_series{series}")


def output_name(name: str, kind: str) -> str:
    """The name of output ``kind`` (``zssr``, ``residual``...) of the input called ``name``, the same for a batch's
    files and a viewer's layers (``cells_zssr``), so that a layer saved under its name is the file a batch writes."""
    return f"{name}_{kind}"
