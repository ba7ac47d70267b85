"""Which warnings a background worker of the package takes as its own (no Qt needed: plain threads stand in)."""

import threading
import warnings

from napari_zssr.napari.worker_warnings import keep_others_warnings


def test_a_display_taken_while_another_worker_ran_gives_other_threads_warnings_to_the_display_before_both():
    """Run pressed during the time estimate's timing took the timing's display for the rest of the process's
    warnings; it routes by the timing's threads, which the pool gives other tasks since: their warnings went to the
    finished timing."""
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *rest: shown.append(("before", str(message)))
        with warnings.catch_warnings():  # the timing's worker, in this thread
            warnings.showwarning = lambda message, *rest: shown.append(("timing", str(message)))
            keep_others_warnings(lambda message, *rest: shown.append(("before", str(message))), set())
            taken_by_the_run = warnings.showwarning
        running, ended = threading.Event(), threading.Event()

        def run_worker() -> None:
            with warnings.catch_warnings():
                warnings.showwarning = lambda message, *rest: shown.append(("run", str(message)))
                keep_others_warnings(taken_by_the_run, set())
                warnings.warn("the run's own", stacklevel=1)
                running.set()
                ended.wait(10)

        worker = threading.Thread(target=run_worker)
        worker.start()
        running.wait(10)
        warnings.warn("another task's, in the timing's old thread", stacklevel=1)
        ended.set()
        worker.join()
    assert shown == [("run", "the run's own"), ("before", "another task's, in the timing's old thread")]
