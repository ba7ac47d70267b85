import contextlib
import json
import re
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import BlankPlaneWarning, Cancelled, KernelChoice, Optics, ZSSRConfig, zssr, zssr_stack
from napari_zssr.core.device import select_device


def test_zssr_returns_float32_in_input_units(textured_image, tiny_config):
    result = zssr(textured_image, 2, config=tiny_config, seed=3)
    assert result.sr.shape == result.ensemble_median.shape == result.residual.shape == (80, 72)
    assert result.sr.dtype == np.float32
    assert abs(float(result.sr.mean()) - float(textured_image.mean())) < 0.05 * float(textured_image.mean())
    assert result.iterations == [tiny_config.max_iterations]
    assert result.device == str(select_device("auto")) and sorted(result.transforms) == list(range(8))
    assert result.timings["total_s"] >= result.timings["training_s"] + result.timings["inference_s"]
    assert result.timings["training_s"] > 0 and result.timings["inference_s"] > 0


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


@pytest.mark.parametrize("scale, gradual_steps", [(1.5, ()), (2, (1.5,))])
def test_fractional_scales_of_sizes_that_do_not_round_trip(tiny_config, scale, gradual_steps):
    """41 x 1.5 -> 62, but 62 / 1.5 -> 42: back-projection compares the output's degradation with the 41-pixel input
    itself, every step to the end."""
    image = np.random.default_rng(0).random((41, 41))
    tiny_config.gradual_steps, tiny_config.back_projection_to_noise = gradual_steps, False
    tiny_config.back_projection_iterations = 2
    result = zssr(image, scale, config=tiny_config)
    side = int(np.ceil(41 * scale))
    assert result.sr.shape == (side, side) and np.isfinite(result.sr).all()


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
    tiny_config.back_projection_to_noise = False  # every step, even on this noisy image
    result = zssr(textured_image, 2, config=tiny_config)
    assert result.sr.shape == (80, 72) and result.iterations == [2 * tiny_config.max_iterations]
    assert not np.array_equal(result.sr, result.ensemble_median)
    tiny_config.gradual_steps = (2,)  # not on the way to 2: refused, not skipped and recorded as taken
    with pytest.raises(ValueError, match="gradual step 2 is not below the scale 2"):
        zssr(textured_image, 2, config=tiny_config, progress=lambda event: pytest.fail("it ran"))
    tiny_config.gradual_steps = (1.5, 2.5)
    with pytest.raises(ValueError, match="gradual step 2.5 is not below the scale 2"):
        zssr(textured_image, (2, 3), config=tiny_config)


def test_stack_keeps_shapes_and_passes_blank_planes(textured_image, tiny_config):
    stack = np.stack([textured_image, np.full_like(textured_image, 7), textured_image[::-1]])[None]
    progress = []
    with pytest.warns(BlankPlaneWarning, match=r"the plane at index \(0, 1\)"):
        result = zssr_stack(stack, 2, config=tiny_config, progress=progress.append)
    assert result.sr.shape == result.residual.shape == (1, 3, 80, 72)
    assert np.all(result.sr[0, 1] == 7) and np.all(result.residual[0, 1] == 0)
    assert result.blank_planes == [(0, 1)] and result.iterations[1] == 0
    assert {event.plane for event in progress if event.stage == "training"} == {0, 2}
    assert all(event.n_planes == 3 for event in progress)


def test_many_constant_planes_are_three_warnings_and_one_for_the_rest(textured_image, tiny_config):
    """A stack of 60 empty planes gave 60 warnings, each a notification in napari."""
    stack = np.stack([textured_image] + [np.full_like(textured_image, 7)] * 6)
    with pytest.warns(BlankPlaneWarning) as seen:
        result = zssr_stack(stack, 2, config=tiny_config)
    assert len(result.blank_planes) == 6
    assert [str(warning.message).split(" is constant")[0] for warning in seen][:3] == [
        "the plane at index 1", "the plane at index 2", "the plane at index 3"]
    assert [str(warning.message) for warning in seen][3:] == [
        "3 more planes constant, passed through as their interpolation (6 in all: ZSSRResult.blank_planes lists them)"]


def test_only_the_outputs_asked_for_are_kept_and_the_result_is_the_same(textured_image, tiny_config):
    """Each output is as large as the whole super-resolved stack: a big stack holds only those asked for."""
    stack = np.stack([textured_image, np.full_like(textured_image, 7)])
    everything = zssr_stack(stack, 2, config=tiny_config, seed=1, device="cpu")
    with pytest.warns(BlankPlaneWarning):
        only = zssr_stack(stack, 2, config=tiny_config, seed=1, device="cpu", outputs=["residual"])
    assert only.ensemble_median is None and only.ensemble_spread is None  # "zssr" is always kept
    assert np.array_equal(only.sr, everything.sr) and np.array_equal(only.residual, everything.residual)
    assert np.all(only.sr[1] == 7) and np.all(only.residual[1] == 0)
    assert only.resolution == everything.resolution
    single = zssr(textured_image, 2, config=tiny_config, outputs="zssr")
    assert single.residual is None and single.sr.shape == (80, 72)
    with pytest.raises(ValueError, match=r"unknown output\(s\) \['sr'\]; choose from zssr, ensemble_median"):
        zssr(textured_image, 2, config=tiny_config, outputs=["sr"])


@pytest.mark.parametrize(("outputs", "kinds"), [
    ("zssr,residual", ("zssr", "residual")), (["residual", "zssr", "residual"], ("zssr", "residual")),
    ((" ensemble_spread ",), ("ensemble_spread",)),
])
def test_outputs_are_named_the_same_way_everywhere(outputs, kinds):
    """One rule for the library, run(), the widget and the batch: a list or one string with commas, each kind
    once, in one order."""
    from napari_zssr.api import requested_outputs

    assert requested_outputs(outputs) == kinds


@pytest.mark.parametrize(("outputs", "error", "message"), [
    ([], ValueError, "names no output kind"), ("", ValueError, "names no output kind"),
    (b"zssr", TypeError, "must be output kinds"), ([1], TypeError, "must be output kinds"),
])
def test_outputs_that_name_nothing_usable_fail_before_any_work(textured_image, tiny_config, outputs, error, message):
    with pytest.raises(error, match=message):
        zssr(textured_image, 2, config=tiny_config, outputs=outputs)


def test_warm_start_trains_fewer_iterations_after_the_first_plane(textured_image, tiny_config):
    stack = np.stack([textured_image, textured_image[:, ::-1]])
    result = zssr_stack(stack, 2, config=tiny_config, warm_start_iterations=2)
    assert result.iterations == [tiny_config.max_iterations, 2]
    # the record reruns the run: its config alone does not say that the planes were warm-started
    assert result.metadata()["warm_start_iterations"] == 2
    one_plane = zssr_stack(stack[:1], 2, config=tiny_config, warm_start_iterations=2)  # nothing to start it from
    assert one_plane.metadata()["warm_start_iterations"] is None


