"""The run-time estimate: timed off the GUI thread through the trainer's own step, cached, shown as a range."""

import re
import threading
import warnings

import pytest

from napari_zssr import ZSSRConfig
from napari_zssr.core import run_time, trainer
from napari_zssr.core.run_time import Costs, Workload, estimate_seconds
from napari_zssr.napari import estimate, worker_turns
from napari_zssr.napari.estimate import format_range

napari = pytest.importorskip("napari")


def test_widget_estimate_is_timed_off_the_gui_thread_through_the_training_step(make_napari_viewer, qtbot,
                                                                                 monkeypatch):
    import numpy as np

    threads = []
    real_step = trainer.training_step

    def recording_step(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer, "training_step", recording_step)
    monkeypatch.setattr(estimate, "_measured", {})
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-zssr", "ZSSR super-resolution")
    widget.image.value = viewer.add_image(np.random.default_rng(0).random((3, 40, 40)), name="stack")
    assert "timing a few training steps for 3 planes" in widget.estimate.value  # the GUI thread went on
    qtbot.waitUntil(lambda: "~" in widget.estimate.value, timeout=120_000)
    assert re.fullmatch(r"cpu: ~[\d.]+(-[\d.]+)? (s|min|h) for 3 planes \(CPU: slow; a GPU is much faster\)",
                        widget.estimate.value)
    assert len(threads) == run_time.WARM_UP_STEPS + run_time.TIMED_STEPS
    assert threading.main_thread() not in threads
    widget.advanced.max_iterations.value = 50  # measured once: later changes are answered at once
    assert "~" in widget.estimate.value and len(threads) == run_time.WARM_UP_STEPS + run_time.TIMED_STEPS


COSTS = Costs(step_seconds=(1.0, 2.0), inference_seconds_per_pixel=0.0, back_projection_seconds_per_pixel=0.0,
              crop_size=128)
#: planes whose every father holds a whole 128 x 128 crop: their steps cost what the timed ones did
LARGE = (300, 300)


def test_the_range_spans_the_step_time_spread():
    assert estimate_seconds(COSTS, ZSSRConfig(), Workload(LARGE, 2, 1)) == (1000, 2000)
    warm = Workload(LARGE, 2, 3, warm_start_iterations=200)
    assert estimate_seconds(COSTS, ZSSRConfig(), warm) == (1400, 2800)  # warm-started planes
    # from a learned start every plane restarts from it, the first too
    assert estimate_seconds(COSTS, ZSSRConfig(init="learned"), warm) == (600, 1200)
    assert estimate_seconds(COSTS, ZSSRConfig(init="learned"), Workload(LARGE, 2, 1, 200)) == (1000, 2000)
    assert estimate_seconds(COSTS, ZSSRConfig(gradual_steps=(1.5,)), Workload(LARGE, 2, 1)) == (2000, 4000)


def test_the_range_starts_at_the_lr_policys_earliest_stop():
    paper = ZSSRConfig.preset("paper")  # three drops from 1e-3 to below 9e-6, at least 257 iterations apart
    assert estimate_seconds(COSTS, paper, Workload(LARGE, 2, 1)) == (3 * 257, 2 * 3000)


def test_an_axial_run_trains_one_network_per_volume():
    axial = Workload((10, 300), (2.0, 1.0), planes=2 * 2 * 300, volumes=2, lateral_shape=LARGE)  # 2 of 10 x 300²
    assert estimate_seconds(COSTS, ZSSRConfig(), axial) == (2000, 4000) and axial.label() == "2 volumes"


def test_steps_on_planes_smaller_than_twice_the_crop_cost_their_crops_mean_area():
    """The crops are cut from the plane and its downscaled copies (to half its size), drawn by area: a 128 x 128
    plane's average 0.7 of a 128 x 128 crop's area, and its steps cost that much less. The estimate took them at the
    timed crop's cost, 1.4x too high on the sample image."""
    import numpy as np
    import torch

    from napari_zssr.core.degradation import Degradation
    from napari_zssr.core.pairs import FatherPool, PairSampler, min_father_side

    config = ZSSRConfig.preset("fast")
    for shape in ((128, 128), (100, 300), (40, 64)):
        pool = FatherPool(torch.zeros(1, 1, *shape), config.father_min_scale, config.father_levels,
                          min_father_side((2.0, 2.0)))
        sampler = PairSampler(pool, Degradation.create((2.0, 2.0), None, torch.device("cpu")), [0], 0.0, 0,
                              torch.device("cpu"))
        drawn = np.mean([np.prod(sampler.sample(config.crop_size)[1].shape[-2:]) for _ in range(800)])
        assert run_time.mean_crop_area(shape, config, 2) == pytest.approx(drawn, rel=0.05)  # 3 sigma: 3.6 %
    small, large = (estimate_seconds(COSTS, config, Workload(shape, 2, 1)) for shape in ((128, 128), LARGE))
    ratio = run_time.mean_crop_area((128, 128), config, 2) / 128**2
    assert 0.65 < ratio < 0.75 and small == pytest.approx((large[0] * ratio, large[1] * ratio))


