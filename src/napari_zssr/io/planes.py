"""Stacks read one YX plane at a time: what the TIFF writer consumes, so that a stack larger than memory (a split
run's parts, read from disk) is written without ever being held whole.

A *plane source* is anything with ``shape``, a numpy ``dtype`` and ``source[index]`` giving the 2D plane at a full
index of its leading axes: a numpy array, a memmap, a dask or zarr array, or a :class:`ReorderedPlanes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np


class PlaneSource(Protocol):
    shape: tuple[int, ...]
    dtype: np.dtype

    def __getitem__(self, index: tuple[int, ...]) -> Any: ...


class ReorderedPlanes:
    """``source``'s planes with its leading axes in ``order`` (``order[i]`` is the source axis that is axis ``i``
    here, or None for a new axis of length 1; source axes left out must have length 1 and are dropped), each
    converted by ``convert`` (to ``dtype``) as it is read: a transpose, a squeeze and a cast that copy one plane,
    not the stack."""

    def __init__(self, source: PlaneSource, order: Sequence[int | None], dtype: Any = None,
                 convert: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        leading = len(source.shape) - 2
        axes = [axis for axis in order if axis is not None]
        if len(set(axes)) != len(axes) or not set(axes) <= set(range(leading)):
            raise ValueError(f"order {tuple(order)} is not a reordering of leading axes of shape {source.shape}")
        dropped = [axis for axis in range(leading) if axis not in order]
        if any(source.shape[axis] != 1 for axis in dropped):
            raise ValueError(f"only axes of length 1 can be dropped; shape {source.shape}, order {tuple(order)}")
        self._source = source
        self._order = tuple(order)
        self._leading = leading
        self.dtype = np.dtype(source.dtype if dtype is None else dtype)
        self._convert = convert or (lambda plane: plane.astype(self.dtype, copy=False))
        self.shape = (*(1 if axis is None else source.shape[axis] for axis in self._order), *source.shape[-2:])

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        source_index = [0] * self._leading
        for axis, position in zip(self._order, index, strict=True):
            if axis is not None:
                source_index[axis] = position
        return self._convert(np.asarray(self._source[tuple(source_index)]))


class PlaneReadError(RuntimeError):
    """A plane of a source could not be read while the stack was written: the source's fault, not the destination's
    (a writer reports its own ``OSError`` as a failed write)."""


def iter_planes(source: PlaneSource) -> Iterator[np.ndarray]:
    """Every plane of ``source``, in C order over its leading axes, each as a C-contiguous array; an ``OSError``
    reading one is raised as a :class:`PlaneReadError` naming it."""
    for index in np.ndindex(*source.shape[:-2]):
        try:
            plane = source[index]
        except OSError as error:
            raise PlaneReadError(f"could not read plane {index} of the stack being written: {error}") from error
        yield np.ascontiguousarray(plane)


class ChannelPlanes:
    """Channel ``channel`` of a (..., C, Y, X) plane source, as a (..., Y, X) one."""

    def __init__(self, source: PlaneSource, channel: int) -> None:
        self._source = source
        self._channel = channel
        self.dtype = np.dtype(source.dtype)
        self.shape = (*source.shape[:-3], *source.shape[-2:])

    def __getitem__(self, index: tuple[int, ...]) -> Any:
        return self._source[(*index, self._channel)]


class CroppedPlanes:
    """The window ``rows`` x ``columns`` of every plane of ``source``."""

    def __init__(self, source: PlaneSource, rows: slice, columns: slice) -> None:
        self._source = source
        self._window = (rows, columns)
        self.dtype = np.dtype(source.dtype)
        self.shape = (*source.shape[:-2], *(len(range(*window.indices(length)))
                                            for window, length in zip(self._window, source.shape[-2:], strict=True)))

    def __getitem__(self, index: tuple[int, ...]) -> Any:
        return self._source[index][self._window]


class ReadOnce:
    """``source``'s planes, each read once and kept (each read gives a copy of its own): for an analysis that reads
    the same few planes again and again (the resolution report reads each of up to 8 planes of a centre window five
    times), so that a lazy stack's file is read once. Keep it to small windows: every plane read stays in memory."""

    def __init__(self, source: PlaneSource) -> None:
        self._source = source
        self._read: dict[tuple[int, ...], np.ndarray] = {}
        self.dtype = np.dtype(source.dtype)
        self.shape = tuple(source.shape)

    def __getitem__(self, index: tuple[int, ...]) -> np.ndarray:
        key = tuple(int(i) for i in index)
        if key not in self._read:
            self._read[key] = np.array(self._source[key])
        return self._read[key].copy()  # what a reader does with it never reaches the next reader
