"""A start conditioned on the degradation: its code, the gains folded into a plain net, the weights file."""

import numpy as np
import pytest
import torch

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core.init_weights import save_weights
from napari_zssr.core.kernel_conditioning import (
    KERNEL_CODE_SIZE,
    NOISE_SCALE,
    KernelConditioning,
    conditioned_forward,
    degradation_code,
)
from napari_zssr.core.network import ZSSRNet
from napari_zssr.sample import anisotropic_gaussian_psf, gaussian_psf


def random_conditioning(net: ZSSRNet, seed: int = 0) -> KernelConditioning:
    """A conditioning whose gains differ from 1 (a fresh one is the identity)."""
    conditioning = KernelConditioning.for_net(net)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in conditioning.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return conditioning


def test_the_code_describes_the_kernels_width_orientation_and_the_bicubic_assumption():
    bicubic = degradation_code(None, (2.0, 2.0))
    assert bicubic[0] == 1 and np.allclose(bicubic[1:3], np.log(2)) and not bicubic[3:].any()
    sigma = 1.5
    round_code = degradation_code(gaussian_psf(sigma), (2.0, 2.0))
    assert round_code[0] == 0
    assert np.exp(round_code[3]) - 0.25 == pytest.approx(sigma, rel=0.03)
    assert np.exp(round_code[4]) - 0.25 == pytest.approx(sigma, rel=0.03)
    assert abs(round_code[5]) < 0.02 and abs(round_code[6]) < 0.02 and abs(round_code[7]) < 0.1  # round, Gaussian
    along_columns = degradation_code(anisotropic_gaussian_psf(2.0, 0.8, 0.0), (2.0, 2.0))
    along_rows = degradation_code(anisotropic_gaussian_psf(2.0, 0.8, np.pi / 2), (2.0, 2.0))
    assert along_columns[3] == pytest.approx(along_rows[3], abs=0.02) and along_columns[3] > along_columns[4]
    assert along_columns[5] > 0.4 and along_rows[5] < -0.4  # a quarter turn flips cos(2 angle)
    diagonal = degradation_code(anisotropic_gaussian_psf(2.0, 0.8, np.pi / 4), (2.0, 2.0))
    other_diagonal = degradation_code(anisotropic_gaussian_psf(2.0, 0.8, -np.pi / 4), (2.0, 2.0))
    assert diagonal[6] > 0.4 and other_diagonal[6] < -0.4 and abs(diagonal[5]) < 0.05  # and sin(2 angle) its sign
    one_axis = degradation_code(gaussian_psf(1.0)[:, 3:4], (3.0, 1.0))
    assert np.isfinite(one_axis).all() and one_axis[2] == 0


def test_a_point_kernel_is_coded_round_and_tailless_and_its_run_converges():
    points = [np.ones((1, 1)), np.pad(np.ones((1, 1)), 1), gaussian_psf(0.15)]  # point sampling, as given or drawn
    codes = [degradation_code(kernel, (2.0, 2.0)) for kernel in points]
    for code in codes:  # the moments of a point are 0 / 0: neither anisotropic nor a ring's heavy tail
        assert np.allclose(code, codes[0], atol=1e-3) and code[5] == code[6] == 0
        assert code[7] == pytest.approx(np.log(0.5))
    narrowest_trained = degradation_code(gaussian_psf(0.4), (2.0, 2.0))  # coded from its moments, as before
    assert narrowest_trained[7] > 1 and not np.allclose(narrowest_trained, codes[0], atol=0.1)
    image = np.random.default_rng(0).random((24, 24))
    result = zssr(image, 2, kernel=np.ones((1, 1)), config=ZSSRConfig.preset("fast", max_iterations=2))
    assert np.isfinite(result.sr).all() and np.abs(result.sr).max() < 3  # the start no longer diverges


def test_the_code_holds_the_noise_the_run_adds():
    kernel = gaussian_psf(1.0)
    clean = degradation_code(kernel, (2.0, 2.0))
    assert clean[-1] == 0
    faint, strong = (degradation_code(kernel, (2.0, 2.0), noise) for noise in (NOISE_SCALE, 0.05))
    assert faint[-1] == pytest.approx(np.log(2)) and strong[-1] > faint[-1] > 0
    assert np.array_equal(strong[:-1], clean[:-1])  # the kernel's entries do not move with the noise


def test_a_conditioning_trained_before_the_noise_entry_ignores_the_noise(tmp_path):
    net = ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=5)
    conditioning = random_conditioning(net)
    arrays = {f"conditioning.{name}": tensor.numpy() for name, tensor in conditioning.state_dict().items()}
    arrays["conditioning.hidden.weight"] = arrays["conditioning.hidden.weight"][:, :KERNEL_CODE_SIZE]
    path = tmp_path / "kernel_only.npz"
    np.savez(path, **{name: tensor.numpy() for name, tensor in net.state_dict().items()}, **arrays)
    config = ZSSRConfig(width=8, depth=3, init=str(path))
    kernel = gaussian_psf(1.2)
    clean = ZSSRNet.create(config, seed=0, kernel=kernel)
    noisy = ZSSRNet.create(config, seed=0, kernel=kernel, noise_std=0.03)
    assert all(torch.equal(a, b) for a, b in zip(clean.parameters(), noisy.parameters(), strict=True))
    with torch.no_grad():  # the kernel-only conditioning, applied as it was trained
        conditioning.hidden.weight[:, KERNEL_CODE_SIZE:] = 0
    conditioning.fold(net, degradation_code(kernel, (2.0, 2.0)))
    assert all(torch.equal(a, b) for a, b in zip(clean.parameters(), net.parameters(), strict=True))


