import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_zssr.io.tiff import channels_last, read_header, read_planes, read_tiff

PLANE = np.zeros((8, 8), np.uint16)


def test_resolution_per_centimetre_is_read_in_micrometres(tmp_path):
    path = tmp_path / "cm.tif"
    tifffile.imwrite(path, PLANE, resolution=(1e4 / 0.13, 1e4 / 0.2), resolutionunit="CENTIMETER")
    assert read_tiff(path).pixel_size == pytest.approx((0.2, 0.13))


def test_an_ome_file_without_a_physical_size_is_calibrated_by_its_resolution_tags(tmp_path):
    """tifffile writes an OME file's resolution= into the tags alone: its outputs were uncalibrated, unsaid."""
    path = tmp_path / "tags.ome.tif"
    tifffile.imwrite(path, PLANE, ome=True, resolution=(1e4 / 0.1, 1e4 / 0.1), resolutionunit="CENTIMETER")
    assert read_tiff(path).pixel_size == pytest.approx((0.1, 0.1))
    tifffile.imwrite(path, PLANE, ome=True, resolution=(1e4 / 0.1, 1e4 / 0.1), resolutionunit="CENTIMETER",
                     metadata={"PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2})
    assert read_tiff(path).pixel_size == pytest.approx((0.2, 0.2))  # the OME size where given
    tifffile.imwrite(path, PLANE, ome=True)
    assert read_tiff(path).pixel_size is None


@pytest.mark.parametrize("unit", ["MILLIMETER", "MICROMETER"])
def test_other_metric_resolution_units(tmp_path, unit):
    per_um = {"MILLIMETER": 1e3, "MICROMETER": 1.0}[unit]
    path = tmp_path / "metric.tif"
    tifffile.imwrite(path, PLANE, resolution=(per_um / 0.25, per_um / 0.25), resolutionunit=unit)
    assert read_tiff(path).pixel_size == pytest.approx((0.25, 0.25))


@pytest.mark.parametrize("unit", ["INCH", "NONE"])
def test_inch_or_unitless_resolution_is_unknown(tmp_path, unit):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, PLANE, resolution=(72, 72), resolutionunit=unit)  # a screenshot's 72 dpi
    assert read_tiff(path).pixel_size is None


def test_imagej_unit_has_priority_over_the_resolution_unit(tmp_path):
    path = tmp_path / "imagej.tif"
    tifffile.imwrite(path, PLANE, imagej=True, resolution=(1 / 0.5, 1 / 0.5), metadata={"unit": "nm"})
    assert read_tiff(path).pixel_size == pytest.approx((5e-4, 5e-4))
    tifffile.imwrite(path, PLANE, imagej=True, resolution=(1 / 0.1, 1 / 0.1), metadata={"unit": "\\u00B5m"})
    assert read_tiff(path).pixel_size == pytest.approx((0.1, 0.1))
    # Fiji escapes every character beyond ASCII: its Å (Angstrom) was dropped, the output left uncalibrated
    tifffile.imwrite(path, PLANE, imagej=True, resolution=(1 / 500, 1 / 500), metadata={"unit": "\\u00C5"})
    assert read_tiff(path).pixel_size == pytest.approx((0.05, 0.05))
    tifffile.imwrite(path, PLANE, imagej=True, resolution=(10, 10), metadata={"unit": 5})  # no unit: an AttributeError
    assert read_tiff(path).pixel_size is None and read_header(path).pixel_size is None


@pytest.mark.parametrize("size", ["-0.1", "0", "NaN", "INF", "1e30", "1e-30", "abc"])
def test_an_unusable_ome_pixel_size_counts_as_unknown(tmp_path, size):
    """A broken calibration must neither reject the image nor reach its outputs (where it cannot be written)."""
    path = tmp_path / "bad.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.3})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    tifffile.tiffcomment(path, xml.replace('PhysicalSizeX="0.1"', f'PhysicalSizeX="{size}"')
                         .replace('PhysicalSizeZ="0.3"', f'PhysicalSizeZ="{size}"'))
    image = read_tiff(path)
    assert image.data.shape == (3, 8, 8)
    assert image.pixel_size is None and image.z_spacing is None


def test_a_good_ome_pixel_size_is_read(tmp_path):
    path = tmp_path / "good.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 0.3})
    image = read_tiff(path)
    assert image.pixel_size == pytest.approx((0.2, 0.1)) and image.z_spacing == pytest.approx(0.3)


def test_an_absurd_resolution_tag_counts_as_unknown(tmp_path):
    path = tmp_path / "absurd.tif"
    tifffile.imwrite(path, PLANE, imagej=True, resolution=(1e-9, 1e-9), metadata={"unit": "um"})  # 1 km pixels
    assert read_tiff(path).pixel_size is None


@pytest.mark.parametrize("layout", ["YXS", "SYX", "stack of YXS", "stack of SYX", "ImageJ ZYXS"])
def test_colour_samples_read_as_a_channel_axis_before_y_and_x(tmp_path, layout):
    from napari_zssr.batch_files import plane_counts
    from napari_zssr.io.tiff import read_header

    rng = np.random.default_rng(0)
    stacked = layout.startswith("stack") or layout.startswith("ImageJ")
    colours_last = layout.endswith("YXS")
    data = rng.integers(0, 255, ((4,) if stacked else ()) + ((10, 12, 3) if colours_last else (3, 10, 12)),
                        dtype=np.uint8)
    path = tmp_path / "colour.tif"
    imagej = {"imagej": True, "metadata": {"axes": "ZYXS"}} if layout.startswith("ImageJ") else {}
    tifffile.imwrite(path, data, photometric="rgb", planarconfig="contig" if colours_last else "separate", **imagej)
    image = read_tiff(path, samples_as_channels=True)
    expected = np.moveaxis(data, -1, -3) if colours_last else data
    assert image.axes == ("ZCYX" if layout.startswith("ImageJ") else "QCYX" if stacked else "CYX")
    np.testing.assert_array_equal(image.data, expected)
    header = read_header(path, samples_as_channels=True)
    assert header.shape == expected.shape and header.axes.endswith("CYX")
    assert plane_counts(path) == ((4 if stacked else 1), 3)  # how a cluster run splits it: as the data reads
    assert read_tiff(path).axes.replace("Z", "Q") == ("Q" if stacked else "") + layout[-3:]  # napari's reader: colours


