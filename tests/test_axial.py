import warnings
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_zssr import BlankPlaneWarning, Cancelled, ZSSRConfig
from napari_zssr.axial import axial_blur, zssr_axial
from napari_zssr.core.axial import (
    SliceSums,
    axial_factor,
    axial_kernel,
    axial_profile,
    axial_sampler,
    gaussian_profile,
    interpolate_along_z,
    profile_fwhm,
    restore_slices,
    restore_volume,
    restore_volume_flux,
    slice_noise_floor,
)
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.inference import super_resolve
from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.optics import Optics, axial_profile_from_optics, psf_from_optics
from napari_zssr.core.resize import downscale_with_kernel


def small_net(width: int = 8) -> ZSSRNet:
    net = ZSSRNet(1, width, 8)
    net.reset_parameters(torch.Generator().manual_seed(0))
    return net.eval()


def identity_net() -> ZSSRNet:
    net = small_net()
    for layer in net.body:
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.zeros_(layer.weight)
    return net


def degrade_along_z(truth: np.ndarray, factor: int) -> np.ndarray:
    """The acquisition model: blur along z by the default axial profile, keep every ``factor``-th plane."""
    kernel = torch.as_tensor(centre_kernel(axial_kernel(None, factor), (factor, 1)))
    slices = torch.as_tensor(truth).permute(1, 0, 2)[:, None]  # XZ slices: (Y, 1, Z, X)
    return downscale_with_kernel(slices, kernel, (factor, 1))[:, 0].permute(1, 0, 2).numpy()


def blob_volume(depth: int, side: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = np.zeros((depth, side, side))
    points = rng.integers(0, side, (3, 60))
    points[0] %= depth
    truth[tuple(points)] = rng.uniform(0.5, 1, 60)
    truth = ndimage.gaussian_filter(truth, 1.0)
    return truth / truth.max()


def psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(estimate, 0, 1) - truth) ** 2)))


@pytest.mark.parametrize("factor", [2, 3])
def test_input_planes_sit_at_i_times_s_plus_half_s_minus_1(tiny_config, factor):
    """A volume linear along z comes out linear along z, with plane i at output voxel i*s + (s - 1)/2."""
    z, y, x = np.mgrid[:6, :16, :16].astype(np.float64)
    volume = 40 * z + y + 0.5 * x
    result = zssr_axial(volume, factor, config=tiny_config, device="cpu")
    assert result.sr.shape == result.residual.shape == result.ensemble_spread.shape == (6 * factor, 16, 16)
    assert result.scale == (factor, 1.0)
    out_z = (np.arange(6 * factor) - (factor - 1) / 2) / factor
    expected = 40 * out_z[:, None, None] + y[0] + 0.5 * x[0]
    interior = slice(2 * factor, -2 * factor)  # mirrored borders bend the interpolation near the ends
    cubic = result.sr - result.residual
    assert np.allclose(cubic[interior], expected[interior], atol=1e-2)
    # a plane misplaced by half a voxel would be off by 40 / s / 2 >= 6.7; the barely trained net adds little
    assert np.abs(result.sr - expected)[interior].max() < 2.0


def test_restores_an_anisotropic_volume_better_than_cubic_interpolation():
    truth = blob_volume(18)
    volume = degrade_along_z(truth, 3)
    config = ZSSRConfig(max_iterations=150, width=32, crop_size=32, tile_size=256)
    result = zssr_axial(volume, 3, config=config, device="cpu")
    cubic = interpolate_along_z(torch.as_tensor(volume, dtype=torch.float32), 3).numpy()
    assert psnr(result.sr, truth) > psnr(cubic, truth) + 1.0


