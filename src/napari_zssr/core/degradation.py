"""The HR -> LR degradation being learned: bicubic (MATLAB) or correlation with a given kernel, then sampling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .kernels import centre_kernel, validate_kernel
from .resize import WHOLE_TOLERANCE, Scale, downscale_with_kernel, resize, scaled_shape


def is_whole(scale: Scale) -> bool:
    """Whether every factor of ``scale`` is a whole number (to rounding): what sampling a kernel needs."""
    return all(abs(s - round(s)) <= WHOLE_TOLERANCE for s in scale)


def integer_factors(scale: Scale) -> tuple[int, int]:
    """The integer factors of ``scale``, or a clear error: a kernel can only be sampled with a whole stride."""
    if not is_whole(scale):
        raise ValueError(f"a blur kernel needs an integer scale factor, got {scale}; use 2, 3, 4, ... or no kernel "
                         "(bicubic), which allows any factor")
    return int(round(scale[0])), int(round(scale[1]))


#: The blur kernel of each scale: ``scale -> kernel`` on that scale's HR grid (e.g. a PSF resampled for it).
KernelSource = Callable[[Scale], np.ndarray]


def step_kernels(kernel: np.ndarray | KernelSource | None, steps: Sequence[Scale]) -> list[np.ndarray | None]:
    """The validated kernel of each scale step (gradual steps, then the final scale), or a clear error.

    ``None``: bicubic at every step. An array is the kernel of the final scale, so it is refused when there are
    intermediate steps: a kernel belongs to one HR grid; pass a ``KernelSource`` instead, which gives each step the
    kernel of its own scale.
    """
    if kernel is None:
        return [None] * len(steps)
    for step in steps[:-1]:
        if not is_whole(step):
            raise ValueError(f"gradual step {step} has no whole-number factor, which a blur kernel needs; use whole "
                             "steps with a kernel (e.g. gradual_steps=(2,) for scale 4) or no kernel (bicubic), "
                             "which allows any step such as (1.5,)")
    integer_factors(steps[-1])
    if callable(kernel):
        kernels = [kernel(step) for step in steps]
        if any(k is None for k in kernels):
            raise TypeError("the kernel function returned None; it must return the kernel array of each scale it is "
                            "given")
    elif len(steps) > 1:
        raise ValueError(f"a kernel array is the blur of the final scale only, so it cannot serve the gradual steps "
                         f"{[step[0] for step in steps[:-1]]}; pass a function scale -> kernel instead, e.g. "
                         "lambda s: kernel_from_psf(psf, psf_pixel_size=..., pixel_size=..., scale=s)")
    else:
        kernels = [kernel]
    return [validate_kernel(k) for k in kernels]


@dataclass
class Degradation:
    """``downscale`` maps an HR image to its LR version; ``upscale`` is the bicubic interpolation back."""

    scale: Scale
    kernel: torch.Tensor | None = None  # centred for strided sampling (see centre_kernel)

    @classmethod
    def create(cls, scale: Scale, kernel: np.ndarray | None, device: torch.device) -> Degradation:
        """The HR -> LR degradation of a run: bicubic resizing for no kernel, else ``kernel`` centred for strided
        sampling on ``device``."""
        if kernel is None:
            return cls(scale)
        centred = centre_kernel(kernel, integer_factors(scale))
        return cls(scale, torch.as_tensor(centred, dtype=torch.float32, device=device))

    def lr_shape(self, hr_shape: tuple[int, int]) -> tuple[int, int]:
        return scaled_shape(hr_shape, (1 / self.scale[0], 1 / self.scale[1]))

    def hr_shape(self, lr_shape: tuple[int, int]) -> tuple[int, int]:
        return scaled_shape(lr_shape, self.scale)

    def downscale(self, hr: torch.Tensor, lr_shape: tuple[int, int] | None = None) -> torch.Tensor:
        """``hr`` degraded to ``lr_shape`` (default: MATLAB's size for the scale). Pass the input's shape where the
        result is compared with the input: at a fractional scale the sizes need not round-trip (41 x 1.5 -> 62,
        62 / 1.5 -> 42). With a kernel the scale is whole and sizes always round-trip, so ``lr_shape`` is not
        needed there."""
        if self.kernel is None:
            return resize(hr, lr_shape or self.lr_shape(tuple(hr.shape[-2:])))
        return downscale_with_kernel(hr, self.kernel, integer_factors(self.scale))

    @staticmethod
    def upscale(lr: torch.Tensor, hr_shape: tuple[int, int]) -> torch.Tensor:
        return resize(lr, hr_shape)
