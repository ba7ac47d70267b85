"""The batch on a real Dask cluster: a scheduler and two worker processes on 127.0.0.1, never another address."""

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
import torch

import napari_zssr
from napari_zssr.batch_files import plane_ranges
from napari_zssr.batch_lock import LOCK_NAME
from napari_zssr.batching import PARTS_FOLDER, record_outcome
from napari_zssr.cli import main
from napari_zssr.cluster import available_cores, gpu_resources
from napari_zssr.io.imagej import write_imagej_tiff
from napari_zssr.io.tiff import read_tiff

# the cluster extra (installed with the dev extras, so CI runs these); a bare GPU machine may lack it
distributed = pytest.importorskip("distributed")

TINY = ["--preset", "fast", "--max-iterations", "2", "--precision", "float32", "--quiet", "--outputs",
        "zssr,residual", "--planes-per-task", "2"]

BATCH_SETTINGS = {"preset": "fast", "max_iterations": 2, "precision": "float32", "quiet": True,
                  "outputs": "zssr,residual", "planes_per_task": 2}  # TINY, for napari_zssr.batch


def textured(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000 + 100).astype(np.uint16)


@contextlib.contextmanager
def threads_of_a_worker():
    """This process computes with the torch threads of one of the fixture's workers (this host's cores shared by its
    2 worker processes, as ``cluster.use_cores_of_this_worker`` shares them). A float32 run is bit-identical across
    processes only at the same thread count: with another, some CPUs (Intel Ice Lake, measured) sum a convolution's
    products in another order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, available_cores() // 2))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def digests(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def temporary_files(out: Path) -> list[Path]:
    """What a batch must not leave behind (its lock file, which stays by design, is none of them)."""
    return [p for p in out.rglob("*")
            if (p.name.startswith(".") and p.name != LOCK_NAME) or p.suffix in (".part", ".npz", ".npy")]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local_cluster:
        assert local_cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield local_cluster


@pytest.fixture
def stacks(tmp_path) -> Path:
    folder = tmp_path / "data"
    big = textured((4, 16, 16), 1)
    big[:2] = 500  # its first part is blank planes: the record of the run comes from the part that trained
    write_imagej_tiff(folder / "big.tif", big, "ZYX", (0.2, 0.2), z_spacing=0.5)  # 2 parts
    write_imagej_tiff(folder / "channels.tif", textured((2, 2, 16, 16), 2), "ZCYX", (0.1, 0.1))
    write_imagej_tiff(folder / "plain.tif", textured((16, 16), 3), "YX", None)
    return folder


def kill_a_worker_while_it_works(address: str, batch_over: threading.Event, killed: list) -> None:
    """SIGKILL the first worker seen running one of the batch's tasks (its nanny then starts a new one)."""
    with distributed.Client(address, set_as_default=False) as client:
        pids = client.run(os.getpid)
        while not batch_over.is_set():
            busy = [worker for worker, keys in client.processing().items()
                    if any("napari-zssr-part_task" in str(key) or "file_task" in str(key) for key in keys)]
            if busy:
                time.sleep(0.3)  # well inside a task: each lasts seconds
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.05)


def test_worker_killed_mid_batch_outputs_equal_a_local_run(cluster, stacks, tmp_path, capsys):
    inputs_before = digests(stacks)
    local, remote = tmp_path / "local", tmp_path / "remote"
    with threads_of_a_worker():
        assert main([str(stacks), "--out", str(local), *TINY]) == 0
    killed: list = []
    batch_over = threading.Event()
    killer = threading.Thread(target=kill_a_worker_while_it_works,
                              args=(cluster.scheduler_address, batch_over, killed))
    killer.start()
    try:
        assert main([str(stacks), "--out", str(remote), "--scheduler", cluster.scheduler_address, *TINY]) == 0
    finally:
        batch_over.set()
        killer.join()
    assert killed, "no worker was killed while it ran a task"
    expected = sorted(p.relative_to(local) for p in local.rglob("*.tif"))
    assert sorted(p.relative_to(remote) for p in remote.rglob("*.tif")) == expected and len(expected) == 6
    for name in expected:
        ours, reference = read_tiff(remote / name), read_tiff(local / name)
        assert ours.data.shape == reference.data.shape and ours.data.dtype == np.float32
        assert ours.axes == reference.axes and ours.pixel_size == reference.pixel_size
        assert ours.z_spacing == reference.z_spacing and ours.origin == reference.origin
        assert np.array_equal(ours.data, reference.data), name  # float32: the same numbers as in-process
        assert json.loads(ours.description) == json.loads(reference.description)
    assert read_tiff(remote / "big_zssr.tif").data.shape == (4, 32, 32)
    assert temporary_files(remote) == [] and not (remote / PARTS_FOLDER).exists()
    assert digests(stacks) == inputs_before
    stamps = {p: p.stat().st_mtime_ns for p in remote.rglob("*.tif")}
    capsys.readouterr()
    assert main([str(stacks), "--out", str(remote), "--scheduler", cluster.scheduler_address, *TINY]) == 0
    assert "skipped 3 (already done)" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in remote.rglob("*.tif")} == stamps


def test_a_warm_started_stack_split_across_tasks_equals_the_local_unsplit_run(cluster, tmp_path):
    """From the learned start every warm plane restarts from it, the first too, so a range of planes computes what the
    whole stack computes; the first plane of each range trained fully before, and the ranges' later planes differed."""
    folder = tmp_path / "data"
    write_imagej_tiff(folder / "stack.tif", textured((4, 16, 16), 5), "ZYX", (0.2, 0.2))
    warm = [*TINY, "--max-iterations", "6", "--warm-start", "2"]
    with threads_of_a_worker():
        assert main([str(folder), "--out", str(tmp_path / "local"), *warm]) == 0
    assert main([str(folder), "--out", str(tmp_path / "remote"), "--scheduler", cluster.scheduler_address,
                 *warm]) == 0
    ours, reference = (read_tiff(tmp_path / side / "stack_zssr.tif") for side in ("remote", "local"))
    assert json.loads(ours.description)["channels"][0]["iterations"] == [2, 2, 2, 2]
    assert np.array_equal(ours.data, reference.data)


