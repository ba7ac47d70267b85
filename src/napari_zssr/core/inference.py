"""Inference: geometric self-ensemble, back-projection, median, tiled so memory stays bounded on big planes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy import ndimage

from .degradation import Degradation
from .geometry import transform, untransform
from .network import ZSSRNet
from .noise import lowered_noise_floor, refined_noise_floor
from .precision import autocast
from .trainer import Cancelled, StopHook


@torch.no_grad()
def apply_tiled(net: ZSSRNet, x: torch.Tensor, tile_size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``net(x)`` computed in tiles of at most ``tile_size`` with a halo of the receptive radius (exact)."""

    def apply(piece: torch.Tensor) -> torch.Tensor:
        with autocast(dtype, x.device):
            return net(piece.contiguous(memory_format=torch.channels_last)).float()

    height, width = x.shape[-2:]
    if height <= tile_size and width <= tile_size:
        return apply(x).contiguous()
    halo = net.receptive_radius
    out = torch.empty_like(x)
    for top in range(0, height, tile_size):
        for left in range(0, width, tile_size):
            bottom, right = min(top + tile_size, height), min(left + tile_size, width)
            y0, x0 = max(top - halo, 0), max(left - halo, 0)
            y1, x1 = min(bottom + halo, height), min(right + halo, width)
            piece = apply(x[..., y0:y1, x0:x1])
            out[..., top:bottom, left:right] = piece[..., top - y0 : bottom - y0, left - x0 : right - x0]
    return out


def back_project(sr: torch.Tensor, lr: torch.Tensor, degradation: Degradation, iterations: int,
                 noise_floor: float = 0.0) -> torch.Tensor:
    """``y <- y + up(I - down_k(y))``: make the output consistent with the input under the degradation.

    Each image of the batch stops once its residual ``I - down_k(y)`` has an RMS of at most its noise floor (the
    discrepancy principle): an output that explains the input to within its noise has nothing left to take from it
    but noise, which back-projection would otherwise add back, sharpened. A floor of 0: no such stop.

    Where a kernel allows, the floor is read again from the residual beyond the kernel's band each time an image's
    residual reaches it (:func:`lowered_noise_floor`). On a clean input the floor is signal leaking past the band,
    which the output explains better with each step, so the floor falls with it and back-projection goes on; on a
    noisy input the reading is the noise, and the floor holds.

    An image whose residual grows instead stops at its previous step: the iteration diverges where the kernel's
    transfer function is negative (a box, a defocused PSF), and each step would add more of the same ringing. On
    PSFs, Gaussians and the bicubic kernel the residual falls at every step, so this never stops them. (The step
    taken last is not measured again: one step of such growth at most stays.)
    """
    floors = [float(noise_floor)] * sr.shape[0]
    last_rms = [float("inf")] * sr.shape[0]
    done = [False] * sr.shape[0]
    previous = sr
    for _ in range(iterations):
        residual = lr - degradation.downscale(sr, tuple(lr.shape[-2:]))
        rms = residual.square().mean(dim=(1, 2, 3)).sqrt().tolist()
        for index, level in enumerate(rms):
            if done[index]:
                continue
            if level > last_rms[index]:
                sr[index] = previous[index]
                done[index] = True
                continue
            last_rms[index] = level
            if noise_floor > 0 and level <= floors[index]:
                floors[index] = lowered_noise_floor(floors[index], residual[index : index + 1], degradation)
                done[index] = level <= floors[index]
        if all(done):
            break
        going_on = torch.tensor([not d for d in done], dtype=residual.dtype, device=residual.device)
        previous = sr
        sr = sr + degradation.upscale(residual * going_on[:, None, None, None], tuple(sr.shape[-2:]))
    return sr


#: the Gaussian (std in input pixels) that separates the residual's low frequencies: about a diffraction-limited
#: spot at Nyquist sampling, whose flux is what is measured; and how often they are put back
FLUX_SIGMA = 2.0
FLUX_STEPS = 2


