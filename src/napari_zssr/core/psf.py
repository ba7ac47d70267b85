"""Microscope PSF -> ZSSR kernel on the HR pixel grid: find the bead, resample it, add the camera pixel if needed."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import ndimage, signal, stats

from .config import DEFAULT_SCALE, is_switch
from .degradation import integer_factors
from .kernels import centre_of_mass
from .psf_layout import planes_last_likely
from .resize import PixelSize, pixel_pair, upscale_factors
from .values import real_values, refuse_file_name

#: a PSF whose peak (after background subtraction) is below this many noise standard deviations is rejected.
MIN_PEAK_SNR = 5.0
#: pixels below this many noise standard deviations are background and dropped from the kernel, but for the faint
#: wings just beside the bead's (see :func:`bead_blob`).
SUPPORT_SNR = 3.0
#: the smallest side (pixels) of a measured PSF: its border is read as the background around the bead
MIN_MEASURED_SIDE = 4
#: PSF pixel size / image pixel size: computed PSFs are sampled up to 32x finer than the camera, and a bead image
#: more than 8x coarser cannot describe a blur on the HR grid; outside this range the sizes are almost surely wrong.
PIXEL_RATIO_RANGE = (1 / 64, 8.0)
#: widest kernel (HR pixels) accepted: wider means the pixel sizes or the scale are wrong, and would cost minutes.
MAX_KERNEL_SIDE = 255
#: A bead's light falls off smoothly from its peak, a camera defect's (a hot-pixel pair, a cosmic-ray hit of a few
#: pixels) in a step. Around a spot's half-maximum core, the pixels that share a side with it (its rim) stand, in the
#: median, at least this share of the core's height above the level one pixel further out (the background, or the
#: defocused light of a bead that a cosmic ray fell on) for a bead: noise-free, a Gaussian bead's do at every sub-pixel
#: position from a FWHM of 1.2 pixels (83 % of positions at 1 pixel), an Airy bead's from 1.7 (67 % at 1)...
MIN_FALLOFF_SHARE = 0.04
#: ...or more than this many times the noise (or the spread of that level, on a sloping background): a bright bead
#: too sharp for the share stands out of the noise there (noise-free, with this: every Gaussian bead from a FWHM of
#: 1 pixel, an Airy bead from 1.4, 89 % at 1), which a defect's rim does not...
MIN_FALLOFF_SNR = 3.0
#: ...or, in a z-stack, a plane beside it holds at least this share of the spot's height on its core: a bead spans
#: several planes (half its axial FWHM apart, a plane keeps about 70 % of its neighbour's peak), a cosmic ray one.
MIN_NEIGHBOUR_PLANE_SHARE = 0.25
#: spots dimmer than this share of the brightest bead-like one are not judged: a defect of a few pixels that dim holds
#: less light than the bead (at least 1.7 times its peak), and noise on a bead's faint rings is no defect.
COMPETING_SHARE = 0.1
#: 8-connectivity, so that a diagonal neighbour keeps a PSF pixel from counting as isolated.
EIGHT_NEIGHBOURS = np.ones((3, 3), bool)
#: 4-connectivity: a rim of pixels that share a side with a region.
_FOUR_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)


class KernelTooWideError(ValueError):
    """A PSF whose kernel would be wider than :data:`MAX_KERNEL_SIDE`: ``side``, how wide (HR pixels), so that a
    caller that computed the PSF can say so in its own terms (the optics, not a PSF pixel size nobody gave)."""

    def __init__(self, message: str, side: int) -> None:
        super().__init__(message)
        self.side = side


def checked_psf_array(psf: np.ndarray) -> np.ndarray:
    """The PSF's values as an array, or a ValueError saying what they are instead: not real finite numbers, not 2D or
    3D (a z-stack), a colour image, fewer than 3 x 3 pixels. The checks of :func:`kernel_from_psf` that need no pixel
    size: the widget makes them as soon as a PSF file is chosen."""
    refuse_file_name(psf, "the PSF", "read it first (e.g. tifffile.imread), or make the kernel from the file with "
                     "napari_zssr.kernel_from_file")
    array = real_values(psf, "the PSF", "psf.filled(0)")
    if array.ndim not in (2, 3):
        # a 4D array is nearly always one z-stack per channel (a multicolour bead image)
        per_channel = ("; one PSF per channel (C, Z, Y, X)? Pass one channel's, psf[c], or save them as a TIFF with "
                       "its axes named (tifffile.imwrite('psf.ome.tif', psf, ome=True, metadata={'axes': 'CZYX'})), "
                       "of which channel c of an image uses channel c") if array.ndim == 4 else ""
        raise ValueError(f"the PSF must be 2D (Y, X) or a 3D z-stack (Z, Y, X), got shape {array.shape}{per_channel}")
    _check_not_colour(array)
    if min(array.shape[-2:]) < 3:
        raise ValueError(f"the PSF is too small ({array.shape[-2:]}); it needs at least 3x3 pixels")
    return array


def _check_not_colour(array: np.ndarray) -> None:
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] > 4:
        raise ValueError(f"the PSF of shape {array.shape} looks like an RGB(A) colour image (last axis "
                         f"{array.shape[-1]}); a PSF is a grey 2D image or a (Z, Y, X) stack: save one channel (a "
                         f"z-stack of {array.shape[-1]} planes kept on its last axis: save it with its planes first, "
                         "np.moveaxis(psf, -1, 0))")


def _signal_above_background(plane: np.ndarray) -> tuple[np.ndarray, float]:
    """Subtract the camera offset (median of the border); zero isolated bright pixels (hot pixels, cosmic rays).

    A bead or a computed PSF always has neighbours above the noise; a single pixel that stands alone above it is a
    camera defect, which would otherwise be taken for the peak and give a delta kernel. Returns the signal and the
    noise standard deviation (robust, from the border).
    """
    border = np.concatenate([plane[0], plane[-1], plane[1:-1, 0], plane[1:-1, -1]])
    noise = float(stats.median_abs_deviation(border, scale="normal"))
    signal_ = np.clip(plane - np.median(border), 0, None)
    above = signal_ > SUPPORT_SNR * noise
    neighbours = ndimage.convolve(above.astype(np.int8), EIGHT_NEIGHBOURS.astype(np.int8), mode="constant") - above
    return np.where(above & (neighbours == 0), 0.0, signal_), noise


def in_focus_plane(psf: np.ndarray) -> tuple[np.ndarray, float]:
    """The background-subtracted plane of a PSF (2D, or the z-stack plane with the highest peak) and its noise."""
    found = in_focus(psf)
    return found.signal, found.noise


class InFocus(NamedTuple):
    """A PSF's in-focus plane (:func:`in_focus`)."""

    index: int  # in a z-stack (0 for a 2D PSF)
    signal: np.ndarray  # above the background
    noise: float  # the standard deviation of the background's
    # no spot looked like a bead, and the one the kernel is made from (:func:`bead_blob`) looked like a camera defect:
    # taken as it is, as it may be a bead as sharp as one
    defect_taken: bool


