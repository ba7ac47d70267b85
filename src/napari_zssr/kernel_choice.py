"""Where the blur kernel comes from: a PSF file, the microscope's optics, an estimate from the image, or none.

Every front (the widget, ``run()``, the command line) describes the user's choice as a :class:`KernelChoice` and
turns it into a kernel with :func:`resolve_kernel`, so the four sources behave the same everywhere and the source
with its parameters is recorded alike in layer metadata and TIFF descriptions. ``"estimate"`` needs the image and
is resolved by :func:`napari_zssr.zssr_stack` itself (``kernel="estimate"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .core.optics import Optics, kernel_from_optics, psf_from_optics

KernelKind = Literal["psf", "optics", "estimate", "none"]
KERNEL_SOURCES: tuple[str, ...] = ("psf", "optics", "estimate", "none")


@dataclass(frozen=True)
class KernelChoice:
    """The user's choice of kernel. ``kind``: ``"psf"`` (``psf_path``), ``"optics"`` (``optics``), ``"estimate"``
    (from the image) or ``"none"`` (the bicubic kernel)."""

    kind: KernelKind = "none"
    psf_path: str | None = None
    psf_pixel_size: float | None = None  # um; None: from the PSF file's metadata
    measured: bool | None = None  # is the PSF a bead image from the same camera? None: judged from pixel sizes
    optics: Optics | None = None

    def __post_init__(self) -> None:
        if self.kind not in KERNEL_SOURCES:
            raise ValueError(f"kernel source must be one of {', '.join(KERNEL_SOURCES)}, got {self.kind!r}")
        if self.kind == "psf" and not self.psf_path:
            raise ValueError("the 'psf' kernel source needs a PSF file")
        if self.kind == "optics" and self.optics is None:
            raise ValueError("the 'optics' kernel source needs the optics (NA, wavelength, ...)")


@dataclass(frozen=True)
class ResolvedKernel:
    """A kernel for ``zssr`` (None: bicubic, or ``"estimate"``: made from the image by ``zssr_stack``) and what it
    came from (recorded in the result's metadata)."""

    kernel: np.ndarray | str | None
    info: dict[str, Any]


def resolve_kernel(source: KernelChoice, scale: float | Sequence[float], pixel_size: float | None) -> ResolvedKernel:
    """Turn ``source`` into a kernel for ``scale``; ``pixel_size``: the image's, in um (None: unknown).

    Raises ``ValueError``/``FileNotFoundError`` with a clear message (a bad PSF file, bad optics, optics without a
    pixel size) before any training starts.
    """
    if source.kind == "none":
        return ResolvedKernel(None, {"source": "none (bicubic)"})
    if source.kind == "estimate":
        return ResolvedKernel("estimate", {"source": "estimate"})
    if source.kind == "optics":
        optics = source.optics
        assert optics is not None  # checked by KernelChoice
        if pixel_size is None:
            raise ValueError("a kernel from the optics needs the image's pixel size: give it in um (the layer's "
                             "scale or the file's metadata did not say)")
        kernel = kernel_from_optics(optics.na, optics.wavelength, pixel_size, scale,
                                    **{k: v for k, v in optics.to_dict().items() if k not in ("na", "wavelength")})
        return ResolvedKernel(kernel, {"source": "optics", **optics.to_dict(), "pixel_size_um": pixel_size,
                                       "psf_fwhm_px": psf_fwhm_pixels(optics, pixel_size)})
    from .api import kernel_from_file

    kernel = kernel_from_file(str(source.psf_path), psf_pixel_size=source.psf_pixel_size, pixel_size=pixel_size,
                              scale=scale, measured=source.measured)
    return ResolvedKernel(kernel, {"source": "psf", "psf_path": str(source.psf_path),
                                   "psf_pixel_size_um": source.psf_pixel_size, "pixel_size_um": pixel_size})


def psf_fwhm_pixels(optics: Optics, pixel_size: float) -> float:
    """FWHM of the optics' PSF in image pixels, measured on its centre row sampled 1/50 of lambda/NA apart."""
    step = optics.wavelength * 1e-3 / optics.na / 50
    row = psf_from_optics(optics, step, size=101)[50, 50:]
    row = row / row[0]
    below = int(np.argmax(row < 0.5))
    width = 2 * step * (below - 1 + (row[below - 1] - 0.5) / (row[below - 1] - row[below]))
    return round(float(width / pixel_size), 3)
