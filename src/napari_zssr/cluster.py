"""A batch on a Dask cluster: one task per file, or per range of planes of a big stack, on any ``distributed`` client.

Imported only when a cluster is asked for, so ``distributed`` stays an optional dependency (the ``cluster`` extra).
Tasks write only private temporary files; a file's outputs appear by one atomic rename, after its parts are
assembled. A worker lost mid-task is the scheduler's business: it runs the task again on another worker (up to
``distributed.scheduler.allowed-failures`` times), and the files a killed task left are removed at the end of the
batch. Errors raised by a task are not retried: they come from the file (its data, its optics), and are reported.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm import tqdm

from .api import checked_outputs
from .batch_files import (
    BatchStopped,
    TaskReport,
    assemble_parts,
    plane_counts,
    plane_ranges,
    process_file,
    process_part,
)
from .batch_jobs import Job, UsageError, quiet_reader_logs, say
from .batch_parts import LIVE_PREFIX, is_whole_part, part_path, parts_folder
from .batch_resume import kernel_kinds
from .batching import (
    FILE_ERRORS,
    PARTS_FOLDER,
    BatchSummary,
    PreparedBatch,
    add_report,
    record_failure,
    record_outcome,
    triage,
)
from .io.imagej import signals_deferred
from .io.tiff import kept_open

#: the protocols of a scheduler address this command connects with (TLS would need a security configuration)
SCHEDULER_PROTOCOLS = ("tcp", "ucx", "ws", "wss")
#: seconds to wait for a scheduler before calling its address unreachable
CONNECT_TIMEOUT_S = 3
EXTRA_HINT = "pip install distributed (what the napari-zssr[cluster] extra adds)"


def available_cores() -> int:
    """The cores this process may use (a SLURM or taskset allocation, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def imported_distributed() -> Any:
    """Dask's ``distributed`` module, or a :class:`UsageError` naming the extra that installs it."""
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler, --scheduler-file and --workers need Dask's distributed package: "
                         f"{EXTRA_HINT}") from None
    return distributed


def check_local_workers(workers: int) -> None:
    """A :class:`UsageError` for a local cluster that could not or should not start: ``distributed`` missing, or
    ``workers`` more than this machine's cores. Quick: made before the inputs are scanned, as are the settings'."""
    cores = available_cores()
    if workers > cores:  # each a process training at once: they would share the cores anyway
        raise UsageError(f"--workers {workers} is more than the {cores} cores this command may use: each worker is a "
                         f"process that trains on its own cores; give at most {cores}")
    imported_distributed()


@contextmanager
def local_cluster_client(workers: int) -> Iterator[Any]:
    """A ``distributed.Client`` on a new local cluster of ``workers`` worker processes (one task each at a time);
    closed, with the cluster, on leaving (seconds), whole: a Ctrl-C or SIGTERM meanwhile is raised once it is closed.
    Raises :class:`UsageError` as :func:`check_local_workers` does."""
    check_local_workers(workers)
    distributed = imported_distributed()
    started = ExitStack()
    try:
        # a Ctrl-C while the workers start left a half-made cluster that Dask's own clean-up at exit failed to close,
        # with a traceback: it is held till the cluster is up, which then closes as it does on any interruption
        with signals_deferred():
            # the batch reports every task's failure itself: the workers' own error logs would repeat them as
            # tracebacks. The dashboard on a free port: its default (8787, also for None) warns when another
            # cluster or batch holds it
            cluster = started.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", worker_dashboard_address=None, silence_logs=logging.CRITICAL,
                preload=["napari_zssr.local_worker"]))
            client = started.enter_context(distributed.Client(cluster, set_as_default=False))
        yield client
    finally:
        with signals_deferred():
            started.close()


