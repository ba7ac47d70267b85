"""``zssr_axial``: zero-shot axial (isotropic) super-resolution of z-stacks, the library call behind every front."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import replace
from functools import partial

import numpy as np
import torch
from numpy.typing import ArrayLike

from .api import (
    ZSSRResult,
    checked_config,
    checked_outputs,
    new_result,
    pass_through_constant,
    store_outputs,
    warn_other_blanks,
    warn_plane_notes,
    warn_user,
)
from .core.axial import (
    MIN_PLANES,
    SliceSums,
    axial_factor,
    axial_kernel,
    axial_profile,
    interpolate_along_z,
    run_volume,
    square_pixel_size,
)
from .core.config import ZSSRConfig
from .core.device import release_device_memory
from .core.engine import check_crop_sizes
from .core.optics import Optics, axial_profile_from_optics, check_pixel_size_for_optics, profile_fwhm, psf_from_optics
from .core.pairs import min_father_side
from .core.progress import ProgressCallback, RunProgress
from .core.resize import PixelSize, pixel_pair
from .core.torch_modes import in_own_torch_modes
from .core.trainer import Cancelled, StopHook, check_hooks
from .input_values import intensity_range, normalised, plane_name, read_checked, validate_image
from .kernel_choice import describe_optics

#: the resolution report of an axial run: said, so that an empty report is not read as a failed measurement
AXIAL_RESOLUTION_NOTE = ("resolution not measured: the single-image estimate reads lateral planes, which an axial run "
                         "leaves as they are, and it has no reading along z")


def validate_volume(volume: object, factor: int) -> np.ndarray:
    """Check a (..., Z, Y, X) array-like's type and shape (without loading a lazy stack); raise a clear error."""
    check_volume_shape(np.shape(volume), factor)
    return validate_image(volume, (float(factor), 1.0), ndim=None)


def check_volume_shape(shape: tuple[int, ...], factor: int) -> None:
    """The checks of :func:`validate_volume` that need the shape alone: the widget's estimate of a run's time makes
    them as the settings change, so that it says why Run would refuse instead of a time."""
    if len(shape) < 3:
        raise ValueError(f"axial super-resolution needs a volume (Z, Y, X), got shape {shape}; for a 2D image use "
                         "zssr")
    needed = min_father_side((float(factor), 1.0))
    if 0 < min(shape[-2:]) < needed:  # an empty shape: validate_image names it
        raise ValueError(f"the volume's lateral planes ({shape[-2]} x {shape[-1]} pixels) are too small for an axial "
                         f"factor of {factor}, which learns from planes of at least {needed} x {needed} (blurred by "
                         "the factor along y and x): check the factor (z-step / pixel size, both in um)")
    if 0 < shape[-3] < MIN_PLANES:
        raise ValueError(f"the volume has {shape[-3]} z plane{'s' if shape[-3] != 1 else ''} (shape {shape}); axial "
                         f"super-resolution needs at least {MIN_PLANES}")


def axial_blur(factor: int, axial_psf: np.ndarray | None = None, lateral_psf: np.ndarray | None = None,
               optics: Optics | dict | None = None, pixel_size: PixelSize | None = None) -> tuple[np.ndarray, dict]:
    """The training kernel (see :func:`axial_kernel`) and the record of the axial profile it came from.

    With ``optics`` (and the lateral ``pixel_size``, um) the axial profile and, unless given, the lateral PSF are
    the optics' theoretical ones, sampled at the pixel size. The record names the source and the profile's FWHM in
    output voxels and, with a pixel size, in um: what a user checks against a measured bead.
    """
    if pixel_size is not None:
        pair = pixel_pair(pixel_size)  # positive, finite and a microscope's sampling, or a ValueError naming it
        assert pair is not None
        pixel_size = square_pixel_size(pair)  # the same tolerance as the widget and the command line
    if optics is not None:
        optics = Optics.of(optics)
        if axial_psf is not None:
            raise ValueError("give either axial_psf or optics, not both")
        if pixel_size is None:
            raise ValueError("an axial profile from the optics needs the lateral pixel size: give pixel_size in um")
        check_pixel_size_for_optics(optics.na, optics.wavelength, pixel_size)
        axial_psf = axial_profile_from_optics(optics, pixel_size)
        lateral_psf = psf_from_optics(optics, pixel_size) if lateral_psf is None else lateral_psf
    kernel = axial_kernel(axial_psf, factor, lateral_psf)
    width = profile_fwhm(axial_profile(axial_psf, factor))
    record = {"source": "optics" if optics is not None else "default" if axial_psf is None else "axial_psf",
              "axial_fwhm_voxels": round(float(width), 3),  # plain floats, as every other kernel record holds
              "axial_fwhm_um": None if pixel_size is None else round(float(width * pixel_size), 4),
              # a 3D axial_psf's in-focus plane serves as the lateral PSF where none is given (axial_kernel)
              "lateral_psf": lateral_psf is not None or np.ndim(axial_psf) == 3,
              "kernel_fwhm_voxels": round(float(profile_fwhm(kernel[:, 0])), 3)}
    return kernel, {**record, **({} if optics is None else optics.to_dict())}


