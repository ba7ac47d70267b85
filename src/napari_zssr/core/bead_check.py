"""A quick look at a PSF file: does it look like one bead (not, e.g., a cell image chosen by mistake)? The widget warns
at once, the command line notes it before the batch."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: pixels above this many noise standard deviations (robust, from the border) count as signal.
SIGNAL_SNR = 3.0
#: a bead holds at least this fraction of its signal near its peak.
MIN_COMPACT_FRACTION = 0.5
#: "near the peak": within this many half-maximum radii.
NEAR_PEAK_RADII = 3.0


def bead_problem(psf: np.ndarray) -> str | None:
    """Why ``psf`` does not look like one bead (a single compact peak above the background), or None if it does.

    Only a warning: the kernel conversion itself refuses what it cannot use.
    """
    array = np.asarray(psf, dtype=float)
    if array.ndim == 3:  # a z-stack: the plane with the highest peak, as the kernel conversion takes
        array = array[int(np.argmax(array.reshape(array.shape[0], -1).max(axis=1)))]
    if array.ndim != 2 or min(array.shape) < 3 or not np.all(np.isfinite(array)):
        return None  # not an image at all: the kernel conversion gives the precise error
    border = np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])
    background = float(np.median(border))
    noise = 1.4826 * float(np.median(np.abs(border - background)))
    signal = np.clip(array - background, 0, None)
    peak = float(signal.max())
    if peak <= 0:
        return "it has no peak above its background"
    _, spots = ndimage.label(signal > peak / 2)
    if spots > 1:
        return f"it has {spots} separate bright spots, a PSF has one"
    signal[signal <= SIGNAL_SNR * noise] = 0
    radius = NEAR_PEAK_RADII * np.sqrt(np.count_nonzero(signal > peak / 2) / np.pi) + 1
    rows, cols = np.indices(signal.shape)
    peak_row, peak_col = np.unravel_index(np.argmax(signal), signal.shape)
    near = (rows - peak_row) ** 2 + (cols - peak_col) ** 2 <= radius**2
    fraction = float(signal[near].sum() / signal.sum())
    if fraction < MIN_COMPACT_FRACTION:
        return f"only {fraction:.0%} of its signal lies near its brightest spot (a bead's lies there)"
    return None