@pytest.mark.parametrize("axes, stand_in", [("QCYX", "ZCYX"), ("QQCYX", "TZCYX"), ("QZYX", "TZYX"),
                                            ("QQYX", "TZYX"), ("QYX", "ZYX"), ("ZCYX", "ZCYX")])
def test_imagej_stand_in_axes_keep_the_known_ones(axes, stand_in):
    from napari_zssr.io.imagej import imagej_axes

    assert imagej_axes(axes) == stand_in


@pytest.mark.parametrize("axes, named", [("TZCQYX", "QQQQYX"), ("CQYX", "QQYX"), ("QCYX", "QCYX"),
                                         ("TZCYX", "TZCYX"), ("IYX", "ZYX"), ("QYXS", "QYXS"), ("ZYX", "QQYX")])
def test_a_channel_axis_is_only_kept_beside_unnamed_axes_where_it_is(axes, named):
    from napari_zssr.io.tiff import image_axes

    assert image_axes(axes, 4 if axes == "ZYX" else len(axes)) == named  # "ZYX" of a 4D series: letters do not fit


@pytest.mark.parametrize("dtype", [np.float64, np.int8, np.int32, np.uint32, np.int64, bool])
def test_types_imagej_cannot_hold_are_written_as_float32(tmp_path, dtype):
    from napari_zssr.io.imagej import write_imagej_tiff

    data = (np.arange(48).reshape(3, 4, 4) % 7).astype(dtype)
    write_imagej_tiff(tmp_path / "t.tif", data, "ZYX", (0.1, 0.1))
    image = read_tiff(tmp_path / "t.tif")
    assert image.data.dtype == np.float32 and np.array_equal(image.data, data.astype(np.float32))


def test_the_layer_writer_keeps_placement_axes_and_spacing(tmp_path):
    """A saved super-resolved layer reopens where it was (its translate) with its axes, channels moved to where
    ImageJ keeps them."""
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    data = np.random.default_rng(0).random((2, 3, 8, 8))  # C, Z, Y, X
    attributes = {"scale": [1.0, 0.3, 0.05, 0.05], "translate": [0.0, 0.6, -0.025, -0.025],
                  "axis_labels": ["C", "Z", "Y", "X"]}
    write_image(str(tmp_path / "w.tif"), data, attributes)
    layer_data, kwargs, _ = read_layers(str(tmp_path / "w.tif"))[0]
    assert layer_data.shape == (3, 2, 8, 8) and kwargs["channel_axis"] == 1 and kwargs["axis_labels"] == ["Z", "Y", "X"]
    assert kwargs["scale"] == pytest.approx([0.3, 0.05, 0.05])
    assert kwargs["translate"] == pytest.approx([0.6, -0.025, -0.025])
    assert np.allclose(layer_data[:, 1], data[1])
    write_image(str(tmp_path / "t.tif"), data[0], {"scale": [2.0, 0.05, 0.05], "axis_labels": ["T", "Y", "X"]})
    assert read_layers(str(tmp_path / "t.tif"))[0][1]["axis_labels"] == ["T", "Y", "X"]


def test_a_layer_calibrated_at_one_micrometre_is_saved_calibrated(tmp_path):
    """A scale of 1 means "unknown" only in napari's default unit; a 1 um z step needs no ImageJ spacing."""
    import pint

    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    um = pint.get_application_registry()("micrometer").units
    data = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    write_image(str(tmp_path / "um.tif"), data, {"scale": [3.0, 1.0, 1.0], "units": [um] * 3})
    saved = read_tiff(tmp_path / "um.tif")
    assert saved.pixel_size == pytest.approx((1.0, 1.0)) and saved.z_spacing == pytest.approx(3.0)
    write_image(str(tmp_path / "z1.tif"), data, {"scale": [1.0, 0.5, 0.5], "units": [um] * 3})
    assert read_layers(str(tmp_path / "z1.tif"))[0][1]["scale"] == pytest.approx([1.0, 0.5, 0.5])
    write_image(str(tmp_path / "plain.tif"), data, {"scale": [1.0, 1.0, 1.0]})
    assert read_tiff(tmp_path / "plain.tif").pixel_size is None


def write_multifile_ome(folder, planes: np.ndarray) -> list:
    """Two OME-TIFF files sharing one Z stack, each holding half of its planes (as Micro-Manager writes them)."""
    names, half = ["mf_1.ome.tif", "mf_2.ome.tif"], len(planes) // 2
    for index, name in enumerate(names):
        xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
               f'UUID="urn:uuid:{index}"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" '
               f'Type="uint16" SizeX="{planes.shape[2]}" SizeY="{planes.shape[1]}" SizeZ="{len(planes)}" SizeC="1" '
               'SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
               + "".join(f'<TiffData FirstZ="{i * half}" IFD="0" PlaneCount="{half}"><UUID FileName="{n}">'
                         f'urn:uuid:{i}</UUID></TiffData>' for i, n in enumerate(names))
               + "</Pixels></Image></OME>")
        with tifffile.TiffWriter(folder / name) as writer:
            for number, plane in enumerate(planes[index * half : (index + 1) * half]):
                writer.write(plane, description=xml if number == 0 else None, metadata=None)
    return [folder / name for name in names]


