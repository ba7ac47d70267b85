"""Training steps replayed from CUDA graphs give the eager steps' result; CPUs keep the eager step."""

import numpy as np
import pytest
import torch

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core import cuda_graph, trainer
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.trainer import l1_loss, set_learning_rate, step_function

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU")


def test_learning_rate_drop_reaches_an_optimiser_whose_rate_is_a_tensor():
    net = ZSSRNet(1, 4, 3)
    optimizer = torch.optim.Adam(net.parameters(), lr=torch.tensor(1e-3))
    set_learning_rate(optimizer, 1e-4)
    assert all(isinstance(g["lr"], torch.Tensor) and float(g["lr"]) == pytest.approx(1e-4)
               for g in optimizer.param_groups)


def test_cpu_training_steps_are_eager_with_the_default_adam():
    net = ZSSRNet(1, 4, 3)
    optimizer, step = step_function(net, 1e-3, torch.float32)
    assert not isinstance(step, cuda_graph.GraphedSteps)
    assert optimizer.param_groups[0]["lr"] == 1e-3 and not optimizer.defaults["fused"]
    x, y = torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12)
    before = l1_loss(net, x, y, torch.float32).item()
    for _ in range(20):
        step(x, y)
    assert l1_loss(net, x, y, torch.float32).item() < before


def pairs(shapes, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.rand(1, 1, *shape, generator=generator).cuda(), torch.rand(1, 1, *shape, generator=generator).cuda())
            for shape in shapes]


@needs_cuda
def test_graphed_steps_match_eager_steps_across_shapes_and_an_lr_drop(monkeypatch):
    monkeypatch.setattr(cuda_graph, "MAX_GRAPHS", 2)
    # three shapes: two get graphs, the third runs eagerly; the lr drops half way
    shapes = [(32, 32)] * 6 + [(24, 32)] * 3 + [(16, 16)] * 3 + [(32, 32)] * 6 + [(24, 32)] * 3
    data = pairs(shapes)
    weights = []
    for graphs in (False, True):
        monkeypatch.setattr(trainer, "USE_CUDA_GRAPHS", graphs)
        net = ZSSRNet.create(ZSSRConfig(width=8, depth=4), 0, "cuda")
        optimizer, step = step_function(net, 1e-2, torch.float32)
        assert isinstance(step, cuda_graph.GraphedSteps) == graphs
        losses = []
        for index, (x, y) in enumerate(data):
            if index == len(data) // 2:
                set_learning_rate(optimizer, 1e-3)
            losses.append(float(step(x, y)))
        weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]).cpu())
        if graphs:
            assert len(step.graphs) == 2
    eager, graphed = weights
    start = torch.cat([p.flatten() for p in ZSSRNet.create(ZSSRConfig(width=8, depth=4), 0).parameters()]).detach()
    assert (eager - start).abs().max() > 1e-3  # the steps did train
    torch.testing.assert_close(graphed, eager, rtol=1e-4, atol=1e-5)


@needs_cuda
def test_a_cuda_run_with_graphs_matches_one_without(monkeypatch, textured_image):
    config = ZSSRConfig(max_iterations=40, width=16, crop_size=32, precision="float32", ensemble=1)
    results = []
    for graphs in (False, True):
        monkeypatch.setattr(trainer, "USE_CUDA_GRAPHS", graphs)
        results.append(zssr(textured_image, 2, config=config, seed=1, device="cuda").sr)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-3, atol=1e-3 * float(np.ptp(results[0])))
