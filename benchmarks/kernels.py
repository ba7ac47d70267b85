"""Kernel sources benchmark: no kernel, the true PSF, the optics model and the blind estimate, through ZSSR.

Each benchmark image (256 x 256, in [0, 1]) is the HR truth at pixel p/2 of a microscope setting. It is blurred by
the "true" PSF, the vectorial (Richards-Wolf) PSF 0.1 um out of focus (a focus error the in-focus models do not
know), point-sampled on the HR grid; integrated by 2 x 2 camera pixels (block mean) -> 128 x 128 LR; recorded with
shot noise (Poisson, PHOTONS photons at 1) and read noise (Gaussian, std READ_NOISE). Then, x2, PSNR against the
truth of: bicubic interpolation; ZSSR (fast preset, seed 0) with no kernel (bicubic), with the true PSF
(kernel_from_psf of the computed PSF), with the optics model (kernel_from_optics: vectorial, in focus) and with the
blind estimate (estimate_kernel). Prints Markdown tables.

    python benchmarks/kernels.py [--settings A B C] [--images NAME ...] [--max-iterations N] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass

import numpy as np
import torch
from common import benchmark_images, bicubic_up, psnr
from scipy import signal

from napari_zssr import ZSSRConfig, kernel_from_psf, zssr
from napari_zssr.core.blind import estimate_kernel
from napari_zssr.core.optics import airy_profile, kernel_from_optics, vectorial_profile

PHOTONS = 1000.0  # at intensity 1
READ_NOISE = 0.01
DEFOCUS = 0.1  # um
SCALE = 2


@dataclass(frozen=True)
class Setting:
    na: float
    wavelength: float  # nm
    pixel_size: float  # um, camera (LR) pixels
    refractive_index: float
    label: str

    def true_profile(self, radius: np.ndarray) -> np.ndarray:
        return vectorial_profile(radius, self.na, self.wavelength, self.refractive_index, defocus=DEFOCUS)


SETTINGS = {
    "A": Setting(1.4, 520, 0.065, 1.518, "NA 1.4 oil, 520 nm, 65 nm pixels"),
    "B": Setting(0.75, 520, 0.325, 1.0, "NA 0.75 air, 520 nm, 325 nm pixels"),
    "C": Setting(0.8, 450, 0.65, 1.0, "NA 0.8 air, 450 nm, 650 nm pixels"),
    "D": Setting(1.2, 600, 0.108, 1.333, "NA 1.2 water, 600 nm, 108 nm pixels"),
}


def fwhm_um(profile, wavelength: float, na: float) -> float:
    """FWHM (um) of a radial intensity profile function of the radius in um (peak at 0)."""
    radius = np.linspace(0, 2 * wavelength * 1e-3 / na, 4001)
    values = profile(radius)
    values = values / values[0]
    below = int(np.argmax(values < 0.5))
    return float(2 * np.interp(0.5, [values[below], values[below - 1]], [radius[below], radius[below - 1]]))


def true_psf(setting: Setting) -> np.ndarray:
    """The true PSF point-sampled on the HR grid (pixel p/2), 4 lambda/NA on each side, sum 1."""
    hr_pixel = setting.pixel_size / SCALE
    half = int(np.ceil(4 * setting.wavelength * 1e-3 / setting.na / hr_pixel))
    y, x = np.mgrid[-half : half + 1, -half : half + 1] * hr_pixel
    psf = setting.true_profile(np.hypot(y, x))
    return psf / psf.sum()


def record(truth: np.ndarray, psf: np.ndarray, seed: int) -> np.ndarray:
    pad = psf.shape[0] // 2
    blurred = signal.fftconvolve(np.pad(truth, pad, mode="reflect"), psf, mode="valid")
    lr = blurred.reshape(truth.shape[0] // SCALE, SCALE, truth.shape[1] // SCALE, SCALE).mean(axis=(1, 3))
    rng = np.random.default_rng(seed)
    return rng.poisson(np.clip(lr, 0, None) * PHOTONS) / PHOTONS + rng.normal(0, READ_NOISE, lr.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["A", "B", "C"])
    parser.add_argument("--images", nargs="*", help="names of the benchmark images (default: all available)")
    parser.add_argument("--max-iterations", type=int, help="override the fast preset's iterations")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: one image, one setting, 20 iterations")
    args = parser.parse_args()
    if args.quick:
        args.settings, args.images = args.settings[:1], ["fluorescence (generated)"]
        args.max_iterations = args.max_iterations or 20
    overrides = {} if args.max_iterations is None else {"max_iterations": args.max_iterations}
    config = ZSSRConfig.preset("fast", **overrides)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{'cuda ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}; fast preset, "
          f"{config.max_iterations} iterations, seed 0; noise: Poisson at {PHOTONS:g} photons + Gaussian std "
          f"{READ_NOISE}; true PSF: vectorial, {DEFOCUS} um defocus; x{SCALE}, 2x2 camera pixels")
    print("\n| setting | FWHM paraxial um (LR px) | FWHM vectorial um (LR px) | true (defocused) um (LR px) |")
    print("|---|---|---|---|")
    for key in args.settings:
        s = SETTINGS[key]
        widths = [fwhm_um(lambda r, s=s: airy_profile(r, s.na, s.wavelength), s.wavelength, s.na),
                  fwhm_um(lambda r, s=s: vectorial_profile(r, s.na, s.wavelength, s.refractive_index),
                          s.wavelength, s.na),
                  fwhm_um(s.true_profile, s.wavelength, s.na)]
        print(f"| {key}: {s.label} | " + " | ".join(f"{w:.3f} ({w / s.pixel_size:.2f})" for w in widths) + " |")

    methods = ("bicubic", "none", "true", "optics", "blind")
    rows: list[dict[str, float]] = []
    run_seconds: list[float] = []
    estimate_seconds: list[float] = []
    print("\n| image | setting | bicubic | ZSSR none | ZSSR true PSF | ZSSR optics | ZSSR blind | blind - none | "
          "FWHM true / blind (LR px) | blind model | estimate s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, truth in benchmark_images(args.images):
        for key in args.settings:
            s = SETTINGS[key]
            psf = true_psf(s)
            lr = record(truth, psf, seed=sum(map(ord, name + key)))
            start = time.perf_counter()
            estimate = estimate_kernel(lr, SCALE, pixel_size=s.pixel_size)
            seconds = time.perf_counter() - start
            estimate_seconds.append(seconds)
            kernels = {
                "none": None,
                "true": kernel_from_psf(psf, psf_pixel_size=s.pixel_size / SCALE, pixel_size=s.pixel_size,
                                        scale=SCALE, computed=True),
                "optics": kernel_from_optics(s.na, s.wavelength, s.pixel_size, SCALE,
                                             refractive_index=s.refractive_index),
                "blind": estimate.kernel,
            }
            row = {"bicubic": psnr(bicubic_up(lr, truth.shape), truth)}
            for method, kernel in kernels.items():
                if method == "blind" and kernel is None:  # fallback to bicubic: the same run as "none"
                    row[method] = row["none"]
                else:
                    result = zssr(lr, SCALE, kernel=kernel, config=config, seed=0)
                    row[method] = psnr(result.sr, truth)
                    run_seconds.append(result.timings["total_s"])
            rows.append(row)
            true_fwhm = fwhm_um(s.true_profile, s.wavelength, s.na) / s.pixel_size
            print(f"| {name} | {key} | " + " | ".join(f"{row[m]:.2f}" for m in methods) +
                  f" | {row['blind'] - row['none']:+.2f} | {true_fwhm:.2f} / {estimate.fwhm:.2f} | "
                  f"{estimate.model if estimate.kernel is not None else 'none (fallback)'} | {seconds:.3f} |",
                  flush=True)

    means = {m: float(np.mean([r[m] for r in rows])) for m in methods}
    gap = means["true"] - means["none"]
    share = (f"blind recovers {(means['blind'] - means['none']) / gap:.0%} of it" if gap > 0
             else "no share: the true PSF does not help")
    worst = min(r["blind"] - r["none"] for r in rows)
    print(f"\n{len(rows)} cases; mean PSNR: " + ", ".join(f"{m} {v:.2f}" for m, v in means.items()))
    print(f"optics - true: {means['optics'] - means['true']:+.2f} dB (target: within 0.3 dB); true - none: "
          f"{gap:+.2f} dB; {share} (target >= 60 %); worst blind - none: {worst:+.2f} dB "
          f"(target >= -0.3 dB)")
    print(f"blind estimate: mean {np.mean(estimate_seconds):.3f} s, max {max(estimate_seconds):.3f} s; a fast ZSSR "
          f"run: mean {np.mean(run_seconds):.1f} s (target: estimate <= a quarter of a run)")


if __name__ == "__main__":
    main()
