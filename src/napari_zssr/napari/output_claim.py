"""The output layer names a run holds in a viewer while it runs: no two runs write the same layers, and the outputs
are named after the input layer as it is called when the run ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..core.choices import OUTPUTS
from .output_layers import check_output_layers, output_name
from .runner import RunRequest

#: the output layer names of the runs going, per viewer (the id of the viewer behind any proxy)
_claimed: dict[int, set[str]] = {}


def claim_outputs(viewer: Any, names: Sequence[str]) -> Callable[[], None]:
    """Reserve ``names`` in ``viewer`` for one run and return what releases them; a ValueError when a run going (the
    widget's or the console's) writes one of them: the later to finish would silently replace the other's result."""
    key = id(getattr(viewer, "__wrapped__", viewer))
    taken = _claimed.get(key, set())
    busy = [name for name in names if name in taken]  # in the run's order: its super-resolved layer first
    if busy:
        raise ValueError(f"another run (in the widget or the console) is writing {busy[0]!r}: wait for it to end or "
                         "cancel it")
    _claimed[key] = taken | set(names)

    def release() -> None:
        left = _claimed.get(key, set()) - set(names)
        if left:
            _claimed[key] = left
        else:  # no run going in that viewer: its entry goes (a closed viewer's id may be reused by a new one)
            _claimed.pop(key, None)

    return release


def named_for_a_new_array(viewer: Any, request: RunRequest) -> RunRequest:
    """``request`` of an array (no layer: nothing says which array an earlier result was of) renamed as napari names
    a layer added under a name taken ("array", "array [1]", ...), to a name that no layer of ``viewer`` has and whose
    outputs' names no layer has and no run going writes: a second array's run would otherwise silently replace the
    first's result."""
    taken = _claimed.get(id(getattr(viewer, "__wrapped__", viewer)), set())

    def free(named: RunRequest) -> bool:
        names = [output_name(named, kind) for kind in OUTPUTS]
        return named.snapshot.name not in viewer.layers and not any(
            name in viewer.layers or name in taken for name in names)

    named, count = request, 0
    while not free(named):
        count += 1
        named = replace(request, snapshot=replace(request.snapshot, name=f"{request.snapshot.name} [{count}]"))
    return named


class OutputClaim:
    """The output names of ``request`` in ``viewer``, checked (:func:`.output_layers.check_output_layers`) and reserved
    (:func:`claim_outputs`) at once: a ValueError names what holds one. The reservation follows the input layer's
    name: renamed during the run, the input's outputs are to bear its new name, so the reservation moves to those
    (freeing the old ones for a run of a layer now called so) and :attr:`request` names them. Where a layer of the
    user's or another run holds one of them, the run keeps its names, with a warning: it cannot write there, and a
    result dropped at the end for a rename would cost the whole run. Call :meth:`release` when the run ends."""

    def __init__(self, viewer: Any, layer: Any, request: RunRequest) -> None:
        self._viewer = viewer
        self.request = request
        self._layer = getattr(layer, "__wrapped__", layer)  # the console may hold napari's public-only proxy
        check_output_layers(viewer, self.names, self._layer)
        self._release = claim_outputs(viewer, self.names)
        events = getattr(self._layer, "events", None)
        self._name_event = getattr(events, "name", None)  # a bare array has none
        if self._name_event is not None:
            self._name_event.connect(self._follow_rename)

    @property
    def names(self) -> list[str]:
        return [output_name(self.request, kind) for kind in self.request.outputs]

    def _follow_rename(self, *_: Any) -> None:
        from napari.utils.notifications import show_warning

        old = self.request.snapshot.name
        if self._layer.name == old:  # back to the name whose outputs it holds (a rename it could not follow, undone)
            return
        renamed = replace(self.request, snapshot=replace(self.request.snapshot, name=self._layer.name))
        names = [output_name(renamed, kind) for kind in renamed.outputs]
        try:
            check_output_layers(self._viewer, names, self._layer)
            release = claim_outputs(self._viewer, names)
        except ValueError as error:
            show_warning(f"ZSSR: the input layer was renamed {self._layer.name!r} during the run; its outputs keep "
                         f"the names of {old!r} ({error})")
            return
        self._release()
        self._release = release
        self.request = renamed

    def release(self) -> None:
        """Free the names and stop following the input's name."""
        if self._name_event is not None:
            self._name_event.disconnect(self._follow_rename)
            self._name_event = None
        self._release()
        self._release = lambda: None
