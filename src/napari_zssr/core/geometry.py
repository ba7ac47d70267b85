"""The eight dihedral transforms (4 rotations x mirror) on numpy arrays and torch tensors (last two axes)."""

from __future__ import annotations

import numpy as np
import torch

#: (quarter turns, mirror) for each transform; index 0 is the identity.
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((r, m) for m in (False, True) for r in range(4))


def transform_array(x: np.ndarray, index: int) -> np.ndarray:
    rotations, mirror = DIHEDRAL[index]
    x = np.rot90(x, rotations, axes=(-2, -1))
    return x[..., ::-1] if mirror else x


def transform(x: torch.Tensor, index: int) -> torch.Tensor:
    """Apply dihedral transform ``index`` to the last two axes."""
    rotations, mirror = DIHEDRAL[index]
    x = torch.rot90(x, rotations, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if mirror else x


def untransform(x: torch.Tensor, index: int) -> torch.Tensor:
    """Inverse of :func:`transform`."""
    rotations, mirror = DIHEDRAL[index]
    if mirror:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -rotations, dims=(-2, -1))
