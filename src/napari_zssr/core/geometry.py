"""The eight dihedral transforms (4 rotations x mirror) on numpy arrays and torch tensors (last two axes)."""

from __future__ import annotations

import numpy as np
import torch

#: (quarter turns, mirror) for each transform; index 0 is the identity.
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((r, m) for m in (False, True) for r in range(4))
#: the order in which the self-ensemble takes transforms: identity, a diagonal mirror, 180 degrees, the other
#: diagonal mirror, then the rest; the first 2 and the first 4 are each a group, so a smaller ensemble stays balanced
ENSEMBLE_ORDER = (0, 5, 2, 7, 1, 4, 3, 6)


def scale_symmetries(scale: tuple[float, float]) -> list[int]:
    """Indices into :data:`DIHEDRAL` of the transforms that keep a (s_y, s_x) scale: all eight when s_y == s_x,
    else the axis-keeping ones (identity, flips, 180 degrees).

    These are the training pairs' augmentations: a son is made after its father's transform, with the run's own
    kernel, so any such transform gives a pair consistent with the kernel, whatever the kernel's own symmetry.
    """
    if scale[0] == scale[1]:
        return list(range(len(DIHEDRAL)))
    return [i for i, (rotations, _) in enumerate(DIHEDRAL) if rotations % 2 == 0]


def ensemble_transforms(allowed: list[int], size: int) -> list[int]:
    """The first ``size`` of the ``allowed`` transforms in :data:`ENSEMBLE_ORDER`."""
    return [index for index in ENSEMBLE_ORDER if index in allowed][:size]


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
