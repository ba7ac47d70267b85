"""What the widget and ``run()`` share: snapshot a layer, build the request and run it off the main thread (its
result's layers: :mod:`.output_layers`; the watch on its input: :mod:`.input_watch`). Layers are only read and
written on the main thread."""

from __future__ import annotations

import queue
import threading
import warnings
import zlib
from collections.abc import Generator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..api import ZSSRResult, checked_pixel_size, requested_outputs, zssr_stack
from ..axial import check_volume_shape, validate_volume, zssr_axial
from ..core.axial import MIN_PLANES, RATIO_TOLERANCE, axial_factor, square_pixel_size, unrestorable_ratio
from ..core.blind import check_estimable
from ..core.choices import DEFAULT_OUTPUTS
from ..core.config import DEFAULT_SCALE, ZSSRConfig
from ..core.device import select_device
from ..core.optics import Optics
from ..core.precision import resolve_precision
from ..core.progress import ProgressCallback, ProgressEvent
from ..core.resize import PixelSize, Scale, as_scale_pair, pixel_pair, upscale_factors
from ..core.trainer import Cancelled, StopHook
from ..core.units import (
    UNIT_SLIP_HINT,
    compact_pixel_size,
    has_length_units,
    is_unit_of,
    is_whole_number,
    measures_no_length,
    shown_sizes,
    um_per_unit,
    unit_slip,
)
from ..input_values import in_memory, loaded, read_checked, refuse_constant, validate_image
from ..io.calibration import default_z_spacing_note
from ..io.ome import Acquisition, OpticsMetadata, channel_acquisition, layer_optics_record
from ..kernel_choice import KernelArgument, KernelChoice, PreparedKernel, named_kernel
from .reader import Z_SPACING_DEFAULT_KEY, scale_counts_input_pixels
from .worker_warnings import ShowWarning, keep_others_warnings


@dataclass
class LayerSnapshot:
    """Everything read from the layer on the main thread; the worker never touches the layer itself."""

    name: str
    data: Any  # the full-resolution array (numpy, dask, zarr ...): read plane by plane by zssr_stack
    scale: list[float]
    translate: list[float]
    linear: np.ndarray  # rotate @ shear of the layer
    rotate: Any = None
    shear: Any = None
    affine: Any = None
    units: Any = None
    axis_labels: Any = None
    plane: tuple[int, ...] | None = None  # only this leading-axes index ("current plane only")
    in_input_pixels: bool = False  # the scale counts the pixels of an earlier run's input (scale_counts_input_pixels)
    # the napari layer (None for an array), for its look only (:func:`look_of`), read on the main thread when the
    # outputs are made: a contrast set during the run is the one the input then shows
    layer: Any = field(default=None, repr=False)

    @property
    def pixel_size(self) -> PixelSize | None:
        return pixel_size_of(self.scale, self.units, self.in_input_pixels)


def pixel_size_of(scale: Sequence[float], units: Sequence[Any] | None = None,
                  in_input_pixels: bool = False) -> PixelSize | None:
    """A layer's pixel size in um from its scale and units, (y, x) where they differ. A length unit (e.g. nm) is
    converted; napari's default "pixel" says nothing, and the scale is then taken as um, except a scale of exactly
    1 (napari's default), which means "unknown". With length units (which the napari-zssr reader sets on calibrated
    files) a scale of 1 is 1 of them. ``in_input_pixels``: the scale counts another image's pixels
    (:func:`.reader.scale_counts_input_pixels`), so the size is unknown; so is that of a layer whose y or x unit
    is no length (seconds: a kymograph)."""
    if in_input_pixels and not has_length_units(units):
        return None
    if units is not None and any(measures_no_length(unit) for unit in units[-2:]):
        return None
    y, x = (abs(float(size)) for size in scale[-2:])  # a flipped axis has a negative scale
    if (y, x) == (1.0, 1.0) and not has_length_units(units):
        return None
    if units is not None and len(units) >= 2:
        y, x = y * um_per_unit(units[-2]), x * um_per_unit(units[-1])
    return compact_pixel_size(y, x)


#: the pixel sizes (um) a layer's scale is taken as, those the widget's image pixel field shows (4 decimals): a scale
#: beyond is most likely in another unit (nm set as um, metres), so a run refuses it until the layer's scale, its
#: units or a typed pixel size say what it is
LAYER_PIXEL_UM = (1e-4, 1000.0)


