import contextlib
import gc
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_zssr import ZSSRConfig

# qtpy picks the Qt binding (QT_API overrides); importing it before pytest-qt starts makes pytest-qt use the same
# one where several are installed.
with contextlib.suppress(ImportError):
    import qtpy  # noqa: F401

# napari's settings of this test session: its own file, so that a user's settings neither change nor take the tests
os.environ["NAPARI_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="napari-zssr-tests-")) / "settings.yaml")


def pytest_collection_finish(session):
    """Leave what the test modules imported (torch, scipy, napari: hundreds of thousands of objects) out of later
    garbage collections, each of which took 0.2-0.5 s with them; what the tests create is collected as before."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def make_napari_viewer(qtbot, monkeypatch, request):
    """``make_napari_viewer(**kwargs)``: a napari viewer (hidden unless ``show=True``), closed after the test.

    Stands in for napari's own fixture of that name, which registers napari's actions and plugins anew for each test
    (2-3 s a test on 2 cores: most of this suite's napari time); here they are registered once, as in a user's
    session that opens several viewers."""
    import napari

    monkeypatch.setattr("napari._qt.threads.status_checker.StatusChecker.start", lambda *_: None)  # as napari's
    viewers = []

    def make(**kwargs):
        kwargs.setdefault("show", False)
        kwargs.setdefault("show_welcome_screen", False)
        viewers.append(napari.Viewer(**kwargs))
        return viewers[-1]

    yield make
    for viewer in viewers:
        if hasattr(viewer.window, "_qt_window"):  # not closed by the test
            viewer.close()
    # as napari's fixture does: a closed viewer must be freed (a widget or a run that holds on to it leaks it all)
    from napari._qt.qt_viewer import QtViewer

    gc.collect(1)
    if QtViewer._instances:
        gc.collect()
    leaked = len(QtViewer._instances)
    QtViewer._instances.clear()  # one leak fails its own test, not every later one
    failed = getattr(getattr(request.node, "rep_call", None), "failed", False)  # its traceback holds the viewer
    assert failed or not leaked, f"{leaked} closed napari viewer(s) not freed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test (``item.rep_setup``, ``rep_call``): a fixture's teardown reads whether the
    test itself failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """After a napari test: napari collects the whole heap at every layer removal and viewer close, and what its first
    viewers load lazily (350,000 objects with the widget's) made each collection 0.5 s, so that too is left out of
    later collections. Frozen only once the test's fixtures and arguments are gone and collected: its viewer models
    and widget, frozen while the test's arguments still held them, would never be freed."""
    yield
    if "make_napari_viewer" in item.fixturenames:
        gc.collect()
        gc.freeze()


@pytest.fixture
def tiny_config() -> ZSSRConfig:
    """A config that trains a narrow net for a few iterations: exercises every code path in well under a second."""
    return ZSSRConfig(max_iterations=6, width=8, crop_size=32, recon_every=2, progress_every=2, tile_size=64)


@pytest.fixture
def textured_image() -> np.ndarray:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:40, :36]
    return (np.sin(x / 3.0) * np.cos(y / 5.0) * 800 + 1000 + rng.normal(0, 20, (40, 36))).astype(np.uint16)


def write_ome_tiff(path, channels: dict, objective: str = "", settings: str = "", data=None,
                   pixel_size: float | None = None, axes: str = "CYX", z_spacing: float | None = None) -> None:
    """An OME-TIFF written by tifffile, with an objective (which tifffile does not write) added to its OME-XML."""
    data = np.zeros((len(channels["EmissionWavelength"]), 8, 8), np.uint16) if data is None else data
    metadata = {"axes": axes, "Channel": channels}
    if pixel_size is not None:
        metadata.update(PhysicalSizeX=pixel_size, PhysicalSizeY=pixel_size)
    if z_spacing is not None:
        metadata.update(PhysicalSizeZ=z_spacing)
    tifffile.imwrite(path, data, ome=True, metadata=metadata)
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    head, tail = xml.split("<Image ", 1)
    image_tag, rest = tail.split(">", 1)
    reference = '<InstrumentRef ID="Instrument:0"/>' if objective else ""
    xml = f"{head}{objective}<Image {image_tag}>{reference}{settings}{rest}"
    tifffile.tiffcomment(path, xml.replace("µ", "&#181;"))  # TIFF descriptions are ASCII


@pytest.fixture
def ome_tiff():
    return write_ome_tiff


def write_multicolour_psf(folder: Path, channels: int = 2) -> tuple[Path, list[Path]]:
    """A multicolour bead's z-stack (C, Z, Y, X: 3 planes of 21 x 21, 0.1 um pixels), each channel's bead of its own
    width, saved as one ImageJ TIFF (tifffile's ImageJ order: ZCYX) and each channel on its own (ZYX)."""
    y, x = np.mgrid[:21, :21] - 10
    beads = np.stack([np.stack([1000 * peak * np.exp(-(x**2 + y**2) / (2 * (1.0 + 0.7 * c) ** 2)) + 20
                                for peak in (0.6, 1.0, 0.6)]) for c in range(channels)]).astype(np.float32)
    calibration = {"imagej": True, "resolution": (10.0, 10.0)}
    multi = folder / "beads.tif"
    tifffile.imwrite(multi, np.moveaxis(beads, 0, 1), metadata={"axes": "ZCYX", "unit": "um"}, **calibration)
    singles = [folder / f"bead_{c}.tif" for c in range(channels)]
    for c, path in enumerate(singles):
        tifffile.imwrite(path, beads[c], metadata={"axes": "ZYX", "unit": "um"}, **calibration)
    return multi, singles


@pytest.fixture
def multicolour_psf(tmp_path) -> tuple[Path, list[Path]]:
    """:func:`write_multicolour_psf` of 2 channels: the file of both, and each channel's alone."""
    return write_multicolour_psf(tmp_path)


@pytest.fixture
def series_psf(multicolour_psf) -> tuple[Path, list[Path]]:
    """:func:`write_multicolour_psf`'s beads saved one OME image series per channel (as some exports store a
    multicolour bead; same pixel size) in one file, and each channel's alone."""
    _, singles = multicolour_psf
    path = singles[0].parent / "colours.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for single in singles:
            writer.write(tifffile.imread(single), metadata={"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    return path, singles



@pytest.fixture
def tiff_openings(monkeypatch) -> list[str]:
    """The names of the TIFFs this process opens from now on (each opening parses every image series of the file)."""
    openings = []
    real_init = tifffile.TiffFile.__init__

    def counted(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        openings.append(Path(self.filehandle.path).name)

    monkeypatch.setattr(tifffile.TiffFile, "__init__", counted)
    return openings


@contextlib.contextmanager
def held_by_another_batch(out):
    """``out`` with its batch lock held, as another process's batch holds it, with the line such a batch writes."""
    fcntl = pytest.importorskip("fcntl")  # POSIX; Windows locks another way

    from napari_zssr.batch_lock import LOCK_NAME

    out.mkdir(exist_ok=True)
    with open(out / LOCK_NAME, "w") as first_batch:
        first_batch.write("pid 12345 on lab-pc, since 2026-11-29 09:00:00")
        first_batch.flush()
        fcntl.flock(first_batch.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


@pytest.fixture
def another_batch():
    """:func:`held_by_another_batch`: ``with another_batch(out): ...`` runs a batch into a folder in use."""
    return held_by_another_batch


@pytest.fixture
def ctrl_c():
    """``ctrl_c()`` interrupts as a Ctrl-C does, handled at once: the signal goes to the calling thread (``os.kill``
    lets the system pick any thread of the process, the handler then runs later) and to Python's own handler, whatever
    a library loaded by an earlier test left there."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield lambda: signal.raise_signal(signal.SIGINT)
    if previous is not None:  # None: a handler not set from Python, which cannot be put back
        signal.signal(signal.SIGINT, previous)
