"""The picture of docs/benchmarks.md "Smooth backgrounds": a run with the background left on and taken off.

A generated fluorescence-like validation image (generated 2000011) on a lumpy illumination field three times its
range, made and recorded as benchmarks/background.py does (its anisotropic Gaussian kernel, x2, noise 0.005); ZSSR
`fast` with the true kernel, the background left on (window 0) and taken off (window 16, the preset's). Each is
shown less the true background, on the structures' range, so that what the background did to them is visible, and
below it its error.
Usage: python scripts/background_figure.py [out.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from background import NOISE_STD, backgrounds, psnr_on_structures  # noqa: E402
from common import bicubic_up, kernel_down  # noqa: E402
from init_corpus import generated_image  # noqa: E402
from quality import degradations  # noqa: E402

from napari_zssr import ZSSRConfig, zssr  # noqa: E402

NAME, SEED, BACKGROUND = "generated 2000011", 2_000_011, "field x3"
CROP = (slice(64, 192), slice(64, 192))  # HR pixels shown
ZOOM = 2
ERROR_GAIN = 5


def panel(image: np.ndarray, title: str) -> Image.Image:
    """``image`` (0-1 shown black to white, clipped) zoomed, with ``title`` above it."""
    pixels = (np.clip(image, 0, 1) * 255).astype(np.uint8).repeat(ZOOM, 0).repeat(ZOOM, 1)
    canvas = Image.new("L", (pixels.shape[1], pixels.shape[0] + 20), 255)
    canvas.paste(Image.fromarray(pixels), (0, 20))
    ImageDraw.Draw(canvas).text((4, 4), title, fill=0)
    return canvas


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images/background.png")
    hr = generated_image(SEED)
    rng = np.random.default_rng(5)
    background = dict(backgrounds(hr, rng))[BACKGROUND]
    kernel = list(degradations(NAME, hr, 0))[1][2]
    truth = hr + background
    lr = kernel_down(truth, kernel) + np.random.default_rng(1).normal(0, NOISE_STD, (128, 128))
    runs = {window: zssr(lr, 2, kernel=kernel, seed=0, config=ZSSRConfig.preset("fast", background_window=window)).sr
            for window in (0, 16)}
    interpolated = bicubic_up(lr, hr.shape)
    shown = {"input, interpolated": interpolated, "fast, background left on": runs[0], "fast, taken off": runs[16]}
    peak = float(np.percentile(hr[CROP], 99.9))  # the crop's structures fill the grey range
    top = [panel((image - background)[CROP] / peak, f"{title}: {psnr_on_structures(image, truth):.1f} dB")
           for title, image in shown.items()] + [panel(hr[CROP] / peak, "truth")]
    bottom = [panel(np.abs(image - truth)[CROP] * ERROR_GAIN / peak, f"its error x{ERROR_GAIN}")
              for image in shown.values()]
    figure = Image.new("L", (sum(p.width for p in top) + 8 * (len(top) - 1), 2 * top[0].height + 8), 255)
    for row, panels in enumerate((top, bottom)):
        left = 0
        for image in panels:
            figure.paste(image, (left, row * (top[0].height + 8)))
            left += image.width + 8
    figure.save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
