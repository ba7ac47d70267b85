import json

import numpy as np
import pytest
from blurred_images import AIRY_FWHM, IMAGES, hr_psf, record

from napari_zssr.core.resolution import _peak, estimate_resolution


@pytest.fixture(scope="module")
def objects() -> dict[str, np.ndarray]:
    return {name: make() for name, make in IMAGES.items()}


@pytest.mark.parametrize("name", list(IMAGES))
def test_resolution_grows_with_the_psf_and_is_near_the_abbe_limit(objects, name):
    """Airy PSFs whose OTF cut-off lies below Nyquist, good SNR: the estimate follows lambda / (2 NA) from above
    (it finds the highest frequency with usable signal, a little below the OTF's hard cut-off)."""
    found = []
    for fwhm in (3.0, 4.0, 6.0):
        abbe = fwhm / AIRY_FWHM / 2  # lambda / (2 NA) in pixels
        resolution = estimate_resolution(record(objects[name], hr_psf("airy", fwhm), photons=10000,
                                                read_noise=0.002)).resolution
        assert 0.95 * abbe <= resolution <= 1.35 * abbe, fwhm
        found.append(resolution)
    assert found[0] < found[1] < found[2]


def test_a_sharp_image_is_resolved_near_nyquist(objects):
    estimate = estimate_resolution(record(objects["filaments"], hr_psf("airy", 1.0), photons=10000,
                                          read_noise=0.002))
    assert 2.0 <= estimate.resolution < 2.5


def test_noise_worsens_the_resolution(objects):
    psf = hr_psf("airy", 3.0)
    clean = estimate_resolution(record(objects["fluorescence"], psf, photons=10000, read_noise=0.002))
    noisy = estimate_resolution(record(objects["fluorescence"], psf, photons=300, read_noise=0.02))
    assert noisy.resolution > clean.resolution
    assert noisy.amplitude < clean.amplitude


def test_micrometres_metadata_and_stacks(objects):
    plane = record(objects["grass"], hr_psf("airy", 3.0), photons=10000, read_noise=0.002)
    estimate = estimate_resolution(plane, pixel_size=0.1)
    assert estimate.resolution_um == pytest.approx(estimate.resolution * 0.1)
    assert json.loads(json.dumps(estimate.to_dict()))["resolution_px"] == pytest.approx(estimate.resolution,
                                                                                          abs=1e-3)
    stack = np.stack([plane, np.zeros_like(plane), plane[::-1]])[None]
    in_stack = estimate_resolution(stack)
    assert in_stack.planes == 2
    assert in_stack.resolution == pytest.approx(estimate.resolution, rel=0.05)


