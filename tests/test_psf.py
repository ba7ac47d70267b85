import numpy as np
import pytest
import scipy.io
import tifffile

from napari_zssr.core.kernels import centre_of_mass
from napari_zssr.core.psf import kernel_from_psf
from napari_zssr.io.psf import read_psf


def gaussian_psf(size: int = 31, sigma: float = 1.5, offset: float = 100.0, peak: float = 1000.0) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return peak * np.exp(-(x**2 + y**2) / (2 * sigma**2)) + offset


def sigma_of(kernel: np.ndarray) -> tuple[float, float]:
    cy, cx = centre_of_mass(kernel)
    y, x = np.indices(kernel.shape)
    return float(np.sqrt((kernel * (y - cy) ** 2).sum())), float(np.sqrt((kernel * (x - cx) ** 2).sum()))


def test_gaussian_psf_keeps_its_sigma_on_the_hr_grid():
    # PSF sampled at 0.1 um, image pixels 0.2 um, x2: HR pixels are 0.1 um, sigma stays 1.5 HR pixels
    kernel = kernel_from_psf(gaussian_psf(sigma=1.5), psf_pixel_size=0.1, pixel_size=0.2, scale=2, measured=True)
    assert sigma_of(kernel) == pytest.approx((1.5, 1.5), abs=0.02)
    assert kernel.sum() == pytest.approx(1.0)
    assert centre_of_mass(kernel) == pytest.approx(((kernel.shape[0] - 1) / 2, (kernel.shape[1] - 1) / 2))


def test_theoretical_psf_gets_the_camera_pixel_box():
    # finer than the image pixels -> inferred theoretical: variance grows by that of box(2), (2^2 - 1) / 12
    kernel = kernel_from_psf(gaussian_psf(sigma=1.5), psf_pixel_size=0.05, pixel_size=0.2, scale=2)
    expected = np.sqrt(0.75**2 + 0.25)
    assert sigma_of(kernel) == pytest.approx((expected, expected), abs=0.02)


def test_psf_at_image_pixel_size_is_measured_and_upsampled():
    kernel = kernel_from_psf(gaussian_psf(sigma=1.5), scale=2)  # pixel sizes unknown: sampled at image pixels
    assert sigma_of(kernel) == pytest.approx((3.0, 3.0), abs=0.03)


def test_3d_psf_uses_in_focus_plane():
    stack = np.stack([gaussian_psf(sigma=3.0, peak=300), gaussian_psf(sigma=1.0), gaussian_psf(sigma=3.0, peak=300)])
    assert sigma_of(kernel_from_psf(stack, scale=2, measured=True)) == pytest.approx((2.0, 2.0), abs=0.03)


def test_noisy_psf_background_is_removed():
    noisy = gaussian_psf() + np.random.default_rng(0).normal(0, 5, (31, 31))
    assert sigma_of(kernel_from_psf(noisy, scale=2)) == pytest.approx((3.0, 3.0), abs=0.1)


@pytest.mark.parametrize("psf, message", [
    (np.random.default_rng(0).normal(100, 5, (31, 31)), "no clear peak"),
    (np.full((31, 31), 7.0), "no clear peak"),
    (np.ones((2, 31, 31, 3)), "2D"),
    (np.ones((2, 2)), "too small"),
])
def test_bad_psf_is_refused(psf, message):
    with pytest.raises(ValueError, match=message):
        kernel_from_psf(psf, scale=2)


def test_psf_needs_integer_scale():
    with pytest.raises(ValueError, match="integer scale"):
        kernel_from_psf(gaussian_psf(), scale=1.5)


def test_read_psf_formats(tmp_path):
    psf = gaussian_psf().astype(np.float32)
    tifffile.imwrite(tmp_path / "psf.tif", psf, imagej=True, resolution=(1 / 0.05, 1 / 0.05),
                     metadata={"unit": "um"})
    data, pixel_size = read_psf(tmp_path / "psf.tif")
    assert np.array_equal(data, psf) and pixel_size == pytest.approx(0.05)
    tifffile.imwrite(tmp_path / "plain.tif", psf)
    assert read_psf(tmp_path / "plain.tif")[1] is None
    np.save(tmp_path / "psf.npy", psf)
    assert np.array_equal(read_psf(tmp_path / "psf.npy")[0], psf)
    scipy.io.savemat(tmp_path / "psf.mat", {"Kernel": psf})
    assert np.array_equal(read_psf(tmp_path / "psf.mat")[0], psf)


def test_read_psf_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_psf(tmp_path / "missing.tif")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(ValueError, match="broken.tif"):
        read_psf(tmp_path / "broken.tif")
    scipy.io.savemat(tmp_path / "other.mat", {"psf": np.ones((3, 3))})
    with pytest.raises(ValueError, match="Kernel"):
        read_psf(tmp_path / "other.mat")
    (tmp_path / "psf.png").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported"):
        read_psf(tmp_path / "psf.png")
