import hashlib

import numpy as np
import pytest

from napari_zssr.core.optics import Optics
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.kernel_choice import (
    KernelChoice,
    PreparedKernel,
    describe_kernel,
    kernel_source,
    psf_fwhm_pixels,
    run_kernels,
)
from napari_zssr.sample import gaussian_psf, microscopy_sample


def test_none_is_the_bicubic_kernel():
    source, record = kernel_source(KernelChoice(), None, scale=(2.0, 2.0))
    assert source is None and record["source"].startswith("none")


def test_optics_kernel_and_its_record():
    optics = Optics(1.2, 600, refractive_index=1.333)
    source, record = kernel_source(KernelChoice("optics", optics=optics), 0.108, scale=(2.0, 2.0))
    assert source((2.0, 2.0)).sum() == pytest.approx(1.0)
    assert source((3.0, 3.0)).shape[0] > source((2.0, 2.0)).shape[0]  # a finer HR grid: more pixels across
    assert record["source"] == "optics" and record["na"] == 1.2 and record["pixel_size_um"] == 0.108
    # vectorial FWHM at NA 1.2 in water: 0.560 lambda/NA
    assert record["psf_fwhm_px"] == pytest.approx(0.560 * 0.6 / 1.2 / 0.108, rel=0.01)
    assert "NA 1.2" in describe_kernel(record)


def test_a_confocal_excitation_longer_than_its_emission_is_noted_as_likely_swapped():
    swapped = KernelChoice("optics", optics=Optics(1.4, 520, modality="confocal", excitation_wavelength=700))
    assert "were the two swapped?" in kernel_source(swapped, 0.065, scale=(2.0, 2.0))[1]["note"]
    usual = KernelChoice("optics", optics=Optics(1.4, 520, modality="confocal", excitation_wavelength=488))
    assert "note" not in kernel_source(usual, 0.065, scale=(2.0, 2.0))[1]


def test_a_wide_confocal_pinhole_runs_and_is_as_wide_as_widefield():
    """Up to the 20 AU Optics takes: the FWHM for the record failed at 11 AU and more (a grid past its limit)."""
    wide = KernelChoice("optics", optics=Optics(1.4, 520, modality="confocal", pinhole=20))
    source, record = kernel_source(wide, 0.065, scale=(2.0, 2.0))
    assert source((2.0, 2.0)).sum() == pytest.approx(1.0)
    assert record["psf_fwhm_px"] == pytest.approx(psf_fwhm_pixels(Optics(1.4, 520), 0.065), rel=0.01)


def test_optics_may_be_given_as_a_dict_and_nothing_else():
    choice = KernelChoice("optics", optics={"na": 1.2, "wavelength": 600, "refractive_index": 1.333})
    assert choice.optics == Optics(1.2, 600, refractive_index=1.333)
    with pytest.raises(TypeError, match="Optics"):
        KernelChoice("optics", optics=(1.2, 600))


def test_a_psf_pixel_size_of_zero_is_refused_not_read_as_unknown():
    with pytest.raises(ValueError, match="psf_pixel_size"):
        KernelChoice("psf", psf_path="psf.tif", psf_pixel_size=0)


def test_unequal_pixel_sides_give_the_fwhm_over_their_geometric_mean():
    optics = Optics(1.2, 600, refractive_index=1.333)
    assert psf_fwhm_pixels(optics, (0.1, 0.1)) == psf_fwhm_pixels(optics, 0.1)
    assert psf_fwhm_pixels(optics, (0.08, 0.125)) == pytest.approx(psf_fwhm_pixels(optics, 0.1), abs=1e-3)


def test_optics_without_pixel_size_is_a_clear_error():
    with pytest.raises(ValueError, match="pixel size"):
        kernel_source(KernelChoice("optics", optics=Optics(1.2, 600, refractive_index=1.333)), None,
                      scale=(2.0, 2.0))