def sides_beyond_layer_range(size: PixelSize | None) -> list[float]:
    """The sides of a layer's pixel size ``size`` (um) outside :data:`LAYER_PIXEL_UM`: what Run refuses, and the
    widget's pixel field notes as the layer is chosen."""
    return [side for side in (() if size is None else as_scale_pair(size))
            if not LAYER_PIXEL_UM[0] <= side <= LAYER_PIXEL_UM[1]]


def warn_unit_slip(snapshot: LayerSnapshot, typed: PixelSize | None) -> None:
    """A warning where the pixel size ``typed`` is so far above the layer's own that it was meant in nm: without a
    kernel made from it (which refuses such sizes) it would only recalibrate the outputs, 1,000 times too large."""
    own = snapshot.pixel_size
    if typed is not None and own is not None and unit_slip(typed, own):
        warnings.warn(f"{snapshot.name!r}: the pixel size typed, {shown_sizes(pixel_pair(typed))} µm, is "
                      f"{UNIT_SLIP_HINT}, {shown_sizes(pixel_pair(own))} µm", stacklevel=3)


def checked_layer_pixel_size(snapshot: LayerSnapshot) -> PixelSize | None:
    """The layer's pixel size in um (:attr:`LayerSnapshot.pixel_size`), or a ValueError for one outside
    :data:`LAYER_PIXEL_UM` (:func:`sides_beyond_layer_range`): the widget and ``run()`` refuse the same layers."""
    size = snapshot.pixel_size
    if not sides_beyond_layer_range(size):
        return size
    raise ValueError(f"the layer's scale {shown_sizes(as_scale_pair(size))} µm is no pixel size (taken from "
                     f"{LAYER_PIXEL_UM[0]:g} to {LAYER_PIXEL_UM[1]:g} µm; another unit, such as nm?): set the layer's "
                     "scale in µm (or its units), or type the pixel size (run()'s pixel_size=)")


def snapshot_layer(layer: Any, current_step: tuple[int, ...] | None = None) -> LayerSnapshot:
    """Read what a run needs from a napari Image layer (or a bare array); raise a clear error for bad layers."""
    if isinstance(layer, np.ndarray) or (hasattr(layer, "shape") and hasattr(layer, "dtype")):
        ndim = len(layer.shape)  # an array needs no napari: run() works in a script with the library alone
        return LayerSnapshot("array", layer, [1.0] * ndim, [0.0] * ndim, np.eye(ndim),
                             plane=_leading_index(current_step, ndim))
    from napari.layers import Image
    from napari.utils.transforms import Affine

    if not isinstance(layer, Image):
        what = f"layer {layer.name!r}" if hasattr(layer, "name") else f"a {type(layer).__name__}"
        raise TypeError(f"{what} is not an image layer; choose an Image layer or pass a numpy array")
    if layer.rgb:
        raise ValueError(f"layer {layer.name!r} is RGB: ZSSR runs on one channel at a time. Split it first "
                         "(right-click the layer > Split RGB) and run each channel")
    data = layer.data[0] if layer.multiscale else layer.data
    linear = Affine(rotate=layer.rotate, shear=layer.shear, ndim=layer.ndim).linear_matrix
    return LayerSnapshot(layer.name, data, list(map(float, layer.scale)), list(map(float, layer.translate)),
                         linear, layer.rotate, layer.shear, layer.affine.affine_matrix, getattr(layer, "units", None),
                         getattr(layer, "axis_labels", None), _leading_index(current_step, data.ndim),
                         in_input_pixels=scale_counts_input_pixels(layer.metadata), layer=layer)


def look_of(layer: Any) -> dict[str, Any]:
    """How ``layer`` shows its data, as its outputs are to show theirs (they share its intensity units, and a green
    channel's result is green and blends as it does, at its opacity): contrast limits, colormap, blending, opacity and
    gamma; and in the 3D view its rendering (a stack shown as an isosurface or attenuated MIP shows its result so,
    at the same threshold, in the same units)."""
    return {"contrast_limits": tuple(map(float, layer.contrast_limits)), "colormap": layer.colormap,
            "blending": layer.blending, "opacity": float(layer.opacity), "gamma": float(layer.gamma),
            "rendering": str(layer.rendering), "iso_threshold": float(layer.iso_threshold),
            "attenuation": float(layer.attenuation)}


def _leading_index(current_step: tuple[int, ...] | None, ndim: int) -> tuple[int, ...] | None:
    """The leading-axes part of a data index (one entry per data axis), or None for the whole stack. A 2D layer's
    plane is () (all of it): asked for as a preview, its result still goes to the preview's own layers."""
    if current_step is None:
        return None
    return tuple(int(i) for i in current_step[: max(ndim - 2, 0)])