def test_a_split_stacks_isolated_pixels_are_counted_from_every_part(cluster, tmp_path, capsys):
    """The record of a split stack is merged from its parts: a hot pixel of the second part is counted and said, and
    the plane of the first part whose strong ramp was taken off is named."""
    folder = tmp_path / "data"
    stack = textured((4, 16, 16), 6)
    stack[3, 8, 8] = 65535  # hot: far above all its neighbours
    stack[1] += (np.arange(16) * 2000).astype(np.uint16)[None, :]  # a ramp 30 times the texture's range
    write_imagej_tiff(folder / "stack.tif", stack, "ZYX", (0.2, 0.2))
    for out, where in (("local", []), ("remote", ["--scheduler", cluster.scheduler_address])):
        capsys.readouterr()
        assert main([str(folder), "--out", str(tmp_path / out), *TINY, *where]) == 0
        record = json.loads(read_tiff(tmp_path / out / "stack_zssr.tif").description)["channels"][0]
        assert record["isolated_pixels"] == [0, 0, 0, 1], out
        assert record["background_taken_off"] == [False, True, False, False], out
        assert "stack.tif: 1 isolated pixel in plane 3 (far above or below" in capsys.readouterr().err, out


def test_a_closed_client_or_a_scheduler_gone_is_a_usage_error_from_python(cluster, stacks, tmp_path, monkeypatch):
    """batch(client=...) raised Dask's "IOLoop is closed" for a closed client, and CommClosedError after 27 s for a
    client whose scheduler was killed, where the docs promise a UsageError before any work."""
    import napari_zssr
    from napari_zssr import UsageError
    from napari_zssr import cluster as cluster_module

    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    client.close()
    with pytest.raises(UsageError, match="the Dask client is closed: make a new one"):
        napari_zssr.batch(stacks, tmp_path / "out", preset="fast", max_iterations=2, client=client)

    def gone(client):
        raise distributed.comm.core.CommClosedError("ConnectionPool closing.")

    monkeypatch.setattr(cluster_module, "check_workers", gone)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        with pytest.raises(UsageError, match=r"the Dask scheduler tcp://127.0.0.1:\d+ does not answer "
                                             r"\(CommClosedError"):
            napari_zssr.batch(stacks, tmp_path / "out", preset="fast", max_iterations=2, client=client)
    assert not (tmp_path / "out").exists()


def test_corrupt_file_on_the_cluster_is_reported_and_the_rest_done(cluster, stacks, tmp_path, capsys):
    (stacks / "broken.tif").write_bytes(b"II*\x00garbage")
    (stacks / "big.tif").unlink()
    out = tmp_path / "out"
    stale = out / PARTS_FOLDER / ("0f" * 16) / "0.0-2" / "zssr.npy"  # what a killed run left: removed, never read
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    assert main([str(stacks), "--out", str(out), "--scheduler", cluster.scheduler_address, *TINY]) == 1
    err = capsys.readouterr().err
    assert "broken.tif: failed" in err and "done 2" in err and "failed 1" in err and "Traceback" not in err
    assert (out / "plain_zssr.tif").exists() and (out / "channels_residual.tif").exists()
    assert not (out / "broken_zssr.tif").exists() and temporary_files(out) == []


def test_unreachable_scheduler_is_a_quick_usage_error(stacks, tmp_path, capsys):
    start = time.monotonic()
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9", *TINY]) == 2
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.fixture(params=["silent", "garbage"])
def not_a_scheduler(request):
    """A local TCP service that accepts connections and then says nothing, or something else than Dask."""
    server = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed at teardown
                return
            connections.append(connection)
            if request.param == "garbage":
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" * 4)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection in connections:
        connection.close()


def test_a_service_that_is_no_scheduler_is_a_usage_error_within_seconds(stacks, tmp_path, capsys, not_a_scheduler):
    start = time.monotonic()
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler", not_a_scheduler, *TINY]) == 2
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {not_a_scheduler}" in err and "Traceback" not in err


def test_a_service_that_is_no_scheduler_leaves_no_traceback_at_exit(stacks, tmp_path):
    """A client that never connected is collected later: it must not print a traceback when Python exits."""
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: [c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" * 4) for c, _ in iter(server.accept, None)],
                     daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    done = subprocess.run([sys.executable, "-m", "napari_zssr", str(stacks), "--out", str(tmp_path / "o"),
                           "--scheduler", address, *TINY], capture_output=True, text=True, timeout=120)
    server.close()
    assert done.returncode == 2 and "cannot reach the Dask scheduler" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("given, address", [(" localhost:8786 ", "tcp://localhost:8786"),
                                            ("TCP://[::1]:8786/", "tcp://[::1]:8786"),
                                            ("ucx://10.0.0.5:13337", "ucx://10.0.0.5:13337")])
def test_scheduler_addresses_that_dask_takes_are_taken(given, address):
    from napari_zssr.cluster import scheduler_address

    assert scheduler_address(given, given_as="--scheduler") == address


def test_a_scheduler_file_runs_the_batch_on_its_scheduler(cluster, stacks, tmp_path, capsys):
    """HPC job scripts (dask-mpi, ``dask scheduler --scheduler-file``) hand the workers and the client a JSON file, not
    an address: the file a scheduler writes, as Dask writes it, runs the batch there."""
    (stacks / "big.tif").unlink()
    (stacks / "channels.tif").unlink()
    scheduler_file = tmp_path / "scheduler.json"
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.write_scheduler_file(str(scheduler_file))
    out = tmp_path / "out"
    assert main([str(stacks), "--out", str(out), "--scheduler-file", str(scheduler_file), *TINY]) == 0
    assert (out / "plain_zssr.tif").exists() and "done 1" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "why"), [
    (None, "no such file; a scheduler started with --scheduler-file"),
    ("not json", "is not a Dask scheduler file (JSON holding the scheduler's \"address\""),
    ('{"type": "Scheduler"}', "is not a Dask scheduler file"),
    ('["tcp://127.0.0.1:9"]', "is not a Dask scheduler file"),
    ('{"address": "tls://127.0.0.1:1"}', "the address 'tls://127.0.0.1:1' in --scheduler-file"),
    ('{"address": "tcp://127.0.0.1:9"}', "a scheduler killed (not stopped) leaves behind: start the scheduler again")])
def test_a_wrong_scheduler_file_is_a_usage_error_naming_it(stacks, tmp_path, capsys, content, why):
    scheduler_file = tmp_path / "scheduler.json"
    if content is not None:
        scheduler_file.write_text(content)
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler-file", str(scheduler_file), *TINY]) == 2
    err = capsys.readouterr().err
    assert why in err and str(scheduler_file) in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["", "tcp://127.0.0.1", "foo://bar:1", "127.0.0.1:38786x", "tls://127.0.0.1:1"])
