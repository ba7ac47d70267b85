"""The dock widget: choose an image and a kernel, press Run; training runs in a worker while napari stays usable."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
    Widget,
)

from ..api import background_note
from ..axial import describe_axial_profile
from ..core.bead_check import bead_problem
from ..core.choices import DEFAULT_OUTPUTS
from ..core.config import DEFAULT_PRESET, DEFAULT_SCALE, PRESETS, ZSSRConfig
from ..core.device import select_device
from ..core.psf import checked_psf_array
from ..core.resize import as_scale_pair, pixel_pair, upscale_factors
from ..core.run_time import Workload
from ..input_values import check_plane_sides
from ..kernel_choice import KernelChoice, PsfChannelError, describe_kernel, psf_channel_for
from ..resolution_report import describe_resolution
from .advanced_settings import AdvancedSettings
from .estimate import BackgroundEstimate, run_finished, run_started, timing_holds_turn
from .input_watch import watch_input
from .loss_plot import LossPlot
from .optics_fields import OpticsFields
from .output_claim import OutputClaim
from .output_layers import add_or_update, layer_tuples, remove_stale_outputs
from .reader import scale_counts_input_pixels
from .runner import (
    LAYER_PIXEL_UM,
    axial_geometry,
    background_run,
    check_axial_volume,
    layer_channel,
    pixel_size_of,
    plane_at_viewer_position,
    prepare,
    show_run_warning,
    sides_beyond_layer_range,
    snapshot_layer,
)
from .sample_data import is_psf_layer
from .shutdown import stop_at_exit
from .spin_boxes import SMALLEST_SHOWN, say_at_zero, show_four_decimals
from .worker_turns import start_in_turn, turn_ended, withdraw

if TYPE_CHECKING:
    import napari

    from ..io.psf import PsfFile

#: kernel sources offered in the "kernel" section; each shows only its own fields.
PSF_FILE = "PSF file"
OPTICS = "from optics"
ESTIMATE = "estimate from the image"
BICUBIC = "none (bicubic)"

#: the widest the dock asks for: long layer names, paths and messages wrap or elide instead of widening it.
MAX_FIELD_WIDTH = 260


class LayerBox(ComboBox):
    """A choice of layer that stays on its layer while the layer is offered. napari resets a dock widget's choices
    whenever a layer is renamed, and magicgui knows a choice by its name: the renamed chosen layer would give way to
    the first layer (another channel, silently). The box says it changed only when its layer left."""

    def reset_choices(self, *_: Any) -> None:
        chosen = self.value
        with self.changed.blocked():
            super().reset_choices()
            if any(choice is chosen for choice in self.choices):
                self.value = chosen
        if self.value is not chosen:
            self.changed.emit(self.value)


class ZSSRWidget(Container):
    """Every default comes from :class:`ZSSRConfig`; the run itself is :func:`napari_zssr.zssr_stack`, or
    :func:`napari_zssr.zssr_axial` in axial mode (:func:`.runner.compute`)."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        self._viewer = viewer
        self.image = LayerBox(label="image", choices=self._image_choices,
                              tooltip="The image layer to super-resolve: 2D, or a stack run plane by plane over "
                                      "its leading axes. PSF layers are not offered")
        self.axial = CheckBox(text="axial (isotropic z)", value=False,
                              tooltip="3D layers: restore the z axis to the lateral pixel size, learning from the "
                                      "sharp lateral planes; the factor is the layer's z step / pixel size")
        kernel_section = self._build_kernel_section()
        self.pixel_size = FloatSpinBox(label="image pixel (µm)", min=0, max=LAYER_PIXEL_UM[1], step=0.001, value=0.0,
                                       tooltip="The image's pixel size, read from the layer's scale. 0: unknown (a "
                                               "scale of 1): the PSF is then taken as sampled at the image's pixels. "
                                               "To correct the layer's, type the right size (0 keeps the layer's)")
        show_four_decimals(self.pixel_size, 0.0)
        say_at_zero(self.pixel_size, "unknown")
        self.scale = FloatSpinBox(label="scale", min=1.1, max=8.0, step=0.5, value=DEFAULT_SCALE,
                                  tooltip="Super-resolution factor per axis; with a kernel a whole number")
        self.preset = ComboBox(label="preset", choices=list(PRESETS), value=DEFAULT_PRESET,
                               tooltip="fast: a tenth of default's time, on average as good (start here); default: "
                                       "from scratch, 1000 iterations; paper: the ZSSR authors' settings. Sets the "
                                       "advanced settings")
        self.current_plane = CheckBox(text="current plane only (quick preview)", value=False,
                                      tooltip="Run only the plane shown in the viewer")
        self.show_advanced = CheckBox(text="show advanced settings", value=False,
                                      tooltip="Noise, back-projection, ensemble, uncertainty, learned and warm "
                                              "start, background, iterations, device, precision, seed")
        self.advanced = AdvancedSettings()
        advanced_section = self.advanced.widgets
        self.estimate = Label(label="estimate", value="")
        self.progress_bar = ProgressBar(label="progress", min=0, max=1, value=0,
                                        tooltip="Training iterations done over all planes")
        self.loss_plot = LossPlot()
        loss_box = Container(name="loss", label="loss", labels=False)
        loss_box.native.layout().addWidget(self.loss_plot)
        self.status = Label(label="status", value="")
        # two buttons, not one that turns into Cancel: the second click of a double click on Run would cancel the run
        # it had just started. The one that does not apply is disabled (a disabled button ignores the click).
        self.run_button = PushButton(text="Run", tooltip="Start the run")
        self.cancel_button = PushButton(text="Cancel", enabled=False,
                                        tooltip="Stop the run going; a cancelled run adds nothing")
        buttons = Container(layout="horizontal", labels=False, widgets=[self.run_button, self.cancel_button])
        buttons.margins = (0, 0, 0, 0)
        for label in (self.estimate, self.status):
            label.native.setWordWrap(True)  # a long message wraps instead of widening the dock
        self._lateral_only: list[Widget] = [*kernel_section, self.scale, self.current_plane]
        self._inputs: list[Widget] = [self.image, self.axial, *kernel_section, self.pixel_size, self.scale,
                                      self.preset, self.current_plane, *advanced_section]
        self.extend([self.image, self.axial, *kernel_section, self.pixel_size, self.scale, self.preset,
                     self.current_plane,
                     self.show_advanced, *advanced_section, self.estimate, self.progress_bar, loss_box, self.status,
                     buttons])
        self._limit_widths()
        self._worker: Any = None
        self._outputs: OutputClaim | None = None  # the output names the running run holds
        self._stop: threading.Event | None = None
        self._turn: Callable[[], None] | None = None  # what starts the worker when its turn comes (worker_turns)
        self._progress: Any = None
        # ends the watch on the running run's input layer: removing it, or changing its data or place, cancels the run
        self._unwatch_input: Callable[[], None] = lambda: None
        self._cancel_reason = ""  # why the running run was cancelled, where the user did not press Cancel
        self._closed = False  # the viewer (and with it this widget's Qt side) is gone: a run only winds down
        # the status line a finished or refused run left: about its layer and mode, cleared when another is chosen
        self._run_outcome = ""
        # why Run was last refused before anything ran: about the settings then, cleared when one of them changes
        self._refusal = ""
        # the standing notes (_standing_notes) the status line was last given: while it shows them, a change of what
        # they say (the layer chosen, a field's value) rewrites them; anything else it shows (a run's words) stays
        self._notes_shown = ""
        self._layer_pixel_size = 0.0  # what the pixel field was set to from the layer (0: unknown)
        self._psf_file_pixel_size = 0.0  # what the PSF pixel field was set to from the PSF file (0: unknown)
        self._psf_pixel_rejected = False  # the PSF file's pixel size is outside the field's range (shown as a note)
        # the file the PSF note is of, the note, and the file's channels (one PSF each where more than 1)
        self._psf_note_kept: tuple[tuple | None, str, int, bool] = (None, "", 1, False)
        # id of a field -> (the field, the value left in it, its note on a value beyond its range), until it changes
        self._range_notes: dict[int, tuple[Widget, Any, str]] = {}
        self._watched_layer: Any = None  # the layer whose scale the pixel field follows
        # (the kernel source and PSF pixel size before, the PSF file) where the chosen layer brought its PSF file
        # (_take_layers_psf)
        self._layers_psf: tuple[str, float, str] | None = None
        self._estimate = BackgroundEstimate(lambda text: None if self._closed else setattr(self.estimate, "value",
                                                                                          text))
        self.native.destroyed.connect(self._on_closed)
        self._panel_watch = watch_for_detach(self.native, self._on_closed)
        self.preset.changed.connect(self._apply_preset)
        self.image.changed.connect(self._on_image_changed)
        self.scale.changed.connect(self._constrain_scale)
        self.axial.changed.connect(self._show_mode_fields)
        self.show_advanced.changed.connect(self._show_advanced_settings)
        advanced = self.advanced
        for widget in (advanced.noise, advanced.noise_auto, advanced.ensemble):
            widget.changed.connect(self._enable_advanced)
        for widget in (advanced.device, advanced.precision, advanced.max_iterations, self.current_plane,
                       advanced.warm_start, self.scale, advanced.ensemble, self.preset, self.pixel_size,
                       advanced.background_window):  # what the time depends on, or what it cannot be estimated
            # for (a preset sets several; the pixel size gives an axial run its factor; a window too narrow)
            widget.changed.connect(self._update_estimate)
        for widget in (*self._kernel_fields[PSF_FILE], *self.optics_fields.widgets, self.scale, self.pixel_size,
                       self.preset, advanced.max_iterations, advanced.device, advanced.precision, advanced.warm_start,
                       advanced.background_window, self.current_plane):
            widget.changed.connect(self._drop_refusal)
        self.run_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.cancel)
        viewer.layers.events.inserted.connect(self._refresh_layers)
        viewer.layers.events.removed.connect(self._refresh_layers)
        self._show_kernel_fields()
        self._show_advanced_settings()
        self._enable_advanced()
        self._on_image_changed()

    # --- layout -----------------------------------------------------------------------------------------------
    def _build_kernel_section(self) -> list[Widget]:
        """The kernel's source and the fields of each source; only the chosen source's fields are shown."""
        self.kernel_source = ComboBox(label="kernel", choices=[PSF_FILE, OPTICS, ESTIMATE, BICUBIC], value=BICUBIC,
                                      tooltip="The blur from the true image to yours. PSF file: your microscope's "
                                              "measured or computed PSF. from optics: computed from the objective's "
                                              "NA and the wavelength. estimate: fitted to the image's spectrum. "
                                              "none: a bicubic kernel (ZSSR then gains little on microscope images)")
        self.psf = FileEdit(label="PSF file", mode="r", filter="PSF (*.tif *.tiff *.btf *.npy *.mat)", value="",
                            tooltip="Your microscope's PSF: TIFF (2D or a z-stack; or one per channel, of which a "
                                    "layer opened from channel k of its file takes channel k), .npy, or .mat "
                                    "(Kernel/kernel)")
        self.psf_pixel_size = FloatSpinBox(label="PSF pixel (µm)", min=0, max=100, step=0.001, value=0.0,
                                           tooltip="The PSF's pixel size, read from the file's metadata. 0: "
                                                   "unknown: the PSF is taken as sampled at the image's pixels. To "
                                                   "correct the file's, type the right size (0 keeps the file's)")
        show_four_decimals(self.psf_pixel_size, 0.0)
        say_at_zero(self.psf_pixel_size, "unknown")
        self.optics_fields = OpticsFields(self._set_in_range, self._note_on_field)
        optics_fields = self.optics_fields.widgets
        self._kernel_fields: dict[str, list[Widget]] = {PSF_FILE: [self.psf, self.psf_pixel_size],
                                                        OPTICS: optics_fields, ESTIMATE: [], BICUBIC: []}
        self.kernel_source.changed.connect(self._show_kernel_fields)
        self.optics_fields.modality.changed.connect(self._show_kernel_fields)
        self.psf.changed.connect(self._on_psf_file_changed)
        return [self.kernel_source, self.psf, self.psf_pixel_size, *optics_fields]

    def _show_mode_fields(self, *_: Any) -> None:
        """Axial mode takes its factor from the layer's scale and learns the z blur itself: no kernel, no scale."""
        self._clear_run_outcome()
        for widget in self._lateral_only:
            widget.visible = not self.axial.value
        self._enable_advanced()
        self._show_kernel_fields()  # and the PSF file's note, which goes in axial mode (it takes no kernel)
        self._update_estimate()

    def _show_kernel_fields(self, *_: Any) -> None:
        if not self.running:  # a note on a source left goes (the PSF file's returns with its source)
            self._show_standing_notes()
        for source, fields in self._kernel_fields.items():
            for field in fields:
                field.visible = source == self.kernel_source.value and not self.axial.value
        confocal = self.kernel_source.value == OPTICS and self.optics_fields.confocal and not self.axial.value
        self.optics_fields.excitation.visible = self.optics_fields.pinhole.visible = confocal
        self._constrain_scale()

    def _kernel_arguments(self) -> dict[str, Any]:
        """What :func:`prepare` needs from the kernel section, for the chosen source."""
        if self.kernel_source.value == PSF_FILE:
            if not self._psf_given():
                raise ValueError("no PSF file chosen: choose one, or set the kernel to 'none (bicubic)'")
            typed = self.psf_pixel_size.value not in (0.0, self._psf_file_pixel_size)
            if self._psf_pixel_rejected and not typed:  # the run would take the file's value the note calls unused
                raise ValueError("the PSF file's pixel size is outside the range the PSF pixel field takes (a value "
                                 "in the wrong unit?): type the PSF's pixel size in µm")
            return {"psf": str(self.psf.value), "psf_pixel_size": self.psf_pixel_size.value if typed else None}
        if self.kernel_source.value == OPTICS:
            if not self.optics_fields.wavelength.value:  # never a default in its place: the CLI refuses such a file too
                out_of_range = self._range_notes.get(id(self.optics_fields.wavelength))  # the file's, not usable
                why = out_of_range[2] if out_of_range else "none typed, nor given by the layer's file"
                raise ValueError(f"a kernel from the optics needs the emission wavelength: type it in 'emission "
                                 f"(nm)' ({why})")
            self._standing_notes()  # a note on a field changed since is gone
            unusable_na = self._range_notes.get(id(self.optics_fields.na))  # the file's, not the default shown
            if unusable_na:  # as the command line fails such a file: never the default in its place
                raise ValueError(f"a kernel from the optics needs the objective's NA: type it in 'NA' "
                                 f"({unusable_na[2]}; {self.optics_fields.na.value:g} is the widget's default)")
            unusable_excitation = self._range_notes.get(id(self.optics_fields.excitation))
            if unusable_excitation and self.optics_fields.confocal:  # as the command line: never the emission instead
                raise ValueError(f"a confocal kernel from the optics needs the excitation wavelength: type it in "
                                 f"'excitation (nm)' ({unusable_excitation[2]}; 0 takes the emission wavelength)")
            return {"kernel": KernelChoice("optics", optics=self.optics_fields.optics())}
        if self.kernel_source.value == ESTIMATE:
            return {"kernel": KernelChoice("estimate")}
        return {}

    def _show_advanced_settings(self, *_: Any) -> None:
        self.advanced.show(bool(self.show_advanced.value))

    def _limit_widths(self) -> None:
        """Keep the dock narrow: combo boxes and paths do not grow with their contents."""
        from qtpy.QtWidgets import QComboBox

        self.image.native.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.image.native.setMinimumContentsLength(12)
        for widget in (self.image, self.psf, self.estimate, self.status):
            widget.native.setMaximumWidth(MAX_FIELD_WIDTH)

    # --- settings -------------------------------------------------------------------------------------------
    def _image_choices(self, *_: Any) -> list[tuple[str, Any]]:
        import napari.layers

        return [(layer.name, layer) for layer in self._viewer.layers
                if isinstance(layer, napari.layers.Image) and not is_psf_layer(layer)]

    def _apply_preset(self) -> None:
        self.advanced.apply_preset(ZSSRConfig.preset(self.preset.value))

    def _enable_advanced(self, *_: Any) -> None:
        self.advanced.enable(axial=bool(self.axial.value), running=self.running)

    def _constrain_scale(self, *_: Any) -> None:
        """With a kernel the factor must be a whole number: step by 1 and round what was typed."""
        whole = self.kernel_source.value != BICUBIC  # a kernel samples the HR grid with a whole stride
        self.scale.step = 1.0 if whole else 0.5
        if whole and self.scale.value != max(2.0, round(self.scale.value)):
            self.scale.value = max(2.0, float(round(self.scale.value)))

    def config(self) -> ZSSRConfig:
        """The chosen preset with the widget's fields over it: the one place the widget's settings become a run's."""
        return self.advanced.config(ZSSRConfig.preset(self.preset.value), axial=bool(self.axial.value))

    def _refresh_layers(self, *_: Any) -> None:
        self.image.reset_choices()  # says so where the chosen layer left, the last one included

    def _on_image_changed(self, *_: Any) -> None:
        if self._closed:  # napari still refreshes a closed panel's layer list (it never disconnects it)
            return
        layer = self.image.value
        self._watch_layer(None)
        self._watch_layer(layer)
        self._clear_run_outcome()
        self.pixel_size.value = self._layer_pixel_size = 0.0  # a new layer: its own scale, not a value typed before
        self._show_layer_pixel_size()
        metadata = getattr(layer, "metadata", {}) or {}
        for field in self.optics_fields.widgets:  # a note on the previous layer's file (its NA out of range) goes
            self._range_notes.pop(id(field), None)
        self.optics_fields.fill_from(metadata)  # with notes on this one's
        if not self.running and self._status_shows_notes():  # of this layer: its pixel size, file, PSF channel
            self._show_standing_notes()
        self._take_layers_psf(metadata)
        self._update_estimate()

    def _take_layers_psf(self, metadata: dict[str, Any]) -> None:
        """The sample brings its PSF file along (where no PSF file is chosen). Another layer chosen gets the kernel
        source and PSF pixel size the panel had before and no PSF file, unless the user changed the source or the file
        since: the sample's synthetic PSF never passes for another image's, as a file's optics never pass for another
        layer's."""
        if self._layers_psf is not None:
            source_before, pixel_before, layers_psf = self._layers_psf
            self._layers_psf = None
            if self.kernel_source.value == PSF_FILE and str(self.psf.value) == layers_psf:
                self.psf.line_edit.value = ""  # empty, as at the start (FileEdit.value turns "" into the cwd)
                self.psf_pixel_size.value = pixel_before
                self.kernel_source.value = source_before
        if metadata.get("zssr_psf_path") and not self._psf_given():
            before = (self.kernel_source.value, self.psf_pixel_size.value)
            self.kernel_source.value = PSF_FILE
            self.psf.value = metadata["zssr_psf_path"]
            self._layers_psf = (*before, str(self.psf.value))
            if metadata.get("zssr_psf_pixel_size"):
                self.psf_pixel_size.value = metadata["zssr_psf_pixel_size"]

    def _watch_layer(self, layer: Any) -> None:
        """Follow ``layer``'s changes that the panel shows (None: stop following the one followed): its scale and
        units make the pixel size, its data the estimate's workload."""
        if self._watched_layer is not None:
            for name, show in self._layer_watchers():
                if hasattr(self._watched_layer.events, name):
                    getattr(self._watched_layer.events, name).disconnect(show)
        self._watched_layer = layer
        if layer is not None:
            for name, show in self._layer_watchers():
                if hasattr(layer.events, name):  # units: napari 0.5 and later
                    getattr(layer.events, name).connect(show)

    def _layer_watchers(self) -> list[tuple[str, Callable[..., None]]]:
        return [("scale", self._show_layer_pixel_size), ("units", self._show_layer_pixel_size),
                ("scale", self._update_axial_estimate), ("units", self._update_axial_estimate),
                ("data", self._update_estimate), ("name", self._show_layer_name)]

    def _show_layer_name(self, *_: Any) -> None:
        """The notes and the estimate line name the chosen layer (the PSF channel it takes, why Run refuses it)."""
        if not self.running and self._status_shows_notes():
            self._show_standing_notes()
        self._update_estimate()

    def _update_axial_estimate(self, *_: Any) -> None:
        """An axial run's factor is the layer's z step over its pixel size: a z scale changed alone (the pixel size
        field unchanged) changes the run, or makes Run refuse it."""
        if self.axial.value:
            self._update_estimate()

    def _show_layer_pixel_size(self, *_: Any) -> None:
        """The layer's pixel size in the field (their geometric mean where y and x differ; 0: unknown). A run
        given the value shown takes the layer's own scale instead, so that unequal sides stay a pair."""
        layer = self.image.value
        scale = getattr(layer, "scale", None)
        layer_size = None if scale is None else pixel_size_of(
            scale, getattr(layer, "units", None), scale_counts_input_pixels(getattr(layer, "metadata", {})))
        pixel = None if layer_size is None else as_scale_pair(layer_size)  # no range check: the field notes it
        size = 0.0 if pixel is None else float(np.sqrt(pixel[0] * pixel[1]))
        outside = sides_beyond_layer_range(layer_size)
        size = outside[0] if outside else size  # a side Run refuses, though the sides' mean may lie within
        if float(self.pixel_size.value) not in (0.0, self._layer_pixel_size):
            return  # a value the user typed: it overrides the layer's
        self._set_in_range(self.pixel_size, size, "the layer's pixel size")  # beyond: a note; Run refuses it
        self._layer_pixel_size = float(self.pixel_size.value)  # as the field holds it (4 decimals)
        # what a 0 in the field makes the run take
        say_at_zero(self.pixel_size, "the layer's" if self._layer_pixel_size else "unknown")

    def _set_in_range(self, field: Widget, value: float, what: str, unknown: float | None = 0.0,
                      takes: tuple[float, float] | None = None) -> bool:
        """Show ``value`` in ``field``; beyond its range (or below the 4 decimals it shows), a note in the status
        line instead, and ``unknown`` in the field (None: the field keeps its value). ``takes``: the range of the
        values that mean what the field holds, where narrower than the field's (whose 0 may stand for unknown). The
        status line shows every field's note at once (a file's NA and wavelength may both be out of range); a value
        in range clears its field's note."""
        low, high = takes or (field.min, field.max)
        in_range = low <= value <= high and not 0 < abs(value) < SMALLEST_SHOWN
        if in_range:
            field.value = value
            self._range_notes.pop(id(field), None)
        else:
            if unknown is not None:
                field.value = unknown
            shown_low = max(low, SMALLEST_SHOWN) if low >= 0 else low  # 0 stands for "unknown", alone
            self._range_notes[id(field)] = (field, field.value, f"{what} {value:g} is outside the range "
                                             f"{shown_low:g}-{high:g} this field takes (a value in the wrong unit?); "
                                             "not used")
        if not in_range or self._status_shows_notes():  # every field's note at once; others' left be
            self._show_standing_notes()
        return in_range

    def _note_on_field(self, field: Widget, note: str) -> None:
        """A note on what a layer's file said of ``field`` that it does not hold (an acquisition mode no model
        describes), in the status line with the others while the field keeps its value."""
        self._range_notes[id(field)] = (field, field.value, note)
        self._show_standing_notes()

    def _standing_notes(self, psfs: list[PsfFile] | None = None) -> str:
        """The status notes that hold while their fields do: values out of range, and the chosen PSF file's problem
        (``psfs``: as :meth:`_psf_note` takes them)."""
        return "; ".join(note for note in (self._range_note_text(), self._psf_note(psfs)) if note)

    def _show_standing_notes(self, psfs: list[PsfFile] | None = None) -> None:
        """Put the standing notes in the status line, remembering them: they are rewritten while it shows them."""
        self.status.value = self._notes_shown = self._standing_notes(psfs)

    def _status_shows_notes(self) -> bool:
        """Whether the status line shows the standing notes as last written, not a run's words: several notes are of
        the chosen layer (its pixel size, its file's optics, the PSF channel it takes), so they are compared with what
        was written, never with what they would say of the layer chosen now."""
        return self.status.value == self._notes_shown

    def _range_note_text(self) -> str:
        """The notes of fields still holding the value their note left there (one the user changed has none)."""
        for key, (field, left, _) in list(self._range_notes.items()):
            if field.value != left:
                del self._range_notes[key]
        return "; ".join(note for _, _, note in self._range_notes.values())

    def _psf_note(self, psfs: list[PsfFile] | None = None) -> str:
        """What to say of the chosen PSF file (``psfs``: its PSFs, when just read) when it is the kernel source: why it
        cannot be read (Run refuses it with that message), how it was read (several series, planes on its last axis;
        a PSF per channel, and which a layer takes) and the warning that it does not look like one bead, of each
        channel's PSF (Run repeats both, of the layer's PSF, as notifications); else "". The status line shows it
        while it applies, and asks for it on every change of a field: it is kept for the file as it is (its path, size
        and time of change), not read again (every channel of a large PSF, on the GUI thread)."""
        if self.kernel_source.value != PSF_FILE or self.axial.value or not self._psf_given():
            return ""
        path = str(self.psf.value)
        try:
            state = os.stat(path)
            version = (path, state.st_size, state.st_mtime_ns)
        except OSError:
            version = None
        if not (psfs is None and version is not None and self._psf_note_kept[0] == version):
            self._psf_note_kept = (version, *self._psf_file_note(path, psfs))
        _, note, channels, by_series = self._psf_note_kept
        return "; ".join(part for part in (note, self._layers_psf_channel(path, channels, by_series)) if part)

    def _layers_psf_channel(self, path: str, channels: int, by_series: bool) -> str:
        """Which PSF channel the chosen layer takes of the PSF file at ``path`` (of ``channels``, one PSF each; its
        image series where ``by_series``), or why Run refuses it (:func:`~napari_zssr.kernel_choice.psf_channel_for`,
        every front's rule); "" for a file of one."""
        layer = self.image.value
        if channels <= 1 or layer is None:
            return ""
        try:
            channel = psf_channel_for(path, *layer_channel(layer), count=channels, by_series=by_series)
        except PsfChannelError as error:
            return f"layer {layer.name!r}: {error}"
        if by_series:  # None: the first
            return f"layer {layer.name!r} takes series {channel or 0} of {Path(path).name}"
        return f"layer {layer.name!r} takes PSF channel {channel}"

    def _psf_file_note(self, path: str, psfs: list[PsfFile] | None) -> tuple[str, int, bool]:
        """:meth:`_psf_note` of the PSF file at ``path`` (``psfs``: as just read), read now, the file's channels and
        whether they are its image series."""
        from ..io.psf import open_psf_channels

        try:
            psfs = open_psf_channels(path) if psfs is None else psfs  # each channel's, of a PSF per channel
        except (ValueError, OSError) as error:
            return str(error), 1, False
        psf = psfs[0]
        notes = [psf.note]  # of image series one PSF per channel, which a layer takes too
        if psf.channels > 1 and not psf.by_series:  # which a layer takes (Run refuses one of no channel, saying why)
            notes.append(f"{Path(path).name} holds {psf.channels} channels, one PSF each: a layer opened from channel "
                         "k of a multichannel file (the napari-zssr reader gives each channel its own layer) uses its "
                         "channel k")
        for each in psfs:
            where = "" if each.channel is None else f" (channel {each.channel})"
            try:  # values Run refuses (NaN, a 1D array), said now
                checked_psf_array(each.data)
            except (ValueError, TypeError) as error:  # TypeError: not real numbers (a bool mask, complex values)
                notes.append(f"{error}{where}")
                continue
            problem = bead_problem(each.data)
            notes.append(problem and f"warning: this PSF{where} does not look like a bead: {problem}")
        return "; ".join(note for note in notes if note), psf.channels, psf.by_series

    def _on_psf_file_changed(self, *_: Any) -> None:
        """Show the PSF file's pixel size, and warn at once when it does not look like a bead."""
        from ..io.psf import open_psf_channels

        self._psf_pixel_rejected = False
        say_at_zero(self.psf_pixel_size, "unknown")
        if not self._psf_given():
            return
        path = str(self.psf.value)
        try:
            psfs = open_psf_channels(path)
        except (ValueError, OSError):
            self._show_standing_notes()  # why it cannot be read: the run refuses it with that message
            return
        self._show_standing_notes(psfs)
        pixel_size = psfs[0].pixel_size  # every channel's
        # unequal sides show as their geometric mean; left as shown, the run takes the file's own (y, x) pair
        shown = float(np.sqrt(np.prod(pixel_pair(pixel_size)))) if pixel_size is not None else 0.0
        self._psf_pixel_rejected = not self._set_in_range(self.psf_pixel_size, shown, "the PSF file's pixel size")
        self._psf_file_pixel_size = float(self.psf_pixel_size.value)
        say_at_zero(self.psf_pixel_size, "the file's" if self._psf_file_pixel_size else "unknown")

    def _planes(self) -> int:
        layer = self.image.value
        if layer is None or self.current_plane.value:
            return 1
        shape = (layer.data[0] if layer.multiscale else layer.data).shape
        return int(np.prod(shape[:-2])) if len(shape) > 2 else 1

    def _warm_start_iterations(self) -> int | None:
        return self.config().warm_start_iterations() if self.advanced.warm_start.value else None

    def _update_estimate(self, *_: Any) -> None:
        if self._closed:
            return
        if self.image.value is None:
            self._estimate.say("choose an image layer")
            return
        try:
            self._estimate.request(str(self.advanced.device.value), self.config(), self._workload())
        except (ValueError, RuntimeError) as error:
            self._estimate.say(str(error))

    def _workload(self) -> Workload:
        """What Run would do with the current settings: planes (the current one, or all), or in axial mode one
        network per volume applied to its XZ and YZ slices (as many voxels as 2 x Y slices of Z x X), at the factor
        its z scale over its pixel size gives."""
        layer = self.image.value
        snapshot = snapshot_layer(layer)  # a layer Run refuses (RGB) gets Run's message instead of an estimate
        shape = (layer.data[0] if layer.multiscale else layer.data).shape
        if self.axial.value:  # so does one axial mode refuses (2D, z unknown, a z step not a whole multiple, too
            factor, _ = axial_geometry(snapshot, self._typed_pixel_size())  # few planes, planes too small)
            check_axial_volume(snapshot, factor, shape_only=True)
            volumes = int(np.prod(shape[:-3]))
            return Workload((shape[-3], shape[-1]), (float(factor), 1.0), 2 * volumes * shape[-2], volumes=volumes,
                            lateral_shape=shape[-2:])
        check_plane_sides(shape, upscale_factors(self.scale.value))  # planes too small for the scale: Run's message
        return Workload(shape, self.scale.value, self._planes(), self._warm_start_iterations())

    # --- running --------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, *_: Any) -> Any:
        """Check the inputs and start the worker; a problem is shown in the status line, never as a traceback."""
        if self.running:  # one run at a time: a second would write the same layers
            return self._worker
        self.progress_bar.value = 0  # the last run's full bar and curve beside a refusal would read as its outcome
        self.loss_plot.clear()
        layer = self.image.value
        if layer is None:
            self._show_problem("choose an image layer first")
            return None
        try:
            lateral = {} if self.axial.value else {
                **self._kernel_arguments(), "scale": self.scale.value,
                "current_step": plane_at_viewer_position(layer, self._viewer) if self.current_plane.value else None,
                "warm_start_iterations": self._warm_start_iterations()}
            request = prepare(layer, **lateral, axial=bool(self.axial.value), pixel_size=self._typed_pixel_size(),
                              config=self.config(), outputs=(*DEFAULT_OUTPUTS, "ensemble_spread")
                              if self.advanced.wants_spread else DEFAULT_OUTPUTS)
            self._outputs = OutputClaim(self._viewer, layer, request)
        except (ValueError, TypeError, OSError) as error:
            self._show_problem(str(error))
            self._refusal = str(error)
            return None
        try:
            self._unwatch_input = watch_input(self._viewer, layer, self._input_changed)
            return self._launch(request)
        except BaseException:  # nothing runs: the output names are free again
            self._end_input_watch()
            self._release_outputs()
            raise

    def _launch(self, request: Any) -> Any:
        """Start the worker of a checked ``request`` whose output names this widget holds."""
        from napari.utils import progress
        from superqt.utils import thread_worker

        self._stop = stop_at_exit(threading.Event())
        # busy until the core's first event says how much work the run is (warm starts, axial runs and gradual
        # steps make it other than planes x iterations)
        self._progress = progress(total=0, desc="ZSSR")
        self.progress_bar.max = 0
        # superqt's worker, not napari's: napari's also reports every error as a notification and re-raises it
        # in Qt's event loop; here an error is shown once, in the status line.
        self._worker = thread_worker(background_run, start_thread=False, ignore_errors=True)(
            request, self._stop, warnings.showwarning)
        self._worker.yielded.connect(self._on_progress)
        self._worker.warned.connect(show_run_warning)
        outputs = self._outputs
        self._worker.returned.connect(lambda result: self._on_done(outputs, result))
        self._worker.errored.connect(self._on_error)
        self._worker.finished.connect(self._on_finished)
        self._set_running(True)
        run_started()
        self._turn = turn = self._worker.start
        self._worker.finished.connect(lambda: turn_ended(turn))
        started = start_in_turn(turn)
        self.status.value = f"running on {select_device(request.config.device)}" if started else \
            "waiting for the time estimate's timing (a few seconds) to end" if timing_holds_turn() else \
            "waiting for the run already going (here, in another panel or the console) to end"
        return self._worker

    def _input_changed(self, why: str) -> None:
        """The running run's input left the viewer, or its data or placement changed: its result would be of data the
        layer no longer holds, or sit where the layer no longer is. The first reason stands."""
        if self.running and not self._closed and not self._cancel_reason:
            self._cancel_reason = why
            self.cancel()

    def _release_outputs(self) -> None:
        if self._outputs is not None:
            self._outputs.release()
        self._outputs = None

    def _end_input_watch(self) -> None:
        self._unwatch_input()
        self._unwatch_input = lambda: None

    def _on_closed(self, *_: Any) -> None:
        """The viewer or this panel closed: cancel the run, whose remaining signals then touch no deleted widget,
        and which adds nothing (a panel reopened later runs on its own). A closed panel follows the viewer no more."""
        self._closed = True
        if self._stop is not None:
            self._stop.set()
        self._leave_queue()
        for event in (self._viewer.layers.events.inserted, self._viewer.layers.events.removed):
            event.disconnect(self._refresh_layers)
        self._watch_layer(None)

    def cancel(self, *_: Any) -> None:
        if self._stop is not None:
            self._stop.set()
        reason = self._cancel_reason  # leaving the queue ends the run, which clears it
        self.status.value = f"{reason}: cancelling..." if reason else "cancelling..."
        if self._leave_queue():
            self.status.value = self._run_outcome = f"{reason} before the run started; nothing was added" \
                if reason else "cancelled before it started; nothing was added"

    def _leave_queue(self) -> bool:
        """End a run still waiting for its turn at once (its worker never starts); whether it was waiting."""
        if self._turn is None or not withdraw(self._turn):
            return False
        self._on_finished()
        return True

    def _typed_pixel_size(self) -> float | None:
        """The pixel size a user typed; None (the layer's own scale, as a (y, x) pair where they differ) while the
        field shows what the layer says."""
        value = float(self.pixel_size.value)
        return None if value == 0.0 or value == self._layer_pixel_size else value

    def _psf_given(self) -> bool:
        return bool(str(self.psf.value).strip()) and str(self.psf.value) not in (".", "")

    def _on_progress(self, event: Any) -> None:
        # napari's bar, held locally: its refresh() may process Qt events, and so run _on_finished, which drops it
        bar = self._progress
        if self._closed or event is None or bar is None or (self._stop is not None and self._stop.is_set()):
            return
        if event.stage == "done":
            bar.n = self.progress_bar.value = self.progress_bar.max
            bar.refresh()
            return
        bar.total = self.progress_bar.max = max(event.total, 1)  # the core's work units, as every front shows them
        bar.n = self.progress_bar.value = min(event.done, bar.total)
        plane = f"{event.unit} {event.plane + 1}/{event.n_planes}"
        if event.stage == "training":
            if event.loss is not None:
                self.loss_plot.add(event.plane, event.iteration, event.loss)
            bar.set_description(f"ZSSR {plane}, loss {event.loss or 0:.4f}")
            self.status.value = f"{plane}, iteration {event.iteration}"
        else:
            self.status.value = f"{plane}, {event.stage}"
        bar.refresh()

    def _on_error(self, error: Exception) -> None:
        if not self._closed:
            self.progress_bar.value = 0  # no part of a run that failed stands
        self._show_problem(f"the run failed: {error}")

    def _on_done(self, outputs: OutputClaim, result: Any) -> None:
        if self._closed:
            return
        request = outputs.request  # named after the input as it is called now
        if result is None or (self._stop is not None and self._stop.is_set()):  # cancelled, maybe after training
            why = f"{self._cancel_reason} during the run" if self._cancel_reason else "cancelled"
            self.status.value = self._run_outcome = f"{why}; nothing was added"
            self.progress_bar.value = 0
            return
        try:
            add_or_update(self._viewer, layer_tuples(request, result), request.snapshot.layer)
        except ValueError as error:  # a layer of another type took an output's name during the run
            self._show_problem(f"{error}, then run again")
            return
        remove_stale_outputs(self._viewer, request)
        self.progress_bar.value = self.progress_bar.max
        seconds = result.timings["total_s"]
        done = f"done in {seconds:.{0 if seconds >= 10 else 1}f} s on {result.device}"  # not "0 s" for a short run
        if result.kernel.get("source") == "estimate":
            done += f"; kernel {describe_kernel(result.kernel)}"
        if request.axial_scale is not None:
            done += f"; z x{request.axial_scale}, {describe_axial_profile(result.kernel)}"
            self.status.value = self._run_outcome = done  # no resolution is read along z
            return
        said = [done, describe_resolution(result.resolution), background_note(result.background_taken_off)]
        self.status.value = self._run_outcome = "; ".join(part for part in said if part)

    def _drop_refusal(self, *_: Any) -> None:
        """Take away why Run was refused once a setting changes: it may be the fix (an NA typed below the immersion's
        index), and a refusal that no longer applies read as one that does. The notes that still apply come back."""
        if not self.running and self._refusal and self.status.value == self._refusal:
            self._refusal = self._run_outcome = ""
            self._show_standing_notes()

    def _clear_run_outcome(self) -> None:
        """Take away what the last run said (done, cancelled, or why it was refused or failed) once another layer or
        mode is chosen: it was about the one before. The notes that still apply (fields out of range, the PSF file's
        problem) come back."""
        if not self.running and self._run_outcome and self.status.value == self._run_outcome:
            self._run_outcome = ""
            self._show_standing_notes()
            self.progress_bar.value = 0

    def _on_finished(self) -> None:
        self._turn = None
        self._end_input_watch()
        self._cancel_reason = ""
        run_finished()
        self._release_outputs()
        self._update_estimate()  # one asked for during the run was left for now
        if self._progress is not None:
            self._progress.close()
        self._progress = None
        self._worker = None
        if not self._closed:
            self._set_running(False)
            if not self.progress_bar.max:  # ended before the core's first event: not left busy, as if running
                self.progress_bar.max = 1

    def _set_running(self, running: bool) -> None:
        for widget in self._inputs:
            widget.enabled = not running
        if not running:
            self._enable_advanced()
        self.run_button.enabled = not running
        self.cancel_button.enabled = running

    def _show_problem(self, message: str) -> None:
        """In the status line, and as a notification unless it is the outcome the status line still shows: each click
        of a double click on a Run that is refused would put up the same warning. Only an outcome counts: a note the
        status line shows before any Run (the chosen PSF file's problem) is notified at the first Run that it stops."""
        from napari.utils.notifications import show_warning

        if self._closed:
            return
        repeated = self._run_outcome == message and self.status.value == message
        self.status.value = self._run_outcome = message
        if not repeated:
            show_warning(f"ZSSR: {message}")


def watch_for_detach(widget: Any, on_detached: Callable[[], None]) -> Any:
    """Call ``on_detached`` when ``widget`` (a QWidget) leaves its parent: napari's close button on a dock panel
    takes the widget out of its dock without deleting it (a run's worker still holds it), so ``destroyed`` would
    never come. Keep the returned object: it is the event filter."""
    from qtpy.QtCore import QEvent, QObject

    class DetachFilter(QObject):
        def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.ParentChange and watched.parent() is None:
                on_detached()
            return False

    detach_filter = DetachFilter()
    widget.installEventFilter(detach_filter)
    return detach_filter