def test_warm_planes_start_again_from_a_learned_start_and_from_the_plane_before_a_random_one():
    """From a random start the plane before is the better start; a learned start is as good on alike planes, and an
    unlike plane (nearly empty, far dimmer) trained from it again does not inherit its neighbour's fit: a warm plane is
    then the run of that plane alone for the warm iterations."""
    rng = np.random.default_rng(0)
    stack = np.stack([ndimage.gaussian_filter(rng.random((40, 40)), 1.5),
                      0.3 * ndimage.gaussian_filter(rng.random((40, 40)), 1.0)]).astype(np.float32)
    learned = ZSSRConfig.preset("fast", max_iterations=6, crop_size=16, ensemble=1, back_projection_iterations=0)
    for config, restarts in ((learned, True), (replace(learned, init="scratch", width=8, depth=3), False)):
        warm = zssr_stack(stack, 2, config=config, warm_start_iterations=3, seed=1)
        alone = zssr(stack[1], 2, config=replace(config, max_iterations=3), seed=1)
        assert warm.iterations == ([3, 3] if restarts else [6, 3])
        assert np.array_equal(warm.sr[1], alone.sr) == restarts


def test_from_a_learned_start_a_warm_planes_output_does_not_depend_on_its_place_in_the_stack():
    """Restarting from the learned start, the first plane is warm too: a stack split into ranges of planes (as a
    cluster's tasks split it) gives what the whole stack gives. The first plane trained fully made every later plane
    of a range differ from the unsplit run's (the range's first plane trained 5x the iterations)."""
    rng = np.random.default_rng(3)
    stack = np.stack([ndimage.gaussian_filter(rng.random((40, 40)), sigma) for sigma in (1.0, 1.5, 2.0, 1.2)])
    config = ZSSRConfig.preset("fast", max_iterations=6, crop_size=16, ensemble=1, back_projection_iterations=0,
                               precision="float32")
    whole = zssr_stack(stack, 2, config=config, warm_start_iterations=2, seed=4)
    parts = [zssr_stack(stack[planes], 2, config=config, warm_start_iterations=2, seed=4)
             for planes in (slice(0, 2), slice(2, 4))]
    assert whole.iterations == [2, 2, 2, 2]
    assert np.array_equal(whole.sr, np.concatenate([part.sr for part in parts]))


def test_a_stop_is_answered_while_a_lazy_stacks_constant_planes_are_read(textured_image, tiny_config):
    """Constant planes are passed through without training, whose loop asks whether to stop: a cancelled run read
    every constant plane of a lazy stack (seconds each from a slow disk) before it stopped."""
    da = pytest.importorskip("dask.array")
    read = []

    def plane(block, block_info=None):
        read.append(block_info[None]["chunk-location"][0])
        return np.full(block.shape, 7, block.dtype) if read[-1] < 5 else textured_image[None]

    stack = da.zeros((6, *textured_image.shape), dtype=np.float32, chunks=(1, *textured_image.shape))
    stack = stack.map_blocks(plane, dtype=np.float32)
    with pytest.raises(Cancelled):
        zssr_stack(stack, 2, config=tiny_config, should_stop=lambda: len(read) >= 1)
    assert len(read) == 1


def test_should_stop_cancels(textured_image, tiny_config):
    with pytest.raises(Cancelled, match="the run was cancelled"):  # a log says what happened
        zssr(textured_image, 2, config=tiny_config, should_stop=lambda: True)


def test_a_cancel_during_inference_ends_the_run_before_the_next_member():
    """Inference of a large plane takes seconds per ensemble member: a cancel then must not wait for all of them."""
    from napari_zssr.core.degradation import Degradation
    from napari_zssr.core.inference import super_resolve
    from napari_zssr.core.network import ZSSRNet

    net = ZSSRNet(1, 8, 8)
    asked = []

    def stop_at_the_second_member() -> bool:
        asked.append(True)
        return len(asked) > 1

    with pytest.raises(Cancelled):
        super_resolve(net, torch.rand(1, 1, 16, 16), Degradation((2.0, 2.0)), list(range(8)), 0, 64,
                      should_stop=stop_at_the_second_member)
    assert len(asked) == 2


