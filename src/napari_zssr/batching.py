"""``napari_zssr.batch``: super-resolve TIFF files into an output folder, in this process or on a Dask cluster.

One implementation behind the command line and scripts. Each input is planned, checked against what a previous run
left (resume), super-resolved plane by plane and written as whole files only: a file by one atomic rename, a stack
split over cluster workers from private part files that are assembled and then renamed. Which files and what is
done: :mod:`.batch_jobs`; the units of work: :mod:`.batch_files`; the Dask part, imported only when a client is
given: :mod:`.cluster`.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import os
import re
import shutil
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields, replace
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .api import checked_warm_start, requested_outputs
from .batch_axial import check_axial_inputs, check_axial_options
from .batch_files import TaskReport, process_file
from .batch_inputs import collect_sources, expanded_home, first_named, plan_jobs
from .batch_jobs import (
    NAME_MAX,
    SERIES_OPTION_ADVICE,
    Job,
    OptionNeeded,
    UsageError,
    check_out,
    check_output_folders,
    check_output_names,
    check_outputs_are_not_inputs,
    input_identity,
    option_name,
    output_path,
    quiet_reader_logs,
    say,
)
from .batch_kernels import check_channel_options, check_kernel_options
from .batch_lock import held_by_another_batch, output_folder_lock, refuse_a_folder_in_use
from .batch_options import CONFOCAL_ONLY, OUTPUT_KINDS, OUTPUT_TYPES, BatchOptions
from .batch_parts import LIVE_FOLDER_NAME, STACK_FOLDER_NAME
from .batch_resume import FILES_MODEL, conflict_message, kernel_kinds, output_state, settings_files
from .core.config import DEFAULT_SCALE, ZSSRConfig, is_switch
from .core.degradation import integer_factors
from .core.device import select_device
from .core.init_weights import WeightsDoNotFit
from .core.network import check_start
from .core.precision import emulated_precision_note, resolve_precision
from .core.resize import pixel_pair, upscale_factors
from .core.units import UNIT_SLIP_HINT, is_whole_number, shown_sizes, unit_slip
from .io.imagej import FLOAT32_DIGITS, STAGED_SUFFIX, float32_loses_precision, imagej_dtype
from .io.tiff import kept_open, read_header

#: hidden folder under ``out`` for the parts of split stacks; resume and input collection never look inside it
PARTS_FOLDER = ".napari-zssr-parts"
#: the temporary names :func:`~.io.imagej.stage_imagej_tiff` writes (left behind only by a killed process)
PARTIAL_TIFF_PATTERN = f".*{STAGED_SUFFIX}"


@dataclass
class WorkerReport:
    """What one worker (or this process) did: for the summary's per-worker lines."""

    host: str
    device: str = ""
    seconds: float = 0.0
    tasks: int = 0
    planes: int = 0


@dataclass
class BatchSummary:
    # the inputs' files, a file of several image series once for each of them (``failed`` names the series)
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    #: ``conflicts`` as the log names them (:attr:`Job.name`: a file's image series with its series), for the list
    #: at the summary's end, where a file of several would otherwise be named once per series, none told apart
    conflict_names: list[str] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    workers: dict[str, WorkerReport] = field(default_factory=dict)  # worker address ("in-process" here) -> report
    seconds: float = 0.0
    scheduler_lost: bool = False  # a cluster run stopped when its scheduler went away: the rest was not run
    not_run: list[Path] = field(default_factory=list)  # the inputs it left, for the rerun to do
    #: ``not_run`` as the log names them (:attr:`Job.name`), for the list at the summary's end: a plate's wells not
    #: run must be told apart, not named as the file once per well
    not_run_names: list[str] = field(default_factory=list)
    #: every input above (done, skipped, conflicts, failed) as (file, series): the others are those not run
    accounted: set[tuple[Path, int | None]] = field(default_factory=set)
    #: the folders of parts of split stacks that failed for no fault of their data (a full disk, a lost worker):
    #: kept for a rerun (a batch that stops early keeps every stack's)
    resumable_parts: set[Path] = field(default_factory=set)

    @property
    def exit_code(self) -> int:
        """The command line's: 0 everything done or skipped, 1 some file failed or conflicted, or the scheduler was
        lost."""
        return 1 if self.failed or self.conflicts or self.scheduler_lost else 0