def plane_at_viewer_position(layer: Any, viewer: Any) -> tuple[int, ...]:
    """The data index of ``layer`` under the viewer's current position (its dims point, in world units).

    The viewer's step indices are in world steps, which differ from the layer's own indices when layers have
    different scales or numbers of dimensions; ``world_to_data`` accounts for both. A ValueError where the view does
    not show a (Y, X) plane of the layer (a 3D view of a stack, axes rolled, or a position beyond the layer's planes,
    where napari shows none): the plane run would not be the one on screen.
    """
    world_yx = {viewer.dims.ndim - 2, viewer.dims.ndim - 1}  # a layer's last two axes are the world's (napari)
    shape = np.shape(layer.data[0] if layer.multiscale else layer.data)
    if len(shape) == 2 and world_yx <= set(viewer.dims.displayed):  # its one plane, all on screen (a 3D view too)
        return ()
    if viewer.dims.ndisplay != 2 or set(viewer.dims.displayed) != world_yx:
        view = "a 3D view" if viewer.dims.ndisplay != 2 else "other axes than the layer's Y and X"
        raise ValueError(f"'current plane only' previews the plane on screen, but the viewer shows {view}: switch "
                         "to the 2D view of Y and X (napari's 2D/3D and transpose buttons, or View > Axes), or "
                         "uncheck it to run the whole stack")
    coordinates = np.asarray(layer.world_to_data(viewer.dims.point), dtype=float)
    index = np.round(coordinates)  # as napari picks the plane it shows
    outside = [axis for axis in range(len(shape) - 2) if not 0 <= index[axis] <= shape[axis] - 1]
    if outside:  # napari shows nothing of the layer there: the nearest plane would not be the one on screen
        axis = outside[0]
        raise ValueError(f"'current plane only' previews the plane on screen, but the viewer shows none of layer "
                         f"{layer.name!r} at its position (plane index {index[axis]:.0f} on an axis of "
                         f"{shape[axis]} planes): move the slider onto the layer's planes, or uncheck it to run the "
                         "whole stack")
    return tuple(int(np.clip(i, 0, n - 1)) for i, n in zip(index, shape))


#: what each output layer holds, recorded in its metadata as ``description``.
DESCRIPTIONS = {
    "zssr": "super-resolved image (ZSSR), in the input's intensity units",
    "ensemble_median": "median over the geometric ensemble, before the final back-projection",
    "residual": "SR minus bicubic interpolation of the input: the detail the network added",
    "ensemble_spread": "per-pixel standard deviation across the geometric ensemble's members: where the network "
                       "is unsure (uncertainty)",
}


@dataclass
class RunRequest:
    snapshot: LayerSnapshot
    scale: Scale  # (y, x)
    kernel: KernelArgument  # resolved by zssr_stack, which records where it came from
    config: ZSSRConfig
    pixel_size: PixelSize | None = None  # um: the layer's, or the user's
    typed_pixel_size: PixelSize | None = None  # um: the user's (None: the run took the layer's, or none)
    warm_start_iterations: int | None = None
    axial_scale: int | None = None  # axial (isotropic) mode: z step / lateral pixel size
    axial_optics: Optics | None = None  # axial mode: the optics the layer's metadata names, for the axial profile
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS

    @property
    def input_data(self) -> Any:
        data = self.snapshot.data
        if self.snapshot.plane is None:
            return data
        plane = loaded(data[self.snapshot.plane])  # a masked plane stays masked, for the run's check
        return np.asanyarray(plane)[(None,) * len(self.snapshot.plane)]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of :attr:`input_data`, without reading a preview's plane (of lazy data: from its file) again."""
        shape = tuple(np.shape(self.snapshot.data))
        return shape if self.snapshot.plane is None else (1,) * len(self.snapshot.plane) + shape[-2:]


