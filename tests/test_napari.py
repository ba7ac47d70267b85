"""Viewer tests: the widget opened through the plugin manifest, headless under Xvfb (pytest-xvfb)."""

import os
import re
import warnings

import numpy as np
import pytest
import tifffile

import napari_zssr
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.io.tiff import read_tiff
from napari_zssr.sample import gaussian_psf, microscopy_sample

napari = pytest.importorskip("napari")

from napari_zssr.napari import worker_turns  # noqa: E402 - the plugin's modules only where napari is installed


def image_2d(seed=0, shape=(24, 20)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 1000 + 100).astype(np.uint16)


@pytest.fixture
def psf_file(tmp_path) -> str:
    path = tmp_path / "psf.tif"
    write_imagej_tiff(path, (gaussian_psf(1.0) * 1000 + 20).astype(np.float32), "YX", (0.1, 0.1))
    return str(path)


@pytest.fixture
def widget(make_napari_viewer, qtbot):
    """A viewer with the plugin's panel. At the end the package's worker (a run, or the time estimate's timing) has
    ended: one left running would put back the process's warning hooks inside a later test, under its
    ``pytest.warns``."""
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.advanced.max_iterations.value = 4
    yield viewer, widget
    qtbot.waitUntil(lambda: worker_turns.holder() is None, timeout=60_000)


def use_psf(widget, path: str) -> None:
    widget.kernel_source.value = "PSF file"
    widget.psf.value = path


def visible(widget, field) -> bool:
    """Whether ``field`` shows once the dock is shown (the test viewer's window itself stays hidden)."""
    return field.native.isVisibleTo(widget.native)


def run_to_end(qtbot, widget) -> None:
    worker = widget.start()
    assert worker is not None, widget.status.value
    assert widget.cancel_button.enabled and not widget.run_button.enabled and not widget.scale.enabled
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.run_button.enabled and not widget.cancel_button.enabled and widget.scale.enabled


def assert_edges_coincide(source, result, axes=(-2, -1)):
    for axis in axes:
        s, t, n = source.scale[axis], source.translate[axis], source.data.shape[axis]
        s2, t2, n2 = result.scale[axis], result.translate[axis], result.data.shape[axis]
        assert t2 - s2 / 2 == pytest.approx(t - s / 2)
        assert t2 + (n2 - 0.5) * s2 == pytest.approx(t + (n - 0.5) * s)
    # napari's world extent runs centre to centre, so it must NOT be equal
    assert not np.allclose(result.extent.world, source.extent.world)


def test_widget_defaults_come_from_the_config(widget):
    from napari_zssr import ZSSRConfig

    _, w = widget
    w.advanced.max_iterations.value = ZSSRConfig().max_iterations
    assert w.config() == ZSSRConfig()
    w.preset.value = "paper"
    assert w.config() == ZSSRConfig.preset("paper")
    assert w.advanced.device.choices[0] == "auto" and "cpu" in w.advanced.device.choices
    w.preset.value = "fast"
    assert w.config() == ZSSRConfig.preset("fast")


def test_warm_start_trains_later_planes_for_fewer_iterations(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 30
    w.advanced.warm_start.value = True
    w.image.value = viewer.add_image(np.stack([image_2d(0), image_2d(1)]), name="warm")
    run_to_end(qtbot, w)
    assert viewer.layers["warm_zssr"].metadata["iterations"] == [30, 10], w.status.value


def test_background_window_follows_the_preset_and_reaches_the_run(widget, qtbot):
    from napari_zssr import ZSSRConfig

    viewer, w = widget
    w.preset.value = "paper"
    assert w.advanced.background_window.value == 0 and w.config().background_window == 0
    w.preset.value = "fast"
    assert w.advanced.background_window.value == ZSSRConfig.preset("fast").background_window > 0
    w.advanced.background_window.value = 8
    w.advanced.max_iterations.value = 3
    ramp = np.arange(20)[None, :] * 1500.0  # 30 times the image's range: taken off, and the status says so
    w.image.value = viewer.add_image(image_2d().astype(np.float32) + ramp, name="haze")
    run_to_end(qtbot, w)
    metadata = viewer.layers["haze_zssr"].metadata
    assert metadata["config"]["background_window"] == 8 and metadata["background_taken_off"] == [True], w.status.value
    assert w.status.value.endswith("; smooth background taken off before training, and put back"), w.status.value


def test_a_background_window_too_narrow_is_refused_until_changed_and_ignored_in_axial_mode(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(np.stack([image_2d(seed) for seed in range(4)]), name="v", scale=(0.6, 0.2, 0.2))
    w.advanced.background_window.value = 2
    w.start()
    assert "background_window must be 0" in w.status.value and not w.running
    w.advanced.background_window.value = 8  # the fix: the refusal goes
    assert "background_window" not in w.status.value
    w.advanced.background_window.value = 2
    w.axial.value = True  # the field is disabled there, and an axial run takes no background off
    assert not w.advanced.background_window.enabled and w.config().background_window == 0


def test_widget_noise_level_estimated_fixed_or_off(widget):
    _, w = widget
    assert w.config().noise_std == "auto" and not w.advanced.noise_std.enabled
    w.advanced.noise_auto.value = False
    w.advanced.noise_std.value = 0.02
    assert w.config().noise_std == 0.02 and w.advanced.noise_std.enabled
    w.advanced.noise.value = False
    assert w.config().noise_std == 0.0 and not w.advanced.noise_std.enabled and not w.advanced.noise_auto.enabled
    w.preset.value = "fast"
    assert w.config().noise_std == "auto" and w.advanced.noise_auto.enabled


def test_2d_run_adds_three_overlaid_layers(widget, qtbot, psf_file):
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="cells", scale=(0.2, 0.2), translate=(5.0, 3.0))
    w.image.value = source
    use_psf(w, psf_file)
    run_to_end(qtbot, w)
    names = [layer.name for layer in viewer.layers]
    assert names == ["cells", "cells_zssr", "cells_ensemble_median", "cells_residual"], w.status.value
    for name in names[1:]:
        layer = viewer.layers[name]
        assert layer.data.shape == (48, 40) and layer.data.dtype == np.float32
        assert layer.scale[-1] == pytest.approx(0.1)
        assert_edges_coincide(source, layer)
    metadata = viewer.layers["cells_zssr"].metadata
    assert metadata["psf_path"] == psf_file and metadata["seed"] == 0 and metadata["napari_zssr_version"]
    assert metadata["config"]["max_iterations"] == 4
    assert viewer.layers["cells_residual"].colormap.name == "bwr"
    run_to_end(qtbot, w)  # running again updates the layers instead of duplicating them
    assert len(viewer.layers) == 4


def test_a_run_shows_only_its_own_warnings_as_the_plugins(widget, qtbot):
    """superqt's worker swaps the process's warning display while it runs: a warning of the user's console (the GUI
    thread here) or of another plugin during a run was shown as "ZSSR: ...", the run's own."""
    from napari.utils.notifications import notification_manager

    viewer, w = widget
    w.image.value = viewer.add_image(np.stack([image_2d(0), np.zeros((24, 20), np.uint16)]), name="pair")
    before = len(notification_manager.records)
    shown_elsewhere = []
    original_show = warnings.showwarning
    warnings.showwarning = lambda message, *rest, **kwargs: shown_elsewhere.append(str(message))
    try:
        worker = w.start()
        assert worker is not None, w.status.value
        typed = []  # once, as the worker runs (its first yield)
        worker.yielded.connect(lambda _: typed or typed.append(warnings.warn("typed in the console", stacklevel=1)))
        qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    finally:
        warnings.showwarning = original_show
    messages = [str(record.message) for record in notification_manager.records[before:]]
    assert any(message.startswith("ZSSR: the plane at index 1 is constant") for message in messages), messages
    assert not any("typed in the console" in message for message in messages), messages
    assert shown_elsewhere == ["typed in the console"]


def test_stack_run_keeps_leading_axes(widget, qtbot, psf_file):
    from napari.utils.notifications import notification_manager

    viewer, w = widget
    stack = np.stack([image_2d(0), np.zeros((24, 20), np.uint16), image_2d(2)])
    source = viewer.add_image(stack, name="stack", scale=(2.0, 0.2, 0.2), translate=(1.0, 0.0, 0.0))
    w.image.value = source
    use_psf(w, psf_file)
    assert "3 planes" in w.estimate.value
    before = len(notification_manager.records)
    run_to_end(qtbot, w)
    warnings = [str(record.message) for record in notification_manager.records[before:]]
    assert any(message.startswith("ZSSR: the plane at index 1 is constant; passed through") for message in warnings), \
        warnings
    result = viewer.layers["stack_zssr"]
    assert result.data.shape == (3, 48, 40)
    assert result.scale[0] == 2.0 and result.translate[0] == 1.0
    assert np.all(result.data[1] == 0)  # the blank plane passed through without aborting the stack
    assert_edges_coincide(source, result)


def test_current_plane_preview(widget, qtbot):
    viewer, w = widget
    source = viewer.add_image(np.stack([image_2d(i) for i in range(3)]), name="z", scale=(2.0, 1.0, 1.0))
    viewer.dims.set_current_step(0, 2)
    w.image.value = source
    w.current_plane.value = True
    run_to_end(qtbot, w)
    result = viewer.layers["z_zssr_preview"]
    assert result.data.shape == (1, 48, 40) and result.translate[0] == pytest.approx(4.0)
    w.current_plane.value = False
    run_to_end(qtbot, w)
    w.current_plane.value = True
    run_to_end(qtbot, w)  # a preview after a whole run leaves the whole run's result be
    assert viewer.layers["z_zssr"].data.shape == (3, 48, 40) and viewer.layers["z_zssr_preview"].data.shape[0] == 1


def test_a_preview_of_a_2d_image_leaves_its_whole_run_be(widget, qtbot):
    """"current plane only" on a 2D image (the whole image) is still a preview: its own layers."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="flat")
    w.advanced.max_iterations.value = 2
    w.scale.value = 3
    run_to_end(qtbot, w)
    w.current_plane.value, w.scale.value = True, 2
    run_to_end(qtbot, w)
    assert viewer.layers["flat_zssr"].data.shape == (72, 60)
    assert viewer.layers["flat_zssr_preview"].data.shape == (48, 40)


def test_a_preview_of_a_2d_image_runs_in_the_3d_view_that_shows_all_of_it(widget, qtbot):
    """A 2D image has one plane, all on screen in a 3D view too; the preview was refused, asking for the 2D view."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="flat")
    viewer.add_image(np.zeros((3, 24, 20), np.uint16), name="volume")
    w.advanced.max_iterations.value = 2
    w.current_plane.value = True
    viewer.dims.ndisplay = 3
    run_to_end(qtbot, w)
    assert viewer.layers["flat_zssr_preview"].data.shape == (48, 40)
    viewer.dims.ndisplay, viewer.dims.order = 2, (1, 0, 2)  # a Z-X view shows one row of it: still refused
    assert w.start() is None and "other axes than the layer's Y and X" in w.status.value


def test_a_layer_of_another_type_with_an_output_name_stops_the_run_before_it_starts(widget):
    import napari_zssr

    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="cells")
    viewer.add_labels(np.ones((48, 40), np.int32), name="cells_residual")
    assert w.start() is None and "Labels layer 'cells_residual'" in w.status.value
    assert [layer.name for layer in viewer.layers] == ["cells", "cells_residual"]  # nothing half-added
    with pytest.raises(ValueError, match="Labels layer 'cells_residual' has the name of an output"):
        napari_zssr.run(viewer.layers["cells"], viewer=viewer, max_iterations=2)


def test_an_image_a_run_did_not_make_is_never_overwritten_by_an_output(widget):
    """A command-line result opened from its file (cells_zssr.tif) has an output's name: it is the user's."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="cells")
    opened = viewer.add_image(image_2d() * 2, name="cells_zssr", metadata={"source_path": "cells_zssr.tif"})
    assert w.start() is None
    assert "Image layer 'cells_zssr' has the name of an output image but was not made by a run" in w.status.value
    assert np.array_equal(opened.data, image_2d() * 2) and opened.metadata == {"source_path": "cells_zssr.tif"}


def test_the_result_of_a_removed_input_is_not_replaced_by_a_new_layer_of_its_name(widget, qtbot):
    """Day 1's input closed, its result kept, day 2's opened under the same name: the run replaced day 1's result
    without a word, and its layers, left below the new input, hid the new result. The same layer runs again."""
    viewer, w = widget
    first = viewer.add_image(image_2d(0), name="cells")
    w.image.value, w.advanced.max_iterations.value = first, 2
    run_to_end(qtbot, w)
    kept = viewer.layers["cells_zssr"].data.copy()
    run_to_end(qtbot, w)  # the same layer again: its outputs are updated
    viewer.layers.remove(first)
    w.image.value = viewer.add_image(image_2d(1, (30, 26)), name="cells")
    assert w.start() is None
    assert "the layer 'cells_zssr' holds the result of another layer, run when it was called 'cells'" in \
        w.status.value
    assert np.array_equal(viewer.layers["cells_zssr"].data, kept)
    with pytest.raises(ValueError, match="holds the result of another layer"):
        napari_zssr.run(viewer.layers["cells"], viewer=viewer, max_iterations=2)
    napari_zssr.run(np.asarray(image_2d(2)), viewer=viewer, max_iterations=2)  # an array's run: no layer to tell


def test_a_run_removes_only_its_own_inputs_results_of_kinds_it_does_not_make(make_napari_viewer):
    """Day 1's uncertainty map, kept alone, was removed without a word by day 2's run of a new layer of its name,
    which did not make that kind: only an earlier run of the same input's stale kinds go."""
    viewer = make_napari_viewer()
    first = viewer.add_image(image_2d(0), name="cells")
    napari_zssr.run(first, viewer=viewer, max_iterations=2, width=8, outputs=["zssr", "ensemble_spread"])
    viewer.layers.remove(first)
    viewer.layers.remove("cells_zssr")
    second = viewer.add_image(image_2d(1), name="cells")
    napari_zssr.run(second, viewer=viewer, max_iterations=2, width=8, outputs=["zssr"])
    assert "cells_ensemble_spread" in viewer.layers  # day 1's, kept
    napari_zssr.run(second, viewer=viewer, max_iterations=2, width=8, outputs=["zssr", "residual"])
    napari_zssr.run(second, viewer=viewer, max_iterations=2, width=8, outputs=["zssr"])
    assert "cells_residual" not in viewer.layers  # its own earlier run's: stale, removed


def test_a_renamed_inputs_earlier_result_does_not_cover_its_new_one(make_napari_viewer):
    """After a rename the earlier run's result, under the old name and above, stayed visible over the new one."""
    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(0), name="p", scale=(0.2, 0.2))
    napari_zssr.run(layer, viewer=viewer, max_iterations=2, width=8)
    layer.name = "q"
    napari_zssr.run(layer, viewer=viewer, max_iterations=2, width=8)
    assert viewer.layers["q_zssr"].visible and not viewer.layers["p_zssr"].visible


def test_cancel_adds_nothing(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="big")
    first = w.start()
    assert w.start() is first  # a second start while running is the same run, not another writer of its layers
    qtbot.wait(300)
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["big"]
    assert "cancelled" in w.status.value and w.progress_bar.value == 0  # no part-filled bar of a run that is not


def test_a_double_click_on_run_starts_the_run_and_a_later_cancel_click_stops_it(widget, qtbot):
    """Run turned into Cancel under the mouse: the second click of a double click cancelled the run it had just
    started. Run and Cancel are now two buttons, and only the one that applies is enabled."""
    from qtpy.QtCore import Qt

    viewer, w = widget
    w.advanced.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="cells")
    qtbot.mouseClick(w.run_button.native, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.run_button.native, Qt.MouseButton.LeftButton)  # the second click of a double click
    assert w.running and not w._stop.is_set() and "cancel" not in w.status.value
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    qtbot.mouseClick(w.cancel_button.native, Qt.MouseButton.LeftButton)  # a deliberate cancel, soon after
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["cells"] and w.status.value == "cancelled; nothing was added"
    assert w.run_button.enabled and not w.cancel_button.enabled


def test_removing_the_input_layer_cancels_its_run(widget, qtbot):
    """The run went on for its whole length and added outputs of a layer that was gone (and the image field then
    offered one of them as the next input)."""
    viewer, w = widget
    w.advanced.max_iterations.value = 5000
    other = viewer.add_image(image_2d(1), name="other")
    w.image.value = viewer.add_image(image_2d(), name="gone")
    w.start()
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    viewer.layers.remove("gone")
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["other"] and w.image.value is other
    assert w.status.value == "the input layer 'gone' was removed during the run; nothing was added"
    viewer.layers.remove("other")  # with no run going, removing a layer cancels nothing
    assert not w.running and w.image.value is None


def test_a_viewer_without_runs_keeps_no_reserved_names():
    """Each viewer that ever ran kept an empty entry for the session; a new viewer given a closed one's id found
    it."""
    from napari_zssr.napari import output_claim

    viewer = object()  # the reservation keys on the viewer's identity alone
    release_first, release_second = (output_claim.claim_outputs(viewer, [name]) for name in ("a_zssr", "b_zssr"))
    release_first()
    assert output_claim._claimed[id(viewer)] == {"b_zssr"}
    release_second()
    assert id(viewer) not in output_claim._claimed


def test_outputs_are_named_after_the_input_as_it_is_called_when_the_run_ends(widget, qtbot):
    """Renamed during the run, the input got outputs named after its old name; the new name's outputs are now
    reserved instead (a run of a layer called by the old name may start), and a layer of the user's holding one of
    the new names keeps the old ones, with a warning."""
    from napari.utils.notifications import notification_manager

    from napari_zssr.napari.output_claim import claim_outputs

    viewer, w = widget
    source = viewer.add_image(image_2d(), name="cells")
    w.image.value = source
    w.start()
    source.name = "neurons"
    claim_outputs(viewer, ["cells_zssr"])()  # free: another run may write it
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["neurons", "neurons_zssr", "neurons_ensemble_median",
                                                       "neurons_residual"]
    assert viewer.layers["neurons_zssr"].metadata["source_layer"] == "neurons"
    viewer.add_image(image_2d(1), name="axons_zssr")  # the user's own layer, e.g. a file opened
    before = len(notification_manager.records)
    w.start()
    source.name = "axons"
    messages = [str(record.message) for record in notification_manager.records[before:]]
    assert any("renamed 'axons'" in message and "keep the names of 'neurons'" in message for message in messages)
    source.name = "neurons"  # back to the names it holds: nothing to say
    assert len(notification_manager.records) == before + 1
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.status.value.startswith("done") and [layer.name for layer in viewer.layers] == [
        "neurons", "neurons_zssr", "neurons_ensemble_median", "neurons_residual", "axons_zssr"]


def test_replacing_or_moving_the_input_layer_cancels_its_run(widget, qtbot):
    """The run went on and added the result of the old data, placed by the old geometry, under the layer's name."""
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="a")
    w.image.value = source
    for change, why in ((lambda: setattr(source, "data", image_2d(5, shape=(40, 36))), "had its data replaced"),
                        (lambda: setattr(source, "scale", (0.5, 0.5)), "changed its scale"),
                        (lambda: setattr(source, "units", ("nm", "nm")), "changed its units")):
        w.advanced.max_iterations.value = 5000
        w.start()
        qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
        change()
        qtbot.waitUntil(lambda: not w.running, timeout=60_000)
        assert w.status.value == f"the input layer 'a' {why} during the run; nothing was added"
        assert [layer.name for layer in viewer.layers] == ["a"]
    w.advanced.max_iterations.value = 2
    run_to_end(qtbot, w)  # the watch ended with its run: the next one runs to its end
    assert "a_zssr" in viewer.layers
    source.scale = (0.25, 0.25)  # no run going: nothing to cancel
    assert not w.running and w.status.value.startswith("done in")