def test_leading_axes_are_processed_volume_by_volume(tiny_config):
    volumes = np.stack([blob_volume(6, 16, seed) for seed in range(3)] + [np.full((6, 16, 16), 0.5)])
    series = volumes.reshape(2, 2, 6, 16, 16).astype(np.float32)
    with pytest.warns(BlankPlaneWarning, match=r"the volume at index \(1, 1\) is constant"):
        result = zssr_axial(series, 2, config=tiny_config, device="cpu")
    assert result.sr.shape == (2, 2, 12, 16, 16)
    alone = zssr_axial(series[1, 0], 2, config=tiny_config, device="cpu")
    assert np.allclose(result.sr[1, 0], alone.sr, atol=1e-5)
    assert np.all(result.sr[1, 1] == 0.5) and result.blank_planes == [(1, 1)]
    assert len(result.iterations) == len(result.noise_stds) == 4 and result.noise_stds[3] == 0.0
    with pytest.warns(BlankPlaneWarning):
        kept = zssr_axial(series, 2, config=tiny_config, device="cpu", outputs=("zssr", "ensemble_spread"))
    assert kept.residual is None and kept.ensemble_median is None
    assert np.array_equal(kept.sr, result.sr) and np.array_equal(kept.ensemble_spread, result.ensemble_spread)


@pytest.mark.parametrize(("volume", "scale", "message"), [
    (np.ones((16, 16)), 2, "needs a volume"),
    (np.random.default_rng(0).random((6, 16, 16)), 1, "already isotropic"),
    (np.random.default_rng(0).random((6, 16, 16)), 1.004, "already isotropic"),  # not a factor of 1
    (np.random.default_rng(0).random((6, 16, 16)), 0.5, "oversampled in z"),
    (np.random.default_rng(0).random((6, 16, 16)), 2.5, "must be an integer"),
    (np.random.default_rng(0).random((3, 16, 16)), 2, "at least 4"),
    (np.random.default_rng(0).random((6, 6, 16)), 2, "too small"),
])
def test_bad_input_gives_a_clear_error(tiny_config, volume, scale, message):
    with pytest.raises(ValueError, match=message):
        zssr_axial(volume, scale, config=tiny_config, device="cpu")


def test_a_ratio_with_rounding_noise_counts_as_integer():
    assert axial_factor(0.3 / 0.1) == 3
    assert axial_factor(0.325 / 0.1083) == 3  # a pixel size written to 4 digits: 3.0009
    with pytest.raises(ValueError, match=r"an integer \(2, 3, 4, ...\) within 0.5%, got 3.02"):
        axial_factor(3.02)


def test_bad_psfs_give_clear_errors(tiny_config):
    volume = blob_volume(6, 16)
    with pytest.raises(ValueError, match="1D axial profile or a 3D PSF"):
        zssr_axial(volume, 2, np.ones((3, 3)), config=tiny_config, device="cpu")
    with pytest.raises(ValueError, match="negative"):
        zssr_axial(volume, 2, np.array([0.2, 1.0, -0.1]), config=tiny_config, device="cpu")
    with pytest.raises(ValueError, match="not wider than the lateral PSF"):
        zssr_axial(volume, 2, gaussian_profile(2.0), lateral_psf=gaussian_profile(3.0), config=tiny_config,
                   device="cpu")


def test_default_profile_is_a_gaussian_of_fwhm_s():
    for factor in (2, 3, 4):
        kernel = axial_kernel(None, factor)
        assert kernel.shape[1] == 1 and np.isclose(kernel.sum(), 1)
        assert abs(profile_fwhm(kernel[:, 0]) - factor) < 0.15


def test_lateral_psf_leaves_only_the_extra_axial_blur():
    kernel = axial_kernel(gaussian_profile(5.0), 3, lateral_psf=gaussian_profile(3.0))
    assert abs(profile_fwhm(kernel[:, 0]) - 4.0) < 0.2  # sqrt(5^2 - 3^2)


