"""Inputs the kernel cannot explain. Isolated spikes (hot and dead pixels, cosmic rays) are more isolated than the
kernel lets a point be, so a run interpolates them instead of learning from and deconvolving them; and an output
that rings far below the input, as under a kernel far wider than the image's blur, is said to."""

import warnings

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import ZSSRConfig, zssr, zssr_axial
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.spikes import least_neighbour_share, without_isolated_spikes

CPU = torch.device("cpu")
BICUBIC_X2 = Degradation.create((2.0, 2.0), None, CPU)


def as_batch(*planes: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.stack(planes), dtype=torch.float32)[:, None]


def smooth_plane(seed: int, shape=(40, 48)) -> np.ndarray:
    return 0.2 + 0.3 * ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 3)


def gaussian_camera_kernel(sigma: float) -> np.ndarray:
    """A Gaussian PSF (sigma in HR pixels) integrated by 2 x 2 camera pixels, on the HR grid."""
    taps = np.exp(-np.arange(-8, 9) ** 2 / (2 * sigma**2))
    kernel = ndimage.convolve(np.pad(np.outer(taps, taps), 1), np.ones((2, 2)), mode="constant")
    return kernel / kernel.sum()


def test_a_hot_a_dead_and_a_border_pixel_are_replaced_by_their_neighbourhoods_median():
    first, second = smooth_plane(0), smooth_plane(1)
    first[10, 11] = 1.0  # hot
    second[5, 7] = 0.0  # dead
    second[0, 0] = 1.0  # a corner: its own value is no neighbour of it
    images = as_batch(first, second)
    cleaned, count = without_isolated_spikes(images, BICUBIC_X2)
    assert torch.nonzero(cleaned != images).tolist() == [[0, 0, 10, 11], [1, 0, 0, 0], [1, 0, 5, 7]] and count == 3
    assert float(cleaned[0, 0, 10, 11]) == pytest.approx(float(images[0, 0, 9:12, 10:13].median()))
    assert torch.equal(images, as_batch(first, second))  # the input is left as it was


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0, 2.0])  # HR pixels: from a PSF narrower than an LR pixel up
@pytest.mark.parametrize("place", [(40, 40), (40, 41), (41, 41)])  # a point centred in its LR pixel, or not
def test_points_imaged_through_the_runs_kernel_are_no_spikes(sigma, place):
    """However narrow the PSF, a point imaged through it is as isolated as the kernel allows, and the kernel says so."""
    kernel = gaussian_camera_kernel(sigma)
    hr = np.full((96, 96), 0.05)
    hr[place] += 30.0
    lr = ndimage.convolve(hr, kernel, mode="reflect")[::2, ::2]
    lr += np.random.default_rng(sum(place)).normal(0, 0.002, lr.shape)
    images = as_batch((lr - lr.min()) / np.ptp(lr))
    assert without_isolated_spikes(images, Degradation.create((2.0, 2.0), kernel, CPU)) == (images, 0)


def test_the_share_a_kernel_leaves_the_brightest_neighbour():
    assert least_neighbour_share(BICUBIC_X2) == pytest.approx(0.26, abs=0.01)
    narrow, wide = (least_neighbour_share(Degradation.create((2.0, 2.0), gaussian_camera_kernel(sigma), CPU))
                    for sigma in (0.3, 1.5))
    assert narrow < 0.01 and wide > 0.6


def test_single_photons_of_a_sparse_image_and_plain_noise_are_no_spikes():
    """A photon-counting background of a few counts per hundred pixels reads a typical noise level of 0."""
    rng = np.random.default_rng(4)
    sparse = rng.poisson(0.03, (64, 64)).astype(float)
    sparse[10:14, 10:14] += 20
    noise = rng.normal(0.5, 0.05, (64, 64))
    images = as_batch(sparse / sparse.max(), noise)
    assert without_isolated_spikes(images, BICUBIC_X2) == (images, 0)