def test_a_multi_file_ome_dataset_reads_whole_and_refuses_a_missing_part(tmp_path):
    planes = np.arange(4 * 16 * 16, dtype=np.uint16).reshape(4, 16, 16)
    first, second = write_multifile_ome(tmp_path, planes)
    assert np.array_equal(read_tiff(first).data, planes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tifffile warns of a read from the other file, which it closed: reopened
        paged = read_tiff(first, mapped=True).data
        assert [np.array_equal(paged[(z,)], planes[z]) for z in range(4)] == [True] * 4
    second.unlink()
    with pytest.raises(ValueError, match="multi-file OME dataset whose file.s. mf_2.ome.tif are not beside it"):
        read_tiff(first)


def test_a_truncated_imagej_stack_is_refused_not_read_as_its_first_plane(tmp_path):
    from napari_zssr.io.imagej import write_imagej_tiff

    write_imagej_tiff(tmp_path / "full.tif", np.ones((4, 32, 32), np.uint16), "ZYX", None)
    content = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(content[: len(content) * 2 // 3])
    with pytest.raises(ValueError, match="cut.tif is truncated or corrupt: its ImageJ header announces 4 images"):
        read_tiff(tmp_path / "cut.tif")


def test_an_ome_file_announcing_more_planes_than_it_holds_is_said_truncated_not_missing_companions(tmp_path):
    """A file of its own: the message asked about companion files it never had."""
    tifffile.imwrite(tmp_path / "cut.ome.tif", np.ones((5, 16, 16), np.uint16), ome=True, metadata={"axes": "ZYX"})
    with tifffile.TiffFile(tmp_path / "cut.ome.tif") as tif:
        xml = tif.ome_metadata
    tifffile.tiffcomment(tmp_path / "cut.ome.tif", xml.replace('SizeZ="5"', 'SizeZ="7"'))
    with pytest.raises(ValueError, match="cut.ome.tif is truncated or corrupt: 2 of the 7 planes its OME metadata "
                                         "announces are not in it"):
        read_tiff(tmp_path / "cut.ome.tif")


def test_a_compressed_imagej_stack_whose_writing_stopped_is_refused(tmp_path):
    """tifffile keeps the header's shape where the pages end early: its first planes ran as the whole stack, unsaid."""
    planes = np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32)

    def stopped_at_the_third():
        yield from planes[:2]
        raise KeyboardInterrupt  # the acquisition, or the script writing the file, was stopped

    with pytest.raises(KeyboardInterrupt):
        tifffile.imwrite(tmp_path / "cut.tif", stopped_at_the_third(), shape=planes.shape, dtype=planes.dtype,
                         compression="zlib", imagej=True, metadata={"axes": "ZYX"})
    with pytest.raises(ValueError, match="cut.tif is truncated or corrupt: its ImageJ header announces 4 images, "
                                         "the file holds 2"):
        read_tiff(tmp_path / "cut.tif")
    tifffile.imwrite(tmp_path / "whole.tif", planes, compression="zlib", imagej=True, metadata={"axes": "ZYX"})
    assert np.array_equal(read_tiff(tmp_path / "whole.tif").data, planes)


@pytest.mark.parametrize(("name", "options"), [("stack.ome.tif", {"metadata": {"axes": "ZYX"}}),
                                               ("stack.tif", {"compression": "zlib", "photometric": "minisblack"})])
def test_a_stack_cut_short_is_refused_not_read_as_its_first_plane(tmp_path, name, options):
    """A copy still in progress holds the first page, whose link to the next points past the end of the file; the
    OME-XML or tifffile's shape, written after the pixels, is cut off with the rest."""
    tifffile.imwrite(tmp_path / name, np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32), **options)
    content = (tmp_path / name).read_bytes()
    (tmp_path / f"cut_{name}").write_bytes(content[: len(content) * 2 // 5])
    with pytest.raises(ValueError, match=f"cut_{name} is truncated or corrupt: its pages go on past the end"):
        read_tiff(tmp_path / f"cut_{name}")
    assert read_tiff(tmp_path / name).data.shape == (4, 32, 32)


def test_this_packages_own_errors_reading_a_good_file_are_not_taken_for_the_files(tmp_path, monkeypatch):
    """What tifffile raises on damaged bytes (TypeError, ZeroDivisionError...) is the file's fault; raised by this
    package's own code reading a good file, it is a bug to let through, not "it looks damaged or truncated"."""
    from napari_zssr.io import ome, tiff

    tifffile.imwrite(tmp_path / "good.tif", np.ones((8, 8), np.uint16))

    def broken(*args, **kwargs):
        return 1 // 0

    monkeypatch.setattr(tiff, "calibration", broken)
    with pytest.raises(ZeroDivisionError):
        read_tiff(tmp_path / "good.tif")
    with pytest.raises(ZeroDivisionError):
        read_header(tmp_path / "good.tif")
    monkeypatch.setattr(ome, "ome_image", broken)  # the OME metadata's reader keeps the same rule
    tifffile.imwrite(tmp_path / "good.ome.tif", np.ones((8, 8), np.uint16), ome=True)
    with pytest.raises(ZeroDivisionError):
        ome.read_optics(tmp_path / "good.ome.tif")


@pytest.mark.parametrize("options", [{"imagej": True}, {"ome": True}])
def test_a_compressed_stack_cut_within_its_last_plane_is_refused_though_read_lazily(tmp_path, options):
    """Its last page's tags are all there and promise all of its data: read whole, the plane fails to decode, but
    read lazily (a stack over 1 GiB in napari) it opened, and each plane failed only as it was shown or run."""
    stack = np.random.default_rng(0).integers(0, 4000, (4, 32, 32), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "full.tif", stack, compression="zlib", metadata={"axes": "ZYX"}, **options)
    with tifffile.TiffFile(tmp_path / "full.tif") as tif:
        last = tif.series[0].pages[-1]
        cut = last.dataoffsets[-1] + last.databytecounts[-1] // 2
    (tmp_path / "cut.tif").write_bytes((tmp_path / "full.tif").read_bytes()[:cut])
    with pytest.raises(ValueError, match="cut.tif is truncated or corrupt: its pages go on past the end"):
        read_tiff(tmp_path / "cut.tif", mapped=True)
    assert read_tiff(tmp_path / "full.tif", mapped=True).data.shape == (4, 32, 32)


@pytest.mark.parametrize("compression", ["zlib", "lzw", "zstd"])
def test_damaged_compressed_pixels_are_a_read_error_naming_the_file(tmp_path, compression):
    """A codec's own error (imagecodecs: a RuntimeError) is the damaged file's, said as any other unreadable TIFF's."""
    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 4000, (64, 64), dtype=np.uint16),
                     compression=compression)
    with tifffile.TiffFile(path) as tif:
        start, length = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    content = bytearray(path.read_bytes())
    content[start:start + length] = b"\xff" * length
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="could not read damaged.tif: its pixels could not be decoded"):
        read_tiff(path)


def test_every_damage_to_a_files_header_is_a_read_error_naming_the_file(tmp_path):
    """tifffile raises what its parsing meets on a damaged file (struct.error for a file cut after 4 bytes, TypeError,
    ZeroDivisionError, AssertionError, "incompatible keyframe"): these escaped as they were, and a batch stopped at the
    first such file with a traceback. Each of the first 400 bytes of an OME-TIFF set to 0xff in turn, and the file cut
    after its first 4 bytes: it reads, or fails as a ValueError naming it; its header is read, or is None."""
    stack = np.arange(3 * 16 * 16, dtype=np.uint16).reshape(3, 16, 16)
    tifffile.imwrite(tmp_path / "good.ome.tif", stack, ome=True, metadata={"axes": "ZYX"})
    content = (tmp_path / "good.ome.tif").read_bytes()
    path = tmp_path / "damaged.tif"
    damaged = [content[:4]] + [content[:at] + b"\xff" + content[at + 1:] for at in range(400) if content[at] != 0xff]
    failed = 0
    for version in damaged:
        path.write_bytes(version)
        header = read_header(path)
        assert header is None or len(header.shape) >= 2
        try:
            read_tiff(path)
        except ValueError as error:
            assert "damaged.tif" in str(error)
            failed += 1
    assert failed > 10  # most damage is seen