def test_3d_psf_gives_its_axial_profile_and_its_lateral_plane():
    z, y, x = np.mgrid[-12:13, -8:9, -8:9]
    sigma_axial, sigma_lateral = 6 / 2.3548, 2.5 / 2.3548
    psf = 1000 * np.exp(-(z**2) / (2 * sigma_axial**2) - (y**2 + x**2) / (2 * sigma_lateral**2)) + 100
    assert abs(profile_fwhm(axial_kernel(psf, 3, lateral_psf=np.array([1.0]))[:, 0]) - 6.0) < 0.4
    extra = axial_kernel(psf, 3)  # lateral PSF = the 3D PSF's in-focus plane
    assert abs(profile_fwhm(extra[:, 0]) - np.sqrt(6.0**2 - 2.5**2)) < 0.4
    _, record = axial_blur(3, psf)  # and the record says so: it said no lateral PSF was used
    assert record["lateral_psf"] and record["kernel_fwhm_voxels"] < record["axial_fwhm_voxels"]
    assert not axial_blur(3, gaussian_profile(6.0))[1]["lateral_psf"]


def test_optics_give_the_axial_profile_and_the_lateral_psf_and_are_recorded(tiny_config):
    optics, pixel = Optics(0.8, 520, 1.0), 0.2
    result = zssr_axial(blob_volume(6, 16), 3, config=tiny_config, device="cpu", optics=optics, pixel_size=pixel)
    record = result.kernel
    profile = axial_profile_from_optics(optics, pixel)
    assert record["source"] == "optics" and record["na"] == 0.8 and record["wavelength"] == 520
    assert record["axial_fwhm_um"] == pytest.approx(profile_fwhm(profile) * pixel, abs=1e-3)
    expected = axial_kernel(profile, 3, lateral_psf=psf_from_optics(optics, pixel))  # only the excess trains
    assert record["kernel_fwhm_voxels"] == pytest.approx(profile_fwhm(expected[:, 0]), abs=1e-3)
    assert record["kernel_fwhm_voxels"] < record["axial_fwhm_voxels"]
    default = zssr_axial(blob_volume(6, 16), 3, config=tiny_config, device="cpu")
    assert default.kernel["source"] == "default" and default.kernel["axial_fwhm_um"] is None
    assert abs(default.kernel["axial_fwhm_voxels"] - 3) < 0.15


def test_optics_need_the_pixel_size_and_exclude_a_given_profile(tiny_config):
    volume, optics = blob_volume(6, 16), Optics(0.8, 520, 1.0)
    with pytest.raises(ValueError, match="pixel_size"):
        zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics)
    with pytest.raises(ValueError, match="not both"):
        zssr_axial(volume, 2, gaussian_profile(3.0), config=tiny_config, device="cpu", optics=optics, pixel_size=0.1)
    for bad in ("0.1", True):
        with pytest.raises(ValueError, match="pixel_size must be a positive number"):
            zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics, pixel_size=bad)
    with pytest.raises(ValueError, match=r"the pixels are not square \(0.1 x 0.2 um\)"):
        zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics, pixel_size=(0.1, 0.2))
    with pytest.raises(ValueError, match="pixel_size 100 um .* micrometres"):  # 100 nm typed as um
        zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics, pixel_size=100)
    with pytest.raises(TypeError, match="optics has no field 'NA'"):
        zssr_axial(volume, 2, config=tiny_config, device="cpu", optics={"NA": 0.8, "wavelength": 520}, pixel_size=0.1)
    with pytest.raises(ValueError, match="gradual_steps"):
        zssr_axial(volume, 2, config=replace(tiny_config, gradual_steps=(1.5,)), device="cpu")
    # as run() and KernelChoice take them: a dict of the optics, and a square pixel as a (y, x) pair
    given = zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics, pixel_size=0.1)
    as_dict = zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics.to_dict(), pixel_size=(0.1, 0.1))
    assert as_dict.kernel == given.kernel and np.array_equal(as_dict.sr, given.sr)
    # pixels square within the widget's and the command line's tolerance (a file's rounding) run as their mean
    rounded = zssr_axial(volume, 2, config=tiny_config, device="cpu", optics=optics, pixel_size=(0.0999, 0.1001))
    assert rounded.kernel == given.kernel