def test_folding_the_gains_gives_the_conditioned_network():
    net = ZSSRNet.create(ZSSRConfig(width=8, depth=4), seed=1)
    conditioning = random_conditioning(net)
    kernel = anisotropic_gaussian_psf(1.8, 0.7, 0.4)
    code = degradation_code(kernel, (2.0, 2.0))
    x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = conditioned_forward(net, conditioning, x, torch.as_tensor(code)[None].expand(2, -1))
        conditioning.fold(net, code)
        assert torch.allclose(net(x), expected, atol=1e-6)


def test_a_conditioned_weights_file_gives_a_start_per_kernel(tmp_path):
    config = ZSSRConfig(width=8, depth=3)
    net = ZSSRNet.create(config, seed=5)
    conditioning = random_conditioning(net)
    path = tmp_path / "conditioned.npz"
    save_weights(net, path, {"method": "test"}, conditioning)
    kernel = gaussian_psf(1.2)
    started = ZSSRNet.create(ZSSRConfig(width=8, depth=3, init=str(path)), seed=0, kernel=kernel)
    conditioning.fold(net, degradation_code(kernel, (2.0, 2.0)))
    assert all(torch.equal(a, b) for a, b in zip(started.parameters(), net.parameters(), strict=True))
    bicubic = ZSSRNet.create(ZSSRConfig(width=8, depth=3, init=str(path)), seed=0)
    assert not torch.equal(bicubic.body[0].weight, started.body[0].weight)
    image = np.random.default_rng(0).random((16, 16))
    result = zssr(image, 2, kernel=kernel, config=ZSSRConfig(width=8, depth=3, init=str(path), max_iterations=2))
    assert result.sr.shape == (32, 32)


def test_the_shipped_start_depends_on_the_kernel():
    config = ZSSRConfig(init="learned")
    bicubic = ZSSRNet.create(config, seed=0)
    blurred = ZSSRNet.create(config, seed=0, kernel=anisotropic_gaussian_psf(2.0, 0.8, 0.3))
    assert not torch.equal(bicubic.body[0].weight, blurred.body[0].weight)
    assert all(torch.isfinite(p).all() for p in blurred.parameters())


def test_a_conditioning_that_does_not_fit_is_a_clear_error(tmp_path):
    net = ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=0)
    other = KernelConditioning.for_net(ZSSRNet.create(ZSSRConfig(width=16, depth=3), seed=0))
    path = tmp_path / "mismatched.npz"
    save_weights(net, path, {}, other)
    with pytest.raises(ValueError, match="kernel conditioning that does not fit"):
        ZSSRNet.create(ZSSRConfig(width=8, depth=3, init=str(path)), seed=0)


def test_runs_start_from_their_own_kernel(tmp_path, monkeypatch):
    """The engine and axial runs tell the start their kernel and scale (the first scale step's, in gradual runs)."""
    from napari_zssr.core import network

    path = tmp_path / "plain.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=0), path, {})
    told = []
    monkeypatch.setattr(network, "degradation_code", lambda kernel, scale, noise:
                        told.append((kernel, scale, noise)) or degradation_code(kernel, scale, noise))
    kernel = gaussian_psf(1.0)
    config = ZSSRConfig(width=8, depth=3, init=str(path), max_iterations=2, crop_size=16)
    noisy = 0.5 + np.random.default_rng(1).normal(0, 0.04, (48, 48))
    noisy[::8] += 0.5  # some structure, so the noise is a fraction of a range of about 1
    result = zssr(noisy, 2, kernel=kernel, config=config)
    assert len(told) == 1 and told[0][0].shape == kernel.shape and told[0][1] == (2.0, 2.0)
    assert told[0][2] > 0 and told[0][2] == pytest.approx(result.noise_stds[0])  # the noise added to the sons
    told.clear()
    gradual = ZSSRConfig(width=8, depth=3, init=str(path), max_iterations=2, crop_size=16, gradual_steps=(1.5,))
    zssr(np.random.default_rng(0).random((20, 20)), 2, config=gradual)
    assert [(kernel, scale) for kernel, scale, _ in told] == [(None, (1.5, 1.5))]


def test_axial_runs_start_from_their_one_axis_kernel(tmp_path, monkeypatch, tiny_config):
    from napari_zssr.axial import zssr_axial
    from napari_zssr.core import network

    path = tmp_path / "plain.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(width=8), seed=0), path, {})
    told = []
    monkeypatch.setattr(network, "degradation_code", lambda kernel, scale, noise:
                        told.append((kernel, scale, noise)) or degradation_code(kernel, scale, noise))
    volume = np.random.default_rng(0).random((6, 16, 16))
    tiny_config.init = str(path)
    zssr_axial(volume, 3, config=tiny_config, device="cpu")
    assert len(told) == 1 and told[0][1] == (3.0, 1.0) and told[0][0].ndim == 2 and told[0][0].shape[1] == 1
    assert told[0][2] >= 0
