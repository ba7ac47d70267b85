from dataclasses import replace

import numpy as np
import pytest
import torch

from napari_zssr import ZSSRConfig
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.geometry import DIHEDRAL, transform, transform_array, untransform
from napari_zssr.core.inference import apply_tiled, ensemble_median, super_resolve
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.pairs import FatherPool, PairSampler
from napari_zssr.core.trainer import Cancelled, LinearFitPolicy, train


def small_net(seed: int = 0, width: int = 8) -> ZSSRNet:
    return ZSSRNet.create(ZSSRConfig(width=width), seed, "cpu")


def test_net_create_builds_the_configs_net_from_the_seed():
    config = ZSSRConfig(width=6, depth=3)
    net = ZSSRNet.create(config, 4, "cpu")
    convs = [layer for layer in net.body if isinstance(layer, torch.nn.Conv2d)]
    assert [conv.out_channels for conv in convs] == [6, 6, 1] and net.receptive_radius == 3
    same = ZSSRNet.create(config, 4, "cpu")
    other = ZSSRNet.create(config, 5, "cpu")
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters()))
    assert not torch.equal(convs[0].weight, next(other.parameters()))
    assert convs[1].weight.std().item() == pytest.approx((0.1 / (9 * 6)) ** 0.5, rel=0.2)  # the authors' init


def test_net_is_bias_free_and_scale_equivariant():
    net = small_net()
    assert all(conv.bias is None for conv in net.body if isinstance(conv, torch.nn.Conv2d))
    x = torch.rand(1, 1, 16, 16)
    assert torch.allclose(net(7.0 * x), 7.0 * net(x), atol=1e-5)


@pytest.mark.parametrize("index", range(len(DIHEDRAL)))
def test_transforms_are_undone_exactly_and_agree_on_numpy_and_torch(index):
    x = torch.arange(5 * 7, dtype=torch.float32).reshape(1, 1, 5, 7)
    assert torch.equal(untransform(transform(x, index), index), x)
    assert np.array_equal(transform(x, index).numpy(), transform_array(x.numpy(), index))


def test_the_eight_transforms_are_distinct():
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    images = [transform(x, index) for index in range(len(DIHEDRAL))]
    assert len(images) == 8
    assert all(not torch.equal(images[i], images[j]) for i in range(8) for j in range(i))


def test_ensemble_of_an_equivariant_map_returns_it():
    """With the identity 'net' every ensemble member is the same bicubic image: undoing transforms is exact."""
    identity = small_net()
    for layer in identity.body:
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.zeros_(layer.weight)
    lr = torch.rand(1, 1, 12, 10, dtype=torch.float32)
    out = super_resolve(identity, lr, Degradation((2.0, 2.0)), list(range(8)), 0, 64)
    bicubic = Degradation.upscale(lr, (24, 20))
    assert torch.allclose(out.sr, bicubic, atol=1e-5)
    assert torch.allclose(out.ensemble_spread, torch.zeros_like(out.sr), atol=1e-5)


def test_median_of_even_count_is_mean_of_middle_values():
    values = torch.tensor([1.0, 5.0, 2.0, 10.0]).reshape(4, 1, 1, 1).expand(4, 1, 300, 2).contiguous()
    assert torch.allclose(ensemble_median(values, rows_per_chunk=7), torch.full((1, 300, 2), 3.5))
    assert torch.allclose(ensemble_median(values[:3]), torch.full((1, 300, 2), 2.0))


def test_tiled_inference_equals_whole_image():
    net = small_net().eval()
    x = torch.rand(1, 1, 70, 45)
    with torch.no_grad():
        assert torch.allclose(apply_tiled(net, x, tile_size=16), net(x), atol=1e-5)


def test_back_projection_makes_output_consistent_with_input():
    lr = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    degradation = Degradation((2.0, 2.0))
    from napari_zssr.core.inference import back_project

    guess = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    before = (degradation.downscale(guess) - lr).abs().mean()
    after = (degradation.downscale(back_project(guess, lr, degradation, 10)) - lr).abs().mean()
    assert after < 0.1 * before


