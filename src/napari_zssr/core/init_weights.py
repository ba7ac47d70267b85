"""Starting weights of the network other than the authors' random draw: the learned start shipped in the package, or
a weights file of the user's.

The learned start is a prior made once by ``scripts/train_init.py`` from a corpus of generated and public images
(never the benchmark images), conditioned on the degradation (:mod:`.kernel_conditioning`); a run still trains on
the test image alone, only from a better starting point (docs/benchmarks.md, "A learned start"). The file is
``.npz`` (no pickled code is ever loaded) holding the ``state_dict`` arrays of :class:`ZSSRNet`, optionally those of
a :class:`KernelConditioning` (names starting with ``conditioning.``: the start then depends on the run's kernel and
noise) and an ``info`` JSON text; the shipped one is checked against its SHA-256 before use, so a damaged
installation fails loudly instead of giving quietly worse results.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .kernel_conditioning import KernelConditioning

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

#: the learned start shipped in the package, and its SHA-256 (written by scripts/train_init.py)
LEARNED_WEIGHTS = "zssr_init.npz"
LEARNED_SHA256 = "f7f98c489a8351c3001212e584bf7b1ce8e2a23770fe89f9a926101c75ccac0d"
#: the key of the training record inside a weights file
INFO_KEY = "info"
#: the prefix of a kernel conditioning's arrays inside a weights file
CONDITIONING_PREFIX = "conditioning."


class WeightsDoNotFit(ValueError):
    """A weights file made for another network (other layers or widths); ``mismatch`` says how, the message also what
    to do in Python."""

    def __init__(self, mismatch: str) -> None:
        super().__init__(f"{mismatch}; set the width and depth it was trained with, or init='scratch'")
        self.mismatch = mismatch


def learned_weights_path() -> Traversable:
    """The shipped start as a package resource: a file, or a member of the zip archive the package is imported from
    (a zipapp, a wheel on ``sys.path``), which has no path on disk to open: read it with ``read_bytes()``."""
    return resources.files("napari_zssr") / "weights" / LEARNED_WEIGHTS


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_path(init: str) -> Traversable | Path:
    """The file behind ``init``: the shipped learned start for "learned", else the path given."""
    return learned_weights_path() if init == "learned" else Path(init)


def read_weights(init: str) -> dict[str, np.ndarray]:
    """The arrays of ``init`` ("learned" or a path), checked for readability (and the shipped one for its checksum).

    The file is read once: the checksum and the arrays come from the same bytes.
    """
    path = weights_path(init)
    try:
        content = path.read_bytes()
    except OSError as error:
        if init == "learned":
            raise ValueError(f"the learned start {path} is missing from this installation; reinstall napari-zssr, or "
                             f"{FROM_SCRATCH}") from None
        raise unreadable(path, error) from None
    if init == "learned" and hashlib.sha256(content).hexdigest() != LEARNED_SHA256:
        raise ValueError(f"the learned start {path} does not match its checksum (damaged installation); "
                         f"reinstall napari-zssr, or {FROM_SCRATCH}")
    arrays = None  # a .npy holds one array, not a network's
    try:
        archive = np.load(io.BytesIO(content), allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive:
                arrays = {name: archive[name] for name in archive.files if name != INFO_KEY}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # numpy's words ("pickled data", "allow_pickle",
        # "not a zip file" for a cut one, "no data left" for an empty one) would not tell a user what it is
        raise unreadable(path, "it is not a .npz archive of arrays") from None
    if arrays is None:
        raise unreadable(path, "it holds one array, not a .npz archive of the network's")
    if not all(isinstance(array, np.ndarray) for array in arrays.values()):  # other members come as their bytes
        raise unreadable(path, "it is a zip archive of other files than arrays (a PyTorch checkpoint, saved by "
                               "torch.save?), not a .npz archive")
    broken = [name for name, array in arrays.items()
              if np.issubdtype(array.dtype, np.number) and not np.all(np.isfinite(array))]
    if broken:  # a training that diverged: a run from it would train in full, then fail as diverged itself
        raise unreadable(path, f"its {broken[0]} holds NaN or infinite values (its training diverged?)")
    return arrays


#: how to do without the learned start, in the library's and the command line's words
FROM_SCRATCH = "train from scratch (init='scratch'; --init scratch on the command line)"


def unreadable(path: Traversable | Path, error: Exception | str) -> ValueError:
    return ValueError(f"cannot read the weights file {path}: {error}; give a .npz written by the project's "
                      "scripts/train_init.py")


def load_weights(net: torch.nn.Module, init: str, code: np.ndarray) -> None:
    """Copy the weights of ``init`` into ``net`` (on the CPU, before it moves), or a clear error on any mismatch.

    A file with a kernel conditioning gives the start for ``code`` (:func:`degradation_code` of the run).
    """
    conditioning = load_start(net, init)
    if conditioning is not None:
        conditioning.fold(net, code)


def load_start(net: torch.nn.Module, init: str) -> KernelConditioning | None:
    """Copy the network arrays of ``init`` into ``net`` and return its conditioning, unfolded (None if it has none):
    what a run folds for its degradation, and what ``scripts/train_init.py --conditioned`` goes on training.

    A conditioning written for the kernel-only code loads with zero weights on the noise entry (the same start at
    every noise level, as before).
    """
    arrays = read_weights(init)
    conditioning = {name.removeprefix(CONDITIONING_PREFIX): array for name, array in arrays.items()
                    if name.startswith(CONDITIONING_PREFIX)}
    arrays = {name: array for name, array in arrays.items() if not name.startswith(CONDITIONING_PREFIX)}
    found, wanted = array_shapes(arrays), array_shapes(net.state_dict())
    where = "the learned start" if init == "learned" else f"the weights file {init}"
    if found != wanted:
        raise WeightsDoNotFit(f"{where} does not fit the network (ZSSRConfig width and depth): it holds "
                              f"{describe(found)}, the network needs {describe(wanted)}")
    net.load_state_dict({name: torch.as_tensor(array, dtype=torch.float32) for name, array in arrays.items()})
    if not conditioning:
        return None
    with torch.random.fork_rng(devices=[]):  # its layers' first weights, overwritten below, leave the caller's draws
        gains = KernelConditioning.for_net(net)
    conditioning = KernelConditioning.widen_code_input(conditioning)
    try:
        gains.load_state_dict({name: torch.as_tensor(array) for name, array in conditioning.items()})
    except RuntimeError:
        raise ValueError(f"{where} holds a kernel conditioning that does not fit the network: it holds "
                         f"{describe(array_shapes(conditioning))}, the network needs "
                         f"{describe(array_shapes(gains.state_dict()))}") from None
    return gains


def array_shapes(arrays: Mapping[str, np.ndarray | torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(array.shape) for name, array in arrays.items()}


def describe(shapes: dict[str, tuple[int, ...]]) -> str:
    """Layer shapes, short: "3 layers 1->64, 64->64, 64->1" for a chain of convolutions, "8 layers of width 64"
    from 5 layers on (a net of depth 100 made a message of 1,500 characters)."""
    if not shapes:
        return "no arrays"
    convolutions = [shape for shape in shapes.values() if len(shape) == 4]
    if len(convolutions) == len(shapes):
        if len(convolutions) > 4:  # the ends too: a file for another channel count has the same width and depth
            first, last = convolutions[0], convolutions[-1]
            return (f"{len(shapes)} layers of width {first[0]} ({first[1]}->{first[0]} ... {last[1]}->{last[0]}, "
                    f"kernels {first[2]}x{first[3]})")
        return f"{len(shapes)} layers " + ", ".join(f"{shape[1]}->{shape[0]}" for shape in convolutions)
    return ", ".join(f"{name} {shape}" for name, shape in shapes.items())


def save_weights(net: torch.nn.Module, path: str | os.PathLike, info: dict,
                 conditioning: KernelConditioning | None = None) -> str:
    """Write ``net``'s weights (and a kernel conditioning's) and a training record; return the file's SHA-256."""
    arrays = {name: tensor.detach().float().cpu().numpy() for name, tensor in net.state_dict().items()}
    if conditioning is not None:
        arrays |= {CONDITIONING_PREFIX + name: tensor.detach().float().cpu().numpy()
                   for name, tensor in conditioning.state_dict().items()}
    broken = next((name for name, array in arrays.items() if not np.all(np.isfinite(array))), None)
    if broken is not None:  # no file a run would refuse (read_weights)
        raise ValueError(f"not written: the weights' {broken} holds NaN or infinite values (the training diverged: "
                         "lower --learning-rate)")
    with open(path, "wb") as file:
        np.savez(file, **arrays, **{INFO_KEY: np.array(json.dumps(info, sort_keys=True))})
    return file_sha256(path)
