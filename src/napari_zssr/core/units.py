"""Plausible physical sizes: where a number stops being a microscope's sampling and becomes a unit mix-up or junk.

A module of its own, without torch, so that the TIFF reader (napari's file opener) stays light.
"""

#: pixel sizes (um) a microscope's sampling can have, 0.1 pm to 10 cm: beyond them a value is in another unit or junk
PLAUSIBLE_PIXEL_UM = (1e-7, 1e5)
