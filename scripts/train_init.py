"""Make the learned start of ZSSR's network (``ZSSRConfig(init="learned")``): multi-task pre-training over ZSSR tasks.

A task is one corpus image + one kernel + one noise level + one scale, and its training pairs are made exactly as a
ZSSR run makes them from its input (:class:`napari_zssr.core.pairs.PairSampler`: HR fathers, LR sons degraded by the
kernel, noisy, interpolated back). Each step takes one pair from each of ``--batch`` tasks of a pool that is renewed
as training goes, so the net learns what is common to all of them: a generic prior that a ZSSR run then adapts to its
own image in a few steps. Kernels: bicubic, isotropic and anisotropic Gaussians, and Airy PSFs of many NAs,
wavelengths and pixel sizes with the camera pixel's integration (``kernel_from_optics``), at scale 2 mostly, also 3
and 4 and the one-axis degradations of axial runs. Noise: none or up to 5 % of the range. The corpus:
scripts/init_corpus.py (never a benchmark image).

    python scripts/train_init.py --out src/napari_zssr/weights/zssr_init.npz [--steps 12000] [--batch 24]

On a GPU (``--device cuda``) the pairs, not the network's step, are the cost: ``--workers N`` draws them in N
processes, each with its own pool of ``--tasks / N`` tasks (a batch comes from one of them) and its own random stream,
so the same seed and worker count draw the same pairs (a GPU's convolution gradients are not bit-reproducible, so the
weights may differ in the last bits); ``--workers 0`` draws them in the training process, in the order earlier
starts were made with.

``--conditioned`` learns a start that depends on the degradation (:mod:`napari_zssr.core.kernel_conditioning`): a
small MLP turns each task's code (kernel, scale and noise level) into per-channel gains of every layer, trained with
the weights; a run folds the gains for its own degradation into the start. ``--start`` names a start to begin from:
a plain one (the conditioning then starts as the identity, so training begins exactly at that start) or a
conditioned one, whose training goes on (one written before the noise entry starts with zero weights on it).

``--method reptile`` meta-learns instead (first-order, Nichol et al. 2018): each outer step adapts copies of the net
to ``--meta-batch`` tasks with ``--inner-steps`` steps of a fresh Adam on one crop of ``--inner-crop`` at a time, as a
ZSSR run adapts, and moves the start a fraction (``--meta-lr``, decaying to 0) towards their mean; ``--start`` names
the weights it begins from (e.g. the multi-task start). It rewards a start that adapts quickly, not one that is good
before adapting.

Then put the printed SHA-256 into ``LEARNED_SHA256`` (src/napari_zssr/core/init_weights.py).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from init_corpus import generated_image, skimage_pictures
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from napari_zssr.core.axial import gaussian_profile
from napari_zssr.core.config import ZSSRConfig
from napari_zssr.core.degradation import Degradation
from napari_zssr.core.device import select_device
from napari_zssr.core.geometry import scale_symmetries
from napari_zssr.core.init_weights import CONDITIONING_PREFIX, file_sha256, load_start, read_weights, save_weights
from napari_zssr.core.kernel_conditioning import KernelConditioning, conditioned_forward, degradation_code
from napari_zssr.core.kernels import kernel_symmetries
from napari_zssr.core.network import ZSSRNet
from napari_zssr.core.optics import kernel_from_optics
from napari_zssr.core.pairs import FatherPool, PairSampler
from napari_zssr.core.precision import grad_scaler, resolve_precision
from napari_zssr.core.trainer import descend, l1_loss, training_step
from napari_zssr.sample import anisotropic_gaussian_psf, gaussian_psf

#: kernels of the tasks and how often each is drawn
KERNEL_KINDS = {"bicubic": 0.2, "gaussian": 0.25, "anisotropic gaussian": 0.25, "airy": 0.3}


def anisotropic_gaussian(rng: np.random.Generator) -> np.ndarray:
    sigmas = rng.uniform(0.4, 3.0, 2)
    return anisotropic_gaussian_psf(sigmas[0], sigmas[1], rng.uniform(0, np.pi))


def airy_kernel(rng: np.random.Generator, scale: float) -> np.ndarray:
    """An Airy PSF whose FWHM is 0.5 to 3 LR pixels, from a random objective and wavelength."""
    na = rng.uniform(0.3, 1.4)
    refractive_index = 1.518 if na > 1.2 else (1.333 if na > 0.9 else 1.0)
    wavelength = rng.uniform(450, 700)
    fwhm_lr_pixels = rng.uniform(0.5, 3.0)
    pixel_size = 0.51 * wavelength / na / 1000 / fwhm_lr_pixels
    return kernel_from_optics(na, wavelength, pixel_size, scale, refractive_index=refractive_index)


def random_degradation(rng: np.random.Generator) -> tuple[tuple[float, float], np.ndarray | None]:
    """A scale and kernel: 75 % x2, 10 % x3 or x4, 15 % one-axis (as axial runs train)."""
    draw = rng.random()
    if draw < 0.15:
        factor = int(rng.integers(2, 5))
        return (float(factor), 1.0), gaussian_profile(factor * rng.uniform(0.7, 1.5))[:, None]
    factor = 2.0 if draw < 0.9 else float(rng.integers(3, 5))
    return (factor, factor), random_kernel(rng, factor)[1]


def random_kernel(rng: np.random.Generator, factor: float) -> tuple[str, np.ndarray | None]:
    """A kind of kernel drawn by :data:`KERNEL_KINDS`' odds, and a kernel of that kind for scale ``factor``."""
    kind = str(rng.choice(list(KERNEL_KINDS), p=list(KERNEL_KINDS.values())))
    if kind == "bicubic":
        return kind, None
    if kind == "gaussian":
        return kind, gaussian_psf(rng.uniform(0.4, 2.5) * factor / 2)
    if kind == "anisotropic gaussian":
        return kind, anisotropic_gaussian(rng)
    return kind, airy_kernel(rng, factor)