def in_focus(psf: np.ndarray) -> InFocus:
    """:func:`in_focus_plane`, with the index of that plane in a z-stack and whether only defects were seen.

    Camera defects of a few pixels (:func:`_without_defects`) are left out of every plane before the peaks are
    compared, so that a cosmic ray on an out-of-focus plane does not pick it; unless no plane keeps a bead: a lone bead
    as sharp as a hot-pixel pair (a FWHM of about a pixel) is then taken as it is, as before, and ``defect_taken``
    says so (a file holding no bead, only a hot-pixel pair, would otherwise give a near-delta kernel unsaid).
    """
    planes = [_signal_above_background(plane) for plane in (psf[None] if psf.ndim == 2 else psf)]
    signals = [signal_ for signal_, _ in planes]
    cleaned = [_without_defects(signal_, noise, signals[max(z - 1, 0):z] + signals[z + 1:z + 2])
               for z, (signal_, noise) in enumerate(planes)]
    bead_seen = any(bead_left for _, bead_left in cleaned)
    if bead_seen:
        planes = [(signal_, noise) for (signal_, _), (_, noise) in zip(cleaned, planes)]
    index = int(np.argmax([signal_.max() for signal_, _ in planes]))
    defects = cleaned[index][0] != signals[index]
    return InFocus(index, *planes[index], not bead_seen and _defect_taken(planes[index], defects))


