"""``napari_zssr.run()``: scale pairs, unknown options, and errors raised once to the caller, early where possible."""

import os
import sys

import numpy as np
import pytest

import napari_zssr
from napari_zssr.napari import console
from napari_zssr.napari.qt_app import qt_running

napari = pytest.importorskip("napari")


def image_2d(seed=0, shape=(24, 20)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 1000 + 100).astype(np.uint16)


@pytest.mark.parametrize("scale", [(2, 3), [2, 3], np.array([2.0, 3.0])])
def test_run_takes_a_scale_pair(scale):
    sr = napari_zssr.run(image_2d(), scale=scale, max_iterations=2, width=4, add_to_viewer=False)[0][0]
    assert sr.shape == (48, 60)


def test_run_names_an_unknown_option_and_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown ZSSRConfig option\(s\) max_iter; valid options: .*max_iterations"):
        napari_zssr.run(image_2d(), max_iter=3, add_to_viewer=False)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"psf_pixel_size": 0.05}, ValueError, "no psf= was given"),
    ({"viewer": 123}, TypeError, "viewer must be a napari Viewer, got 123"),
    ({"psf": ""}, ValueError, "psf= is empty"),  # an unset variable: not a bicubic run
    ({"psf": "  "}, ValueError, "psf= is empty"),
    ({"add_to_viewer": "no"}, TypeError, "add_to_viewer must be True or False, got 'no'"),
    ({"axial": "yes"}, TypeError, "axial must be True or False, got 'yes'"),
])
def test_arguments_that_would_be_ignored_or_fail_late_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        napari_zssr.run(image_2d(), max_iterations=2, **kwargs)


def test_nan_in_memory_is_refused_before_any_work_starts(monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started on data that could be checked first")

    monkeypatch.setattr(console, "background_run", no_work)
    monkeypatch.setattr(console, "compute", no_work)
    stack = np.stack([image_2d(0), image_2d(1)]).astype(np.float32)
    stack[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"the plane at index 1 contains NaN"):
        napari_zssr.run(stack, max_iterations=2, add_to_viewer=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"pixel_size": 0}, "pixel_size must be a positive"),  # not "unknown": 0 is a typo, not a choice
    ({"psf": "psf.tif", "psf_pixel_size": 0}, "psf_pixel_size must be a positive"),
    ({"optics": {"na": 1.4, "wavelength": 520}, "pixel_size": 65}, "give the pixel size in micrometres"),
])
def test_bad_pixel_sizes_are_refused_before_any_work_starts(monkeypatch, kwargs, message):
    monkeypatch.setattr(console, "compute", lambda *a, **k: pytest.fail("work started before the check"))
    with pytest.raises(ValueError, match=message):
        napari_zssr.run(image_2d(), max_iterations=2, add_to_viewer=False, **kwargs)


def test_a_layer_of_one_channel_takes_its_own_of_a_psf_file_of_one_psf_per_channel(monkeypatch, multicolour_psf):
    """A layer the napari-zssr reader opened from channel 1 of a multichannel file takes PSF channel 1 of a
    multicolour bead image, as that PSF saved alone; a layer of no channel is refused, saying why, before any work."""
    multi, singles = multicolour_psf
    layer = napari.layers.Image(image_2d(), scale=(0.1, 0.1), metadata={"channel": 1, "channels": 2})
    options = {"max_iterations": 2, "width": 4, "add_to_viewer": False, "outputs": "zssr"}
    (made, attributes, _), = napari_zssr.run(layer, psf=str(multi), **options)
    np.testing.assert_array_equal(made, napari_zssr.run(layer, psf=str(singles[1]), **options)[0][0])
    assert attributes["metadata"]["kernel"]["psf_channel"] == 1
    monkeypatch.setattr(console, "compute", lambda *a, **k: pytest.fail("work started before the check"))
    with pytest.raises(ValueError, match="holds 2 channels, one PSF each, and the image is no channel of a "
                                         "multichannel file.*open the image with its channels"):
        napari_zssr.run(napari.layers.Image(image_2d(), scale=(0.1, 0.1)), psf=str(multi), **options)
    # its channel without its file's count (an earlier reader's layer): which PSF is its own is unknown
    with pytest.raises(ValueError, match="is no channel of a multichannel file.*open the image with its channels"):
        napari_zssr.run(napari.layers.Image(image_2d(), metadata={"channel": 1}), psf=str(multi), **options)
    # channel 0 of a file of three: PSF channel 0 is no more its own than PSF channel 1 would be channel 1's
    with pytest.raises(ValueError, match="holds 2 channels, one PSF each, while the image has 3"):
        napari_zssr.run(napari.layers.Image(image_2d(), metadata={"channel": 0, "channels": 3}), psf=str(multi),
                        **options)


