"""Fourier spectra of image planes without edge artefacts, and the choice of planes a stack is analysed by.

Both the blind kernel estimate and the resolution estimate read the image's spectrum. The FFT treats an image as
periodic, so the jump between opposite borders adds a bright cross of power falling as 1/k^2 that would read as
structure; the periodic component of Moisan's periodic + smooth decomposition ("Periodic plus smooth image
decomposition", J. Math. Imaging Vis. 2011) has no such jump and keeps every pixel of the image.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral
from typing import Any, TypeVar

import numpy as np
import torch
from scipy import ndimage

from .trainer import Cancelled, StopHook, check_hooks
from .values import (
    IMAGE_NAN_HINT,
    from_torch,
    refuse_file_name,
    refuse_masked,
    refuse_non_finite,
    refuse_non_real,
    refuse_unresolvable_integers,
)

#: planes of an N-D stack that the estimates combine (evenly spaced; more cost time and add little)
MAX_PLANES = 8
#: a pixel that stands out from the median of its 3 x 3 neighbourhood by more than this many times the plane's bulk
#: range (its 1-99 percentiles, which up to 1 % of such pixels leave as they are) stands out alone: a camera defect (a
#: hot pixel, a cosmic ray), or a point source narrower than a pixel
LONE_OUTLIER_RANGES = 1.0

Analysis = TypeVar("Analysis")


def periodic_spectrum(plane: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """FFT (unshifted, ``fft2`` layout) of the periodic component of ``plane`` (2D, real): a numpy array gives a numpy
    array (float64), a tensor a tensor on its own device, in its precision (a GPU's run reads its noise there)."""
    if not isinstance(plane, torch.Tensor):
        return periodic_spectrum(torch.from_numpy(np.asarray(plane, dtype=np.float64))).numpy()
    u = plane
    rows, cols = u.shape
    boundary = torch.zeros_like(u)
    boundary[0, :] += u[-1, :] - u[0, :]
    boundary[-1, :] += u[0, :] - u[-1, :]
    boundary[:, 0] += u[:, -1] - u[:, 0]
    boundary[:, -1] += u[:, 0] - u[:, -1]
    q = torch.cos(2 * torch.pi * torch.arange(rows, device=u.device, dtype=u.dtype) / rows)[:, None]
    r = torch.cos(2 * torch.pi * torch.arange(cols, device=u.device, dtype=u.dtype) / cols)[None, :]
    denominator = 2 * q + 2 * r - 4
    denominator[0, 0] = 1.0
    smooth = torch.fft.fft2(boundary) / denominator
    smooth[0, 0] = 0.0
    return torch.fft.fft2(u) - smooth


class NoStructureError(ValueError):
    """The image holds nothing a blur or a resolution can be read from: it is constant, or pure noise.

    ``reason`` says which; ``advice``, where given, what to do instead (the message is both).
    """

    def __init__(self, reason: str, advice: str | None = None) -> None:
        super().__init__(reason if advice is None else f"{reason}; {advice}")
        self.reason = reason


def analysis_planes(image: Any, min_side: int = 16, should_stop: StopHook | None = None) -> list[np.ndarray]:
    """Up to :data:`MAX_PLANES` non-constant YX planes, evenly spaced, of a 2D or N-D image (float64, largest
    magnitude 1).

    Only the planes analysed (and, for a constant one among them, the planes searched for the nearest non-constant
    one) are read: a lazily opened stack (dask, zarr, a memmap) can be far larger than memory. Raises a ValueError
    naming the problem, before any plane is read, when the image is not at least 2D or its planes are under
    ``min_side`` pixels a side; and when it holds NaN or infinite values in a plane read, or has no plane with any
    variation. ``should_stop`` is asked before each plane is read: a mostly blank lazy stack may be searched through
    to its ends, plane by plane, and a run's Cancel answers meanwhile (:class:`~.trainer.Cancelled`).
    """
    check_hooks(None, should_stop)
    array = _indexable(image)
    check_layout(array, min_side)
    leading = tuple(array.shape[:-2])
    count = int(np.prod(leading, dtype=np.int64))
    planes: dict[int, np.ndarray | None] = {}  # plane number (C order) -> plane, None when constant
    for number in np.unique(np.round(np.linspace(0, count - 1, min(MAX_PLANES, count))).astype(int)):
        planes[int(number)] = _read_plane(array, leading, int(number), should_stop)
    for number in [n for n, plane in planes.items() if plane is None]:
        _add_nearest_varying(planes, number, array, leading, count, should_stop)
    varying = [plane.astype(np.float64) for n in sorted(planes) if (plane := planes[n]) is not None]
    if not varying:
        raise NoStructureError("the image is constant: it holds no structure to estimate a blur or a resolution "
                               "from")
    # each plane scaled to a largest magnitude of 1: the analysis is scale-free, and float64 powers of data near
    # 1e50 or 1e-50 would overflow or underflow
    return [plane / np.abs(plane).max() for plane in varying]


def with_lone_outliers_retried(analyse: Callable[[list[np.ndarray]], Analysis],
                               planes: list[np.ndarray]) -> tuple[Analysis, int]:
    """``analyse(planes)``, and where it finds no structure (:class:`NoStructureError`), ``analyse`` of the planes
    with every pixel that stands out alone replaced by the median around it (:data:`LONE_OUTLIER_RANGES`); with how
    many were.

    One saturated hot pixel spreads its power evenly over every frequency, where it reads as a noise floor that
    drowns the image's structure (a 128 x 128 plane then looked like pure noise to both estimates). A point source
    narrower than a pixel looks the same, and is signal: so the pixels are left as recorded unless the analysis
    fails with them. Raises the first error where no pixel stands out alone, else the second analysis's.
    """
    try:
        return analyse(planes), 0
    except NoStructureError:
        cleaned, replaced = [], 0
        for plane in planes:
            low, high = np.percentile(plane, (1, 99))
            local = ndimage.median_filter(plane, size=3, mode="reflect")
            lone = np.abs(plane - local) > LONE_OUTLIER_RANGES * (high - low)
            replaced += int(np.count_nonzero(lone))
            plane = np.where(lone, local, plane)
            if np.ptp(plane) > 0:  # a constant plane but for its defects has nothing left to read
                cleaned.append(plane / np.abs(plane).max())
        if not replaced or not cleaned:
            raise
    return analyse(cleaned), replaced


def _indexable(image: Any) -> Any:
    """``image`` itself when it can be read plane by plane (numpy, dask, zarr: a shape and a numpy dtype), else as a
    numpy array (lists, tensors)."""
    refuse_file_name(image, "the image", "read it first (e.g. tifffile.imread)")
    image = from_torch(image)
    return image if isinstance(getattr(image, "dtype", None), np.dtype) and hasattr(image, "shape") \
        else np.asarray(image)


def known_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as whole numbers, or a ValueError for sizes not known yet (NaN: a dask array filtered by its own
    values) before any work would fail on them."""
    if any(not isinstance(side, Integral) for side in shape):
        raise ValueError(f"the image's shape {tuple(shape)} has sizes that are not known yet; for a dask array call "
                         ".compute_chunk_sizes() first")
    return tuple(int(side) for side in shape)


def channels_hint(shape: tuple[int, ...], reader: str) -> str:
    """The end of an error on an image whose shape is refused, where its last axis of 2-4 looks like colour channels
    (an RGB(A) picture, two channels last), which ``reader`` ("ZSSR", "the estimate") would take for planes of 3 or
    4 pixels; "" for any other shape."""
    if len(shape) >= 3 and shape[-1] in (3, 4):
        return f"; an RGB(A) image? {reader} takes one channel: pass image[..., c] or a grey conversion"
    if len(shape) >= 3 and shape[-1] == 2:
        return (f"; its last axis of {shape[-1]} looks like channels: {reader} takes planes (..., Y, X), one channel "
                "at a time: pass image[..., c] (in napari, add the array with channel_axis=-1)")
    return ""


def check_layout(array: Any, min_side: int) -> None:
    """Raise a clear error for a dtype or shape no spectrum can be read from, before any plane is read."""
    known_shape(array.shape)
    refuse_non_real(array.dtype, "the image")
    if len(array.shape) < 2:
        raise ValueError(f"the image must have at least 2 dimensions (..., Y, X), got shape {tuple(array.shape)}")
    if 0 in array.shape:  # no plane at all, or planes of no pixels: not a constant image
        raise ValueError(f"the image is empty (shape {tuple(array.shape)})")
    if min(array.shape[-2:]) < min_side:
        rows, cols = array.shape[-2:]
        raise ValueError(f"the image's planes ({rows} x {cols} pixels) are too small for this estimate; "
                         f"they need at least {min_side} x {min_side} pixels"
                         f"{channels_hint(tuple(array.shape), 'the estimate')}")


def _read_plane(array: Any, leading: tuple[int, ...], number: int,
                should_stop: StopHook | None) -> np.ndarray | None:
    """Plane ``number`` (counted in C order over the leading axes) read into memory, or None when it is constant.

    Only this plane is indexed before ``np.asarray``, so a lazy array loads no other. NaN/inf are refused here: they
    would make the constancy test and every spectrum meaningless. A stop asked for (``should_stop``) raises
    :class:`~.trainer.Cancelled` before the plane is read.
    """
    if should_stop is not None and should_stop():
        raise Cancelled
    plane = array[np.unravel_index(number, leading)]
    refuse_masked(plane, "the image", "image.filled(value)")
    plane = np.asarray(plane)
    refuse_non_finite(plane, "the image", IMAGE_NAN_HINT)
    refuse_unresolvable_integers(plane, "the image")
    return plane if plane.max() > plane.min() else None  # ptp overflows near 3e38


def _add_nearest_varying(planes: dict[int, np.ndarray | None], number: int, array: Any, leading: tuple[int, ...],
                         count: int, should_stop: StopHook | None) -> None:
    """Add to ``planes`` the non-constant plane nearest to the constant plane ``number`` that is not in it yet.

    A blank plane among the evenly spaced ones (padding at a stack's end, a dropped frame) is replaced by a
    neighbour, so a stack with enough structure is still analysed by ``max_planes`` planes; planes are read one at a
    time, outwards, until one varies or all have been read.
    """
    for offset in range(1, count):
        for neighbour in (number - offset, number + offset):
            if 0 <= neighbour < count and neighbour not in planes:
                planes[neighbour] = _read_plane(array, leading, neighbour, should_stop)
                if planes[neighbour] is not None:
                    return