@dataclass(frozen=True)
class PreparedBatch:
    """A batch checked and planned, before any work: what :func:`run_prepared` runs."""

    options: BatchOptions
    config: ZSSRConfig
    jobs: tuple[Job, ...]
    settings: dict = field(hash=False)
    #: the versions of the PSF and weights files the settings name, as the batch starts (:func:`settings_files`)
    files: dict = field(default_factory=dict, hash=False)
    #: on a cluster, a folder that exists while the batch that submitted the tasks runs: a task still running on a
    #: worker after the batch stopped (Ctrl-C) finds it gone and puts no outputs in place, so a later batch's outputs
    #: are never replaced by a stopped one's
    live_folder: Path | None = None


#: the settings that are switches: from Python only True or False, as a truthy overwrite="no" would act as True
SWITCHES = ("recursive", "overwrite", "quiet", "axial")


def make_options(out: str | os.PathLike, settings: dict[str, Any]) -> BatchOptions:
    """:class:`BatchOptions` from keyword settings; lists become tuples, one value (a path, a number) a tuple of
    one, as the command line's repeatable options take it (``outputs`` is read by :func:`prepare`: a list, or
    "zssr,residual"); ``warm_start=True`` is the switch without a number (auto), False none. A pinhole or an
    excitation wavelength without a PSF model chooses the confocal one."""
    known = {f.name for f in fields(BatchOptions)} - {"out"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"unknown batch setting(s) {unknown}; choose from {sorted(known)}")
    for name in SWITCHES:
        if name in settings and not is_switch(settings[name]):
            raise UsageError(f"{name} must be True or False, got {settings[name]!r}")
    settings = dict(settings)
    for name in ("psf", "wavelength", "excitation_wavelength"):
        if name in settings:
            values = () if settings[name] is None else settings[name]  # None: left out, as the default
            if isinstance(values, (str, os.PathLike, Number)):  # psf="psf.tif", wavelength=520
                values = [values]
            # a PSF file's ~ expanded, as the shell does not in --psf=~/psf.tif
            settings[name] = tuple(expanded_home(str(v).strip()) if name == "psf" else v for v in listed(name, values))
    if isinstance(settings.get("init"), str):  # a weights file's ~ (--init=~/w.npz); the start's names are kept
        settings["init"] = expanded_home(settings["init"])
    if is_switch(settings.get("warm_start")):  # the switch, as --warm-start without N gives it
        settings["warm_start"] = "auto" if settings["warm_start"] else None
    if isinstance(settings.get("device"), torch.device):  # as zssr() takes it; the record keeps its name
        settings["device"] = str(settings["device"])
    if not isinstance(settings.get("kernel"), (str, type(None))):  # one per channel, or one given as a list
        kinds = tuple(listed("kernel", settings["kernel"]))
        settings["kernel"] = kinds[0] if len(kinds) == 1 else kinds or None
    if settings.get("psf_model") is None and any(settings.get(name) not in (None, ()) for name in CONFOCAL_ONLY):
        settings["psf_model"] = "confocal"  # a pinhole or an excitation wavelength says which model is meant
    return BatchOptions(out=output_folder(out), **settings)


def listed(name: str, values: object) -> Iterable:
    """A setting given one per channel (or file), as an iterable; anything else a usage error naming it, not a bare
    'object is not iterable'."""
    if not isinstance(values, Iterable):
        raise UsageError(f"{name} must be one value or a list of them, got {type(values).__name__} {values!r}")
    return values


def output_folder(out: str | bytes | os.PathLike) -> Path:
    """``out`` as a path, ``~`` expanded (the shell leaves it in ``--out=~/results``); an empty one (an unset
    variable) would be the current folder, None or a number a traceback from pathlib: usage errors."""
    folder = os.fsdecode(out) if isinstance(out, (str, bytes, os.PathLike)) else ""
    if not folder.strip():
        raise UsageError(f"the output folder (--out, out=) must be a path, got {out!r} (an unset variable?)")
    return Path(expanded_home(folder))


@contextmanager
def refused_unreachable_paths() -> Iterator[None]:
    """A path under a folder this user cannot enter (no execute permission), or with a name longer than file systems
    take: Python cannot even tell whether it exists, and raises; a usage error that names it, not a traceback."""
    try:
        yield
    except PermissionError as error:
        raise UsageError(f"{error.filename or error}: permission denied (this user cannot look into a folder on its "
                         "path)") from None
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            raise
        raise UsageError(f"{error.filename or error}: no such file or folder (a name on its path is longer than file "
                         f"systems take, {NAME_MAX} bytes); check the path") from None