def test_a_malformed_scheduler_address_is_named_before_any_connection(stacks, tmp_path, capsys, address):
    start = time.monotonic()
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler", address, *TINY]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert "is not a Dask scheduler address of the form tcp://HOST:PORT" in err and "Traceback" not in err


@pytest.mark.parametrize(("cluster_options", "why"), [
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    (["--scheduler", "127.0.0.1"], "--scheduler '127.0.0.1' is not a Dask scheduler address"),
    (["--workers", "4"], "--workers 4 is more than the 3 cores")])
def test_a_wrong_scheduler_or_worker_count_is_said_before_the_inputs_are_scanned(stacks, tmp_path, capsys, monkeypatch,
                                                                                 cluster_options, why):
    """The inputs were scanned first (folders on a network file system: minutes), and a wrong address said after."""
    scanned = []
    monkeypatch.setattr("napari_zssr.batching.collect_sources", lambda *args: scanned.append(args) or [])
    monkeypatch.setattr("napari_zssr.cluster.available_cores", lambda: 3)
    assert main([str(stacks), "--out", str(tmp_path / "o"), *cluster_options, *TINY]) == 2
    assert why in capsys.readouterr().err and scanned == []


def test_the_settings_are_checked_before_the_scheduler_is_reached(stacks, tmp_path, capsys, monkeypatch):
    """Reaching a scheduler takes up to seconds and registers a client: a mistyped option is said first."""
    monkeypatch.setattr("napari_zssr.cluster.connected_client", lambda *args: pytest.fail("the scheduler was asked"))
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9", *TINY,
                 "--warm-start", "5"]) == 2
    assert "--warm-start must be a whole number from 1 to --max-iterations (2)" in capsys.readouterr().err


def test_a_second_batch_into_a_busy_folder_is_refused_before_its_local_cluster_starts(stacks, tmp_path, capsys,
                                                                                      monkeypatch, another_batch):
    """--workers started its cluster (seconds, every worker importing torch) before the lock refused the batch."""
    monkeypatch.setattr(distributed, "LocalCluster", lambda *args, **kwargs: pytest.fail("a local cluster started"))
    out = tmp_path / "out"
    with another_batch(out):
        assert main([str(stacks), "--out", str(out), "--workers", "1", *TINY]) == 2
    assert "another napari-zssr batch (pid 12345 on lab-pc" in capsys.readouterr().err
    assert [path.name for path in out.iterdir()] == [LOCK_NAME]