def describe_axial_profile(record: dict) -> str:
    """A short line for a log, from a result's axial profile record (:func:`axial_blur`)."""
    width = (f"FWHM {record['axial_fwhm_um']:.3g} µm" if record.get("axial_fwhm_um") is not None
             else f"FWHM {record['axial_fwhm_voxels']:.3g} voxels")
    if record.get("source") == "optics":
        return f"axial profile from the optics ({describe_optics(record)}; {width})"
    if record.get("source") == "default":
        return f"axial profile a Gaussian of the z-step ({width}; no optics used)"
    return f"axial profile given ({width})"


@in_own_torch_modes
def zssr_axial(volume: ArrayLike, axial_scale: float, axial_psf: np.ndarray | None = None, *,
               lateral_psf: np.ndarray | None = None, config: ZSSRConfig | None = None, seed: int | None = None,
               device: str | torch.device | None = None, progress: ProgressCallback | None = None,
               should_stop: StopHook | None = None, optics: Optics | dict | None = None,
               pixel_size: PixelSize | None = None, outputs: str | Collection[str] | None = None,
               one_of_channels: bool = False) -> ZSSRResult:
    """Super-resolve a (Z, Y, X) volume along z by ``axial_scale`` = z-step / lateral pixel size (an integer).

    Leading axes (T, C, ...) are processed volume by volume. The output has ``Z * axial_scale`` planes; input
    plane ``i`` sits at output plane ``i * s + (s - 1) / 2`` (outer edges coincide), y and x are unchanged.

    ``axial_psf``: the axial intensity profile sampled on the output z grid (step = lateral pixel size), 1D and
    centred, or a 3D PSF on isotropic voxels of the lateral pixel size (its profile through the peak is used, and
    its in-focus plane serves as ``lateral_psf`` when that is None); None = from ``optics`` (theoretical, see
    :func:`napari_zssr.core.optics.axial_profile_from_optics`) when they and the lateral ``pixel_size`` (um) are
    given, the lateral PSF then from the optics too; else a Gaussian of FWHM ``axial_scale`` output voxels.
    ``result.kernel`` records the profile's source and FWHM. ``lateral_psf`` (1D, 2D or 3D, at the lateral pixel
    size): the training blur is then only the axial blur beyond the lateral one, as a Gaussian of FWHM
    ``sqrt(fwhm_axial^2 - fwhm_lateral^2)``.

    The network is trained on pairs from up to 8 lateral planes (degraded along y and along x) with ``config``'s
    settings (``gradual_steps`` are refused: the factor is learned in one step), then restores every XZ and YZ
    slice; the two are averaged (better than either alone, and than weighting by their ensemble spreads:
    benchmarks/axial.py). ``residual`` is ``sr`` minus cubic interpolation along z; ``ensemble_spread`` the std over
    every ensemble member of both slicings; ``outputs`` as :func:`napari_zssr.zssr`. ``ZSSRResult.scale`` is
    ``(axial_scale, 1)``: (z, lateral). A constant volume in a series, or one constant plane by plane (nothing to
    learn from), is passed through as its interpolation with a :class:`BlankPlaneWarning`; either alone is an
    error, unless ``one_of_channels`` (a channel of a volume whose other channels hold the structure, e.g. an
    unstained one) passes it through too. Raises
    :class:`napari_zssr.Cancelled` when ``should_stop`` returns True.
    """
    config = checked_config(config)
    if config.gradual_steps:
        raise ValueError("axial runs learn their factor in one step: leave gradual_steps out of the config")
    # a background is taken off lateral planes only: the result records that none was here
    config = replace(config, background_window=0)
    kinds = checked_outputs(outputs)
    check_hooks(progress, should_stop)
    factor = axial_factor(axial_scale)
    array = validate_volume(volume, factor)  # planes too small for the factor, named before the crops
    check_crop_sizes(config, (factor, 1))
    kernel, profile_record = axial_blur(factor, axial_psf, lateral_psf, optics, pixel_size)
    output_depth = array.shape[-3] * factor
    if profile_record["axial_fwhm_voxels"] > output_depth:
        raise ValueError(f"the axial profile is {profile_record['axial_fwhm_voxels']:g} output voxels wide (FWHM), "
                         f"more than the whole stack ({array.shape[-3]} planes = {output_depth} output voxels): the "
                         "stack holds no axial structure to restore under that blur; check the optics (NA, "
                         "immersion), the z-step and the pixel size")
    leading, (depth, rows, cols) = array.shape[:-3], array.shape[-3:]
    out_shape = leading + (depth * factor, rows, cols)
    result, torch_device = new_result(out_shape, array.dtype, kinds, (float(factor), 1.0), config, seed, device,
                                      profile_record, SliceSums.memory(out_shape[-3:]))
    count = int(np.prod(leading, dtype=np.int64))
    plan = RunProgress(progress, n_planes=count, max_iterations=config.max_iterations, unit="volume")
    result.timings.update(training_s=0.0, inference_s=0.0)
    run = None
    start = time.perf_counter()
    try:
        for number, index in enumerate(np.ndindex(*leading)):
            if should_stop is not None and should_stop():  # constant volumes are read without training
                raise Cancelled
            label = plane_name(index, "volume", "the volume")
            stack = read_checked(array[index], label)
            constant = _constant_planes(stack)
            # one value a plane (a dark time point with one bright frame) holds no lateral structure to learn from
            if len(constant) == depth:
                alone = count == 1 and not one_of_channels
                whole = bool(np.all(stack[:, 0, 0] == stack[0, 0, 0]))  # every plane the same value
                if alone and not whole:
                    raise ValueError(f"every z plane of {label} is constant (one value a plane); there is nothing to "
                                     "learn from")
                pass_through_constant(stack, index, label if whole else f"every z plane of {label}", result,
                                      alone=alone, element="voxel",
                                      interpolated=None if whole else _planes_along_z(stack, factor))
                plan.plane_finished(number, trained=False)
                continue
            _note_constant_planes(constant, label, result)
            low, high = intensity_range(stack)
            normalised_stack = torch.as_tensor(normalised(stack, low, high))
            plan.start_plane(number, config.max_iterations)
            run = None  # the previous volume's run (its net on the device, its outputs) is not held while this one runs
            run = run_volume(normalised_stack, factor, kernel, config, seed=result.seed, device=torch_device,
                             progress=plan, should_stop=should_stop)
            store_outputs(result, index, run.output, low, high, partial(interpolate_along_z, normalised_stack, factor))
            result.iterations.append(run.log.iterations)
            result.noise_stds.append(run.noise_std)
            result.isolated_pixels.append(run.spikes)
            result.ringing.append(run.ringing)
            result.background_taken_off.append(False)  # axial runs take none off
            result.transforms = run.transforms
            result.timings["training_s"] += run.log.seconds
            result.timings["inference_s"] += run.inference_seconds
            plan.plane_finished(number, trained=True)
    finally:
        run = None  # drop every reference to the network before returning its memory to the device
        release_device_memory(torch_device)
    warn_other_blanks(result, "volume")
    warn_plane_notes(result, "volume")
    result.timings["total_s"] = time.perf_counter() - start
    result.resolution = {"note": AXIAL_RESOLUTION_NOTE}
    plan.finished()
    return result


