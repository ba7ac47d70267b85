"""Training pairs cut from the input itself: HR fathers and their degraded LR sons, all on the net's device."""

from __future__ import annotations

import math

import numpy as np
import torch

from .degradation import Degradation, is_whole
from .geometry import transform
from .resize import resize


def crop_side(length: int, crop_size: int, factor: float) -> int:
    """Largest crop side <= ``crop_size`` that fits in ``length`` and, for an integer factor, is a multiple of it."""
    side = min(length, crop_size)
    if is_whole((factor,)):
        side -= side % int(round(factor))
    return side


def father_shapes(shape: tuple[int, int], min_scale: float, levels: int, min_side: int) -> list[tuple[int, int]]:
    """The (height, width) of the fathers of a plane of ``shape``: the plane and ``levels`` - 1 copies evenly
    downscaled to ``min_scale``, those with a side under ``min_side`` left out."""
    scales = np.linspace(1.0, min_scale, max(levels, 1))
    shapes = [(round(shape[0] * scale), round(shape[1] * scale)) for scale in scales]
    return [father for father in shapes if min(father) >= min_side]


class FatherPool:
    """HR fathers: the input and downscaled copies of it (plus earlier outputs in gradual mode).

    A father is drawn with probability proportional to its area: copies closer to the input are more trusted.
    """

    def __init__(self, image: torch.Tensor, min_scale: float, levels: int, min_side: int) -> None:
        shapes = father_shapes(tuple(image.shape[-2:]), min_scale, levels, min_side)
        # the first is the plane itself (where it is left out, so are its smaller copies)
        self.fathers: list[torch.Tensor] = [image if number == 0 else resize(image, shape)
                                            for number, shape in enumerate(shapes)]

    def add(self, father: torch.Tensor) -> None:
        self.fathers.append(father)

    def probabilities(self) -> np.ndarray:
        areas = np.array([f.shape[-2] * f.shape[-1] for f in self.fathers], dtype=np.float64)
        return areas / areas.sum()


class PairSampler:
    """Draws (interpolated son, father) pairs: random father, random crop, random allowed transform, noisy son."""

    def __init__(self, pool: FatherPool, degradation: Degradation, transforms: list[int], noise_std: float,
                 seed: int, device: torch.device) -> None:
        self.pool = pool
        self.degradation = degradation
        self.transforms = transforms
        self.noise_std = noise_std
        self.rng = np.random.default_rng(seed)
        self.noise_generator = torch.Generator(device=device).manual_seed(seed)

    def sample(self, crop_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One training pair (the son interpolated back to the crop's size, the crop): a father drawn in proportion
        to its area, a random crop of it (narrower where the father is), a random transform that keeps the scale,
        then its son under the run's degradation and noise."""
        probabilities = self.pool.probabilities()
        father = self.pool.fathers[self.rng.choice(len(probabilities), p=probabilities)]
        height, width = father.shape[-2:]
        crop_h = crop_side(height, crop_size, self.degradation.scale[0])
        crop_w = crop_side(width, crop_size, self.degradation.scale[1])
        top = int(self.rng.integers(0, height - crop_h + 1))
        left = int(self.rng.integers(0, width - crop_w + 1))
        crop = father[..., top : top + crop_h, left : left + crop_w]
        # The son is made after the transform, so every pair is consistent with the kernel.
        crop = transform(crop, int(self.rng.choice(self.transforms)))
        son = self.degradation.downscale(crop)
        if self.noise_std > 0:
            noise = torch.randn(son.shape, generator=self.noise_generator, device=son.device, dtype=son.dtype)
            son = son + self.noise_std * noise
        return self.degradation.upscale(son, tuple(crop.shape[-2:])), crop


def min_father_side(scale: tuple[float, float]) -> int:
    """Smallest side a father may have: its son must keep at least 4 pixels per axis."""
    return max(8, math.ceil(4 * max(scale)))