def test_a_file_of_several_series_opens_each_in_napari_without_a_note(tmp_path):
    """It opened the first alone, with "only the first is read" (tests/test_reader_series.py: each as its own file)."""
    from napari_zssr.napari.reader import read_layers

    with tifffile.TiffWriter(tmp_path / "positions.ome.tif", ome=True) as writer:
        for position in range(3):
            writer.write(np.full((16, 16), position, np.uint16))
    assert read_tiff(tmp_path / "positions.ome.tif").series_count == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers = read_layers(str(tmp_path / "positions.ome.tif"))
    assert [(int(data[0, 0]), kwargs["name"]) for data, kwargs, _ in layers] == [
        (position, f"positions_series{position}") for position in range(3)]


def test_each_series_reads_its_own_ome_image_beside_an_image_without_pixel_data(tmp_path):
    """A slide's label kept as an OME Image without pixel data (no TiffData) has no series: the positions after it
    were read with the label's pixel size (the first) and none (the second), without their channel names."""
    def image(number, name, size, data):
        return (f'<Image ID="Image:{number}" Name="{name}"><Pixels ID="Pixels:{number}" DimensionOrder="XYCZT" '
                f'Type="uint16" SizeX="16" SizeY="16" SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="{size}" '
                f'PhysicalSizeY="{size}"><Channel ID="Channel:{number}:0" Name="{name}-ch" SamplesPerPixel="1"/>'
                + (f'<TiffData IFD="{number - 1}" PlaneCount="1"/>' if data else "") + "</Pixels></Image>")

    xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
           f'{image(0, "label", 9, False)}{image(1, "A1", 0.1, True)}{image(2, "A2", 0.2, True)}</OME>')
    path = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(np.ones((16, 16), np.uint16), description=xml, metadata=None)
        writer.write(np.ones((16, 16), np.uint16), metadata=None)
    for number, (name, size) in enumerate([("A1", 0.1), ("A2", 0.2)]):
        image = read_tiff(path, series=number)
        assert image.pixel_size == read_header(path, series=number).pixel_size == pytest.approx((size, size))
        assert image.channel_names == (f"{name}-ch",)


def test_a_thumbnail_stored_before_the_image_is_not_read_as_the_image(tmp_path):
    path = tmp_path / "scan.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(np.zeros((8, 8), np.uint8), photometric="minisblack", subfiletype=1, metadata=None,
                     resolution=(1e4 / 4, 1e4 / 4), resolutionunit="CENTIMETER")  # reduced, 4 um pixels
        writer.write(np.ones((2, 32, 32), np.uint16), photometric="minisblack", metadata=None,
                     resolution=(1e4 / 0.5, 1e4 / 0.5), resolutionunit="CENTIMETER")
    image, header = read_tiff(path), read_header(path)
    assert image.data.shape == (2, 32, 32) and image.series_count == 1 and image.pixel_size == pytest.approx((0.5, 0.5))
    assert header.shape == (2, 32, 32) and header.pixel_size == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize("compression", ["lzw", "zlib", "packbits"])
def test_compressed_tiffs_are_read(tmp_path, compression):
    data = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
    tifffile.imwrite(tmp_path / "c.tif", data, compression=compression)
    assert np.array_equal(read_tiff(tmp_path / "c.tif").data, data)


@pytest.mark.parametrize(("finterval", "tunit", "seconds"), [
    (250, "ms", 0.25), (2, "min", 120.0), (1.5, "sec", 1.5), (3, None, 3.0), (0.5, "hr", 1800.0), (4, "frame", None),
    (2, "", 2.0)])
def test_imagej_frame_interval_is_read_in_its_time_unit(tmp_path, finterval, tunit, seconds):
    """ImageJ writes ``finterval`` in the image's own time unit and adds ``tunit`` when that is not seconds; an empty
    ``tunit`` is seconds too, as ImageJ reads it (Calibration.setTimeUnit)."""
    metadata = {"axes": "TYX", "finterval": finterval, **({"tunit": tunit} if tunit is not None else {})}
    tifffile.imwrite(tmp_path / "t.tif", np.zeros((3, 8, 8), np.uint16), imagej=True, metadata=metadata)
    assert read_tiff(tmp_path / "t.tif").frame_interval == (None if seconds is None else pytest.approx(seconds))