@contextmanager
def scheduler_client(scheduler: str | None = None, scheduler_file: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on the scheduler at the address ``scheduler``, or at the one ``scheduler_file`` holds;
    closed on leaving. A :class:`UsageError` when the address or the file is malformed, ``distributed`` is not
    installed or the scheduler cannot be reached (within :data:`CONNECT_TIMEOUT_S`)."""
    distributed = imported_distributed()  # first: without it, no file or address would help
    if scheduler_file is None:
        address, stale = scheduler_address(scheduler or "", given_as=f"--scheduler {scheduler!r}"), ""
    else:
        address = scheduler_in_file(scheduler_file)
        stale = (f"; it is the address in --scheduler-file {scheduler_file}, which a scheduler killed (not stopped) "
                 "leaves behind: start the scheduler again")
    with connected_client(distributed, address, stale) as client:
        yield client


def scheduler_in_file(path: str) -> str:
    """The scheduler's address in the JSON file a scheduler writes when started with ``--scheduler-file`` (as dask-mpi
    and HPC job scripts start it, the workers reading the same file), checked as :func:`scheduler_address` checks
    one given outright; a :class:`UsageError` naming what is wrong with the file."""
    if not str(path).strip():  # Path("") is the current folder
        raise UsageError("--scheduler-file is empty ('': an unset variable?); give the file the scheduler writes")
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--scheduler-file {path}: no such file; a scheduler started with --scheduler-file {path} "
                         "writes it while it runs: start the scheduler first (or wait for its job to start)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--scheduler-file {path} cannot be read ({error})") from None
    try:
        address = json.loads(text).get("address")
    except (ValueError, AttributeError):  # not JSON, or JSON but not an object
        address = None
    if not isinstance(address, str):
        raise UsageError(f"--scheduler-file {path} is not a Dask scheduler file (JSON holding the scheduler's "
                         "\"address\", as 'dask scheduler --scheduler-file FILE' writes it)")
    return scheduler_address(address, given_as=f"the address {address!r} in --scheduler-file {path}")


def scheduler_address(scheduler: str, given_as: str) -> str:
    """``scheduler`` as ``tcp://host:port`` (``host:port`` taken as TCP), or a :class:`UsageError` naming what is
    wrong (``given_as``: where it came from): checked before any connection, which Dask would otherwise try for
    seconds and report with tracebacks."""
    text = scheduler.strip()
    address = text if "://" in text else f"tcp://{text}"
    parsed = urlsplit(address)
    try:
        port = parsed.port
    except ValueError:
        port = None
    scheme = parsed.scheme.lower()
    if scheme not in SCHEDULER_PROTOCOLS or not parsed.hostname or port is None or parsed.path not in ("", "/"):
        tls = " (TLS needs a security configuration this command does not take)" if scheme == "tls" else ""
        raise UsageError(f"{given_as} is not a Dask scheduler address of the form tcp://HOST:PORT"
                         f"{tls}; e.g. tcp://10.0.0.5:8786, as 'dask scheduler' prints it")
    return f"{scheme}://{parsed.netloc}"


@contextmanager
def connected_client(distributed: Any, address: str, hint: str = "") -> Iterator[Any]:
    """A client of the scheduler at ``address``, or a :class:`UsageError` (ending with ``hint``) within about
    :data:`CONNECT_TIMEOUT_S`.

    The connection is made in a thread given a deadline: a server that accepts a connection but never answers as a
    scheduler would (another service on that port) keeps Dask waiting past its own timeout; and a service that answers
    something else makes Dask fail with any error (even a memory error, reading junk as a message length).
    """
    outcome: dict[str, Any] = {}
    gave_up = threading.Event()

    class Client(distributed.Client):
        def __del__(self) -> None:  # a client that never connected would wait seconds and print a traceback
            if self.status == "running":
                super().__del__()

    def connect() -> None:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except Exception as error:  # noqa: BLE001 - whatever it is, the address is no usable scheduler
            outcome["error"] = str(error)
            return
        outcome["client"] = client
        if gave_up.is_set():  # connected after the deadline: nobody will use it
            client.close()

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(3 * CONNECT_TIMEOUT_S)
    gave_up.set()
    if "client" not in outcome or thread.is_alive():
        why = outcome.get("error") or f"no answer as a Dask scheduler within {3 * CONNECT_TIMEOUT_S} s"
        raise UsageError(f"cannot reach the Dask scheduler at {address} ({why}); check the address (the scheduler's "
                         f"port, not its dashboard's) and that the scheduler runs (dask scheduler){hint}")
    with outcome["client"] as client:
        yield client


#: evaluated on each worker (:func:`check_workers`): builtins only, since a function of this package could not even
#: be unpickled on a worker that lacks it. It imports the module of the tasks, and so what they need (torch, numpy...)
_VERSION_ON_WORKER = "__import__('napari_zssr.cluster').__version__"
#: workers a message names, at most
NAMED_WORKERS = 3


def check_workers(client: Any) -> None:
    """A :class:`UsageError`, before any work, naming the workers that cannot import napari_zssr's tasks (the
    package, or what it needs: torch...) or run another version of it than this process.

    A task sent to a worker without the package cannot be unpickled there: the worker drops out of the cluster (its
    nanny closes it), its task waits for another, and a batch on such workers alone waited for ever without a word.
    Another version would run other code on the settings this one checked. Workers that join later are not checked.
    """
    from ._version import __version__

    async def evaluated_in_a_thread(expression: str) -> Any:
        """``client.run`` calls a plain function in the worker's event loop, which an import of torch (seconds) would
        block: the worker then answers neither the scheduler nor its tasks' messages. A coroutine it awaits there,
        and this one leaves the work to a thread. Defined here, not at module level, so that Dask pickles it by
        value: a worker without napari_zssr unpickles it, and reports the import's error."""
        import asyncio

        return await asyncio.to_thread(eval, expression)

    found = client.run(evaluated_in_a_thread, _VERSION_ON_WORKER, on_error="return")
    # a worker the scheduler could not reach (leaving, or gone: a connection error, OSError) is no worker without the
    # package: it gets no task either; the others' answers stand
    found = {address: result for address, result in found.items() if not isinstance(result, OSError)}
    failed = {address: result for address, result in sorted(found.items()) if isinstance(result, BaseException)}
    if failed:
        error = next(iter(failed.values()))
        raise UsageError(f"the Dask worker(s) {named_workers(list(failed))} cannot import napari_zssr "
                         f"({type(error).__name__}: {error}): install napari-zssr {__version__} in the workers' Python "
                         "environment, as in this command's")
    other = {address: version for address, version in sorted(found.items()) if version != __version__}
    if other:
        versions = ", ".join(sorted(set(other.values())))
        raise UsageError(f"the Dask worker(s) {named_workers(list(other))} run napari-zssr {versions}, this command "
                         f"{__version__}: install the same version on every worker")


