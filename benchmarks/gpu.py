"""GPU benchmark: the training step (eager, fused Adam, CUDA graph), the presets, plane sizes, a stack and the
quality cases (default from scratch against learned starts), all on CUDA.

The GPU machine may lack the wheels the benchmark images come from, so the data is prepared first where they are
installed, into an ignored folder that travels with the working tree:

    python benchmarks/gpu.py prepare                  # here: writes .gpu/*.npz and the reference arrays
    python3 benchmarks/gpu.py env step presets planes stack sweep    # on the GPU machine, from the project root
    STARTS="learned NEW.npz" python3 benchmarks/gpu.py validate      # there: compare learned starts (below)

``validate`` runs ``fast`` from each start of ``STARTS`` on the validation cases of benchmarks/learned_start.py
(generated quality-style and drawn, and the real images), then on the quality cases beside ``default`` from
scratch: a new start can be judged in the lending that trained it.

Each section prints a Markdown table; docs/benchmarks.md "GPU" holds the numbers of an H200.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from common import benchmark_images, psnr
from speed import PREVIOUS_FAST

from napari_zssr import ZSSRConfig, zssr, zssr_stack
from napari_zssr.core import trainer
from napari_zssr.core.cuda_graph import GraphedSteps, graph_optimizer
from napari_zssr.core.network import ZSSRNet
from napari_zssr.sample import gaussian_psf

DATA = Path(__file__).resolve().parent.parent / ".gpu"
REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "reference"
CUDA = torch.device("cuda")


def timed(function: Callable[[], object]) -> tuple[object, float]:
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = function()
    torch.cuda.synchronize()
    return out, time.perf_counter() - start


def use_graphs(on: bool) -> str:
    trainer.USE_CUDA_GRAPHS = on
    return "graphs" if on else "eager"


def env() -> None:
    print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(CUDA),
          "capability", torch.cuda.get_device_capability(CUDA), "cudnn", torch.backends.cudnn.version())
    zssr(np.load(DATA / "camera256_lr_x2.npy"), 2, config=ZSSRConfig.preset("fast", max_iterations=20), device="cuda")


def step_seconds(kind: str, dtype: torch.dtype, x: torch.Tensor, y: torch.Tensor, steps: int = 200) -> float:
    """Seconds per training step of the 8 x 64 net: the project's eager step ("foreach" Adam), with fused Adam, in
    NCHW layout, or replayed from a CUDA graph ("graph")."""
    net = ZSSRNet.create(ZSSRConfig.preset("default"), 0, CUDA)
    if kind == "graph":
        step = GraphedSteps(net, graph_optimizer(net, 1e-3), lambda a, b: trainer.l1_loss(net, a, b, dtype))
    else:
        if kind == "nchw":
            net = net.to(memory_format=torch.contiguous_format)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, fused=kind == "fused")
        scaler = torch.amp.GradScaler("cuda", enabled=False)

        def step(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            if kind == "nchw":  # the project's step forces channels-last; this one keeps NCHW
                with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                    loss = (net(a.contiguous()).float() - b).abs().mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                return loss
            return trainer.training_step(net, optimizer, scaler, a, b, dtype)
    for _ in range(10):
        step(x, y)
    _, seconds = timed(lambda: [step(x, y) for _ in range(steps)])
    return seconds / steps


def step() -> None:
    print("| crop x batch | variant | ms per step | crops per s |")
    print("|---|---|---|---|")
    variants = [("float32, Adam (project step)", torch.float32, "foreach"),
                ("bf16, Adam (project step)", torch.bfloat16, "foreach"),
                ("bf16, NCHW, Adam", torch.bfloat16, "nchw"), ("bf16, fused Adam", torch.bfloat16, "fused"),
                ("bf16, CUDA graph (fused Adam)", torch.bfloat16, "graph")]
    for crop, batch in ((128, 1), (128, 4), (128, 16), (256, 1)):
        x = torch.rand(batch, 1, crop, crop, device=CUDA).contiguous(memory_format=torch.channels_last)
        y = torch.rand(batch, 1, crop, crop, device=CUDA)
        for label, dtype, kind in variants:
            ms = step_seconds(kind, dtype, x, y) * 1e3
            print(f"| {crop}² x {batch} | {label} | {ms:.2f} | {1e3 / ms * batch:.0f} |", flush=True)


def presets() -> None:
    gt = np.load(DATA / "camera256_gt.npy").astype(np.float32)
    lr = np.load(DATA / "camera256_lr_x2.npy").astype(np.float32)
    print("| run | precision | wall s | training s | inference s | iterations | ms/iteration | PSNR dB |")
    print("|---|---|---|---|---|---|---|---|")
    runs = [("paper", "paper", {}, 0, True), ("default", "default", {"precision": "float32"}, 0, True),
            ("default", "default", {}, 0, False), ("default", "default", {}, 0, True),
            ("default", "default", {}, 1, True), ("previous fast", "fast", PREVIOUS_FAST, 0, True),
            ("fast", "fast", {}, 0, False), ("fast", "fast", {}, 0, True), ("fast", "fast", {}, 1, True),
            ("fast", "fast", {}, 2, True)]
    for label, preset, overrides, seed, graphs in runs:
        mode = use_graphs(graphs)
        config = ZSSRConfig.preset(preset, noise_std=0.0, **overrides)
        result, wall = timed(lambda config=config, seed=seed: zssr(lr, 2, config=config, device="cuda", seed=seed))
        iterations, timings = result.iterations[0], result.timings
        print(f"| reference x2, {label} ({mode}), seed {seed} | {result.precision} | {wall:.2f} | "
              f"{timings['training_s']:.2f} | {timings['inference_s']:.2f} | {iterations} | "
              f"{timings['training_s'] / iterations * 1e3:.2f} | {psnr(result.sr, gt):.2f} |", flush=True)
    use_graphs(True)


def planes() -> None:
    rng = np.random.default_rng(0)
    camera = np.load(DATA / "camera256_gt.npy").astype(np.float32)
    print("| plane | run | wall s | training s | inference s | inference s per output MP | peak GPU GiB |")
    print("|---|---|---|---|---|---|---|")
    gaussian = gaussian_psf(1.5)  # with a kernel, back-projection reads the noise beyond it (on the device)
    runs = [(512, "fast", "fast", {}, None), (512, "fast", "fast", {}, None), (1024, "fast", "fast", {}, None),
            (1024, "previous fast", "fast", PREVIOUS_FAST, None), (1024, "default", "default", {}, None),
            (2048, "fast", "fast", {}, None), (2048, "default", "default", {}, None),
            (1024, "fast, Gaussian kernel", "fast", {}, gaussian),
            (2048, "fast, Gaussian kernel", "fast", {}, gaussian),
            (2048, "default, Gaussian kernel", "default", {}, gaussian)]
    for side, label, preset, overrides, kernel in runs:
        image = np.tile(camera, (side // 256, side // 256)) + rng.normal(0, 0.01, (side, side)).astype(np.float32)
        config = ZSSRConfig.preset(preset, **overrides)
        torch.cuda.reset_peak_memory_stats()
        result, wall = timed(lambda image=image, config=config, kernel=kernel: zssr(image, 2, kernel=kernel,
                                                                                     config=config, device="cuda",
                                                                                     seed=0))
        timings, megapixels = result.timings, (2 * side) ** 2 / 1e6
        print(f"| {side}² x2 | {label} | {wall:.2f} | {timings['training_s']:.2f} | {timings['inference_s']:.2f} | "
              f"{timings['inference_s'] / megapixels:.3f} | {torch.cuda.max_memory_allocated() / 2**30:.2f} |",
              flush=True)


def stack() -> None:
    data = np.load(DATA / "stack.npz")
    truth, lr = data["truth"], data["lr"]
    print(f"| {len(lr)} nuclei planes 128² -> 256² | total s | planes/s | mean PSNR dB | iterations |")
    print("|---|---|---|---|---|")
    for preset, label, warm_start in (("fast", "every plane", False), ("fast", "warm start", True),
                                      ("default", "warm start", True)):
        config = ZSSRConfig.preset(preset)
        warm = config.warm_start_iterations() if warm_start else None
        result, wall = timed(lambda config=config, warm=warm: zssr_stack(
            lr, 2, config=config, device="cuda", seed=0, warm_start_iterations=warm))
        value = np.mean([psnr(s, t) for s, t in zip(result.sr, truth, strict=True)])
        print(f"| {preset}, {label} | {wall:.1f} | {len(lr) / wall:.2f} | {value:.2f} | {sum(result.iterations)} |",
              flush=True)


#: one saved case: (set, label, HR truth, LR input, kernel or None)
Case = tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]


def save_cases(path: Path, cases: Iterable[Case]) -> int:
    """Write ``cases`` where :func:`saved_cases` reads them (a kernel of None is stored as an empty array)."""
    cases = list(cases)
    arrays: dict[str, np.ndarray] = {}
    for index, (set_name, label, hr, lr, kernel) in enumerate(cases):
        arrays.update({f"c{index}_set": np.array(set_name), f"c{index}_label": np.array(label),
                       f"c{index}_hr": hr.astype(np.float32), f"c{index}_lr": lr.astype(np.float32),
                       f"c{index}_kernel": np.zeros(0, np.float32) if kernel is None else kernel.astype(np.float32)})
    np.savez(path, n=len(cases), **arrays)
    return len(cases)


def saved_cases(path: Path) -> Iterator[Case]:
    data = np.load(path)
    for index in range(int(data["n"])):
        kernel = data[f"c{index}_kernel"]
        yield (str(data[f"c{index}_set"]), str(data[f"c{index}_label"]), data[f"c{index}_hr"], data[f"c{index}_lr"],
               None if kernel.size == 0 else kernel)


def psnr_and_seconds(config: ZSSRConfig, lr: np.ndarray, kernel: np.ndarray | None, hr: np.ndarray
                     ) -> tuple[float, float]:
    result, wall = timed(lambda: zssr(lr, 2, kernel=kernel, config=config, device="cuda", seed=0))
    return psnr(result.sr, hr), wall


def compare_on_quality(variants: list[tuple[str, ZSSRConfig]]) -> None:
    """The quality benchmark's 18 cases under each variant, as differences from the first."""
    print("| case | " + " | ".join(label for label, _ in variants) + " |")
    print("|---|" + "---|" * len(variants))
    table, times = [], np.zeros(len(variants))
    for _, label, hr, lr, kernel in saved_cases(DATA / "quality_cases.npz"):
        row = []
        for j, (_, config) in enumerate(variants):
            value, wall = psnr_and_seconds(config, lr, kernel, hr)
            row.append(value)
            times[j] += wall
        table.append(row)
        cells = [f"{row[0]:.2f}"] + [f"{v - row[0]:+.2f}" for v in row[1:]]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    difference = np.array(table) - np.array(table)[:, :1]
    print("| mean | " + " | ".join(f"{v:+.3f}" for v in difference.mean(0)) + " |")
    print("| worst | " + " | ".join(f"{v:+.2f}" for v in difference.min(0)) + " |")
    print("| time s | " + " | ".join(f"{v:.1f}" for v in times) + " |")