@pytest.mark.parametrize("image, scale, error, message", [
    (np.ones((4, 20, 20)), 2, ValueError, "must be 2D"),
    (np.ones(20), 2, ValueError, r"at least 2 dimensions \(Y, X\), got shape \(20,\)$"),  # not "use zssr_stack"
    (np.ones((20, 20), dtype=complex), 2, TypeError, "complex"),
    (np.ones((20, 20), dtype=bool), 2, TypeError, "boolean"),
    (np.array([["a"] * 20] * 20), 2, TypeError, "numeric"),
    ("image.tif", 2, TypeError, r"image is a file name \('image.tif'\), not an array: read it first"),  # "dtype <U9"
    (b"image.tif", 2, TypeError, r"image is a file name \('image.tif'\)"),
    (np.ones((20, 20), dtype="timedelta64[s]"), 2, TypeError, "numeric"),  # numpy files them under integers
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
    with pytest.raises(ValueError, match=r"last axis of 2 looks like channels: .* channel_axis=-1"):
        zssr_stack(np.random.rand(40, 50, 2), 2, config=tiny_config)  # two channels last, as a numpy user has them


@pytest.mark.parametrize("kernel, message", [
    (np.ones((3, 3, 3)), "2D"), (-np.ones((3, 3)), "negative"), (np.zeros((3, 3)), "sums to zero"),
    (np.ones((3, 3), dtype="timedelta64[s]"), "real-valued numeric"),
])
def test_bad_kernel_is_refused_clearly(kernel, message, textured_image, tiny_config):
    with pytest.raises((TypeError, ValueError), match=message):
        zssr(textured_image, 2, kernel=kernel, config=tiny_config)


def test_a_scale_a_rounding_away_from_whole_is_whole_for_the_kernel_and_the_output_size(textured_image, tiny_config):
    """2.0000000001 (a float's rounding) was whole for the kernel but gave 81 output rows of 40: torch's size
    mismatch after training, or an output of the wrong size."""
    from napari_zssr.sample import gaussian_psf

    result = zssr(textured_image, 2.0000000001, kernel=gaussian_psf(1.0), config=tiny_config)
    assert result.sr.shape == (80, 72) and result.scale == (2.0, 2.0)


def test_kernel_needs_integer_scale(textured_image, tiny_config):
    with pytest.raises(ValueError, match="integer scale"):
        zssr(textured_image, 1.5, kernel=np.ones((3, 3)), config=tiny_config)


def test_device_selection():
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    assert select_device("cpu").type == "cpu"
    assert str(select_device("cpu:1")) == "cpu"  # torch takes an index a CPU has not: recorded as "cpu:1"
    with pytest.raises(ValueError, match="not available|unsupported"):
        select_device("cuda:7")
    with pytest.raises(ValueError, match="unsupported"):
        select_device("tpu")


def test_presets():
    assert ZSSRConfig() == ZSSRConfig.preset("default")
    paper = ZSSRConfig.preset("paper")
    assert paper.noise_std == 0 and paper.back_projection_iterations == 10 and paper.max_iterations == 3000
    assert not paper.back_projection_to_noise  # the authors back-project every step
    for name in ("default", "fast"):  # back-projection that stops at the input's noise level
        assert ZSSRConfig.preset(name).back_projects_to_noise and ZSSRConfig.preset(name).back_projection_iterations
    assert ZSSRConfig.preset("fast").max_iterations < ZSSRConfig().max_iterations
    assert ZSSRConfig.preset("fast", seed=4).seed == 4
    # the field "name" is an override like any other (not the preset's name twice: a TypeError from Python)
    labelled = ZSSRConfig.preset("fast", name="fast, 50 iterations", max_iterations=50)
    assert labelled.name == "fast, 50 iterations" and labelled.init == "learned" and labelled.max_iterations == 50
    with pytest.raises(ValueError, match="unknown preset"):
        ZSSRConfig.preset("best")


def test_the_fast_preset_runs_all_its_iterations():
    """Its lr (3e-4) divided twice stays above its minimum rate, so training does not end at the second drop."""
    fast = ZSSRConfig.preset("fast", crop_size=16)
    image = np.random.default_rng(0).random((24, 24))
    assert zssr(image, 2, config=fast).iterations == [fast.max_iterations]


def test_device_memory_is_released_even_when_cancelled(textured_image, tiny_config, monkeypatch):
    import napari_zssr.api as api

    released = []
    monkeypatch.setattr(api, "release_device_memory", lambda device: released.append(str(device)))
    zssr(textured_image, 2, config=tiny_config, device="cpu")
    with pytest.raises(Cancelled):
        zssr(textured_image, 2, config=tiny_config, device="cpu", should_stop=lambda: True)
    assert released == ["cpu", "cpu"]


def test_blank_planes_keep_noise_stds_lined_up_with_iterations(textured_image, tiny_config):
    stack = np.stack([np.full_like(textured_image, 7), textured_image])
    with pytest.warns(BlankPlaneWarning):
        result = zssr_stack(stack, 2, config=tiny_config)
    assert result.iterations == [0, tiny_config.max_iterations]
    assert len(result.noise_stds) == 2 and result.noise_stds[0] == 0.0 and result.noise_stds[1] > 0


def test_float64_beyond_float32_range_keeps_its_values(textured_image, tiny_config):
    plain = zssr(textured_image.astype(np.float64), 2, config=tiny_config)
    huge = zssr(textured_image.astype(np.float64) * 1e36, 2, config=tiny_config)  # up to ~2e39 > float32's 3.4e38
    assert huge.sr.dtype == np.float64 and np.all(np.isfinite(huge.sr))
    assert np.allclose(huge.sr / 1e36, plain.sr, rtol=1e-4, atol=1e-3)


@contextlib.contextmanager
def float64_by_default():
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("caller_s_mode", [torch.no_grad, torch.inference_mode, float64_by_default,
                                           lambda: torch.autocast("cpu", dtype=torch.bfloat16)])
def test_a_run_is_the_same_whatever_torch_modes_its_caller_set(textured_image, tiny_config, caller_s_mode):
    """A pipeline in torch.no_grad() or inference_mode() left nothing to train, a default type of float64 made the
    network float64 (torch's errors from deep inside), and a caller's autocast changed the precision unsaid."""
    configs = (tiny_config, ZSSRConfig.preset("fast", max_iterations=2))  # the random start, and the learned one
    expected = [zssr(textured_image, 2, config=config, seed=1).sr for config in configs]
    def modes():
        return (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), torch.get_default_dtype(),
                torch.is_autocast_enabled("cpu"))

    with caller_s_mode():
        caller_s = modes()
        for config, sr in zip(configs, expected):
            assert np.array_equal(zssr(textured_image, 2, config=config, seed=1).sr, sr)
        assert modes() == caller_s  # left as the caller set them


def test_a_spread_asked_for_from_an_ensemble_of_one_member_is_said_to_measure_nothing(textured_image, tiny_config):
    """All zeros would read as a network sure of every pixel."""
    single = replace(tiny_config, ensemble=1)
    with pytest.warns(UserWarning, match="the ensemble spread is 0 everywhere"):
        result = zssr(textured_image, 2, config=single, outputs=["zssr", "ensemble_spread"])
    assert not result.ensemble_spread.any() and "ensemble spread is 0" in result.notes[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        several = zssr(textured_image, 2, config=replace(tiny_config, ensemble=8), outputs=["ensemble_spread"])
        assert several.ensemble_spread.max() > 0 and not several.notes
        zssr(textured_image, 2, config=single)  # every output by default: not asked for by name


def test_float32_near_its_largest_value_gives_finite_outputs(textured_image, tiny_config):
    """A span of 6e38 overflows float32 arithmetic; the outputs must still be finite float32 of the right scale."""
    signed = (textured_image.astype(np.float32) / textured_image.max() * 2 - 1) * np.float32(3e38)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warning from any step
        result = zssr(signed, 2, config=tiny_config)
    assert result.sr.dtype == np.float32
    for output in (result.sr, result.ensemble_median, result.residual, result.ensemble_spread):
        assert np.all(np.isfinite(output))
    assert np.abs(result.sr).max() > 1e38 and np.corrcoef(result.sr[::2, ::2].ravel(), signed.ravel())[0, 1] > 0.8


def test_float64_variation_below_float32_resolution_is_kept(textured_image, tiny_config):
    detail = textured_image.astype(np.float64)
    plain = zssr(detail, 2, config=tiny_config)
    offset = zssr(1e6 + 1e-6 * detail, 2, config=tiny_config)  # float32 steps are 0.06 near 1e6: all one value
    assert offset.sr.std() > 0.5 * 1e-6 * plain.sr.std()
    assert np.allclose((offset.sr - 1e6) * 1e6, plain.sr, rtol=1e-3, atol=0.05)
    assert np.allclose((offset.residual * 1e6), plain.residual, atol=0.05)


def test_integer_inputs_give_float32_or_float64_as_their_values_need(textured_image, tiny_config):
    assert zssr(textured_image, 2, config=tiny_config).sr.dtype == np.float32
    assert zssr(textured_image.astype(np.int64) << 32, 2, config=tiny_config).sr.dtype == np.float64


@pytest.mark.parametrize("name, value, error", [
    ("crop_size", 1, ValueError), ("crop_size", 64.5, TypeError), ("width", 0, ValueError), ("depth", -1, ValueError),
    ("progress_every", 0, ValueError), ("tile_size", -1, ValueError), ("tile_size", 0, ValueError),
    ("max_iterations", 0, ValueError), ("max_iterations", 10.0, TypeError), ("max_iterations", True, TypeError),
    ("noise_std", None, TypeError), ("noise_std", -0.1, ValueError), ("noise_std", float("nan"), ValueError),
    ("noise_std", "high", ValueError), ("gradual_steps", 1.5, TypeError), ("gradual_steps", (1.0,), ValueError),
    ("gradual_steps", ("2",), ValueError), ("lr_step_fractions", (0.5, 1.2), ValueError),
    ("lr_step_fractions", (0.0,), ValueError), ("lr_schedule", "cosine", ValueError),
    ("precision", "half", ValueError), ("device", "gpu", ValueError), ("device", 0, TypeError),
    ("seed", -1, ValueError), ("seed", 1.5, TypeError), ("seed", True, TypeError), ("learning_rate", 0, ValueError),
    ("learning_rate", 1e38, ValueError), ("learning_rate", "1e-3", TypeError), ("lr_change_ratio", 0, ValueError),
    ("recon_every", 0, ValueError), ("lr_check_every", 0, ValueError), ("father_min_scale", 0, ValueError),
    ("father_levels", 0, ValueError), ("ensemble", "yes", TypeError), ("back_projection_iterations", -1, ValueError),
    ("back_projection_to_noise", "yes", TypeError), ("name", None, TypeError), ("name", object(), TypeError),
    ("gradual_steps", (1.5, 1.5), ValueError),  # trained that step twice
    ("min_learning_rate", 1.0, ValueError),  # above the learning rate: training ended at its first drop
])
def test_every_bad_config_field_is_named(name, value, error):
    with pytest.raises(error, match=f"ZSSRConfig.{name} must be"):
        ZSSRConfig(**{name: value})


def test_a_rate_that_a_scheduled_drop_takes_below_the_minimum_is_refused():
    """Training stopped at that drop, unsaid: 16 of 20 iterations here (and 800 of 1,000 for default's lr / 20)."""
    with pytest.raises(ValueError, match="learning_rate 2e-05 falls to 2e-06 at its drop after 16 of the 20 "
                                         r"iterations, below min_learning_rate 9e-06.*\(under 2e-06, e\.g\. 0\)"):
        ZSSRConfig(learning_rate=2e-5, max_iterations=20)
    with pytest.raises(ValueError, match="at its drop after 95 of the 100 iterations"):
        ZSSRConfig.preset("fast", learning_rate=1e-4)
    assert ZSSRConfig(learning_rate=2e-5, min_learning_rate=0, max_iterations=20).max_iterations == 20
    assert ZSSRConfig(learning_rate=2e-5, lr_schedule="policy").min_learning_rate == 9e-6  # it stops by design
    at_the_end = ZSSRConfig(learning_rate=5e-5, max_iterations=20, lr_step_fractions=(0.99,))  # a drop at the end
    assert at_the_end.max_iterations == 20
    # a fraction that rounds to iteration 0 drops nothing: the trainer's drops and the check's are the same ones
    early = ZSSRConfig(max_iterations=10, lr_step_fractions=(0.01, 0.5, 0.9))
    assert early.lr_drop_iterations() == [5, 9]


def test_good_config_values_pass_and_sequences_become_tuples():
    config = ZSSRConfig(gradual_steps=[1.5, 2], lr_step_fractions=[0.5], device="cuda:1", noise_std=0, seed=2**40)
    assert config.gradual_steps == (1.5, 2) and config.lr_step_fractions == (0.5,)
    assert ZSSRConfig(max_iterations=np.int64(5), noise_std=np.float32(0.01)).max_iterations == 5


def test_numpy_numbers_in_a_config_are_recorded_as_plain_json_values():
    """Every field, ensemble among them, holds plain Python values: a result's metadata is written as JSON."""
    config = ZSSRConfig(ensemble=np.int64(2), max_iterations=np.int32(5), seed=np.uint8(3),
                        learning_rate=np.float32(1e-3), noise_std=np.float64(0.01))
    assert type(config.ensemble) is int and config.ensemble == 2
    assert json.loads(json.dumps(config.to_dict()))["ensemble"] == 2


def test_a_field_assigned_later_is_checked_by_the_run(textured_image, tiny_config):
    tiny_config.tile_size = -1
    with pytest.raises(ValueError, match="ZSSRConfig.tile_size must be"):
        zssr(textured_image, 2, config=tiny_config)


@pytest.mark.parametrize("config, message", [
    ({"max_iterations": 3}, r"ZSSRConfig\(\*\*d\)"), ("fast", "ZSSRConfig.preset"),
])
def test_config_must_be_a_zssr_config(textured_image, config, message):
    with pytest.raises(TypeError, match=message):
        zssr(textured_image, 2, config=config)


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -2}, "seed must be"), ({"seed": "1"}, "seed must be"),
])
def test_run_arguments_are_checked(textured_image, tiny_config, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        zssr(textured_image, 2, config=tiny_config, **kwargs)


def test_warm_start_iterations_are_checked(textured_image, tiny_config):
    with pytest.raises(ValueError, match="warm_start_iterations"):
        zssr_stack(np.stack([textured_image] * 2), 2, config=tiny_config, warm_start_iterations=0)
    result = zssr_stack(np.stack([textured_image] * 2), 2, config=tiny_config, warm_start_iterations=np.int64(2))
    assert result.iterations == [tiny_config.max_iterations, 2]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"pixel_size": 0}, ValueError, "pixel_size must be a positive"),
    ({"pixel_size": float("nan")}, ValueError, "pixel_size must be a positive"),
    ({"pixel_size": (0.1,)}, ValueError, "pixel_size must be a positive"),
    ({"progress": 5}, TypeError, "progress must be a function"),
    ({"should_stop": True}, TypeError, "should_stop must be a function"),
    ({"kernel": lambda scale: None}, TypeError, "kernel function returned None"),
])
def test_bad_arguments_fail_before_any_training(textured_image, tiny_config, monkeypatch, kwargs, error, message):
    import napari_zssr.api as api

    monkeypatch.setattr(api, "run_plane", lambda *a, **k: pytest.fail("trained before checking its arguments"))
    with pytest.raises(error, match=message):
        zssr(textured_image, 2, config=tiny_config, **kwargs)


