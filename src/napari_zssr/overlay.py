"""Where super-resolved pixels sit: the outer pixel edges of input and output coincide (ZSSR.md, DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence


def effective_factors(in_shape: Sequence[int], out_shape: Sequence[int]) -> tuple[float, float]:
    """Effective (y, x) factor ``out / in`` of the last two axes (= the scale when ``in * scale`` is an integer)."""
    return out_shape[-2] / in_shape[-2], out_shape[-1] / in_shape[-1]


def overlay_scale_translate(scale: Sequence[float], translate: Sequence[float],
                            factors: tuple[float, float]) -> tuple[list[float], list[float]]:
    """napari ``scale``/``translate`` of the output layer: ``scale / r`` and ``translate + scale (1/r - 1) / 2``.

    napari puts pixel centres at integer data coordinates, so this keeps the outer edges in place. Leading axes
    keep their scale and translate.
    """
    new_scale, new_translate = list(map(float, scale)), list(map(float, translate))
    for axis, r in zip((-2, -1), factors):
        new_translate[axis] = translate[axis] + scale[axis] * (1 / r - 1) / 2
        new_scale[axis] = scale[axis] / r
    return new_scale, new_translate


def imagej_origin(origin: tuple[float, float], factors: tuple[float, float]) -> tuple[float, float]:
    """ImageJ (y, x) origin, in output pixels, of the same geometry: ``r * origin + (r - 1) / 2``."""
    return tuple(r * o + (r - 1) / 2 for o, r in zip(origin, factors))  # type: ignore[return-value]
