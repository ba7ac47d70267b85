"""Watching a run's input layer and its viewer: a run whose input changes or leaves, or whose viewer closes, must not
put a result over what is no longer its input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: the events of an input layer after which a run's result would no longer be of, or over, the layer as it is
INPUT_CHANGES = ("data", "scale", "translate", "rotate", "shear", "affine", "units")


def watch_input(viewer: Any, layer: Any, on_change: Callable[[str], None]) -> Callable[[], None]:
    """Call ``on_change(why)`` once ``layer`` leaves ``viewer`` or its data or placement (:data:`INPUT_CHANGES`; its
    units set the pixel size a kernel is made for) changes: a run's result would then be of data the layer no longer
    holds, or sit where the layer no longer is. Returns what stops the watch. A bare array (no events) is not
    watched."""
    layer = getattr(layer, "__wrapped__", layer)  # the console may hold napari's public-only proxies of both
    viewer = getattr(viewer, "__wrapped__", viewer)
    events = getattr(layer, "events", None)
    if events is None:
        return lambda: None
    hooks: list[tuple[Any, Callable[..., None]]] = []

    def state(kind: str) -> Any:
        value = getattr(layer, kind)
        return getattr(value, "affine_matrix", value)  # the layer's affine is an Affine

    def changed(kind: str, what: str) -> Callable[..., None]:
        before = state(kind)

        def hook(*_: Any) -> None:
            now = state(kind)
            # napari sends the event for a value set to what it was (its "Apply scale/transforms from Clipboard"
            # sets every transform of each layer chosen): nothing the run reads has changed then
            if now is not before and (kind == "data" or not np.array_equal(now, before)):
                on_change(f"the input layer {layer.name!r} {what}")  # as it is called now

        return hook

    def removed(event: Any) -> None:
        if getattr(event, "value", None) is layer:
            on_change(f"the input layer {layer.name!r} was removed")

    for kind in INPUT_CHANGES:
        if hasattr(events, kind):
            what = "had its data replaced" if kind == "data" else f"changed its {kind}"
            hooks.append((getattr(events, kind), changed(kind, what)))
    if viewer is not None:
        hooks.append((viewer.layers.events.removed, removed))
    for event, hook in hooks:
        event.connect(hook)

    def unwatch() -> None:
        for event, hook in hooks:
            event.disconnect(hook)

    return unwatch


def window_watch(viewer: Any) -> Callable[[], bool]:
    """A check, made now, of whether ``viewer``'s window is still open later: False once it was closed by
    ``viewer.close()`` (napari drops its Qt window) or by its close button (Qt deletes the window).

    For the console's ``run()``, which may be given napari's public-only proxy of a viewer (its private attributes
    warn, and each access wraps anew): the viewer behind it is watched. The plugin widget knows it was closed from its
    own Qt side instead. A viewer without a Qt window when the watch starts (none shown, or a napari that keeps it
    elsewhere) counts as open: adding layers then is napari's business, and a result is never dropped on a guess.
    """
    viewer = getattr(viewer, "__wrapped__", viewer)
    window = getattr(getattr(viewer, "window", None), "_qt_window", None)
    if window is None:
        return lambda: True

    def is_open() -> bool:
        if getattr(viewer.window, "_qt_window", None) is not window:
            return False
        try:
            window.objectName()
        except RuntimeError:  # the Qt side was deleted
            return False
        return True

    return is_open


def viewer_closed(viewer: Any) -> bool:
    """Whether napari's ``viewer`` was closed before a run: ``viewer.close()`` empties it and its Qt window drops
    ``_qt_window`` (its close button deletes that window, :func:`window_watch`). Layers added then reach no screen,
    and napari's layer controls, gone with the window, fail on the first one (a KeyError). Only napari's own Qt
    window is read so: a viewer without one (a ``ViewerModel``) counts as open, as in :func:`window_watch`."""
    viewer = getattr(viewer, "__wrapped__", viewer)
    window = getattr(viewer, "window", None)
    if window is None or not type(window).__module__.startswith("napari."):
        return False
    return not hasattr(window, "_qt_window") or not window_watch(viewer)()
