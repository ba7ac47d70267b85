import numpy as np
import pytest
import tifffile

from napari_zssr.io.ome import magnification_in_model, named_in_model, read_optics

OBJECTIVE = ('<Instrument ID="Instrument:0">'
             '<Objective ID="Objective:0" LensNA="1.4" Immersion="Oil" Model="Plan Apo 63x"/></Instrument>')


def test_objective_and_channel_wavelengths_are_read(tmp_path, ome_tiff):
    path = tmp_path / "ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520, 0.61], "EmissionWavelengthUnit": ["nm", "µm"],
                    "ExcitationWavelength": [488, 561]}, OBJECTIVE, '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.na == 1.4 and optics.immersion == "Oil" and optics.refractive_index == pytest.approx(1.518)
    assert optics.emission_wavelengths == pytest.approx((520, 610))
    assert optics.excitation_wavelengths == pytest.approx((488, 561))
    assert optics.lens_model == "Plan Apo 63x"


def test_wavelengths_are_read_as_the_decimals_written(tmp_path, ome_tiff):
    """700 nm, through um and back, was 700.0000000000001 in the layers' metadata and the outputs' records."""
    path = tmp_path / "ome.tif"
    ome_tiff(path, {"EmissionWavelength": [700, 0.61], "EmissionWavelengthUnit": ["nm", "µm"],
                    "ExcitationWavelength": [640, 561]}, OBJECTIVE, '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.emission_wavelengths == (700, 610) and optics.excitation_wavelengths == (640, 561)


def test_each_channel_layer_gets_its_own_wavelengths(tmp_path, ome_tiff):
    from napari_zssr.napari.reader import read_layers

    path = tmp_path / "two.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520, 600], "ExcitationWavelength": [488, 561]}, OBJECTIVE,
             '<ObjectiveSettings ID="Objective:0"/>')
    _, kwargs, _ = read_layers(str(path))[0]
    layers = kwargs["metadata"]
    assert [layer["channel"] for layer in layers] == [0, 1]
    assert [layer["optics"]["emission_wavelengths"] for layer in layers] == [[520], [600]]
    assert [layer["optics"]["excitation_wavelengths"] for layer in layers] == [[488], [561]]
    assert all(layer["optics"]["na"] == 1.4 for layer in layers)


def test_objective_settings_refractive_index_wins_over_the_immersion(tmp_path, ome_tiff):
    path = tmp_path / "ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520]}, OBJECTIVE,
             '<ObjectiveSettings ID="Objective:0" RefractiveIndex="1.406"/>')
    optics = read_optics(path)
    assert optics.refractive_index == pytest.approx(1.406) and optics.excitation_wavelengths == (None,)


def optics_of_objective(folder, ome_tiff, objective: str, settings: str = '<ObjectiveSettings ID="Objective:0"/>'):
    """The optics read from an OME-TIFF of one channel (520 nm) whose instrument has the ``objective`` element."""
    path = folder / "objective.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520]}, f'<Instrument ID="Instrument:0">{objective}</Instrument>', settings)
    return read_optics(path)


def test_the_acquisitions_medium_wins_over_a_multi_immersion_objective(tmp_path, ome_tiff):
    """A multi-immersion objective used with water: ObjectiveSettings Medium names the medium of this acquisition."""
    optics = optics_of_objective(tmp_path, ome_tiff, '<Objective ID="Objective:0" LensNA="1.2" Immersion="Multi"/>',
                                 '<ObjectiveSettings ID="Objective:0" Medium="Water"/>')
    assert optics.refractive_index == pytest.approx(1.333) and optics.immersion == "Water"


def test_files_without_optics_give_none(tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((8, 8), np.uint16))
    tifffile.imwrite(tmp_path / "imagej.tif", np.zeros((8, 8), np.uint16), imagej=True)
    tifffile.imwrite(tmp_path / "bare_ome.tif", np.zeros((8, 8), np.uint16), ome=True)
    for name in ("plain.tif", "imagej.tif", "bare_ome.tif"):
        assert read_optics(tmp_path / name) is None