def prepare(inputs: Sequence[str | os.PathLike], options: BatchOptions, *, device_here: bool = True) -> PreparedBatch:
    """Every check that needs no training, so that a usage error stops a batch before any work or output.

    ``device_here=False`` (a cluster): the device and precision are resolved on each worker, not on this machine.
    """
    return plan_inputs(inputs, *checked_settings(options, device_here=device_here))


def checked_settings(options: BatchOptions, *, device_here: bool = True) -> tuple[BatchOptions, ZSSRConfig]:
    """The checks of :func:`prepare` that read no input: the settings completed (outputs, warm start, scale) and the
    training's configuration. Quick, and without side effects: the command line makes them before it reaches a
    scheduler, and reaches it before it scans the inputs, which may take long (folders on a network file system).
    """
    try:
        options = replace(options, outputs=requested_outputs(options.outputs))  # each kind once: one file per kind
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    if not is_whole_number(options.planes_per_task) or options.planes_per_task < 2:  # "4" failed in the comparison
        raise UsageError(f"planes_per_task must be a whole number >= 2, got {options.planes_per_task!r}")
    if options.dtype not in OUTPUT_TYPES:
        raise UsageError(f"dtype must be one of {', '.join(OUTPUT_TYPES)}, got {options.dtype!r}")
    try:
        for name in ("pixel_size", "psf_pixel_size"):  # named as the command line's option and batch()'s argument
            pixel_pair(getattr(options, name), f"{option_name(name)} ({name}=)")
        overrides = {"max_iterations": options.max_iterations, "precision": options.precision,
                     "init": options.init,
                     "noise_std": options.noise_std, "background_window": options.background_window}
        config = ZSSRConfig.preset(options.preset, seed=options.seed, device=options.device,
                                   **{key: value for key, value in overrides.items() if value is not None})
        if device_here:
            device = select_device(config.device)
            resolve_precision(config.precision, device)  # a usage error, not one per file
            slow = emulated_precision_note(config.precision, device)
            if slow:
                say(f"note: --precision bfloat16: {slow}")
        try:
            check_start(config)  # a weights file that does not load: one usage error, not one per file
        except WeightsDoNotFit as error:  # the network's width and depth are no options here
            raise UsageError(f"--init: {error.mismatch}; give a weights file made for this version's network "
                             "(scripts/train_init.py), or --init scratch") from None
    except (ValueError, TypeError) as error:  # named as the option the value was given in (ZSSRConfig.device: --device)
        # a field, not a method: "ZSSRConfig.preset('fast')" in an example stays as it is
        raise UsageError(re.sub(r"ZSSRConfig\.(\w+)\b(?!\()", lambda field: option_name(field[1]), str(error))) \
            from None
    out = options.out.resolve()
    with refused_unreachable_paths():
        check_out(out, options.out)
        refuse_a_folder_in_use(out)
    check_axial_options(options)
    if options.warm_start == "auto":
        options = replace(options, warm_start=config.warm_start_iterations())
    try:
        checked_warm_start(options.warm_start, config)
    except (ValueError, TypeError):
        raise UsageError(f"--warm-start must be a whole number from 1 to --max-iterations ({config.max_iterations}), "
                         f"got {options.warm_start!r}: a warm-started plane trains at most as long as a plane "
                         "trained fully") \
            from None
    if not options.axial:
        options = replace(options, scale=DEFAULT_SCALE if options.scale is None else options.scale)
        try:
            factors = upscale_factors(options.scale)
            if set(kernel_kinds(vars(options))) != {"none"}:
                integer_factors(factors)  # a kernel needs whole factors: one usage error, not one failure per file
        except ValueError as error:
            raise UsageError(f"--scale {options.scale}: {error}") from None
        check_kernel_options(options)  # after the scale: each PSF file's kernel is made at it
    return options, config