def plane_with_a_hot_pixel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the plane with a hot pixel at (20, 25), the plane without, its Gaussian PSF)."""
    hr = ndimage.gaussian_filter(np.random.default_rng(0).random((96, 96)), 2.0)
    kernel = gaussian_camera_kernel(1.2)
    lr = ndimage.convolve(hr, kernel)[::2, ::2]
    clean = np.round(200 + 400 * (lr - lr.min()) / np.ptp(lr)).astype(np.uint16)
    hot = clean.copy()
    hot[20, 25] = 4095
    return hot, clean, kernel


def test_a_hot_pixel_is_interpolated_not_deconvolved_into_rings():
    """Back-projection makes the output explain the input under the kernel: it deconvolved one hot pixel of a uint16
    plane (background about 250, the pixel at 4095) into a peak of 15,000 ringing down to -6,000 (fast preset,
    its Gaussian PSF given). Interpolated, the spike keeps its place and the rest is the run without it."""
    hot, clean, kernel = plane_with_a_hot_pixel()
    config = ZSSRConfig.preset("fast", max_iterations=30, crop_size=32, precision="float32")
    with pytest.warns(UserWarning, match="1 isolated pixel .* interpolated, not super-resolved"):
        result = zssr(hot, 2, kernel=kernel, config=config, seed=0)
    without = zssr(clean, 2, kernel=kernel, config=config, seed=0)
    assert result.isolated_pixels == [1] and without.isolated_pixels == [0]
    assert result.metadata()["isolated_pixels"] == [1]
    assert 2000 < result.sr.max() < 4095 and result.sr.min() > -100
    assert np.unravel_index(result.sr.argmax(), result.sr.shape) in {(40, 50), (40, 51), (41, 50), (41, 51)}
    assert np.allclose(result.ensemble_median[38:44, 48:54], result.sr[38:44, 48:54], rtol=0.05)
    far = np.ones(result.sr.shape, bool)
    far[30:52, 40:62] = False  # beyond the spike's reach the run is the run without it, but for its intensity range
    assert np.abs(result.sr - without.sr)[far].max() < 10  # 2.5 % of the plane's range of 400
    assert np.abs(result.residual - without.residual)[far].max() < 10
    assert np.abs(result.residual).max() < 200  # the spike is no detail the network added: it is interpolation's


def test_a_volumes_hot_pixel_is_interpolated_along_z_not_deconvolved():
    """Restored along z under the axial kernel, a hot voxel rang along z as a hot pixel does laterally."""
    rng = np.random.default_rng(1)
    volume = ndimage.gaussian_filter(rng.random((12, 40, 40)), (2.5, 1.5, 1.5))
    volume = np.round(200 + 400 * (volume - volume.min()) / np.ptp(volume)).astype(np.uint16)
    volume[6, 20, 20] = 4095
    config = ZSSRConfig.preset("fast", max_iterations=10, crop_size=24, precision="float32")
    with pytest.warns(UserWarning, match="1 isolated pixel"):
        result = zssr_axial(volume, 2, config=config, seed=0)
    assert result.sr.max() < 4095 and result.sr.min() > -100 and result.isolated_pixels == [1]
    peak = np.unravel_index(result.sr.argmax(), result.sr.shape)
    assert peak[1:] == (20, 20) and 11 <= peak[0] <= 13 and result.sr.max() > 2000  # interpolated along z
    assert result.ensemble_median[peak] == pytest.approx(result.sr[peak], rel=0.1)


def sparse_points(inverted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(64² LR plane, 128² truth) of 40 blurred points (a Gaussian of sigma 1.5 HR pixels), imaged through
    :func:`gaussian_camera_kernel` of sigma 1, noise 0.01; dark points on a bright ground where ``inverted``."""
    rng = np.random.default_rng(0)
    hr = np.zeros((128, 128))
    points = rng.integers(8, 120, (40, 2))
    hr[points[:, 0], points[:, 1]] = rng.uniform(0.5, 1, 40)
    hr = ndimage.gaussian_filter(hr, 1.5)
    hr = 1 - hr / hr.max() if inverted else hr / hr.max()
    return ndimage.convolve(hr, gaussian_camera_kernel(1.0))[::2, ::2] + rng.normal(0, 0.01, (64, 64)), hr


def test_a_kernel_far_wider_than_the_blur_is_said_to_ring():
    """A Gaussian 2.5x the image's blur rings far beyond the input's range on both sides (PSNR 14 dB under bicubic
    interpolation in a probe), and nothing said so. The right kernel's deblurring reaches far past one side only:
    bright points rise, dark points on a bright ground fall; neither is said to ring."""
    config = ZSSRConfig.preset("fast", max_iterations=20, crop_size=32, precision="float32")
    for inverted in (False, True):
        lr, _ = sparse_points(inverted)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the right kernel: no warning at all
            right = zssr(lr, 2, kernel=gaussian_camera_kernel(1.0), config=config, seed=0)
        assert right.ringing[0] < 0.2, inverted
    lr, _ = sparse_points()
    with pytest.warns(UserWarning, match="rings: it reaches beyond the input's intensity range "):
        wide = zssr(lr, 2, kernel=gaussian_camera_kernel(2.5), config=config, seed=0)
    assert wide.ringing[0] > 1 and wide.metadata()["ringing"] == [round(wide.ringing[0], 3)]


def test_the_ringing_note_names_the_planes():
    from napari_zssr.api import ringing_note

    assert ringing_note([0.1, 0.2]) is None
    assert ringing_note([0.1, 0.9, 0.7]).startswith("the output of planes 1, 2 rings: ")
    assert "by up to 0.90 times" in ringing_note([0.9]) and "of plane" not in ringing_note([0.9])
    assert ringing_note([0.6] * 5).startswith("the output of planes 0, 1, 2 ... rings")