def random_noise_std(rng: np.random.Generator) -> float:
    """40 % noise-free, else log-uniform from 0.2 % to 5 % of the range."""
    return 0.0 if rng.random() < 0.4 else float(np.exp(rng.uniform(np.log(0.002), np.log(0.05))))


class Task(NamedTuple):
    """A ZSSR task's pair sampler and the code of its degradation (what a conditioned start is told)."""

    sampler: PairSampler
    code: torch.Tensor


def random_task(rng: np.random.Generator, images: list[np.ndarray], crop: int, config: ZSSRConfig,
                augmentation: str = "scale") -> Task:
    """One ZSSR task: its pairs come from a random corpus image (a random region of it, at most 384 pixels a side).

    ``augmentation``: "scale", every transform that keeps the scale, as a run draws its pairs; "kernel", only those
    that also keep the kernel, as runs drew them when the shipped start was trained (to reproduce it)."""
    image = images[int(rng.integers(len(images)))]
    side = min(384, *image.shape)
    top, left = (int(rng.integers(0, n - side + 1)) for n in image.shape)
    region = torch.as_tensor(image[top : top + side, left : left + side], dtype=torch.float32)[None, None]
    scale, kernel = random_degradation(rng)
    degradation = Degradation.create(scale, kernel, torch.device("cpu"))
    pool = FatherPool(region, config.father_min_scale, config.father_levels, crop)
    noise_std = random_noise_std(rng)
    transforms = kernel_symmetries(kernel, scale) if augmentation == "kernel" else scale_symmetries(scale)
    sampler = PairSampler(pool, degradation, transforms, noise_std, int(rng.integers(2**31)), torch.device("cpu"))
    return Task(sampler, torch.as_tensor(degradation_code(kernel, scale, noise_std)))


#: (interpolated sons, fathers, degradation codes) of one training step
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def batch_of(tasks: list[Task], rng: np.random.Generator, size: int, crop: int) -> Batch:
    """(interpolated sons, fathers, degradation codes): one pair from each of ``size`` tasks drawn from ``tasks``."""
    chosen = [tasks[int(i)] for i in rng.integers(len(tasks), size=size)]
    pairs = [task.sampler.sample(crop) for task in chosen]
    return (torch.cat([son for son, _ in pairs]), torch.cat([father for _, father in pairs]),
            torch.stack([task.code for task in chosen]))