def plan_inputs(inputs: Sequence[str | os.PathLike], options: BatchOptions, config: ZSSRConfig) -> PreparedBatch:
    """The rest of :func:`prepare`, on settings :func:`checked_settings` gave: the inputs found, named and read as
    far as the checks need (headers)."""
    with refused_unreachable_paths():
        jobs = plan_jobs(collect_sources([str(item) for item in inputs], options.recursive, options.out.resolve()))
    check_output_folders(jobs, options.outputs)
    check_output_names(jobs, options.outputs, options.out)
    check_outputs_are_not_inputs(jobs, options.outputs, options.out)
    with kept_open(job.source for job in jobs):  # the checks read each series' header: a plate parsed once
        if options.axial:
            check_axial_inputs(jobs, options, config)
        # options given per channel, for inputs of as many channels (an axial profile's optics are every channel's)
        check_channel_options(jobs, replace(options, kernel="optics") if options.axial else options)
        if options.dtype == "input":
            note_dtype_fallbacks(jobs)
        if options.pixel_size is not None:
            note_pixel_sizes_replaced(jobs, options.pixel_size)
    settings = settings_record(options, config)
    return PreparedBatch(options, config, tuple(jobs), settings, settings_files(settings))


def triage(job: Job, prepared: PreparedBatch) -> tuple[str, dict]:
    """Whether an input is "skipped" (done before), a "conflict" (left alone) or "todo"; and its identity."""
    options = prepared.options
    identity = input_identity(job.source, job.series)
    paths = {kind: output_path(options.out, job, kind) for kind in options.outputs}
    state, decided_by = output_state(paths, prepared.settings, identity, prepared.files)
    if state == "same":
        return "skipped", identity
    conflict = None if decided_by is None else conflict_message(state, decided_by, options.overwrite,
                                                                 prepared.settings, identity)
    if conflict is not None:
        say(f"{job.name}: {conflict}")
        return "conflict", identity
    if state == "changed":
        say(f"{job.name}: changed since {decided_by} was made from it; redoing it")
    elif state == "z planes":
        say(f"{job.name}: {decided_by} was made from its planes read as channels; with its z spacing and nothing "
            "marking them as channels, they are read as z planes now (axes ZYX); redoing it")
    elif state == "axial profile":
        say(f"{job.name}: {decided_by} took its axial profile from the optics of an acquisition mode neither model "
            "describes; it now takes the Gaussian of the z-step (--psf-model keeps the optics'); redoing it")
    elif state == "kernel changed":
        changed = next(iter(prepared.files)) if len(prepared.files) == 1 else f"one of {', '.join(prepared.files)}"
        say(f"{job.name}: {changed} changed since {decided_by} was made with it; redoing it")
    if state != "missing":  # redone: outputs of kinds not asked for this time would stay behind as stale results
        stale = [path for kind in OUTPUT_KINDS if kind not in options.outputs
                 if (path := output_path(options.out, job, kind)).is_file()]
        if stale:
            say(f"note: {job.name}: {', '.join(path.name for path in stale)} from an earlier run stay as they were "
                "(not asked for this time): delete them if this run replaces them")
    return "todo", identity


#: errors that fail one file (its data, its optics, a full disk...) and let the batch go on
FILE_ERRORS = (ValueError, TypeError, OSError, RuntimeError)


def add_report(summary: BatchSummary, report: TaskReport) -> None:
    """Count a finished task for its worker and print its messages."""
    entry = summary.workers.setdefault(report.worker, WorkerReport(report.host))
    entry.device = report.device or entry.device
    entry.seconds += report.seconds
    entry.tasks += 1
    entry.planes += report.planes
    for message in report.messages:
        say(message)


def run_in_process(prepared: PreparedBatch, summary: BatchSummary) -> None:
    """The batch in this process, one file after the other, each whole (warm start over its whole stack)."""
    quiet = prepared.options.quiet
    files_bar = None if quiet else tqdm(total=len(prepared.jobs), unit="file", desc="files", position=0)
    planes_bar = None if quiet else tqdm(unit="volume" if prepared.options.axial else "plane", position=1, leave=False)
    try:
        for job in prepared.jobs:
            try:
                outcome, identity = triage(job, prepared)
                if outcome == "todo":
                    add_report(summary, process_file(job, prepared, identity, planes_bar))
                    outcome = "done"
                record_outcome(summary, job, outcome)
            except FILE_ERRORS as error:
                record_failure(summary, job, error)
            if files_bar is not None:
                files_bar.update()
    finally:
        for bar in (planes_bar, files_bar):
            if bar is not None:
                bar.close()