def test_pixels_of_unequal_sides_read_the_resolution_of_square_ones_in_micrometres():
    """One object behind one round blur, sampled at 0.1 x 0.1, 0.1 x 0.2 and 0.2 x 0.1 um: the resolution is the
    same in um (it read 13-18 % finer on the unequal pixels, measured in circles of pixels instead of space); in
    pixels, of their geometric mean."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    fine = np.zeros((512, 512))  # 0.05 um pixels
    fine[rng.integers(0, 512, 5000), rng.integers(0, 512, 5000)] = 1
    fine = ndimage.gaussian_filter(fine, 0.8 / 2.355 / 0.05) * 20000 + 10  # a blur of 0.8 um FWHM

    def sampled(y: int, x: int) -> np.ndarray:
        return rng.poisson(fine.reshape(512 // y, y, 512 // x, x).mean(axis=(1, 3))).astype(float)

    square = estimate_resolution(sampled(2, 2), 0.1).resolution_um
    for y, x in ((2, 4), (4, 2)):
        estimate = estimate_resolution(sampled(y, x), (0.05 * y, 0.05 * x))
        assert estimate.resolution_um == pytest.approx(square, rel=0.06)
        assert estimate.resolution == pytest.approx(estimate.resolution_um / np.sqrt(0.05 * y * 0.05 * x))


def test_planes_too_small_to_read_a_resolution_from_are_refused():
    """Windows of 32-64 pixels a side read a blurred picture 0.65-0.83x as fine as its 256 x 256 field does (their
    noise wobbles into peaks at high frequencies): a wrong number is worse than none."""
    from scipy import ndimage

    for side in (24, 64, 95):
        blurred = ndimage.gaussian_filter(np.random.default_rng(0).random((side, 120)), 4)
        with pytest.raises(ValueError, match=rf"planes \({side} x 120 pixels\) are too small .* at least 96 x 96"):
            estimate_resolution(blurred)

    rgb = ndimage.gaussian_filter(np.random.default_rng(0).random((128, 128, 3)), (4, 4, 0))
    with pytest.raises(ValueError, match=r"\(128 x 3 pixels\) are too small .* an RGB\(A\) image\? the estimate takes "
                                         r"one channel: pass image\[\.\.\., c\]"):
        estimate_resolution(rgb)

    class Unreadable:  # a lazily opened stack: refused by its shape, before any plane is read
        shape, dtype = (1000, 24, 24), np.dtype(np.float32)

        def __getitem__(self, index):
            raise AssertionError("a plane was read")

    with pytest.raises(ValueError, match="too small"):
        estimate_resolution(Unreadable())


def test_a_saturated_hot_pixel_does_not_hide_the_resolution(objects):
    image = record(objects["filaments"], hr_psf("airy", 4.0), photons=10000, read_noise=0.002)
    clean = estimate_resolution(image).resolution
    image[40, 40] = 1000 * image.max()
    assert estimate_resolution(image).resolution == pytest.approx(clean, rel=0.05)


@pytest.mark.parametrize("size", [96, 128, 200])
def test_pure_noise_and_constant_images_raise_a_clear_error(size):
    """Small images too: their few frequencies make the curves wobble into small peaks."""
    rng = np.random.default_rng(size)
    for noise in (rng.normal(0, 1, (size, size)), rng.random((size, size)), rng.poisson(5, (size, size))):
        with pytest.raises(ValueError, match="pure noise"):
            estimate_resolution(noise)
    with pytest.raises(ValueError, match="constant"):
        estimate_resolution(np.ones((size, size)))


def test_a_curve_rising_to_its_end_has_no_peak_but_a_dip_before_the_end_does():
    assert _peak(np.linspace(0, 1, 20)) == (0, 0.0)
    curve = np.concatenate([np.linspace(0, 0.6, 10), np.linspace(0.5, 0.7, 10)])
    assert _peak(curve) == (9, pytest.approx(0.6))


def test_the_run_report_gives_the_interpolations_reading_beside_the_outputs():
    """Decorrelation analysis alone reads the input's interpolated noise as detail (bicubic interpolation of the
    sample read 0.159 um against its input's 0.386): read with the input's noise added, interpolation gains nothing
    and an output that holds the finer detail of the object reads it."""
    import torch

    from napari_zssr.core.resize import resize
    from napari_zssr.resolution_report import describe_resolution, resolution_report
    from napari_zssr.sample import SAMPLE_HR_SHAPE, SAMPLE_PHOTONS, microscopy_sample, synthetic_fluorescence

    sample = microscopy_sample()
    interpolated = resize(torch.as_tensor(sample.image * 1.0)[None, None], SAMPLE_HR_SHAPE)[0, 0].numpy()
    report = resolution_report(sample.image, interpolated, (2.0, 2.0), 0.13)
    assert report["output_um"] > 0.95 * report["input_um"]  # no gain from interpolation (0.159 um before)
    assert report["interpolation_um"] == report["output_um"]  # the output here is that interpolation
    truth = synthetic_fluorescence(SAMPLE_HR_SHAPE, 0) * SAMPLE_PHOTONS + 100  # the object the sample was made from
    sharp = resolution_report(sample.image, truth, (2.0, 2.0), 0.13)
    assert sharp["output_um"] < 0.5 * sharp["input_um"] and sharp["interpolation_um"] == report["interpolation_um"]
    assert describe_resolution(report).endswith(f"(bicubic interpolation alone: {report['interpolation_um']:.3g} µm)")
    stack = resolution_report(np.stack([sample.image] * 3), np.stack([interpolated] * 3), (2.0, 2.0), None)
    assert stack["interpolation_px"] == stack["output_px"] and stack["interpolation_um"] is None


def test_the_run_report_measures_the_same_centre_field_of_input_and_output():
    from scipy import ndimage

    from napari_zssr.resolution_report import REPORT_WINDOW, centre_windows, resolution_report

    rng = np.random.default_rng(0)
    image = ndimage.gaussian_filter(rng.random((700, 600)), 2) + rng.normal(0, 1e-3, (700, 600))
    sr = np.kron(image, np.ones((2, 2)))  # each input pixel becomes 2 x 2 output pixels
    inner, outer = (window[()] for window in centre_windows(image, sr, (2.0, 2.0)))
    assert inner.shape == (REPORT_WINDOW, REPORT_WINDOW) and outer.shape == (2 * REPORT_WINDOW, 2 * REPORT_WINDOW)
    np.testing.assert_array_equal(outer[::2, ::2], inner)  # the same field
    top, left = (700 - REPORT_WINDOW) // 2, (600 - REPORT_WINDOW) // 2
    np.testing.assert_array_equal(inner, image[top:top + REPORT_WINDOW, left:left + REPORT_WINDOW])
    report = resolution_report(image, sr, (2.0, 2.0), 0.1)
    assert report["field_px"] == [REPORT_WINDOW, REPORT_WINDOW]
    assert report["input_px"] == round(estimate_resolution(inner).resolution, 3)
    small = image[:100, :90]
    assert [a.shape for a in centre_windows(small, sr[:200, :180], (2.0, 2.0))] == [(100, 90), (200, 180)]


def test_the_run_report_reads_each_plane_of_a_lazy_stack_once():
    """The report read each analysed input plane five times (its own reading, its noise level, and the interpolation
    of every noise draw): a lazy stack's planes came from its file again each time."""
    from scipy import ndimage

    from napari_zssr.resolution_report import resolution_report

    rng = np.random.default_rng(0)
    image = np.stack([ndimage.gaussian_filter(rng.random((128, 112)), 2) + rng.normal(0, 1e-3, (128, 112))
                      for _ in range(3)])
    reads: list[tuple[int, ...]] = []

    class CountedReads:
        shape, dtype = image.shape, image.dtype

        def __getitem__(self, index):
            reads.append(tuple(index))
            return image[index]

    report = resolution_report(CountedReads(), np.kron(image, np.ones((1, 2, 2))), (2.0, 2.0), None)
    assert "input_px" in report, report
    assert sorted(reads) == sorted(set(reads)) and reads, reads


