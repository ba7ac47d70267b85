"""The widget's "from optics" fields follow the selected layer: what one layer's file said never passes for
another's, a value the user typed stays, and an emission wavelength nobody gave is asked for, not guessed."""

import numpy as np
import pytest
import tifffile

from napari_zssr.io.ome import OpticsMetadata, channel_acquisition, layer_optics_record

napari = pytest.importorskip("napari")

OIL_14 = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.4" Immersion="Oil"/>'
          "</Instrument>")
WATER_10 = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.0" Immersion="Water"/>'
            "</Instrument>")
SETTINGS = '<ObjectiveSettings ID="Objective:0"/>'
#: what a fresh widget shows: (NA, emission nm, immersion, excitation nm)
FRESH = (1.4, 0, "oil", 0)


@pytest.fixture
def widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.kernel_source.value = "from optics"
    return viewer, widget


def fields(w) -> tuple:
    optics = w.optics_fields
    return optics.na.value, optics.wavelength.value, optics.immersion.value, optics.excitation.value


def open_ome(viewer, path, ome_tiff, channels: dict, objective: str) -> list:
    """The layers of an OME-TIFF opened by the plugin's reader; a channel given None has no EmissionWavelength."""
    count = len(channels["EmissionWavelength"])
    ome_tiff(path, channels, objective, SETTINGS, data=np.zeros((count, 24, 20), np.uint16), pixel_size=0.1)
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    tifffile.tiffcomment(path, xml.replace(' EmissionWavelength="None"', ""))  # tifffile writes None as text
    return viewer.open(str(path), plugin="napari-zssr")


def test_a_channel_without_a_wavelength_does_not_take_the_other_channels_and_run_asks_for_it(widget, tmp_path,
                                                                                               ome_tiff):
    viewer, w = widget
    gfp, dapi = open_ome(viewer, tmp_path / "two.ome.tif", ome_tiff,
                         {"Name": ["GFP", "DAPI"], "EmissionWavelength": [510, None]}, OIL_14)
    w.image.value = gfp
    assert fields(w)[:3] == (1.4, 510, "oil")
    w.image.value = dapi
    assert w.optics_fields.wavelength.value == 0  # unknown, not GFP's 510 nor a default that would pass for the file's
    assert w.start() is None and not w.running
    assert w.status.value == ("a kernel from the optics needs the emission wavelength: type it in 'emission (nm)' "
                              "(none typed, nor given by the layer's file)")
    assert f"{dapi.name}_zssr" not in viewer.layers
    w.optics_fields.wavelength.value = 460  # typed: the run takes it
    assert w._kernel_arguments()["kernel"].optics.wavelength == 460
    w.image.value = gfp  # a file that gives the field replaces a typed value
    assert w.optics_fields.wavelength.value == 510


def test_a_layer_without_metadata_does_not_keep_the_previous_files_optics(widget, tmp_path, ome_tiff):
    viewer, w = widget
    (water,) = open_ome(viewer, tmp_path / "water.ome.tif", ome_tiff,
                        {"EmissionWavelength": [700], "ExcitationWavelength": [640]}, WATER_10)
    w.image.value = water
    assert fields(w) == (1.0, 700, "water", 640)
    plain = viewer.add_image(np.zeros((24, 20), np.uint16), name="plain", scale=(0.1, 0.1))
    w.image.value = plain
    assert fields(w) == FRESH  # as a fresh widget shows them: nothing of the water file's
    (silent,) = open_ome(viewer, tmp_path / "silent.ome.tif", ome_tiff, {"EmissionWavelength": [None]}, OIL_14)
    w.image.value = silent
    assert w.optics_fields.wavelength.value == 0
    w.image.value = plain  # the file's silence does not pass to the next layer either
    assert fields(w) == FRESH
    with pytest.raises(ValueError, match=r"needs the emission wavelength: type it"):  # as for a fresh widget
        w._kernel_arguments()


