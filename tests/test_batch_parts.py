"""A stack split into parts (``--planes-per-task``) and assembled from them, without a cluster: the same outputs as
the stack run whole, in every axis order, read back from disk a plane at a time."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage
from test_cli import textured

from napari_zssr.batch_files import assemble_parts, plane_counts, plane_ranges, process_file, process_part
from napari_zssr.batch_jobs import input_identity, output_path
from napari_zssr.batch_parts import NpyPlanes, PartsStack, part_records, save_part
from napari_zssr.batching import make_options, prepare
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.io.planes import ChannelPlanes, CroppedPlanes, PlaneReadError, ReorderedPlanes, iter_planes
from napari_zssr.io.tiff import read_tiff

SETTINGS = {"preset": "fast", "max_iterations": 2, "precision": "float32", "quiet": True,
            "outputs": "zssr,residual", "dtype": "input"}


def run_split_and_whole(path, tmp_path, per_task: int, **settings) -> tuple:
    """The outputs of ``path`` run whole and run in parts of ``per_task`` planes, read back."""
    whole, split = tmp_path / "whole", tmp_path / "split"
    settings = {**SETTINGS, **settings}
    kinds = settings["outputs"].split(",")
    results = []
    for out in (whole, split):
        prepared = prepare([path], make_options(out, settings))
        job = prepared.jobs[0]
        identity = input_identity(job.source)
        if out == whole:
            process_file(job, prepared, identity)
        else:
            planes, _ = plane_counts(job.source)
            ranges = plane_ranges(planes, per_task)
            assert len(ranges) > 1
            parts = [out / "parts" / f"0.{start}-{stop}" for start, stop in ranges]
            parts[0].parent.mkdir(parents=True)  # the batch's folder of parts
            for planes_range, part in zip(ranges, parts):
                process_part(job, prepared, planes_range, part)
            assemble_parts(job, prepared, identity, parts)
            assert not any(part.exists() for part in parts)
        results.append({kind: read_tiff(output_path(out, job, kind)) for kind in kinds})
    return results


@pytest.mark.parametrize("axes, shape, ome", [
    ("TZCYX", (2, 3, 2, 16, 16), False),  # ImageJ's order, channels inside
    ("CZYX", (2, 4, 16, 16), True),  # channels first (an OME file)
    ("ZTCYX", (3, 2, 2, 16, 16), True),  # z outside time: the pages are written in another order than the parts'
])
def test_assembled_parts_equal_the_stack_run_whole(tmp_path, axes, shape, ome):
    data = textured(shape, 4)
    data[(0,) * (len(shape) - 2)] = 7  # a blank plane: recorded, and skipped, in its part
    path = tmp_path / "stack.tif"
    if ome:
        tifffile.imwrite(path, data, ome=True, metadata={"axes": axes, "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2})
    else:
        write_imagej_tiff(path, data, axes, (0.2, 0.2))
    whole, split = run_split_and_whole(path, tmp_path, per_task=2)
    for kind in ("zssr", "residual"):
        ours, reference = split[kind], whole[kind]
        assert ours.axes == reference.axes and ours.pixel_size == reference.pixel_size
        assert ours.data.dtype == reference.data.dtype  # zssr in the input's uint16 (rounded a plane at a time)
        np.testing.assert_array_equal(ours.data, reference.data)
    assert whole["zssr"].data.dtype == np.uint16 and whole["residual"].data.dtype == np.float32
    records = [json.loads(result["zssr"].description)["channels"] for result in (split, whole)]
    assert records[0] == records[1]  # iterations, blank planes, resolution: as one run's


@pytest.mark.parametrize("axes", ["ZCYX", "CZYX"])
def test_a_compressed_stack_is_assembled_from_its_pages_as_it_runs_whole(tmp_path, axes):
    """The assembly reads the input's pages it needs (the report's planes), never the compressed file whole."""
    from napari_zssr.io.tiff import PagedPlanes

    data = textured((4, 2, 16, 16) if axes == "ZCYX" else (2, 4, 16, 16), 5)
    path = tmp_path / "zlib.ome.tif"
    tifffile.imwrite(path, data, ome=True, compression="zlib", photometric="minisblack",
                     metadata={"axes": axes, "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2})
    mapped = read_tiff(path, samples_as_channels=True, mapped=True)
    assert isinstance(mapped.data, PagedPlanes) and mapped.axes == axes
    np.testing.assert_array_equal(mapped.data[(1, 1)], data[1, 1])
    whole, split = run_split_and_whole(path, tmp_path, per_task=2)
    for kind in ("zssr", "residual"):
        np.testing.assert_array_equal(split[kind].data, whole[kind].data)
    records = [json.loads(result["zssr"].description)["channels"] for result in (split, whole)]
    assert records[0] == records[1]


def test_parts_stack_reads_each_plane_from_its_part(tmp_path):
    rng = np.random.default_rng(0)
    stack = rng.random((5, 2, 3, 4)).astype(np.float32)  # 5 planes of 2 channels
    parts = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for part, (start, stop) in zip(parts, [(0, 2), (2, 3), (3, 5)]):
        save_part(part, {"zssr": stack[start:stop]}, [{"iterations": []}])
    assert not list(tmp_path.glob(".*"))  # no temporary folder left
    joined = PartsStack(parts, "zssr", (5,))
    assert joined.shape == (5, 2, 3, 4) and joined.dtype == np.float32
    for plane in range(5):
        for channel in range(2):
            np.testing.assert_array_equal(joined[(plane, channel)], stack[plane, channel])
    np.testing.assert_array_equal(np.stack(list(iter_planes(ChannelPlanes(joined, 1)))), stack[:, 1])
    with pytest.raises(ValueError, match="hold 5 planes, not the stack's 6"):
        PartsStack(parts, "zssr", (2, 3))
    (parts[2] / "zssr.npy").write_bytes((parts[2] / "zssr.npy").read_bytes()[:-8])
    with pytest.raises(ValueError, match="truncated"):  # refused when opened, before any output is written
        NpyPlanes(parts[2] / "zssr.npy")
    save_part(parts[2], {"zssr": stack[3:5, :1]}, [{"iterations": []}])  # one channel: kept the part there
    with pytest.raises(ValueError, match="truncated"):
        PartsStack(parts, "zssr", (5,))
    other = tmp_path / "d"
    save_part(other, {"zssr": stack[3:5, :1]}, [{"iterations": []}])
    with pytest.raises(ValueError, match="different channels or plane sizes"):
        PartsStack(parts[:2] + [other], "zssr", (5,))


def test_a_part_saved_again_keeps_the_one_there(tmp_path):
    """Dask runs a part task again when the worker holding its result dies: the part is there, and stays."""
    part = tmp_path / "0.0-2"
    save_part(part, {"zssr": np.ones((2, 1, 4, 4))}, [{"iterations": [1, 1]}])
    save_part(part, {"zssr": np.ones((2, 1, 4, 4))}, [{"iterations": [1, 1]}])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["0.0-2"]
    assert sorted(path.name for path in part.iterdir()) == ["records.json", "zssr.npy"]


def test_a_rerun_uses_only_whole_parts(tmp_path):
    from napari_zssr.batch_parts import is_whole_part

    part = tmp_path / "0-2"
    save_part(part, {"zssr": np.ones((2, 1, 4, 4)), "residual": np.zeros((2, 1, 4, 4))}, [{"iterations": [1, 1]}])
    assert is_whole_part(part, {"zssr", "residual"}) and not is_whole_part(part, {"zssr", "ensemble_median"})
    (part / "residual.npy").write_bytes((part / "residual.npy").read_bytes()[:-4])
    assert not is_whole_part(part, {"zssr", "residual"})
    (part / "records.json").unlink()
    assert not is_whole_part(part, {"zssr"}) and not is_whole_part(tmp_path / "2-4", {"zssr"})


def test_two_tasks_of_one_part_writing_at_once_keep_one_whole_part(tmp_path, monkeypatch):
    """A stopped batch's task and its rerun's may write the same part at once (on hosts where their process ids
    can be equal): each writes its own temporary folder, and the later rename finds the part in place."""
    part = tmp_path / "0-2"
    real_replace = os.replace

    def the_other_task_first(source, target):  # the other task's rename lands just before this one's
        monkeypatch.setattr(os, "replace", real_replace)
        save_part(part, {"zssr": np.full((2, 1, 4, 4), 2.0)}, [{"iterations": [2, 2]}])
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", the_other_task_first)
    save_part(part, {"zssr": np.ones((2, 1, 4, 4))}, [{"iterations": [1, 1]}])
    assert [path.name for path in tmp_path.iterdir()] == ["0-2"] and part_records(part) == [{"iterations": [2, 2]}]


def test_a_part_unreadable_while_written_is_a_read_error_naming_it(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    for part in parts:
        save_part(part, {"zssr": np.ones((2, 1, 4, 4))}, [{"iterations": []}])
    joined = PartsStack(parts, "zssr", (4,))
    (parts[1] / "zssr.npy").unlink()  # e.g. a network file system's error, after the parts were opened
    with pytest.raises(PlaneReadError, match=r"could not read plane \(2, 0\).*zssr.npy"):
        write_imagej_tiff(tmp_path / "out.tif", joined, "ZCYX", None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b"]  # no output, no temporary file


def test_a_file_whose_channels_tifffile_cannot_place_splits_as_it_runs_whole(tmp_path):
    """tifffile reads "CQYX" for a shaped file: the reader makes it "QQYX" (no channels), so the parts count so."""
    path = tmp_path / "shaped.tif"
    tifffile.imwrite(path, textured((2, 3, 16, 16), 5), metadata={"axes": "CQYX"})
    assert plane_counts(path) == (6, 1)
    whole, split = run_split_and_whole(path, tmp_path, per_task=3)
    np.testing.assert_array_equal(split["zssr"].data, whole["zssr"].data)


def test_reordered_and_cropped_planes_match_numpy():
    rng = np.random.default_rng(1)
    array = rng.random((2, 3, 1, 5, 6))
    view = ReorderedPlanes(array, [1, 0], np.float32)  # axis 2 (length 1) dropped
    assert view.shape == (3, 2, 5, 6) and view.dtype == np.float32
    np.testing.assert_array_equal(np.stack(list(iter_planes(view))).reshape(view.shape),
                                  array[:, :, 0].transpose(1, 0, 2, 3).astype(np.float32))
    with pytest.raises(ValueError, match="length 1"):
        ReorderedPlanes(array, [2])
    with pytest.raises(ValueError, match="not a reordering"):
        ReorderedPlanes(array, [0, 0, 1])
    window = CroppedPlanes(array, slice(1, 4), slice(2, None))
    assert window.shape == (2, 3, 1, 3, 4)
    np.testing.assert_array_equal(window[(1, 2, 0)], array[1, 2, 0, 1:4, 2:])


def test_a_split_stack_without_the_zssr_output_reports_the_whole_stack_resolution(tmp_path):
    """The report reads the zssr output, which the parts keep whether asked for or not (not one part's report)."""
    stack = np.stack([ndimage.gaussian_filter(textured((96, 96), seed).astype(float), 1.5) for seed in range(4)])
    path = tmp_path / "stack.tif"
    write_imagej_tiff(path, stack.astype(np.uint16), "ZYX", (0.1, 0.1))
    whole, split = run_split_and_whole(path, tmp_path, per_task=2, outputs="residual")
    records = [json.loads(result["residual"].description)["channels"] for result in (split, whole)]
    assert "input_px" in records[1][0]["resolution"]
    assert records[0] == records[1]
    assert not list((tmp_path / "split").glob("*_zssr.tif"))


def test_bad_values_in_a_part_are_named_as_the_whole_stack_names_them(tmp_path):
    stack = textured((4, 16, 16), 2).astype(np.float32)
    stack[2, 3] = np.nan
    path = tmp_path / "nan.tif"
    write_imagej_tiff(path, stack, "ZYX", None)
    prepared = prepare([path], make_options(tmp_path / "out", SETTINGS))
    with pytest.raises(ValueError, match="plane Z=2 contains NaN"):
        process_part(prepared.jobs[0], prepared, (2, 4), tmp_path / "part")
    with pytest.raises(ValueError, match="plane Z=2 contains NaN"):  # the whole file's run says the same
        process_file(prepared.jobs[0], prepared, {})
    channels = np.stack([textured((4, 16, 16), 3).astype(np.float32), stack], axis=1)
    write_imagej_tiff(path, channels, "ZCYX", None)
    with pytest.raises(ValueError, match="plane Z=2, channel 1 contains NaN"):
        process_part(prepared.jobs[0], prepared, (2, 4), tmp_path / "part")


def test_a_part_already_whole_is_kept_without_training(tmp_path, monkeypatch):
    """Dask runs a finished part's task again when the worker holding its report is lost: the part on disk stands."""
    import napari_zssr.batch_files as batch_files

    path = tmp_path / "stack.tif"
    write_imagej_tiff(path, textured((4, 16, 16), 2), "ZYX", None)
    prepared = prepare([path], make_options(tmp_path / "out", SETTINGS))
    part = tmp_path / "part"
    assert process_part(prepared.jobs[0], prepared, (2, 4), part).planes == 2
    saved = {file.name: file.read_bytes() for file in part.iterdir()}

    def trained(*args, **kwargs):
        raise AssertionError("a whole part was trained again")

    monkeypatch.setattr(batch_files, "super_resolve_part", trained)
    again = process_part(prepared.jobs[0], prepared, (2, 4), part)
    assert again.planes == 2 and again.device == part_records(part)[0]["device"]  # counted as a run counts it
    assert {file.name: file.read_bytes() for file in part.iterdir()} == saved


def test_a_part_on_a_disk_without_room_fails_before_it_trains(tmp_path, monkeypatch):
    """A split stack needs room for its part and for the outputs the assembly will write; the part checks both."""
    import shutil
    from types import SimpleNamespace

    import napari_zssr.batch_files as batch_files

    path = tmp_path / "stack.tif"
    write_imagej_tiff(path, textured((4, 16, 16), 1), "ZYX", (0.1, 0.1))
    prepared = prepare([path], make_options(tmp_path / "out", SETTINGS))

    def no_training(*args, **kwargs):
        raise AssertionError("trained although its part could not be written")

    monkeypatch.setattr(batch_files, "zssr_stack", no_training)
    # the outputs of the stack: 4 x 32 x 32 pixels of zssr (uint16) and residual (float32): 24 kB; the part: 16 kB
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, free=30_000))
    with pytest.raises(OSError, match="not enough space .* nothing was trained"):
        process_part(prepared.jobs[0], prepared, (0, 2), tmp_path / "part")


