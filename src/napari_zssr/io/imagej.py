"""ImageJ hyperstacks written with tifffile: axes, calibration, display settings and a run record kept, staged beside
their place and renamed into it, so that an interrupted write leaves no half file and a set of outputs appears
together. The property in which it keeps the axes ImageJ would drop is read back here too (:func:`written_layout`),
so that its name and its form are in one place."""

from __future__ import annotations

import functools
import itertools
import os
import signal
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ..stop_signals import STOPPING, each_surely, handlers_swapped
from .planes import PlaneSource, ReorderedPlanes, iter_planes

#: the ImageJ display settings (tiff.IMAGEJ_DISPLAY_KEYS) that are intensities: they fit outputs in the
#: input's intensities only
IMAGEJ_RANGE_KEYS = ("Ranges", "min", "max")
#: the end of the name of a file staged beside its output, before its rename
STAGED_SUFFIX = ".tif.part"
#: bytes of an output's name in its temporary file's name, which adds 19 (".", ".", 8 random, the staged suffix)
TEMPORARY_HINT_BYTES = 200
#: the axes an ImageJ hyperstack holds before Y and X, in the order it stores them
IMAGEJ_LEADING_AXES = "TZC"
#: pixel types an ImageJ hyperstack can hold (tifffile refuses the others).
IMAGEJ_DTYPES = tuple(np.dtype(name) for name in ("uint8", "uint16", "int16", "float32"))
#: the ImageJ property holding the axes a file was written with, where some have length 1 (ImageJ drops those) or
#: where its only axis but Y and X is a channel axis (which ImageJ's metadata writes as it writes unnamed planes)
AXES_PROPERTY = "napari_zssr_axes"


#: the TIFF Software tag of every file this package writes (how a save tells its own files from a user's)
SOFTWARE = "napari-zssr"


def imagej_axes(axes: str) -> str:
    """``axes`` if ImageJ can store it (a subsequence of TZCYX), else a stand-in with as many leading axes: unknown
    axes (Q) beside known ones take the free letters that fit around them (Z first: "QCYX" -> "ZCYX"), else the
    leading axes are T, Z, C in turn."""
    leading = axes[:-2]
    if axes.endswith("YX") and _imagej_order(leading):
        return axes
    if len(leading) > 3:
        raise ValueError(f"ImageJ TIFFs hold at most 3 axes besides Y and X (T, Z, C), got {axes!r}; split the file "
                         "or drop its axes of length 1 (e.g. in Fiji) first")
    unknown = [index for index, axis in enumerate(leading) if axis == "Q"]
    if axes.endswith("YX") and 0 < len(unknown) < len(leading):
        free = [axis for axis in "ZTC" if axis not in leading]
        for letters in itertools.permutations(free, len(unknown)):
            named = list(leading)
            for index, letter in zip(unknown, letters, strict=True):
                named[index] = letter
            if _imagej_order("".join(named)):
                return "".join(named) + "YX"
    return {0: "", 1: "Z", 2: "TZ", 3: "TZC"}[len(leading)] + "YX"


def imagej_letters(axes: str) -> bool:
    """Whether ``axes`` ends in Y, X after distinct letters of ImageJ's T, Z, C, in any order (what
    :func:`write_imagej_tiff` can store, its leading axes moved into ImageJ's order)."""
    leading = axes[:-2]
    return axes.endswith("YX") and len(set(leading)) == len(leading) and set(leading) <= set(IMAGEJ_LEADING_AXES)


def _imagej_order(leading: str) -> bool:
    """Whether ``leading`` (the axes before Y and X) is a subsequence of ImageJ's TZC."""
    return (all(a in IMAGEJ_LEADING_AXES for a in leading) and len(set(leading)) == len(leading)
            and list(leading) == sorted(leading, key=IMAGEJ_LEADING_AXES.index))


def write_imagej_tiff(path: str | os.PathLike, data: PlaneSource, axes: str, pixel_size: tuple[float, float] | None,
                      z_spacing: float | None = None, info: str | None = None,
                      origin: tuple[float, float] | None = None, z_origin: float | None = None,
                      frame_interval: float | None = None, display: dict | None = None,
                      z_unknown: bool = False) -> None:
    """Write an ImageJ hyperstack atomically (:func:`stage_imagej_tiff`, then rename): an interrupted write leaves
    no file. The arguments are :func:`stage_imagej_tiff`'s."""
    commit_staged(stage_imagej_tiff(path, data, axes, pixel_size, z_spacing, info, origin, z_origin, frame_interval,
                                    display, z_unknown=z_unknown), Path(path))