def test_back_projection_stops_once_the_input_is_explained_to_within_the_noise_floor():
    from napari_zssr.core.inference import back_project

    generator = torch.Generator().manual_seed(1)
    truth = torch.rand(1, 1, 32, 32, dtype=torch.float64, generator=generator)
    degradation = Degradation((2.0, 2.0))
    lr = degradation.downscale(truth) + 0.05 * torch.randn(1, 1, 16, 16, dtype=torch.float64, generator=generator)
    guess = Degradation.upscale(lr, (32, 32))

    def rms_residual(sr):
        return float((lr - degradation.downscale(sr)).square().mean().sqrt())

    full = back_project(guess, lr, degradation, 10)
    assert torch.equal(back_project(guess, lr, degradation, 10, noise_floor=0.0), full)
    floor = 0.5 * rms_residual(guess)
    stopped = back_project(guess, lr, degradation, 10, noise_floor=floor)
    assert rms_residual(full) < rms_residual(stopped) <= floor < rms_residual(back_project(guess, lr, degradation, 1))
    assert torch.equal(back_project(guess, lr, degradation, 10, noise_floor=2 * rms_residual(guess)), guess)


def test_each_image_of_a_batch_stops_at_the_noise_floor_on_its_own():
    from napari_zssr.core.inference import back_project

    generator = torch.Generator().manual_seed(2)
    degradation = Degradation((2.0, 2.0))
    lr = torch.rand(2, 1, 16, 16, dtype=torch.float64, generator=generator)
    guess = Degradation.upscale(lr, (32, 32))
    guess[0] = guess[0] + 0.3 * torch.rand(1, 32, 32, dtype=torch.float64, generator=generator)  # far from its input
    floor = float((lr[1:] - degradation.downscale(guess[1:])).square().mean().sqrt()) * 1.01  # the second is done
    together = back_project(guess, lr, degradation, 5, noise_floor=floor)
    assert torch.equal(together[1], guess[1])
    assert torch.equal(together[:1], back_project(guess[:1], lr[:1], degradation, 5, noise_floor=floor))


def test_back_projection_stops_where_a_kernel_with_negative_transfer_makes_it_diverge():
    """A box kernel's transfer function is negative in bands: there each step adds more ringing than it removes, and
    the residual grows. Back-projection keeps the last step whose residual fell."""
    from napari_zssr.core.inference import back_project

    generator = torch.Generator().manual_seed(3)
    degradation = Degradation.create((2.0, 2.0), np.ones((21, 21)), torch.device("cpu"))
    lr = torch.rand(1, 1, 32, 32, dtype=torch.float64, generator=generator)  # far from anything the box could give
    guess = Degradation.upscale(lr, (64, 64))

    def rms_residual(sr):
        return float((lr - degradation.downscale(sr)).square().mean().sqrt())

    steps = [guess]
    for _ in range(10):
        steps.append(steps[-1] + Degradation.upscale(lr - degradation.downscale(steps[-1]), (64, 64)))
    residuals = [rms_residual(step) for step in steps]
    assert residuals[-1] > 1.3 * min(residuals)  # unguarded, the iteration runs away
    guarded = back_project(guess, lr, degradation, 10)
    assert rms_residual(guarded) == pytest.approx(min(residuals[: int(np.argmax(np.diff(residuals) > 0)) + 1]))
    assert float(guarded.abs().max()) < 2 * float(guess.abs().max())


def test_the_floor_falls_with_the_leaked_signal_on_a_clean_input_and_holds_on_a_noisy_one():
    from napari_zssr.core.inference import back_project
    from napari_zssr.core.noise import DISCREPANCY_FACTOR, noise_rms_beyond_kernel
    from napari_zssr.sample import anisotropic_gaussian_psf, synthetic_fluorescence

    kernel = anisotropic_gaussian_psf(1.8, 1.2, 0.5, radius=7)
    degradation = Degradation.create((2.0, 2.0), kernel, "cpu")
    truth = torch.tensor(synthetic_fluorescence((128, 128), seed=1), dtype=torch.float64)[None, None]
    clean = degradation.downscale(truth)
    noisy = clean + 0.02 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for lr in (clean, noisy):
        guess = Degradation.upscale(lr, (128, 128))
        floor = DISCREPANCY_FACTOR * noise_rms_beyond_kernel(lr, kernel, (2, 2))  # as a run reads it from its input
        steps = [back_project(guess, lr, degradation, n) for n in range(11)]
        residuals = [float((lr - degradation.downscale(sr)).square().mean().sqrt()) for sr in steps]
        reached = next(n for n, rms in enumerate(residuals) if rms <= floor)
        if lr is clean:  # the floor was leaked signal: read again, it falls, and every step runs
            assert reached < 10 and torch.equal(back_project(guess, lr, degradation, 10, floor), steps[10])
        else:  # the floor is the noise: it stops where the residual first reaches it
            assert torch.equal(back_project(guess, lr, degradation, 10, floor), steps[reached])
    both, guesses = torch.cat([clean, noisy]), Degradation.upscale(torch.cat([clean, noisy]), (128, 128))
    floor = DISCREPANCY_FACTOR * noise_rms_beyond_kernel(noisy, kernel, (2, 2))
    together = back_project(guesses, both, degradation, 10, floor)  # each image lowers its own floor
    for index in range(2):
        alone = back_project(guesses[index : index + 1], both[index : index + 1], degradation, 10, floor)
        assert torch.equal(together[index : index + 1], alone)
    assert not torch.equal(together[:1], back_project(guesses[:1], both[:1], degradation, 1, floor))


