"""A quick look at a PSF file: does it look like one bead (not, e.g., a cell image chosen by mistake)? The widget warns
at once, the command line notes it before the batch."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .psf import EIGHT_NEIGHBOURS, SUPPORT_SNR, bead_blob, in_focus

#: a region above half the peak is a separate bright spot when it holds at least this share of the light of the
#: brightest one: noise splits the half-maximum region of a wide, dim bead (FWHM 8 pixels, a peak of 30 photons) into
#: fragments of a few pixels, under 10 % of its light (8 % at most in 100 such beads), while a second bead of 60 % of
#: the peak or more, 2.5 FWHM away, holds 20 % of it or more (FWHM 1-8 pixels).
MIN_SPOT_LIGHT_SHARE = 0.1
#: a bead holds at least this fraction of its signal near its peak.
MIN_COMPACT_FRACTION = 0.5
#: "near the peak": within this many half-maximum radii.
NEAR_PEAK_RADII = 3.0
#: a bead whose light on an edge of the image reaches this share of its peak was cropped too close: the part cut off
#: makes its kernel narrower than the blur and off-centre.
MAX_EDGE_SHARE = 0.1
#: a bead's border that is exactly 0 in a share between these, among noise, was clipped at 0 (a background
#: subtracted in 16 bits); all of it 0 is a computed PSF's padding
MIN_CLIPPED_SHARE = 0.2
MAX_CLIPPED_SHARE = 0.9
#: an integer bead image with at least this many pixels at its highest value was recorded saturated: an unsaturated
#: peak is shared by at most 4 pixels (centred between them)...
MIN_SATURATED_PIXELS = 5
#: ...when that value stands this many counts above the background: nearer it, pixels round to the same value
MIN_SATURATED_COUNTS = 50


def bead_problem(psf: np.ndarray) -> str | None:
    """Why ``psf`` does not look like one bead (a single compact peak above the background, whole and not saturated),
    or None if it does.

    Only a warning: the kernel conversion itself refuses what it cannot use.
    """
    array = np.asarray(psf, dtype=float)
    if array.ndim not in (2, 3) or min(array.shape[-2:]) < 3 or not np.all(np.isfinite(array)):
        return None  # not an image at all: the kernel conversion gives the precise error
    # the plane, background and noise the kernel conversion takes, hot pixels left out as it leaves them out: a
    # camera's hot pixel beside a good bead is no second spot
    index, signal, noise, defect_taken = in_focus(array)
    peak = float(signal.max())
    if peak <= 0:
        return "it has no peak above its background"
    clipped = _clipped_background(array if array.ndim == 2 else array[index])  # that plane as recorded
    if clipped:
        return clipped
    # measured on 100 draws each (Poisson noise on a background of 100 counts, read noise 2): a hot-pixel pair or a
    # 4-pixel cosmic ray alone is said in 86 % at 100 counts, 99-100 % from 300; a lone Gaussian bead of FWHM 2-4
    # pixels never (100-10,000 counts), of FWHM 1-1.5 pixels in 0-20 % (the fewer counts and the sharper, the more)
    if defect_taken:
        return ("its bright spots end in a step to the background, as a hot-pixel pair or a cosmic ray does, where a "
                "bead's light falls off over the pixels around it: check that the file holds a bead image (a bead "
                "sharper than about 1.5 pixels can look so too; its kernel is then right)")
    spots = _bright_spots(signal)
    if spots > 1:
        return f"it has {spots} separate bright spots, a PSF has one"
    light = np.where(signal > SUPPORT_SNR * noise, signal, 0.0)  # above the noise
    radius = NEAR_PEAK_RADII * np.sqrt(np.count_nonzero(light > peak / 2) / np.pi) + 1
    rows, cols = np.indices(light.shape)
    peak_row, peak_col = np.unravel_index(np.argmax(light), light.shape)
    near = (rows - peak_row) ** 2 + (cols - peak_col) ** 2 <= radius**2
    fraction = float(light[near].sum() / light.sum())
    if fraction < MIN_COMPACT_FRACTION:
        return f"only {fraction:.0%} of its signal lies near its brightest spot (a bead's lies there)"
    # of the blob the kernel is made from: a neighbouring bead or debris on an edge is not this bead cut; its light
    # above the noise, as the noise of the faint rim the kernel keeps would read as light on an edge
    try:
        bead = bead_blob(light, noise)
    except ValueError:  # no clear peak: the kernel conversion says so
        return None
    return _cut_bead(bead / peak) or _saturated(bead, np.issubdtype(np.asarray(psf).dtype, np.integer))


def _bright_spots(signal: np.ndarray) -> int:
    """How many separate regions (8-connected) above half its peak ``signal`` has that hold a share of its light
    (:data:`MIN_SPOT_LIGHT_SHARE`): a fragment that noise broke off a bead's is none."""
    regions, count = ndimage.label(signal > signal.max() / 2, structure=EIGHT_NEIGHBOURS)
    light = ndimage.sum_labels(signal, regions, index=np.arange(1, count + 1))
    return int(np.count_nonzero(light >= MIN_SPOT_LIGHT_SHARE * light.max()))


def _clipped_background(plane: np.ndarray) -> str | None:
    """Why the in-focus ``plane`` of a PSF file, as recorded, looks background-subtracted with its negatives clipped
    to 0 (Fiji's Process > Math > Subtract on a 16-bit image), or None: its border is partly exactly 0 and partly
    noise, so the noise reads as none and noise specks join the kernel. A computed PSF, all 0 or all smooth there, is
    not."""
    border = np.concatenate([plane[0], plane[-1], plane[1:-1, 0], plane[1:-1, -1]])
    zero_share = float(np.mean(border == 0))
    if not MIN_CLIPPED_SHARE <= zero_share <= MAX_CLIPPED_SHARE:
        return None
    return (f"{zero_share:.0%} of its border is exactly 0 among noise: its background looks subtracted with the "
            "negatives clipped (as in a 16-bit image), so its noise reads as none and noise joins the kernel, too "
            "wide; use the bead as recorded, or subtract in 32-bit (Fiji: Image > Type > 32-bit first)")


def _cut_bead(signal: np.ndarray) -> str | None:
    """Why a bead (``signal``, peak 1) is cut by the edge of its image (:data:`MAX_EDGE_SHARE`), or None."""
    edges = {"top": signal[0], "bottom": signal[-1], "left": signal[:, 0], "right": signal[:, -1]}
    cut = {name: float(edge.max()) for name, edge in edges.items() if edge.max() >= MAX_EDGE_SHARE}
    if not cut:
        return None
    return (f"it is a bead cut by the edge of the image ({', '.join(cut)}: its light there reaches "
            f"{max(cut.values()):.0%} of its peak), so its kernel is too narrow and off-centre: crop it again from "
            "the bead image with the bead in the middle and a margin of at least 3 times its FWHM on every side")


def _saturated(signal: np.ndarray, integer: bool) -> str | None:
    """Why a bead (``signal``, above its background; ``integer``: recorded in camera counts) looks saturated, or
    None: its top is flat, clipped at the camera's highest value."""
    peak = signal.max()
    clipped = np.count_nonzero(signal == peak)
    if not integer or clipped < MIN_SATURATED_PIXELS or peak < MIN_SATURATED_COUNTS:
        return None
    return (f"its peak is saturated ({clipped} pixels at its highest value), so its kernel is wider than the blur: "
            "record the bead again with a shorter exposure or less light")
