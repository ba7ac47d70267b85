import numpy as np
import pytest
import torch
from PIL import Image

from napari_zssr.core.kernels import centre_kernel
from napari_zssr.core.resize import downscale_with_kernel, resize, scaled_shape


def pillow_bicubic(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(shape[::-1], Image.BICUBIC))


@pytest.mark.parametrize("shape_in, shape_out", [((64, 48), (128, 96)), ((64, 48), (32, 24)), ((60, 60), (90, 90)),
                                                 ((64, 64), (16, 16)), ((60, 80), (120, 40))])
def test_resize_matches_pillow_away_from_borders(shape_in, shape_out):
    image = np.random.default_rng(0).random(shape_in)
    ours = resize(torch.as_tensor(image)[None, None], shape_out)[0, 0].numpy()
    border = min(8, min(shape_out) // 5)  # the borders differ: Pillow clamps where MATLAB mirrors
    diff = np.abs(ours - pillow_bicubic(image, shape_out))[border:-border, border:-border]
    assert diff.max() < 1e-3


def test_output_size_is_matlab_ceil():
    assert scaled_shape((5, 7), (2.0, 2.0)) == (10, 14)
    assert scaled_shape((5, 7), (0.5, 0.5)) == (3, 4)
    assert scaled_shape((10, 10), (1.5, 1.25)) == (15, 13)
    assert resize(torch.zeros(1, 1, 5, 7), scaled_shape((5, 7), (0.5, 0.5))).shape[-2:] == (3, 4)


def test_resize_keeps_constants():
    constant = torch.full((1, 1, 9, 11), 3.5, dtype=torch.float64)
    assert torch.allclose(resize(constant, (23, 5)), torch.full((1, 1, 23, 5), 3.5, dtype=torch.float64))


@pytest.mark.parametrize("factor", [2, 0.5])
def test_resize_mirrors_the_borders(factor):
    """Near the border, resizing must see the image mirrored with its edge pixel repeated (MATLAB's rule): the
    same as resizing a copy padded that way and cropping the padding's share back off."""
    image = np.random.default_rng(0).random((16, 20))
    pad = 8
    padded = np.pad(image, pad, mode="symmetric")  # symmetric: edge pixel repeated; "reflect" would skip it
    out = resize(torch.as_tensor(image)[None, None], scaled_shape(image.shape, (factor, factor)))[0, 0].numpy()
    crop = int(pad * factor)
    reference = resize(torch.as_tensor(padded)[None, None], scaled_shape(padded.shape, (factor, factor)))[0, 0]
    assert np.allclose(out, reference.numpy()[crop:-crop, crop:-crop], atol=1e-12)


def edge_image(size: int = 64, column: int = 31) -> torch.Tensor:
    image = torch.zeros(1, 1, size, size, dtype=torch.float64)
    image[..., column + 1 :] = 1.0
    return image


def edge_position(profile: np.ndarray) -> float:
    """Sub-pixel position where a rising edge crosses its mid value."""
    middle = (profile.min() + profile.max()) / 2
    i = int(np.argmax(profile > middle))
    return i - 1 + (middle - profile[i - 1]) / (profile[i] - profile[i - 1])


@pytest.mark.parametrize("kernel_size", [5, 6, 7])
@pytest.mark.parametrize("factor", [2, 3])
def test_centred_symmetric_kernel_introduces_no_shift(kernel_size, factor):
    y, x = np.mgrid[:kernel_size, :kernel_size] - (kernel_size - 1) / 2
    kernel = np.exp(-(x**2 + y**2) / 2.0)
    image = edge_image(size=64 * factor, column=16 * factor - 1)
    with_kernel = downscale_with_kernel(image, torch.as_tensor(centre_kernel(kernel, (factor, factor))),
                                        (factor, factor))
    bicubic = resize(image, scaled_shape(tuple(image.shape[-2:]), (1 / factor, 1 / factor)))
    row = image.shape[-2] // factor // 2
    assert edge_position(with_kernel[0, 0, row].numpy()) == pytest.approx(edge_position(bicubic[0, 0, row].numpy()),
                                                                        abs=0.02)


def test_point_lands_at_the_same_place_on_both_paths():
    image = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    image[..., 14:16, 14:16] = 1.0  # a 2x2 block centred at HR coordinate 14.5 = LR pixel 7 (2*7 + 0.5)
    y, x = np.mgrid[:5, :5] - 2.0
    kernel = centre_kernel(np.exp(-(x**2 + y**2) / 1.5), (2, 2))
    low = downscale_with_kernel(image, torch.as_tensor(kernel), (2, 2))[0, 0].numpy()
    assert np.unravel_index(np.argmax(low), low.shape) == (7, 7)
    assert low[6, 7] == pytest.approx(low[8, 7]) and low[7, 6] == pytest.approx(low[7, 8])


@pytest.mark.parametrize("pixel_size", [1e-20, 1e9, (0.1, 1e-12)])
def test_a_pixel_size_in_no_microscope_unit_is_named(pixel_size):
    from napari_zssr.core.resize import pixel_pair

    with pytest.raises(ValueError, match=r"pixel_size must be in micrometres, from 1e-07 to 100000.*another unit"):
        pixel_pair(pixel_size)


@pytest.mark.parametrize("shape, factor, kernel_shape", [((33, 40), (2, 3), (7, 9)), ((64, 64), (8, 8), (41, 41)),
                                                         ((17, 12), (3, 1), (4, 6))])
def test_downscaling_with_a_kernel_is_the_full_correlation_sampled(shape, factor, kernel_shape):
    """Only the kept pixels are computed (a strided convolution: at x8 a full one costs 64 times the work), and they
    are those of the whole image's correlation, sampled every ``factor`` pixels from 0, its edges mirrored."""
    from scipy import ndimage

    rng = np.random.default_rng(1)
    image, kernel = rng.random(shape), rng.random(kernel_shape)
    kh, kw = kernel_shape
    padded = np.pad(image, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)), mode="symmetric")
    full = ndimage.correlate(padded, kernel, mode="constant")  # its kernel's centre is at K//2, as here
    valid = full[kh // 2: kh // 2 + shape[0], kw // 2: kw // 2 + shape[1]]
    ours = downscale_with_kernel(torch.as_tensor(image)[None, None], torch.as_tensor(kernel), factor)[0, 0].numpy()
    np.testing.assert_allclose(ours, valid[:: factor[0], :: factor[1]], rtol=1e-10, atol=1e-12)
