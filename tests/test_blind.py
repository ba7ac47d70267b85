import json
import time
import warnings

import numpy as np
import pytest
from blurred_images import IMAGES, hr_psf, record
from skimage import color, data

from napari_zssr import KernelNoteWarning, zssr
from napari_zssr.core.blind import _psf_on_grid, estimate_kernel
from napari_zssr.core.psf import kernel_from_psf
from napari_zssr.kernel_choice import describe_kernel


@pytest.fixture(scope="module")
def objects() -> dict[str, np.ndarray]:
    return {name: make() for name, make in IMAGES.items()}


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("kind", ["gaussian", "airy"])
def test_fwhm_of_a_known_blur_within_15_percent(objects, name, kind):
    for fwhm in (1.5, 2.5, 4.0):
        estimate = estimate_kernel(record(objects[name], hr_psf(kind, fwhm)))
        assert estimate.fwhm == pytest.approx(fwhm, rel=0.15), (name, kind, fwhm)


@pytest.mark.parametrize("factor", [1e-150, 1e-50, 1e50, 1e150])
def test_the_estimate_does_not_depend_on_the_intensity_scale(objects, factor):
    image = record(objects[next(iter(IMAGES))], hr_psf("gaussian", 2.5))
    assert estimate_kernel(image * factor).fwhm == estimate_kernel(image).fwhm


def test_a_psf_narrower_than_a_pixel_falls_back_to_bicubic(objects):
    for name in ("filaments", "grass"):
        estimate = estimate_kernel(record(objects[name], hr_psf("airy", 0.5)))
        assert estimate.fwhm < 1.0, name
        assert estimate.kernel is None and "bicubic" in estimate.fallback
        assert estimate.to_dict()["kernel_shape"] is None


def test_when_the_object_misleads_it_the_estimate_errs_narrow():
    """A photograph's Airy blur is read as a narrower Gaussian (its soft edges weigh against the Airy's tails):
    too narrow, never too wide."""
    astronaut = color.rgb2gray(data.astronaut())[128:384, 128:384]
    for fwhm in (1.5, 2.5, 4.0):
        estimate = estimate_kernel(record(astronaut, hr_psf("airy", fwhm)))
        assert estimate.fwhm <= fwhm * 1.05


@pytest.mark.parametrize("name", list(IMAGES))
def test_noise_is_not_read_as_sharpness_nor_as_blur(objects, name):
    """Ten times fewer photons and twice the read noise: the noise floor of the fit keeps the width near the
    truth; what bias remains is towards narrow."""
    for fwhm in (1.5, 3.0):
        noisy = record(objects[name], hr_psf("airy", fwhm), photons=100, read_noise=0.02)
        assert 0.75 * fwhm <= estimate_kernel(noisy).fwhm <= 1.15 * fwhm, fwhm


def test_the_kernel_is_the_model_psf_through_kernel_from_psf(objects, tiny_config):
    lr = record(objects["fluorescence"], hr_psf("airy", 3.5))
    estimate = estimate_kernel(lr, scale=2)
    assert estimate.fallback is None
    psf = _psf_on_grid(estimate.fwhm, estimate.model, (0.5, 0.5))
    expected = kernel_from_psf(psf, psf_pixel_size=0.5, pixel_size=1.0, scale=2, computed=True)
    np.testing.assert_allclose(estimate.kernel, expected)
    np.testing.assert_allclose(estimate.kernel_for(2), expected)
    finer = _psf_on_grid(estimate.fwhm, estimate.model, (0.25, 0.25))
    np.testing.assert_allclose(estimate.kernel_for(4), kernel_from_psf(finer, psf_pixel_size=0.25, pixel_size=1.0,
                                                                       scale=4, computed=True))
    assert estimate.kernel.sum() == pytest.approx(1.0) and estimate.kernel.min() >= 0
    result = zssr(lr[:40, :40], 2, kernel=estimate.kernel, config=tiny_config)
    assert result.sr.shape == (80, 80)


def test_metadata_and_units(objects):
    lr = record(objects["filaments"], hr_psf("gaussian", 2.5))
    estimate = estimate_kernel(lr, scale=2, pixel_size=0.1)
    assert estimate.fwhm_um == pytest.approx(estimate.fwhm * 0.1)
    info = json.loads(json.dumps(estimate.to_dict()))
    assert info["source"] == "estimate" and info["model"] in ("airy", "gaussian")
    assert info["fwhm_px"] == pytest.approx(estimate.fwhm, abs=1e-3)
    assert "power law" in info["assumptions"]
    assert estimate_kernel(lr).fwhm_um is None


def test_estimates_of_one_image_are_equal(objects):
    """Equality compares what the kernel is made from (not the array, nor the seconds taken): no ValueError."""
    image = record(objects["filaments"], hr_psf("airy", 3.0))
    first, again = estimate_kernel(image), estimate_kernel(image)
    assert first == again and hash(first) == hash(again)
    assert first != estimate_kernel(image, scale=3)


def test_a_spectrum_without_a_noise_floor_is_recorded_as_strict_json(objects):
    """A noise-free image fits no floor: its infinite signal-to-noise is null in the record, which other programs
    read (JSON has no Infinity)."""
    estimate = estimate_kernel(record(objects["filaments"], hr_psf("gaussian", 1.5), photons=0, read_noise=0)[:64, :64])
    assert estimate.spectral_snr == float("inf")
    assert json.loads(json.dumps(estimate.to_dict(), allow_nan=False))["spectral_snr"] is None


