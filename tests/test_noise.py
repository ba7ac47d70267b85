from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import zssr, zssr_stack
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.noise import (
    DISCREPANCY_FACTOR,
    estimate_noise_floor,
    estimate_noise_rms,
    estimate_noise_std,
    kernel_envelope,
    noise_rms_beyond_kernel,
    refined_noise_floor,
)
from napari_zssr.sample import anisotropic_gaussian_psf

CPU = torch.device("cpu")


def smooth_image(shape=(96, 96)) -> np.ndarray:
    y, x = np.mgrid[: shape[0], : shape[1]]
    return 0.5 + 0.3 * np.sin(x / 9.0) * np.cos(y / 13.0)


@pytest.mark.parametrize("sigma", [0.005, 0.02, 0.05])
def test_noise_level_of_a_smooth_image_is_found(sigma):
    noisy = smooth_image() + np.random.default_rng(0).normal(0, sigma, (96, 96))
    estimate = estimate_noise_std(torch.as_tensor(noisy, dtype=torch.float32)[None, None])
    assert estimate == pytest.approx(sigma, rel=0.1)


def test_edges_do_not_count_as_noise():
    steps = np.kron(np.random.default_rng(1).random((6, 6)), np.ones((16, 16)))  # sharp edges, no noise
    assert estimate_noise_std(torch.as_tensor(steps, dtype=torch.float32)[None, None]) < 1e-3


def test_auto_noise_follows_each_plane_and_is_recorded(tiny_config):
    rng = np.random.default_rng(2)
    stack = np.stack([smooth_image((40, 36)) + rng.normal(0, sigma, (40, 36)) for sigma in (0.0, 0.05)])
    result = zssr(stack[0], 2, config=tiny_config)
    assert result.noise_stds[0] < 0.002
    result = zssr_stack(stack, 2, config=tiny_config)
    assert result.noise_stds[0] < 0.002 < 0.02 < result.noise_stds[1]
    assert result.metadata()["noise_stds"][1] == pytest.approx(result.noise_stds[1], abs=1e-5)
    fixed = zssr(stack[1], 2, config=replace(tiny_config, noise_std=0.01))
    assert fixed.noise_stds == [0.01]


@pytest.mark.parametrize("bad", ["loud", -0.1, float("nan")])
def test_bad_noise_level_is_refused(tiny_config, bad):
    with pytest.raises(ValueError, match="noise_std must be 'auto'"):  # when the config is made
        replace(tiny_config, noise_std=bad)
    tiny_config.noise_std = bad
    with pytest.raises(ValueError, match="noise_std must be 'auto'"):  # and by the run, if assigned since
        zssr(smooth_image((40, 36)), 2, config=tiny_config)


