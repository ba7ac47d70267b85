import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from napari_zssr.cli import main
from napari_zssr.core.device import select_device
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.io.tiff import read_tiff
from napari_zssr.sample import gaussian_psf, microscopy_sample

FAST = ["--max-iterations", "3", "--quiet", "--preset", "fast"]


def textured(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000 + 100).astype(np.uint16)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    folder = tmp_path / "data"
    write_imagej_tiff(folder / "stack.tif", textured((3, 20, 18)), "ZYX", (0.2, 0.2), z_spacing=0.5)
    write_imagej_tiff(folder / "sub" / "stack.tif", textured((2, 2, 16, 16), 1), "ZCYX", (0.1, 0.1))
    tifffile.imwrite(folder / "plain.tif", textured((16, 16), 2))
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_batch_writes_every_output_with_geometry(data_dir, tmp_path, capsys):
    before = {p: digest(p) for p in data_dir.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    assert main([str(data_dir), "-r", "--out", str(out), *FAST]) == 0
    assert "skipped 1 file(s): not a TIFF" in capsys.readouterr().err
    stack = read_tiff(out / "stack_zssr.tif")
    assert stack.data.shape == (3, 40, 36) and stack.data.dtype == np.float32 and stack.axes == "ZYX"
    assert stack.pixel_size == pytest.approx((0.1, 0.1)) and stack.z_spacing == pytest.approx(0.5)
    assert stack.origin == pytest.approx((0.5, 0.5))
    settings = json.loads(stack.description)["settings"]
    assert settings["scale"] == 2.0 and settings["config"]["max_iterations"] == 3
    nested = read_tiff(out / "sub" / "stack_residual.tif")  # mirrored sub-folder: equal names never collide
    assert nested.data.shape == (2, 2, 32, 32) and nested.axes == "ZCYX"
    assert read_tiff(out / "plain_ensemble_median.tif").pixel_size is None
    assert {p: digest(p) for p in data_dir.rglob("*") if p.is_file()} == before  # inputs untouched


def test_dtype_input_rounds_and_clips_but_residual_stays_float(data_dir, tmp_path):
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--dtype", "input", *FAST]) == 0
    assert read_tiff(out / "plain_zssr.tif").data.dtype == np.uint16
    assert read_tiff(out / "plain_residual.tif").data.dtype == np.float32


def test_noise_level_option(data_dir, tmp_path):
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--noise-std", "0.02", *FAST]) == 0
    info = json.loads(read_tiff(out / "plain_zssr.tif").description)
    assert info["settings"]["config"]["noise_std"] == 0.02 and info["channels"][0]["noise_stds"] == [0.02]
    for bad in ("loud", "-1", "inf"):
        with pytest.raises(SystemExit):
            main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--noise-std", bad, *FAST])


def test_background_window_option_reaches_the_runs_config(data_dir, tmp_path):
    for window in ("8", "0"):
        out = tmp_path / f"out{window}"
        assert main([str(data_dir / "plain.tif"), "--out", str(out), "--background-window", window, *FAST]) == 0
        config = json.loads(read_tiff(out / "plain_zssr.tif").description)["settings"]["config"]
        assert config.get("background_window", 0) == int(window)  # 0 left out: records from before it stay equal


def test_the_summary_says_which_planes_a_background_was_taken_off(tmp_path, capsys):
    stack = textured((3, 16, 16), 4)
    stack[1] += (np.arange(16) * 2000).astype(np.uint16)[None, :]  # a ramp 30 times the texture's range
    tifffile.imwrite(tmp_path / "ramp.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    assert main([str(tmp_path / "ramp.tif"), "--out", str(tmp_path / "out"), "--max-iterations", "2",
                 "--preset", "fast", "--outputs", "zssr"]) == 0
    assert "; smooth background taken off of plane 1 before training, and put back" in capsys.readouterr().err


def test_a_background_window_left_out_of_the_record_is_named_as_0_where_settings_differ(data_dir, tmp_path, capsys):
    args = [str(data_dir / "plain.tif"), "--out", str(tmp_path / "out"), *FAST]
    assert main([*args, "--background-window", "8"]) == 0
    capsys.readouterr()
    assert main([*args, "--background-window", "0"]) == 1
    assert "different settings (config.background_window: 8 -> 0); left alone" in capsys.readouterr().err


def test_warm_start_trains_a_fifth_of_the_iterations_on_later_planes_unless_told(data_dir, tmp_path):
    source = str(data_dir / "stack.tif")
    options = ["--max-iterations", "60", "--quiet", "--outputs", "zssr"]
    assert main([source, "--out", str(tmp_path / "auto"), "--warm-start", *options]) == 0
    info = json.loads(read_tiff(tmp_path / "auto" / "stack_zssr.tif").description)
    assert info["channels"][0]["iterations"] == [60, 12, 12] and info["settings"]["warm_start"] == 12
    assert main([source, "--out", str(tmp_path / "five"), "--warm-start", "5", *options]) == 0
    info = json.loads(read_tiff(tmp_path / "five" / "stack_zssr.tif").description)
    assert info["channels"][0]["iterations"] == [60, 5, 5]
    for bad in ("0", "many"):
        with pytest.raises(SystemExit):
            main([source, "--out", str(tmp_path / "bad"), "--warm-start", bad, *options])


def test_resume_skips_done_files_and_protects_other_settings(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(data_dir / "plain.tif"), "--out", str(out), "--outputs", "zssr", *FAST]
    assert main(args) == 0
    written = out / "plain_zssr.tif"
    stamp = written.stat().st_mtime_ns
    assert main(args) == 0
    assert "skipped 1" in capsys.readouterr().err and written.stat().st_mtime_ns == stamp
    assert main([*args, "--device", "cpu"]) == 0  # where it runs is not what it makes: a resume on another machine
    assert "skipped 1" in capsys.readouterr().err and written.stat().st_mtime_ns == stamp
    assert main([*args, "--seed", "9"]) == 1
    assert "different settings" in capsys.readouterr().err and written.stat().st_mtime_ns == stamp
    assert main([*args, "--seed", "9", "--overwrite"]) == 0
    assert written.stat().st_mtime_ns != stamp


def test_corrupt_file_is_reported_and_the_rest_go_on(data_dir, tmp_path, capsys, caplog):
    """A file cut after its first bytes (still being copied) raised tifffile's struct.error, which stopped the batch
    with a traceback: it is named as failed, and the inputs after it run."""
    (data_dir / "broken.tif").write_bytes(b"II*\x00garbage")
    (data_dir / "a_cut.tif").write_bytes(b"II*\x00")
    out = tmp_path / "out"
    assert main([str(data_dir), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert "broken.tif: failed" in err and "done 2" in err and "failed 2" in err
    assert "could not read a_cut.tif as a TIFF: it looks damaged or truncated" in err
    # said before any file trains, not hours into a batch when their turn comes
    assert err.index("note: 2 file(s) cannot be read as TIFFs") < err.index("done 2")
    (data_dir / "empty.tif").write_bytes(b"")  # a copy interrupted at its start
    assert main([str(data_dir / "empty.tif"), "--out", str(out), *FAST]) == 1
    assert "empty.tif is empty (0 bytes): was its copy, or its writing, interrupted? Copy it again" in \
        capsys.readouterr().err
    assert not [record for record in caplog.records if record.name == "tifffile"]  # named once, by the batch
    assert (out / "stack_zssr.tif").exists() and not (out / "broken_zssr.tif").exists()
    assert not list(out.glob("*.part"))


def test_psf_per_channel_and_blank_planes(tmp_path):
    stack = textured((2, 3, 20, 20)).astype(np.float32)
    stack[1, 0] = 0  # a blank plane must not abort the stack
    write_imagej_tiff(tmp_path / "c.tif", stack, "ZCYX", (0.2, 0.2))
    psf = (gaussian_psf(1.0) * 1000 + 10).astype(np.float32)
    for name in ("a", "b", "c"):
        np.save(tmp_path / f"{name}.npy", psf)
    out = tmp_path / "out"
    psfs = ["--psf", str(tmp_path / "a.npy"), "--psf", str(tmp_path / "b.npy")]
    assert main([str(tmp_path / "c.tif"), "--out", str(out), *psfs, "--psf", str(tmp_path / "c.npy"), *FAST]) == 0
    result = read_tiff(out / "c_zssr.tif").data
    assert result.shape == (2, 3, 40, 40) and np.all(result[1, 0] == 0)
    assert main([str(tmp_path / "c.tif"), "--out", str(tmp_path / "o2"), *psfs, *FAST]) == 2  # 2 PSFs, 3 channels


def test_a_psf_file_of_one_psf_per_channel_gives_each_channel_of_an_input_its_own(tmp_path, multicolour_psf, capsys):
    """A multicolour bead image (one PSF TIFF with a channel axis) was refused; given once (--psf), channel c of an
    input takes its PSF channel c, as that channel's PSF saved alone and given for it (--psf once per channel)."""
    multi, singles = multicolour_psf
    write_imagej_tiff(tmp_path / "in" / "two.tif", textured((2, 20, 20)), "CYX", (0.1, 0.1))
    args = [str(tmp_path / "in" / "two.tif"), *ZSSR_ONLY]
    assert main([*args, "--out", str(tmp_path / "multi"), "--psf", str(multi)]) == 0
    assert main([*args, "--out", str(tmp_path / "alone"), *(f"--psf={single}" for single in singles)]) == 0
    made = read_tiff(tmp_path / "multi" / "two_zssr.tif")
    np.testing.assert_array_equal(made.data, read_tiff(tmp_path / "alone" / "two_zssr.tif").data)
    kernels = [channel["kernel"] for channel in json.loads(made.description)["channels"]]
    assert [(kernel["psf_path"], kernel["psf_channel"]) for kernel in kernels] == [(str(multi), 0), (str(multi), 1)]
    capsys.readouterr()
    for name, image, said in (("three", textured((3, 20, 20)), "3: "),
                              ("one", textured((20, 20)), "one: give a PSF file of one channel")):
        write_imagej_tiff(tmp_path / "in" / f"{name}.tif", image, "CYX"[3 - image.ndim:], (0.1, 0.1))
        out = tmp_path / f"o_{name}"  # refused before any input runs: two.tif, which fits, is not made either
        assert main([str(tmp_path / "in"), "--out", str(out), "--psf", str(multi), *ZSSR_ONLY]) == 2
        assert f"{name}.tif: the PSF file beads.tif holds 2 channels, one PSF each, while the image has {said}" \
            in capsys.readouterr().err
        assert not out.exists()
        (tmp_path / "in" / f"{name}.tif").unlink()


def test_a_psf_file_of_one_series_per_channel_gives_each_channel_of_an_input_its_own(tmp_path, series_psf, capsys):
    """A multicolour bead saved one OME image series per channel gave every channel of an input its first series'
    PSF. Channel c of an input of as many channels takes series c, as each channel's PSF given on its own, and the note
    says so; an input of other channels is refused, naming the file and its series, before any input runs; one of one
    channel takes the first series, as before."""
    beads, singles = series_psf
    for name, image in (("two", textured((2, 20, 20))), ("one", textured((20, 20), 1))):
        write_imagej_tiff(tmp_path / name / f"{name}.tif", image, "CYX"[3 - image.ndim:], (0.1, 0.1))
    two = [str(tmp_path / "two" / "two.tif"), *ZSSR_ONLY]
    assert main([*two, "--out", str(tmp_path / "by_series"), "--psf", str(beads)]) == 0
    assert main([*two, "--out", str(tmp_path / "alone"), *(f"--psf={single}" for single in singles)]) == 0
    made = read_tiff(tmp_path / "by_series" / "two_zssr.tif")
    np.testing.assert_array_equal(made.data, read_tiff(tmp_path / "alone" / "two_zssr.tif").data)
    kernels = [channel["kernel"] for channel in json.loads(made.description)["channels"]]
    assert [(kernel["psf_channel"], kernel["psf_channels"]) for kernel in kernels] == [(0, 2), (1, 2)]
    assert "colours.ome.tif holds 2 image series alike, one PSF each: an image of 2 channels takes series k for its " \
        "channel k" in capsys.readouterr().err
    one = [str(tmp_path / "one" / "one.tif"), *ZSSR_ONLY]
    assert main([*one, "--out", str(tmp_path / "one_series"), "--psf", str(beads)]) == 0
    assert main([*one, "--out", str(tmp_path / "one_alone"), "--psf", str(singles[0])]) == 0
    np.testing.assert_array_equal(read_tiff(tmp_path / "one_series" / "one_zssr.tif").data,
                                  read_tiff(tmp_path / "one_alone" / "one_zssr.tif").data)
    write_imagej_tiff(tmp_path / "three" / "three.tif", textured((3, 20, 20)), "CYX", (0.1, 0.1))
    capsys.readouterr()
    assert main([str(tmp_path / "three"), "--out", str(tmp_path / "o3"), "--psf", str(beads), *ZSSR_ONLY]) == 2
    assert "three.tif: the PSF file colours.ome.tif holds 2 image series, one PSF each, which an image of 2 " \
        "channels takes one per channel (channel k: series k), while the image has 3" in capsys.readouterr().err
    assert not (tmp_path / "o3").exists()


def test_a_psf_file_is_read_whole_once_for_each_channel_s_kernel(tmp_path, multicolour_psf, monkeypatch):
    """Counting a PSF file's channels read its pixels too: a 2-channel input read its PSF file whole 10 times (7 for a
    PSF without channels, 3 before files of one PSF per channel); now once per channel's kernel in the options'
    check and once in the run, as before."""
    multi, singles = multicolour_psf
    write_imagej_tiff(tmp_path / "in" / "two.tif", textured((2, 20, 20)), "CYX", (0.1, 0.1))
    reads: list[str] = []
    whole = tifffile.TiffPageSeries.asarray
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray",
                        lambda series, *a, **k: reads.append(Path(series.parent.filehandle.path).name) or
                        whole(series, *a, **k))
    for name, psf in (("multi", [str(multi)]), ("single", [str(singles[0])])):
        reads.clear()
        assert main([str(tmp_path / "in" / "two.tif"), "--out", str(tmp_path / name), "--psf", *psf, *ZSSR_ONLY]) == 0
        assert reads.count(Path(psf[0]).name) == (4 if name == "multi" else 3), reads


def test_an_output_named_twice_is_written_once(tmp_path):
    """Named twice, the outputs of a channel stack were stacked twice: a 4-channel file for 2 channels."""
    write_imagej_tiff(tmp_path / "in" / "zc.tif", textured((2, 2, 16, 16)), "ZCYX", (0.1, 0.1))
    out = tmp_path / "out"
    assert main([str(tmp_path / "in"), "--out", str(out), "--outputs", "zssr,residual,zssr", *FAST]) == 0
    assert read_tiff(out / "zc_zssr.tif").data.shape == (2, 2, 32, 32)
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == \
        ["zc_residual.tif", "zc_zssr.tif"]


def test_usage_errors(data_dir, tmp_path):
    assert main([str(data_dir / "plain.tif"), "--out", str(data_dir), *FAST]) == 2  # next to the input
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--outputs", "best", *FAST]) == 2
    assert main([str(tmp_path / "nothing*.tif"), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--device", "cuda:9", *FAST]) == 2
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--precision", "float16",
                 "--device", "cpu", *FAST]) == 2
    assert not (tmp_path / "o").exists()


def test_inputs_may_follow_the_options(data_dir, tmp_path, monkeypatch):
    """``napari-zssr a.tif --out o b.tif`` was refused: "unrecognized arguments: b.tif"."""
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), str(data_dir / "stack.tif"), *FAST]) == 0
    assert sorted(path.name for path in out.glob("*_zssr.tif")) == ["plain_zssr.tif", "stack_zssr.tif"]
    dashed = data_dir / "-dashed.tif"  # after "--" a name is an input whatever it looks like
    tifffile.imwrite(dashed, textured((16, 16), 3))
    monkeypatch.chdir(data_dir)
    assert main(["--out", str(out), *FAST, "--", "-dashed.tif"]) == 0 and (out / "-dashed_zssr.tif").exists()


def test_command_runs_as_a_subprocess(data_dir, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "napari_zssr", str(data_dir / "plain.tif"), "--out", str(out),
                           *FAST], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert read_tiff(out / "plain_zssr.tif").data.shape == (32, 32)
    helped = subprocess.run([sys.executable, "-m", "napari_zssr", "--help"], capture_output=True, text=True,
                            timeout=300)
    assert helped.returncode == 0 and "--psf-pixel-size" in helped.stdout
    for module, said in (("napari_zssr.cli", "expected a factor > 1"),  # not a silent exit 0 that passes for a batch
                         ("napari_zssr.command_line", "run napari-zssr or python -m napari_zssr")):
        typo = subprocess.run([sys.executable, "-m", module, "a.tif", "--out", str(out), "--scale", "1"],
                              capture_output=True, text=True, timeout=300)
        assert typo.returncode == 2 and said in typo.stderr


ZSSR_ONLY = [*FAST, "--outputs", "zssr"]


def input_path_of(output: Path) -> str:
    return json.loads(read_tiff(output).description)["input"]["path"]


def test_inputs_with_the_same_stem_get_their_own_outputs(tmp_path, capsys):
    for folder, seed in (("A", 1), ("B", 2)):
        write_imagej_tiff(tmp_path / folder / "x.tif", textured((16, 16), seed), "YX", None)
    out = tmp_path / "out"
    assert main([str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(out), *ZSSR_ONLY]) == 0
    assert input_path_of(out / "A" / "x_zssr.tif") == str((tmp_path / "A" / "x.tif").resolve())
    assert input_path_of(out / "B" / "x_zssr.tif") == str((tmp_path / "B" / "x.tif").resolve())
    assert main([str(tmp_path / "*" / "x.tif"), "--out", str(tmp_path / "globbed"), *ZSSR_ONLY]) == 0
    assert sorted(p.relative_to(tmp_path / "globbed") for p in (tmp_path / "globbed").rglob("*.tif")) == [
        Path("A/x_zssr.tif"), Path("B/x_zssr.tif")]
    tifffile.imwrite(tmp_path / "A" / "x.tiff", textured((16, 16), 3))
    tifffile.imwrite(tmp_path / "B" / "x.tiff", textured((16, 16), 4))
    assert main([str(tmp_path / "A" / "x.tif"), str(tmp_path / "A" / "x.tiff"), "--out", str(tmp_path / "o2"),
                 *ZSSR_ONLY]) == 0
    assert input_path_of(tmp_path / "o2" / "x.tif_zssr.tif").endswith("x.tif")
    assert input_path_of(tmp_path / "o2" / "x.tiff_zssr.tif").endswith("x.tiff")
    stamp = (tmp_path / "o2" / "x.tif_zssr.tif").stat().st_mtime_ns  # a later run on another x.tif, same names
    assert main([str(tmp_path / "B" / "x.tif"), str(tmp_path / "B" / "x.tiff"), "--out", str(tmp_path / "o2"),
                 *ZSSR_ONLY]) == 1
    assert "was made from another input" in capsys.readouterr().err
    assert (tmp_path / "o2" / "x.tif_zssr.tif").stat().st_mtime_ns == stamp


