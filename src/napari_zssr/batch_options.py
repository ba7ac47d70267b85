"""A batch's settings: :class:`BatchOptions` and the words its options take.

Standard library, :mod:`.core.choices` and :mod:`.core.config` only, so that the command line builds its options
(``--help``, a mistyped option) without loading torch and scipy, which take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .core.choices import DEFAULT_OUTPUTS, OUTPUTS
from .core.config import DEFAULT_PRESET, ZSSRConfig

OUTPUT_KINDS = tuple(OUTPUTS)
#: ``measured_psf``'s answers -> the kernel's ``measured`` (None: judged from the pixel sizes)
MEASURED_PSF_CHOICES = {"auto": None, "yes": True, "no": False}
#: what the super-resolved images are written as: float32, or the input's own type ("input")
OUTPUT_TYPES = ("float32", "input")
#: the optics settings only the confocal model takes: given without a model, they choose it
CONFOCAL_ONLY = ("excitation_wavelength", "pinhole")


@dataclass(frozen=True)
class BatchOptions:
    """Every setting of a batch besides its inputs, with the command line's names and defaults.

    Fields that change an output's content go into its settings record (:func:`.batching.settings_record`); ``quiet``,
    ``overwrite``, ``recursive`` and ``planes_per_task`` do not. ``axial``: restore each z-stack's z axis to its
    lateral pixel size instead (factor = ``z_step`` or the file's z spacing, over the pixel size); ``scale`` is
    then left out.
    """

    out: Path
    scale: float | None = None  # None: DEFAULT_SCALE (lateral runs)
    preset: str = DEFAULT_PRESET
    max_iterations: int | None = None
    init: str | None = None  # "scratch", "learned" or a weights file (None: the preset's)
    warm_start: int | str | None = None  # "auto": a fifth of the max iterations
    device: str = ZSSRConfig().device
    noise_std: float | str | None = None
    background_window: int | None = None  # None: the preset's
    precision: str | None = None
    seed: int = ZSSRConfig().seed
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    dtype: str = "float32"  # one of OUTPUT_TYPES
    psf: tuple[str, ...] = ()
    psf_pixel_size: float | None = None
    pixel_size: float | None = None
    measured_psf: str = "auto"
    kernel: str | tuple[str, ...] | None = None  # one of KERNEL_SOURCES for every channel, or one per channel
    psf_model: str | None = None
    na: float | None = None
    wavelength: tuple[float, ...] = ()
    refractive_index: float | None = None
    excitation_wavelength: tuple[float, ...] = ()
    pinhole: float | None = None
    recursive: bool = False
    overwrite: bool = False
    quiet: bool = False
    axial: bool = False
    z_step: float | None = None  # um; None: each file's z spacing (axial mode only)
    #: on a cluster, a stack with more planes than this is split into ranges of about this many planes
    planes_per_task: int = 16