def prepare(layer: Any, *, kernel: KernelArgument = None, psf: str | None = None,
            psf_pixel_size: float | None = None, pixel_size: PixelSize | None = None,
            scale: float | Sequence[float] | None = None, config: ZSSRConfig | None = None,
            current_step: tuple[int, ...] | None = None, warm_start_iterations: int | None = None,
            outputs: str | Sequence[str] = DEFAULT_OUTPUTS, axial: bool = False) -> RunRequest:
    """Everything checked before a run starts, on the main thread: bad input fails here with a clear message.

    ``kernel`` as ``zssr`` takes it (a :class:`KernelChoice`, ``"estimate"``, an array...); ``psf`` (a PSF file) is
    short for ``KernelChoice("psf", psf, psf_pixel_size)``; of a PSF file with a PSF per channel, a layer opened from
    channel c of a multichannel file (:func:`layer_channel`) takes channel c's where the PSF file has as many channels
    as the layer's file, and any other layer is refused (:meth:`KernelChoice.for_channel`). ``current_step`` is a data
    index of the layer (one entry per axis): only that plane is run. ``axial=True``: restore the layer's z axis to its
    lateral pixel size (:func:`napari_zssr.zssr_axial`, factor from the layer's z and y/x scale; ``scale`` (None: 2 in
    lateral runs), a kernel, ``current_step`` and ``warm_start_iterations`` are refused).
    """
    outputs = requested_outputs(outputs)
    config = config or ZSSRConfig()
    resolve_precision(config.precision, select_device(config.device))  # float16 without CUDA: refused now
    if axial:
        lateral_only = {"warm_start_iterations": warm_start_iterations is not None,
                        "current_step": current_step is not None,
                        "scale": scale is not None}
        given = [name for name, is_given in lateral_only.items() if is_given]
        if given:  # silently dropped, they would make the run another than the one asked for
            raise ValueError(f"{given[0]}= does not apply to axial mode: it restores whole volumes, each with one "
                             "network, by the layer's z step / pixel size")
        return _prepare_axial(layer, config, outputs, kernel if kernel is not None else psf, pixel_size)
    snapshot = snapshot_layer(layer, current_step)
    data = snapshot.data if snapshot.plane is None else snapshot.data[snapshot.plane]
    scale = upscale_factors(DEFAULT_SCALE if scale is None else scale)
    validate_image(data, scale, ndim=None)  # in-memory data's values too, so the message shows before any worker
    what = f"layer {snapshot.name!r}" if not snapshot.plane else \
        f"the plane shown (index {snapshot.plane}) of layer {snapshot.name!r}"
    # a lazy preview's one plane is read here (the run would name it by its index 0 in the run), but a whole lazy
    # image is not: a pyramid's full-resolution level may not fit in memory, and the run finds its constancy (as its
    # NaNs) as it reads it, in the worker
    lazy_preview = snapshot.plane is not None and not in_memory(data)
    refuse_constant(read_checked(data, what) if lazy_preview else data, what)
    if psf:
        if kernel is not None:
            raise ValueError("give either psf= or kernel=, not both")
        kernel = KernelChoice("psf", psf_path=str(psf), psf_pixel_size=psf_pixel_size)
    typed = checked_pixel_size(pixel_size)
    warn_unit_slip(snapshot, typed)
    pixel_size = checked_layer_pixel_size(snapshot) if typed is None else typed
    kernel = named_kernel(kernel)
    if isinstance(kernel, KernelChoice) and kernel.kind == "estimate":
        check_estimable(data.shape)
    elif isinstance(kernel, KernelChoice):  # a bad PSF file or bad optics fail here, before any worker starts
        # as made here: the run makes it no second time
        kernel = PreparedKernel.of(kernel.for_channel(*layer_channel(layer)), pixel_size, scale)
    return RunRequest(snapshot, scale, kernel, config, pixel_size, typed, warm_start_iterations,
                      outputs=outputs)


def layer_channel(layer: Any) -> tuple[int | None, int | None]:
    """The channel of its file that ``layer`` holds and the file's count of channels, where the napari-zssr reader
    opened it from a multichannel file (its metadata's ``"channel"`` and ``"channels"``); (None, None) for any other
    layer, or an array, and for one that names its channel alone (an earlier reader's): which PSF of a file of one per
    channel is its own needs both."""
    metadata = getattr(layer, "metadata", None) or {}

    def whole(value: Any, least: int) -> int | None:
        return int(value) if is_whole_number(value) and value >= least else None

    channel, channels = whole(metadata.get("channel"), 0), whole(metadata.get("channels"), 1)
    return (channel, channels) if channel is not None and channels is not None and channel < channels else (None, None)