def test_unreadable_file_is_named(tmp_path):
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match="broken.tif"):
        read_optics(tmp_path / "broken.tif")
    schema = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
    tifffile.imwrite(tmp_path / "cut_xml.tif", np.ones((8, 8), np.uint16), metadata=None,
                     description=f'<?xml version="1.0"?><OME xmlns="{schema}"><Image ID="Image:0"><Pixels</OME>')
    with pytest.raises(ValueError, match="could not read the OME metadata of cut_xml.tif: not well-formed"):
        read_optics(tmp_path / "cut_xml.tif")
    with pytest.raises(FileNotFoundError):  # as read_psf and kernel_from_file give it
        read_optics(tmp_path / "missing.tif")
    with pytest.raises(IsADirectoryError, match=f"{tmp_path} is a folder; give the TIFF file itself"):
        read_optics(tmp_path)


def test_a_reduced_overview_stored_first_lends_the_image_neither_its_objective_nor_its_pixel_size(tmp_path):
    """The overview (a reduced page, passed over as the image) is the OME-XML's first Image: its objective and pixel
    size were read for the image stored after it."""
    from napari_zssr.io.tiff import read_header, read_tiff

    def image(number, objective, wavelength, pixel):
        return (f'<Image ID="Image:{number}"><InstrumentRef ID="Instrument:0"/><ObjectiveSettings ID="{objective}"/>'
                f'<Pixels ID="Pixels:{number}" DimensionOrder="XYZCT" Type="uint16" SizeX="8" SizeY="8" SizeZ="1" '
                f'SizeC="1" SizeT="1" PhysicalSizeX="{pixel}" PhysicalSizeY="{pixel}"><Channel ID="Channel:{number}:0" '
                f'SamplesPerPixel="1" EmissionWavelength="{wavelength}"/><TiffData IFD="{number}" PlaneCount="1"/>'
                "</Pixels></Image>")

    xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
           '<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="0.16" Immersion="Air"/>'
           '<Objective ID="Objective:1" LensNA="1.4" Immersion="Oil"/></Instrument>'
           f'{image(0, "Objective:0", 600, 1.3)}{image(1, "Objective:1", 520, 0.1)}</OME>')
    path = tmp_path / "overview_first.ome.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(np.zeros((8, 8), np.uint16), description=xml, metadata=None, subfiletype=1)
        writer.write(np.ones((8, 8), np.uint16), metadata=None)
    optics = read_optics(path)
    assert optics.na == 1.4 and optics.refractive_index == pytest.approx(1.518)
    assert optics.emission_wavelengths == (520,)
    assert read_tiff(path).data.max() == 1
    assert read_tiff(path).pixel_size == read_header(path).pixel_size == pytest.approx((0.1, 0.1))


def test_the_objective_of_the_instrument_the_image_names_is_read_without_objective_settings(tmp_path, ome_tiff):
    """Two instruments of one objective each, and an Image that names its instrument but no ObjectiveSettings: the
    objective is that instrument's only one (it was none: the file "did not say" its NA)."""
    path = tmp_path / "ome.tif"
    instruments = ('<Instrument ID="Instrument:1"><Objective ID="Objective:1" LensNA="0.3" Immersion="Air"/>'
                   '</Instrument><Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.2" '
                   'Immersion="Water"/></Instrument>')
    ome_tiff(path, {"EmissionWavelength": [520]}, instruments)  # the fixture's Image names Instrument:0
    optics = read_optics(path)
    assert optics.na == 1.2 and optics.refractive_index == pytest.approx(1.333)


@pytest.mark.parametrize("model, na, immersion, index", [
    ("Plan-Apochromat 63x/1.40 Oil DIC M27", 1.4, "Oil", 1.518),
    ("HC PL APO CS2 63x/1.20 WATER", 1.2, "Water", 1.333),
    ("C-Apochromat 40x/1.20 W Korr M27", 1.2, "Water", 1.333),
    ("UPlanSApo 20x/0,75", 0.75, None, None),
    ("LD LCI Plan-Apochromat 25x/0.8 Imm Korr DIC M27", 0.8, None, None),  # multi-immersion: the name does not say
    ("Plan Apo 63x", None, None, None),
])
def test_the_objectives_name_gives_the_na_and_immersion_the_file_leaves_out(tmp_path, ome_tiff, model, na, immersion,
                                                                            index):
    """Many files name the objective but leave LensNA and Immersion out: the name is where a user reads them."""
    optics = optics_of_objective(tmp_path, ome_tiff, f'<Objective ID="Objective:0" Model="{model}"/>')
    assert (optics.na, optics.immersion, optics.lens_model) == (na, immersion, model)
    assert optics.refractive_index == (None if index is None else pytest.approx(index))


