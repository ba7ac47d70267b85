"""A smooth background (haze, uneven illumination) taken off a plane before a run learns from it and put back,
interpolated, after: the network sees the structures at the full intensity range, the outputs keep the background."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import ZSSRConfig, zssr, zssr_axial
from napari_zssr.core.background import fitted_planes, lower_envelope, without_background
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.inference import InferenceOutput
from napari_zssr.core.resize import downscale_with_kernel, resize


def spots(shape=(96, 96), seed=0) -> np.ndarray:
    """Sparse blurred spots in 0-1 on a dark ground (fluorescent puncta)."""
    points = np.zeros(shape)
    rng = np.random.default_rng(seed)
    points[tuple(rng.integers(4, shape[0] - 4, (2, 60)))] = rng.uniform(0.5, 1.0, 60)
    image = ndimage.gaussian_filter(points, 1.2)
    return image / image.max()


def ramp(shape, height: float) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return height * (0.6 * rows / shape[0] + 0.4 * cols / shape[1])


def as_batch(plane: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(plane, dtype=torch.float64)[None, None]


def normalised(plane: np.ndarray) -> torch.Tensor:
    """``plane`` as a run gets it: an intensity range of 0-1."""
    return as_batch((plane - plane.min()) / np.ptp(plane))


def test_the_lower_envelope_of_spots_on_a_ramp_is_the_ramp():
    plane = spots() + ramp((96, 96), 3.0)
    envelope = lower_envelope(as_batch(plane), 8)[0, 0].numpy()
    inner = (slice(12, -12), slice(12, -12))  # the reflected border bends a ramp's envelope
    assert np.abs(envelope - ramp((96, 96), 3.0))[inner].max() < 0.1  # of a ramp 3 high: the spots are off
    assert np.abs(envelope - plane)[inner].max() > 0.5  # and the spots are not in it


def test_the_fitted_planes_are_the_least_squares_planes():
    values = np.random.default_rng(3).random((2, 1, 7, 9))
    rows, cols = np.mgrid[0:7, 0:9]
    design = np.column_stack([np.ones(63), rows.ravel(), cols.ravel()])
    for image, plane in zip(values[:, 0], fitted_planes(values)[:, 0], strict=True):
        coefficients = np.linalg.lstsq(design, image.ravel(), rcond=None)[0]
        np.testing.assert_allclose(plane, (design @ coefficients).reshape(7, 9), atol=1e-12)


def test_the_plane_less_its_background_spans_0_to_1_and_restores_to_the_plane():
    plane = normalised(spots() + ramp((96, 96), 3.0))
    rest, background = without_background(plane, 8)
    low, high = np.percentile(rest.numpy(), (0.1, 99.9))
    assert low == pytest.approx(0, abs=1e-9) and high == pytest.approx(1, abs=1e-9)
    assert 0.2 < background.contrast < 0.3  # the spots' range, not the ramp's: 1 of 4
    assert torch.allclose(background.offset + background.contrast * rest, plane, atol=1e-9)


def test_the_background_put_back_is_upscaled_so_that_the_kernel_maps_it_onto_the_input_s():
    plane = normalised(spots() + ramp((96, 96), 3.0))
    rest, background = without_background(plane, 8)
    degradation = Degradation.create((2.0, 2.0), gaussian_kernel(2.0), torch.device("cpu"))
    upscaled = background.upscaled((192, 192), degradation)
    explained = degradation.downscale(upscaled, (96, 96)) - background.offset
    inner = (..., slice(8, -8), slice(8, -8))
    # plain interpolation leaves the kernel's attenuation of the background's finer variations
    assert explained[inner].abs().max() < 0.2 * (degradation.downscale(resize(background.offset, (192, 192)),
                                                                       (96, 96)) - background.offset)[inner].abs().max()
    sr, median, spread = torch.rand((3, 1, 1, 192, 192), dtype=plane.dtype)
    output = InferenceOutput(sr.clone(), median.clone(), spread.clone())
    background.restore(output, degradation)
    assert torch.allclose(output.sr, upscaled + background.contrast * sr)
    assert torch.allclose(output.ensemble_median, upscaled + background.contrast * median)
    assert torch.allclose(output.ensemble_spread, background.contrast * spread)


def test_no_window_a_background_under_half_the_range_or_a_plane_that_is_its_background_is_left_as_it_is():
    plane = normalised(spots() + ramp((96, 96), 3.0))
    assert without_background(plane, 0) == (plane, None)
    weak = normalised(spots() + ramp((96, 96), 0.6))  # the rest spans about 0.6 of the range
    assert without_background(weak, 8) == (weak, None)
    flat = as_batch(np.full((32, 32), 0.5))
    rest, background = without_background(flat, 8)
    assert background is None and rest is flat


def test_a_background_window_must_be_a_whole_number_of_pixels_from_0():
    with pytest.raises(ValueError, match="background_window"):
        ZSSRConfig(background_window=-1)
    with pytest.raises(TypeError, match="background_window"):
        ZSSRConfig(background_window=2.5)


def test_a_background_window_narrower_than_4_pixels_is_refused():
    """Its envelope follows the structures: window 1 takes 70 % of a plane of spots off."""
    assert without_background(normalised(spots()), 1)[1] is not None
    for window in (1, 3):
        with pytest.raises(ValueError, match="background_window must be 0 .* or at least 4 pixels"):
            ZSSRConfig(background_window=window)
    assert ZSSRConfig(background_window=4).background_window == 4


def test_a_dead_pixel_on_a_strong_background_changes_the_output_only_around_it():
    """An opening keeps a dark pixel, and the smoothing spreads it into a dip of the envelope far around: the
    background is taken again once the spikes are out."""
    kernel = gaussian_kernel(1.2)
    lr = downscale_with_kernel(as_batch(spots((64, 64), 4)), torch.as_tensor(kernel), (2, 2))[0, 0].numpy()
    lr = lr + ramp(lr.shape, 100.0) + np.random.default_rng(4).normal(0, 0.002, lr.shape)
    dead = lr.copy()
    dead[16, 16] = 0.0
    config = ZSSRConfig.preset("fast", max_iterations=3, ensemble=1, background_window=16)
    clean, with_dead = (zssr(plane, 2, kernel=kernel, config=config) for plane in (lr, dead))
    assert with_dead.isolated_pixels == [1] and with_dead.background_taken_off == [True]
    rows, cols = np.mgrid[0:64, 0:64]
    far = np.hypot(rows - 32.5, cols - 32.5) > 16  # HR pixels further than 8 LR pixels from the dead one
    assert np.abs(with_dead.sr - clean.sr)[far].max() < 0.08 * np.ptp(spots((64, 64), 4)[::2, ::2])  # 0.13 before


def test_the_note_names_the_planes_a_background_was_taken_off():
    from napari_zssr.api import background_note

    assert background_note([False, False]) is None and background_note([]) is None
    assert background_note([True]) == "smooth background taken off before training, and put back"
    assert background_note([False, True, True]).startswith("smooth background taken off of 2 planes (1, 2) before")
    assert "of 5 planes (9, 10, 11 ...) before" in background_note([False] * 9 + [True] * 5)


def test_a_hot_pixel_on_a_strong_background_is_found_as_on_a_dark_ground():
    """The spikes' tests work in the structures' range: on the plane, a ramp 100 times the structures would hide a
    hot pixel as tall as they are, and the run would learn it and ring."""
    kernel = gaussian_kernel(1.2)
    lr = downscale_with_kernel(as_batch(spots((96, 96), 3)), torch.as_tensor(kernel), (2, 2))[0, 0].numpy()
    lr = lr + np.random.default_rng(3).normal(0, 0.002, lr.shape)
    row, col = np.unravel_index(np.argmin(ndimage.maximum_filter(lr, 9)[8:-8, 8:-8]), (32, 32))
    lr[row + 8, col + 8] += 0.8  # in the darkest place: an isolated hot pixel
    config = ZSSRConfig.preset("fast", max_iterations=2, ensemble=1)
    for ramp_height in (0.0, 100.0):
        result = zssr(lr + ramp(lr.shape, ramp_height), 2, kernel=kernel, config=config)
        assert result.isolated_pixels == [1] and result.ringing[0] < 0.5, (ramp_height, result.ringing)


def gaussian_kernel(sigma: float) -> np.ndarray:
    taps = np.exp(-np.arange(-6, 7) ** 2 / (2 * sigma**2))
    return np.outer(taps, taps) / np.outer(taps, taps).sum()


def test_a_run_gives_the_same_structures_on_a_strong_ramp_as_without_it():
    truth = spots((96, 96), 1)
    kernel = gaussian_kernel(1.2)
    ramp_hr = ramp((96, 96), 6.0)
    recorded = [downscale_with_kernel(as_batch(hr), torch.as_tensor(kernel), (2, 2))[0, 0].numpy()
                + np.random.default_rng(0).normal(0, 0.005, (48, 48)) for hr in (truth, truth + ramp_hr)]
    differences = {}
    for window in (0, 16):
        config = ZSSRConfig.preset("fast", background_window=window, max_iterations=20, ensemble=1)
        flat, on_ramp = (zssr(lr, 2, kernel=kernel, config=config) for lr in recorded)
        assert flat.background_taken_off == [False]
        assert on_ramp.background_taken_off == on_ramp.metadata()["background_taken_off"] == [window > 0]
        # up to a constant: the kernel's x2 sampling sets the ramp's level half an HR pixel on
        differences[window] = np.std((on_ramp.sr - ramp_hr - flat.sr)[6:-6, 6:-6])
    assert differences[16] < 0.5 * differences[0], differences


@pytest.mark.parametrize("noise_std", ["auto", 0.05])
def test_the_noise_recorded_is_a_fraction_of_the_planes_range_with_the_background_taken_off_too(noise_std):
    plane = spots((64, 64), 2)[::2, ::2] + ramp((32, 32), 6.0)
    noisy = plane + np.random.default_rng(2).normal(0, 0.05, plane.shape)
    recorded = [zssr(noisy, 2, config=ZSSRConfig.preset("fast", background_window=window, max_iterations=2,
                                                         ensemble=1, noise_std=noise_std)).noise_stds[0]
                for window in (0, 8)]
    assert recorded[1] == pytest.approx(recorded[0], rel=1e-6 if noise_std != "auto" else 0.25)
    if noise_std != "auto":
        assert recorded[1] == noise_std  # as given: a fraction of the plane's range, not of what was left


def test_a_window_wider_than_the_plane_takes_its_sides():
    plane = normalised(spots((32, 40)) + ramp((32, 40), 3.0))
    assert torch.equal(lower_envelope(plane, 10**9), lower_envelope(plane, 40))


def test_a_plane_that_is_all_background_but_its_rounding_is_left_as_it_is():
    plane = torch.as_tensor(ramp((48, 48), 1.0) / 1.0, dtype=torch.float32)[None, None]  # a float32 ramp
    rest, background = without_background(plane, 16)
    assert background is None and rest is plane


def test_axial_runs_take_no_background_off_and_say_so():
    volume = np.stack([spots((32, 32), seed) + ramp((32, 32), 3.0) for seed in range(6)])
    result = zssr_axial(volume, 2, config=ZSSRConfig.preset("fast", max_iterations=2, ensemble=1))
    assert result.metadata()["config"]["background_window"] == 0 and result.background_taken_off == [False]
