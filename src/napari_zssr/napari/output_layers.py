"""A run's results as napari layers: named after the input, placed over it in world coordinates, with its look;
added, or put into the layers of an earlier run of the same input, never into a layer of the user's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._version import __version__
from ..api import ZSSRResult
from ..core.choices import INTENSITY_OUTPUTS, OUTPUTS
from ..io.names import output_name as output_kind_name
from ..overlay import effective_factors, overlay_scale_translate
from .runner import DESCRIPTIONS, RunRequest, look_of


def layer_tuples(request: RunRequest, result: ZSSRResult) -> list[tuple[Any, dict, str]]:
    """The requested outputs as napari layer data tuples (super-resolved first), placed over the input.

    The super-resolved and median layers keep the input's contrast limits (same intensity units), colormap,
    blending, opacity and gamma; the residual and the spread are hidden, with limits from their own values. A one-plane
    preview's names end in ``_preview`` and an axial run's in ``_axial``, so that neither replaces the result of a
    whole lateral run.
    """
    snapshot = request.snapshot
    in_shape = request.input_shape
    factors: tuple[float, ...] = effective_factors(in_shape, result.sr.shape)
    if request.axial_scale is not None:
        factors = (result.sr.shape[-3] / in_shape[-3], 1.0, 1.0)
    translate = list(snapshot.translate)
    if snapshot.plane is not None:  # the preview plane sits where it was in the stack, turned as the layer is
        offset = np.zeros(len(translate))
        offset[: len(snapshot.plane)] = np.multiply(snapshot.plane, snapshot.scale[: len(snapshot.plane)])
        translate = list(np.add(translate, snapshot.linear @ offset))
    scale, translate = overlay_scale_translate(snapshot.scale, translate, factors, snapshot.linear)
    # the pixel size the run used (typed, or the layer's), the one typed, and the layer's own (None: its scale, and
    # the output's, count pixels, not um)
    metadata = {**result.metadata(), "psf_path": result.kernel.get("psf_path"), "source_layer": snapshot.name,
                "source_layer_id": layer_id(snapshot.layer),
                "napari_zssr_version": __version__, "plane": snapshot.plane, "input_pixel_size_um": request.pixel_size,
                "typed_pixel_size_um": request.typed_pixel_size, "layer_pixel_size_um": snapshot.pixel_size,
                "pixels_per_input_pixel": list(factors[-2:])}
    common: dict[str, Any] = {"scale": scale, "translate": translate}
    for key in ("rotate", "shear", "affine", "units", "axis_labels"):
        value = getattr(snapshot, key)
        if value is not None:
            common[key] = value
    input_look = {} if snapshot.layer is None else look_of(snapshot.layer)  # as the input shows its data now
    residual_limit = 1.0 if result.residual is None else \
        float(np.percentile(np.abs(contrast_sample(result.residual)), 99.9)) or 1.0
    style = {"zssr": input_look, "ensemble_median": {**input_look, "visible": False},
             "residual": {"colormap": "bwr", "contrast_limits": (-residual_limit, residual_limit), "visible": False},
             "ensemble_spread": {"colormap": "magma", "visible": False}}
    tuples = []
    for kind in request.outputs:
        data = getattr(result, OUTPUTS[kind])
        kwargs = {**common, "name": output_name(request, kind), **style[kind],
                  "metadata": {**metadata, "description": DESCRIPTIONS[kind]}}
        tuples.append((data, kwargs, "image"))
    return tuples


#: the ends of an output layer's name after its kind: a whole lateral run's, a one-plane preview's, an axial run's
WHOLE_RUN, PREVIEW, AXIAL_RUN = "", "_preview", "_axial"


def output_name(request: RunRequest, kind: str) -> str:
    """The layer name of one output of ``request`` (see :func:`layer_tuples`)."""
    variant = PREVIEW if request.snapshot.plane is not None else AXIAL_RUN if request.axial_scale is not None \
        else WHOLE_RUN
    return named_output(request.snapshot.name, kind, variant)


def named_output(input_name: str, kind: str, variant: str) -> str:
    """The layer name of the output ``kind`` of the input layer ``input_name`` for a run of ``variant``."""
    return output_kind_name(input_name, kind) + variant


def can_hold_output(layer: Any) -> bool:
    """Whether a run may put an output into (or remove) ``layer``: a single-channel Image layer that a run made
    (its metadata says so). Any other layer of an output's name is the user's: another kind of layer, or an image
    such as a command-line result opened from its file."""
    from napari.layers import Image

    return isinstance(layer, Image) and not layer.rgb and "napari_zssr_version" in layer.metadata


def check_output_layers(viewer: Any, names: Sequence[str], source: Any = None) -> None:
    """A ValueError naming a layer of ``viewer`` that holds an output's name but cannot hold an output
    (:func:`can_hold_output`): a run would otherwise overwrite the user's layer, fail to put its result there, or
    stop half-way through adding its layers. Or one that holds the result of a layer other than ``source``, the input
    layer (None: an array's run), which had its name: an input removed and another opened under its name (the same
    file the next day) would silently replace that result, left below the new input, unseen."""
    source_id = layer_id(source)
    for name in names:
        layer = viewer.layers[name] if name in viewer.layers else None
        if layer is not None and not can_hold_output(layer):
            kind = "RGB" if getattr(layer, "rgb", False) else layer.__class__.__name__  # type() of a proxy: the proxy
            made_by = "" if kind != "Image" else " but was not made by a run here (a file opened?)"
            raise ValueError(f"the {kind} layer {name!r} has the name of an output image{made_by}; rename or "
                             "remove it")
        maker = None if layer is None else made_from(layer)
        if maker is not None and source_id is not None and maker != source_id:
            raise ValueError(f"the layer {name!r} holds the result of another layer, run when it was called "
                             f"{layer.metadata.get('source_layer')!r}; rename or remove that result to run this "
                             "layer (or rename this layer)")


def layer_id(layer: Any) -> str | None:
    """The napari ``unique_id`` of ``layer`` (behind the console's proxy), as text; None for an array's run."""
    found = getattr(getattr(layer, "__wrapped__", layer), "unique_id", None)
    return None if found is None else str(found)


#: residual values the contrast limit is read from, at most (a large stack's whole residual would be copied twice)
CONTRAST_SAMPLE = 2**22


def contrast_sample(values: np.ndarray) -> np.ndarray:
    """At most :data:`CONTRAST_SAMPLE` of ``values``, drawn at random (a fixed seed: the same layer, the same
    contrast), without copying the array: a stride would fall on the same few columns of a power-of-two plane."""
    if values.size <= CONTRAST_SAMPLE:
        return values
    return values.flat[np.random.default_rng(0).integers(0, values.size, CONTRAST_SAMPLE)]


#: layer properties that a re-run sets on an existing output layer (besides its data).
UPDATED_PROPERTIES = ("scale", "translate", "rotate", "shear", "affine", "units", "axis_labels", "metadata",
                      "colormap", "contrast_limits", "blending", "opacity", "gamma", "rendering", "iso_threshold",
                      "attenuation")


def remove_stale_outputs(viewer: Any, request: RunRequest) -> None:
    """Remove the layers of output kinds that an earlier run of the same input made and this one did not (its spread
    with uncertainty on, its median at another scale): left, they would sit beside this run's as if they were its
    own. A layer of such a name that no run made is the user's, and stays; so does the result of another input layer
    that had this one's name (day 1's input closed, day 2's opened under its name), and one the user locked against
    deletion (napari's layer lock)."""
    source_id = layer_id(request.snapshot.layer)
    for kind in OUTPUTS:
        name = output_name(request, kind)
        layer = viewer.layers[name] if name in viewer.layers else None
        if kind not in request.outputs and layer is not None and can_hold_output(layer) and \
                made_from(layer) in (None, source_id) and not getattr(layer, "locked", False):
            viewer.layers.remove(name)


def add_or_update(viewer: Any, tuples: list[tuple[Any, dict, str]], source: Any = None) -> list[Any]:
    """Add the result layers, or update those of an earlier run in place (no duplicates); select the first.

    A new layer goes directly above the one before it in ``tuples``: the first (the super-resolved layer) directly
    above ``source``, the input layer, and its companions above it in their order. A channel's result then sits where
    its input does, so the composite of a multichannel image's results does not depend on the order its channels were
    run in (at the top, an opaque result covered the additive channels run before it). Where the viewer does not hold
    ``source`` (a run of an array) they go on top. A layer that exists keeps its place: the user may have moved it;
    the super-resolved one is shown again if hidden.
    Then :func:`hide_what_the_outputs_show`.

    The first is selected: napari would otherwise select the last one added, a hidden layer. The caller makes sure the
    viewer is still open (:func:`window_watch`). A ValueError, before any layer is touched, where a layer of another
    type, or the result of another input, holds an output's name (:func:`check_output_layers`).
    """
    check_output_layers(viewer, [kwargs["name"] for _, kwargs, _ in tuples], source)
    layers = []
    below = source
    for data, kwargs, _ in tuples:
        name = kwargs["name"]
        if name in viewer.layers:
            layer = viewer.layers[name]
            layer.data = data
            for key in UPDATED_PROPERTIES:
                if key in kwargs:
                    setattr(layer, key, kwargs[key])
            if "contrast_limits" not in kwargs:
                layer.reset_contrast_limits()
            if kwargs.get("visible", True):  # the result a run was for is shown, even where a preview hid it
                layer.visible = True
        else:
            layer = viewer.add_image(data, **kwargs)
            place_above(viewer, layer, below)
        layers.append(layer)
        below = layer
    if layers:
        viewer.layers.selection.active = layers[0]
        hide_what_the_outputs_show(viewer, source, layers)
    return layers


def place_above(viewer: Any, layer: Any, below: Any) -> None:
    """Move ``layer`` of ``viewer`` directly above ``below``; nowhere where the viewer does not hold ``below``."""
    try:
        place = viewer.layers.index(getattr(below, "__wrapped__", below)) + 1  # the console may hold a proxy of it
    except ValueError:
        return
    viewer.layers.move(viewer.layers.index(layer), place)


#: napari's blendings that mix a layer into the layers beneath it instead of painting over them, as the channels of
#: an overlay do (additive; minimum, for inverted colormaps on white)
MIXING_BLENDINGS = ("additive", "minimum")


def shows_what_is_beneath(layer: Any) -> bool:
    """Whether what lies beneath ``layer`` still shows through it: its blending mixes (:data:`MIXING_BLENDINGS`), or
    it is translucent (napari's base blendings below full opacity; "opaque" ignores opacity)."""
    blending = str(layer.blending)
    return blending in MIXING_BLENDINGS or (blending != "opaque" and float(layer.opacity) < 1.0)


def hide_what_the_outputs_show(viewer: Any, source: Any, outputs: Sequence[Any]) -> None:
    """Hide the input layer ``source`` (None: an array's run) where a visible output of it shows it through
    (:func:`shows_what_is_beneath`), so that the composite shows the result where it showed the input; and, as for
    the input, the other visible results of ``source`` (:func:`other_results`) that such an output would show through,
    or that lie above the outputs, covering or adding to them: a preview went beneath its whole run's result, unseen
    under an opaque one and added onto an additive one.

    The outputs take the input's look (:func:`look_of`): an additive channel's result added onto its still visible
    input doubled the channel's brightness. An input in napari's base blending at full opacity stays visible: its
    result covers it exactly (their outer pixel edges coincide) as it covered what lies beneath, so the view is the
    same either way, and hiding the result shows the input again for comparison. An output the user hid hides
    nothing: the channel would vanish. Called only once a run has added its outputs: a cancelled or failed run
    leaves the viewer as it was.
    """
    shown = [layer for layer in outputs if layer.visible]
    if source is None or not shown:
        return
    mixes = any(shows_what_is_beneath(layer) for layer in shown)
    if mixes:
        source.visible = False
    lowest = min(viewer.layers.index(layer) for layer in shown)
    for layer in other_results(viewer, source, outputs):
        if layer.visible and (mixes or viewer.layers.index(layer) > lowest):
            layer.visible = False


def other_results(viewer: Any, source: Any, outputs: Sequence[Any]) -> list[Any]:
    """The layers of ``viewer`` other than ``outputs`` that hold a run's intensity outputs of ``source`` (a whole
    run's, a preview's, an axial run's: :func:`output_name`), under whatever name: an input renamed since its last
    run left that run's result over the new one's. A result that does not record its input (an older version's) is
    known by its name."""
    source_id = layer_id(source)
    names = {named_output(source.name, kind, variant) for kind in INTENSITY_OUTPUTS
             for variant in (WHOLE_RUN, PREVIEW, AXIAL_RUN)}
    intensities = {DESCRIPTIONS[kind] for kind in INTENSITY_OUTPUTS}

    def of_source(layer: Any) -> bool:
        if made_from(layer) is None or source_id is None:
            return layer.name in names
        return made_from(layer) == source_id and layer.metadata.get("description") in intensities

    return [layer for layer in viewer.layers if layer not in outputs and can_hold_output(layer) and of_source(layer)]


def made_from(layer: Any) -> str | None:
    """The id of the input layer whose run made ``layer`` (:func:`layer_id`); None for an array's run's."""
    return layer.metadata.get("source_layer_id")