@pytest.mark.parametrize("field", ["crop_size", "recon_crop"])
def test_a_crop_too_small_for_the_scale_is_named(textured_image, tiny_config, field):
    setattr(tiny_config, field, 7)
    with pytest.raises(ValueError, match=f"{field} 7 is too small for the scale 4"):
        zssr(textured_image, 4, config=tiny_config)
    assert zssr(textured_image, 3, config=tiny_config).sr.shape == (120, 108)


def test_unequal_pixel_sides_are_taken_as_a_pair(tiny_config):
    from napari_zssr import KernelChoice, Optics

    y, x = np.mgrid[:96, :96]  # large enough for the resolution report
    image = np.sin(x / 3.0) * np.cos(y / 5.0) * 800 + 1000 + np.random.default_rng(1).normal(0, 20, (96, 96))
    optics = KernelChoice("optics", optics=Optics(1.4, 520))
    result = zssr(image, 2, optics, config=tiny_config, pixel_size=(0.1, 0.2))
    square = zssr(image, 2, optics, config=tiny_config, pixel_size=0.1)
    assert result.kernel["pixel_size_um"] == (0.1, 0.2) and square.kernel["pixel_size_um"] == 0.1
    assert not np.array_equal(result.sr, square.sr)  # the kernel follows the pixels: narrower along x
    assert result.resolution["input_um"] == pytest.approx(result.resolution["input_px"] * np.sqrt(0.1 * 0.2), rel=1e-3)
    from napari_zssr.api import checked_pixel_size

    assert checked_pixel_size((0.1, 0.1)) == 0.1 and checked_pixel_size([0.1, 0.2]) == (0.1, 0.2)


def test_a_masked_array_with_masked_pixels_is_refused(textured_image, tiny_config):
    masked = np.ma.masked_greater(textured_image, 1500)
    with pytest.raises(ValueError, match="masked array with masked pixels"):
        zssr(masked, 2, config=tiny_config)
    plain = zssr(textured_image.astype(np.float32), 2, config=tiny_config).sr
    with pytest.warns(PendingDeprecationWarning):  # numpy's own, on making one
        matrix = np.matrix(textured_image.astype(np.float32))
    with warnings.catch_warnings():  # nothing masked: read as its data, without numpy's "ignores the mask" warnings
        warnings.simplefilter("error")
        for unmasked in (np.ma.masked_array(textured_image.astype(np.float32)),
                         np.ma.masked_array(textured_image.astype(np.float32), mask=False),
                         matrix):  # a matrix too (its planes stay 2D)
            assert np.array_equal(zssr(unmasked, 2, config=tiny_config).sr, plain)


