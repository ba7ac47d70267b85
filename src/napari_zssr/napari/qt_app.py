"""Whether a Qt application runs in this process: the console's ``run()`` and the writer report differently with
and without one (napari's notifications and event loop, or plain text and Python warnings)."""

from __future__ import annotations


def qt_running() -> bool:
    try:
        from qtpy.QtWidgets import QApplication
    except ImportError:
        return False
    return QApplication.instance() is not None