class ConstantPlanesWarning(UserWarning):
    """Planes of a volume are constant (dropped frames, a closed shutter, padding): restored along z, the volume
    rings beside them."""


def _constant_planes(stack: np.ndarray) -> list[int]:
    """The z indices of the constant planes of a (Z, Y, X) volume."""
    planes = stack.reshape(stack.shape[0], -1)
    return np.flatnonzero(planes.min(axis=1) == planes.max(axis=1)).tolist()


def _planes_along_z(stack: np.ndarray, factor: int) -> np.ndarray:
    """The values of a volume of constant planes interpolated along z as the run's outputs lie, shape
    (Z * factor, 1, 1): its pass-through, broadcast over y and x."""
    values = torch.as_tensor(np.asarray(stack[:, :1, :1], dtype=np.float64))
    return interpolate_along_z(values, factor).numpy()


def _note_constant_planes(constant: list[int], label: str, result: ZSSRResult) -> None:
    """Name the ``constant`` planes of a volume in the result's notes, and warn of them."""
    if constant:
        planes = f"plane z = {constant[0]}" if len(constant) == 1 else f"planes z = {', '.join(map(str, constant))}"
        note = (f"{label}: {planes} constant (dropped frames, a closed shutter, padding?); the axial restoration rings "
                "beside them: remove them or fill them in (e.g. from their neighbours) first")
        result.notes.append(note)
        warn_user(note, ConstantPlanesWarning)