def test_setting_the_inputs_placement_to_what_it_already_is_does_not_cancel_its_run(widget, qtbot):
    """napari's "Apply scale/transforms from Clipboard" on channels placed alike sets every transform of each, and
    napari sends its change events even for an unchanged value: the run was cancelled, "the input layer 'a'
    changed its scale during the run", although nothing had changed."""
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="a", scale=(0.2, 0.2), translate=(3, 4), rotate=10)
    w.image.value = source
    w.advanced.max_iterations.value = 5000
    w.start()
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    for key in ("scale", "translate", "rotate", "shear", "affine", "units", "data"):
        setattr(source, key, getattr(source, key))
    assert w.running and "cancelling" not in w.status.value and not w._cancel_reason
    source.translate = (3, 5)  # a change still stops it
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.status.value == "the input layer 'a' changed its translate during the run; nothing was added"


def test_a_waiting_run_whose_input_is_removed_says_why_it_ended(make_napari_viewer, qtbot):
    """Its reason was cleared as it left the queue: "cancelled before it started"."""
    first, second = make_napari_viewer(), make_napari_viewer()
    _, running = first.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    _, waiting = second.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    running.image.value = first.add_image(image_2d(), name="a")
    waiting.image.value = second.add_image(image_2d(1), name="b")
    running.advanced.max_iterations.value, waiting.advanced.max_iterations.value = 5000, 4
    running.start()
    qtbot.waitUntil(lambda: "iteration" in running.status.value, timeout=60_000)
    waiting.start()
    second.layers.remove("b")
    qtbot.waitUntil(lambda: not waiting.running, timeout=10_000)
    assert waiting.status.value == "the input layer 'b' was removed before the run started; nothing was added"
    running.cancel()
    qtbot.waitUntil(lambda: not running.running, timeout=60_000)


def test_a_finished_runs_status_goes_when_another_layer_is_chosen(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 2
    w.image.value = viewer.add_image(image_2d(), name="first")
    run_to_end(qtbot, w)
    assert w.status.value.startswith("done in") and w.progress_bar.value == w.progress_bar.max
    assert re.match(r"done in (\d+\.\d|\d\d+) s on cpu", w.status.value), w.status.value  # a short run: not "0 s"
    w.image.value = viewer.add_image(image_2d(1), name="second")
    assert w.status.value == "" and w.progress_bar.value == 0


def test_a_cancelled_runs_status_goes_when_another_layer_is_chosen(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="first")
    w.start()
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.status.value == "cancelled; nothing was added"
    w.image.value = viewer.add_image(image_2d(1), name="second")  # nothing of it was cancelled
    assert w.status.value == ""


def test_the_status_names_the_device_the_run_uses_whatever_the_estimate_line_says(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 2
    w.image.value = viewer.add_image(image_2d(), name="cells")
    w.advanced.device.value = "cpu"
    qtbot.waitUntil(lambda: "for 1 plane" in w.estimate.value and "timing" not in w.estimate.value, timeout=60_000)
    w.estimate.value = "no estimate: the timing failed"  # as a timing that failed shows
    assert w.start() is not None
    assert w.status.value == "running on cpu"
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)


def test_why_a_run_was_refused_goes_when_another_layer_or_mode_is_chosen(widget, qtbot, tmp_path):
    viewer, w = widget
    w.image.value = viewer.add_image(np.random.default_rng(0).random((24, 20, 3)), name="colour", rgb=True)
    w.start()
    assert "is RGB" in w.status.value
    w.image.value = viewer.add_image(image_2d(), name="grey")
    assert w.status.value == ""  # it was about the RGB layer
    w.axial.value = True
    assert "axial mode needs a 3D layer" in w.estimate.value  # no time for a run that Run refuses
    w.start()
    assert "axial mode needs a 3D layer" in w.status.value
    w.axial.value = False
    assert w.status.value == ""
    (tmp_path / "psf.tif").write_bytes(b"not a TIFF")  # a problem that stays: it comes back
    w.kernel_source.value = "PSF file"
    w.psf.value = str(tmp_path / "psf.tif")
    w.start()
    unreadable = w.status.value
    assert "psf.tif" in unreadable
    w.image.value = viewer.layers["colour"]
    w.image.value = viewer.layers["grey"]
    assert w.status.value == unreadable


def test_a_console_run_on_the_layer_a_widget_run_writes_is_refused_until_it_ends(widget, qtbot):
    """Two runs writing the same layers: the later to finish would silently replace the other's result."""
    import napari_zssr

    viewer, w = widget
    w.advanced.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="shared")
    w.start()
    with pytest.raises(ValueError, match="another run .* is writing 'shared_zssr'"):  # not 'shared_ensemble_median'
        napari_zssr.run(viewer.layers["shared"], viewer=viewer, max_iterations=2)
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    napari_zssr.run(viewer.layers["shared"], viewer=viewer, max_iterations=2, width=8)  # released
    assert "shared_zssr" in viewer.layers


def test_a_second_widgets_run_waits_for_the_first_and_keeps_its_warnings(widget, qtbot):
    """Runs are superqt workers, which swap the process's warning hooks: two at once would lose the second's
    notification of a constant plane (or leave the first's hook in place for good), so the second waits its turn."""
    from napari.utils.notifications import notification_manager

    from napari_zssr.napari.widget import ZSSRWidget

    viewer, first = widget
    first.advanced.max_iterations.value = 5000
    first.image.value = viewer.add_image(image_2d(), name="long")
    second = ZSSRWidget(viewer)
    second.advanced.max_iterations.value = 2
    # napari shows a warning once per session: a plane number no other test leaves constant
    planes = np.stack([image_2d(seed) for seed in range(6)] + [np.zeros((24, 20), np.uint16)])
    second.image.value = viewer.add_image(planes, name="stack")
    first.start()
    qtbot.waitUntil(lambda: "iteration" in first.status.value, timeout=60_000)
    before = len(notification_manager.records)
    second.start()
    assert second.running and "waiting for the run already going" in second.status.value
    qtbot.wait(500)
    assert "waiting" in second.status.value and "stack_zssr" not in viewer.layers  # not started meanwhile
    first.cancel()
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=120_000)
    assert "stack_zssr" in viewer.layers and "long_zssr" not in viewer.layers
    warnings = [str(record.message) for record in notification_manager.records[before:]]
    assert any("index 6 is constant; passed through" in message for message in warnings), warnings


def test_a_waiting_run_cancelled_ends_at_once_and_frees_its_names(widget, qtbot):
    from napari_zssr.napari.widget import ZSSRWidget

    viewer, first = widget
    first.advanced.max_iterations.value = 5000
    first.image.value = viewer.add_image(image_2d(), name="long")
    second = ZSSRWidget(viewer)
    second.image.value = viewer.add_image(image_2d(1), name="queued")
    first.start()
    second.start()
    assert "waiting" in second.status.value
    second.cancel()
    assert not second.running and "cancelled before it started" in second.status.value  # at once, not after `long`
    assert second.run_button.enabled and first.running
    second.advanced.max_iterations.value = 2
    second.start()  # its output names are free again: it can queue once more
    assert second.running
    first.cancel()
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=120_000)
    assert "queued_zssr" in viewer.layers


def test_a_run_that_fails_with_a_runtime_error_ends_and_frees_the_next(widget, qtbot, monkeypatch):
    """superqt's worker takes a RuntimeError for a deleted worker and drops it with no end: the run would look busy
    for ever, and every later run would wait behind it."""
    from napari_zssr.napari import runner

    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="diverges")

    def diverged(*args, **kwargs):
        raise RuntimeError("training diverged (loss is NaN)")

    monkeypatch.setattr(runner, "compute", diverged)
    w.start()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert "the run failed: training diverged (loss is NaN)" in w.status.value
    assert w.progress_bar.max > 0  # not left busy, as if still running (it failed before any progress)
    monkeypatch.undo()
    w.advanced.max_iterations.value = 2
    run_to_end(qtbot, w)
    assert "diverges_zssr" in viewer.layers


def test_cancel_after_training_still_adds_nothing(widget, qtbot):
    """A cancel that arrives while the last plane is in inference must not add the finished result."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="late")
    worker = w.start()
    worker.yielded.connect(lambda event: w.cancel() if event is not None and event.stage == "inference" else None)
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert [layer.name for layer in viewer.layers] == ["late"] and "cancelled" in w.status.value


@pytest.mark.parametrize("content, message", [(None, "not found"), (b"garbage", "could not read"),
                                              ("noise", "no clear peak")])
def test_bad_psf_shows_a_message(widget, tmp_path, content, message):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="img")
    path = tmp_path / "bad.tif"
    if content == "noise":
        tifffile.imwrite(path, np.random.default_rng(0).normal(100, 5, (31, 31)).astype(np.float32))
    elif content is not None:
        path.write_bytes(content)
    use_psf(w, str(path))
    assert w.start() is None
    assert message in w.status.value and not w.running
    assert len(viewer.layers) == 1


def test_bad_layers_show_a_message(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(np.zeros((20, 20, 3), np.uint8), name="rgb", rgb=True)
    assert w.start() is None and "RGB" in w.status.value
    w.image.value = viewer.add_image(np.zeros((20, 20), np.float32), name="flat")
    assert w.start() is None and "constant" in w.status.value
    # every plane constant: the run would have passed each through, a "result" of nothing but warnings
    w.image.value = viewer.add_image(np.stack([np.zeros((20, 20)), np.ones((20, 20))]), name="dark")
    assert w.start() is None and w.status.value == ("every plane of layer 'dark' is constant; there is nothing to "
                                                    "super-resolve (an empty channel or a dark acquisition?)")
    w.image.value = viewer.add_image(np.zeros((5, 5), np.float32) + np.eye(5), name="tiny")
    assert w.start() is None and "too small" in w.status.value
    assert len(viewer.layers) == 4  # the four inputs: no output layer


def test_a_double_click_on_run_that_is_refused_notifies_once(widget, qtbot):
    """Each click of the double click put up the same notification: two stacked warnings saying the same thing."""
    from napari.utils.notifications import notification_manager
    from qtpy.QtCore import Qt

    viewer, w = widget
    w.image.value = viewer.add_image(np.zeros((20, 20), np.float32), name="flat")
    before = len(notification_manager.records)
    for _ in range(2):
        qtbot.mouseClick(w.run_button.native, Qt.MouseButton.LeftButton)
    messages = [str(record.message) for record in notification_manager.records[before:]]
    assert len(messages) == 1 and "constant" in messages[0] and "constant" in w.status.value
    w.image.value = viewer.add_image(np.zeros((5, 5), np.float32) + np.eye(5), name="tiny")
    w.image.value = viewer.layers["flat"]  # another problem in between: the same one is news again
    qtbot.mouseClick(w.run_button.native, Qt.MouseButton.LeftButton)
    assert len(notification_manager.records) == before + 2


def test_a_problem_the_status_line_shows_before_run_is_notified_at_the_first_run(widget, tmp_path):
    """An unreadable PSF file is shown in the status line as soon as it is chosen: Run, refused for it, put up no
    notification at all (it was taken for the second click of a double click)."""
    from napari.utils.notifications import notification_manager

    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="cells")
    (tmp_path / "psf.tif").write_bytes(b"not a TIFF")
    use_psf(w, str(tmp_path / "psf.tif"))
    assert "psf.tif" in w.status.value
    before = len(notification_manager.records)
    for _ in range(2):
        assert w.start() is None
    messages = [str(record.message) for record in notification_manager.records[before:]]
    assert len(messages) == 1 and "psf.tif" in messages[0]


def test_a_lazy_masked_layer_is_refused_before_training_when_one_plane_is_previewed():
    import dask.array as da
    from napari.layers import Image

    from napari_zssr import ZSSRConfig
    from napari_zssr.napari.runner import compute, prepare

    stack = da.ma.masked_greater(da.from_array(np.stack([image_2d(0), image_2d(1)]), chunks=(1, 24, 20)), 900)
    config = ZSSRConfig(max_iterations=2)
    events = []
    for current_step in (None, (1, 0, 0)):  # the whole stack, and its second plane alone (refused by prepare)
        with pytest.raises(ValueError, match="masked"):
            compute(prepare(Image(stack, name="masked"), config=config, current_step=current_step),
                    progress=events.append)
    assert not any(event.stage == "training" for event in events)


def test_a_nan_in_the_previewed_plane_of_a_lazy_stack_names_that_plane_before_the_run():
    """It was found by the run, which named the one plane it was given by its index there: 'the plane at index 0'
    for a preview of the third plane."""
    import dask.array as da
    from napari.layers import Image

    from napari_zssr.napari.runner import prepare

    stack = np.stack([image_2d(seed) for seed in range(3)]).astype(np.float32)
    stack[2, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"the plane shown \(index \(2,\)\) of layer 'holes' contains NaN"):
        prepare(Image(da.from_array(stack, chunks=(1, 24, 20)), name="holes"), current_step=(2, 0, 0))


def test_run_from_the_console(make_napari_viewer, qtbot):
    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="console", scale=(0.5, 0.5))
    tuples = napari_zssr.run(layer, viewer=viewer, max_iterations=3)
    assert [t[1]["name"] for t in tuples] == ["console_zssr", "console_ensemble_median", "console_residual"]
    assert tuples[0][0].shape == (48, 40) and "console_zssr" in viewer.layers
    viewer.add_image(image_2d(), name="console_ensemble_spread")  # the user's own layer of an output's name: kept
    napari_zssr.run(layer, viewer=viewer, max_iterations=3, scale=3, outputs=["zssr"])
    # the x2 median and residual would sit beside the x3 result under its names: they go
    assert [name for name in map(str, viewer.layers) if name.startswith("console_")] == [
        "console_zssr", "console_ensemble_spread"]
    assert viewer.layers["console_zssr"].data.shape == (72, 60)


def test_a_console_run_names_its_outputs_after_the_input_as_it_is_called_when_it_ends(make_napari_viewer, qtbot):
    from qtpy.QtCore import QTimer

    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="before")
    QTimer.singleShot(0, lambda: setattr(layer, "name", "after"))  # while the run's local event loop spins
    tuples = napari_zssr.run(layer, viewer=viewer, max_iterations=3, outputs=["zssr"])
    assert tuples[0][1]["name"] == "after_zssr" and [layer.name for layer in viewer.layers] == ["after", "after_zssr"]


def test_closing_the_viewer_stops_a_console_run_and_adds_nothing(make_napari_viewer, qtbot):
    from qtpy.QtCore import QTimer

    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="closed")
    QTimer.singleShot(50, viewer.close)  # while the run's local event loop spins
    with pytest.raises(napari_zssr.Cancelled, match="viewer was closed"):  # stopped, not trained to the end
        napari_zssr.run(layer, viewer=viewer, max_iterations=5000)
    assert "closed_zssr" not in viewer.layers


def test_removing_or_replacing_the_input_stops_a_console_run(make_napari_viewer, qtbot):
    """As the widget's runs: the console's run() added outputs of a layer that was gone or held other data."""
    from qtpy.QtCore import QTimer

    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="gone")
    QTimer.singleShot(1500, lambda: viewer.layers.remove("gone"))
    with pytest.raises(napari_zssr.Cancelled, match="layer 'gone' was removed during the run: it was stopped"):
        napari_zssr.run(layer, viewer=viewer, max_iterations=5000)
    assert len(viewer.layers) == 0
    layer = viewer.add_image(image_2d(), name="replaced")
    QTimer.singleShot(1500, lambda: setattr(layer, "data", image_2d(3, (40, 36))))
    with pytest.raises(napari_zssr.Cancelled, match="'replaced' had its data replaced during the run"):
        napari_zssr.run(layer, viewer=viewer, max_iterations=5000)
    napari_zssr.run(layer, viewer=viewer, max_iterations=2)
    assert [layer.name for layer in viewer.layers][:2] == ["replaced", "replaced_zssr"]


def test_a_console_run_whose_input_changes_after_its_last_check_adds_nothing(make_napari_viewer, qtbot, monkeypatch):
    """The run's last look at the stop request comes before its end: a change after it still returned the result."""
    import threading
    import time

    from qtpy.QtCore import QTimer

    import napari_zssr
    from napari_zssr.napari import console

    trained, real_run = threading.Event(), console.background_run

    def slow_end(request, stop, show_other_warning):
        result = yield from real_run(request, stop, show_other_warning)
        trained.set()
        time.sleep(1.0)  # the change below comes now, after the last progress event
        return result

    monkeypatch.setattr(console, "background_run", slow_end)
    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="late")
    poll = QTimer()

    def change_once_trained() -> None:
        if trained.is_set():
            poll.stop()
            layer.data = image_2d(3, (40, 36))

    poll.timeout.connect(change_once_trained)
    poll.start(20)
    with pytest.raises(napari_zssr.Cancelled, match="'late' had its data replaced during the run"):
        napari_zssr.run(layer, viewer=viewer, max_iterations=2)
    assert [layer.name for layer in viewer.layers] == ["late"]


def test_an_input_edited_in_place_during_a_run_gives_no_result():
    """``layer.data[1] = ...`` emits no event, unlike a replaced array: the result mixed the planes before and after."""
    import napari_zssr
    from napari_zssr import ZSSRConfig
    from napari_zssr.napari.runner import InputEditedError, compute, prepare

    layer = napari.layers.Image(np.stack([image_2d(0), image_2d(1), image_2d(2)]), name="edited")
    request = prepare(layer, config=ZSSRConfig.preset("fast", max_iterations=2, progress_every=1))

    def edit_at_the_first_event(event) -> None:
        layer.data[2] = image_2d(5)

    with pytest.raises(InputEditedError, match="the data of 'edited' changed during the run \\(edited in place\\)"):
        compute(request, edit_at_the_first_event)
    assert issubclass(InputEditedError, napari_zssr.Cancelled)  # as a removed layer's or replaced data's run
    assert compute(prepare(layer, config=ZSSRConfig.preset("fast", max_iterations=2))).sr.shape[0] == 3  # untouched


def test_a_console_run_on_a_layer_of_another_viewer_asks_for_it(make_napari_viewer, qtbot):
    """Without viewer=, the outputs went to the current viewer, which need not hold the layer."""
    import napari_zssr

    first, second = make_napari_viewer(), make_napari_viewer()
    layer = first.add_image(image_2d(), name="in_first")
    with pytest.raises(ValueError, match="layer 'in_first' is not in the current viewer.*pass viewer="):
        napari_zssr.run(layer, max_iterations=2)
    with pytest.raises(ValueError, match="layer 'in_first' is not in the viewer given.*pass viewer="):
        napari_zssr.run(layer, viewer=second, max_iterations=2)  # was run, its outputs in a viewer without the input
    napari_zssr.run(layer, viewer=first, max_iterations=2)
    assert "in_first_zssr" in first.layers and len(second.layers) == 0


def test_the_cancel_button_of_its_progress_bar_stops_a_console_run(make_napari_viewer, qtbot, monkeypatch):
    """The console waits for run() to return, so the run's bar in napari's activity panel is the way to stop it."""
    import importlib

    from qtpy.QtCore import QTimer

    progress_module = importlib.import_module("napari.utils.progress")  # the module: napari.utils names the class

    import napari_zssr

    bars = []

    class Recorded(progress_module.cancelable_progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(progress_module, "cancelable_progress", Recorded)
    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="stopped")
    def cancel_once_shown() -> None:  # as the button does, while the run's event loop spins (the bar may still be
        if bars:  # in the making: napari's activity panel processes events while it adds the bar)
            bars[0].cancel()
        else:
            QTimer.singleShot(50, cancel_once_shown)

    QTimer.singleShot(200, cancel_once_shown)
    with pytest.raises(napari_zssr.Cancelled, match="the run was cancelled"):  # not trained to the end
        napari_zssr.run(layer, viewer=viewer, max_iterations=5000)
    assert "stopped_zssr" not in viewer.layers and len(viewer.layers) == 1


