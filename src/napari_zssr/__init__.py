"""napari-zssr: "Zero-Shot" Super-Resolution (Shocher, Cohen & Irani, CVPR 2018) for microscopy, in napari.

The public names are imported on first use (module ``__getattr__``), so that importing a light part of the package
(the napari reader, writer or sample) does not pull in torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api import BlankPlaneWarning, KernelNoteWarning, ZSSRResult, kernel_from_file, zssr, zssr_stack
    from .axial import ConstantPlanesWarning, zssr_axial
    from .batch_jobs import UsageError
    from .batching import batch
    from .core.blind import KernelEstimate, estimate_kernel
    from .core.config import ZSSRConfig
    from .core.optics import Optics, kernel_from_optics, theoretical_psf
    from .core.progress import ProgressEvent
    from .core.psf import kernel_from_psf
    from .core.resolution import ResolutionEstimate, estimate_resolution
    from .core.trainer import Cancelled
    from .io.ome import read_optics
    from .io.psf import read_psf
    from .kernel_choice import KernelChoice
    from .napari.console import run as run

#: public name -> the module that defines it
_PUBLIC = {
    "BlankPlaneWarning": ".api", "KernelNoteWarning": ".api", "ZSSRResult": ".api", "kernel_from_file": ".api",
    "zssr": ".api", "zssr_stack": ".api", "ZSSRConfig": ".core.config", "kernel_from_psf": ".core.psf",
    "Cancelled": ".core.trainer",
    "ProgressEvent": ".core.progress", "read_psf": ".io.psf", "zssr_axial": ".axial",
    "ConstantPlanesWarning": ".axial",
    "Optics": ".core.optics", "theoretical_psf": ".core.optics", "kernel_from_optics": ".core.optics",
    "KernelEstimate": ".core.blind", "estimate_kernel": ".core.blind", "ResolutionEstimate": ".core.resolution",
    "estimate_resolution": ".core.resolution", "KernelChoice": ".kernel_choice", "read_optics": ".io.ome",
    "batch": ".batching", "UsageError": ".batch_jobs",
    "run": ".napari.console",  # needs napari: the library itself runs without a GUI
}

# "run" is left out: "from napari_zssr import *" must not import napari
__all__ = ["BlankPlaneWarning", "Cancelled", "ConstantPlanesWarning", "KernelChoice", "KernelEstimate",
           "KernelNoteWarning", "Optics", "ProgressEvent", "ResolutionEstimate", "UsageError", "ZSSRConfig",
           "ZSSRResult", "__version__", "batch", "estimate_kernel", "estimate_resolution", "kernel_from_file",
           "kernel_from_optics", "kernel_from_psf", "read_optics", "read_psf", "theoretical_psf", "zssr",
           "zssr_axial", "zssr_stack"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'napari_zssr' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
