"""Sample contribution: a synthetic fluorescence image and its PSF file, to try ZSSR in one click."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..sample import microscopy_sample, write_example


def make_sample() -> list[tuple]:
    """The image (with its pixel size) and its PSF; the PSF file path is in the image's metadata for the widget."""
    folder = Path(tempfile.gettempdir()) / "napari-zssr-sample"
    _, psf_path = write_example(folder)
    sample = microscopy_sample()
    metadata = {"zssr_psf_path": str(psf_path), "zssr_psf_pixel_size": sample.psf_pixel_size}
    image = (sample.image, {"name": "zssr_sample", "scale": (sample.pixel_size,) * 2, "units": "µm",
                            "metadata": metadata})
    psf = (sample.psf, {"name": "zssr_sample_psf", "scale": (sample.psf_pixel_size,) * 2, "units": "µm",
                        "visible": False, "metadata": {"source_path": str(psf_path)}})
    return [image + ("image",), psf + ("image",)]