#: a camera defect is a hot pixel, a hot-pixel pair or a cosmic ray's few pixels; the half-maximum core of a dim, wide
#: bead's noisy top can look like one too (a step to its surroundings), but spans tens of pixels
MAX_DEFECT_PIXELS = 9


def _defect_taken(plane: tuple[np.ndarray, float], defects: np.ndarray) -> bool:
    """Whether the blob a kernel is made from (:func:`bead_blob`) of a plane (its signal and noise) is mostly a camera
    defect: a few of the ``defects`` pixels (:data:`MAX_DEFECT_PIXELS`) holding half its light or more. False where it
    has no clear peak (said by :func:`bead_blob` where a kernel is made)."""
    try:
        blob = bead_blob(*plane) if defects.any() else None
    except ValueError:
        return False
    taken = defects & (blob > 0) if blob is not None else defects
    return bool(taken.any() and taken.sum() <= MAX_DEFECT_PIXELS and blob[taken].sum() >= 0.5 * blob.sum())


def _without_defects(signal_: np.ndarray, noise: float,
                     neighbours: Sequence[np.ndarray]) -> tuple[np.ndarray, bool]:
    """``signal_`` with its camera defects filled with the level around them, and whether a bead is left.

    Why: a hot-pixel pair or a cosmic ray brighter (in summed light) than the bead was taken for it, a near-delta
    kernel. Each spot above :data:`MIN_PEAK_SNR` noise sigmas is judged on its half-maximum core (:func:`_is_defect`),
    brightest first, down to :data:`COMPETING_SHARE` of the brightest bead-like one. A bead-like spot beside a defect
    (within two pixels of its core) is no bead left: the wings of a bead too sharp to tell from a defect.
    ``neighbours``: the planes beside it in a z-stack (none for a 2D PSF).

    Measured on synthetic beads (Gaussian and Airy, FWHM 1-8 pixels, peaks of 30-10000 photons, Poisson and read
    noise) beside a hot-pixel pair or a cosmic ray of 2-4 pixels with 1.5 times their light: the kernel is the bead's
    (sigma within 5 %) in 94-100 % of them from a FWHM of 1.5 pixels, 83-100 % at 1.2, 69-100 % at 1 (the fewer the
    photons, the lower), 0 % before; a lone bead's kernel is unchanged (sigma within 1 %) in 99-100 %. In 9-plane
    z-stacks with a cosmic ray twice the bead's peak on another plane, the in-focus plane is picked as often as
    without it (0 % before).
    """
    cleaned, seen, near_defect = signal_.copy(), np.zeros(signal_.shape, bool), np.zeros(signal_.shape, bool)
    lowest, bead_peak, bead_left = max(MIN_PEAK_SNR * noise, 1e-4 * float(signal_.max())), 0.0, False
    while True:
        peak_at = np.unravel_index(np.argmax(np.where(seen, 0.0, cleaned)), cleaned.shape)
        peak = float(cleaned[peak_at])
        if seen[peak_at] or peak <= 0 or peak < max(lowest, COMPETING_SHARE * bead_peak):
            return cleaned, bead_left
        labels, _ = ndimage.label(cleaned >= peak / 2, structure=EIGHT_NEIGHBOURS)
        core = labels == labels[peak_at]
        if not np.any(cleaned[core & seen] > peak):  # its own spot, not the shoulder of a brighter one
            if _is_defect(cleaned, noise, core, neighbours):
                rim = _rim(core)
                cleaned[core] = np.median(cleaned[rim])
                near_defect |= core | rim | _rim(core | rim)
            else:
                bead_peak = bead_peak or peak
                bead_left |= not np.any(core & near_defect)
        seen |= core


