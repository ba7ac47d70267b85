"""Which image series a TIFF holds (positions, wells..., not its thumbnails), the OME ``Image`` each one is, and
whether the file, or the multi-file dataset it is part of, holds what its metadata announces. Apart from the
readers: it is the one rule of which series there are, shared by the readers, the batch (a run a series) and
:mod:`.ome`; and a truncated file or an incomplete dataset must be refused, with a clear error, before any
pixel is read."""

from __future__ import annotations

import functools
import struct
import weakref
import xml.etree.ElementTree as ET
from numbers import Integral
from pathlib import Path

import numpy as np
import tifffile

from .names import TIFF_SUFFIXES


@functools.lru_cache(maxsize=4)
def parsed_ome(xml: str) -> ET.Element:
    """The parsed OME-XML ``xml`` (read it, never change it: it is shared). Kept for the file: each of a plate's
    series reads it again (its Image, its pixel size, its optics), and parsing the XML of hundreds of wells for each
    made opening a plate grow with the square of its wells."""
    return ET.fromstring(xml)


def ome_name(element: ET.Element) -> str:
    """An OME-XML element's name without its schema's namespace, which changes between OME versions."""
    return element.tag.rsplit("}", 1)[-1]


@functools.lru_cache(maxsize=16)
def ome_elements(root: ET.Element, name: str) -> tuple[ET.Element, ...]:
    """Every element of ``root`` (:func:`parsed_ome`) called ``name`` without its schema's namespace, which changes
    between OME versions ("Image", "Objective"...), in document order. Kept for the tree: each series of a plate
    looks its own up among them, and a search of the whole XML for each made a plate grow with the square of its
    wells."""
    return tuple(element for element in root.iter() if ome_name(element) == name)


