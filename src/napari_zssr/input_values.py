"""An input image's checks and intensities: its type, shape and values refused with what to do before any work
(lazy data plane by plane as it is read), and each plane's intensity range, which maps it to [0, 1] for a run and
maps the run's outputs back to the input's units."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .core.pairs import min_father_side
from .core.resize import Scale
from .core.spectrum import channels_hint, known_shape
from .core.trainer import Cancelled, StopHook
from .core.values import (
    IMAGE_NAN_HINT,
    from_torch,
    normalisation_range,
    refuse_file_name,
    refuse_masked,
    refuse_non_finite,
    refuse_unresolvable_integers,
)


def validate_image(image: Any, scale: Scale, ndim: int | None = 2) -> Any:
    """Check an array-like's type and shape, and the values of in-memory (numpy) data; raise a clear error if wrong.

    Lazy data (dask, zarr, memory-mapped files) is not loaded here: its planes are checked for masked pixels and
    NaN/inf as they are read (:func:`read_checked`), and for values too far out as each is normalised.
    """
    image = from_torch(image)
    if np.ma.is_masked(image):
        raise ValueError("image is a masked array with masked pixels, which ZSSR would read as ordinary values; "
                         "fill them first (e.g. image.filled(value)) or pass image.data")
    if isinstance(image, (np.ma.MaskedArray, np.matrix)):  # nothing masked: its data; a matrix's rows stay 2D
        image = np.asarray(np.ma.getdata(image))
    try:
        array = image if hasattr(image, "shape") and hasattr(image, "dtype") else np.asarray(image)
    except ValueError as error:  # e.g. nested lists of unequal lengths
        raise ValueError(f"image is not an array of equal-sized rows and planes ({error}); pass a numpy array") \
            from None
    dtype = np.dtype(array.dtype)
    if dtype.kind == "b":
        raise TypeError("image is boolean (a mask?); ZSSR needs intensity data")
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError("image is complex-valued; pass the magnitude (np.abs) or the real part")
    refuse_file_name(image, "image", "read it first (e.g. tifffile.imread), or run the napari-zssr command on the "
                     "file")
    if not np.issubdtype(dtype, np.number) or dtype.kind == "m":  # numpy files timedelta64 under the integers
        raise TypeError(f"image must be numeric, got dtype {dtype}")
    shape = known_shape(array.shape)
    colour_hint = channels_hint(shape, "ZSSR")
    if len(shape) < 2:  # zssr_stack's advice would not help either
        raise ValueError(f"image must have at least 2 dimensions (Y, X), got shape {shape}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"image must be 2D (Y, X), got {len(shape)}D with shape {shape}; use zssr_stack for "
                         f"stacks{colour_hint}")
    if 0 in shape:
        raise ValueError(f"image is empty (shape {shape})")
    check_plane_sides(shape, scale)
    if in_memory(array) and np.issubdtype(dtype, np.floating):
        finite = np.isfinite(array).all(axis=(-2, -1))
        if not finite.all():
            index = tuple(int(i) for i in np.argwhere(~finite)[0])
            check_plane_values(array[index], plane_name(index))
    return array


def check_plane_sides(shape: tuple[int, ...], scale: Scale) -> None:
    """Planes large enough for ``scale`` (ZSSR learns from their downscaled copies): a check of the shape alone, which
    the widget's estimate of a run's time makes as the settings change, so that it says why Run would refuse."""
    needed = min_father_side(scale)
    if min(shape[-2:]) < needed:
        raise ValueError(f"image of shape {shape[-2:]} is too small for scale {scale}: each side needs at least "
                         f"{needed} pixels{channels_hint(shape, 'ZSSR')}")


def in_memory(array: Any) -> bool:
    """Whether ``array`` is numpy data in memory, cheap to check whole; a memory-mapped file (``np.memmap``,
    ``tifffile.memmap``) is read plane by plane as dask data is: a whole-array check would read all of it first."""
    return isinstance(array, np.ndarray) and not isinstance(array, np.memmap)


def plane_name(index: tuple[int, ...], item: str = "plane", whole: str = "the image") -> str:
    """A plane (or another ``item``, e.g. a volume) in messages, by its index (counted from 0, as the array is):
    "the plane at index 3" in a 3D stack, "... at index (1, 2)" in a deeper one, ``whole`` without leading axes."""
    return whole if not index else f"the {item} at index {index[0] if len(index) == 1 else index}"


def check_plane_values(plane: np.ndarray, label: str) -> None:
    """Refuse a plane holding masked, NaN or infinite values (named by ``label``), which would turn the whole output
    to NaN after minutes of training."""
    refuse_masked(plane, label, "dask.array.ma.filled or numpy's .filled(value)")
    refuse_non_finite(np.asarray(plane), label, IMAGE_NAN_HINT)


def constant_input(label: str, value: Any, element: str = "pixel") -> ValueError:
    """The error for an input that is constant as a whole (``label``: a plane, a layer, a volume): nothing to do."""
    return ValueError(f"{label} is constant (every {element} {value}); there is nothing to super-resolve")


def refuse_constant(data: Any, label: str) -> None:
    """A ValueError where every plane of the in-memory ``data`` (a plane, or a stack named ``label``) is constant: a
    run would pass each through as its interpolation, a "result" of nothing but warnings. Lazy data is not read for
    it (a pyramid's full-resolution level may not fit in memory): a run finds its constant planes as it reads them."""
    if not in_memory(data) or not data.size:
        return
    if data.ndim == 2 and data.min() == data.max():
        raise constant_input(label, data.flat[0])
    if data.ndim > 2 and np.all(data.min(axis=(-2, -1)) == data.max(axis=(-2, -1))):
        raise ValueError(f"every plane of {label} is constant; there is nothing to super-resolve (an empty channel "
                         "or a dark acquisition?)")


def loaded(part: Any) -> Any:
    """A part of lazy data (dask) computed, as a numpy array or a masked one: a dask array's masked chunks keep their
    mask only through ``compute()``, where ``np.asarray`` would drop it. Other data is returned as it is."""
    return part.compute() if hasattr(part, "compute") else part


def read_checked(part: Any, label: str) -> np.ndarray:
    """A plane (or volume) of the input as a numpy array, :func:`loaded` and checked by :func:`check_plane_values`."""
    part = loaded(part)
    check_plane_values(part, label)
    return np.asarray(part)


#: the farthest a normalised value may lie from the intensity range, in multiples of it: float32 squares (the
#: residual's RMS) overflow beyond it, and the rest of the image drowns in the rounding of such a value long before
OUTLIER_LIMIT = 1e19


def intensity_range(plane: np.ndarray) -> tuple[float, float]:
    """Robust (0.1, 99.9 percentile) range used to normalise a plane; min/max where that range is degenerate.

    A ValueError where a value lies more than :data:`OUTLIER_LIMIT` times that range from it (a sentinel value, a
    float32's largest value written for "no data"): the float32 computation would overflow on it; and where 64-bit
    integers differ by less than float64 tells apart (:func:`~.core.values.refuse_unresolvable_integers`)."""
    refuse_unresolvable_integers(plane, "the image")
    low, high = normalisation_range(plane)
    lowest, highest = float(plane.min()), float(plane.max())
    if not np.isfinite(high - low):
        raise ValueError(f"the image's values span {low:.3g} to {high:.3g}, a range too wide even for float64; "
                         "rescale the image first")
    # the farther of the extremes beyond the range (the top one on a tie), and how far
    outlier, beyond = max((highest, highest - high), (lowest, low - lowest), key=lambda extreme: extreme[1])
    reach = beyond / (high - low) if high > low else 0.0  # a constant plane has no outlier
    if reach > OUTLIER_LIMIT:
        raise ValueError(f"the image's values reach {outlier:.3g}, about {reach:.1g} times its intensity range "
                         f"({low:.3g} to {high:.3g}, the 0.1 and 99.9 percentiles) beyond it: too far out for the "
                         "float32 computation, which would overflow; clip or remove such outliers (a sentinel or "
                         "'no data' value, a hot pixel) first")
    return low, high


def plane_intensity_range(plane: np.ndarray, index: tuple[int, ...]) -> tuple[float, float]:
    """:func:`intensity_range` of the plane at ``index``, its error naming the plane."""
    try:
        return intensity_range(plane)
    except ValueError as error:
        raise ValueError(f"{plane_name(index)}: {error}" if index else str(error)) from None


def intensity_ranges(array: Any, should_stop: StopHook | None = None) -> list[tuple[float, float]]:
    """Each plane's :func:`plane_intensity_range` where the data is in memory and of a type that can hold a value
    :data:`OUTLIER_LIMIT` times its range away (float32 and wider, 64-bit integers; not uint16, whose 65,536 values
    cannot), before any plane trains, so that such a value in a late plane is refused before the planes ahead of it
    have trained (as NaN is: :func:`validate_image`); [] otherwise: lazy data's planes are checked as they are read,
    the others' ranges worked out as each is run. A stop asked for meanwhile (``should_stop``) raises Cancelled."""
    dtype = np.dtype(array.dtype)
    wide = dtype.itemsize >= 4 if dtype.kind == "f" else dtype.itemsize >= 8
    if not in_memory(array) or not wide:
        return []
    ranges = []
    for index in np.ndindex(*array.shape[:-2]):
        if should_stop is not None and should_stop():
            raise Cancelled
        ranges.append(plane_intensity_range(array[index], index))
    return ranges


def output_dtype(dtype: np.dtype) -> np.dtype:
    """float32, or float64 for input types whose values float32 cannot hold exactly (float64, (u)int32/64; also
    longdouble, which the computation does not go beyond)."""
    promoted = np.promote_types(dtype, np.float32)
    return promoted if promoted.itemsize <= 8 else np.dtype(np.float64)


def normalised(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` (any shape, YX last) mapped so that [low, high] -> [0, 1] (the noise std is a fraction of that), as
    float32 for the net.

    Computed plane by plane in float64, so that float64 data beyond float32's range, or varying below its resolution
    (1e6 + 1e-6 * noise), keeps its detail, and float32 data near float32's largest value (3.4e38) does not
    overflow, at the memory of one float64 plane.
    """
    out = np.empty(np.shape(values), np.float32)
    for index in np.ndindex(out.shape[:-2]):
        out[index] = (np.asarray(values[index], dtype=np.float64) - low) / (high - low)
    return out


def restored(values: np.ndarray | torch.Tensor, low: float, high: float, dtype: np.dtype,
             offset: bool = True) -> np.ndarray:
    """Inverse of :func:`normalised`: ``values * (high - low) + low`` (``offset=False``: without ``+ low``, for
    differences and spreads) as ``dtype``.

    Computed plane by plane in float64 and held to ``dtype``'s finite range: an output that overshoots float32's
    largest value stays finite instead of becoming inf.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().float().cpu().numpy()
    out = np.empty(values.shape, dtype)
    limit = float(np.finfo(dtype).max)
    for index in np.ndindex(out.shape[:-2]):
        plane = values[index].astype(np.float64) * (high - low) + (low if offset else 0.0)
        out[index] = np.clip(plane, -limit, limit)
    return out


def normalised_tensor(plane: np.ndarray, low: float, high: float, device: torch.device) -> torch.Tensor:
    """:func:`normalised` of a 2D ``plane`` as the (1, 1, H, W) tensor a run takes."""
    return torch.as_tensor(normalised(plane, low, high), device=device)[None, None]