def record_outcome(summary: BatchSummary, job: Job, outcome: str) -> None:
    """Count ``job`` in ``summary`` as ``outcome`` ("done", "skipped" or "conflict"); a conflict is named again at the
    summary's end."""
    {"done": summary.done, "skipped": summary.skipped, "conflict": summary.conflicts}[outcome].append(job.source)
    summary.accounted.add((job.source, job.series))
    if outcome == "conflict":
        summary.conflict_names.append(job.name)


def record_failure(summary: BatchSummary, job: Job, error: BaseException | str) -> None:
    """Say that an input failed, and list it for the summary's end: a file's image series named in its reason (the
    summary lists files)."""
    if job.series is not None and isinstance(error, OptionNeeded):  # not "give --z-step" for the whole file
        error = f"{error}{SERIES_OPTION_ADVICE}"
    if isinstance(error, FileNotFoundError) and not job.source.exists():  # not a bare "[Errno 2]" of its path
        error = "the input was removed or moved since the batch started (nothing was written for it)"
    say(f"{job.name}: failed: {error}")
    summary.failed.append((job.source, str(error) if job.series is None else f"series {job.series}: {error}"))
    summary.accounted.add((job.source, job.series))


def clean_stale_parts(out: Path, resumable: Collection[Path] | None = None) -> None:
    """Remove what a killed or stopped run left under ``out``: part files of split stacks and half-written TIFFs.

    ``resumable``: the folders of finished parts to keep for a rerun; None keeps every one (as a batch starts,
    before it knows which of them it can use, and when it stops early). Only names this tool makes are touched
    (hidden, never an output's name), and no link is followed. It runs under the output folder's lock
    (:func:`output_folder_lock`), and leaves alone the folders of batches running at the same time with another
    ``--out`` nested in this one (their half-written files there), or holding it.
    """
    if not out.is_dir():
        return
    remove_stale_parts(out / PARTS_FOLDER, resumable)
    if any(held_by_another_batch(folder) for folder in out.resolve().parents):
        return  # a batch writing to a folder above may be writing here
    for folder, subfolders, names in os.walk(out):
        subfolders[:] = [name for name in subfolders if not held_by_another_batch(Path(folder) / name)]
        for name in fnmatch.filter(names, PARTIAL_TIFF_PATTERN):
            try:
                (Path(folder) / name).unlink(missing_ok=True)
            except OSError:  # another user's, in a shared folder: theirs to remove
                pass


