"""``napari_zssr.run(layer)`` for the napari console and scripts."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ..core.choices import DEFAULT_OUTPUTS
from ..core.config import DEFAULT_PRESET, ZSSRConfig, is_switch
from ..core.optics import Optics
from ..core.resize import PixelSize
from ..core.trainer import Cancelled
from ..io.ome import layer_optics_record
from ..kernel_choice import KernelArgument, KernelChoice
from ..progress import BarProgress
from .estimate import run_finished, run_started
from .input_watch import viewer_closed, watch_input, window_watch
from .output_claim import OutputClaim, named_for_a_new_array
from .output_layers import add_or_update, layer_tuples, remove_stale_outputs
from .qt_app import qt_running
from .runner import (
    RunFailed,
    RunRequest,
    background_run,
    compute,
    metadata_acquisition,
    metadata_optics,
    prepare,
    show_run_warning,
)
from .worker_turns import start_in_turn, turn_ended, withdraw


def run(layer_or_array: Any, psf: str | None = None, scale: float | Sequence[float] | None = None, *,
        viewer: Any = None, preset: str = DEFAULT_PRESET, psf_pixel_size: float | None = None,
        pixel_size: PixelSize | None = None, kernel: KernelArgument = None, optics: Optics | dict | None = None,
        axial: bool = False, warm_start_iterations: int | None = None, add_to_viewer: bool = True,
        outputs: str | Sequence[str] = DEFAULT_OUTPUTS, **options: Any) -> list[tuple]:
    """Super-resolve a napari Image layer (or an array) and return layer data tuples of ``outputs`` (by default
    ``[zssr, ensemble_median, residual]``; add ``"ensemble_spread"`` for the uncertainty map, or ask for fewer: a
    large stack then holds only those).

    The kernel: ``psf=`` a PSF file; ``optics=`` the microscope's optics (an :class:`Optics` or a dict of its
    fields, e.g. ``{"na": 1.4, "wavelength": 520}``; needs the pixel size, from the layer's scale or
    ``pixel_size=``); ``kernel="optics"`` the optics of the layer's file (its OME NA, emission wavelength and
    immersion, else oil; its acquisition mode's model and pinhole, else widefield; as ``--kernel optics``);
    ``kernel="estimate"`` estimated from the image; or ``kernel=`` an array or a :class:`KernelChoice`. None of them
    (or ``kernel="none"``): the bicubic kernel. ``axial=True``: restore the z axis of a 3D layer to its lateral
    pixel size (the factor is the layer's z step / pixel size; ``scale``, a kernel and ``warm_start_iterations`` are
    refused there).

    ``scale`` is a number or a (y, x) pair (None: 2). ``options`` are :class:`ZSSRConfig` fields
    (``max_iterations=300``, ``seed=1``, ``device="cuda"``...). With ``viewer=`` (or a current napari viewer, which
    must then hold the layer) the layers are also added to it. Inside a running napari the work happens in a thread
    while the viewer stays responsive, with napari's progress
    bar, and an error is raised here, once (the bar's Cancel button, closing the viewer the layers are for, or
    removing the input layer or changing its data or placement stops the run: :class:`Cancelled`); in a plain
    script a text progress bar is shown. Bad input (options,
    shape, dtype, NaN or values too far out in in-memory data, PSF) fails before any work starts.
    """
    if qt_running() and threading.current_thread() is not threading.main_thread():
        # Qt's objects (the viewer's layers, the progress bar, the event loop run() spins) belong to the main thread:
        # from another one, Qt warned a dozen times and Python crashed (a segmentation fault)
        raise RuntimeError("run() works with napari's viewer, which only the main thread may touch: call it from the "
                           "main thread (napari's console), or call napari_zssr.zssr_stack(layer.data, ...) in this "
                           "thread and add its result to the viewer from the main thread")
    if isinstance(layer_or_array, str):
        _refuse_layer_name(layer_or_array, viewer)
    _check_arguments(psf, psf_pixel_size, viewer, axial=axial, add_to_viewer=add_to_viewer)
    config = ZSSRConfig.preset(preset, **options)
    note = None  # on what of the optics the layer's file gave
    if isinstance(kernel, str) and kernel == "optics":  # as --kernel optics: the optics the layer's file gives
        if optics is not None:
            raise ValueError("give the optics once: optics= (your values), or kernel='optics' (the layer's file's)")
        metadata = getattr(layer_or_array, "metadata", None) or {}
        try:
            optics = metadata_optics(metadata, Optics.refractive_index)
        except ValueError as error:  # as the command line fails such a file: never a default in their place
            raise ValueError(f"kernel='optics' takes the optics from the layer's OME metadata, whose values are "
                             f"impossible: {error}; pass the right ones in its place, e.g. optics={{'na': 1.2, "
                             "'wavelength': 520, 'refractive_index': 1.333} instead of kernel='optics'") from None
        if optics is None:
            recorded = layer_optics_record(metadata)
            emission = tuple(recorded.get("emission_wavelengths") or ())
            several = len(emission) > 1 and all(emission)  # a layer of several channels: names_optics' rule
            missing = [what for what, given in (("NA", recorded.get("na")),
                                                (f"one emission wavelength (it gives {len(emission)}: a layer of "
                                                 "several channels)" if several else "emission wavelength",
                                                 len(emission) == 1 and all(emission))) if not given]
            raise ValueError("kernel='optics' takes the optics from the layer's OME metadata (as the napari-zssr "
                             f"reader keeps it), which does not give its {' and '.join(missing)}: pass the optics "
                             "in its place, e.g. optics={'na': 1.4, 'wavelength': 520} (and 'refractive_index': "
                             "1.333 for water) instead of kernel='optics'")
        kernel = None
        note = "; ".join(metadata_acquisition(metadata).notes) or None  # its modality and pinhole
    if optics is not None:
        if kernel is not None or psf:
            raise ValueError("give one kernel source: psf=, optics= or kernel=")
        kernel = KernelChoice("optics", optics=optics, note=note)
    where = "the viewer given" if viewer is not None else "the current viewer"
    if viewer is None:
        try:
            import napari

            viewer = napari.current_viewer()
        except ImportError:
            viewer = None
    # before the run, and before a kernel is made; a closed viewer holds no layers
    if add_to_viewer and viewer is not None and viewer_closed(viewer):
        raise ValueError("the viewer was closed, so the results would go nowhere: pass an open viewer= (the one "
                         "that holds the layer), or add_to_viewer=False for the layer data tuples alone")
    layers = getattr(viewer, "layers", None)
    # the outputs would go beside a layer the viewer does not show, and follow changes to one it does not hold
    if add_to_viewer and layers is not None and hasattr(layer_or_array, "events") and layer_or_array not in layers:
        raise ValueError(f"layer {layer_or_array.name!r} is not in {where}, where the results would go: pass "
                         "viewer= (the viewer that holds it), or add the layer to a viewer first")
    request = prepare(layer_or_array, kernel=kernel, psf=psf, psf_pixel_size=psf_pixel_size, pixel_size=pixel_size,
                      scale=scale, config=config, warm_start_iterations=warm_start_iterations, axial=axial,
                      outputs=outputs)
    if viewer is not None and add_to_viewer and request.snapshot.layer is None:
        request = named_for_a_new_array(viewer, request)
    # the outputs' names, reserved, after the input as it is called when the run ends
    outputs = OutputClaim(viewer, layer_or_array, request) if viewer is not None and add_to_viewer else None
    run_started()
    input_changes: list[str] = []  # why the input no longer is what the run reads (removed, replaced, moved)
    unwatch = None
    try:
        if outputs is not None:
            unwatch = watch_input(viewer, layer_or_array, input_changes.append)
        viewer_is_open = window_watch(viewer) if outputs is not None else None
        result = _run_in_qt(request, viewer_is_open, input_changes) if _in_napari_event_loop() else \
            _run_with_text_progress(request)
        if outputs is not None:
            request = outputs.request
        tuples = layer_tuples(request, result)
        if viewer_is_open is not None and viewer_is_open():  # a viewer closed meanwhile gets nothing
            add_or_update(viewer, tuples, request.snapshot.layer)
            remove_stale_outputs(viewer, request)
    finally:
        if unwatch is not None:
            unwatch()
        run_finished()
        if outputs is not None:
            outputs.release()
    return tuples


def _check_arguments(psf: Any, psf_pixel_size: Any, viewer: Any, **switches: Any) -> None:
    """A clear error for an argument of :func:`run` that would be ignored, read as another, or fail late."""
    if psf is not None and not isinstance(psf, (str, os.PathLike)):
        raise TypeError(f"psf must be a PSF file's path, got {psf!r}; for the factor give scale={psf!r}")
    if psf is not None and not str(psf).strip():  # an unset variable: the run would silently take bicubic
        raise ValueError("psf= is empty (an unset variable?): give the PSF file's path, or leave psf= out for the "
                         "bicubic kernel")
    for name, value in switches.items():
        if not is_switch(value):  # "no" would act as True
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if psf_pixel_size is not None and not psf:
        raise ValueError("psf_pixel_size= is the pixel size of a PSF file given as psf=; no psf= was given")
    if viewer is not None and not hasattr(viewer, "layers"):
        raise TypeError(f"viewer must be a napari Viewer, got {viewer!r}")


def _refuse_layer_name(name: str, viewer: Any) -> NoReturn:
    """A TypeError for a layer's name given in place of the layer, saying how to pass it, or that no layer of the
    viewer (``viewer``, else the current one) is so named: a name is no layer (several may share it)."""
    where = "the current viewer" if viewer is None else "the viewer given"
    if viewer is None:
        try:
            import napari

            viewer = napari.current_viewer()
        except ImportError:
            viewer = None
    names = [layer.name for layer in getattr(viewer, "layers", ())]
    if viewer is None or name in names:
        raise TypeError(f"run() takes the layer itself, not its name {name!r}: napari_zssr.run(viewer.layers"
                        f"[{name!r}]) (or pass a numpy array)")
    raise TypeError(f"run() takes a layer, not a name, and no layer is named {name!r} in {where} (its "
                    f"layers: {', '.join(map(repr, names)) or 'none'})")


def _in_napari_event_loop() -> bool:
    """Whether a run can show napari's progress bar and spin the Qt event loop: a Qt application runs and napari
    (with superqt) is installed; another Qt program (Spyder, matplotlib's Qt backend) gets text progress."""
    if not qt_running():
        return False
    try:
        import napari.utils  # noqa: F401
        import superqt  # noqa: F401
    except ImportError:
        return False
    return True


def _run_in_qt(request: RunRequest, viewer_is_open: Callable[[], bool] | None,
               input_changes: Sequence[str] = ()) -> Any:
    """Run in a worker thread and spin a local Qt event loop until it ends: the viewer keeps repainting. The Cancel
    button of its progress bar (napari's activity panel), closing the viewer (``viewer_is_open``) or a change of the
    input (``input_changes`` not empty, :func:`.input_watch.watch_input`) stops the run, which then raises
    :class:`Cancelled`, even where the change came after the run's last check: the console is busy until run()
    returns, so it cannot stop the run itself.

    The worker is superqt's plain one, not napari's ``thread_worker``: that one also sends an error to napari's
    notifications and re-raises it inside Qt's event loop, so the user would see it twice. Warnings (a blank
    plane) become napari notifications, each run's own (:func:`.runner.show_run_warning`), where a viewer shows
    them, else go to Python's warning display.
    """
    from napari import current_viewer
    from napari.utils.progress import cancelable_progress
    from qtpy.QtCore import QEventLoop, QThreadPool, QTimer
    from superqt.utils import create_worker

    outcome: dict[str, Any] = {}
    stop = threading.Event()
    loop = QEventLoop()
    bar = cancelable_progress(total=0, desc="ZSSR")

    def wanted() -> bool:
        return not bar.is_canceled and not input_changes and (viewer_is_open is None or viewer_is_open())
    show_progress = BarProgress(bar)
    show_warning = warnings.showwarning  # taken now: the worker swaps the global while it runs
    worker = create_worker(background_run, request, stop, show_warning, _start_thread=False, _ignore_errors=True)

    def on_yielded(event: Any) -> None:  # at least every 0.1 s
        if not wanted():
            stop.set()
        if event is not None:
            show_progress(event)

    worker.yielded.connect(on_yielded)

    def on_warned(warning: tuple) -> None:  # napari's notifications reach the user only through a viewer
        if current_viewer() is not None:
            show_run_warning(warning)
        else:  # another Qt program (matplotlib's Qt backend, IPython's %gui qt): Python's warning display
            show_warning(*warning)

    worker.warned.connect(on_warned)
    worker.returned.connect(lambda result: outcome.setdefault("result", result))
    worker.errored.connect(lambda error: outcome.setdefault("error", error))
    # a pool of its own: the worker's thread still emits a last signal after "finished", and a script ending right
    # after run() would delete that signal's object under it (Python aborts); so the run waits for its thread to
    # return, which in napari's shared pool would mean waiting for every other task too (a widget's run)
    pool = QThreadPool()

    def start() -> None:
        bar.set_description("ZSSR")
        pool.start(worker)

    def ended() -> None:  # the turn passes on before the loop ends: a run() right after this one starts at once
        turn_ended(start)
        loop.quit()

    worker.finished.connect(ended)

    watch = QTimer()  # while the run waits for its turn no progress comes: the viewer is watched here
    if not start_in_turn(start):  # now, or after the run or timing going (the loop below runs meanwhile)
        bar.set_description("ZSSR: waiting for the run already going")

        def still_wanted() -> None:
            if not wanted() and withdraw(start):
                loop.quit()

        watch.timeout.connect(still_wanted)
        watch.start(100)
    try:
        loop.exec_()
    finally:
        watch.stop()
        stop.set()
        bar.close()
        pool.waitForDone()
    if "error" in outcome:
        error = outcome["error"]
        raise error.__cause__ if isinstance(error, RunFailed) else error  # the run's own error
    if outcome.get("result") is None or input_changes:  # a change after the run's last check: a stale result
        closed = viewer_is_open is not None and not viewer_is_open()  # closing a viewer removes its layers too
        what = "the run was cancelled" if bar.is_canceled else \
            f"{input_changes[0]} during the run: it was stopped" if input_changes and not closed else \
            "the viewer was closed during the run: it was stopped"
        raise Cancelled(f"{what}, nothing was added")
    return outcome["result"]


def _run_with_text_progress(request: RunRequest) -> Any:
    from tqdm import tqdm

    with tqdm(desc="ZSSR", unit="it") as bar:
        return compute(request, progress=BarProgress(bar))
