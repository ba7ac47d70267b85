"""A run's own torch modes, whatever its caller's: a library call must not depend on the grad or autocast mode of
the code around it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch


@contextmanager
def own_torch_modes() -> Iterator[None]:
    """Gradients on, and none of the caller's autocast, for as long as a run lasts.

    A pipeline wrapped in ``torch.no_grad()`` or ``torch.inference_mode()`` would leave the network nothing to train
    (torch's "does not require grad" from deep in the backward pass), and a caller's ``torch.autocast`` would change
    the precision the run chose, and records, without saying so. The run's own autocast (bf16) is set inside. As a
    decorator (``@own_torch_modes()``, contextlib's), it makes these modes a function's own.
    """
    with ExitStack() as modes:
        modes.enter_context(torch.inference_mode(False))
        modes.enter_context(torch.enable_grad())
        modes.enter_context(torch.autocast("cpu", enabled=False))
        if torch.cuda.is_available():
            modes.enter_context(torch.autocast("cuda", enabled=False))
        yield