def test_a_lazy_masked_stack_is_refused_at_its_masked_plane(textured_image, tiny_config):
    """dask keeps a chunk's mask only until the plane is read: it is seen then, before that plane trains."""
    from napari_zssr import zssr_axial

    da = pytest.importorskip("dask.array")
    stack = np.stack([textured_image, textured_image])
    masked = da.ma.masked_greater(da.from_array(stack, chunks=(1, 40, 36)), 1500)
    events = []
    with pytest.raises(ValueError, match=r"the plane at index 0 has masked pixels"):
        zssr_stack(masked, 2, config=tiny_config, progress=events.append)
    assert not any(event.stage == "training" for event in events)
    volume = da.ma.masked_greater(da.from_array(np.stack([textured_image] * 8), chunks=(8, 40, 36)), 1500)
    with pytest.raises(ValueError, match="the volume has masked pixels"):
        zssr_axial(volume, 2.0, config=tiny_config)
    unmasked = da.ma.masked_greater(da.from_array(stack, chunks=(1, 40, 36)), 10**6)  # a mask with nothing in it
    assert zssr_stack(unmasked, 2, config=tiny_config).sr.shape == (2, 80, 72)


def test_longdouble_input_gives_float64_output(textured_image, tiny_config):
    assert zssr(textured_image.astype(np.longdouble), 2, config=tiny_config).sr.dtype == np.float64


def test_preset_names_an_unknown_option_and_lists_the_valid_ones():
    with pytest.raises(TypeError, match="unknown ZSSRConfig option.*max_iter;.*max_iterations"):
        ZSSRConfig.preset("fast", max_iter=3)


def test_a_preset_given_only_as_name_says_to_give_it_first():
    """``name=`` is the label override: preset(name="fast") named no preset, and Python's error said 'name' was
    missing."""
    with pytest.raises(TypeError, match=r"no preset given: .* without a keyword, e.g. ZSSRConfig.preset\('fast'\)"):
        ZSSRConfig.preset(name="fast")
    with pytest.raises(TypeError, match="default, fast, paper"):
        ZSSRConfig.preset()


def test_float32_settings_are_recorded_as_typed():
    """A learning rate from a float32 table was recorded as 0.0010000000474974513 in every output's record."""
    config = ZSSRConfig(learning_rate=np.float32(1e-3), noise_std=np.float16(0.01),
                        lr_step_fractions=(np.float32(0.8),))
    assert (config.learning_rate, config.noise_std, config.lr_step_fractions) == (1e-3, 0.01, (0.8,))
    assert type(config.learning_rate) is float and ZSSRConfig(learning_rate=np.float64(1e-3)).learning_rate == 1e-3


def gaussian_kernel(sigma: float) -> np.ndarray:
    half = int(np.ceil(3 * sigma))
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


def test_each_gradual_step_gets_the_kernel_of_its_own_scale(textured_image, tiny_config, monkeypatch):
    from napari_zssr.core import engine

    asked, used = [], []
    real_create = engine.Degradation.create

    def recording_create(scale, kernel, device):
        used.append((scale, None if kernel is None else kernel.shape))
        return real_create(scale, kernel, device)

    def kernel_of(scale):
        asked.append(scale)
        return gaussian_kernel(0.5 * scale[0])  # the blur widens with the scale, as a PSF on a finer HR grid does

    monkeypatch.setattr(engine.Degradation, "create", recording_create)
    tiny_config.gradual_steps = (2.0,)
    result = zssr(textured_image, 4, kernel=kernel_of, config=tiny_config)
    assert result.sr.shape == (160, 144)
    assert asked == [(2.0, 2.0), (4.0, 4.0)]
    assert used == [((2.0, 2.0), gaussian_kernel(1.0).shape), ((4.0, 4.0), gaussian_kernel(2.0).shape)]


def test_a_kernel_array_with_gradual_steps_is_refused(textured_image, tiny_config):
    tiny_config.gradual_steps = (2.0,)
    with pytest.raises(ValueError, match="final scale only.*gradual steps"):
        zssr(textured_image, 4, kernel=gaussian_kernel(2.0), config=tiny_config)


def test_a_fractional_gradual_step_with_a_kernel_is_named_before_any_work(textured_image, tiny_config):
    tiny_config.gradual_steps = (1.5,)
    optics = KernelChoice("optics", optics=Optics(na=1.2, wavelength=520, refractive_index=1.333))
    for kernel in (optics, "estimate", lambda scale: gaussian_kernel(scale[0])):
        with pytest.raises(ValueError, match=r"gradual step \(1.5, 1.5\) has no whole-number factor.*\(2,\)"):
            zssr(textured_image, 2, kernel=kernel, pixel_size=0.1, config=tiny_config)


def test_a_psf_pixel_size_left_unused_is_said(textured_image, tiny_config, tmp_path):
    import tifffile

    from napari_zssr import KernelNoteWarning

    tifffile.imwrite(tmp_path / "psf.tif", gaussian_kernel(2.0).astype(np.float32), imagej=True,
                     resolution=(1 / 0.04, 1 / 0.04), metadata={"unit": "um"})
    choice = KernelChoice("psf", psf_path=str(tmp_path / "psf.tif"))
    with pytest.warns(KernelNoteWarning, match=r"image's pixel size is unknown, so the PSF's \(0.04 um\)"):
        result = zssr(textured_image, 2, kernel=choice, config=tiny_config)
    assert result.notes == [result.kernel["note"]] and result.metadata()["notes"] == result.notes
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelNoteWarning)  # both sizes known: resampled, nothing to say
        assert zssr(textured_image, 2, kernel=choice, pixel_size=0.1, config=tiny_config).notes == []
    np.save(tmp_path / "psf.npy", gaussian_kernel(2.0))  # no pixel size: taken as the image's, which is said
    bare = KernelChoice("psf", psf_path=str(tmp_path / "psf.npy"))
    with pytest.warns(KernelNoteWarning, match=r"PSF file gives no pixel size, so it is taken as sampled at the "
                                               r"image's pixels \(0.1 x 0.15 um\); if it was not, give"):
        zssr(textured_image, 2, kernel=bare, pixel_size=(0.1, 0.15), config=tiny_config)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelNoteWarning)
        given = KernelChoice("psf", psf_path=str(tmp_path / "psf.npy"), psf_pixel_size=0.05)
        assert zssr(textured_image, 2, kernel=given, pixel_size=0.1, config=tiny_config).notes == []
        assert zssr(textured_image, 2, kernel=bare, config=tiny_config).notes == []  # neither known: nothing to say


def test_ensemble_size_takes_the_first_allowed_transforms_in_order(textured_image, tiny_config):
    from dataclasses import replace

    from napari_zssr.core.geometry import ENSEMBLE_ORDER, ensemble_transforms

    assert ZSSRConfig(ensemble=True).ensemble == 8 and ZSSRConfig(ensemble=False).ensemble == 1
    with pytest.raises(ValueError, match=r"ZSSRConfig.ensemble must be from 1 to 8"):
        ZSSRConfig(ensemble=9)
    assert ensemble_transforms(list(range(8)), 2) == [0, 5] and ensemble_transforms([0, 2, 4, 6], 3) == [0, 2, 4]
    assert sorted(ENSEMBLE_ORDER) == list(range(8))
    for size in (1, 2, 4, 8):
        result = zssr(textured_image, 2, config=replace(tiny_config, ensemble=size))
        assert result.transforms == list(ENSEMBLE_ORDER[:size])


def test_numpy_numbers_in_a_config_become_python_numbers():
    config = ZSSRConfig(seed=np.int64(5), max_iterations=np.int32(3), learning_rate=np.float32(1e-3),
                        noise_std=np.float32(0.01), gradual_steps=(np.float32(1.5),))
    assert type(config.seed) is int and type(config.max_iterations) is int
    assert type(config.learning_rate) is float and type(config.noise_std) is float
    assert type(config.gradual_steps[0]) is float
    json.dumps(vars(config))  # the settings record of a batch