def remove_stale_parts(root: Path, resumable: Collection[Path] | None) -> None:
    """Under the parts' folder ``root``: remove the batches' live folders and the stacks' folders of parts but the
    ``resumable`` ones (None: keep every stack's), then ``root`` itself once it is empty. A kept folder keeps what a
    killed task left half-written in it (a task of a stopped batch may still be writing there); it goes with it."""
    if not root.is_dir():
        return
    kept_names = None if resumable is None else {folder.name for folder in resumable}
    with suppress(OSError):
        for folder in root.iterdir():
            if folder.is_symlink() or not folder.is_dir():
                continue
            stale_stack = STACK_FOLDER_NAME.fullmatch(folder.name) and kept_names is not None \
                and folder.name not in kept_names
            if stale_stack or LIVE_FOLDER_NAME.fullmatch(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
        root.rmdir()  # only when empty


def run_prepared(prepared: PreparedBatch, client: Any = None, threads: int | None = None) -> BatchSummary:
    """Run a planned batch in this process (``client`` None) or on a ``distributed.Client``; print the summary.

    ``threads``: torch threads per cluster task (None: each host's cores shared among the tasks it runs at once).
    Raises :class:`UsageError` for a cluster's workers that cannot import this package or run another version.
    """
    summary = BatchSummary()
    start = time.perf_counter()
    out = prepared.options.out
    if client is not None:
        from .cluster import check_workers

        status = str(getattr(client, "status", "running"))
        if status in ("closing", "closed"):  # its event loop is gone: Dask's own error says "IOLoop is closed"
            raise UsageError(f"the Dask client is {status}: make a new one, e.g. distributed.Client(address)")
        try:
            check_workers(client)  # a usage error before the output folder is made
        except OSError as error:  # distributed's CommClosedError and timeouts among them
            raise UsageError(f"the Dask scheduler {getattr(client.scheduler, 'address', '')} does not answer "
                             f"({type(error).__name__}: {error}): start it again, or give another") from None
    with output_folder_lock(out):
        clean_stale_parts(out)
        try:
            # a plate's wells are jobs one after the other here, and on a cluster each one's triage and plane count
            with kept_open(job.source for job in prepared.jobs):
                if client is None:
                    run_in_process(prepared, summary)
                else:
                    from .cluster import run_on_cluster

                    run_on_cluster(prepared, client, summary, threads)
        except BaseException as error:  # stopped (Ctrl-C) before its end: every stack's finished parts stay for a rerun
            clean_stale_parts(out)
            if isinstance(error, KeyboardInterrupt):  # what the batch did before, as at its end
                with contextlib.suppress(OSError):  # a hang-up took the terminal away (EIO): the status still says
                    say_summary(prepared, summary, start, "interrupted")
            raise
        clean_stale_parts(out, None if summary.scheduler_lost else summary.resumable_parts)
    return say_summary(prepared, summary, start, "the scheduler was lost" if summary.scheduler_lost else None)


def say_summary(prepared: PreparedBatch, summary: BatchSummary, start: float, stopped: str | None) -> BatchSummary:
    """Print what the batch did, per worker, and the inputs that need the user again; ``stopped`` says why a batch
    ended before its end (None: it ran to its end), and the inputs it did not run are counted and listed."""
    if stopped is not None:
        left = inputs_not_run(prepared.jobs, summary)
        summary.not_run, summary.not_run_names = [job.source for job in left], [job.name for job in left]
    summary.seconds = time.perf_counter() - start
    not_run = f", not run {len(summary.not_run)}" if stopped is not None else ""
    say(f"done {len(summary.done)}, skipped {len(summary.skipped)} (already done), "
        f"conflicts {len(summary.conflicts)}, failed {len(summary.failed)}{not_run}, {summary.seconds:.1f} s")
    for worker, report in sorted(summary.workers.items()):
        say(f"  {worker} on {report.host} ({report.device}): {report.tasks} task(s), {report.planes} plane(s), "
            f"{report.seconds:.1f} s")
    _list_at_end("failed", [f"{path}: {reason}" for path, reason in summary.failed])
    _list_at_end("left alone (why: see above)", summary.conflict_names)
    _list_at_end(f"not run ({stopped}: run the same command again)", summary.not_run_names)
    return summary


def inputs_not_run(jobs: Sequence[Job], summary: BatchSummary) -> list[Job]:
    """The inputs of ``jobs`` that ``summary`` does not account for (each image series of a file of several on its
    own)."""
    return [job for job in jobs if (job.source, job.series) not in summary.accounted]


#: files a batch's last lines name, at most, for each outcome that needs the user (the log above has every one)
LISTED_AT_END = 20


def _list_at_end(what: str, lines: Sequence[str]) -> None:
    """The inputs that need the user again at the end of a long batch's log, where they are looked for."""
    if lines:
        say(f"{what}:")
        for line in lines[:LISTED_AT_END]:
            say(f"  {line}")
        if len(lines) > LISTED_AT_END:
            say(f"  and {len(lines) - LISTED_AT_END} more (see above)")


def batch(inputs: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike, *, client: Any = None,
          threads: int | None = None, **settings: Any) -> BatchSummary:
    """Super-resolve TIFF files, folders or glob patterns into ``out``, as the ``napari-zssr`` command does.

    ``settings`` are :class:`BatchOptions` fields (the command line's options: ``scale``, ``preset``, ``psf``,
    ``outputs``..., ``axial=True`` with ``z_step``). ``client``: a ``distributed.Client`` to run on a Dask cluster
    (each file or image series of a file of several, or each range of ``planes_per_task`` planes of a bigger stack
    in lateral runs, is one task); None runs here. ``threads``: torch threads per cluster task (None: each host's
    cores shared among the tasks it runs at once). A rerun skips what is done. Raises :class:`UsageError` for bad
    settings or inputs before any work; a file that fails is reported in the summary.
    """
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]  # one file, folder or pattern (bytes too, as os takes them: not a list of numbers)
    elif hasattr(inputs, "shape") and hasattr(inputs, "dtype"):  # an image (numpy, dask, torch), not its rows
        inputs = [inputs]
    elif not isinstance(inputs, Iterable):
        raise TypeError(f"inputs must be a file, folder or glob pattern, or a list of them, got "
                        f"{type(inputs).__name__} {inputs!r}")
    inputs = [os.fsdecode(item) if isinstance(item, bytes) else item for item in inputs]
    others = [item for item in inputs if not isinstance(item, (str, os.PathLike))]
    if others:  # an array's rows were each taken for a pattern, each said to match nothing
        other = others[0]
        shown = f" of shape {tuple(other.shape)}" if hasattr(other, "shape") else f" {other!r}"
        raise TypeError(f"inputs must be files, folders or glob patterns (paths), got {type(other).__name__}{shown} "
                        "among them; for an image in memory use napari_zssr.zssr() or zssr_stack()")
    if client is not None and not callable(getattr(client, "submit", None)):  # an address: an AttributeError deep in
        raise TypeError(f"client must be a distributed.Client (e.g. distributed.Client('tcp://host:8786')) or None, "
                        f"got {type(client).__name__} {client!r}")
    if threads is not None and (not is_whole_number(threads) or threads < 1):  # else every cluster task fails in torch
        raise UsageError(f"threads must be a whole number >= 1 (torch threads per cluster task) or None, got "
                         f"{threads!r}")
    with quiet_reader_logs():
        prepared = prepare(inputs, make_options(out, settings), device_here=client is None)
        return run_prepared(prepared, client, threads)


