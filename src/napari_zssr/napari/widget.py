"""The dock widget: choose an image and a PSF, press Run; training runs in a worker while napari stays usable."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
    create_widget,
)

from ..core.config import PRESETS, ZSSRConfig
from ..core.device import available_devices
from ..core.precision import PRECISIONS
from .estimate import BackgroundEstimate
from .runner import add_or_update, background_run, layer_tuples, prepare

if TYPE_CHECKING:
    import napari

#: Starting value of the noise level when it is set by hand (the authors' level for real images).
MANUAL_NOISE_STD = 0.0125


class ZSSRWidget(Container):
    """Every default comes from :class:`ZSSRConfig`; the run itself is :func:`napari_zssr.zssr_stack`."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        import napari.layers

        super().__init__(labels=True)
        self._viewer = viewer
        defaults = ZSSRConfig()
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.psf = FileEdit(label="PSF file", mode="r", filter="PSF (*.tif *.tiff *.npy *.mat)", value="",
                            tooltip="Your microscope's PSF (TIFF, z-stack, .npy, .mat). Empty: bicubic kernel")
        self.psf_pixel_size = FloatSpinBox(label="PSF pixel (µm)", min=0, max=100, step=0.001, value=0.0,
                                           tooltip="0: from the PSF file's metadata (or the image's pixel size)")
        self.pixel_size = FloatSpinBox(label="image pixel (µm)", min=0, max=1000, step=0.001, value=0.0,
                                       tooltip="0: from the layer's scale (a scale of 1 counts as unknown)")
        self.scale = FloatSpinBox(label="scale", min=1.1, max=8.0, step=0.5, value=2.0,
                                  tooltip="Super-resolution factor; with a PSF it must be a whole number")
        self.preset = ComboBox(label="preset", choices=list(PRESETS), value="default")
        self.max_iterations = SpinBox(label="max iterations", min=1, max=20000, value=defaults.max_iterations)
        self.noise = CheckBox(text="noise augmentation", value=defaults.noise_std != 0)
        self.noise_auto = CheckBox(text="noise level from the image", value=defaults.noise_std == "auto",
                                   tooltip="Add noise to the training inputs at the image's own estimated level")
        self.noise_std = FloatSpinBox(label="noise std", min=0.0, max=0.2, step=0.0025, value=MANUAL_NOISE_STD,
                                      tooltip="Fraction of the intensity range; used when the level is set by hand")
        self.back_projection = CheckBox(text="back-projection", value=defaults.back_projection_iterations > 0)
        self.ensemble = CheckBox(text="geometric ensemble", value=defaults.ensemble)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()], value="auto")
        self.precision = ComboBox(label="precision", choices=list(PRECISIONS), value=defaults.precision,
                                  tooltip="auto: mixed bf16/fp16 on a CUDA GPU (faster), float32 elsewhere")
        self.seed = SpinBox(label="seed", min=0, max=2**31 - 1, value=defaults.seed)
        self.current_plane = CheckBox(text="current plane only (quick preview)", value=False)
        self.warm_start = CheckBox(text="warm-start each plane from the previous", value=False)
        self.estimate = Label(label="estimate", value="")
        self.status = Label(label="status", value="")
        self.run_button = PushButton(text="Run")
        for spin_box, value in ((self.noise_std, MANUAL_NOISE_STD), (self.psf_pixel_size, 0.0),
                                (self.pixel_size, 0.0)):
            spin_box.native.setDecimals(4)  # magicgui derives 3 decimals from the step and would round 0.0125
            spin_box.value = value
        self._inputs = [self.image, self.psf, self.psf_pixel_size, self.pixel_size, self.scale, self.preset,
                        self.max_iterations, self.noise, self.noise_auto, self.noise_std, self.back_projection,
                        self.ensemble, self.device, self.precision, self.seed, self.current_plane, self.warm_start]
        self.extend([*self._inputs, self.estimate, self.status, self.run_button])
        self._worker: Any = None
        self._stop: threading.Event | None = None
        self._progress: Any = None
        self._estimate = BackgroundEstimate(lambda text: setattr(self.estimate, "value", text))
        self.preset.changed.connect(self._apply_preset)
        self.noise.changed.connect(self._enable_noise_inputs)
        self.noise_auto.changed.connect(self._enable_noise_inputs)
        self.image.changed.connect(self._on_image_changed)
        for widget in (self.device, self.precision, self.max_iterations, self.current_plane, self.warm_start,
                       self.scale):
            widget.changed.connect(self._update_estimate)
        self.run_button.changed.connect(self._on_run_clicked)
        viewer.layers.events.inserted.connect(self._refresh_layers)
        viewer.layers.events.removed.connect(self._refresh_layers)
        self._enable_noise_inputs()
        self._on_image_changed()

    # --- settings -------------------------------------------------------------------------------------------
    def _apply_preset(self) -> None:
        config = ZSSRConfig.preset(self.preset.value)
        self.max_iterations.value = config.max_iterations
        self.noise.value = config.noise_std != 0
        self.noise_auto.value = config.noise_std == "auto"
        if not isinstance(config.noise_std, str) and config.noise_std > 0:
            self.noise_std.value = config.noise_std
        self.back_projection.value = config.back_projection_iterations > 0
        self.precision.value = config.precision

    def _enable_noise_inputs(self, *_: Any) -> None:
        self.noise_auto.enabled = bool(self.noise.value)
        self.noise_std.enabled = bool(self.noise.value) and not self.noise_auto.value

    def _noise_std(self) -> float | str:
        if not self.noise.value:
            return 0.0
        return "auto" if self.noise_auto.value else float(self.noise_std.value)

    def config(self) -> ZSSRConfig:
        base = ZSSRConfig.preset(self.preset.value)
        back_projection = (base.back_projection_iterations or 2) if self.back_projection.value else 0
        return replace(base, max_iterations=int(self.max_iterations.value), noise_std=self._noise_std(),
                       back_projection_iterations=back_projection, ensemble=bool(self.ensemble.value),
                       device=str(self.device.value), precision=str(self.precision.value),
                       seed=int(self.seed.value))

    def _refresh_layers(self, event: Any = None) -> None:
        self.image.reset_choices()

    def _on_image_changed(self, *_: Any) -> None:
        layer = self.image.value
        metadata = getattr(layer, "metadata", {}) or {}
        if metadata.get("zssr_psf_path") and not str(self.psf.value).strip(". "):
            self.psf.value = metadata["zssr_psf_path"]  # the sample brings its PSF file along
            self.psf_pixel_size.value = metadata.get("zssr_psf_pixel_size", 0.0)
        self._update_estimate()

    def _planes(self) -> int:
        layer = self.image.value
        if layer is None or self.current_plane.value:
            return 1
        shape = (layer.data[0] if layer.multiscale else layer.data).shape
        return int(np.prod(shape[:-2])) if len(shape) > 2 else 1

    def _warm_start_iterations(self) -> int | None:
        return self.config().warm_start_iterations() if self.warm_start.value else None

    def _update_estimate(self, *_: Any) -> None:
        if self.image.value is None:
            self.estimate.value = "choose an image layer"
            return
        layer = self.image.value
        try:
            self._estimate.request(str(self.device.value), self.config(),
                                   (layer.data[0] if layer.multiscale else layer.data).shape, self.scale.value,
                                   self._planes(), self._warm_start_iterations())
        except (ValueError, RuntimeError) as error:
            self.estimate.value = str(error)

    # --- running --------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def _on_run_clicked(self, *_: Any) -> None:
        if self.running:
            self.cancel()
        else:
            self.start()

    def start(self) -> Any:
        """Check the inputs and start the worker; a problem is shown in the status line, never as a traceback."""
        from napari.qt.threading import thread_worker
        from napari.utils import progress

        try:
            request = prepare(self.image.value, psf=str(self.psf.value) if self._psf_given() else None,
                              psf_pixel_size=self.psf_pixel_size.value or None,
                              pixel_size=self.pixel_size.value or None, scale=self.scale.value, config=self.config(),
                              current_step=self._viewer.dims.current_step if self.current_plane.value else None,
                              warm_start_iterations=self._warm_start_iterations())
        except (ValueError, TypeError, FileNotFoundError, AttributeError) as error:
            self._show_problem(str(error) if self.image.value is not None else "choose an image layer first")
            return None
        self._stop = threading.Event()
        planes = self._planes()
        self._progress = progress(total=planes * request.config.max_iterations, desc="ZSSR")
        self._worker = thread_worker(background_run, start_thread=False)(request, self._stop)
        self._worker.yielded.connect(lambda event: self._on_progress(event, request.config.max_iterations))
        self._worker.returned.connect(lambda result: self._on_done(request, result))
        self._worker.errored.connect(lambda error: self._show_problem(f"the run failed: {error}"))
        self._worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.status.value = f"running on {self.estimate.value.split(':')[0]}"
        self._worker.start()
        return self._worker

    def cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self.status.value = "cancelling..."

    def _psf_given(self) -> bool:
        return bool(str(self.psf.value).strip()) and str(self.psf.value) not in (".", "")

    def _on_progress(self, event: Any, max_iterations: int) -> None:
        if event is None or event.stage != "training" or self._progress is None:
            return
        self._progress.n = min(self._progress.total, event.plane * max_iterations + event.iteration)
        self._progress.set_description(f"ZSSR plane {event.plane + 1}/{event.n_planes}, loss {event.loss:.4f}")
        self._progress.refresh()
        self.status.value = f"plane {event.plane + 1}/{event.n_planes}, iteration {event.iteration}"

    def _on_done(self, request: Any, result: Any) -> None:
        if result is None or (self._stop is not None and self._stop.is_set()):  # cancelled, maybe after training
            self.status.value = "cancelled; nothing was added"
            return
        add_or_update(self._viewer, layer_tuples(request, result))
        self.status.value = f"done in {result.timings['total_s']:.0f} s on {result.device}"

    def _on_finished(self) -> None:
        if self._progress is not None:
            self._progress.close()
        self._progress = None
        self._worker = None
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        for widget in self._inputs:
            widget.enabled = not running
        if not running:
            self._enable_noise_inputs()
        self.run_button.text = "Cancel" if running else "Run"

    def _show_problem(self, message: str) -> None:
        from napari.utils.notifications import show_warning

        self.status.value = message
        show_warning(f"ZSSR: {message}")