def test_a_widget_run_touches_no_private_napari_attribute(widget, qtbot, monkeypatch):
    """The plugin gets napari's public-only viewer proxy, which warns on private attributes (and they may go)."""
    from napari.utils._proxies import PublicOnlyProxy

    accessed = []
    # napari's own hook for the warning; if a later napari drops it, private access is an error there instead
    monkeypatch.setattr(PublicOnlyProxy, "_private_attr_warning",
                        staticmethod(lambda name, kind: accessed.append(f"{kind}.{name}")), raising=False)
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="public")
    run_to_end(qtbot, w)
    assert "public_zssr" in viewer.layers and accessed == []


def test_run_on_arrays_and_stacks_without_a_viewer():
    import napari_zssr

    tuples = napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False)
    assert tuples[0][0].shape == (48, 40) and tuples[2][1]["name"] == "array_residual"
    stack = np.stack([image_2d(0), np.full((24, 20), 5, np.uint16), image_2d(1)])
    sr, median, residual = napari_zssr.run(stack, max_iterations=2, add_to_viewer=False)
    assert sr[0].shape == (3, 48, 40) and np.all(sr[0][1] == 5) and np.all(residual[0][1] == 0)
    assert sr[1]["metadata"]["blank_planes"] == [[1]]


def test_the_output_of_an_uncalibrated_image_is_saved_uncalibrated(tmp_path):
    """Its scale (0.5 at x2) counts input pixels: saved as um it would reopen, in Fiji too, as calibrated."""
    import napari_zssr
    from napari_zssr.napari.writer import write_image

    uncalibrated = napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False, outputs=("zssr",))[0]
    assert uncalibrated[1]["scale"] == pytest.approx([0.5, 0.5])
    write_image(str(tmp_path / "pixels.tif"), uncalibrated[0], uncalibrated[1])
    assert read_tiff(tmp_path / "pixels.tif").pixel_size is None
    # a pixel size typed for it: the layer's scale still counts input pixels, the file gets um
    typed = napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False, outputs=("zssr",), pixel_size=0.2)[0]
    write_image(str(tmp_path / "typed.tif"), typed[0], typed[1])
    assert read_tiff(tmp_path / "typed.tif").pixel_size == pytest.approx((0.1, 0.1))
    # a stack whose planes are 3 input pixels apart: 6 of the output's
    stack = napari.layers.Image(np.stack([image_2d(seed) for seed in range(2)]), scale=(3.0, 1.0, 1.0))
    volume = napari_zssr.run(stack, max_iterations=2, add_to_viewer=False, outputs=("zssr",))[0]
    write_image(str(tmp_path / "stack.tif"), volume[0], volume[1])
    assert read_tiff(tmp_path / "stack.tif").z_step_pixels == pytest.approx(6.0)
    # opened again, each counts its input's pixels, as the layer did: it overlays the input
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.runner import snapshot_layer

    for name, layer in (("pixels", uncalibrated), ("stack", volume)):
        (data, kwargs, _), = read_layers(str(tmp_path / f"{name}.tif"))
        assert kwargs["scale"] == pytest.approx(layer[1]["scale"]) and "units" not in kwargs
        assert kwargs["translate"] == pytest.approx(layer[1]["translate"])
        # that scale is no pixel size: not for a run on the opened layer, nor saved again
        assert snapshot_layer(napari.layers.Image(data, **kwargs)).pixel_size is None
        assert snapshot_layer(napari.layers.Image(layer[0], **layer[1])).pixel_size is None
        write_image(str(tmp_path / f"{name}_again.tif"), data, kwargs)
        assert read_tiff(tmp_path / f"{name}_again.tif").pixel_size is None
        assert read_layers(str(tmp_path / f"{name}_again.tif"))[0][1]["scale"] == pytest.approx(kwargs["scale"])


def test_the_output_of_a_layer_whose_pixel_size_was_corrected_is_saved_at_the_corrected_size(tmp_path, monkeypatch):
    """A layer calibrated at 0.2 um run with 0.1 typed: the output layer keeps the input layer's scale (to overlay
    it), the file the size the user said is right (0.05 um at x2), and saved again from the file it stays."""
    import napari_zssr

    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script: its note is a warning
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    layer = napari.layers.Image(image_2d(), scale=(0.2, 0.2))
    sr = napari_zssr.run(layer, max_iterations=2, add_to_viewer=False, outputs=("zssr",), pixel_size=0.1)[0]
    assert sr[1]["scale"] == pytest.approx([0.1, 0.1])
    with pytest.warns(UserWarning, match="saved at the pixel size its run was given"):
        write_image(str(tmp_path / "sr.tif"), sr[0], sr[1])
    assert read_tiff(tmp_path / "sr.tif").pixel_size == pytest.approx((0.05, 0.05))
    (data, kwargs, _), = read_layers(str(tmp_path / "sr.tif"))
    write_image(str(tmp_path / "again.tif"), data, kwargs)
    assert read_tiff(tmp_path / "again.tif").pixel_size == pytest.approx((0.05, 0.05))
    set_since = {**sr[1], "scale": [0.05, 0.05]}  # the output's scale set right by hand after the run: kept
    write_image(str(tmp_path / "set.tif"), sr[0], set_since)
    assert read_tiff(tmp_path / "set.tif").pixel_size == pytest.approx((0.05, 0.05))
    nanometres = napari.layers.Image(image_2d(), scale=(13, 13), units=("nm", "nm"))
    for typed in (0.013, None):  # the layer's own size typed, or none: nothing to correct, nothing said
        same = napari_zssr.run(nanometres, max_iterations=2, add_to_viewer=False, outputs=("zssr",),
                               pixel_size=typed)[0]
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            write_image(str(tmp_path / "same.tif"), same[0], same[1])
        assert not [note for note in notes if "pixel size its run was given" in str(note.message)]
        assert read_tiff(tmp_path / "same.tif").pixel_size == pytest.approx((0.0065, 0.0065))
    volume = napari.layers.Image(np.stack([image_2d(seed) for seed in range(4)]), scale=(0.401, 0.2, 0.201))
    axial = napari_zssr.run(volume, max_iterations=2, add_to_viewer=False, outputs=("zssr",), axial=True)[0]
    with warnings.catch_warnings():  # nothing typed: the sides as the layer gives them, no note
        warnings.simplefilter("error")
        write_image(str(tmp_path / "axial.tif"), axial[0], axial[1])
    assert read_tiff(tmp_path / "axial.tif").pixel_size == pytest.approx((0.2, 0.201))


def test_the_output_of_a_kymograph_is_saved_without_a_pixel_size_and_says_so(tmp_path, monkeypatch):
    """Its y axis in seconds: an ImageJ TIFF holds one unit for y and x, so no pixel size is saved, with a note."""
    import napari_zssr
    from napari_zssr.napari.writer import write_image

    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script: its note is a warning
    kymograph = napari.layers.Image(image_2d(), scale=(0.5, 0.1), units=("s", "um"))
    sr = napari_zssr.run(kymograph, max_iterations=2, add_to_viewer=False, outputs=("zssr",))[0]
    with pytest.warns(UserWarning, match=r"its y and x units \(second, micrometer\) are not both lengths"):
        write_image(str(tmp_path / "kymograph.tif"), sr[0], sr[1])
    assert read_tiff(tmp_path / "kymograph.tif").pixel_size is None


def test_an_uncalibrated_output_of_the_command_line_opens_over_its_input(tmp_path):
    """Its pixels count the input's: the same outer edges as the input, on y, x and z (planes 3 pixels apart)."""
    import napari_zssr
    from napari_zssr.napari.reader import read_layers

    write_imagej_tiff(tmp_path / "in.tif", np.stack([image_2d(seed) for seed in range(2)]), "ZYX", None, z_spacing=3)
    napari_zssr.batch([tmp_path / "in.tif"], tmp_path / "out", preset="fast", max_iterations=2, quiet=True,
                      scale=2.5)

    def edges(path):
        (data, kwargs, _), = read_layers(str(path))
        scale, translate = np.array(kwargs["scale"]), np.array(kwargs["translate"])
        return translate - scale / 2, translate + (np.array(data.shape) - 0.5) * scale

    (low, high), (out_low, out_high) = edges(tmp_path / "in.tif"), edges(tmp_path / "out" / "in_zssr.tif")
    assert out_low == pytest.approx(low) and out_high == pytest.approx(high)
    assert read_layers(str(tmp_path / "out" / "in_zssr.tif"))[0][1]["scale"] == pytest.approx([3.0, 0.4, 0.4])


def test_a_saved_output_keeps_the_record_of_its_run(tmp_path):
    """As the command line's files do: kernel, seed, version and settings in the ImageJ Info, read back as the layer's
    zssr_record (not as a run's own metadata: a later run still leaves the opened file's layer be)."""
    import napari_zssr
    from napari_zssr.batch_jobs import settings_of_info
    from napari_zssr.napari.output_layers import can_hold_output
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    sr = napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False, outputs=("zssr",), seed=3)[0]
    write_image(str(tmp_path / "sr.tif"), sr[0], sr[1])
    (data, kwargs, _), = read_layers(str(tmp_path / "sr.tif"))
    record = kwargs["metadata"]["zssr_record"]
    assert record["seed"] == 3 and record["napari_zssr_version"] == napari_zssr.__version__
    assert record["kernel"] == sr[1]["metadata"]["kernel"] and record["iterations"] == [2]
    assert not can_hold_output(napari.layers.Image(data, **kwargs))
    assert settings_of_info(read_tiff(tmp_path / "sr.tif").description) is None  # not a batch's output: an input
    write_image(str(tmp_path / "again.tif"), data, kwargs)  # saved again from the opened file: the record stays
    assert read_layers(str(tmp_path / "again.tif"))[0][1]["metadata"]["zssr_record"] == record
    write_image(str(tmp_path / "plain.tif"), image_2d(), {"metadata": {"note": np.float32(1.5)}})
    assert read_tiff(tmp_path / "plain.tif").description is None  # no run: no record


def test_reader_writer_and_sample(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    path = tmp_path / "stack.tif"
    write_imagej_tiff(path, np.stack([image_2d(0), image_2d(1)]), "ZYX", (0.25, 0.25), z_spacing=1.5)
    layers = viewer.open(str(path), plugin="napari-zssr")
    assert tuple(layers[0].scale) == pytest.approx((1.5, 0.25, 0.25))
    saved = tmp_path / "saved.tif"
    viewer.layers.selection = {layers[0]}
    viewer.layers.save(str(saved), selected=True, plugin="napari-zssr")
    written = read_tiff(saved)
    assert written.pixel_size == pytest.approx((0.25, 0.25)) and written.z_spacing == pytest.approx(1.5)
    assert written.axes == "ZYX"
    two_channels = tmp_path / "two.ome.tif"
    tifffile.imwrite(two_channels, np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "Channel": {"EmissionWavelength": [520, 600]}})
    channels = viewer.open(str(two_channels), plugin="napari-zssr")
    assert [layer.metadata["optics"]["emission_wavelengths"] for layer in channels] == [[520], [600]]
    viewer.open_sample("napari-zssr", "fluorescence")
    assert "zssr_sample" in viewer.layers
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.image.value = viewer.layers["zssr_sample"]
    assert str(widget.psf.value).endswith("psf.tif")


def test_a_save_into_a_folder_never_replaces_a_file_napari_zssr_did_not_write(make_napari_viewer, tmp_path):
    """Saving layers into a folder (no dialog asks about the files in it) replaced a raw cells.tif of the same name
    with a layer's data; one layer saved to a folder's path wrote a hidden '.tif' with no name."""
    from napari_zssr.napari.writer import write_image

    viewer = make_napari_viewer()
    cells = viewer.add_image(image_2d(0), name="cells", scale=(0.2, 0.2))
    nuclei = viewer.add_image(image_2d(1), name="nuclei", scale=(0.2, 0.2))
    folder = tmp_path / "data"
    folder.mkdir()
    tifffile.imwrite(folder / "cells.tif", np.full((8, 8), 7, np.uint16))  # the raw data, of another program
    raw = (folder / "cells.tif").read_bytes()
    viewer.layers.selection = {cells, nuclei}
    with pytest.raises(Exception, match=r"already holds cells.tif, which napari-zssr did not write: not replaced"):
        viewer.layers.save(str(tmp_path / "data.tif"), selected=True, plugin="napari-zssr")
    assert (folder / "cells.tif").read_bytes() == raw and not (folder / "nuclei.tif").exists()
    saved = tmp_path / "saved"
    viewer.layers.save(str(saved), selected=True, plugin="napari-zssr")
    viewer.layers.save(str(saved), selected=True, plugin="napari-zssr")  # its own files: replaced again
    assert write_image(str(saved) + "/", cells.data, cells.as_layer_data_tuple()[1]) == [str(saved / "cells.tif")]


def test_several_layers_are_saved_into_a_folder_each_with_its_pixel_size(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    first = viewer.add_image(image_2d(0), name="cells", scale=(0.2, 0.2))
    second = viewer.add_image(np.stack([image_2d(1), image_2d(2)]), name="cells_zssr", scale=(1.5, 0.1, 0.1))
    rgb = viewer.add_image(np.zeros((8, 8, 3), np.uint8), name="photo", rgb=True)
    viewer.layers.selection = {first, second}
    folder = tmp_path / "saved"
    written = viewer.layers.save(str(folder), selected=True, plugin="napari-zssr")
    assert sorted(written) == sorted(str(folder / name) for name in ("cells.tif", "cells_zssr.tif"))
    assert read_tiff(folder / "cells.tif").pixel_size == pytest.approx((0.2, 0.2))
    again = read_tiff(folder / "cells_zssr.tif")
    assert again.pixel_size == pytest.approx((0.1, 0.1)) and again.z_spacing == pytest.approx(1.5)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    viewer.layers.selection = {first, rgb}  # one cannot be written: nothing is, the folder stays as it was
    with pytest.raises(Exception, match="RGB layers are not written"):
        viewer.layers.save(str(folder), selected=True, plugin="napari-zssr")
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    (folder / "photo.tif").mkdir()  # a folder in a file's place: refused before anything is replaced
    viewer.layers.selection = {first, rgb}
    with pytest.raises(Exception, match="photo.tif in .* are not files"):
        viewer.layers.save(str(folder), selected=True, plugin="napari-zssr")
    assert sorted(path.name for path in folder.iterdir()) == sorted([*before, "photo.tif"])
    viewer.layers.selection = {first, rgb}  # a failed save removes every folder it made
    with pytest.raises(Exception, match="RGB layers are not written"):
        viewer.layers.save(str(tmp_path / "new" / "day1" / "run1"), selected=True, plugin="napari-zssr")
    assert not (tmp_path / "new").exists()
    from napari_zssr.napari.writer import write_images  # as napari's Save dialog calls it, with a name typed

    write_images(str(tmp_path / "new" / "day1" / "run1.tif"),
                 [layer.as_layer_data_tuple() for layer in (first, second)])
    assert (tmp_path / "new" / "day1" / "run1" / "cells.tif").is_file()  # a folder, without the file suffix
    # and so from code: a name ending in .tif matched only the one-layer writer, and nothing was written, unsaid
    viewer.layers.selection = {first, second}
    written = viewer.layers.save(str(tmp_path / "two.tif"), selected=True, plugin="napari-zssr")
    assert sorted(written) == sorted(str(tmp_path / "two" / name) for name in ("cells.tif", "cells_zssr.tif"))


def test_layers_whose_names_differ_only_in_case_are_not_saved_over_each_other(tmp_path):
    """dapi and DAPI were both written: one file on macOS's and Windows' disks, the second replacing the first."""
    from napari_zssr.napari.writer import LayerNotWritable, write_images

    layers = [(image_2d(seed), {"name": name}, "image") for seed, name in enumerate(("dapi", "DAPI"))]
    with pytest.raises(LayerNotWritable, match="several layers would be saved as DAPI.tif, dapi.tif; rename them"):
        write_images(str(tmp_path / "saved"), layers)
    assert not (tmp_path / "saved").exists()


def test_the_writer_keeps_axes_of_length_one_takes_time_from_units_and_adds_the_suffix(tmp_path):
    from pint import Unit

    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    plane = np.stack([image_2d(0)])  # a current-plane preview: one z plane, at its depth
    write_image(str(tmp_path / "preview.tif"), plane, {"scale": [0.6, 0.1, 0.1], "translate": [2.4, 0.0, 0.0],
                                                        "axis_labels": list("ZYX")})
    data, attributes, _ = read_layers(str(tmp_path / "preview.tif"))[0]
    assert data.shape == plane.shape and attributes["translate"][0] == pytest.approx(2.4)
    assert attributes["scale"][0] == pytest.approx(0.6)
    one_plane_series = np.stack([plane, plane + 1])  # T = 2, Z = 1
    write_image(str(tmp_path / "tz.tif"), one_plane_series,
                {"scale": [2.0, 0.6, 0.1, 0.1], "axis_labels": list("TZYX")})
    assert read_layers(str(tmp_path / "tz.tif"))[0][0].shape == (2, 1, *plane.shape[1:])
    assert read_tiff(tmp_path / "tz.tif").axes == "TYX"  # the batch reads it as ImageJ does
    projected = read_tiff(tmp_path / "tz.tif")  # saved again by a script that kept the property, for other data
    tifffile.imwrite(tmp_path / "kept.tif", projected.data[0], imagej=True,
                     metadata={"axes": "YX", "Properties": {"napari_zssr_axes": "TZYX 2,1,24,20"}})
    assert read_layers(str(tmp_path / "kept.tif"))[0][0].ndim == 2
    series = np.stack([image_2d(1), image_2d(2)])  # napari's default labels, a time unit on the first axis
    written = write_image(str(tmp_path / "series"), series,
                          {"scale": [5.0, 0.1, 0.1], "units": [Unit("s"), Unit("µm"), Unit("µm")]})
    assert written == [str(tmp_path / "series.tif")]
    again = read_tiff(tmp_path / "series.tif")
    assert again.axes == "TYX" and again.frame_interval == pytest.approx(5.0) and again.z_spacing is None


def test_the_writer_notes_what_it_cannot_keep(tmp_path, monkeypatch):
    from napari_zssr.napari.writer import write_image

    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script: a warning

    with pytest.warns(UserWarning, match="rotation, shear or affine transform is not saved"):
        write_image(str(tmp_path / "rotated.tif"), image_2d(), {"rotate": [[0.0, -1.0], [1.0, 0.0]]})
    with pytest.warns(UserWarning, match="bool data cannot be stored in an ImageJ TIFF"):
        write_image(str(tmp_path / "mask.tif"), image_2d() > 0.5, {})


def test_the_writer_keeps_a_flipped_layers_placement_and_moves_axes_into_imagej_order(tmp_path):
    from napari_zssr.napari.writer import write_image

    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # C, Z, Y, X
    attributes = {"scale": [1.0, 0.5, -0.1, 0.1], "translate": [0.0, 2.0, 10.0, 0.0], "axis_labels": list("CZYX")}
    write_image(str(tmp_path / "flipped.tif"), data, attributes)
    written = read_tiff(tmp_path / "flipped.tif")
    assert written.axes == "ZCYX" and np.array_equal(written.data, np.moveaxis(data, 0, 1)[..., ::-1, :])
    assert written.pixel_size == pytest.approx((0.1, 0.1)) and written.z_spacing == pytest.approx(0.5)
    # row 0 of the file is the layer's last row, at world y 10 - 0.1 * 3 = 9.7: the origin says so
    assert -written.origin[0] * 0.1 == pytest.approx(9.7) and written.z_origin == pytest.approx(-4.0)


def test_a_z_stack_saved_by_tifffile_without_axes_but_with_its_z_spacing_opens_as_one_z_stack_layer(tmp_path):
    """tifffile stores a 3D ImageJ array without axes as channels: it opened as one layer per plane."""
    from napari_zssr.napari.reader import read_layers

    volume = np.random.default_rng(0).random((5, 16, 16)).astype(np.float32)
    tifffile.imwrite(tmp_path / "z.tif", volume, imagej=True, resolution=(1 / 0.1, 1 / 0.1),
                     metadata={"spacing": 0.5, "unit": "um"})
    (data, kwargs, _), = read_layers(str(tmp_path / "z.tif"))
    assert "channel_axis" not in kwargs and data.shape == (5, 16, 16) and kwargs["axis_labels"] == list("ZYX")
    assert kwargs["scale"] == pytest.approx([0.5, 0.1, 0.1]) and kwargs["units"] == ["µm"] * 3


def test_the_reader_calibrates_y_and_x_before_a_sample_axis_and_time_round_trips(tmp_path, monkeypatch):
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import LayerNotWritable, write_image

    two_samples = np.random.default_rng(0).integers(0, 255, (32, 48, 2), dtype=np.uint8)  # Y, X, S: no colour
    tifffile.imwrite(tmp_path / "yxs.tif", two_samples, photometric="minisblack", planarconfig="contig",
                     extrasamples=[0], resolution=(1e4 / 0.1, 1e4 / 0.2), resolutionunit="CENTIMETER")
    (data, kwargs, _), = read_layers(str(tmp_path / "yxs.tif"))
    assert kwargs["channel_axis"] == 2 and kwargs["scale"] == pytest.approx([0.2, 0.1])
    timelapse = np.random.default_rng(1).random((3, 16, 16)).astype(np.float32)
    tifffile.imwrite(tmp_path / "t.tif", timelapse, imagej=True, resolution=(10, 10),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 2.5})
    (data, kwargs, _), = read_layers(str(tmp_path / "t.tif"))
    assert kwargs["scale"] == pytest.approx([2.5, 0.1, 0.1]) and kwargs["units"][0] == "s"
    write_image(str(tmp_path / "saved.tif"), data, kwargs)
    assert read_tiff(tmp_path / "saved.tif").frame_interval == pytest.approx(2.5)
    from pint import Unit

    in_nm = {"scale": [500.0, 65.0, 65.0], "units": [Unit("ms"), Unit("nm"), Unit("nm")], "axis_labels": list("TYX")}
    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script: a warning
    # it reopens in um, where it does not overlay layers left in nm: said (napari then drops the units of all)
    with pytest.warns(UserWarning, match=r"nm.tif: its lengths in nanometer are saved in µm.*other layers' scale in"):
        write_image(str(tmp_path / "nm.tif"), np.zeros((3, 8, 8), np.float32), in_nm)
    saved = read_tiff(tmp_path / "nm.tif")
    assert saved.pixel_size == pytest.approx((0.065, 0.065)) and saved.frame_interval == pytest.approx(0.5)
    one_second = {"scale": [1.0, 0.1, 0.1], "units": [Unit("s"), Unit("µm"), Unit("µm")], "axis_labels": list("TYX")}
    write_image(str(tmp_path / "1s.tif"), np.zeros((3, 8, 8), np.float32), one_second)
    with pytest.warns(UserWarning, match=r"its start in time \(10\) is not saved: ImageJ has no time origin"):
        write_image(str(tmp_path / "late.tif"), np.zeros((3, 8, 8), np.float32),
                    {**one_second, "translate": [10.0, 0.0, 0.0]})
    assert read_tiff(tmp_path / "1s.tif").frame_interval == pytest.approx(1.0)  # not napari's default "unknown"
    unitless = {"scale": [2.0, 1.0, 1.0], "axis_labels": list("ZYX")}  # a z step, but no pixel size
    write_image(str(tmp_path / "z.tif"), np.zeros((3, 8, 8), np.float32), unitless)
    (_, kwargs, _), = read_layers(str(tmp_path / "z.tif"))
    assert kwargs["scale"] == pytest.approx([2.0, 1.0, 1.0])
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script without Qt
    with pytest.warns(UserWarning, match="int32 data cannot be stored in an ImageJ TIFF"):
        write_image(str(tmp_path / "int32.tif"), np.zeros((4, 4), np.int32), {})
    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: True)
    write_image(str(tmp_path / "int32.tif"), np.zeros((4, 4), np.int32), {})  # napari drops a saving writer's warnings
    assert "int32 data cannot be stored in an ImageJ TIFF" in str(notification_manager.records[-1].message)
    for name, data in (("six", np.zeros((1,) * 4 + (4, 4), np.float32)), ("rgb", np.zeros((4, 4, 3), np.uint8))):
        # refused with the reason: napari shows a writer's ValueError only as "not a valid writer"
        with pytest.raises(LayerNotWritable, match="napari's built-in TIFF writer"):
            write_image(str(tmp_path / f"{name}.tif"), data, {"rgb": name == "rgb"})
        assert not (tmp_path / f"{name}.tif").exists()
    with pytest.raises(LayerNotWritable, match="values reach 1e\\+39, beyond what ImageJ TIFFs"):  # not infinities
        write_image(str(tmp_path / "huge.tif"), np.array([[np.nan, 1e39], [1.0, 2.0]]), {})  # not hidden by a NaN
    assert not (tmp_path / "huge.tif").exists()
    write_image(str(tmp_path / "inf.tif"), np.array([[np.inf, 1.0], [1.0, 2.0]]), {})  # float32 holds infinity
    # complex values were saved as their real part, with a note of float32 alone; a scale of 0 was a ZeroDivisionError
    for name, data, attributes, why in (("complex", np.ones((4, 4), np.complex64), {}, "complex values cannot"),
                                        ("flat", np.ones((4, 4), np.float32), {"scale": [0.0, 1.0],
                                                                                "translate": [1.0, 0.0]}, "size of 0")):
        with pytest.raises(LayerNotWritable, match=why):
            write_image(str(tmp_path / f"{name}.tif"), data, attributes)
        assert not (tmp_path / f"{name}.tif").exists()


