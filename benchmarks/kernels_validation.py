"""Validation of the blind kernel's decision rules on images that are not benchmark or held-out images.

The recording of benchmarks/kernels.py (settings A, B, C: vectorial PSF 0.1 um out of focus, 2 x 2 camera pixels,
Poisson and read noise) applied to the allowed scikit-image pictures and the project's generated fluorescence-like
images (scripts/init_corpus.py); ZSSR x2, fast preset, seed 0, with no kernel, the true PSF and the blind estimate
at its width and narrower; with the estimate's fit diagnostics. Prints a Markdown table, then what each fallback
width would give (below it the run is the one with no kernel): the data behind ``blind.MIN_KERNEL_FWHM``.

    python benchmarks/kernels_validation.py [--images NAME ...] [--settings A B C]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import centre_crop, psnr
from kernels import SCALE, SETTINGS, fwhm_um, record, true_psf

from napari_zssr import ZSSRConfig, kernel_from_psf, zssr
from napari_zssr.core import blind

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from init_corpus import GENERATORS, skimage_pictures, unit  # noqa: E402

PICTURES = ("grass", "gravel", "astronaut", "hubble_deep_field", "immunohistochemistry", "text")
SHRINK = (1.0, 0.7)
#: estimates narrower than this run no kernel here: the fallback width the rule was chosen against (it was 1.25)
CANDIDATE_FLOOR = 1.25
FALLBACK_WIDTHS = (1.25, 2.0, 2.4, 2.6, 3.0)


def validation_images(names: list[str] | None) -> dict[str, np.ndarray]:
    images = {}
    pictures = skimage_pictures(512)
    for name in PICTURES:
        picture = pictures.get(name)
        if picture is not None:
            images[name] = unit(centre_crop(picture, 256))
    for index, generator in enumerate(GENERATORS):
        images[f"generated {generator.__name__}"] = unit(generator(np.random.default_rng(100 + index), (256, 256)))
    return {k: v for k, v in images.items() if not names or k in names}


def no_blur_error_ratio(lr: np.ndarray) -> float:
    """Best fit error among widths below CANDIDATE_FLOOR over the best fit error (1: blur not identifiable)."""
    centres, log_power = blind._radial_power(blind.analysis_planes(lr))
    errors = [blind._fit_amplitude_and_floor(blind._model_shapes(centres, (1.0, 1.0), m), log_power)[2]
              for m in blind.MODELS]
    narrow = blind.FWHM_GRID < CANDIDATE_FLOOR
    return float(min(e[narrow].min() for e in errors) / min(e.min() for e in errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="*")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["A", "B", "C"])
    args = parser.parse_args()
    config = ZSSRConfig.preset("fast")
    print("| image | setting | none | true | " + " | ".join(f"blind x{c}" for c in SHRINK) +
          " | FWHM true / blind | beta | spectral SNR | no-blur error ratio |")
    print("|---|---|---|---|" + "---|" * len(SHRINK) + "---|---|---|---|")
    cases = []  # (true - none, blind - none, estimated FWHM)
    for name, truth in validation_images(args.images).items():
        for key in args.settings:
            s = SETTINGS[key]
            psf = true_psf(s)
            lr = record(truth, psf, seed=sum(map(ord, name + key)))
            estimate = blind.estimate_kernel(lr, SCALE)
            kernels = {"none": None, "true": kernel_from_psf(psf, psf_pixel_size=s.pixel_size / SCALE,
                                                             pixel_size=s.pixel_size, scale=SCALE, computed=True)}
            for c in SHRINK:
                width = estimate.fwhm * c
                kernels[f"x{c}"] = (blind._kernel(width, estimate.model, (1.0, 1.0), (SCALE, SCALE))
                                    if width >= CANDIDATE_FLOOR else None)
            row = {}
            for method, kernel in kernels.items():
                if kernel is None and method != "none":
                    row[method] = row["none"]
                else:
                    row[method] = psnr(zssr(lr, SCALE, kernel=kernel, config=config, seed=0).sr, truth)
            cases.append((row["true"] - row["none"], row["x1.0"] - row["none"], estimate.fwhm))
            true_fwhm = fwhm_um(s.true_profile, s.wavelength, s.na) / s.pixel_size
            cells = [f"{row['none']:.2f}", f"{row['true'] - row['none']:+.2f}"]
            cells += [f"{row[f'x{c}'] - row['none']:+.2f}" for c in SHRINK]
            print(f"| {name} | {key} | " + " | ".join(cells) + f" | {true_fwhm:.2f} / {estimate.fwhm:.2f} | "
                  f"{estimate.spectral_exponent:.2f} | {estimate.spectral_snr:.0f} | {no_blur_error_ratio(lr):.2f} |",
                  flush=True)

    gain = np.mean([true for true, _, _ in cases])
    print("\n| fallback width px | kernel used | blind - none, mean dB | share of true - none | worst dB |")
    print("|---|---|---|---|---|")
    for width in FALLBACK_WIDTHS:
        blind_gain = [b if fwhm >= width else 0.0 for _, b, fwhm in cases]
        print(f"| {width} | {sum(fwhm >= width for *_, fwhm in cases)} of {len(cases)} | {np.mean(blind_gain):+.2f} | "
              f"{np.mean(blind_gain) / gain:.0%} | {min(blind_gain):+.2f} |")


if __name__ == "__main__":
    main()