def _rim(region: np.ndarray) -> np.ndarray:
    """The pixels that share a side with ``region``, outside it."""
    return ndimage.binary_dilation(region, _FOUR_NEIGHBOURS) & ~region


def _is_defect(signal_: np.ndarray, noise: float, core: np.ndarray, neighbours: Sequence[np.ndarray]) -> bool:
    """Whether the spot of ``signal_`` with the half-maximum ``core`` is a camera defect rather than a bead.

    Why: a bead's light falls off smoothly from its core (:data:`MIN_FALLOFF_SHARE`, :data:`MIN_FALLOFF_SNR`); a
    defect ends in a step to what it lies on (the background, or a bead's defocused light: the level of the ring
    beyond its rim), and in a z-stack lies in one plane (:data:`MIN_NEIGHBOUR_PLANE_SHARE`). Size alone cannot tell
    them apart: a bead of FWHM 1-1.5 pixels has only 1-4 pixels above half its maximum, as a hot-pixel pair or a
    cosmic ray has.
    """
    rim = _rim(core)
    beyond = signal_[_rim(core | rim)]
    if not rim.any() or not beyond.size:
        return False
    level = float(np.median(beyond))
    height = float(signal_[core].max()) - level
    step = float(np.median(signal_[rim])) - level
    spread = max(noise, float(stats.median_abs_deviation(beyond, scale="normal")))
    steep = step < MIN_FALLOFF_SHARE * height and step <= MIN_FALLOFF_SNR * spread
    return steep and not any(plane[core].max() - level >= MIN_NEIGHBOUR_PLANE_SHARE * height for plane in neighbours)


def bead_blob(signal_: np.ndarray, noise: float) -> np.ndarray:
    """The connected blob above the noise with the most light (the bead) and the pixels beside it, everything else
    zeroed.

    Why the pixels beside it: a bead's wings fall below :data:`SUPPORT_SNR` noise sigmas well before its light ends, so
    a noisy bead's kernel came out narrower than its blur. Measured on Gaussian beads of FWHM 2-8 pixels (100 noise
    draws each), the kernel's second moment against the noise-free bead's: at a peak 10 times the noise -14 to -23 %
    with the blob alone, 0 to -17 % with the pixels beside it; at 50 times -4 to -7 %, +3 to -4 %; it is never more
    than 3 % wider. A wider support lets the background's noise in (clipped at 0, it only adds light far out): pixels
    above 1.5 sigmas joined to the blob, or a blob of the signal smoothed by 1 pixel, widened small beads' kernels by
    up to 20 %. The kernel's FWHM, read at half its noisy peak, is biased low by that peak's noise whatever the
    support (-44 % for FWHM 8 pixels at a peak 10 times the noise).
    """
    peak = float(signal_.max())
    if peak <= 0 or (noise > 0 and peak < MIN_PEAK_SNR * noise):
        raise ValueError(f"the PSF has no clear peak above its background (none {MIN_PEAK_SNR:g} times the noise of "
                         "its border: noise, a flat image, a hot pixel, or an image of many structures rather than "
                         "one bead); check that the file holds a bead image (a PSF computed from the optics needs no "
                         "file: choose the kernel from the optics, 'from optics' in napari, --na/--wavelength on the "
                         "command line; in Python kernel_from_psf(..., computed=True) takes a computed array as it "
                         "is)")
    labels, count = ndimage.label(signal_ > max(SUPPORT_SNR * noise, 1e-4 * peak), structure=EIGHT_NEIGHBOURS)
    flux = ndimage.sum_labels(signal_, labels, index=np.arange(1, count + 1))
    blob = labels == 1 + int(np.argmax(flux))
    return np.where(blob | _rim(blob), signal_, 0.0)


