"""The microscope's optics (objective NA, immersion, channel wavelengths) and the channels' names from a TIFF's
OME-XML metadata."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import tifffile

from ..core.units import IMMERSION_INDICES
from .calibration import length_um
from .series import image_series, ome_elements, ome_image, ome_name, parsed_ome
from .tiff import file_faults_named, tiff_file

#: refractive index of each OME ``Immersion`` (or ``Medium``) value that names a single medium
IMMERSION_INDEX = {**{name.capitalize(): index for name, index in IMMERSION_INDICES.items()},
                   "WaterDipping": IMMERSION_INDICES["water"]}


@dataclass(frozen=True)
class OpticsMetadata:
    """What an OME file says about its optics; a field is None (a wavelength entry too) when the file is silent."""

    na: float | None  # the objective's LensNA, else the NA its name says (:func:`named_in_model`)
    refractive_index: float | None  # ObjectiveSettings RefractiveIndex, else its Medium's, else the immersion's
    # the OME Immersion value, e.g. "Oil" (ObjectiveSettings Medium for a "Multi" objective; the objective's name's
    # for one whose Immersion is missing or names no single medium)
    immersion: str | None
    emission_wavelengths: tuple[float | None, ...]  # nm, one per channel
    excitation_wavelengths: tuple[float | None, ...]  # nm, one per channel
    lens_model: str | None

    def names_optics(self, channels: int) -> bool:
        """Whether the file says enough for an axial profile without guessing: the NA, the immersion and the emission
        wavelength of every one of ``channels`` channels (or one for all)."""
        return bool(self.na and self.refractive_index and all(self.emission_wavelengths)
                    and len(self.emission_wavelengths) in (1, channels))


def read_optics(path: str | os.PathLike, series: int = 0, opened: tifffile.TiffFile | None = None
                ) -> OpticsMetadata | None:
    """The optics recorded in the OME-XML of a TIFF for the image its readers read, or None when it has no OME-XML
    or no optics; ``series``: another image series' (as :func:`.tiff.read_tiff` reads it); ``opened``: ``path``
    already open (:func:`.tiff.tiff_file`).

    Raises ``ValueError`` naming the file when it is not a readable TIFF or its OME-XML is malformed.
    """
    root, image = _ome_image(path, series, opened)
    if image is None:
        return None
    settings = _first(image, "ObjectiveSettings")
    objective = _objective(root, image, None if settings is None else settings.get("ID"))
    channels = [element for element in image.iter() if ome_name(element) == "Channel"]
    immersion = None if objective is None else objective.get("Immersion")
    model = None if objective is None else objective.get("Model")
    named_na, named_immersion = named_in_model(model)
    medium = None if settings is None else settings.get("Medium")  # this acquisition's, e.g. of a "Multi" objective
    for other in (medium, named_immersion):  # the acquisition's medium first, then the one the objective's name says
        if other in IMMERSION_INDEX and immersion not in IMMERSION_INDEX:
            immersion = other
    refractive_index = (_number(settings, "RefractiveIndex") or IMMERSION_INDEX.get(medium or "")
                        or IMMERSION_INDEX.get(immersion or ""))
    optics = OpticsMetadata(
        na=_number(objective, "LensNA") or named_na, refractive_index=refractive_index, immersion=immersion,
        emission_wavelengths=tuple(_wavelength_nm(channel, "EmissionWavelength") for channel in channels),
        excitation_wavelengths=tuple(_wavelength_nm(channel, "ExcitationWavelength") for channel in channels),
        lens_model=model)
    known = [optics.na, optics.refractive_index, optics.lens_model, *optics.emission_wavelengths,
             *optics.excitation_wavelengths]
    return optics if any(value is not None for value in known) else None


#: an objective's NA in its name as makers write it, after the magnification and a slash: "Plan-Apochromat 63x/1.40
#: Oil DIC M27", "HC PL APO CS2 63x/1.20 WATER", "UPlanSApo 20x/0,75"; not an iris objective's range ("63x/1.40-0.60
#: Oil"), whose NA is wherever the iris was set
_MODEL_NA = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d+)?\s*[x×]\s*/\s*(\d(?:[.,]\d{1,3})?)(?![\d.,]*\d|\s*[-–]\s*\d)",
                       re.IGNORECASE)
#: words of objectives' names that say their immersion, as OME names it ("W" in Zeiss's names: water)
_MODEL_IMMERSION = {"oil": "Oil", "öl": "Oil", "w": "Water", "water": "Water", "wi": "Water", "glyc": "Glycerol",
                    "glycerol": "Glycerol", "glycerin": "Glycerol", "sil": "Silicone", "silicone": "Silicone",
                    "air": "Air", "dry": "Air"}
#: the highest NA of any objective (oil and solid-immersion lenses aside, 1.7): a larger number in a name is no NA
MAX_OBJECTIVE_NA = 1.7


def named_in_model(model: str | None) -> tuple[float | None, str | None]:
    """The NA and the immersion (an OME ``Immersion`` value) that an objective's name says, each None where it says
    none or more than one: many files name the objective ("Plan-Apochromat 63x/1.40 Oil DIC") but leave its
    ``LensNA`` and ``Immersion`` out, and the name is what a user would read them from."""
    if not model:
        return None, None
    numbers = {float(match.replace(",", ".")) for match in _MODEL_NA.findall(model)}
    na = numbers.pop() if len(numbers) == 1 else None
    # letters joined by dots are one word: "W.D." (working distance) is no "W" (water)
    words = {_MODEL_IMMERSION[word] for word in re.findall(r"[^\W\d_]+(?:\.[^\W\d_]+)*", model.lower())
             if word in _MODEL_IMMERSION}
    immersion = words.pop() if len(words) == 1 else None
    return (na if na is not None and 0 < na <= MAX_OBJECTIVE_NA else None), immersion


def _ome_image(path: str | os.PathLike, series: int = 0, opened: tifffile.TiffFile | None = None
               ) -> tuple[ET.Element | None, ET.Element | None]:
    """The OME-XML root of a TIFF and the ``Image`` of the series its readers read (:func:`.series.ome_image`; None,
    None without OME-XML); a ``ValueError`` for a file that is no TIFF or holds broken XML, an ``OSError``
    (``FileNotFoundError``...) as reading any file gives."""
    path = Path(path)
    if opened is None and path.is_dir():  # tifffile's own words name no file: "[Errno 21] Is a directory"
        raise IsADirectoryError(f"{path} is a folder; give the TIFF file itself")
    with file_faults_named(path.name, "the OME metadata"), tiff_file(path, opened) as tif:
        xml = tif.ome_metadata if tif.is_ome else None
        root = parsed_ome(xml) if xml else None
        # the Image the pixel size is read from (io.series.ome_pixels), by the same rule
        image = None if root is None else ome_image(root, tif, image_series(tif, series))
    return root, image


def _first(parent: ET.Element, name: str) -> ET.Element | None:
    return next((element for element in parent.iter() if ome_name(element) == name), None)


def _objective(root: ET.Element, image: ET.Element, objective_id: str | None) -> ET.Element | None:
    """The objective the image's settings point to, or else the only objective of the instrument the image names
    (of the file, where it names none): a file may describe several instruments, each with its objective."""
    objectives = ome_elements(root, "Objective")
    chosen = [element for element in objectives if element.get("ID") == objective_id]
    if chosen:
        return chosen[0]
    reference = _first(image, "InstrumentRef")
    instrument = next((element for element in ome_elements(root, "Instrument")
                       if reference is not None and element.get("ID") == reference.get("ID")), None)
    candidates = objectives if instrument is None else [element for element in instrument.iter()
                                                          if ome_name(element) == "Objective"]
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
