"""The ``napari-zssr`` command line's options and run (its entry point, :func:`napari_zssr.cli.main`, loads this).

The options are built from light modules only; the batch (torch, scipy: seconds to load) is imported once they
parse, so that ``--help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ._version import __version__
from .batch_options import MEASURED_PSF_CHOICES, OUTPUT_KINDS, OUTPUT_TYPES, BatchOptions
from .core.choices import DEFAULT_OUTPUTS, DEFAULT_PINHOLE_AU, KERNEL_SOURCES, MODALITIES
from .core.config import DEFAULT_SCALE, PRECISIONS, PRESETS, ZSSRConfig

EXIT_USAGE = 2


def number_in_range(number: type, minimum: float, what: str, *, exclusive: bool = False,
                    auto: bool = False, maximum: float = float("inf"), hint: str = "") -> Callable[[str], float | str]:
    """An argparse type for a finite number >= ``minimum`` (> with ``exclusive``) and <= ``maximum``, or "auto" with
    ``auto``; ``hint`` ends the error of a value that is no number."""

    def parse(text: str) -> float | str:
        if auto and text == "auto":
            return text
        try:
            value = number(text)
        except ValueError:
            value = None
        if (value is None or not (value > minimum if exclusive else value >= minimum) or not value < float("inf")
                or value > maximum):
            raise argparse.ArgumentTypeError(f"expected {'auto or ' if auto else ''}{what}, got {text!r}"
                                             + (hint if value is None else ""))
        return value

    return parse


def background_window(text: str) -> int:
    """An argparse type for --background-window: a whole number of pixels that :class:`ZSSRConfig` takes."""
    window = number_in_range(int, 0, "a whole number >= 0")(text)
    try:
        ZSSRConfig(background_window=window)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("ZSSRConfig.")) from None
    return window


def build_parser() -> argparse.ArgumentParser:
    """The command's options, their help and their checks of single values; defaults shown come from
    :class:`ZSSRConfig`, the one source of every default."""
    defaults = ZSSRConfig()
    pixel_size = number_in_range(float, 0, "a pixel size in um > 0", exclusive=True)
    parser = argparse.ArgumentParser(
        prog="napari-zssr", description="Zero-Shot Super-Resolution of TIFF images and stacks (every YX plane).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF files, folders of TIFFs, or glob patterns")
    parser.add_argument("--out", required=True, help="output folder (never one that holds inputs)")
    parser.add_argument("--psf", action="append", default=[], metavar="FILE",
                        help="PSF file (TIFF, .npy or .mat) used as the blur kernel; repeat once per channel, or give "
                             "once a TIFF of one PSF per channel (a multicolour bead image): channel k uses its "
                             "channel k")
    parser.add_argument("--psf-pixel-size", type=pixel_size, metavar="UM",
                        help="PSF pixel size in um (default: file's)")
    parser.add_argument("--pixel-size", type=pixel_size, metavar="UM", help="image pixel size in um (default: file's)")
    parser.add_argument("--measured-psf", choices=tuple(MEASURED_PSF_CHOICES), default=BatchOptions.measured_psf,
                        help="is the PSF a bead image from the same camera? (auto: judged from the pixel sizes)")
    parser.add_argument("--kernel", choices=KERNEL_SOURCES, action="append",
                        help="where the blur kernel comes from: psf (--psf), optics (--na, --wavelength...), estimate "
                             "(from each image's spectrum) or none (bicubic); repeat once per channel for a kernel "
                             "of its own (e.g. none for a transmitted-light channel). Default: psf with --psf, optics "
                             "with any optics option (--na, --wavelength...), else none")
    wavelength = number_in_range(float, 200, "a wavelength in nm (200-2000)")
    parser.add_argument("--psf-model", choices=MODALITIES,
                        help="compute the PSF from the optics: widefield or confocal (default: confocal with "
                             "--pinhole or --excitation-wavelength, else the model of the file's OME acquisition "
                             "mode, else widefield)")
    parser.add_argument("--na", type=number_in_range(float, 0, "a numerical aperture > 0", exclusive=True),
                        help="objective NA (default: the file's OME metadata)")
    parser.add_argument("--wavelength", type=wavelength, action="append", default=[], metavar="NM",
                        help="emission wavelength in nm; repeat once per channel (default: the file's OME metadata)")
    parser.add_argument("--refractive-index", type=number_in_range(float, 1, "a refractive index >= 1"),
                        help="immersion medium: 1.0 air, 1.333 water, 1.518 oil (default: the file's OME metadata, "
                             "else oil for a lateral kernel; an axial profile needs it known)")
    parser.add_argument("--excitation-wavelength", type=wavelength, action="append", default=[], metavar="NM",
                        help="confocal (implied): excitation wavelength in nm; repeat once per channel (default: the "
                             "file's OME metadata, else the emission wavelength)")
    parser.add_argument("--pinhole", type=number_in_range(float, 0, "a pinhole size in Airy units >= 0"),
                        metavar="AU", help="confocal (implied): pinhole diameter in Airy units (default: the "
                                           "file's OME pinhole size over its objective's magnification, else "
                                           f"{DEFAULT_PINHOLE_AU:g})")
    parser.add_argument("--scale", type=number_in_range(float, 1, "a factor > 1", exclusive=True),
                        help=f"super-resolution factor (default {DEFAULT_SCALE:g}; not with --axial)")
    parser.add_argument("--preset", choices=PRESETS, default=BatchOptions.preset,
                        help=f"quality preset (default: {BatchOptions.preset})")
    parser.add_argument("--init", metavar="scratch|learned|FILE",
                        help="starting weights: scratch (the original method's random start), learned (the start "
                             "shipped with napari-zssr, learned once on many images and kernels) or a weights file "
                             f"from scripts/train_init.py (default: the preset's; {defaults.init} for default)")
    parser.add_argument("--max-iterations", type=number_in_range(int, 1, "a whole number >= 1"),
                        help="training iterations per plane, at most (the preset's: "
                             + ", ".join(f"{name} {ZSSRConfig.preset(name).max_iterations}" for name in PRESETS) + ")")
    # its N may be left out, so an input written after it is taken for N
    after_it = " (an input? write --warm-start auto before the inputs, or --warm-start after them)"
    parser.add_argument("--warm-start", type=number_in_range(int, 1, "a whole number >= 1", auto=True, hint=after_it),
                        nargs="?",
                        const="auto", metavar="N",
                        help="train each plane after the first N iterations from the previous plane's weights (a "
                             "random start), or every plane, the first too, N iterations from the learned start (or "
                             "--init file) (N left out or auto: a fifth of the max iterations, at least 10 and at most "
                             "all of them)")
    parser.add_argument("--device", default=BatchOptions.device,
                        help=f"auto, cpu, cuda, cuda:N or mps (default: {BatchOptions.device})")
    parser.add_argument("--noise-std", type=number_in_range(float, 0, "a number from 0 to 1", auto=True, maximum=1),
                        metavar="auto|STD",
                        help="noise added to the training inputs: auto = each plane's estimated noise level, or a "
                             "fraction of the intensity range, 0 = none (the presets': " + presets_where("noise_std")
                             + ")")
    parser.add_argument("--background-window", type=background_window, metavar="PX",
                        help="take a plane's smooth background (haze, uneven illumination), its lower envelope over "
                             "PX x PX input pixels, off before training where it takes at least half the intensity "
                             "range, and put it back after; 0 = never, else at least 4 (the presets': "
                             + presets_where("background_window") + ")")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="convolution arithmetic (default: the preset's, auto = bf16 on CUDA GPUs and on CPUs with "
                             "native bf16, fp16 on GPUs without bf16, float32 elsewhere; the presets': "
                             + presets_where("precision") + ")")
    parser.add_argument("--seed", type=number_in_range(int, 0, "a whole number >= 0"), default=BatchOptions.seed,
                        help=f"random seed (default {BatchOptions.seed})")
    parser.add_argument("--outputs", default=",".join(DEFAULT_OUTPUTS),
                        help=f"comma-separated outputs to write, from {','.join(OUTPUT_KINDS)} "
                             f"(default: {','.join(DEFAULT_OUTPUTS)})")
    parser.add_argument("--dtype", choices=OUTPUT_TYPES, default=BatchOptions.dtype,
                        help="type of the super-resolved images: float32, or the input's (rounded, clipped; float32 "
                             "where ImageJ TIFFs cannot hold the input's type)")
    parser.add_argument("--recursive", "-r", action="store_true", help="also take TIFFs in sub-folders")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs made with other settings or from another input, and unreadable files "
                             "in an output's place")
    axial = parser.add_argument_group("axial (isotropic) super-resolution of z-stacks (see docs/cli.md)")
    axial.add_argument("--axial", action="store_true",
                       help="restore each stack's z axis to its lateral pixel size instead: factor = z-step / pixel "
                            "size, a whole number > 1 (from the file's z spacing and pixel size). The z blur is the "
                            "axial profile of the optics (--na, --wavelength...; or the file's OME metadata), else a "
                            "Gaussian as wide as the z-step")
    axial.add_argument("--z-step", type=number_in_range(float, 0, "a z spacing in um > 0", exclusive=True),
                       metavar="UM", help="z spacing of the stacks in um, with --axial (default: the file's)")
    cluster = parser.add_argument_group("Dask cluster (needs the cluster extra; see docs/cluster.md)")
    where = cluster.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786); workers started with "
                            "--resources GPU=1 get one task per GPU")
    where.add_argument("--scheduler-file", metavar="FILE",
                       help="run on the Dask scheduler whose address FILE holds (the JSON file a scheduler started "
                            "with --scheduler-file FILE writes, as dask-mpi and HPC job scripts do)")
    where.add_argument("--workers", type=number_in_range(int, 1, "a whole number >= 1"), metavar="N",
                       help="run on a local Dask cluster of N worker processes (the cores shared among them)")
    cluster.add_argument("--planes-per-task", type=number_in_range(int, 2, "a whole number >= 2"), metavar="N",
                         help="on a cluster, split stacks of more planes than this into tasks of about N planes "
                              f"(default {BatchOptions.planes_per_task}; warm start from a random start then "
                              "restarts in each task)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars, only problems and summary")
    parser.add_argument("--version", action="version", version=f"napari-zssr {__version__}")
    return parser


def presets_where(name: str) -> str:
    """Each value the presets give the setting ``name``, with the presets that give it, for a help text
    ("auto: default, fast; 0.0: paper")."""
    given: dict[object, list[str]] = {}
    for preset in PRESETS:
        given.setdefault(getattr(ZSSRConfig.preset(preset), name), []).append(preset)
    return "; ".join(f"{value}: {', '.join(presets)}" for value, presets in given.items())


def options_from(args: argparse.Namespace) -> BatchOptions:
    """The batch settings the command line gave (every option but the inputs and the cluster's)."""
    from .batching import make_options

    settings = {name: value for name, value in vars(args).items()
                if name not in ("inputs", "out", "scheduler", "scheduler_file", "workers")}
    if settings["planes_per_task"] is None:  # not given: the batch's default
        del settings["planes_per_task"]
    return make_options(args.out, settings)


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Inputs and options in any order (``a.tif --out o b.tif``); with a ``--`` the inputs after it whatever their
    names look like (``--out o -- -dash.tif``), parsed as argparse always parsed them: before Python 3.12 its
    intermixed parsing drops the ``--``."""
    return parser.parse_args(argv) if "--" in argv else parser.parse_intermixed_args(argv)


def run_command_line(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, check everything, run the batch; the exit code (a Ctrl-C propagates).

    The checks go from quick to slow, each before anything that would start or write: the settings, then the
    scheduler reached (a wrong address said at once, not after the inputs are scanned), then the inputs; a local
    cluster starts only once they all pass.
    """
    args = parse_arguments(build_parser(), sys.argv[1:] if argv is None else list(argv))
    from .batch_jobs import UsageError, quiet_reader_logs, say
    from .batching import checked_settings, plan_inputs, run_prepared

    try:
        with quiet_reader_logs():
            remote = args.scheduler is not None or args.scheduler_file is not None
            here = not remote and not args.workers
            # --workers run on this machine: its device and precision are theirs
            options, config = checked_settings(options_from(args), device_here=not remote)
            if here:
                if args.planes_per_task is not None:
                    say("note: --planes-per-task splits stacks across a cluster's tasks (--scheduler, --scheduler-file "
                        "or --workers); here each file runs whole")
                return run_prepared(plan_inputs(args.inputs, options, config)).exit_code
            from .cluster import check_local_workers, local_cluster_client, scheduler_client

            if args.scheduler is not None or args.scheduler_file is not None:
                with scheduler_client(args.scheduler, args.scheduler_file) as client:
                    return run_prepared(plan_inputs(args.inputs, options, config), client).exit_code
            check_local_workers(args.workers)
            prepared = plan_inputs(args.inputs, options, config)
            summary = None
            try:
                with local_cluster_client(args.workers) as client:
                    summary = run_prepared(prepared, client)
            except KeyboardInterrupt:
                if summary is None:
                    raise
                # the batch had ended and said how: a Ctrl-C or a job scheduler's SIGTERM while its workers shut
                # down (seconds) changes nothing of it, and marked it interrupted (130) after its summary
            return summary.exit_code
    except UsageError as error:
        say(f"error: {error}")
        return EXIT_USAGE


if __name__ == "__main__":  # python -m napari_zssr.command_line: a usage error, not a silent success
    print("error: napari_zssr.command_line is the command's implementation: run napari-zssr or python -m napari_zssr",
          file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