def test_a_short_write_is_said_as_a_full_disk_with_its_error_number():
    from napari_zssr.batch_disk import described_write_error

    error = described_write_error(OSError("73728 requested and 8160 written"), Path("part"))
    assert error.errno == errno.ENOSPC and str(error) == ("[Errno 28] could not write part: the disk is full (no free "
                                                         "space, or no free inodes where many small files fill it: "
                                                         "df -h, df -i)")
    other = described_write_error(OSError("odd"), Path("x"))
    assert other.errno is None and str(other) == "could not write x: odd"


def test_a_task_of_a_stopped_batch_puts_nothing_in_place(tmp_path):
    """Ctrl-C on a cluster batch cancels its tasks, but one already running on a worker goes on: when it ends, the
    batch's folder is gone, and its outputs must not replace those of a batch run since."""
    from dataclasses import replace

    from napari_zssr.batch_files import BatchStopped

    path = tmp_path / "plain.tif"
    write_imagej_tiff(path, textured((16, 16), 2), "YX", None)
    out = tmp_path / "out"
    prepared = prepare([path], make_options(out, SETTINGS))
    job = prepared.jobs[0]
    live = tmp_path / "batch"
    with pytest.raises(BatchStopped, match="its batch was stopped while it ran; nothing was put in place"):
        process_file(job, replace(prepared, live_folder=live), input_identity(path))
    assert not out.exists() or not list(out.iterdir())
    live.mkdir()
    process_file(job, replace(prepared, live_folder=live), input_identity(path))
    assert output_path(out, job, "zssr").exists()