def test_values_the_user_typed_stay_when_the_next_layer_does_not_give_them(widget, tmp_path, ome_tiff):
    viewer, w = widget
    first = viewer.add_image(np.zeros((24, 20), np.uint16), name="first", scale=(0.1, 0.1))
    second = viewer.add_image(np.ones((24, 20), np.uint16), name="second", scale=(0.1, 0.1))
    w.image.value = first
    w.optics_fields.na.value, w.optics_fields.wavelength.value, w.optics_fields.immersion.value = 1.2, 600, "water"
    w.image.value = second
    assert fields(w)[:3] == (1.2, 600, "water")
    (no_wavelength,) = open_ome(viewer, tmp_path / "na_only.ome.tif", ome_tiff, {"EmissionWavelength": [None]},
                                WATER_10)
    w.image.value = no_wavelength  # gives the NA and the immersion, not the wavelength: the typed one stays
    assert fields(w)[:3] == (1.0, 600, "water")
    assert w._kernel_arguments()["kernel"].optics.wavelength == 600  # typed: known, not asked for
    w.image.value = first  # the file's NA and immersion go (to a fresh widget's); the typed wavelength stays
    assert fields(w)[:3] == (1.4, 600, "oil")


def test_a_typed_wavelength_equal_to_the_default_counts_as_typed(widget, tmp_path, ome_tiff):
    """Typed is what the user set, not a value unlike the default: a dye at 520 nm typed in stays."""
    viewer, w = widget
    first, second = open_ome(viewer, tmp_path / "two.ome.tif", ome_tiff,
                             {"Name": ["A", "B"], "EmissionWavelength": [None, None]}, OIL_14)
    w.image.value = first
    assert w.optics_fields.wavelength.value == 0
    w.optics_fields.wavelength.value = 520
    w.image.value = second
    assert w.optics_fields.wavelength.value == 520


def test_a_confocal_excitation_the_file_does_not_give_is_the_emission_wavelength_as_on_the_command_line(
        widget, tmp_path, ome_tiff):
    viewer, w = widget
    w.optics_fields.modality.value = "confocal"
    (red,) = open_ome(viewer, tmp_path / "red.ome.tif", ome_tiff,
                      {"EmissionWavelength": [610], "ExcitationWavelength": [561]}, OIL_14)
    w.image.value = red
    assert w._kernel_arguments()["kernel"].optics.excitation_wavelength == 561
    (silent,) = open_ome(viewer, tmp_path / "silent.ome.tif", ome_tiff, {"EmissionWavelength": [610]}, OIL_14)
    w.image.value = silent  # not 488, a default no file said, which would make a narrower PSF than the real one
    assert w.optics_fields.excitation.value == 0
    assert w._kernel_arguments()["kernel"].optics.excitation_wavelength is None  # the library's: the emission's


def test_a_confocal_pinhole_left_at_its_default_is_the_command_lines_and_the_librarys(widget):
    """The widget passed its field's 1 AU, the command line and the library None (their default, also 1 AU): the
    same kernel, but a widget run recorded "pinhole": 1.0 where the others recorded null."""
    from napari_zssr import Optics

    _, w = widget
    w.optics_fields.modality.value = "confocal"
    w.optics_fields.wavelength.value = 520
    optics = w._kernel_arguments()["kernel"].optics
    assert optics == Optics(1.4, 520, modality="confocal") and optics.pinhole == 1.0


def test_a_files_wavelengths_and_na_are_used_as_they_are_not_as_the_fields_round_them(widget, tmp_path, ome_tiff):
    """The fields show whole nm and two decimals of the NA: a file's 523.5 nm ran as 524 nm (and an NA of 1.425 as
    1.43), where run(kernel="optics") and the command line take the file's values: another kernel, other numbers."""
    from napari_zssr.napari.runner import metadata_optics

    viewer, w = widget
    (layer,) = open_ome(viewer, tmp_path / "half.ome.tif", ome_tiff,
                        {"EmissionWavelength": [523.5], "ExcitationWavelength": [487.5]},
                        OIL_14.replace('"1.4"', '"1.425"'))
    w.image.value = layer
    assert (w.optics_fields.na.value, w.optics_fields.wavelength.value) == (1.43, 524)  # as the fields show them
    assert w._kernel_arguments()["kernel"].optics == metadata_optics(layer.metadata)  # as run(kernel="optics")
    w.optics_fields.modality.value = "confocal"
    assert w._kernel_arguments()["kernel"].optics.excitation_wavelength == 487.5  # as --psf-model confocal
    w.optics_fields.wavelength.value = 530  # typed: the run takes it
    assert w._kernel_arguments()["kernel"].optics.wavelength == 530


