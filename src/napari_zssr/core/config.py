"""``ZSSRConfig``: the single source of every default (the widget, ``run()``, the CLI and the docs read it).

Every field is checked when a config is made (also by ``dataclasses.replace``) and again by :func:`napari_zssr.zssr`
(a field may have been assigned since), so a bad setting fails at once with an error naming the field.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from numbers import Integral, Real
from typing import Any, Literal, get_args

from .units import number_meant

PRESETS = ("default", "fast", "paper")
#: the preset a front starts from when none is chosen
DEFAULT_PRESET = PRESETS[0]
#: the super-resolution factor when none is given
DEFAULT_SCALE = 2.0
#: the noise std (a fraction of the intensity range) the authors add for real images: the level a user typing one
#: starts from
AUTHORS_REAL_IMAGE_NOISE_STD = 0.0125

LRSchedule = Literal["steps", "policy"]
Precision = Literal["auto", "float32", "bfloat16", "float16"]
#: "auto", "cpu", "cuda", "cuda:N" or "mps" (whether the device exists is checked when a run starts)
Device = str

LR_SCHEDULES: tuple[str, ...] = get_args(LRSchedule)
#: the dihedral group's size: the most members a geometric self-ensemble can have
MAX_ENSEMBLE = 8
#: the network the shipped learned start was trained for (its weights file holds 8 layers 64 channels wide)
LEARNED_WIDTH, LEARNED_DEPTH = 64, 8
#: keywords of ``ZSSRConfig.init`` (any other value is the path of a weights file)
INITS = ("scratch", "learned")
PRECISIONS: tuple[str, ...] = get_args(Precision)
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
#: the largest learning rate: Adam's first step is 1 / (1 - beta1) = 10 times it, and torch refuses a step beyond
#: float32's largest value (3.4028e38) with an error of its own. Rates far below it already diverge (a clear error
#: after training); only those above fail inside the optimiser. Not float32's largest / 10: 1 - 0.9 is a hair below
#: 0.1 in floating point, so that the step at that rate is just past float32's largest
MAX_LEARNING_RATE = 3.4e37
#: the narrowest background window (input pixels): on validation images without a background, the envelope of a
#: window of 1 pixel takes 67-97 % of their range off, of 2 up to 86 % (it follows the structures themselves), of 4
#: more than half that of a smooth terrain model only (docs/benchmarks.md, "Smooth backgrounds")
MIN_BACKGROUND_WINDOW = 4
#: torch's generators take seeds below 2**64; the gradual steps use seed + step
MAX_SEED = 2**63 - 1


@dataclass
class ZSSRConfig:
    """Settings of one ZSSR run. ``ZSSRConfig()`` is the microscopy default; :meth:`preset` gives ``"default"``,
    ``"fast"`` and ``"paper"``, any field overridden. Every field is checked as the config is made (a TypeError or
    ValueError naming it).

    Training: ``max_iterations`` Adam steps from ``learning_rate``, divided by 10 at ``lr_step_fractions`` of them
    (``lr_schedule="steps"``) or where the authors' line fit of the reconstruction error says (``"policy"``: with
    ``min_iterations``, ``lr_check_every``, ``lr_slope_range``, ``lr_change_ratio``, ``recon_every``, ``recon_crop``),
    ending once the rate falls below ``min_learning_rate``; ``crop_size``: side of the square training crops (HR
    father pixels); ``noise_std``: noise on the LR sons (a fraction of the intensity range, or "auto": the input's
    own level); ``father_levels`` downscaled copies of the input, from ``father_min_scale`` to 1, as HR fathers;
    ``gradual_steps``: intermediate scales; ``background_window``: the window of the smooth background taken off a
    plane where it dominates (0: none). Network: ``width`` channels in each of ``depth`` convolutions, started from
    ``init``. Inference: ``ensemble`` members, ``back_projection_iterations`` (``back_projection_to_noise``: stop at
    the input's noise level), tiles of ``tile_size`` pixels at most. Run: ``device``, ``precision``, ``seed`` (0 to
    2**63 - 1), ``progress_every`` (iterations between two training progress events), ``name`` (the label results
    record).
    """

    # training
    max_iterations: int = 1000
    learning_rate: float = 1e-3
    min_learning_rate: float = 9e-6  # stop once the lr falls below this (after three drops from 1e-3)
    min_iterations: int = 256  # "policy": iterations between two lr changes, at least
    lr_schedule: LRSchedule = "steps"  # "steps": drops at lr_step_fractions; "policy": the authors' linear fit
    # late drops, as most of the gain is made at lr 1e-3 (docs/benchmarks.md: +0.17 to +0.48 dB over drops at
    # (0.6, 0.85) with 400 iterations)
    lr_step_fractions: tuple[float, ...] = (0.8, 0.95)
    lr_check_every: int = 60  # "policy": iterations between two looks at the fit
    lr_slope_range: int = 256  # "policy": iterations of reconstruction errors fitted by a line
    lr_change_ratio: float = 1.5  # "policy": drop the lr when -ratio * slope <= standard error of the slope
    recon_every: int = 50  # "policy": iterations between reconstruction-error checks
    recon_crop: int = 256  # largest side of the fixed crop the reconstruction error is measured on
    crop_size: int = 128
    # Gaussian noise on the LR sons, as a fraction of the intensity range; "auto": the input's own noise level
    noise_std: float | Literal["auto"] = "auto"
    father_min_scale: float = 0.5  # smallest downscaled copy of the input used as an HR father
    father_levels: int = 6
    gradual_steps: tuple[float, ...] = ()  # intermediate scale factors, e.g. (1.5,) on the way to 2
    # window (input pixels) of the smooth background (haze, uneven illumination) a run takes off each plane where it
    # takes at least half the intensity range, before the run learns, and puts back after (core/background.py;
    # docs/benchmarks.md "Smooth backgrounds": about the network's view); 0: none taken off. Lateral runs only
    background_window: int = 16
    # network
    width: int = 64
    depth: int = 8
    # starting weights: "scratch" (the authors' seeded random init), "learned" (the start shipped in the package,
    # conditioned on the run's kernel and noise level; see core/init_weights.py) or a weights file written by
    # scripts/train_init.py
    init: str = "scratch"
    # inference
    # members of the geometric self-ensemble, at most: the first of geometry.ENSEMBLE_ORDER that the kernel allows
    # (8 for the bicubic kernel); 1 = no ensemble. True and False are taken as 8 and 1.
    ensemble: int = 8
    # back-projection steps at most, applied to each ensemble output and to their median
    back_projection_iterations: int = 10
    # stop back-projection once the output explains the input to within the input's own estimated noise (the
    # discrepancy principle): clean inputs get every step, noisy ones few or none. Without this stop, on noisy data
    # back-projection re-injects the noise (-1.5 dB with 2 steps; docs/benchmarks.md "Back-projection to the noise
    # level")
    back_projection_to_noise: bool = True
    # largest side of an inference tile (output pixels); bounds memory on big planes. At least 16: each tile is
    # computed with a halo of the receptive radius (8 pixels a side at the default depth), which small tiles multiply
    tile_size: int = 1024
    # run
    device: Device = "auto"
    precision: Precision = "auto"  # "auto": bf16 convolutions on CUDA (fp16 without bf16) and bf16 CPUs, else float32
    seed: int = 0
    progress_every: int = 10
    name: str = field(default="default", compare=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a TypeError/ValueError naming the first bad field (and normalise sequences to tuples)."""
        for name, minimum in (("max_iterations", 1), ("min_iterations", 0), ("lr_check_every", 1),
                              ("lr_slope_range", 1), ("recon_every", 1), ("recon_crop", 2), ("crop_size", 2),
                              ("father_levels", 1), ("background_window", 0), ("width", 1), ("depth", 1),
                              ("back_projection_iterations", 0), ("tile_size", 16), ("progress_every", 1)):
            _check_integer(name, getattr(self, name), minimum, _MAXIMA.get(name))
            setattr(self, name, int(getattr(self, name)))  # numpy integers become ints (torch and JSON need them)
        self.seed = check_seed(self.seed)
        if not _is_number(self.learning_rate) or not 0 < self.learning_rate <= MAX_LEARNING_RATE:
            raise _bad("learning_rate", self.learning_rate, f"a number > 0 and at most {MAX_LEARNING_RATE:.2g} (10 "
                       "times it, Adam's first step, must stay within float32; the presets use 1e-3 and 3e-4)", Real)
        if not _is_number(self.lr_change_ratio) or self.lr_change_ratio <= 0:
            raise _bad("lr_change_ratio", self.lr_change_ratio, "a finite number > 0", Real)
        if not _is_number(self.min_learning_rate) or self.min_learning_rate < 0:
            raise _bad("min_learning_rate", self.min_learning_rate, "a finite number >= 0", Real)
        if not _is_number(self.father_min_scale) or not 0 < self.father_min_scale <= 1:
            raise _bad("father_min_scale", self.father_min_scale, "a number in (0, 1]", Real)
        if self.noise_std != "auto" and (not _is_number(self.noise_std) or not 0 <= self.noise_std <= 1):
            raise _bad("noise_std", self.noise_std, "'auto' (the input's own noise level) or a number from 0 to 1 "
                       "(a fraction of the intensity range)", (Real, str))
        for name in ("learning_rate", "lr_change_ratio", "min_learning_rate", "father_min_scale"):
            setattr(self, name, _decimal(getattr(self, name)))
        if self.noise_std != "auto":
            self.noise_std = _decimal(self.noise_std)
        self.lr_step_fractions = _number_tuple("lr_step_fractions", self.lr_step_fractions,
                                               lambda f: 0 < f < 1, "numbers in (0, 1)")
        self.gradual_steps = _number_tuple("gradual_steps", self.gradual_steps, lambda s: s > 1, "numbers > 1")
        if len(set(self.gradual_steps)) < len(self.gradual_steps):  # the run would train that step twice
            raise ValueError(f"ZSSRConfig.gradual_steps must be distinct steps, got {self.gradual_steps!r}")
        if self.min_learning_rate > self.learning_rate:  # training would end at its first rate drop
            raise ValueError(f"ZSSRConfig.min_learning_rate must be at most learning_rate ({self.learning_rate:g}), "
                             f"got {self.min_learning_rate:g}: training stops once the rate falls below it (lower "
                             "both)")
        if 0 < self.background_window < MIN_BACKGROUND_WINDOW:
            raise ValueError(f"ZSSRConfig.background_window must be 0 (no background taken off) or at least "
                             f"{MIN_BACKGROUND_WINDOW} pixels, got {self.background_window}: a narrower window's "
                             "envelope follows the structures themselves")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.lr_schedule == "steps":
            _check_scheduled_drops(self)
        _check_choice("precision", self.precision, PRECISIONS)
        if not isinstance(self.device, str) or not _DEVICE_PATTERN.fullmatch(self.device):
            raise _bad("device", self.device, "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", str)
        if is_switch(self.ensemble):
            self.ensemble = MAX_ENSEMBLE if self.ensemble else 1
        _check_integer("ensemble", self.ensemble, 1)
        if self.ensemble > MAX_ENSEMBLE:
            raise ValueError(f"ZSSRConfig.ensemble must be from 1 to {MAX_ENSEMBLE} members (True = {MAX_ENSEMBLE}, "
                             f"False = 1), got {self.ensemble!r}")
        self.ensemble = int(self.ensemble)  # a numpy integer too: results record the config as JSON
        if not is_switch(self.back_projection_to_noise):
            raise TypeError(f"ZSSRConfig.back_projection_to_noise must be True or False, got "
                            f"{self.back_projection_to_noise!r}")
        self.back_projection_to_noise = bool(self.back_projection_to_noise)  # numpy's too: configs go into JSON
        self.init = _check_init(self.init)
        if self.init == "learned" and (self.width, self.depth) != (LEARNED_WIDTH, LEARNED_DEPTH):
            raise ValueError(f"ZSSRConfig.init 'learned' is a start for the network of width {LEARNED_WIDTH} and depth "
                             f"{LEARNED_DEPTH}, got width {self.width} and depth {self.depth}: keep those, or use "
                             "init='scratch' for another network")
        if not isinstance(self.name, str):  # a label written into JSON records and TIFF descriptions
            raise TypeError(f"ZSSRConfig.name must be a str (the label the result records), got {self.name!r}")

    @classmethod
    def preset(cls, name: str | None = None, /, **overrides: Any) -> ZSSRConfig:
        """``"default"`` (microscopy, noise on, from scratch), ``"fast"`` (the learned start for the run's kernel and
        noise level, 100 iterations at a learning rate of 3e-4, which keeps more of the start than 1e-3, and a 2-member
        ensemble: about a tenth of the time, docs/benchmarks.md "A learned start") or ``"paper"`` (the authors'
        settings: 3,000 iterations at most under their "policy" lr schedule, no noise on the sons, 10 back-projection
        steps whatever the noise, no background taken off, float32).

        ``overrides`` are other field values (``name=`` too: the label the result records); an unknown field is a
        TypeError that lists the valid ones, as is a preset left out (``preset(name="fast")`` names the label only);
        an unknown preset is a ValueError.
        """
        if name is None:
            raise TypeError(f"no preset given: give one of {', '.join(PRESETS)} first, without a keyword, e.g. "
                            "ZSSRConfig.preset('fast') (name= is only the label the result records)")
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown ZSSRConfig option(s) {', '.join(unknown)}; valid options: "
                            f"{', '.join(f.name for f in fields(cls))}")
        if name == "default":
            config = cls()
        elif name == "fast":
            # the minimum rate sits below the second drop (3e-6), as 9e-6 does for 1e-3, so all 100 iterations run
            config = cls(max_iterations=100, learning_rate=3e-4, min_learning_rate=2.7e-6, init="learned", ensemble=2,
                         name="fast")
        elif name == "paper":
            config = cls(max_iterations=3000, lr_schedule="policy", noise_std=0.0, back_projection_iterations=10,
                         back_projection_to_noise=False, background_window=0, precision="float32", name="paper")
        else:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return replace(config, **overrides)

    def lr_drop_iterations(self) -> list[int]:
        """The iterations of the "steps" schedule after which the rate is divided by 10 (each once, in order): at
        ``lr_step_fractions`` of ``max_iterations``; a fraction that rounds to no iteration drops nothing."""
        return sorted({round(f * self.max_iterations) for f in self.lr_step_fractions} - {0})

    def warm_start_iterations(self) -> int:
        """Iterations of each warm-started plane of a stack: a fifth of ``max_iterations`` (docs/benchmarks.md:
        about 30 % of the time of training every plane fully, at the same quality on planes alike), at least 10 and
        never more than ``max_iterations``."""
        return min(self.max_iterations, max(10, self.max_iterations // 5))

    @property
    def warm_planes_restart(self) -> bool:
        """Whether each warm-started plane of a stack trains from this config's start again, the first plane too
        (a learned start or a weights file: conditioned on each plane's noise level, as good a start as a like
        neighbour's weights, and no unlike neighbour's fit is carried on), rather than from the previous plane's
        weights after a first plane trained fully (a random start, which those weights beat). Restarting, every plane
        is the same run of itself whatever its place in the stack, so a stack split into parts gives what it gives
        whole (docs/benchmarks.md, "Stacks: warm start")."""
        return self.init != "scratch"

    def first_plane_warm(self, planes: int) -> bool:
        """Whether the first of a warm-started stack of ``planes`` trains the warm iterations too: where warm planes
        restart (:attr:`warm_planes_restart`) and there is more than one plane (a plane alone trains fully)."""
        return planes > 1 and self.warm_planes_restart

    @property
    def back_projects_to_noise(self) -> bool:
        """Whether runs back-project and stop at the input's noise level (what a run then has to estimate)."""
        return self.back_projection_to_noise and self.back_projection_iterations > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_seed(seed: Any, name: str = "ZSSRConfig.seed") -> int:
    """``seed`` as an int, or a clear error: a whole number from 0 to :data:`MAX_SEED`."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed <= MAX_SEED:
        raise (ValueError if isinstance(seed, Integral) and not isinstance(seed, bool) else TypeError)(
            f"{name} must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


def is_switch(value: Any) -> bool:
    """True or False, as Python's ``bool`` or numpy's (``np.True_``, what comparing arrays gives); told by its dtype's
    kind so that this module, which the command line's ``--help`` imports, need not import numpy."""
    return isinstance(value, bool) or (getattr(value, "shape", None) == ()
                                       and getattr(getattr(value, "dtype", None), "kind", None) == "b")


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _bad(name: str, value: Any, expected: str, right_type: type | tuple[type, ...]) -> Exception:
    """A ValueError for a value of the right type, else a TypeError."""
    kind = ValueError if isinstance(value, right_type) and not isinstance(value, bool) else TypeError
    return kind(f"ZSSRConfig.{name} must be {expected}, got {value!r}")


#: bounds of the settings whose cost grows with them without end: each father level keeps a copy of the plane, and a
#: network far wider or deeper than the authors' would spend minutes or all memory before failing
_MAXIMA = {"father_levels": 64, "width": 1024, "depth": 128}


def _check_integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    wanted = f"a whole number >= {minimum}" if maximum is None else \
        f"a whole number from {minimum} to {maximum} (more would cost minutes or all memory)"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"ZSSRConfig.{name} must be {wanted}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"ZSSRConfig.{name} must be {wanted}, got {value!r}")


def _check_init(init: Any) -> str:
    """``init`` as a keyword or the real path of an existing file (as a string: configs are written into TIFF Info,
    where a path relative to the folder a run happened to start in would name no file later)."""
    if isinstance(init, os.PathLike):
        init = os.fspath(init)
    if not isinstance(init, str):
        raise _bad("init", init, "'scratch', 'learned' or the path of a weights file", str)
    if init in INITS:
        return init
    if os.path.isfile(init):
        return os.path.realpath(init)  # as the batch records its PSF files: a link's path and its target's are one
    if os.path.isdir(init):
        raise ValueError(f"ZSSRConfig.init must be 'scratch', 'learned' or the path of a weights file, got {init!r}: "
                         "a folder; give the .npz file in it")
    raise ValueError(f"ZSSRConfig.init must be 'scratch', 'learned' or the path of a weights file (.npz written by "
                     f"the project's scripts/train_init.py), got {init!r}: no such file")


def _check_scheduled_drops(config: ZSSRConfig) -> None:
    """Refuse a "steps" schedule whose rate falls below ``min_learning_rate`` at a drop before its last iteration:
    training ends there (a learning rate lowered alone, below 10x the minimum, trained 80 % of the iterations unsaid).
    """
    rate = config.learning_rate
    for drop in config.lr_drop_iterations():
        rate /= 10
        if drop < config.max_iterations and rate < config.min_learning_rate:
            raise ValueError(f"ZSSRConfig.learning_rate {config.learning_rate:g} falls to {rate:g} at its drop after "
                             f"{drop} of the {config.max_iterations} iterations, below min_learning_rate "
                             f"{config.min_learning_rate:g}, where training stops: lower min_learning_rate with it "
                             f"(under {rate:g}, e.g. 0), or set lr_step_fractions without that drop")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _bad(name, value, f"one of {', '.join(map(repr, choices))}", str)


def _decimal(value: Real) -> float:
    """``value`` as a float; a numpy float32 or float16 as the decimal it was typed as (1e-3, not
    0.0010000000474974513), since the settings go into every record."""
    return float(number_meant(value))


def _number_tuple(name: str, values: Any, valid: Any, expected: str) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (tuple, list)):
        raise TypeError(f"ZSSRConfig.{name} must be a tuple of {expected}, got {values!r}")
    if not all(_is_number(v) and valid(v) for v in values):
        raise ValueError(f"ZSSRConfig.{name} must be a tuple of {expected}, got {values!r}")
    return tuple(_decimal(v) for v in values)