def test_parts_cleanup_keeps_what_is_resumable_and_touches_nothing_it_did_not_make(tmp_path):
    """A batch starts keeping every stack's parts (it may use them), ends keeping the resumable ones, and never
    removes another name under the parts' folder, nor follows a link there (to scratch space, say)."""
    from napari_zssr.batching import PARTS_FOLDER, clean_stale_parts

    out, scratch = tmp_path / "out", tmp_path / "scratch"
    (scratch / "my_other_project").mkdir(parents=True)
    (scratch / "notes.txt").write_text("mine")
    out.mkdir()
    (out / PARTS_FOLDER).symlink_to(scratch)
    kept, stale, live = (scratch / name for name in ("a" * 32, "b" * 32, "batch-" + "c" * 32))
    for folder in (kept, stale, live):
        (folder / "0-2").mkdir(parents=True)
    (kept / ".0-2.d41d8cd9").mkdir()  # a task of the stopped batch, still writing
    (scratch / "link").symlink_to(scratch / "my_other_project")
    clean_stale_parts(out)  # a batch starts: the live folder of a dead batch goes, every stack's parts stay
    assert sorted(path.name for path in scratch.iterdir()) == sorted(["my_other_project", "notes.txt", kept.name,
                                                                      stale.name, "link"])
    clean_stale_parts(out, {out / PARTS_FOLDER / kept.name})  # it ends: what it keeps for a rerun stays whole
    assert sorted(path.name for path in scratch.iterdir()) == sorted(["my_other_project", "notes.txt", kept.name,
                                                                      "link"])
    assert (kept / ".0-2.d41d8cd9").is_dir()
    clean_stale_parts(out, set())
    assert sorted(path.name for path in scratch.iterdir()) == ["link", "my_other_project", "notes.txt"]
    assert (out / PARTS_FOLDER).is_symlink()


def test_a_stacks_parts_are_found_again_whether_its_own_pixel_size_is_given_or_not(tmp_path):
    """A rerun of a stopped cluster batch that adds (or drops) a --pixel-size equal to the file's finds the parts
    already made: the same output, so the same folder; another pixel size makes other parts."""
    from napari_zssr.batch_parts import parts_folder

    path = tmp_path / "stack.tif"
    write_imagej_tiff(path, textured((4, 16, 16)), "ZYX", (0.2, 0.2), z_spacing=0.5)
    identity = input_identity(path)

    def folder(**settings):
        prepared = prepare([path], make_options(tmp_path / "out", {**SETTINGS, **settings}))
        return parts_folder(tmp_path / "parts", identity, prepared.settings, prepared.files, ["zssr"])

    assert folder() == folder(pixel_size=0.2) != folder(pixel_size=0.25)