def test_numpy_booleans_are_switches_as_python_ones(tmp_path):
    """What comparing arrays gives (``np.True_``) sets a switch as True does, in the config, zssr() and the batch;
    other values still need True or False."""
    flags = np.array([1.0, 0.5]) > 0.7  # np.True_, np.False_
    config = ZSSRConfig(ensemble=flags[0], back_projection_to_noise=flags[1])
    assert config.ensemble == 8 and config.back_projection_to_noise is False
    assert ZSSRConfig(ensemble=flags[1]).ensemble == 1
    json.dumps(vars(config))
    with pytest.raises(TypeError, match="back_projection_to_noise must be True or False, got 'no'"):
        ZSSRConfig(back_projection_to_noise="no")
    for other in (np.array([True, False]), torch.tensor(True)):  # torch's dtypes have no numpy kind
        with pytest.raises(TypeError, match="back_projection_to_noise must be True or False"):
            ZSSRConfig(back_projection_to_noise=other)
    from napari_zssr.batching import make_options

    assert make_options(tmp_path, {"overwrite": flags[0], "quiet": flags[1]}).overwrite
    import tifffile  # a PSF's measured= is recorded as Python's: the result's metadata stays JSON

    tifffile.imwrite(tmp_path / "psf.tif", gaussian_kernel(2.0).astype(np.float32))
    image = np.random.default_rng(0).random((40, 40))
    tiny = ZSSRConfig(max_iterations=2, width=8, depth=3, crop_size=16, ensemble=1)
    result = zssr(image, 2, kernel=KernelChoice("psf", str(tmp_path / "psf.tif"), measured=flags[0]), config=tiny)
    assert result.kernel["measured"] is True
    json.dumps(result.metadata())


def test_noise_std_beyond_the_intensity_range_is_refused():
    with pytest.raises(ValueError, match="ZSSRConfig.noise_std must be .* from 0 to 1"):
        ZSSRConfig(noise_std=2.0)


@pytest.mark.parametrize("text", ["2", ("2", "3"), [2, "2"], np.array(["2", "2"])])
def test_text_is_no_scale_or_pixel_size_in_a_pair_as_alone(text):
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(ValueError, match="scale must be a number > 1 or a"):
        zssr(image, text)
    with pytest.raises(ValueError, match="pixel_size must be a positive number"):
        zssr(image, 2, pixel_size=text)


def test_one_of_channels_is_a_switch():
    with pytest.raises(TypeError, match="one_of_channels must be True or False, got 'no'"):
        zssr_stack(np.random.default_rng(0).random((16, 16)), 2, one_of_channels="no")


@pytest.mark.parametrize("scale", [65, 1e308, (2, 100)])
def test_a_scale_past_any_image_is_refused(scale):
    with pytest.raises(ValueError, match="scale must be at most 64"):
        zssr(np.random.default_rng(0).random((16, 16)), scale)


@pytest.mark.parametrize("learning_rate", [1e6, 1e30])  # outputs of about 1e21, and NaN
def test_a_diverging_run_is_an_error_not_a_nan_or_runaway_image(learning_rate):
    image = np.random.default_rng(0).random((16, 16))
    config = ZSSRConfig(max_iterations=3, learning_rate=learning_rate, width=8, depth=3, crop_size=16)
    with pytest.raises(RuntimeError, match="training diverged"):
        zssr(image, 2, config=config)


def test_a_hot_pixel_far_above_the_range_is_not_taken_for_divergence(tiny_config):
    image = np.random.default_rng(0).random((64, 64))
    image[5, 7] = 1e6  # above the robust (99.9 percentile) range: normalised, it stays near 1e6, and so does the output
    result = zssr(image, 2, config=tiny_config)
    assert np.isfinite(result.sr).all() and result.sr.max() > 1e5


@pytest.mark.parametrize("outlier, dtype", [(3e38, np.float32), (1e300, np.float64), (-1e25, np.float64)])
def test_an_outlier_too_far_out_for_float32_is_refused_naming_it(tiny_config, outlier, dtype):
    """A finite pixel billions of billions of times the image's range (a sentinel value, FLT_MAX for 'no data')
    overflowed the float32 computation (float64 1e300 became inf when normalised): the run trained and then failed
    with 'training diverged ... lower learning_rate or noise_std', blaming the settings for the data."""
    image = np.random.default_rng(0).random((48, 48)).astype(dtype)
    image[5, 7] = outlier  # one pixel of 2304: outside the robust (0.1 to 99.9 percentile) range
    with pytest.raises(ValueError, match=re.escape(f"{outlier:.3g}") + ".*times its intensity range.*clip"):
        zssr(image, 2, config=tiny_config)


def test_an_outlier_in_a_late_plane_is_refused_before_any_plane_trains(tiny_config):
    """NaN anywhere was refused at once, an outlier only when its plane came up: the planes before it trained (a large
    stack's hours) and the run then failed. It names the plane."""
    stack = np.random.default_rng(0).random((4, 48, 48)).astype(np.float32)
    stack[3, 5, 5] = 1e30  # one pixel of 2304: outside the robust (0.1 to 99.9 percentile) range
    reports = []
    with pytest.raises(ValueError, match=r"^the plane at index 3: the image's values reach 1e\+30"):
        zssr_stack(stack, 2, config=tiny_config, progress=reports.append)
    assert not reports


def test_the_pass_over_every_planes_range_ends_at_a_cancel(tiny_config, monkeypatch):
    """Each plane's range is worked out before the first trains (a percentile a plane: seconds for a large stack),
    and a Cancel during it ends the run there."""
    from napari_zssr import input_values

    ranged = []
    monkeypatch.setattr(input_values, "intensity_range", lambda plane: ranged.append(1) or (0.0, 1.0))
    stack = np.random.default_rng(0).random((4, 24, 24))
    with pytest.raises(Cancelled):
        zssr_stack(stack, 2, config=tiny_config, should_stop=lambda: len(ranged) >= 1)
    assert len(ranged) == 1


def test_a_blank_plane_keeps_its_value_exactly_in_a_float64_result(tiny_config):
    image = np.random.default_rng(0).random((24, 24)) + 0.1
    stack = np.stack([image, np.full_like(image, 0.1)])  # float64: the result is float64
    with pytest.warns(BlankPlaneWarning):
        result = zssr_stack(stack, 2, config=tiny_config)
    assert result.sr.dtype == np.float64 and np.all(result.sr[1] == 0.1)


def test_a_torch_tensor_is_taken_as_its_values(tiny_config):
    import torch

    image = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    expected = zssr(image, 2, config=tiny_config).sr
    assert np.array_equal(zssr(torch.from_numpy(image), 2, config=tiny_config).sr, expected)
    assert np.array_equal(zssr_stack(torch.from_numpy(image)[None], 2, config=tiny_config).sr[0], expected)


def test_a_torch_kernel_is_taken_as_its_values_bfloat16_too(textured_image, tiny_config):
    """bfloat16 has no numpy type: the kernel failed inside torch ('Got unsupported ScalarType BFloat16')."""
    expected = zssr(textured_image, 2, kernel=np.ones((3, 3)), config=tiny_config).sr
    for kernel in (torch.ones(3, 3), torch.ones(3, 3, dtype=torch.bfloat16)):
        assert np.array_equal(zssr(textured_image, 2, kernel=kernel, config=tiny_config).sr, expected)