def test_the_reader_names_channel_layers_after_the_ome_channel_names(tmp_path):
    from napari_zssr.napari.reader import read_layers

    data = np.random.default_rng(0).random((2, 16, 16)).astype(np.float32)
    tifffile.imwrite(tmp_path / "named.ome.tif", data, ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    (_, kwargs, _), = read_layers(str(tmp_path / "named.ome.tif"))
    assert kwargs["name"] == ["named DAPI", "named GFP"]  # not "named.ome": its outputs are not OME files
    tifffile.imwrite(tmp_path / "plain.ome.tif", data, ome=True, metadata={"axes": "CYX"})
    (_, kwargs, _), = read_layers(str(tmp_path / "plain.ome.tif"))
    assert kwargs["name"] == "plain"  # napari numbers the channel layers


def test_colours_and_display_ranges_round_trip_between_fiji_and_napari(tmp_path):
    """A Fiji composite opens in its channels' LUTs and display ranges; a layer saved here opens in Fiji, and here,
    in its colormap and contrast limits."""
    from napari.layers import Image

    from napari_zssr.io.imagej import write_imagej_tiff
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    ramp = np.arange(256, dtype=np.uint8)
    green, orange = np.zeros((3, 256), np.uint8), np.zeros((3, 256), np.uint8)
    green[1] = ramp
    orange[0], orange[1] = ramp, ramp // 2
    data = np.random.default_rng(0).random((2, 16, 16)).astype(np.float32)
    write_imagej_tiff(tmp_path / "fiji.tif", data, "CYX", (0.1, 0.1),
                      display={"mode": "composite", "LUTs": [green, orange], "Ranges": [0.1, 0.9, 0.0, 0.5]})
    (_, kwargs, _), = read_layers(str(tmp_path / "fiji.tif"))
    assert kwargs["colormap"][0] == "green"
    assert kwargs["colormap"][1].map(np.array([1.0]))[0, :3] == pytest.approx([1.0, 127 / 255, 0.0], abs=1e-6)
    assert kwargs["colormap"][1].name == "fiji [1] LUT"  # its layer's, as napari numbers it: no other file's
    assert kwargs["contrast_limits"] == [(pytest.approx(0.1), pytest.approx(0.9)), (0.0, 0.5)]

    layer = Image(data[0], colormap=kwargs["colormap"][1], contrast_limits=(0.2, 0.7))
    write_image(str(tmp_path / "saved.tif"), *layer.as_layer_data_tuple()[:2])
    with tifffile.TiffFile(tmp_path / "saved.tif") as tif:
        saved = tif.imagej_metadata
    assert np.array_equal(np.asarray(saved["LUTs"]).reshape(3, 256), orange)
    assert (saved["min"], saved["max"]) == (pytest.approx(0.2), pytest.approx(0.7))
    (_, again, _), = read_layers(str(tmp_path / "saved.tif"))
    assert again["contrast_limits"] == (pytest.approx(0.2), pytest.approx(0.7))
    write_image(str(tmp_path / "grey.tif"), *Image(data[0]).as_layer_data_tuple()[:2])
    with tifffile.TiffFile(tmp_path / "grey.tif") as tif:
        assert "LUTs" not in tif.imagej_metadata  # grey is ImageJ's own: no LUT written


def test_a_layer_with_a_channel_axis_is_saved_in_its_colormap_and_contrast_limits(tmp_path):
    """Each channel of a layer with a channel axis shows in the layer's colormap and limits: it was saved grey, in
    ImageJ's automatic ranges."""
    from napari.layers import Image

    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    data = np.random.default_rng(0).random((2, 3, 16, 16)).astype(np.float32)
    layer = Image(data, colormap="green", contrast_limits=(0.1, 0.8), axis_labels=("c", "z", "y", "x"))
    write_image(str(tmp_path / "cz.tif"), *layer.as_layer_data_tuple()[:2])
    with tifffile.TiffFile(tmp_path / "cz.tif") as tif:
        assert tif.imagej_metadata["mode"] == "color"  # one channel at a time, as napari's slider shows them
    (_, kwargs, _), = read_layers(str(tmp_path / "cz.tif"))
    assert kwargs["colormap"] == ["green", "green"]
    assert kwargs["contrast_limits"] == [(pytest.approx(0.1), pytest.approx(0.8))] * 2


def test_a_grey_layer_with_a_channel_axis_reopens_grey(tmp_path):
    """Grey has no LUT in a file of one channel; a file of several without LUTs opened in napari's channel colours
    (magenta and green), and in Fiji's."""
    from napari.layers import Image

    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    layer = Image(np.random.default_rng(0).random((2, 16, 16)).astype(np.float32), axis_labels=("c", "y", "x"))
    write_image(str(tmp_path / "c.tif"), *layer.as_layer_data_tuple()[:2])
    (_, kwargs, _), = read_layers(str(tmp_path / "c.tif"))
    assert kwargs["colormap"] == ["gray", "gray"]


def test_a_kept_channel_axis_of_one_opens_in_its_display_range(tmp_path):
    """ImageJ keeps one channel's display range as min and max, also where the file keeps a channel axis of length 1
    (napari-zssr's axes property): the layer of that one channel opens in it."""
    from napari_zssr.io.imagej import write_imagej_tiff
    from napari_zssr.napari.reader import read_layers

    ramp = np.arange(256, dtype=np.uint8)
    green = np.zeros((3, 256), np.uint8)
    green[1] = ramp
    data = (np.random.default_rng(0).random((1, 16, 16)) * 4000).astype(np.uint16)
    write_imagej_tiff(tmp_path / "one.tif", data, "CYX", (0.1, 0.1),
                      display={"LUTs": [green], "min": 100.0, "max": 3000.0})
    (_, kwargs, _), = read_layers(str(tmp_path / "one.tif"))
    assert kwargs["channel_axis"] == 0
    assert kwargs["colormap"] == ["green"]
    assert kwargs["contrast_limits"] == [(100.0, 3000.0)]


def test_an_axial_run_on_imagejs_default_z_spacing_says_so(tmp_path):
    """A script that wrote the pixel size but not the z step leaves ImageJ's default of 1 um, on which an axial
    run's factor rests: the run warns, as the command line notes it; a z scale set by the user is not warned of."""
    from napari.layers import Image

    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.runner import prepare

    write_imagej_tiff(tmp_path / "scripted.tif", np.random.default_rng(0).random((5, 24, 24)).astype(np.float32),
                      "ZYX", (0.25, 0.25))
    (data, kwargs, _), = read_layers(str(tmp_path / "scripted.tif"))
    layer = Image(data, **kwargs)
    with pytest.warns(UserWarning, match=r"gives no z spacing, so its planes are taken 1 µm apart, ImageJ's default "
                                         r"\(x4; Fiji leaves out a spacing of 1"):
        prepare(layer, axial=True)
    layer.scale = (0.5, 0.25, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prepare(layer, axial=True).axial_scale == 2


def test_a_blank_channel_does_not_take_the_other_channels_display_ranges(tmp_path):
    """ImageJ gives a blank channel the range 0-0: that channel opens in napari's own limits, the others in theirs."""
    from napari_zssr.napari.reader import read_layers

    data = (np.random.default_rng(0).random((2, 16, 16)) * 4000).astype(np.uint16)
    data[1] = 0  # an unused channel
    tifffile.imwrite(tmp_path / "blank.tif", data, imagej=True,
                     metadata={"axes": "CYX", "mode": "composite", "Ranges": (100.0, 3000.0, 0.0, 0.0)})
    (_, kwargs, _), = read_layers(str(tmp_path / "blank.tif"))
    assert kwargs["contrast_limits"] == [(100.0, 3000.0), None]


def test_a_colour_tiff_stored_plane_by_plane_opens_its_colours_in_red_green_and_blue(tmp_path):
    """A colour TIFF with its colours before y and x opens as a layer per colour: each in its own colour (as its
    batch outputs open), not in napari's default cyan, yellow and magenta."""
    from napari_zssr.napari.reader import read_layers

    data = (np.random.default_rng(0).random((3, 16, 16)) * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "planar.tif", data, photometric="rgb", planarconfig="separate")
    (_, kwargs, _), = read_layers(str(tmp_path / "planar.tif"))
    assert not kwargs["rgb"] and kwargs["channel_axis"] == 0
    assert kwargs["colormap"] == ["red", "green", "blue"]


def test_an_8_bit_image_saved_by_fiji_with_a_lut_opens_in_it(tmp_path):
    """ImageJ saves an 8-bit image of one channel with a LUT as a palette TIFF (its LUT in the colour map, not in the
    ImageJ metadata): it opens in that LUT, not in grey."""
    from napari_zssr.napari.reader import read_layers

    data = (np.random.default_rng(0).random((16, 16)) * 255).astype(np.uint8)
    palette = np.zeros((3, 256), np.uint16)
    palette[1] = np.arange(256) << 8  # ImageJ's "Green"
    tifffile.imwrite(tmp_path / "green.tif", data, imagej=True, photometric="palette", colormap=palette,
                     metadata={"min": 10.0, "max": 150.0})
    (_, kwargs, _), = read_layers(str(tmp_path / "green.tif"))
    assert kwargs["colormap"] == "green" and kwargs["contrast_limits"] == (10.0, 150.0)


def test_a_palette_whose_entries_are_8_bit_values_opens_in_its_colours_not_black(tmp_path):
    """Some software writes a palette TIFF's colour map with 8-bit values (0-255, not 0-65535): tifffile shows such a
    palette as it is, and so does the reader; shifted as 16-bit entries, it was all black, and the layer invisible."""
    from napari_zssr.io.tiff import read_tiff
    from napari_zssr.napari.reader import read_layers

    data = (np.random.default_rng(0).random((16, 16)) * 255).astype(np.uint8)
    palette = np.zeros((3, 256), np.uint16)
    palette[1] = np.arange(256)  # a green ramp, in 8-bit values
    tifffile.imwrite(tmp_path / "indexed.tif", data, photometric="palette", colormap=palette)
    assert np.array_equal(read_tiff(tmp_path / "indexed.tif").display["LUTs"][0], palette.astype(np.uint8))
    (_, kwargs, _), = read_layers(str(tmp_path / "indexed.tif"))
    assert kwargs["colormap"] == "green"


def test_an_image_whose_white_is_zero_opens_and_is_super_resolved_as_it_shows(tmp_path):
    """A MINISWHITE TIFF (a scan, some brightfield cameras) gets an inverted grey LUT, which its outputs keep: they
    were written black is zero, with no LUT, and showed inverted."""
    from napari_zssr.cli import main
    from napari_zssr.io.tiff import read_tiff
    from napari_zssr.napari.reader import read_layers

    tifffile.imwrite(tmp_path / "scan.tif", image_2d().astype(np.uint8), photometric="miniswhite")
    (_, kwargs, _), = read_layers(str(tmp_path / "scan.tif"))
    colours = kwargs["colormap"].colors  # white at the lowest value, black at the highest
    assert np.allclose(colours[0, :3], 1.0) and np.allclose(colours[-1, :3], 0.0)
    assert main([str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out"), "--preset", "fast", "--max-iterations",
                 "2", "--outputs", "zssr", "-q"]) == 0
    lut = read_tiff(tmp_path / "out" / "scan_zssr.tif").display["LUTs"][0]
    assert lut[:, 0].tolist() == [255] * 3 and lut[:, -1].tolist() == [0] * 3


def test_manifest_validates():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-zssr")
    manifest.validate_imports()
    assert {c.id for c in manifest.contributions.commands} >= {"napari-zssr.widget", "napari-zssr.sample"}


def test_run_reads_dask_and_multiscale_layers_plane_by_plane():
    import dask.array as da
    from napari.layers import Image

    import napari_zssr

    stack = da.from_array(np.stack([image_2d(0), image_2d(1)]), chunks=(1, 24, 20))
    sr = napari_zssr.run(stack, max_iterations=2, add_to_viewer=False)[0][0]
    assert sr.shape == (2, 48, 40)
    pyramid = Image([image_2d(0, (32, 32)), image_2d(0, (16, 16))], multiscale=True, name="pyr")
    assert napari_zssr.run(pyramid, max_iterations=2, add_to_viewer=False)[0][0].shape == (64, 64)


def test_run_checks_a_pyramids_lazy_full_resolution_image_without_reading_it():
    """The checks before a run read all of a 2D lazy layer on the main thread, for its constancy alone: a pyramid's
    full-resolution level, which napari never loads whole, froze napari (or did not fit in memory at all)."""
    import dask.array as da
    from napari.layers import Image

    from napari_zssr.napari.runner import prepare

    chunks_read = []

    def chunk(block_info=None):
        chunks_read.append(block_info[None]["chunk-location"])
        return image_2d(len(chunks_read), (64, 64)).astype(np.float32)

    full = da.map_blocks(chunk, chunks=((64,) * 4, (64,) * 4), dtype=np.float32)
    pyramid = Image([full, image_2d(0, (64, 64))], multiscale=True, contrast_limits=(0, 1000), name="slide")
    request = prepare(pyramid, config=napari_zssr.ZSSRConfig(max_iterations=2))
    assert request.input_data is full and not chunks_read


def test_the_layers_of_a_lazy_preview_are_made_without_reading_its_plane_again():
    """Making the preview's layers read the previewed plane of a lazy stack a second time after the run, on the main
    thread, only for its shape (a plane of a remote or compressed file: napari froze while it was read)."""
    import dask.array as da
    from napari.layers import Image

    from napari_zssr.napari.output_layers import layer_tuples
    from napari_zssr.napari.runner import compute, prepare

    planes_read = []

    def plane(block_info=None):
        planes_read.append(block_info[None]["chunk-location"])
        return image_2d(len(planes_read))[None].astype(np.float32)

    stack = da.map_blocks(plane, chunks=((1,) * 3, (24,), (20,)), dtype=np.float32)
    request = prepare(Image(stack, name="lazy"), config=napari_zssr.ZSSRConfig(max_iterations=2),
                      current_step=(1, 0, 0))
    result = compute(request)
    planes_read.clear()
    sr = layer_tuples(request, result)[0]
    assert sr[0].shape == (1, 48, 40) and sr[1]["scale"] == [1.0, 0.5, 0.5] and not planes_read


def test_result_is_selected_and_keeps_the_input_contrast_and_look(widget, qtbot):
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="cells", contrast_limits=(150, 900), colormap="green",
                              blending="additive", gamma=0.8, opacity=0.6)  # one channel of an overlay
    w.image.value = source
    run_to_end(qtbot, w)
    assert viewer.layers.selection.active.name == "cells_zssr"
    result = viewer.layers["cells_zssr"]
    assert tuple(result.contrast_limits) == (150, 900) and result.colormap.name == "green"
    assert result.blending == "additive" and result.gamma == pytest.approx(0.8)
    assert result.opacity == pytest.approx(0.6)  # was 1: the channel's result outshone it in the overlay
    assert tuple(viewer.layers["cells_ensemble_median"].contrast_limits) == (150, 900)
    residual = viewer.layers["cells_residual"].metadata["description"]
    assert residual.startswith("SR minus bicubic interpolation of the input")


def test_the_result_takes_the_look_the_input_has_when_the_run_ends(widget, qtbot):
    """Contrast and colours adjusted while the run went on: the result came in those of the run's start, unlike
    its input beside it."""
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="cells")
    w.image.value = source
    w.advanced.max_iterations.value = 60
    w.start()
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    source.contrast_limits, source.colormap, source.blending, source.gamma = (150, 900), "green", "additive", 0.8
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    result = viewer.layers["cells_zssr"]
    assert tuple(result.contrast_limits) == (150, 900) and result.colormap.name == "green"
    assert result.blending == "additive" and result.gamma == pytest.approx(0.8)


