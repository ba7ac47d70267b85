"""The command line (and ``napari_zssr.batch``) in axial mode: z-stacks restored along z to the lateral pixel size."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

import napari_zssr
from napari_zssr.batch_jobs import UsageError
from napari_zssr.cli import main
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.io.tiff import read_tiff
from napari_zssr.napari.reader import read_layers

FAST = ["--max-iterations", "2", "--quiet", "--preset", "fast", "--outputs", "zssr,residual"]
TALKING = ["--max-iterations", "2", "--preset", "fast", "--outputs", "zssr"]  # FAST that prints each file's line
OBJECTIVE = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.2" Immersion="Water"/>'
             "</Instrument>")


def textured(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000 + 100).astype(np.uint16)


def info_of(path: Path) -> dict:
    return json.loads(read_tiff(path).description)


@pytest.fixture
def volume(tmp_path) -> Path:
    """A (6, 24, 24) stack of 0.1 um pixels every 0.3 um: factor 3."""
    path = tmp_path / "data" / "vol.tif"
    write_imagej_tiff(path, textured((6, 24, 24)), "ZYX", (0.1, 0.1), z_spacing=0.3)
    return path


def edges(scale: float, translate: float, size: int) -> tuple[float, float]:
    """The outer pixel edges of a napari axis (pixel centres at translate + i * scale)."""
    return translate - scale / 2, translate + (size - 0.5) * scale


def test_axial_outputs_have_z_times_s_planes_at_the_lateral_pixel_size_and_overlay_the_input(volume, tmp_path,
                                                                                             capsys):
    out = tmp_path / "out"
    assert main([str(volume), "--out", str(out), "--axial", *TALKING, "--outputs", "zssr,residual"]) == 0
    assert "vol.tif: axial x3 (z-step 0.3 µm -> 0.1 µm); axial profile a Gaussian" in capsys.readouterr().err
    sr = read_tiff(out / "vol_zssr.tif")
    assert sr.data.shape == (18, 24, 24) and sr.axes == "ZYX" and sr.data.dtype == np.float32
    assert sr.pixel_size == pytest.approx((0.1, 0.1)) and sr.z_spacing == pytest.approx(0.1)
    assert sr.z_origin == pytest.approx(1.0) and sr.origin == (0.0, 0.0)  # input plane i at output plane 3i + 1
    info = info_of(out / "vol_zssr.tif")
    assert info["axial"] == {"factor": 3, "z_step_um": 0.3, "pixel_size_um": 0.1,
                             "output_z_spacing_um": 0.1, "output_z_origin_planes": 1.0}
    assert info["settings"]["axial"] is True and info["settings"]["scale"] is None
    # lateral planes only: records from before the setting stay equal
    assert "background_window" not in info["settings"]["config"]
    kernel = info["channels"][0]["kernel"]
    assert kernel["source"] == "default" and kernel["axial_fwhm_um"] == pytest.approx(0.3, abs=0.02)
    assert read_tiff(out / "vol_residual.tif").data.shape == (18, 24, 24)
    (data_in, layer_in, _), (data_out, layer_out, _) = read_layers(str(volume))[0], read_layers(str(out /
                                                                                                    "vol_zssr.tif"))[0]
    for axis in range(3):  # napari, through this package's reader: the outer edges coincide on every axis
        assert edges(layer_out["scale"][axis], layer_out["translate"][axis], data_out.shape[axis]) == pytest.approx(
            edges(layer_in["scale"][axis], layer_in["translate"][axis], data_in.shape[axis]))


def test_resume_skips_a_done_axial_file_and_tells_axial_from_lateral_outputs(volume, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(volume), "--out", str(out), "--axial", *FAST]
    assert main(args) == 0
    written = out / "vol_zssr.tif"
    stamp = written.stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    assert "skipped 1" in capsys.readouterr().err and written.stat().st_mtime_ns == stamp
    assert main([*args, "--z-step", "0.2"]) == 1  # another factor: other settings, left alone
    capsys.readouterr()
    assert main([str(volume), "--out", str(out), *FAST]) == 1  # a lateral run: other settings too, named as a mode
    err = capsys.readouterr().err
    assert "different settings (by an axial run (--axial); this is a lateral run)" in err, err
    assert "None" not in err and written.stat().st_mtime_ns == stamp


def test_z_step_and_pixel_size_options_override_the_files(tmp_path):
    path = tmp_path / "plain.tif"
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", None)  # no calibration at all
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--axial", "--z-step", "0.5", "--pixel-size", "0.25", *FAST]) == 0
    sr = read_tiff(out / "plain_zssr.tif")
    assert sr.data.shape == (10, 20, 20) and sr.z_spacing == pytest.approx(0.25)
    assert sr.pixel_size == pytest.approx((0.25, 0.25)) and sr.z_origin == pytest.approx(0.5)


def test_a_pixel_size_written_rounded_still_gives_a_whole_factor(tmp_path):
    """0.325 um / 3 is written 0.10833 (or 0.1083): the factor is 3, and the output planes 0.325 / 3 apart."""
    path = tmp_path / "rounded.tif"
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", (0.10833, 0.10833), z_spacing=0.325)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    sr = read_tiff(tmp_path / "out" / "rounded_zssr.tif")
    assert sr.data.shape == (15, 20, 20) and sr.z_spacing == pytest.approx(0.325 / 3)


def test_a_z_spacing_left_to_imagejs_default_is_said(tmp_path, capsys):
    """A script that wrote the pixel size but not the z step leaves ImageJ's default of 1 um, which sets the factor:
    the run says so, and names --z-step."""
    path = tmp_path / "data" / "scripted.tif"
    path.parent.mkdir()
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", (0.25, 0.25))
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    assert (f"note: {path} gives no z spacing, so its planes are taken 1 um apart, ImageJ's default (x4; Fiji leaves "
            "out a spacing of 1, and a script may have left out any); if its z step differs, give --z-step UM"
            in capsys.readouterr().err)
    assert main([str(path), "--out", str(tmp_path / "given"), "--axial", "--z-step", "1", *FAST]) == 0
    assert "gives no z spacing" not in capsys.readouterr().err  # given: nothing to say
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", (0.25, 0.25), z_spacing=0.5)
    assert main([str(path), "--out", str(tmp_path / "written"), "--axial", *FAST]) == 0
    assert "gives no z spacing" not in capsys.readouterr().err  # the file's own


def test_an_uncalibrated_stack_runs_on_its_z_spacing_in_pixels_as_in_napari(tmp_path):
    """An ImageJ stack without a unit whose planes are 3 pixels apart: x3, as napari runs it from its scale."""
    path = tmp_path / "uncalibrated.tif"
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", None, z_spacing=3.0)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    sr = read_tiff(tmp_path / "out" / "uncalibrated_zssr.tif")
    assert sr.data.shape == (15, 20, 20) and sr.pixel_size is None and sr.z_step_pixels is None  # spacing 1: cubes
    assert info_of(tmp_path / "out" / "uncalibrated_zssr.tif")["axial"]["z_step_pixels"] == 3.0
    layer = read_layers(str(tmp_path / "out" / "uncalibrated_zssr.tif"))[0][1]
    assert layer["scale"] == pytest.approx([1.0, 1.0, 1.0])
    # given a pixel size, the same spacing is in um
    assert main([str(path), "--out", str(tmp_path / "um"), "--axial", "--pixel-size", "0.1", *FAST]) == 0
    sr = read_tiff(tmp_path / "um" / "uncalibrated_zssr.tif")
    assert sr.data.shape == (15, 20, 20) and sr.z_spacing == pytest.approx(0.1)


def test_an_uncalibrated_stack_is_described_in_pixels(tmp_path, capsys):
    path = tmp_path / "uncalibrated.tif"
    write_imagej_tiff(path, textured((5, 20, 20)), "ZYX", None, z_spacing=3.0)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *TALKING]) == 0
    assert "uncalibrated.tif: axial x3 (z-step 3 pixels -> 1 pixels)" in capsys.readouterr().err


def test_t_and_c_axes_run_volume_by_volume_in_place(tmp_path, capsys):
    stack = textured((2, 4, 2, 16, 16)).astype(np.float32)  # T, Z, C, Y, X
    stack[1, :, 0] = 7  # one whole volume (T=1, channel 0) constant
    path = tmp_path / "tc.tif"
    write_imagej_tiff(path, stack, "TZCYX", (0.1, 0.1), z_spacing=0.2)
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--axial", *FAST]) == 0
    assert "volume T=1, channel 0 is constant" in capsys.readouterr().err
    sr = read_tiff(out / "tc_zssr.tif")
    assert sr.data.shape == (2, 8, 2, 16, 16) and sr.axes == "TZCYX"
    assert np.all(sr.data[1, :, 0] == 7) and np.ptp(sr.data[0, :, 0]) > 0 and np.ptp(sr.data[1, :, 1]) > 0
    assert [channel["blank_planes"] for channel in info_of(out / "tc_zssr.tif")["channels"]] == [[[1]], []]


def test_axial_profile_from_the_optics_given_or_in_the_ome_metadata(volume, tmp_path, ome_tiff, capsys):
    out = tmp_path / "out"
    assert main([str(volume), "--out", str(out), "--axial", "--na", "1.2", "--wavelength", "520",
                 "--refractive-index", "1.333", *TALKING]) == 0
    kernel = info_of(out / "vol_zssr.tif")["channels"][0]["kernel"]
    assert kernel["source"] == "optics" and kernel["na"] == 1.2 and 0.5 < kernel["axial_fwhm_um"] < 0.75
    assert "axial profile from the optics (NA 1.2, 520 nm, n 1.333, widefield; FWHM" in capsys.readouterr().err
    path = tmp_path / "ome" / "cells.ome.tif"
    path.parent.mkdir()
    ome_tiff(path, {"EmissionWavelength": [600]}, OBJECTIVE, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX", z_spacing=0.4)
    assert main([str(path), "--out", str(tmp_path / "out2"), "--axial", *FAST]) == 0
    kernel = info_of(tmp_path / "out2" / "cells_zssr.tif")["channels"][0]["kernel"]
    assert kernel["source"] == "optics" and kernel["wavelength"] == 600 and kernel["refractive_index"] == 1.333


def test_a_file_whose_optics_lack_the_immersion_says_which_option_would_use_them(tmp_path, ome_tiff, capsys):
    """Its NA and wavelength were given up for a Gaussian with "the optics unknown", no word of --refractive-index."""
    path = tmp_path / "ome" / "dry.ome.tif"
    path.parent.mkdir()
    ome_tiff(path, {"EmissionWavelength": [600]}, OBJECTIVE.replace(' Immersion="Water"', ""),
             '<ObjectiveSettings ID="Objective:0"/>', data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX",
             z_spacing=0.4)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *TALKING]) == 0
    err = capsys.readouterr().err
    assert ("dry.ome.tif: its metadata gives optics but not the immersion, so its axial profile is a Gaussian of "
            "the z-step; give --refractive-index to take the profile from the optics") in err
    assert main([str(path), "--out", str(tmp_path / "out2"), "--axial", "--refractive-index", "1.333", *TALKING]) == 0
    kernel = info_of(tmp_path / "out2" / "dry_zssr.tif")["channels"][0]["kernel"]
    assert kernel["source"] == "optics" and kernel["na"] == 1.2 and "metadata gives optics" not in \
        capsys.readouterr().err


def test_an_axial_profile_from_a_confocal_files_optics_is_confocal(tmp_path, ome_tiff, capsys):
    """Its acquisition mode and pinhole were left out: a widefield profile, far longer than a confocal's."""
    path = tmp_path / "ome" / "confocal.ome.tif"
    path.parent.mkdir()
    objective = OBJECTIVE.replace('Immersion="Water"', 'Immersion="Water" NominalMagnification="60"')
    ome_tiff(path, {"EmissionWavelength": [600], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                    "PinholeSize": [40]}, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX", z_spacing=0.4)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    kernel = info_of(tmp_path / "out" / "confocal_zssr.tif")["channels"][0]["kernel"]
    airy_units = 40 / (1.22 * 0.6 / 1.2 * 60)  # 40 um over 1 AU at 600 nm, NA 1.2, times 60
    assert kernel["modality"] == "confocal" and kernel["pinhole"] == pytest.approx(airy_units, abs=0.005)
    assert "confocal.ome.tif: the confocal model from the file's acquisition mode" in capsys.readouterr().err
    assert main([str(path), "--out", str(tmp_path / "wide"), "--axial", "--psf-model", "widefield", *FAST]) == 0
    wide = info_of(tmp_path / "wide" / "confocal_zssr.tif")["channels"][0]["kernel"]
    assert wide["modality"] == "widefield" and wide["axial_fwhm_um"] > 1.2 * kernel["axial_fwhm_um"]


def test_a_light_sheet_files_axial_profile_is_not_the_widefield_models(tmp_path, ome_tiff, capsys):
    """A SPIM file's optics gave a widefield axial profile, with a note that the mode is neither model: its z blur
    is the sheet's, far shorter, so z was deblurred far too much."""
    path = tmp_path / "ome" / "sheet.ome.tif"
    path.parent.mkdir()
    ome_tiff(path, {"EmissionWavelength": [600], "AcquisitionMode": ["SPIM"]}, OBJECTIVE,
             '<ObjectiveSettings ID="Objective:0"/>', data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX",
             z_spacing=0.4)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *TALKING]) == 0
    kernel = info_of(tmp_path / "out" / "sheet_zssr.tif")["channels"][0]["kernel"]
    assert kernel["source"] != "optics"
    assert ("sheet.ome.tif: the file's acquisition mode SPIM (a light sheet: its z blur is the sheet's) is neither "
            "widefield nor confocal, so its axial profile is a Gaussian of the z-step; give --psf-model widefield or "
            "confocal") in capsys.readouterr().err
    assert main([str(path), "--out", str(tmp_path / "wide"), "--axial", "--psf-model", "widefield", *FAST]) == 0
    assert info_of(tmp_path / "wide" / "sheet_zssr.tif")["channels"][0]["kernel"]["source"] == "optics"