def test_bfloat16_and_float8_tensors_are_taken_by_every_entry_point(textured_image, tiny_config):
    """numpy has no type for them: the estimates and the PSF conversion failed inside torch ('Got unsupported
    ScalarType BFloat16'), and float8 failed in zssr too."""
    from scipy import ndimage

    from napari_zssr import estimate_kernel, estimate_resolution, kernel_from_psf

    structure = ndimage.gaussian_filter(np.random.default_rng(0).random((128, 128)), 2.0)
    image = torch.as_tensor((structure - structure.min()) / np.ptp(structure), dtype=torch.float32)
    for kind in (torch.bfloat16, torch.float8_e4m3fn):
        assert estimate_resolution(image.to(kind)).resolution > 0
        assert estimate_kernel(image.to(kind)).fwhm > 0
        assert kernel_from_psf(torch.ones(9, 9, dtype=kind), computed=True).sum() == pytest.approx(1.0)
        small = torch.as_tensor(textured_image / textured_image.max(), dtype=torch.float32).to(kind)
        assert zssr(small, 2, config=tiny_config).sr.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "ComplexHalf support is experimental"
        halves = torch.ones(20, 20, dtype=torch.complex32)
    with pytest.raises(TypeError, match="image is complex-valued"):  # not torch's own error
        zssr(halves, 2, config=tiny_config)


@pytest.mark.parametrize("max_iterations, warm", [(1000, 200), (60, 12), (20, 10), (5, 5)])
def test_warm_started_planes_train_a_fifth_at_least_10_and_never_past_the_cap(max_iterations, warm):
    assert ZSSRConfig(max_iterations=max_iterations).warm_start_iterations() == warm


def test_a_ragged_list_is_named_as_such():
    with pytest.raises(ValueError, match="image is not an array of equal-sized rows and planes"):
        zssr([[1.0, 2.0, 3.0], [4.0, 5.0]], 2)


def test_a_few_photons_a_pixel_keep_their_intensity():
    """An L1-trained net outputs a median, below the mean under shot noise; a run stopped at the noise floor puts
    the difference back (core.inference.restore_flux), the median layer keeps the net's own."""
    from napari_zssr import ZSSRConfig, zssr

    y, x = np.mgrid[0:48, 0:48]
    blobs = sum(np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * 1.8**2)) for cy, cx in ((12, 15), (31, 20), (22, 36)))
    counts = np.random.default_rng(0).poisson(0.2 + 2 * blobs).astype(np.uint16)  # 2 photons at the peaks
    result = zssr(counts, 2, config=ZSSRConfig.preset("fast", max_iterations=10), seed=1, device="cpu")
    assert result.sr.mean() / counts.mean() == pytest.approx(1, abs=0.02)
    assert result.ensemble_median.mean() / counts.mean() < 0.9


def test_a_memory_mapped_stack_is_checked_plane_by_plane_as_it_is_read(tmp_path, tiny_config):
    """A whole-array check would read a file far larger than memory before the first plane: like dask data, a
    memmap's planes are checked as they are read."""
    from napari_zssr.input_values import validate_image

    mapped = np.memmap(tmp_path / "stack.raw", dtype=np.float32, mode="w+", shape=(3, 24, 24))
    mapped[:] = np.random.default_rng(0).random((3, 24, 24))
    mapped[2, 5, 5] = np.nan
    assert validate_image(mapped, (2.0, 2.0), ndim=None) is mapped  # not scanned here
    with pytest.raises(ValueError, match="NaN"):
        validate_image(np.array(mapped), (2.0, 2.0), ndim=None)  # in memory: checked at once
    progress = []
    with pytest.raises(ValueError, match="the plane at index 2"):
        zssr_stack(mapped, 2, config=tiny_config, device="cpu", progress=progress.append)
    assert {event.plane for event in progress if event.stage == "plane done"} == {0, 1}  # read in turn


def test_outputs_larger_than_the_machines_memory_are_refused_before_any_training(monkeypatch):
    """numpy would grant them (memory is over-committed) and the run would be killed once they fill."""
    from napari_zssr import api

    assert api.memory_limit_bytes() is None or api.memory_limit_bytes() > 2**30  # this machine's, read
    monkeypatch.setattr(api, "memory_limit_bytes", lambda: 2**30)  # a 1 GiB machine
    monkeypatch.setattr(api, "run_plane", lambda *args, **kwargs: pytest.fail("trained"))
    lazy = np.broadcast_to(np.float32(1), (40, 2048, 2048))  # 40 planes read as they are run: 0.6 GiB in
    with pytest.raises(ValueError, match=r"the 3 output\(s\) of shape \(40, 4096, 4096\) \(zssr, ensemble_median, "
                                         r"residual\) need 7.5 GiB, more than the 1.0 GiB of memory this process "
                                         r"can have"):
        zssr_stack(lazy, 2, outputs=["zssr", "ensemble_median", "residual"])
    monkeypatch.setattr(api, "run_kernels", lambda *args, **kwargs: pytest.fail("the kernel came first"))
    with pytest.raises(ValueError, match=r"need 7.5 GiB"):  # not after an estimate that reads every plane
        zssr_stack(lazy, 2, kernel="estimate", outputs=["zssr", "ensemble_median", "residual"])
    assert api.allocate_outputs((2, 8, 8), np.float32, ("zssr",))[0].shape == (2, 8, 8)  # what fits is allocated
    with pytest.raises(ValueError, match=f"need {8e19 / 2**30:.1f} GiB"):  # counted exactly past 2**63 elements
        api.allocate_outputs((10**6, 10**7, 10**6), np.float32, ("zssr", "residual"))


def test_a_result_keeps_the_settings_it_ran_with(textured_image, tiny_config):
    result = zssr(textured_image, 2, config=tiny_config)
    tiny_config.max_iterations = 99  # the caller reuses its config for the next run
    assert result.config.max_iterations == 6 and result.metadata()["config"]["max_iterations"] == 6


def test_notes_only_leaves_other_threads_warning_and_no_filter_behind(tiny_config):
    """The batch keeps its runs' notes without warnings, per thread: warnings.catch_warnings in two threads at once
    could leave an "ignore" filter installed for good."""
    import threading

    from napari_zssr.api import notes_only

    stack = np.stack([np.full((40, 36), 5.0), np.random.default_rng(0).random((40, 36))])
    filters = list(warnings.filters)
    inside, entered, leave = [], threading.Event(), threading.Event()

    def quiet_run() -> None:
        with notes_only():
            entered.set()
            leave.wait(60)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                inside.append((zssr_stack(stack, 2, config=tiny_config).blank_planes, list(seen)))

    thread = threading.Thread(target=quiet_run)
    thread.start()
    entered.wait(60)
    with pytest.warns(BlankPlaneWarning):  # this thread still warns while the other keeps notes only
        zssr_stack(stack, 2, config=tiny_config)
    leave.set()
    thread.join(120)
    assert inside == [([(0,)], [])]
    assert warnings.filters == filters


def test_masked_pixels_are_refused_by_the_estimates_and_the_psf():
    from napari_zssr import estimate_kernel, estimate_resolution, kernel_from_psf
    from napari_zssr.sample import gaussian_psf

    image = np.ma.masked_array(np.random.default_rng(0).random((96, 96)), mask=np.zeros((96, 96), bool))
    image.mask[:8, :8] = True
    for estimate in (estimate_kernel, estimate_resolution):
        with pytest.raises(ValueError, match="masked pixels"):
            estimate(image)
    psf = np.ma.masked_array(gaussian_psf(1.5), mask=np.zeros((13, 13), bool))
    psf.mask[0, 0] = True
    with pytest.raises(ValueError, match="masked pixels"):
        kernel_from_psf(psf)