def test_the_files_own_na_and_immersion_win_over_the_objectives_name(tmp_path, ome_tiff):
    optics = optics_of_objective(tmp_path, ome_tiff, '<Objective ID="Objective:0" LensNA="1.3" Immersion="Glycerol" '
                                                     'Model="Plan-Apochromat 63x/1.40 Oil DIC"/>')
    assert (optics.na, optics.immersion) == (1.3, "Glycerol") and optics.refractive_index == pytest.approx(1.47)


@pytest.mark.parametrize("model", ["HCX PL APO 63x/1.40-0.60 Oil", "HCX PL FLUOTAR 100x/1.30 - 0.60 OIL",
                                   "Plan Fluor 100x/0.5-1.3 Oil Iris"])
def test_an_iris_objectives_range_of_na_gives_no_na(model):
    """An iris objective's name gives the range its NA is set in, not the NA it was used at: neither end is read as
    its NA (the low end would make the kernel far wider than the objective's)."""
    assert named_in_model(model) == (None, "Oil")


@pytest.mark.parametrize(("model", "immersion"), [("Plan Fluor 20x/0.50 W.D. 2.1", None),
                                                  ("Plan Apo 60x/1.40 Oil W.D. 0.13", "Oil"),
                                                  ("CFI Plan Apo 10x/0.45 W.D.4.0", None),
                                                  ("N-Achroplan 10x/0.25 W", "Water")])
def test_an_abbreviation_in_an_objectives_name_is_not_read_as_its_letters(model, immersion):
    """"W.D." is the working distance, not "W" (water): a dry objective is not made a water one, and an oil one keeps
    its oil."""
    assert named_in_model(model)[1] == immersion


def confocal_objective(magnification: str = ' NominalMagnification="60"') -> str:
    """An oil objective of NA 1.4 (and, unless told otherwise, 60x), the one instrument's."""
    return (f'<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.4" Immersion="Oil"{magnification}/>'
            "</Instrument>")


def airy_units(diameter_um: float, magnification: float, na: float, emission_nm: float) -> float:
    """A pinhole's diameter in Airy units, 1 AU being 1.22 lambda / NA times the magnification (written out here)."""
    return diameter_um / (1.22 * emission_nm * 1e-3 / na * magnification)


def test_each_channels_acquisition_mode_and_pinhole_are_read(tmp_path, ome_tiff):
    """A confocal's channels were read as widefield ones: the kernel ~1.4 times too wide, which ZSSR over-sharpens."""
    path = tmp_path / "modes.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520, 610, 520, 700],
                    "AcquisitionMode": ["LaserScanningConfocalMicroscopy", "SpinningDiskConfocal", "WideField",
                                        "TIRF"],
                    "PinholeSize": [40, 0.05, 40, 40], "PinholeSizeUnit": ["µm", "mm", "µm", "µm"]},
             confocal_objective(), '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.acquisition_modes == ("LaserScanningConfocalMicroscopy", "SpinningDiskConfocal", "WideField", "TIRF")
    assert optics.modalities == ("confocal", "confocal", "widefield", "widefield")
    assert optics.modality_notes == (None,) * 4
    assert optics.pinholes[:2] == (pytest.approx(airy_units(40, 60, 1.4, 520), abs=0.005),
                                   pytest.approx(airy_units(50, 60, 1.4, 610), abs=0.005))
    assert optics.pinhole_notes[0] == ("pinhole 1.47 AU from the file's PinholeSize 40 µm at the objective's 60x (NA "
                                       "1.4, 520 nm)")


def test_the_calibrated_magnification_wins_over_the_nominal(tmp_path, ome_tiff):
    path = tmp_path / "calibrated.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                    "PinholeSize": [40]},
             confocal_objective(' NominalMagnification="60" CalibratedMagnification="63"'),
             '<ObjectiveSettings ID="Objective:0"/>')
    assert read_optics(path).pinholes == (pytest.approx(airy_units(40, 63, 1.4, 520), abs=0.005),)


