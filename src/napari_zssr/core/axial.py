"""Axial (isotropic) super-resolution of a z-stack: the numerics.

The lateral (XY) planes show the sample at fine resolution. Blurring them along one lateral axis as the axial
direction is blurred, and keeping every ``s``-th row as the stack keeps every ``s``-th plane, gives training pairs
from the volume itself; the trained network then restores XZ and YZ slices, whose z axis plays the degraded axis.

Geometry (as for lateral runs): the outer edges coincide, so the output has ``Z * s`` planes and input plane ``i``
sits at output plane ``i * s + (s - 1) / 2``; y and x are unchanged. Profiles are sampled on the output z grid,
whose step is the lateral pixel size.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .config import ZSSRConfig
from .degradation import Degradation
from .engine import check_converged, reconstruction_pair, ringing
from .gaussian import FWHM_PER_SIGMA, gaussian_taps
from .geometry import ensemble_transforms, scale_symmetries, transform, untransform
from .inference import FLUX_SIGMA, FLUX_STEPS, apply_tiled_within_memory, back_project, ensemble_median, gaussian_blur
from .kernels import kernel_symmetries
from .network import ZSSRNet
from .noise import estimate_noise_floor, sons_noise_std
from .optics import profile_fwhm
from .pairs import FatherPool, PairSampler, min_father_side
from .precision import resolve_precision
from .progress import RunProgress
from .psf import in_focus_plane
from .resize import resize
from .spikes import noise_level, without_isolated_spikes
from .trainer import Cancelled, StopHook, TrainingLog, train
from .values import real_values

#: output voxels of the slices the flux restore degrades at once (a few tens of MB of convolution buffers)
FLUX_BLOCK_VOXELS = 2**20
#: fewest z planes a volume needs: the degraded side of a training pair keeps at least 4 rows.
MIN_PLANES = 4
#: how far z-step / pixel size may be from a whole number and still count as it (relative): files give pixel sizes
#: rounded (0.1083 um for 0.325 um / 3: 3.0009), and voxels 0.5 % from cubes change nothing a restoration can show
RATIO_TOLERANCE = 5e-3
#: how far the y and x pixel sizes may differ and still count as square (relative)
SQUARE_TOLERANCE = 0.01
#: lateral planes used as HR fathers (evenly spaced through the non-constant planes).
MAX_TRAINING_PLANES = 8


def axial_factor(axial_scale: float, name: str = "axial_scale") -> int:
    """``axial_scale`` as an integer > 1, or a clear error (a plane is a sample every ``s``-th output voxel) that
    calls it ``name`` (a front names it as its user gave it)."""
    try:
        if isinstance(axial_scale, (str, bytes, bool, np.bool_)):
            raise TypeError
        value = float(axial_scale)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a number (z-step / lateral pixel size), got {axial_scale!r}") from error
    must = f"{name} (z-step / lateral pixel size) must be a whole number from 2, got {value:.6g}"
    if not math.isfinite(value) or value <= 0:
        raise ValueError(must)
    nothing_to_restore = unrestorable_ratio(value)
    if nothing_to_restore:
        raise ValueError(f"{must}: {nothing_to_restore}")
    if abs(value - round(value)) > RATIO_TOLERANCE * value:
        raise ValueError(f"{name} must be an integer (2, 3, 4, ...) within {RATIO_TOLERANCE:.1%}, got {value:.6g}: "
                         "the output puts the input planes on every s-th voxel; resample the stack laterally so that "
                         "z-step / pixel size is a whole number")
    return int(round(value))


def unrestorable_ratio(value: float) -> str | None:
    """Why a positive z-step / pixel ratio has no z resolution to restore (finer than the pixels, or equal to them
    within :data:`RATIO_TOLERANCE`: 1.004 would be a factor of 1), or None."""
    near_one = abs(value - 1) <= RATIO_TOLERANCE * value  # as near as a whole factor must be to count as it
    if value < 1 and not near_one:
        return ("the z-step is finer than the pixels, so the stack is oversampled in z and has no z resolution to "
                "restore")
    if near_one:
        return f"the z-step is the pixel size (within {RATIO_TOLERANCE:.1%}), so the stack is already isotropic"
    return None


def square_pixel_size(pixel: tuple[float, float], unit: str = "um") -> float:
    """The lateral pixel size of (y, x) ``pixel`` sizes (in ``unit``) that agree within :data:`SQUARE_TOLERANCE`,
    else a ValueError: restored along z to one lateral size, the voxels of rectangular pixels could not be cubes."""
    if abs(pixel[0] - pixel[1]) > SQUARE_TOLERANCE * max(pixel):
        raise ValueError(f"the pixels are not square ({pixel[0]:g} x {pixel[1]:g} {unit}): axial mode needs square "
                         "pixels; resample the stack to square pixels first (e.g. Fiji's Image > Scale)")
    return (pixel[0] + pixel[1]) / 2


def gaussian_profile(fwhm: float) -> np.ndarray:
    """A centred Gaussian of full width at half maximum ``fwhm`` (voxels), point-sampled, sum 1, odd length."""
    sigma = fwhm / FWHM_PER_SIGMA
    return gaussian_taps(sigma, max(1, math.ceil(3 * sigma)))


def _real_array(values: object, name: str) -> np.ndarray:
    array = real_values(values, name, f"{name}.filled(0)")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def _above_background(psf: np.ndarray) -> np.ndarray:
    """A 2D or 3D PSF minus its camera offset (the median of its border voxels), clipped at 0."""
    border = np.concatenate([np.moveaxis(psf, axis, 0)[[0, -1]].ravel() for axis in range(psf.ndim)])
    return np.clip(psf - np.median(border), 0, None)


def _normalised(profile: np.ndarray, name: str) -> np.ndarray:
    if np.any(profile < 0):
        raise ValueError(f"{name} has negative values; an intensity profile is non-negative (subtract the "
                         "background and clip)")
    if profile.sum() <= 0:
        raise ValueError(f"{name} has no positive values")
    return profile / profile.sum()


def axial_profile(axial_psf: np.ndarray | None, factor: int) -> np.ndarray:
    """The axial intensity profile on the output z grid: given (1D), through the peak of a 3D PSF, or the default.

    The default, for an unknown PSF, is a Gaussian of FWHM ``factor`` output voxels: the z-step, the blur of a
    stack whose z sampling roughly matches its axial resolution.
    """
    if axial_psf is None:
        return gaussian_profile(float(factor))
    psf = _real_array(axial_psf, "axial_psf")
    if psf.ndim == 1:
        return _normalised(psf, "axial_psf")
    if psf.ndim == 3:
        signal = _above_background(psf)
        _, row, col = np.unravel_index(np.argmax(signal), signal.shape)
        return _normalised(signal[:, row, col], "the axial profile of axial_psf above its background (a flat PSF?)")
    raise ValueError(f"axial_psf must be a 1D axial profile or a 3D PSF (Z, Y, X), got shape {psf.shape}")


def lateral_fwhm(lateral_psf: np.ndarray) -> float:
    """FWHM (lateral pixels) of a lateral PSF: a 1D profile, a 2D plane or a 3D z-stack (its in-focus plane).

    For a plane, the mean of the widths through the peak along y and along x.
    """
    psf = _real_array(lateral_psf, "lateral_psf")
    if psf.ndim == 1:
        return profile_fwhm(_normalised(psf, "lateral_psf"))
    if psf.ndim not in (2, 3):
        raise ValueError(f"lateral_psf must be a 1D profile, a 2D PSF or a 3D PSF, got shape {psf.shape}")
    plane, _ = in_focus_plane(psf)  # background-subtracted
    if plane.max() <= 0:
        raise ValueError("lateral_psf has no peak above its background")
    row, col = np.unravel_index(np.argmax(plane), plane.shape)
    return (profile_fwhm(plane[:, col]) + profile_fwhm(plane[row, :])) / 2


def axial_kernel(axial_psf: np.ndarray | None, factor: int, lateral_psf: np.ndarray | None = None) -> np.ndarray:
    """The HR -> LR kernel, shape (K, 1), that turns a lateral plane's rows into what the stack's z axis shows.

    The lateral planes are already blurred by the lateral PSF, so with a known lateral PSF only the axial blur
    beyond it is added: in the Gaussian approximation, a Gaussian of FWHM ``sqrt(fwhm_axial^2 - fwhm_lateral^2)``
    (the exact shape of the axial profile is then not used). A 3D ``axial_psf`` also gives the lateral PSF (its
    in-focus plane) when ``lateral_psf`` is None. Without a lateral PSF the whole axial profile is the kernel.
    """
    profile = axial_profile(axial_psf, factor)
    given_lateral = lateral_psf is not None
    if lateral_psf is None and axial_psf is not None and np.ndim(axial_psf) == 3:
        lateral_psf = axial_psf
    if lateral_psf is None:
        return profile[:, None]
    axial_width, lateral_width = profile_fwhm(profile), lateral_fwhm(lateral_psf)
    if axial_width <= lateral_width:
        raise ValueError(f"the axial profile (FWHM {axial_width:.2f} voxels) is not wider than the lateral PSF "
                         f"(FWHM {lateral_width:.2f} pixels): both must be sampled at the lateral pixel size; give "
                         "the measured axial profile" + (" or leave lateral_psf out" if given_lateral else ""))
    return gaussian_profile(math.sqrt(axial_width**2 - lateral_width**2))[:, None]


def training_plane_indices(volume: torch.Tensor) -> list[int]:
    """Up to :data:`MAX_TRAINING_PLANES` evenly spaced non-constant z planes of ``volume`` (Z, Y, X); empty if all
    are constant."""
    varying = torch.nonzero(volume.amax(dim=(1, 2)) > volume.amin(dim=(1, 2))).flatten().tolist()  # views need no copy
    if len(varying) <= MAX_TRAINING_PLANES:
        return varying
    return [varying[int(round(i))] for i in np.linspace(0, len(varying) - 1, MAX_TRAINING_PLANES)]


class EitherAxisSampler:
    """Pairs degraded along y (from the planes as they are) or along x (from the planes turned by 90 degrees).

    Each of the two samplers keeps rows as rows (the transforms that keep the (factor, 1) scale), so its crops stay
    a multiple of the factor along the degraded axis.
    """

    def __init__(self, samplers: list[PairSampler], seed: int) -> None:
        self.samplers = samplers
        self.rng = np.random.default_rng(seed)

    def sample(self, crop_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.samplers[int(self.rng.integers(len(self.samplers)))].sample(crop_size)


def father_pool(planes: list[torch.Tensor], config: ZSSRConfig, min_side: int) -> FatherPool:
    """Every plane and its downscaled copies in one pool (equal planes are drawn equally often)."""
    pool = FatherPool(planes[0], config.father_min_scale, config.father_levels, min_side)
    for plane in planes[1:]:
        for father in FatherPool(plane, config.father_min_scale, config.father_levels, min_side).fathers:
            pool.add(father)
    return pool


def axial_sampler(planes: list[torch.Tensor], degradation: Degradation, config: ZSSRConfig, noise_std: float,
                  seed: int, device: torch.device) -> EitherAxisSampler:
    """Training pairs from lateral ``planes`` (1, 1, Y, X each) degraded along y or along x, at random."""
    min_side = min_father_side(degradation.scale)
    turned = [torch.rot90(plane, 1, dims=(-2, -1)) for plane in planes]
    augmentations = scale_symmetries(degradation.scale)
    samplers = [PairSampler(father_pool(group, config, min_side), degradation, augmentations, noise_std,
                            seed + offset, device) for offset, group in enumerate((planes, turned))]
    return EitherAxisSampler(samplers, seed)


def interpolate_along_z(volume: torch.Tensor, factor: int) -> torch.Tensor:
    """Cubic interpolation of a (Z, Y, X) volume to (Z * factor, Y, X), outer edges coinciding."""
    z, y, x = volume.shape
    return resize(volume.reshape(1, 1, z, y * x), (z * factor, y * x)).reshape(z * factor, y, x)


@dataclass
class AxialOutput:
    """Normalised (Z * s, Y, X) results on the CPU: the XZ and YZ restorations fused by their mean."""

    sr: torch.Tensor
    ensemble_median: torch.Tensor
    ensemble_spread: torch.Tensor  # std across every ensemble member of both slicings


@dataclass
class AxialRun:
    output: AxialOutput
    log: TrainingLog
    transforms: list[int]  # ensemble transforms of each slice (rows = z, columns = the lateral axis)
    noise_std: float
    inference_seconds: float
    net: ZSSRNet
    degradation: Degradation
    dtype: torch.dtype
    noise_floor: float  # back-projection starts from this floor: 1.1 x the input's noise (0: every step)
    spikes: int = 0  # isolated pixels interpolated along z, not learned from (core.spikes)
    ringing: float = 0.0  # how far the output reaches beyond the input's range on both sides (core.engine.ringing)


@dataclass
class SliceSums:
    """Running sums of restored slices, (Z * s, Y, X) on the CPU: one set serves both slicings (half the memory)."""

    sr: torch.Tensor
    median: torch.Tensor
    # members as deviations from the cubic interpolation along z (the same in both slicings): this shift keeps the
    # float32 sums of squares accurate for the small spreads of a good ensemble
    members: torch.Tensor  # sum of the deviations
    squares: torch.Tensor  # sum of their squares

    @classmethod
    def zeros(cls, shape: tuple[int, int, int]) -> SliceSums:
        return cls(*(torch.zeros(shape, dtype=torch.float32) for _ in range(4)))

    @staticmethod
    def memory(shape: tuple[int, int, int]) -> int:
        """The bytes a volume's restoration holds beside the run's outputs at its peak, for a (Z * s, Y, X) output:
        the four sums and the two temporaries of :meth:`variance` as the volume is finished (float32 volumes)."""
        return 6 * 4 * math.prod(shape)

    def swapped(self) -> SliceSums:
        """Views with y and x swapped: the sums of the YZ slices, which run along x, add into them."""
        return SliceSums(*(t.transpose(1, 2) for t in (self.sr, self.median, self.members, self.squares)))

    def variance(self, count: int) -> torch.Tensor:
        """Unbiased variance over ``count`` summed members."""
        return ((self.squares - self.members**2 / count) / max(count - 1, 1)).clamp(min=0)


@torch.no_grad()
def restore_slices(net: ZSSRNet, volume: torch.Tensor, degradation: Degradation, transforms: list[int],
                   config: ZSSRConfig, dtype: torch.dtype, device: torch.device, sums: SliceSums,
                   should_stop: StopHook | None = None, noise_floor: float = 0.0) -> None:
    """Restore every XZ slice of ``volume`` (Z, Y, X, CPU) and add the results into ``sums``.

    For the YZ slices pass ``volume.transpose(1, 2)`` and ``sums.swapped()``. Many slices go through the net at
    once (up to ``tile_size**2`` output pixels per batch); a slice bigger than that is tiled. Each slice gets the
    lateral run's treatment: ensemble over ``transforms``, back-projection (down to ``noise_floor``), median.
    """
    net = net.for_inference()
    depth, rows, width = volume.shape
    out_depth = degradation.hr_shape((depth, width))[0]
    batch = max(1, config.tile_size**2 // (out_depth * width))
    for start in range(0, rows, batch):
        if should_stop is not None and should_stop():
            raise Cancelled
        lr = volume[:, start : start + batch, :].permute(1, 0, 2)[:, None].to(device)  # (B, 1, Z, X)
        members = []
        for index in transforms:
            upscaled = degradation.upscale(transform(lr, index), (out_depth, width))
            output = untransform(apply_tiled_within_memory(net, upscaled, config.tile_size, dtype), index)
            members.append(back_project(output, lr, degradation, config.back_projection_iterations, noise_floor))
        stacked = torch.stack(members)
        median = ensemble_median(stacked)
        sr = back_project(median, lr, degradation, config.back_projection_iterations, noise_floor)
        deviations = stacked - degradation.upscale(lr, (out_depth, width))
        for total, value in ((sums.sr, sr), (sums.median, median), (sums.members, deviations.sum(0)),
                             (sums.squares, (deviations**2).sum(0))):
            total[:, start : start + batch, :] += value[:, 0].permute(1, 0, 2).cpu()


def restore_volume(net: ZSSRNet, volume: torch.Tensor, degradation: Degradation, transforms: list[int],
                   config: ZSSRConfig, dtype: torch.dtype, device: torch.device, should_stop: StopHook | None = None,
                   noise_floor: float = 0.0) -> AxialOutput:
    """Restore the XZ and the YZ slices and fuse them by their mean (benchmarks/axial.py --fusion compares)."""
    depth, rows, cols = volume.shape
    sums = SliceSums.zeros((degradation.hr_shape((depth, cols))[0], rows, cols))
    restore_slices(net, volume, degradation, transforms, config, dtype, device, sums, should_stop, noise_floor)
    restore_slices(net, volume.transpose(1, 2), degradation, transforms, config, dtype, device, sums.swapped(),
                   should_stop, noise_floor)
    spread = sums.variance(2 * len(transforms)).sqrt_()
    return AxialOutput(sums.sr.div_(2), sums.median.div_(2), spread)


@torch.no_grad()
def restore_volume_flux(sr: torch.Tensor, volume: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    """:func:`core.inference.restore_flux` for the fused (Z * s, Y, X) output of ``volume`` (Z, Y, X), both on the
    CPU: the residual's low frequencies, blurred in 3D (``FLUX_SIGMA`` input voxels along each axis), go back in.

    Once on the fused volume, not slice by slice: within each slice the blur would reach along one lateral axis
    only, differently in the XZ and the YZ slices, which cost 0.2-0.5 dB (docs/benchmarks.md, "Intensity kept
    under shot noise"). The slices go through the degradation a block of rows at a time, so that its convolution
    buffers stay small beside the volume. ``sr`` is updated in place.
    """
    on_cpu = Degradation(degradation.scale, None if degradation.kernel is None else degradation.kernel.cpu())
    depth, rows, width = volume.shape
    block = max(1, FLUX_BLOCK_VOXELS // (sr.shape[0] * width))
    for _ in range(FLUX_STEPS):
        residual = torch.empty_like(volume)
        for start in range(0, rows, block):
            kept = slice(start, start + block)
            down = on_cpu.downscale(sr[:, kept].permute(1, 0, 2)[:, None], (depth, width))[:, 0].permute(1, 0, 2)
            residual[:, kept] = volume[:, kept] - down
        blurred = gaussian_blur(residual[None, None], FLUX_SIGMA)[0, 0]
        for start in range(0, rows, block):
            kept = slice(start, start + block)
            up = on_cpu.upscale(blurred[:, kept].permute(1, 0, 2)[:, None], (sr.shape[0], width))
            sr[:, kept] += up[:, 0].permute(1, 0, 2)
    return sr


def slice_noise_floor(volume: torch.Tensor, degradation: Degradation) -> float:
    """The floor back-projection of the slices starts from (each slice may lower its own as it goes): the median
    floor of up to :data:`MAX_TRAINING_PLANES` evenly spaced non-constant XZ slices of ``volume`` (Z, Y, X), the
    images back-projection compares with their outputs (their z axis is blurred by the axial kernel, so the
    frequencies beyond it can be read). Constant slices (padding) would read 0 and pull the median down to where
    back-projection puts the noise back."""
    rows = training_plane_indices(volume.transpose(0, 1))
    if not rows:
        return 0.0
    return float(np.median([estimate_noise_floor(volume[:, row, :][None, None], degradation) for row in rows]))


def without_axial_spikes(volume: torch.Tensor, degradation: Degradation) -> tuple[torch.Tensor, int]:
    """``volume`` (Z, Y, X) with the isolated spikes of its XZ slices replaced, and how many there were
    (``core.spikes.without_isolated_spikes`` under the axial ``degradation``, which spreads a point over several
    planes: a hot voxel is alone in its plane), against the noise of the middle plane. The slices go a block of rows
    at a time, so the working memory stays a block's; a copy of the volume only where a slice has one."""
    depth, rows, width = volume.shape
    block = max(1, FLUX_BLOCK_VOXELS // (depth * width))
    noise = noise_level(volume[depth // 2][None, None])
    cleaned, spikes = volume, 0
    for start in range(0, rows, block):
        slices = volume[:, start : start + block, :].permute(1, 0, 2)[:, None]
        without, count = without_isolated_spikes(slices, degradation, noise)
        if count:
            cleaned = volume.clone() if cleaned is volume else cleaned
            cleaned[:, start : start + block, :] = without[:, 0].permute(1, 0, 2)
            spikes += count
    return cleaned, spikes


def run_volume(volume: torch.Tensor, factor: int, kernel: np.ndarray, config: ZSSRConfig, *, seed: int,
               device: torch.device, progress: RunProgress | None = None,
               should_stop: StopHook | None = None) -> AxialRun:
    """Train on lateral planes of ``volume`` (Z, Y, X, normalised, CPU) and restore it along z.

    Training uses ``config`` as a lateral run does (iterations, crop, noise, network, schedule); its gradual steps
    are not used (the axial factor is learned in one step). As a lateral run, it learns from and restores the volume
    without the isolated spikes of its XZ slices (:func:`without_axial_spikes`), which its outputs get back
    interpolated along z.
    """
    as_given = volume
    volume, spikes = without_axial_spikes(volume, Degradation.create((float(factor), 1.0), kernel, volume.device))
    planes_at = training_plane_indices(volume)
    if not planes_at:
        raise ValueError("every z plane of the volume is constant; there is nothing to learn from")
    planes = [volume[i][None, None].to(device) for i in planes_at]
    noise_std = sons_noise_std(config.noise_std, planes)
    degradation = Degradation.create((float(factor), 1.0), kernel, device)
    noise_floor = slice_noise_floor(volume, degradation) if config.back_projects_to_noise else 0.0
    sampler = axial_sampler(planes, degradation, config, noise_std, seed, device)
    recon = reconstruction_pair(planes[len(planes) // 2], degradation, config.recon_crop)
    net = ZSSRNet.create(config, seed, device, kernel=kernel, scale=(float(factor), 1.0),
                         noise_std=noise_std)
    dtype = resolve_precision(config.precision, device)
    log = train(net, sampler, recon, config, progress=progress, should_stop=should_stop,  # type: ignore[arg-type]
                dtype=dtype)
    if progress is not None:
        progress.step_finished(log.iterations, config.max_iterations)
    transforms = ensemble_transforms(kernel_symmetries(kernel, (float(factor), 1.0)), config.ensemble)
    began = time.perf_counter()
    output = restore_volume(net, volume, degradation, transforms, config, dtype, device, should_stop, noise_floor)
    if noise_floor > 0 and config.back_projection_iterations > 0:
        output.sr = restore_volume_flux(output.sr, volume, degradation)
    check_converged(output.sr, volume, config, noise_std)
    rings = ringing(volume, output.sr)  # of the volume the run restored: a hot voxel would set the range
    if spikes:  # the columns along z that hold one, interpolated: a few voxels, not a volume, more in memory
        rows, cols = torch.nonzero((as_given != volume).any(dim=0), as_tuple=True)
        interpolated = interpolate_along_z((as_given - volume)[:, None, rows, cols], factor)[:, 0]
        output.sr[:, rows, cols] += interpolated
        output.ensemble_median[:, rows, cols] += interpolated
    return AxialRun(output, log, transforms, noise_std, time.perf_counter() - began, net, degradation,
                   dtype, noise_floor, spikes, rings)