def test_a_warm_start_longer_than_max_iterations_is_refused(tiny_config):
    with pytest.raises(ValueError, match="warm_start_iterations 7 is more than max_iterations 6"):
        zssr_stack(np.random.default_rng(0).random((2, 40, 36)), 2, config=tiny_config, warm_start_iterations=7)


def test_inputs_and_settings_that_ran_wrong_are_refused_or_read_right(textured_image, tiny_config):
    dask = pytest.importorskip("dask.array")
    from napari_zssr import estimate_kernel
    from napari_zssr.axial import zssr_axial

    with pytest.raises(ValueError, match="tile_size must be a whole number >= 16"):
        ZSSRConfig(tile_size=1)
    stack = dask.from_array(np.random.default_rng(0).random((3, 40, 36)), chunks=(1, 40, 36))
    unknown = stack[stack[:, 0, 0] >= 0]  # filtered by its own values: the plane count is not known yet
    for call in (lambda: zssr_stack(unknown, 2, config=tiny_config), lambda: estimate_kernel(unknown)):
        with pytest.raises(ValueError, match="compute_chunk_sizes"):
            call()
    with pytest.raises(ValueError, match="pixel_size must be a positive number"):
        zssr(textured_image, 2, config=tiny_config, pixel_size=True)
    with pytest.raises(ValueError, match="axial_scale must be a number"):
        zssr_axial(np.random.default_rng(0).random((6, 40, 36)), "2", config=tiny_config)
    with pytest.raises(ValueError, match="too close to 1"):
        zssr(textured_image, 1 + 1e-12, config=tiny_config)
    as_bf16 = torch.as_tensor(textured_image.astype(np.float32) / 2000).bfloat16()
    assert zssr(as_bf16, 2, config=tiny_config).sr.shape == (80, 72)


@pytest.mark.parametrize("learned", [False, True])
def test_a_run_leaves_torchs_global_generator_as_it_was(textured_image, tiny_config, learned):
    """The learned start's kernel conditioning drew its layers' first weights from it before loading its own."""
    config = ZSSRConfig.preset("fast", max_iterations=2) if learned else tiny_config
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    zssr(textured_image, 2, config=config)
    assert torch.equal(torch.rand(3), expected)


def test_a_runs_warnings_point_at_the_callers_line(tiny_config):
    stack = np.stack([np.full((40, 36), 5.0), np.random.default_rng(0).random((40, 36))])
    with pytest.warns(BlankPlaneWarning) as seen:
        zssr_stack(stack, 2, config=tiny_config)
    assert seen[0].filename == __file__


def test_the_largest_learning_rate_the_config_takes_fails_as_a_divergence_not_inside_torch(textured_image,
                                                                                          tiny_config):
    """Adam's first step is the rate / (1 - 0.9), which in floating point is a hair above 10 times it: at the cap
    itself the step must still fit float32, or torch fails with its own 'cannot be converted to type float'."""
    from dataclasses import replace

    from napari_zssr.core.config import MAX_LEARNING_RATE

    config = replace(tiny_config, learning_rate=MAX_LEARNING_RATE, max_iterations=2)
    with pytest.raises(RuntimeError, match="training diverged"):
        zssr(textured_image[:24, :24], 2, config=config)


def test_the_recorded_config_reruns_the_run_with_the_seed_given_beside_it(tiny_config):
    """result.config kept the config's seed where seed= replaced it: a rerun from the record gave another output."""
    image = np.random.default_rng(0).random((24, 24))
    result = zssr(image, 2, config=tiny_config, seed=7)
    assert result.config.seed == result.seed == 7
    rerun = zssr(image, 2, config=ZSSRConfig(**result.metadata()["config"]))
    np.testing.assert_array_equal(rerun.sr, result.sr)


def test_a_device_of_no_kind_is_a_type_error_naming_the_choices():
    with pytest.raises(TypeError, match=r"device must be 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, "
                                        r"got float 1.5"):
        select_device(1.5)


def test_64_bit_integers_beyond_what_float64_tells_apart_are_refused_not_read_as_constant(tiny_config):
    """2**63 + 0..999 read as "constant" in zssr, as a few levels in the estimates (a kernel of 0.25 px, unsaid)
    and, as a PSF, as a kernel a third as wide."""
    from napari_zssr import estimate_kernel, kernel_from_psf

    image = np.random.default_rng(0).integers(0, 1000, (48, 48)).astype(np.uint64) + np.uint64(2**63)
    said = r"values \(922337203685477\d+ to \d+\) differ by less than float64, in which they are computed, tells apart"
    for run in (lambda: zssr(image, 2, config=tiny_config), lambda: estimate_kernel(image),
                lambda: kernel_from_psf(image)):
        with pytest.raises(ValueError, match=said):
            run()
    fine = image - np.uint64(2**63) + np.uint64(2**40)  # below 2**53: every integer held exactly
    assert zssr(fine, 2, config=tiny_config).sr.shape == (96, 96)
    outlier = image.copy()
    outlier[0, 0] = 0  # one dead pixel beside them: the rest still falls into a few levels
    with pytest.raises(ValueError, match=said):
        estimate_kernel(outlier)
    blank = np.stack([fine, np.full_like(image, 2**63)])  # a constant plane there passes through, as any does
    with pytest.warns(BlankPlaneWarning):
        assert zssr_stack(blank, 2, config=tiny_config).blank_planes == [(1,)]


@pytest.mark.parametrize(("name", "value"), [("father_levels", 10**6), ("width", 10**6), ("depth", 10**5)])
def test_settings_whose_cost_has_no_end_are_bounded(name, value):
    """father_levels=10**6 took 215 s on a 32 x 32 plane (a copy of it per level); width=10**6 ended in torch's
    allocator error for 36 TB, depth=10**5 in it after seconds."""
    with pytest.raises(ValueError, match=rf"ZSSRConfig.{name} must be a whole number from 1 to \d+ \(more would cost "
                                         rf"minutes or all memory\), got {value}"):
        ZSSRConfig(**{name: value})


def test_an_estimate_of_an_empty_stack_or_with_a_stop_that_is_no_function_says_so():
    """An empty stack was "constant: it holds no structure"; should_stop=True failed as "'bool' object is not
    callable" once a plane was to be read."""
    from napari_zssr import estimate_kernel, estimate_resolution

    for call in (lambda: estimate_kernel(np.zeros((0, 64, 64))), lambda: estimate_resolution(np.zeros((0, 96, 96))),
                 lambda: estimate_kernel(np.zeros((2, 0, 64, 64)))):
        with pytest.raises(ValueError, match=r"the image is empty \(shape \("):
            call()
    with pytest.raises(TypeError, match="should_stop must be a function"):
        estimate_kernel(np.random.default_rng(0).random((64, 64)), should_stop=True)


def test_batch_of_an_array_says_it_takes_paths():
    """batch(array, out) took each of the array's rows for a pattern: one note per row, then 'no TIFF files'."""
    from napari_zssr.batching import batch

    with pytest.raises(TypeError, match=r"got ndarray of shape \(32, 32\) among them; for an image in memory use "
                                        r"napari_zssr.zssr\(\)"):
        batch(np.zeros((32, 32)), "out_never_made")
    with pytest.raises(TypeError, match="got int 3 among them"):
        batch(["a.tif", 3], "out_never_made")