def _prepare_axial(layer: Any, config: ZSSRConfig, outputs: tuple[str, ...], kernel: Any,
                   pixel_size: PixelSize | None) -> RunRequest:
    """The checks of an axial run: a volume whose z step is a whole multiple (> 1) of its lateral pixel
    (:func:`axial_geometry`). The optics named in the layer's metadata shape the axial profile only when the pixel
    size is known in um; otherwise the profile is the default Gaussian as wide as the z step.
    """
    if kernel is not None:
        raise ValueError("axial mode takes no kernel (psf=, optics= or kernel=): its z blur is the axial profile of "
                         "the optics named in the layer's OME metadata (a file opened with the napari-zssr reader), "
                         "else a Gaussian as wide as the z step; to give the optics, call napari_zssr.zssr_axial("
                         "volume, axial_scale, optics=..., pixel_size=...) or run the command line with --axial --na "
                         "--wavelength")
    snapshot = snapshot_layer(layer)
    factor, pixel_um = axial_geometry(snapshot, pixel_size)
    check_axial_volume(snapshot, factor)
    refuse_constant(snapshot.data, f"layer {snapshot.name!r}")
    note = z_axis_note(snapshot)
    if note:  # it runs, but along channels it would interpolate them into planes
        warnings.warn(f"{snapshot.name!r}: its axis labels do not name its third-last axis ({snapshot.data.shape[-3]} "
                      f"planes) Z; {note}", stacklevel=3)
    metadata = getattr(layer, "metadata", None) or {}
    if metadata.get(Z_SPACING_DEFAULT_KEY) and abs(snapshot.scale[-3]) == 1.0:  # the factor rests on a default
        warnings.warn(f"{snapshot.name!r}: its file {default_z_spacing_note('1 µm', factor)}; if its z step "
                      "differs, set the layer's z scale in µm", stacklevel=3)
    elif on_default_z_scale(snapshot):
        warnings.warn(f"{snapshot.name!r}: its z scale is napari's default 1 beside a y/x scale of its own, taken as "
                      f"a z step of 1 µm (x{factor}); if its z step differs, set the layer's z scale in µm",
                      stacklevel=3)
    try:
        optics = metadata_optics(metadata) if pixel_um is not None else None
    except ValueError as error:  # the command line fails such a file; here nothing else gives the optics: say so
        warnings.warn(f"{snapshot.name!r}: its file's optics are impossible ({error}), so the axial profile is the "
                      "default Gaussian as wide as the z step, not the optics'", stacklevel=3)
        optics = None
    named = OpticsMetadata.from_record(layer_optics_record(metadata))
    unmodelled = named.unmodelled_mode()
    if optics is not None and unmodelled is not None:
        warnings.warn(f"{snapshot.name!r}: {unmodelled}, so the axial profile is the default Gaussian as wide as the "
                      "z step; to take it from the optics all the same, call napari_zssr.zssr_axial(..., optics=..., "
                      "pixel_size=...) or run the command line with --axial --psf-model widefield", stacklevel=3)
        optics = None
    short = named.short_of_a_profile(1)
    if optics is None and pixel_um is not None and short is not None:
        missing, options_giving = short
        warnings.warn(f"{snapshot.name!r}: its file gives optics but not {missing}, so the axial profile is the "
                      "default Gaussian as wide as the z step; to take it from the optics, run the command line with "
                      f"--axial and {options_giving}, or call napari_zssr.zssr_axial(..., optics=..., pixel_size=...)",
                      stacklevel=3)
    notes = metadata_acquisition(metadata).notes if optics is not None else ()  # on the file's modality and pinhole
    if notes:
        warnings.warn(f"{snapshot.name!r}: the axial profile: {'; '.join(notes)}", stacklevel=3)
    return RunRequest(snapshot, (float(factor), 1.0), None, config, pixel_um, checked_pixel_size(pixel_size),
                      outputs=outputs, axial_scale=factor, axial_optics=optics)


def check_axial_volume(snapshot: LayerSnapshot, factor: int, shape_only: bool = False) -> None:
    """An axial run's checks of the layer's volume at ``factor`` (:func:`~napari_zssr.axial.validate_volume`;
    ``shape_only``: of its shape alone, as the widget's estimate line makes them while the settings change, without
    reading a lazy stack): a ValueError naming the layer, with :func:`z_axis_note` where its third-last axis holds
    too few planes (a channel axis of 1 of a 5D layer: it has no z planes at all). Run and the estimate line say the
    same."""
    shape = snapshot.data.shape
    try:
        check_volume_shape(shape, factor) if shape_only else validate_volume(snapshot.data, factor)
    except ValueError as error:
        note = z_axis_note(snapshot)
        axis = f"; {note}" if note and shape[-3] < MIN_PLANES else ""
        raise ValueError(f"{snapshot.name!r}: {error}{axis}") from None


