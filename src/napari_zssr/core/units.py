"""Pixel sizes as plain numbers: where one stops being a microscope's sampling (a unit mix-up or junk), the
one-number-or-pair form the library takes, and sizes and times tidied of float noise.

A module of its own, without torch, so that the file readers and writers (napari's file opener) stay light.
"""

import math
from numbers import Integral, Real
from typing import Any

#: refractive indices of the usual immersion media, for fronts that offer a choice by name and files that name one
IMMERSION_INDICES = {"air": 1.0, "water": 1.333, "glycerol": 1.47, "silicone": 1.406, "oil": 1.518}
#: pixel sizes (um) a microscope's sampling can have, 0.1 pm to 10 cm: beyond them a value is in another unit or junk
PLAUSIBLE_PIXEL_UM = (1e-7, 1e5)
#: a pixel size typed this many times the image's own is more likely typed in nanometres than a new calibration
UNIT_SLIP_RATIO = 100
#: what a front adds where a typed pixel size is that far above the image's own
UNIT_SLIP_HINT = "100 or more times the image's own: the pixel size is in micrometres (65 nm is 0.065)"


def unit_slip(typed: Any, own: Any) -> bool:
    """Whether a pixel size ``typed`` (one number or a (y, x) pair, um) over an image's ``own`` is
    :data:`UNIT_SLIP_RATIO` or more times it on a side: a size in nm typed where um are asked."""
    def pair(size: Any) -> tuple[float, float]:
        return (float(size), float(size)) if isinstance(size, Real) else (float(size[0]), float(size[1]))
    return any(t >= UNIT_SLIP_RATIO * o for t, o in zip(pair(typed), pair(own)))


def airy_unit_um(na: float, wavelength: float) -> float:
    """One Airy unit in the sample plane, um: the Airy disk's diameter to its first zero, 1.22 lambda / NA
    (``wavelength``: emission, nm), the unit confocal pinholes are set in."""
    return 1.22 * wavelength * 1e-3 / na


def tidy(value: float) -> float:
    """``value`` to 12 significant digits: a pixel size of 0.1, not 0.09999999999999999, for 0.3 / 3, where the
    digits beyond say nothing of any microscope and would show in napari and in the files written."""
    return float(f"{value:.12g}")


def is_whole_number(value: object) -> bool:
    """An integer (numpy's too), not a bool, which Python counts as one (True would pass for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def shown_sizes(sizes: Any) -> str:
    """A (y, x) pair of sizes as messages show it: one number where they agree ("0.1"), else "0.1 x 0.2"."""
    return " x ".join(dict.fromkeys(f"{size:g}" for size in sizes))


def shown_bytes(count: float) -> str:
    """A size in bytes as messages show it, in the largest binary unit it fills: "512 bytes", "2.9 KiB", "7.5 GiB"."""
    if count < 1024:
        return f"{int(count)} bytes"
    units = ("KiB", "MiB", "GiB")
    power = min(int(math.log(count, 1024)), len(units))  # 1: KiB ... beyond GiB, still GiB
    return f"{count / 1024**power:.1f} {units[power - 1]}"


def number_meant(value: object) -> object:
    """A numpy float32 or float16 number as the decimal it was typed as (0.13, not 0.12999999523), as numpy prints it;
    any other value as it is. numpy is imported only for such a number (it is then loaded): this module, which the
    settings and the command line's help load, stays without it."""
    if type(value).__module__ == "numpy" and type(value).__name__ in ("float16", "float32"):
        import numpy as np

        return float(np.format_float_positional(value, unique=True))
    return value


def compact_pixel_size(y: float, x: float) -> float | tuple[float, float]:
    """One number for square pixels, the (y, x) pair for unequal sides: the form ``pixel_size`` arguments take."""
    return float(y) if y == x else (float(y), float(x))


def is_unit_of(unit: Any, dimension: str) -> bool:
    """Whether ``unit`` of a napari layer (a pint unit) measures ``dimension`` ("[length]", "[time]"); anything
    without a dimensionality, such as napari's default "pixel", measures none."""
    return dimension in dict(getattr(unit, "dimensionality", {}))


def has_length_units(units: Any) -> bool:
    """Whether a layer's y and x units (the last two of ``units``) are lengths, not napari's default "pixel": then a
    scale of 1 is 1 of them, not "unknown"."""
    return units is not None and len(units) >= 2 and all(is_unit_of(unit, "[length]") for unit in units[-2:])


def measures_no_length(unit: Any) -> bool:
    """Whether ``unit`` of a napari layer measures something that no pixel size can be (seconds on the y axis of a
    kymograph): neither a length nor napari's default "pixel" (a printing unit) nor a bare number."""
    dimensions = set(dict(getattr(unit, "dimensionality", {})))
    return bool(dimensions - {"[length]", "[printing_unit]"})


def um_per_unit(unit: Any) -> float:
    """Micrometres in one ``unit`` of a napari layer (a pint unit; anything without a dimensionality counts as um):
    1 for a unit that is not a length, such as napari's default "pixel"."""
    if not is_unit_of(unit, "[length]"):
        return 1.0
    return float((1 * unit).to("micrometer").magnitude)
