"""How the widget's number fields show their values."""

from __future__ import annotations

from magicgui.widgets import FloatSpinBox

#: decimals of the number fields, and the smallest value other than 0 they show: one below it shows as 0 ("unknown")
DECIMALS = 4
SMALLEST_SHOWN = 10.0**-DECIMALS


def show_four_decimals(spin_box: FloatSpinBox, value: float) -> None:
    """magicgui derives 3 decimals from the step, which would round 0.0125 or a 0.1625 µm pixel."""
    spin_box.native.setDecimals(DECIMALS)
    spin_box.value = value


def say_at_zero(spin_box: FloatSpinBox, meaning: str) -> None:
    """Show what 0 means in a field ("unknown", "the layer's"...) instead of a size of 0 (integer fields, superqt's,
    show no such text)."""
    spin_box.native.setSpecialValueText(meaning)
