import numpy as np
import pytest

from napari_zssr import BlankPlaneWarning, Cancelled, ZSSRConfig, zssr, zssr_stack
from napari_zssr.core.device import select_device


def test_zssr_returns_float32_in_input_units(textured_image, tiny_config):
    result = zssr(textured_image, 2, config=tiny_config, seed=3)
    assert result.sr.shape == result.ensemble_median.shape == result.residual.shape == (80, 72)
    assert result.sr.dtype == np.float32
    assert abs(float(result.sr.mean()) - float(textured_image.mean())) < 0.05 * float(textured_image.mean())
    assert result.iterations == [tiny_config.max_iterations]
    assert result.device == "cpu" and result.transforms == list(range(8))
    assert result.timings["total_s"] > 0


def test_residual_is_sr_minus_bicubic(textured_image, tiny_config):
    import torch

    from napari_zssr.core.resize import resize

    result = zssr(textured_image, 2, config=tiny_config)
    bicubic = resize(torch.as_tensor(textured_image.astype(np.float64))[None, None], (80, 72))[0, 0].numpy()
    assert np.allclose(result.sr - result.residual, bicubic, atol=0.05)


def test_seeded_runs_repeat(textured_image, tiny_config):
    first = zssr(textured_image, 2, config=tiny_config, seed=5).sr
    assert np.array_equal(first, zssr(textured_image, 2, config=tiny_config, seed=5).sr)
    assert not np.array_equal(first, zssr(textured_image, 2, config=tiny_config, seed=6).sr)


def test_non_integer_and_anisotropic_scales(textured_image, tiny_config):
    assert zssr(textured_image, 1.5, config=tiny_config).sr.shape == (60, 54)
    result = zssr(textured_image, (2, 3), config=tiny_config)
    assert result.sr.shape == (80, 108) and result.transforms == [0, 2, 4, 6]


def test_kernel_is_used_and_restricts_the_ensemble(textured_image, tiny_config):
    y, x = np.mgrid[:9, :9] - 4.0
    u, v = np.cos(0.5) * x + np.sin(0.5) * y, -np.sin(0.5) * x + np.cos(0.5) * y
    tilted = np.exp(-(u**2 / 6 + v**2 / 1.5))  # tilted by 0.5 rad: only identity and 180 degrees keep it
    result = zssr(textured_image, 2, kernel=tilted, config=tiny_config)
    assert result.transforms == [0, 2]
    plain = zssr(textured_image, 2, config=tiny_config)
    assert not np.allclose(result.sr, plain.sr)


def test_gradual_steps_and_back_projection(textured_image, tiny_config):
    tiny_config.gradual_steps = (1.5,)
    tiny_config.back_projection_iterations = 2
    result = zssr(textured_image, 2, config=tiny_config)
    assert result.sr.shape == (80, 72) and result.iterations == [2 * tiny_config.max_iterations]
    assert not np.array_equal(result.sr, result.ensemble_median)


def test_stack_keeps_shapes_and_passes_blank_planes(textured_image, tiny_config):
    stack = np.stack([textured_image, np.full_like(textured_image, 7), textured_image[::-1]])[None]
    progress = []
    with pytest.warns(BlankPlaneWarning, match=r"plane \(0, 1\)"):
        result = zssr_stack(stack, 2, config=tiny_config, progress=progress.append)
    assert result.sr.shape == result.residual.shape == (1, 3, 80, 72)
    assert np.all(result.sr[0, 1] == 7) and np.all(result.residual[0, 1] == 0)
    assert result.blank_planes == [(0, 1)] and result.iterations[1] == 0
    assert {event.plane for event in progress if event.stage == "training"} == {0, 2}
    assert all(event.n_planes == 3 for event in progress)


def test_warm_start_trains_fewer_iterations_after_the_first_plane(textured_image, tiny_config):
    stack = np.stack([textured_image, textured_image[:, ::-1]])
    result = zssr_stack(stack, 2, config=tiny_config, warm_start_iterations=2)
    assert result.iterations == [tiny_config.max_iterations, 2]