def test_the_report_on_planes_too_thin_names_their_size_not_the_centre_windows():
    """It said "8 x 512 pixels" of an 8 x 4000 image: the size of the window it analyses."""
    from napari_zssr.resolution_report import resolution_report

    report = resolution_report(np.ones((8, 4000)), np.ones((16, 8000)), (2.0, 2.0), None)
    assert report == {"note": "resolution not measured: the image's planes (8 x 4000 pixels) are too small for this "
                              "estimate; they need at least 96 x 96 pixels"}


def test_the_report_reads_float64_values_beyond_float32_as_it_reads_them_scaled_down():
    """The input's noise level is read in float32: at a largest magnitude of 1, so that data near 1e300 fit."""
    from scipy import ndimage

    from napari_zssr.resolution_report import resolution_report

    rng = np.random.default_rng(0)
    image = ndimage.gaussian_filter(rng.random((128, 128)), 2) + rng.normal(0, 0.01, (128, 128))
    sr = np.kron(image, np.ones((2, 2)))
    plain, huge = (resolution_report(image * size, sr * size, (2.0, 2.0), 0.1) for size in (1.0, 1e300))
    assert "output_px" in huge and huge["output_px"] == plain["output_px"]


def test_an_input_too_noisy_to_read_beyond_its_band_gets_no_output_figure():
    """Output and interpolation both read the output's sampling limit (2 of its pixels) when the input's noise hid
    every cutoff: a 3.3x gain reported where nothing could be told."""
    import torch
    from scipy import ndimage

    from napari_zssr.core.resize import resize
    from napari_zssr.resolution_report import describe_resolution, resolution_report

    rng = np.random.default_rng(1)
    truth = ndimage.gaussian_filter(rng.random((192, 192)), 2.4, mode="wrap")
    truth = (truth - truth.min()) / np.ptp(truth)
    noisy = truth.reshape(96, 2, 96, 2).mean((1, 3)) + rng.normal(0, 0.08, (96, 96))
    interpolated = resize(torch.as_tensor(noisy)[None, None], (192, 192))[0, 0].numpy()
    report = resolution_report(noisy, interpolated, (2.0, 2.0), 0.1)
    assert "output_um" not in report
    assert describe_resolution(report).startswith("resolution ") and "-> not measured: the input's noise" in \
        describe_resolution(report)
