"""Python exits cleanly, and soon, while background work runs: Qt aborts the process (exit code 134) when a worker
outlives the interpreter's own objects, and an exit must stop a run rather than wait for all of it."""

import os
import subprocess
import sys

EXIT_DURING_A_MEASUREMENT = """
from qtpy.QtWidgets import QApplication
from napari_zssr.core.config import ZSSRConfig
from napari_zssr.core.run_time import Workload
from napari_zssr.napari.estimate import BackgroundEstimate
app = QApplication([])
BackgroundEstimate(print).request("cpu", ZSSRConfig(crop_size=96), Workload((64, 64), 2.0, 1))
app.processEvents()
"""

EXIT_DURING_A_RUN = """
import threading, time
import numpy as np
from qtpy.QtWidgets import QApplication
from superqt.utils import thread_worker
from napari_zssr.core.config import ZSSRConfig
from napari_zssr.napari.runner import background_run, prepare
from napari_zssr.napari.shutdown import stop_at_exit
app = QApplication([])
config = ZSSRConfig(max_iterations=10**6, crop_size=16, width=8, depth=3)  # hours, unless stopped
request = prepare(np.random.default_rng(0).random((24, 24)).astype(np.float32), config=config)
worker = thread_worker(background_run, start_thread=False, ignore_errors=True)(request, stop_at_exit(threading.Event()),
                                                                              print)
trained = threading.Event()
worker.yielded.connect(lambda event: event is not None and (print("training", flush=True), trained.set()))
worker.start()
start = time.time()
while not trained.is_set() and time.time() - start < 60:  # the exit comes while it trains, however slow the start
    app.processEvents()
    time.sleep(0.05)
"""


def run_and_exit(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_python_exits_cleanly_while_the_speed_is_measured():
    done = run_and_exit(EXIT_DURING_A_MEASUREMENT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "timing a few training steps" in done.stdout


def test_python_exit_stops_a_run_instead_of_waiting_for_it():
    done = run_and_exit(EXIT_DURING_A_RUN)  # a million iterations: the timeout fails the test if the exit waits
    assert done.returncode == 0, done.stderr[-2000:]
    assert "training" in done.stdout
