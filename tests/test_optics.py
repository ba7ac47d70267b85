import numpy as np
import pytest

from napari_zssr.core.kernels import centre_of_mass
from napari_zssr.core.optics import (
    Optics,
    axial_profile_from_optics,
    kernel_from_optics,
    profile_fwhm,
    theoretical_psf,
    vectorial_profile,
)
from napari_zssr.core.psf import kernel_from_psf


def fwhm(psf: np.ndarray, pixel: float) -> float:
    """Full width at half maximum along the centre row, linearly interpolated, in the units of ``pixel``."""
    centre = psf.shape[0] // 2
    right = psf[centre, centre:] / psf[centre, centre]
    i = int(np.argmax(right < 0.5))
    return 2 * (i - 1 + (right[i - 1] - 0.5) / (right[i - 1] - right[i])) * pixel


def first_zero(psf: np.ndarray, pixel: float) -> float:
    centre = psf.shape[0] // 2
    right = psf[centre, centre:]
    i = int(np.argmax(np.diff(right) > 0))  # the first local minimum
    return i * pixel


@pytest.mark.parametrize(("na", "wavelength"), [(0.3, 600), (0.9, 520), (1.4, 520)])
def test_paraxial_widefield_matches_the_airy_pattern(na, wavelength):
    scale = wavelength * 1e-3 / na
    pixel = scale / 100
    psf = theoretical_psf(na, wavelength, pixel, model="paraxial", refractive_index=1.518)
    assert fwhm(psf, pixel) == pytest.approx(0.51 * scale, rel=0.03)
    assert first_zero(psf, pixel) == pytest.approx(0.61 * scale, abs=pixel)
    assert psf.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(psf), psf.shape) == (psf.shape[0] // 2, psf.shape[1] // 2)


def test_vectorial_model_is_wider_at_high_na_and_agrees_at_low_na():
    def width(na, model, n=1.518):
        pixel = 0.52 / na / 100
        return fwhm(theoretical_psf(na, 520, pixel, model=model, refractive_index=n), pixel)

    assert width(1.4, "vectorial") / width(1.4, "paraxial") == pytest.approx(1.096, abs=0.01)
    assert width(0.3, "vectorial", 1.0) / width(0.3, "paraxial", 1.0) == pytest.approx(1.0, abs=0.01)


def test_a_wide_vectorial_psf_has_no_false_outer_ring():
    """The quadrature over the aperture follows the rings out to PROFILE_REACH: with a fixed 96 nodes the profile
    beyond ~60 lambda/NA came out a thousand times too bright, and held half the light of a PSF that wide."""
    psf = theoretical_psf(1.4, 520, 0.52 / 1.4 / 4, size=801)  # 100 lambda/NA each side
    radius = np.hypot(*(np.indices(psf.shape) - 400)) / 4  # lambda/NA
    assert psf[radius > 50].sum() < 0.01


def test_defocus_spreads_the_vectorial_psf():
    radius = np.linspace(0, 1, 50)
    in_focus = vectorial_profile(radius, 1.4, 520, 1.518)
    defocused = vectorial_profile(radius, 1.4, 520, 1.518, defocus=0.3)
    assert in_focus[0] == pytest.approx(1.0)
    assert defocused[0] < 0.9 and defocused[-1] > in_focus[-1]


def test_confocal_is_narrower_than_widefield():
    pixel = 0.005
    widefield = theoretical_psf(1.2, 520, pixel, refractive_index=1.333)
    confocal = theoretical_psf(1.2, 520, pixel, refractive_index=1.333, modality="confocal",
                               excitation_wavelength=488, pinhole=1.0)
    closed = theoretical_psf(1.2, 520, pixel, refractive_index=1.333, modality="confocal",
                             excitation_wavelength=488, pinhole=0.0)
    assert fwhm(closed, pixel) < fwhm(confocal, pixel) < fwhm(widefield, pixel)
    assert confocal.sum() == pytest.approx(1.0)


def test_a_small_confocal_psf_is_the_centre_of_the_full_one():
    """The pinhole passes emission from beyond a small grid too: a PSF of 5 pixels has the full one's shape."""
    full = theoretical_psf(1.4, 520, 0.05, modality="confocal", pinhole=1.0)
    centre = full.shape[0] // 2
    crop = full[centre - 2 : centre + 3, centre - 2 : centre + 3]
    small = theoretical_psf(1.4, 520, 0.05, modality="confocal", pinhole=1.0, size=5)
    np.testing.assert_allclose(small, crop / crop.sum(), rtol=2e-3)


@pytest.mark.parametrize(("pixel", "pinhole"), [(0.0012, 1.0), (0.0012, 20.0), (0.003, 20.0)])
def test_a_confocal_psf_too_finely_sampled_to_compute_is_refused_before_any_grid_is_made(monkeypatch, pixel, pinhole):
    """Sampled 4x finer for the pinhole, a confocal PSF at a pixel size of a few nm (or with a wide pinhole) took
    minutes and tens of GB before a MemoryError (1.2 nm: 30 000 samples across)."""
    from napari_zssr.core import optics

    made = optics._radius_grid

    def guarded(half, pixel_size):
        assert 2 * max(half) + 1 <= optics.MAX_CONFOCAL_GRID, "a grid too wide to compute was made"
        return made(half, pixel_size)

    monkeypatch.setattr(optics, "_radius_grid", guarded)
    with pytest.raises(ValueError, match=r"confocal PSF .* grid \d+ samples across .* check the pixel size"):
        theoretical_psf(1.4, 520, pixel, modality="confocal", pinhole=pinhole)
    with pytest.raises(ValueError, match="confocal PSF"):  # the kernel: the PSF at the HR pixel size, half of it
        kernel_from_optics(1.4, 520, 2 * pixel, 2, modality="confocal", pinhole=pinhole)
    assert theoretical_psf(1.4, 520, 0.005, modality="confocal").shape == (447, 447)  # finely sampled, still made


@pytest.mark.parametrize(("na", "n", "wavelength"), [(1.2, 1.333, 520), (1.4, 1.518, 520), (0.3, 1.0, 600)])
def test_widefield_axial_profile_has_the_textbook_width_and_is_wider_than_the_lateral_psf(na, n, wavelength):
    textbook = 0.88 * wavelength * 1e-3 / (n - np.sqrt(n**2 - na**2))
    voxel = textbook / 40
    optics = Optics(na, wavelength, n)
    profile = axial_profile_from_optics(optics, voxel)
    assert profile_fwhm(profile) * voxel == pytest.approx(textbook, rel=0.1)
    assert profile.sum() == pytest.approx(1.0) and np.argmax(profile) == len(profile) // 2
    assert np.allclose(profile, profile[::-1])
    lateral = fwhm(theoretical_psf(na, wavelength, voxel, refractive_index=n), voxel)
    assert profile_fwhm(profile) * voxel > 1.5 * lateral


def test_confocal_axial_profile_is_narrower_than_widefield_and_widens_with_the_pinhole():
    voxel = 0.01

    def width(**confocal):
        return profile_fwhm(axial_profile_from_optics(Optics(1.2, 520, 1.333, **confocal), voxel)) * voxel

    widefield = width()
    closed = width(modality="confocal", excitation_wavelength=488, pinhole=0.0)
    airy = width(modality="confocal", excitation_wavelength=488, pinhole=1.0)
    assert closed < airy < widefield
    assert closed == pytest.approx(widefield / np.sqrt(2), rel=0.1)  # a product of two near-equal profiles


def test_axial_profile_refuses_a_bad_voxel_size():
    for bad in (0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="voxel_size"):
            axial_profile_from_optics(Optics(1.2, 520), bad)
    with pytest.raises(ValueError, match="samples long"):
        axial_profile_from_optics(Optics(0.1, 520, 1.0), 0.001)


def test_size_is_honoured():
    assert theoretical_psf(1.0, 500, 0.1, size=15).shape == (15, 15)
    with pytest.raises(ValueError, match="size"):
        theoretical_psf(1.0, 500, 0.1, size=14)
    for size in (float("nan"), float("inf"), "15", 15.5):  # named, not Python's "cannot convert float NaN"
        with pytest.raises(ValueError, match="size must be an odd whole number"):
            theoretical_psf(1.0, 500, 0.1, size=size)
    assert theoretical_psf(1.0, 500, 0.1, size=np.int64(15)).shape == theoretical_psf(1.0, 500, 0.1, size=15.0).shape


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"na": 1.6}, "na"), ({"na": 0.0}, "na"), ({"na": -0.5}, "na"), ({"na": 1.1, "refractive_index": 1.0}, "na"),
    ({"wavelength": 150}, "wavelength"), ({"wavelength": 2500}, "wavelength"), ({"wavelength": float("nan")},
                                                                               "wavelength"),
    ({"pixel_size": 0}, "pixel_size"), ({"pixel_size": float("inf")}, "pixel_size"),
    ({"modality": "lightsheet"}, "modality"), ({"model": "gibson"}, "model"),
    ({"modality": "confocal", "pinhole": -1}, "pinhole"),
    ({"modality": "confocal", "excitation_wavelength": 100}, r"excitation_wavelength.*e\.g\. 488 for GFP excitation"),
    ({"pinhole": 1.0}, "confocal"), ({"refractive_index": 0.9}, "refractive_index"),
    ({"na": "1.4"}, "na"), ({"wavelength": None}, "wavelength"),
])
def test_bad_optics_are_named(kwargs, named):
    arguments = {"na": 1.2, "wavelength": 520, "pixel_size": 0.05, **kwargs}
    with pytest.raises(ValueError, match=named):
        theoretical_psf(arguments.pop("na"), arguments.pop("wavelength"), arguments.pop("pixel_size"), **arguments)


