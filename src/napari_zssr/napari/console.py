"""``napari_zssr.run(layer)`` for the napari console and scripts."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from ..core.config import ZSSRConfig
from .runner import add_or_update, background_run, compute, layer_tuples, prepare


def run(layer_or_array: Any, psf: str | None = None, scale: float = 2, *, viewer: Any = None,
        preset: str = "default", psf_pixel_size: float | None = None, pixel_size: float | None = None,
        warm_start_iterations: int | None = None, add_to_viewer: bool = True, **options: Any) -> list[tuple]:
    """Super-resolve a napari Image layer (or an array) and return ``[zssr, ensemble_median, residual]`` tuples.

    ``options`` are :class:`ZSSRConfig` fields (``max_iterations=300``, ``seed=1``, ``device="cuda"``...). With
    ``viewer=`` (or a current napari viewer) the layers are also added to it. Inside a running napari the work
    happens in a thread while the viewer stays responsive, with napari's progress bar; in a plain script a text
    progress bar is shown.
    """
    config = replace(ZSSRConfig.preset(preset), **options)
    request = prepare(layer_or_array, psf=psf, psf_pixel_size=psf_pixel_size, pixel_size=pixel_size, scale=scale,
                      config=config, warm_start_iterations=warm_start_iterations)
    if viewer is None:
        try:
            import napari

            viewer = napari.current_viewer()
        except ImportError:
            viewer = None
    result = _run_in_qt(request) if _qt_running() else _run_with_text_progress(request)
    tuples = layer_tuples(request, result)
    if viewer is not None and add_to_viewer:
        add_or_update(viewer, tuples)
    return tuples


def _qt_running() -> bool:
    try:
        from qtpy.QtWidgets import QApplication
    except ImportError:
        return False
    return QApplication.instance() is not None


def _run_in_qt(request: Any) -> Any:
    """Run in a worker thread and spin a local Qt event loop until it ends: the viewer keeps repainting."""
    from napari.qt.threading import thread_worker
    from napari.utils import progress
    from qtpy.QtCore import QEventLoop

    outcome: dict[str, Any] = {}
    stop = threading.Event()
    loop = QEventLoop()
    bar = progress(total=request.config.max_iterations, desc="ZSSR")

    def on_event(event: Any) -> None:
        if event is not None and event.stage == "training":
            bar.total = request.config.max_iterations * event.n_planes
            bar.n = event.plane * request.config.max_iterations + event.iteration
            bar.refresh()

    worker = thread_worker(background_run, start_thread=False)(request, stop)
    worker.yielded.connect(on_event)
    worker.returned.connect(lambda result: outcome.setdefault("result", result))
    worker.errored.connect(lambda error: outcome.setdefault("error", error))
    worker.finished.connect(loop.quit)
    worker.start()
    try:
        loop.exec_()
    finally:
        stop.set()
        bar.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _run_with_text_progress(request: Any) -> Any:
    from tqdm import tqdm

    with tqdm(total=request.config.max_iterations, desc="ZSSR", unit="it") as bar:
        def on_event(event: Any) -> None:
            if event.stage == "training":
                bar.total = request.config.max_iterations * event.n_planes
                bar.n = event.plane * request.config.max_iterations + event.iteration
                bar.set_postfix(loss=f"{event.loss:.4f}", plane=f"{event.plane + 1}/{event.n_planes}")

        return compute(request, progress=on_event)
