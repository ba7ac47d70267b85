"""Progress computed once in the core (done/total work units) and the one bar adapter every front uses."""

import io

import numpy as np
import pytest
from tqdm import tqdm

from napari_zssr import BlankPlaneWarning, ZSSRConfig, zssr_stack
from napari_zssr.progress import BarProgress


def test_done_and_total_follow_warm_start_gradual_steps_and_blank_planes(textured_image, tiny_config):
    tiny_config.gradual_steps = (1.5,)
    tiny_config.progress_every = 1
    blank = np.full_like(textured_image, 3)
    stack = np.stack([blank, textured_image, blank, textured_image[::-1]])
    events = []
    with pytest.warns(BlankPlaneWarning):
        result = zssr_stack(stack, 2, config=tiny_config, progress=events.append, warm_start_iterations=2)
    full, warm = 2 * tiny_config.max_iterations, 2 * 2  # two scale steps per plane
    assert result.iterations == [0, full, 0, warm]
    first = next(event for event in events if event.stage == "training")
    assert (first.plane, first.done, first.total) == (1, 1, full + 2 * warm)  # planes 2 and 3 still planned
    assert events[-1].stage == "done" and events[-1].done == events[-1].total == full + warm
    dones = [event.done for event in events]
    assert dones == sorted(dones) and all(event.done <= event.total for event in events)
    trained = [event for event in events if event.plane == 1]  # its inference too: later planes stay warm
    assert {event.total for event in trained} == {full + 2 * warm}
    assert [event.plane for event in events if event.stage == "plane done"] == [0, 1, 2, 3]
    assert [event.finished_planes for event in events if event.stage == "plane done"] == [1, 2, 3, 4]


def test_a_stack_restarting_from_a_learned_start_plans_every_plane_warm_from_the_first(textured_image):
    config = ZSSRConfig.preset("fast", max_iterations=6, crop_size=16, ensemble=1, back_projection_iterations=0)
    events = []
    result = zssr_stack(np.stack([textured_image] * 3), 2, config=config, progress=events.append,
                        warm_start_iterations=2)
    assert result.iterations == [2, 2, 2]
    assert {event.total for event in events} == {6}  # the bar's end never moves


def test_a_plane_shorter_than_progress_every_reports_its_last_iteration(textured_image, tiny_config):
    """A warm-started plane of 3 iterations, events every 10: its loss still reaches the widget's plot and status."""
    tiny_config.progress_every = 10
    stack = np.stack([textured_image, textured_image[::-1]])
    events = []
    zssr_stack(stack, 2, config=tiny_config, progress=events.append, warm_start_iterations=3)
    training = [(event.plane, event.iteration) for event in events if event.stage == "training"]
    assert training == [(0, tiny_config.max_iterations), (1, 3)]


def test_an_early_stop_shrinks_the_total(textured_image):
    config = ZSSRConfig(max_iterations=200, width=4, crop_size=16, lr_schedule="policy", min_iterations=5,
                        lr_check_every=5, recon_every=2, lr_slope_range=10, learning_rate=1e-12,
                        min_learning_rate=9e-15, progress_every=5, tile_size=64)
    events = []
    result = zssr_stack(textured_image, 2, config=config, progress=events.append)
    assert result.iterations[0] < config.max_iterations
    assert events[0].total == config.max_iterations
    assert events[-1].done == events[-1].total == result.iterations[0]


def quiet_bar(**kwargs) -> tqdm:
    return tqdm(file=io.StringIO(), mininterval=0, **kwargs)


def test_bar_shows_the_work_done_of_the_planned_total(textured_image, tiny_config):
    bar = quiet_bar()
    positions = []
    show = BarProgress(bar)
    zssr_stack(np.stack([textured_image] * 2), 2, config=tiny_config, warm_start_iterations=2,
               progress=lambda event: (show(event), positions.append((bar.n, bar.total, bar.postfix))))
    assert positions[-1][:2] == (tiny_config.max_iterations + 2, tiny_config.max_iterations + 2)
    assert [n for n, _, _ in positions] == sorted(n for n, _, _ in positions)
    assert "plane 1/2, it 2/6, loss " in positions[0][2] and positions[-1][2] == "plane 2/2, inference"


def test_plane_bar_moves_at_each_finished_plane(textured_image, tiny_config):
    bar = quiet_bar(total=5)
    show = BarProgress(bar, per_plane=True, planes_before=2)  # e.g. the second channel of a file
    counts = []
    zssr_stack(np.stack([textured_image] * 3), 2, config=tiny_config,
               progress=lambda event: (show(event), event.stage == "plane done" and counts.append(bar.n)))
    assert counts == [3, 4, 5] and bar.n == 5 and bar.total == 5