@pytest.mark.parametrize("units", [None, ("um", "um")])
def test_a_layer_scale_that_is_no_pixel_size_in_um_is_refused_as_the_widget_refuses_it(monkeypatch, units):
    """A scale of 2000 (nm taken for um) would be recorded, and saved, as a 2000 um pixel; a typed size runs."""
    monkeypatch.setattr(console, "compute", lambda *a, **k: pytest.fail("work started before the check"))
    layer = napari.layers.Image(image_2d(), scale=(2000, 2000), units=units)
    with pytest.raises(ValueError, match=r"the layer.s scale 2000 µm is no pixel size"):
        napari_zssr.run(layer, max_iterations=2, add_to_viewer=False)
    monkeypatch.undo()
    sr = napari_zssr.run(layer, max_iterations=2, add_to_viewer=False, pixel_size=2.0, outputs=("zssr",))[0]
    assert sr[1]["metadata"]["input_pixel_size_um"] == 2.0
    nanometres = napari.layers.Image(image_2d(), scale=(2000, 2000), units=("nm", "nm"))  # 2 um: a pixel size
    assert napari_zssr.run(nanometres, max_iterations=2, add_to_viewer=False, outputs=("zssr",))[0][1][
        "metadata"]["input_pixel_size_um"] == pytest.approx(2.0)


def test_a_layer_whose_y_or_x_unit_is_no_length_has_no_pixel_size():
    """A kymograph's time axis: its scale in seconds is not taken for um (an optics kernel would be made of it)."""
    from napari_zssr.napari.runner import snapshot_layer

    assert snapshot_layer(napari.layers.Image(image_2d(), scale=(0.1, 0.1), units=("s", "um"))).pixel_size is None
    assert snapshot_layer(napari.layers.Image(image_2d(), scale=(0.1, 0.1), units=("um", "um"))).pixel_size == 0.1
    assert snapshot_layer(napari.layers.Image(image_2d(), scale=(0.1, 0.1))).pixel_size == 0.1  # napari's "pixel"
    with pytest.raises(ValueError, match="needs the image's pixel size"):
        napari_zssr.run(napari.layers.Image(image_2d(), scale=(0.1, 0.1), units=("s", "s")), max_iterations=2,
                        add_to_viewer=False, optics={"na": 1.4, "wavelength": 520})
    volume = napari.layers.Image(np.stack([image_2d(seed) for seed in range(4)]), scale=(0.3, 0.1, 0.1),
                                 units=("um", "s", "um"))
    with pytest.raises(ValueError, match=r"its y and x units \(second, micrometer\) are not both lengths"):
        napari_zssr.run(volume, max_iterations=2, add_to_viewer=False, axial=True)


def test_optics_as_a_dict_and_unequal_pixel_sides(monkeypatch):
    sr = napari_zssr.run(image_2d(shape=(32, 32)), optics={"na": 1.4, "wavelength": 520}, pixel_size=(0.1, 0.12),
                         max_iterations=2, width=4, add_to_viewer=False)[0]
    assert sr[0].shape == (64, 64) and sr[1]["metadata"]["kernel"]["source"] == "optics"


def test_a_worker_error_in_qt_is_raised_once_to_the_caller(qtbot, monkeypatch):
    """A NaN found mid-stack in lazy data (only seen when read) must not also reach Qt's event loop or napari's
    notifications: the caller gets it, once."""
    import dask.array as da
    from napari.utils.notifications import notification_manager

    stack = np.stack([image_2d(0), image_2d(1)]).astype(np.float32)
    stack[1, 3, 4] = np.nan
    uncaught, notified = [], []
    monkeypatch.setattr(sys, "excepthook", lambda *info: uncaught.append(info))
    notification_manager.notification_ready.connect(notified.append)
    try:
        assert qt_running()
        with pytest.raises(ValueError, match=r"the plane at index 1 contains NaN"):
            napari_zssr.run(da.from_array(stack, chunks=(1, 24, 20)), max_iterations=2, width=4,
                            add_to_viewer=False)
        qtbot.wait(50)  # let any queued signal be delivered
    finally:
        notification_manager.notification_ready.disconnect(notified.append)
    assert uncaught == [] and notified == []