def test_unequal_pixel_sizes_keep_the_psf_round_in_micrometres(objects):
    lr = record(objects["filaments"], hr_psf("gaussian", 3.0))
    kernel = estimate_kernel(lr, pixel_size=(0.1, 0.2)).kernel  # y pixels half as tall: the PSF spans more of them
    rows, cols = np.indices(kernel.shape)
    spread_y = (kernel * (rows - (rows * kernel).sum()) ** 2).sum()
    spread_x = (kernel * (cols - (cols * kernel).sum()) ** 2).sum()
    assert spread_y > 2 * spread_x


def test_a_stack_is_estimated_once_from_several_planes(objects):
    psf = hr_psf("airy", 2.5)
    planes = [record(objects["filaments"], psf, seed=seed) for seed in range(11)] + [np.zeros((128, 128))]
    stack = np.stack(planes)
    estimate = estimate_kernel(stack)
    assert estimate.planes == 8
    assert estimate.fwhm == pytest.approx(2.5, rel=0.15)
    assert estimate_kernel(stack.reshape(3, 4, 128, 128)).fwhm == estimate.fwhm


def test_a_saturated_hot_pixel_does_not_hide_the_blur(objects):
    """Its flat spectrum read as a noise floor above every structure: "pure noise", or no kernel, for one pixel."""
    image = record(objects["filaments"], hr_psf("airy", 3.0))
    clean = estimate_kernel(image)
    image[40, 40] = 1000 * image.max()
    estimate = estimate_kernel(image)
    assert estimate.fwhm == pytest.approx(clean.fwhm, rel=0.05) and estimate.kernel is not None
    assert "1 pixel(s) standing out alone (hot pixels, cosmic rays)" in estimate.assumptions
    assert "standing out" not in clean.assumptions
    rows, cols = np.random.default_rng(1).integers(0, image.shape[0], (2, 60))  # 0.4 % of the pixels
    image[rows, cols] = 1000 * image.max()  # so many that they set the 99.9th percentile themselves
    assert estimate_kernel(image).fwhm == pytest.approx(clean.fwhm, rel=0.05)


def test_pure_noise_raises_a_clear_error():
    rng = np.random.default_rng(0)
    for noise in (rng.normal(100, 5, (128, 128)), rng.poisson(3, (64, 96)).astype(np.uint16)):
        with pytest.raises(ValueError, match="pure noise"):
            estimate_kernel(noise)
    with pytest.raises(ValueError, match="planes of 16 x 16 pixels hold too few frequencies"):  # not only noise
        estimate_kernel(np.random.default_rng(0).random((16, 16)))


@pytest.mark.parametrize(("image", "message"), [
    (np.full((64, 64), 7.0), "constant"),
    (np.zeros((4, 64, 64)), "constant"),
    (np.full((64, 64), np.nan), "NaN"),
    (np.ones(64), "at least 2 dimensions"),
    (np.ones((8, 64)), "at least 16 x 16 pixels, got 8 x 64; choose another kernel source"),
    # not 'choose another kernel source': a colour picture's planes were read as its rows of 3 channels
    (np.random.default_rng(0).random((64, 64, 3)), r"got 64 x 3; an RGB\(A\) image\? the estimate takes one channel"),
    (np.random.default_rng(0).random((64, 64, 2)), r"got 64 x 2; its last axis of 2 looks like channels"),
])
def test_unusable_images_raise_a_clear_error(image, message):
    with pytest.raises(ValueError, match=message):
        estimate_kernel(image)


@pytest.mark.parametrize("name", ["cells.tif", b"cells.tif"])
def test_a_file_name_is_not_read_as_an_image(name):
    """It was refused as "a real-valued numeric array, got dtype <U9", which does not say that it is a name."""
    from napari_zssr import estimate_resolution

    for estimate in (estimate_kernel, estimate_resolution):
        with pytest.raises(TypeError, match=r"the image is a file name \('cells.tif'\), not an array: read it first"):
            estimate(name)


@pytest.mark.parametrize("pattern", ["checkerboard", "one bright row"])
def test_degenerate_spectra_fall_back_without_numpy_warnings(pattern):
    image = np.indices((64, 64)).sum(0) % 2 if pattern == "checkerboard" else np.eye(64)[30][:, None] * np.ones(64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate = estimate_kernel(image.astype(float))
    assert estimate.kernel is None and estimate.fallback


def test_a_wide_estimate_still_makes_a_kernel_at_scale_4(objects):
    """An Airy pattern of 9 pixels at scale 4 spans more than a kernel may hold: its outer rings are cut."""
    estimate = estimate_kernel(record(objects["grass"], hr_psf("airy", 9.0)), scale=4)
    assert estimate.kernel is not None and estimate.kernel.shape[0] <= 255
    assert estimate.kernel.sum() == pytest.approx(1.0)


def test_a_kernel_needs_an_integer_scale(objects):
    with pytest.raises(ValueError, match="integer scale"):
        estimate_kernel(record(objects["grass"], hr_psf("airy", 2.0)), scale=1.5)


def test_it_costs_well_under_a_second_on_a_256_plane(objects):
    image = np.tile(record(objects["grass"], hr_psf("airy", 2.0)), (2, 2))
    start = time.perf_counter()
    estimate_kernel(image)
    assert time.perf_counter() - start < 1.0


def test_a_fallback_runs_zssr_with_the_bicubic_kernel_and_says_why(objects, tiny_config):
    lr = record(objects["filaments"], hr_psf("airy", 0.5))
    with pytest.warns(KernelNoteWarning, match="kernel estimate: PSF FWHM .* too narrow"):  # said in scripts too
        result = zssr(lr[:40, :40], 2, kernel="estimate", config=tiny_config)
    assert result.kernel["source"] == "estimate" and "bicubic" in result.kernel["fallback"]
    assert result.notes == [result.kernel["note"]]
    assert "too narrow" in describe_kernel(result.kernel) and "no kernel (bicubic)" in describe_kernel(result.kernel)
