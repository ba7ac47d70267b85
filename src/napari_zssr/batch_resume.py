"""What a rerun finds already done: the state of an input's existing outputs (the same settings and input: kept;
other settings, a changed input: a conflict, or redone with --overwrite) and the messages that name the difference.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .batch_jobs import header_counts, input_header, settings_of_info
from .core.config import INITS
from .core.device import select_device
from .core.optics import Optics
from .core.precision import resolve_precision
from .core.resize import as_scale_pair
from .io.ome import OpticsMetadata, channel_acquisition, read_optics
from .io.tiff import image_axes, read_header

#: how near a --pixel-size or --z-step must be to the file's own to count as it (TIFF stores them as fractions)
CALIBRATION_RTOL = 1e-6


def comparable_record(info: str | None) -> dict | None:
    """:func:`settings_of_info`'s record where it has the shape the batch writes, so that its settings and input can
    be compared with a run's; None for any other (a record edited by hand: its output is then "unreadable", left
    alone, where comparing it stopped the batch with an AttributeError)."""
    record = settings_of_info(info)
    if record is None or not isinstance(record["settings"], dict):
        return None
    made_from = record.get("input") or {}
    if not isinstance(made_from, dict):
        return None
    number = (int, type(None))
    fields = [(record["settings"].get("config", {}), dict), (made_from.get("path", ""), str),
              (made_from.get("size"), number), (made_from.get("mtime_ns"), number), (made_from.get("series"), number)]
    return record if all(isinstance(value, kind) for value, kind in fields) else None


#: states of an input's existing outputs, most serious first: the first that applies to any output decides.
STATES = ("folder", "unreadable", "other input", "different", "changed", "z planes", "axial profile", "kernel changed",
          "missing", "same")
#: options that describe the optics: any of them asks for a kernel from the optics (the axial profile, in axial mode)
OPTICS_OPTIONS = ("na", "psf_model", "wavelength", "refractive_index", "excitation_wavelength", "pinhole")


def kernel_kinds(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The kernel sources a batch's settings ask for (its options' fields, or an output's record of them): one for
    every channel, or one per channel (``kernel``), else the one the other settings imply."""
    kernel = settings.get("kernel")
    if kernel:
        return (kernel,) if isinstance(kernel, str) else tuple(kernel)
    if settings.get("psf"):
        return ("psf",)
    return ("optics",) if any(is_given(settings.get(name)) for name in OPTICS_OPTIONS) else ("none",)


def is_given(value: Any) -> bool:
    """Whether an option was given: not None and not an empty list (of repeatable options); a 0 is given (a bad
    value that ``batch()`` takes from Python, to be refused rather than ignored)."""
    return value is not None and not (isinstance(value, (list, tuple)) and not value)


def settings_files(settings: dict) -> dict[str, list[int]]:
    """The size and modification time of each PSF and weights file ``settings`` name: one replaced in place (a PSF
    measured again under the same name) changes the outputs made with it."""
    init = settings.get("config", {}).get("init")
    named = [*settings.get("psf", []), *([] if init in INITS else [init])]
    files = {path: Path(path).stat() for path in named if isinstance(path, str) and Path(path).is_file()}
    return {path: [stat.st_size, stat.st_mtime_ns] for path, stat in files.items()}


def output_state(paths: dict[str, Path], settings: dict, identity: dict,
                 files: dict) -> tuple[str, Path | None]:
    """The state of an input's outputs (one of :data:`STATES`) and the output file that decided it; ``files``: the
    versions of the files the settings name (:func:`settings_files`)."""
    found: dict[str, Path] = {}
    # each read once for all the input's outputs, where asked
    axes_now = functools.cache(functools.partial(axes_as_read, identity))
    unmodelled_now = functools.cache(functools.partial(_files_unmodelled_mode, identity))
    for path in paths.values():
        found.setdefault(_state_of(path, settings, identity, files, axes_now, unmodelled_now), path)
    state = next(state for state in STATES if state in found or state == "same")
    return state, found.get(state)