def test_an_asymmetric_profile_keeps_only_the_lateral_flip(tiny_config):
    result = zssr_axial(blob_volume(6, 16), 2, np.array([0.1, 0.3, 1.0, 0.2, 0.0]), config=tiny_config,
                        device="cpu")
    assert result.transforms == [0, 4]  # identity and the mirror of the lateral axis; flipping z is not allowed
    symmetric = zssr_axial(blob_volume(6, 16), 2, config=tiny_config, device="cpu")
    assert symmetric.transforms == [0, 2, 4, 6]


def test_training_pairs_are_degraded_along_y_and_along_x():
    """Stripes constant along y survive a y-degradation unchanged; degraded along x they do not."""
    stripes = torch.as_tensor(np.tile(np.sin(np.arange(32) * 1.3), (32, 1)), dtype=torch.float32)[None, None]
    degradation = Degradation.create((2.0, 1.0), axial_kernel(None, 2), torch.device("cpu"))
    config = ZSSRConfig(father_levels=1)
    sampler = axial_sampler([stripes], degradation, config, 0.0, 0, torch.device("cpu"))
    unchanged = []
    for _ in range(40):
        son, father = sampler.sample(16)
        assert son.shape == father.shape and son.shape[-2] % 2 == 0
        unchanged.append(torch.allclose(son, father, atol=1e-5))
    assert 5 < sum(unchanged) < 35


def test_batched_slices_equal_the_per_slice_lateral_inference():
    net = small_net()
    volume = torch.rand(5, 7, 9)
    degradation = Degradation.create((3.0, 1.0), axial_kernel(None, 3), torch.device("cpu"))
    config = ZSSRConfig(tile_size=20, back_projection_iterations=1)
    transforms = [0, 2, 4, 6]
    sums = SliceSums.zeros((15, 7, 9))
    restore_slices(net, volume, degradation, transforms, config, torch.float32, torch.device("cpu"), sums)
    # Tolerances above float32 rounding: a batch of slices and a single one may take different convolution
    # algorithms (1e-5 failed on the 16-core host of a GPU machine); a slice in the wrong place is off by ~0.1.
    for row in range(7):
        one = super_resolve(net, volume[:, row][None, None], degradation, transforms, 1, 64)
        assert torch.allclose(sums.sr[:, row], one.sr[0, 0], atol=1e-4)
        assert torch.allclose(sums.median[:, row], one.ensemble_median[0, 0], atol=1e-4)
        spread = sums.variance(len(transforms))[:, row].sqrt()
        assert torch.allclose(spread, one.ensemble_spread[0, 0], atol=1e-3)


def test_fused_output_of_an_identity_net_is_the_cubic_interpolation():
    volume = torch.rand(5, 7, 9)
    degradation = Degradation.create((2.0, 1.0), axial_kernel(None, 2), torch.device("cpu"))
    output = restore_volume(identity_net(), volume, degradation, [0, 2, 4, 6],
                            ZSSRConfig(back_projection_iterations=0), torch.float32, torch.device("cpu"))
    assert torch.allclose(output.sr, interpolate_along_z(volume, 2), atol=1e-5)
    assert torch.allclose(output.ensemble_spread, torch.zeros_like(output.sr), atol=1e-3)


def test_axial_back_projection_to_the_noise_leaves_a_noisy_volume_be(tiny_config):
    """Stopped at the floor, only the flux restore's smooth field is added; plain back-projection puts the noise
    back."""
    noisy = blob_volume(6, 16) + np.random.default_rng(2).normal(0, 0.05, (6, 16, 16))
    runs = {name: zssr_axial(noisy, 2, config=replace(tiny_config, **options), device="cpu").sr
            for name, options in (("none", {}), ("to noise", {"back_projection_iterations": 5}),
                                  ("plain", {"back_projection_iterations": 5, "back_projection_to_noise": False}))}

    def roughness(change: np.ndarray) -> float:
        return float(np.abs(change - ndimage.gaussian_filter(change, 2.0)).mean())

    assert roughness(runs["plain"] - runs["none"]) > 0.005
    assert roughness(runs["to noise"] - runs["none"]) < roughness(runs["plain"] - runs["none"]) / 10