def test_a_frame_interval_in_another_time_unit_is_in_seconds_without_rounding_noise(tmp_path):
    """33.3 ms is 0.0333 s, not 0.033299999999999996: those digits would show in napari's time scale and in the
    ``finterval`` of the batch's outputs."""
    for name, finterval, tunit, seconds in (("ms.tif", 33.3, "ms", 0.0333), ("h.tif", 1.1, "h", 3960.0)):
        tifffile.imwrite(tmp_path / name, np.zeros((3, 8, 8), np.uint16), imagej=True,
                         metadata={"axes": "TYX", "finterval": finterval, "tunit": tunit})
        assert read_tiff(tmp_path / name).frame_interval == seconds
    tifffile.imwrite(tmp_path / "ms.ome.tif", np.zeros((3, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "TYX", "TimeIncrement": 33.3, "TimeIncrementUnit": "ms"})
    assert read_tiff(tmp_path / "ms.ome.tif").frame_interval == 0.0333


def test_a_calibrated_imagej_stack_without_spacing_has_planes_one_unit_apart(tmp_path):
    """ImageJ leaves out ``spacing`` when the voxel depth is 1 (Fiji reads such a stack as 1 um apart); a stack of
    time points only has no z spacing."""
    stack = np.zeros((4, 8, 8), np.uint16)
    tifffile.imwrite(tmp_path / "z.tif", stack, imagej=True, resolution=(4, 4), metadata={"axes": "ZYX", "unit": "um"})
    assert read_tiff(tmp_path / "z.tif").z_spacing == pytest.approx(1.0)
    assert read_header(tmp_path / "z.tif").z_spacing == pytest.approx(1.0)
    tifffile.imwrite(tmp_path / "z.tif", stack, imagej=True, resolution=(4, 4), metadata={"axes": "ZYX", "unit": "nm"})
    assert read_tiff(tmp_path / "z.tif").z_spacing == pytest.approx(1e-3)
    tifffile.imwrite(tmp_path / "t.tif", stack, imagej=True, resolution=(4, 4), metadata={"axes": "TYX", "unit": "um"})
    assert read_tiff(tmp_path / "t.tif").z_spacing is None


def test_imagejs_own_z_and_y_units_are_honoured(tmp_path):
    """Fiji writes ``zunit``/``yunit`` where they differ from ``unit``; a z unit that is no length is "unknown"."""
    stack = np.zeros((4, 8, 8), np.uint16)
    tifffile.imwrite(tmp_path / "z.tif", stack, imagej=True, resolution=(10, 1e4),
                     metadata={"axes": "ZYX", "unit": "um", "zunit": "nm", "spacing": 200, "yunit": "mm"})
    image = read_tiff(tmp_path / "z.tif")
    assert image.pixel_size == pytest.approx((0.1, 0.1)) and image.z_spacing == pytest.approx(0.2)
    tifffile.imwrite(tmp_path / "p.tif", stack, imagej=True, resolution=(10, 10),
                     metadata={"axes": "ZYX", "unit": "um", "zunit": "pixel"})
    image = read_tiff(tmp_path / "p.tif")
    assert image.pixel_size == pytest.approx((0.1, 0.1)) and image.z_spacing is None and not image.z_spacing_default


def test_a_stack_whose_z_step_is_unknown_does_not_reopen_at_one_micrometre(tmp_path):
    """An OME file's layer with pixels in um and no z step, saved by the layer writer, reopened ImageJ's default
    z step of 1 um: a calibration the file never had."""
    from napari.layers import Image

    from napari_zssr.io.imagej import write_imagej_tiff
    from napari_zssr.napari.reader import read_layers
    from napari_zssr.napari.writer import write_image

    stack = np.zeros((4, 8, 8), np.uint16)
    tifffile.imwrite(tmp_path / "in.ome.tif", stack, metadata={"axes": "ZYX", "PhysicalSizeX": 0.1,
                                                               "PhysicalSizeY": 0.1})
    data, kwargs, _ = read_layers(str(tmp_path / "in.ome.tif"))[0]
    layer = Image(data, **{key: kwargs[key] for key in ("scale", "units", "axis_labels")})
    write_image(str(tmp_path / "saved.tif"), layer.data, layer.as_layer_data_tuple()[1])
    saved = read_tiff(tmp_path / "saved.tif")
    assert saved.pixel_size == pytest.approx((0.1, 0.1)) and saved.z_spacing is None
    assert [str(unit) for unit in read_layers(str(tmp_path / "saved.tif"))[0][1]["units"]] == ["pixel", "µm", "µm"]
    write_imagej_tiff(tmp_path / "one.tif", stack, "ZYX", (0.1, 0.1))  # a 1 um step (Fiji leaves it out so)
    assert read_tiff(tmp_path / "one.tif").z_spacing == pytest.approx(1.0)


def test_ome_channel_colours_are_read_as_luts(tmp_path):
    """Bio-Formats shows an OME file's channels in their ``Color``; here they opened, and their outputs saved, grey."""
    from napari_zssr.io.imagej import write_imagej_tiff
    from napari_zssr.napari.reader import read_layers

    green, red = 0x00FF00FF, 0xFF0000FF - 2**32  # RGBA, as OME's signed integers
    tifffile.imwrite(tmp_path / "c.ome.tif", np.zeros((2, 8, 8), np.uint16),
                     metadata={"axes": "CYX", "Channel": {"Name": ["GFP", "RFP"], "Color": [green, red]}})
    image = read_tiff(tmp_path / "c.ome.tif")
    assert image.display["mode"] == "composite"
    assert [tuple(lut[:, -1]) for lut in image.display["LUTs"]] == [(0, 255, 0), (255, 0, 0)]
    assert read_layers(str(tmp_path / "c.ome.tif"))[0][1]["colormap"] == ["green", "red"]
    write_imagej_tiff(tmp_path / "out.tif", image.data, image.axes, None, display=image.display)  # as the CLI does
    assert [tuple(lut[:, -1]) for lut in read_tiff(tmp_path / "out.tif").display["LUTs"]] == [(0, 255, 0), (255, 0, 0)]
    tifffile.imwrite(tmp_path / "white.ome.tif", np.zeros((2, 8, 8), np.uint16),
                     metadata={"axes": "CYX", "Channel": {"Color": [-1, -1]}})  # OME's default: no colour said
    assert read_tiff(tmp_path / "white.ome.tif").display == {}


def whole_planes(path) -> np.ndarray:
    """Every plane of a file as the batch reads it whole: (planes, C, Y, X)."""
    image = read_tiff(path, samples_as_channels=True)
    planes = channels_last(image.data, image.axes)
    return planes.reshape(-1, *planes.shape[-3:])


def stacks_of_every_layout(folder) -> dict:
    """One file per layout a part of a split stack meets: how it is stored decides how its planes are read."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 60000, (3, 4, 2, 8, 9), dtype=np.uint16)  # T, Z, C, Y, X
    files = {"imagej TZCYX (contiguous: mapped)": folder / "hyper.tif",
             "compressed ZCYX (a page a plane)": folder / "zcyx.tif",
             "OME CZYX, channels first (a page a plane)": folder / "czyx.ome.tif",
             "compressed RGB stack (pages hold 3 channels)": folder / "rgb.tif",
             "compressed planar RGB stack (pages hold 3 channels, one after the other)": folder / "planar.tif",
             "compressed TZYX (a tiled page a volume)": folder / "volumes.tif",
             "contiguous RGB stack (mapped)": folder / "rgb_raw.tif",
             "channels only (one plane)": folder / "channels.tif"}
    tifffile.imwrite(files["imagej TZCYX (contiguous: mapped)"], data, imagej=True, metadata={"axes": "TZCYX"})
    tifffile.imwrite(files["compressed ZCYX (a page a plane)"], data[0], compression="zlib",
                     metadata={"axes": "ZCYX"})
    tifffile.imwrite(files["OME CZYX, channels first (a page a plane)"], np.moveaxis(data[0], 1, 0),
                     compression="zlib", metadata={"axes": "CZYX"})
    colour = rng.integers(0, 255, (5, 8, 9, 3), dtype=np.uint8)
    tifffile.imwrite(files["compressed RGB stack (pages hold 3 channels)"], colour, photometric="rgb",
                     compression="zlib")
    tifffile.imwrite(files["compressed planar RGB stack (pages hold 3 channels, one after the other)"],
                     np.moveaxis(colour, -1, 1), photometric="rgb", planarconfig="separate", compression="zlib")
    tifffile.imwrite(files["compressed TZYX (a tiled page a volume)"], data[:, :, 0], volumetric=True,
                     tile=(4, 16, 16), compression="zlib", photometric="minisblack", metadata={"axes": "TZYX"})
    tifffile.imwrite(files["contiguous RGB stack (mapped)"], colour, photometric="rgb")
    tifffile.imwrite(files["channels only (one plane)"], data[0, 0], imagej=True, metadata={"axes": "CYX"})
    return files


def test_a_part_of_a_stack_reads_the_same_planes_as_the_whole_file(tmp_path):
    for layout, path in stacks_of_every_layout(tmp_path).items():
        whole = whole_planes(path)
        for start, stop in [(0, 2), (1, 4), (max(0, len(whole) - 2), len(whole)), (0, len(whole))]:
            part, leading = read_planes(path, start, stop)
            assert np.array_equal(part, whole[start:stop]), (layout, start, stop)
            assert int(np.prod(leading)) == len(whole), layout


def decoded_pages(monkeypatch) -> list[int]:
    """The index of every page tifffile decodes from now on (a TiffFrame decodes through TiffPage.asarray: twice)."""
    decoded = []
    for kind in (tifffile.TiffPage, tifffile.TiffFrame):
        def counting(page, *args, real=kind.asarray, **kwargs):
            decoded.append(page.index)
            return real(page, *args, **kwargs)

        monkeypatch.setattr(kind, "asarray", counting)
    return decoded


def test_a_part_of_a_paged_stack_decodes_only_its_own_pages(tmp_path, monkeypatch):
    path = stacks_of_every_layout(tmp_path)["compressed ZCYX (a page a plane)"]  # 4 planes x 2 channels: 8 pages
    decoded = decoded_pages(monkeypatch)
    part, _ = read_planes(path, 1, 3)
    assert part.shape == (2, 2, 8, 9)
    assert sorted(set(decoded)) == [2, 3, 4, 5]  # planes 1 and 2, both channels, of pages 0-7


@pytest.mark.parametrize(("layout", "planes", "pages"), [
    ("compressed RGB stack (pages hold 3 channels)", (1, 3), [1, 2]),
    ("compressed planar RGB stack (pages hold 3 channels, one after the other)", (3, 4), [3]),
    ("compressed TZYX (a tiled page a volume)", (5, 7), [1])])  # z planes 1-2 of time point 1
def test_a_part_of_a_stack_whose_pages_hold_several_planes_decodes_only_its_own_pages(tmp_path, monkeypatch, layout,
                                                                                       planes, pages):
    """Such a file was read whole for each part: a part of 2 planes of a 200-page RGB stack decoded all 200 pages
    (102 ms, 6 ms from its pages), and each of a split stack's parts held the whole stack."""
    path = stacks_of_every_layout(tmp_path)[layout]
    decoded = decoded_pages(monkeypatch)
    part, _ = read_planes(path, *planes)
    assert sorted(set(decoded)) == pages  # a TiffFrame decodes through TiffPage.asarray: counted twice
    assert np.array_equal(part, whole_planes(path)[slice(*planes)])


def test_a_part_of_an_unreadable_file_names_it(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"not a tiff at all")
    with pytest.raises(ValueError, match="could not read broken.tif as a TIFF"):
        read_planes(path, 0, 2)


def test_a_mapped_read_maps_contiguous_files_reads_pages_alone_and_the_others_whole(tmp_path):
    from napari_zssr.io.planes import iter_planes
    from napari_zssr.io.tiff import PagedPlanes

    kinds = set()
    for layout, path in stacks_of_every_layout(tmp_path).items():
        whole = read_tiff(path, samples_as_channels=True)
        mapped = read_tiff(path, samples_as_channels=True, mapped=True)
        assert mapped.axes == whole.axes and not isinstance(whole.data, np.memmap), layout
        if isinstance(mapped.data, PagedPlanes):  # a page a plane, each read alone as it is asked for
            assert mapped.data.shape == whole.data.shape and mapped.data.dtype == whole.data.dtype, layout
            read = np.stack(list(iter_planes(mapped.data))).reshape(whole.data.shape)
            assert np.array_equal(read, whole.data), layout
            kinds.add("paged")
            continue
        assert np.array_equal(mapped.data, whole.data), layout
        contiguous = "mapped" in layout or layout == "channels only (one plane)"  # an ImageJ file: contiguous
        assert isinstance(mapped.data, np.memmap) == contiguous, layout
        kinds.add("mapped" if contiguous else "whole")
    assert kinds == {"paged", "mapped", "whole"}  # every way is tried by some layout


def test_a_set_of_outputs_is_put_in_place_whole_when_ctrl_c_comes_between_two_renames(tmp_path, monkeypatch, ctrl_c):
    from napari_zssr.io import imagej

    staged = []
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.part").write_bytes(name.encode())
        staged.append((tmp_path / f"{name}.part", tmp_path / f"{name}.tif"))
    commit_one = imagej.commit_staged

    def interrupted_after_the_first(temporary, path):
        commit_one(temporary, path)
        if path.name == "a.tif":
            ctrl_c()

    monkeypatch.setattr(imagej, "commit_staged", interrupted_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        imagej.commit_set(staged)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.tif", "b.tif", "c.tif"]


def test_the_files_of_a_set_not_yet_in_place_are_removed_when_a_rename_fails(tmp_path, monkeypatch):
    from napari_zssr.io import imagej

    staged = []
    for name in ("a", "b"):
        (tmp_path / f"{name}.part").write_bytes(name.encode())
        staged.append((tmp_path / f"{name}.part", tmp_path / "place" / f"{name}.tif"))
    (tmp_path / "place").mkdir()
    (tmp_path / "place" / "a.tif").mkdir()  # a folder where the first output goes: its rename fails
    with pytest.raises(OSError):
        imagej.commit_set(staged)
    assert not list(tmp_path.glob("*.part"))


def test_colour_samples_read_as_channels_show_in_colour_and_alpha_stays_dark(tmp_path):
    """ImageJ's composite adds its channels: an alpha channel of 255 shown grey would wash the picture out white."""
    rgba = (np.random.default_rng(0).random((16, 16, 4)) * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    image = read_tiff(tmp_path / "rgba.tif", samples_as_channels=True)
    assert image.axes == "CYX" and image.display["mode"] == "composite"
    assert [tuple(lut[:, -1]) for lut in image.display["LUTs"]] == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 0)]
    # JPEG-compressed RGB is stored as YCbCr: its colours came out as grey channels
    tifffile.imwrite(tmp_path / "jpeg.tif", rgba[..., :3], photometric="rgb", compression="jpeg")
    image = read_tiff(tmp_path / "jpeg.tif", samples_as_channels=True)
    assert image.axes == "CYX" and image.display["mode"] == "composite" and len(image.display["LUTs"]) == 3


def test_an_imagej_file_calibrated_in_cm_keeps_its_pixel_size(tmp_path):
    """ImageJ writes ResolutionUnit centimetre for unit=cm, and its resolution tags per ImageJ unit."""
    path = tmp_path / "cm.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), description="ImageJ=1.54f\nunit=cm\n", metadata=None,
                     resolution=(1000, 1000), resolutionunit="CENTIMETER")
    assert read_tiff(path).pixel_size == (10.0, 10.0)  # 1/1000 cm


