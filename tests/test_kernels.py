import numpy as np
import pytest

from napari_zssr.core.geometry import scale_symmetries
from napari_zssr.core.kernels import centre_kernel, centre_of_mass, kernel_symmetries, validate_kernel


def gaussian(size: int, sigma_y: float, sigma_x: float, angle: float = 0.0) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    return np.exp(-(u**2 / (2 * sigma_x**2) + v**2 / (2 * sigma_y**2)))


@pytest.mark.parametrize("size", [7, 8, 13])
@pytest.mark.parametrize("factor", [(2, 2), (3, 3), (2, 4)])
def test_centre_kernel_puts_mass_at_stride_centre(size, factor):
    kernel = centre_kernel(gaussian(size, 1.2, 1.6, 0.3), factor)
    com = centre_of_mass(kernel)
    for axis in (0, 1):
        assert com[axis] == pytest.approx(kernel.shape[axis] // 2 + (factor[axis] - 1) / 2, abs=1e-3)
    assert kernel.sum() == pytest.approx(1.0)
    assert kernel.min() >= 0


def test_symmetries_follow_the_kernel():
    assert kernel_symmetries(None, (2.0, 2.0)) == list(range(8))
    assert kernel_symmetries(gaussian(15, 2, 2), (2.0, 2.0)) == list(range(8))
    axis_aligned = kernel_symmetries(gaussian(15, 1, 3), (2.0, 2.0))
    assert axis_aligned == [0, 2, 4, 6]  # identity, 180 degrees and the two mirrors
    assert kernel_symmetries(gaussian(15, 1, 3, angle=0.6), (2.0, 2.0)) == [0, 2]  # identity and 180 only
    assert kernel_symmetries(None, (2.0, 3.0)) == [0, 2, 4, 6]


@pytest.mark.parametrize("kernel", [np.ones((2, 2)), np.ones((4, 4)), gaussian(4, 1, 1), gaussian(6, 1.5, 1.5)],
                         ids=["box2", "box4", "gauss4", "gauss6"])
def test_an_even_sized_symmetric_kernel_keeps_every_transform(kernel):
    """An even-sized kernel (kernel_from_psf gives them at even scales) is centred half a pixel off the grid."""
    assert kernel_symmetries(kernel, (2.0, 2.0)) == list(range(8))


def test_a_scale_is_kept_by_every_transform_when_square_and_by_the_axis_keeping_ones_otherwise():
    assert scale_symmetries((2.0, 2.0)) == list(range(8))
    assert scale_symmetries((2.0, 3.0)) == scale_symmetries((4.0, 1.0)) == [0, 2, 4, 6]


@pytest.mark.parametrize("bad, error", [
    (np.ones((3, 3, 3)), "2D"),
    (-np.ones((3, 3)), "negative"),
    (np.zeros((3, 3)), "sums to zero"),
    (np.full((3, 3), np.nan), "NaN"),
    (np.ones((3, 3), dtype=bool), "real-valued"),
    (np.ma.masked_less(np.arange(9.0).reshape(3, 3), 2), "masked"),
    ([[1, 2], [3]], r"rectangular array of numbers, got rows of different lengths"),
])
def test_bad_kernels_are_refused(bad, error):
    with pytest.raises((ValueError, TypeError), match=error):
        validate_kernel(bad)


def test_a_kernel_near_the_float64_limit_is_normalised_like_any_other():
    kernel = gaussian(7, 1.2, 1.2)
    assert np.allclose(validate_kernel(kernel * 1e308 / kernel.max()), validate_kernel(kernel))