def z_axis_note(snapshot: LayerSnapshot) -> str:
    """What to say of a layer with axes before z whose axis labels do not name its third-last axis Z (as the
    napari-zssr reader names it): nothing else says that it is z, not channels; "" for any other layer."""
    shape, labels = snapshot.data.shape, tuple(snapshot.axis_labels or ())
    if len(shape) <= 3 or len(labels) == len(shape) and str(labels[-3]).upper() == "Z":
        return ""
    return ("axial mode takes the third-last axis for z: where that is a channel axis (napari's own reader keeps a "
            "file's channels in one layer), open the file with the napari-zssr reader, which gives each channel its "
            "own layer")


def on_default_z_scale(snapshot: LayerSnapshot) -> bool:
    """Whether an axial run's factor rests on napari's default z scale of 1, in its default unit, beside a y/x scale
    the layer was given (``scale=(1, 0.1, 0.1)``): 1 um is what the scale says, but a z scale never set says the
    same (a file's pixel size without its z step is refused in :func:`axial_geometry`, by its units)."""
    return (abs(snapshot.scale[-3]) == 1.0 and lateral_scale(snapshot) != 1.0 and not snapshot.in_input_pixels
            and not has_length_units(snapshot.units) and not is_unit_of(z_unit_of(snapshot), "[length]"))


def z_unit_of(snapshot: LayerSnapshot) -> Any:
    """The unit of the layer's third-last axis, taken for z (None: the layer gives none)."""
    return snapshot.units[-3] if snapshot.units is not None and len(snapshot.units) >= 3 else None


def lateral_scale(snapshot: LayerSnapshot) -> float:
    """The layer's y/x scale, one number (the mean of the sides, flipped axes too)."""
    return float(np.mean(np.abs(snapshot.scale[-2:])))


def axial_geometry(snapshot: LayerSnapshot, pixel_size: PixelSize | None) -> tuple[int, float | None]:
    """An axial run's factor and lateral pixel size in um (None: unknown), or a ValueError naming what is wrong.

    With the layer's y/x scale in its units (um unless they say otherwise), the factor is its z step over the lateral
    pixel: ``pixel_size`` (typed by the user) or the layer's. A y/x scale of 1 without length units says nothing of
    the unit: the z scale then counts lateral pixels (1 too: unknown, refused), and ``pixel_size`` only gives them a
    size in um.
    """
    if len(snapshot.data.shape) < 3:
        raise ValueError(f"axial mode needs a 3D layer (Z, Y, X); {snapshot.name!r} has shape {snapshot.data.shape}")
    labels = list(snapshot.axis_labels or ())
    z_unit = z_unit_of(snapshot)
    if (len(labels) >= 3 and str(labels[-3]).upper() == "T") or is_unit_of(z_unit, "[time]"):
        raise ValueError(f"axial mode restores the z axis, and the third-last axis of {snapshot.name!r} is time: "
                         "choose a Z stack (or a layer whose third-last axis is Z)")
    if len(labels) >= 3 and str(labels[-3]).upper() in ("C", "CHANNEL", "CHANNELS"):  # channels made into z planes
        raise ValueError(f"axial mode restores the z axis, and the third-last axis of {snapshot.name!r} is labelled "
                         f"{labels[-3]!r}, channels: open the file with the napari-zssr reader, which gives each "
                         "channel its own layer, and choose a Z stack")
    z_step, lateral = abs(snapshot.scale[-3]), lateral_scale(snapshot)
    if z_step == 1.0 and has_length_units(snapshot.units) and not is_unit_of(z_unit, "[length]"):
        raise ValueError(f"the z step of {snapshot.name!r} is unknown (its file gives the pixel size but not the z "
                         "spacing): set the layer's z scale in µm (a step of 1 µm with its unit too, which the "
                         "default scale of 1 cannot tell from unknown: layer.units = ('um', 'um', 'um'), as many "
                         "as the layer's axes)")
    try:
        typed = pixel_pair(checked_pixel_size(pixel_size))
        typed_um = None if typed is None else square_pixel_size(typed)
        # no pixel size: a y/x scale of 1 says nothing of the unit, and one that counts an earlier run's input
        # pixels (scale_counts_input_pixels) is in them
        unitless = not has_length_units(snapshot.units) and (lateral == 1.0 or snapshot.in_input_pixels)
        if unitless and is_unit_of(z_unit, "[length]"):
            z_step *= um_per_unit(z_unit)  # a z spacing in um beside pixels of unknown size (an OME file can say so)
            if typed_um is None:
                raise ValueError(f"its z step is {z_step:g} µm but its pixel size is unknown: type the image pixel "
                                 "size (µm; run()'s pixel_size=)")
            ratio, pixel_um = z_step / typed_um, typed_um
        elif unitless:  # the z scale in the same pixels as y and x
            if z_step == 1.0 and lateral == 1.0:
                unknown = "the z step and pixel size are unknown (its scale is 1, and a file opened with the " \
                    "napari-zssr reader gave neither)" if typed_um is None else "the z step is unknown (its scale " \
                    "is 1, and a file opened with the napari-zssr reader gave none; the pixel size typed does not " \
                    "give it)"
                raise ValueError(f"{unknown}: set the layer's scale (z, y, x) in µm (in the "
                                 "console: layer.scale = (z step, pixel, pixel)); for a numpy array, call "
                                 "napari_zssr.zssr_axial(volume, axial_scale=z step / pixel size)")
            sides = (abs(float(snapshot.scale[-2])), abs(float(snapshot.scale[-1])))
            ratio, pixel_um = z_step / square_pixel_size(sides, "pixel"), typed_um
        else:
            z_step *= um_per_unit(z_unit)  # in um, as the lateral pixel: a layer may give both in nm
            layer_um = checked_layer_pixel_size(snapshot)
            if layer_um is None and typed_um is None:  # y or x in seconds (a kymograph): no lateral pixel in um
                raise ValueError(f"its y and x units ({', '.join(map(str, snapshot.units[-2:]))}) are not both "
                                 "lengths, so its pixel size is unknown: give the layer's y and x scale in µm")
            pixel_um = square_pixel_size(pixel_pair(layer_um)) if typed_um is None else typed_um
            ratio = z_step / pixel_um
    except ValueError as error:
        raise ValueError(f"{snapshot.name!r}: {error}") from None
    nothing_to_restore = unrestorable_ratio(ratio)
    if nothing_to_restore:
        raise ValueError(f"the z step of {snapshot.name!r} is {ratio:.4g} times its pixel size: {nothing_to_restore}")
    try:
        return axial_factor(ratio), pixel_um
    except ValueError:
        raise ValueError(f"the z step of {snapshot.name!r} over its pixel size is {ratio:.6g}, not a whole number "
                         f"(within {RATIO_TOLERANCE:.1%}): the output puts the input planes on every n-th voxel; "
                         "resample the stack laterally (or type the pixel size it really has)") from None


