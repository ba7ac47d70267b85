"""napari-zssr: "Zero-Shot" Super-Resolution (Shocher, Cohen & Irani, CVPR 2018) for microscopy, in napari."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .api import BlankPlaneWarning, ZSSRResult, kernel_from_file, zssr, zssr_stack  # noqa: E402
from .core.config import ZSSRConfig  # noqa: E402
from .core.psf import kernel_from_psf  # noqa: E402
from .core.trainer import Cancelled, ProgressEvent  # noqa: E402
from .io.psf import read_psf  # noqa: E402

__all__ = ["BlankPlaneWarning", "Cancelled", "ProgressEvent", "ZSSRConfig", "ZSSRResult", "__version__",
           "kernel_from_file", "kernel_from_psf", "read_psf", "zssr", "zssr_stack"]


def __getattr__(name: str) -> Any:
    """``run`` needs napari, so it is imported only when asked for: the library itself runs without a GUI."""
    if name == "run":
        from .napari.console import run

        return run
    raise AttributeError(f"module 'napari_zssr' has no attribute {name!r}")
