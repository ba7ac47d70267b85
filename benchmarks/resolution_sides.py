"""How small a plane decorrelation analysis can read: the data behind ``core.resolution.MIN_SIDE``.

Ten scikit-image pictures (grey, [0, 1]) blurred by Gaussians of sigma 0.7, 1, 2 and 3 pixels plus Gaussian noise of
0.5, 2 and 5 % of the range; in each, four 256 x 256 fields, and windows of each side centred on the same point. A
window's reading is compared with its field's (fields that read no resolution, or one over 20 pixels, are left out).
Prints a Markdown table: per side, the windows read, the median ratio to the field's reading, the share within 1.25x
and 1.5x of it, the share below 0.67x, and the 5th-95th percentiles.

    python benchmarks/resolution_sides.py [--sides 32 64 96 128]
"""

from __future__ import annotations

import argparse

import numpy as np
import skimage.color
import skimage.data
from scipy.ndimage import gaussian_filter

from napari_zssr.core import resolution

PICTURES = ("astronaut", "hubble_deep_field", "retina", "grass", "coffee", "rocket", "chelsea", "gravel", "text",
            "page")
SIGMAS = (0.7, 1.0, 2.0, 3.0)
NOISES = (0.005, 0.02, 0.05)
FIELD = 256
OFFSETS = ((0, 0), (-60, 40), (50, -70), (60, 60))


def grey(name: str) -> np.ndarray:
    picture = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
    if picture.ndim == 3:
        picture = skimage.color.rgb2gray(picture[..., :3])
    return (picture - picture.min()) / (picture.max() - picture.min())


def reading(image: np.ndarray, centre: tuple[int, int], side: int) -> float:
    """Resolution in pixels of the ``side`` window centred at ``centre``; NaN where none is read."""
    top, left = centre[0] - side // 2, centre[1] - side // 2
    try:
        return resolution.estimate_resolution(image[top:top + side, left:left + side]).resolution
    except ValueError:
        return float("nan")


def fits(image: np.ndarray, centre: tuple[int, int]) -> bool:
    """Whether the field centred at ``centre`` lies inside ``image`` (and so every window on that centre): a slice
    starting before 0 wraps round, one past the end is cut short."""
    half = FIELD // 2
    return all(half <= c and c + half <= n for c, n in zip(centre, image.shape))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[32, 40, 48, 64, 80, 96, 128])
    args = parser.parse_args()
    resolution.MIN_SIDE = min(args.sides)  # read below today's limit: that is what is measured
    rng = np.random.default_rng(0)
    ratios: dict[int, list[float]] = {side: [] for side in args.sides}
    fields = 0
    for name in PICTURES:
        picture = grey(name)
        for sigma in SIGMAS:
            for noise in NOISES:
                image = gaussian_filter(picture, sigma) + rng.normal(0, noise, picture.shape)
                for dy, dx in OFFSETS:
                    centre = (image.shape[0] // 2 + dy, image.shape[1] // 2 + dx)
                    if not fits(image, centre):  # a small picture (text, page, chelsea): fewer fields
                        continue
                    reference = reading(image, centre, FIELD)
                    if not np.isfinite(reference) or reference > 20:
                        continue
                    fields += 1
                    for side in args.sides:
                        value = reading(image, centre, side)
                        if np.isfinite(value):
                            ratios[side].append(value / reference)
    print(f"{fields} fields of {FIELD} x {FIELD}")
    print("| side px | windows read | median ratio | within 1.25x | within 1.5x | below 0.67x | 5th-95th percentile |")
    print("|---|---|---|---|---|---|---|")
    for side in args.sides:
        r = np.array(ratios[side])
        spread = np.abs(np.log(r))
        print(f"| {side} | {len(r)} | {np.median(r):.2f} | {np.mean(spread < np.log(1.25)):.0%} | "
              f"{np.mean(spread < np.log(1.5)):.0%} | {np.mean(r < 0.67):.0%} | "
              f"{np.percentile(r, 5):.2f}-{np.percentile(r, 95):.2f} |")


if __name__ == "__main__":
    main()