def test_kernel_from_optics_is_a_centred_normalised_kernel_with_the_camera_box():
    kernel = kernel_from_optics(1.4, 520, 0.13, 2)
    assert kernel.sum() == pytest.approx(1.0)
    assert centre_of_mass(kernel) == pytest.approx(((kernel.shape[0] - 1) / 2, (kernel.shape[1] - 1) / 2), abs=1e-6)
    psf_only = kernel_from_psf(theoretical_psf(1.4, 520, 0.065), psf_pixel_size=0.065, pixel_size=0.13, scale=2,
                               measured=True, computed=True)
    assert kernel.shape[0] == psf_only.shape[0] + 1  # the 2x2 camera box widens it by one HR pixel


@pytest.mark.parametrize(("na", "wavelength", "pixel", "n"), [(1.4, 520, 0.13, 1.518), (0.75, 520, 0.325, 1.0),
                                                              (0.8, 450, 0.65, 1.0)])
def test_sampling_is_consistent_with_kernel_from_psf(na, wavelength, pixel, n):
    """A PSF computed at the HR pixel size and one computed 4x finer give the same kernel within 1 %."""
    hr = pixel / 2
    kernels = [kernel_from_psf(theoretical_psf(na, wavelength, size, refractive_index=n), psf_pixel_size=size,
                               pixel_size=pixel, scale=2, computed=True) for size in (hr, hr / 4)]
    side = max(k.shape[0] for k in kernels)
    padded = [np.pad(k, (side - k.shape[0]) // 2) for k in kernels]
    assert np.abs(padded[0] - padded[1]).max() < 0.01 * padded[0].max()
    assert np.abs(padded[0] - padded[1]).sum() < 0.01
    assert np.allclose(kernels[0], kernel_from_optics(na, wavelength, pixel, 2, refractive_index=n))


def test_computed_psf_keeps_its_faint_rings():
    """Background subtraction would read the rings at the border of a computed PSF as an offset and cut them."""
    psf = theoretical_psf(0.8, 450, 0.325 / 4, refractive_index=1.0)
    as_measured = kernel_from_psf(psf, psf_pixel_size=0.325 / 4, pixel_size=0.65, scale=2, measured=False)
    as_computed = kernel_from_psf(psf, psf_pixel_size=0.325 / 4, pixel_size=0.65, scale=2, computed=True)
    assert as_computed.shape[0] > as_measured.shape[0]


@pytest.mark.parametrize("scale", [0, -2, 1, 100])
def test_every_kernel_source_names_a_bad_scale(scale):
    from napari_zssr.core.blind import estimate_kernel

    image = np.random.default_rng(0).random((32, 32))
    psf = np.outer(*2 * [np.exp(-np.arange(-4, 5) ** 2 / 4.0)])
    for make in (lambda: kernel_from_optics(1.4, 520, 0.1, scale), lambda: estimate_kernel(image, scale),
                 lambda: kernel_from_psf(psf, psf_pixel_size=0.05, pixel_size=0.1, scale=scale)):
        with pytest.raises(ValueError, match="scale must be"):
            make()


def test_a_pixel_size_in_nm_is_refused():
    """A PSF of 0.003 pixels would silently be a point (a kernel: the camera box): a pixel size that far above the
    PSF is one typed in nm where um are asked for."""
    for make in (lambda: kernel_from_optics(1.4, 520, 65), lambda: theoretical_psf(1.4, 520, 65)):
        with pytest.raises(ValueError, match="pixel_size 65 um .* micrometres"):
            make()
    assert kernel_from_optics(0.1, 520, 40.0).shape[0] >= 2  # a wide-field 4x overview at 40 um: still a kernel


def test_a_kernel_too_wide_names_the_optics_not_a_psf_pixel_size_nobody_gave():
    with pytest.raises(ValueError) as error:
        kernel_from_optics(0.05, 510, 0.1)
    assert str(error.value).startswith("the PSF of NA 0.05 at 510 nm would become a kernel 1227 HR pixels wide (at "
                                       "most 255) at the image pixel size 0.1 um and scale 2: ")
    assert "PSF pixel size" not in str(error.value)


@pytest.mark.parametrize(("na", "wavelength", "named"), [(0, 520, "na must be"), (-1, 520, "na must be"),
                                                         (1.4, 0.52, "wavelength must be")])
def test_bad_optics_are_named_before_the_pixel_size_is_judged(na, wavelength, named):
    """A wavelength typed in um (0.52) is the wavelength's error, not the pixel size's; an NA of 0 no division."""
    with pytest.raises(ValueError, match=named):
        kernel_from_optics(na, wavelength, 0.1)


def test_optics_given_numpy_numbers_hold_floats_for_the_records():
    import json

    optics = Optics(np.float32(1.4), np.int64(520), np.float64(1.518))
    assert all(type(v) is float for v in (optics.na, optics.wavelength, optics.refractive_index))
    json.dumps(optics.to_dict())
    # float32 (a table's column) as the numbers typed, not 1.399999976158142 in every record and message
    confocal = Optics(*np.float32([1.4, 520.5, 1.518]), "confocal", np.float32(488.1), np.array(0.8, np.float32))
    assert confocal == Optics(1.4, 520.5, 1.518, "confocal", 488.1, 0.8)


def test_optics_given_0d_arrays_are_their_numbers_and_text_is_no_number():
    """``np.array(1.4)`` (as ``arr.max()`` or a loaded .npy scalar gives) was refused as out of range: 'na must be in
    (0, 1.518) ...; got array(1.4)', a value that is in range."""
    optics = Optics(np.array(1.4), np.array(520), np.array(1.518), "confocal", np.array(488.0), np.array(1.0))
    assert optics == Optics(1.4, 520, 1.518, "confocal", 488.0, 1.0)
    assert all(type(v) is float for v in (optics.na, optics.wavelength, optics.pinhole))
    assert np.array_equal(theoretical_psf(np.array(1.4), np.array(520), 0.065), theoretical_psf(1.4, 520, 0.065))
    for value in ("1.4", np.array([1.4]), None):
        with pytest.raises(ValueError, match=r"na must be a number in \(0, 1.518\)"):
            Optics(value, 520)
    with pytest.raises(ValueError, match=r"na must be in \(0, 1.518\)"):  # a number: out of range
        Optics(np.array(1.6), 520)


def test_kernel_from_optics_names_itself_and_what_it_takes_for_an_unknown_keyword():
    """It said 'Optics.__init__() got an unexpected keyword argument', naming a class the caller never called."""
    with pytest.raises(TypeError, match=r"^kernel_from_optics\(\) got an unexpected keyword argument 'immersion'; "
                                        r"it takes .*refractive_index, modality, .*size"):
        kernel_from_optics(1.4, 520, 0.065, immersion="oil")


def test_optics_of_a_dict_names_an_unknown_or_a_missing_field():
    assert Optics.of({"na": 1.4, "wavelength": 520}) == Optics(1.4, 520)
    with pytest.raises(TypeError, match="optics has no field 'NA'"):
        Optics.of({"NA": 1.4, "wavelength": 520})
    with pytest.raises(TypeError, match=r"optics need wavelength \(e.g."):  # not Python's "missing 1 argument"
        Optics.of({"na": 1.4})
    with pytest.raises(TypeError, match="optics must be an Optics"):
        Optics.of((1.4, 520))


def test_a_kernel_from_optics_too_finely_sampled_is_named_by_the_image_pixel_size():
    """The error named the HR grid's spacing as a tuple, "(0.0005, 0.0005) um", a value the caller never typed."""
    from napari_zssr import kernel_from_optics

    with pytest.raises(ValueError, match=r"sampled at 0.0005 um would be 4459 pixels across; .*; that is the HR grid "
                                         r"of the image pixel size 0.001 um at scale 2"):
        kernel_from_optics(1.4, 520, 1e-3)
