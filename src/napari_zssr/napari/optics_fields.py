"""The widget's fields of a kernel "from optics", filled from the OME metadata of the chosen layer's file where it
records them (its acquisition mode's modality and its pinhole too, as the command line takes them), with what the
user typed kept apart from what a file put there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from magicgui.widgets import ComboBox, FloatSpinBox, SpinBox, Widget

from ..core.choices import DEFAULT_PINHOLE_AU, MAX_PINHOLE_AU, MODALITIES
from ..core.optics import IMMERSION_INDICES, WAVELENGTH_RANGE, Optics
from ..io.ome import OpticsMetadata, channel_acquisition, channel_entry, layer_optics_record

#: ``set_in_range(field, value, what, unknown=..., takes=...)``: show ``value`` in ``field``, or a note where the
#: field cannot take it; whether it took it (the widget's, which keeps the notes of every field in its status line)
SetInRange = Callable[..., bool]
#: ``note_on(field, note)``: a note on what a layer's file said of ``field`` that it does not hold, kept in the
#: widget's status line while the field keeps its value
NoteOn = Callable[[Widget, str], None]


class OpticsFields:
    """NA, emission, immersion, modality, and for confocal the excitation and the pinhole."""

    def __init__(self, set_in_range: SetInRange, note_on: NoteOn) -> None:
        self._set_in_range = set_in_range
        self._note_on = note_on
        defaults = Optics(1.4, 520)  # its NA, immersion and modality: the NA the highest, so the narrowest kernel
        self.na = FloatSpinBox(label="NA", min=0.05, max=1.7, step=0.05, value=defaults.na,
                               tooltip="Numerical aperture of the objective (from the file's metadata when it says)")
        # 0, unknown until typed or given by the layer's file: a default would pass for the file's, and the CLI
        # and run(kernel="optics") refuse a file that does not give it
        self.wavelength = SpinBox(label="emission (nm)", min=0, max=2000, value=0,
                                  tooltip="Emission wavelength of the fluorophore, in nm (e.g. 520 for GFP). 0: "
                                          "unknown (none given by the layer's file): type it")
        immersion = next(name for name, index in IMMERSION_INDICES.items() if index == defaults.refractive_index)
        # the listed media, and the selected layer's file's refractive index where it is none of theirs
        self._media: dict[str, float] = dict(IMMERSION_INDICES)
        self.immersion = ComboBox(label="immersion", choices=lambda _: list(self._media), value=immersion,
                                  tooltip="Immersion medium of the objective: sets the refractive index. 'from "
                                          "file': the refractive index the layer's file gives, as the command "
                                          "line takes it")
        self.modality = ComboBox(label="modality", choices=list(MODALITIES), value=defaults.modality,
                                 tooltip="widefield, or point-scanning confocal (excitation PSF x pinhole-filtered "
                                         "emission PSF); from the layer's file's acquisition mode where it names "
                                         "one of them")
        # 0: the emission wavelength, as the library and the command line take an excitation nobody gave (a wider
        # PSF than any real excitation's, so never over-sharpening), not a default that would pass for the file's
        self.excitation = SpinBox(label="excitation (nm)", min=0, max=2000, value=0,
                                  tooltip="Confocal: excitation wavelength, in nm. 0: not given (the layer's file "
                                          "does not say): the emission wavelength is taken, as on the command line")
        self.pinhole = FloatSpinBox(label="pinhole (AU)", min=0.0, max=MAX_PINHOLE_AU, step=0.1,
                                    value=DEFAULT_PINHOLE_AU,
                                    tooltip="Confocal: pinhole diameter in Airy units (1 AU = 1.22 λ/NA); from the "
                                            "layer's file's pinhole size and objective magnification where it gives "
                                            "them (taken as the whole magnification to the pinhole)")
        self.widgets: list[Widget] = [self.na, self.wavelength, self.immersion, self.modality, self.excitation,
                                      self.pinhole]
        filled_from_files = (self.na, self.wavelength, self.immersion, self.modality, self.excitation, self.pinhole)
        # a fresh widget's values, which a field a layer's file filled goes back to when another layer is chosen
        self._fresh_values = {id(field): field.value for field in filled_from_files}
        self._from_file: list[Widget] = []  # the fields the selected layer's file filled
        # the file's own values of the number fields it filled, which show them rounded (whole nm, an NA to 2 decimals)
        self._file_values: dict[int, float] = {}
        self._typed: set[int] = set()  # the fields the user set since (kept across layers)
        self._filling = False  # True while a file's values go in: those are not typed
        self._file_optics: OpticsMetadata | None = None  # what the selected layer's file says of its optics
        for field in filled_from_files:
            field.changed.connect(lambda _value, field=field: self._note_typed(field))
        for field in (self.na, self.wavelength):  # the file's pinhole in Airy units of the optics the fields hold
            field.changed.connect(self._convert_file_pinhole)

    @property
    def confocal(self) -> bool:
        return self.modality.value == "confocal"

    @property
    def refractive_index(self) -> float:
        return self._media[self.immersion.value]

    def optics(self) -> Optics:
        """The optics the fields hold, or a ValueError naming the bad value; an NA not below the immersion's index
        that neither the user nor the layer's file gave (a water objective's file without LensNA) is said to be the
        widget's default, not blamed on either."""
        try:
            return Optics(self._number(self.na), self._number(self.wavelength), self.refractive_index,
                          self.modality.value, self._number(self.excitation) or None if self.confocal else None,
                          self._number(self.pinhole) if self.confocal else None)
        except ValueError as error:
            defaulted = id(self.na) not in self._typed and self.na not in self._from_file
            if defaulted and self.na.value >= self.refractive_index:
                raise ValueError(f"{error} (the NA shown is the widget's default, {self.na.value:g}: the layer's "
                                 "file does not give one; type your objective's NA)") from None
            from_file = [name for field, name in ((self.na, "NA"), (self.immersion, "immersion"),
                                                  (self.wavelength, "emission"), (self.excitation, "excitation"))
                         if field in self._from_file and id(field) not in self._typed]
            if from_file:  # the user did not choose these: say where they came from and what to do
                raise ValueError(f"{error} (the {', '.join(from_file)} shown are the layer's file's: correct the one "
                                 "that is wrong)") from None
            raise

    def _number(self, field: Widget) -> float:
        """What a number field holds: the layer's file's own value while the field shows it (rounded: 523.5 nm shows
        as 524), as the command line and ``run(kernel="optics")`` take it; else the field's."""
        untouched = id(field) in self._file_values and id(field) not in self._typed
        return self._file_values[id(field)] if untouched else float(field.value)

    def fill_from(self, metadata: dict[str, Any]) -> None:
        """Take the objective and wavelengths a file's OME metadata recorded (the reader keeps them).

        What the previous layer's file put in a field goes back to a fresh widget's value first, so that it never
        passes for this layer's (one channel's wavelength for another's); a value the user typed stays unless this
        file gives that field. A file that does not give the emission wavelength (or one out of range) leaves it
        unknown (0) rather than at a default that would pass for the file's: Run asks for it, as the CLI does."""
        self._filling = True
        try:
            for field in self._from_file:
                if id(field) not in self._typed:
                    field.value = self._fresh_values[id(field)]
            self._from_file = []
            self._file_values = {}
            self._file_optics = None
            self._withdraw_file_index()
            optics = layer_optics_record(metadata)
            if optics:
                self._take_file_optics(optics)
        finally:
            self._filling = False
        self._convert_file_pinhole()

    def _note_typed(self, field: Widget) -> None:
        if not self._filling:
            self._typed.add(id(field))

    def _take_file_optics(self, optics: dict[str, Any]) -> None:
        """Set the fields a file's optics give (they replace typed values) and mark them as the file's."""
        given = []
        if optics.get("na") and self._set_in_range(self.na, optics["na"], "the file's NA", unknown=None):
            given.append(self.na)
            self._file_values[id(self.na)] = float(optics["na"])
        index = optics.get("refractive_index")
        if index:
            listed = [name for name, listed_index in IMMERSION_INDICES.items() if listed_index == index]
            self.immersion.value = listed[0] if listed else self._offer_file_index(float(index))
            given.append(self.immersion)
        emission = next((w for w in optics.get("emission_wavelengths") or () if w), None)
        # the file's silence, or a value that is no wavelength: unknown until typed (a typed one stays)
        unknown = None if id(self.wavelength) in self._typed else 0
        if emission and self._take_file_wavelength(self.wavelength, emission, "the file's emission wavelength (nm)",
                                                   unknown):
            given.append(self.wavelength)
        elif unknown is not None:
            self.wavelength.value = unknown
            self._from_file.append(self.wavelength)
        excitation = next((w for w in optics.get("excitation_wavelengths") or () if w), None)
        if excitation and self._take_file_wavelength(self.excitation, excitation,
                                                     "the file's excitation wavelength (nm)", None):
            given.append(self.excitation)
        self._file_optics = OpticsMetadata.from_record(optics)
        given += self._take_file_acquisition(self._file_optics)
        self._from_file += given
        self._typed -= {id(field) for field in given}

    def _take_file_acquisition(self, optics: OpticsMetadata) -> list[Widget]:
        """Set the modality the file's acquisition mode names and its pinhole in Airy units (of the layer's one
        channel, or the one every channel has), as the command line takes them; return the fields set. A mode neither
        model describes, or a pinhole that is not usable (for a confocal), is noted instead."""
        given = []
        modality, modality_note, pinhole, pinhole_note = (
            channel_entry(values, None, 1) for values in (optics.modalities, optics.modality_notes, optics.pinholes,
                                                          optics.pinhole_notes))
        if modality:
            self.modality.value = modality
            given.append(self.modality)
        elif modality_note:
            self._note_on(self.modality, f"{modality_note}: choose the modality")
        if pinhole is not None and self._set_in_range(self.pinhole, pinhole, "the file's pinhole (AU)", unknown=None):
            self._file_values[id(self.pinhole)] = float(pinhole)
            given.append(self.pinhole)
        elif self.confocal and pinhole_note:
            self._note_on(self.pinhole, f"{pinhole_note}; the pinhole field's {self.pinhole.value:g} AU is used")
        return given

    def _convert_file_pinhole(self, *_: Any) -> None:
        """Show the file's pinhole, a diameter at the object, in Airy units of the NA and emission the fields hold (the
        run's), as the command line converts it: an NA or emission typed in place of the file's (or an NA typed where
        the file gives none, which left the pinhole unconverted) makes it another number of Airy units; one that
        comes out implausible puts the field back to the default, with the note saying why. A pinhole typed stays,
        and an NA nobody gave (the field's default) converts nothing."""
        na_given = id(self.na) in self._typed or self.na in self._from_file
        if self._filling or self._file_optics is None or id(self.pinhole) in self._typed or not na_given:
            return
        acquisition = channel_acquisition(self._file_optics, None, 1, "confocal", na=self._number(self.na),
                                          wavelength=self._number(self.wavelength) or None)
        pinhole = acquisition.pinhole
        if pinhole is not None and pinhole == self._file_values.get(id(self.pinhole)):
            return
        self._filling = True
        try:
            if pinhole is None:  # the Airy units the field took from the file no longer hold (else: noted already)
                if self._file_values.pop(id(self.pinhole), None) is not None:
                    self.pinhole.value = self._fresh_values[id(self.pinhole)]
                    if acquisition.notes and self.confocal:  # "...: not used; the default 1 AU instead"
                        self._note_on(self.pinhole, "; ".join(acquisition.notes))
            elif self._set_in_range(self.pinhole, pinhole, "the file's pinhole (AU)", unknown=None):
                self._file_values[id(self.pinhole)] = float(pinhole)
                if self.pinhole not in self._from_file:
                    self._from_file.append(self.pinhole)
        finally:
            self._filling = False

    def _take_file_wavelength(self, field: SpinBox, wavelength: float, what: str, unknown: int | None) -> bool:
        """Show a file's wavelength in ``field``, to the whole nm it shows (the run takes it unrounded); one no
        microscope uses (:data:`WAVELENGTH_RANGE`) is noted, naming it, and ``unknown`` shown instead (None: the
        field's value stays): rounded, 0.52 (um where nm were meant) would become another wavelength, 1 nm, and
        0.488 a 0, which says the file gives none."""
        known = WAVELENGTH_RANGE[0] <= wavelength <= WAVELENGTH_RANGE[1]
        taken = self._set_in_range(field, round(wavelength) if known else wavelength, what, unknown=unknown,
                                   takes=WAVELENGTH_RANGE)
        if taken:  # the run takes the file's value itself (:meth:`_number`)
            self._file_values[id(field)] = float(wavelength)
        return taken

    def _offer_file_index(self, index: float) -> str:
        """Offer a file's refractive index that no listed medium has as an entry of its own, and return its name:
        snapped to the nearest medium (1.36 to water's 1.333), an NA the command line accepts with that file (1.35)
        would be refused here, and the kernel would be another medium's."""
        name = f"from file ({index:g})"
        self._media[name] = index
        self.immersion.reset_choices()
        return name

    def _withdraw_file_index(self) -> None:
        """Take back the previous layer's file's entry; selected, the field returns to a fresh widget's medium."""
        offered = [name for name in self._media if name not in IMMERSION_INDICES]
        if not offered:
            return
        was_selected = self.immersion.value in offered
        for name in offered:
            del self._media[name]
        self.immersion.reset_choices()
        if was_selected:
            self.immersion.value = self._fresh_values[id(self.immersion)]
