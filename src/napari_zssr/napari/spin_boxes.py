"""How the widget's number fields show their values."""

from __future__ import annotations

from magicgui.widgets import FloatSpinBox


def show_four_decimals(spin_box: FloatSpinBox, value: float) -> None:
    """magicgui derives 3 decimals from the step, which would round 0.0125 or a 0.1625 µm pixel."""
    spin_box.native.setDecimals(4)
    spin_box.value = value


def say_at_zero(spin_box: FloatSpinBox, meaning: str) -> None:
    """Show what 0 means in a field ("unknown", "the layer's"...) instead of a size of 0 (integer fields, superqt's,
    show no such text)."""
    spin_box.native.setSpecialValueText(meaning)