def sweep() -> None:
    """The quality benchmark's 18 cases: default from scratch against learned starts with N iterations."""
    variants = [("default, scratch", ZSSRConfig.preset("default", init="scratch"))]
    variants += [(f"learned {n} it, 2 members", ZSSRConfig.preset("fast", max_iterations=n)) for n in (100, 200, 300)]
    variants.append(("learned 200 it, lr 2e-3, 2 members",
                     ZSSRConfig.preset("fast", max_iterations=200, learning_rate=2e-3)))
    compare_on_quality(variants)


def validate() -> None:
    """``fast`` from each start of $STARTS (space-separated: learned, or weights files) on the validation cases,
    against the first start, then on the quality cases against ``default`` from scratch."""
    import os

    starts = os.environ.get("STARTS", "learned").split()
    configs = [(Path(start).stem, ZSSRConfig.preset("fast", init=start)) for start in starts]
    print("| validation case | " + " | ".join(f"{label} {'dB' if i == 0 else 'difference'}"
                                             for i, (label, _) in enumerate(configs)) + " |")
    print("|---|" + "---|" * len(configs))
    differences: dict[str, list[np.ndarray]] = {}
    for set_name, label, hr, lr, kernel in saved_cases(DATA / "validation_cases.npz"):
        values = np.array([psnr_and_seconds(config, lr, kernel, hr)[0] for _, config in configs])
        differences.setdefault(set_name, []).append(values[1:] - values[0])
        print(f"| {label} | {values[0]:.2f} | " + " | ".join(f"{v:+.2f}" for v in values[1:] - values[0]) + " |",
              flush=True)
    for set_name, rows in differences.items():
        print(f"| {set_name}: mean / worst difference | – | " + " | ".join(
            f"{mean:+.3f} / {worst:+.2f}" for mean, worst in zip(np.mean(rows, 0), np.min(rows, 0), strict=True))
            + " |")
    print()
    compare_on_quality([("default, scratch", ZSSRConfig.preset("default", init="scratch")), *configs])


