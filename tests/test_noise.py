from dataclasses import replace

import numpy as np
import pytest
import torch

from napari_zssr import zssr, zssr_stack
from napari_zssr.core.noise import estimate_noise_rms, estimate_noise_std


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