def test_the_objectives_name_gives_the_magnification_the_file_leaves_out(tmp_path, ome_tiff):
    """A pinhole was left unconverted where the file named the objective ("63x/1.40 Oil") but gave no
    NominalMagnification; several magnifications in a name give none."""
    path = tmp_path / "named.ome.tif"
    channels = {"EmissionWavelength": [520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                "PinholeSize": [40]}
    ome_tiff(path, channels, confocal_objective(' Model="Plan-Apochromat 63x/1.40 Oil DIC M27"'),
             '<ObjectiveSettings ID="Objective:0"/>')
    assert read_optics(path).pinholes == (pytest.approx(airy_units(40, 63, 1.4, 520), abs=0.005),)
    assert [magnification_in_model(model) for model in ("UPlanSApo 20X/0,75", "Plan Apo 60x", "Zoom 1x 63x/1.4",
                                                          "Objective 1", None)] == [20, 60, None, None, None]


@pytest.mark.parametrize(("objective", "emission", "missing"), [
    (confocal_objective(""), 520, "objective magnification"),
    ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" NominalMagnification="60"/></Instrument>', 520,
     "NA"),
    (confocal_objective(), None, "emission wavelength"),
])
def test_a_pinhole_is_converted_only_where_the_file_gives_what_that_needs(tmp_path, ome_tiff, objective, emission,
                                                                          missing):
    path = tmp_path / "unconverted.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [emission], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                    "PinholeSize": [40]}, objective, '<ObjectiveSettings ID="Objective:0"/>')
    if emission is None:  # tifffile writes None as text
        with tifffile.TiffFile(path) as tif:
            xml = tif.ome_metadata
        tifffile.tiffcomment(path, xml.replace(' EmissionWavelength="None"', ""))
    optics = read_optics(path)
    assert optics.modalities == ("confocal",) and optics.pinholes == (None,)
    assert optics.pinhole_notes == (f"the file's PinholeSize 40 µm needs the {missing}, which the file does not "
                                    "give, in Airy units: not used",)


@pytest.mark.parametrize(("size", "unit", "airy"), [(2000, "µm", "73.6"), (0.3, "µm", "0.011"), (40, "nm", "0.00147")])
def test_a_pinhole_that_converts_to_no_confocals_is_not_used(tmp_path, ome_tiff, size, unit, airy):
    """73.6 AU: no pinhole opens that wide; 0.011 AU: a diameter already in the sample plane (or in another unit)."""
    path = tmp_path / "implausible.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                    "PinholeSize": [size], "PinholeSizeUnit": [unit]},
             confocal_objective(), '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.pinholes == (None,)
    assert optics.pinhole_notes == (f"the file's PinholeSize {size:g} {unit} at the objective's 60x (NA 1.4, 520 nm) "
                                    f"is {airy} AU, beyond any confocal's 0.1-20 AU: not used",)