def test_an_ome_tiff_is_named_without_its_ome_unless_a_plain_tiff_shares_the_name(tmp_path):
    from napari_zssr.batch_inputs import Source, plan_jobs

    def stems(*names):
        return [str(job.output_stem) for job in plan_jobs([Source(tmp_path / name, tmp_path) for name in names])]

    assert stems("cells.ome.tif", "b.OME.TIFF", "c.tif") == ["cells", "b", "c"]  # outputs are ImageJ, not OME
    assert stems("x.tif", "x.ome.tif") == ["x.tif", "x.ome.tif"]


def test_inputs_whose_names_differ_only_in_case_are_refused(tmp_path, capsys):
    for name in ("x.tif", "X.tif"):
        tifffile.imwrite(tmp_path / name, textured((16, 16)))
    assert main([str(tmp_path / "x.tif"), str(tmp_path / "X.tif"), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert "would share output names" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_recursive_rerun_with_out_inside_the_inputs_never_takes_outputs_as_inputs(data_dir, capsys):
    out = data_dir / "results"
    args = [str(data_dir), "-r", "--out", str(out), *ZSSR_ONLY]
    assert main(args) == 0
    first = sorted(p.relative_to(out) for p in out.rglob("*.tif"))
    assert len(first) == 3
    (data_dir / "copied_result.tif").write_bytes((out / "plain_zssr.tif").read_bytes())  # ours, found elsewhere
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 3 (already done)" in err and "under --out" in err and "written by napari-zssr" in err
    assert sorted(p.relative_to(out) for p in out.rglob("*.tif")) == first
    assert main([str(out / "plain_zssr.tif"), "--out", str(out), *ZSSR_ONLY]) == 2  # an output alone: nothing to do


def test_the_same_command_again_with_an_unquoted_glob_that_now_names_out_skips_what_is_done(data_dir, capsys):
    """``napari-zssr * --out results`` run again: the shell now names ``results`` too, which stopped the rerun with
    "--out holds the input results" (exit 2), where the docs say to run the same command again."""
    out = data_dir / "results"
    assert main([str(data_dir / "plain.tif"), str(data_dir / "stack.tif"), "--out", str(out), *ZSSR_ONLY]) == 0
    capsys.readouterr()
    again = [str(data_dir / "plain.tif"), str(data_dir / "stack.tif"), str(out)]  # what the shell's * gives now
    assert main([*again, "--out", str(out), *ZSSR_ONLY]) == 0
    assert "skipped 2 (already done)" in capsys.readouterr().err
    (out / "partial.tif").write_bytes(b"II*\x00 not a whole TIFF")  # named outright there, and not ours: refused
    assert main([str(data_dir / "plain.tif"), str(out / "partial.tif"), "--out", str(out), *ZSSR_ONLY]) == 2
    assert "TIFF(s) napari-zssr did not write (" in capsys.readouterr().err


def test_an_out_that_is_a_link_to_nothing_is_refused(data_dir, tmp_path, capsys, monkeypatch):
    """A link into a share that is not mounted: its target was created on the local disk and written into."""
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "nas" / "results")
    assert main([str(data_dir / "plain.tif"), "--out", str(link), *ZSSR_ONLY]) == 2
    assert f"is a link to {tmp_path / 'nas' / 'results'}, which does not exist (a share that is not mounted?)" in \
        capsys.readouterr().err
    assert not (tmp_path / "nas").exists()
    (tmp_path / "mnt").mkdir()  # an unmounted share's mount point, which only root may write
    mounted = tmp_path / "share"
    mounted.symlink_to(tmp_path / "mnt" / "results")
    monkeypatch.setattr("napari_zssr.batch_jobs.os.access", lambda *args: False)
    assert main([str(data_dir / "plain.tif"), "--out", str(mounted), *ZSSR_ONLY]) == 2
    assert "is a link to" in capsys.readouterr().err  # not "cannot be written": the link is what is wrong


def test_an_image_without_pixels_is_said_to_be_one(tmp_path, capsys):
    """It was said to be truncated (was it still being copied, or the disk full?): copying it again cannot help."""
    with pytest.warns(UserWarning, match="zero-size"):
        tifffile.imwrite(tmp_path / "zero.tif", np.zeros((0, 32, 32), np.uint16))
    assert main([str(tmp_path / "zero.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 1
    assert "zero.tif holds an image without pixels (shape (0, 32, 32)): nothing to read" in \
        capsys.readouterr().err


@pytest.mark.parametrize("pattern", [False, True])
def test_an_out_among_the_inputs_that_holds_raw_data_is_refused(tmp_path, capsys, pattern):
    """``data -r --out data/A`` (or ``'data/*/x.tif' --out data/B``) with raw data in A: that input was skipped as
    "under --out" and the outputs went into the raw-data folder; a TIFF of the user's in an output's place was
    replaced with --overwrite."""
    for folder in ("A", "B"):
        (tmp_path / "d" / folder).mkdir(parents=True)
        tifffile.imwrite(tmp_path / "d" / folder / "x.tif", textured((16, 16)))
    inputs = [str(tmp_path / "d" / "*" / "x.tif")] if pattern else [str(tmp_path / "d"), "-r"]
    out = tmp_path / "d" / "A"
    before = digest(out / "x.tif")
    assert main([*inputs, "--out", str(out), "--overwrite", *ZSSR_ONLY]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} lies among the inputs and holds 1 TIFF(s) napari-zssr did not write" in err
    assert str(out / "x.tif") in err and "choose an output folder that holds no input" in err
    assert sorted(p.name for p in out.iterdir()) == ["x.tif"] and digest(out / "x.tif") == before


def test_an_output_is_never_written_beside_an_input_through_a_link_under_out(tmp_path, capsys):
    """The batch ran and left a_zssr.tif, b_residual.tif... among the raw data of the linked folder."""
    first, second, out = tmp_path / "in", tmp_path / "in2", tmp_path / "out"
    for folder in (first, second):
        folder.mkdir()
        tifffile.imwrite(folder / "a.tif", textured((16, 16)))
    out.mkdir()
    (out / "in").symlink_to(first)
    assert main([str(first), str(second), "--out", str(out), *ZSSR_ONLY]) == 2
    err = capsys.readouterr().err
    assert (f"the output {out / 'in' / 'a_zssr.tif'} of {first / 'a.tif'} would be written beside the input "
            f"{first / 'a.tif'}, into {first} (a link under --out leads there)") in err, err
    assert sorted(path.name for path in first.iterdir()) == ["a.tif"]


def test_an_output_is_never_written_over_an_input_through_a_link_under_out(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    (data / "day1").mkdir(parents=True)
    tifffile.imwrite(data / "day1" / "a.tif", textured((16, 16)))
    tifffile.imwrite(data / "day1" / "a_zssr.tif", textured((16, 16), 1))  # the user's, named like a's output
    before = digest(data / "day1" / "a_zssr.tif")
    out.mkdir()
    (out / "day1").symlink_to(data / "day1")  # a's outputs would land beside the inputs
    assert main([str(data), "-r", "--out", str(out), "--overwrite", *ZSSR_ONLY]) == 2
    err = capsys.readouterr().err
    assert "would be written over the input" in err and "a_zssr.tif" in err
    assert digest(data / "day1" / "a_zssr.tif") == before


def test_resume_redoes_a_changed_input(data_dir, tmp_path, capsys):
    source, out = data_dir / "plain.tif", tmp_path / "out"
    args = [str(source), "--out", str(out), *ZSSR_ONLY]
    assert main(args) == 0
    before = read_tiff(out / "plain_zssr.tif").data
    tifffile.imwrite(source, textured((16, 16), 7))  # same name, same size, another image
    capsys.readouterr()
    assert main(args) == 0
    assert "changed since" in capsys.readouterr().err
    assert not np.array_equal(read_tiff(out / "plain_zssr.tif").data, before)
    assert main(args) == 0 and "skipped 1" in capsys.readouterr().err


def test_resume_skips_the_same_files_reached_by_another_path(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(data_dir), "--out", str(out), *ZSSR_ONLY]) == 0
    moved = tmp_path / "moved"
    data_dir.rename(moved)  # the folder moved, or mounted elsewhere: same names, sizes and times
    capsys.readouterr()
    assert main([str(moved), "--out", str(out), *ZSSR_ONLY]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 (already done)" in err and "another input" not in err


def test_another_file_of_the_same_name_size_and_time_is_another_input(tmp_path, capsys):
    """Two positions' images, same name, shape and time stamp (a coarse clock, an acquisition time), each its own
    folder run into one --out: the second is not the first moved."""
    for folder, seed in (("pos01", 1), ("pos02", 2)):
        (tmp_path / folder).mkdir()
        tifffile.imwrite(tmp_path / folder / "img.tif", textured((16, 16), seed))
        os.utime(tmp_path / folder / "img.tif", ns=(10**18, 10**18))
    out = tmp_path / "out"
    assert main([str(tmp_path / "pos01"), "--out", str(out), *ZSSR_ONLY]) == 0
    capsys.readouterr()
    assert main([str(tmp_path / "pos02"), "--out", str(out), *ZSSR_ONLY]) == 1
    assert "was made from another input" in capsys.readouterr().err


def test_resume_redoes_an_input_whose_psf_file_was_replaced(data_dir, tmp_path, capsys):
    psf, out = tmp_path / "psf.npy", tmp_path / "out"
    np.save(psf, gaussian_psf(1.0).astype(np.float32))
    args = [str(data_dir / "plain.tif"), "--out", str(out), "--psf", str(psf), *ZSSR_ONLY]
    assert main(args) == 0
    before = read_tiff(out / "plain_zssr.tif").data
    np.save(psf, gaussian_psf(2.0, radius=4).astype(np.float32))  # measured again, under the same name
    capsys.readouterr()
    assert main(args) == 0
    assert f"{psf} changed since" in capsys.readouterr().err
    assert not np.array_equal(read_tiff(out / "plain_zssr.tif").data, before)
    assert main(args) == 0 and "skipped 1" in capsys.readouterr().err


@pytest.mark.parametrize("first, spelled_out", [
    ([], ["--kernel", "none"]),
    (["--na", "1.2", "--wavelength", "520", "--pixel-size", "0.1"], ["--kernel", "optics", "--psf-model", "widefield"]),
])
def test_a_default_spelled_out_is_the_same_setting(data_dir, tmp_path, capsys, first, spelled_out):
    args = [str(data_dir / "plain.tif"), "--out", str(tmp_path / "out"), *ZSSR_ONLY, *first]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, *spelled_out]) == 0 and "skipped 1 (already done)" in capsys.readouterr().err


@pytest.mark.parametrize("first, second", [([], ["--pixel-size", "0.2"]), (["--pixel-size", "0.2"], [])])
def test_the_files_own_pixel_size_given_or_not_is_the_same_setting(data_dir, tmp_path, capsys, first, second):
    args = [str(data_dir / "stack.tif"), "--out", str(tmp_path / "out"), *ZSSR_ONLY]  # its pixels are 0.2 um
    assert main([*args, *first]) == 0
    capsys.readouterr()
    assert main([*args, *second]) == 0 and "skipped 1 (already done)" in capsys.readouterr().err
    assert main([*args, "--pixel-size", "0.25"]) == 1
    assert "different settings (pixel_size: " in capsys.readouterr().err


def test_the_files_own_pixel_size_is_not_named_among_the_differing_settings(data_dir, tmp_path, capsys):
    """It is no other setting: named, it would hide a real difference past the first three."""
    args = [str(data_dir / "stack.tif"), "--out", str(tmp_path / "out"), *ZSSR_ONLY]  # its pixels are 0.2 um
    assert main([*args, "--pixel-size", "0.2", "--init", "learned"]) == 0
    capsys.readouterr()
    assert main([*args, "--init", "scratch"]) == 1
    assert "different settings (config.init: 'learned' -> 'scratch'); left alone" in capsys.readouterr().err


def test_the_summary_ends_with_the_files_that_need_the_user(data_dir, tmp_path, capsys):
    tifffile.imwrite(data_dir / "nan.tif", np.full((16, 16), np.nan, np.float32))
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), *ZSSR_ONLY, "--seed", "1"]) == 0
    capsys.readouterr()
    assert main([str(data_dir), "--out", str(out), *ZSSR_ONLY]) == 1
    tail = capsys.readouterr().err.splitlines()
    failed, left_alone = tail.index("failed:"), tail.index("left alone (why: see above):")
    assert tail[failed + 1].startswith(f"  {data_dir / 'nan.tif'}: ") and "NaN" in tail[failed + 1]
    assert tail[left_alone + 1:] == [f"  {data_dir / 'plain.tif'}"]


def test_a_warm_start_longer_than_the_first_plane_is_a_usage_error(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(data_dir), "--out", str(out), *FAST, "--warm-start", "8"]) == 2
    assert "--warm-start must be a whole number from 1 to --max-iterations (3), got 8" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, pytest.param(
    getattr(signal, "SIGHUP", None), marks=pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP"))])
def test_sigterm_and_sighup_stop_a_batch_as_ctrl_c_does(data_dir, tmp_path, capsys, monkeypatch, signum):
    """A job scheduler's cancel (Slurm's scancel) sends SIGTERM, a dropped ssh session SIGHUP (which killed the
    process at once, its temporary files left): exit 130 with the same message, no traceback."""
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this

    previous = signal.getsignal(signum)
    monkeypatch.setattr("napari_zssr.batching.select_device", terminated)
    assert main([str(data_dir), "--out", str(tmp_path / "o"), *FAST]) == 130
    assert "interrupted: finished files are kept" in capsys.readouterr().err
    assert signal.getsignal(signum) is previous  # put back for whoever called main()


def test_an_interrupted_batch_says_what_it_did_and_what_it_did_not_run(tmp_path, capsys, monkeypatch):
    """After a Ctrl-C (or a job scheduler's SIGTERM) only "interrupted" was said: not what was done, nor what failed
    or was left alone, nor what is left for the rerun."""
    from napari_zssr import batching

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        tifffile.imwrite(inputs / f"{name}.tif", (np.random.default_rng(0).random((24, 20)) * 1000).astype(np.uint16))
    real_process = batching.process_file

    def stop_at_the_second(job, *args, **kwargs):
        if job.source.name == "b.tif":
            raise KeyboardInterrupt
        return real_process(job, *args, **kwargs)

    monkeypatch.setattr(batching, "process_file", stop_at_the_second)
    assert main([str(inputs), "--out", str(tmp_path / "out"), *FAST]) == 130
    err = capsys.readouterr().err
    assert re.search(r"done 1, skipped 0 \(already done\), conflicts 0, failed 0, not run 2, [\d.]+ s", err), err
    assert f"not run (interrupted: run the same command again):\n  {inputs / 'b.tif'}\n  {inputs / 'c.tif'}\n" in err
    assert err.rstrip().endswith("run the same command again to continue")

    def terminal_gone(message):  # a hang-up (SIGHUP, stopping the batch as Ctrl-C does) took the terminal: EIO
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(batching, "say", terminal_gone)
    assert main([str(inputs), "--out", str(tmp_path / "out"), *FAST]) == 130  # not a traceback of the summary's


def test_an_input_removed_during_the_batch_is_said_to_be_gone(tmp_path, capsys, monkeypatch):
    """A file moved away while the batch ran the ones before it failed with a bare "[Errno 2] No such file"."""
    from napari_zssr import batching

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b"):
        tifffile.imwrite(inputs / f"{name}.tif", (np.random.default_rng(0).random((24, 20)) * 1000).astype(np.uint16))
    real_triage = batching.triage

    def b_moved_away(job, *args, **kwargs):
        if job.source.name == "b.tif":
            job.source.rename(tmp_path / "b.tif")
        return real_triage(job, *args, **kwargs)

    monkeypatch.setattr(batching, "triage", b_moved_away)
    assert main([str(inputs), "--out", str(tmp_path / "out"), *FAST]) == 1
    err = capsys.readouterr().err
    assert f"{inputs / 'b.tif'}: failed: the input was removed or moved since the batch started" in err, err
    assert "Errno" not in err and "done 1" in err


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP")
def test_a_sighup_ignored_as_nohup_ignores_it_stays_ignored():
    from napari_zssr.cli import stopped_on_terminate

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stopped_on_terminate():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)  # SIGTERM stops it
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_the_interrupted_line_lost_with_the_terminal_still_gives_status_130(data_dir, tmp_path, monkeypatch):
    """After a hang-up, writing to the terminal raises EIO: the line's print ended the batch with status 1 and a
    traceback."""
    import builtins

    def hung_up(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("napari_zssr.batching.select_device", stopped)
    monkeypatch.setattr(builtins, "print", hung_up)
    assert main([str(data_dir), "--out", str(tmp_path / "o"), *FAST]) == 130


def exit_status_of(tmp_path: Path, module: str, lines: Sequence[str]) -> int:
    """The exit status of ``python -m <module>``, a module of ``lines`` written into ``tmp_path``."""
    (tmp_path / f"{module}.py").write_text("".join(f"{line}\n" for line in lines))
    paths = os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", module], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": paths}).returncode


def test_an_interrupted_process_exits_with_status_130_not_by_a_signal_of_python_s_own(tmp_path):
    """Where a Ctrl-C or a SIGTERM reached Python while an extension module ran Python code of its own as it loaded
    (PyRun_String, as torch does), CPython ended ``python -m napari_zssr`` by a SIGINT of its own, however the
    interruption was handled: Slurm then records "killed by signal 2", even of a SIGTERM."""
    assert exit_status_of(tmp_path, "interrupted_once", [
        "import ctypes",
        "ctypes.pythonapi.PyRun_SimpleString(b'raise KeyboardInterrupt')  # as an extension module's own code can",
        "import napari_zssr.cli as cli",
        "cli.main = lambda argv=None: cli.EXIT_INTERRUPTED  # an interrupted batch, cleaned up",
        "cli.run_as_process()"]) == 130


def test_the_status_comes_even_where_the_terminal_has_gone(tmp_path):
    """After a hang-up, flushing what was printed fails (EIO): the process then ended with a traceback and status 1."""
    assert exit_status_of(tmp_path, "hung_up", [
        "import errno, sys",
        "import napari_zssr.cli as cli",
        "class HungUp:",
        "    def write(self, text): return len(text)",
        "    def flush(self): raise OSError(errno.EIO, 'Input/output error')",
        "sys.stdout = sys.stderr = HungUp()",
        "cli.exit_now(130)"]) == 130


def test_a_sigterm_while_a_finished_batch_s_process_winds_down_keeps_the_batch_s_status(tmp_path):
    """The handler went with main(): a SIGTERM (Slurm's scancel) in the second Python takes to wind down ended a
    finished batch as killed, status 143."""
    assert exit_status_of(tmp_path, "terminated_at_exit", [
        "import atexit, os, signal",
        "import napari_zssr.cli as cli",
        "cli.main = lambda argv=None: 1  # a batch that ended, one file failed",
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))  # as the process winds down",
        "cli.run_as_process()"]) == 1


