"""The microscope's optics (objective NA, immersion, channel wavelengths) and the channels' names from a TIFF's
OME-XML metadata."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import tifffile

from ..core.units import IMMERSION_INDICES
from .tiff import image_series, length_um, ome_image

#: refractive index of each OME ``Immersion`` (or ``Medium``) value that names a single medium
IMMERSION_INDEX = {**{name.capitalize(): index for name, index in IMMERSION_INDICES.items()},
                   "WaterDipping": IMMERSION_INDICES["water"]}


@dataclass(frozen=True)
class OpticsMetadata:
    """What an OME file says about its optics; a field is None (a wavelength entry too) when the file is silent."""

    na: float | None
    refractive_index: float | None  # ObjectiveSettings RefractiveIndex, else its Medium's, else the immersion's
    immersion: str | None  # the OME Immersion value, e.g. "Oil" (ObjectiveSettings Medium for a "Multi" objective)
    emission_wavelengths: tuple[float | None, ...]  # nm, one per channel
    excitation_wavelengths: tuple[float | None, ...]  # nm, one per channel
    lens_model: str | None

    def names_optics(self, channels: int) -> bool:
        """Whether the file says enough for an axial profile without guessing: the NA, the immersion and the emission
        wavelength of every one of ``channels`` channels (or one for all)."""
        return bool(self.na and self.refractive_index and all(self.emission_wavelengths)
                    and len(self.emission_wavelengths) in (1, channels))


def read_optics(path: str | os.PathLike, series: int = 0) -> OpticsMetadata | None:
    """The optics recorded in the OME-XML of a TIFF for the image its readers read, or None when it has no OME-XML
    or no optics; ``series``: another image series' (as :func:`.tiff.read_tiff` reads it).

    Raises ``ValueError`` naming the file when it is not a readable TIFF or its OME-XML is malformed.
    """
    root, image = _ome_image(path, series)
    if image is None:
        return None
    settings = _first(image, "ObjectiveSettings")
    objective = _objective(root, image, None if settings is None else settings.get("ID"))
    channels = [element for element in image.iter() if _name(element) == "Channel"]
    immersion = None if objective is None else objective.get("Immersion")
    medium = None if settings is None else settings.get("Medium")  # this acquisition's, e.g. of a "Multi" objective
    if medium in IMMERSION_INDEX and immersion not in IMMERSION_INDEX:
        immersion = medium
    refractive_index = (_number(settings, "RefractiveIndex") or IMMERSION_INDEX.get(medium or "")
                        or IMMERSION_INDEX.get(immersion or ""))
    optics = OpticsMetadata(
        na=_number(objective, "LensNA"), refractive_index=refractive_index, immersion=immersion,
        emission_wavelengths=tuple(_wavelength_nm(channel, "EmissionWavelength") for channel in channels),
        excitation_wavelengths=tuple(_wavelength_nm(channel, "ExcitationWavelength") for channel in channels),
        lens_model=None if objective is None else objective.get("Model"))
    known = [optics.na, optics.refractive_index, optics.lens_model, *optics.emission_wavelengths,
             *optics.excitation_wavelengths]
    return optics if any(value is not None for value in known) else None


def _ome_image(path: str | os.PathLike, series: int = 0) -> tuple[ET.Element | None, ET.Element | None]:
    """The OME-XML root of a TIFF and the ``Image`` of the series its readers read (:func:`.tiff.ome_image`; None,
    None without OME-XML); a ``ValueError`` for a file that is no TIFF or holds broken XML, an ``OSError``
    (``FileNotFoundError``...) as reading any file gives."""
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            xml = tif.ome_metadata if tif.is_ome else None
            root = ET.fromstring(xml) if xml else None
            # the Image the pixel size is read from (io.tiff.ome_pixels), by the same rule
            image = None if root is None else ome_image(root, tif, image_series(tif, series))
    except (tifffile.TiffFileError, ET.ParseError, KeyError, IndexError, ValueError) as error:
        raise ValueError(f"could not read the OME metadata of {path.name}: {error}") from error
    return root, image


def _name(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # without the schema's namespace, which changes between OME versions


def _first(parent: ET.Element, name: str) -> ET.Element | None:
    return next((element for element in parent.iter() if _name(element) == name), None)


def _objective(root: ET.Element, image: ET.Element, objective_id: str | None) -> ET.Element | None:
    """The objective the image's settings point to, or else the only objective of the instrument the image names
    (of the file, where it names none): a file may describe several instruments, each with its objective."""
    objectives = [element for element in root.iter() if _name(element) == "Objective"]
    chosen = [element for element in objectives if element.get("ID") == objective_id]
    if chosen:
        return chosen[0]
    reference = _first(image, "InstrumentRef")
    instrument = next((element for element in root.iter() if _name(element) == "Instrument"
                       and reference is not None and element.get("ID") == reference.get("ID")), root)
    candidates = [element for element in instrument.iter() if _name(element) == "Objective"]
    return candidates[0] if len(candidates) == 1 else None


def _number(element: ET.Element | None, attribute: str) -> float | None:
    try:
        return None if element is None or attribute not in element.attrib else float(element.attrib[attribute])
    except ValueError:
        return None


def _wavelength_nm(channel: ET.Element, attribute: str) -> float | None:
    value = _number(channel, attribute)
    if value is None:
        return None
    micrometres = length_um(value, channel.get(f"{attribute}Unit", "nm"))
    return None if micrometres is None else micrometres * 1e3