def ome_image(root: ET.Element, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> ET.Element | None:
    """The ``Image`` element of the OME-XML ``root`` of ``tif`` that ``series`` was read from (None where it cannot
    be told). tifffile makes a series of each Image that has pixel data, in their order: the Image at the series'
    position where every Image has data, as usual; else the one Image of the series' name (tifffile names a series
    by its Image: a label kept without pixel data, or a position whose file is missing, has no series, and moved
    the later series off their Images); else the first, for the first series. Not always the first Image: an
    overview stored first as a reduced page is passed over (:func:`image_series`), and its pixel size and
    objective are not the image's."""
    images = ome_elements(root, "Image")
    number = next((number for number, each in enumerate(tif.series) if each is series), None)
    if len(images) == len(tif.series) and number is not None:
        return images[number]
    named = [image for image in images if series.name and image.get("Name") == series.name]
    if len(named) == 1:
        return named[0]
    return images[0] if images and number == 0 else None


def ome_pixels(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> ET.Element | None:
    """The ``Pixels`` element of the OME ``Image`` of ``series`` (:func:`ome_image`; None without OME-XML or one)."""
    if not (tif.is_ome and tif.ome_metadata):
        return None
    image = ome_image(parsed_ome(tif.ome_metadata), tif, series)
    return None if image is None else next((element for element in image if element.tag.endswith("Pixels")), None)


def several_series_note(name: str, count: int) -> str:
    """What a reader of the first of ``count`` image series tells the user (a PSF file's: the napari reader opens
    every series)."""
    return (f"{name} holds {count} image series (positions, wells...); only the first is read: split the file (e.g. "
            "with Fiji's Bio-Formats importer) for the others")


def image_series_nbytes(tif: tifffile.TiffFile) -> list[int]:
    """The bytes each image series of an open TIFF (those :func:`image_series_count` counts, in order) takes read
    whole, from its header alone: what a reader that opens every series would hold in memory."""
    return [int(series.nbytes) for series in _image_series(tif)]


def image_series_count(tif: tifffile.TiffFile) -> int:
    """The file's image series (positions, wells...), not counting reduced ones (an LSM file's thumbnails, a slide
    scanner's label and overview images) nor unmarked thumbnails (:func:`_is_thumbnail`)."""
    return len(_image_series(tif))


def image_series(tif: tifffile.TiffFile, index: int) -> tifffile.TiffPageSeries:
    """Image series ``index`` (0-based) of those :func:`image_series_count` counts, by the same rule, so that the
    series a batch runs are the series it counted; series 0 of a file where every series looks like a thumbnail is
    its first. A ``ValueError`` saying how many it holds for an ``index`` past them (the file changed since, or a
    caller's typo), not an ``IndexError``, which readers take for a damaged file's."""
    if isinstance(index, bool) or not isinstance(index, Integral):
        raise TypeError(f"series must be a whole number (0 for the first image series), got {index!r}")
    counted = _image_series(tif)
    if not counted and index == 0:
        return tif.series[0]
    if not 0 <= index < len(counted):
        raise ValueError(f"it holds {len(counted)} image series, no series {index} (counted from 0)")
    return counted[index]


#: each open file's image series (:func:`_image_series`), for as long as the file object lives
_SERIES_OF: weakref.WeakKeyDictionary[tifffile.TiffFile, tuple[tifffile.TiffPageSeries, ...]] = \
    weakref.WeakKeyDictionary()


def _image_series(tif: tifffile.TiffFile) -> tuple[tifffile.TiffPageSeries, ...]:
    """The file's image series, in order: its series but thumbnails (:func:`_is_thumbnail`). The one rule of which
    series there are, for counting them and for choosing one. Worked out once for an open file: a plate's reader
    asks it for each of its wells, and the rule looks at every series."""
    if tif not in _SERIES_OF:
        _SERIES_OF[tif] = tuple(each for number, each in enumerate(tif.series) if not _is_thumbnail(tif, number))
    return _SERIES_OF[tif]


def _is_thumbnail(tif: tifffile.TiffFile, number: int) -> bool:
    """Whether series ``number`` is a reduced image, or an unmarked thumbnail: one 8-bit colour page stored before
    a series at least four times its height and width, as some writers store a preview (not in OME files, where
    every image is one of the dataset's, nor a grey page, which may be a small first position)."""
    series = tif.series[number]
    if _is_reduced(series):
        return True
    if tif.is_ome or len(series.pages) != 1 or "S" not in series.axes or series.dtype != np.uint8:
        return False
    height, width = _plane_shape(series)
    later = tif.series[number + 1 :]
    return any(4 * height <= other_height and 4 * width <= other_width for other_height, other_width in
               map(_plane_shape, later))


def _plane_shape(series: tifffile.TiffPageSeries) -> tuple[int, int]:
    shape = dict(zip(series.axes, series.shape))
    return shape.get("Y", 0), shape.get("X", 0)


def _is_reduced(series: tifffile.TiffPageSeries) -> bool:
    try:
        return bool(series.keyframe.is_reduced)
    except (AttributeError, IndexError):
        return False


class IncompleteTiffError(ValueError):
    """A TIFF that holds less than its own metadata announces, or no pixels at all: an error that names the file."""


def check_complete(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, path: Path,
                   whole_dataset: bool = False) -> None:
    """A clear error for a file that does not hold what its own metadata announces, where tifffile would read on:
    a truncated stack (still being copied, a full disk) comes back as its first page, and the planes of a
    multi-file OME dataset whose other files are missing come back as zeros. With ``whole_dataset`` (a batch, which
    runs every image series), also a dataset that has lost a position: an Image kept in a file of its own
    (Micro-Manager's ``_Pos1.ome.tif``) that is not beside ``path`` has no series at all, and the others would run
    as if they were all (numbered among themselves: the same outputs would later be another position's)."""
    master = binary_only_master(tif, path)
    if master is not None:
        what = (f"give {master.name} instead" if master.suffix.lower() in TIFF_SUFFIXES else
                "a companion file this tool does not read: convert the dataset into one OME-TIFF first (e.g. with "
                "bfconvert)")
        raise IncompleteTiffError(f"{path.name} holds only pixel data of a multi-file OME dataset whose metadata "
                                  f"(axes, pixel size, channels) is in {master.name}: {what}")
    announced = int((tif.imagej_metadata or {}).get("images", 0) or 0)
    held = int(np.prod([n for n, axis in zip(series.shape, series.axes) if axis not in "YXS"], dtype=np.int64))
    if tif.is_imagej and series.dataoffset is None:  # pages stored apart (compressed): tifffile read them all, and
        held = min(held, len(series.pages))  # keeps the header's shape where the chain of pages ended early
    if announced > held:
        raise IncompleteTiffError(f"{path.name} is truncated or corrupt: its ImageJ header announces {announced} "
                                  f"images, the file holds {held} (was it still being copied, or the disk full?)")
    if 0 in series.shape:  # tifffile points such an image's no data bytes past the file's end: not a cut file
        raise IncompleteTiffError(f"{path.name} holds an image without pixels (shape {tuple(series.shape)}): "
                                  "nothing to read")
    if pages_go_past_end(tif, series):
        raise IncompleteTiffError(f"{path.name} is truncated or corrupt: its pages go on past the end of the file "
                                  "(was it still being copied, or the disk full?)")
    unread = sum(page is None for page in series.pages) if tif.is_ome else 0
    if unread or (whole_dataset and tif.is_ome and _images_with_data(tif) > len(tif.series)):
        missing = sorted({name for name in ome_file_names(tif) if not (path.parent / name).exists()})
        if missing:
            raise IncompleteTiffError(f"{path.name} is part of a multi-file OME dataset whose file(s) "
                                      f"{', '.join(missing)} are not beside it; keep the dataset's files together")
    if unread and not ome_file_names(tif):  # a file of its own: no companion to blame
        raise IncompleteTiffError(f"{path.name} is truncated or corrupt: {unread} of the {len(series.pages)} planes "
                                  "its OME metadata announces are not in it (was it still being copied, or the disk "
                                  "full?)")
    if unread:
        raise IncompleteTiffError(f"{unread} of the {len(series.pages)} planes of {path.name}'s OME dataset could not "
                                  "be read from the files its metadata names (changed or unreadable companion files?)")


def pages_go_past_end(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> bool:
    """Whether the file was cut short: its contiguous image data runs past its end, or the last page it holds
    links to a next one past its end (a file whose metadata (OME-XML, tifffile's shape) and later pages were written
    after the part that is there: tifffile stops at such a link, only logging it, and reads what is left as the
    whole image, often its first plane alone). The pages of an ImageJ file are not walked: tifffile has not read
    them (a stack of 100,000 pages, on a network share one read each), and its header's image count is checked."""
    handle = tif.filehandle
    in_this_file = series.keyframe.parent is tif  # not a multi-file OME dataset's companion file
    if series.dataoffset is not None and in_this_file and series.dataoffset + series.nbytes > handle.size:
        return True
    if series.dataoffset is None and _last_page_data_end(tif, series) > handle.size:  # pages stored apart (compressed)
        return True
    if tif.is_imagej:
        return False
    layout = tif.tiff
    last = tif.pages[len(tif.pages) - 1].offset
    handle.seek(last)
    tags = struct.unpack(layout.tagnoformat, handle.read(layout.tagnosize))[0]
    handle.seek(last + layout.tagnosize + tags * layout.tagsize)
    link = handle.read(layout.offsetsize)
    return len(link) < layout.offsetsize or struct.unpack(layout.offsetformat, link)[0] >= handle.size


def _last_page_data_end(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> int:
    """Where the data of the series' last page ends in ``tif`` (0 where that page is in another file or unread): a
    file cut within it keeps the page's tags, which promise all of it (its planes open lazily, then fail one by one)."""
    page = series.pages[len(series.pages) - 1] if len(series.pages) else None
    if page is None or page.parent is not tif or not page.dataoffsets:
        return 0
    return max(offset + count for offset, count in zip(page.dataoffsets, page.databytecounts))


def binary_only_master(tif: tifffile.TiffFile, path: Path) -> Path | None:
    """The file holding the metadata of a multi-file OME dataset where ``tif`` is one of its other files written in
    the OME "BinaryOnly" form (its OME-XML names only that file); None for any other TIFF."""
    xml = tif.ome_metadata if tif.is_ome else None
    if not xml or "BinaryOnly" not in xml:
        return None
    try:
        root = parsed_ome(xml)
    except ET.ParseError:
        return None
    element = next((e for e in root.iter() if ome_name(e) == "BinaryOnly"), None)
    name = None if element is None else element.get("MetadataFile")
    return None if not name else (Path(path).parent / name).resolve()


def _images_with_data(tif: tifffile.TiffFile) -> int:
    """The Images of an OME-TIFF's metadata that have pixel data (TiffData): each one series, where none is lost."""
    return sum(any(element.tag.endswith("TiffData") for element in image.iter())
               for image in ome_elements(parsed_ome(tif.ome_metadata), "Image"))


def ome_file_names(tif: tifffile.TiffFile) -> list[str]:
    """The other files a multi-file OME dataset's metadata names (its TiffData UUID FileName attributes), not this
    file's own: a file renamed since it was written names itself by its old name, and is known by its UUID."""
    root = parsed_ome(tif.ome_metadata)
    own = root.get("UUID")
    return [element.attrib["FileName"] for element in root.iter()
            if element.tag.endswith("UUID") and "FileName" in element.attrib and (element.text or "").strip() != own]