def written_here(path: Path) -> bool:
    """Whether the TIFF at ``path`` was written by this package (its TIFF Software tag: an output, or a layer saved
    from napari), which a save may replace; False for any other file, or none."""
    try:
        with tifffile.TiffFile(path) as tif:
            return tif.pages.first.software == SOFTWARE
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):
        return False


def commit_staged(temporary: Path, path: Path) -> None:
    """Move a staged file to its place (an existing file there is replaced whole); on failure it is removed."""
    try:
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def commit_set(staged: Sequence[tuple[Path, Path]]) -> None:
    """Move staged files to their places (pairs of staged file, place) as one set: a Ctrl-C or SIGTERM arriving
    meanwhile takes effect after the last rename, so a stopped batch never leaves one run's outputs beside another's.
    """
    with signals_deferred():
        try:
            for temporary, path in staged:
                commit_staged(temporary, path)
        except BaseException:  # the files not yet in place are not left behind
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            raise


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold the signals that stop a batch (:data:`.stop_signals.STOPPING`) back till the block ends, then deliver
    each that came to the handler before; one ignored stays ignored.

    Python runs signal handlers in the main thread, whichever thread the signal reached, so the handlers are swapped
    rather than the signals masked (:func:`.stop_signals.handlers_swapped`)."""
    received: list[int] = []

    def defer(signum: int, frame: Any) -> None:
        received.append(signum)

    try:
        with handlers_swapped(STOPPING, defer):
            yield
    finally:  # each delivered even where the one before raised (a Ctrl-C's KeyboardInterrupt)
        each_surely([functools.partial(signal.raise_signal, signum) for signum in dict.fromkeys(received)])


def imagej_dtype(dtype: Any) -> np.dtype:
    """``dtype`` where an ImageJ TIFF holds it, else float32 (what :func:`stage_imagej_tiff` writes it as)."""
    dtype = np.dtype(dtype)
    return dtype if dtype in IMAGEJ_DTYPES else np.dtype(np.float32)


#: what float32, which an ImageJ TIFF holds in place of the types it cannot, keeps of a type it cannot hold exactly
FLOAT32_DIGITS = "7 significant digits: detail finer than that on a large offset is lost"


def float32_loses_precision(dtype: Any) -> bool:
    """Whether float32 (what an ImageJ TIFF holds in place of a type it cannot) cannot hold every value of ``dtype``
    exactly: float64, and integers of 32 bits and more; float16 it holds exactly."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" and dtype.itemsize > 4 or dtype.kind in "iu" and dtype.itemsize >= 4


def check_float32_range(data: np.ndarray, written_as: str, whole: bool = True) -> None:
    """A ValueError for float64 values that ``written_as`` (the float32 an ImageJ TIFF stores them as) cannot hold:
    finite values beyond +-3.4e38 would be infinities, and an image whose values all lie below float32's smallest
    normal number (1.2e-38) would lose its digits or become 0 (checked only where ``data`` is the ``whole`` image:
    a part of dark planes says nothing of it). NaN and infinity are left for the checks of the values to name."""
    if data.dtype.kind != "f" or data.dtype.itemsize <= 4 or not data.size:
        return
    # plane by plane: the copies abs() and isfinite() make are a plane's, not the stack's
    planes = np.reshape(data, (-1, *np.shape(data)[-2:])) if np.ndim(data) >= 2 else np.reshape(data, (1, -1))
    peak = max(float(np.max(np.abs(plane), where=np.isfinite(plane), initial=0.0)) for plane in planes)
    limits = np.finfo(np.float32)
    if peak > float(limits.max) or (whole and 0 < peak < float(limits.smallest_normal)):
        side = "beyond" if peak > float(limits.max) else "below"
        raise ValueError(f"its values reach {peak:.3g}, {side} what {written_as} hold (+-1.2e-38 to 3.4e38): "
                         "rescale the data first")


