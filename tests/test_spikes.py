"""Isolated spikes (hot and dead pixels, cosmic rays): no optics makes them, so back-projection leaves them out."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import ZSSRConfig, zssr, zssr_axial
from napari_zssr.core.spikes import without_isolated_spikes


def as_batch(*planes: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.stack(planes), dtype=torch.float32)[:, None]


def smooth_plane(seed: int, shape=(40, 48)) -> np.ndarray:
    return 0.2 + 0.3 * ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 3)


def test_a_hot_a_dead_and_a_border_pixel_are_replaced_by_their_neighbourhoods_median():
    first, second = smooth_plane(0), smooth_plane(1)
    first[10, 11] = 1.0  # hot
    second[5, 7] = 0.0  # dead
    second[0, 0] = 1.0  # a corner: its own value is no neighbour of it
    images = as_batch(first, second)
    cleaned, count = without_isolated_spikes(images)
    assert torch.nonzero(cleaned != images).tolist() == [[0, 0, 10, 11], [1, 0, 0, 0], [1, 0, 5, 7]] and count == 3
    assert float(cleaned[0, 0, 10, 11]) == pytest.approx(float(images[0, 0, 9:12, 10:13].median()))
    assert torch.equal(images, as_batch(first, second))  # the input is left as it was


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])  # HR pixels; a 2 x 2 camera pixel integrates after
def test_points_imaged_through_optics_and_plain_noise_are_no_spikes(sigma):
    """A PSF spreads a point over several pixels of the sampled image, whatever its place within a pixel."""
    planes = []
    for row, col in ((40, 40), (40, 41), (41, 41), (20, 61)):
        hr = np.full((96, 96), 0.05)
        hr[row, col] += 30.0
        blurred = ndimage.gaussian_filter(hr, sigma)
        planes.append(blurred.reshape(48, 2, 48, 2).mean(axis=(1, 3)))
    planes.append(np.random.default_rng(2).normal(0.5, 0.05, (48, 48)))  # its extremes are a few noise levels
    images = as_batch(*planes)
    assert without_isolated_spikes(images) == (images, 0)


def test_a_hot_pixel_is_interpolated_not_deconvolved_into_rings():
    """Back-projection makes the output explain the input under the kernel: it deconvolved one hot pixel of a uint16
    plane (background about 250, the pixel at 4095) into a peak of 15,000 ringing down to -6,000 (fast preset,
    its Gaussian PSF given). Interpolated, the spike keeps its place and the output stays near the input's range."""
    rng = np.random.default_rng(0)
    hr = ndimage.gaussian_filter(rng.random((96, 96)), 2.0)
    kernel = np.outer(*[np.exp(-np.arange(-4, 5) ** 2 / (2 * 1.2**2))] * 2)
    kernel /= kernel.sum()
    lr = ndimage.convolve(hr, kernel)[::2, ::2]
    plane = np.round(200 + 400 * (lr - lr.min()) / np.ptp(lr)).astype(np.uint16)
    plane[20, 25] = 4095
    config = ZSSRConfig.preset("fast", max_iterations=30, crop_size=32, precision="float32")
    result = zssr(plane, 2, kernel=kernel, config=config, seed=0)
    assert 2000 < result.sr.max() < 4095 and result.sr.min() > -100
    assert np.unravel_index(result.sr.argmax(), result.sr.shape) in {(40, 50), (40, 51), (41, 50), (41, 51)}
    assert "1 isolated pixel" in " ".join(result.notes)


def test_a_volumes_hot_pixel_is_interpolated_along_z_not_deconvolved():
    """Restored along z under the axial kernel, a hot pixel rang along z as it does laterally."""
    rng = np.random.default_rng(1)
    volume = ndimage.gaussian_filter(rng.random((12, 40, 40)), (2.5, 1.5, 1.5))
    volume = np.round(200 + 400 * (volume - volume.min()) / np.ptp(volume)).astype(np.uint16)
    volume[6, 20, 20] = 4095
    config = ZSSRConfig.preset("fast", max_iterations=10, crop_size=24, precision="float32")
    result = zssr_axial(volume, 2, config=config, seed=0)
    assert result.sr.max() < 4095 and result.sr.min() > -100
    assert "1 isolated pixel" in " ".join(result.notes)
