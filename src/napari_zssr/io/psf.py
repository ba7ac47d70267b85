"""Read a PSF file: TIFF (2D or a z-stack), ``.npy``, or MATLAB ``.mat`` with a ``Kernel``/``kernel`` variable."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.io

from ..core.units import compact_pixel_size
from .tiff import TIFF_SUFFIXES, read_tiff


def read_psf(path: str | os.PathLike) -> tuple[np.ndarray, float | tuple[float, float] | None]:
    """Return the PSF array and its pixel size in micrometres from the file's metadata: one number for square
    pixels, a (y, x) pair for unequal sides (averaging them would give the kernel the wrong shape), None when unknown.

    Raises ``FileNotFoundError`` or ``ValueError`` with a message that names the file and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"the PSF file {path} is a folder; give the PSF's file itself")
    if not path.is_file():
        raise FileNotFoundError(f"PSF file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        image = read_tiff(path)
        # tifffile writes a (3 or 4, Y, X) array as planar RGB unless told otherwise; a colour photograph is not
        # stored as floats, a PSF z-stack of 3 or 4 planes is
        planar_floats = image.axes == "SYX" and np.issubdtype(image.data.dtype, np.floating)
        if "S" in image.axes and not planar_floats:
            raise ValueError(f"{path.name} is a colour (RGB) image of shape {image.data.shape}; a PSF is a grey "
                             f"2D image or z-stack: save the bead's channel on its own (a z-stack of 3 or 4 planes "
                             f"reads as RGB unless saved with tifffile.imwrite(..., photometric='minisblack'))")
        if image.pixel_size is None:
            return image.data, None
        return image.data, compact_pixel_size(*image.pixel_size)
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False), None
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"could not read {path.name} as a .npy array: {error}") from error
    if suffix == ".mat":
        try:
            variables = scipy.io.loadmat(path)
        except (OSError, ValueError, EOFError, IndexError, NotImplementedError, scipy.io.matlab.MatReadError) as error:
            raise ValueError(f"could not read {path.name} as a MATLAB file: {error}") from error
        for name in ("Kernel", "kernel"):
            if name in variables:
                return np.asarray(variables[name]), None
        found = [name for name in variables if not name.startswith("__")]
        raise ValueError(f"{path.name} has no variable named 'Kernel' or 'kernel' (found: {found})")
    raise ValueError(f"unsupported PSF file type {suffix!r} ({path.name}); use .tif/.tiff, .npy or .mat")