def test_a_resolution_per_micrometre_written_by_tifffile_for_imagej_keeps_its_pixel_size(tmp_path):
    """ImageJ's unit names what the resolution tags count per, whatever ResolutionUnit says: read as metres, it
    gave 1e-7 um pixels, which passed as plausible."""
    path = tmp_path / "um.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), imagej=True, resolution=(10, 10),
                     resolutionunit="MICROMETER", metadata={"unit": "um"})
    assert read_tiff(path).pixel_size == pytest.approx((0.1, 0.1))


@pytest.mark.parametrize("unit", ["nanometers", "nanometres", "Nanometre"])
def test_length_units_spelled_in_plural_or_british_english_are_read(tmp_path, unit):
    path = tmp_path / "nm.ome.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": 65, "PhysicalSizeXUnit": unit, "PhysicalSizeY": 65,
                               "PhysicalSizeYUnit": unit})
    assert read_tiff(path).pixel_size == pytest.approx((0.065, 0.065))


def test_an_ome_size_in_another_length_unit_is_in_micrometres_without_rounding_noise(tmp_path):
    path = tmp_path / "pm.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 100000, "PhysicalSizeXUnit": "pm", "PhysicalSizeY": 1e-7,
                               "PhysicalSizeYUnit": "m", "PhysicalSizeZ": 300000, "PhysicalSizeZUnit": "pm"})
    image = read_tiff(path)
    assert image.pixel_size == (0.1, 0.1) and image.z_spacing == 0.3  # not 0.09999999999999999


