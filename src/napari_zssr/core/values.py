"""Refusals of values that cannot be read as intensities or weights: masked pixels and NaN or infinity.

One wording for the image, its planes, a PSF and a kernel. Both are refused rather than repaired: a masked pixel
would be read as whatever lies under the mask, and any fill value (or NaN in a sum) is a choice only the user can
make for their data.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

#: the percentiles of a plane's values that set the intensity range a run normalises it to (robust to a few outliers)
NORMALISATION_PERCENTILES = (0.1, 99.9)
#: how to replace NaN or infinity in an image, in Python and in Fiji
IMAGE_NAN_HINT = "; replace them first (np.nan_to_num; in Fiji, Process > Math > Remove NaNs)"


def from_torch(value: Any) -> Any:
    """A torch tensor (an image, a kernel, a PSF) as a numpy array on the CPU, of its type, or as float32, which holds
    them exactly, for the float types numpy has none for (bfloat16, the float8 kinds); any other value as it is."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in (torch.float16, torch.float32, torch.float64):
            value = value.float()
        elif value.dtype == torch.complex32:  # numpy has no complex of two float16s either
            value = value.to(torch.complex64)
        value = value.numpy()
    return value


def refuse_file_name(value: Any, what: str, read_with: str) -> None:
    """A TypeError where ``value`` is a file's name, not its values (which numpy would take as an array of one
    string), saying how to read it: ``read_with``."""
    if isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{what} is a file name ({os.fsdecode(value)!r}), not an array: {read_with}")


#: the fewest float64 levels a 64-bit integer image's values may fall into: fewer, its detail is lost in conversion
MIN_FLOAT_LEVELS = 4096


def normalisation_range(values: np.ndarray) -> tuple[float, float]:
    """The intensity range a plane of ``values`` is normalised to: its :data:`NORMALISATION_PERCENTILES`, or its
    extremes where those coincide (a plane nearly all of one value)."""
    low, high = (float(value) for value in np.percentile(values, NORMALISATION_PERCENTILES))
    if high <= low:
        low, high = float(np.min(values)), float(np.max(values))
    return low, high


def refuse_unresolvable_integers(values: np.ndarray, what: str) -> None:
    """A ValueError where 64-bit integers, beyond 2**53 where float64 (in which every computation and the outputs
    go) holds only every other integer or fewer, spread over fewer than :data:`MIN_FLOAT_LEVELS` of its values
    (2**63 + 0..999 becomes two values): they would read as constant, or as a few levels, with no word."""
    if values.dtype.kind not in "iu" or values.dtype.itemsize < 8 or values.size == 0:
        return
    lowest, highest = int(values.min()), int(values.max())
    largest = max(abs(lowest), abs(highest))
    if largest <= 2**53 or lowest == highest:  # every integer held; a constant plane is passed through as it is
        return
    # the spread a plane's normalisation takes (NORMALISATION_PERCENTILES as fractions, written out: 99.9 / 100 is a
    # hair above 0.999 in floating point; exact in the integers): one outlier beside 2**63 + 0..999 must not let the
    # rest through
    flat = np.ravel(values)
    ends = (int(0.001 * (flat.size - 1)), int(np.ceil(0.999 * (flat.size - 1))))
    low, high = (int(value) for value in np.partition(flat, ends)[list(ends)])
    if high <= low:  # as the normalisation then takes the extremes
        low, high = lowest, highest
    step = float(np.spacing(float(largest)))
    if high - low < MIN_FLOAT_LEVELS * step:
        raise ValueError(f"{what}'s values ({low} to {high}) differ by less than float64, in which they are "
                         f"computed, tells apart at their size (steps of {step:g}); subtract their offset first, e.g. "
                         f"{'image' if 'image' in what else 'values'} - {low}")


def refuse_masked(array: Any, what: str, fill: str) -> None:
    """A ValueError naming ``what`` where ``array`` is a masked array with pixels masked; ``fill``: how to fill
    them (a masked array with nothing masked is read as its data)."""
    if np.ma.is_masked(array):
        raise ValueError(f"{what} has masked pixels, which would be read as ordinary values; fill them first (e.g. "
                         f"{fill})")


def refuse_non_finite(array: np.ndarray, what: str, hint: str = "") -> None:
    """A ValueError naming ``what`` where the numpy array ``array`` holds NaN or infinity (integers never do)."""
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values{hint}")


def refuse_non_real(dtype: Any, what: str) -> None:
    """A TypeError naming ``what`` for a type that holds no real numbers (booleans, complex, text, objects)."""
    dtype = np.dtype(dtype)
    # timedelta64 is not a number of intensity, though numpy files it under the integers
    if dtype.kind in "bm" or np.issubdtype(dtype, np.complexfloating) or not np.issubdtype(dtype, np.number):
        raise TypeError(f"{what} must be a real-valued numeric array, got dtype {dtype}")


def real_values(values: Any, what: str, fill: str) -> np.ndarray:
    """``values`` (a PSF, a kernel, a profile) as a float64 array, or a clear error naming ``what``: masked pixels
    (``fill`` says how to fill them), a type without real numbers, NaN or infinity."""
    refuse_file_name(values, what, "read it first (e.g. tifffile.imread or numpy.load)")
    values = from_torch(values)
    refuse_masked(values, what, fill)
    try:
        array = np.asarray(values)
    except ValueError:  # numpy's "inhomogeneous shape after 1 dimensions" does not say what was given
        raise ValueError(f"{what} must be a rectangular array of numbers, got rows of different lengths (a ragged "
                         "list)") from None
    refuse_non_real(array.dtype, what)
    refuse_unresolvable_integers(array, what)
    array = array.astype(np.float64)
    refuse_non_finite(array, what)
    return array
