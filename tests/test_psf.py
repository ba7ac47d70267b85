import os
import re

import numpy as np
import pytest
import scipy.io
import tifffile

from napari_zssr.api import kernel_from_file
from napari_zssr.core.bead_check import bead_problem
from napari_zssr.core.kernels import centre_of_mass
from napari_zssr.core.psf import in_focus, kernel_from_psf
from napari_zssr.io.psf import read_psf


def gaussian_psf(size: int = 31, sigma: float = 1.5, offset: float = 100.0, peak: float = 1000.0,
                 shift: float = 0.0) -> np.ndarray:
    """A bead centred on the image's centre pixel, or ``shift`` pixels down and right of it."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2 - shift
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


@pytest.mark.parametrize("snr, least", [(10, 0.85), (50, 0.97)])
def test_a_noisy_bead_keeps_its_faint_wings(snr, least):
    """The kernel's support was the pixels above 3 noise sigmas: the wings below were cut, and a noisy bead's kernel
    came out narrower than its blur (sigma 2.27 HR pixels for 3.0 at a peak 10 times the noise, 2.80 at 50 times);
    the pixels beside that support are kept, without letting the background's noise widen it."""
    rng = np.random.default_rng(0)
    sigmas = [np.mean(sigma_of(kernel_from_psf(gaussian_psf(peak=5.0 * snr) + rng.normal(0, 5, (31, 31)), scale=2)))
              for _ in range(20)]
    assert least * 3.0 < np.mean(sigmas) < 1.03 * 3.0


@pytest.mark.parametrize("psf, message", [
    (np.random.default_rng(0).normal(100, 5, (31, 31)), "no clear peak"),
    (np.full((31, 31), 7.0), "no clear peak"),
    (np.ones((2, 31, 31, 3)), "2D"),
    (np.ones((2, 2)), "too small"),
])
def test_bad_psf_is_refused(psf, message):
    with pytest.raises(ValueError, match=message):
        kernel_from_psf(psf, scale=2)


def test_a_psf_of_3_x_3_pixels_is_told_it_holds_no_background_and_taken_when_computed():
    """Its border, read as the background, is 8 of its 9 pixels: it was "no clear peak above its background"."""
    y, x = np.mgrid[-1:2, -1:2]
    psf = np.exp(-(x**2 + y**2) / (2 * 0.7**2))
    with pytest.raises(ValueError, match=r"3 x 3 pixels, too small for a bead image.*computed=True"):
        kernel_from_psf(psf, scale=2)
    assert kernel_from_psf(psf, scale=2, computed=True).sum() == pytest.approx(1.0)


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
    # a cell array, text or records gave numpy's own words ("setting an array element with a sequence")
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = np.ones((3, 3)), np.ones((5, 5))
    scipy.io.savemat(tmp_path / "cells.mat", {"Kernel": cells})
    scipy.io.savemat(tmp_path / "text.mat", {"kernel": "gaussian"})
    np.save(tmp_path / "records.npy", np.zeros((3, 3), dtype=[("a", float), ("b", int)]))
    for name in ("cells.mat", "text.mat", "records.npy"):
        with pytest.raises(ValueError, match=rf"{re.escape(name)}.* holds .* data .*not an array of numbers"):
            read_psf(tmp_path / name)
    np.savez(tmp_path / "archive.npz", psf=np.ones((5, 5)))  # np.load opened it as an archive: an AttributeError
    os.replace(tmp_path / "archive.npz", tmp_path / "archive.npy")
    with pytest.raises(ValueError, match=r"archive.npy is an .npz archive of arrays \['psf'\].*np.save"):
        read_psf(tmp_path / "archive.npy")
    scipy.io.savemat(tmp_path / "both.mat", {"Kernel": np.ones((3, 3)), "kernel": np.ones((5, 5))})
    with pytest.raises(ValueError, match="both.mat holds both a 'Kernel' and a 'kernel' variable"):
        read_psf(tmp_path / "both.mat")


def noisy_bead(seed: int = 0) -> np.ndarray:
    return gaussian_psf() + np.random.default_rng(seed).normal(0, 5, (31, 31))


def test_hot_pixel_brighter_than_the_bead_is_ignored():
    psf = noisy_bead()
    peak = psf.max()
    psf[3, 25] = 20 * peak  # a hot pixel far from the bead, 20x its peak
    assert sigma_of(kernel_from_psf(psf, scale=2)) == pytest.approx((3.0, 3.0), abs=0.1)
    for hot in (80 * peak, 0.7 * peak):  # nor does the file's check take it for a second spot, or for the bead
        psf[3, 25] = hot
        assert bead_problem(psf) is None


def test_hot_pixel_does_not_pick_the_z_plane():
    defocused = gaussian_psf(sigma=3.0, peak=300)
    stack = np.stack([defocused, gaussian_psf(), defocused]) + np.random.default_rng(0).normal(0, 5, (3, 31, 31))
    stack[0, 4, 4] = 50_000
    assert sigma_of(kernel_from_psf(stack, scale=2, measured=True)) == pytest.approx((3.0, 3.0), abs=0.1)
    assert bead_problem(stack) is None  # the in-focus plane is checked, as it is taken