def stage_imagej_tiff(path: str | os.PathLike, data: PlaneSource, axes: str, pixel_size: tuple[float, float] | None,
                      z_spacing: float | None = None, info: str | None = None,
                      origin: tuple[float, float] | None = None, z_origin: float | None = None,
                      frame_interval: float | None = None, display: dict | None = None,
                      channel_names: Sequence[str] = (), z_unknown: bool = False) -> Path:
    """Write an ImageJ hyperstack meant for ``path`` into a temporary file beside it (``.<name>.<random>.tif.part``)
    and return that file: :func:`commit_staged` puts it in place, so that several files can be put in place
    together once all are written. On failure nothing is left.

    Axes ImageJ knows but in another order (e.g. "CZYX", an OME file's "CTZYX") are moved into its T, Z, C order,
    so each keeps its name. ``origin`` (y, x) and ``z_origin``: ImageJ's calibration origin, in pixels and planes;
    ``frame_interval``: seconds between time points; ``display``: ImageJ's display settings (``mode``, ``LUTs``,
    ``Ranges``, as :class:`TiffImage` reads them), kept where they fit the channels written; ``channel_names``: one
    per channel, written as each plane's slice label (how Fiji shows them). ``z_spacing`` None leaves ImageJ's
    default (1 unit, as a Fiji file of a 1 um step says it); ``z_unknown``: the z step of a stack with a
    ``pixel_size`` is not known (an OME file that does not give it), written as ImageJ's z unit "pixel" so that the
    file does not reopen calibrated at 1 um (:func:`.tiff.read_tiff` honours ImageJ's ``zunit``). Types an ImageJ TIFF
    cannot hold (float64, int8, (u)int32, 64-bit integers, bool) are written as float32.

    ``data`` is an array or any plane source (:mod:`.planes`): it is read and written one plane at a time, so a stack
    read from disk is never held whole.
    """
    path = Path(path)
    leading = axes[:-2]
    order = list(range(len(leading)))
    if imagej_letters(axes):
        order.sort(key=lambda axis: IMAGEJ_LEADING_AXES.index(leading[axis]))
        axes = "".join(leading[axis] for axis in order) + "YX"
    data = ReorderedPlanes(data, order, imagej_dtype(data.dtype))
    metadata: dict = {"axes": imagej_axes(axes)}
    # ImageJ's own metadata would drop the axes of length 1, and write a lone channel axis as it writes unnamed planes
    # (which a z spacing makes a z-stack, :func:`.channels.channel_reading`)
    if imagej_letters(axes) and (1 in data.shape[:-2] or axes == "CYX"):
        metadata["Properties"] = {AXES_PROPERTY: f"{axes} {','.join(map(str, data.shape))}"}
    if frame_interval is not None and "T" in metadata["axes"]:
        metadata["finterval"] = frame_interval
    if origin is not None:
        metadata["yorigin"], metadata["xorigin"] = origin
    if z_origin is not None:
        metadata["zorigin"] = z_origin
    if pixel_size is not None:
        metadata["unit"] = "um"
    if z_spacing is not None:
        metadata["spacing"] = z_spacing
    elif z_unknown and pixel_size is not None and "Z" in metadata["axes"]:
        metadata["zunit"] = "pixel"
    if info:
        metadata["Info"] = info
    channels = data.shape[axes.index("C")] if "C" in axes else 1
    fits = {"LUTs": channels, "Ranges": 2 * channels}  # per channel: a LUT, and a (low, high) pair
    metadata.update({key: value for key, value in (display or {}).items()
                     if key not in fits or len(value) == fits[key]})
    if len(channel_names) == channels:  # ImageJ's planes go channel fastest (T, Z, C)
        planes = int(np.prod(data.shape[:-2], dtype=np.int64))
        metadata["Labels"] = [channel_names[plane % channels] for plane in range(planes)]
    resolution = (1.0 / pixel_size[1], 1.0 / pixel_size[0]) if pixel_size is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=staged_prefix(path), suffix=STAGED_SUFFIX, dir=path.parent)
    os.close(handle)
    try:
        tifffile.imwrite(temporary, iter_planes(data), shape=data.shape, dtype=data.dtype, imagej=True,
                         resolution=resolution, metadata=metadata, software=SOFTWARE)
        with open(temporary, "rb+") as written:  # on the disk before its rename: a crash or a power cut after it
            os.fsync(written.fileno())  # must not leave an empty file under the output's name
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp made it private; give it the usual permissions
    except BaseException:
        os.remove(temporary)
        raise
    return Path(temporary)


#: characters tempfile.mkstemp puts between a staged file's prefix and its suffix
STAGED_RANDOM_CHARACTERS = 8


def staged_prefix(path: Path) -> str:
    """The start of the name of the file ``path`` is staged in (:func:`stage_imagej_tiff`): the output's name, cut
    where it is long, tells whose the temporary file is, within the 255-byte name limit."""
    hint = path.stem
    while len(os.fsencode(hint)) > TEMPORARY_HINT_BYTES:
        hint = hint[:-1]
    return f".{hint}."


def staged_name_bytes(path: Path) -> int:
    """The length in bytes of the name of the file ``path`` is staged in."""
    return len(os.fsencode(staged_prefix(path))) + STAGED_RANDOM_CHARACTERS + len(STAGED_SUFFIX)


def written_layout(imagej: dict) -> str | None:
    """The axes and shape this package wrote an ImageJ file with (:data:`AXES_PROPERTY`, "ZCYX 1,3,64,64"); None
    where it does not give them."""
    properties = imagej.get("Properties")
    layout = properties.get(AXES_PROPERTY) if isinstance(properties, dict) else None
    return layout if isinstance(layout, str) else None