def test_should_stop_cancels(textured_image, tiny_config):
    with pytest.raises(Cancelled):
        zssr(textured_image, 2, config=tiny_config, should_stop=lambda: True)


@pytest.mark.parametrize("image, scale, error, message", [
    (np.ones((4, 20, 20)), 2, ValueError, "must be 2D"),
    (np.ones(20), 2, ValueError, "must be 2D"),
    (np.ones((20, 20), dtype=complex), 2, TypeError, "complex"),
    (np.ones((20, 20), dtype=bool), 2, TypeError, "boolean"),
    (np.array([["a"] * 20] * 20), 2, TypeError, "numeric"),
    (np.where(np.eye(20) > 0, np.nan, 1.0), 2, ValueError, "NaN"),
    (np.where(np.eye(20) > 0, np.inf, 1.0), 2, ValueError, "infinite"),
    (np.ones((0, 20)), 2, ValueError, "empty"),
    (np.full((20, 20), 3.0), 2, ValueError, "constant"),
    (np.random.rand(6, 20), 2, ValueError, "too small"),
    (np.random.rand(14, 14), 4, ValueError, "too small"),
    (np.random.rand(20, 20), 1, ValueError, "greater than 1"),
    (np.random.rand(20, 20), 0.5, ValueError, "greater than 1"),
    (np.random.rand(20, 20), (2, 2, 2), ValueError, "scale"),
])
def test_bad_input_is_refused_clearly(image, scale, error, message, tiny_config):
    with pytest.raises(error, match=message):
        zssr(image, scale, config=tiny_config)


def test_rgb_input_gets_a_hint(tiny_config):
    rgb = np.random.rand(40, 50, 3)
    with pytest.raises(ValueError, match="RGB"):
        zssr(rgb, 2, config=tiny_config)
    with pytest.raises(ValueError, match="RGB"):
        zssr_stack(rgb, 2, config=tiny_config)


@pytest.mark.parametrize("kernel, message", [
    (np.ones((3, 3, 3)), "2D"), (-np.ones((3, 3)), "negative"), (np.zeros((3, 3)), "sums to zero"),
])
def test_bad_kernel_is_refused_clearly(kernel, message, textured_image, tiny_config):
    with pytest.raises(ValueError, match=message):
        zssr(textured_image, 2, kernel=kernel, config=tiny_config)


def test_kernel_needs_integer_scale(textured_image, tiny_config):
    with pytest.raises(ValueError, match="integer scale"):
        zssr(textured_image, 1.5, kernel=np.ones((3, 3)), config=tiny_config)


def test_device_selection():
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="not available|unsupported"):
        select_device("cuda:7")
    with pytest.raises(ValueError, match="unsupported"):
        select_device("tpu")


def test_presets():
    assert ZSSRConfig() == ZSSRConfig.preset("default")
    paper = ZSSRConfig.preset("paper")
    assert paper.noise_std == 0 and paper.back_projection_iterations == 10 and paper.max_iterations == 3000
    assert ZSSRConfig.preset("fast").max_iterations < ZSSRConfig().max_iterations
    assert ZSSRConfig.preset("fast", seed=4).seed == 4
    with pytest.raises(ValueError, match="unknown preset"):
        ZSSRConfig.preset("best")


def test_device_memory_is_released_even_when_cancelled(textured_image, tiny_config, monkeypatch):
    import napari_zssr.api as api

    released = []
    monkeypatch.setattr(api, "release_device_memory", lambda device: released.append(str(device)))
    zssr(textured_image, 2, config=tiny_config, device="cpu")
    with pytest.raises(Cancelled):
        zssr(textured_image, 2, config=tiny_config, device="cpu", should_stop=lambda: True)
    assert released == ["cpu", "cpu"]