def test_a_lone_hot_pixel_in_noise_is_not_a_psf():
    noise = np.random.default_rng(0).normal(100, 5, (31, 31))
    noise[15, 15] = 5000
    with pytest.raises(ValueError, match="hot pixel"):
        kernel_from_psf(noise, scale=2)


DEFECTS = {
    "hot-pixel pair": {(3, 24): 1.0, (3, 25): 1.0},
    "unequal pair": {(3, 24): 1.0, (4, 24): 0.4},
    "cosmic-ray track": {(24, 4): 1.0, (24, 5): 0.6, (25, 6): 0.3},
    "2 x 2 cosmic ray": {(4, 4): 1.0, (4, 5): 0.8, (5, 4): 0.6, (5, 5): 0.5},
}


def with_defect(image: np.ndarray, defect: dict, light: float, plane: int | None = None) -> np.ndarray:
    """``image`` with ``defect`` (pixel: share) adding ``light`` counts, on ``plane`` of a z-stack."""
    image = image.copy()
    target = image if plane is None else image[plane]
    for pixel, share in defect.items():
        target[pixel] += light * share / sum(defect.values())
    return image


@pytest.mark.parametrize("defect", DEFECTS.values(), ids=DEFECTS.keys())
@pytest.mark.parametrize("sigma", [0.55, 1.5])  # FWHM 1.3 and 3.5 pixels
def test_a_camera_defect_of_a_few_pixels_brighter_than_the_bead_is_not_taken_for_it(defect, sigma):
    """Only isolated pixels were left out: a hot-pixel pair or a cosmic ray of 2-4 pixels holding more light than the
    bead was taken for it, a near-delta kernel (sigma 0.7-1.3 HR pixels for 3.0)."""
    bead = gaussian_psf(sigma=sigma, shift=0.3) + np.random.default_rng(0).normal(0, 5, (31, 31))
    alone = kernel_from_psf(bead, scale=2)
    np.testing.assert_allclose(kernel_from_psf(with_defect(bead, defect, 2 * (bead - 100).sum()), scale=2), alone)


def test_a_cosmic_ray_on_an_out_of_focus_plane_does_not_pick_it():
    """The in-focus plane was the one with the highest pixel: a cosmic ray brighter than the bead's peak made a
    defocused plane it, and the kernel that plane's blur (sigma 5.6 HR pixels for 3.0)."""
    defocused = gaussian_psf(sigma=3.0, peak=300)
    stack = np.stack([defocused, gaussian_psf(), defocused]) + np.random.default_rng(0).normal(0, 5, (3, 31, 31))
    for defect in DEFECTS.values():
        hit = with_defect(stack, defect, 6000, plane=0)
        assert in_focus(hit)[0] == 1
        assert sigma_of(kernel_from_psf(hit, scale=2)) == pytest.approx((3.0, 3.0), abs=0.1)


@pytest.mark.parametrize("defect", DEFECTS.values(), ids=DEFECTS.keys())
def test_a_file_of_a_camera_defect_and_no_bead_is_said_to_look_like_one(defect):
    """The defect is still taken as it is (a bead as sharp as one looks alike), but no longer without a word: a
    dark frame with a hot-pixel pair gave a near-delta kernel unsaid."""
    dark = with_defect(np.random.default_rng(0).normal(100, 5, (31, 31)), defect, 3000)
    assert "as a hot-pixel pair or a cosmic ray does" in bead_problem(dark)
    assert in_focus(dark).defect_taken and not in_focus(noisy_bead()).defect_taken
    assert bead_problem(with_defect(noisy_bead(), defect, 3000)) is None  # beside a bead: left out, as before


def test_a_bead_as_sharp_as_a_defect_is_told_from_one_by_its_neighbouring_planes():
    """A bead of FWHM 1 pixel centred between 4 pixels is a 2 x 2 block with nothing beside it, as a cosmic ray is;
    in a z-stack it spans several planes, the cosmic ray one."""
    stack = np.stack([gaussian_psf(sigma=s, peak=300 / s**2, shift=0.5) for s in (1.2, 0.8, 0.43, 0.8, 1.2)])
    stack += np.random.default_rng(0).normal(0, 2, stack.shape)
    alone = kernel_from_psf(stack, scale=2)
    hit = with_defect(stack, DEFECTS["2 x 2 cosmic ray"], 2 * (stack[2] - 100).sum(), plane=2)
    np.testing.assert_allclose(kernel_from_psf(hit, scale=2), alone)
    assert kernel_from_psf(stack[2], scale=2).shape == alone.shape  # alone in 2D, it is still taken


@pytest.mark.parametrize("shape", [(31, 31, 3), (31, 31, 4)])
def test_colour_array_is_refused(shape):
    with pytest.raises(ValueError, match="colour"):
        kernel_from_psf(np.repeat(gaussian_psf()[..., None], shape[-1], axis=-1), scale=2)


def test_colour_tiff_is_refused(tmp_path):
    rgb = np.repeat(gaussian_psf().astype(np.uint16)[..., None], 3, axis=-1)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate")
    for name in ("rgb.tif", "planar.tif"):
        with pytest.raises(ValueError, match="colour"):
            read_psf(tmp_path / name)