def metadata_optics(metadata: dict, default_immersion: float | None = None) -> Optics | None:
    """The optics a layer's metadata (OME, from the napari-zssr reader) names completely for its one channel
    (:meth:`OpticsMetadata.names_optics`), its immersion else ``default_immersion``; None otherwise: the axial
    profile is then the default Gaussian (a profile from a guessed medium or wavelength would be badly wrong), and
    ``run(kernel="optics")`` asks for them. The modality and pinhole are the file's, as the command line takes them
    (:func:`metadata_acquisition`), with a confocal's excitation wavelength. Impossible values in the file (an NA not
    below its immersion's index) are a ValueError naming them."""
    named = OpticsMetadata.from_record(layer_optics_record(metadata))
    named = replace(named, refractive_index=named.refractive_index or default_immersion)
    if not named.names_optics(1):
        return None
    acquisition = metadata_acquisition(metadata)
    confocal = acquisition.modality == "confocal"
    excitation = named.excitation_wavelengths[0] if confocal and len(named.excitation_wavelengths) == 1 else None
    return Optics(named.na, named.emission_wavelengths[0], named.refractive_index, acquisition.modality, excitation,
                  acquisition.pinhole)


def metadata_acquisition(metadata: dict) -> Acquisition:
    """The modality and pinhole of a layer's file (of its one channel: the reader gives a channel's layer its own), and
    the notes on them (:func:`~napari_zssr.io.ome.channel_acquisition`)."""
    return channel_acquisition(OpticsMetadata.from_record(layer_optics_record(metadata)), None, 1)


def compute(request: RunRequest, progress: ProgressCallback | None = None,
            should_stop: StopHook | None = None) -> ZSSRResult:
    """The one library call behind the widget and the console's ``run()``: lateral or axial, as ``request`` says.

    Raises :class:`InputEditedError` where the layer's data was changed in place during the run (``layer.data[2] =
    ...`` in the console), which no napari event says, unlike a replaced array: the planes read before and after it
    would make one result of two inputs."""
    data = request.input_data
    before = _fingerprint(data)
    if request.axial_scale is not None:
        result = zssr_axial(data, request.axial_scale, config=request.config, progress=progress,
                            should_stop=should_stop, optics=request.axial_optics, pixel_size=request.pixel_size,
                            outputs=request.outputs)
    else:
        result = zssr_stack(data, request.scale, request.kernel, request.config, progress=progress,
                            should_stop=should_stop, warm_start_iterations=request.warm_start_iterations,
                            pixel_size=request.pixel_size, outputs=request.outputs)
    if before is not None and _fingerprint(data) != before:
        raise InputEditedError(f"the data of {request.snapshot.name!r} changed during the run (edited in place): its "
                               "result would mix the planes before and after the change, so none was added; run "
                               "again")
    return result