def test_the_frame_interval_comes_from_the_planes_delta_t_where_no_time_increment_is_given(tmp_path):
    """Bio-Formats conversions often record only each plane's time."""
    path = tmp_path / "timed.ome.tif"
    planes = {"DeltaT": [0.0, 0.0, 30.0, 30.0, 60.0, 60.0], "DeltaTUnit": ["s"] * 6, "TheT": [0, 0, 1, 1, 2, 2],
              "TheC": [0, 1] * 3, "TheZ": [0] * 6}
    tifffile.imwrite(path, np.zeros((3, 2, 8, 8), np.uint16), ome=True, metadata={"axes": "TCYX", "Plane": planes})
    assert read_tiff(path).frame_interval == 30.0
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    assert xml.count('DeltaT="30.0"') == 2
    tifffile.tiffcomment(path, xml.replace('DeltaT="30.0"', ""))  # time point 1 without its planes' times
    assert read_tiff(path).frame_interval == 30.0


def test_a_thumbnail_stored_before_the_image_without_the_reduced_flag_is_passed_over(tmp_path):
    path = tmp_path / "thumb_first.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((12, 12, 3), np.uint8), photometric="rgb")
        tif.write(np.ones((3, 48, 48), np.uint16), photometric="minisblack")
    image = read_tiff(path)
    assert image.data.shape == (3, 48, 48) and image.series_count == 1  # no "only the first series is read" note
    assert read_header(path).shape == (3, 48, 48)
    for name, first, ome in (("grey_first.tif", np.zeros((12, 12), np.uint8), False),  # a small first position?
                             ("colour_first.ome.tif", np.zeros((12, 12, 3), np.uint8), True)):  # OME: every image
        with tifffile.TiffWriter(tmp_path / name, ome=ome) as tif:
            tif.write(first, photometric="rgb" if first.ndim == 3 else "minisblack")
            tif.write(np.ones((3, 48, 48), np.uint16), photometric="minisblack")
        image = read_tiff(tmp_path / name)
        assert image.data.shape == first.shape and image.series_count == 2  # read, with the note of the others


def test_a_binary_only_file_of_a_multi_file_ome_dataset_names_the_file_with_its_metadata(tmp_path):
    main = tmp_path / "pos.ome.tif"
    tifffile.imwrite(main, np.zeros((2, 16, 16), np.uint16), ome=True, metadata={"axes": "CYX"})
    member = tmp_path / "pos_1.ome.tif"
    xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
           'UUID="urn:uuid:2"><BinaryOnly MetadataFile="pos.ome.tif" UUID="urn:uuid:1"/></OME>')
    tifffile.imwrite(member, np.zeros((16, 16), np.uint16), description=xml.encode(), metadata=None)
    with pytest.raises(ValueError, match=r"pos_1.ome.tif holds only pixel data of a multi-file OME dataset whose "
                                         r"metadata .* is in pos.ome.tif: give pos.ome.tif instead"):
        read_tiff(member)
    assert read_header(member).first_plane_file == main.resolve()  # a folder's batch skips it as a dataset's member


def test_a_z_stack_saved_by_tifffile_without_axes_but_with_its_z_spacing_reads_as_z_planes(tmp_path):
    """tifffile stores any 3D ImageJ array without axes as channels: a user's z-stack opened as 6 channels."""
    volume = np.arange(6 * 8 * 8, dtype=np.uint16).reshape(6, 8, 8)
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, volume, imagej=True, resolution=(1 / 0.1, 1 / 0.1), metadata={"spacing": 0.5, "unit": "um"})
    for mapped in (False, True):
        image = read_tiff(path, mapped=mapped)
        assert image.axes == "ZYX" and image.z_spacing == pytest.approx(0.5)
        assert image.pixel_size == pytest.approx((0.1, 0.1)) and not image.channels_unmarked
    assert read_header(path).axes == "ZYX"
    part, leading = read_planes(path, 2, 4)  # as the batch reads a part: z planes of one channel
    assert leading == (6,) and np.array_equal(part, volume[2:4, None])