def test_a_note_on_a_files_value_out_of_range_goes_with_its_layer(widget, tmp_path, ome_tiff):
    viewer, w = widget
    (bad,) = open_ome(viewer, tmp_path / "bad.ome.tif", ome_tiff, {"EmissionWavelength": [520]},
                      OIL_14.replace('"1.4"', '"1.8"'))
    w.image.value = bad
    assert w.status.value.startswith("the file's NA 1.8 is outside the range 0.05-1.7")
    w.image.value = viewer.add_image(np.zeros((24, 20), np.uint16), name="plain", scale=(0.1, 0.1))
    assert w.status.value == ""  # nothing of the other file's
    w.image.value = bad
    assert w.status.value.startswith("the file's NA 1.8")
    w.kernel_source.value = "from optics"
    assert w.start() is None  # not the default NA 1.4 in the file's place, as the command line refuses such a file
    assert w.status.value.startswith("a kernel from the optics needs the objective's NA: type it in 'NA' (the "
                                     "file's NA 1.8 is outside the range 0.05-1.7") and "1.4 is the widget's default" \
        in w.status.value
    w.optics_fields.na.value = 1.3
    assert w._kernel_arguments()["kernel"].optics.na == 1.3


def test_run_asking_for_the_wavelength_says_the_files_was_out_of_range_not_that_it_gave_none(widget, tmp_path,
                                                                                               ome_tiff):
    viewer, w = widget
    (far,) = open_ome(viewer, tmp_path / "far.ome.tif", ome_tiff, {"EmissionWavelength": [2500]}, OIL_14)
    w.image.value = far
    assert w.start() is None
    assert w.status.value == ("a kernel from the optics needs the emission wavelength: type it in 'emission (nm)' "
                              "(the file's emission wavelength (nm) 2500 is outside the range 200-2000 this field "
                              "takes (a value in the wrong unit?); not used)")


def test_a_files_wavelength_in_um_where_nm_are_meant_is_named_not_rounded_into_another(widget, tmp_path, ome_tiff):
    """0.52 and 0.488 (um, in a file whose unit says nm) showed as 1 nm and 0 ("not given"): Run then named 1 nm or
    said the file gives none, and a confocal kernel silently took the emission's wavelength for the excitation."""
    viewer, w = widget
    w.optics_fields.modality.value = "confocal"
    (um,) = open_ome(viewer, tmp_path / "um.ome.tif", ome_tiff,
                     {"EmissionWavelength": [0.52], "ExcitationWavelength": [0.488]}, OIL_14)
    w.image.value = um
    assert w.optics_fields.wavelength.value == 0 and w.optics_fields.excitation.value == 0
    assert w.status.value == ("the file's emission wavelength (nm) 0.52 is outside the range 200-2000 this field "
                              "takes (a value in the wrong unit?); not used; the file's excitation wavelength (nm) "
                              "0.488 is outside the range 200-2000 this field takes (a value in the wrong unit?); "
                              "not used")
    assert w.start() is None
    assert w.status.value.startswith("a kernel from the optics needs the emission wavelength: type it in 'emission "
                                     "(nm)' (the file's emission wavelength (nm) 0.52 is outside the range 200-2000")


def test_a_default_na_too_high_for_the_files_immersion_is_said_to_be_the_default(widget, tmp_path, ome_tiff):
    viewer, w = widget
    objective = ('<Instrument ID="Instrument:0"><Objective ID="Objective:0" Immersion="Water"/></Instrument>')
    (water,) = open_ome(viewer, tmp_path / "water.ome.tif", ome_tiff, {"EmissionWavelength": [520]}, objective)
    w.image.value = water
    assert fields(w)[:3] == (1.4, 520, "water")  # the file gives no NA: the default stays
    assert w.start() is None
    assert w.status.value == ("na must be in (0, 1.333), below the refractive index 1.333 of the immersion medium; "
                              "got 1.4 (the NA shown is the widget's default, 1.4: the layer's file does not give one; "
                              "type your objective's NA)")
    w.optics_fields.na.value = 1.5  # typed: the user's own value, named as such
    assert w.start() is None and "default" not in w.status.value