def test_inference_is_counted_per_output_pixel_and_ensemble_member():
    costs = Costs(step_seconds=(0.0, 0.0), inference_seconds_per_pixel=1e-6, back_projection_seconds_per_pixel=0.0,
                  crop_size=128)
    assert estimate_seconds(costs, ZSSRConfig(), Workload((100, 50), 2, 2)) == pytest.approx((0.32, 0.32))
    single = estimate_seconds(costs, ZSSRConfig(ensemble=False), Workload((100, 50), 2, 1))
    assert single == pytest.approx((0.02, 0.02))


def test_back_projection_is_counted_per_output_pixel_step_and_member_with_the_median():
    """Each member and their median back-project for up to the config's steps: all of them at most; stopped at the
    noise level, a noisy plane may take none, so the range starts without them; without that stop, every step."""
    costs = Costs(step_seconds=(0.0, 0.0), inference_seconds_per_pixel=0.0, back_projection_seconds_per_pixel=1e-7,
                  crop_size=128)
    work = Workload((100, 50), 2, 2)  # 2 planes of 20,000 output pixels
    assert estimate_seconds(costs, ZSSRConfig(ensemble=2), work) == pytest.approx((0.0, 4e4 * 3 * 10 * 1e-7))
    assert estimate_seconds(costs, ZSSRConfig(ensemble=2, back_projection_to_noise=False), work) == \
        pytest.approx((0.12, 0.12))
    assert estimate_seconds(costs, ZSSRConfig(back_projection_iterations=0), work) == (0.0, 0.0)


def test_the_timing_measures_back_projection():
    costs = run_time.time_costs(("cpu", "float32", 16, 8, 3))
    assert costs.back_projection_seconds_per_pixel > 0 and costs.inference_seconds_per_pixel > 0


@pytest.mark.parametrize("low, high, text", [
    (40.2, 69.1, "~40-70 s"), (100, 290, "~2-5 min"), (0.2, 0.4, "~1 s"), (4000, 11000, "~1.1-3.1 h"),
])
def test_format_range(low, high, text):
    assert format_range(low, high) == text



def test_a_timing_is_kept_when_a_run_was_asked_for_while_it_ran(monkeypatch):
    """Runs and timings take turns, so a run pressed during a timing waits for it and shares nothing with it: the
    timing is kept, not thrown away and taken again after the run (which then waited for nothing)."""
    monkeypatch.setattr(estimate, "_measured", {})
    key = ("cpu", "float32", 16, 8, 8)
    original_train = run_time.train
    monkeypatch.setattr(run_time, "train", lambda *args, **kwargs: (estimate.run_started(),
                                                                     original_train(*args, **kwargs))[1])
    try:
        with warnings.catch_warnings():  # as its worker does: the timing swaps the warning display for its time
            estimate.measure_costs(key, lambda: False, warnings.showwarning)  # Run pressed as it trains: it waits
    finally:
        estimate.run_finished()
    assert key in estimate._measured
    shown = []
    estimate.BackgroundEstimate(shown.append).request("cpu", ZSSRConfig(crop_size=16, width=8, depth=8,
                                                                        precision="float32"),
                                                      Workload((32, 32), (2.0, 2.0), 1))
    assert shown and shown[0].startswith("cpu: ~") and not estimate._in_flight  # at once, from the timing kept


def test_no_timing_starts_during_a_run(monkeypatch):
    """A timing beside a run reads slow: it is asked for again once the run ends."""
    shown = []
    monkeypatch.setattr(estimate, "_measured", {})
    estimate.run_started()
    try:
        estimate.BackgroundEstimate(shown.append).request("cpu", ZSSRConfig(), Workload((32, 32), (2.0, 2.0), 1))
    finally:
        estimate.run_finished()
    assert shown == ["cpu: timed once the run ends"] and not estimate._in_flight


def test_every_panel_left_waiting_for_a_run_is_asked_again_when_it_ends(monkeypatch):
    """Not only the panel whose run ended: another panel, or one that asked during a console run, kept "timed once
    the run ends" until a setting changed."""
    monkeypatch.setattr(estimate, "_measured", {})
    panels = [estimate.BackgroundEstimate(lambda text: None) for _ in range(2)]
    work = Workload((32, 32), (2.0, 2.0), 1)
    estimate.run_started()
    estimate.run_started()  # two runs going
    try:
        for panel in panels:
            panel.request("cpu", ZSSRConfig(), work)
    finally:
        asked = []
        monkeypatch.setattr(estimate.BackgroundEstimate, "request", lambda self, *args: asked.append((self, args)))
        estimate.run_finished()
        assert not asked  # one run still going
        estimate.run_finished()
    assert [panel for panel, _ in asked] == panels and all(args == ("cpu", ZSSRConfig(), work) for _, args in asked)
    assert not estimate._deferred