def test_the_rms_noise_of_shot_noise_on_a_sparse_image_counts_the_bright_structures():
    """Shot noise is largest where the signal is: the typical (median) level misses it, the RMS must not."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:128, :128]
    signal = 0.02 + sum(np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 60.0) for cy, cx in rng.integers(10, 118, (12, 2)))
    signal = signal / signal.max()
    noisy = rng.poisson(signal * 300) / 300
    true_rms = float(np.sqrt(np.mean((noisy - signal) ** 2)))
    image = torch.as_tensor(noisy, dtype=torch.float32)[None, None]
    assert estimate_noise_std(image) < 0.6 * true_rms
    assert estimate_noise_rms(image) == pytest.approx(true_rms, rel=0.2)


@pytest.mark.parametrize("sigma", [0.005, 0.02])
def test_the_rms_noise_of_even_noise_is_its_level(sigma):
    noisy = smooth_image() + np.random.default_rng(1).normal(0, sigma, (96, 96))
    assert estimate_noise_rms(torch.as_tensor(noisy, dtype=torch.float32)[None, None]) == pytest.approx(sigma, rel=0.1)


def blurred_sparse_scene(seed: int = 3, size: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """(LR plane, kernel): bright blobs and lines on a dark field, blurred by a Gaussian of 2 HR pixels, sampled x2."""
    rng = np.random.default_rng(seed)
    scene = np.zeros((size, size))
    scene[rng.integers(0, size, 60), rng.integers(0, size, 60)] = 1.0
    scene[rng.integers(0, size, 4), :] += 0.3
    scene = ndimage.gaussian_filter(scene, 1.5, mode="wrap")  # objects of a few pixels
    kernel = anisotropic_gaussian_psf(2.0, 2.0, 0.0, radius=8)
    lr = ndimage.convolve(scene, kernel, mode="wrap")[::2, ::2]
    return 0.05 + lr / lr.max(), kernel


def as_tensor(plane: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(plane, dtype=torch.float32)[None, None]


def test_kernel_envelope_is_the_largest_alias_of_a_gaussian_transfer():
    kernel = anisotropic_gaussian_psf(1.5, 1.5, 0.0, radius=8)
    frequencies = np.fft.fftfreq(16)
    envelope = kernel_envelope(kernel, (2, 2), (16, 16))
    aliases = np.stack([frequencies / 2, (frequencies + 1) / 2])  # cycles per HR pixel
    distance = np.abs(aliases - np.round(aliases))  # to the nearest integer: the sampled transfer is periodic
    per_axis = np.exp(-2 * np.pi**2 * 1.5**2 * distance**2).max(axis=0)
    assert np.allclose(envelope, np.outer(per_axis, per_axis), atol=1e-4)
    assert np.allclose(kernel_envelope(np.ones((1, 1)), (2, 2), (16, 16)), 1.0)
    long = np.ones((40, 1)) / 40  # longer than the HR grid of 2 x 16 points: still its exact transfer
    assert kernel_envelope(long, (1, 1), (16, 1))[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["gaussian", "shot"])
def test_noise_beyond_the_kernel_reads_the_noise_rms(kind):
    clean, kernel = blurred_sparse_scene()
    rng = np.random.default_rng(4)
    noisy = (clean + rng.normal(0, 0.01, clean.shape) if kind == "gaussian"
             else rng.poisson(clean * 500) / 500)  # shot noise: 4x larger on the blobs than on the dark field
    true_rms = float(np.std(noisy - clean))
    reading = noise_rms_beyond_kernel(as_tensor(noisy), centre_kernel(kernel, (2, 2)), (2, 2))
    assert reading == pytest.approx(true_rms, rel=0.1)
    floor = estimate_noise_floor(as_tensor(noisy), Degradation.create((2.0, 2.0), kernel, CPU))
    assert floor == pytest.approx(DISCREPANCY_FACTOR * true_rms, rel=0.1)
    if kind == "shot":  # the typical level (the dark field's) is far below the RMS
        assert estimate_noise_std(as_tensor(noisy)) < 0.8 * true_rms


def test_a_clean_blurred_image_reads_almost_no_noise_beyond_its_kernel():
    clean, kernel = blurred_sparse_scene()
    floor = estimate_noise_floor(as_tensor(clean), Degradation.create((2.0, 2.0), kernel, CPU))
    assert floor < 1e-3


def test_a_kernel_without_frequencies_beyond_it_falls_back_to_the_noise_rms():
    clean, _ = blurred_sparse_scene()
    noisy = as_tensor(clean + np.random.default_rng(5).normal(0, 0.01, clean.shape))
    point = np.zeros((3, 3))
    point[1, 1] = 1.0  # a kernel that passes every frequency
    assert noise_rms_beyond_kernel(noisy, point, (2, 2)) is None
    level = DISCREPANCY_FACTOR * estimate_noise_rms(noisy)
    assert estimate_noise_floor(noisy, Degradation.create((2.0, 2.0), point, CPU)) == level
    assert estimate_noise_floor(noisy, Degradation.create((2.0, 2.0), None, CPU)) == level


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_the_outputs_residual_lowers_the_floor_of_a_clean_image_and_keeps_a_noisy_ones(noise):
    """Sharp bright objects leak signal past the kernel's band; an output that holds them leaves only the noise."""
    rng = np.random.default_rng(6)
    scene = np.zeros((192, 192))
    scene[rng.integers(0, 192, 80), rng.integers(0, 192, 80)] = 1.0  # point-like objects: the most leakage
    hr = torch.as_tensor(scene, dtype=torch.float32)[None, None]
    degradation = Degradation.create((2.0, 2.0), anisotropic_gaussian_psf(1.6, 1.6, 0.0, radius=7), CPU)
    lr = degradation.downscale(hr)
    lr = lr + noise * torch.as_tensor(rng.normal(size=lr.shape), dtype=torch.float32)
    floor = estimate_noise_floor(lr, degradation)
    output = torch.as_tensor(ndimage.gaussian_filter(scene, 0.5), dtype=torch.float32)[None, None]  # not exact
    refined = refined_noise_floor(floor, lr, output, degradation)
    if noise:
        assert refined == pytest.approx(floor, rel=0.1)
        assert refined == pytest.approx(DISCREPANCY_FACTOR * noise, rel=0.1)
    else:
        assert refined < 0.3 * floor
    assert refined_noise_floor(0.0, lr, hr, degradation) == 0.0  # no floor: back-projection runs every step
    assert refined_noise_floor(floor, lr, hr, Degradation.create((2.0, 2.0), None, CPU)) == floor