def prepare() -> None:
    """Write the data the GPU sections read (needs the benchmark images' wheels, see benchmarks/common.py, and
    matplotlib's sample images for the real validation cases)."""
    import shutil

    from learned_start import quality_cases, real_cases, validation_case
    from quality import degradations
    from stack import nuclei_planes

    DATA.mkdir(exist_ok=True)
    for name in ("camera256_gt.npy", "camera256_lr_x2.npy"):
        shutil.copyfile(REFERENCE / name, DATA / name)
    quality = save_cases(DATA / "quality_cases.npz", (
        ("quality", f"{name} {label}", truth, lr, kernel)
        for name, truth in benchmark_images(None) for label, lr, kernel in degradations(name, truth, 0)))
    truth, lr = nuclei_planes(20, 0)
    np.savez(DATA / "stack.npz", truth=truth.astype(np.float32), lr=lr.astype(np.float32))
    generated = itertools.chain(quality_cases(3), (validation_case(i) for i in range(6)))
    validation = save_cases(DATA / "validation_cases.npz", itertools.chain(
        (("generated", *case) for case in generated), (("real", *case) for case in real_cases())))
    print(f"wrote {DATA}: {quality} quality cases, a stack of {len(truth)} planes, {validation} validation cases")


if __name__ == "__main__":
    for section in sys.argv[1:]:
        print(f"## {section}", flush=True)
        globals()[section]()