@pytest.mark.parametrize(("options", "named"), [
    (["--axial", "--psf", "psf.npy"], "--psf"),
    (["--axial", "--kernel", "optics"], "--kernel"),
    (["--axial", "--psf-pixel-size", "0.1"], "--psf-pixel-size"),
    (["--axial", "--measured-psf", "yes"], "--measured-psf"),
    (["--axial", "--scale", "3"], "--scale"),
    (["--axial", "--warm-start"], "--warm-start"),
    (["--axial", "--background-window", "8"], "--background-window"),
    (["--axial", "--na", "1.6", "--refractive-index", "1.333"], "na"),
    (["--z-step", "0.3"], "--z-step applies to --axial only"),
])
def test_options_that_axial_mode_refuses_are_usage_errors(volume, tmp_path, capsys, options, named):
    assert main([str(volume), "--out", str(tmp_path / "out"), *options, *FAST]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", "-0.3", "nan"])
def test_a_bad_z_step_is_a_usage_error(volume, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main([str(volume), "--out", str(tmp_path / "out"), "--axial", "--z-step", value, *FAST])
    assert exit_.value.code == 2 and "--z-step" in capsys.readouterr().err and not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="z-step"):
        napari_zssr.batch(volume, tmp_path / "out", axial=True, z_step=float(value))
    assert not (tmp_path / "out").exists()


def test_the_batchs_pixel_size_as_a_y_x_pair_gives_the_factor_as_a_number_does(volume, tmp_path):
    """``napari_zssr.batch`` takes ``pixel_size`` as a (y, x) pair, as its lateral runs do: square, it is the pixel
    size; unequal, it is refused before any training, as a file's non-square pixels are."""
    summary = napari_zssr.batch(volume, tmp_path / "out", axial=True, pixel_size=(0.15, 0.15), preset="fast",
                                max_iterations=2, outputs="zssr", quiet=True)
    assert len(summary.done) == 1
    assert read_tiff(tmp_path / "out" / "vol_zssr.tif").data.shape == (12, 24, 24)  # 0.3 um / 0.15 um: x2
    with pytest.raises(UsageError, match=r"--pixel-size .*not square"):
        napari_zssr.batch(volume, tmp_path / "other", axial=True, pixel_size=(0.1, 0.15))
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("value", ["0.3", [0.3], True])
def test_a_z_step_of_the_wrong_type_is_named_by_the_batch(volume, tmp_path, value):
    with pytest.raises(UsageError, match=r"--z-step must be a z spacing in um > 0, got "):
        napari_zssr.batch(volume, tmp_path / "out", axial=True, z_step=value)


def test_a_light_sheet_file_short_of_optics_is_told_what_they_lack_not_to_give_a_model(tmp_path, ome_tiff, capsys):
    """--psf-model alone, which the note advised, then failed for want of the immersion the note did not name."""
    path = tmp_path / "ome" / "dry.ome.tif"
    path.parent.mkdir()
    ome_tiff(path, {"EmissionWavelength": [600], "AcquisitionMode": ["SPIM"]},
             OBJECTIVE.replace(' Immersion="Water"', ""), '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX", z_spacing=0.4)
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    err = capsys.readouterr().err
    assert "give --refractive-index to take the profile from the optics" in err and "--psf-model" not in err


def test_a_light_sheet_files_output_made_with_its_optics_profile_is_redone(tmp_path, ome_tiff, capsys, monkeypatch):
    """Outputs made before the rule took the widefield profile for a SPIM file: a rerun skipped them as done."""
    from napari_zssr.io.ome import OpticsMetadata

    path = tmp_path / "ome" / "sheet.ome.tif"
    path.parent.mkdir()
    ome_tiff(path, {"EmissionWavelength": [600], "AcquisitionMode": ["SPIM"]}, OBJECTIVE,
             '<ObjectiveSettings ID="Objective:0"/>', data=textured((6, 24, 24)), pixel_size=0.1, axes="ZYX",
             z_spacing=0.4)
    out = tmp_path / "out"
    with monkeypatch.context() as before:
        before.setattr(OpticsMetadata, "unmodelled_mode", lambda self: None)  # as runs made them then
        assert main([str(path), "--out", str(out), "--axial", *FAST]) == 0
    assert info_of(out / "sheet_zssr.tif")["channels"][0]["kernel"]["source"] == "optics"
    capsys.readouterr()
    assert main([str(path), "--out", str(out), "--axial", *FAST]) == 0
    assert "took its axial profile from the optics of an acquisition mode neither model describes" in \
        capsys.readouterr().err
    assert info_of(out / "sheet_zssr.tif")["channels"][0]["kernel"]["source"] == "default"
    assert main([str(path), "--out", str(out), "--axial", *FAST]) == 0  # done now
    assert "already done" in capsys.readouterr().err


def test_optics_for_an_uncalibrated_stack_ask_for_the_pixel_size_option_before_training(volume, tmp_path, capsys):
    """The file trained, then failed with the library's "give pixel_size in um"."""
    path = volume.parent / "pixels.tif"
    tifffile.imwrite(path, textured((6, 24, 24)), imagej=True, metadata={"axes": "ZYX", "spacing": 3})
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", "--na", "1.2", "--wavelength", "520",
                 "--refractive-index", "1.333", *FAST]) == 2
    assert ("pixels.tif: an axial profile from the optics needs the lateral pixel size, which the file does not give: "
            "give --pixel-size UM") in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_negative_z_spacing_is_said_to_be_no_z_spacing(volume, tmp_path, capsys):
    """A file's negative (or zero) spacing reads as unknown: the message says why, not only that it is unknown."""
    bad = volume.parent / "bad.tif"
    tifffile.imwrite(bad, textured((6, 24, 24)), imagej=True, resolution=(10, 10),
                     metadata={"axes": "ZYX", "spacing": -0.3, "unit": "um"})
    assert main([str(bad), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 2
    assert "z spacing is unknown (the file gives none, or zero, a negative" in capsys.readouterr().err


@pytest.mark.parametrize(("shape", "axes", "pixel", "spacing", "options", "named"), [
    ((24, 24), "YX", 0.1, None, [], "no Z axis"),
    ((3, 24, 24), "TYX", 0.1, None, [], "no Z axis"),
    ((6, 24, 24), None, None, None, ["--z-step", "0.3"], "no Z axis"),  # unnamed axes (Q) are not taken for Z
    ((3, 24, 24), "ZYX", 0.1, 0.3, [], "at least 4"),
    ((6, 24, 24), "ZYX", 0.1, "unknown", [], "give --z-step"),  # an OME file without PhysicalSizeZ
    ((6, 24, 24), "ZYX", None, None, ["--z-step", "0.3"], "give --pixel-size"),
    ((6, 24, 24), "ZYX", None, None, [], "give --z-step UM and --pixel-size UM"),  # both named at once
    ((6, 24, 24), "ZYX", 0.1, 0.35, [], "the ratio must be an integer (2, 3, 4, ...) within 0.5%, got 3.5: "),
    ((6, 24, 24), "ZYX", 0.1, 0.1, [], "already isotropic"),
    ((6, 24, 24), "ZYX", 0.1, 0.1004, [], "already isotropic"),  # not a factor of 1 that trains and fails
    ((6, 24, 24), "ZYX", 0.1, 0.05, [], "oversampled in z"),
    ((6, 24, 24), "ZYX", 0.1, 300.0, [], "too large to train"),  # nm given as um: a factor of 3000
    ((6, 24, 24), "ZYX", 0.1, 0.9, [], "too small for it"),  # x9 needs planes of 36 pixels
    ((6, 24, 24), "ZYX", (0.1, 0.2), 0.3, [], "not square"),
])
def test_inputs_that_cannot_run_axially_stop_the_batch_before_any_training(volume, tmp_path, capsys, shape, axes,
                                                                            pixel, spacing, options, named):
    bad = volume.parent / "bad.tif"
    if axes is None:
        tifffile.imwrite(bad, textured(shape))
    elif spacing == "unknown":  # an ImageJ file with a unit and no spacing has planes 1 unit apart, as in Fiji
        tifffile.imwrite(bad, textured(shape), ome=True, metadata={"axes": axes, "PhysicalSizeX": pixel,
                                                                   "PhysicalSizeY": pixel})
    else:
        pixel_size = None if pixel is None else pixel if isinstance(pixel, tuple) else (pixel, pixel)
        write_imagej_tiff(bad, textured(shape), axes, pixel_size, z_spacing=spacing)
    assert main([str(volume.parent), "--out", str(tmp_path / "out"), "--axial", *options, *FAST]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err and named in err and "done" not in err and not (tmp_path / "out").exists()
    assert "crop_size" not in err and "axial_scale" not in err  # the library's names: the command line has neither
    # --z-step / --pixel-size would fix it, but they apply to both inputs
    calibration = named.startswith(("give --", "the ratio")) or named in ("already isotropic", "oversampled in z",
                                                                          "too large to train", "too small for it")
    assert ("give them for this file in a run of its own" in err) == calibration, err


@pytest.mark.parametrize("first, second", [([], ["--z-step", "0.3"]), (["--z-step", "0.3"], [])])
def test_the_files_own_z_step_given_or_not_is_the_same_setting(volume, tmp_path, capsys, first, second):
    args = ["--axial", str(volume), "--out", str(tmp_path / "out"), *FAST]  # its planes are 0.3 um apart
    assert main([*args, *first]) == 0
    capsys.readouterr()
    assert main([*args, *second]) == 0 and "skipped 1 (already done)" in capsys.readouterr().err
    assert main([*args, "--z-step", "0.4", "--pixel-size", "0.2"]) == 1
    assert "different settings" in capsys.readouterr().err


def test_a_constant_plane_inside_a_volume_is_a_note_of_the_file(tmp_path, capsys):
    stack = textured((6, 24, 24))
    stack[3] = 0  # a dropped frame
    write_imagej_tiff(tmp_path / "gap.tif", stack, "ZYX", (0.1, 0.1), z_spacing=0.3)
    assert main(["--axial", str(tmp_path / "gap.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0
    assert "gap.tif: the volume: plane z = 3 constant" in capsys.readouterr().err
    assert info_of(tmp_path / "out" / "gap_zssr.tif")["channels"][0]["notes"][0].startswith("the volume: plane z = 3")


def test_an_empty_channel_of_a_single_volume_is_passed_through(tmp_path, capsys):
    """An unstained channel beside a stained one: the file's other channel holds the structure (as laterally)."""
    stack = textured((5, 2, 24, 24))  # Z, C, Y, X
    stack[:, 1] = 0
    write_imagej_tiff(tmp_path / "two.tif", stack, "ZCYX", (0.1, 0.1), z_spacing=0.3)
    assert main(["--axial", str(tmp_path / "two.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0
    assert "two.tif: channel 1 is constant" in capsys.readouterr().err
    sr = read_tiff(tmp_path / "out" / "two_zssr.tif").data
    assert sr.shape == (15, 2, 24, 24) and np.all(sr[:, 1] == 0) and np.ptp(sr[:, 0]) > 0
    write_imagej_tiff(tmp_path / "one.tif", stack[:, 1], "ZYX", (0.1, 0.1), z_spacing=0.3)
    assert main(["--axial", str(tmp_path / "one.tif"), "--out", str(tmp_path / "out"), *FAST]) == 1
    assert "the volume is constant (every voxel 0)" in capsys.readouterr().err  # all there is: nothing to do


def test_an_axial_profile_from_the_optics_never_assumes_the_immersion(volume, tmp_path, capsys):
    """The refractive index sets the axial profile's width (water against oil: about 20 %)."""
    assert main([str(volume), "--out", str(tmp_path / "out"), "--axial", "--na", "1.2", "--wavelength", "520",
                 *FAST]) == 1
    err = capsys.readouterr().err
    assert "the axial profile from the optics needs the immersion's refractive index: give --refractive-index" in err
    assert main([str(volume), "--out", str(tmp_path / "out"), "--axial", "--wavelength", "520",
                 "--refractive-index", "1.333", *FAST]) == 1
    assert "the axial profile from the optics needs the objective's NA: give --na" in capsys.readouterr().err


def test_axial_wavelengths_that_do_not_fit_an_inputs_channels_are_a_usage_error_before_any_input_runs(tmp_path,
                                                                                                        capsys):
    """Lateral runs refused them before any input ran; an axial batch trained the first input and failed the next."""
    folder = tmp_path / "in"
    stack = textured((6, 2, 24, 24))
    write_imagej_tiff(folder / "a_two.tif", stack, "ZCYX", (0.1, 0.1), z_spacing=0.3)
    write_imagej_tiff(folder / "b_one.tif", stack[:, 0], "ZYX", (0.1, 0.1), z_spacing=0.3)
    optics = ["--na", "1.2", "--refractive-index", "1.333", "--wavelength", "520", "--wavelength", "600"]
    assert main([str(folder), "--out", str(tmp_path / "out"), "--axial", *optics, *FAST]) == 2
    assert "b_one.tif: 2 wavelengths given for 1 channels" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_default_modality_spelled_out_is_the_same_axial_setting(volume, tmp_path, capsys):
    optics = ["--na", "1.2", "--wavelength", "520", "--refractive-index", "1.333"]
    args = [str(volume), "--out", str(tmp_path / "out"), "--axial", *optics, *FAST]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--psf-model", "widefield"]) == 0
    assert "skipped 1 (already done)" in capsys.readouterr().err


def test_a_z_stack_saved_by_tifffile_without_axes_but_with_its_z_spacing_runs_axially(tmp_path):
    """tifffile stores a 3D ImageJ array without axes as channels: axial mode refused it for want of a Z axis."""
    path = tmp_path / "vol.tif"
    tifffile.imwrite(path, textured((6, 24, 24)), imagej=True, resolution=(1 / 0.1, 1 / 0.1),
                     metadata={"spacing": 0.3, "unit": "um"})
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST]) == 0
    sr = read_tiff(tmp_path / "out" / "vol_zssr.tif")
    assert sr.data.shape == (18, 24, 24) and sr.axes == "ZYX" and sr.z_spacing == pytest.approx(0.1)


def write_positions(path: Path, z_steps: tuple) -> Path:
    """An OME-TIFF of one 4 x 16 x 16 stack per position at 0.1 um pixels, each with its z step (None: not given)."""
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number, z_step in enumerate(z_steps):
            z = {} if z_step is None else {"PhysicalSizeZ": z_step}
            writer.write(textured((4, 16, 16), number), metadata={"axes": "ZYX", "PhysicalSizeX": 0.1,
                                                                  "PhysicalSizeY": 0.1, **z})
    return path


def test_each_image_series_of_a_file_is_restored_along_z_with_its_own_z_step(tmp_path):
    path = write_positions(tmp_path / "positions.ome.tif", (0.2, 0.3))
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST, "--precision", "float32"]) == 0
    for number, factor in enumerate((2, 3)):
        output = read_tiff(tmp_path / "out" / f"positions_series{number}_zssr.tif")
        assert output.data.shape == (4 * factor, 16, 16) and output.z_spacing == pytest.approx(0.1)
        assert info_of(tmp_path / "out" / f"positions_series{number}_zssr.tif")["axial"]["factor"] == factor


def test_an_image_series_that_cannot_be_restored_along_z_fails_alone(tmp_path, capsys):
    """A series without a z step stopped the whole batch with a usage error, whose advice (a run of its own for the
    file) could not help: the file's other series run, and it fails, named."""
    path = write_positions(tmp_path / "positions.ome.tif", (0.2, None))
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST, "--precision", "float32"]) == 1
    err = capsys.readouterr().err
    assert f"{path} (series 1): failed:" in err and "z spacing" in err and "done 1" in err
    assert read_tiff(tmp_path / "out" / "positions_series0_zssr.tif").data.shape == (8, 16, 16)
    assert not (tmp_path / "out" / "positions_series1_zssr.tif").exists()


def test_a_series_without_a_z_step_is_not_told_to_give_one_for_every_series(tmp_path, capsys):
    """"give --z-step UM" for one series of a file of several: given, it overrides every series' own z step (their
    factors silently wrong, or their outputs conflicts); the series must be run as a file of its own."""
    path = tmp_path / "positions.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number in range(2):
            writer.write(textured((4, 16, 16), number), metadata={"axes": "ZYX", "PhysicalSizeX": 0.1,
                                                                  "PhysicalSizeY": 0.1})
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST, "--precision", "float32"]) == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if ": failed: " in line]
    assert len(failures) == 2 and all("z spacing is unknown" in line and "series as a file of its own" in line
                                      for line in failures)


def test_an_image_series_whose_factor_cannot_train_is_told_so_in_the_batch_s_terms(tmp_path, capsys):
    """An image series is checked when it runs: its factor too large for the training crops was said in the library's
    terms ("raise crop_size", which the command line has no option for)."""
    path = write_positions(tmp_path / "deep.ome.tif", (0.2, 6.6))
    assert main([str(path), "--out", str(tmp_path / "out"), "--axial", *FAST, "--precision", "float32"]) == 1
    err = capsys.readouterr().err
    assert f"{path} (series 1): failed: its factor" in err and "crop_size" not in err
    assert "options apply to every series of the file" in err
