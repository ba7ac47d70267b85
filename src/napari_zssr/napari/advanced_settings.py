"""The widget's advanced settings: those most users leave at the preset's values, and how they go into a run's config.

A preset sets them all (:meth:`AdvancedSettings.apply_preset`); :meth:`AdvancedSettings.config` lays them over the
preset, so the widget's run takes every default from :class:`~napari_zssr.core.config.ZSSRConfig`.
"""

from __future__ import annotations

from dataclasses import replace

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox, Widget

from ..core.config import AUTHORS_REAL_IMAGE_NOISE_STD, ZSSRConfig
from ..core.device import available_devices
from ..core.precision import PRECISIONS
from .spin_boxes import show_four_decimals

#: the background window field's top: wider than a plane's side (a window wider than a plane takes its sides)
MAX_BACKGROUND_WINDOW = 65536


class AdvancedSettings:
    """Noise, back-projection, ensemble, uncertainty, learned and warm start, background window, iterations, device,
    precision and seed: the fields, what each one's being enabled depends on, and their part of the run's config."""

    def __init__(self) -> None:
        defaults = ZSSRConfig()
        self.noise = CheckBox(text="noise augmentation", value=defaults.noise_std != 0,
                              tooltip="Add noise to the training inputs, so that the network does not learn to "
                                      "sharpen the image's noise")
        self.noise_auto = CheckBox(text="noise level from the image", value=defaults.noise_std == "auto",
                                   tooltip="Add noise to the training inputs at the image's own estimated level")
        self.noise_std = FloatSpinBox(label="noise std", min=0.0, max=0.2, step=0.0025,
                                      value=AUTHORS_REAL_IMAGE_NOISE_STD,
                                      tooltip="Fraction of the intensity range; used when the level is set by hand")
        self.back_projection = CheckBox(text="back-projection", value=defaults.back_projection_iterations > 0,
                                        tooltip="Make the output consistent with the input under the kernel, "
                                                "down to the image's own noise level (a noisy image gets few or no "
                                                "steps)")
        self.ensemble = CheckBox(text="geometric ensemble", value=defaults.ensemble > 1,
                                 tooltip="Median over the rotations/flips under which the kernel is unchanged")
        self.uncertainty = CheckBox(text="uncertainty (ensemble spread)", value=False,
                                    tooltip="Also add <name>_ensemble_spread: the per-pixel standard deviation "
                                            "across the ensemble's members, high where the network is unsure "
                                            "(needs the geometric ensemble)")
        self.learned_start = CheckBox(text="learned start", value=defaults.init == "learned",
                                      tooltip="Start training from weights learned once on many images and kernels "
                                              "(shipped with the plugin) instead of random ones: far fewer "
                                              "iterations reach the same quality. Off: the original method")
        self.warm_start = CheckBox(text="warm start: stack planes train less", value=False,
                                   tooltip="Stacks: planes train a fifth of the iterations (at least 10): each "
                                           "plane after the first from the previous plane's weights (random start), "
                                           "or every plane from the learned start, which adapts to each plane's "
                                           "noise level")
        self.background_window = SpinBox(label="background (px)", min=0, max=MAX_BACKGROUND_WINDOW,
                                         value=defaults.background_window,
                                         tooltip="Take a smooth background (haze, uneven illumination) of about "
                                                 "this many image pixels off each plane before learning, where it "
                                                 "takes at least half of the plane's intensity range, and put it "
                                                 "back after; 0: none taken off, else at least 4. Not in axial "
                                                 "mode")
        self.max_iterations = SpinBox(label="max iterations", min=1, max=20000, value=defaults.max_iterations,
                                      tooltip="Training iterations per plane (the paper preset's schedule may stop "
                                              "earlier, once its learning rate has decayed)")
        self.device = ComboBox(label="device", choices=["auto", *available_devices()], value=defaults.device,
                               tooltip="auto: CUDA, then Apple MPS, then CPU")
        self.precision = ComboBox(label="precision", choices=list(PRECISIONS), value=defaults.precision,
                                  tooltip="auto: mixed bf16/fp16 on a CUDA GPU, bf16 on CPUs with native bf16 "
                                          "(faster), float32 elsewhere")
        self.seed = SpinBox(label="seed", min=0, max=2**31 - 1, value=defaults.seed,
                            tooltip="Runs with the same seed and settings give the same result")
        show_four_decimals(self.noise_std, AUTHORS_REAL_IMAGE_NOISE_STD)
        self.widgets: list[Widget] = [self.noise, self.noise_auto, self.noise_std, self.back_projection,
                                      self.ensemble, self.uncertainty, self.learned_start, self.warm_start,
                                      self.background_window, self.max_iterations, self.device, self.precision,
                                      self.seed]

    def show(self, visible: bool) -> None:
        for widget in self.widgets:
            widget.visible = visible

    def enable(self, *, axial: bool, running: bool) -> None:
        """Enable the fields whose use depends on others: the noise level where noise is added (and set by hand for
        its std); the spread, which is across the ensemble's members (without the ensemble it would be 0
        everywhere, which reads as a network sure of every pixel); warm start and the background window, which are
        for the planes of lateral runs (an axial run trains one network a volume, on its planes as they are). All
        stay shown with the other advanced settings; while a run goes, none is enabled."""
        free = not running
        self.noise_auto.enabled = free and bool(self.noise.value)
        self.noise_std.enabled = free and bool(self.noise.value) and not self.noise_auto.value
        self.uncertainty.enabled = free and bool(self.ensemble.value)
        for widget in (self.warm_start, self.background_window):
            widget.enabled = free and not axial

    @property
    def wants_spread(self) -> bool:
        """Whether the run should add the ensemble's spread (asked for, and there is an ensemble to spread)."""
        return bool(self.uncertainty.value and self.ensemble.value)

    def apply_preset(self, config: ZSSRConfig) -> None:
        """Set the fields to ``config``'s values (a noise std only where it gives one by hand)."""
        self.max_iterations.value = config.max_iterations
        self.noise.value = config.noise_std != 0
        self.noise_auto.value = config.noise_std == "auto"
        if not isinstance(config.noise_std, str) and config.noise_std > 0:
            self.noise_std.value = config.noise_std
        self.back_projection.value = config.back_projection_iterations > 0
        self.learned_start.value = config.init == "learned"
        self.ensemble.value = config.ensemble > 1
        self.precision.value = config.precision
        self.background_window.value = config.background_window

    def config(self, preset: ZSSRConfig, *, axial: bool = False) -> ZSSRConfig:
        """``preset`` with these fields over it (back-projection and the ensemble on: the preset's counts); an
        ``axial`` run takes no background off, whatever its disabled field holds."""
        return replace(preset, max_iterations=int(self.max_iterations.value), noise_std=self._noise_std(),
                       back_projection_iterations=preset.back_projection_iterations if self.back_projection.value
                       else 0,
                       ensemble=preset.ensemble if self.ensemble.value else 1,
                       init="learned" if self.learned_start.value else "scratch",
                       background_window=0 if axial else int(self.background_window.value),
                       device=str(self.device.value),
                       precision=str(self.precision.value), seed=int(self.seed.value))

    def _noise_std(self) -> float | str:
        if not self.noise.value:
            return 0.0
        return "auto" if self.noise_auto.value else float(self.noise_std.value)