def test_a_psf_sampled_more_coarsely_than_the_image_is_noted(tmp_path):
    """A bead taken binned carries its own larger pixels' blur: the kernel comes out too wide, silently before."""
    path = tmp_path / "binned.tif"
    write_imagej_tiff(path, (gaussian_psf(1.5) * 1000 + 10).astype(np.float32), "YX", (0.2, 0.2))
    choice = KernelChoice("psf", psf_path=str(path))
    note = kernel_source(choice, 0.1, scale=(2.0, 2.0))[1]["note"]
    assert "sampled more coarsely than the image (0.2 against 0.1 um" in note
    assert "note" not in kernel_source(choice, 0.2, scale=(2.0, 2.0))[1]  # at the image's sampling


def test_psf_file_source_is_read_once_and_checked_at_once(tmp_path, monkeypatch):
    path, copy = tmp_path / "psf.tif", tmp_path / "psf_copy.tif"
    for file in (path, copy):
        write_imagej_tiff(file, (gaussian_psf(1.5) * 1000 + 10).astype(np.float32), "YX", (0.05, 0.05))
    source, record = kernel_source(KernelChoice("psf", psf_path=str(path)), 0.1, scale=(2.0, 2.0))
    path.unlink()  # the kernel of another scale needs no second read
    assert source((2.0, 2.0)).sum() == pytest.approx(1.0) and source((4.0, 4.0)).sum() == pytest.approx(1.0)
    assert record == {"source": "psf", "psf_path": str(path), "psf_pixel_size_um": 0.05, "pixel_size_um": 0.1,
                      "measured": None,  # None: judged from the two pixel sizes, which the kernel depends on
                      "psf_sha256": hashlib.sha256(copy.read_bytes()).hexdigest()}  # the copy's bytes: path is gone
    monkeypatch.chdir(tmp_path)  # typed relative: recorded absolute, meaningful wherever the outputs go
    _, copied = kernel_source(KernelChoice("psf", psf_path="psf_copy.tif"), 0.1, scale=(2.0, 2.0))
    assert copied["psf_path"] == str(copy)
    noise = tmp_path / "noise.npy"
    np.save(noise, np.random.default_rng(0).random((21, 21)))
    with pytest.raises(ValueError, match="peak"):
        kernel_source(KernelChoice("psf", psf_path=str(noise)), 0.1, scale=(2.0, 2.0))


def test_a_kernel_checked_before_the_run_is_neither_read_nor_made_again_by_it(tmp_path, monkeypatch):
    """The batch (every channel) and the widget make the kernel before the run, to fail early; the run takes it."""
    import napari_zssr.core.psf as core_psf

    made = []
    make = core_psf.kernel_from_psf
    monkeypatch.setattr(core_psf, "kernel_from_psf", lambda *args, **kwargs: made.append(kwargs["scale"]) or
                        make(*args, **kwargs))
    path = tmp_path / "psf.tif"
    write_imagej_tiff(path, (gaussian_psf(1.5) * 1000 + 10).astype(np.float32), "YX", (0.05, 0.05))
    prepared = PreparedKernel.of(KernelChoice("psf", psf_path=str(path)), 0.1, (4.0, 4.0))  # at the run's scale
    checked = prepared.source((4.0, 4.0))
    path.unlink()  # the run reads no file
    kernels, record = run_kernels(prepared, [(2.0, 2.0), (4.0, 4.0)], np.zeros((40, 40)), 0.1)
    assert made == [(4.0, 4.0), (2.0, 2.0)]  # each scale made once: at the check, not again for the run's steps
    np.testing.assert_allclose(kernels[1], checked / checked.sum())
    assert record == prepared.record and record is not prepared.record  # the run's own: its notes go there


def test_a_kernel_too_wide_at_the_runs_scale_fails_the_widgets_check_before_any_worker(tmp_path):
    """The check makes the kernel at the run's scale, where a kernel wider than any blur can be refused."""
    from napari_zssr.core.psf import MAX_KERNEL_SIDE
    from napari_zssr.napari.runner import prepare

    path = tmp_path / "wide.tif"  # a blur 30 px wide: its kernel fits at x2, not at x4
    write_imagej_tiff(path, (gaussian_psf(30 / 2.355) * 1000 + 10).astype(np.float32), "YX", (0.1, 0.1))
    layer = np.random.default_rng(0).random((300, 300)).astype(np.float32)
    PreparedKernel.of(KernelChoice("psf", psf_path=str(path)), 0.1, (2.0, 2.0))
    with pytest.raises(ValueError, match=f"at most {MAX_KERNEL_SIDE}"):
        prepare(layer, psf=str(path), scale=4, pixel_size=0.1)


