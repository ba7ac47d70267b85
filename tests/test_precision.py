"""Mixed precision (the GPU's fast path) exercised on the CPU: bf16 natively, fp16 (emulated) on tiny nets."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.inference import apply_tiled
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.pairs import FatherPool, PairSampler
from napari_zssr.core.precision import autocast, resolve_precision
from napari_zssr.core.trainer import train

CPU = torch.device("cpu")


def net_recording_conv_dtypes(width: int = 16) -> tuple[ZSSRNet, list[torch.dtype]]:
    net = ZSSRNet.create(ZSSRConfig(width=width), 0, CPU)
    seen: list[torch.dtype] = []
    net.body[0].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return net, seen


def test_auto_picks_the_fast_precision_of_each_device(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    assert resolve_precision("auto", CPU) == torch.float32  # bf16 would be emulated: slower
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert resolve_precision("auto", CPU) == torch.bfloat16  # AVX512-BF16 (AMD Zen 4, Intel Cooper Lake)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert resolve_precision("auto", CPU) == torch.bfloat16  # Intel AMX: bf16 matrix units
    assert resolve_precision("auto", torch.device("mps")) == torch.float32
    capabilities = {0: (8, 0), 1: (7, 5)}  # an A100 beside a T4: each device answers for itself
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: capabilities[device.index])
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)  # emulation counts there
    assert resolve_precision("auto", torch.device("cuda", 0)) == torch.bfloat16
    assert resolve_precision("auto", torch.device("cuda", 1)) == torch.float16  # pre-Ampere: bf16 only emulated
    assert resolve_precision("float32", torch.device("cuda", 0)) == torch.float32
    assert resolve_precision("float16", torch.device("cuda", 0)) == torch.float16
    with pytest.raises(ValueError, match="unknown precision 'half'; choose one of auto, float32"):
        resolve_precision("half", CPU)
    with pytest.raises(ValueError, match="'float16' is for CUDA GPUs only"):
        resolve_precision("float16", CPU)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_training_runs_convolutions_low_and_keeps_float32_weights(dtype):
    blocks = np.random.default_rng(0).random((12, 12))
    image = torch.as_tensor(np.kron(blocks, np.ones((4, 4))).astype(np.float32))[None, None]
    degradation = Degradation((2.0, 2.0))
    sampler = PairSampler(FatherPool(image, 0.5, 4, 8), degradation, list(range(8)), 0.0, 0, CPU)
    recon = (degradation.upscale(degradation.downscale(image), (48, 48)), image)
    # a narrow net on small crops at a high rate: a CPU without bf16 or fp16 in hardware emulates them, slowly
    net, seen = net_recording_conv_dtypes(width=8)
    log = train(net, sampler, recon, ZSSRConfig(max_iterations=60, crop_size=24, recon_every=15, learning_rate=3e-3,
                                                lr_schedule="policy"), dtype=dtype)
    errors = [error for _, error in log.reconstruction_errors]
    assert set(seen) == {dtype}
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert np.isfinite(errors).all() and errors[-1] < 0.95 * errors[0]  # 0.91 in bf16, fp16 and float32 alike


@pytest.mark.parametrize("tile_size", [64, 24])
def test_mixed_precision_inference_is_float32_and_close_to_full_precision(tile_size):
    net, seen = net_recording_conv_dtypes()
    x = torch.rand(1, 1, 40, 52)
    full = apply_tiled(net.eval(), x, tile_size)
    assert set(seen) == {torch.float32}
    seen.clear()
    mixed = apply_tiled(net, x, tile_size, torch.bfloat16)
    assert set(seen) == {torch.bfloat16}
    assert mixed.dtype == torch.float32
    residual = (full - x).abs().max()
    assert (mixed - full).abs().max() < 0.05 * residual  # bf16 rounds only the predicted residual


def test_bfloat16_asked_on_a_cpu_that_emulates_it_is_said(textured_image, tiny_config, monkeypatch):
    """Emulated, it ran 4x slower than float32, without a word; the float16 refusal even advised it."""
    import warnings

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    asked = replace(tiny_config, precision="bfloat16", max_iterations=1)
    with pytest.warns(UserWarning, match="no bfloat16 in hardware .* emulated and slower than float32"):
        zssr(textured_image, 2, config=asked, device="cpu")
    with pytest.raises(ValueError, match="float16' is for CUDA GPUs only .* use 'auto' \\(bfloat16 where the CPU has"):
        resolve_precision("float16", CPU)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zssr(textured_image, 2, config=asked, device="cpu")


def test_run_reports_its_precision_and_mixed_matches_full(textured_image, tiny_config):
    full = zssr(textured_image, 2, config=replace(tiny_config, precision="float32"), device="cpu")
    mixed = zssr(textured_image, 2, config=replace(tiny_config, precision="bfloat16"), device="cpu")
    assert full.precision == "float32" and mixed.precision == "bfloat16"
    assert mixed.metadata()["precision"] == "bfloat16"
    value_range = float(textured_image.max()) - float(textured_image.min())
    assert np.abs(mixed.sr - full.sr).mean() < 0.01 * value_range
    with pytest.raises(ValueError, match="ZSSRConfig.precision must be one of 'auto', 'float32'"):
        zssr(textured_image, 2, config=replace(tiny_config, precision="fp8"))


@pytest.mark.parametrize(("capability", "layout"), [("AVX2", torch.contiguous_format), ("AVX512", torch.channels_last),
                                                    ("DEFAULT", torch.channels_last)])
def test_the_net_trains_in_its_cpus_faster_layout_and_infers_channels_last_with_the_same_weights(monkeypatch,
                                                                                                  capability, layout):
    """AVX2-only CPUs train faster in torch's default layout, others channels-last; inference is channels-last on a
    copy, so that the net a warm start trains on keeps its layout and weights."""
    from napari_zssr.core.network import training_layout

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    training_layout.cache_clear()
    try:
        net = ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=0)
        inferring = net.for_inference()
    finally:
        training_layout.cache_clear()
    assert training_layout.__wrapped__("cpu") == layout and training_layout.__wrapped__("cuda") == torch.channels_last
    weight = net.body[2].weight
    assert weight.is_contiguous(memory_format=layout) and not weight.is_contiguous(
        memory_format=({torch.channels_last, torch.contiguous_format} - {layout}).pop())
    assert inferring.body[2].weight.is_contiguous(memory_format=torch.channels_last)
    assert (inferring is net) == (layout == torch.channels_last)
    x = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(inferring(x), net(x), atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), inferring.parameters()))


def test_float32_on_mps_enters_no_autocast_which_a_torch_without_it_there_refuses_even_disabled(monkeypatch):
    """torch before autocast on MPS raised "unsupported autocast device_type 'mps'" for any torch.autocast("mps"),
    enabled or not: every Mac GPU run (float32 there) failed at its first step. The CPU and CUDA keep torch's."""
    real = torch.autocast
    entered = []

    def older_torch(device_type, *args, **kwargs):
        if device_type not in ("cpu", "cuda"):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        entered.append(device_type)
        return real(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", older_torch)
    with autocast(torch.float32, torch.device("mps")):
        pass
    with autocast(torch.float32, torch.device("cpu")):
        pass
    assert entered == ["cpu"]


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_every_training_step_computes_with_the_weights_the_last_one_left(precision):
    # torch caches autocast's low-precision copy of the weights until the outermost autocast region ends, and a run
    # is inside one (own_torch_modes disables a caller's): with the cache, every bf16 step after the first computed
    # with the first step's weights, so training did nothing, and a learning rate of 1e6 did not even diverge
    image = np.random.default_rng(0).random((16, 16))
    config = ZSSRConfig(max_iterations=3, learning_rate=1e6, width=8, depth=3, crop_size=16, precision=precision)
    with pytest.raises(RuntimeError, match="training diverged"):
        zssr(image, 2, config=config, device="cpu")
