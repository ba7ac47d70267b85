"""Theoretical in-focus PSFs from a microscope's optics, and the ZSSR kernel they give.

Two models of the 2D in-focus intensity PSF of an aberration-free objective:

* ``"paraxial"``: the Airy pattern ``[2 J1(v) / v]^2`` with ``v = 2 pi NA r / lambda``. Exact in the paraxial
  (small-angle) limit; its FWHM is 0.514 lambda/NA and its first zero 0.610 lambda/NA.
* ``"vectorial"``: the Richards-Wolf integrals of an aplanatic objective for unpolarised light (the emission of
  freely rotating fluorophores): ``|I0|^2 + 2 |I1|^2 + |I2|^2``. At high NA it is wider than the Airy pattern
  (FWHM +0.7 % at NA 0.3, +5 % at 0.75 in air, +9.6 % at 1.4 in oil); at low NA the two agree. It is the
  default: the NA of fluorescence objectives is mostly high.

A confocal PSF is the excitation PSF times the emission PSF convolved with the pinhole (its diameter in Airy
units, 1 AU = 1.22 lambda_em / NA in the sample plane). The PSF is point-sampled on a grid of the requested pixel
size with its peak on the centre pixel. Units: pixel sizes in um, wavelengths in nm.

Along the optical axis (:func:`axial_profile_from_optics`, for axial super-resolution) the widefield profile is the
same Richards-Wolf intensity at radius 0 and growing defocus; a confocal one is the excitation's times the emission
PSF integrated over the pinhole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from numbers import Real
from typing import Any, Literal

import numpy as np
from scipy import signal, special

from .choices import DEFAULT_PINHOLE_AU, MAX_PINHOLE_AU, MODALITIES, Modality
from .config import DEFAULT_SCALE
from .resize import pixel_pair, upscale_factors
from .units import IMMERSION_INDICES, airy_unit_um, number_meant, shown_sizes

Model = Literal["paraxial", "vectorial"]
MODELS: tuple[str, ...] = ("paraxial", "vectorial")
#: wavelengths accepted, nm: from deep UV to the far end of two-photon excitation
WAVELENGTH_RANGE = (200.0, 2000.0)
#: FWHM of the Airy pattern in units of lambda / NA (half maximum of [2 J1(v)/v]^2 at v = 1.61634)
AIRY_FWHM = 1.61634 / np.pi
#: the narrowest PSF a kernel from the optics accepts, in image pixels. Narrower, the camera sees a point; a pixel
#: size that far above the PSF is in practice one given in nm where um were meant (65 for 0.065)
MIN_PSF_FWHM_PIXELS = 0.05
#: half-width of a computed PSF, in units of lambda/NA: about 5 first-zero radii, holding ~97 % of the Airy pattern's
#: energy (95-96 % of the vectorial PSF's at NA 0.75-1.4)
DEFAULT_HALF_WIDTH = 3.0
#: finer sampling of the detection PSF and pinhole before their convolution (then taken at every n-th point)
_CONFOCAL_OVERSAMPLING = 4
#: the widest grid (samples across: the widened emission grid plus the pinhole disk, the size of their FFT) that a
#: confocal PSF is computed on: ~2 s and 0.6 GB. A pixel size of a few nm or a wide pinhole far beyond it took minutes
#: and tens of GB (a 1.2 nm pixel: 30 000 samples across)
MAX_CONFOCAL_GRID = 4096
#: Gauss-Legendre nodes over the aperture angle for the vectorial integrals, at the least; and per lambda/NA of the
#: largest radius, so that they follow the Bessel functions' oscillation (96 nodes hold to ~40 lambda/NA; beyond, the
#: rings came out up to a thousand times too bright)
_QUADRATURE_NODES = 96
_QUADRATURE_NODES_PER_RADIUS = 3
#: half-length of a computed axial profile, in units of lambda / (n - sqrt(n^2 - NA^2)) (its FWHM is ~0.88 of one)
AXIAL_HALF_LENGTH = 3.0
#: Gauss-Legendre nodes over the pinhole's radius per Airy unit of its diameter (confocal axial profile)
_PINHOLE_NODES_PER_AU = 24


@dataclass(frozen=True)
class Optics:
    """A microscope's optics as the PSF models need them, validated on creation (a clear error per bad value).

    ``na``: the objective's numerical aperture; ``wavelength``: emission, nm; ``refractive_index`` of the immersion
    medium (1.518 oil by default, 1.333 water, 1.0 air); ``modality``: "widefield" or "confocal", the latter with
    ``excitation_wavelength`` (nm; None: the emission wavelength) and ``pinhole`` (Airy units; None: 1 AU);
    ``model``: "vectorial" (default) or "paraxial" (the Airy pattern).
    """

    na: float
    wavelength: float  # emission, nm
    refractive_index: float = IMMERSION_INDICES["oil"]
    modality: Modality = "widefield"
    excitation_wavelength: float | None = None  # nm; confocal only (None: the emission wavelength)
    pinhole: float | None = None  # Airy units; confocal only (None: DEFAULT_PINHOLE_AU, which the optics then hold)
    model: Model = "vectorial"

    def __post_init__(self) -> None:
        _check_number("refractive_index", self.refractive_index, 1.0, 2.0, "1.0 for air, 1.333 water, 1.518 oil",
                      inclusive=True)
        _check_number("na", self.na, 0.0, self.refractive_index, f"below the refractive index "
                      f"{self.refractive_index} of the immersion medium")
        for name in ("wavelength", "excitation_wavelength"):
            value = getattr(self, name)
            if value is not None or name == "wavelength":  # the emission wavelength is always needed
                example = "520 for GFP emission" if name == "wavelength" else "488 for GFP excitation"
                _check_number(name, value, *WAVELENGTH_RANGE, f"in nm (e.g. {example})", inclusive=True)
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {self.modality!r}")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.pinhole is not None:
            _check_number("pinhole", self.pinhole, 0.0, MAX_PINHOLE_AU, "in Airy units (1 is typical)",
                          inclusive=True)
        for name in ("na", "wavelength", "refractive_index", "excitation_wavelength", "pinhole"):
            if getattr(self, name) is not None:  # numpy numbers become floats: the optics go into JSON records
                # float32 as the decimal typed (NA 1.4, not 1.399999976158142), as pixel sizes and scales are
                object.__setattr__(self, name, float(number_meant(np.asarray(getattr(self, name))[()])))
        if self.modality == "widefield" and (self.pinhole is not None or self.excitation_wavelength is not None):
            raise ValueError("pinhole and excitation_wavelength apply to the confocal modality only; "
                             "pass modality='confocal' or leave them out")
        if self.modality == "confocal" and self.pinhole is None:  # recorded as used, whichever front left it out
            object.__setattr__(self, "pinhole", DEFAULT_PINHOLE_AU)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, value: Optics | dict[str, Any]) -> Optics:
        """``value`` as Optics: Optics as it is, a dict of its fields (as ``run(optics={...})`` takes them) made into
        one; a TypeError naming an unknown field or another type."""
        if isinstance(value, dict):
            names = [field.name for field in fields(cls)]
            unknown = sorted(set(value) - set(names), key=str)
            if unknown:
                raise TypeError(f"optics has no field {unknown[0]!r}; its fields are {', '.join(names)} (e.g. "
                                "{'na': 1.4, 'wavelength': 520})")
            missing = [name for name in ("na", "wavelength") if name not in value]
            if missing:
                raise TypeError(f"optics need {' and '.join(missing)} (e.g. {{'na': 1.4, 'wavelength': 520}}), got "
                                f"{value!r}")
            return cls(**value)
        if not isinstance(value, cls):
            raise TypeError(f"optics must be an Optics(na=..., wavelength=..., ...) or a dict of its fields, got "
                            f"{type(value).__name__}")
        return value


class PsfGridError(ValueError):
    """A PSF whose grid would be too large to compute (a confocal one's :data:`MAX_CONFOCAL_GRID`; any, a thousand
    pixels across): pixel sizes or wavelengths in the wrong unit, mostly."""


def _check_number(name: str, value: Any, low: float, high: float, meaning: str = "", *,
                  inclusive: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``low < value < high`` (``<=`` both ends with ``inclusive``).

    A 0-d numpy array (what ``np.array(1.4)`` or a reduction such as ``arr.max()`` of an object array gives) is its
    number; text or anything else that is not one number is said to be no number, not to be out of range."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    inside = low <= number <= high if inclusive else low < number < high
    bounds = f"[{low:g}, {high:g}]" if inclusive else f"({low:g}, {high:g})"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):  # "1.4" is text, not an NA
        raise ValueError(f"{name} must be a number in {bounds}{', ' + meaning if meaning else ''}; got "
                         f"{type(value).__name__} {value!r}")
    if not inside:
        raise ValueError(f"{name} must be in {bounds}{', ' + meaning if meaning else ''}; got {value!r}")


def _known_pixel_pair(pixel_size: float | Sequence[float]) -> tuple[float, float]:
    pair = pixel_pair(pixel_size)  # type: ignore[arg-type]
    if pair is None:
        raise ValueError("pixel_size must be a positive number of micrometres, got None")
    return pair


def profile_fwhm(profile: np.ndarray) -> float:
    """Full width at half maximum of a sampled, single-peaked profile (linear interpolation at the crossings)."""
    values = np.asarray(profile, dtype=np.float64)
    peak = int(np.argmax(values))
    half = values[peak] / 2

    def crossing(direction: int) -> float:
        index = peak
        while 0 <= index + direction < len(values) and values[index + direction] > half:
            index += direction
        if not 0 <= index + direction < len(values):
            return index + direction * 0.5  # the profile ends above half maximum: its last sample's edge
        inside, outside = values[index], values[index + direction]
        return index + direction * (inside - half) / (inside - outside)

    return crossing(1) - crossing(-1)


def airy_profile(radius: np.ndarray, na: float, wavelength: float) -> np.ndarray:
    """Paraxial intensity ``[2 J1(v)/v]^2`` at ``radius`` (um), peak 1; ``wavelength`` in nm."""
    v = 2 * np.pi * na * np.asarray(radius, dtype=np.float64) / (wavelength * 1e-3)
    safe = np.where(v == 0, 1.0, v)
    return np.where(v == 0, 1.0, (2 * special.j1(safe) / safe) ** 2)


def vectorial_profile(radius: np.ndarray | float, na: float, wavelength: float, refractive_index: float,
                      defocus: np.ndarray | float = 0.0) -> np.ndarray:
    """Richards-Wolf intensity of an aplanatic objective for unpolarised light at ``radius`` (um), ``defocus`` um
    from the focal plane (the two broadcast against each other); normalised to 1 at the focus."""
    r, z = np.broadcast_arrays(np.asarray(radius, dtype=np.float64), np.asarray(defocus, dtype=np.float64))
    alpha = np.arcsin(na / refractive_index)
    reach = float(np.abs(r).max(initial=0.0)) * na / (wavelength * 1e-3)  # the largest radius, lambda/NA
    nodes, weights = np.polynomial.legendre.leggauss(max(_QUADRATURE_NODES,
                                                         int(np.ceil(_QUADRATURE_NODES_PER_RADIUS * reach))))
    theta = (nodes + 1) * alpha / 2
    weights = weights * alpha / 2
    sin, cos = np.sin(theta), np.cos(theta)
    k = 2 * np.pi * refractive_index / (wavelength * 1e-3)
    argument = k * r[..., None] * sin  # (..., nodes)
    apodisation = np.sqrt(cos) * sin * weights * np.exp(1j * k * z[..., None] * cos)
    i0 = (special.jv(0, argument) * apodisation * (1 + cos)).sum(axis=-1)
    i1 = (special.jv(1, argument) * apodisation * sin).sum(axis=-1)
    i2 = (special.jv(2, argument) * apodisation * (1 - cos)).sum(axis=-1)
    intensity = np.abs(i0) ** 2 + 2 * np.abs(i1) ** 2 + np.abs(i2) ** 2
    focus = (np.sqrt(cos) * sin * weights * (1 + cos)).sum() ** 2
    return intensity / focus


#: radius (in lambda / NA) beyond which the profile is taken as 0: its rings there are below a millionth of the
#: peak, and a pixel size typed in nm instead of um would otherwise ask for millions of samples
PROFILE_REACH = 100.0


def _profile(radius: np.ndarray, optics: Optics, wavelength: float) -> np.ndarray:
    """The model's intensity at every ``radius`` (um), interpolated from a 1D profile sampled 1/64 lambda/NA apart
    (a 2D grid of a thousand pixels across would otherwise cost a billion Bessel evaluations)."""
    step = wavelength * 1e-3 / optics.na / 64
    reach = PROFILE_REACH * wavelength * 1e-3 / optics.na
    samples = np.arange(0, min(radius.max(), reach) + 2 * step, step)
    if optics.model == "vectorial":
        profile = vectorial_profile(samples, optics.na, wavelength, optics.refractive_index)
    else:
        profile = airy_profile(samples, optics.na, wavelength)
    return np.interp(radius, samples, profile, right=0.0)


def _radius_grid(half: tuple[int, int], pixel: tuple[float, float]) -> np.ndarray:
    y = np.arange(-half[0], half[0] + 1) * pixel[0]
    x = np.arange(-half[1], half[1] + 1) * pixel[1]
    return np.hypot(*np.meshgrid(y, x, indexing="ij"))


def _pinhole_radius(optics: Optics) -> float:
    """The pinhole's radius in the sample plane, um (of a confocal's optics, which hold its diameter in Airy units)."""
    assert optics.pinhole is not None  # set for every confocal by Optics
    return optics.pinhole * airy_unit_um(optics.na, optics.wavelength) / 2


def _confocal(optics: Optics, half: tuple[int, int], pixel: tuple[float, float]) -> np.ndarray:
    """Excitation PSF x (emission PSF convolved with the pinhole disk), on a finer grid, then point-sampled."""
    n = _CONFOCAL_OVERSAMPLING
    fine_pixel = (pixel[0] / n, pixel[1] / n)
    fine_half = (half[0] * n, half[1] * n)
    pinhole_radius = _pinhole_radius(optics)
    disk_half = (int(np.ceil(pinhole_radius / fine_pixel[0])), int(np.ceil(pinhole_radius / fine_pixel[1])))
    # the pinhole also passes the emission beyond the grid (a small ``size``): up to DEFAULT_HALF_WIDTH lambda/NA of
    # it, as a PSF of the default size holds; the emission is computed once, on the grid widened by that much
    reach = DEFAULT_HALF_WIDTH * optics.wavelength * 1e-3 / optics.na
    pad = [min(d, int(np.ceil(reach / p))) for d, p in zip(disk_half, fine_pixel)]
    grid = max(2 * (f + p + d) + 2 for f, p, d in zip(fine_half, pad, disk_half))
    if grid > MAX_CONFOCAL_GRID:  # said before any array is made: a MemoryError or minutes otherwise
        raise PsfGridError(f"a confocal PSF of NA {optics.na:g} at {optics.wavelength:g} nm with a pinhole of "
                                f"{optics.pinhole:g} AU sampled at {shown_sizes(pixel)} um would be computed on a "
                                f"grid {grid} samples across (at most {MAX_CONFOCAL_GRID}); check the pixel size (in "
                                "um), the wavelength (in nm) and the pinhole (in Airy units: a wide one widens the "
                                "grid)")
    radius = _radius_grid(fine_half, fine_pixel)
    disk = (_radius_grid(disk_half, fine_pixel) <= pinhole_radius).astype(np.float64)
    through_pinhole = disk.sum() > 1  # a pinhole no wider than a fine pixel passes the emission as it is
    if not through_pinhole:
        pad = [0, 0]
    emission = _profile(_radius_grid((fine_half[0] + pad[0], fine_half[1] + pad[1]), fine_pixel), optics,
                        optics.wavelength)
    if through_pinhole:
        emission = signal.fftconvolve(emission, disk / disk.sum(), mode="same")
    emission = emission[pad[0] : pad[0] + 2 * fine_half[0] + 1, pad[1] : pad[1] + 2 * fine_half[1] + 1]
    excitation = _profile(radius, optics, optics.excitation_wavelength or optics.wavelength)
    return (np.clip(emission, 0, None) * excitation)[::n, ::n]


def theoretical_psf(na: float, wavelength: float, pixel_size: float | Sequence[float], *,
                    refractive_index: float = Optics.refractive_index, modality: Modality = Optics.modality,
                    excitation_wavelength: float | None = None, pinhole: float | None = None,
                    size: int | None = None, model: Model = Optics.model) -> np.ndarray:
    """The 2D in-focus intensity PSF point-sampled at ``pixel_size`` (um), normalised to sum 1.

    ``wavelength``: emission, nm. ``modality="confocal"`` multiplies by the excitation PSF
    (``excitation_wavelength``, default the emission wavelength) and convolves the emission PSF with a pinhole of
    ``pinhole`` Airy units (default 1). ``size``: odd side in pixels (default: ``DEFAULT_HALF_WIDTH`` lambda/NA on
    each side). ``model``: ``"vectorial"`` (default: 5-11 % wider than the Airy pattern at NA 0.75-1.4) or
    ``"paraxial"`` (the Airy pattern; see the module docstring).
    """
    optics = Optics(na, wavelength, refractive_index, modality, excitation_wavelength, pinhole, model)
    return psf_from_optics(optics, pixel_size, size)


def psf_from_optics(optics: Optics, pixel_size: float | Sequence[float], size: int | None = None) -> np.ndarray:
    """:func:`theoretical_psf` for an :class:`Optics`."""
    pixel = _known_pixel_pair(pixel_size)
    check_pixel_size_for_optics(optics.na, optics.wavelength, pixel)
    if size is None:
        extent = DEFAULT_HALF_WIDTH * optics.wavelength * 1e-3 / optics.na
        half = (max(1, int(np.ceil(extent / pixel[0]))), max(1, int(np.ceil(extent / pixel[1]))))
    else:
        # not int(size) first: NaN and infinity would raise Python's own errors, which name no argument
        if isinstance(size, bool) or not isinstance(size, Real) or not float(size).is_integer() or size < 3 \
                or size % 2 == 0:
            raise ValueError(f"size must be an odd whole number >= 3, got {size!r}")
        half = (int(size) // 2, int(size) // 2)
    if max(half) > 1000:
        raise PsfGridError(f"a PSF of NA {optics.na:g} at {optics.wavelength:g} nm sampled at {shown_sizes(pixel)} um "
                           f"would be {2 * max(half) + 1} pixels across; check the pixel size (in um) and the "
                           "wavelength (in nm)")
    if optics.modality == "confocal":
        psf = _confocal(optics, half, pixel)
    else:
        psf = _profile(_radius_grid(half, pixel), optics, optics.wavelength)
    return psf / psf.sum()


def kernel_from_optics(na: float, wavelength: float, pixel_size: float | Sequence[float],
                       scale: float | Sequence[float] = DEFAULT_SCALE, **optics: Any) -> np.ndarray:
    """The ZSSR kernel of a theoretical PSF: ``pixel_size`` is the input image's (um), ``optics`` as
    :func:`theoretical_psf` takes them.

    The PSF is computed at the HR pixel size (``pixel_size / scale``) and goes through :func:`kernel_from_psf` as
    a computed, theoretical PSF: taken as it is, plus the camera pixel's integration (a box of ``scale`` HR
    pixels).
    """
    from .psf import MAX_KERNEL_SIDE, KernelTooWideError, kernel_from_psf

    taken = [field.name for field in fields(Optics) if field.name not in ("na", "wavelength")] + ["size"]
    unknown = sorted(set(optics) - set(taken))
    if unknown:  # Python's own error would name Optics.__init__, which the caller never called
        raise TypeError(f"kernel_from_optics() got an unexpected keyword argument {unknown[0]!r}; it takes the "
                        f"optics as theoretical_psf does: {', '.join(taken)} (e.g. refractive_index=1.518 for oil)")
    image_pixel = _known_pixel_pair(pixel_size)
    size = optics.pop("size", None)
    valid = Optics(na, wavelength, **optics)  # the optics' own errors first, then the pixel size's
    check_pixel_size_for_optics(valid.na, valid.wavelength, image_pixel)
    factors = upscale_factors(scale)  # type: ignore[arg-type]
    hr_pixel = (image_pixel[0] / factors[0], image_pixel[1] / factors[1])
    try:
        psf = psf_from_optics(valid, hr_pixel, size)
    except PsfGridError as error:  # named by the image's pixel size, not the HR grid's only
        raise ValueError(f"{error}; that is the HR grid of the image pixel size {shown_sizes(image_pixel)} um at "
                         f"scale {shown_sizes(factors)}") from None
    try:
        return kernel_from_psf(psf, psf_pixel_size=hr_pixel, pixel_size=image_pixel, scale=scale, measured=False,
                               computed=True)
    except KernelTooWideError as error:  # named by the optics: the PSF's pixel size is only the HR grid's
        raise ValueError(f"the PSF of NA {valid.na:g} at {valid.wavelength:g} nm would become a kernel {error.side} "
                         f"HR pixels wide (at most {MAX_KERNEL_SIDE}) at the image pixel size "
                         f"{shown_sizes(image_pixel)} um and scale {shown_sizes(factors)}: a blur wider than ZSSR can "
                         "use; check the NA, the wavelength and the pixel size (in um)") from None


def check_pixel_size_for_optics(na: float, wavelength: float, pixel_size: float | Sequence[float]) -> None:
    """A clear error when the pixel size (um) dwarfs the optics' PSF (:data:`MIN_PSF_FWHM_PIXELS`): a kernel or a
    lateral PSF at that pixel size would be a single point, which is almost always a pixel size in nm."""
    pixel = max(_known_pixel_pair(pixel_size))
    fwhm = AIRY_FWHM * wavelength * 1e-3 / na
    if fwhm < MIN_PSF_FWHM_PIXELS * pixel:
        raise ValueError(f"pixel_size {pixel:g} um is {pixel / fwhm:.0f} times the PSF's FWHM ({fwhm:.3g} um at "
                         f"NA {na:g}, {wavelength:g} nm): give the pixel size in micrometres (65 nm is 0.065)")


def axial_profile_from_optics(optics: Optics, voxel_size: float) -> np.ndarray:
    """The intensity PSF along the optical axis, point-sampled every ``voxel_size`` um, peak on the centre sample,
    normalised to sum 1: what blurs a z-stack along z.

    Widefield: the Richards-Wolf intensity on the axis (:func:`vectorial_profile` at radius 0), whose FWHM is close
    to the textbook 0.88 lambda / (n - sqrt(n^2 - NA^2)); the same for both models, as the paraxial approximation
    misjudges the axial width at the NAs of fluorescence objectives. Confocal: the excitation's on-axis intensity
    times the emission intensity collected through the pinhole (integrated over its disk) at each defocus. The
    profile spans :data:`AXIAL_HALF_LENGTH` lambda / (n - sqrt(n^2 - NA^2)) each side.
    """
    _check_number("voxel_size", voxel_size, 0.0, float("inf"), "in um")
    n, na = optics.refractive_index, optics.na
    longest = max(optics.wavelength, optics.excitation_wavelength or 0.0)
    half = max(1, int(np.ceil(AXIAL_HALF_LENGTH * longest * 1e-3 / (n - np.sqrt(n**2 - na**2)) / voxel_size)))
    if half > 1000:
        raise ValueError(f"an axial profile of NA {na} at {optics.wavelength} nm sampled every {voxel_size} um would "
                         f"be {2 * half + 1} samples long; check the voxel size (in um) and the wavelength (in nm)")
    defocus = np.arange(-half, half + 1) * voxel_size
    if optics.modality == "confocal":
        excitation = vectorial_profile(0.0, na, optics.excitation_wavelength or optics.wavelength, n, defocus)
        profile = excitation * _through_pinhole(optics, defocus)
    else:
        profile = vectorial_profile(0.0, na, optics.wavelength, n, defocus)
    return profile / profile.sum()


def _through_pinhole(optics: Optics, defocus: np.ndarray) -> np.ndarray:
    """Emission intensity at each ``defocus`` (um) integrated over the pinhole's disk (on the axis for 0 AU)."""
    radius = _pinhole_radius(optics)
    if radius == 0:
        return vectorial_profile(0.0, optics.na, optics.wavelength, optics.refractive_index, defocus)
    count = _PINHOLE_NODES_PER_AU * max(1, int(np.ceil(optics.pinhole)))
    nodes, weights = np.polynomial.legendre.leggauss(count)
    radii, weights = (nodes + 1) * radius / 2, weights * radius / 2
    return sum(weight * r * vectorial_profile(r, optics.na, optics.wavelength, optics.refractive_index, defocus)
               for r, weight in zip(radii, weights))