def restore_flux(sr: torch.Tensor, lr: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    """Put the residual's low frequencies back into ``sr``, so that it keeps the input's intensity, locally too:
    the last step of a plane's output back-projected with a noise floor. (Axial runs restore their fused volume at
    once, with a 3D blur: ``core.axial.restore_volume_flux``.)

    A network trained with an L1 loss outputs a median, which under shot noise lies below the mean: at a few photons
    a pixel the output lost 10-40 % of the input's total intensity (docs/benchmarks.md, "Intensity kept under shot
    noise"). Back-projection stopped at the noise floor cannot see that: the loss is far below the noise per pixel.
    Averaged over a Gaussian of ``FLUX_SIGMA`` input pixels (about 50 of them) the noise is 7 times weaker, and the
    loss, smooth at that scale, stands out; a spot keeps its flux.
    """
    for _ in range(FLUX_STEPS):
        residual = lr - degradation.downscale(sr, tuple(lr.shape[-2:]))
        sr = sr + degradation.upscale(gaussian_blur(residual, FLUX_SIGMA), tuple(sr.shape[-2:]))
    return sr


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """A Gaussian blur over the spatial axes of (N, 1, H, W) images or (N, 1, D, H, W) volumes, edges extended, taps
    to 3 sigma: scipy's separable filter, on the CPU, which needs little more memory than the image (a convolution's
    buffers take 10-20 times it: gigabytes for a fused axial volume)."""
    spatial = (sigma,) * (image.dim() - 2)
    blurred = ndimage.gaussian_filter(image.detach().cpu().numpy(), (0, 0, *spatial), mode="nearest", truncate=3.0)
    return torch.from_numpy(blurred).to(image.device)


def ensemble_median(outputs: torch.Tensor, rows_per_chunk: int = 256) -> torch.Tensor:
    """Median over axis 0; with an even count the mean of the two middle values (torch's median takes the lower).

    Sorted in row chunks so that a big plane needs no more than one chunk of extra memory.
    """
    count = outputs.shape[0]
    result = torch.empty_like(outputs[0])
    for top in range(0, outputs.shape[-2], rows_per_chunk):
        ordered = torch.sort(outputs[..., top : top + rows_per_chunk, :], dim=0).values
        middle = ordered[count // 2] if count % 2 else (ordered[count // 2 - 1] + ordered[count // 2]) / 2
        result[..., top : top + rows_per_chunk, :] = middle
    return result


#: smallest tile tried after running out of device memory, before giving up with a clear message.
MIN_TILE_SIZE = 64


def apply_tiled_within_memory(net: ZSSRNet, x: torch.Tensor, tile_size: int,
                               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """:func:`apply_tiled`, halving the tile size each time the device runs out of memory."""
    while True:
        try:
            return apply_tiled(net, x, tile_size, dtype)
        except torch.OutOfMemoryError as error:
            if x.device.type == "cuda":
                torch.cuda.empty_cache()
            if tile_size <= MIN_TILE_SIZE:
                raise RuntimeError(f"out of memory on {x.device} even with {tile_size}-pixel tiles; choose a "
                                   "smaller image, the CPU (device='cpu'), or close other programs using the GPU"
                                   ) from error
            tile_size = max(MIN_TILE_SIZE, tile_size // 2)


@dataclass
class InferenceOutput:
    sr: torch.Tensor
    ensemble_median: torch.Tensor
    ensemble_spread: torch.Tensor  # standard deviation across ensemble members (0 without an ensemble)
    noise_floor: float = 0.0  # the floor back-projection started from, as refined (0: no stop)


@torch.no_grad()
def super_resolve(net: ZSSRNet, lr: torch.Tensor, degradation: Degradation, transforms: list[int],
                  back_projection_iterations: int, tile_size: int, dtype: torch.dtype = torch.float32,
                  noise_floor: float = 0.0, should_stop: StopHook | None = None) -> InferenceOutput:
    """Run the trained net on ``lr`` under each allowed transform, undo it, back-project, take the median.

    ``noise_floor``: the input's noise level, where back-projection stops (:func:`back_project`), as read from the
    input; the first member's residual refines it (:func:`refined_noise_floor`). Stopped there, the output then gets
    the residual's low frequencies (:func:`restore_flux`). ``should_stop`` is asked before each member (each takes
    seconds on a large plane): True raises :class:`Cancelled`.
    """
    net = net.for_inference()
    stacked = torch.empty((len(transforms), 1, *degradation.hr_shape(tuple(lr.shape[-2:]))), device=lr.device,
                          dtype=lr.dtype)
    for position, index in enumerate(transforms):
        if should_stop is not None and should_stop():
            raise Cancelled
        moved = transform(lr, index)
        upscaled = degradation.upscale(moved, degradation.hr_shape(tuple(moved.shape[-2:])))
        output = untransform(apply_tiled_within_memory(net, upscaled, tile_size, dtype), index)
        if position == 0 and back_projection_iterations > 0:
            noise_floor = refined_noise_floor(noise_floor, lr, output, degradation)
        stacked[position] = back_project(output, lr, degradation, back_projection_iterations, noise_floor)[0]
    median = ensemble_median(stacked).unsqueeze(0)
    spread = stacked.std(dim=0).unsqueeze(0) if len(transforms) > 1 else torch.zeros_like(median)
    sr = back_project(median, lr, degradation, back_projection_iterations, noise_floor)
    if noise_floor > 0 and back_projection_iterations > 0:
        sr = restore_flux(sr, lr, degradation)
    return InferenceOutput(sr, median, spread, noise_floor)
