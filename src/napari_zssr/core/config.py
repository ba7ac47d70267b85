"""``ZSSRConfig``: the single source of every default (the widget, ``run()``, the CLI and the docs read it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

PRESETS = ("default", "fast", "paper")


@dataclass
class ZSSRConfig:
    """Settings of one ZSSR run. ``ZSSRConfig()`` is the microscopy default; see :meth:`preset`."""

    # training
    max_iterations: int = 1000
    learning_rate: float = 1e-3
    min_learning_rate: float = 9e-6  # stop once the lr falls below this (after three drops from 1e-3)
    min_iterations: int = 256  # iterations between two lr changes, at least
    lr_schedule: str = "steps"  # "steps": drops at lr_step_fractions; "policy": the authors' linear fit
    # late drops: most of the gain is made at 1e-3 (docs/benchmarks.md: +0.17-0.48 dB over (0.6, 0.85) at 400)
    lr_step_fractions: tuple[float, ...] = (0.8, 0.95)
    lr_check_every: int = 60
    lr_slope_range: int = 256  # iterations of reconstruction errors fitted by a line
    lr_change_ratio: float = 1.5  # drop the lr when -ratio * slope < std of the slope
    recon_every: int = 50  # iterations between reconstruction-error checks
    recon_crop: int = 256  # largest side of the fixed crop the reconstruction error is measured on
    crop_size: int = 128
    # Gaussian noise on the LR sons, as a fraction of the intensity range; "auto": the input's own noise level
    noise_std: float | str = "auto"
    father_min_scale: float = 0.5  # smallest downscaled copy of the input used as an HR father
    father_levels: int = 6
    gradual_steps: tuple[float, ...] = ()  # intermediate scale factors, e.g. (1.5,) on the way to 2
    # network
    width: int = 64
    depth: int = 8
    # inference
    ensemble: bool = True  # geometric self-ensemble over the transforms the kernel allows
    # per ensemble output and on the median. 0: it re-injects the input's noise (-1.5 dB with 2 on noisy data)
    back_projection_iterations: int = 0
    tile_size: int = 1024  # largest side of an inference tile (output pixels); bounds memory on big planes
    # run
    device: str = "auto"
    precision: str = "auto"  # "auto": bf16 convolutions on CUDA (fp16 without bf16) and bf16 CPUs, else float32
    seed: int = 0
    progress_every: int = 10
    name: str = field(default="default", compare=False)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ZSSRConfig:
        """``"default"`` (microscopy, noise on), ``"fast"`` (a quick preview) or ``"paper"`` (the authors' settings)."""
        if name == "default":
            config = cls()
        elif name == "fast":
            config = cls(max_iterations=400, name="fast")
        elif name == "paper":
            config = cls(max_iterations=3000, lr_schedule="policy", noise_std=0.0, back_projection_iterations=10,
                         precision="float32", name="paper")
        else:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return replace(config, **overrides)

    def warm_start_iterations(self) -> int:
        """Iterations of each warm-started plane of a stack: a fifth of ``max_iterations`` (docs/benchmarks.md:
        about 30 % of the time of training every plane from scratch, at the same quality)."""
        return max(10, self.max_iterations // 5)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