def open_two_channels(viewer, folder) -> tuple:
    """A DAPI and a GFP layer opened with the napari-zssr reader from a 2-channel OME-TIFF: napari's channel_axis
    blends the first in its base blending (opaque) and the second additively."""
    path = folder / "two.ome.tif"
    tifffile.imwrite(path, np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    dapi, gfp = viewer.open(str(path), plugin="napari-zssr")
    assert (dapi.name, gfp.name) == ("two DAPI", "two GFP")
    assert dapi.blending == "translucent_no_depth" and gfp.blending == "additive"
    return dapi, gfp


def outputs_of(name: str, variant: str = "") -> list[str]:
    return [name, *(f"{name}_{kind}{variant}" for kind in ("zssr", "ensemble_median", "residual"))]


@pytest.mark.parametrize("order", [("two GFP", "two DAPI"), ("two DAPI", "two GFP")])
def test_each_channels_result_sits_above_its_input_whatever_order_the_channels_are_run_in(make_napari_viewer,
                                                                                           tmp_path, order):
    """Results went on top of the layer list: run GFP then DAPI, DAPI's opaque result hid GFP's result and input,
    and GFP's additive result added onto its still visible input, doubling the green."""
    import napari_zssr

    viewer = make_napari_viewer()
    dapi, gfp = open_two_channels(viewer, tmp_path)
    for name in order:
        napari_zssr.run(viewer.layers[name], viewer=viewer, max_iterations=2)
    assert [layer.name for layer in viewer.layers] == outputs_of("two DAPI") + outputs_of("two GFP")
    assert dapi.visible and not gfp.visible  # an additive input under its additive result: the result shows alone
    assert viewer.layers["two GFP_zssr"].visible and viewer.layers["two GFP_zssr"].blending == "additive"
    assert viewer.layers["two DAPI_zssr"].visible  # covers its input exactly: the input may stay
    names = [layer.name for layer in viewer.layers]
    viewer.layers.move(names.index("two GFP_zssr"), 0)  # the user moves a result: a rerun keeps it there
    gfp.visible = True
    napari_zssr.run(gfp, viewer=viewer, max_iterations=2, outputs=["zssr", "ensemble_median", "residual",
                                                                   "ensemble_spread"])
    names.remove("two GFP_zssr")
    names.append("two GFP_ensemble_spread")  # a new companion goes above the one before it
    assert [layer.name for layer in viewer.layers] == ["two GFP_zssr", *names] and not gfp.visible


def test_a_translucent_input_is_hidden_under_its_result_and_an_array_run_goes_on_top(make_napari_viewer):
    """A half-transparent layer would show through its half-transparent result; an array has no place in the list."""
    import napari_zssr

    viewer = make_napari_viewer()
    faint = viewer.add_image(image_2d(), name="faint", opacity=0.5)
    viewer.add_image(image_2d(1), name="above")
    napari_zssr.run(faint, viewer=viewer, max_iterations=2, outputs=["zssr"])
    assert [layer.name for layer in viewer.layers] == ["faint", "faint_zssr", "above"] and not faint.visible
    napari_zssr.run(image_2d(2), viewer=viewer, max_iterations=2, outputs=["zssr"])
    assert [layer.name for layer in viewer.layers][-1] == "array_zssr"


def test_a_rerun_keeps_an_earlier_output_the_user_locked_against_deletion(make_napari_viewer):
    """A rerun asked for fewer outputs removed the earlier run's others, even one the user had locked."""
    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="cells")
    napari_zssr.run(layer, viewer=viewer, max_iterations=2)
    viewer.layers["cells_ensemble_median"].locked = True
    napari_zssr.run(layer, viewer=viewer, max_iterations=2, outputs=["zssr"])
    assert [layer.name for layer in viewer.layers] == ["cells", "cells_zssr", "cells_ensemble_median"]


def test_an_arrays_run_never_replaces_another_arrays_result(make_napari_viewer):
    """Every array was called "array" with nothing to tell them apart: the second array's run silently replaced
    the first's result layers."""
    import napari_zssr

    viewer = make_napari_viewer()
    first, second = image_2d(0), image_2d(1)
    napari_zssr.run(first, viewer=viewer, max_iterations=2)
    first_result = viewer.layers["array_zssr"].data.copy()
    napari_zssr.run(second, viewer=viewer, max_iterations=2)
    assert [layer.name for layer in viewer.layers] == [
        "array_zssr", "array_ensemble_median", "array_residual",
        "array [1]_zssr", "array [1]_ensemble_median", "array [1]_residual"]
    np.testing.assert_array_equal(viewer.layers["array_zssr"].data, first_result)
    assert viewer.layers["array [1]_zssr"].metadata["source_layer"] == "array [1]"
    viewer.add_image(image_2d(2), name="array [2]")  # a layer of that name: its results would be the array's
    napari_zssr.run(image_2d(3), viewer=viewer, max_iterations=2, outputs=["zssr"])
    assert viewer.layers[-1].name == "array [3]_zssr"


def test_a_preview_of_a_channel_sits_above_it_and_a_cancelled_run_leaves_the_viewer_as_it_was(widget, qtbot,
                                                                                                 tmp_path):
    viewer, w = widget
    dapi, gfp = open_two_channels(viewer, tmp_path)
    w.current_plane.value = True
    for layer in (gfp, dapi):
        w.image.value = layer
        run_to_end(qtbot, w)
    assert [layer.name for layer in viewer.layers] == outputs_of("two DAPI", "_preview") + \
        outputs_of("two GFP", "_preview"), w.status.value
    assert dapi.visible and not gfp.visible
    gfp.visible = True  # shown again, to compare
    viewer.layers.move(0, len(viewer.layers))
    names = [layer.name for layer in viewer.layers]
    w.image.value, w.current_plane.value, w.advanced.max_iterations.value = gfp, False, 5000
    w.start()
    qtbot.waitUntil(lambda: "iteration" in w.status.value, timeout=60_000)
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert "cancelled" in w.status.value
    assert [layer.name for layer in viewer.layers] == names and gfp.visible and dapi.visible


def test_a_volumes_result_is_rendered_in_3d_as_its_input_is(make_napari_viewer, qtbot):
    """A z-stack shown as an isosurface (or attenuated MIP) in the 3D view: its result came as a plain MIP, at none
    of the input's threshold, and a re-run kept the rendering of the first."""
    import napari_zssr

    viewer = make_napari_viewer()
    source = viewer.add_image(np.stack([image_2d(i) for i in range(2)]), name="vol", rendering="iso",
                              iso_threshold=600.0)
    napari_zssr.run(source, viewer=viewer, max_iterations=2, width=4, outputs=["zssr"])
    result = viewer.layers["vol_zssr"]
    assert result.rendering == "iso" and result.iso_threshold == pytest.approx(600.0)
    source.rendering, source.attenuation = "attenuated_mip", 0.2
    napari_zssr.run(source, viewer=viewer, max_iterations=2, width=4, outputs=["zssr"])
    assert result.rendering == "attenuated_mip" and result.attenuation == pytest.approx(0.2)


def test_rerun_updates_rotate_shear_and_affine(widget, qtbot):
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="turned", scale=(0.2, 0.2))
    w.image.value = source
    run_to_end(qtbot, w)
    source.rotate = 30
    source.shear = [0.2]
    source.affine = np.array([[1.0, 0, 4], [0, 1, 2], [0, 0, 1]])
    run_to_end(qtbot, w)
    result = viewer.layers["turned_zssr"]
    np.testing.assert_allclose(result.rotate, source.rotate)
    np.testing.assert_allclose(result.shear, source.shear)
    np.testing.assert_allclose(result.affine.affine_matrix, source.affine.affine_matrix)
    for corner in ((-0.5, -0.5), (23.5, 19.5)):  # the outer pixel edges still coincide, turned with the layer
        output_corner = tuple(2 * c + 0.5 for c in corner)
        np.testing.assert_allclose(result.data_to_world(output_corner), source.data_to_world(corner), atol=1e-9)


def test_a_preview_of_a_volume_turned_out_of_its_planes_sits_on_its_plane():
    from napari_zssr import ZSSRConfig
    from napari_zssr.napari.output_layers import layer_tuples
    from napari_zssr.napari.runner import compute, prepare

    volume = napari.layers.Image(np.stack([image_2d(i) for i in range(3)]), rotate=(0, 30, 0), scale=(2, 0.2, 0.2),
                                 affine=np.diag([1.0, 1.5, 1.0, 1.0]))
    request = prepare(volume, config=ZSSRConfig.preset("fast", max_iterations=2), current_step=(2, 0, 0))
    data, kwargs, _ = layer_tuples(request, compute(request))[0]
    preview = napari.layers.Image(data, **kwargs)
    for corner in ((-0.5, -0.5), (23.5, 19.5)):  # the outer pixel edges of plane 2 and of the preview coincide
        output_corner = (0, *(2 * c + 0.5 for c in corner))
        np.testing.assert_allclose(preview.data_to_world(output_corner), volume.data_to_world((2, *corner)),
                                   atol=1e-9)


def test_current_plane_is_the_one_under_the_viewer_position(widget, qtbot):
    """Layers of other scales and dimensionality change the viewer's steps, not the layer's own plane."""
    viewer, w = widget
    viewer.add_image(np.zeros((2, 12, 24, 20), np.uint16), name="4d")  # adds a leading axis and finer z steps
    source = viewer.add_image(np.stack([image_2d(i) for i in range(3)]), name="z", scale=(2.0, 1.0, 1.0))
    viewer.dims.set_point(1, 4.0)  # z = 4 µm: the third plane of "z" (step 4 of the finer "4d" layer)
    w.image.value = source
    w.current_plane.value = True
    run_to_end(qtbot, w)
    result = viewer.layers["z_zssr_preview"]
    assert result.metadata["plane"] == (2,), w.status.value
    assert result.translate[0] == pytest.approx(4.0)


def test_a_preview_refuses_a_view_that_does_not_show_the_planes_it_would_run(widget, qtbot):
    """Axes rolled (a Z-X view) or a 3D view: the Y-X plane at a hidden slider's position is not what is on screen."""
    viewer, w = widget
    w.image.value = viewer.add_image(np.stack([image_2d(i) for i in range(3)]), name="vol", scale=(3.0, 1.0, 1.0))
    w.current_plane.value = True
    for change in (lambda: setattr(viewer.dims, "order", (1, 0, 2)), lambda: setattr(viewer.dims, "ndisplay", 3)):
        viewer.dims.order, viewer.dims.ndisplay = (0, 1, 2), 2
        change()
        assert w.start() is None and not w.running
        assert "'current plane only' previews the plane on screen" in w.status.value
        assert "vol_zssr_preview" not in viewer.layers
    viewer.dims.order, viewer.dims.ndisplay = (0, 2, 1), 2  # Y and X swapped on screen: the same plane
    run_to_end(qtbot, w)
    assert viewer.layers["vol_zssr_preview"].data.shape[0] == 1


def test_a_preview_refuses_a_position_where_the_viewer_shows_none_of_the_layer(widget, qtbot):
    """A deeper stack beside it, the slider on a plane the layer has not: napari shows nothing of the layer there,
    and the preview ran its last plane instead, which was not on screen."""
    viewer, w = widget
    viewer.add_image(np.zeros((5, 24, 20), np.uint16), name="deeper")
    w.image.value = viewer.add_image(np.stack([image_2d(i) for i in range(3)]), name="z")
    w.current_plane.value = True
    viewer.dims.set_current_step(0, 4)
    assert w.start() is None and not w.running
    assert "the viewer shows none of layer 'z' at its position" in w.status.value, w.status.value
    assert "z_zssr_preview" not in viewer.layers
    viewer.dims.set_current_step(0, 2)
    run_to_end(qtbot, w)
    assert viewer.layers["z_zssr_preview"].metadata["plane"] == (2,)


def test_a_preview_of_a_blank_plane_names_the_plane_not_the_layer(widget):
    viewer, w = widget
    stack = np.stack([image_2d(0), np.zeros_like(image_2d()), image_2d(2)])
    w.image.value = viewer.add_image(stack, name="withblank")
    viewer.dims.set_current_step(0, 1)
    w.current_plane.value = True
    assert w.start() is None
    assert "the plane shown (index (1,)) of layer 'withblank' is constant" in w.status.value


def test_nan_in_memory_is_refused_before_the_worker_starts(widget):
    viewer, w = widget
    data = image_2d().astype(np.float32)
    data[3, 4] = np.nan
    w.image.value = viewer.add_image(np.stack([image_2d(1).astype(np.float32), data]), name="holes")
    assert w.start() is None and not w.running
    assert "NaN" in w.status.value


def test_a_worker_error_is_shown_once(widget, qtbot):
    """A problem only found during the run (a lazy stack's NaN): one message, no exception in Qt's event loop."""
    import dask.array as da
    from napari.utils.notifications import notification_manager

    viewer, w = widget
    data = np.stack([image_2d(0), image_2d(1)]).astype(np.float32)
    data[1, 2, 2] = np.inf
    w.image.value = viewer.add_image(da.from_array(data, chunks=(1, 24, 20)), name="lazy")
    before = len(notification_manager.records)
    with qtbot.captureExceptions() as exceptions:
        run_to_end(qtbot, w)
    assert not exceptions
    assert w.status.value.startswith("the run failed") and "NaN or infinite" in w.status.value
    new = [str(record.message) for record in notification_manager.records[before:]]
    assert sum("NaN or infinite" in message for message in new) == 1, new
    assert [layer.name for layer in viewer.layers] == ["lazy"]


def test_each_run_shows_its_own_warnings(widget, qtbot):
    """napari shows a warning once a session: a second run of a stack with a blank plane must say so again."""
    from napari.utils.notifications import notification_manager

    viewer, w = widget
    w.image.value = viewer.add_image(np.stack([image_2d(0), np.zeros_like(image_2d(0))]), name="blank")
    w.advanced.max_iterations.value = 2
    for _ in range(2):
        before = len(notification_manager.records)
        run_to_end(qtbot, w)
        new = [str(record.message) for record in notification_manager.records[before:]]
        assert sum("the plane at index 1 is constant" in message for message in new) == 1, new


def test_a_long_message_does_not_widen_the_dock(widget, qtbot):
    viewer, w = widget
    viewer.window.show()  # a hidden window does not pass its children's size changes up
    w.status.value = "the run failed: " + "x" * 500
    w.estimate.value = "y " * 250
    qtbot.wait(50)
    assert w.native.sizeHint().width() < 400
    assert w.native.minimumSizeHint().width() < 400


def test_progress_bar_and_loss_plot_follow_the_run(widget, qtbot):
    viewer, w = widget
    w.advanced.max_iterations.value = 20
    w.image.value = viewer.add_image(np.stack([image_2d(0), image_2d(1)]), name="two")
    worker = w.start()
    seen = []
    worker.yielded.connect(lambda event: seen.append((w.progress_bar.value, w.progress_bar.max)))
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    values = [value for value, _ in seen]
    assert values == sorted(values) and len(set(values)) > 2, seen  # it moved during the run
    assert w.progress_bar.value == w.progress_bar.max > 0
    assert sorted(w.loss_plot.series) == [0, 1]  # one loss curve per plane
    assert all(len(curve) >= 2 for curve in w.loss_plot.series.values())
    assert not w.loss_plot.grab().isNull()


def test_scale_steps_by_whole_numbers_with_a_psf(widget, psf_file):
    _, w = widget
    w.scale.value = 2.5  # fine without a PSF
    assert w.scale.value == 2.5
    use_psf(w, psf_file)
    assert w.scale.value in (2.0, 3.0)
    w.scale.value = 2.0
    w.scale.native.stepUp()
    assert w.scale.value == 3.0
    w.scale.value = 3.4
    assert w.scale.value == 3.0


def test_a_psf_file_whose_values_run_refuses_is_said_so_when_chosen(widget, tmp_path):
    """A PSF of NaN values or of one axis left the status line empty until Run refused it."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="img")
    bead = np.outer(np.hanning(15), np.hanning(15))
    bead[3, 3] = np.nan
    np.save(tmp_path / "nan.npy", bead)
    np.save(tmp_path / "line.npy", np.hanning(15))
    np.save(tmp_path / "mask.npy", bead > 0.5)  # a thresholded bead: raised a TypeError out of the field's callback
    np.save(tmp_path / "complex.npy", bead.astype(complex))
    for name, said in (("nan.npy", "the PSF contains NaN or infinite values"),
                       ("line.npy", "the PSF must be 2D (Y, X) or a 3D z-stack"),
                       ("mask.npy", "dtype bool"), ("complex.npy", "dtype complex")):
        use_psf(w, str(tmp_path / name))
        assert said in w.status.value


def test_a_psf_that_does_not_look_like_a_bead_gets_a_warning(widget, tmp_path, psf_file):
    from napari_zssr.sample import microscopy_sample

    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="img")
    use_psf(w, psf_file)
    assert "warning" not in w.status.value
    cells = tmp_path / "cells.tif"
    write_imagej_tiff(cells, microscopy_sample().image, "YX", (0.13, 0.13))
    w.psf.value = str(cells)
    assert "does not look like a bead" in w.status.value
    w.kernel_source.value = "from optics"  # the note is the PSF file's: it goes with it, and returns with it
    assert "bead" not in w.status.value
    w.kernel_source.value = "PSF file"
    assert "does not look like a bead" in w.status.value


def test_how_a_psf_file_was_read_is_said_when_it_is_chosen(widget, tmp_path):
    """A note about the file itself (its planes taken from its last axis) came only from Run."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="img")
    y, x = np.mgrid[:15, :15] - 7
    np.save(tmp_path / "yxz.npy", np.stack([np.exp(-(x**2 + y**2) / (2 + z)) for z in range(5)], axis=-1))
    use_psf(w, str(tmp_path / "yxz.npy"))
    assert "kept on its last axis (Y, X, Z)" in w.status.value