def test_a_kernel_too_wide_is_said_to_be_so_at_the_runs_scale(tmp_path, tiny_config):
    """Each source was checked by making its kernel at scale 2 whatever the run's: a run at x3 was told its kernel
    was too wide 'at ... scale 2'."""
    from napari_zssr import kernel_from_file, zssr

    optics = KernelChoice("optics", optics=Optics(0.3, 520, refractive_index=1.0))
    with pytest.raises(ValueError, match=r"at the image pixel size 0.065 um and scale 3: "):
        zssr(np.random.default_rng(0).random((32, 32)), 3, kernel=optics, config=tiny_config, pixel_size=0.065)
    path = tmp_path / "wide.tif"  # a blur 50 px wide: too wide at x2 already
    write_imagej_tiff(path, (gaussian_psf(50 / 2.355) * 1000 + 10).astype(np.float32), "YX", (0.1, 0.1))
    with pytest.raises(ValueError, match=r"and scale \(3, 3\); "):
        kernel_from_file(path, pixel_size=0.1, scale=3)


def test_estimate_gives_a_kernel_for_every_step_and_its_record():
    image = microscopy_sample(psf_sigma=3.0).image  # a blur of 3.5 input pixels: above the fallback width
    kernels, record = run_kernels("estimate", [(2.0, 2.0), (4.0, 4.0)], image, 0.13)
    assert record["source"] == "estimate" and record["fwhm_um"] == pytest.approx(record["fwhm_px"] * 0.13, rel=1e-3)
    assert kernels[1].shape[0] > kernels[0].shape[0]
    assert record["scale"] == [4, 4] and record["kernel_shape"] == list(kernels[1].shape)  # the run's final scale
    assert "estimated" in describe_kernel(record)
    with pytest.raises(ValueError, match="needs the image"):
        kernel_source(KernelChoice("estimate"), None, scale=(2.0, 2.0))


def test_an_image_with_nothing_to_estimate_from_runs_without_a_kernel_and_says_so(tiny_config):
    """Pure noise (an empty channel of a stack) or a constant image: no kernel, with a note, not a failed run."""
    from napari_zssr import KernelNoteWarning, zssr

    noise = np.random.default_rng(0).poisson(100, (40, 40)).astype(np.float32)
    for image, reason in ((noise, "pure noise"), (np.full((40, 40), 7.0), "constant")):
        kernels, record = run_kernels("estimate", [(2.0, 2.0)], image, None)
        assert kernels == [None] and reason in record["fallback"] and record["note"].endswith("; no kernel (bicubic)")
        assert "use no kernel" not in record["note"]  # the advice to the caller of estimate_kernel is not repeated
        assert describe_kernel(record) == f"from the image: none, {record['fallback']}"  # says why, not "estimated"
    with pytest.warns(KernelNoteWarning, match="kernel estimate: no structure found above the noise"):
        result = zssr(noise, 2, kernel="estimate", config=tiny_config, device="cpu")
    assert result.notes and "pure noise" in result.kernel["fallback"]


def test_other_kernel_arguments_are_recorded_as_such():
    assert run_kernels(None, [(2.0, 2.0)], np.zeros((8, 8)), None) == ([None], {"source": "none (bicubic)"})
    array_record = run_kernels(gaussian_psf(1.0), [(2.0, 2.0)], np.zeros((8, 8)), None)[1]
    assert array_record["source"] == "array" and array_record["shape"] == [9, 9]  # which array: size and checksum
    assert run_kernels(gaussian_psf(1.2), [(2.0, 2.0)], np.zeros((8, 8)), None)[1]["crc32"] != array_record["crc32"]
    with pytest.raises(ValueError, match="'estimate'"):
        run_kernels("bead", [(2.0, 2.0)], np.zeros((8, 8)), None)


