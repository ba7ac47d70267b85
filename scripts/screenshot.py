"""Make docs/images/widget.png: the widget docked in a real napari window after a run on the sample.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshot.py
"""

import time
from pathlib import Path

import napari
from napari._qt.dialogs.qt_notification import NapariQtNotification
from qtpy.QtCore import QEventLoop
from qtpy.QtWidgets import QApplication

from napari_zssr.napari import estimate

viewer = napari.Viewer(show=True)
viewer.window._qt_window.resize(1500, 950)
viewer.open_sample("napari-zssr", "fluorescence")
_, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
widget.image.value = viewer.layers["zssr_sample"]
widget.preset.value = "fast"
loop = QEventLoop()  # wait without spinning: a busy loop would take a core from the run
widget.start().finished.connect(loop.quit)
loop.exec_()
while estimate._in_flight:  # the estimate line, timed once the run has ended: its figures in the picture
    QApplication.processEvents()
    time.sleep(0.1)  # not a busy loop: the timing needs the cores
for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
    toast.close()  # napari's notices (e.g. a deprecation warning) would cover the canvas
viewer.layers["zssr_sample"].visible = True
viewer.layers.selection = {viewer.layers["zssr_sample_zssr"]}
viewer.camera.zoom *= 0.9
for _ in range(10):  # lay out the final status line (it wraps; the nested button row takes passes) before the picture
    QApplication.processEvents()
    time.sleep(0.05)
out = Path(__file__).resolve().parents[1] / "docs" / "images" / "widget.png"
out.parent.mkdir(parents=True, exist_ok=True)
viewer.screenshot(str(out), canvas_only=False)
print(out, widget.status.value)
viewer.close()
