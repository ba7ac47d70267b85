"""The microscope's optics (objective NA, immersion, channel wavelengths, acquisition mode and pinhole) and the
channels' names from a TIFF's OME-XML metadata.

Each channel's ``AcquisitionMode`` (OME 2016-06) chooses the PSF model its kernel takes where the user names none
(:data:`ACQUISITION_MODALITIES`); a mode neither model describes gives none, with a note. Its ``PinholeSize`` is the
pinhole's physical diameter as the microscope's software reports it (Bio-Formats copies the vendor's value into it,
e.g. a Leica file's ``Pinhole``, converted from m to um only), which the schema leaves in no particular plane. In
Airy units it is that diameter over the total magnification between sample and pinhole times 1 AU (1.22 lambda_em /
NA): the objective's magnification times the scan head's own, which differs between microscope models, is mostly
undocumented, and has no field in OME (Scientific Volume Imaging, "Backprojected pinhole radius"). The pinhole is
converted with the objective's magnification alone, as if the pinhole sat in the objective's image plane (as a
spinning disk's pinholes do); a scan head that magnifies further before its pinhole makes the Airy units that many
times too large: a confocal PSF a little wider than the true one (it stops widening by ~2 AU), still narrower than
the widefield PSF. A result beyond :data:`PLAUSIBLE_PINHOLE_AU` (a value in another unit or already in the sample
plane) is not used, with a note.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Real
from typing import Any

import tifffile

from ..core.choices import DEFAULT_PINHOLE_AU, MAX_PINHOLE_AU, MODALITIES, Modality
from ..core.units import IMMERSION_INDICES, airy_unit_um, tidy
from .calibration import length_um
from .names import file_path
from .series import image_series, ome_elements, ome_image, ome_name, parsed_ome
from .tiff import file_faults_named, tiff_file

#: refractive index of each OME ``Immersion`` (or ``Medium``) value that names a single medium
IMMERSION_INDEX = {**{name.capitalize(): index for name, index in IMMERSION_INDICES.items()},
                   "WaterDipping": IMMERSION_INDICES["water"]}
#: the OME ``AcquisitionMode`` values a PSF model here describes. Confocal: a pinhole before the detector (a spinning
#: disk's array of them; a slit, confocal across it only, where the model's round pinhole makes a PSF narrower than
#: the true one along it: a kernel that sharpens less, not more). Widefield: a camera behind the objective (TIRF's
#: evanescent excitation confines the light in z only: its lateral PSF is the widefield one)
ACQUISITION_MODALITIES: dict[str, Modality] = {
    "LaserScanningConfocalMicroscopy": "confocal", "SpinningDiskConfocal": "confocal", "SlitScanConfocal": "confocal",
    "SweptFieldConfocal": "confocal", "WideField": "widefield", "TIRF": "widefield",
    "TotalInternalReflection": "widefield"}
#: the other OME ``AcquisitionMode`` values, each with why neither model describes it. A light sheet (SPIM) images
#: laterally as a widefield does, but its z blur is the sheet's, which no model here has: an axial profile from the
#: widefield model would be far too long
UNMODELLED_MODES = {
    "SPIM": "a light sheet: its z blur is the sheet's", "MultiPhotonMicroscopy": "multiphoton excitation, no pinhole",
    "SecondHarmonicGenerationImaging": "nonlinear excitation, no pinhole",
    **dict.fromkeys(("StructuredIllumination", "STED", "PALM", "STORM", "SingleMoleculeImaging"),
                    "super-resolution, sharper than either model"),
    "NearFieldScanningOpticalMicroscopy": "a near-field probe, not an objective's PSF",
    "BrightField": "transmitted light, not fluorescence",
    **dict.fromkeys(("FluorescenceLifetime", "SpectralImaging", "FluorescenceCorrelationSpectroscopy", "FSM", "LCM",
                     "Other"), "it does not say how the light was detected")}
#: pinholes a confocal is set to, in Airy units: a file's PinholeSize converted beyond them was in another unit or
#: plane than taken (below 0.1 AU: a diameter already in the sample plane)
PLAUSIBLE_PINHOLE_AU = (0.1, MAX_PINHOLE_AU)


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
    # one per channel (a file from before these were read has none): its OME AcquisitionMode as written; the PSF
    # model it names (:data:`ACQUISITION_MODALITIES`); why it names none where the file says something; its pinhole in
    # Airy units (from PinholeSize, see the module's docstring); where that came from, or why PinholeSize is not used
    acquisition_modes: tuple[str | None, ...] = ()
    modalities: tuple[Modality | None, ...] = ()
    modality_notes: tuple[str | None, ...] = ()
    pinholes: tuple[float | None, ...] = ()
    pinhole_notes: tuple[str | None, ...] = ()
    # its pinhole's diameter at the object (PinholeSize over the magnification), in um: what the run's own NA and
    # wavelength turn into Airy units, where they are not the file's or the file lacks them
    pinhole_diameters_um: tuple[float | None, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> OpticsMetadata:
        """The optics a layer's metadata keeps (as the reader wrote them with :func:`dataclasses.asdict`, lists where
        tuples were, one entry per per-channel field for a channel's layer); a field it lacks is one the file did not
        give."""
        values = {}
        for field in fields(cls):
            value = record.get(field.name)
            values[field.name] = tuple(value or ()) if field.name in PER_CHANNEL_FIELDS else value
        return cls(**values)

    def names_optics(self, channels: int) -> bool:
        """Whether the file says enough for an axial profile without guessing: the NA, the immersion and the emission
        wavelength of every one of ``channels`` channels (or one for all)."""
        return not self.axial_gaps(channels)

    def axial_gaps(self, channels: int) -> list[tuple[str, str]]:
        """What the file leaves out of :meth:`names_optics`, each with the option that gives it."""
        wavelengths = self.emission_wavelengths
        return [(what, option) for what, option, given in (
            ("the NA", "--na", self.na), ("the immersion", "--refractive-index", self.refractive_index),
            ("every channel's emission wavelength", "--wavelength",
             all(wavelengths) and len(wavelengths) in (1, channels))) if not given]

    def unmodelled_mode(self) -> str | None:
        """Why the optics the file names give no axial profile: the note on a channel's acquisition mode that neither
        model describes (a light sheet's z blur is the sheet's, a super-resolution mode's is sharper: the widefield
        model's would deblur z far too much); None where every mode given is widefield's or confocal's. Laterally
        the widefield model stands in for such a mode, with that note."""
        return next((note for mode, modality, note in zip(self.acquisition_modes, self.modalities,
                                                          self.modality_notes) if mode and modality is None and note),
                    None)

    def short_of_a_profile(self, channels: int) -> tuple[str, str] | None:
        """Where the file gives some optics (an NA or a wavelength) but not all an axial profile needs: what it leaves
        out and the options that would give it ("the immersion", "--refractive-index"), for a message; else None."""
        gaps = self.axial_gaps(channels) if self.na or any(self.emission_wavelengths) else []
        if not gaps:
            return None
        return " or ".join(what for what, _ in gaps), " and ".join(option for _, option in gaps)


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
    na = _number(objective, "LensNA") or named_na
    emission = tuple(_wavelength_nm(channel, "EmissionWavelength") for channel in channels)
    magnification = (_number(objective, "CalibratedMagnification") or _number(objective, "NominalMagnification")
                     or magnification_in_model(model))
    pinholes = [_pinhole(channel, na, wavelength, magnification) for channel, wavelength in zip(channels, emission)]
    modes = tuple(channel.get("AcquisitionMode") for channel in channels)
    modalities = [_modality(mode, pinhole[:2] != (None, None)) for mode, pinhole in zip(modes, pinholes)]
    optics = OpticsMetadata(
        na=na, refractive_index=refractive_index, immersion=immersion, emission_wavelengths=emission,
        excitation_wavelengths=tuple(_wavelength_nm(channel, "ExcitationWavelength") for channel in channels),
        lens_model=model, acquisition_modes=modes, modalities=tuple(modality for modality, _ in modalities),
        modality_notes=tuple(note for _, note in modalities), pinholes=tuple(au for au, _, _ in pinholes),
        pinhole_notes=tuple(note for _, note, _ in pinholes),
        pinhole_diameters_um=tuple(at_object for _, _, at_object in pinholes))
    known = [optics.na, optics.refractive_index, optics.lens_model, *optics.emission_wavelengths,
             *optics.excitation_wavelengths, *optics.acquisition_modes, *optics.pinhole_notes]
    return optics if any(value is not None for value in known) else None


#: the fields of :class:`OpticsMetadata` that hold one entry per channel (a channel's layer keeps its own)
PER_CHANNEL_FIELDS = ("emission_wavelengths", "excitation_wavelengths", "acquisition_modes", "modalities",
                      "modality_notes", "pinholes", "pinhole_notes", "pinhole_diameters_um")
#: the fields of :class:`OpticsMetadata` that hold numbers (one, or one per channel); the others hold text
NUMBER_FIELDS = ("na", "refractive_index", "emission_wavelengths", "excitation_wavelengths", "pinholes",
                 "pinhole_diameters_um")


def layer_optics_record(metadata: Any) -> dict[str, Any]:
    """The optics record a layer's metadata keeps under "optics" (as the napari-zssr reader writes it), each value
    of another type than the reader's left out, as a file silent on it: another plugin may keep something else
    under that name (a lens's name, a list of numbers), which failed deep in the widget or a run. {} where there is
    no such record."""
    record = metadata.get("optics") if isinstance(metadata, Mapping) else None
    if not isinstance(record, Mapping):
        return {}

    def kept(name: str, value: Any) -> bool:
        if value is None:
            return True
        if name in NUMBER_FIELDS:
            return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
        return isinstance(value, str) and (name != "modalities" or value in MODALITIES)

    checked: dict[str, Any] = {}
    for field in fields(OpticsMetadata):
        value = record.get(field.name)
        if field.name in PER_CHANNEL_FIELDS:
            if isinstance(value, (list, tuple)) and all(kept(field.name, entry) for entry in value):
                checked[field.name] = list(value)
        elif kept(field.name, value):
            checked[field.name] = value
    return checked


@dataclass(frozen=True)
class Acquisition:
    """The PSF model and pinhole a kernel of one channel takes, and what the user is told of where they came from."""

    modality: Modality
    pinhole: float | None  # Airy units; None: the default (confocal), or no pinhole (widefield)
    notes: tuple[str, ...]


def channel_acquisition(optics: OpticsMetadata | None, channel: int | None, channels: int,
                        modality: Modality | None = None, pinhole: float | None = None, *,
                        na: float | None = None, wavelength: float | None = None) -> Acquisition:
    """The modality and pinhole of channel ``channel`` (of an image of ``channels``; None: a layer of one channel,
    or of all): ``modality`` and ``pinhole`` (the user's) where given, else the file's (its acquisition mode and
    pinhole), else widefield, and the default pinhole for a confocal. The notes say what came from the file, and what
    the file says that is not used: a mode neither model describes, a pinhole that cannot be converted to Airy units
    or that comes out implausible. ``na`` and ``wavelength``: the run's where they are not the file's (the user's):
    the file's pinhole, the same diameter, is that many Airy units of the run's optics (an Airy unit is
    1.22 wavelength / NA)."""
    said = optics or OpticsMetadata(None, None, None, (), (), None)

    def entry(values: tuple) -> Any:
        return channel_entry(values, channel, channels)

    file_modality = entry(said.modalities)
    chosen: Modality = modality or file_modality or "widefield"
    notes = []
    if modality is None and file_modality == "confocal":
        notes.append(f"the confocal model from the file's acquisition mode {entry(said.acquisition_modes)}")
    elif modality is None and entry(said.modality_notes):
        notes.append(f"{entry(said.modality_notes)}: the widefield model is used")
    if chosen != "confocal":
        return Acquisition(chosen, None, tuple(notes))
    if pinhole is None:
        pinhole, pinhole_note = entry(said.pinholes), entry(said.pinhole_notes)
        at_object = entry(said.pinhole_diameters_um)
        file_wavelength = entry(said.emission_wavelengths)  # the pinhole was converted with these (and the NA)
        run_na, run_wavelength = na or said.na, wavelength or file_wavelength
        if at_object and run_na and run_wavelength and (run_na, run_wavelength) != (said.na, file_wavelength):
            # the same diameter in Airy units of the run's optics (the file's lacking, or others given)
            converted, note = _airy_units(at_object, run_na, run_wavelength, f"the file's pinhole, {at_object:.3g} "
                                          f"µm at the object, at the run's NA {run_na:g} and {run_wavelength:g} nm")
            if pinhole is not None and converted is not None:  # as the file's note said it, then the run's
                note = f"{pinhole_note}, {converted:.2f} AU at the run's NA {run_na:g} and {run_wavelength:g} nm"
            pinhole, pinhole_note = converted, note
        if pinhole_note:
            notes.append(pinhole_note if pinhole is not None else
                         f"{pinhole_note}; the default {DEFAULT_PINHOLE_AU:g} AU instead")
    return Acquisition(chosen, pinhole, tuple(notes))


def channel_entry(values: tuple, channel: int | None, channels: int) -> Any:
    """Channel ``channel``'s entry of a per-channel field: its own where the file gives one per channel, else the
    one the file gives for every channel (one entry, or all alike); None where neither (another count of channels)."""
    if channel is not None and len(values) == channels:
        return values[channel]
    return values[0] if len(set(values)) == 1 else None


def _modality(mode: str | None, pinhole_given: bool) -> tuple[Modality | None, str | None]:
    """The PSF model an OME ``AcquisitionMode`` names, or None with why (None, None: the file says nothing)."""
    if mode in ACQUISITION_MODALITIES:
        return ACQUISITION_MODALITIES[mode], None
    if mode in UNMODELLED_MODES:
        return None, f"the file's acquisition mode {mode} ({UNMODELLED_MODES[mode]}) is neither widefield nor confocal"
    if mode is not None:
        return None, f"the file's acquisition mode {mode!r} is none of OME's"
    return None, ("the file gives a pinhole but no acquisition mode (a confocal?)" if pinhole_given else None)


def _pinhole(channel: ET.Element, na: float | None, emission: float | None,
             magnification: float | None) -> tuple[float | None, str | None, float | None]:
    """A channel's ``PinholeSize`` in Airy units (see the module's docstring), with where it came from; or None,
    with why it is not used (None, None: the file gives none); and its diameter at the object in um where the file
    gives the magnification (None otherwise), which a run's own NA and wavelength convert."""
    size = _number(channel, "PinholeSize")
    if size is None:
        return None, None, None
    unit = channel.get("PinholeSizeUnit", "µm")
    said = f"the file's PinholeSize {size:g} {unit}"
    diameter = length_um(size, unit)
    if diameter is None or diameter <= 0:
        return None, f"{said} is no diameter: not used", None
    at_object = diameter / magnification if magnification else None
    missing = [what for what, value in (("objective magnification", magnification), ("NA", na),
                                        ("emission wavelength", emission)) if not value]
    if missing:
        return None, (f"{said} needs the {' and '.join(missing)}, which the file does not give, in Airy units: not "
                      "used"), at_object
    assert na is not None and emission is not None and at_object is not None  # none is missing
    conversion = f"{said} at the objective's {magnification:g}x (NA {na:g}, {emission:g} nm)"
    return (*_airy_units(at_object, na, emission, conversion), at_object)


def _airy_units(at_object: float, na: float, emission: float, conversion: str) -> tuple[float | None, str]:
    """A pinhole's diameter at the object (um) in Airy units of ``na`` and ``emission``, and the note saying so
    (``conversion``: where it came from); None with why where no confocal has such a pinhole."""
    airy_units = at_object / airy_unit_um(na, emission)
    low, high = PLAUSIBLE_PINHOLE_AU
    if not low <= airy_units <= high:
        return None, f"{conversion} is {airy_units:.3g} AU, beyond any confocal's {low:g}-{high:g} AU: not used"
    return round(airy_units, 2), f"pinhole {airy_units:.2f} AU from {conversion}"


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


#: an objective's magnification in its name: a number of up to three digits and an "x" ("63x/1.40 Oil", "Plan Apo
#: 60x", "20X/0,75"), not joined to a letter or a digit on either side
_MODEL_MAGNIFICATION = re.compile(r"(?<![\w.,])(\d{1,3}(?:[.,]\d+)?)\s*[x×](?!\w)", re.IGNORECASE)


def magnification_in_model(model: str | None) -> float | None:
    """The magnification an objective's name says, or None where it says none or more than one: files that give a
    pinhole often leave the objective's ``NominalMagnification`` out but name it ("Plan-Apochromat 63x/1.40 Oil")."""
    numbers = {float(match.replace(",", ".")) for match in _MODEL_MAGNIFICATION.findall(model or "")}
    magnification = numbers.pop() if len(numbers) == 1 else None
    return magnification or None  # "0x" is no magnification


def _ome_image(path: str | os.PathLike, series: int = 0, opened: tifffile.TiffFile | None = None
               ) -> tuple[ET.Element | None, ET.Element | None]:
    """The OME-XML root of a TIFF and the ``Image`` of the series its readers read (:func:`.series.ome_image`; None,
    None without OME-XML); a ``ValueError`` for a file that is no TIFF or holds broken XML, an ``OSError``
    (``FileNotFoundError``...) as reading any file gives."""
    path = file_path(path, "the OME-TIFF")
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
    """A channel's wavelength in nm, in whatever length unit the file gives it (nm where it names none), as the
    decimal it was written as (700, not 700.0000000000001 from nm to um and back), for records and messages."""
    value = _number(channel, attribute)
    if value is None:
        return None
    micrometres = length_um(value, channel.get(f"{attribute}Unit", "nm"))
    return None if micrometres is None else tidy(micrometres * 1e3)