@pytest.mark.parametrize(("kwargs", "message"), [({"kind": "bead"}, "kernel source"), ({"kind": "psf"}, "PSF file"),
                                                 ({"kind": "optics"}, "optics")])
def test_incomplete_choices_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KernelChoice(**kwargs)


@pytest.mark.parametrize("path", [5, ["psf.tif"], b"psf.tif"])
def test_a_psf_path_that_is_no_path_is_named(path):
    with pytest.raises(TypeError, match="psf_path must be the PSF file's path"):
        KernelChoice("psf", psf_path=path)


def test_confocal_fwhm_is_smaller():
    widefield = psf_fwhm_pixels(Optics(1.4, 520), 0.05)
    confocal = psf_fwhm_pixels(Optics(1.4, 520, modality="confocal", excitation_wavelength=488), 0.05)
    assert confocal < widefield


def test_numpy_float32_pixel_sizes_are_recorded_as_the_numbers_meant_and_the_record_is_json(tmp_path):
    """Pixel sizes read by numpy or tifffile are often float32: 0.13 stays 0.13, and json.dumps takes the record."""
    import json

    from napari_zssr import ZSSRConfig, zssr

    write_imagej_tiff(tmp_path / "psf.tif", gaussian_psf(1.5), "YX", None)
    choice = KernelChoice("psf", psf_path=str(tmp_path / "psf.tif"), psf_pixel_size=np.float32(0.065))
    result = zssr(microscopy_sample().image[:32, :32], 2, kernel=choice, pixel_size=np.float32(0.13),
                  config=ZSSRConfig.preset("fast", max_iterations=1))
    assert (result.kernel["psf_pixel_size_um"], result.kernel["pixel_size_um"]) == (0.065, 0.13)
    json.dumps(result.metadata())


def test_kernel_objects_given_the_wrong_way_say_how_to_give_them(tmp_path):
    from pathlib import Path

    from napari_zssr import ZSSRConfig, estimate_kernel, zssr

    image = microscopy_sample().image[:32, :32]
    with pytest.raises(TypeError, match=r"the optics .*KernelChoice\('optics', optics=Optics"):
        zssr(image, 2, kernel=Optics(1.4, 520))
    with pytest.raises(TypeError, match=r"the optics .*KernelChoice\('optics'"):
        zssr(image, 2, kernel={"na": 1.4, "wavelength": 520})
    with pytest.raises(ValueError, match=r"got \w*Path\(.*KernelChoice\('psf', path\)"):
        zssr(image, 2, kernel=Path(tmp_path / "psf.tif"))
    with pytest.raises(TypeError, match=r"estimate_kernel\(\) result: pass its .kernel"):
        zssr(image, 2, kernel=estimate_kernel(image))
    with pytest.raises(TypeError, match="kernel was given a ZSSRConfig: pass it as config="):
        zssr(image, 2, ZSSRConfig.preset("fast"))  # was "kernel must be a real-valued numeric array, got dtype object"


def test_a_kernel_too_wide_for_the_planes_is_noted():
    """A 19-pixel blur on 64 x 64 output planes gave outputs of many times the input's range, without a word."""
    from napari_zssr import KernelNoteWarning, ZSSRConfig, zssr

    y, x = np.mgrid[-32:33, -32:33]
    wide = np.exp(-(x**2 + y**2) / (2 * 8.0**2))
    image = microscopy_sample().image
    with pytest.warns(KernelNoteWarning, match=r"about 19 HR pixels wide, as the FWHM of a Gaussian of its spread\) "
                                               r"spans more than a quarter of the output planes \(64 x 64 pixels\)"):
        result = zssr(image[:32, :32], 2, kernel=wide, config=ZSSRConfig.preset("fast", max_iterations=1))
    assert "spans more than a quarter" in result.kernel["note"]
    _, record = run_kernels(wide, [(2.0, 2.0)], image[:96, :96], None)  # 192 x 192 output planes: a tenth
    assert "note" not in record
    with pytest.raises(ValueError, match=r"about 19 HR pixels wide.* spans more than half of the output planes \(32 x "
                                         r"32 pixels\): nothing of the image is left to learn from"):
        zssr(image[:16, :16], 2, kernel=wide, config=ZSSRConfig.preset("fast", max_iterations=1))