def _state_of(path: Path, settings: dict, identity: dict, files: dict, axes_now: Callable[[], str | None],
              unmodelled_now: Callable[[], bool]) -> str:
    if path.is_dir():
        return "folder"
    if not path.exists():
        return "missing"
    header = read_header(path)
    record = comparable_record(None if header is None else header.info)
    if record is None:
        return "unreadable"
    made_from = record.get("input")
    if made_from is None:  # written by a version that did not record its input
        return "different"
    if made_from.get("path") != identity["path"] and not _same_file_moved(made_from, identity):
        return "other input"
    if made_from.get("series") != identity.get("series"):  # another image series of the file: never mixed up
        return "other input"
    then, now = comparable_settings(record["settings"], settings, identity, _channels(record))
    if then != now:
        return "different"
    if (made_from.get("size"), made_from.get("mtime_ns")) != (identity["size"], identity["mtime_ns"]):
        return "changed"
    # an ImageJ z-stack saved by tifffile without axes was read as channels before its z spacing made it z planes
    # (io.channels.channel_reading): the only input read otherwise since, so only those inputs are read again
    if record.get("input_axes") == "CYX" and axes_now() == "ZYX":
        return "z planes"
    if settings.get("axial") and _profile_now_default(record, settings, unmodelled_now):
        return "axial profile"
    # outputs written before the files were recorded are taken as made with the files named now
    return "kernel changed" if record.get("settings_files", files) != files else "same"


def _profile_now_default(record: dict, settings: dict, unmodelled_now: Callable[[], bool]) -> bool:
    """Whether an axial output took its profile from the optics of a file whose acquisition mode no model describes
    (a light sheet), which now take the Gaussian of the z-step (:func:`.batch_axial.axial_optics`): the only axial
    input whose profile is made otherwise since, so only outputs of such a file whose profile came from the optics,
    made without optics options, are read for it."""
    asked = any(settings.get(name) for name in OPTICS_OPTIONS if name != "psf_model") or \
        settings.get("psf_model") not in (None, FILES_MODEL)
    if asked:  # optics options take the file's optics whatever its mode
        return False
    channels = record.get("channels")
    if not isinstance(channels, list) or not any(
            isinstance(channel, dict) and isinstance(channel.get("kernel"), dict)
            and channel["kernel"].get("source") == "optics" for channel in channels):
        return False
    return unmodelled_now()


def _files_unmodelled_mode(identity: dict) -> bool:
    """Whether the input ``identity`` names has an acquisition mode neither PSF model describes
    (:meth:`~.io.ome.OpticsMetadata.unmodelled_mode`)."""
    optics = _files_optics(identity)
    return optics is not None and optics[0] is not None and optics[0].unmodelled_mode() is not None


def axes_as_read(identity: dict) -> str | None:
    """The axes the batch reads the input ``identity`` names with (as the outputs' records give them); None where it
    cannot be read."""
    header = input_header(identity, samples_as_channels=True)
    return None if header is None else image_axes(header.axes, len(header.shape))


def _same_file_moved(made_from: dict, identity: dict) -> bool:
    """Whether an output's input and ``identity`` are one file reached by another path: where the recorded path
    still leads to a file, the same file (a link, another mount); where it is gone (the folder moved, mounted
    elsewhere), a file of the same name, size and modification time."""
    recorded = Path(made_from.get("path", ""))
    try:
        if recorded.exists():
            return os.path.samefile(recorded, identity["path"])
    except OSError:
        return False
    return (recorded.name == Path(identity["path"]).name
            and (made_from.get("size"), made_from.get("mtime_ns")) == (identity["size"], identity["mtime_ns"]))


#: a settings record's ``psf_model`` where ``--psf-model`` is left out: each file's acquisition mode decides (a
#: record without one is from before: its runs took widefield)
FILES_MODEL = "the file's"


def deciding(settings: dict) -> dict:
    """The settings that decide an output's content: all but the device, whose choice (``auto``, ``cpu``, ``cuda``)
    changes where a run goes, not what it makes, so that a batch resumed on another machine keeps what is done;
    defaults spelled out count as left out (``--kernel psf`` beside ``--psf``); ``psf_model`` of a record from
    before the acquisition mode was read is the widefield model its runs took."""
    config = {key: value for key, value in settings.get("config", {}).items() if key != "device"}
    # an axial run takes its optics from each file whatever the options imply: its kernel setting stays as recorded
    # one kernel given once per channel is the one given once (as records from before per-channel kernels say it)
    kinds = kernel_kinds(settings)
    kernel = settings.get("kernel") if settings.get("axial") else kinds[0] if len(set(kinds)) == 1 else list(kinds)
    return {**settings, "config": config, "kernel": kernel, "psf_model": settings.get("psf_model") or Optics.modality}