def _check_pixel_ratio(psf_size: tuple[float, float], image_size: tuple[float, float]) -> None:
    low, high = PIXEL_RATIO_RANGE
    if not all(low <= p / i <= high for p, i in zip(psf_size, image_size)):
        raise ValueError(f"PSF pixel size {psf_size} um vs image pixel size {image_size} um: the PSF must be sampled "
                         f"between {1 / low:g}x finer and {high:g}x coarser than the image; check both pixel sizes "
                         f"(and their units)")


def _half_widths(psf: np.ndarray, zoom: tuple[float, float]) -> list[int]:
    """Half sizes (y, x) of the grid ``zoom`` times finer that holds the PSF's support around its centre of mass."""
    centre = centre_of_mass(psf)
    rows, cols = np.nonzero(psf)
    return [int(np.ceil(np.abs(coords - c).max() * z)) + 1 for coords, c, z in zip((rows, cols), centre, zoom)]


def _resample_centred(psf: np.ndarray, zoom: tuple[float, float]) -> np.ndarray:
    """Sample the PSF on a grid ``zoom`` times finer, centred on its centre of mass (odd size, mass at centre)."""
    centre = centre_of_mass(psf)
    half = _half_widths(psf, zoom)
    grid_y = centre[0] + np.arange(-half[0], half[0] + 1) / zoom[0]
    grid_x = centre[1] + np.arange(-half[1], half[1] + 1) / zoom[1]
    yy, xx = np.meshgrid(grid_y, grid_x, indexing="ij")
    resampled = ndimage.map_coordinates(psf, [yy, xx], order=3, mode="constant", cval=0.0)
    return np.clip(resampled, 0, None)


def _crop_to_support(kernel: np.ndarray) -> np.ndarray:
    kernel = np.where(kernel > 1e-4 * kernel.max(), kernel, 0.0)
    rows, cols = np.nonzero(kernel)
    cy, cx = kernel.shape[0] // 2, kernel.shape[1] // 2
    ry, rx = max(cy - rows.min(), rows.max() - cy), max(cx - cols.min(), cols.max() - cx)
    return kernel[cy - ry : cy + ry + 1, cx - rx : cx + rx + 1]  # symmetric about the centre pixel


