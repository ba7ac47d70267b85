import contextlib

import numpy as np
import pytest

from napari_zssr import ZSSRConfig

# qtpy picks the Qt binding (QT_API overrides); importing it before pytest-qt starts makes pytest-qt use the same
# one where several are installed.
with contextlib.suppress(ImportError):
    import qtpy  # noqa: F401


@pytest.fixture
def tiny_config() -> ZSSRConfig:
    """A config that trains a narrow net for a few iterations: exercises every code path in well under a second."""
    return ZSSRConfig(max_iterations=6, width=8, crop_size=32, recon_every=2, progress_every=2, tile_size=64)


@pytest.fixture
def textured_image() -> np.ndarray:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:40, :36]
    return (np.sin(x / 3.0) * np.cos(y / 5.0) * 800 + 1000 + rng.normal(0, 20, (40, 36))).astype(np.uint16)