def named_workers(addresses: list[str]) -> str:
    """The first :data:`NAMED_WORKERS` addresses, and how many more, for a message."""
    more = f" and {len(addresses) - NAMED_WORKERS} more" if len(addresses) > NAMED_WORKERS else ""
    return ", ".join(addresses[:NAMED_WORKERS]) + more


def check_workers_see(client: Any, live_folder: Path, out: Path, inputs: Sequence[Path]) -> None:
    """A :class:`UsageError`, before any task, naming the workers that do not see ``live_folder``, which this batch
    has just made under ``out``, or an input of each folder of ``inputs`` (at most :data:`FOLDERS_CHECKED`): ``--out``
    or the inputs are not on a file system they share at the same paths (the first input alone was checked, and the
    files of another folder failed, one by one after others had trained, as missing).

    Each of their tasks would train, write its outputs where this command never looks (or nowhere), and then fail as
    if its batch had been stopped, since its batch's folder is missing there; or fail at once on every input, with no
    word of why. A worker that joins later checks the folder in each task it gets, before training
    (:func:`check_this_worker_sees_out`).
    """
    one_per_folder = list({path.parent: path for path in inputs}.values())[:FOLDERS_CHECKED]
    for path, what in ((live_folder, f"--out {out} (the folder this command made in it, {live_folder.name}, is not "
                                     "there for them)"), *((path, f"the input {path}") for path in one_per_folder)):
        found = client.run(os.path.exists, str(path), on_error="return")
        blind = sorted(address for address, seen in found.items() if seen is False)  # errors: workers not reached
        if blind:
            raise UsageError(f"the Dask worker(s) {named_workers(blind)} do not see {what}: the workers need --out "
                             "and the inputs at the same paths as this command, on a shared file system")


#: folders of inputs whose visibility the workers are asked about before a batch (a round trip to every worker each)
FOLDERS_CHECKED = 50


def task_slots_per_host(client: Any) -> dict[str, int]:
    """How many tasks can run at once on each host (its workers' threads summed): they share its cores."""
    slots: dict[str, int] = {}
    for worker in client.scheduler_info().get("workers", {}).values():
        slots[worker["host"]] = slots.get(worker["host"], 0) + worker["nthreads"]
    return slots