def test_workers_start_in_turn_and_a_failed_start_passes_the_turn_on():
    """Runs and timings are superqt workers, which swap the process's warning hooks: one at a time."""
    started = []

    def starter(name):
        def start() -> None:
            started.append(name)
        return start

    run, timing, console = starter("run"), starter("timing"), starter("console run")
    assert worker_turns.start_in_turn(run)
    assert not worker_turns.start_in_turn(timing) and not worker_turns.start_in_turn(console)
    assert started == ["run"]
    worker_turns.turn_ended(timing)  # the end of a worker that does not hold the turn (a stale one) changes nothing
    assert started == ["run"]
    worker_turns.turn_ended(run)
    assert started == ["run", "timing"]

    def broken() -> None:
        raise RuntimeError("no thread")

    after = starter("after it")
    assert not worker_turns.start_in_turn(broken) and not worker_turns.start_in_turn(after)
    worker_turns.turn_ended(timing)
    assert started == ["run", "timing", "console run"]
    with pytest.raises(RuntimeError, match="no thread"):
        worker_turns.turn_ended(console)  # the broken start never holds the turn: the next one starts
    assert started == ["run", "timing", "console run", "after it"]
    cancelled = starter("cancelled")
    assert not worker_turns.start_in_turn(cancelled)
    assert worker_turns.withdraw(cancelled) and not worker_turns.withdraw(cancelled)  # waiting once, then gone
    worker_turns.turn_ended(after)
    later = starter("later")
    assert "cancelled" not in started and worker_turns.start_in_turn(later)  # free again: at once
    worker_turns.turn_ended(later)


def test_a_small_plane_is_timed_on_the_crop_it_trains_on():
    """Fathers are no larger than the plane: a 64² plane's steps cost about a quarter of a 128² crop's."""
    config = ZSSRConfig()
    assert run_time.cost_key("cpu", config, (64, 64))[2] == 64
    assert run_time.cost_key("cpu", config, (3, 50, 70))[2] == 64  # rounded up to a power of two
    assert run_time.cost_key("cpu", config, (16, 512))[2] == 64  # 16 x 128 crops: about 45² of work
    assert run_time.cost_key("cpu", config, (512, 512))[2] == run_time.cost_key("cpu", config)[2] == \
        config.crop_size
    axial = Workload((10, 50), (3.0, 1.0), planes=2 * 40, volumes=1, lateral_shape=(40, 50))
    assert axial.training_shape == (40, 50)  # an axial run trains on its lateral planes, not the XZ slices it restores
    assert run_time.cost_key("cpu", config, axial.training_shape)[2] == 64


def test_a_timing_queued_for_settings_since_changed_is_dropped(monkeypatch, qtbot):
    """Run pressed after trying three precisions waited for three timings: the superseded ones never start."""
    monkeypatch.setattr(estimate, "_measured", {})
    holder = lambda: None  # noqa: E731 - a worker holding the turn meanwhile
    assert worker_turns.start_in_turn(holder)
    try:
        panel = estimate.BackgroundEstimate(lambda text: None)
        work = Workload((32, 32), (2.0, 2.0), 1)
        panel.request("cpu", ZSSRConfig(precision="float32"), work)
        first = run_time.cost_key("cpu", ZSSRConfig(precision="float32"), (32, 32))
        assert first in estimate._in_flight and len(worker_turns._waiting) == 1
        panel.request("cpu", ZSSRConfig(precision="bfloat16"), work)
        assert first not in estimate._in_flight and len(worker_turns._waiting) == 1  # only the latest waits
        other = estimate.BackgroundEstimate(lambda text: None)  # a second panel waiting for the same timing
        other.request("cpu", ZSSRConfig(precision="bfloat16"), work)
        panel.request("cpu", ZSSRConfig(precision="float32"), work)
        assert len(worker_turns._waiting) == 2  # the other panel's timing is kept
        other.request("cpu", ZSSRConfig(precision="float32"), work)  # now nobody waits for it: dropped
        assert len(worker_turns._waiting) == 1 and list(estimate._in_flight) == [first]
    finally:
        worker_turns._waiting.clear()
        estimate._in_flight.clear()
        worker_turns.turn_ended(holder)


def test_a_run_can_tell_whether_it_waits_for_a_timing(monkeypatch):
    """The first Run after choosing a layer waits for the estimate's own timing: its status says so, not "a run"."""
    from napari_zssr.napari import worker_turns

    def start():
        return None

    monkeypatch.setattr(estimate, "_in_flight", {("cpu", "float32", 16, 8, 8): estimate.Timing(None, start)})
    monkeypatch.setitem(worker_turns._state, "holder", start)
    assert estimate.timing_holds_turn()
    monkeypatch.setitem(worker_turns._state, "holder", lambda: None)  # a run holds the turn
    assert not estimate.timing_holds_turn()