def test_the_fused_volume_keeps_the_inputs_intensity_locally_too():
    """The 3D flux restore puts back a loss far below the noise per voxel, as the lateral one does, without noise."""
    generator = torch.Generator().manual_seed(3)
    degradation = Degradation.create((2.0, 1.0), axial_kernel(None, 2), torch.device("cpu"))
    truth = torch.rand(16, 24, 24, dtype=torch.float64, generator=generator)
    as_slices = truth.permute(1, 0, 2)[:, None]
    volume = degradation.downscale(as_slices)[:, 0].permute(1, 0, 2)
    volume = volume + 0.05 * torch.randn(volume.shape, dtype=torch.float64, generator=generator)
    dimmed = truth.clone()
    dimmed[:, :, :12] -= 0.1
    restored = restore_volume_flux(dimmed, volume, degradation)
    for half in (slice(0, 12), slice(12, 24)):
        assert abs(float((restored - truth)[:, :, half].mean())) < 0.02
    change = (restored - dimmed)[3:-3, 3:-3, 3:-3]
    assert float((change - change.mean()).abs().max()) < 0.1  # smooth, no noise


def test_the_flux_restore_in_blocks_of_rows_equals_it_whole(monkeypatch):
    """The slices go through the degradation a few rows at a time (memory); the result is the same."""
    import napari_zssr.core.axial as axial

    degradation = Degradation.create((2.0, 1.0), axial_kernel(None, 2), torch.device("cpu"))
    volume, sr = torch.rand(6, 9, 7, dtype=torch.float64), torch.rand(12, 9, 7, dtype=torch.float64)
    whole = restore_volume_flux(sr.clone(), volume, degradation)
    monkeypatch.setattr(axial, "FLUX_BLOCK_VOXELS", 2 * 12 * 7)  # two rows a block, the last one alone
    assert torch.allclose(restore_volume_flux(sr.clone(), volume, degradation), whole, atol=1e-12)


def test_stop_hook_cancels(tiny_config):
    with pytest.raises(Cancelled):
        zssr_axial(blob_volume(6, 16), 2, config=tiny_config, device="cpu", should_stop=lambda: True)