def test_the_psf_files_note_goes_in_axial_mode_which_takes_no_kernel_and_returns_after(widget, tmp_path):
    viewer, w = widget
    w.image.value = viewer.add_image(np.stack([image_2d(i, (48, 48)) for i in range(4)]), name="vol",
                                     scale=(0.3, 0.1, 0.1))
    use_psf(w, str(tmp_path / "missing.tif"))
    assert "not found" in w.status.value
    w.axial.value = True
    assert w.status.value == ""
    w.axial.value = False
    assert "not found" in w.status.value


def test_psf_layers_are_not_offered_as_the_image(widget):
    viewer, w = widget
    viewer.open_sample("napari-zssr", "fluorescence")
    viewer.add_image(image_2d(), name="mine")
    offered = [choice.name for choice in w.image.choices]
    assert offered == ["zssr_sample", "mine"]


def test_the_samples_psf_goes_with_it_when_another_layer_is_chosen(widget, psf_file):
    viewer, w = widget
    w.kernel_source.value = "from optics"
    w.psf_pixel_size.value = 0.05  # typed before a PSF file was chosen
    mine = viewer.add_image(image_2d(), name="mine", scale=(0.1, 0.1))
    viewer.open_sample("napari-zssr", "fluorescence")
    w.image.value = viewer.layers["zssr_sample"]
    assert w.kernel_source.value == "PSF file" and w.psf_pixel_size.value not in (0, 0.05)
    w.image.value = mine  # the sample's synthetic PSF never passes for another image's: the kernel chosen before
    assert w.kernel_source.value == "from optics"
    assert not w._psf_given() and w.psf_pixel_size.value == 0.05
    w.image.value = viewer.layers["zssr_sample"]
    w.psf.value = psf_file  # a PSF file the user chose stays
    w.image.value = mine
    assert w.kernel_source.value == "PSF file" and str(w.psf.value) == psf_file


def test_every_input_has_a_tooltip_and_advanced_settings_start_hidden(widget):
    from magicgui.widgets.bases import ValueWidget

    _, w = widget
    inputs = [field for field in w if isinstance(field, ValueWidget) and field.widget_type != "Label"
              and field.widget_type != "ProgressBar"]
    assert len(inputs) >= 17
    assert all(field.tooltip for field in inputs), [field.label for field in inputs if not field.tooltip]
    a = w.advanced
    advanced = [a.noise, a.noise_auto, a.noise_std, a.back_projection, a.ensemble, a.uncertainty, a.learned_start,
                a.warm_start, a.background_window, a.max_iterations, a.device, a.precision, a.seed]
    assert not any(visible(w, field) for field in advanced)
    assert visible(w, w.image) and visible(w, w.scale) and visible(w, w.run_button)
    w.show_advanced.value = True
    assert all(visible(w, field) for field in advanced)


def test_pixel_sizes_read_from_the_layer_and_the_psf_are_shown(widget, psf_file):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="calibrated", scale=(0.1625, 0.1625))
    assert w.pixel_size.value == pytest.approx(0.1625)
    assert w.pixel_size.native.text() == "0.1625"
    w.pixel_size.value = 0  # cleared: the run takes the layer's, which the field says
    assert w.pixel_size.native.text() == "the layer's" and w._typed_pixel_size() is None
    w.image.value = viewer.add_image(image_2d(), name="unknown")  # napari's default scale 1: not known
    assert w.pixel_size.value == 0 and w.pixel_size.native.text() == "unknown"  # not a size of 0
    use_psf(w, psf_file)
    assert w.psf_pixel_size.value == pytest.approx(0.1)
    assert w._kernel_arguments()["psf_pixel_size"] is None  # as the file says: the run reads it there
    w.psf_pixel_size.value = 0.05
    assert w._kernel_arguments()["psf_pixel_size"] == 0.05  # typed