def test_runs_back_project_down_to_the_inputs_noise_unless_told_otherwise():
    """A noisy input is already explained to within its noise: back-projection to the noise level leaves it be,
    where plain back-projection sharpens the noise back in."""
    from napari_zssr import zssr

    rng = np.random.default_rng(0)
    clean = np.clip(np.add.outer(np.sin(np.arange(24) / 3), np.cos(np.arange(24) / 4)) / 4 + 0.5, 0, 1)
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    base = ZSSRConfig(max_iterations=2, width=8, depth=3, crop_size=16, ensemble=1)
    runs = {name: zssr(noisy, 2, config=replace(base, **options), seed=0).sr
            for name, options in (("none", {}), ("to noise", {"back_projection_iterations": 5}),
                                  ("plain", {"back_projection_iterations": 5, "back_projection_to_noise": False}))}
    assert not np.allclose(runs["plain"], runs["none"])
    assert np.array_equal(runs["to noise"], runs["none"])
    # the floor is the input's own noise, not the noise added to the sons
    no_son_noise = zssr(noisy, 2, config=replace(base, back_projection_iterations=5, noise_std=0.0), seed=0).sr
    assert np.array_equal(no_son_noise, zssr(noisy, 2, config=replace(base, noise_std=0.0), seed=0).sr)
    # a clean input is not explained to within its (nil) noise by a barely trained net: it gets its steps
    steps = {n: zssr(clean, 2, config=replace(base, back_projection_iterations=n), seed=0).sr for n in (0, 5)}
    assert not np.allclose(steps[5], steps[0])


def test_policy_drops_the_lr_when_the_error_stops_falling():
    policy = LinearFitPolicy(ZSSRConfig(min_iterations=0, lr_check_every=1, recon_every=50))
    for step, error in enumerate([2.0, 2.1, 1.9, 2.05, 1.98]):
        policy.record(step * 50, error)
    assert policy.should_drop(300) and policy.last_change == 300


def sampler_for(image: torch.Tensor, noise: float = 0.0, transforms=tuple(range(8))) -> PairSampler:
    pool = FatherPool(image, 0.5, 4, 8)
    return PairSampler(pool, Degradation((2.0, 2.0)), list(transforms), noise, 0, torch.device("cpu"))


def test_pairs_are_consistent_crops_with_noisy_sons():
    image = torch.rand(1, 1, 40, 30)
    son_up, father = sampler_for(image).sample(16)
    assert son_up.shape == father.shape == (1, 1, 16, 16)
    clean_up, _ = sampler_for(image).sample(16)
    noisy_up, _ = sampler_for(image, noise=0.1).sample(16)
    assert 0.02 < (noisy_up - clean_up).std() < 0.2
    sampler = sampler_for(image)
    assert sampler.pool.probabilities()[0] == max(sampler.pool.probabilities())  # the input is the most trusted


@pytest.mark.parametrize("kernel", [None, np.outer([1.0, 4, 6, 4, 1], [1.0, 2, 1])])
def test_pairs_copy_nothing_from_the_host_once_warm(monkeypatch, kernel):
    """On a GPU a host-to-device copy in a training step stalls it: resizing and padding reuse device tensors."""
    image = torch.rand(1, 1, 40, 40)
    degradation = Degradation.create((2.0, 2.0), kernel, torch.device("cpu"))
    sampler = PairSampler(FatherPool(image, 0.5, 4, 8), degradation, list(range(8)), 0.01, 0, torch.device("cpu"))
    for _ in range(20):
        sampler.sample(16)

    def host_copy(*args, **kwargs):
        raise AssertionError("a tensor was made from host data inside the training loop")

    monkeypatch.setattr(torch, "as_tensor", host_copy)
    monkeypatch.setattr(torch, "tensor", host_copy)
    for _ in range(20):
        son_up, father = sampler.sample(16)
    assert son_up.shape == father.shape == (1, 1, 16, 16)