@pytest.mark.parametrize("marks", [
    {"mode": "composite"},
    {"mode": "color"},
    {"LUTs": [np.zeros((3, 256), np.uint8)] * 3},
    {"mode": "grayscale", "Ranges": (0.0, 100.0) * 3},  # Fiji saves a range per channel for every multichannel image
    {"Labels": ["DAPI", "GFP", "RFP"]},  # Fiji's channel names
])
def test_channels_marked_as_fiji_marks_them_stay_channels_beside_a_z_spacing(tmp_path, marks):
    path = tmp_path / "c.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint16), imagej=True,
                     metadata={"axes": "CYX", "spacing": 0.5, "unit": "um", **marks})
    assert read_tiff(path).axes == "CYX" and read_header(path).axes == "CYX"


def test_ome_channels_and_this_packages_own_channel_outputs_stay_channels_beside_a_z_spacing(tmp_path):
    from napari_zssr.io.imagej import write_imagej_tiff

    tifffile.imwrite(tmp_path / "c.ome.tif", np.zeros((3, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.5})
    assert read_tiff(tmp_path / "c.ome.tif").axes == "CYX"
    # an output of channels whose input has a z spacing (a Fiji composite, its residual written without its ranges)
    write_imagej_tiff(tmp_path / "out.tif", np.zeros((3, 8, 8), np.float32), "CYX", (0.1, 0.1), z_spacing=0.5)
    image = read_tiff(tmp_path / "out.tif")
    assert image.axes == "CYX" and image.z_spacing == pytest.approx(0.5)


def test_unmarked_planes_without_a_z_spacing_stay_channels_said_to_be_unmarked(tmp_path):
    tifffile.imwrite(tmp_path / "q.tif", np.zeros((3, 8, 8), np.uint16), imagej=True)
    image = read_tiff(tmp_path / "q.tif")
    assert image.axes == "CYX" and image.channels_unmarked


def fiji_signed_16bit(path, values: np.ndarray) -> None:
    """Save int16 ``values`` as Fiji saves a signed 16-bit image: unsigned, 32768 above the values, with ImageJ's
    calibration function that subtracts 32768 again (Calibration.setSigned16BitCalibration)."""
    stored = (values.astype(np.int32) + 32768).astype(np.uint16)
    tifffile.imwrite(path, stored, imagej=True,
                     metadata={"axes": "ZYX"[-values.ndim:], "cf": 0, "c0": -32768.0, "c1": 1.0,
                               "vunit": "Gray Value", "min": 30000.0, "max": 34000.0})


@pytest.mark.parametrize("mapped", [False, True])
def test_a_fiji_signed_16bit_image_is_read_as_its_signed_values(tmp_path, mapped):
    """Fiji saves a signed 16-bit image (background-subtracted, deconvolved) as uint16 stored 32768 above its values
    with a calibration that shows them as they are; it was read as the stored uint16, so that every output came out
    32768 above the input as Fiji shows it (with --dtype input, as uint16 of the stored values)."""
    values = np.arange(-600, 600, dtype=np.int16).reshape(2, 20, 30)
    fiji_signed_16bit(tmp_path / "signed.tif", values)
    image = read_tiff(tmp_path / "signed.tif", mapped=mapped)
    assert image.data.dtype == np.int16 and np.array_equal(np.asarray(image.data[(0,)]), values[0])
    assert np.array_equal(np.asarray(image.data[(1,)]), values[1])  # a plane source: full indices
    assert "min" not in image.display and "max" not in image.display  # in the stored values: not the outputs'
    assert read_header(tmp_path / "signed.tif").dtype == np.int16
    part, _ = read_planes(tmp_path / "signed.tif", 1, 2)
    assert part.dtype == np.int16 and np.array_equal(part[0, 0], values[1])


def write_plate(path, wells: int, seed: int = 0) -> np.ndarray:
    """An OME-TIFF of ``wells`` image series of 2 z planes each, as a plate is saved; its pixels (wells, Z, Y, X)."""
    data = np.random.default_rng(seed).integers(0, 60000, (wells, 2, 8, 9), dtype=np.uint16)
    with tifffile.TiffWriter(path, ome=True) as writer:
        for well in data:
            writer.write(well, compression="zlib", metadata={"axes": "ZYX"})
    return data


def test_within_kept_open_a_plate_is_parsed_once_for_all_its_series_and_read_anew_once_changed(tmp_path, monkeypatch):
    """Each opening of a TIFF parses all its image series: the batch, reading a plate's wells one job each (headers,
    then planes), parsed the whole plate again for each well. Only the files named are kept open (an output read to
    see whether it is done is replaced next); a file changed since is read as it is now, and all are closed after."""
    from napari_zssr.io.tiff import kept_open

    opened = []
    real_init = tifffile.TiffFile.__init__

    def counted(self, *args, **kwargs):
        opened.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffFile, "__init__", counted)
    plate, other = tmp_path / "plate.ome.tif", tmp_path / "other.tif"
    data = write_plate(plate, 4)
    tifffile.imwrite(other, PLANE)
    with kept_open([plate]):
        for well in range(4):
            assert read_header(plate, series=well).shape == (2, 8, 9)
            assert np.array_equal(read_planes(plate, 1, 2, well)[0][0, 0], data[well, 1])
            assert np.array_equal(read_tiff(plate, series=well).data, data[well])
            read_header(other)
        assert [Path(tif.filehandle.path).name for tif in opened] == ["plate.ome.tif"] + ["other.tif"] * 4
        changed = write_plate(plate, 3, seed=1)
        assert np.array_equal(read_tiff(plate, series=2).data, changed[2])
        assert len(opened) == 6 and not opened[-1].filehandle.closed  # read anew, and kept
    assert all(tif.filehandle.closed for tif in opened)


def test_a_staged_output_is_on_the_disk_before_it_takes_its_place(tmp_path, monkeypatch):
    """Renamed unsynced, a crash or power cut could leave an empty file under the output's name."""
    import os

    import napari_zssr.io.imagej as imagej

    synced = []
    monkeypatch.setattr(imagej.os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino))
    staged = imagej.stage_imagej_tiff(tmp_path / "a_zssr.tif", np.ones((8, 8), np.float32), "YX", None)
    assert synced == [staged.stat().st_ino] and staged.name.startswith(".a_zssr.")
