"""Sample contribution: a synthetic fluorescence image and its PSF file, to try ZSSR in one click."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from typing import Any

from ..sample import microscopy_sample, write_example

#: layer metadata that marks an image as a PSF: the widget does not offer such a layer as the image to run on.
PSF_ROLE = {"zssr_role": "psf"}


def is_psf_layer(layer: Any) -> bool:
    metadata = getattr(layer, "metadata", None) or {}
    return all(metadata.get(key) == value for key, value in PSF_ROLE.items())


def make_sample() -> list[tuple]:
    """The image (with its pixel size) and its PSF; the PSF file path is in the image's metadata for the widget.

    The files go to a new private folder (``mkdtemp``: readable by this user only), never a shared fixed path, and
    are removed when Python exits.
    """
    folder = tempfile.mkdtemp(prefix="napari-zssr-sample-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _, psf_path = write_example(folder)
    sample = microscopy_sample()
    metadata = {"zssr_psf_path": str(psf_path), "zssr_psf_pixel_size": sample.psf_pixel_size}
    image = (sample.image, {"name": "zssr_sample", "scale": (sample.pixel_size,) * 2, "units": "µm",
                            "metadata": metadata})
    psf = (sample.psf, {"name": "zssr_sample_psf", "scale": (sample.psf_pixel_size,) * 2, "units": "µm",
                        "visible": False, "metadata": {"source_path": str(psf_path), **PSF_ROLE}})
    return [image + ("image",), psf + ("image",)]