def test_a_bigtiff_named_btf_is_an_input_in_a_folder_and_named_outright(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    tifffile.imwrite(folder / "big.btf", microscopy_sample().image[:24, :24], bigtiff=True)
    assert main([str(folder / "big.btf"), "--out", str(tmp_path / "named"), *ZSSR_ONLY]) == 0
    assert main([str(folder), "--out", str(tmp_path / "walked"), *ZSSR_ONLY]) == 0
    for out in ("named", "walked"):
        assert read_tiff(tmp_path / out / "big_zssr.tif").data.shape == (48, 48)
    from napari_zssr.napari.reader import get_reader

    assert get_reader(str(folder / "BIG.BTF")) is not None


def test_a_psf_folder_and_a_deep_glob_without_r_are_named(data_dir, tmp_path, capsys):
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--psf", str(data_dir), *FAST]) == 2
    assert f"the PSF file {data_dir} is a folder" in capsys.readouterr().err
    assert main([str(data_dir / "**" / "*.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert "without -r, ** matches one folder level" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_is_named_as_such(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("not a folder")
    assert main([str(data_dir), "-r", "--out", str(out), *ZSSR_ONLY]) == 1
    assert f"{out / 'sub'} is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("option, value", [
    ("--pixel-size", "0"), ("--pixel-size", "-0.1"), ("--pixel-size", "nan"), ("--pixel-size", "inf"),
    ("--psf-pixel-size", "0"), ("--psf-pixel-size", "nan"), ("--max-iterations", "0"), ("--scale", "1"),
    ("--scale", "0.5"), ("--scale", "nan"), ("--scale", "inf"), ("--seed", "-1"), ("--noise-std", "2"),
    ("--background-window", "-1"), ("--background-window", "2.5"), ("--background-window", "2"),
])
def test_bad_numbers_are_usage_errors(data_dir, tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *FAST, option, value])
    assert exit_.value.code == 2 and option in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_output_folders_are_usage_errors(data_dir, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    for out in (a_file, a_file / "sub"):
        assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 2
        assert "--out" in capsys.readouterr().err
    monkeypatch.setattr("os.access", lambda path, mode: False)  # as a folder of another user's answers (tests run
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *FAST]) == 2  # as root)
    err = capsys.readouterr().err
    assert f"cannot be written: {tmp_path}: permission denied" in err and "done" not in err
    # a read-only mount answers os.access as a permission would: said as what it is, no permission to change
    monkeypatch.setattr("os.statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert f"cannot be written: {tmp_path}: its file system is mounted read-only" in capsys.readouterr().err


def test_no_summary_before_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "nothing*.tif"), "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "no TIFF files to process in the inputs\n" in err and "done 0" not in err


