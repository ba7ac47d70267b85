"""A run's own torch modes, whatever its caller's: a library call must not depend on the grad or autocast mode of
the code around it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import ParamSpec, TypeVar

import torch

_Arguments = ParamSpec("_Arguments")
_Result = TypeVar("_Result")


@contextmanager
def own_torch_modes() -> Iterator[None]:
    """Gradients on, and none of the caller's autocast, for as long as a run lasts.

    A pipeline wrapped in ``torch.no_grad()`` or ``torch.inference_mode()`` would leave the network nothing to train
    (torch's "does not require grad" from deep in the backward pass), and a caller's ``torch.autocast`` would change
    the precision the run chose, and records, without saying so. The run's own autocast (bf16) is set inside.
    """
    with ExitStack() as modes:
        modes.enter_context(torch.inference_mode(False))
        modes.enter_context(torch.enable_grad())
        modes.enter_context(torch.autocast("cpu", enabled=False))
        if torch.cuda.is_available():
            modes.enter_context(torch.autocast("cuda", enabled=False))
        yield


def in_own_torch_modes(function: Callable[_Arguments, _Result]) -> Callable[_Arguments, _Result]:
    """``function`` run in :func:`own_torch_modes`. Not contextlib's decorator form (``@own_torch_modes()``): its
    frame, in contextlib, would stand between the package and its caller, where warnings find the caller's line."""

    @functools.wraps(function)
    def run(*args: _Arguments.args, **kwargs: _Arguments.kwargs) -> _Result:
        with own_torch_modes():
            return function(*args, **kwargs)

    return run