def comparable_settings(then: dict, now: dict, identity: dict | None, channels: Sequence = ()) -> tuple[dict, dict]:
    """What decides the outputs of the input ``identity`` names (:func:`input_identity`) in two settings records (an
    output's, whose ``channels`` record their runs, and this run's): :func:`deciding`, or where they differ,
    :func:`input_settings` (None: the file not read); a precision ``auto`` beside a named one as what it stood for
    (:func:`_precision_named`)."""
    then, now = _precision_named(then, channels, now)
    if deciding(then) == deciding(now) or identity is None:
        return deciding(then), deciding(now)
    return input_settings(then, identity), input_settings(now, identity)


def _precision_named(then: dict, channels: Sequence, now: dict) -> tuple[dict, dict]:
    """An output's settings ``then`` and this run's ``now``, where one of them leaves the precision to ``auto`` and
    the other names one, with ``auto`` replaced by what it stands for: in ``then``, the precision its ``channels``
    ran in; now, the one ``auto`` takes on this machine's device. A precision spelled out (``--precision bfloat16``
    where ``auto`` took bfloat16) is no other setting. Both ``auto``: the same setting, whatever each machine took
    (as the device is left out of what decides an output: :func:`deciding`)."""
    precision_then = then.get("config", {}).get("precision")
    precision_now = now.get("config", {}).get("precision")
    if (precision_then == "auto") == (precision_now == "auto"):
        return then, now
    if precision_then == "auto":
        ran_in = {channel.get("precision") for channel in channels if isinstance(channel, dict)} - {None}
        return (_with_precision(then, ran_in.pop()) if len(ran_in) == 1 else then), now
    try:
        takes = str(resolve_precision("auto", select_device(now["config"].get("device")))).removeprefix("torch.")
    except (ValueError, TypeError, RuntimeError):  # a device this machine lacks: the run refuses it itself
        return then, now
    return then, _with_precision(now, takes)


def _channels(record: dict) -> list:
    """The runs an output's record lists, one per channel (none in a record edited by hand)."""
    channels = record.get("channels")
    return channels if isinstance(channels, list) else []


def _with_precision(settings: dict, precision: Any) -> dict:
    return {**settings, "config": {**settings["config"], "precision": precision}}


def input_settings(settings: dict, identity: dict) -> dict:
    """What decides the outputs of the input ``identity`` names in ``settings`` (:func:`deciding`), a
    ``--pixel-size``, ``--z-step`` or optics option equal to its own (its series' in a file of several) left out (it
    changes nothing): the same for runs that differ only by giving those or not; so is ``--warm-start`` for an input
    of one plane a channel, which nothing starts warm. A file whose header cannot be read: :func:`deciding` alone."""
    header = input_header(identity)
    own = {} if header is None else {"pixel_size": header.pixel_size, "z_step": header.z_spacing}
    settings = _own_left_out(settings, own)
    counts = header_counts(Path(identity["path"]), identity.get("series") or 0)
    if counts is not None and counts[0] == 1 and not settings.get("axial"):  # one plane a channel: none warm-starts
        settings = {**settings, "warm_start": None}
    optics = _files_optics(identity) if _optics_options_given(settings) else None
    if optics is not None:
        settings = _files_model_named(_own_optics_left_out(settings, *optics), *optics)
    return deciding(settings)


def _optics_options_given(settings: dict) -> bool:
    """Whether ``settings`` hold anything the file's optics decide: an optics option, or the model left to them."""
    return settings.get("psf_model") == FILES_MODEL or any(
        settings.get(name) for name in ("na", "refractive_index", "wavelength", "excitation_wavelength"))


def _files_optics(identity: dict) -> tuple[OpticsMetadata | None, int] | None:
    """What the OME metadata of the input ``identity`` names says of its optics (None: it has none), and its channel
    count; None where the file cannot be read (it fails on its own)."""
    series = identity.get("series", 0)
    try:
        optics = read_optics(identity["path"], series)
    except (OSError, ValueError):
        return None
    counts = header_counts(Path(identity["path"]), series)
    return optics, 1 if counts is None else counts[1]