def test_a_float_z_stack_of_three_planes_saved_plainly_is_a_z_stack(tmp_path):
    """tifffile writes (3, Y, X) as planar RGB unless told otherwise; floats are no photograph."""
    stack = np.stack([0.5 * gaussian_psf(), gaussian_psf(), 0.5 * gaussian_psf()]).astype(np.float32)
    tifffile.imwrite(tmp_path / "z3.tif", stack)
    data, _ = read_psf(tmp_path / "z3.tif")
    assert np.array_equal(data, stack)
    assert kernel_from_psf(data, scale=2).shape == kernel_from_psf(stack[1], scale=2).shape
    tifffile.imwrite(tmp_path / "z3u.tif", stack.astype(np.uint16))
    with pytest.raises(ValueError, match="colour.*photometric='minisblack'"):
        read_psf(tmp_path / "z3u.tif")


def bead_channels(count: int) -> np.ndarray:
    """A bead imaged in ``count`` colours, each in focus, the later ones dimmer."""
    return np.stack([gaussian_psf(peak=1000.0 / (1 + c)) for c in range(count)]).astype(np.float32)


@pytest.mark.parametrize(("shape", "metadata"), [
    ((2,), {"axes": "CYX"}),  # tifffile's channels, as it also writes a 3D array without axes
    ((5,), {"axes": "CYX", "mode": "composite"}),  # Fiji's channels, however many
    ((5,), {"axes": "CYX", "LUTs": [np.zeros((3, 256), np.uint8)] * 5}),
    ((5,), {"axes": "CYX", "Ranges": (0.0, 100.0) * 5}),  # Fiji's grey channels: a display range each
    ((3, 2), {"axes": "ZCYX"}),  # a z-stack per channel
])
def test_a_psf_file_of_several_channels_is_refused(tmp_path, shape, metadata):
    """The brightest channel was taken as a z-stack's in-focus plane: a kernel, silently, of the wrong colour."""
    data = bead_channels(int(np.prod(shape))).reshape(*shape, 31, 31)
    tifffile.imwrite(tmp_path / "beads.tif", data, imagej=True, metadata=metadata)
    with pytest.raises(ValueError, match=rf"beads.tif holds {shape[-1]} channels.*save the channel wanted"):
        read_psf(tmp_path / "beads.tif")
    with pytest.raises(ValueError, match="channels"):
        kernel_from_file(tmp_path / "beads.tif")


def test_a_few_unmarked_planes_are_said_to_be_channels_or_a_z_stack_and_the_advice_works(tmp_path):
    """tifffile's 2-plane CYX file may be two channels or a z-stack: it was told "a PSF is the bead image of one
    channel", though files of one PSF per channel are read. It is told how to mark either, and marked as the advice
    says, its channels are read."""
    data = bead_channels(2).reshape(2, 31, 31)
    tifffile.imwrite(tmp_path / "beads.tif", data, imagej=True, metadata={"axes": "CYX"})
    with pytest.raises(ValueError, match=r"nothing in it says whether they are channels or the planes of a z-stack.*"
                                         r"metadata=\{'axes': 'CYX', 'mode': 'composite'\}"):
        read_psf(tmp_path / "beads.tif")
    tifffile.imwrite(tmp_path / "beads.tif", data, imagej=True, metadata={"axes": "CYX", "mode": "composite"})
    assert read_psf(tmp_path / "beads.tif", channel=1)[0].shape == (31, 31)


def test_a_few_unmarked_imagej_channels_may_be_a_z_stack_and_the_error_says_how_to_save_one(tmp_path):
    tifffile.imwrite(tmp_path / "beads.tif", bead_channels(3), imagej=True)
    with pytest.raises(ValueError, match=r"If they are a z-stack.*metadata=\{'axes': 'ZYX'\}"):
        read_psf(tmp_path / "beads.tif")