def train_recording_adam_lrs(monkeypatch, config: ZSSRConfig):
    """Train a tiny net with ``config`` and return the log and the lr Adam really used at every step."""
    seen_lrs = []
    original_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        seen_lrs.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    image = torch.rand(1, 1, 24, 24)
    degradation = Degradation((2.0, 2.0))
    recon = (degradation.upscale(degradation.downscale(image), (24, 24)), image)
    return train(small_net(width=4), sampler_for(image), recon, config), seen_lrs


def test_lr_policy_lowers_adams_learning_rate(monkeypatch):
    """With no progress (a vanishing lr) the policy must drop the lr inside Adam itself, three times, then stop."""
    config = ZSSRConfig(max_iterations=500, crop_size=16, lr_schedule="policy", min_iterations=10, lr_check_every=5,
                        recon_every=2, lr_slope_range=10, learning_rate=1e-12, min_learning_rate=9e-15)
    log, seen_lrs = train_recording_adam_lrs(monkeypatch, config)
    assert len(log.lr_drops) == 3 and log.iterations < config.max_iterations
    assert sorted(set(seen_lrs), reverse=True) == pytest.approx([1e-12, 1e-13, 1e-14])
    assert log.final_learning_rate < config.min_learning_rate


def test_step_schedule_drops_at_its_fractions(monkeypatch):
    config = ZSSRConfig(max_iterations=20, crop_size=16, lr_schedule="steps", lr_step_fractions=(0.5, 0.75))
    log, seen_lrs = train_recording_adam_lrs(monkeypatch, config)
    assert log.iterations == 20 and log.lr_drops == [9, 14] and log.reconstruction_errors == []
    assert seen_lrs == pytest.approx([1e-3] * 10 + [1e-4] * 5 + [1e-5] * 5)


def test_policy_keeps_lr_while_error_falls():
    policy = LinearFitPolicy(ZSSRConfig(min_iterations=0, lr_check_every=1, recon_every=50))
    for step, error in enumerate([10.0, 8.0, 6.1, 3.9, 2.0]):
        policy.record(step * 50, error)
    assert not policy.should_drop(300)


def test_training_can_be_cancelled():
    image = torch.rand(1, 1, 24, 24)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    recon = (Degradation.upscale(Degradation((2.0, 2.0)).downscale(image), (24, 24)), image)
    with pytest.raises(Cancelled):
        train(small_net(), sampler_for(image), recon, ZSSRConfig(max_iterations=50, width=8, crop_size=16),
              should_stop=stop)
    assert len(calls) == 4


def test_training_reduces_the_loss():
    blocks = np.random.default_rng(0).random((12, 12))
    image = torch.as_tensor(np.kron(blocks, np.ones((4, 4))).astype(np.float32))[None, None]  # sharp edges
    degradation = Degradation((2.0, 2.0))
    recon = (degradation.upscale(degradation.downscale(image), (48, 48)), image)
    net = small_net(width=16)
    log = train(net, sampler_for(image), recon, ZSSRConfig(max_iterations=150, crop_size=32, recon_every=30,
                                                           lr_schedule="policy"))
    errors = [error for _, error in log.reconstruction_errors]
    assert errors[-1] < 0.8 * errors[0]


def test_out_of_memory_falls_back_to_smaller_tiles(monkeypatch):
    from napari_zssr.core import inference

    net = small_net().eval()
    x = torch.rand(1, 1, 40, 40)
    tried = []
    real = inference.apply_tiled

    def flaky(net_, x_, tile_size, dtype):
        tried.append(tile_size)
        if tile_size > 64:
            raise torch.OutOfMemoryError("simulated")
        return real(net_, x_, tile_size, dtype)

    monkeypatch.setattr(inference, "apply_tiled", flaky)
    with torch.no_grad():
        assert torch.allclose(inference.apply_tiled_within_memory(net, x, 512), net(x), atol=1e-5)
    assert tried == [512, 256, 128, 64]
    monkeypatch.setattr(inference, "apply_tiled", lambda *a: (_ for _ in ()).throw(torch.OutOfMemoryError("x")))
    with pytest.raises(RuntimeError, match="out of memory"):
        inference.apply_tiled_within_memory(net, x, 512)