def test_inputs_whose_every_file_is_skipped_say_so(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("")
    tifffile.imwrite(folder / "._stub.tif", np.zeros((8, 8), np.uint16))
    assert main([str(folder), "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "each of the 2 entries found was skipped, as the notes above say" in err and "done 0" not in err


def test_dtype_input_falls_back_to_float32_where_imagej_cannot_hold_the_type(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "wide.tif", textured((16, 16)).astype(np.int32))
    assert main([str(tmp_path / "wide.tif"), "--out", str(tmp_path / "o"), "--dtype", "input", *ZSSR_ONLY]) == 0
    assert read_tiff(tmp_path / "o" / "wide_zssr.tif").data.dtype == np.float32
    assert "int32, which ImageJ TIFFs cannot hold; its outputs will be float32 (7 significant digits" in \
        capsys.readouterr().err
    tifffile.imwrite(tmp_path / "half.tif", textured((16, 16)).astype(np.float16))  # float32 holds it exactly
    assert main([str(tmp_path / "half.tif"), "--out", str(tmp_path / "o"), "--dtype", "input", *ZSSR_ONLY]) == 0
    err = capsys.readouterr().err
    assert "float16, which ImageJ TIFFs cannot hold; its outputs will be float32\n" in err and "digits" not in err


@pytest.mark.parametrize("dtype", [np.float64, np.uint32])
@pytest.mark.parametrize("dtype_option", ["float32", "input"])
def test_every_output_of_a_wide_input_type_is_written_as_float32(tmp_path, dtype, dtype_option):
    """The library keeps float64 for types float32 cannot hold exactly; ImageJ TIFFs hold no float64."""
    tifffile.imwrite(tmp_path / "wide.tif", np.stack([textured((16, 16))] * 2).astype(dtype))
    assert main([str(tmp_path / "wide.tif"), "--out", str(tmp_path / "o"), "--dtype", dtype_option, *FAST]) == 0
    for kind in ("zssr", "ensemble_median", "residual"):
        assert read_tiff(tmp_path / "o" / f"wide_{kind}.tif").data.dtype == np.float32


def test_a_float64_input_beyond_float32s_range_fails_before_training(tmp_path, capsys, monkeypatch):
    """Its float32 outputs would be infinities."""
    tifffile.imwrite(tmp_path / "huge.tif", textured((16, 16)) * 1e37)
    tifffile.imwrite(tmp_path / "fine.tif", textured((16, 16)) * 1e33)  # 1e36 at most: float32 holds it
    monkeypatch.setattr("napari_zssr.batch_files.zssr_stack", lambda *args, **kwargs: pytest.fail("trained"))
    assert main([str(tmp_path / "huge.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 1
    assert "beyond what the float32 TIFFs of its outputs hold" in capsys.readouterr().err
    tifffile.imwrite(tmp_path / "tiny.tif", textured((16, 16)) * 1e-50)  # float32 would make it all 0
    assert main([str(tmp_path / "tiny.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 1
    assert "reach 1.1e-47, below what the float32 TIFFs of its outputs hold" in capsys.readouterr().err
    assert not (tmp_path / "o" / "huge_zssr.tif").exists()
    monkeypatch.undo()
    assert main([str(tmp_path / "fine.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert np.isfinite(read_tiff(tmp_path / "o" / "fine_zssr.tif").data).all()


@pytest.mark.parametrize("name, content", [
    ("empty.npy", b""), ("corrupt.mat", b"MATLAB 5.0 MAT-file garbage" * 3), ("rgb.tif", None)])
def test_bad_psf_is_a_usage_error_before_the_batch(data_dir, tmp_path, capsys, name, content):
    psf = tmp_path / name
    if content is None:
        tifffile.imwrite(psf, np.repeat(textured((16, 16))[..., None], 3, axis=-1), photometric="rgb")
    else:
        psf.write_bytes(content)
    assert main([str(data_dir), "--out", str(tmp_path / "o"), "--psf", str(psf), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"error: --psf {psf}" in err and "Traceback" not in err and "done" not in err
    assert not (tmp_path / "o").exists()


def test_a_psf_that_does_not_look_like_one_bead_gets_a_note(data_dir, tmp_path, capsys):
    """A cell image chosen as the PSF by mistake: the widget warns, the command line says so before the batch."""
    tifffile.imwrite(tmp_path / "cells.tif", microscopy_sample().image[:32, :32])
    tifffile.imwrite(tmp_path / "wide.tif", textured((64, 64)))  # its planes hold the kernel the cells make
    assert main([str(tmp_path / "wide.tif"), "--out", str(tmp_path / "o"), "--psf", str(tmp_path / "cells.tif"),
                 *FAST]) == 0
    err = capsys.readouterr().err
    assert err.count("does not look like one bead") == 1  # said once, not again for each file and channel
    assert f"note: --psf {tmp_path / 'cells.tif'}: the PSF file does not look like one bead: it has" in err
    tifffile.imwrite(tmp_path / "bead.tif", (gaussian_psf(1.5) * 1000 + 10).astype(np.float32))
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "b"), "--psf", str(tmp_path / "bead.tif"),
                 *FAST]) == 0
    assert "does not look like one bead" not in capsys.readouterr().err


def test_corrupt_output_or_folder_in_its_place_is_reported_as_such(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(data_dir / "plain.tif"), "--out", str(out), *ZSSR_ONLY]
    (out / "plain_zssr.tif").mkdir(parents=True)
    assert main([*args, "--overwrite"]) == 1
    assert "a folder is where the output" in capsys.readouterr().err
    (out / "plain_zssr.tif").rmdir()
    (out / "plain_zssr.tif").write_bytes(b"II*\x00garbage")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "is no output of this command (corrupt, another program" in err and "different settings" not in err
    assert main([*args, "--overwrite"]) == 0 and read_tiff(out / "plain_zssr.tif").data.shape == (32, 32)


@pytest.mark.parametrize("damage", [{"settings": "x"}, {"settings": {"config": "x"}}, {"input": "x"},
                                    {"input": {"path": 5}}, {"input": None}])
def test_an_outputs_record_edited_out_of_shape_leaves_it_alone(data_dir, tmp_path, capsys, damage):
    """An output whose run record holds settings (or their config, or its input) that are not a record's ("'str'
    object has no attribute 'get'") stopped the batch with a traceback: it is an output the batch cannot read."""
    out = tmp_path / "out"
    args = [str(data_dir / "plain.tif"), "--out", str(out), *ZSSR_ONLY]
    assert main(args) == 0
    written = read_tiff(out / "plain_zssr.tif")
    record = {**json.loads(written.description), **damage}
    write_imagej_tiff(out / "plain_zssr.tif", written.data, "YX", written.pixel_size, info=json.dumps(record))
    capsys.readouterr()
    assert main(args) == 1  # left alone: unreadable, or (no input recorded) made by a version that did not record it
    assert "left alone (why: see above)" in capsys.readouterr().err


def test_constant_plane_is_named_and_each_channel_keeps_its_run_record(tmp_path, capsys):
    stack = textured((2, 2, 16, 16)).astype(np.float32)
    stack[1, 1] = 5  # Z=1, channel 1
    write_imagej_tiff(tmp_path / "zc.tif", stack, "ZCYX", (0.2, 0.2))
    assert main([str(tmp_path / "zc.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert "zc.tif: plane Z=1, channel 1 is constant" in capsys.readouterr().err
    channels = json.loads(read_tiff(tmp_path / "o" / "zc_zssr.tif").description)["channels"]
    assert [c["iterations"] for c in channels] == [[3, 3], [3, 0]]
    assert all(c["device"] == str(select_device("auto")) and "precision" in c for c in channels)


def test_ctrl_c_during_start_up_exits_130_without_traceback(data_dir, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("napari_zssr.batching.select_device", interrupted)
    assert main([str(data_dir), "--out", str(tmp_path / "o"), *FAST]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_the_entry_point_loads_torch_only_inside_its_ctrl_c_handler():
    """An interruption while torch loads (seconds) must exit 130 too: the entry module itself stays light."""
    check = "import sys, napari_zssr.cli; print(sorted({'torch', 'scipy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


def test_help_and_a_mistyped_option_answer_without_loading_the_batch():
    """The options are built from light modules and the batch (torch, scipy: seconds) loaded once they parse, so
    that ``--help`` and a usage error come at once."""
    check = ("import contextlib, io, sys\nfrom napari_zssr.cli import main\n"
             "for argv in (['--help'], ['a.tif', '--out', 'o', '--presett', 'fast']):\n"
             "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
             "        main(argv)\n"
             "print(sorted({'torch', 'scipy', 'numpy', 'tifffile'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr
    assert "unrecognized arguments: --presett" in done.stderr


def test_ensemble_spread_output_only_when_asked(data_dir, tmp_path):
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST, "--outputs", "zssr,ensemble_spread"]) == 0
    spread = read_tiff(out / "plain_ensemble_spread.tif").data
    assert spread.shape == (32, 32) and spread.dtype == np.float32 and spread.min() >= 0 and spread.max() > 0
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "default"), *FAST]) == 0
    assert sorted(p.name for p in (tmp_path / "default").glob("*.tif")) == [
        "plain_ensemble_median.tif", "plain_residual.tif", "plain_zssr.tif"]


def info_of(path: Path) -> dict:
    return json.loads(read_tiff(path).description)


def test_kernel_estimated_from_each_image(data_dir, tmp_path, capsys):
    sample = microscopy_sample()
    write_imagej_tiff(tmp_path / "cells" / "cells.tif", sample.image, "YX", (sample.pixel_size,) * 2)
    empty_channel = np.stack([sample.image, np.random.default_rng(0).poisson(100, sample.image.shape)])
    write_imagej_tiff(tmp_path / "cells" / "two.tif", empty_channel.astype(np.uint16), "CYX", None)
    out = tmp_path / "out"
    assert main([str(tmp_path / "cells"), "--out", str(out), "--kernel", "estimate", "--max-iterations", "3",
                 "--preset", "fast"]) == 0
    kernel = info_of(out / "cells_zssr.tif")["channels"][0]["kernel"]
    assert kernel["source"] == "estimate" and 1.8 < kernel["fwhm_px"] < 2.9  # Gaussian PSF of FWHM 2.35 px
    err = capsys.readouterr().err
    assert "cells.tif: kernel from the image: none, PSF FWHM" in err and "resolution" in err  # under 2.6 px
    # a channel of pure noise (nothing stained): no blur to estimate, so no kernel there, and the file is done
    assert "two.tif channel 1: kernel from the image: none, no structure found above the noise" in err
    assert err.count("no structure found above the noise") == 1  # the note is not printed again beside that line
    kernels = [channel["kernel"] for channel in info_of(out / "two_zssr.tif")["channels"]]
    assert "fwhm_px" in kernels[0] and "pure noise" in kernels[1]["fallback"]


def test_many_constant_planes_are_one_note_not_one_line_each():
    from napari_zssr.batch_files import blank_notes

    planes = [(z,) for z in range(60)]
    assert blank_notes("Z", planes, 60, 1) == ["all 60 planes of channel 1 are constant; passed through as their "
                                                "interpolation"]
    assert blank_notes("Z", planes[:5], 60, None) == ["5 planes of the image are constant (Z=0; Z=1; Z=2; ...); "
                                                       "passed through as their interpolation"]
    assert blank_notes("TZ", [(0, 2), (1, 2)], 6, 0, "plane") == [
        "plane T=0, Z=2, channel 0 is constant; passed through as its interpolation",
        "plane T=1, Z=2, channel 0 is constant; passed through as its interpolation"]
    assert blank_notes("T", [(1,)], 3, None, "volume") == [
        "volume T=1 is constant; passed through as its interpolation"]


def test_constant_planes_of_unnamed_axes_are_counted_by_position(tmp_path, capsys):
    """A plain (3, 2, Y, X) TIFF has axes QQYX: 4 constant planes of 6 are not "all 4"."""
    stack = textured((3, 2, 24, 24)).astype(np.float32)
    stack[:2] = 7
    tifffile.imwrite(tmp_path / "q.tif", stack)
    assert main([str(tmp_path / "q.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert "q.tif: 4 planes of the image are constant ((0, 0); (0, 1); (1, 0); ...)" in capsys.readouterr().err


@pytest.mark.parametrize("kernel", [[], ["--kernel", "estimate"]])
def test_an_empty_channel_of_a_2d_image_passes_through(tmp_path, capsys, kernel):
    """E.g. the blue of an RGB picture of a red and green stain: the picture is not constant, its blue is."""
    colour = textured((24, 20, 3), 3).astype(np.uint8)
    colour[..., 2] = 0
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "stain.tif", colour, photometric="rgb")
    write_imagej_tiff(tmp_path / "in" / "two.tif", np.stack([textured((24, 20), 4), np.full((24, 20), 7)]), "CYX",
                      None)
    out = tmp_path / "out"
    assert main([str(tmp_path / "in"), "--out", str(out), *FAST, *kernel]) == 0
    stain, two = read_tiff(out / "stain_zssr.tif"), read_tiff(out / "two_zssr.tif")
    assert stain.data.shape == (3, 48, 40) and np.all(stain.data[2] == 0) and stain.data[:2].std() > 0
    luts = stain.display["LUTs"]  # shown in colour as the picture was, not as three grey channels
    assert stain.display["mode"] == "composite" and [tuple(lut[:, -1]) for lut in luts] == [
        (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    # each channel at 0-255 as the 8-bit picture showed: ImageJ stretched each float channel to its own extremes
    assert stain.data.dtype == np.float32 and np.array_equal(stain.display["Ranges"], (0, 255) * 3)
    assert "LUTs" not in read_tiff(out / "two_zssr.tif").display  # channels that were no colours get none
    assert two.data.shape == (2, 48, 40) and np.all(two.data[1] == 7)
    err = capsys.readouterr().err
    assert "stain.tif: channel 2 is constant; passed through as its interpolation" in err
    assert info_of(out / "two_zssr.tif")["channels"][1]["blank_planes"] == [[]]
    one = tmp_path / "one.tif"
    write_imagej_tiff(one, np.full((24, 20), 7, np.uint16), "YX", None)
    assert main([str(one), "--out", str(tmp_path / "o1"), *FAST]) == 1  # a constant image alone is still an error
    assert "the image is constant" in capsys.readouterr().err


def test_kernel_from_the_optics_given_as_options(data_dir, tmp_path):
    out = tmp_path / "out"
    assert main([str(data_dir / "stack.tif"), "--out", str(out), "--na", "1.2", "--wavelength", "600",
                 "--refractive-index", "1.333", *FAST]) == 0
    record = info_of(out / "stack_zssr.tif")
    kernel = record["channels"][0]["kernel"]
    assert kernel["source"] == "optics" and kernel["na"] == 1.2 and kernel["pixel_size_um"] == pytest.approx(0.2)
    assert record["settings"]["na"] == 1.2


def test_kernel_from_the_optics_in_the_files_ome_metadata(tmp_path, ome_tiff):
    path = tmp_path / "data" / "cells.ome.tif"
    path.parent.mkdir()
    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.2" Immersion="Water"/>'
                 "</Instrument>")
    ome_tiff(path, {"EmissionWavelength": [520, 610]}, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((2, 20, 20)), pixel_size=0.1)
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--kernel", "optics", *FAST]) == 0
    channels = info_of(out / "cells_zssr.tif")["channels"]
    assert [c["kernel"]["wavelength"] for c in channels] == [520, 610]
    assert channels[0]["kernel"]["na"] == 1.2 and channels[0]["kernel"]["refractive_index"] == pytest.approx(1.333)


def test_the_files_own_optics_spelled_out_are_no_other_setting(tmp_path, ome_tiff, capsys):
    """Repeating the NA, immersion index or wavelengths a file's OME metadata gives (their defaults) left the input
    alone as made with other settings, where a --pixel-size equal to the file's was skipped as done."""
    path = tmp_path / "cells.ome.tif"
    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.2" Immersion="Water"/>'
                 "</Instrument>")
    ome_tiff(path, {"EmissionWavelength": [520, 610]}, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((2, 20, 20)), pixel_size=0.1)
    args = [str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", *ZSSR_ONLY]
    assert main(args) == 0
    for spelled_out in (["--na", "1.2"], ["--refractive-index", "1.333"], ["--na", "1.2", "--pixel-size", "0.1"],
                        ["--wavelength", "520", "--wavelength", "610"]):
        capsys.readouterr()
        assert main([*args, *spelled_out]) == 0, spelled_out
        assert "skipped 1 (already done)" in capsys.readouterr().err
    for other in (["--na", "1.1"], ["--wavelength", "520"], ["--wavelength", "610", "--wavelength", "520"]):
        assert main([*args, *other]) == 1, other  # one wavelength for both channels is not the file's two
        assert "different settings" in capsys.readouterr().err


def test_an_air_immersion_given_beside_the_files_na_runs(tmp_path, ome_tiff, capsys):
    """The NA left out (the file's metadata gives it) was checked with a stand-in of 1.0, which no immersion of
    index 1.0 (air) admits: a usage error blaming an --na that was never given."""
    path = tmp_path / "cells.ome.tif"
    objective = '<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="0.9"/></Instrument>'
    ome_tiff(path, {"EmissionWavelength": [520]}, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((1, 20, 20)), pixel_size=0.1)
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--kernel", "optics", "--refractive-index", "1.0", *FAST]) == 0, \
        capsys.readouterr().err
    kernel = info_of(out / "cells_zssr.tif")["channels"][0]["kernel"]
    assert kernel["na"] == 0.9 and kernel["refractive_index"] == 1.0


def test_impossible_optics_in_a_files_metadata_are_attributed_to_it(tmp_path, ome_tiff, capsys):
    path = tmp_path / "cells.ome.tif"
    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.45" Immersion="Water"/>'
                 "</Instrument>")
    ome_tiff(path, {"EmissionWavelength": [520]}, objective, '<ObjectiveSettings ID="Objective:0"/>',
             data=textured((1, 20, 20)), pixel_size=0.1)
    assert main([str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", *FAST]) == 1
    assert ("(NA 1.45 from the file's metadata, refractive index 1.333 from the file's metadata: override with --na"
            in capsys.readouterr().err)
    # an NA typed beside the file's water: the NA is the user's, not blamed on the file
    assert main([str(path), "--out", str(tmp_path / "typed"), "--na", "1.4", *FAST]) == 1
    assert "(NA 1.4 from --na, refractive index 1.333 from the file's metadata" in capsys.readouterr().err


#: an oil objective of NA 1.4 at 60x, the one instrument's, and the image's settings of it
OBJECTIVE_60X = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.4" Immersion="Oil" '
                 'NominalMagnification="60"/></Instrument>', '<ObjectiveSettings ID="Objective:0"/>')


def acquired_file(folder: Path, ome_tiff, mode: str, pinhole: float = 40) -> Path:
    """An OME-TIFF of one channel (520 nm, excited at 488 nm) acquired in OME acquisition mode ``mode`` with a
    pinhole of ``pinhole`` um (1.47 AU at 60x and NA 1.4 for 40 um), 0.1 um pixels."""
    path = folder / f"{mode}.ome.tif"
    folder.mkdir(exist_ok=True)
    ome_tiff(path, {"EmissionWavelength": [520], "ExcitationWavelength": [488], "AcquisitionMode": [mode],
                    "PinholeSize": [pinhole]}, *OBJECTIVE_60X, data=textured((1, 32, 32)), pixel_size=0.1)
    return path


def test_a_confocal_files_acquisition_mode_and_pinhole_make_its_kernel_a_confocal_one(tmp_path, ome_tiff, capsys):
    """The file's optics ran the widefield model whatever its acquisition mode: a kernel too wide for a confocal
    image, which ZSSR over-sharpens."""
    path = acquired_file(tmp_path / "data", ome_tiff, "LaserScanningConfocalMicroscopy")
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--kernel", "optics", *FAST]) == 0
    kernel = info_of(out / "LaserScanningConfocalMicroscopy_zssr.tif")["channels"][0]["kernel"]
    assert (kernel["modality"], kernel["pinhole"], kernel["excitation_wavelength"]) == ("confocal", 1.47, 488)
    said = ("the confocal model from the file's acquisition mode LaserScanningConfocalMicroscopy; pinhole 1.47 AU from "
            "the file's PinholeSize 40 µm at the objective's 60x (NA 1.4, 520 nm) (--psf-model and --pinhole choose "
            "others)")
    assert kernel["note"] == said and f"LaserScanningConfocalMicroscopy.ome.tif: {said}" in capsys.readouterr().err
    assert main([str(path), "--out", str(tmp_path / "wide"), "--psf-model", "widefield", *FAST]) == 0  # given: wins
    wide = info_of(tmp_path / "wide" / "LaserScanningConfocalMicroscopy_zssr.tif")["channels"][0]["kernel"]
    assert wide["modality"] == "widefield" and wide["pinhole"] is None and "note" not in wide
    assert wide["psf_fwhm_px"] > kernel["psf_fwhm_px"]  # 2.1 against 1.95 pixels at 1.47 AU
    assert main([str(path), "--out", str(tmp_path / "typed"), "--psf-model", "confocal", "--pinhole", "0.5",
                 *FAST]) == 0
    typed = info_of(tmp_path / "typed" / "LaserScanningConfocalMicroscopy_zssr.tif")["channels"][0]["kernel"]
    assert (typed["modality"], typed["pinhole"], typed["excitation_wavelength"]) == ("confocal", 0.5, 488)
    assert typed["psf_fwhm_px"] < kernel["psf_fwhm_px"] and "note" not in typed
    assert main([str(path), "--out", str(tmp_path / "na"), "--na", "1.2", *FAST]) == 0  # the file's pinhole at NA 1.2
    at_na = info_of(tmp_path / "na" / "LaserScanningConfocalMicroscopy_zssr.tif")["channels"][0]["kernel"]
    assert at_na["pinhole"] == pytest.approx(1.47 * 1.2 / 1.4, abs=0.01)
    assert "1.26 AU at the run's NA 1.2 and 520 nm" in at_na["note"]


def test_a_pinhole_or_an_excitation_given_alone_chooses_the_confocal_model(tmp_path, ome_tiff):
    """They were refused without --psf-model confocal, even for a file whose acquisition mode is a confocal's."""
    path = acquired_file(tmp_path / "data", ome_tiff, "WideField")  # its PinholeSize is 1.47 AU
    for option, pinhole, excitation in ((["--pinhole", "0.5"], 0.5, 488), (["--excitation-wavelength", "470"], 1.47,
                                                                            470)):
        out = tmp_path / option[0].strip("-")
        assert main([str(path), "--out", str(out), *option, *FAST]) == 0
        kernel = info_of(out / "WideField_zssr.tif")["channels"][0]["kernel"]
        assert (kernel["modality"], kernel["pinhole"], kernel["excitation_wavelength"]) == (
            "confocal", pinhole, excitation)
        assert ("pinhole 1.47 AU from the file's" in kernel.get("note", "")) == (pinhole == 1.47)


def test_the_files_model_given_or_not_is_the_same_setting_and_another_is_not(tmp_path, ome_tiff, capsys):
    path = acquired_file(tmp_path / "data", ome_tiff, "SpinningDiskConfocal")
    args = [str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", *ZSSR_ONLY]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--psf-model", "confocal"]) == 0 and "skipped 1 (already done)" in capsys.readouterr().err
    assert main([*args, "--psf-model", "widefield"]) == 1  # a kernel of another model: never kept as done
    assert "different settings (psf_model: 'confocal' -> 'widefield')" in capsys.readouterr().err


def test_an_impossible_excitation_that_a_files_confocal_mode_takes_is_attributed_to_it(tmp_path, ome_tiff, capsys):
    """0.488 nm (um written as nm): unused by the widefield model, taken by the confocal one the mode chooses."""
    path = tmp_path / "um.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520], "ExcitationWavelength": [0.488],
                    "AcquisitionMode": ["LaserScanningConfocalMicroscopy"]}, *OBJECTIVE_60X, data=textured((1, 32, 32)),
             pixel_size=0.1)
    assert main([str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", *FAST]) == 1
    err = capsys.readouterr().err
    assert "excitation_wavelength must be in [200, 2000]" in err
    assert ("the confocal model (and its excitation) from the file's acquisition mode: override with --na, "
            "--wavelength, --refractive-index, --excitation-wavelength or --psf-model)") in err


def test_an_output_of_a_confocal_file_made_before_its_mode_was_read_is_not_kept_as_done(tmp_path, ome_tiff):
    """Its record says no --psf-model, which took the widefield model then, whatever the file said: kept, a widefield
    kernel's output would pass for the confocal one a run makes now. A widefield file's stays done."""
    from napari_zssr.batch_jobs import input_identity
    from napari_zssr.batch_resume import FILES_MODEL, comparable_settings

    before, now = {"kernel": "optics", "psf_model": None}, {"kernel": "optics", "psf_model": FILES_MODEL}
    confocal = acquired_file(tmp_path, ome_tiff, "LaserScanningConfocalMicroscopy")
    then, made_now = comparable_settings(before, now, input_identity(confocal))
    assert (then["psf_model"], made_now["psf_model"]) == ("widefield", "confocal")
    widefield = acquired_file(tmp_path, ome_tiff, "WideField")
    assert len(set(map(json.dumps, comparable_settings(before, now, input_identity(widefield))))) == 1


@pytest.mark.parametrize(("mode", "pinhole", "note"), [
    ("STED", 40, "the file's acquisition mode STED (super-resolution, sharper than either model) is neither widefield "
                 "nor confocal: the widefield model is used"),
    ("LaserScanningConfocalMicroscopy", 2000, "the file's PinholeSize 2000 µm at the objective's 60x (NA 1.4, 520 nm) "
                                              "is 73.6 AU, beyond any confocal's 0.1-20 AU: not used; the default 1 "
                                              "AU instead"),
])
def test_what_the_files_acquisition_says_that_is_not_used_is_noted(tmp_path, ome_tiff, capsys, mode, pinhole, note):
    path = acquired_file(tmp_path / "data", ome_tiff, mode, pinhole)
    assert main([str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", *FAST]) == 0
    kernel = info_of(tmp_path / "out" / f"{mode}_zssr.tif")["channels"][0]["kernel"]
    assert kernel["pinhole"] == (None if mode == "STED" else 1.0)
    assert note in kernel["note"] and note in capsys.readouterr().err


def test_optics_that_the_file_does_not_know_fail_that_file_clearly(data_dir, tmp_path, capsys):
    """``--wavelength`` alone asks for optics too (an override of the file's wavelength); the NA is then missing."""
    for kernel in (["--kernel", "optics"], []):
        assert main([str(data_dir / "stack.tif"), "--out", str(tmp_path / "out"), *kernel, "--wavelength", "520",
                     *FAST]) == 1
        assert "give --na" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "named"), [
    (["--na", "1.6", "--wavelength", "520", "--refractive-index", "1.333"], "--na must be in (0, 1.333)"),
    (["--na", "1.2", "--wavelength", "5200"], "--wavelength must be in [200, 2000]"),
    (["--psf", "x.tif", "--kernel", "estimate"], "--psf"),
    (["--kernel", "estimate", "--na", "1.2"], "--na"),
    (["--kernel", "psf"], "--psf"),
    (["--psf-model", "widefield", "--na", "1.2", "--wavelength", "520", "--excitation-wavelength", "488"],
     "--excitation-wavelength applies to a confocal PSF, not to --psf-model widefield"),
    (["--psf-model", "widefield", "--na", "1.2", "--wavelength", "520", "--pinhole", "0.5"],
     "--pinhole applies to a confocal PSF, not to --psf-model widefield"),
    (["--na", "1.2", "--wavelength", "520", "--pinhole", "25"], "--pinhole must be in [0, 20]"),  # confocal implied
    (["--psf-model", "confocal", "--na", "1.2", "--wavelength", "520", "--pinhole", "25"],
     "--pinhole must be in [0, 20]"),
    (["--psf-model", "confocal", "--na", "1.2", "--wavelength", "520", "--excitation-wavelength", "2500"],
     "--excitation-wavelength must be in [200, 2000]"),
    (["--na", "1.2", "--wavelength", "520", "--pixel-size", "65"],
     "error: --pixel-size 65 um is 292 times the PSF's FWHM (0.223 um at NA 1.2, 520 nm): give the pixel size in"),
    (["--kernel", "none", "--wavelength", "520"], "--wavelength"),
    (["--kernel", "estimate", "--scale", "2.5"], "--scale 2.5: a blur kernel needs an integer scale factor"),
])
def test_bad_kernel_options_are_usage_errors(data_dir, tmp_path, capsys, options, named):
    assert main([str(data_dir / "stack.tif"), "--out", str(tmp_path / "out"), *options, *FAST]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and not (tmp_path / "out").exists()


def test_init_option_chooses_the_starting_weights(data_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--init", "learned", *FAST]) == 0
    info = json.loads(read_tiff(out / "plain_zssr.tif").description)
    assert info["settings"]["config"]["init"] == "learned"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--init", "scratch", *FAST]) == 1  # other settings
    assert "different settings (config.init: 'learned' -> 'scratch')" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--init", "missing.npz", *FAST]) == 2
    assert "missing.npz" in capsys.readouterr().err and not (tmp_path / "o").exists()
    np.save(tmp_path / "one.npy", np.zeros(3))
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    (tmp_path / "cells.tif").write_bytes(b"II*\x00" + bytes(60))  # a TIFF given for weights: no numpy words shown
    for name, problem in (("one.npy", "not a .npz archive"), ("other.npz", "does not fit the network"),
                          ("cells.tif", "it is not a .npz archive of arrays;")):
        assert main([str(data_dir), "--out", str(tmp_path / "o"), "--init", name, *FAST]) == 2  # once, not per file
        err = capsys.readouterr().err
        assert err.count(name) == 1 and problem in err and not (tmp_path / "o").exists()
        assert name != "other.npz" or ("or --init scratch" in err and "init='scratch'" not in err)  # this command's


@pytest.mark.parametrize("name", ["pixel_size", "psf_pixel_size"])
def test_a_bad_pixel_size_given_to_batch_is_a_usage_error_before_any_work(data_dir, tmp_path, name):
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match=name):
        batch(data_dir, tmp_path / "out", **{name: -1.0})
    assert not (tmp_path / "out").exists()


def test_a_bad_measured_psf_value_given_to_batch_is_a_usage_error(data_dir, tmp_path):
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    psf = tmp_path / "psf.tif"
    tifffile.imwrite(psf, gaussian_psf(1.5).astype(np.float32))
    with pytest.raises(UsageError, match="measured_psf must be one of"):
        batch(data_dir, tmp_path / "out", psf=[psf], psf_pixel_size=0.1, measured_psf="maybe")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("optics", [{"na": 0}, {"na": 0, "wavelength": 520}, {"refractive_index": 0},
                                    {"na": 1.2, "wavelength": 520, "refractive_index": 0}])
def test_an_optics_value_of_zero_given_to_batch_is_a_usage_error(data_dir, tmp_path, optics):
    """batch() from Python takes a 0 the command line's parsing refuses: it is a bad value, named before any work,
    not taken for a value left out (a run with no kernel at all, or each file failing 'give --na')."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    name = next(iter(optics.keys() - {"wavelength", "na"} or {"na"}))
    with pytest.raises(UsageError, match=f"--{name.replace('_', '-')} must be"):
        batch(data_dir / "plain.tif", tmp_path / "out", max_iterations=1, quiet=True, **optics)
    assert not (tmp_path / "out").exists()


def test_a_scale_past_any_image_is_a_usage_error_before_any_work(data_dir, tmp_path, capsys):
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *FAST, "--scale", "100"]) == 2
    assert "scale must be at most 64" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_settings_record_names_back_projection_to_the_noise_only_where_it_acts(tmp_path):
    """Records written before the option existed stay equal, so their outputs stay done."""
    from napari_zssr.batching import make_options, settings_record
    from napari_zssr.core.config import ZSSRConfig

    options = make_options(tmp_path, {})
    for config in (ZSSRConfig(back_projection_iterations=0), ZSSRConfig.preset("paper")):
        assert "back_projection_to_noise" not in settings_record(options, config)["config"]
    for config in (ZSSRConfig(), ZSSRConfig.preset("fast"), ZSSRConfig(back_projection_iterations=2)):
        assert settings_record(options, config)["config"]["back_projection_to_noise"]


def test_a_bad_output_type_given_to_batch_is_a_usage_error(data_dir, tmp_path):
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match="dtype must be one of float32, input"):
        batch(data_dir, tmp_path / "out", dtype="uint8")
    assert not (tmp_path / "out").exists()


def test_batch_takes_a_torch_device_as_zssr_does(data_dir, tmp_path):
    """batch(device=torch.device("cpu")) was refused: "--device must be 'auto', 'cpu'... got device(type='cpu')"."""
    import torch

    from napari_zssr.batching import batch

    summary = batch(data_dir / "plain.tif", tmp_path / "out", device=torch.device("cpu"), max_iterations=2,
                    outputs="zssr", quiet=True)
    assert len(summary.done) == 1
    record = json.loads(read_tiff(tmp_path / "out" / "plain_zssr.tif").description)
    assert record["settings"]["config"]["device"] == "cpu"


def test_an_output_file_where_another_input_needs_a_folder_is_a_usage_error(tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "a_zssr.tif").mkdir(parents=True)
    tifffile.imwrite(folder / "a.tif", textured((16, 16)))
    tifffile.imwrite(folder / "a_zssr.tif" / "b.tif", textured((16, 16), 1))
    assert main([str(folder), "-r", "--out", str(tmp_path / "o"), *FAST]) == 2
    assert "need a folder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_colour_samples_run_as_channels(tmp_path):
    planes = textured((3, 20, 18))
    # as tifffile writes a (3, Y, X) array unless told photometric="minisblack": three planes tagged as RGB colours
    tifffile.imwrite(tmp_path / "planes.tif", planes, photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "photo.tif", (planes[:, :16, :16] % 256).astype(np.uint8).transpose(1, 2, 0),
                     photometric="rgb")
    tifffile.imwrite(tmp_path / "green.tif", planes[1])
    assert read_tiff(tmp_path / "planes.tif").axes == "SYX"  # as napari's reader sees it: colours
    out = tmp_path / "out"
    inputs = [str(tmp_path / name) for name in ("planes.tif", "photo.tif", "green.tif")]
    assert main([*inputs, "--out", str(out), *FAST]) == 0
    sr = read_tiff(out / "planes_zssr.tif")
    assert sr.axes == "CYX" and sr.data.shape == (3, 40, 36)
    np.testing.assert_array_equal(sr.data[1], read_tiff(out / "green_zssr.tif").data)  # each colour on its own
    photo = read_tiff(out / "photo_residual.tif")
    assert photo.axes == "CYX" and photo.data.shape == (3, 32, 32)


def test_hidden_files_are_skipped_and_a_linked_file_keeps_its_own_name(tmp_path, capsys):
    """A shared drive holds macOS's '._' resource stubs beside every TIFF; they are no inputs. A file reached both
    directly and through a link is one job, named after the file."""
    from napari_zssr.batch_inputs import collect_sources

    folder = tmp_path / "in"
    write_imagej_tiff(folder / "cells.tif", textured((16, 16)), "YX", None)
    (folder / "._cells.tif").write_bytes(b"\x00\x05\x16\x07 AppleDouble stub")
    write_imagej_tiff(folder / ".snapshot" / "old.tif", textured((16, 16)), "YX", None)
    (folder / "a_link.tif").symlink_to(folder / "cells.tif")
    sources = collect_sources([str(folder)], True, tmp_path / "out")
    assert [source.path.name for source in sources] == ["cells.tif"]
    assert "skipped 2 file(s): hidden" in capsys.readouterr().err
    assert [s.path.name for s in collect_sources([str(folder / "._cells.tif")], False, tmp_path / "out")] == [
        "._cells.tif"]  # named on the command line: taken as asked
    assert [s.path.name for s in collect_sources([str(folder / "._*.tif")], False, tmp_path / "out")] == [
        "._cells.tif"]  # a glob asking for them, too
    inside_hidden = tmp_path / ".cache" / "data"  # a folder under a hidden one still skips its hidden files
    write_imagej_tiff(inside_hidden / "cells.tif", textured((16, 16)), "YX", None)
    (inside_hidden / "._cells.tif").write_bytes(b"\x00\x05\x16\x07 AppleDouble stub")
    assert [s.path.name for s in collect_sources([str(inside_hidden)], False, tmp_path / "out")] == ["cells.tif"]


def test_recursion_enters_linked_folders_once_and_names_broken_links(tmp_path, capsys):
    """A facility links acquisitions in from other disks; a link into an unmounted share is said, a loop ends."""
    from napari_zssr.batch_inputs import collect_sources

    project, storage = tmp_path / "project", tmp_path / "storage" / "acq1"
    write_imagej_tiff(project / "top.tif", textured((16, 16)), "YX", None)
    write_imagej_tiff(storage / "a.tif", textured((16, 16)), "YX", None)
    (project / "acq1").symlink_to(storage, target_is_directory=True)
    (project / "acq1_again").symlink_to(storage, target_is_directory=True)  # the same folder twice: once
    (storage / "loop").symlink_to(project, target_is_directory=True)
    write_imagej_tiff(project / "zreal" / "x.tif", textured((16, 16)), "YX", None)
    (project / "a_alias").symlink_to(project / "zreal", target_is_directory=True)  # its outputs stay under zreal
    (project / "gone.tif").symlink_to(tmp_path / "unmounted" / "gone.tif")
    (project / "acq2").symlink_to(tmp_path / "unmounted" / "acq2", target_is_directory=True)
    sources = collect_sources([str(project)], True, tmp_path / "out")
    assert sorted(str(source.path.relative_to(project)) for source in sources) == ["acq1/a.tif", "top.tif",
                                                                                   "zreal/x.tif"]
    assert "skipped 2 link(s): broken (pointing nowhere: a share that is not mounted?) (acq2, gone.tif)" in \
        capsys.readouterr().err


def test_a_deep_glob_finds_the_files_a_folder_input_finds_under_the_same_names(tmp_path, capsys):
    """``**`` with -r enters linked folders as a folder input does: a loop ends at once (glob went round it until
    the path grew too long, 2^40 ways round for two links up), and a file reached through a link keeps its own
    path, where a folder input puts its outputs (glob's sorted names put ``a_alias/x.tif`` first)."""
    from napari_zssr.batch_inputs import collect_sources

    project = tmp_path / "project"
    write_imagej_tiff(project / "top.tif", textured((16, 16)), "YX", None)
    write_imagej_tiff(project / "sub" / "x.tif", textured((16, 16)), "YX", None)
    (project / "sub" / "loop").symlink_to(project, target_is_directory=True)
    write_imagej_tiff(project / "zreal" / "x.tif", textured((16, 16)), "YX", None)
    (project / "a_alias").symlink_to(project / "zreal", target_is_directory=True)
    found = {str(source.path.relative_to(project))
             for source in collect_sources([str(project / "**" / "*.tif")], True, tmp_path / "out")}
    assert found == {"sub/x.tif", "top.tif", "zreal/x.tif"}
    assert found == {str(source.path.relative_to(project))
                     for source in collect_sources([str(project)], True, tmp_path / "out")}
    assert [str(source.path.relative_to(project)) for source in
            collect_sources([str(project / "**" / "x.tif")], True, tmp_path / "out")] == ["sub/x.tif", "zreal/x.tif"]


def test_a_glob_that_matches_folders_takes_their_tiffs_as_the_shell_expanding_it_would(tmp_path):
    """'data/exp*' quoted (a cluster job's script) names the folders that the same pattern unquoted gives as folder
    inputs: their TIFFs, in their sub-folders too with -r."""
    from napari_zssr.batch_inputs import collect_sources

    data = tmp_path / "data"
    for name in ("exp1/a.tif", "exp1/deeper/b.tif", "exp2/c.tif", "other/d.tif"):
        write_imagej_tiff(data / name, textured((16, 16)), "YX", None)

    def found(pattern: str, recursive: bool) -> list[str]:
        return sorted(str(source.path.relative_to(data))
                      for source in collect_sources([str(data / pattern)], recursive, tmp_path / "out"))

    assert found("exp*", False) == ["exp1/a.tif", "exp2/c.tif"]
    assert found("exp*", True) == found("**/exp*", True) == ["exp1/a.tif", "exp1/deeper/b.tif", "exp2/c.tif"]


def test_a_file_a_glob_reaches_also_through_a_linked_folder_keeps_its_own_path(tmp_path):
    """'data/*/x.tif' matches data/a_alias/x.tif (a link to data/zreal) before data/zreal/x.tif: the file is named,
    and its outputs placed, by its own path, as a folder input names it."""
    from napari_zssr.batch_inputs import collect_sources

    data = tmp_path / "data"
    write_imagej_tiff(data / "zreal" / "x.tif", textured((16, 16)), "YX", None)
    (data / "a_alias").symlink_to(data / "zreal", target_is_directory=True)
    assert [source.path for source in collect_sources([str(data / "*" / "x.tif")], False, tmp_path / "out")] == [
        data / "zreal" / "x.tif"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_named_pipe_is_skipped_in_a_folder_and_refused_when_named(tmp_path, capsys):
    """Reading a pipe would wait for a writer forever: never read, and said."""
    from napari_zssr.batch_inputs import collect_sources

    write_imagej_tiff(tmp_path / "in" / "real.tif", textured((16, 16)), "YX", None)
    os.mkfifo(tmp_path / "in" / "pipe.tif")
    sources = collect_sources([str(tmp_path / "in")], False, tmp_path / "out")
    assert [source.path.name for source in sources] == ["real.tif"]
    assert "skipped 1 file(s): not a regular file (a pipe, socket or device) (pipe.tif)" in capsys.readouterr().err
    assert main([str(tmp_path / "in" / "pipe.tif"), "--out", str(tmp_path / "out"), *FAST]) == 2
    assert "pipe.tif: not a regular file" in capsys.readouterr().err


def test_a_multi_file_ome_dataset_is_one_job_and_several_series_are_named(tmp_path, capsys):
    from test_tiff import write_multifile_ome

    from napari_zssr.batch_inputs import collect_sources

    folder = tmp_path / "in"
    folder.mkdir()
    first, _ = write_multifile_ome(folder, (textured((4, 16, 16)) * 100).astype(np.uint16))
    assert [source.path for source in collect_sources([str(folder)], False, tmp_path / "out")] == [first]
    assert "skipped 1 file(s): part of a multi-file OME dataset" in capsys.readouterr().err
    with tifffile.TiffWriter(tmp_path / "positions.ome.tif", ome=True) as writer:
        for position in range(2):
            writer.write((textured((16, 16), position) * 100).astype(np.uint16))
    assert main([str(tmp_path / "positions.ome.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert "holds 2 image series" not in capsys.readouterr().err  # each ran (test_every_image_series_of_a_file...)
    assert sorted(path.name for path in (tmp_path / "o").glob("*.tif")) == ["positions_series0_zssr.tif",
                                                                          "positions_series1_zssr.tif"]


def write_positions_in_files(folder: Path, count: int = 3) -> list[Path]:
    """A multi-position OME dataset as Micro-Manager writes one: each position's plane in a file of its own, every
    file's OME-XML naming all positions' Images and their files."""
    names = [f"mm_Pos{position}.ome.tif" for position in range(count)]
    images = "".join(
        f'<Image ID="Image:{k}" Name="Pos{k}"><Pixels ID="Pixels:{k}" DimensionOrder="XYZCT" Type="uint16" SizeX="16" '
        f'SizeY="16" SizeZ="1" SizeC="1" SizeT="1"><Channel ID="Channel:{k}:0" SamplesPerPixel="1"/><TiffData IFD="0" '
        f'PlaneCount="1"><UUID FileName="{name}">urn:uuid:{k}</UUID></TiffData></Pixels></Image>'
        for k, name in enumerate(names))
    for k, name in enumerate(names):
        xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
               f'UUID="urn:uuid:{k}">{images}</OME>')
        tifffile.imwrite(folder / name, (textured((16, 16), k) * 100).astype(np.uint16), description=xml,
                         metadata=None)
    return [folder / name for name in names]


def test_a_multi_position_dataset_missing_a_position_file_fails_naming_it(tmp_path, capsys):
    """A position in a file of its own that is missing has no image series: the others ran, numbered among themselves
    (Pos2 as series 1), and the same output names would later hold another position."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = write_positions_in_files(folder)
    assert main([str(folder), "--out", str(tmp_path / "whole"), *ZSSR_ONLY]) == 0
    assert sorted(path.name for path in (tmp_path / "whole").glob("*.tif")) == [
        f"mm_Pos0_series{k}_zssr.tif" for k in range(3)]
    files[1].unlink()
    capsys.readouterr()
    assert main([str(folder), "--out", str(tmp_path / "out"), *ZSSR_ONLY]) == 1
    err = capsys.readouterr().err
    assert "multi-file OME dataset whose file(s) mm_Pos1.ome.tif are not beside it" in err
    assert not list((tmp_path / "out").glob("*.tif"))


def test_an_ome_tiff_renamed_since_it_was_written_runs(tmp_path):
    """Bio-Formats names a file in its own OME-XML (UUID FileName): renamed, it is known by its UUID, not refused as
    a multi-file dataset whose file is missing."""
    xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
           'UUID="urn:uuid:abc"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
           'SizeX="16" SizeY="16" SizeZ="1" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
           '<TiffData IFD="0" PlaneCount="1"><UUID FileName="original.ome.tif">urn:uuid:abc</UUID></TiffData>'
           '</Pixels></Image></OME>')
    tifffile.imwrite(tmp_path / "renamed.ome.tif", (textured((16, 16)) * 100).astype(np.uint16), description=xml,
                     metadata=None)
    without_own_uuid = xml.replace(' UUID="urn:uuid:abc"', "", 1)  # tifffile cannot tell its entry: one series
    tifffile.imwrite(tmp_path / "renamed_too.ome.tif", (textured((16, 16)) * 100).astype(np.uint16),
                     description=without_own_uuid, metadata=None)
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), *ZSSR_ONLY]) == 0
    assert (tmp_path / "out" / "renamed_zssr.tif").exists() and (tmp_path / "out" / "renamed_too_zssr.tif").exists()


def test_a_file_of_broken_ome_xml_fails_alone(tmp_path, capsys):
    """The check of a dataset's files read the OME-XML outside the reading's error handling: its parse error ended
    the whole batch with a traceback."""
    tifffile.imwrite(tmp_path / "a_bad.ome.tif", textured((16, 16)), metadata=None,
                     description='<?xml version="1.0"?><OME><Image Name="GFP & DAPI"></Image></OME>')
    tifffile.imwrite(tmp_path / "b_good.tif", textured((16, 16)))
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), *ZSSR_ONLY]) == 1
    err = capsys.readouterr().err
    assert "a_bad.ome.tif: failed:" in err and "Traceback" not in err
    assert (tmp_path / "out" / "b_good_zssr.tif").exists()


#: the smallest run, as tests/test_cluster.py's
TINY = ["--preset", "fast", "--max-iterations", "2", "--precision", "float32", "--quiet", "--outputs", "zssr,residual"]
#: a plate's three positions: shape, OME axes and pixel size (um) of each
PLATE = (((16, 16), "YX", 0.1), ((2, 20, 18), "ZYX", 0.2), ((12, 14), "YX", 0.3))


def write_plate(path: Path, constant: int | None = None) -> list[np.ndarray]:
    """A 3-series OME-TIFF as a multi-position acquisition is exported (tifffile writes one OME Image per series),
    each position with its own shape and pixel size; series ``constant`` holds one value (it cannot train)."""
    planes = [np.full(shape, 500, np.uint16) if number == constant else textured(shape, number)
              for number, (shape, _, _) in enumerate(PLATE)]
    with tifffile.TiffWriter(path, ome=True) as writer:
        for data, (_, axes, size) in zip(planes, PLATE):
            writer.write(data, metadata={"axes": axes, "PhysicalSizeX": size, "PhysicalSizeY": size,
                                         **({"PhysicalSizeZ": 0.5} if "Z" in axes else {})})
    return planes


def test_every_image_series_of_a_file_runs_as_its_own_input(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    planes = write_plate(folder / "plate.ome.tif")
    tifffile.imwrite(folder / "single.ome.tif", textured((16, 16), 5), ome=True, metadata={"axes": "YX"})
    out = tmp_path / "out"
    assert main([str(folder), "--out", str(out), *TINY]) == 0
    assert "done 4, skipped 0" in capsys.readouterr().err  # each series one input
    assert sorted(path.name for path in out.glob("*_zssr.tif")) == [
        "plate_series0_zssr.tif", "plate_series1_zssr.tif", "plate_series2_zssr.tif", "single_zssr.tif"]
    assert "series" not in json.loads(read_tiff(out / "single_zssr.tif").description)["input"]  # as before
    for number, (data, (shape, axes, size)) in enumerate(zip(planes, PLATE)):
        output = read_tiff(out / f"plate_series{number}_zssr.tif")
        assert output.data.shape == (*shape[:-2], 2 * shape[-2], 2 * shape[-1]) and output.axes == axes
        assert output.pixel_size == pytest.approx((size / 2, size / 2))
        assert output.z_spacing == (pytest.approx(0.5) if "Z" in axes else None)
        assert json.loads(output.description)["input"]["series"] == number
        alone = tmp_path / f"alone{number}"  # the series saved as a file of its own: the same outputs
        alone.mkdir()
        tifffile.imwrite(alone / "position.ome.tif", data, ome=True,
                         metadata={"axes": axes, "PhysicalSizeX": size, "PhysicalSizeY": size,
                                   **({"PhysicalSizeZ": 0.5} if "Z" in axes else {})})
        assert main([str(alone / "position.ome.tif"), "--out", str(alone / "out"), *TINY]) == 0
        for kind in ("zssr", "residual"):
            np.testing.assert_array_equal(read_tiff(out / f"plate_series{number}_{kind}.tif").data,
                                          read_tiff(alone / "out" / f"position_{kind}.tif").data)
    capsys.readouterr()
    assert main([str(folder), "--out", str(out), *TINY]) == 0
    assert "done 0, skipped 4" in capsys.readouterr().err
    kept = {path: digest(path) for path in out.glob("plate_series[02]_*.tif")}
    for path in out.glob("plate_series1_*.tif"):
        path.unlink()
    assert main([str(folder), "--out", str(out), *TINY]) == 0  # a series' outputs stand on their own in a resume
    assert "done 1, skipped 3" in capsys.readouterr().err
    assert {path: digest(path) for path in kept} == kept and (out / "plate_series1_zssr.tif").is_file()


def test_a_batch_opens_a_plate_as_often_for_many_wells_as_for_two(tmp_path, tiff_openings):
    """Each opening of a TIFF parses every series it holds, and each well's job opened the plate again: a plate of
    hundreds of wells spent seconds a well parsing it, growing with the square of its wells."""
    counts = []
    for wells in (2, 5):
        path = tmp_path / f"plate{wells}.ome.tif"
        with tifffile.TiffWriter(path, ome=True) as writer:
            for well in range(wells):
                writer.write(textured((12, 14), well), compression="zlib", metadata={"axes": "YX"})
        assert main([str(path), "--out", str(tmp_path / f"out{wells}"), *TINY, "--dtype", "input"]) == 0
        counts.append(tiff_openings.count(path.name))
    assert counts[1] == counts[0], counts


def test_an_image_series_that_fails_fails_alone_and_is_named(tmp_path, capsys):
    import napari_zssr

    path = tmp_path / "plate.ome.tif"
    write_plate(path, constant=2)
    summary = napari_zssr.batch(path, tmp_path / "out", preset="fast", max_iterations=2, precision="float32",
                                quiet=True, outputs="zssr")
    err = capsys.readouterr().err
    assert f"{path} (series 2): failed: " in err and "failed 1" in err and summary.exit_code == 1
    assert summary.done == [path, path] and [(failed, reason.split(":")[0]) for failed, reason in summary.failed] \
        == [(path, "series 2")]
    assert sorted(output.name for output in (tmp_path / "out").glob("*.tif")) == ["plate_series0_zssr.tif",
                                                                                  "plate_series1_zssr.tif"]


def test_the_summary_s_end_names_the_image_series_left_alone(tmp_path, capsys):
    """The list of inputs left alone named the file alone, as many times as it had series there, not which."""
    path = tmp_path / "plate.ome.tif"
    write_plate(path)
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), *TINY]) == 0
    for output in [*out.glob("plate_series0_*.tif"), *out.glob("plate_series2_*.tif")]:
        output.unlink()
    capsys.readouterr()
    assert main([str(path), "--out", str(out), *TINY, "--seed", "1"]) == 1
    tail = capsys.readouterr().err.splitlines()
    assert tail[tail.index("left alone (why: see above):") + 1:] == [f"  {path} (series 1)"]


def test_each_image_series_takes_the_optics_of_its_own_ome_image(tmp_path):
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number, emission in enumerate((520, 600)):
            writer.write(textured((16, 16), number), metadata={"axes": "YX", "PhysicalSizeX": 0.1,
                                                               "PhysicalSizeY": 0.1,
                                                               "Channel": {"EmissionWavelength": emission}})
    assert main([str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", "--na", "1.2", *TINY]) == 0
    kernels = [json.loads(read_tiff(tmp_path / "out" / f"two_series{number}_zssr.tif").description)["channels"][0][
        "kernel"] for number in range(2)]
    assert [kernel["wavelength"] for kernel in kernels] == [520, 600]


def test_a_series_without_its_wavelength_is_told_that_options_apply_to_every_series(tmp_path, capsys):
    """'give --wavelength' alone, followed, would replace the file's other series' own wavelengths."""
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number, channel in enumerate(({"EmissionWavelength": 520}, {})):
            writer.write(textured((16, 16), number), metadata={"axes": "YX", "PhysicalSizeX": 0.1,
                                                               "PhysicalSizeY": 0.1, "Channel": channel})
    assert main([str(path), "--out", str(tmp_path / "out"), "--kernel", "optics", "--na", "1.2", *TINY]) == 1
    err = capsys.readouterr().err
    assert f"{path} (series 1): failed: a kernel from the optics needs the emission wavelength: give" in err
    assert "options apply to every series of the file (and every input), so save this series as a file" in err
    assert (tmp_path / "out" / "two_series0_zssr.tif").exists()


def test_a_file_whose_series_outputs_would_take_another_input_s_names_keeps_its_suffix(tmp_path):
    from napari_zssr.batch_inputs import Source, plan_jobs

    jobs = plan_jobs([Source(tmp_path / "plate.tif", tmp_path, 2), Source(tmp_path / "plate_series1.tif", tmp_path)])
    assert [(str(job.output_stem), job.series) for job in jobs] == [
        ("plate.tif_series0", 0), ("plate.tif_series1", 1), ("plate_series1.tif", None)]


def test_a_file_with_more_axes_than_imagej_holds_fails_before_training(tmp_path, capsys, monkeypatch):
    tifffile.imwrite(tmp_path / "six.tif", np.ones((2, 2, 2, 2, 16, 16), np.uint16), metadata={"axes": "TZCQYX"})
    monkeypatch.setattr("napari_zssr.batch_files.run_channels",
                        lambda *a, **k: pytest.fail("trained a file whose outputs cannot be written"))
    assert main([str(tmp_path / "six.tif"), "--out", str(tmp_path / "o"), *FAST]) == 1
    assert "at most 3 axes besides Y and X" in capsys.readouterr().err


def test_a_second_batch_into_a_busy_output_folder_stops_before_touching_it(data_dir, tmp_path, capsys,
                                                                           another_batch):
    """A batch removes temporary files it finds in --out: a second one at the same time would delete the first
    one's work in progress."""
    out = tmp_path / "out"
    with another_batch(out):
        in_progress = out / ".stack_zssr.abc123.tif.part"
        in_progress.write_bytes(b"the first batch is writing this")
        assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 2
        assert "another napari-zssr batch (pid 12345 on lab-pc" in capsys.readouterr().err and in_progress.exists()
    assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 0  # the lock is free again
    assert not in_progress.exists()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names must be UTF-8 (Unicode) there")
def test_a_file_name_that_is_not_utf8_runs_and_a_name_too_long_is_refused_before_training(tmp_path, capsys):
    """An old Windows share mounted on Linux gives Latin-1 names; Python holds their bytes as surrogates."""
    folder = tmp_path / "in"
    folder.mkdir()
    latin1 = Path(os.fsdecode(bytes(folder) + b"/caf\xe9.tif"))
    write_imagej_tiff(latin1, textured((16, 16)), "YX", None)
    assert main([str(folder), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 0
    assert (tmp_path / "o" / Path(os.fsdecode(b"caf\xe9_zssr.tif"))).is_file()
    long = folder / ("n" * 246 + ".tif")  # fits, but its output "..._zssr.tif" (251) with "_residual" would not
    write_imagej_tiff(long, textured((16, 16)), "YX", None)
    assert main([str(long), "--out", str(tmp_path / "o2"), *FAST]) == 2
    assert "bytes, longer than file systems take (255); rename the input" in capsys.readouterr().err


def test_an_out_folder_name_too_long_is_a_usage_error_not_a_traceback(data_dir, tmp_path, capsys):
    """The folder could not be made once the batch had started: an OSError's traceback."""
    (tmp_path / "made").mkdir()
    for out in (tmp_path / "new" / ("o" * 300), tmp_path / "made" / ("o" * 300)):  # stat refuses it in the second
        assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 2
        err = capsys.readouterr().err
        assert "is 300 bytes, longer than file systems take (255); give a shorter one" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(not hasattr(os, "pathconf"), reason="the system does not say its longest path")
def test_an_output_path_longer_than_the_system_takes_is_a_usage_error(data_dir, tmp_path, capsys, monkeypatch):
    """The file trained, then failed at its write (File name too long) in a message of kilobytes."""
    import napari_zssr.batch_files as batch_files

    monkeypatch.setattr(batch_files, "zssr_stack", lambda *args, **kwargs: pytest.fail("it trained"))
    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    out = tmp_path
    while len(os.fsencode(str(out))) < limit - 220:  # folders of 200 bytes: under the name limit, over the path's
        out = out / ("d" * 200)
    out = out / ("d" * (limit - 20 - len(os.fsencode(str(out))) - 1))  # 20 bytes short of the limit: no room for names
    assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"bytes deep, over the {limit - 1} this system takes; choose a shorter --out" in err, err
    assert "done" not in err and not (tmp_path / ("d" * 200)).exists()


def test_an_input_name_too_long_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    """Path.exists raises there: the system refuses to look the name up."""
    long = tmp_path / ("n" * 300 + ".tif")
    assert main([str(long), "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder (a name on its path is longer than file systems take, 255 bytes)" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()

def test_folders_that_cannot_be_read_are_named_not_a_traceback(tmp_path, capsys, monkeypatch):
    """A colleague's private folder in a shared input or output tree (root reads everything, so the denial is
    simulated where the walk, the listing and the lock check meet it)."""
    from napari_zssr.batch_inputs import collect_sources
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import clean_stale_parts

    data, out = tmp_path / "data", tmp_path / "out"
    write_imagej_tiff(data / "a.tif", textured((16, 16)), "YX", None)
    (data / "private").mkdir()
    write_imagej_tiff(data / "listed" / "b.tif", textured((16, 16)), "YX", None)  # listed, its entries not enterable
    (out / "colleague").mkdir(parents=True)
    theirs = out / "colleague" / ".x_zssr.abc.tif.part"
    theirs.write_bytes(b"theirs")
    real = {"scandir": os.scandir, "listdir": os.listdir, "is_file": Path.is_file, "is_symlink": Path.is_symlink,
            "unlink": Path.unlink}

    def denied(path, names=("private",), parents=("listed", "colleague")):
        if Path(path).name in names or Path(path).parent.name in parents:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", lambda path=".": denied(path) or real["scandir"](path))
    monkeypatch.setattr(os, "listdir", lambda path=".": denied(path) or real["listdir"](path))
    for method in ("is_file", "is_symlink", "unlink"):
        monkeypatch.setattr(Path, method, lambda self, *a, m=method, **k: denied(self, ()) or real[m](self, *a, **k))
    assert [source.path.name for source in collect_sources([str(data)], True, tmp_path / "o")] == ["a.tif"]
    assert "skipped 2 folder(s): could not be read (no permission?) (private, listed)" in capsys.readouterr().err
    with pytest.raises(UsageError, match="the one entry found was skipped"):
        collect_sources([str(data / "private")], False, tmp_path / "o")
    assert "could not be read" in capsys.readouterr().err
    clean_stale_parts(out)  # no traceback; what it may not remove is left be
    assert real["is_file"](theirs)


def test_a_batch_leaves_the_temporary_files_of_batches_in_nested_output_folders(tmp_path):
    """--out results and --out results/screen2 at once: neither removes the other's files being written."""
    fcntl = pytest.importorskip("fcntl")

    from napari_zssr.batch_lock import LOCK_NAME
    from napari_zssr.batching import clean_stale_parts

    results, screen = tmp_path / "results", tmp_path / "results" / "screen2"
    screen.mkdir(parents=True)
    stale, other = results / "old" / ".a_zssr.abc.tif.part", screen / ".b_zssr.def.tif.part"
    for part in (stale, other):
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(b"partial")
    with open(screen / LOCK_NAME, "w") as nested_batch:  # as another process holds it
        fcntl.flock(nested_batch.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        clean_stale_parts(results)
        assert other.exists() and not stale.exists()
        below = screen / "sub" / ".c_zssr.ghi.tif.part"
        below.parent.mkdir()
        below.write_bytes(b"partial")
        clean_stale_parts(screen / "sub")  # a batch below one that runs: that one may be writing there
        assert below.exists()
    clean_stale_parts(results)
    assert not other.exists()


def test_a_file_system_without_locks_runs_the_batch_with_a_note(data_dir, tmp_path, capsys, monkeypatch):
    """Lustre without -o flock, some SMB and FUSE mounts: flock fails with ENOSYS, which is no other batch."""
    import errno

    fcntl = pytest.importorskip("fcntl")

    def no_locks(*args):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0
    assert "offers no locks" in capsys.readouterr().err


def test_axes_in_another_order_keep_their_names_and_time_keeps_its_interval(tmp_path):
    """An OME file's C-before-T-and-Z (e.g. Bio-Formats' XYZTC) is written in ImageJ's T, Z, C order, data moved."""
    rng = np.random.default_rng(0)
    offsets = 2000 * np.arange(2)[:, None, None] + 600 * np.arange(2)[None, :, None] + 150 * np.arange(3)
    channel_time_z = (offsets[..., None, None] + rng.random((2, 2, 3, 16, 16)) * 50 + 100).astype(np.uint16)
    tifffile.imwrite(tmp_path / "ctz.ome.tif", channel_time_z, ome=True,
                     metadata={"axes": "CTZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2, "TimeIncrement": 2.5})
    out = tmp_path / "out"
    assert main([str(tmp_path / "ctz.ome.tif"), "--out", str(out), "--outputs", "zssr", "--noise-std", "0",
                 "--dtype", "input", *FAST]) == 0
    written = read_tiff(out / "ctz_zssr.tif")
    assert written.axes == "TZCYX" and written.data.shape == (2, 3, 2, 32, 32)
    assert written.frame_interval == 2.5 and written.pixel_size == pytest.approx((0.1, 0.1))
    means = written.data.mean(axis=(-2, -1))  # each plane keeps its input's level: channel c, time t, plane z
    assert np.allclose(means, np.moveaxis(channel_time_z.mean(axis=(-2, -1)), 0, -1), atol=20)


def test_a_file_named_outright_that_does_not_exist_stops_the_batch(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert main([str(data_dir / "plain.tif"), str(data_dir / "plian.tif"), "--out", str(out), *FAST]) == 2
    assert "plian.tif: no such file or folder" in capsys.readouterr().err and not out.exists()
    assert main([str(data_dir / "plain.tif"), str(data_dir / "nothing*.tif"), "--out", str(out), *FAST]) == 0
    assert "nothing*.tif: no file matches" in capsys.readouterr().err


def test_an_empty_input_is_a_usage_error_not_the_current_folder(data_dir, tmp_path, capsys, monkeypatch):
    """napari-zssr "$DIR" with DIR unset ran every TIFF of the current folder (with -r, its whole tree)."""
    monkeypatch.chdir(data_dir)
    out = tmp_path / "o"
    assert main(["", "--out", str(out), *FAST]) == 2
    assert "an input is empty ('': an unset variable?)" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("given, said", [
    (["--pinhole", "1", "--kernel", "none"], "--pinhole applies to a kernel from the optics, not to --kernel none"),
    (["--excitation-wavelength", "488", "--kernel", "estimate"],
     "--excitation-wavelength applies to a kernel from the optics, not to --kernel estimate"),
    (["--pixel-size", "1e6"], "--pixel-size (pixel_size=) must be in micrometres"),
    (["--psf", ""], "--psf is empty ('': an unset variable?)"),
    (["--scheduler-file", ""], "--scheduler-file is empty ('': an unset variable?)"),
])
def test_a_usage_error_names_the_option_typed(data_dir, tmp_path, capsys, given, said):
    """--pinhole without optics was said to be "--psf-model", which it implies; a pixel size out of range was named
    pixel_size; an empty --psf or --scheduler-file (an unset variable) was read as the current folder."""
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *given, *FAST]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_warm_start_is_no_other_setting_for_an_input_of_one_plane(data_dir, tmp_path, capsys):
    """Adding --warm-start on a rerun over a folder of 2D and 3D files left every 2D file alone as a conflict, though
    nothing in it starts warm."""
    out = tmp_path / "o"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), *FAST]) == 0
    capsys.readouterr()
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--warm-start", *FAST]) == 0
    assert "skipped 1 (already done)" in capsys.readouterr().err


def test_a_tilde_the_shell_left_is_the_home_folder(data_dir, tmp_path, monkeypatch):
    """--out=~/results and a quoted '~/data/*.tif' reach the command with their ~: a folder named ~ was made in the
    current folder, and the pattern matched nothing."""
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "plain.tif").write_bytes((data_dir / "plain.tif").read_bytes())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(data_dir)
    assert main(["~/data/*.tif", "--out=~/results", *FAST]) == 0
    assert (home / "results" / "plain_zssr.tif").is_file() and not (data_dir / "~").exists()
    # a name that merely begins with ~ (an editor's lock file) is a name: it was taken for a user's home, a traceback
    (data_dir / "~lock.tif").write_bytes((data_dir / "plain.tif").read_bytes())
    assert main(["~lock.tif", "--out", str(tmp_path / "locks"), *FAST]) == 0
    assert (tmp_path / "locks" / "~lock_zssr.tif").is_file()
    # the home folder's own brackets are no pattern
    bracketed = tmp_path / "h[1]"
    (bracketed / "data").mkdir(parents=True)
    (bracketed / "data" / "plain.tif").write_bytes((data_dir / "plain.tif").read_bytes())
    monkeypatch.setenv("HOME", str(bracketed))
    assert main(["~/data/*.tif", "--out", str(tmp_path / "b"), *FAST]) == 0
    assert (tmp_path / "b" / "plain_zssr.tif").is_file()
    assert main(["~/data/typo.tif", "--out", str(tmp_path / "t"), *FAST]) == 2


def test_a_tilde_in_a_psf_or_weights_file_is_the_home_folder(data_dir, tmp_path, monkeypatch):
    """--psf=~/psf.tif and --init=~/start.npz reach the command with their ~: each was a file not found."""
    from napari_zssr.core.init_weights import learned_weights_path

    home = tmp_path / "home"
    home.mkdir()
    tifffile.imwrite(home / "psf.tif", gaussian_psf(1.5).astype(np.float32))
    (home / "start.npz").write_bytes(learned_weights_path().read_bytes())
    monkeypatch.setenv("HOME", str(home))
    out = tmp_path / "o"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--psf=~/psf.tif", "--psf-pixel-size", "0.1",
                 "--pixel-size", "0.1", "--init=~/start.npz", *FAST]) == 0
    assert (out / "plain_zssr.tif").is_file()


def test_an_input_taken_for_the_warm_starts_n_is_said_to_be_one(data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["--warm-start", str(data_dir / "plain.tif"), "--out", "o", *FAST])
    assert "(an input? write --warm-start auto before the inputs, or --warm-start after them)" in \
        capsys.readouterr().err


@pytest.mark.skipif(select_device("auto").type == "cuda", reason="this machine has the device")
def test_local_workers_refuse_a_device_this_machine_lacks_before_they_start(data_dir, tmp_path, capsys, monkeypatch):
    """--workers start processes on this machine: a device it lacks failed every file in turn (exit 1)."""
    pytest.importorskip("distributed")
    import napari_zssr.cluster as cluster

    monkeypatch.setattr(cluster, "local_cluster_client", lambda *a: pytest.fail("workers started"))
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--workers", "1", "--device", "cuda",
                 *FAST]) == 2
    assert "cuda" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("option", [["--psf-pixel-size", "0.05"], ["--measured-psf", "yes"]])
def test_psf_options_without_a_psf_are_usage_errors(data_dir, tmp_path, capsys, option):
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *option, *FAST]) == 2
    # not "not to --kernel none", which was never typed
    assert f"{option[0]} applies to a PSF file (--psf), give the PSF file with --psf FILE" in capsys.readouterr().err
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *option, "--kernel", "estimate",
                 *FAST]) == 2
    assert f"{option[0]} applies to a PSF file (--psf), not to --kernel estimate" in capsys.readouterr().err


def test_outputs_are_never_inputs_even_named_and_skipped_files_are_named(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--outputs", "zssr", *FAST]) == 0
    cropped = tmp_path / "fiji" / "plain_zssr.tif"  # an output edited elsewhere keeps its Info record
    cropped.parent.mkdir()
    cropped.write_bytes((out / "plain_zssr.tif").read_bytes())
    capsys.readouterr()
    for given in (cropped.parent, cropped):  # a name may come from the shell expanding a glob: skipped too
        assert main([str(given), "--out", str(tmp_path / "o2"), *FAST]) == 2
        err = capsys.readouterr().err
        assert "skipped 1 file(s): written by napari-zssr" in err and "(plain_zssr.tif)" in err


def test_a_redone_input_names_earlier_outputs_of_kinds_not_asked_for(data_dir, tmp_path, capsys):
    out, source = tmp_path / "out", data_dir / "plain.tif"
    assert main([str(source), "--out", str(out), "--outputs", "zssr,residual", *FAST]) == 0
    source.write_bytes(source.read_bytes())  # a newer version of the input
    capsys.readouterr()
    assert main([str(source), "--out", str(out), "--outputs", "zssr", *FAST]) == 0
    assert "plain_residual.tif from an earlier run stay as they were" in capsys.readouterr().err


def test_an_uncalibrated_stacks_z_spacing_in_pixels_is_kept_on_the_new_grid(tmp_path):
    """ImageJ's ``spacing`` without a unit counts lateral pixels (what the layer writer saves for a layer scaled only
    along z); the output's pixels are half as large, so it counts twice as many."""
    tifffile.imwrite(tmp_path / "z.tif", np.random.default_rng(0).random((3, 16, 16)).astype(np.float32),
                     imagej=True, metadata={"axes": "ZYX", "spacing": 3.0})
    assert main([str(tmp_path / "z.tif"), "--out", str(tmp_path / "out"), "--outputs", "zssr", *FAST]) == 0
    written = read_tiff(tmp_path / "out" / "z_zssr.tif")
    assert written.pixel_size is None and written.z_step_pixels == pytest.approx(6.0)
    assert main([str(tmp_path / "z.tif"), "--out", str(tmp_path / "um"), "--outputs", "zssr", "--pixel-size", "0.2",
                 *FAST]) == 0
    written = read_tiff(tmp_path / "um" / "z_zssr.tif")
    assert written.pixel_size == pytest.approx((0.1, 0.1)) and written.z_spacing == pytest.approx(0.6)
    # none given (Fiji leaves out a spacing of 1): 1 input pixel, 2 of the output's; written as none, Fiji read the
    # output's planes 1 new pixel apart, the volume squashed along z
    tifffile.imwrite(tmp_path / "bare.tif", np.random.default_rng(0).random((3, 16, 16)).astype(np.float32),
                     imagej=True, metadata={"axes": "ZYX"})
    assert main([str(tmp_path / "bare.tif"), "--out", str(tmp_path / "bare"), "--outputs", "zssr", *FAST]) == 0
    assert read_tiff(tmp_path / "bare" / "bare_zssr.tif").z_step_pixels == pytest.approx(2.0)


def test_an_ome_stack_without_z_spacing_gives_outputs_whose_z_step_is_unknown(tmp_path):
    """ImageJ reads a calibrated stack without a z spacing 1 um apart: the outputs said a z step the input never had."""
    tifffile.imwrite(tmp_path / "z.ome.tif", textured((3, 16, 16)), metadata={"axes": "ZYX", "PhysicalSizeX": 0.2,
                                                                                 "PhysicalSizeY": 0.2})
    assert main([str(tmp_path / "z.ome.tif"), "--out", str(tmp_path / "out"), "--outputs", "zssr", *FAST]) == 0
    written = read_tiff(tmp_path / "out" / "z_zssr.tif")
    assert written.pixel_size == pytest.approx((0.1, 0.1)) and written.z_spacing is None


def test_a_fiji_composites_colours_and_display_ranges_are_kept(tmp_path):
    """A composite with a LUT per channel opens in Fiji as it did, not grey; the residual and the spread keep the
    colours only."""
    luts = [np.zeros((3, 256), np.uint8) for _ in range(2)]
    luts[0][1], luts[1][0] = np.arange(256), np.arange(256)  # green, red
    stack = (np.random.default_rng(0).random((2, 16, 16)) * 1000).astype(np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", stack, imagej=True, metadata={
        "axes": "CYX", "mode": "composite", "Ranges": (0.0, 900.0, 10.0, 800.0), "LUTs": luts})
    assert main([str(tmp_path / "c.tif"), "--out", str(tmp_path / "out"), "--outputs",
                 "zssr,residual,ensemble_spread", *FAST]) == 0
    for kind in ("zssr", "residual", "ensemble_spread"):  # the last two are differences around 0
        written = tifffile.TiffFile(tmp_path / "out" / f"c_{kind}.tif").imagej_metadata
        assert written["mode"] == "composite" and all(np.array_equal(a, b) for a, b in zip(written["LUTs"], luts))
        assert ("Ranges" in written) == (kind == "zssr")
    assert tifffile.TiffFile(tmp_path / "out" / "c_zssr.tif").imagej_metadata["Ranges"] == (0.0, 900.0, 10.0, 800.0)


def test_channel_names_are_kept_as_fiji_and_napari_read_them(tmp_path):
    """OME channel names, or Fiji's slice labels shared by each channel's planes, become the outputs' slice labels:
    Fiji shows them, and the napari-zssr reader names the channel layers after them, as it does the input's."""
    from napari_zssr.napari.reader import read_layers

    stack = textured((3, 2, 16, 16), 4)  # Z, C, Y, X
    tifffile.imwrite(tmp_path / "named.ome.tif", stack, ome=True,
                     metadata={"axes": "ZCYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    tifffile.imwrite(tmp_path / "fiji.tif", stack, imagej=True, metadata={"axes": "ZCYX", "Labels": ["a", "b"] * 3})
    tifffile.imwrite(tmp_path / "slices.tif", stack, imagej=True,  # a label per plane: no channel names
                     metadata={"axes": "ZCYX", "Labels": [f"s{i}" for i in range(6)]})
    assert main([str(tmp_path / name) for name in ("named.ome.tif", "fiji.tif", "slices.tif")]
                + ["--out", str(tmp_path / "out"), "--outputs", "zssr", *FAST]) == 0
    assert read_tiff(tmp_path / "named.ome.tif").channel_names == ("DAPI", "GFP")
    assert read_tiff(tmp_path / "out" / "named_zssr.tif").channel_names == ("DAPI", "GFP")
    labels = tifffile.TiffFile(tmp_path / "out" / "fiji_zssr.tif").imagej_metadata["Labels"]
    assert labels == ["a", "b"] * 3
    assert read_layers(str(tmp_path / "out" / "fiji_zssr.tif"))[0][1]["name"] == ["fiji_zssr a", "fiji_zssr b"]
    assert read_tiff(tmp_path / "slices.tif").channel_names == ()
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((3, 8, 8, 3), np.uint8), imagej=True, photometric="rgb",
                     metadata={"axes": "ZYXS", "Labels": ["z1", "z2", "z3"]})
    assert read_tiff(tmp_path / "rgb.tif", samples_as_channels=True).channel_names == ()  # colours: not those
    assert "Labels" not in tifffile.TiffFile(tmp_path / "out" / "slices_zssr.tif").imagej_metadata


def test_planes_per_task_without_a_cluster_is_noted(data_dir, tmp_path, capsys):
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), "--planes-per-task", "4", *FAST]) == 0
    assert "note: --planes-per-task splits stacks across a cluster's tasks" in capsys.readouterr().err
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o2"), *FAST]) == 0
    assert "--planes-per-task" not in capsys.readouterr().err


def test_the_inputs_own_info_is_kept_in_the_record(tmp_path):
    """Fiji's Info holds the microscope's settings (objective, exposure...): the outputs' Info is the run's record."""
    tifffile.imwrite(tmp_path / "m.tif", textured((2, 16, 16), 3), imagej=True,
                     metadata={"axes": "ZYX", "Info": "Objective = 60x/1.4 Oil\nExposure = 100 ms"})
    assert main([str(tmp_path / "m.tif"), "--out", str(tmp_path / "out"), "--outputs", "zssr", *FAST]) == 0
    assert info_of(tmp_path / "out" / "m_zssr.tif")["input_info"] == "Objective = 60x/1.4 Oil\nExposure = 100 ms"
    assert main([str(tmp_path / "m.tif"), "--out", str(tmp_path / "out"), "--outputs", "zssr", *FAST]) == 0  # done


def test_a_single_channel_stacks_lut_and_display_range_are_kept(tmp_path):
    """Fiji saves one channel's display range as min and max, and tifffile reads its one LUT as an array."""
    lut = np.zeros((3, 256), np.uint8)
    lut[1] = np.arange(256)  # green
    stack = (np.random.default_rng(1).random((2, 16, 16)) * 1000).astype(np.uint16)
    tifffile.imwrite(tmp_path / "g.tif", stack, imagej=True, metadata={"axes": "ZYX", "min": 60.0, "max": 500.0,
                                                                       "LUTs": [lut]})
    assert main([str(tmp_path / "g.tif"), "--out", str(tmp_path / "out"), "--outputs", "zssr,residual", *FAST]) == 0
    zssr = tifffile.TiffFile(tmp_path / "out" / "g_zssr.tif").imagej_metadata
    residual = tifffile.TiffFile(tmp_path / "out" / "g_residual.tif").imagej_metadata
    assert np.array_equal(zssr["LUTs"], lut) and np.array_equal(residual["LUTs"], lut)
    assert (zssr["min"], zssr["max"]) == (60.0, 500.0) and "min" not in residual and "max" not in residual


@pytest.mark.parametrize(("scale", "kernel"), [("x", None), ((2, 2.5), "estimate"), (2.5, "estimate")])
def test_a_bad_scale_given_to_the_batch_function_is_a_usage_error(data_dir, tmp_path, scale, kernel):
    from napari_zssr import batch
    from napari_zssr.batch_jobs import UsageError

    with pytest.raises(UsageError, match=r"--scale .*: "):
        batch(data_dir / "plain.tif", tmp_path / "out", scale=scale, kernel=kernel, max_iterations=1)
    assert not (tmp_path / "out").exists()


def test_the_batch_function_takes_one_psf_or_wavelength_as_a_single_value(data_dir, tmp_path):
    """psf="psf.tif" is one file, not a list of one-letter names; wavelength=520 one wavelength."""
    from napari_zssr import batch

    tifffile.imwrite(tmp_path / "bead.tif", (gaussian_psf(1.5) * 1000 + 10).astype(np.float32))
    for out, psf in (("text", str(tmp_path / "bead.tif")), ("path", tmp_path / "bead.tif")):
        assert len(batch(data_dir / "plain.tif", tmp_path / out, psf=psf, max_iterations=1).done) == 1
    summary = batch(data_dir / "plain.tif", tmp_path / "optics", na=1.2, wavelength=520, pixel_size=0.1,
                    max_iterations=1)
    assert len(summary.done) == 1
    record = json.loads(read_tiff(tmp_path / "optics" / "plain_zssr.tif").description)
    assert record["channels"][0]["kernel"]["wavelength"] == 520


def test_a_file_whose_outputs_would_not_fit_fails_before_it_trains(data_dir, tmp_path, capsys, monkeypatch):
    import shutil

    import napari_zssr.batch_files as batch_files

    def no_training(*args, **kwargs):
        raise AssertionError("trained although its outputs could not be written")

    trains = batch_files.zssr_stack
    monkeypatch.setattr(batch_files, "zssr_stack", no_training)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, free=1000))
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "out"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "plain.tif: failed: " in err and "not enough space for its outputs" in err and "1000 bytes free" in err
    assert "with a 5% margin" in err  # what is wanted, said: "need 1.1 MiB, 1.2 MiB free" read as a contradiction
    monkeypatch.setattr(batch_files, "zssr_stack", trains)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=0, free=0))  # a mount without sizes
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0


def test_an_output_folder_this_user_cannot_write_fails_its_files_before_they_train(data_dir, tmp_path, capsys,
                                                                                    monkeypatch):
    """A shared results folder whose subfolder a colleague's run made: its files fail at once, the others run."""
    import napari_zssr.batch_disk as batch_disk
    import napari_zssr.batch_files as batch_files

    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    real_access, trains = batch_disk.os.access, batch_files.zssr_stack
    monkeypatch.setattr(batch_disk.os, "access", lambda path, mode: path != out / "sub" and real_access(path, mode))

    def training(image, *args, **kwargs):
        assert image.shape[-2:] != (16, 16) or image.ndim == 2, "the file of the locked folder trained"
        return trains(image, *args, **kwargs)

    monkeypatch.setattr(batch_files, "zssr_stack", training)
    assert main([str(data_dir), "-r", "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert f"cannot write the outputs into {out / 'sub'}: permission denied; nothing was trained" in err
    assert "done 2" in err and "failed 1" in err


@pytest.mark.parametrize(("code", "when", "said"), [
    (errno.ENOSPC, "mkstemp", "the disk is full (no free space, or no free inodes"),  # inodes: blocks are free
    (errno.EDQUOT, "fsync", "your disk quota is spent"),  # a network file system says so at the latest here
    (errno.EROFS, "mkstemp", "Read-only file system")])
def test_a_folder_that_takes_no_file_fails_each_input_before_it_trains(data_dir, tmp_path, capsys, monkeypatch, code,
                                                                      when, said):
    """Free space and permissions showed nothing wrong: every input trained in full, then failed at its write."""
    import napari_zssr.batch_disk as batch_disk
    import napari_zssr.batch_files as batch_files

    out = tmp_path / "out"

    def refused(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr({"mkstemp": batch_disk.tempfile, "fsync": batch_disk.os}[when], when, refused)
    monkeypatch.setattr(batch_files, "zssr_stack", lambda *args, **kwargs: pytest.fail("it trained"))
    assert main([str(data_dir / "plain.tif"), str(data_dir / "stack.tif"), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    for name in ("plain.tif", "stack.tif"):
        assert f"{name}: failed: [Errno {code}] could not write a test file in {out}: {said}" in err, err
    assert "nothing was trained" in err
    assert "failed 2" in err and not list(out.glob(".napari-zssr-probe-*"))


def test_a_full_disk_while_writing_is_said_and_leaves_the_outputs_as_they_were(data_dir, tmp_path, capsys,
                                                                              monkeypatch):
    """numpy says "N requested and M written"; the user reads that the disk is full. The outputs come as a set: an
    earlier run's stay whole (none replaced, none deleted), and a first run leaves none, so a rerun redoes it."""
    import napari_zssr.batch_files as batch_files

    out = tmp_path / "out"
    args = [str(data_dir / "plain.tif"), "--out", str(out), *FAST]
    assert main(args) == 0
    before = {path.name: path.read_bytes() for path in out.glob("plain_*.tif")}
    staged = []
    real_stage = batch_files.stage_imagej_tiff

    def disk_full_at_the_second(path, *args, **kwargs):
        if staged:
            raise OSError("1966080 requested and 1302692 written")
        staged.append(real_stage(path, *args, **kwargs))
        return staged[-1]

    monkeypatch.setattr(batch_files, "stage_imagej_tiff", disk_full_at_the_second)
    assert main([*args, "--seed", "5", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert f"could not write {out / 'plain_ensemble_median.tif'}: the disk is full" in err
    assert {path.name: path.read_bytes() for path in out.glob("plain_*.tif")} == before
    assert not staged[0].exists() and not list(out.glob(".*.part"))
    staged.clear()
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "first"), *FAST]) == 1
    assert not list((tmp_path / "first").glob("plain*"))


def test_outputs_replaced_by_a_rerun_free_no_room_before_the_new_set_is_written(data_dir, tmp_path, monkeypatch,
                                                                                   capsys):
    """--overwrite on a nearly full disk: the new outputs are all written before any replaces an old one, so room for
    one output at a time is not enough; the file fails before it trains and the old outputs stay whole."""
    import shutil

    out = tmp_path / "out"
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--outputs", "zssr,residual", *FAST]) == 0
    before = {path: digest(path) for path in out.glob("plain_*.tif")}
    free = max(path.stat().st_size for path in before) * 1.2  # room for one output at a time, not for the set
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, free=free))
    capsys.readouterr()
    assert main([str(data_dir / "plain.tif"), "--out", str(out), "--outputs", "zssr,residual", "--seed", "3",
                 "--overwrite", *FAST]) == 1
    assert "not enough space for its outputs" in capsys.readouterr().err
    assert {path: digest(path) for path in out.glob("plain_*.tif")} == before


def test_an_input_or_out_under_a_folder_this_user_cannot_enter_is_a_usage_error(data_dir, tmp_path, capsys,
                                                                                monkeypatch):
    """Python's Path.exists raises PermissionError there (it cannot tell): a usage error naming it, no traceback."""
    locked = tmp_path / "locked"
    real_stat = Path.stat

    def stat(path, *args, **kwargs):
        if locked in path.parents:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    for args in ([str(locked / "in"), "--out", str(tmp_path / "o")],
                 [str(locked / "in" / "*.tif"), "--out", str(tmp_path / "o")],
                 [str(data_dir / "plain.tif"), "--out", str(locked / "out")]):
        assert main([*args, *FAST]) == 2
        err = capsys.readouterr().err
        assert "permission denied (this user cannot look into a folder on its path)" in err, args
        assert "Traceback" not in err


def test_bad_values_or_a_bad_psf_of_a_later_channel_fail_the_file_before_training_naming_where(tmp_path, capsys,
                                                                                             monkeypatch):
    """Both were found only once the channels before had trained (hours on a real stack), and named no channel."""
    import napari_zssr.batch_files

    trained = []
    monkeypatch.setattr(napari_zssr.batch_files, "zssr_stack", lambda *args, **kwargs: trained.append(args))
    stack = textured((3, 2, 20, 20)).astype(np.float32)
    stack[2, 1, 5, 5] = np.nan
    write_imagej_tiff(tmp_path / "nan.tif", stack, "ZCYX", (0.2, 0.2))
    assert main([str(tmp_path / "nan.tif"), "--out", str(tmp_path / "out"), *FAST]) == 1
    assert "plane Z=2, channel 1 contains NaN" in capsys.readouterr().err
    write_imagej_tiff(tmp_path / "good.tif", textured((3, 2, 20, 20)), "ZCYX", (0.2, 0.2))
    psf = (gaussian_psf(1.0) * 1000 + 10).astype(np.float32)
    write_imagej_tiff(tmp_path / "psf_good.tif", psf, "YX", (0.2, 0.2))
    write_imagej_tiff(tmp_path / "psf_bad.tif", psf, "YX", (50.0, 50.0))
    psfs = ["--psf", str(tmp_path / "psf_good.tif"), "--psf", str(tmp_path / "psf_bad.tif")]
    assert main([str(tmp_path / "good.tif"), "--out", str(tmp_path / "out"), *psfs, *FAST]) == 1
    assert f"channel 1, --psf {tmp_path / 'psf_bad.tif'}: PSF pixel size" in capsys.readouterr().err
    assert not trained


def test_a_channel_without_an_emission_wavelength_is_named_and_a_kernel_per_channel_runs_it(tmp_path, ome_tiff,
                                                                                             capsys):
    """A transmitted-light channel beside fluorescence ones: the optics kernel names the channel the file gives no
    wavelength, and ``--kernel`` once per channel gives it none while the optics of the others come from the file;
    a count that fits neither is an error naming both counts."""
    path = tmp_path / "three.ome.tif"
    ome_tiff(path, {"Name": ["DAPI", "GFP", "TL"], "EmissionWavelength": [461.0, 519.0, 999.0]},
             objective='<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.4" Immersion="Oil"/>'
                       '</Instrument>', data=textured((3, 24, 24)), pixel_size=0.2)
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    tifffile.tiffcomment(path, xml.replace(' EmissionWavelength="999.0"', ""))
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--kernel", "optics", *FAST]) == 1
    assert ("does not say it for channel 2 (channels 0-2: 461, 519, ? nm): give --wavelength once per channel"
            in capsys.readouterr().err)
    per_channel = ["--kernel", "optics", "--kernel", "optics", "--kernel", "none"]
    assert main([str(path), "--out", str(out), *per_channel, *FAST]) == 0
    record = info_of(out / "three_zssr.tif")
    kernels = [channel["kernel"] for channel in record["channels"]]
    assert [kernel["source"] for kernel in kernels] == ["optics", "optics", "none (bicubic)"]
    assert [kernel["wavelength"] for kernel in kernels[:2]] == [461, 519]
    assert record["settings"]["kernel"] == ["optics", "optics", "none"]
    capsys.readouterr()
    assert main([str(path), "--out", str(out), *per_channel, *FAST]) == 0  # the same settings: done, kept
    assert "skipped 1" in capsys.readouterr().err

    # wavelengths given for the channels that use the optics only, in their order
    out = tmp_path / "given"
    assert main([str(path), "--out", str(out), "--kernel", "none", "--kernel", "optics", "--kernel", "optics",
                 "--wavelength", "500", "--wavelength", "600", *FAST]) == 0
    kernels = [channel["kernel"] for channel in info_of(out / "three_zssr.tif")["channels"]]
    assert [kernel["source"] for kernel in kernels] == ["none (bicubic)", "optics", "optics"]
    assert [kernel["wavelength"] for kernel in kernels[1:]] == [500, 600]

    assert main([str(path), "--out", str(tmp_path / "two"), "--kernel", "optics", "--kernel", "none", *FAST]) == 2
    assert "2 kernels (--kernel) given for 3 channels; give one, or one per channel" in capsys.readouterr().err


def test_options_given_per_channel_that_do_not_fit_an_input_are_a_usage_error_before_any_input_runs(
        data_dir, tmp_path, capsys):
    """A folder of a two-channel input, then one of one channel, with a wavelength per channel: the second failed
    when its turn came, after the first had trained."""
    folder = tmp_path / "order"
    folder.mkdir()
    tifffile.imwrite(folder / "a_two.tif", np.stack([textured((16, 16)), textured((16, 16), 1)]), imagej=True,
                     metadata={"axes": "CYX"})
    tifffile.imwrite(folder / "b_one.tif", textured((16, 16)))
    out = tmp_path / "out"
    optics = ["--na", "1.4", "--pixel-size", "0.1"]
    excitations = ["--excitation-wavelength", "488", "--excitation-wavelength", "561"]
    for options in ([*optics, "--wavelength", "520", "--wavelength", "600"],
                    ["--kernel", "none", "--kernel", "estimate"], [*optics, "--wavelength", "520", *excitations]):
        assert main([str(folder), "--out", str(out), *options, *ZSSR_ONLY]) == 2
        err = capsys.readouterr().err
        assert "b_one.tif: 2 " in err and "given for 1 channels" in err and not out.exists()
    assert main([str(folder / "a_two.tif"), "--out", str(out), *optics, "--wavelength", "520", "--wavelength", "600",
                 *ZSSR_ONLY]) == 0  # as many channels: runs


@pytest.mark.parametrize("kernel", ["bogus", ["optics", "bogus"], ["none", "PSF"]])
def test_an_unknown_kernel_source_given_to_batch_is_a_usage_error(data_dir, tmp_path, kernel):
    """batch() from Python takes any text as a kernel: one that is no source is named before any work (it was a
    bare IndexError from the batch once the per-channel kernels dropped it)."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match="kernel must be one of psf, optics, estimate, none"):
        batch(data_dir / "plain.tif", tmp_path / "out", kernel=kernel, na=1.4, wavelength=520)
    assert not (tmp_path / "out").exists()


def test_one_kernel_spelled_once_per_channel_is_the_same_setting(data_dir, tmp_path, capsys):
    """``--kernel none --kernel none`` on two channels asks for what ``--kernel none`` does: outputs made either way
    are done, not 'made with different settings' (records from before per-channel kernels say it once)."""
    from napari_zssr.batch_resume import deciding

    assert deciding({"kernel": ["optics", "optics"]})["kernel"] == deciding({"kernel": "optics"})["kernel"]
    assert deciding({"kernel": ["optics", "none"]})["kernel"] == ["optics", "none"]
    source, out = data_dir / "sub" / "stack.tif", tmp_path / "out"  # two channels
    assert main([str(source), "--out", str(out), "--kernel", "none", *FAST]) == 0
    capsys.readouterr()
    assert main([str(source), "--out", str(out), "--kernel", "none", "--kernel", "none", *FAST]) == 0
    assert "skipped 1" in capsys.readouterr().err


def unmarked_z_stack(path: Path) -> Path:
    """A z-stack as a Python user saves it: tifffile stores a 3D ImageJ array without axes as channels."""
    tifffile.imwrite(path, textured((3, 16, 16)), imagej=True, resolution=(1 / 0.1, 1 / 0.1),
                     metadata={"spacing": 0.5, "unit": "um"})
    return path


def test_a_z_stack_saved_without_axes_but_with_its_z_spacing_runs_as_z_planes(tmp_path):
    source = unmarked_z_stack(tmp_path / "z.tif")
    assert main([str(source), "--out", str(tmp_path / "out"), *ZSSR_ONLY]) == 0
    sr = read_tiff(tmp_path / "out" / "z_zssr.tif")
    assert sr.axes == "ZYX" and sr.data.shape == (3, 32, 32) and sr.z_spacing == pytest.approx(0.5)
    record = json.loads(sr.description)
    assert record["input_axes"] == "ZYX" and len(record["channels"]) == 1  # one channel of 3 planes, not 3 channels


def test_resume_redoes_outputs_made_when_such_a_z_stack_was_read_as_channels(tmp_path, capsys, monkeypatch):
    source, out = unmarked_z_stack(tmp_path / "z.tif"), tmp_path / "out"
    args = [str(source), "--out", str(out), *ZSSR_ONLY]
    with monkeypatch.context() as earlier:  # as versions before the rule read it: its planes as channels
        earlier.setattr("napari_zssr.io.channels.channel_reading", lambda tif, series, pixels: "unmarked")
        assert main(args) == 0
    assert json.loads(read_tiff(out / "z_zssr.tif").description)["input_axes"] == "CYX"
    capsys.readouterr()
    assert main(args) == 0
    assert "made from its planes read as channels" in capsys.readouterr().err
    assert json.loads(read_tiff(out / "z_zssr.tif").description)["input_axes"] == "ZYX"
    assert main(args) == 0 and "skipped 1" in capsys.readouterr().err


def test_a_fiji_signed_16bit_image_keeps_its_values_in_the_outputs(tmp_path):
    """Fiji stores a signed 16-bit image 32768 above its values, with a calibration that subtracts that again; the
    batch ran the stored values and wrote outputs without the calibration: 32768 above the input as Fiji shows it."""
    from test_tiff import fiji_signed_16bit

    values = (textured((24, 24)).astype(np.int32) - 600).astype(np.int16)  # -500 to 500: background-subtracted
    fiji_signed_16bit(tmp_path / "signed.tif", values)
    for dtype in ("float32", "input"):
        assert main([str(tmp_path / "signed.tif"), "--out", str(tmp_path / dtype), "--dtype", dtype, *FAST]) == 0
        output = read_tiff(tmp_path / dtype / "signed_zssr.tif").data
        assert output.dtype == (np.int16 if dtype == "input" else np.float32)
        assert abs(float(output.mean()) - float(values.mean())) < 20


def test_a_float64_input_near_float32s_largest_value_gives_finite_outputs(tmp_path):
    """A float64 input within float32's range (accepted) whose output overshoots 3.4e38 was cast to the float32 TIFF
    unclipped: infinities in the super-resolved and median outputs (and numpy's overflow warning), where the
    library's own float32 outputs stay finite."""
    y, x = np.mgrid[:24, :24]
    image = (np.sin(x / 2.0) * np.cos(y / 3.0) + 1.0) / 2 * 3.4e38  # float32's largest value is 3.4028e38
    tifffile.imwrite(tmp_path / "bright.tif", image)
    assert main([str(tmp_path / "bright.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0
    for kind in ("zssr", "ensemble_median", "residual"):
        output = read_tiff(tmp_path / "out" / f"bright_{kind}.tif").data
        assert output.dtype == np.float32 and np.isfinite(output).all(), kind


def test_a_complex_input_gets_no_note_of_float32_outputs_it_will_never_have(tmp_path, capsys):
    """--dtype input noted 'complex64, which ImageJ TIFFs cannot hold; its outputs will be float32' before the batch,
    then failed the file as complex-valued: a promise of outputs beside the refusal."""
    tifffile.imwrite(tmp_path / "fft.tif", textured((16, 16)).astype(np.complex64))
    assert main([str(tmp_path / "fft.tif"), "--out", str(tmp_path / "o"), "--dtype", "input", *FAST]) == 1
    err = capsys.readouterr().err
    assert "complex-valued" in err and "outputs will be float32" not in err


def test_a_fiji_value_calibration_is_said_and_recorded(tmp_path, capsys):
    """An image Fiji shows through a value calibration (Analyze > Calibrate: f(x) = c0 + c1 x, in the ImageJ
    description) gave outputs in its stored values without a word: in Fiji they showed other numbers than the input,
    and nothing recorded why."""
    tifffile.imwrite(tmp_path / "calibrated.tif", textured((24, 24)), imagej=True,
                     metadata={"cf": 0, "c0": 10.0, "c1": 0.5, "vunit": "nM"})
    assert main([str(tmp_path / "calibrated.tif"), "--out", str(tmp_path / "out"), *FAST]) == 0
    assert "f(x) = 10 + 0.5 x (nM), which the outputs do not carry" in capsys.readouterr().err
    info = json.loads(read_tiff(tmp_path / "out" / "calibrated_zssr.tif").description)
    assert info["input_value_calibration"] == "f(x) = 10 + 0.5 x (nM)"
    tifffile.imwrite(tmp_path / "plain.tif", textured((24, 24)).astype(np.float32), imagej=True,
                     metadata={"cf": 20, "vunit": "nM"})  # Fiji's 32-bit value unit, no calibration function
    assert read_tiff(tmp_path / "plain.tif").value_calibration is None


@pytest.mark.parametrize("name", ["overwrite", "recursive", "axial", "quiet"])
@pytest.mark.parametrize("value", ["no", 1, None])
def test_a_switch_given_to_batch_as_anything_but_true_or_false_is_a_usage_error(data_dir, tmp_path, name, value):
    """overwrite="no" (or axial="no") was truthy and acted as True: outputs replaced, a run of another kind."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match=f"{name} must be True or False, got {value!r}"):
        batch(data_dir / "plain.tif", tmp_path / "out", **{"max_iterations": 1, "quiet": True, name: value})
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("inputs", [None, 3, 2.5])
def test_inputs_given_to_batch_as_no_path_or_list_are_a_type_error(tmp_path, inputs):
    from napari_zssr.batching import batch

    with pytest.raises(TypeError, match="inputs must be a file, folder or glob pattern, or a list of them"):
        batch(inputs, tmp_path / "out", max_iterations=1, quiet=True)
    assert not (tmp_path / "out").exists()


def test_inputs_given_to_batch_as_bytes_are_one_path(data_dir, tmp_path):
    """bytes are a path to os and open(); batch() took them as a list of numbers ("47: no such file")."""
    from napari_zssr.batching import batch

    for inputs in (os.fsencode(data_dir / "plain.tif"), [os.fsencode(data_dir / "plain.tif")]):
        summary = batch(inputs, tmp_path / "out", preset="fast", max_iterations=1, precision="float32", quiet=True,
                        overwrite=True)
        assert summary.exit_code == 0 and len(summary.done + summary.skipped) == 1


def test_a_precision_spelled_out_as_auto_took_it_is_no_other_setting(data_dir, tmp_path):
    """--precision bfloat16 after a run whose "auto" took bfloat16 (or the other way round) was reported as made with
    other settings and left alone; another precision still is."""
    from napari_zssr.batching import batch
    from napari_zssr.core.device import select_device
    from napari_zssr.core.precision import resolve_precision

    took = str(resolve_precision("auto", select_device("auto"))).removeprefix("torch.")
    other = "float32" if took != "float32" else "bfloat16"
    for first, second in (("auto", took), (took, "auto")):
        out = tmp_path / first
        settings = {"preset": "fast", "max_iterations": 1, "quiet": True, "outputs": "zssr"}
        assert batch(data_dir / "plain.tif", out, precision=first, **settings).done == [data_dir / "plain.tif"]
        assert batch(data_dir / "plain.tif", out, precision=second, **settings).skipped == [data_dir / "plain.tif"]
        assert batch(data_dir / "plain.tif", out, precision=other, **settings).conflicts == [data_dir / "plain.tif"]


@pytest.mark.parametrize("out", [None, "", 3])
def test_an_out_given_to_batch_as_no_folder_path_is_a_usage_error(data_dir, tmp_path, monkeypatch, out):
    """out="" (an unset variable) wrote into the current folder; None and numbers were a traceback from pathlib."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"the output folder \(--out, out=\) must be a path"):
        batch(data_dir / "plain.tif", out, max_iterations=1, quiet=True)
    assert list(tmp_path.iterdir()) == [data_dir]


def test_an_empty_out_on_the_command_line_is_a_usage_error(data_dir, tmp_path, monkeypatch, capsys):
    """--out "" (an unset $OUT) wrote the outputs and the lock file into the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main([str(data_dir / "plain.tif"), "--out", "", *ZSSR_ONLY]) == 2
    assert "must be a path, got '' (an unset variable?)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [data_dir]


def test_an_out_the_system_will_not_create_is_a_usage_error(data_dir, tmp_path, monkeypatch, capsys):
    """Allowed by the permission bits (root on /sys, a root-squashed share), refused by mkdir: a traceback, exit 1."""
    import errno
    import pathlib

    made = pathlib.Path.mkdir

    def refused(self, *args, **kwargs):
        if self.name == "o":
            raise PermissionError(errno.EPERM, "Operation not permitted", str(self))
        return made(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", refused)
    assert main([str(data_dir / "plain.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 2
    assert f"--out {tmp_path / 'o'} cannot be created: Operation not permitted" in capsys.readouterr().err


def test_warm_start_given_to_batch_as_a_switch_is_the_switch(data_dir, tmp_path):
    """batch(warm_start=True), as switches are given there, was refused ("got True"): it is --warm-start without N."""
    from napari_zssr.batching import batch

    warm_starts = {}
    for switch in (True, "auto", False):
        out = tmp_path / str(switch)
        assert batch(data_dir / "stack.tif", out, preset="fast", max_iterations=20, warm_start=switch, quiet=True,
                     outputs="zssr").exit_code == 0
        warm_starts[switch] = info_of(out / "stack_zssr.tif")["settings"]["warm_start"]
    assert warm_starts == {True: 10, "auto": 10, False: None}


@pytest.mark.parametrize("client", ["tcp://127.0.0.1:8786", object()])
def test_a_client_given_to_batch_that_is_no_client_is_named(data_dir, tmp_path, client):
    """An address given as the client was an AttributeError ('str' object has no attribute 'run') from the worker
    check."""
    from napari_zssr.batching import batch

    with pytest.raises(TypeError, match=r"client must be a distributed.Client \(e.g. distributed.Client\("):
        batch(data_dir / "plain.tif", tmp_path / "out", client=client, quiet=True)
    assert not (tmp_path / "out").exists()


def test_an_out_given_to_batch_as_bytes_is_a_path(data_dir, tmp_path):
    from napari_zssr.batching import batch

    summary = batch(data_dir / "plain.tif", os.fsencode(tmp_path / "out"), preset="fast", max_iterations=1,
                    precision="float32", quiet=True)
    assert summary.done == [data_dir / "plain.tif"] and (tmp_path / "out" / "plain_zssr.tif").is_file()


@pytest.mark.parametrize("settings", [{"planes_per_task": "4"}, {"planes_per_task": 2.5},
                                      {"planes_per_task": True}, {"planes_per_task": np.int64(1)}])
def test_a_count_given_to_batch_as_no_whole_number_is_a_usage_error(data_dir, tmp_path, settings):
    """planes_per_task="4" was a TypeError from a comparison, and 2.5 was taken."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    name, value = next(iter(settings.items()))
    with pytest.raises(UsageError, match=f"{name} must be a whole number"):
        batch(data_dir / "plain.tif", tmp_path / "out", max_iterations=1, quiet=True, **settings)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("threads", [0, -1, "2", 1.5, True])
def test_threads_given_to_batch_as_no_whole_number_from_1_is_a_usage_error(data_dir, tmp_path, threads):
    """threads=0 or "2" was taken, and on a cluster failed every file in torch.set_num_threads."""
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match="threads must be a whole number >= 1"):
        batch(data_dir / "plain.tif", tmp_path / "out", threads=threads, max_iterations=1, quiet=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["psf", "wavelength", "excitation_wavelength"])
def test_a_list_setting_given_to_batch_as_none_is_left_out(data_dir, tmp_path, name):
    """psf=None (as a script passes an unset option) was 'NoneType object is not iterable'."""
    from napari_zssr.batching import batch

    summary = batch(data_dir / "plain.tif", tmp_path / "out", preset="fast", max_iterations=1, precision="float32",
                    quiet=True, **{name: None})
    assert summary.done == [data_dir / "plain.tif"]


@pytest.mark.parametrize("settings", [{"kernel": 3}, {"wavelength": object()}])
def test_a_list_setting_given_to_batch_as_another_thing_is_a_usage_error(data_dir, tmp_path, settings):
    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.batching import batch

    with pytest.raises(UsageError, match=next(iter(settings))):
        batch(data_dir / "plain.tif", tmp_path / "out", max_iterations=1, quiet=True, **settings)
    assert not (tmp_path / "out").exists()


def test_a_method_a_settings_error_names_stays_as_it_is(tmp_path):
    """Fields of ZSSRConfig in an error are named as options (ZSSRConfig.device: --device); the example of a method
    read as one ('e.g. --preset('fast')')."""
    import napari_zssr

    with pytest.raises(napari_zssr.UsageError, match=r"e\.g\. ZSSRConfig\.preset\('fast'\)"):
        napari_zssr.batch([tmp_path / "in.tif"], tmp_path / "out", preset=None)
    with pytest.raises(napari_zssr.UsageError, match="--max-iterations must be a whole number >= 1"):
        napari_zssr.batch([tmp_path / "in.tif"], tmp_path / "out", max_iterations=0)


def test_a_psf_file_of_as_many_channels_as_those_given_a_psf_serves_them_in_order(tmp_path, multicolour_psf):
    """Two colours beside transmitted light (--kernel psf --kernel none --kernel psf) with a two-colour bead image:
    a usage error (the file has 2 channels, the input 3); the channels that take a PSF take its channels in order."""
    multi, singles = multicolour_psf
    write_imagej_tiff(tmp_path / "in" / "three.tif", textured((3, 20, 20)), "CYX", (0.1, 0.1))
    args = [str(tmp_path / "in" / "three.tif"), *ZSSR_ONLY, "--kernel", "psf", "--kernel", "none", "--kernel", "psf"]
    assert main([*args, "--out", str(tmp_path / "multi"), "--psf", str(multi)]) == 0
    assert main([*args, "--out", str(tmp_path / "alone"), *(f"--psf={single}" for single in singles)]) == 0
    made = read_tiff(tmp_path / "multi" / "three_zssr.tif")
    np.testing.assert_array_equal(made.data, read_tiff(tmp_path / "alone" / "three_zssr.tif").data)
    kernels = [channel["kernel"] for channel in json.loads(made.description)["channels"]]
    assert [kernel.get("psf_channel") for kernel in kernels] == [0, None, 1]


def test_a_pixel_size_given_over_a_files_own_is_said(tmp_path, capsys):
    """--pixel-size given for the files of a batch that lack one silently recalibrated those that give their own."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_imagej_tiff(folder / "calibrated.tif", textured((16, 16)), "YX", (0.1, 0.1))
    write_imagej_tiff(folder / "same.tif", textured((16, 16)), "YX", (0.065, 0.065))
    tifffile.imwrite(folder / "bare.tif", textured((16, 16)))
    assert main([str(folder), "--out", str(tmp_path / "out"), "--pixel-size", "0.065", *ZSSR_ONLY]) == 0
    err = capsys.readouterr().err
    assert f"note: --pixel-size 0.065 µm replaces the pixel size 1 input(s) give ({folder / 'calibrated.tif'} 0.1 µm)" \
        in err
    assert "nm" not in err  # a new calibration of a similar size: no unit slip suspected
    assert read_tiff(tmp_path / "out" / "calibrated_zssr.tif").pixel_size == pytest.approx((0.0325, 0.0325))


def test_a_pixel_size_typed_in_nm_over_a_files_own_is_said_to_be_one(tmp_path, capsys):
    """--pixel-size 65 (nm meant) over a file's 0.1 um, with no kernel from the optics to refuse it, recalibrated the
    output to 32.5 um pixels with a note that did not say why that is unlikely."""
    write_imagej_tiff(tmp_path / "calibrated.tif", textured((16, 16)), "YX", (0.1, 0.1))
    assert main([str(tmp_path / "calibrated.tif"), "--out", str(tmp_path / "out"), "--pixel-size", "65",
                 *ZSSR_ONLY]) == 0
    assert "100 or more times the image's own: the pixel size is in micrometres (65 nm is 0.065)" in \
        capsys.readouterr().err


def test_a_finely_sampled_bead_is_checked_at_each_inputs_own_pixel_size(tmp_path, capsys):
    """A bead at 15 nm for images at 0.13 um was refused before the batch (a kernel of 309 HR pixels "with the PSF
    taken as sampled at the image's pixels (a pixel size unknown)"), though every input gives its pixel size."""
    from napari_zssr import theoretical_psf

    write_imagej_tiff(tmp_path / "cells.tif", textured((32, 32)), "YX", (0.13, 0.13))
    bead = theoretical_psf(1.4, 520, 0.015, size=301)
    write_imagej_tiff(tmp_path / "bead.tif", (bead / bead.max() * 6e4 + 100).astype(np.uint16), "YX",
                      (0.015, 0.015))
    assert main([str(tmp_path / "cells.tif"), "--out", str(tmp_path / "o"), "--psf", str(tmp_path / "bead.tif"),
                 *ZSSR_ONLY]) == 0
    two = bead + np.roll(bead, 100, axis=1)  # two beads: the note on the file is still said before the batch
    write_imagej_tiff(tmp_path / "two.tif", (two / two.max() * 6e4 + 100).astype(np.uint16), "YX", (0.015, 0.015))
    assert main([str(tmp_path / "cells.tif"), "--out", str(tmp_path / "o3"), "--psf", str(tmp_path / "two.tif"),
                 *ZSSR_ONLY]) == 0
    assert "two.tif: the PSF file does not look like one bead" in capsys.readouterr().err
    write_imagej_tiff(tmp_path / "plain" / "raw.tif", textured((32, 32)), "YX", None)  # no pixel size: it fails alone
    assert main([str(tmp_path / "plain" / "raw.tif"), "--out", str(tmp_path / "o2"), "--psf",
                 str(tmp_path / "bead.tif"), *ZSSR_ONLY]) == 1
    err = capsys.readouterr().err
    assert "raw.tif: failed: --psf" in err and "the PSF would become a kernel" in err


def test_a_result_saved_from_napari_is_never_taken_as_an_input(tmp_path, capsys):
    """The napari writer's record (a run's metadata, without the command line's settings) did not count as ours: a
    result saved from the viewer was run again, and one in an output's place was called corrupt."""
    from napari_zssr.napari.writer import write_image

    attributes = {"name": "cells_zssr", "scale": (0.1, 0.1), "metadata": {"napari_zssr_version": "0.1.0",
                                                                           "config": {"seed": 0}}}
    write_image(str(tmp_path / "in" / "cells_zssr.tif"), textured((32, 32)), attributes)
    assert main([str(tmp_path / "in" / "cells_zssr.tif"), "--out", str(tmp_path / "o"), *ZSSR_ONLY]) == 2
    assert "written by napari-zssr" in capsys.readouterr().err