def test_an_estimate_too_wide_for_the_planes_falls_back_to_no_kernel():
    """The user gave no kernel to check: an estimate that cannot serve falls back with a note, here as elsewhere."""
    from scipy import ndimage

    rng = np.random.default_rng(10)
    for sigma in (5.0, 6.0):  # the second: 8 points under a blur that the estimate reads as 22 HR pixels wide
        points = np.zeros((16, 16))
        points[rng.integers(0, 16, 8), rng.integers(0, 16, 8)] = 1.0
        blurred = ndimage.gaussian_filter(points, sigma, mode="wrap") + rng.normal(0, 1e-5, (16, 16))
    kernels, record = run_kernels("estimate", [(2.0, 2.0)], blurred, None)
    assert kernels[0] is None and "spans more than half of the output planes" in record["fallback"]
    assert record["note"].startswith("kernel estimate: the kernel's blur") and record["note"].endswith("(bicubic)")


@pytest.mark.parametrize(("channel", "error", "message"), [
    (-1, ValueError, "whole number >= 0.*got -1"), (1.0, TypeError, "whole number >= 0.*got float 1.0"),
    (True, TypeError, "got bool True"), ("1", TypeError, "got str '1'")])
def test_a_psf_channel_is_a_whole_number_of_at_least_0(channel, error, message):
    with pytest.raises(error, match=message):
        KernelChoice("psf", psf_path="beads.tif", psf_channel=channel)


def test_a_psf_channel_is_a_psf_files_and_kept_as_a_plain_int():
    assert type(KernelChoice("psf", psf_path="beads.tif", psf_channel=np.int64(1)).psf_channel) is int
    with pytest.raises(ValueError, match="psf_channel is the channel of a PSF file"):
        KernelChoice("optics", optics=Optics(1.2, 600), psf_channel=0)


def test_a_psf_per_channel_is_chosen_by_the_images_channel_and_recorded(multicolour_psf):
    """Every front chooses a multicolour PSF file's channel through KernelChoice.for_channel: an image's channel c
    takes PSF channel c; an image of no channel, or of other channels than the file's, is refused saying why."""
    from napari_zssr.kernel_choice import PsfChannelError

    multi, singles = multicolour_psf
    choice = KernelChoice("psf", psf_path=str(multi))
    assert choice.for_channel(1).psf_channel == 1 and choice.for_channel(0, 2).psf_channel == 0
    assert KernelChoice("psf", psf_path=str(multi), psf_channel=0).for_channel(1).psf_channel == 0  # as given
    single = KernelChoice("psf", psf_path=str(singles[0]))
    assert single.for_channel(None) == single.for_channel(3, 4) == single  # one PSF: every channel's, as before
    for args, message in [((None,), ", and the image is no channel of a multichannel file.*napari-zssr reader"),
                          ((2,), r" \(0-1\), and the image is channel 2 of its file"),
                          ((0, 1), ", while the image has one: give a PSF file of one channel"),
                          ((0, 3), ", while the image has 3: .*give a PSF file of 3 channels")]:
        with pytest.raises(PsfChannelError, match=f"the PSF file beads.tif holds 2 channels, one PSF each{message}"):
            choice.for_channel(*args)
    _, record = kernel_source(choice.for_channel(1), 0.1, scale=(2.0, 2.0))
    _, alone = kernel_source(KernelChoice("psf", psf_path=str(singles[1])), 0.1, scale=(2.0, 2.0))
    assert record == {**alone, "psf_path": str(multi), "psf_channel": 1, "psf_channels": 2,
                      "psf_sha256": hashlib.sha256(multi.read_bytes()).hexdigest()}  # the file's, not a channel's
    assert describe_kernel(record) == f"PSF file {multi}, channel 1"
    assert "psf_channel" not in kernel_source(single.for_channel(0), 0.1, scale=(2.0, 2.0))[1]
