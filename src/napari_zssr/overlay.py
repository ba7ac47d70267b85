"""Where super-resolved pixels sit: the outer pixel edges of input and output coincide, in napari and in TIFFs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .core.units import tidy


def effective_factors(in_shape: Sequence[int], out_shape: Sequence[int]) -> tuple[float, float]:
    """Effective (y, x) factor ``out / in`` of the last two axes (= the scale when ``in * scale`` is an integer)."""
    return out_shape[-2] / in_shape[-2], out_shape[-1] / in_shape[-1]


def overlay_scale_translate(scale: Sequence[float], translate: Sequence[float], factors: Sequence[float],
                            linear: np.ndarray | None = None) -> tuple[list[float], list[float]]:
    """napari ``scale``/``translate`` of the output layer: ``scale / r`` and ``translate + scale (1/r - 1) / 2``.

    ``factors`` are those of the trailing axes: (y, x) for lateral super-resolution, (z, y, x) for axial.
    napari puts pixel centres at integer data coordinates, so this keeps the outer edges in place. Leading axes
    keep their scale and translate. ``linear`` is the layer's rotate/shear matrix: the offset turns with it.
    Values are tidied (0.1, not 0.09999999999999999, for 0.3 / 3): napari shows them as they are.
    """
    offset = np.zeros(len(scale))
    new_scale = [float(s) for s in scale]
    for axis, r in zip(range(-len(factors), 0), factors):
        offset[axis] = scale[axis] * (1 / r - 1) / 2
        new_scale[axis] = scale[axis] / r
    if linear is not None:
        offset = np.asarray(linear) @ offset
    return [tidy(s) for s in new_scale], [tidy(t + o) for t, o in zip(translate, offset)]


def imagej_origin(origin: tuple[float, ...], factors: tuple[float, ...]) -> tuple[float, ...]:
    """ImageJ origin, in output pixels, of the same geometry: ``r * origin + (r - 1) / 2`` per axis ((y, x), or z)."""
    return tuple(r * o + (r - 1) / 2 for o, r in zip(origin, factors))
