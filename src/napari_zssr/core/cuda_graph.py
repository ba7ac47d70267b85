"""The training step replayed as a CUDA graph: one launch per step instead of about sixty.

On a GPU one ZSSR step (a 128 x 128 crop through 8 convolutions, back, and Adam) is too small to keep the GPU busy:
measured on an H200 (docs/benchmarks.md, "GPU"), the eager step costs about 3 ms, nearly all of it Python and
kernel-launch overhead, and the same step replayed as a CUDA graph 0.4 ms. A graph fixes its tensors' shapes and
addresses, so each pair is copied into static inputs; one graph is captured per pair shape (a single one when the
fathers are larger than the crop; smaller fathers give smaller crops, and a quarter turn swaps a non-square crop's
sides) and shapes beyond ``MAX_GRAPHS`` run eagerly.
Adam is fused and capturable, with its learning rate in a device tensor, so the schedule's drops reach the replayed
step (``set_learning_rate`` fills that tensor).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .network import ZSSRNet, training_layout

#: ``loss(son_up, father)``: the training loss of the net, computed without autocast's weight cache (a cached
#: low-precision copy of the weights would be frozen into the graph)
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: graphs kept per training run (each holds its own activations' memory)
MAX_GRAPHS = 4


def graph_optimizer(net: ZSSRNet, learning_rate: float) -> torch.optim.Adam:
    """Adam as a CUDA graph can replay it: fused, capturable, the learning rate a device tensor."""
    device = next(net.parameters()).device
    rate = torch.tensor(learning_rate, device=device, dtype=torch.float32)
    return torch.optim.Adam(net.parameters(), lr=rate, fused=True, capturable=True)


class GraphedSteps:
    """``steps(son_up, father) -> loss``: a training step (``loss``, backward, ``optimizer``), replayed from CUDA
    graphs. Not for float16: its dynamic loss scaling decides on the host which steps to skip."""

    def __init__(self, net: ZSSRNet, optimizer: torch.optim.Adam, loss: LossFunction) -> None:
        self.optimizer = optimizer
        self._loss = loss
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.device = next(net.parameters()).device
        self.side_stream = torch.cuda.Stream(self.device)

    def _eager(self, son_up: torch.Tensor, father: torch.Tensor) -> torch.Tensor:
        loss = self._loss(son_up, father)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def _capture(self, son_up: torch.Tensor, father: torch.Tensor) -> tuple:
        static_son, static_father = son_up.clone(), father.clone()
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)  # the graph's backward then writes fresh gradients each replay
        with torch.cuda.graph(graph):
            static_loss = self._loss(static_son, static_father)
            static_loss.backward()
            self.optimizer.step()
        return graph, static_son, static_father, static_loss

    def __call__(self, son_up: torch.Tensor, father: torch.Tensor) -> torch.Tensor:
        # the net's GPU made current: the streams and the capture below are otherwise the current device's (cuda:0),
        # and a net on cuda:1 would be captured on the wrong one
        with torch.cuda.device(self.device):
            return self._step(son_up, father)

    def _step(self, son_up: torch.Tensor, father: torch.Tensor) -> torch.Tensor:
        son_up = son_up.contiguous(memory_format=training_layout(son_up.device.type))
        father = father.contiguous()
        key = (tuple(son_up.shape), tuple(father.shape))
        if key not in self.graphs:
            if len(self.graphs) >= MAX_GRAPHS:
                return self._eager(son_up, father)
            # A new shape: one real eager step on a side stream first (cuDNN chooses its kernels, Adam's state and
            # the allocator settle), as capture requires; the capture itself runs nothing.
            self.side_stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side_stream):
                loss = self._eager(son_up, father)
            torch.cuda.current_stream().wait_stream(self.side_stream)
            self.graphs[key] = self._capture(son_up, father)
            return loss
        graph, static_son, static_father, static_loss = self.graphs[key]
        static_son.copy_(son_up)
        static_father.copy_(father)
        graph.replay()
        return static_loss