def test_a_channel_layer_runs_with_its_own_psf_of_a_file_of_one_psf_per_channel(widget, qtbot, tmp_path,
                                                                                 multicolour_psf):
    """A multicolour bead image (one PSF per channel) was refused; a layer opened from channel 1 of its file takes
    PSF channel 1, and a layer of no channel is refused, saying why, before any training."""
    viewer, w = widget
    multi, _ = multicolour_psf
    tifffile.imwrite(tmp_path / "two.ome.tif", np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    channels = viewer.open(str(tmp_path / "two.ome.tif"), plugin="napari-zssr")
    w.image.value = viewer.add_image(image_2d(), name="plain", scale=(0.1, 0.1))
    use_psf(w, str(multi))
    assert w.psf_pixel_size.value == pytest.approx(0.1)  # the file's, every channel's
    assert "holds 2 channels, one PSF each: a layer opened from channel k" in w.status.value
    # which channel the layer takes, or why Run refuses it, is said as the layer is chosen, not only at Run
    assert "layer 'plain': " in w.status.value and "no channel of a multichannel file" in w.status.value
    assert w.start() is None and not w.running
    assert "and the image is no channel of a multichannel file" in w.status.value
    w.image.value = channels[1]
    assert f"layer {channels[1].name!r} takes PSF channel 1" in w.status.value
    run_to_end(qtbot, w)
    kernel = viewer.layers[f"{channels[1].name}_zssr"].metadata["kernel"]
    assert (kernel["psf_path"], kernel["psf_channel"]) == (str(multi), 1), w.status.value


def test_a_channel_layer_takes_its_own_series_of_a_psf_file_of_one_series_per_channel(widget, qtbot, tmp_path,
                                                                                      series_psf):
    """A multicolour bead saved one image series per channel gave every layer its first series: a layer opened from
    channel 1 of a file of 2 takes series 1, and the status line says which a layer takes."""
    viewer, w = widget
    beads, _ = series_psf
    tifffile.imwrite(tmp_path / "two.ome.tif", np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    channels = viewer.open(str(tmp_path / "two.ome.tif"), plugin="napari-zssr")
    plain = viewer.add_image(image_2d(), name="plain", scale=(0.1, 0.1))
    w.image.value = channels[1]
    use_psf(w, str(beads))
    assert "an image of 2 channels takes series k for its channel k" in w.status.value
    assert f"layer {channels[1].name!r} takes series 1 of colours.ome.tif" in w.status.value
    run_to_end(qtbot, w)
    kernel = viewer.layers[f"{channels[1].name}_zssr"].metadata["kernel"]
    assert (kernel["psf_path"], kernel["psf_channel"]) == (str(beads), 1), w.status.value
    w.image.value = plain  # of no channel: the first series, as the file's note says
    assert "layer 'plain' takes series 0 of colours.ome.tif" in w.status.value


def test_the_status_line_describes_the_layer_chosen_now_not_the_one_before(widget, tmp_path, multicolour_psf):
    """Which PSF channel a layer takes, and a note on its pixel size, stayed the previous layer's when another was
    chosen (only a run's words showing were rewritten): each choice of layer now rewrites the notes of the layer."""
    viewer, w = widget
    multi, _ = multicolour_psf
    tifffile.imwrite(tmp_path / "two.ome.tif", np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    first, second = viewer.open(str(tmp_path / "two.ome.tif"), plugin="napari-zssr")
    in_metres = viewer.add_image(image_2d(), name="in_metres", scale=(2000.0, 2000.0))
    w.image.value = first
    use_psf(w, str(multi))
    assert f"layer {first.name!r} takes PSF channel 0" in w.status.value
    w.image.value = second
    assert f"layer {second.name!r} takes PSF channel 1" in w.status.value
    assert "PSF channel 0" not in w.status.value
    w.image.value = in_metres
    assert "the layer's pixel size 2000 is outside the range" in w.status.value
    assert "layer 'in_metres': " in w.status.value and "PSF channel" not in w.status.value
    w.image.value = first
    assert "outside the range" not in w.status.value and "in_metres" not in w.status.value
    assert f"layer {first.name!r} takes PSF channel 0" in w.status.value


def test_renaming_the_chosen_layer_keeps_it_chosen_and_its_notes_name_it_anew(widget, tmp_path, multicolour_psf):
    """napari resets the image box's choices when a layer is renamed, and magicgui knows a choice by its name: the
    panel switched to the first layer (another channel, its PSF channel, its optics; a typed pixel size lost), and
    the notes kept the old name."""
    viewer, w = widget
    multi, _ = multicolour_psf
    tifffile.imwrite(tmp_path / "two.ome.tif", np.stack([image_2d(0), image_2d(1)]), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    _, second = viewer.open(str(tmp_path / "two.ome.tif"), plugin="napari-zssr")
    w.image.value = second
    use_psf(w, str(multi))
    w.pixel_size.value = 0.08
    second.name = "GFP"
    assert w.image.value is second and w.pixel_size.value == pytest.approx(0.08)
    assert "layer 'GFP' takes PSF channel 1" in w.status.value
    w.axial.value = True  # the estimate line names the layer where axial mode refuses it
    second.name = "GFP again"
    assert "'GFP again'" in w.estimate.value
    w.axial.value = False
    viewer.layers.remove(second)  # a chosen layer that leaves still gives way
    assert w.image.value is viewer.layers["two"] and "layer 'two' takes PSF channel 0" in w.status.value


def test_the_panel_follows_the_layers_units_and_data(widget):
    """Units set after the scale (65 nm typed as 65): the field and the check follow; new data: the estimate does."""
    viewer, w = widget
    layer = viewer.add_image(image_2d(), name="in_nm", scale=(2000.0, 2000.0))
    w.image.value = layer
    assert w.start() is None and "2000 µm is no pixel size" in w.status.value
    layer.units = ("nm", "nm")  # 2 µm pixels
    assert w.pixel_size.value == pytest.approx(2.0) and "outside the range" not in w.status.value
    layer.scale = (65.0, 65.0)
    assert w.pixel_size.value == pytest.approx(0.065)
    w._update_estimate()
    layer.data = np.stack([image_2d(i) for i in range(2)])
    assert "for 2 planes" in w.estimate.value, w.estimate.value


def test_a_psf_file_with_unequal_pixel_sides_shows_their_mean_and_runs_with_both(widget, tmp_path):
    viewer, w = widget
    path = tmp_path / "unequal.tif"
    write_imagej_tiff(path, (gaussian_psf(1.0) * 1000 + 20).astype(np.float32), "YX", (0.04, 0.09))
    use_psf(w, str(path))
    assert w.psf_pixel_size.value == pytest.approx(0.06)  # sqrt(0.04 * 0.09)
    assert w._kernel_arguments()["psf_pixel_size"] is None  # the run takes the file's (y, x) pair


def test_a_psf_file_pixel_size_outside_the_field_is_not_used_silently(widget, tmp_path):
    viewer, w = widget
    path = tmp_path / "in_nm.tif"  # 100 "um" pixels: a size written in nm where um were meant
    write_imagej_tiff(path, (gaussian_psf(1.0) * 1000 + 20).astype(np.float32), "YX", (100.0, 100.0 + 50))
    use_psf(w, str(path))
    assert w.psf_pixel_size.value == 0 and "outside the range" in w.status.value
    with pytest.raises(ValueError, match="type the PSF's pixel size"):
        w._kernel_arguments()  # the run would take the file's value, which the note calls unused
    w.psf_pixel_size.value = 0.1
    assert w._kernel_arguments()["psf_pixel_size"] == 0.1


def test_kernel_section_shows_only_the_chosen_sources_fields(widget, qtbot, psf_file):
    viewer, w = widget
    assert w.kernel_source.value == "none (bicubic)"
    assert not visible(w, w.psf) and not visible(w, w.psf_pixel_size)
    w.kernel_source.value = "PSF file"
    assert visible(w, w.psf) and visible(w, w.psf_pixel_size)
    w.image.value = viewer.add_image(image_2d(), name="img")
    assert w.start() is None and "no PSF file chosen" in w.status.value
    w.psf.value = psf_file
    w.kernel_source.value = "none (bicubic)"  # a PSF path left in the hidden field is not used
    run_to_end(qtbot, w)
    assert viewer.layers["img_zssr"].metadata["psf_path"] is None


def test_uncertainty_layer_is_optional(widget, qtbot):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="u")
    run_to_end(qtbot, w)
    assert "u_ensemble_spread" not in viewer.layers
    w.advanced.uncertainty.value = True
    run_to_end(qtbot, w)
    spread = viewer.layers["u_ensemble_spread"]
    assert spread.data.shape == (48, 40) and np.all(spread.data >= 0) and spread.data.max() > 0
    assert not spread.visible and "standard deviation" in spread.metadata["description"]
    assert_edges_coincide(viewer.layers["u"], spread)
    w.advanced.uncertainty.value = False
    run_to_end(qtbot, w)
    assert "u_ensemble_spread" not in viewer.layers  # not left from the run before, beside newer outputs
    # a spread of one member: 0, read as "sure everywhere"
    w.advanced.uncertainty.value, w.advanced.ensemble.value = True, False
    assert not w.advanced.uncertainty.enabled
    run_to_end(qtbot, w)
    assert "u_ensemble_spread" not in viewer.layers and not w.advanced.uncertainty.enabled  # a run's end leaves it off
    w.advanced.ensemble.value = True
    assert w.advanced.uncertainty.enabled and w.advanced.uncertainty.value  # as the user left it


def test_reader_opens_rgb_and_plain_tiffs(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    rgb = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    plain, imagej = tmp_path / "plain_rgb.tif", tmp_path / "imagej_rgb.tif"
    tifffile.imwrite(plain, rgb, photometric="rgb", resolution=(10, 10), resolutionunit="CENTIMETER")
    tifffile.imwrite(imagej, rgb, photometric="rgb", imagej=True, resolution=(5, 5), metadata={"unit": "um"})
    layer = viewer.open(str(imagej), plugin="napari-zssr")[0]
    assert layer.rgb and layer.data.shape == (30, 40, 3) and tuple(layer.scale) == pytest.approx((0.2, 0.2))
    assert viewer.open(str(plain), plugin="napari-zssr")[0].rgb
    grey = tmp_path / "grey.tif"
    tifffile.imwrite(grey, image_2d())
    layer = viewer.open(str(grey), plugin="napari-zssr")[0]
    assert tuple(layer.scale) == (1.0, 1.0) and not layer.rgb


def test_the_reader_refuses_a_complex_tiff_saying_why(make_napari_viewer, tmp_path):
    """napari cannot show complex data: opening such a file failed with a NotImplementedError without a word."""
    viewer = make_napari_viewer()
    path = tmp_path / "fourier.tif"
    tifffile.imwrite(path, image_2d().astype(np.complex64) * (1 + 1j))
    with pytest.raises(Exception, match=r"fourier\.tif holds complex values.*np\.abs") as refused:
        viewer.open(str(path), plugin="napari-zssr")
    assert not isinstance(refused.value, NotImplementedError) and len(viewer.layers) == 0


def test_sample_is_written_to_a_private_folder():
    import os
    import stat
    import tempfile
    from pathlib import Path

    from napari_zssr.napari.sample_data import make_sample

    first = Path(make_sample()[0][1]["metadata"]["zssr_psf_path"]).parent
    second = Path(make_sample()[0][1]["metadata"]["zssr_psf_path"]).parent
    assert first != second and first.parent == Path(tempfile.gettempdir())
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o700


def test_menu_titles_do_not_repeat_the_widget_name(make_napari_viewer):
    from napari._app_model import get_app_model

    make_napari_viewer()
    titles = [str(get_app_model().commands[command].title) for command in ("napari-zssr.widget",
                                                                             "napari-zssr.fluorescence")]
    assert titles == ["ZSSR super-resolution (napari-zssr)", "Fluorescence image and its PSF (napari-zssr)"]


def test_kernel_from_optics_prefilled_from_the_files_metadata(widget, qtbot):
    viewer, w = widget
    sample = microscopy_sample()
    optics = {"na": 1.2, "refractive_index": 1.333, "emission_wavelengths": [None, 610.0],
              "excitation_wavelengths": [561.0]}
    w.image.value = viewer.add_image(sample.image, name="cells", scale=(0.13, 0.13), metadata={"optics": optics})
    w.kernel_source.value = "from optics"
    assert visible(w, w.optics_fields.na) and visible(w, w.optics_fields.wavelength) and not visible(w, w.psf)
    assert not visible(w, w.optics_fields.pinhole)
    w.optics_fields.modality.value = "confocal"
    assert visible(w, w.optics_fields.pinhole) and visible(w, w.optics_fields.excitation)
    optics = w.optics_fields
    assert (optics.na.value, optics.wavelength.value, optics.immersion.value, optics.excitation.value) == \
        (1.2, 610, "water", 561)
    w.optics_fields.modality.value = "widefield"
    run_to_end(qtbot, w)
    kernel = viewer.layers["cells_zssr"].metadata["kernel"]
    assert kernel["source"] == "optics" and kernel["na"] == 1.2 and kernel["pixel_size_um"] == pytest.approx(0.13)
    assert "resolution" in w.status.value


def test_optics_without_a_pixel_size_are_refused_before_the_run(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="img")  # scale 1: pixel size unknown
    w.kernel_source.value = "from optics"
    w.optics_fields.wavelength.value = 520
    assert w.start() is None and "pixel size" in w.status.value


def test_kernel_estimated_from_the_image(widget, qtbot):
    viewer, w = widget
    w.image.value = viewer.add_image(microscopy_sample().image, name="cells")
    w.kernel_source.value = "estimate from the image"
    assert w.scale.step == 1.0  # a kernel needs a whole factor
    run_to_end(qtbot, w)
    kernel = viewer.layers["cells_zssr"].metadata["kernel"]
    said = "kernel from the image: none, " if kernel["fallback"] else "kernel estimated from the image ("
    assert kernel["source"] == "estimate" and said in w.status.value  # not "estimated" where none was used
    assert ("no kernel (bicubic)" in w.status.value) == bool(kernel["fallback"])  # says when none was used


def test_the_pixel_field_follows_the_layer_and_unequal_sides_reach_the_run_as_a_pair(widget, qtbot):
    viewer, w = widget
    layer = viewer.add_image(microscopy_sample().image, name="px", scale=(0.2, 0.2))
    w.image.value = layer
    assert w.pixel_size.value == pytest.approx(0.2)
    layer.scale = (1625, 1625)  # typed in nm
    assert w.pixel_size.value == 0 and "outside the range" in w.status.value
    assert w.start() is None and "1625 µm is no pixel size" in w.status.value  # not run with 1625 "µm" either
    for metres in ((1e-8, 1e-8), (2e5, 2e5)):  # beyond any microscope's sampling: noted, not an error in a callback
        layer.scale = metres
        assert w.pixel_size.value == 0 and "outside the range" in w.status.value
    layer.scale = (0.00005, 2.0)  # the sides' mean, 0.01, lies within the field's range, the first side does not
    assert w.pixel_size.value == 0 and "0.00005" not in w.status.value and "5e-05 is outside the range 0.0001-" in \
        w.status.value  # not "0-1000", which holds it
    layer.scale = (0.15, 0.1)
    assert w.pixel_size.value == pytest.approx(np.sqrt(0.015), abs=1e-4)
    w.kernel_source.value = "from optics"
    w.optics_fields.wavelength.value = 520
    run_to_end(qtbot, w)
    assert viewer.layers["px_zssr"].metadata["kernel"]["pixel_size_um"] == pytest.approx((0.15, 0.1))
    w.pixel_size.value = 0.05  # typed: it overrides the layer's, through later scale events too
    layer.scale = (0.15, 0.1)
    assert w.pixel_size.value == pytest.approx(0.05) and w._typed_pixel_size() == pytest.approx(0.05)


def test_closing_the_viewer_cancels_the_run_without_errors(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, w = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    w.advanced.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="closing")
    assert w.start() is not None
    qtbot.wait(300)
    stop = w._stop
    viewer.close()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)  # slots of a deleted widget would raise here
    assert stop.is_set()


def test_a_number_given_as_the_psf_is_named():
    with pytest.raises(TypeError, match="psf must be a PSF file's path, got 2; for the factor give scale=2"):
        napari_zssr.run(image_2d(), 2, add_to_viewer=False)


def test_run_takes_every_kernel_source():
    image = microscopy_sample().image
    options = {"max_iterations": 3, "width": 8, "add_to_viewer": False}
    tuples = napari_zssr.run(image, kernel="estimate", **options)
    assert tuples[0][1]["metadata"]["kernel"]["source"] == "estimate"
    tuples = napari_zssr.run(image, optics={"na": 1.0, "wavelength": 520, "refractive_index": 1.333},
                             pixel_size=0.13, **options)
    assert tuples[0][1]["metadata"]["kernel"]["na"] == 1.0
    with pytest.raises(ValueError, match="one kernel source"):
        napari_zssr.run(image, kernel="estimate", optics={"na": 1.0, "wavelength": 520}, **options)
    assert napari_zssr.run(image, kernel="none", **options)[0][1]["metadata"]["kernel"]["source"] == "none (bicubic)"


def test_run_takes_the_optics_of_the_layers_file_as_the_command_line_does(ome_tiff, tmp_path):
    """``kernel="optics"``, as ``--kernel optics``: the NA, emission wavelength and immersion of the layer's OME
    metadata; a file that does not give them is an error saying how to pass them."""
    from napari_zssr.napari.reader import read_layers

    data = (microscopy_sample().image[:48, :48] * 1000).astype(np.uint16)[None]
    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.1" Immersion="Water"/>'
                 "</Instrument>")
    ome_tiff(tmp_path / "water.ome.tif", {"EmissionWavelength": [600]}, objective,
             '<ObjectiveSettings ID="Objective:0"/>', data=data, pixel_size=0.13)
    ome_tiff(tmp_path / "silent.ome.tif", {"EmissionWavelength": [600]}, data=data, pixel_size=0.13)
    options = {"max_iterations": 2, "width": 8, "add_to_viewer": False}
    (layer_data, kwargs, _), = read_layers(str(tmp_path / "water.ome.tif"))
    layer = napari.layers.Image(layer_data, **kwargs)
    kernel = napari_zssr.run(layer, kernel="optics", **options)[0][1]["metadata"]["kernel"]
    assert (kernel["source"], kernel["na"], kernel["wavelength"], kernel["refractive_index"]) == \
        ("optics", 1.1, 600, 1.333)
    with pytest.raises(ValueError, match="give the optics once"):
        napari_zssr.run(layer, kernel="optics", optics={"na": 1.0, "wavelength": 520}, **options)
    (layer_data, kwargs, _), = read_layers(str(tmp_path / "silent.ome.tif"))
    with pytest.raises(ValueError, match=r"does not give its NA: .* optics=\{'na': 1.4, 'wavelength': 520\}"):
        napari_zssr.run(napari.layers.Image(layer_data, **kwargs), kernel="optics", **options)  # it gives 600 nm
    with pytest.raises(ValueError, match=r"does not give its NA and emission wavelength: "):
        napari_zssr.run(napari.layers.Image(layer_data), kernel="optics", **options)
    for emission, missing in (([520.0, None], "emission wavelength"), ([520.0, 600.0], "one emission wavelength")):
        layer = napari.layers.Image(layer_data, metadata={"optics": {"na": 1.2, "emission_wavelengths": emission}})
        with pytest.raises(ValueError, match=rf"does not give its {missing}"):
            napari_zssr.run(layer, kernel="optics", **options)


def test_run_and_axial_mode_take_a_confocal_files_modality_and_pinhole_saying_so(ome_tiff, tmp_path):
    """``kernel="optics"`` and an axial run's profile took the optics of a confocal's file as widefield ones."""
    from napari_zssr.api import KernelNoteWarning
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.runner import prepare

    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.4" Immersion="Oil" '
                 'NominalMagnification="60"/></Instrument>')
    channel = {"EmissionWavelength": [520], "ExcitationWavelength": [488],
               "AcquisitionMode": ["LaserScanningConfocalMicroscopy"], "PinholeSize": [40]}
    said = "the confocal model from the file's acquisition mode LaserScanningConfocalMicroscopy; pinhole 1.47 AU"
    data = (microscopy_sample().image[:48, :48] * 1000).astype(np.uint16)[None]
    ome_tiff(tmp_path / "confocal.ome.tif", channel, objective, '<ObjectiveSettings ID="Objective:0"/>', data=data,
             pixel_size=0.1)
    (layer_data, kwargs, _), = read_layers(str(tmp_path / "confocal.ome.tif"))
    with pytest.warns(KernelNoteWarning, match=said):
        sr = napari_zssr.run(napari.layers.Image(layer_data, **kwargs), kernel="optics", max_iterations=2, width=8,
                             add_to_viewer=False)[0]
    kernel = sr[1]["metadata"]["kernel"]
    assert (kernel["modality"], kernel["pinhole"], kernel["excitation_wavelength"]) == ("confocal", 1.47, 488)
    ome_tiff(tmp_path / "stack.ome.tif", channel, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=np.random.default_rng(2).random((6, 20, 20)).astype(np.float32), pixel_size=0.1, axes="ZYX",
             z_spacing=0.3)
    (layer_data, kwargs, _), = read_layers(str(tmp_path / "stack.ome.tif"))
    with pytest.warns(UserWarning, match=f"the axial profile: {said}"):
        request = prepare(napari.layers.Image(layer_data, **kwargs), axial=True)
    assert (request.axial_optics.modality, request.axial_optics.pinhole) == ("confocal", 1.47)


def test_axial_mode_restores_z_and_overlays_the_volume(widget, qtbot):
    viewer, w = widget
    volume = np.random.default_rng(3).random((6, 24, 20)).astype(np.float32)
    source = viewer.add_image(volume, name="vol", scale=(0.6, 0.2, 0.2), translate=(1.0, 0.0, 0.0))
    w.image.value = source
    w.axial.value = True
    assert not visible(w, w.scale) and not visible(w, w.kernel_source) and not visible(w, w.psf)
    run_to_end(qtbot, w)
    result = viewer.layers["vol_zssr_axial"]
    assert result.data.shape == (18, 24, 20) and tuple(result.scale) == pytest.approx((0.2, 0.2, 0.2))
    assert_edges_coincide(source, result, axes=(-3,))
    assert viewer.layers["vol_residual_axial"].data.shape == (18, 24, 20)
    assert "z x3, axial profile a Gaussian of the z-step" in w.status.value and "resolution" not in w.status.value
    assert not w.advanced.warm_start.enabled  # each volume trains one network
    assert not w.advanced.background_window.enabled  # on its planes as they are
    w.axial.value = False
    assert visible(w, w.scale) and visible(w, w.kernel_source) and not visible(w, w.psf)
    assert w.advanced.warm_start.enabled and w.advanced.background_window.enabled


@pytest.mark.parametrize(("data", "scale", "message"), [
    (np.random.default_rng(0).random((6, 24, 20)), (1, 1, 1), "unknown"),
    (np.random.default_rng(0).random((6, 24, 20)), (0.2, 0.2, 0.2), "isotropic"),
    (np.random.default_rng(0).random((6, 24, 20)), (0.5, 0.2, 0.2), "integer|whole"),
    (np.random.default_rng(0).random((24, 20)), (0.2, 0.2), "3D"),
    (np.zeros((2, 6, 24, 20)), (1, 0.6, 0.2, 0.2), "every plane of layer 'bad' is constant"),
])
def test_axial_mode_refuses_what_it_cannot_do(widget, data, scale, message):
    viewer, w = widget
    w.image.value = viewer.add_image(data, name="bad", scale=scale)
    w.axial.value = True
    assert w.start() is None
    assert re.search(message, w.status.value), w.status.value


def test_run_in_axial_mode(tmp_path):
    from napari_zssr.napari.writer import write_image

    layer = napari.layers.Image(np.random.default_rng(1).random((6, 20, 20)), scale=(0.3, 0.1, 0.1))
    sr, _, _ = napari_zssr.run(layer, axial=True, max_iterations=2, width=8, add_to_viewer=False)
    assert sr[0].shape == (18, 20, 20) and sr[1]["scale"] == pytest.approx([0.1, 0.1, 0.1])
    write_image(str(tmp_path / "sr.tif"), sr[0], sr[1])
    assert tifffile.TiffFile(tmp_path / "sr.tif").imagej_metadata["spacing"] == 0.1  # not 0.09999999999999999
    profile = sr[1]["metadata"]["kernel"]  # the default profile, as wide as the z-step, recorded in um
    assert profile["source"] == "default" and profile["axial_fwhm_um"] == pytest.approx(0.3, abs=0.02)
    assert sr[1]["metadata"]["resolution"]["note"].startswith("resolution not measured")


@pytest.mark.parametrize(("arguments", "named"), [
    ({"scale": 4}, "scale= does not apply to axial mode"),
    ({"scale": (2, 2)}, "scale= does not apply to axial mode"),  # the default, given: refused as well
    ({"warm_start_iterations": 5}, "warm_start_iterations= does not apply to axial mode"),
    ({"optics": {"na": 1.2, "wavelength": 520}}, r"axial mode takes no kernel .*zssr_axial\(volume"),
])
def test_run_in_axial_mode_refuses_what_it_would_not_use(arguments, named):
    layer = napari.layers.Image(np.random.default_rng(1).random((6, 20, 20)), scale=(0.3, 0.1, 0.1))
    with pytest.raises(ValueError, match=named):
        napari_zssr.run(layer, axial=True, max_iterations=2, add_to_viewer=False, **arguments)


def test_an_ome_stack_stored_z_before_t_opens_time_first_and_runs_axially(tmp_path):
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.runner import prepare

    volume = np.random.default_rng(0).random((6, 2, 20, 20)).astype(np.float32)  # Z, T, Y, X
    tifffile.imwrite(tmp_path / "zt.ome.tif", volume, ome=True,
                     metadata={"axes": "ZTYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.3})
    data, attributes, _ = read_layers(str(tmp_path / "zt.ome.tif"))[0]
    assert data.shape == (2, 6, 20, 20) and attributes["axis_labels"] == ["T", "Z", "Y", "X"]
    assert np.array_equal(data[1, 4], volume[4, 1]) and attributes["scale"][1:] == pytest.approx([0.3, 0.1, 0.1])
    assert prepare(napari.layers.Image(data, **attributes), axial=True).axial_scale == 3
    with_channels = np.random.default_rng(1).random((6, 2, 3, 20, 20)).astype(np.float32)  # Z, C, T, Y, X
    tifffile.imwrite(tmp_path / "zct.ome.tif", with_channels, ome=True,
                     metadata={"axes": "ZCTYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.3})
    data, attributes, _ = read_layers(str(tmp_path / "zct.ome.tif"))[0]
    assert data.shape == (3, 2, 6, 20, 20) and attributes["channel_axis"] == 1
    assert attributes["axis_labels"] == ["T", "Z", "Y", "X"] and np.array_equal(data[2, 1, 4], with_channels[4, 1, 2])


def test_learned_start_box_chooses_the_init(widget):
    _, w = widget
    w.advanced.learned_start.value = True
    assert w.config().init == "learned"
    w.advanced.learned_start.value = False
    assert w.config().init == "scratch"
    w.preset.value = "paper"
    assert not w.advanced.learned_start.value  # the original method, as the authors ran it


def test_axial_mode_takes_the_profile_from_the_layers_optics_when_complete():
    volume = np.random.default_rng(2).random((6, 20, 20))
    optics = {"na": 1.4, "refractive_index": 1.518, "immersion": "Oil", "emission_wavelengths": (520.0,),
              "excitation_wavelengths": (488.0,), "lens_model": None}
    layer = napari.layers.Image(volume, scale=(0.3, 0.1, 0.1), metadata={"optics": optics})
    sr, _, _ = napari_zssr.run(layer, axial=True, max_iterations=2, width=8, add_to_viewer=False)
    profile = sr[1]["metadata"]["kernel"]
    assert profile["source"] == "optics" and 0.4 < profile["axial_fwhm_um"] < 0.6  # ~0.88 lambda / (n - sqrt(...))
    partial = napari.layers.Image(volume, scale=(0.3, 0.1, 0.1), metadata={"optics": {**optics, "na": None}},
                                  name="partial")
    with pytest.warns(UserWarning, match=r"'partial': its file gives optics but not the NA, so the axial profile is "
                                         r"the default Gaussian .* command line with --axial and --na"):
        sr, _, _ = napari_zssr.run(partial, axial=True, max_iterations=2, width=8, add_to_viewer=False)
    assert sr[1]["metadata"]["kernel"]["source"] == "default"  # no guessed optics


def test_axial_mode_takes_the_default_profile_for_a_light_sheets_optics():
    """A SPIM file's optics gave a widefield axial profile (its z blur is the sheet's, far shorter)."""
    optics = {"na": 1.2, "refractive_index": 1.333, "immersion": "Water", "emission_wavelengths": (520.0,),
              "acquisition_modes": ("SPIM",), "modalities": (None,),
              "modality_notes": ("the file's acquisition mode SPIM (a light sheet: its z blur is the sheet's) is "
                                 "neither widefield nor confocal",)}
    layer = napari.layers.Image(np.random.default_rng(2).random((6, 20, 20)), scale=(0.3, 0.1, 0.1), name="sheet",
                                metadata={"optics": optics})
    with pytest.warns(UserWarning, match=r"'sheet': the file's acquisition mode SPIM .* so the axial profile is the "
                                         r"default Gaussian"):
        sr, _, _ = napari_zssr.run(layer, axial=True, max_iterations=2, width=8, add_to_viewer=False)
    assert sr[1]["metadata"]["kernel"]["source"] == "default"


def test_axial_mode_says_when_the_layers_optics_are_impossible_and_takes_the_default_profile():
    """The command line fails such a file naming the NA; here nothing else can give the optics, so the run goes on
    with the default profile, but says why (a profile half as wide as the optics' would be, unsaid)."""
    from napari_zssr.napari.runner import prepare

    optics = {"na": 1.45, "refractive_index": 1.333, "immersion": "Water", "emission_wavelengths": (520.0,)}
    layer = napari.layers.Image(np.random.default_rng(2).random((6, 20, 20)), scale=(0.3, 0.1, 0.1), name="cells",
                                metadata={"optics": optics})
    with pytest.warns(UserWarning, match=r"'cells': its file's optics are impossible \(na must be in \(0, 1.333\).*"
                                         r"got 1.45\), so the axial profile is the default Gaussian"):
        request = prepare(layer, axial=True)
    assert request.axial_optics is None


def test_axial_mode_takes_a_typed_pixel_size_and_no_optics_for_pixels_of_unknown_size():
    from napari_zssr.napari.runner import prepare

    volume = np.random.default_rng(2).random((6, 20, 20))
    optics = {"na": 1.2, "refractive_index": 1.333, "immersion": "Water", "emission_wavelengths": (520.0,)}
    layer = napari.layers.Image(volume, scale=(0.3, 0.1, 0.1), metadata={"optics": optics})
    request = prepare(layer, axial=True, pixel_size=0.15)  # typed: z step 0.3 / 0.15
    assert request.axial_scale == 2 and request.pixel_size == 0.15 and request.axial_optics is not None
    unitless = napari.layers.Image(volume, scale=(3, 1, 1), metadata={"optics": optics})
    request = prepare(unitless, axial=True)  # a factor of 3 pixels, but 1 is no pixel size in um
    assert request.axial_scale == 3 and request.pixel_size is None and request.axial_optics is None
    request = prepare(unitless, axial=True, pixel_size=0.1)  # the pixels' size: still 3 of them, now with optics
    assert request.axial_scale == 3 and request.pixel_size == 0.1 and request.axial_optics is not None
    # a typed size says nothing of z
    with pytest.raises(ValueError, match="'plain': the z step is unknown"):
        prepare(napari.layers.Image(volume, name="plain"), axial=True, pixel_size=0.5)


def test_a_layer_calibrated_at_one_micrometre_is_not_taken_for_an_uncalibrated_one():
    """A scale of 1 means "unknown" only without length units: the napari-zssr reader sets them on calibrated
    files, so a 1 um pixel keeps its size, and an axial run its optics (as the command line does)."""
    from napari_zssr.napari.runner import prepare

    volume = np.random.default_rng(2).random((6, 20, 20))
    optics = {"na": 0.8, "refractive_index": 1.0, "immersion": "Air", "emission_wavelengths": (520.0,)}
    layer = napari.layers.Image(volume, scale=(3.0, 1.0, 1.0), units=("µm",) * 3, metadata={"optics": optics})
    assert prepare(layer).pixel_size == 1.0
    request = prepare(layer, axial=True)
    assert request.axial_scale == 3 and request.pixel_size == 1.0 and request.axial_optics is not None


def test_a_file_without_z_spacing_opens_with_z_unknown_and_an_axial_run_asks_for_it(tmp_path):
    """An OME file that gives the pixel size but no PhysicalSizeZ: its z scale 1 is not 1 um (the command line asks
    for --z-step for the same file)."""
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.runner import prepare

    volume = np.random.default_rng(0).random((6, 20, 20)).astype(np.float32)
    tifffile.imwrite(tmp_path / "v.ome.tif", volume, ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25})
    data, kwargs, _ = read_layers(str(tmp_path / "v.ome.tif"))[0]
    assert kwargs["units"] == ["pixel", "µm", "µm"]
    layer = napari.layers.Image(data, **{key: kwargs[key] for key in ("scale", "units", "name")})
    with pytest.raises(ValueError, match="z step of 'v' is unknown"):
        prepare(layer, axial=True)
    assert prepare(layer).pixel_size == 0.25  # a lateral run needs no z step
    layer.scale = (1.0, 0.25, 0.25)  # a z step of 1 um set as the message says: 1 is still napari's "unset"
    with pytest.raises(ValueError, match=r"a step of 1 µm with its unit too.*layer.units = \('um', 'um', 'um'\)"):
        prepare(layer, axial=True)
    layer.units = ("um", "um", "um")
    assert prepare(layer, axial=True).axial_scale == 4


def test_an_axial_run_on_napari_s_default_z_scale_says_so():
    """scale=(1, 0.1, 0.1) without units: napari's default z scale of 1 was taken for a 1 um step (x10, a 40-plane
    volume) without a word; a scale of 1 throughout with a typed pixel size said the typed size was unknown too."""
    import warnings

    from napari_zssr.napari.runner import prepare

    volume = np.random.default_rng(0).random((4, 48, 48)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"'xy': its z scale is napari's default 1 beside a y/x scale of its own, "
                                         r"taken as a z step of 1 µm \(x10\); if its z step differs, set the layer's z "
                                         "scale in µm"):
        assert prepare(napari.layers.Image(volume, scale=(1, 0.1, 0.1), name="xy"), axial=True).axial_scale == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a z scale set, or 1 µm said with its unit
        assert prepare(napari.layers.Image(volume, scale=(0.3, 0.1, 0.1)), axial=True).axial_scale == 3
        assert prepare(napari.layers.Image(volume, scale=(1, 0.1, 0.1), units=("um",) * 3),
                       axial=True).axial_scale == 10
    with pytest.raises(ValueError, match=r"'ones': the z step is unknown \(its scale is 1, .*; the pixel size typed "
                                         r"does not give it\)"):
        prepare(napari.layers.Image(volume, name="ones"), axial=True, pixel_size=0.1)


def test_a_pixel_size_typed_in_nm_over_a_layers_own_is_warned_of():
    """65 typed (nm meant) over a layer at 0.1 um ran without a word with the estimate or no kernel, its outputs
    calibrated at 32.5 um (a PSF file or the optics refuse such a size)."""
    import warnings

    from napari_zssr.napari.runner import prepare

    layer = napari.layers.Image(np.random.default_rng(0).random((32, 32)), scale=(0.1, 0.1), units=("um", "um"),
                                name="cells")
    with pytest.warns(UserWarning, match=r"'cells': the pixel size typed, 65 µm, is 100 or more times the image's "
                                         r"own: the pixel size is in micrometres \(65 nm is 0.065\), 0.1 µm"):
        prepare(layer, pixel_size=65)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(layer, pixel_size=0.065)  # a new calibration of a similar size


def test_a_layer_in_nanometres_gives_its_pixel_size_in_micrometres(widget):
    from napari_zssr.napari.runner import prepare

    viewer, w = widget
    layer = viewer.add_image(image_2d(), name="nm", scale=(65.0, 65.0), units=("nm", "nm"))
    w.image.value = layer
    assert w.pixel_size.value == pytest.approx(0.065)
    assert prepare(layer).pixel_size == pytest.approx(0.065)
    volume = napari.layers.Image(np.random.default_rng(2).random((6, 20, 20)), scale=(390.0, 130.0, 130.0),
                                 units=("nm", "nm", "nm"))
    request = prepare(volume, axial=True)
    assert request.axial_scale == 3 and request.pixel_size == pytest.approx(0.13)
    with pytest.raises(ValueError, match=r"over its pixel size is 3.84615, not a whole number \(within 0.5%\)"):
        prepare(napari.layers.Image(volume.data, scale=(0.5, 0.13, 0.13)), axial=True)
    assert prepare(napari.layers.Image(volume.data, scale=(0.325, 0.1083, 0.1083)), axial=True).axial_scale == 3
    with pytest.raises(ValueError, match=r"the pixels are not square \(0.1 x 0.05 um\)"):  # as the CLI refuses
        prepare(napari.layers.Image(volume.data, scale=(0.3, 0.1, 0.05)), axial=True)
    with pytest.raises(ValueError, match=r"the pixels are not square \(0.1 x 0.05 um\)"):
        prepare(volume, axial=True, pixel_size=(0.1, 0.05))
    timelapse = napari.layers.Image(volume.data, scale=(2.0, 0.1, 0.1), axis_labels=("T", "Y", "X"))
    with pytest.raises(ValueError, match="third-last axis of .* is time"):  # 2 s frames are no 0.2 um z step
        prepare(timelapse, axial=True)
    channels = napari.layers.Image(volume.data, scale=(1.0, 0.1, 0.1), axis_labels=("c", "y", "x"))
    with pytest.raises(ValueError, match="third-last axis of .* is labelled 'c', channels: open the file with the "
                                         "napari-zssr reader"):  # its 6 channels became 60 interpolated z planes
        prepare(channels, axial=True)


def test_axial_mode_refuses_unequal_sides_of_a_layer_whose_scale_counts_pixels():
    """A scale without length units counts pixels (napari's default, or an uncalibrated run's output, in its input's
    pixels): unequal y and x sides are no square pixels either, whose mean happened to read as the factor."""
    from napari_zssr.napari.reader import INPUT_PIXELS_KEY
    from napari_zssr.napari.runner import prepare

    data = np.random.default_rng(2).random((6, 20, 20))
    with pytest.raises(ValueError, match=r"the pixels are not square \(1.2 x 0.8 pixel\)"):
        prepare(napari.layers.Image(data, scale=(3.0, 1.2, 0.8)), axial=True)
    output = napari.layers.Image(data, scale=(2.0, 0.5, 1.0), metadata={INPUT_PIXELS_KEY: True})  # of a (2, 1) run
    with pytest.raises(ValueError, match=r"the pixels are not square \(0.5 x 1 pixel\)"):
        prepare(output, axial=True)
    assert prepare(napari.layers.Image(data, scale=(1.5, 0.5, 0.5), metadata={INPUT_PIXELS_KEY: True}),
                   axial=True).axial_scale == 3


def test_a_channel_axis_taken_for_z_is_named_with_the_layer():
    """A ZCYX file opened by napari's own reader is one 4D layer whose third-last axis holds the channels: refused
    for too few z planes, the message names the layer and the axis taken for z, and what to open it with."""
    from napari_zssr.napari.runner import prepare

    zcyx = napari.layers.Image(np.random.default_rng(2).random((8, 2, 48, 48)), name="zcyx",
                               scale=(0.3, 1, 0.1, 0.1))  # the z step typed on the first axis
    with pytest.raises(ValueError, match=r"'zcyx': the volume has 2 z planes .*third-last axis for z.*napari-zssr "
                                         "reader"):
        prepare(zcyx, axial=True)
    with pytest.raises(ValueError, match=r"^'few': the volume has 3 z planes .*at least 4$"):  # a 3D one: no hint
        prepare(napari.layers.Image(np.random.default_rng(2).random((3, 20, 20)), name="few", scale=(3, 1, 1)),
                axial=True)
    # a time series of 3 z planes whose axes say so (as the napari-zssr reader opens one): its z is its z
    with pytest.raises(ValueError, match=r"^'tzyx': the volume has 3 z planes .*at least 4$"):
        prepare(napari.layers.Image(np.random.default_rng(2).random((2, 3, 20, 20)), name="tzyx",
                                    scale=(1, 3, 1, 1), axis_labels=list("TZYX")), axial=True)
    # 4 channels or more run (they are as many "planes" as a volume needs), so their run says what it takes for z
    four = napari.layers.Image(np.random.default_rng(2).random((6, 4, 48, 48)), name="zcyx4", scale=(0.3, 1, 0.1, 0.1))
    with pytest.warns(UserWarning, match=r"'zcyx4': its axis labels do not name its third-last axis \(4 planes\) Z; "
                                         "axial mode takes the third-last axis for z"):
        assert prepare(four, axial=True).axial_scale == 10
    named = napari.layers.Image(four.data, scale=(1, 0.3, 0.1, 0.1), axis_labels=list("TZYX"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(named, axial=True)


def test_the_estimate_of_an_axial_run_counts_one_network_per_volume(widget):
    from napari_zssr.core.run_time import Workload

    viewer, w = widget
    w.current_plane.value = True  # hidden in axial mode: it must not count there
    w.image.value = viewer.add_image(np.zeros((9, 24, 20), np.float32), scale=(0.39, 0.13, 0.13))
    w.axial.value = True
    assert w._workload() == Workload((9, 20), (3.0, 1.0), 2 * 24, volumes=1, lateral_shape=(24, 20))
    assert "1 volume" in w.estimate.value


def test_the_estimate_line_follows_the_layers_z_step_and_keeps_saying_why_run_refuses(widget, qtbot, monkeypatch):
    """A timing asked for before axial mode was ticked, ending after, showed a time for a run that Run refuses; a
    z scale changed alone left the estimate of the old factor (or of no run)."""
    from napari_zssr.napari import estimate

    monkeypatch.setattr(estimate, "_measured", {})
    viewer, w = widget
    layer = viewer.add_image(np.random.default_rng(0).random((9, 24, 20)).astype(np.float32), name="vol",
                             scale=(0.35, 0.1, 0.1))
    w.image.value = layer
    assert "timing a few training steps for 9 planes" in w.estimate.value
    w.axial.value = True
    assert "not a whole number" in w.estimate.value
    qtbot.waitUntil(lambda: not estimate._in_flight, timeout=60_000)
    qtbot.wait(50)  # the ended timing's answer, were it still shown
    assert "not a whole number" in w.estimate.value
    layer.scale = (0.3, 0.1, 0.1)
    qtbot.waitUntil(lambda: "~" in w.estimate.value, timeout=60_000)
    assert "for 1 volume" in w.estimate.value
    layer.scale = (0.35, 0.1, 0.1)
    assert "not a whole number" in w.estimate.value


def test_every_out_of_range_value_is_named_and_a_good_one_clears_its_note(widget):
    viewer, w = widget
    optics = {"na": 0.04, "emission_wavelengths": [5200.0]}  # both beyond their fields: a unit mix-up?
    w.image.value = viewer.add_image(image_2d(), name="bad", metadata={"optics": optics})
    assert "the file's NA 0.04" in w.status.value and "wavelength (nm) 5200" in w.status.value
    w.optics_fields.na.value = 1.2  # typed: its note goes once the line is next written
    w.image.value = viewer.add_image(image_2d(), name="good", metadata={"optics": {"emission_wavelengths": [520.0]}})
    assert w.optics_fields.wavelength.value == 520 and "outside the range" not in w.status.value


def test_run_refuses_before_starting_what_would_fail_in_the_worker():
    import torch

    from napari_zssr.napari.runner import prepare

    small = napari.layers.Image(np.random.default_rng(0).random((8, 8)), scale=(0.13, 0.13))
    with pytest.raises(ValueError, match=r"the kernel estimate .* at least 16 x 16 pixels, got 8 x 8; choose another"):
        prepare(small, kernel="estimate")
    with pytest.raises(ValueError, match="the kernel estimate"):
        prepare(small, kernel=napari_zssr.KernelChoice("estimate"))
    with pytest.raises(ValueError, match=r"got 'psf': .* \(psf= in run\(\)\)"):
        napari_zssr.run(small, kernel="psf", add_to_viewer=False)
    with pytest.raises(TypeError, match="optics has no field 'NA'; its fields are na, wavelength"):
        napari_zssr.run(small, optics={"NA": 1.4, "wavelength": 520}, add_to_viewer=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'float16' is for CUDA GPUs only"):
            prepare(napari.layers.Image(image_2d()), config=napari_zssr.ZSSRConfig(precision="float16"))


def test_a_refused_run_clears_the_last_runs_bar_and_curve(widget, qtbot):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="ok")
    w.advanced.max_iterations.value = 2
    run_to_end(qtbot, w)
    assert w.progress_bar.value == w.progress_bar.max > 0
    w.loss_plot.add(0, 1, 0.5)  # as a longer run would have drawn
    w.image.value.data = np.zeros_like(image_2d())  # a constant layer: refused (nothing else resets the bar)
    assert w.start() is None and "is constant" in w.status.value
    assert w.progress_bar.value == 0 and not w.loss_plot.series


def test_a_note_that_still_holds_stays_when_the_kernel_source_changes(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="far", scale=(2000.0, 2000.0))
    assert "outside the range" in w.status.value
    w.kernel_source.value = "estimate from the image"
    assert "outside the range" in w.status.value
    w.axial.value = True
    w.axial.value = False
    assert "outside the range" in w.status.value


def test_a_note_shown_beside_the_psf_files_goes_once_its_field_is_in_range(widget, tmp_path):
    viewer, w = widget
    tifffile.imwrite(tmp_path / "noise.tif", np.random.default_rng(0).normal(100, 5, (31, 31)).astype(np.float32))
    w.image.value = viewer.add_image(image_2d(), name="far", scale=(2000.0, 2000.0))
    use_psf(w, str(tmp_path / "noise.tif"))
    w.axial.value = True
    w.axial.value = False
    assert "outside the range" in w.status.value and "PSF" in w.status.value
    w.image.value = viewer.add_image(image_2d(), name="fine", scale=(0.1, 0.1))
    assert w.pixel_size.value == pytest.approx(0.1) and "outside the range" not in w.status.value


def test_choosing_a_psf_file_keeps_the_note_on_the_layers_pixel_size(widget, tmp_path):
    """The status line showed the PSF file's note alone once a file was chosen: the layer's pixel size that Run
    refuses went unsaid until another field changed."""
    viewer, w = widget
    tifffile.imwrite(tmp_path / "noise.tif", np.random.default_rng(0).normal(100, 5, (31, 31)).astype(np.float32))
    w.image.value = viewer.add_image(image_2d(), name="far", scale=(2000.0, 2000.0))
    use_psf(w, str(tmp_path / "noise.tif"))
    assert "the layer's pixel size 2000 is outside the range" in w.status.value
    assert "does not look like a bead" in w.status.value


def test_the_estimate_line_of_an_rgb_layer_says_why_run_refuses_it(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(np.zeros((32, 32, 3), np.uint8), rgb=True, name="photo")
    assert w.estimate.value.startswith("layer 'photo' is RGB")  # not a time for 32 planes of 32 x 3


def test_the_estimate_line_says_why_run_refuses_planes_too_small_or_too_few(widget):
    """It gave "~1 s for 1 plane" for a 64 x 6 layer, and a time for an axial run of a 3-plane stack, both of which
    Run refuses."""
    viewer, w = widget
    w.image.value = viewer.add_image(np.random.default_rng(0).random((64, 6)), name="strip")
    assert "too small for scale" in w.estimate.value
    w.image.value = viewer.add_image(np.random.default_rng(0).random((3, 24, 24)), name="few", scale=(0.3, 0.1, 0.1))
    w.axial.value = True
    assert "the volume has 3 z planes" in w.estimate.value


def test_the_estimate_line_names_a_5d_layer_axial_mode_refuses_and_why_as_run_does(widget):
    """A TZCYX layer whose channel axis has length 1 (napari's own reader keeps it; an array of a 5D file): Run's
    refusal named the layer and said that its third-last axis may be channels, the estimate line only "the volume has
    1 z planes"."""
    viewer, w = widget
    data = np.random.default_rng(0).random((2, 6, 1, 48, 48)).astype(np.float32)
    w.image.value = viewer.add_image(data, name="tzc", scale=(1, 0.3, 1, 0.1, 0.1))
    w.axial.value = True
    refused = w.estimate.value
    assert refused.startswith("'tzc': the volume has 1 z plane (shape"), refused
    assert "axial mode takes the third-last axis for z" in refused
    assert w.start() is None and refused in w.status.value


def test_the_estimate_follows_the_ensemble_and_the_preset(widget, monkeypatch):
    """Inference time grows with the ensemble's members: the estimate is asked again when they change."""
    viewer, w = widget
    w.image.value = viewer.add_image(image_2d(), name="cells")
    asked = []
    monkeypatch.setattr(w._estimate, "request", lambda device, config, workload: asked.append(config.ensemble))
    w.advanced.ensemble.value = False
    assert asked[-1] == 1
    w.preset.value = "fast"
    assert asked[-1] == 2


def test_a_z_spacing_in_um_beside_pixels_of_unknown_size_stays_in_um(tmp_path, monkeypatch):
    """An OME file may give PhysicalSizeZ alone: its z is not read as lateral pixels, and an axial run asks for the
    pixel size, or takes a typed one."""
    from napari_zssr.napari.reader import read_layers

    volume = np.stack([image_2d(seed, (24, 24)) for seed in range(5)])
    tifffile.imwrite(tmp_path / "z.ome.tif", volume, ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 0.3})
    (data, kwargs, _), = read_layers(str(tmp_path / "z.ome.tif"))
    assert kwargs["scale"] == pytest.approx([0.3, 1.0, 1.0]) and list(map(str, kwargs["units"])) == [
        "µm", "pixel", "pixel"]
    layer = napari.layers.Image(data, **kwargs)
    with pytest.raises(ValueError, match="its z step is 0.3 µm but its pixel size is unknown: type the image pixel"):
        napari_zssr.run(layer, axial=True, max_iterations=2, add_to_viewer=False)
    sr = napari_zssr.run(layer, axial=True, pixel_size=0.1, max_iterations=2, add_to_viewer=False,
                         outputs=["zssr"])[0]
    assert sr[0].shape == (15, 24, 24)
    with pytest.raises(ValueError, match=r"napari_zssr.zssr_axial\(volume, axial_scale="):
        napari_zssr.run(volume, axial=True, pixel_size=0.1, max_iterations=2, add_to_viewer=False)
    from napari_zssr.napari.writer import write_image

    monkeypatch.setattr("napari_zssr.napari.writer.qt_running", lambda: False)  # a script: a warning
    lateral = napari_zssr.run(layer, pixel_size=0.1, max_iterations=2, add_to_viewer=False, outputs=["zssr"])[0]
    for output, name, scale in ((sr, "axial.tif", [0.1, 0.1, 0.1]), (lateral, "lateral.tif", [0.3, 0.05, 0.05])):
        write_image(str(tmp_path / name), output[0], output[1])  # its z in um stays so (was 0.01 and 0.03 um)
        assert read_layers(str(tmp_path / name))[0][1]["scale"] == pytest.approx(scale)
    with pytest.warns(UserWarning, match=r"its z step \(0.3 µm\) is not saved: ImageJ counts a z spacing in the"):
        write_image(str(tmp_path / "saved.tif"), data, layer.as_layer_data_tuple()[1])  # not as 0.3 pixels
    assert read_tiff(tmp_path / "saved.tif").z_step_pixels is None


def test_an_output_in_input_pixels_runs_axially_and_saves_units_set_on_it(tmp_path):
    """Its scale counts the input's pixels: the z step over the pixel is a ratio of the two scales; and once the user
    gives it units, they are its pixel size."""
    from napari_zssr.napari.runner import axial_geometry, snapshot_layer
    from napari_zssr.napari.writer import write_image

    stack = napari.layers.Image(np.stack([image_2d(seed) for seed in range(2)]), scale=(4.0, 1.0, 1.0))
    data, kwargs, _ = napari_zssr.run(stack, max_iterations=2, add_to_viewer=False, outputs=("zssr",))[0]
    output = napari.layers.Image(data, **kwargs)  # scale (4, 0.5, 0.5): planes 8 of its pixels apart
    assert axial_geometry(snapshot_layer(output), None) == (8, None)
    assert axial_geometry(snapshot_layer(output), 0.05) == (8, 0.05)
    from pint import Unit

    write_image(str(tmp_path / "nm.tif"), data, {**kwargs, "scale": (200.0, 50.0, 50.0), "units": [Unit("nm")] * 3})
    assert read_tiff(tmp_path / "nm.tif").pixel_size == pytest.approx((0.05, 0.05))


def test_the_psf_files_note_is_read_once_for_the_file_as_it_is(widget, tmp_path, monkeypatch, multicolour_psf):
    """Every choice of a layer (and fill of a field) asked the note again, which read every channel of the PSF file on
    the GUI thread; it is kept for the file, and read again once the file changes."""
    import napari_zssr.io.psf as psf_module

    viewer, w = widget
    multi, _ = multicolour_psf
    w.image.value = viewer.add_image(image_2d(), name="img", scale=(0.1, 0.1))
    use_psf(w, str(multi))
    note = w.status.value
    assert "holds 2 channels, one PSF each" in note
    reads = []
    read = psf_module.read_tiff  # every reading of a PSF TIFF, of one channel or all
    monkeypatch.setattr(psf_module, "read_tiff", lambda *a, **k: reads.append(a) or read(*a, **k))
    other = viewer.add_image(image_2d(), name="other", scale=(0.2, 0.2))
    for layer in (other, viewer.layers["img"], other):  # each choice of a layer asks the note again
        w.image.value = layer
    assert reads == [] and w._psf_note() == note.replace("layer 'img'", "layer 'other'")  # the layer's part is its
    tifffile.imwrite(multi, np.zeros((5, 5), np.float32))  # the file changed: not a bead, not two channels
    os.utime(multi, ns=(1, 1))
    assert "holds 2 channels" not in w._psf_note() and reads


@pytest.mark.parametrize("blending", ["translucent", "additive"])
def test_a_preview_and_its_whole_runs_result_are_not_shown_over_each_other(widget, qtbot, blending):
    """A preview went directly above its input, beneath the whole run's result of it: unseen under an opaque
    result, added onto an additive one (the plane twice as bright). The newest result of a layer is the one shown."""
    viewer, w = widget
    stack = viewer.add_image(np.stack([image_2d(i) for i in range(2)]), name="stack", blending=blending)
    w.image.value, w.advanced.max_iterations.value = stack, 2
    run_to_end(qtbot, w)
    whole = viewer.layers["stack_zssr"]
    w.current_plane.value = True
    run_to_end(qtbot, w)
    preview = viewer.layers["stack_zssr_preview"]
    names = [layer.name for layer in viewer.layers]
    assert names.index("stack") < names.index("stack_zssr_preview") < names.index("stack_zssr")  # directly above
    assert preview.visible and not whole.visible and stack.visible == (blending == "translucent")
    w.current_plane.value = False
    run_to_end(qtbot, w)  # the whole run again: its result shown again
    assert whole.visible and preview.visible == (blending == "translucent")  # beneath an opaque result: covered
