"""A channel's colours between napari and ImageJ: a layer's colormap as an ImageJ lookup table (LUT) and back, so
that a file saved in Fiji with green and magenta channels opens in napari so, and a layer saved here opens in Fiji
in its napari colours.

napari's colormaps are imported on first use: the reader and the writer load without napari (its plugin discovery
imports them; ``run()`` in a plain console reads the reader's constants without napari installed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io.channels import LUT_ENTRIES

#: napari colormaps that are a ramp from black to one colour, by name: a LUT equal to one opens under its name
RAMPS = ("gray", "red", "green", "blue", "cyan", "magenta", "yellow")


def lut_of(colormap: Any) -> np.ndarray | None:
    """The ImageJ LUT (3 x 256, uint8) of a layer's colormap (a napari ``Colormap``, its name, or the dict a layer's
    data tuple holds); None for grey, which ImageJ shows without one."""
    from napari.utils.colormaps import Colormap, ensure_colormap

    lut = _lut(Colormap(**colormap) if isinstance(colormap, dict) else ensure_colormap(colormap))
    return None if np.array_equal(lut, _lut(ensure_colormap("gray"))) else lut


def colormap_of(lut: Any, name: str) -> Any:
    """The napari colormap of an ImageJ LUT (3 x 256 values): a ramp's name where it is one ("green"), else a
    ``Colormap`` named ``name`` (the layer's, so that two files' LUTs do not take each other's place)."""
    from napari.utils.colormaps import Colormap, ensure_colormap

    lut = np.asarray(lut)
    for ramp in RAMPS:
        if np.array_equal(lut, _lut(ensure_colormap(ramp))):
            return ramp
    colours = np.concatenate([lut.T.astype(np.float32) / 255.0, np.ones((lut.shape[1], 1), np.float32)], axis=1)
    return Colormap(colors=colours, name=name)


def is_lut(value: Any) -> bool:
    """Whether ``value`` is one ImageJ LUT: 3 rows of 256 bytes."""
    return isinstance(value, np.ndarray) and value.shape == (3, LUT_ENTRIES)


def _lut(colormap: Any) -> np.ndarray:
    return np.round(colormap.map(np.linspace(0.0, 1.0, LUT_ENTRIES))[:, :3] * 255).astype(np.uint8).T