@pytest.mark.parametrize("hook", ["progress", "should_stop"])
def test_hooks_that_are_not_functions_are_refused_before_any_work(tiny_config, hook, monkeypatch):
    """As zssr_stack refuses them: not "'int' object is not callable" from inside the training."""
    import napari_zssr.axial

    def no_training(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(napari_zssr.axial, "run_volume", no_training)
    with pytest.raises(TypeError, match=f"{hook} must be a function"):
        zssr_axial(blob_volume(6, 16), 2, config=tiny_config, device="cpu", **{hook: 3})


def test_progress_ends_with_done_and_counts_volumes(tiny_config):
    events = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zssr_axial(np.stack([blob_volume(6, 16)] * 2), 2, config=tiny_config, device="cpu", progress=events.append)
    stages = [event.stage for event in events]
    assert stages[-1] == "done" and "training" in stages and "inference" in stages
    assert {(event.unit, event.n_planes) for event in events} == {("volume", 2)}  # what the fronts show


def test_float64_volumes_keep_their_precision_as_zssr_stack_does(tiny_config):
    """1e6 + millis: cast to float32 first, every plane would read as constant."""
    volume = 1e6 + blob_volume(6, 16) * 1e-3
    result = zssr_axial(volume, 2, config=tiny_config, device="cpu")
    assert result.sr.dtype == np.float64
    assert np.ptp(result.sr) > 5e-4 and abs(np.median(result.sr) - np.median(volume)) < 1e-3
    series = np.stack([volume, np.full_like(volume, 0.1)])
    with pytest.warns(BlankPlaneWarning):
        assert np.all(zssr_axial(series, 2, config=tiny_config, device="cpu").sr[1] == 0.1)


def test_float32_volumes_near_their_largest_value_give_finite_outputs(tiny_config):
    volume = ((blob_volume(6, 16) / blob_volume(6, 16).max() * 2 - 1) * 3e38).astype(np.float32)
    result = zssr_axial(volume, 2, config=tiny_config, device="cpu")
    assert result.sr.dtype == np.float32
    for output in (result.sr, result.ensemble_median, result.residual, result.ensemble_spread):
        assert np.all(np.isfinite(output))
    assert np.abs(result.sr).max() > 1e38


@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_the_slices_noise_floor_reads_the_volumes_noise(noise):
    """Read from XZ slices, whose z axis carries the axial kernel: 1.1 x the noise, and near 0 for a clean volume."""
    clean = blob_volume(24, 48)
    volume = clean + np.random.default_rng(3).normal(0, noise, clean.shape)
    degradation = Degradation.create((3.0, 1.0), axial_kernel(None, 3), torch.device("cpu"))
    floor = slice_noise_floor(torch.as_tensor(volume, dtype=torch.float32), degradation)
    if noise:
        assert floor == pytest.approx(1.1 * noise, rel=0.15)
    else:
        assert floor < 0.1 * 0.02


def test_blank_slices_do_not_pull_the_noise_floor_down():
    """Padding (e.g. after deskewing) is constant: read as 0 it would drag the median, and back-projection would
    put a noisy volume's noise back."""
    noisy = blob_volume(24, 48) + np.random.default_rng(4).normal(0, 0.02, (24, 48, 48))
    padded = np.concatenate([np.zeros((24, 60, 48)), noisy], axis=1)  # 60 of 108 rows blank
    degradation = Degradation.create((3.0, 1.0), axial_kernel(None, 3), torch.device("cpu"))
    floors = [slice_noise_floor(torch.as_tensor(v, dtype=torch.float32), degradation) for v in (noisy, padded)]
    assert floors[1] == pytest.approx(floors[0], rel=0.15)


def test_constant_planes_inside_a_volume_are_named(tiny_config):
    volume = blob_volume(6, 16)
    volume[2] = 0  # a dropped frame
    with pytest.warns(UserWarning, match=r"the volume: plane z = 2 constant"):  # it read "plane(s) z = [2]"
        result = zssr_axial(volume, 2, config=tiny_config, device="cpu")
    assert result.notes == [result.metadata()["notes"][0]] and "z = 2 constant" in result.notes[0]
    assert all(type(value) is float for value in result.kernel.values() if isinstance(value, float))  # not float64
    volume[4] = 0
    with pytest.warns(UserWarning, match=r"planes z = 2, 4 constant"):
        zssr_axial(volume, 2, config=tiny_config, device="cpu")


def test_an_axial_profile_wider_than_the_whole_stack_is_refused(tiny_config):
    with pytest.raises(ValueError, match="more than the whole stack"):
        zssr_axial(blob_volume(6, 16), 2, gaussian_profile(20.0), config=tiny_config, device="cpu")


def test_a_few_photons_a_voxel_keep_their_intensity():
    """Under shot noise the net's median lies below the mean; the axial run's output gets it back."""
    truth = blob_volume(24, 32, seed=4) + 0.1
    counts = np.random.default_rng(5).poisson(3 * degrade_along_z(truth, 2)).astype(np.uint16)  # 3 photons at peaks
    result = zssr_axial(counts, 2, config=ZSSRConfig.preset("fast", max_iterations=10), seed=1, device="cpu")
    assert result.sr.mean() / counts.mean() == pytest.approx(1, abs=0.02)
    assert result.ensemble_median.mean() / counts.mean() < 0.9


def test_a_masked_axial_psf_is_refused_not_read_with_what_lies_under_its_mask():
    profile = np.ma.masked_greater(np.array([0.1, 0.5, 1.0, 0.5, 0.1]), 0.9)
    with pytest.raises(ValueError, match="axial_psf has masked pixels"):
        axial_profile(profile, 2)
    with pytest.raises(ValueError, match="axial_psf is empty"):
        axial_profile(np.array([]), 2)


def test_a_factor_too_large_for_the_lateral_planes_is_named_as_the_axial_factor(tiny_config):
    with pytest.raises(ValueError, match=r"lateral planes \(32 x 32 pixels\) are too small for an axial factor of 40, "
                                         r"which learns from planes of at least 160 x 160 .*: check the factor"):
        zssr_axial(blob_volume(8, 32), 40, config=tiny_config, device="cpu")


def test_a_volume_of_constant_planes_in_a_series_is_passed_through_as_their_interpolation(tiny_config):
    """A dark time point with one bright frame has no lateral structure to learn from: passed through, as a constant
    volume is, instead of failing the whole series after the volumes before it trained."""
    flash = np.zeros((6, 16, 16), np.float32)
    flash[2] = 100
    series = np.stack([blob_volume(6, 16).astype(np.float32), flash])
    with pytest.warns(BlankPlaneWarning, match="every z plane of the volume at index 1 is constant"):
        result = zssr_axial(series, 2, config=tiny_config, device="cpu")
    assert result.blank_planes == [(1,)] and result.iterations[1] == 0 and result.noise_stds[1] == 0.0
    assert np.allclose(result.sr[1], interpolate_along_z(torch.as_tensor(flash), 2).numpy(), atol=1e-4)
    assert np.array_equal(result.sr[1], result.ensemble_median[1])
    assert not result.residual[1].any() and not result.ensemble_spread[1].any()
    with warnings.catch_warnings(record=True) as caught, \
            pytest.raises(ValueError, match="every z plane of the volume is constant"):  # all there is: nothing to do
        warnings.simplefilter("always")
        zssr_axial(flash, 2, config=tiny_config, device="cpu")
    assert caught == []  # refused as it is read, not after notes on its planes and a start at training


def test_a_volume_whose_outputs_fit_but_not_beside_its_slice_sums_is_refused_before_training(monkeypatch):
    """Restoring a volume holds four float32 sums of its slices beside the outputs, and two temporaries as it is
    finished: left out of the memory check, a volume too large for both trained first and failed (or was killed) only
    once it was restored."""
    from napari_zssr import api, axial

    monkeypatch.setattr(api, "memory_limit_bytes", lambda: 2**30)  # a 1 GiB machine
    monkeypatch.setattr(axial, "run_volume", lambda *args, **kwargs: pytest.fail("trained"))
    plane = np.random.default_rng(0).random((1024, 1024)).astype(np.float32)
    volume = np.broadcast_to(plane, (32, 1024, 1024))  # the output of x4: 0.5 GiB, its sums and temporaries 3 GiB
    with pytest.raises(ValueError, match=r"the 1 output\(s\) of shape \(128, 1024, 1024\) \(zssr\) need 512.0 MiB and "
                                         r"the run 3.0 GiB more beside them, more than the 1.0 GiB of memory"):
        zssr_axial(volume, 4, outputs="zssr", device="cpu")


def test_a_volumes_run_is_not_held_while_the_next_volume_runs(tiny_config, monkeypatch):
    """As zssr_stack drops a plane's run before the next: an axial run holds its net (on the device) and three
    output-sized volumes, which the memory check does not count beside the next volume's slice sums."""
    import gc
    import weakref

    import napari_zssr.axial
    from napari_zssr.core.axial import AxialOutput
    from napari_zssr.core.trainer import TrainingLog

    previous = []

    def run_volume(volume, factor, *args, **kwargs):
        gc.collect()
        assert all(output() is None for output in previous), "the previous volume's run is still held"
        shape = (volume.shape[0] * factor, *volume.shape[1:])
        output = AxialOutput(torch.zeros(shape), torch.zeros(shape), torch.zeros(shape))
        previous.append(weakref.ref(output))
        return SimpleNamespace(output=output, log=TrainingLog(iterations=1), transforms=[0], noise_std=0.0,
                               inference_seconds=0.0, spikes=0, ringing=0.0)

    monkeypatch.setattr(napari_zssr.axial, "run_volume", run_volume)
    zssr_axial(np.stack([blob_volume(6, 16)] * 3), 2, config=tiny_config, device="cpu", outputs="zssr")
    assert len(previous) == 3
