"""Which axis of a 3D PSF array holds its planes: the one rule the PSF file readers and ``kernel_from_psf`` share.

Standard library only, so that the file readers (napari's file opener) load neither torch nor scipy for it.
"""

from __future__ import annotations

from collections.abc import Sequence


def planes_last_likely(shape: Sequence[int]) -> bool:
    """Whether a 3D PSF array of ``shape`` more likely holds its planes on its last axis (Y, X, Z) than its first: a
    bead's planes are square crops, so first two sides equal and a third that differs are a z-stack in MATLAB's order
    or stacked on its last axis, whose planes read first would be rows of the bead."""
    return len(shape) == 3 and shape[0] == shape[1] != shape[2]