def _own_optics_left_out(settings: dict, optics: OpticsMetadata | None, channels: int) -> dict:
    """``settings`` with a ``--na``, ``--refractive-index``, ``--wavelength`` or ``--excitation-wavelength`` equal to
    what the input's OME metadata says (``optics``, of its ``channels``; their defaults) left out: a default spelled
    out is no other setting. A wavelength counts where given once for every channel or once per channel, and the
    file gives each channel's."""
    if optics is None:
        return settings

    def same(given: Sequence[float], own: Sequence[float | None]) -> bool:
        if len(given) == 1:
            given = list(given) * channels
        return len(given) == len(own) == channels and None not in own and bool(
            np.allclose(given, np.asarray(own, dtype=float), rtol=1e-6, atol=0))

    left_out = {}
    for name, own in (("na", optics.na), ("refractive_index", optics.refractive_index)):
        if settings.get(name) is not None and own is not None and same([settings[name]], [own] * channels):
            left_out[name] = None
    for name, own in (("wavelength", optics.emission_wavelengths),
                      ("excitation_wavelength", optics.excitation_wavelengths)):
        if settings.get(name) and same(settings[name], own):
            left_out[name] = []
    return {**settings, **left_out}


def _files_model_named(settings: dict, optics: OpticsMetadata | None, channels: int) -> dict:
    """``settings`` with the model each file's acquisition mode decides (:data:`FILES_MODEL`) named where every
    channel of the input (``optics``, of its ``channels``) takes the same (:func:`~.io.ome.channel_acquisition`): a
    ``--psf-model`` equal to it, or a run from before that took widefield on a file that names widefield or nothing,
    is no other setting."""
    if settings.get("psf_model") != FILES_MODEL:
        return settings
    models = {channel_acquisition(optics, channel, channels).modality for channel in range(channels)}
    return {**settings, "psf_model": models.pop()} if len(models) == 1 else settings


def _own_left_out(settings: dict, own: Mapping[str, Any]) -> dict:
    """``settings`` with each of ``own``'s names set to None where it equals the input's own value."""
    def equal(given: Any, file_value: Any) -> bool:
        try:
            return file_value is not None and bool(np.allclose(as_scale_pair(given), as_scale_pair(file_value),
                                                               rtol=CALIBRATION_RTOL, atol=0))
        except (TypeError, ValueError):
            return False
    return {**settings, **{name: None for name, value in own.items() if equal(settings.get(name), value)}}


def conflict_message(state: str, path: Path, overwrite: bool, settings: dict | None = None,
                     identity: dict | None = None) -> str | None:
    """Why an input is left alone (None when it is processed); for other settings, which (``settings``: this run's,
    ``identity``: the input's, :func:`input_identity`, whose own pixel size and z-step are no other setting)."""
    if state == "folder":
        return f"a folder is where the output {path} goes; move it away"
    if overwrite:
        return None
    reason = {"unreadable": "exists but is no output of this command (corrupt, another program's file, or a result "
                            "saved from napari)",
              "other input": "was made from another input (the inputs given have changed)",
              "different": "was made with different settings"}.get(state)
    if state == "different" and settings is not None:
        reason += settings_difference(path, settings, identity)
    return None if reason is None else f"{path} {reason}; left alone (use --overwrite to replace it)"


#: differing settings a conflict names, at most
NAMED_DIFFERENCES = 3
#: settings a record leaves out at a value that changes nothing (``batching.settings_record``), so that records from
#: before them stay equal: shown at that value, not as "not set"
LEFT_OUT_AT = {"config.background_window": 0}


def settings_difference(path: Path, settings: dict, identity: dict | None = None) -> str:
    """" (name: then -> now, ...)": the settings an output (of the input ``identity`` names) was made with that
    differ from ``settings`` (:func:`comparable_settings`)."""
    header = read_header(path)
    record = comparable_record(None if header is None else header.info)
    if record is None:
        return ""
    then, now = ({**LEFT_OUT_AT, **_flat(side)} for side in
                 comparable_settings(record["settings"], settings, identity, _channels(record)))
    if bool(then.get("axial")) != bool(now.get("axial")):  # the settings of one mode are not the other's
        return f" (by {_mode(then)}; this is {_mode(now)})"
    names = [name for name in sorted(then.keys() | now.keys()) if then.get(name) != now.get(name)]
    shown = [f"{name}: {_shown(then.get(name))} -> {_shown(now.get(name))}" for name in names[:NAMED_DIFFERENCES]]
    more = f", and {len(names) - NAMED_DIFFERENCES} more" if len(names) > NAMED_DIFFERENCES else ""
    return f" ({', '.join(shown)}{more})" if shown else ""


def _mode(settings: dict) -> str:
    return "an axial run (--axial)" if settings.get("axial") else "a lateral run"


def _shown(value: Any) -> str:
    return "not set" if value is None else repr(value)


def _flat(settings: dict, prefix: str = "") -> dict:
    """Nested settings as one level of dotted names ("config.init")."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
