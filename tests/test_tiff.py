import numpy as np
import pytest
import tifffile

from napari_zssr.io.tiff import read_tiff

PLANE = np.zeros((8, 8), np.uint16)


def test_resolution_per_centimetre_is_read_in_micrometres(tmp_path):
    path = tmp_path / "cm.tif"
    tifffile.imwrite(path, PLANE, resolution=(1e4 / 0.13, 1e4 / 0.2), resolutionunit="CENTIMETER")
    assert read_tiff(path).pixel_size == pytest.approx((0.2, 0.13))


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
    from napari_zssr.io.tiff import imagej_axes

    assert imagej_axes(axes) == stand_in
