"""Whether a Qt application runs in this process: the console's ``run()`` and the writer report differently with
and without one (napari's notifications and event loop, or plain text and Python warnings)."""

from __future__ import annotations

import sys

#: the Qt bindings qtpy wraps: without one imported, no Qt application can run
QT_BINDINGS = ("PyQt5", "PyQt6", "PySide2", "PySide6")


def qt_running() -> bool:
    if not any(binding in sys.modules for binding in QT_BINDINGS):  # a script without Qt: no Qt import to find out
        return False
    try:
        from qtpy.QtWidgets import QApplication
    except ImportError:
        return False
    return QApplication.instance() is not None