#: glibc ``mallopt`` parameters, and the values restored in workers (see :func:`restore_malloc_thresholds`)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES, _TRIM_THRESHOLD_BYTES = 64 << 20, 256 << 20


def restore_malloc_thresholds() -> bool:
    """Undo what Dask's nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` does to glibc's allocator; True where done.

    That setting also switches off glibc's dynamic mmap threshold, so every large tensor torch allocates is mapped
    and unmapped afresh: a ZSSR task then ran 20-22 % slower in a worker than in-process (benchmarks/cluster.py, and
    a 60-iteration run: 13.4 s vs 11.1 s; 11.0 s with these thresholds). Elsewhere (no glibc) nothing is changed.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))


def use_cores_of_this_worker(threads: int | None) -> None:
    """Give torch ``threads`` threads; None: this host's cores shared among the tasks its workers run at once, as the
    cluster is when the task starts (workers that joined after the batch began count: an adaptive cluster's, or a
    job's started beside it; counted at the start, they ran 2-4x oversubscribed, 10x slower).

    Dask's nanny starts workers with ``OMP_NUM_THREADS=1``, so without this a CPU task would use one core; it also
    sets a malloc trim threshold that slows torch down, undone here.
    """
    import torch

    restore_malloc_thresholds()
    if threads is None:
        from distributed import get_client, get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
        slots = task_slots_per_host(get_client()).get(get_address_host(worker.address), worker.state.nthreads)
        threads = max(1, available_cores() // max(1, slots))
    torch.set_num_threads(threads)


def _where(report: TaskReport) -> TaskReport:
    from distributed import get_worker

    report.worker = get_worker().address
    return report


def check_this_worker_sees_out(prepared: PreparedBatch) -> None:
    """Refuse a task, before it trains, on a worker that does not see its batch's folder under ``--out``: a worker
    that joined after :func:`check_workers_see` (an adaptive cluster starts with none) trained every task it got and
    then failed it as if its batch had been stopped."""
    live = prepared.live_folder
    if live is None or live.is_dir():
        return
    from distributed import get_worker

    worker, out = get_worker().address, prepared.options.out
    if out.is_dir():  # this batch's folder is gone, or this worker sees another folder at the path of --out
        raise BatchStopped(f"its batch was stopped before this task began (or the Dask worker {worker} sees another "
                           f"folder than the batch's at --out {out}); nothing was trained")
    raise RuntimeError(f"the Dask worker {worker} does not see --out {out}: the workers need it at the same path as "
                       "the command, on a shared file system; nothing was trained (run the same command again once "
                       "they see it)")


def file_task(job: Job, prepared: PreparedBatch, identity: dict, threads: int | None) -> TaskReport:
    check_this_worker_sees_out(prepared)
    use_cores_of_this_worker(threads)
    with quiet_reader_logs():
        return _where(process_file(job, prepared, identity))


def part_task(job: Job, prepared: PreparedBatch, planes: tuple[int, int], part: Path,
              threads: int | None) -> TaskReport:
    check_this_worker_sees_out(prepared)
    use_cores_of_this_worker(threads)
    with quiet_reader_logs(), kept_open([job.source]):  # its planes, then its header: one parse of a plate
        return _where(process_part(job, prepared, planes, part))


def assemble_task(job: Job, prepared: PreparedBatch, identity: dict, parts: list[Path],
                  *finished_parts: TaskReport) -> TaskReport:
    """Runs once every part is written (the part reports are passed only to make Dask wait for them)."""
    check_this_worker_sees_out(prepared)
    return _where(assemble_parts(job, prepared, identity, parts))


def tick(bar: tqdm | None, steps: int = 1) -> None:
    if bar is not None and steps:
        bar.update(steps)


def gpu_resources(client: Any) -> dict[str, int] | None:
    """``{"GPU": 1}`` when some worker declares GPUs (``dask worker --resources GPU=1``): one task per GPU."""
    workers = client.scheduler_info().get("workers", {}).values()
    return {"GPU": 1} if any("GPU" in worker.get("resources", {}) for worker in workers) else None


def with_absolute_paths(prepared: PreparedBatch) -> PreparedBatch:
    """The batch with every path absolute: a worker runs in another folder, maybe on another machine."""
    options = replace(prepared.options, out=Path(os.path.abspath(prepared.options.out)),
                      psf=tuple(os.path.abspath(path) for path in prepared.options.psf))
    jobs = tuple(replace(job, source=Path(os.path.abspath(job.source))) for job in prepared.jobs)
    return replace(prepared, options=options, jobs=jobs)


def run_on_cluster(prepared: PreparedBatch, client: Any, summary: BatchSummary, threads: int | None = None) -> None:
    """Submit every input that is not done to ``client`` and collect the results as they come in.

    ``threads``: torch threads per task (None: each host's cores shared among the tasks its workers run at once).
    Ctrl-C cancels the tasks not yet finished; finished files are kept, and :func:`.batching.run_prepared` keeps the
    finished parts of split stacks, as it keeps those of a stack that failed for no fault of its data
    (``summary.resumable_parts``): the same command run again resumes. The tasks get every path absolute; the summary
    and the messages name each input as it was given, as a run in this process does.
    """
    from distributed import as_completed

    out = Path(os.path.abspath(prepared.options.out))
    parts_root = out / PARTS_FOLDER
    live_folder = parts_root / f"{LIVE_PREFIX}{uuid.uuid4().hex}"
    live_folder.mkdir(parents=True)  # removed when the batch ends, however it ends (run_prepared)
    given_jobs = prepared.jobs
    prepared = replace(with_absolute_paths(prepared), live_folder=live_folder)
    wait_for_a_worker(client)  # the first: the checks and the GPU resources below need one to ask
    check_workers_see(client, live_folder, out, [job.source for job in prepared.jobs])
    options = prepared.options
    resources = gpu_resources(client)
    files_bar = None if options.quiet else tqdm(total=len(prepared.jobs), unit="file", desc="files", position=0)
    planes_bar = None if options.quiet else tqdm(total=0, unit="plane", desc="planes", position=1)
    file_futures: dict[Any, Job] = {}  # a file's last task -> the file's job as given
    stacks_in_parts: dict[Any, Path] = {}  # a split stack's assembly -> the folder of its parts
    futures = []
    # the keys of the tasks whose results were let go: a Ctrl-C must not cancel them, for a part whose assembly
    # still waits stays in the scheduler wanted by no client, and cancelling it fails the scheduler's own check
    released: set[str] = set()

    def release(future: Any) -> None:
        released.add(future.key)  # first: a Ctrl-C between the two must not cancel it
        future.release()

    def submit(function: Any, *args: Any) -> Any:
        future = client.submit(function, *args, resources=resources, pure=False,
                               key=f"napari-zssr-{function.__name__}-{uuid.uuid4().hex}")
        futures.append(future)
        return future

    stop_watching = watch_workers(client)
    try:
        for job, given in zip(prepared.jobs, given_jobs):
            try:
                outcome, identity = triage(job, prepared)
            except FILE_ERRORS as error:
                outcome, identity = "failed", {}
                record_failure(summary, given, error)
            if outcome != "todo":
                if outcome != "failed":
                    record_outcome(summary, given, outcome)
                tick(files_bar)
                continue
            planes, channels = plane_counts(job.source, job.series_index)
            ranges = plane_ranges(planes, options.planes_per_task)
            if planes_bar is not None:
                planes_bar.total += planes * channels
                planes_bar.refresh()
            # whole: one kernel estimate from the whole stack; axial mode restores whole volumes along z
            if len(ranges) == 1 or "estimate" in kernel_kinds(vars(options)) or options.axial:
                file_futures[submit(file_task, job, prepared, identity, threads)] = given
                continue
            kinds = checked_outputs(options.outputs)  # with zssr: the resolution report reads it
            folder = parts_folder(parts_root, identity, prepared.settings, prepared.files, kinds)
            folder.mkdir(exist_ok=True)
            finished = [planes_range for planes_range in ranges
                        if is_whole_part(part_path(folder, planes_range), kinds)]
            if finished:
                rest = "; running the rest" if len(finished) < len(ranges) else ""
                say(f"{given.name}: {len(finished)} of its {len(ranges)} parts were finished by a stopped run{rest}")
                tick(planes_bar, sum(stop - start for start, stop in finished) * channels)
            part_futures = [submit(part_task, job, prepared, planes_range, part_path(folder, planes_range), threads)
                            for planes_range in ranges if planes_range not in finished]
            parts = [part_path(folder, planes_range) for planes_range in ranges]
            assembly = submit(assemble_task, job, prepared, identity, parts, *part_futures)
            file_futures[assembly] = given
            stacks_in_parts[assembly] = folder
        for future in as_completed(futures, loop=client.loop):
            job = file_futures.get(future)
            try:
                report = future.result()
            except Exception as error:  # a part's error is reported once, by its file's assembly
                if client.status != "running" or "scheduler-connection-lost" in str(error):  # no file's fault
                    summary.scheduler_lost = True
                    for name in ("distributed.client", "distributed.comm", "distributed.core"):  # its reconnect logs
                        logging.getLogger(name).setLevel(logging.CRITICAL)
                    say("error: the connection to the Dask scheduler was lost; finished files and the finished parts "
                        "of split stacks are kept: run the same command again once the scheduler runs to do the rest")
                    break
                release(future)  # as below
                if job is not None:
                    if future in stacks_in_parts and not isinstance(error, ValueError):  # not its data's fault
                        summary.resumable_parts.add(stacks_in_parts[future])
                    unexpected = not isinstance(error, FILE_ERRORS)  # e.g. KilledWorker: it took down every worker
                    record_failure(summary, job, f"{type(error).__name__}: {error}" if unexpected else error)
                    tick(files_bar)
                continue
            # its result is in: were the scheduler still to keep it for this batch, a worker lost later (holding it)
            # would have its task run again, training and writing for nothing before the tasks that remain
            release(future)
            if job is not None:  # its messages name it as given, not as the tasks' absolute path
                absolute = str(Path(os.path.abspath(job.source)))
                report.messages = [str(job.source) + message[len(absolute):] if message.startswith(absolute)
                                   else message for message in report.messages]
            add_report(summary, report)
            tick(planes_bar, report.planes)
            if job is not None:
                record_outcome(summary, job, "done")
                tick(files_bar)
    except KeyboardInterrupt:
        client.cancel([future for future in futures if future.key not in released])
        raise
    finally:
        stop_watching()
        for bar in (planes_bar, files_bar):
            if bar is not None:
                bar.close()


#: seconds between looks at the scheduler's workers while a batch runs
WORKER_WATCH_S = 5.0


def wait_for_a_worker(client: Any) -> None:
    """Return once the scheduler has a worker, saying first that it has none yet: a cluster asked for just before the
    batch (``cluster.scale(jobs=8)``, an adaptive one) connects its workers over seconds to minutes. Decided on no
    worker at all, GPU workers joining later got no one-task-per-GPU limit, and none was checked for seeing the files.
    """
    if client.scheduler_info().get("workers"):
        return
    say(no_workers_note(client.scheduler.address))
    client.wait_for_workers(1)


def no_workers_note(address: str) -> str:
    return f"note: the scheduler {address} has no workers yet; the tasks wait until some connect"


def watch_workers(client: Any) -> Callable[[], None]:
    """Say when the scheduler has no workers, and when workers come back, while a batch runs; return what stops the
    watch. Without workers the tasks wait and the progress bars stand still, with no other sign: at the start (no
    worker connected yet) and when the last leaves mid-batch (a job scheduler ended the workers' allocation, a node
    went down). A thread looks every :data:`WORKER_WATCH_S` seconds."""
    address = client.scheduler.address

    def count() -> int | None:
        try:
            return len(client.scheduler_info().get("workers", {}))
        except Exception:  # the scheduler lost, or the client closing: the batch's own loop says so
            return None

    def watch(seen: int | None) -> None:
        while not stopped.wait(WORKER_WATCH_S):
            now = count()
            if stopped.is_set():  # the batch ended while the scheduler answered: nothing to say after its summary
                return
            if now == 0 and seen:
                say(f"note: every worker of the scheduler {address} has left; the tasks wait until some connect "
                    "(finished files are kept)")
            elif now and seen == 0:
                say(f"note: {now} worker{'s' if now > 1 else ''} connected to the scheduler {address}; the tasks go on")
            seen = seen if now is None else now

    stopped = threading.Event()
    first = count()
    if first == 0:
        say(no_workers_note(address))
    thread = threading.Thread(target=watch, args=(first,), name="napari-zssr worker watch", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(timeout=1.0)  # a look a lost scheduler does not answer is not waited for: the thread is a daemon

    return stop