def test_a_files_refractive_index_between_the_listed_media_is_used_as_it_is_as_on_the_command_line(widget, tmp_path,
                                                                                                  ome_tiff):
    """A file saying n = 1.36 was snapped to water's 1.333: its NA 1.35, which the command line accepts with that
    file, was refused, and the kernel was made for another medium than the file's."""
    from napari_zssr.napari.runner import metadata_optics

    viewer, w = widget
    settings = '<ObjectiveSettings ID="Objective:0" RefractiveIndex="1.36"/>'
    ome_tiff(tmp_path / "n136.ome.tif", {"EmissionWavelength": [520]}, WATER_10.replace('"1.0"', '"1.35"'),
             settings, data=np.zeros((1, 24, 20), np.uint16), pixel_size=0.1)
    (layer,) = viewer.open(str(tmp_path / "n136.ome.tif"), plugin="napari-zssr")
    w.image.value = layer
    assert w.optics_fields.immersion.value == "from file (1.36)"
    optics = w._kernel_arguments()["kernel"].optics
    assert optics.refractive_index == 1.36 and optics == metadata_optics(layer.metadata)  # as run(kernel="optics")
    w.optics_fields.immersion.value = "oil"  # the listed media stay on offer beside it
    assert w._kernel_arguments()["kernel"].optics.refractive_index == 1.518
    w.image.value = viewer.add_image(np.zeros((24, 20), np.uint16), name="plain", scale=(0.1, 0.1))
    assert "from file (1.36)" not in w.optics_fields.immersion.choices  # the other file's medium goes with it
    assert fields(w) == FRESH


OIL_14_60X = OIL_14.replace('Immersion="Oil"', 'Immersion="Oil" NominalMagnification="60"')


def test_a_confocal_files_modality_and_pinhole_are_filled_in_as_the_command_line_takes_them(widget, tmp_path,
                                                                                             ome_tiff):
    """The fields left the modality at widefield whatever the file's acquisition mode said."""
    from napari_zssr.napari.runner import metadata_optics

    viewer, w = widget
    (confocal,) = open_ome(viewer, tmp_path / "confocal.ome.tif", ome_tiff,
                           {"EmissionWavelength": [520], "ExcitationWavelength": [488],
                            "AcquisitionMode": ["LaserScanningConfocalMicroscopy"], "PinholeSize": [40]}, OIL_14_60X)
    w.image.value = confocal
    optics = w._kernel_arguments()["kernel"].optics
    assert (optics.modality, optics.pinhole, optics.excitation_wavelength) == ("confocal", 1.47, 488)
    assert optics == metadata_optics(confocal.metadata)  # as run(kernel="optics") and the command line take them
    assert w.status.value == ""
    plain = viewer.add_image(np.zeros((24, 20), np.uint16), name="plain", scale=(0.1, 0.1))
    w.image.value = plain  # the file's modality and pinhole go with its layer
    assert (w.optics_fields.modality.value, w.optics_fields.pinhole.value) == ("widefield", 1.0)


