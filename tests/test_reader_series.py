"""The napari reader opens every image series of a file of several (a multi-position or multi-well OME-TIFF), each as
that series saved as a file of its own opens, named as the command line names the series' input."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_zssr.napari import reader
from napari_zssr.napari.reader import read_layers

#: a plate's three positions: data, and the OME metadata each is written with (its own shape, axes, pixel size;
#: the second of two named channels with their own wavelengths)
PLATE = [
    (np.arange(16 * 16, dtype=np.uint16).reshape(16, 16), {"axes": "YX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1}),
    (np.arange(2 * 20 * 18, dtype=np.uint16).reshape(2, 20, 18) + 7,
     {"axes": "CYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2,
      "Channel": {"Name": ["DAPI", "GFP"], "EmissionWavelength": [460, 520]}}),
    (np.arange(3 * 12 * 14, dtype=np.uint16).reshape(3, 12, 14) + 11,
     {"axes": "ZYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 0.5}),
]
#: what each position takes read whole (bytes)
SIZES = [data.nbytes for data, _ in PLATE]


def write_series(path: Path, series: list[tuple[np.ndarray, dict]]) -> str:
    with tifffile.TiffWriter(path, ome=True) as writer:
        for data, metadata in series:
            writer.write(data, metadata=metadata)
    return str(path)


def read_quietly(path: str) -> list[tuple]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "only the first is read" note, nor any other
        return read_layers(path)


def test_every_series_opens_as_that_series_saved_alone_named_as_the_command_line_names_it(tmp_path):
    path = write_series(tmp_path / "plate.ome.tif", PLATE)
    layers = read_quietly(path)
    alone_folder = tmp_path / "alone"
    alone_folder.mkdir()
    # each series saved as a file of its own, named as its layers are to be
    alone = [read_quietly(write_series(alone_folder / f"plate_series{number}.ome.tif", [position]))
             for number, position in enumerate(PLATE)]
    assert len(layers) == len(PLATE)  # one tuple per series, in order (the second splits into its channels)
    for number, ((data, kwargs, kind), [(own_data, own_kwargs, own_kind)]) in enumerate(zip(layers, alone)):
        np.testing.assert_array_equal(data, own_data)
        assert kind == own_kind == "image"
        own_path = str(alone_folder / f"plate_series{number}.ome.tif")
        expected = {key: value for key, value in own_kwargs.items() if key != "metadata"}
        assert {key: value for key, value in kwargs.items() if key != "metadata"} == expected
        for metadata, own in zip(*(m if isinstance(m, list) else [m] for m in (kwargs["metadata"],
                                                                               own_kwargs["metadata"]))):
            assert own["source_path"] == own_path and "series" not in own
            assert metadata == {**own, "source_path": path, "series": number}
    assert [kwargs["name"] for _, kwargs, _ in layers] == [
        "plate_series0", ["plate_series1 DAPI", "plate_series1 GFP"], "plate_series2"]
    assert [kwargs["scale"] for _, kwargs, _ in layers] == [
        pytest.approx([0.1, 0.1]), pytest.approx([0.2, 0.2]), pytest.approx([0.5, 0.3, 0.3])]
    second = layers[1][1]
    assert second["channel_axis"] == 0 and [m["channel"] for m in second["metadata"]] == [0, 1]
    assert [m["optics"]["emission_wavelengths"] for m in second["metadata"]] == [[460], [520]]  # its own OME Image's
    assert "optics" not in layers[0][1]["metadata"] and layers[2][1]["axis_labels"] == ["Z", "Y", "X"]


def test_a_file_of_one_series_opens_as_before(tmp_path):
    path = write_series(tmp_path / "cells.ome.tif", PLATE[1:2])
    [(data, kwargs, _)] = read_quietly(path)
    assert kwargs["name"] == ["cells DAPI", "cells GFP"]  # no "(series 0)"
    assert all("series" not in metadata and metadata["source_path"] == path for metadata in kwargs["metadata"])


@pytest.mark.parametrize(("bound", "opened", "note"), [
    (SIZES[0] + SIZES[1], 2, "series 2 was not opened"),
    (SIZES[0] + SIZES[1] + SIZES[2] - 1, 2, "series 2 was not opened"),
    (1, 1, "series 1, 2 were not opened"),  # the first opens whatever its size, as a file of one does
    (sum(SIZES), 3, None),
])
def test_the_series_open_while_they_fit_in_the_bound_and_those_left_out_are_named(tmp_path, monkeypatch, bound,
                                                                                   opened, note):
    monkeypatch.setattr(reader, "ALL_SERIES_BYTES", bound)
    path = write_series(tmp_path / "plate.ome.tif", PLATE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layers = read_layers(path)
    assert [kwargs["metadata"]["series"] if isinstance(kwargs["metadata"], dict) else kwargs["metadata"][0]["series"]
            for _, kwargs, _ in layers] == list(range(opened))
    messages = [str(warning.message) for warning in caught]
    if note is None:
        assert messages == []
        return
    bound_text = f"{bound} bytes" if bound < 1024 else f"{bound / 1024:.1f} KiB"
    assert messages == [f"plate.ome.tif holds 3 image series (positions, wells...); {note}: read whole, they would "
                        f"take {sum(SIZES) / 1024:.1f} KiB of memory, over the reader's {bound_text}. The napari-zssr "
                        "command line runs every series of a file; to look at the others here, split the file (e.g. "
                        "with Fiji's Bio-Formats importer)"]


def test_a_series_that_cannot_be_shown_is_named_and_the_others_open(tmp_path):
    complex_position = (np.ones((8, 8), np.complex64), {"axes": "YX"})
    path = write_series(tmp_path / "plate.ome.tif", [PLATE[0], complex_position, PLATE[2]])
    with pytest.warns(UserWarning, match=r"^plate\.ome\.tif \(series 1\) was not opened: plate\.ome\.tif holds "
                                         "complex values"):
        layers = read_layers(path)
    assert [kwargs["name"] for _, kwargs, _ in layers] == ["plate_series0", "plate_series2"]
    only_complex = write_series(tmp_path / "complex.ome.tif", [complex_position, complex_position])
    with pytest.warns(UserWarning, match="was not opened"), pytest.raises(
            ValueError, match="none of the image series of complex.ome.tif could be opened: complex.ome.tif holds "
                              "complex values"):
        read_layers(only_complex)


def test_the_file_is_opened_as_often_for_a_plate_of_many_series_as_for_one_of_two(tmp_path, monkeypatch):
    """Each opening of a file parses every series it holds (tifffile's OME series), so an opening per series made a
    plate of hundreds of wells take minutes to open, growing with the square of its wells."""
    openings = []
    opened = tifffile.TiffFile.__init__

    def counted(self, *args, **kwargs):
        openings.append(args[0] if args else kwargs.get("file"))
        opened(self, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffFile, "__init__", counted)
    counts = calls_opening_plates(tmp_path, openings, (2, 8))
    assert counts[1] == counts[0], counts


def calls_opening_plates(folder: Path, calls: list, wells: tuple[int, ...], before_each=lambda: None) -> list[int]:
    """How many entries ``calls`` gains while the reader opens a plate of each number of ``wells``."""
    counts = []
    for count in wells:
        path = write_series(folder / f"plate{count}.ome.tif", [PLATE[2]] * count)
        before_each()
        calls.clear()
        assert len(read_quietly(path)) == count
        counts.append(len(calls))
    return counts


def test_the_ome_xml_is_parsed_as_often_for_a_plate_of_many_series_as_for_one_of_two(tmp_path, monkeypatch):
    """Each series read its Image, pixel size and optics from the file's OME-XML, parsed again each time: a plate's
    XML, which grows with its wells, parsed twice a well (2.8 s for 200 wells, minutes for a 1536-well plate)."""
    import xml.etree.ElementTree as ET

    from napari_zssr.io.series import parsed_ome

    parses = []
    parse = ET.fromstring

    def counted(text, *args, **kwargs):
        parses.append(len(text))
        return parse(text, *args, **kwargs)

    monkeypatch.setattr(ET, "fromstring", counted)
    counts = calls_opening_plates(tmp_path, parses, (2, 8), before_each=parsed_ome.cache_clear)
    assert counts[1] == counts[0], counts  # tifffile parses it once too


def test_a_large_raw_series_opens_mapped_from_the_file_and_runs(tmp_path, monkeypatch):
    """A raw (uncompressed) stack larger than the memory was read whole: it opens mapped, its planes read as they are
    shown or run; small ones stay in memory (writable)."""
    import napari_zssr

    stack = np.random.default_rng(0).integers(0, 4000, (3, 32, 32), dtype=np.uint16)
    raw = tmp_path / "raw.tif"
    tifffile.imwrite(raw, stack, imagej=True, metadata={"axes": "ZYX"})
    (in_memory, in_memory_kwargs, _), = read_quietly(str(raw))
    assert not isinstance(in_memory, np.memmap) and in_memory.flags.writeable
    monkeypatch.setattr(reader, "LAZY_BYTES", stack.nbytes - 1)
    (mapped, kwargs, _), = read_quietly(str(raw))
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, stack)
    assert kwargs == in_memory_kwargs
    run = {"max_iterations": 2, "width": 4, "add_to_viewer": False, "outputs": "zssr"}
    np.testing.assert_array_equal(napari_zssr.run(mapped, **run)[0][0], napari_zssr.run(stack, **run)[0][0])


def test_a_large_compressed_stack_opens_lazily_its_planes_decoded_as_they_are_read(tmp_path, monkeypatch):
    """A compressed stack cannot be mapped: larger than the memory, it was read whole (napari ran out of memory).
    Stored one page a plane, as acquisition software and Fiji write compressed stacks, it opens as a dask array of a
    chunk a plane, whose planes are decoded only as they are shown or run, with the layer keywords it had read whole;
    a run on it gives what a run on the array gives."""
    import dask.array

    import napari_zssr

    stack = np.random.default_rng(1).integers(0, 4000, (2, 3, 24, 32), dtype=np.uint16)
    packed = tmp_path / "packed.ome.tif"
    tifffile.imwrite(packed, stack, ome=True, compression="zlib", metadata={"axes": "TZYX"})
    (whole, whole_kwargs, _), = read_quietly(str(packed))
    monkeypatch.setattr(reader, "LAZY_BYTES", stack.nbytes - 1)
    decoded = []
    monkeypatch.setattr(reader.ReorderedPlanes, "__getitem__",
                        lambda self, index, read=reader.ReorderedPlanes.__getitem__: decoded.append(index)
                        or read(self, index))
    (lazy, kwargs, _), = read_quietly(str(packed))
    assert isinstance(lazy, dask.array.Array) and lazy.chunksize == (1, 1, 24, 32) and not decoded
    assert kwargs == whole_kwargs
    np.testing.assert_array_equal(lazy[1, 2].compute(), stack[1, 2])
    assert decoded == [(1, 2)]
    np.testing.assert_array_equal(np.asarray(lazy), whole)
    run = {"max_iterations": 2, "width": 4, "add_to_viewer": False, "outputs": "zssr"}
    np.testing.assert_array_equal(napari_zssr.run(lazy, **run)[0][0], napari_zssr.run(stack, **run)[0][0])


def test_a_lazily_read_compressed_stack_keeps_its_planes_when_its_file_is_saved_over(tmp_path, monkeypatch):
    """Each plane was read from the file opened anew: an output saved over its input's file (napari's Save, as this
    package's writer does: a new file renamed into place) became the input layer's planes, of another shape, and a
    run on the layer then read them. The planes stay the file's as it was opened, as a mapped file's do."""
    from napari_zssr.io.imagej import write_imagej_tiff

    stack = np.random.default_rng(3).integers(0, 4000, (3, 24, 32), dtype=np.uint16)
    path = tmp_path / "cells.tif"
    tifffile.imwrite(path, stack, imagej=True, compression="zlib", metadata={"axes": "ZYX"})
    monkeypatch.setattr(reader, "LAZY_BYTES", 0)
    (lazy, _, _), = read_quietly(str(path))
    np.testing.assert_array_equal(lazy[0].compute(), stack[0])
    write_imagej_tiff(path, np.zeros((3, 48, 64), np.float32), "ZYX", None)
    np.testing.assert_array_equal(np.asarray(lazy), stack)


def test_a_large_stack_of_pixels_not_stored_a_page_a_plane_is_read_whole(tmp_path, monkeypatch):
    """Colour samples share a page with their plane, so a compressed RGB stack's planes cannot be read alone."""
    stack = np.random.default_rng(2).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", stack, photometric="rgb", compression="zlib")
    monkeypatch.setattr(reader, "LAZY_BYTES", 0)
    (data, _, _), = read_quietly(str(tmp_path / "rgb.tif"))
    assert isinstance(data, np.ndarray) and data.flags.writeable
    np.testing.assert_array_equal(data, stack)


def test_mapped_series_of_a_plate_take_no_share_of_the_memory_bound(tmp_path, monkeypatch):
    path = write_series(tmp_path / "plate.ome.tif", PLATE)
    monkeypatch.setattr(reader, "ALL_SERIES_BYTES", SIZES[0])  # only the first fits, read whole
    monkeypatch.setattr(reader, "LAZY_BYTES", 0)  # every series is mapped
    layers = read_quietly(path)
    assert len(layers) == len(PLATE) and all(isinstance(data, np.memmap) for data, _, _ in layers)


def test_a_series_left_out_leaves_room_for_a_later_smaller_one_and_mapped_ones(tmp_path, monkeypatch):
    """The bound counts the series read whole: one that does not fit is left out, not every one after it."""
    path = write_series(tmp_path / "plate.ome.tif", PLATE)  # 512, 1440 and 1008 bytes
    monkeypatch.setattr(reader, "ALL_SERIES_BYTES", SIZES[0] + SIZES[2])
    with pytest.warns(UserWarning, match=r"holds 3 image series .*; series 1 was not opened"):
        layers = read_layers(path)
    assert [kwargs["metadata"]["series"] for _, kwargs, _ in layers] == [0, 2]


def test_the_readers_own_refusal_is_said_as_it_is(tmp_path):
    """A complex-valued file was "could not read c.tif as a TIFF: c.tif holds complex values...": the reading of the
    file, which went well, named as its failure."""
    tifffile.imwrite(tmp_path / "c.tif", np.ones((8, 8), np.complex64))
    with pytest.raises(ValueError, match=r"^c\.tif holds complex values, which napari cannot show"):
        read_layers(str(tmp_path / "c.tif"))


def test_a_big_endian_raw_stack_opens_lazily_in_this_machines_byte_order(tmp_path, monkeypatch):
    """Fiji writes big-endian TIFFs: mapped, the layer's data kept the file's byte order (>u2), which the writer
    saved as float32, taking it for another type. Its planes are read in this machine's order."""
    stack = np.arange(3 * 16 * 16, dtype=np.uint16).reshape(3, 16, 16)
    tifffile.imwrite(tmp_path / "fiji.tif", stack, imagej=True, byteorder=">", metadata={"axes": "ZYX"})
    monkeypatch.setattr(reader, "LAZY_BYTES", 0)
    (data, _, _), = read_quietly(str(tmp_path / "fiji.tif"))
    assert data.dtype == np.uint16 and data.dtype.isnative and not isinstance(data, np.memmap)
    assert np.asarray(data[1]).dtype.isnative
    np.testing.assert_array_equal(data, stack)


def test_the_work_of_opening_a_plate_grows_with_its_wells_not_their_square(tmp_path, monkeypatch):
    """Each well looked at every series (which are the file's) and searched the whole OME-XML for its Image and
    objective: 384 wells took 1.6 s, a 1536-well plate would take half a minute (now 0.14 s for 384)."""
    from napari_zssr.io import series as series_module

    looks = []
    looked = series_module._is_thumbnail
    monkeypatch.setattr(series_module, "_is_thumbnail", lambda tif, number: looks.append(number) or looked(tif, number))
    counts = calls_opening_plates(tmp_path, looks, (4, 16))
    assert counts[1] <= 4 * counts[0], counts  # 4 times the wells, at most 4 times the looks
