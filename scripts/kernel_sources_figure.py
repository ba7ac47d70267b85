"""The picture of docs/napari.md "No PSF file?": one image super-resolved with each kernel source.

A generated fluorescence image is blurred by a known microscope PSF (NA 1.0 water objective, 520 nm emission,
0.13 um camera pixels, vectorial model, slightly out of focus), binned by the camera and made noisy; then ZSSR (fast
preset) runs with no kernel, the kernel from the optics, the kernel estimated from the image, and the true PSF.
Usage: python scripts/kernel_sources_figure.py [out.png]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core.optics import Optics, vectorial_profile
from napari_zssr.core.psf import kernel_from_psf
from napari_zssr.core.resize import resize
from napari_zssr.kernel_choice import KernelChoice, describe_kernel
from napari_zssr.resolution_report import describe_resolution
from napari_zssr.sample import synthetic_fluorescence

OPTICS = Optics(na=1.0, wavelength=520, refractive_index=1.333)
PIXEL = 0.13  # um, camera pixel in the sample plane
SCALE = 2
CROP = (slice(40, 168), slice(40, 168))  # HR pixels shown


def degraded_sample(seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(HR truth in [0, 1], recorded LR image, the true PSF on the HR grid)."""
    truth = synthetic_fluorescence((256, 256), seed=seed)
    hr_pixel = PIXEL / SCALE
    half = 24
    grid = np.arange(-half, half + 1) * hr_pixel
    radius = np.hypot(*np.meshgrid(grid, grid, indexing="ij"))
    psf = vectorial_profile(radius, OPTICS.na, OPTICS.wavelength, OPTICS.refractive_index, defocus=0.1)
    psf /= psf.sum()
    blurred = ndimage.convolve(truth, psf, mode="reflect")
    binned = blurred.reshape(128, SCALE, 128, SCALE).mean(axis=(1, 3))
    rng = np.random.default_rng(seed)
    recorded = rng.poisson(binned * 1000) / 1000 + rng.normal(0, 0.005, binned.shape)
    return truth, recorded.astype(np.float32), psf


def psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """On [0, 1] after clipping, without the 4 pixels of each border."""
    return float(peak_signal_noise_ratio(truth[4:-4, 4:-4], np.clip(estimate, 0, 1)[4:-4, 4:-4], data_range=1.0))


def tile(image: np.ndarray, label: str, size: int = 256) -> Image.Image:
    crop = np.clip(image[CROP], 0, 1)
    picture = Image.fromarray((crop * 255).astype(np.uint8)).resize((size, size), Image.NEAREST).convert("RGB")
    canvas = Image.new("RGB", (size, size + 34), "white")
    canvas.paste(picture, (0, 34))
    ImageDraw.Draw(canvas).multiline_text((4, 2), label, fill="black", spacing=2)
    return canvas


def main(out: Path) -> None:
    truth, recorded, psf = degraded_sample()
    config = ZSSRConfig.preset("fast")
    panels = [tile(truth, "truth (HR)")]
    upscaled = resize(torch.as_tensor(recorded)[None, None], truth.shape)[0, 0].numpy()
    panels.append(tile(upscaled, f"bicubic interpolation\n{psnr(upscaled, truth):.2f} dB"))
    true_kernel = kernel_from_psf(psf, psf_pixel_size=PIXEL / SCALE, pixel_size=PIXEL, scale=SCALE, computed=True)
    sources = [("no kernel (bicubic)", None), ("from the optics", KernelChoice("optics", optics=OPTICS)),
               ("estimated from the image", "estimate"), ("true PSF", true_kernel)]
    for label, kernel in sources:
        start = time.perf_counter()
        result = zssr(recorded, SCALE, kernel=kernel, config=config, pixel_size=PIXEL)
        seconds = time.perf_counter() - start
        print(f"{label}: {psnr(result.sr, truth):.2f} dB in {seconds:.0f} s; {describe_kernel(result.kernel)}; "
              f"{describe_resolution(result.resolution)}")
        panels.append(tile(result.sr, f"ZSSR, {label}\n{psnr(result.sr, truth):.2f} dB"))
    figure = Image.new("RGB", (sum(p.width for p in panels) + 4 * (len(panels) - 1), panels[0].height), "white")
    x = 0
    for panel in panels:
        figure.paste(panel, (x, 0))
        x += panel.width + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images/kernel_sources.png"))