class InputEditedError(Cancelled):
    """A run's input was changed in place while it ran (:func:`compute`): a run stopped by a change of its input, as
    one whose layer was removed or given other data (``except napari_zssr.Cancelled`` takes each), but said, where a
    cancelled run of the widget only says that it was."""


def _fingerprint(data: Any) -> int | None:
    """A checksum of in-memory numpy data (a few tenths of a second a GB), None for other data: a file's (memory
    map, dask, zarr) is not edited through the layer."""
    if type(data) is not np.ndarray or data.dtype.kind not in "biufc":  # others: refused by the run itself
        return None
    return zlib.crc32(np.ascontiguousarray(data).view(np.uint8).reshape(-1))


class RunFailed(Exception):
    """A run's ``RuntimeError`` (training diverged, out of memory, a torch error), passed on under another type:
    superqt's workers take a ``RuntimeError`` for a deleted worker and drop it, with no error and no end, so the run
    would look busy for ever and hold every later one waiting (:mod:`.worker_turns`)."""


def background_run(request: RunRequest, stop: threading.Event, show_other_warning: ShowWarning
                   ) -> Generator[ProgressEvent | None, None, ZSSRResult | None]:
    """Generator for superqt's worker (the widget's and ``run()``'s, not napari's ``thread_worker``): runs
    :func:`compute` and yields its progress events.

    Yields ``None`` every 0.1 s without news so that the worker can be aborted; returns None when cancelled. Any
    ``RuntimeError`` comes out as :class:`RunFailed`. Only the run's own warnings become the worker's ``warned``
    signal (shown as the plugin's); those of the rest of the process (the user's console, another plugin) go to
    ``show_other_warning``, the display in place when the run was launched (:mod:`.worker_warnings`).
    """
    run_threads: set[threading.Thread] = set()
    keep_others_warnings(show_other_warning, run_threads)
    try:
        return (yield from _relayed_run(request, stop, run_threads))
    except RuntimeError as error:
        raise RunFailed(str(error)) from error


def _relayed_run(request: RunRequest, stop: threading.Event, run_threads: set[threading.Thread]
                 ) -> Generator[ProgressEvent | None, None, ZSSRResult | None]:
    """:func:`background_run`'s work. The run itself is a daemon thread (added to ``run_threads``): Python joins a
    pool's threads at exit before any ``atexit`` hook, so an exit during a run would wait for the whole run instead of
    stopping it (:mod:`.shutdown`)."""
    events: queue.Queue[ProgressEvent] = queue.Queue()
    future: Future[ZSSRResult] = Future()

    def work() -> None:
        try:
            future.set_result(compute(request, events.put, stop.is_set))
        except BaseException as error:  # noqa: B036 - handed to the waiting generator, which raises it there
            future.set_exception(error)

    thread = threading.Thread(target=work, name="zssr", daemon=True)
    run_threads.add(thread)
    thread.start()
    try:
        while not (future.done() and events.empty()):
            try:
                yield events.get(timeout=0.1)
            except queue.Empty:
                yield None
    except GeneratorExit:
        stop.set()  # the worker was aborted: the training loop raises Cancelled at its next iteration
        raise
    try:
        return future.result()
    except InputEditedError:
        raise  # said as a failure: the user cancelled nothing
    except Cancelled:
        return None


def show_run_warning(warning: tuple) -> None:
    """Show a warning a run's worker relayed (``warnings.showwarning``'s arguments) as a napari notification, named
    as the plugin's, every time: napari's own warning display shows each message once a session, so a second run of
    the same layer would not say again that its plane 3 is blank or that its PSF's pixel size went unused."""
    from napari.utils.notifications import Notification, notification_manager

    message, _, filename, lineno = warning[:4]
    try:  # "ZSSR: " as the plugin's refusals begin: a notification does not say which plugin it came from
        message = type(message)(f"ZSSR: {message}")
    except TypeError:  # a warning class whose constructor takes other arguments keeps its message as it is
        pass
    notification_manager.dispatch(Notification.from_warning(message, filename=filename, lineno=lineno))
