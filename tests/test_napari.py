"""Viewer tests: the widget opened through the plugin manifest, headless under Xvfb (pytest-xvfb)."""

import numpy as np
import pytest
import tifffile

from napari_zssr.io.tiff import read_tiff, write_imagej_tiff
from napari_zssr.sample import gaussian_psf

napari = pytest.importorskip("napari")


def image_2d(seed=0, shape=(24, 20)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 1000 + 100).astype(np.uint16)


@pytest.fixture
def psf_file(tmp_path) -> str:
    path = tmp_path / "psf.tif"
    write_imagej_tiff(path, (gaussian_psf(1.0) * 1000 + 20).astype(np.float32), "YX", (0.1, 0.1))
    return str(path)


@pytest.fixture
def widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.max_iterations.value = 4
    return viewer, widget


def run_to_end(qtbot, widget) -> None:
    worker = widget.start()
    assert worker is not None, widget.status.value
    assert widget.run_button.text == "Cancel" and not widget.scale.enabled
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.run_button.text == "Run" and widget.scale.enabled


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
    w.max_iterations.value = ZSSRConfig().max_iterations
    assert w.config() == ZSSRConfig()
    w.preset.value = "paper"
    assert w.config() == ZSSRConfig.preset("paper")
    assert w.device.choices[0] == "auto" and "cpu" in w.device.choices
    w.preset.value = "fast"
    assert w._warm_start_iterations() is None
    w.warm_start.value = True
    assert w._warm_start_iterations() == ZSSRConfig.preset("fast").warm_start_iterations() == 80


def test_widget_noise_level_estimated_fixed_or_off(widget):
    _, w = widget
    assert w.config().noise_std == "auto" and not w.noise_std.enabled
    w.noise_auto.value = False
    w.noise_std.value = 0.02
    assert w.config().noise_std == 0.02 and w.noise_std.enabled
    w.noise.value = False
    assert w.config().noise_std == 0.0 and not w.noise_std.enabled and not w.noise_auto.enabled
    w.preset.value = "fast"
    assert w.config().noise_std == "auto" and w.noise_auto.enabled


def test_2d_run_adds_three_overlaid_layers(widget, qtbot, psf_file):
    viewer, w = widget
    source = viewer.add_image(image_2d(), name="cells", scale=(0.2, 0.2), translate=(5.0, 3.0))
    w.image.value = source
    w.psf.value = psf_file
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


def test_stack_run_keeps_leading_axes(widget, qtbot, psf_file):
    viewer, w = widget
    stack = np.stack([image_2d(0), np.zeros((24, 20), np.uint16), image_2d(2)])
    source = viewer.add_image(stack, name="stack", scale=(2.0, 0.2, 0.2), translate=(1.0, 0.0, 0.0))
    w.image.value = source
    w.psf.value = psf_file
    assert "3 planes" in w.estimate.value
    run_to_end(qtbot, w)
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
    result = viewer.layers["z_zssr"]
    assert result.data.shape == (1, 48, 40) and result.translate[0] == pytest.approx(4.0)


def test_cancel_adds_nothing(widget, qtbot):
    viewer, w = widget
    w.max_iterations.value = 5000
    w.image.value = viewer.add_image(image_2d(), name="big")
    w.start()
    qtbot.wait(300)
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == ["big"]
    assert "cancelled" in w.status.value


def test_cancel_after_training_still_adds_nothing(widget):
    """A cancel that arrives while the last plane is in inference must not add the finished result."""
    import threading

    import napari_zssr
    from napari_zssr.napari.runner import prepare

    viewer, w = widget
    layer = viewer.add_image(image_2d(), name="late")
    request = prepare(layer, config=napari_zssr.ZSSRConfig(max_iterations=2))
    result = napari_zssr.zssr(image_2d(), config=request.config)
    w._stop = threading.Event()
    w._stop.set()
    w._on_done(request, result)
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
    w.psf.value = str(path)
    assert w.start() is None
    assert message in w.status.value and not w.running
    assert len(viewer.layers) == 1


def test_bad_layers_show_a_message(widget):
    viewer, w = widget
    w.image.value = viewer.add_image(np.zeros((20, 20, 3), np.uint8), name="rgb", rgb=True)
    assert w.start() is None and "RGB" in w.status.value
    w.image.value = viewer.add_image(np.zeros((20, 20), np.float32), name="flat")
    assert w.start() is None and "constant" in w.status.value
    w.image.value = viewer.add_image(np.zeros((5, 5), np.float32) + np.eye(5), name="tiny")
    assert w.start() is None and "too small" in w.status.value
    assert len(viewer.layers) == 3


def test_run_from_the_console(make_napari_viewer, qtbot):
    import napari_zssr

    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="console", scale=(0.5, 0.5))
    tuples = napari_zssr.run(layer, viewer=viewer, max_iterations=3)
    assert [t[1]["name"] for t in tuples] == ["console_zssr", "console_ensemble_median", "console_residual"]
    assert tuples[0][0].shape == (48, 40) and "console_zssr" in viewer.layers


def test_run_on_arrays_and_stacks_without_a_viewer():
    import napari_zssr

    tuples = napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False)
    assert tuples[0][0].shape == (48, 40) and tuples[2][1]["name"] == "array_residual"
    stack = np.stack([image_2d(0), np.full((24, 20), 5, np.uint16), image_2d(1)])
    sr, median, residual = napari_zssr.run(stack, max_iterations=2, add_to_viewer=False)
    assert sr[0].shape == (3, 48, 40) and np.all(sr[0][1] == 5) and np.all(residual[0][1] == 0)
    assert sr[1]["metadata"]["blank_planes"] == [[1]]


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
    viewer.open_sample("napari-zssr", "fluorescence")
    assert "zssr_sample" in viewer.layers
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.image.value = viewer.layers["zssr_sample"]
    assert str(widget.psf.value).endswith("psf.tif")


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