def test_run_takes_an_array_with_the_library_alone():
    """``pip install napari-zssr`` without the napari extra: run() on an array still works, with text progress."""
    import subprocess

    code = ("import sys; sys.modules['napari'] = sys.modules['qtpy'] = None  # not installed\n"
            "import numpy as np, napari_zssr\n"
            "image = (np.random.default_rng(0).random((24, 20)) * 1000).astype(np.float32)\n"
            "print(napari_zssr.run(image, max_iterations=2, width=4, add_to_viewer=False)[0][0].shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "(48, 40)", done.stderr[-2000:]


def test_run_takes_an_array_in_another_qt_program_without_napari():
    """Spyder or matplotlib's Qt backend run a Qt application; without napari, run() shows text progress."""
    import subprocess

    code = ("import sys; sys.modules['napari'] = None  # not installed\n"
            "from qtpy.QtWidgets import QApplication; app = QApplication([])\n"
            "import numpy as np, napari_zssr\n"
            "image = (np.random.default_rng(0).random((24, 20)) * 1000).astype(np.float32)\n"
            "print(napari_zssr.run(image, max_iterations=2, width=4, add_to_viewer=False)[0][0].shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0 and done.stdout.strip().endswith("(48, 40)"), done.stderr[-2000:]


def test_run_warnings_reach_python_in_a_qt_program_without_a_napari_viewer(qapp, recwarn):
    """matplotlib's Qt backend or IPython's %gui qt start Qt without napari: its notifications would reach nobody."""
    from napari_zssr.napari.runner import prepare

    assert napari.current_viewer() is None
    stack = np.stack([np.random.default_rng(0).random((32, 32)), np.zeros((32, 32))]).astype(np.float32)
    console._run_in_qt(prepare(stack, config=napari_zssr.ZSSRConfig(max_iterations=2)), None)
    assert any("the plane at index 1 is constant" in str(warning.message) for warning in recwarn)


def test_a_closed_viewer_is_refused_before_any_work_starts(make_napari_viewer, monkeypatch):
    """``viewer.close()`` empties the viewer and drops its window: the run trained, then adding its layers failed in
    napari's layer controls (a KeyError), or they went to a viewer no one sees."""
    for runs in ("_run_in_qt", "_run_with_text_progress"):
        monkeypatch.setattr(console, runs, lambda *a, **k: pytest.fail("work started for a closed viewer"))
    make_napari_viewer()  # another viewer stays open: Qt runs on
    viewer = make_napari_viewer()
    layer = viewer.add_image(image_2d(), name="shut")
    viewer.close()
    with pytest.raises(ValueError, match=r"the viewer was closed.*add_to_viewer=False"):
        napari_zssr.run(layer, viewer=viewer, max_iterations=2)
    assert len(viewer.layers) == 0


def test_a_layer_name_is_refused_saying_how_to_pass_the_layer(make_napari_viewer):
    """A name typed for the layer got "a str is not an image layer", which said neither which name nor how."""
    viewer = make_napari_viewer()
    viewer.add_image(image_2d(), name="cells")
    with pytest.raises(TypeError, match=r"takes the layer itself, not its name 'cells'.*viewer\.layers\['cells'\]"):
        napari_zssr.run("cells", max_iterations=2)
    with pytest.raises(TypeError, match=r"no layer is named 'nuclei' in the current viewer \(its layers: 'cells'\)"):
        napari_zssr.run("nuclei", max_iterations=2)
    assert [layer.name for layer in viewer.layers] == ["cells"]


def test_run_from_another_thread_than_the_main_one_is_refused(make_napari_viewer):
    """Qt's objects belong to the main thread: from another one, Qt warned a dozen times and Python crashed."""
    import threading

    viewer = make_napari_viewer()
    layer = viewer.add_image(np.random.default_rng(0).random((24, 24)), name="cells")
    raised = []

    def in_a_thread() -> None:
        try:
            napari_zssr.run(layer, viewer=viewer, preset="fast", max_iterations=2)
        except RuntimeError as error:
            raised.append(str(error))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join(timeout=60)
    assert raised and raised[0].startswith("run() works with napari's viewer, which only the main thread may touch")
    assert [layer.name for layer in viewer.layers] == ["cells"]


def test_an_axial_layers_scale_and_translate_show_no_rounding_digits():
    """0.3 um planes, r = 3: the layer's z scale read 0.09999999999999999 and a nm layer's translate
    -100.00000000000001 in napari, where files written of the same run said 0.1."""
    planes = np.stack([image_2d(seed, (32, 32)) for seed in range(5)])
    for units, scale, expected_translate in ((("um",) * 3, (0.3, 0.1, 0.1), -0.1),
                                             (("nm",) * 3, (300, 100, 100), -100.0)):
        layer = napari.layers.Image(planes, scale=scale, units=units)
        _, meta, _ = napari_zssr.run(layer, axial=True, max_iterations=2, width=4, add_to_viewer=False,
                                     outputs=["zssr"])[0]
        assert meta["scale"] == [scale[1]] * 3
        assert meta["translate"] == [expected_translate, 0.0, 0.0]