def note_dtype_fallbacks(jobs: Sequence[Job]) -> None:
    for job in jobs:
        header = read_header(job.source, series=job.series_index)
        # a mask or complex values fail later, named: no outputs to note
        numeric = header is not None and np.issubdtype(header.dtype, np.number) and \
            not np.issubdtype(header.dtype, np.complexfloating)
        if numeric and imagej_dtype(header.dtype) != header.dtype:
            digits = f" ({FLOAT32_DIGITS})" if float32_loses_precision(header.dtype) else ""
            say(f"note: {job.name} is {header.dtype}, which ImageJ TIFFs cannot hold; its outputs will be "
                f"float32{digits}")


def note_pixel_sizes_replaced(jobs: Sequence[Job], pixel_size: float | tuple[float, float]) -> None:
    """Say which inputs give a pixel size of their own that ``--pixel-size`` replaces: given for the files of a batch
    that lack one, it silently recalibrated those that have one (and their kernels from the optics)."""
    given = pixel_pair(pixel_size)
    replaced, slipped = [], False
    for job in jobs:
        header = read_header(job.source, series=job.series_index)
        own = None if header is None else header.pixel_size
        if own is not None and not np.allclose(own, given, rtol=1e-6, atol=0.0):
            replaced.append(f"{job.name} {shown_sizes(own)} µm")
            slipped = slipped or unit_slip(given, own)
    if replaced:
        # a size typed in nm is 1,000 times the file's: it only recalibrates the outputs, so it is said, not refused
        say(f"note: --pixel-size {shown_sizes(given)} µm replaces the pixel size {len(replaced)} input(s) give "
            f"({first_named(replaced)}){' — ' + UNIT_SLIP_HINT if slipped else ''}")


def settings_record(options: BatchOptions, config: ZSSRConfig) -> dict:
    """What decides an output's content besides its input: equal records mean an output can be kept.

    Axial runs add ``axial`` and ``z_step``; lateral records stay as they were, so their outputs stay done (but a
    kernel from the optics without ``--psf-model``: :data:`~.batch_resume.FILES_MODEL`).
    """
    axial = {"axial": True, "z_step": options.z_step} if options.axial else {}
    # left out, each file's acquisition mode decides the model of a kernel or an axial profile from the optics
    from_optics = options.axial or "optics" in kernel_kinds(vars(options))
    psf_model = options.psf_model or (FILES_MODEL if from_optics else None)
    config_record = config.to_dict()
    if not config.back_projects_to_noise:
        del config_record["back_projection_to_noise"]  # changes nothing here, and records from before it stay equal
    if not config.background_window or options.axial:
        del config_record["background_window"]  # none taken off: records from before it stay equal (LEFT_OUT_AT)
    return json.loads(json.dumps({"scale": options.scale, **axial, "config": config_record,
            "psf": [str(Path(p).resolve()) for p in options.psf], "psf_pixel_size": options.psf_pixel_size,
            "pixel_size": options.pixel_size, "measured_psf": options.measured_psf, "warm_start": options.warm_start,
            "dtype": options.dtype, "kernel": options.kernel, "psf_model": psf_model,
            "na": options.na, "wavelength": options.wavelength, "refractive_index": options.refractive_index,
            "excitation_wavelength": options.excitation_wavelength, "pinhole": options.pinhole}))