@pytest.mark.parametrize(("mode", "pinhole", "note"), [
    ("STED", 40, "the file's acquisition mode STED (super-resolution, sharper than either model) is neither widefield "
                 "nor confocal"),
    ("SPIM", None, "the file's acquisition mode SPIM (a light sheet: its z blur is the sheet's) is neither widefield "
                   "nor confocal"),
    ("MultiPhotonMicroscopy", None, "the file's acquisition mode MultiPhotonMicroscopy (multiphoton excitation, no "
                                    "pinhole) is neither widefield nor confocal"),
    ("Confocal", None, "the file's acquisition mode 'Confocal' is none of OME's"),
    (None, 40, "the file gives a pinhole but no acquisition mode (a confocal?)"),
])
def test_a_mode_neither_model_describes_gives_no_modality_and_a_note(tmp_path, ome_tiff, mode, pinhole, note):
    from napari_zssr.io.ome import channel_acquisition

    channel = {"EmissionWavelength": [520], **({"AcquisitionMode": [mode]} if mode else {}),
               **({"PinholeSize": [pinhole]} if pinhole else {})}
    path = tmp_path / "unmodelled.ome.tif"
    ome_tiff(path, channel, confocal_objective(), '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.modalities == (None,) and optics.modality_notes == (note,)
    acquisition = channel_acquisition(optics, 0, 1)  # not prefilled silently: the default, with the note
    assert (acquisition.modality, acquisition.pinhole) == ("widefield", None)
    assert acquisition.notes == (f"{note}: the widefield model is used",)


def test_a_files_pinhole_without_its_na_takes_the_runs(tmp_path, ome_tiff):
    """A file without LensNA (or EmissionWavelength) had its pinhole dropped for the default 1 AU even where the run
    gave --na (or --wavelength), with a note that the NA was missing."""
    from napari_zssr.io.ome import channel_acquisition

    path = tmp_path / "no_na.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                    "PinholeSize": [40]}, confocal_objective().replace(' LensNA="1.4"', ""),
             '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    assert optics.pinholes == (None,) and optics.pinhole_diameters_um == (pytest.approx(40 / 60),)
    given = channel_acquisition(optics, None, 1, na=1.4)
    assert given.pinhole == pytest.approx(airy_units(40, 60, 1.4, 520), abs=0.01) == 1.47
    assert given.notes[1] == "pinhole 1.47 AU from the file's pinhole, 0.667 µm at the object, at the run's NA 1.4 " \
                             "and 520 nm"
    unknown = channel_acquisition(optics, None, 1)  # no NA at all: the default, said
    assert unknown.pinhole is None and unknown.notes[1].endswith("not used; the default 1 AU instead")


def test_the_users_modality_and_pinhole_win_over_the_files(tmp_path, ome_tiff):
    from napari_zssr.io.ome import channel_acquisition

    path = tmp_path / "two.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520, 520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"] * 2,
                    "PinholeSize": [40, 2000]}, confocal_objective(), '<ObjectiveSettings ID="Objective:0"/>')
    optics = read_optics(path)
    first = channel_acquisition(optics, 0, 2)
    assert (first.modality, first.pinhole) == ("confocal", 1.47)
    assert first.notes == ("the confocal model from the file's acquisition mode LaserScanningConfocalMicroscopy",
                           optics.pinhole_notes[0])
    second = channel_acquisition(optics, 1, 2)  # its pinhole is not used: the default, said
    assert second.pinhole is None and second.notes[1].endswith("not used; the default 1 AU instead")
    assert channel_acquisition(optics, 0, 2, "widefield") == type(first)("widefield", None, ())
    assert channel_acquisition(optics, 0, 2, pinhole=0.5).pinhole == 0.5
    # the file's pinhole is a diameter: in Airy units of the NA and wavelength the run takes instead of the file's
    rescaled = channel_acquisition(optics, 0, 2, na=1.2, wavelength=600)
    assert rescaled.pinhole == pytest.approx(airy_units(40, 60, 1.2, 600), abs=0.01)
    assert rescaled.notes[1] == f"{optics.pinhole_notes[0]}, 1.09 AU at the run's NA 1.2 and 600 nm"
    assert channel_acquisition(optics, 0, 2, na=1.4, wavelength=520) == first  # the file's own: as it says
    assert channel_acquisition(None, 0, 1) == type(first)("widefield", None, ())  # a file without OME optics


def test_each_channel_layer_gets_its_own_acquisition_mode_and_pinhole(tmp_path, ome_tiff):
    from napari_zssr.napari.reader import read_layers

    path = tmp_path / "two.ome.tif"
    ome_tiff(path, {"EmissionWavelength": [520, 600], "AcquisitionMode": ["LaserScanningConfocalMicroscopy", "STED"],
                    "PinholeSize": [40, 40]}, confocal_objective(), '<ObjectiveSettings ID="Objective:0"/>')
    layers = read_layers(str(path))[0][1]["metadata"]
    assert [layer["optics"]["modalities"] for layer in layers] == [["confocal"], [None]]
    assert [layer["optics"]["pinholes"] for layer in layers] == [[1.47], [1.28]]
    assert layers[1]["optics"]["modality_notes"][0].startswith("the file's acquisition mode STED")


def test_a_series_the_file_lacks_is_said_to_be_missing_not_the_file_damaged(tmp_path):
    """read_optics(path, series=5) of a file of one series said the file "looks damaged or truncated (IndexError...)";
    series='0' failed on comparing an int with a str."""
    import tifffile

    from napari_zssr.io.ome import read_optics

    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), metadata={"axes": "YX", "PhysicalSizeX": 0.1})
    with pytest.raises(ValueError, match=r"x.ome.tif: it holds 1 image series, no series 5 \(counted from 0\)") \
            as error:
        read_optics(path, series=5)
    assert "damaged" not in str(error.value)
    with pytest.raises(TypeError, match="series must be a whole number"):
        read_optics(path, series="0")
