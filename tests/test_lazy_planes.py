"""The estimates read only the planes they analyse, so a lazily opened stack (dask, zarr) is never loaded whole.

A counting array-like stands in for dask: it records every plane indexed and every conversion of the whole array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from napari_zssr import Cancelled, estimate_kernel, estimate_resolution, zssr_stack
from napari_zssr.core.spectrum import MAX_PLANES, analysis_planes

N_PLANES = 40
#: the evenly spaced planes of a 40-plane stack: np.round(np.linspace(0, 39, 8))
ANALYSED = [0, 6, 11, 17, 22, 28, 33, 39]
#: plane side: the smallest the resolution estimate reads
SIDE = 96


class CountingStack:
    """An array-like (shape, ndim, dtype, numpy indexing) over a numpy stack that records what is read: the index
    of each single plane indexed in ``planes``, any other indexing in ``others``, whole-array conversions in
    ``full_reads``."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape, self.ndim, self.dtype = data.shape, data.ndim, data.dtype
        self.planes: list[tuple[int, ...]] = []
        self.others: list[Any] = []
        self.full_reads = 0

    def __getitem__(self, key: Any) -> np.ndarray:
        index = key if isinstance(key, tuple) else (key,)
        if len(index) == self.ndim - 2 and all(isinstance(i, (int, np.integer)) for i in index):
            self.planes.append(tuple(int(i) for i in index))
        else:
            self.others.append(key)
        return self.data[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self.full_reads += 1
        return np.asarray(self.data, dtype=dtype)


def blurred_stack(n_planes: int = N_PLANES) -> np.ndarray:
    """Blurred, noisy blobs, each plane shifted and with its own noise (float32, SIDE x SIDE planes)."""
    rng = np.random.default_rng(0)
    blobs = np.zeros((SIDE, SIDE))
    blobs[tuple(rng.integers(0, SIDE, (2, 135)))] = 1.0
    base = ndimage.gaussian_filter(blobs, 1.5, mode="wrap") * 1000
    return np.stack([np.roll(base, i, axis=1) + rng.normal(0, 2, base.shape)
                     for i in range(n_planes)]).astype(np.float32)


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    return blurred_stack()


def assert_only_analysed_planes_read(lazy: CountingStack, limit: int = MAX_PLANES) -> None:
    assert lazy.full_reads == 0 and lazy.others == []
    assert len(lazy.planes) <= limit


def without_timing(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "seconds"}


@pytest.mark.parametrize("estimate", [estimate_kernel, estimate_resolution])
def test_estimates_read_only_the_analysed_planes_of_a_lazy_stack(stack, estimate):
    lazy = CountingStack(stack)
    result = estimate(lazy)
    assert_only_analysed_planes_read(lazy)
    assert sorted(lazy.planes) == [(i,) for i in ANALYSED]
    assert result.planes == MAX_PLANES
    assert without_timing(result.to_dict()) == without_timing(estimate(stack).to_dict())


def test_numpy_stacks_keep_the_evenly_spaced_planes(stack):
    planes = analysis_planes(stack)
    assert len(planes) == MAX_PLANES
    for plane, index in zip(planes, ANALYSED, strict=True):
        assert np.array_equal(plane, stack[index] / np.abs(stack[index].astype(np.float64)).max())
    deep = stack.reshape(4, 10, SIDE, SIDE)
    assert all(np.array_equal(a, b) for a, b in zip(analysis_planes(deep), planes, strict=True))


def test_a_constant_analysed_plane_is_replaced_by_its_nearest_varying_neighbour(stack):
    padded = stack.copy()
    padded[-1] = 0  # blank padding at the stack's end, where an analysed plane falls
    lazy = CountingStack(padded)
    planes = analysis_planes(lazy)
    assert len(planes) == MAX_PLANES
    assert np.array_equal(planes[-1], padded[38] / np.abs(padded[38].astype(np.float64)).max())
    assert_only_analysed_planes_read(lazy, limit=MAX_PLANES + 1)


def test_bad_planes_still_raise_a_clear_error(stack):
    with pytest.raises(ValueError, match="constant"):
        analysis_planes(CountingStack(np.zeros((N_PLANES, SIDE, SIDE), np.float32)))
    with_nan = stack.copy()
    with_nan[ANALYSED[2], 5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimate_kernel(CountingStack(with_nan))


def test_zssr_stack_reads_one_plane_besides_the_estimates_before_training(stack, tiny_config):
    lazy = CountingStack(stack)
    reads_at_start: list[int] = []

    def progress(event: Any) -> None:
        reads_at_start.append(len(lazy.planes))

    with pytest.raises(Cancelled):
        zssr_stack(lazy, 2, kernel="estimate", config=tiny_config, device="cpu", progress=progress,
                   should_stop=lambda: bool(reads_at_start))
    assert_only_analysed_planes_read(lazy, limit=MAX_PLANES + 1)
    assert reads_at_start[0] == MAX_PLANES + 1  # the estimate's planes, then the first plane to train


def test_zssr_stack_still_refuses_a_nan_plane_the_estimate_did_not_read(stack, tiny_config):
    with_nan = stack.copy()
    with_nan[1, 5, 5] = np.nan  # plane 1 is not analysed: the estimate succeeds, the run reads it after plane 0
    with pytest.raises(ValueError, match="the plane at index 1 contains NaN"):
        zssr_stack(CountingStack(with_nan), 2, kernel="estimate", config=tiny_config, device="cpu")


def test_cancel_answers_while_the_estimate_searches_a_mostly_blank_lazy_stack(stack, tiny_config):
    """Blank planes among the analysed ones send the estimate searching outwards plane by plane (to the ends of a
    stack blank but for one plane); a Cancel asked meanwhile stops it before the next read, not after the search."""
    mostly_blank = np.zeros_like(stack)
    mostly_blank[20] = stack[20]
    lazy = CountingStack(mostly_blank)
    with pytest.raises(Cancelled):
        zssr_stack(lazy, 2, kernel="estimate", config=tiny_config, device="cpu",
                   should_stop=lambda: len(lazy.planes) >= 3)
    assert len(lazy.planes) == 3
    assert len(analysis_planes(CountingStack(mostly_blank))) == 1  # uncancelled, the search finds the one plane