def test_a_files_pinhole_is_in_airy_units_of_the_na_and_emission_typed_as_the_command_line_takes_it(widget, tmp_path,
                                                                                                    ome_tiff):
    """The file's pinhole is a diameter: the command line converts it at the NA and emission given in place of the
    file's, the widget kept the file's Airy units (a kernel the command line would not make)."""
    viewer, w = widget
    fields_ = w.optics_fields
    acquired = {"EmissionWavelength": [520], "AcquisitionMode": ["LaserScanningConfocalMicroscopy"],
                "PinholeSize": [40]}
    (no_na,) = open_ome(viewer, tmp_path / "no_na.ome.tif", ome_tiff, acquired, OIL_14_60X.replace(' LensNA="1.4"', ""))
    w.image.value = no_na  # no NA given, none converted: the field's default NA is nobody's
    assert fields_.pinhole.value == 1.0 and "NA" in w.status.value
    fields_.na.value = 1.2  # typed: the file's diameter in Airy units of it
    assert w._kernel_arguments()["kernel"].optics.pinhole == pytest.approx(1.47 * 1.2 / 1.4, abs=0.01)
    (confocal,) = open_ome(viewer, tmp_path / "confocal.ome.tif", ome_tiff, acquired, OIL_14_60X)
    w.image.value = confocal  # its own NA replaces the one typed
    assert w._kernel_arguments()["kernel"].optics.pinhole == pytest.approx(1.47, abs=0.01)
    fields_.na.value = 1.2
    fields_.wavelength.value = 600
    optics = w._kernel_arguments()["kernel"].optics
    assert optics.pinhole == pytest.approx(1.47 * (1.2 / 1.4) * (520 / 600), abs=0.01)
    assert fields_.pinhole.value == pytest.approx(optics.pinhole, abs=0.01)
    as_the_command_line = channel_acquisition(OpticsMetadata.from_record(layer_optics_record(confocal.metadata)),
                                              None, 1, na=1.2, wavelength=600)
    assert optics.pinhole == as_the_command_line.pinhole
    fields_.na.value = 0.05  # 0.05 AU: no confocal's, so not used, as on the command line
    assert w._kernel_arguments()["kernel"].optics.pinhole == fields_.pinhole.value == 1.0
    assert "AU instead" in w.status.value
    fields_.pinhole.value = 2.0  # typed: it stays whatever the NA
    fields_.na.value = 1.3
    assert w._kernel_arguments()["kernel"].optics.pinhole == 2.0


def test_a_files_mode_no_model_describes_and_a_pinhole_not_used_are_noted(widget, tmp_path, ome_tiff):
    viewer, w = widget
    (sted,) = open_ome(viewer, tmp_path / "sted.ome.tif", ome_tiff,
                       {"EmissionWavelength": [520], "AcquisitionMode": ["STED"]}, OIL_14_60X)
    w.image.value = sted
    assert w.optics_fields.modality.value == "widefield"  # not prefilled: noted
    assert w.status.value == ("the file's acquisition mode STED (super-resolution, sharper than either model) is "
                              "neither widefield nor confocal: choose the modality")
    (wide_open,) = open_ome(viewer, tmp_path / "wide_open.ome.tif", ome_tiff,
                            {"EmissionWavelength": [520], "AcquisitionMode": ["SpinningDiskConfocal"],
                             "PinholeSize": [2000]}, OIL_14_60X)
    w.image.value = wide_open
    assert (w.optics_fields.modality.value, w.optics_fields.pinhole.value) == ("confocal", 1.0)
    assert w.status.value == ("the file's PinholeSize 2000 µm at the objective's 60x (NA 1.4, 520 nm) is 73.6 AU, "
                              "beyond any confocal's 0.1-20 AU: not used; the pinhole field's 1 AU is used")
    assert w._kernel_arguments()["kernel"].optics.pinhole == 1.0
    w.optics_fields.pinhole.value = 2.0  # typed: the run takes it
    assert w._kernel_arguments()["kernel"].optics.pinhole == 2.0