@pytest.mark.parametrize(("planes", "metadata"), [
    (9, {}),  # tifffile's default: a 3D ImageJ array is stored as channels
    (3, {"spacing": 0.2, "unit": "um"}),  # a z step: the writer meant z planes
    (2, {"axes": "ZYX"}),
    (7, {"LUTs": [np.zeros((3, 256), np.uint8)]}),  # one LUT over the stack: a look, not a LUT per channel
])
def test_imagej_z_stack_psfs_still_load_however_saved(tmp_path, planes, metadata):
    stack = np.stack([gaussian_psf(peak=1000.0 / (1 + abs(z - planes // 2))) for z in range(planes)])
    tifffile.imwrite(tmp_path / "z.tif", stack.astype(np.float32), imagej=True, metadata=metadata)
    data, _ = read_psf(tmp_path / "z.tif")
    assert data.shape == stack.shape
    assert kernel_from_file(tmp_path / "z.tif").shape == kernel_from_psf(stack[planes // 2], scale=2).shape


def test_an_ome_z_stack_psf_saved_by_tifffile_without_axes_still_loads(tmp_path):
    """tifffile writes a 3D OME array without axes as channels (CYX), as it does an ImageJ one: such a z-stack,
    which loaded before channels were refused, was refused as "9 channels"."""
    stack = np.stack([gaussian_psf(peak=1000.0 / (1 + abs(z - 4))) for z in range(9)]).astype(np.float32)
    tifffile.imwrite(tmp_path / "z.ome.tif", stack)
    data, _ = read_psf(tmp_path / "z.ome.tif")
    assert data.shape == stack.shape
    tifffile.imwrite(tmp_path / "z3.ome.tif", stack[3:6])  # a few planes: a z-stack or a bead's colours
    with pytest.raises(ValueError, match=r"ImageJ or OME array as channels unless told.*If they are a z-stack"):
        read_psf(tmp_path / "z3.ome.tif")
    named = {"axes": "CYX", "Channel": {"Name": list("abcdefghi")}}
    tifffile.imwrite(tmp_path / "named.ome.tif", stack, metadata=named)
    with pytest.raises(ValueError, match="named.ome.tif holds 9 channels"):  # named: channels, however many
        read_psf(tmp_path / "named.ome.tif")


def test_a_psf_file_of_several_series_says_that_only_the_first_is_read(tmp_path):
    """Some exports store one series per channel or per bead: the first was taken without a word."""
    from napari_zssr import KernelNoteWarning

    with tifffile.TiffWriter(tmp_path / "beads.ome.tif", ome=True) as writer:
        writer.write(gaussian_psf().astype(np.uint16), metadata={"axes": "YX"})
        writer.write(gaussian_psf(sigma=2.5).astype(np.uint16), metadata={"axes": "YX"})
    with pytest.warns(KernelNoteWarning, match="beads.ome.tif holds 2 image series.*only the first is read"):
        kernel_from_file(tmp_path / "beads.ome.tif")


def test_a_psf_file_of_one_series_per_channel_reads_each_series_as_its_channel(series_psf, tmp_path):
    """Its channels were read through the first series alone: channel 1 got channel 0's PSF, and the file counted one
    channel. Series unlike each other (another shape) are no PSF per channel: the first is read, as before."""
    from napari_zssr.io.psf import open_psf, open_psf_channels, psf_channels, psf_series_per_channel

    beads, singles = series_psf
    assert psf_channels(beads) == 2 and psf_series_per_channel(beads)
    for channel, single in enumerate(singles):
        psf = open_psf(beads, channel)
        np.testing.assert_array_equal(psf.data, tifffile.imread(single))
        assert (psf.channel, psf.channels, psf.by_series, psf.pixel_size) == (channel, 2, True, pytest.approx(0.1))
    first = open_psf(beads)  # an image of no channel, or of one: the first, with a note saying how the file is read
    np.testing.assert_array_equal(first.data, tifffile.imread(singles[0]))
    assert "an image of 2 channels takes series k for its channel k" in first.note
    assert [psf.channel for psf in open_psf_channels(beads)] == [0, 1]
    with pytest.raises(ValueError, match="colours.ome.tif holds 2 channels .*no channel 2"):
        open_psf(beads, 2)
    with tifffile.TiffWriter(tmp_path / "unlike.ome.tif", ome=True) as writer:
        writer.write(tifffile.imread(singles[0]), metadata={"axes": "ZYX"})
        writer.write(tifffile.imread(singles[1])[1], metadata={"axes": "YX"})
    assert psf_channels(tmp_path / "unlike.ome.tif") == 1 and not psf_series_per_channel(tmp_path / "unlike.ome.tif")
    assert "only the first is read" in open_psf(tmp_path / "unlike.ome.tif").note


def test_unequal_psf_pixel_sides_are_kept(tmp_path):
    psf = gaussian_psf(41, sigma=3.0).astype(np.float32)
    tifffile.imwrite(tmp_path / "aniso.tif", psf, imagej=True, resolution=(1 / 0.08, 1 / 0.04),
                     metadata={"unit": "um"})
    _, pixel_size = read_psf(tmp_path / "aniso.tif")
    assert pixel_size == pytest.approx((0.04, 0.08))  # (y, x): tifffile's resolution is (x, y)
    kernel = kernel_from_file(tmp_path / "aniso.tif", pixel_size=0.065, scale=2)
    sy, sx = sigma_of(kernel)
    assert sx == pytest.approx(2 * sy, rel=0.15)  # round in pixels, so twice as wide in um along x (pixels 2x wider)


@pytest.mark.parametrize("psf_pixel_size, pixel_size", [(1e-4, 0.1), (1.0, 0.1)])
def test_pixel_size_ratio_out_of_range_is_refused(psf_pixel_size, pixel_size):
    with pytest.raises(ValueError, match=f"PSF pixel size .*{psf_pixel_size}.* image pixel size .*{pixel_size}"):
        kernel_from_psf(gaussian_psf(), psf_pixel_size=psf_pixel_size, pixel_size=pixel_size, scale=2)


@pytest.mark.parametrize("given", ["psf_pixel_size", "pixel_size"])
def test_one_pixel_size_without_the_other_is_refused(given):
    """It was ignored unsaid: the PSF taken as sampled at the image's pixels, a kernel twice too wide here."""
    with pytest.raises(ValueError, match=f"^{given} is given without .*give both, in the same unit, or neither"):
        kernel_from_psf(gaussian_psf(), **{given: 0.05}, scale=2)


def test_finely_sampled_computed_psf_is_accepted():
    # a theoretical PSF sampled 32x finer than the camera pixels: sigma 32 PSF pixels = 1 image pixel = 2 HR pixels
    psf = gaussian_psf(size=257, sigma=32.0, offset=0.0)
    kernel = kernel_from_psf(psf, psf_pixel_size=0.1 / 32, pixel_size=0.1, scale=2, measured=False)
    assert sigma_of(kernel) == pytest.approx(2 * (np.sqrt(2.0**2 + 0.25),), abs=0.05)


def test_kernel_wider_than_the_limit_is_refused():
    with pytest.raises(ValueError, match=r"HR pixels wide.*0\.8.*0\.1"):
        kernel_from_psf(gaussian_psf(), psf_pixel_size=0.8, pixel_size=0.1, scale=4)
    with pytest.raises(ValueError, match=r"HR pixels wide .* with the PSF taken as sampled at the image's pixels"):
        kernel_from_psf(gaussian_psf(size=161, sigma=20.0), scale=4)  # no pixel size: none is named


def test_unreadable_psf_files_give_clear_errors(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npy"):
        read_psf(tmp_path / "empty.npy")
    for content in (b"", b"\x00" * 200, b"garbage", b"MATLAB 5.0 MAT-file garbage" * 3):
        (tmp_path / "corrupt.mat").write_bytes(content)
        with pytest.raises(ValueError, match="corrupt.mat"):
            read_psf(tmp_path / "corrupt.mat")


def test_measured_must_be_a_bool_or_none():
    """"no" is a true value in Python: taken as it is, the camera box would silently be left out."""
    psf = np.outer(*2 * [np.exp(-np.arange(-4, 5) ** 2 / 4.0)])
    with pytest.raises(TypeError, match="measured must be True"):
        kernel_from_psf(psf, psf_pixel_size=0.05, pixel_size=0.1, scale=2, measured="no")


def test_computed_must_be_a_bool():
    """As measured: "no" would take a bead image as a model's PSF, its background and hot pixels kept."""
    psf = np.outer(*2 * [np.exp(-np.arange(-4, 5) ** 2 / 4.0)])
    with pytest.raises(TypeError, match="computed must be True"):
        kernel_from_psf(psf, psf_pixel_size=0.05, pixel_size=0.1, scale=2, computed="no")
    assert kernel_from_psf(psf, psf_pixel_size=0.05, pixel_size=0.1, scale=2, computed=np.True_).sum() == \
        pytest.approx(1)


def test_the_library_warns_of_a_psf_file_that_is_no_bead_as_the_widget_and_the_cli_do(tmp_path):
    """A cell image chosen by mistake becomes a kernel wider than the image: kernel_from_file and zssr say so."""
    import warnings

    from napari_zssr import KernelChoice, KernelNoteWarning, ZSSRConfig, zssr
    from napari_zssr.sample import microscopy_sample

    cells = microscopy_sample().image
    tifffile.imwrite(tmp_path / "cells.tif", cells[:40, :40])
    with pytest.warns(KernelNoteWarning, match="does not look like one bead: it has .*; its brightest blob is used"):
        kernel_from_file(tmp_path / "cells.tif", pixel_size=0.13, scale=2)
    with pytest.warns(KernelNoteWarning, match="does not look like one bead"):
        result = zssr(cells[40:, 40:], 2, kernel=KernelChoice("psf", psf_path=str(tmp_path / "cells.tif")),
                      config=ZSSRConfig.preset("fast", max_iterations=1))
    assert "does not look like one bead" in result.kernel["psf_file_note"] and "notes" not in result.metadata()
    tifffile.imwrite(tmp_path / "bead.tif", gaussian_psf().astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel_from_file(tmp_path / "bead.tif", psf_pixel_size=0.1, pixel_size=0.2, scale=2)



@pytest.mark.parametrize(("centre", "edge"), [((15.0, 1.0), "left"), ((28.5, 15.0), "bottom"), ((2.0, 2.0), "top")])
def test_a_bead_cut_by_the_edge_of_the_psf_image_is_named(tmp_path, centre, edge):
    """A bead cropped too close to it lost part of its light: the kernel came out narrower (sigma 2.1 for 3.0 HR
    pixels) and off-centre, without a word."""
    from napari_zssr import KernelNoteWarning

    y, x = np.mgrid[:31, :31]
    psf = 1000 * np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * 1.5**2)) + 100
    psf += np.random.default_rng(0).normal(0, 5, psf.shape)
    assert f"cut by the edge of the image ({edge}" in bead_problem(psf)
    assert "cut by the edge" in bead_problem(np.stack([0.3 * psf, psf, 0.3 * psf]))  # the in-focus plane of a z-stack
    tifffile.imwrite(tmp_path / "cut.tif", psf.astype(np.float32))
    with pytest.warns(KernelNoteWarning, match=rf"cut by the edge of the image \({edge}.*crop it again"):
        kernel_from_file(tmp_path / "cut.tif", scale=2)


def test_a_bead_near_the_edge_but_whole_is_a_bead():
    y, x = np.mgrid[:31, :31]
    psf = 1000 * np.exp(-((y - 15) ** 2 + (x - 5) ** 2) / (2 * 1.5**2)) + 100  # 5 px (3.3 sigma) from the edge
    assert bead_problem(psf) is None
    assert sigma_of(kernel_from_psf(psf, scale=2)) == pytest.approx((3.0, 3.0), abs=0.03)


def test_a_wide_bead_of_few_photons_is_one_spot_and_two_beads_are_two():
    """Noise split the half-maximum region of a wide bead of few photons (FWHM 8 pixels, a peak of 30) into "separate
    bright spots" (39 of 40 such beads); a second bead in the crop is still named, however wide and dim."""
    rng = np.random.default_rng(0)
    for sigma, peak in ((3.4, 30.0), (0.5, 1000.0)):
        bead = gaussian_psf(size=61, sigma=sigma, offset=0.0, peak=peak)
        for _ in range(10):
            assert bead_problem(100 + rng.poisson(bead) + rng.normal(0, 2, bead.shape)) is None
        two = np.roll(bead, -int(6 * sigma), axis=1) + 0.7 * np.roll(bead, int(6 * sigma), axis=1)  # 5 FWHM apart
        assert bead_problem(100 + rng.poisson(two) + rng.normal(0, 2, bead.shape)) == \
            "it has 2 separate bright spots, a PSF has one"


def test_a_dimmer_neighbour_on_the_edge_is_not_the_bead_cut():
    """The edge check reads the blob the kernel is made from: a second, dimmer bead or debris on an edge is not the
    bead cut (it said so, while the kernel was right)."""
    y, x = np.mgrid[:31, :31]
    bead = 1000 * np.exp(-((y - 15) ** 2 + (x - 15) ** 2) / (2 * 1.5**2))
    neighbour = 300 * np.exp(-((y - 15) ** 2 + (x - 30) ** 2) / (2 * 1.5**2))  # on the right edge, 30 % as bright
    assert bead_problem(bead + neighbour + 100) is None


def test_a_matlab_z_stack_has_its_planes_last(tmp_path):
    """MATLAB keeps a stack as (Y, X, Z): read as (Z, Y, X), a row of the bead was taken for its in-focus plane and
    the kernel came out elongated (sigma 4.3 x 5.1 HR pixels for 3.0)."""
    stack = np.stack([gaussian_psf(sigma=np.hypot(1.5, 0.7 * (z - 5)), peak=1000 / (1 + 0.2 * (z - 5) ** 2))
                      for z in range(11)])
    scipy.io.savemat(tmp_path / "psf.mat", {"Kernel": np.moveaxis(stack, 0, -1)})
    data, _ = read_psf(tmp_path / "psf.mat")
    assert np.array_equal(data, stack)
    assert sigma_of(kernel_from_psf(data, scale=2)) == pytest.approx((3.0, 3.0), abs=0.03)
    scipy.io.savemat(tmp_path / "numpy.mat", {"Kernel": stack})  # saved from Python: (Z, Y, X), square planes
    assert np.array_equal(read_psf(tmp_path / "numpy.mat")[0], stack)


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_a_bare_z_stack_with_its_planes_last_is_read_planes_first_with_a_note(tmp_path, suffix):
    """A PSF array made in MATLAB's order or stacked on its last axis (Y, X, Z), saved by numpy or by a bare
    ``tifffile.imwrite``, was read as (Z, Y, X): its planes were rows of the bead, and the kernel came out wrong with
    only the note that the bead looked cut by the image's edge."""
    from napari_zssr import KernelNoteWarning

    stack = np.stack([gaussian_psf(sigma=np.hypot(1.5, 0.7 * (z - 5)), peak=1000 / (1 + 0.2 * (z - 5) ** 2))
                      for z in range(11)]).astype(np.float32)
    path = tmp_path / f"psf{suffix}"
    saved = np.moveaxis(stack, 0, -1)
    np.save(path, saved) if suffix == ".npy" else tifffile.imwrite(path, saved)
    assert np.array_equal(read_psf(path)[0], stack)
    with pytest.warns(KernelNoteWarning, match=r"31 x 31 x 11 array: read as a z-stack of 11 planes of 31 x 31 "
                                                r"pixels kept on its last axis \(Y, X, Z\)") as notes:
        kernel = kernel_from_file(path, scale=2)
    assert sigma_of(kernel) == pytest.approx((3.0, 3.0), abs=0.03)
    assert not any("cut by the edge" in str(note.message) for note in notes)
    planes_first = tmp_path / f"first{suffix}"  # square planes first: read as it is, without a note
    np.save(planes_first, stack) if suffix == ".npy" else tifffile.imwrite(planes_first, stack)
    assert np.array_equal(read_psf(planes_first)[0], stack)
    named = tmp_path / "named.tif"  # axes the file names are followed
    tifffile.imwrite(named, saved, imagej=True, metadata={"axes": "ZYX"})
    assert read_psf(named)[0].shape == (31, 31, 11)


def test_a_psf_array_with_its_planes_last_is_said_to_be_read_as_planes_first():
    """kernel_from_psf of a (Y, X, Z) array (np.stack(..., axis=-1), a MATLAB array) made its kernel from a slice
    through the bead, without a word; a file of that layout is read planes first with a note."""
    import warnings

    stack = np.stack([gaussian_psf(sigma=np.hypot(1.5, 0.7 * (z - 5)), peak=1000 / (1 + 0.2 * (z - 5) ** 2))
                      for z in range(11)]).astype(np.float32)
    with pytest.warns(UserWarning, match=r"read as 31 planes of 31 x 11 pixels \(Z, Y, X\); if its planes are on its "
                                         r"last axis .* np.moveaxis\(psf, -1, 0\)"):
        kernel_from_psf(np.moveaxis(stack, 0, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sigma_of(kernel_from_psf(stack)) == pytest.approx((3.0, 3.0), abs=0.03)  # on the HR grid at x2


def test_a_bare_z_stack_of_several_series_keeps_both_notes(tmp_path):
    """The note of planes taken from the last axis was dropped where the file also held several series."""
    from napari_zssr.io.psf import open_psf

    stack = np.moveaxis(np.stack([gaussian_psf(sigma=1.5 + 0.2 * z) for z in range(5)]), 0, -1).astype(np.float32)
    with tifffile.TiffWriter(tmp_path / "two.tif") as writer:
        writer.write(stack)
        writer.write(stack)
    note = open_psf(tmp_path / "two.tif").note
    assert "holds 2 image series" in note and "kept on its last axis (Y, X, Z)" in note


def test_a_saturated_bead_is_named(tmp_path):
    """A bead recorded with its peak clipped at the camera's top value gave a kernel too wide (sigma 3.2 HR pixels for
    3.0, the FWHM more), without a word."""
    from napari_zssr import KernelNoteWarning

    bead = gaussian_psf(peak=3000.0) + np.random.default_rng(0).normal(0, 5, (31, 31))
    saturated = np.minimum(bead, 1600).astype(np.uint16)
    assert "saturated" in bead_problem(saturated)
    tifffile.imwrite(tmp_path / "saturated.tif", saturated)
    with pytest.warns(KernelNoteWarning, match="peak is saturated.*shorter exposure"):
        kernel_from_file(tmp_path / "saturated.tif", scale=2)
    assert bead_problem(bead.astype(np.uint16)) is None
    y, x = np.mgrid[:32, :32] - 15.5  # centred between 4 pixels, which are equal: no saturation
    assert bead_problem((3000 * np.exp(-(x**2 + y**2) / 4.5) + 100).astype(np.uint16)) is None


def test_a_bead_whose_background_was_subtracted_with_its_negatives_clipped_is_named():
    """Fiji's Subtract on a 16-bit bead sets half its background to 0: the noise then read as none kept noise specks in
    the kernel (4x its size, 20-45 % of its mass far out; 6 dB lost), without a word. A computed PSF, its border all
    0 or all smooth, is no such bead."""
    bead = gaussian_psf(peak=2000.0, offset=200.0) + np.random.default_rng(0).normal(0, 10, (31, 31))
    subtracted = np.clip(bead - 200, 0, None).astype(np.uint16)
    assert "border is exactly 0 among noise" in bead_problem(subtracted)
    assert "border is exactly 0" in bead_problem(np.stack([subtracted] * 5))  # of a z-stack's brightest plane
    assert bead_problem(bead.astype(np.uint16)) is None
    padded = np.zeros((51, 51))
    padded[10:41, 10:41] = gaussian_psf(peak=1.0, offset=0.0)
    assert bead_problem(padded) is None


def test_a_psf_file_of_one_psf_per_channel_gives_each_channel_its_own_kernel(multicolour_psf):
    """A multicolour bead imaged in every channel at once (TetraSpeck) is one file with a channel axis: it was refused,
    whichever channel was wanted. Each channel's PSF is read as that channel saved on its own would be."""
    from napari_zssr.io.psf import open_psf, psf_channels

    multi, singles = multicolour_psf
    assert psf_channels(multi) == 2 and psf_channels(singles[0]) == 1
    for channel, single in enumerate(singles):
        psf = open_psf(multi, channel)
        alone = open_psf(single)
        assert np.array_equal(psf.data, alone.data) and psf.pixel_size == alone.pixel_size == pytest.approx(0.1)
        assert (psf.channel, psf.channels, psf.note) == (channel, 2, alone.note)
        np.testing.assert_array_equal(kernel_from_file(multi, psf_channel=channel, pixel_size=0.1),
                                      kernel_from_file(single, pixel_size=0.1))
    assert sigma_of(kernel_from_file(multi, psf_channel=1, pixel_size=0.1))[0] > \
        sigma_of(kernel_from_file(multi, psf_channel=0, pixel_size=0.1))[0] + 1  # each channel's own bead
    with pytest.raises(ValueError, match=r"beads.tif holds 2 channels.*psf_channel=k.*save the channel wanted"):
        read_psf(multi)  # which one is not said: refused, saying how to say it
    with pytest.raises(ValueError, match=r"beads.tif holds 2 channels \(0-1\): it has no channel 2"):
        read_psf(multi, channel=2)
    assert np.array_equal(read_psf(singles[0], channel=0)[0], read_psf(singles[0])[0])  # a file's one channel
    with pytest.raises(ValueError, match=r"bead_0.tif holds 1 channel .*: it has no channel 1"):
        kernel_from_file(singles[0], psf_channel=1)


def test_every_psf_of_a_file_is_read_at_once_as_each_channels_alone(multicolour_psf, monkeypatch):
    """The widget's note read the file once per channel: every channel's PSF comes from one reading."""
    import napari_zssr.io.psf as psf_module

    multi, singles = multicolour_psf
    each = [psf_module.open_psf(multi, channel) for channel in range(2)] + [psf_module.open_psf(singles[0])]
    reads = []
    read = psf_module.read_tiff
    monkeypatch.setattr(psf_module, "read_tiff", lambda *a, **k: reads.append(a) or read(*a, **k))
    together = psf_module.open_psf_channels(multi)
    assert len(reads) == 1 and len(together) == 2
    for psf, alone in zip([*together, *psf_module.open_psf_channels(singles[0])], each, strict=True):
        assert np.array_equal(psf.data, alone.data)
        assert (psf.pixel_size, psf.note, psf.channel, psf.channels) == (alone.pixel_size, alone.note, alone.channel,
                                                                         alone.channels)


def test_a_channel_chosen_does_not_settle_a_few_planes_that_may_be_a_z_stack(tmp_path):
    tifffile.imwrite(tmp_path / "beads.tif", bead_channels(3), imagej=True)
    with pytest.raises(ValueError, match=r"If they are a z-stack.*metadata=\{'axes': 'ZYX'\}"):
        read_psf(tmp_path / "beads.tif", channel=0)


def test_a_4d_psf_array_is_told_how_to_give_one_psf_per_channel(tmp_path):
    """A (C, Z, Y, X) array of a multicolour bead was "must be 2D or 3D", no word of channels; saved as the message
    says, each channel of an image uses its own."""
    y, x = np.mgrid[:21, :21] - 10
    beads = np.stack([np.stack([np.exp(-(x**2 + y**2) / (2 * width**2)) * peak for peak in (0.6, 1.0, 0.6)])
                      for width in (1.0, 1.7)])
    np.save(tmp_path / "beads.npy", beads)
    with pytest.raises(ValueError, match=r"one PSF per channel \(C, Z, Y, X\)\? Pass one channel's, psf\[c\], or "
                                         r"save them.*ome=True, metadata=\{'axes': 'CZYX'\}"):
        kernel_from_file(tmp_path / "beads.npy", scale=2)
    with pytest.raises(ValueError, match=r"one PSF per channel \(C, Z, Y, X\)\?"):  # not "holds 1 channel"
        kernel_from_file(tmp_path / "beads.npy", scale=2, psf_channel=1)
    tifffile.imwrite(tmp_path / "psf.ome.tif", beads, ome=True, metadata={"axes": "CZYX"})  # as the message says
    for channel in (0, 1):
        np.testing.assert_allclose(kernel_from_file(tmp_path / "psf.ome.tif", scale=2, psf_channel=channel),
                                   kernel_from_psf(beads[channel], scale=2), atol=1e-12)


def test_a_psf_file_and_a_psf_array_mixed_up_are_told_apart(tmp_path):
    """A file name given for a PSF array was refused as "a dtype <U16"; an array given for a file's path failed
    with "File name too long" and the array printed; a path as bytes was "not found" for a file that exists."""
    y, x = np.mgrid[-7:8, -7:8]
    psf = np.exp(-(x**2 + y**2) / 8.0)
    tifffile.imwrite(tmp_path / "psf.tif", psf.astype(np.float32))
    with pytest.raises(TypeError, match=r"the PSF is a file name \('psf.tif'\), not an array: .*kernel_from_file"):
        kernel_from_psf("psf.tif")
    with pytest.raises(TypeError, match=r"path must be a PSF file's path, got a ndarray; for a PSF array use "
                                        r"napari_zssr.kernel_from_psf"):
        kernel_from_file(psf)
    from_bytes = kernel_from_file(os.fsencode(tmp_path / "psf.tif"), psf_pixel_size=0.1, pixel_size=0.1)
    np.testing.assert_array_equal(from_bytes, kernel_from_file(tmp_path / "psf.tif", psf_pixel_size=0.1,
                                                               pixel_size=0.1))


def test_a_short_stack_on_its_last_axis_is_refused_as_colour_saying_how_to_keep_it(tmp_path):
    """Three or four planes on the last axis are what a colour image has: refused, the way out said."""
    y, x = np.mgrid[-8:9, -8:9]
    stack = np.stack([np.exp(-(x**2 + y**2) / (2 * s**2)) for s in (1.5, 1.0, 1.5, 2.0)], axis=-1)  # Y, X, Z
    np.save(tmp_path / "psf_yxz.npy", stack)
    with pytest.raises(ValueError, match=r"looks like an RGB\(A\) colour image .*z-stack of 4 planes kept on its last "
                                         r"axis: save it with its planes first, np.moveaxis\(psf, -1, 0\)"):
        kernel_from_file(tmp_path / "psf_yxz.npy")
    np.save(tmp_path / "psf_zyx.npy", np.moveaxis(stack, -1, 0))
    assert kernel_from_file(tmp_path / "psf_zyx.npy").ndim == 2


def test_a_psf_or_ome_reader_given_no_path_says_what_it_takes():
    """read_psf(array) and read_optics(array) ended in pathlib's "expected str, bytes or os.PathLike object"."""
    from napari_zssr.io.ome import read_optics

    with pytest.raises(TypeError, match=r"the PSF must be a file's path \(a str or pathlib.Path\), got an array of "
                                        r"shape \(3, 3\); for a PSF array use napari_zssr.kernel_from_psf"):
        read_psf(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="the OME-TIFF must be a file's path .*, got NoneType None"):
        read_optics(None)