def test_without_distributed_the_cluster_options_name_the_extra(stacks, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--workers", "2", *TINY]) == 2
    assert "napari-zssr[cluster]" in capsys.readouterr().err
    # a scheduler file not written yet: the extra is said first, not the file and then, once it is there, the extra
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--scheduler-file", str(tmp_path / "s.json"), *TINY]) == 2
    assert "napari-zssr[cluster]" in capsys.readouterr().err


@pytest.mark.parametrize("other", [["--workers", "2"], ["--scheduler-file", "scheduler.json"]])
def test_scheduler_and_workers_exclude_each_other(stacks, tmp_path, other):
    with pytest.raises(SystemExit) as exit_:
        main([str(stacks), "--out", str(tmp_path / "o"), *other, "--scheduler", "tcp://127.0.0.1:9"])
    assert exit_.value.code == 2


def test_more_local_workers_than_cores_is_a_usage_error_before_any_starts(stacks, tmp_path, capsys, monkeypatch):
    """--workers 1000 on 2 cores set about starting 1000 processes, each importing torch, and said nothing."""
    cores = 3  # whatever this machine has: the command counts what it may use
    monkeypatch.setattr("napari_zssr.cluster.available_cores", lambda: cores)
    assert main([str(stacks / "plain.tif"), "--out", str(tmp_path / "o"), "--workers", str(cores + 1), *TINY]) == 2
    assert f"--workers {cores + 1} is more than the {cores} cores" in capsys.readouterr().err
    assert not (tmp_path / "o" / "plain_zssr.tif").exists()


@pytest.mark.parametrize(("planes", "per_task", "expected"), [
    (1, 2, [(0, 1)]), (3, 2, [(0, 3)]), (4, 2, [(0, 2), (2, 4)]), (6, 2, [(0, 2), (2, 4), (4, 6)]),
    (7, 2, [(0, 2), (2, 5), (5, 7)]), (5, 1, [(0, 2), (2, 5)]), (17, 16, [(0, 8), (8, 17)]),
    (47, 16, [(0, 16), (16, 31), (31, 47)])])
def test_plane_ranges_hold_at_most_the_planes_per_task_and_never_a_single_plane(planes, per_task, expected):
    """17 planes at 16 a task ran as one task, 47 as two of 23 or 24: the count was planes // per_task."""
    assert plane_ranges(planes, per_task) == expected
    assert all(stop - start >= min(2, planes) for start, stop in plane_ranges(planes, per_task))
    assert all(stop - start <= max(per_task, 3) for start, stop in plane_ranges(planes, per_task))


def batch_tasks_on(dask_scheduler) -> list:
    return [key for key in dask_scheduler.tasks if "napari-zssr" in str(key)]


def interrupted_at_first_report(client, monkeypatch, inputs, out: Path) -> None:
    """A batch on ``client`` stopped by a Ctrl-C as the first task's report (a part's) comes back."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("napari_zssr.cluster.add_report", interrupted)
        with pytest.raises(KeyboardInterrupt):
            napari_zssr.batch(inputs, out, client=client, **BATCH_SETTINGS)


def test_ctrl_c_cancels_the_outstanding_tasks(cluster, stacks, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("napari_zssr.cluster.add_report", interrupted)  # Ctrl-C as the first task comes back
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        with pytest.raises(KeyboardInterrupt) as interruption:  # holds the batch's frame, and so its futures
            napari_zssr.batch([stacks], tmp_path / "out", client=client, **BATCH_SETTINGS)
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(batch_tasks_on) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(batch_tasks_on) == [] and interruption.traceback


def test_ctrl_c_cancels_no_task_whose_result_was_let_go(cluster, stacks, tmp_path, monkeypatch):
    """A part's result is let go once it is in, while its stack's assembly may still wait for the other part: the
    scheduler keeps the part for the assembly, wanted by no client, and a cancel of it fails the scheduler's own check
    (an AssertionError in its log, printed on the user's terminal, and the batch's connection dropped)."""
    released, cancels = [], []  # keys let go; (keys cancelled, keys let go before) of each cancel
    release = distributed.Future.release
    monkeypatch.setattr(distributed.Future, "release", lambda future: released.append(future.key) or release(future))
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        cancel = client.cancel
        monkeypatch.setattr(client, "cancel", lambda futures, **kwargs: cancels.append(
            ({future.key for future in futures}, set(released))) or cancel(futures, **kwargs))
        interrupted_at_first_report(client, monkeypatch, [stacks / "big.tif"], tmp_path / "out")
    (cancelled, let_go), = cancels
    assert let_go and len(cancelled) == 2 and not let_go & cancelled  # the other part and the assembly


def test_a_split_stack_stopped_by_ctrl_c_resumes_from_its_finished_parts(cluster, stacks, tmp_path, monkeypatch,
                                                                          capsys):
    big, out = stacks / "big.tif", tmp_path / "out"
    with threads_of_a_worker():
        napari_zssr.batch([big], tmp_path / "whole", **BATCH_SETTINGS)  # in this process, whole

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        interrupted_at_first_report(client, monkeypatch, [big], out)
        kept = list((out / PARTS_FOLDER).glob("*/0-2")) + list((out / PARTS_FOLDER).glob("*/2-4"))
        assert kept and not list(out.glob("*.tif"))  # a part finished, the stack is not assembled
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(batch_tasks_on) and time.monotonic() < deadline:
            time.sleep(0.1)
        submitted = []
        submit = client.submit
        monkeypatch.setattr(client, "submit", lambda f, *a, **k: submitted.append(f.__name__) or submit(f, *a, **k))
        capsys.readouterr()
        summary = napari_zssr.batch([big], out, client=client, **BATCH_SETTINGS)
    assert summary.done == [big] and submitted.count("part_task") <= 1 and "assemble_task" in submitted
    assert "parts were finished by a stopped run" in capsys.readouterr().err  # one, or both if the stopped batch's
    # task still running then finished its part
    for kind in ("zssr", "residual"):
        ours, reference = read_tiff(out / f"big_{kind}.tif"), read_tiff(tmp_path / "whole" / f"big_{kind}.tif")
        assert np.array_equal(ours.data, reference.data)
    assert temporary_files(out) == [] and not (out / PARTS_FOLDER).exists()


def test_a_batch_stopped_before_it_reaches_a_stack_keeps_that_stack_s_parts(cluster, stacks, tmp_path, monkeypatch):
    out = tmp_path / "out"
    kept = out / PARTS_FOLDER / ("a" * 32) / "0-2"  # a stack's finished part from a batch stopped before
    kept.mkdir(parents=True)

    def stopped(*args):
        raise KeyboardInterrupt  # Ctrl-C while the batch reads the files' headers (slow storage)

    monkeypatch.setattr("napari_zssr.cluster.plane_counts", stopped)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        with pytest.raises(KeyboardInterrupt):
            napari_zssr.batch([stacks / "big.tif"], out, client=client, **BATCH_SETTINGS)
    assert kept.is_dir() and [path.name for path in (out / PARTS_FOLDER).iterdir()] == ["a" * 32]


def test_parts_of_other_settings_or_inputs_are_never_used_and_go_when_a_batch_ends(cluster, stacks, tmp_path):
    from napari_zssr.batch_jobs import input_identity
    from napari_zssr.batch_parts import parts_folder
    from napari_zssr.batching import make_options, prepare

    big, out = stacks / "big.tif", tmp_path / "out"
    prepared = prepare([big], make_options(out, BATCH_SETTINGS))
    identity = input_identity(big)
    other_seed = prepare([big], make_options(out, {**BATCH_SETTINGS, "seed": 1})).settings
    other_outputs = {"zssr"}
    touched = {**identity, "mtime_ns": identity["mtime_ns"] + 1}
    def folder_of(identity: dict, settings: dict, kinds: set[str]) -> Path:
        return parts_folder(out / PARTS_FOLDER, identity, settings, prepared.files, kinds)

    folders = {folder_of(identity, prepared.settings, {"zssr", "residual"}),
               folder_of(identity, other_seed, {"zssr", "residual"}),
               folder_of(identity, prepared.settings, other_outputs),
               folder_of(touched, prepared.settings, {"zssr", "residual"})}
    assert len(folders) == 4  # only the same input, version, settings and outputs share a folder
    on_the_cpu = prepare([big], make_options(out, {**BATCH_SETTINGS, "device": "cpu"})).settings
    assert folder_of(identity, on_the_cpu, {"zssr", "residual"}) in folders  # where, not what
    for folder in folders - {folder_of(identity, prepared.settings, {"zssr", "residual"})}:
        (folder / "0-2").mkdir(parents=True)  # not a readable part: a batch that read it would fail
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        summary = napari_zssr.batch([big], out, client=client, **BATCH_SETTINGS)
    assert summary.done == [big] and not summary.failed and not (out / PARTS_FOLDER).exists()


def test_tasks_ask_for_a_gpu_only_where_workers_declare_them(cluster, stacks, tmp_path, monkeypatch):
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        assert gpu_resources(client) is None  # a task asking for a GPU would wait forever on these workers
    threads = torch.get_num_threads()
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None, resources={"GPU": 1}) as gpu_cluster, \
                distributed.Client(gpu_cluster, set_as_default=False) as client:
            asked = []
            submit = client.submit
            monkeypatch.setattr(client, "submit", lambda *a, **k: asked.append(k["resources"]) or submit(*a, **k))
            summary = napari_zssr.batch([stacks / "plain.tif", stacks / "big.tif"], tmp_path / "out", client=client,
                                        device="cpu", **BATCH_SETTINGS)
    finally:
        torch.set_num_threads(threads)  # the worker ran in this process
    assert asked == [{"GPU": 1}] * 4 and len(summary.done) == 2  # plain, big's 2 parts and their assembly
    assert [report.device for report in summary.workers.values()] == ["cpu"]


def test_local_cluster_of_worker_processes(stacks, tmp_path, monkeypatch, capsys):
    """Also while another program holds Dask's dashboard port, which made distributed warn."""
    import warnings

    monkeypatch.chdir(stacks.parent)
    with socket.socket() as dashboard, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(OSError):  # held already: as well
            dashboard.bind(("127.0.0.1", 8787))
            dashboard.listen()
        assert main(["data/plain.tif", "--out", "out", "--workers", "1", *TINY]) == 0
    assert not [warning for warning in caught if "8787" in str(warning.message)]
    assert read_tiff(tmp_path / "out" / "plain_zssr.tif").data.shape == (32, 32)
    assert "tcp://127.0.0.1:" in capsys.readouterr().err  # the per-worker line of the summary


def test_ctrl_c_while_the_local_workers_start_closes_the_cluster_once_it_is_up(monkeypatch, ctrl_c):
    """The interruption left a half-made cluster, which Dask's clean-up at exit failed to close (AssertionError:
    Status.init, printed after the "interrupted" line). The start is a stand-in here: a real one takes seconds."""
    from napari_zssr.cluster import local_cluster_client

    events = []

    class Started:
        def __enter__(self):
            return self

        def __exit__(self, *_):
            events.append(f"{type(self).__name__} closed")

    class Cluster(Started):
        def __init__(self, **_):
            ctrl_c()  # while the workers start
            events.append("cluster up")

    class Client(Started):
        def __init__(self, cluster, **_):
            events.append("client up")

    monkeypatch.setattr(distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(distributed, "Client", Client)
    with pytest.raises(KeyboardInterrupt), local_cluster_client(1):
        events.append("batch ran")
    assert events == ["cluster up", "client up", "Client closed", "Cluster closed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_local_workers_shut_down_keeps_the_ended_batchs_exit_code(stacks, tmp_path, capsys,
                                                                                     monkeypatch, ctrl_c, signum):
    """After its summary a batch closes its workers (seconds): a Ctrl-C or a job scheduler's SIGTERM then stopped the
    close half-way and marked the batch interrupted (130) below its summary. Stand-ins for the cluster, as above."""
    import napari_zssr.batching as batching

    events = []

    class Started:
        def __init__(self, *args, **kwargs):
            events.append(f"{type(self).__name__} up")

        def __enter__(self):
            return self

        def __exit__(self, *_):
            if type(self).__name__ == "Client":
                signal.raise_signal(signum)  # while the workers shut down
            events.append(f"{type(self).__name__} closed")

    class Cluster(Started):
        pass

    class Client(Started):
        pass

    def ended_with_a_failure(prepared, client):
        print("done 0, skipped 0 (already done), conflicts 0, failed 1, 0.1 s", file=sys.stderr)
        return SimpleNamespace(exit_code=1)

    monkeypatch.setattr(distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(distributed, "Client", Client)
    monkeypatch.setattr(batching, "run_prepared", ended_with_a_failure)
    assert main([str(stacks), "--out", str(tmp_path / "o"), "--workers", "1", *TINY]) == 1
    assert events == ["Cluster up", "Client up", "Client closed", "Cluster closed"]
    assert "interrupted" not in capsys.readouterr().err


def test_the_local_workers_leave_ctrl_c_to_the_batch():
    """A Ctrl-C in the terminal reaches the local workers too: each printed a KeyboardInterrupt traceback over the
    batch's "interrupted" line (the batch closes them itself)."""
    from napari_zssr.cluster import local_cluster_client

    with local_cluster_client(1) as client:
        ignored = client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    assert list(ignored.values()) == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process still stops on a Ctrl-C


def test_a_cluster_batch_names_its_inputs_as_given(cluster, stacks, tmp_path, monkeypatch, capsys):
    """The tasks get absolute paths; the summary and the per-file lines said those, where a local run says the path
    typed (and a lost scheduler's list of inputs not run then named every input, done ones too)."""
    monkeypatch.chdir(stacks.parent)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        summary = napari_zssr.batch("data/plain.tif", tmp_path / "out", client=client,
                                    **{**BATCH_SETTINGS, "quiet": False})
    assert summary.done == [Path("data/plain.tif")]
    lines = [line for line in capsys.readouterr().err.splitlines() if "kernel none" in line]
    assert lines and all("data/plain.tif: kernel none" in line and str(stacks) not in line for line in lines)


def test_batch_in_process_returns_the_summary(stacks, tmp_path):
    summary = napari_zssr.batch(stacks / "plain.tif", tmp_path / "out", **BATCH_SETTINGS)
    assert summary.done == [stacks / "plain.tif"] and summary.exit_code == 0
    assert list(summary.workers) == ["in-process"] and summary.workers["in-process"].planes == 1
    assert napari_zssr.batch(stacks / "plain.tif", tmp_path / "out", **BATCH_SETTINGS).skipped == [
        stacks / "plain.tif"]
    with pytest.raises(TypeError, match="max_iteration"):
        napari_zssr.batch(stacks, tmp_path / "o", max_iteration=2)


class StandInClient:
    """A client with no scheduler behind it, for tests that replace whatever would ask one."""

    def submit(self, *args, **kwargs):
        raise AssertionError("no task is to be submitted here")


def test_a_lost_scheduler_s_unfinished_inputs_are_counted_and_listed(stacks, tmp_path, monkeypatch, capsys):
    """The summary names what a rerun still has to do, not only what was done and what failed."""
    def lose_the_scheduler_after_one_file(prepared, client, summary, threads):
        record_outcome(summary, prepared.jobs[0], "done")
        summary.scheduler_lost = True

    monkeypatch.setattr("napari_zssr.cluster.run_on_cluster", lose_the_scheduler_after_one_file)
    monkeypatch.setattr("napari_zssr.cluster.check_workers", lambda client: None)  # no client to ask
    summary = napari_zssr.batch(stacks, tmp_path / "out", client=StandInClient(), **{**BATCH_SETTINGS, "quiet": False})
    assert summary.not_run == [stacks / "channels.tif", stacks / "plain.tif"] and summary.exit_code == 1
    err = capsys.readouterr().err
    assert "done 1, skipped 0 (already done), conflicts 0, failed 0, not run 2" in err
    assert f"not run (the scheduler was lost: run the same command again):\n  {stacks / 'channels.tif'}" in err


def test_a_lost_scheduler_s_unfinished_image_series_are_each_named(tmp_path, monkeypatch, capsys):
    """A plate's wells not run were listed as the file, once per well left, so a facility could not tell which wells
    a rerun still has to do (nor that a finished well was not among them)."""
    plate = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(plate, ome=True) as writer:
        for well in range(3):
            writer.write(textured((16, 16), well), metadata={"axes": "YX"})

    def lose_the_scheduler_after_the_middle_well(prepared, client, summary, threads):
        record_outcome(summary, prepared.jobs[1], "done")
        summary.scheduler_lost = True

    monkeypatch.setattr("napari_zssr.cluster.run_on_cluster", lose_the_scheduler_after_the_middle_well)
    monkeypatch.setattr("napari_zssr.cluster.check_workers", lambda client: None)  # no client to ask
    summary = napari_zssr.batch(plate, tmp_path / "out", client=StandInClient(), **{**BATCH_SETTINGS, "quiet": False})
    assert summary.not_run == [plate, plate] and summary.not_run_names == [f"{plate} (series 0)", f"{plate} (series 2)"]
    tail = capsys.readouterr().err.splitlines()
    assert tail[tail.index("not run (the scheduler was lost: run the same command again):") + 1:] == [
        f"  {plate} (series 0)", f"  {plate} (series 2)"]


def write_plate(path: Path, wells: int) -> Path:
    """An OME-TIFF of ``wells`` image series of 4 z planes each (2 parts each on the cluster), as a plate is saved."""
    with tifffile.TiffWriter(path, ome=True) as writer:
        for well in range(wells):
            writer.write(textured((4, 16, 16), well), compression="zlib", metadata={"axes": "ZYX"})
    return path


def test_the_batch_opens_a_plate_as_often_for_many_wells_as_for_two(cluster, tmp_path, tiff_openings):
    """This process counts each well's planes and finds its parts' folder from its header: it opened the plate
    (parsing every well) twice a well, before the last well's tasks went out."""
    counts = []
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        for wells in (2, 4):
            plate = write_plate(tmp_path / f"plate{wells}.ome.tif", wells)
            summary = napari_zssr.batch(plate, tmp_path / f"out{wells}", client=client, **BATCH_SETTINGS)
            assert summary.done == [plate] * wells
            counts.append(tiff_openings.count(plate.name))
    assert counts[1] == counts[0], counts


def test_a_part_task_opens_its_plate_once(tmp_path, monkeypatch, tiff_openings):
    """A part read its planes, then its header, each opening the plate: two parses of every well for each part."""
    from napari_zssr import cluster
    from napari_zssr.batching import make_options, prepare

    monkeypatch.setattr(cluster, "use_cores_of_this_worker", lambda threads: None)  # no worker here
    monkeypatch.setattr(cluster, "_where", lambda report: report)
    plate = write_plate(tmp_path / "plate.ome.tif", 3)
    prepared = prepare([plate], make_options(tmp_path / "out", BATCH_SETTINGS))
    tiff_openings.clear()  # the part task's alone
    report = cluster.part_task(prepared.jobs[1], prepared, (2, 4), tmp_path / "part", 1)
    assert report.planes == 2 and tiff_openings == ["plate.ome.tif"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_workers_get_glibc_malloc_thresholds_back():
    from napari_zssr.cluster import restore_malloc_thresholds

    assert restore_malloc_thresholds() is True


def test_axial_batch_on_the_cluster_never_splits_a_volume_along_z(cluster, tmp_path):
    path = tmp_path / "data" / "vol.tif"
    write_imagej_tiff(path, textured((6, 16, 16), 4), "ZYX", (0.1, 0.1), z_spacing=0.2)  # 3 tasks of 2 planes if split
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        summary = napari_zssr.batch(path, tmp_path / "out", client=client, axial=True, **BATCH_SETTINGS)
    assert summary.done == [path] and [report.tasks for report in summary.workers.values()] == [1]
    assert list(summary.workers.values())[0].planes == 6
    assert read_tiff(tmp_path / "out" / "vol_zssr.tif").data.shape == (12, 16, 16)


def test_each_image_series_of_a_file_is_an_input_split_as_any_stack_on_the_cluster(cluster, tmp_path):
    """A series of a file of several ran whole on one worker: its parts read the file's first series."""
    import tifffile

    path = tmp_path / "data" / "plate.ome.tif"
    path.parent.mkdir()
    shapes = ((16, 16), (4, 16, 16), (12, 14))  # the second is 2 parts of 2 planes
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number, shape in enumerate(shapes):
            writer.write(textured(shape, number), metadata={"axes": "ZYX"[3 - len(shape):]})
    with threads_of_a_worker():
        napari_zssr.batch(path, tmp_path / "local", **BATCH_SETTINGS)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        summary = napari_zssr.batch(path, tmp_path / "out", client=client, **BATCH_SETTINGS)
    assert summary.done == [path] * 3 and sum(report.tasks for report in summary.workers.values()) >= 4
    for number, shape in enumerate(shapes):
        output = read_tiff(tmp_path / "out" / f"plate_series{number}_zssr.tif")
        assert output.data.shape == (*shape[:-2], 2 * shape[-2], 2 * shape[-1])
        assert np.array_equal(output.data, read_tiff(tmp_path / "local" / f"plate_series{number}_zssr.tif").data)
    assert not temporary_files(tmp_path / "out")


def test_the_finished_parts_of_an_image_series_are_said_with_its_series(cluster, tmp_path, monkeypatch, capsys):
    """The note of parts a stopped run finished named the file alone, not which of its series they belong to."""
    import re

    import tifffile

    path = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for number in range(2):  # 2 parts of 2 planes each
            writer.write(textured((4, 16, 16), number), metadata={"axes": "ZYX"})

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        interrupted_at_first_report(client, monkeypatch, path, tmp_path / "out")
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(batch_tasks_on) and time.monotonic() < deadline:
            time.sleep(0.1)
        capsys.readouterr()
        assert napari_zssr.batch(path, tmp_path / "out", client=client, **BATCH_SETTINGS).done == [path] * 2
    assert re.search(rf"{re.escape(str(path))} \(series [01]\): \d of its 2 parts were finished by a stopped run",
                     capsys.readouterr().err)


def test_a_scheduler_without_workers_is_said_and_the_batch_runs_once_they_come(stacks, tmp_path, capsys):
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as empty:
        outcome = []
        batch = threading.Thread(target=lambda: outcome.append(main([
            str(stacks / "plain.tif"), "--out", str(tmp_path / "o"), "--scheduler", empty.scheduler_address,
            *TINY])))
        batch.start()
        deadline = time.monotonic() + 60
        while "has no workers yet" not in capsys.readouterr().err:
            assert time.monotonic() < deadline, "no note of the missing workers"
            time.sleep(0.2)
        empty.scale(1)
        batch.join(120)
    assert outcome == [0] and (tmp_path / "o" / "plain_zssr.tif").exists()


def test_workers_leaving_mid_batch_and_coming_back_are_said(monkeypatch, capsys):
    """Without workers the tasks wait and the progress bars stand still: that was said only at the start."""
    from napari_zssr import cluster as cluster_module

    counts = iter([2, 2, 0, 0, 1, 1])
    looked = threading.Event()

    def scheduler_info():
        count = next(counts, None)
        if count is None:
            looked.set()
            count = 1
        return {"workers": {f"tcp://127.0.0.1:{port}": {} for port in range(count)}}

    client = SimpleNamespace(scheduler=SimpleNamespace(address="tcp://127.0.0.1:8786"), scheduler_info=scheduler_info)
    monkeypatch.setattr(cluster_module, "WORKER_WATCH_S", 0.01)
    stop = cluster_module.watch_workers(client)
    assert looked.wait(10)
    stop()
    err = capsys.readouterr().err
    assert "has no workers yet" not in err
    assert err.count("every worker of the scheduler tcp://127.0.0.1:8786 has left; the tasks wait") == 1
    assert err.count("note: 1 worker connected to the scheduler tcp://127.0.0.1:8786; the tasks go on") == 1
    assert err.index("has left") < err.index("1 worker connected")


#: a Dask worker (no nanny) at the address given, that cannot import napari_zssr or torch, or runs another version
UNFIT_WORKER = """
import sys
if sys.argv[2] in ("missing", "no torch"):
    blocked = "napari_zssr" if sys.argv[2] == "missing" else "torch"
    class Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == blocked:
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, Blocked())
else:
    import napari_zssr
    napari_zssr.__version__ = napari_zssr._version.__version__ = "0.0.1"
from distributed.cli.dask_worker import main
sys.argv = ["dask-worker", sys.argv[1], "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"]
main()
"""


@pytest.mark.parametrize("unfit", ["missing", "no torch", "other version"])
def test_workers_without_the_package_or_with_another_version_are_a_usage_error(stacks, tmp_path, capsys, unfit):
    """A worker without napari_zssr could not unpickle its task and left the cluster: the batch waited for ever,
    silently. One of another version ran the batch with other code."""
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as empty, \
            distributed.Client(empty, set_as_default=False) as client:
        worker = subprocess.Popen([sys.executable, "-c", UNFIT_WORKER, empty.scheduler_address, unfit],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            address = next(iter(client.scheduler_info()["workers"]))
            outcome = []
            batch = threading.Thread(target=lambda: outcome.append(main([
                str(stacks / "plain.tif"), "--out", str(tmp_path / "o"), "--scheduler", empty.scheduler_address,
                *TINY])), daemon=True)
            batch.start()
            batch.join(60)
        finally:
            worker.kill()
            worker.wait()
    assert outcome == [2]
    err = capsys.readouterr().err
    why = {"missing": "cannot import napari_zssr (ModuleNotFoundError: No module named 'napari_zssr",
           "no torch": "cannot import napari_zssr (ModuleNotFoundError: No module named 'torch'",
           "other version": f"run napari-zssr 0.0.1, this command {napari_zssr.__version__}"}[unfit]
    assert f"the Dask worker(s) {address} {why}" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_the_worker_check_leaves_the_workers_event_loop_free(cluster, monkeypatch):
    """The check imported torch in each worker's event loop: for seconds, the worker answered nobody (Dask warned
    "Event loop was unresponsive"). A check that takes 3 s must leave the workers answering at once meanwhile."""
    from napari_zssr.cluster import _VERSION_ON_WORKER, check_workers

    slow_check = f"__import__('time').sleep(3) or {_VERSION_ON_WORKER}"
    monkeypatch.setattr("napari_zssr.cluster._VERSION_ON_WORKER", slow_check)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.run(os.getpid)  # both workers are up and answer
        checking = threading.Thread(target=check_workers, args=(client,))
        checking.start()
        time.sleep(0.5)  # the check runs on the workers now
        start = time.monotonic()
        client.run(os.getpid)
        answered_in = time.monotonic() - start
        checking.join()
    assert answered_in < 1.5


def test_a_worker_that_cannot_be_reached_when_asked_is_not_said_to_lack_the_package():
    """``client.run`` returns the error of a worker it could not reach (one leaving the cluster as the batch starts)
    like the error of one that ran the check: that is no missing package and no reason to stop the batch, whose
    tasks go to the workers that answered; a worker that answered ImportError still stops it."""
    from distributed.comm.core import CommClosedError

    from napari_zssr.batch_jobs import UsageError
    from napari_zssr.cluster import check_workers

    class Client:
        def __init__(self, found):
            self.found = found

        def run(self, function, *args, on_error="raise"):
            assert on_error == "return"
            return self.found

    version = napari_zssr.__version__
    check_workers(Client({"tcp://10.0.0.1:1": version, "tcp://10.0.0.2:1": OSError("Timed out trying to connect"),
                          "tcp://10.0.0.3:1": CommClosedError("in <TCP (closed)>")}))
    with pytest.raises(UsageError, match=r"tcp://10\.0\.0\.2:1 cannot import napari_zssr \(ModuleNotFoundError"):
        check_workers(Client({"tcp://10.0.0.1:1": OSError("Timed out"),
                              "tcp://10.0.0.2:1": ModuleNotFoundError("No module named 'napari_zssr'")}))


#: a Dask worker (no nanny) on a machine where the folder given does not exist: --out is not mounted there, or at
#: another path
WORKER_WITHOUT_THE_FOLDER = """
import os
import sys
hidden, real_stat = sys.argv[2], os.stat
def stat(path, *args, **kwargs):
    if os.fspath(path).startswith(hidden):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    return real_stat(path, *args, **kwargs)
os.stat = stat
from distributed.cli.dask_worker import main
sys.argv = ["dask-worker", sys.argv[1], "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"]
main()
"""


@pytest.mark.parametrize("unseen", ["out", "data", "other"])
def test_workers_that_do_not_see_the_output_folder_or_the_inputs_are_a_usage_error_before_any_training(
        stacks, tmp_path, capsys, unseen):
    """--out on a disk of this machine only (or mounted elsewhere on the workers): every task trained, then failed
    with "its batch was stopped while it ran", the batch's folder being missing on its worker. Inputs they do not
    see: every input failed, "no such file", without a word of why; those of a folder after the first, one by one
    after others had trained (the first input alone was checked)."""
    out = tmp_path / "out"
    other = tmp_path / "other" / "x.tif"
    write_imagej_tiff(other, textured((16, 16), 4), "YX", None)
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as empty, \
            distributed.Client(empty, set_as_default=False) as client:
        worker = subprocess.Popen([sys.executable, "-c", WORKER_WITHOUT_THE_FOLDER, empty.scheduler_address,
                                   str(tmp_path / unseen)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            address = next(iter(client.scheduler_info()["workers"]))
            trained = []
            client.register_plugin(TaskWatch(trained))
            assert main([str(stacks / "plain.tif"), str(other), "--out", str(out), "--scheduler",
                         empty.scheduler_address, *TINY]) == 2
        finally:
            worker.kill()
            worker.wait()
    err = capsys.readouterr().err
    what = {"out": f"--out {out}", "data": f"the input {stacks / 'plain.tif'}", "other": f"the input {other}"}[unseen]
    assert f"the Dask worker(s) {address} do not see {what}" in err and "Traceback" not in err
    assert trained == [] and [path.name for path in out.iterdir()] == [LOCK_NAME]


def test_a_batch_waits_for_its_first_worker_and_checks_it_before_any_task(stacks, tmp_path, capsys):
    """Started on a scheduler without workers (an adaptive cluster, jobs just asked for), the batch submitted its
    tasks at once: the GPU limit and the threads per task were decided on no worker, and a worker that then joined
    without seeing --out trained each task it got before failing it."""
    out = tmp_path / "out"
    started: list = []
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as empty:

        def join_once_the_batch_waits() -> None:
            deadline = time.monotonic() + 60
            while not list(out.glob(".napari-zssr-parts/batch-*")) and time.monotonic() < deadline:
                time.sleep(0.2)
            started.append(subprocess.Popen([sys.executable, "-c", WORKER_WITHOUT_THE_FOLDER,
                                             empty.scheduler_address, str(out)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        joiner = threading.Thread(target=join_once_the_batch_waits)
        joiner.start()
        try:
            code = main([str(stacks / "plain.tif"), "--out", str(out), "--scheduler", empty.scheduler_address,
                         *TINY])
        finally:
            joiner.join()
            for worker in started:
                worker.kill()
                worker.wait()
    err = capsys.readouterr().err
    assert code == 2 and "has no workers yet; the tasks wait until some connect" in err
    assert f"do not see --out {out}" in err and "done" not in err


def test_a_task_shares_its_hosts_cores_among_the_workers_there_when_it_starts(monkeypatch):
    """Counted as the batch began, workers that joined later ran their tasks with every core each: 2-4x oversubscribed
    and 10x slower, where an adaptive cluster or a job's workers join over its first minutes."""
    import torch

    from napari_zssr import cluster

    monkeypatch.setattr(cluster, "available_cores", lambda: 4)

    def threads_given() -> int:
        cluster.use_cores_of_this_worker(None)
        return torch.get_num_threads()

    before = torch.get_num_threads()
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None) as local, \
                distributed.Client(local, set_as_default=False) as client:
            assert client.submit(threads_given, pure=False).result(timeout=60) == 4
            local.scale(2)
            client.wait_for_workers(2, timeout=60)
            assert client.submit(threads_given, pure=False).result(timeout=60) == 2
    finally:
        torch.set_num_threads(before)


def test_a_task_on_a_worker_that_does_not_see_the_batchs_folder_fails_before_training(stacks, tmp_path, monkeypatch):
    """A worker that joined after the batch's check (not its first) trained each task it got, then failed it with
    "its batch was stopped while it ran", which it was not."""
    from dataclasses import replace

    from napari_zssr import cluster
    from napari_zssr.batching import make_options, prepare

    prepared = prepare([stacks / "plain.tif"], make_options(tmp_path / "out", BATCH_SETTINGS))
    prepared = replace(prepared, live_folder=tmp_path / "elsewhere" / "batch-1")  # not there for it
    monkeypatch.setattr(distributed, "get_worker", lambda: SimpleNamespace(address="tcp://10.0.0.9:1234"))
    with pytest.raises(RuntimeError, match="the Dask worker tcp://10.0.0.9:1234 does not see --out .*: the workers "
                                           "need it at the same path as the command, on a shared file system; "
                                           "nothing was trained"):
        cluster.file_task(prepared.jobs[0], prepared, {}, 1)


class TaskWatch(distributed.diagnostics.plugin.SchedulerPlugin):
    """Notes the batch's tasks the scheduler is given."""

    def __init__(self, seen: list):
        self.seen = seen

    def update_graph(self, scheduler, *, keys, **kwargs):
        self.seen.extend(key for key in keys if "napari-zssr" in str(key))


def batch_tasks_wanted_on(dask_scheduler) -> list:
    return [key for key, task in dask_scheduler.tasks.items() if "napari-zssr" in str(key) and task.who_wants]


def test_a_task_s_result_once_in_is_let_go_so_a_worker_lost_later_does_not_run_it_again(cluster, stacks, tmp_path,
                                                                                          monkeypatch):
    """The batch held every task's future to its end: a worker lost late in a batch took the reports of all the tasks
    it had finished with it, and the scheduler ran them all again (their training and writes), before the rest."""
    from napari_zssr import cluster as cluster_module

    wanted = []
    add_report = cluster_module.add_report
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        def noting_what_is_held(summary, report):
            unfinished = 2 - len(wanted)  # this report's task, and any not in yet
            deadline = time.monotonic() + 5  # the release of a task before reaches the scheduler in its own time
            while len(held := client.run_on_scheduler(batch_tasks_wanted_on)) > unfinished \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            wanted.append(held)
            add_report(summary, report)

        monkeypatch.setattr(cluster_module, "add_report", noting_what_is_held)
        summary = napari_zssr.batch([stacks / "plain.tif", stacks / "channels.tif"], tmp_path / "out", client=client,
                                    **BATCH_SETTINGS)
    # at the second report the first task's result is no longer held (this report's own may already be let go too)
    assert len(summary.done) == 2 and len(wanted) == 2 and len(wanted[1]) <= 1