def test_a_calibrated_file_that_gives_no_optics_has_its_wavelength_asked_for_not_assumed(widget, tmp_path):
    """A file with a pixel size and no optics (an ImageJ TIFF, a plain OME-TIFF) ran at the fields' 520 nm, unsaid,
    where the command line and run(kernel="optics") refuse it."""
    viewer, w = widget
    tifffile.imwrite(tmp_path / "plain.ome.tif", np.zeros((24, 20), np.uint16),
                     metadata={"axes": "YX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    (plain,) = viewer.open(str(tmp_path / "plain.ome.tif"), plugin="napari-zssr")
    w.image.value = plain
    assert w.optics_fields.wavelength.value == 0
    assert w.start() is None and not w.running
    assert w.status.value.startswith("a kernel from the optics needs the emission wavelength: type it")


def test_a_files_excitation_out_of_range_is_asked_for_in_a_confocal_run(widget, tmp_path, ome_tiff):
    """A file's ExcitationWavelength of 0.488 (um written as nm) was noted, then the run took the emission wavelength
    in its place, where the command line and run(kernel="optics") refuse the file."""
    viewer, w = widget
    (confocal,) = open_ome(viewer, tmp_path / "confocal.ome.tif", ome_tiff,
                           {"EmissionWavelength": [520], "ExcitationWavelength": [0.488],
                            "AcquisitionMode": ["LaserScanningConfocalMicroscopy"]}, OIL_14)
    w.image.value = confocal
    assert w.optics_fields.modality.value == "confocal"
    assert w.start() is None and not w.running
    assert w.status.value.startswith("a confocal kernel from the optics needs the excitation wavelength: type it")
    assert "0.488 is outside the range" in w.status.value
    w.optics_fields.excitation.value = 488  # typed: the run takes it
    assert w._kernel_arguments()["kernel"].optics.excitation_wavelength == 488


@pytest.mark.parametrize("foreign", ["Plan-Apo 63x/1.4 Oil", [1.4, 520], {"na": "1.4", "emission_wavelengths": "520"}])
def test_another_plugins_optics_in_a_layers_metadata_are_taken_as_none(widget, foreign):
    """Choosing the layer raised in the widget's event (an AttributeError, a TypeError), and run(kernel='optics') a
    bare AttributeError: only the napari-zssr reader's record is read."""
    import napari_zssr

    viewer, w = widget
    layer = viewer.add_image(np.random.default_rng(0).random((24, 20)), name="other", scale=(0.1, 0.1),
                             metadata={"optics": foreign})
    w.image.value = layer
    assert fields(w) == FRESH
    assert w.start() is None and w.status.value.startswith("a kernel from the optics needs the emission wavelength")
    with pytest.raises(ValueError, match="kernel='optics' takes the optics from the layer's OME metadata"):
        napari_zssr.run(layer, kernel="optics", add_to_viewer=False)


def test_impossible_optics_from_a_file_say_where_they_came_from(widget):
    """A water objective's file with LensNA 1.4 showed the library's bare "na must be in (0, 1.333)" in the widget
    and from run(kernel='optics'), which did not say that the file gave both values."""
    import napari_zssr

    viewer, w = widget
    optics = {"na": 1.4, "refractive_index": 1.333, "immersion": "Water", "emission_wavelengths": [520]}
    layer = viewer.add_image(np.random.default_rng(0).random((24, 20)), name="water", scale=(0.1, 0.1),
                             metadata={"optics": optics})
    w.image.value = layer
    assert w.start() is None
    assert w.status.value.startswith("na must be in (0, 1.333)")
    assert w.status.value.endswith("(the NA, immersion, emission shown are the layer's file's: correct the one that "
                                   "is wrong)")
    with pytest.raises(ValueError, match=r"layer's OME metadata, whose values are impossible: na must be in"):
        napari_zssr.run(layer, kernel="optics", add_to_viewer=False)


def test_a_refusal_goes_once_the_setting_it_was_about_changes(widget):
    """An NA refused for the water immersion stayed in the status line after the NA was typed right, read as still
    in force until the next Run."""
    viewer, w = widget
    w.image.value = viewer.add_image(np.random.default_rng(0).random((32, 32)), scale=(0.1, 0.1))
    w.optics_fields.immersion.value = "water"
    w.optics_fields.wavelength.value = 520
    assert w.start() is None and w.status.value.startswith("na must be in (0, 1.333)")
    w.optics_fields.na.value = 1.2
    assert "na must be" not in w.status.value
    w.optics_fields.na.value = 1.4
    assert w.start() is None and w.status.value.startswith("na must be in (0, 1.333)")
    w.advanced.max_iterations.value = 7  # any setting: the refusal was about the settings as they were
    assert "na must be" not in w.status.value
