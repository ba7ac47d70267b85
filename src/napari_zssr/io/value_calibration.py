"""What the values a TIFF stores stand for: Fiji's value calibration, by which a signed 16-bit image is stored
32768 above its values (read back as int16), and any other calibration, described in words. Apart from the
readers: it changes the data, not its layout, alike for an image read whole (:func:`.tiff.read_tiff`) and for
planes read a part at a time (:func:`.tiff.read_planes`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .planes import PlaneSource, ReorderedPlanes

#: Fiji's signed 16-bit image: stored as uint16 32768 above its values, with ImageJ's calibration function that
#: shows them as they are (``Calibration.setSigned16BitCalibration``: a straight line, cf=0, c0=-32768, c1=1)
SIGNED_16BIT_OFFSET = 32768


def is_signed_16bit(imagej: dict, dtype: Any) -> bool:
    """Whether an ImageJ TIFF of stored type ``dtype`` (and ``imagej``, tifffile's ``imagej_metadata``) holds a
    signed 16-bit image as Fiji saves one (:data:`SIGNED_16BIT_OFFSET`)."""
    try:
        return (np.dtype(dtype) == np.uint16 and imagej.get("cf") == 0
                and float(imagej.get("c0")) == -SIGNED_16BIT_OFFSET and float(imagej.get("c1")) == 1.0)
    except (TypeError, ValueError):
        return False


#: ImageJ's code for no value calibration (Calibration.NONE), which Fiji writes beside a 32-bit image's value unit
IMAGEJ_NO_CALIBRATION = 20


def describe_value_calibration(imagej: dict) -> str:
    """An ImageJ value calibration (``cf`` the function's code, ``c0``... its coefficients, ``vunit`` its unit) in
    words: "f(x) = 10 + 0.5 x (nM)" for a straight line (code 0), else the code and coefficients."""
    coefficients = [imagej[f"c{index}"] for index in range(10) if f"c{index}" in imagej]
    unit = f" ({imagej['vunit']})" if imagej.get("vunit") else ""
    if imagej.get("cf") == 0 and len(coefficients) == 2:
        return f"f(x) = {coefficients[0]:g} + {coefficients[1]:g} x{unit}"
    return f"ImageJ calibration function {imagej.get('cf')} with coefficients {coefficients}{unit}"


def signed_plane(plane: Any) -> np.ndarray:
    """Stored uint16 values as the int16 values they stand for (``stored - 32768``, exact)."""
    return (np.asarray(plane) ^ np.uint16(SIGNED_16BIT_OFFSET)).view(np.int16)


def as_signed_16bit(data: PlaneSource) -> PlaneSource:
    """A Fiji signed 16-bit image's stored data as its int16 values: an array read whole converted at once, a mapped or
    paged one plane by plane as its planes are read."""
    if isinstance(data, np.ndarray) and not isinstance(data, np.memmap):
        return signed_plane(data)
    return ReorderedPlanes(data, range(len(data.shape) - 2), np.int16, signed_plane)
