"""``zssr_axial``: zero-shot axial (isotropic) super-resolution of z-stacks, the library call behind every front."""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from .api import BlankPlaneWarning, ZSSRResult, check_plane_values, checked_config, intensity_range, validate_image
from .core.axial import MIN_PLANES, axial_factor, axial_kernel, interpolate_along_z, run_volume
from .core.config import ZSSRConfig, check_seed
from .core.device import release_device_memory, select_device
from .core.precision import resolve_precision
from .core.progress import ProgressCallback, RunProgress
from .core.trainer import StopHook


def validate_volume(volume: object, factor: int) -> np.ndarray:
    """Check a (..., Z, Y, X) array-like's type and shape (without loading a lazy stack); raise a clear error."""
    shape = np.shape(volume)
    if len(shape) < 3:
        raise ValueError(f"axial super-resolution needs a volume (Z, Y, X), got shape {shape}; for a 2D image use "
                         "zssr")
    array = validate_image(volume, (float(factor), 1.0), ndim=None)
    if shape[-3] < MIN_PLANES:
        raise ValueError(f"the volume has {shape[-3]} z planes (shape {shape}); axial super-resolution needs at "
                         f"least {MIN_PLANES}")
    return array


def zssr_axial(volume: np.ndarray, axial_scale: float, axial_psf: np.ndarray | None = None, *,
               lateral_psf: np.ndarray | None = None, config: ZSSRConfig | None = None, seed: int | None = None,
               device: str | torch.device | None = None, progress: ProgressCallback | None = None,
               should_stop: StopHook | None = None) -> ZSSRResult:
    """Super-resolve a (Z, Y, X) volume along z by ``axial_scale`` = z-step / lateral pixel size (an integer).

    Leading axes (T, C, ...) are processed volume by volume. The output has ``Z * axial_scale`` planes; input
    plane ``i`` sits at output plane ``i * s + (s - 1) / 2`` (outer edges coincide), y and x are unchanged.

    ``axial_psf``: the axial intensity profile sampled on the output z grid (step = lateral pixel size), 1D and
    centred, or a 3D PSF on isotropic voxels of the lateral pixel size (its profile through the peak is used, and
    its in-focus plane serves as ``lateral_psf`` when that is None); None = a Gaussian of FWHM ``axial_scale``
    output voxels. ``lateral_psf`` (1D, 2D or 3D, at the lateral pixel size): the training blur is then only the
    axial blur beyond the lateral one, as a Gaussian of FWHM ``sqrt(fwhm_axial^2 - fwhm_lateral^2)``.

    The network is trained on pairs from up to 8 lateral planes (degraded along y and along x) with ``config``'s
    settings (but for ``gradual_steps``, which are not used), then restores every XZ and YZ slice; the two are
    averaged (better than either alone, and than weighting by their ensemble spreads: benchmarks/axial.py).
    ``residual`` is ``sr`` minus cubic interpolation along z; ``ensemble_spread`` the std over every ensemble
    member of both slicings. ``ZSSRResult.scale`` is ``(axial_scale, 1)``: (z, lateral). A constant volume in a
    series is passed through as its interpolation with a :class:`BlankPlaneWarning`. Raises
    :class:`napari_zssr.Cancelled` when ``should_stop`` returns True.
    """
    config = checked_config(config)
    factor = axial_factor(axial_scale)
    array = validate_volume(volume, factor)
    kernel = axial_kernel(axial_psf, factor, lateral_psf)
    seed = config.seed if seed is None else check_seed(seed, "seed")
    torch_device = select_device(config.device if device is None else device)
    precision = str(resolve_precision(config.precision, torch_device)).removeprefix("torch.")
    leading, (depth, rows, cols) = array.shape[:-3], array.shape[-3:]
    out_shape = leading + (depth * factor, rows, cols)
    sr, median, residual, spread = (np.empty(out_shape, np.float32) for _ in range(4))
    result = ZSSRResult(sr, median, residual, spread, (float(factor), 1.0), config, seed, str(torch_device),
                        precision)
    count = int(np.prod(leading, dtype=np.int64))
    plan = RunProgress(progress, n_planes=count, max_iterations=config.max_iterations)
    result.timings.update(training_s=0.0, inference_s=0.0)
    run = None
    start = time.perf_counter()
    try:
        for number, index in enumerate(np.ndindex(*leading)):
            stack = np.asarray(array[index])
            label = f"volume {index}" if index else "the volume"
            check_plane_values(stack, label)
            if stack.min() == stack.max():
                _pass_through_constant(stack, index, label, result, count)
                plan.plane_finished(number, trained=False)
                continue
            low, high = intensity_range(stack)
            normalised = torch.as_tensor((stack.astype(np.float32) - low) / (high - low))
            plan.start_plane(number, config.max_iterations)
            run = run_volume(normalised, factor, kernel, config, seed=seed, device=torch_device, progress=plan,
                             should_stop=should_stop)
            sr[index] = run.output.sr.numpy() * (high - low) + low
            median[index] = run.output.ensemble_median.numpy() * (high - low) + low
            spread[index] = run.output.ensemble_spread.numpy() * (high - low)
            residual[index] = sr[index] - (interpolate_along_z(normalised, factor).numpy() * (high - low) + low)
            result.iterations.append(run.log.iterations)
            result.noise_stds.append(run.noise_std)
            result.transforms = run.transforms
            result.timings["training_s"] += run.log.seconds
            result.timings["inference_s"] += run.inference_seconds
            plan.plane_finished(number, trained=True)
    finally:
        run = None  # drop every reference to the network before returning its memory to the device
        release_device_memory(torch_device)
    result.timings["total_s"] = time.perf_counter() - start
    plan.finished()
    return result


def _pass_through_constant(stack: np.ndarray, index: tuple[int, ...], label: str, result: ZSSRResult,
                           count: int) -> None:
    if count == 1:
        raise ValueError(f"{label} is constant (every voxel {stack.flat[0]}); there is nothing to super-resolve")
    warnings.warn(f"{label} is constant; passed through as its interpolation", BlankPlaneWarning, stacklevel=3)
    result.sr[index] = result.ensemble_median[index] = np.float32(stack.flat[0])
    result.residual[index] = result.ensemble_spread[index] = 0
    result.blank_planes.append(index)
    result.iterations.append(0)