def kernel_from_psf(psf: np.ndarray, *, psf_pixel_size: PixelSize | None = None, pixel_size: PixelSize | None = None,
                    scale: float | Sequence[float] = DEFAULT_SCALE, measured: bool | None = None,
                    computed: bool = False) -> np.ndarray:
    """Turn a PSF (2D, or a 3D z-stack: its in-focus plane) into the HR -> LR kernel for ``zssr``.

    The kernel lives on the HR grid (pixel size = ``pixel_size / scale``): the PSF is background-subtracted, resampled
    to that grid, cropped to its support and normalised, with its centre of mass at the array's centre: the centre
    pixel of an odd side, between the two middle pixels of an even one (the camera's box of an even scale makes an
    even side). ``measured`` says
    whether the PSF is a bead image taken with the same camera (it then already contains the camera-pixel integration);
    a point-sampled/theoretical PSF gets ``box(scale)`` added. ``measured=None`` infers it: sampled at the image's pixel
    size = measured, sampled finer = theoretical. Pixel sizes (same unit, e.g. um) both left ``None`` mean "unknown":
    the PSF is then taken as sampled at the image's pixel size, never resampled by a guess; one given alone is a
    ``ValueError``. Camera defects are ignored (isolated hot pixels; hot-pixel pairs and cosmic rays of a few pixels,
    whose edge is a step rather than a bead's fall-off and which, in a z-stack, lie in one plane) and the bead is the
    blob with the most light, so a camera defect beside a bead does not become a delta kernel; colour images, pixel-size
    ratios outside :data:`PIXEL_RATIO_RANGE` and kernels wider than :data:`MAX_KERNEL_SIDE` are refused with a
    ``ValueError``. ``computed=True``: a PSF computed from a model, noise-free and without background; it is taken as it
    is (no background subtraction, which would read its faint outer rings as an offset and cut them, and no bead search)
    and as theoretical.
    """
    factors = integer_factors(upscale_factors(scale))  # type: ignore[arg-type]
    array = checked_psf_array(psf)
    if planes_last_likely(array.shape):
        z, y, x = array.shape  # read as it is, its kernel would be made of a slice through the bead
        warnings.warn(f"the PSF of shape {array.shape} is read as {z} planes of {y} x {x} pixels (Z, Y, X); if its "
                      f"planes are on its last axis (Y, X, Z: stacked with axis=-1, or from MATLAB), pass "
                      "np.moveaxis(psf, -1, 0): read as it is, its kernel is a slice through the bead", stacklevel=2)
    psf_size, image_size = pixel_pair(psf_pixel_size, "psf_pixel_size"), pixel_pair(pixel_size)
    sizes_known = psf_size is not None and image_size is not None
    if not sizes_known and (psf_size, image_size) != (None, None):  # one alone cannot resample: a mistake, not a hint
        given, missing = ("psf_pixel_size", "pixel_size (the image's)") if image_size is None else \
            ("pixel_size", "psf_pixel_size (the PSF's)")
        raise ValueError(f"{given} is given without {missing}: the PSF is resampled by their ratio, so give both, in "
                         "the same unit, or neither (the PSF is then taken as sampled at the image's pixels)")
    if not sizes_known:
        psf_size = image_size = (1.0, 1.0)
    _check_pixel_ratio(psf_size, image_size)
    zoom = (psf_size[0] * factors[0] / image_size[0], psf_size[1] * factors[1] / image_size[1])
    if measured is not None and not is_switch(measured):
        raise TypeError(f"measured must be True (a bead image from the same camera), False (a computed or "
                        f"point-sampled PSF) or None (judged from the pixel sizes), got {measured!r}")
    if not is_switch(computed):
        raise TypeError(f"computed must be True (a PSF computed from a model, taken as it is) or False (a bead image), "
                        f"got {computed!r}")
    if measured is None:
        measured = not computed and min(psf_size[0] / image_size[0], psf_size[1] / image_size[1]) > 0.95
    if computed:
        planes = array[None] if array.ndim == 2 else array
        bead = np.clip(planes[int(np.argmax(planes.reshape(len(planes), -1).max(axis=1)))], 0, None)
        if bead.max() <= 0:
            raise ValueError("the computed PSF has no positive value")
    else:
        if min(array.shape[-2:]) < MIN_MEASURED_SIDE:  # its border, read as the background, is most of it
            raise ValueError(f"the PSF is {array.shape[-2]} x {array.shape[-1]} pixels, too small for a bead image: "
                             "its border is read as the background around the bead, and would be most of it here; "
                             "save a larger crop of the bead, or, for a PSF computed from a model, pass computed=True "
                             "to kernel_from_psf (or choose the kernel from the optics)")
        bead = bead_blob(*in_focus_plane(array))
    side = 2 * max(_half_widths(bead, zoom)) + 1
    if side > MAX_KERNEL_SIDE:
        hint = ("the blur is wider than ZSSR can use: check the pixel size (in um), the NA and the wavelength"
                if computed else "check the pixel sizes and crop the PSF to the bead")
        sampling = (f"PSF pixel size {psf_size} um, image pixel size {image_size} um" if sizes_known else
                    "the PSF taken as sampled at the image's pixels (a pixel size unknown)")
        raise KernelTooWideError(f"the PSF would become a kernel {side} HR pixels wide (at most {MAX_KERNEL_SIDE}) "
                                 f"with {sampling} and scale {factors}; {hint}", side)
    kernel = _crop_to_support(_resample_centred(bead, zoom))
    if not measured:
        kernel = signal.convolve2d(kernel, np.ones(factors) / (factors[0] * factors[1]))
    return kernel / kernel.sum()