def test_the_first_members_residual_refines_the_noise_floor_back_projection_stops_at():
    from napari_zssr.core.noise import refined_noise_floor
    from napari_zssr.sample import anisotropic_gaussian_psf

    degradation = Degradation.create((2.0, 2.0), anisotropic_gaussian_psf(1.8, 1.8, 0.0, radius=7), "cpu")
    lr = degradation.downscale(torch.rand(1, 1, 96, 96, generator=torch.Generator().manual_seed(3)))
    net, floor = small_net(), 0.05
    first = super_resolve(net, lr, degradation, [0], 0, 64).sr  # the first member, before back-projection
    expected = refined_noise_floor(floor, lr, first, degradation)
    assert expected < floor  # a clean input: the residual reads less than the floor given
    output = super_resolve(net, lr, degradation, [0, 2], 3, 64, noise_floor=floor)
    assert output.noise_floor == expected
    assert super_resolve(net, lr, degradation, [0, 2], 0, 64, noise_floor=floor).noise_floor == floor  # no steps


def test_training_pairs_take_every_transform_of_the_scale_while_the_ensemble_keeps_the_kernel(monkeypatch):
    """A son is made after its father's transform, with the run's kernel, so a tilted kernel limits the ensemble
    (T(k) = k) but not the training pairs' augmentation: all eight, as in the authors' code."""
    from napari_zssr.core import engine
    from napari_zssr.sample import anisotropic_gaussian_psf

    augmentations = []

    class RecordingSampler(PairSampler):
        def __init__(self, pool, degradation, transforms, *args, **kwargs):
            augmentations.append(list(transforms))
            super().__init__(pool, degradation, transforms, *args, **kwargs)

    monkeypatch.setattr(engine, "PairSampler", RecordingSampler)
    tilted = anisotropic_gaussian_psf(1.8, 0.8, 0.6, radius=7)
    config = ZSSRConfig(width=8, depth=3, max_iterations=3, crop_size=16, ensemble=8, back_projection_iterations=0)
    image = torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    run = engine.run_plane(image, (2.0, 2.0), [tilted], config, seed=0, device=torch.device("cpu"))
    assert augmentations == [list(range(8))]
    assert sorted(run.transforms) == [0, 2]  # identity and 180 degrees: the only ones that keep the tilted kernel
    engine.run_plane(image, (2.0, 3.0), None, config, seed=0, device=torch.device("cpu"))
    assert augmentations[-1] == [0, 2, 4, 6]  # unequal factors: a quarter turn would swap them


def test_the_reconstruction_crop_avoids_an_empty_centre():
    """The lr policy tracks the error on this crop: on a flat crop it would see no progress and drop the rate."""
    from napari_zssr.core.engine import reconstruction_pair

    image = torch.zeros(1, 1, 64, 64)
    image[..., 50:62, 50:62] = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    _, target = reconstruction_pair(image, Degradation((2.0, 2.0)), 32)
    assert torch.equal(target, image[..., 32:64, 32:64])
    flat = torch.ones(1, 1, 64, 64)
    _, target = reconstruction_pair(flat, Degradation((2.0, 2.0)), 32)
    assert target.shape[-2:] == (32, 32)  # no window more varied than another: still a crop of the crop size
    small = torch.rand(1, 1, 20, 20)
    assert torch.equal(reconstruction_pair(small, Degradation((2.0, 2.0)), 32)[1], small)


def test_an_output_stopped_at_the_noise_floor_keeps_the_inputs_intensity_locally_too():
    """An L1-trained net outputs a median, below the mean under shot noise: the flux restore puts the difference back
    without the noise (a smooth field)."""
    from napari_zssr.core.inference import back_project, restore_flux

    generator = torch.Generator().manual_seed(3)
    degradation = Degradation((2.0, 2.0))
    truth = torch.rand(1, 1, 64, 64, dtype=torch.float64, generator=generator)
    lr = degradation.downscale(truth) + 0.05 * torch.randn(1, 1, 32, 32, dtype=torch.float64, generator=generator)
    dimmed = truth.clone()
    dimmed[..., :32] -= 0.1  # a local loss, far below the noise per pixel
    floor = 2 * float((lr - degradation.downscale(dimmed)).square().mean().sqrt())
    assert torch.equal(back_project(dimmed, lr, degradation, 10, noise_floor=floor), dimmed)  # the floor stops it
    restored = restore_flux(dimmed, lr, degradation)
    for half in (slice(0, 32), slice(32, 64)):
        assert abs(float((restored - truth)[..., half].mean())) < 0.02
    change = restored - dimmed
    assert float((change[..., 4:-4, 4:-4] - change[..., 4:-4, 4:-4].mean()).abs().max()) < 0.1  # smooth, no noise