def corpus(generated: int, seed: int, pictures: bool = True) -> list[np.ndarray]:
    images = [generated_image(seed * 100_000 + index) for index in range(generated)]
    return images + (list(skimage_pictures().values()) if pictures else [])


def predict(net: ZSSRNet, conditioning: KernelConditioning | None, son: torch.Tensor, codes: torch.Tensor
            ) -> torch.Tensor:
    """The start's prediction, each pair under its own degradation's gains when the start is conditioned."""
    return net(son) if conditioning is None else conditioned_forward(net, conditioning, son, codes)


def pool_batches(images: list[np.ndarray], args: argparse.Namespace, config: ZSSRConfig, rng: np.random.Generator,
                 tasks: list[Task], steps: int) -> Iterator[Batch]:
    """``steps`` batches from a pool of ``tasks``, one task of which is replaced every ``--renew-every`` batches."""
    for step in range(1, steps + 1):
        yield batch_of(tasks, rng, args.batch, args.crop)
        if step % args.renew_every == 0:
            tasks[int(rng.integers(len(tasks)))] = random_task(rng, images, args.crop, config, args.augmentation)


def tasks_per_worker(args: argparse.Namespace) -> int:
    return -(-args.tasks // args.workers)


class WorkerBatches(IterableDataset):
    """Batches drawn in DataLoader workers (one thread each): each holds a pool of its own
    (:func:`tasks_per_worker`) and a random stream of its own (``[--seed, worker]``), and draws ``--steps /
    --workers`` batches (rounded up), each from its own pool."""

    def __init__(self, images: list[np.ndarray], args: argparse.Namespace, config: ZSSRConfig) -> None:
        self.images, self.args, self.config = images, args, config

    def __iter__(self) -> Iterator[Batch]:
        worker = get_worker_info()
        rng = np.random.default_rng([self.args.seed, worker.id])
        tasks = [random_task(rng, self.images, self.args.crop, self.config, self.args.augmentation)
                 for _ in range(tasks_per_worker(self.args))]
        return pool_batches(self.images, self.args, self.config, rng, tasks, -(-self.args.steps // worker.num_workers))


def multitask_step(net: ZSSRNet, conditioning: KernelConditioning | None, args: argparse.Namespace,
                   dtype: torch.dtype, device: torch.device) -> Callable[[Batch], None]:
    """One step on a batch of pairs, each from a task of the pool drawn at random (Adam, cosine-decayed lr)."""
    parameters = [*net.parameters(), *(conditioning.parameters() if conditioning is not None else [])]
    optimizer = torch.optim.Adam(parameters, lr=args.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.steps, eta_min=args.learning_rate / 100)
    scaler = grad_scaler(dtype, device)

    def step(batch: Batch) -> None:
        son, father, codes = (tensor.to(device, non_blocking=True) for tensor in batch)
        descend(optimizer, scaler, l1_loss(partial(predict, net, conditioning, codes=codes), son, father, dtype))
        schedule.step()
    return step


def reptile_step(net: ZSSRNet, args: argparse.Namespace, dtype: torch.dtype, device: torch.device
                 ) -> Callable[[int, list[Task], np.random.Generator], None]:
    """One Reptile outer step: adapt a copy to each of ``meta_batch`` tasks as a run would (fresh Adam, one crop per
    step), then move the start towards the mean of the adapted weights."""
    adapted = copy.deepcopy(net)
    scaler = grad_scaler(dtype, device)

    def step(outer: int, tasks: list[Task], rng: np.random.Generator) -> None:
        epsilon = args.meta_lr * (1 - (outer - 1) / args.steps)
        moves = [torch.zeros_like(p) for p in net.parameters()]
        for index in rng.integers(len(tasks), size=args.meta_batch):
            adapted.load_state_dict(net.state_dict())
            adapted.train()
            optimizer = torch.optim.Adam(adapted.parameters(), lr=args.learning_rate)
            for _ in range(args.inner_steps):
                # the tasks' pairs are drawn on the CPU (as for --method multitask), the net is on the device
                son, father = (tensor.to(device) for tensor in tasks[int(index)].sampler.sample(args.inner_crop))
                training_step(adapted, optimizer, scaler, son, father, dtype)
            for move, after, before in zip(moves, adapted.parameters(), net.parameters(), strict=True):
                move += (after.detach() - before.detach()) / args.meta_batch
        with torch.no_grad():
            for parameter, move in zip(net.parameters(), moves, strict=True):
                parameter += epsilon * move
    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.npz)")
    parser.add_argument("--steps", type=int, default=12000)
    parser.add_argument("--batch", type=int, default=24, help="pairs per step, each from a task of the pool")
    parser.add_argument("--crop", type=int, default=48, help="HR crop side (a multiple of 2, 3 and 4)")
    parser.add_argument("--tasks", type=int, default=96, help="tasks in the pool at once (shared out among --workers)")
    parser.add_argument("--renew-every", type=int, default=4, help="steps between replacing one task of the pool")
    parser.add_argument("--generated", type=int, default=120, help="generated images in the corpus")
    parser.add_argument("--no-pictures", action="store_true", help="leave the scikit-image pictures out")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam, cosine decay to 1 %% of it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-every", type=int, default=500)
    parser.add_argument("--device", default="cpu", help="where the network trains (cpu, cuda)")
    parser.add_argument("--workers", type=int, default=0,
                        help="multitask: processes that draw the pairs (0: the training process)")
    parser.add_argument("--augmentation", choices=("scale", "kernel"), default="scale",
                        help="transforms of the training pairs: every one that keeps the scale (as runs draw them), "
                             "or only those that keep the kernel too (as when the shipped start was trained)")
    parser.add_argument("--method", choices=("multitask", "reptile"), default="multitask")
    parser.add_argument("--start", help="a weights file to begin from, plain or conditioned (default: the authors' "
                                        "random start)")
    parser.add_argument("--conditioned", action="store_true",
                        help="multitask: learn a start conditioned on the degradation (per-channel gains from its "
                             "code)")
    parser.add_argument("--inner-steps", type=int, default=10, help="reptile: adaptation steps per task")
    parser.add_argument("--inner-crop", type=int, default=128, help="reptile: crop side of an adaptation step")
    parser.add_argument("--meta-batch", type=int, default=4, help="reptile: tasks per outer step")
    parser.add_argument("--meta-lr", type=float, default=0.5, help="reptile: outer step size, decaying to 0")
    args = parser.parse_args(argv)
    if args.conditioned and args.method != "multitask":
        parser.error("--conditioned trains with --method multitask")
    if args.workers < 0:
        parser.error(f"--workers {args.workers}: give 0 (the training process) or more processes")
    if args.workers and args.method != "multitask":
        parser.error("--workers draws pairs for --method multitask")
    for name in ("steps", "batch", "tasks", "renew_every", "report_every", "inner_steps", "meta_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: give 1 or more")
    if args.generated < 0:
        parser.error(f"--generated {args.generated}: give 0 or more")
    if args.generated == 0 and args.no_pictures:
        parser.error("the corpus would be empty: give --generated 1 or more, or keep the pictures")
    if args.crop < 12 or args.crop % 12:
        parser.error(f"--crop {args.crop}: give a multiple of 12 (of 2, 3 and 4, the scales a task draws), 12 or more")
    if args.out.is_dir() or not args.out.parent.is_dir() or not os.access(args.out.parent, os.W_OK):
        parser.error(f"--out {args.out}: give a file in a folder that exists and can be written (checked now, not "
                     "after the training)")
    try:
        torch.device(args.device)
        select_device(args.device)
    except (RuntimeError, ValueError, TypeError) as error:
        parser.error(f"--device {args.device}: {error}")
    try:
        start_arrays = read_weights(args.start) if args.start else {}
    except ValueError as error:
        parser.error(f"--start: {str(error).replace(' or init=', ' or, in a run, init=')}")
    if args.start and not args.conditioned and any(name.startswith(CONDITIONING_PREFIX) for name in start_arrays):
        parser.error(f"--start {args.start} is conditioned on the degradation; train it on with --conditioned")
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = ZSSRConfig()
    began = time.perf_counter()
    images = corpus(args.generated, args.seed, not args.no_pictures)
    held_rng = np.random.default_rng(args.seed + 1)
    checks = [random_task(held_rng, [generated_image(10**9 + index)], args.crop, config, args.augmentation)
              for index in range(16)]
    check_batch = batch_of(checks, held_rng, 64, args.crop)
    tasks = ([random_task(rng, images, args.crop, config, args.augmentation) for _ in range(args.tasks)]
             if args.workers == 0 else [])
    print(f"corpus: {len(images)} images, {args.tasks} tasks in the pool, {time.perf_counter() - began:.0f} s",
          flush=True)
    device = torch.device(args.device)
    dtype = resolve_precision("auto", device)
    net = ZSSRNet.create(config, args.seed, device)
    start_conditioning = load_start(net, args.start) if args.start else None
    conditioning = (start_conditioning or KernelConditioning.for_net(net)) if args.conditioned else None
    if conditioning is not None:
        conditioning.to(device)
    check_batch = tuple(tensor.to(device) for tensor in check_batch)

    def report(step: int) -> None:
        with torch.no_grad():
            net.eval()
            son, father, codes = check_batch
            interpolation = float((son - father).abs().mean())
            error = float((predict(net, conditioning, son, codes) - father).abs().mean())
            net.train()
        print(f"step {step}: held-out L1 {error:.5f} (interpolation {interpolation:.5f}), "
              f"{time.perf_counter() - training_began:.1f} s", flush=True)

    training_began = time.perf_counter()
    report(0)
    if args.method == "reptile":
        step_function = reptile_step(net, args, dtype, device)
        tasks = [random_task(rng, images, args.inner_crop, config, args.augmentation) for _ in range(args.tasks)]
        for step in range(1, args.steps + 1):
            step_function(step, tasks, rng)
            if step % args.renew_every == 0:
                renewed = random_task(rng, images, args.inner_crop, config, args.augmentation)
                tasks[int(rng.integers(len(tasks)))] = renewed
            if step % args.report_every == 0 or step == args.steps:
                report(step)
    else:
        step_function = multitask_step(net, conditioning, args, dtype, device)
        batches = (pool_batches(images, args, config, rng, tasks, args.steps) if args.workers == 0 else
                   DataLoader(WorkerBatches(images, args, config), batch_size=None, num_workers=args.workers,
                              pin_memory=device.type == "cuda"))
        net.train()
        for step, batch in zip(range(1, args.steps + 1), batches):
            step_function(batch)
            if step % args.report_every == 0 or step == args.steps:
                report(step)
    seconds = time.perf_counter() - training_began
    method = {"multitask": "multi-task pre-training", "reptile": "Reptile (first-order meta-learning)"}[args.method]
    method += ", conditioned on the degradation" if conditioning is not None else ""
    info = {"method": method, "steps": args.steps, "batch": args.batch, "crop": args.crop,
            "tasks": args.tasks, "renew_every": args.renew_every, "generated_images": args.generated,
            "skimage_pictures": len(images) - args.generated, "learning_rate": args.learning_rate,
            "seed": args.seed, "seconds": round(seconds), "device": args.device, "workers": args.workers,
            "augmentation": args.augmentation,
            **({"start": args.start, "start_sha256": file_sha256(args.start)} if args.start else {}),
            **({"tasks_per_worker": tasks_per_worker(args)} if args.workers else {}),
            **({"inner_steps": args.inner_steps, "inner_crop": args.inner_crop, "meta_batch": args.meta_batch,
                "meta_lr": args.meta_lr} if args.method == "reptile" else {}),
            "torch": torch.__version__,
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
            "command": " ".join(["python", "scripts/train_init.py", *(argv if argv is not None else sys.argv[1:])])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    checksum = save_weights(net, args.out, info, conditioning)
    print(f"wrote {args.out} after {seconds:.0f} s of training; SHA-256 {checksum}")


if __name__ == "__main__":
    main()
