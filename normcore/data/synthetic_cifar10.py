"""A synthetic stand-in for CIFAR-10, full size, in the official format and layout.

The book must be buildable on CIFAR-10 in CI, where nothing is downloaded. This
module writes a ``cifar-10-batches-py`` directory that the loaders cannot tell
from the official one except by its md5 sums: ``data_batch_1`` .. ``data_batch_5``
(10,000 images each), ``test_batch`` (10,000) and ``batches.meta``, each a
Python-2-style protocol-2 pickle (:mod:`normcore.data.py2_pickle`) of a dict
with bytes keys, ``b"data"`` a uint8 (10000, 3072) array of row-major red, green
and blue planes, ``b"labels"`` a list of ints.

The images are not noise: each class has a shape (a flat ellipse for
"airplane", a ring for "dog", ...) and a mean foreground colour, drawn at a
random place and size on a random background, with per-image brightness and
contrast, a smooth random shading field and strong pixel noise. So a small
network learns something from 1,000 of them, as it does from real CIFAR-10,
without finding the task easy. Pixels span 0..255 like the real ones.

Everything is drawn from one seed, batch by batch, so the same seed gives the
same files byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from normcore.data.cifar10 import CLASS_NAMES, DIR_NAME, TEST_BATCH, TRAIN_BATCHES
from normcore.data.py2_pickle import dump_py2

__all__ = ["write_synthetic_cifar10", "synthetic_images", "BATCH_SIZE"]

BATCH_SIZE = 10_000
_CHUNK = 1_000
_SIDE = 32

# Mean foreground colour of each class (RGB, 0..255); per-image jitter blurs them.
_FG = np.array([
    [170, 180, 200],  # airplane: grey-blue
    [190, 60, 50],    # automobile: red
    [150, 120, 70],   # bird: brown
    [140, 110, 90],   # cat: grey-brown
    [120, 100, 60],   # deer: dark brown
    [170, 140, 100],  # dog: tan
    [80, 140, 60],    # frog: green
    [110, 70, 40],    # horse: chestnut
    [60, 80, 140],    # ship: navy
    [200, 170, 60],   # truck: yellow
], dtype=np.float32)

# How strong each nuisance is (0..255 pixel units unless noted). Tuned so a
# 5 x 100 network with batch norm, trained on 1,000 images, reaches a validation
# accuracy well above chance but far from 1, as on the real data.
_FG_JITTER = 35.0       # per-image shift of the foreground colour
_BG_SPREAD = 55.0       # background colour: one draw per image around mid-grey
_SHADING = 45.0         # amplitude of the smooth (4 x 4 control points) shading field
_PIXEL_NOISE = 30.0     # independent per-pixel, per-channel noise
_CONTRAST = (0.5, 1.3)  # per-image contrast factor (uniform)
_BRIGHTNESS = 25.0      # per-image brightness shift (sd)
_SHIFT = 7.0            # centre placement: uniform in +-_SHIFT pixels
_SCALE = (0.7, 1.3)     # shape size factor (uniform)
_EDGE = 1.0             # width of the soft edge, pixels


def _signed_distance(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Approximate signed distance (pixels, negative inside) to class ``label``'s shape.

    ``u``, ``v`` are each image's pixel coordinates relative to its shape's
    centre, divided by its scale: arrays of shape (n, 32, 32).
    """
    def box(a, b, uu=u, vv=v):
        return np.maximum(np.abs(uu) - a, np.abs(vv) - b)

    r = np.hypot(u, v)
    if label == 0:    # airplane: a long flat ellipse
        return (np.hypot(u / 11.0, v / 3.0) - 1.0) * 3.0
    if label == 1:    # automobile: a wide box
        return box(9.0, 5.0)
    if label == 2:    # bird: a small disc
        return r - 4.0
    if label == 3:    # cat: a triangle, point up
        return np.maximum(np.abs(v) - 7.0, (np.abs(u) - 0.6 * (v + 7.0)) * 0.86)
    if label == 4:    # deer: two upright bars
        return np.minimum(box(1.8, 10.0, u - 4.5), box(1.8, 10.0, u + 4.5))
    if label == 5:    # dog: a ring
        return np.maximum(5.0 - r, r - 8.5)
    if label == 6:    # frog: a large disc
        return r - 9.0
    if label == 7:    # horse: a diagonal band
        return box(3.0, 11.0, (u - v) * 0.7071, (u + v) * 0.7071)
    if label == 8:    # ship: a long low band
        return box(13.0, 3.0)
    if label == 9:    # truck: a square
        return box(8.0, 8.0)
    raise ValueError(f"label must be in 0..9, got {label}")


def _smooth_field(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 32, 32) smooth random fields, bilinear over a 4 x 4 grid of N(0, 1) points."""
    knots = np.linspace(0, _SIDE - 1, 4)
    grid = np.arange(_SIDE)
    # Bilinear interpolation weights from the 4 knots to the 32 pixels, shape (32, 4).
    weights = np.clip(1.0 - np.abs(grid[:, None] - knots[None, :]) / (knots[1] - knots[0]),
                      0.0, None).astype(np.float32)
    points = rng.standard_normal((n, 3, 4, 4), dtype=np.float32)
    return weights @ points @ weights.T


def synthetic_images(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Draw one image per label: uint8 array of shape (len(labels), 3, 32, 32).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    labels : ndarray of int, shape (n,)
        Classes 0..9.
    """
    n = len(labels)
    yy, xx = np.mgrid[0:_SIDE, 0:_SIDE].astype(np.float32) - (_SIDE - 1) / 2
    centre = rng.uniform(-_SHIFT, _SHIFT, size=(n, 2)).astype(np.float32)
    scale = rng.uniform(*_SCALE, size=n).astype(np.float32)
    u = (xx[None] - centre[:, 0, None, None]) / scale[:, None, None]
    v = (yy[None] - centre[:, 1, None, None]) / scale[:, None, None]
    dist = np.empty((n, _SIDE, _SIDE), dtype=np.float32)
    for label in range(len(CLASS_NAMES)):
        idx = np.flatnonzero(labels == label)
        if idx.size:
            dist[idx] = _signed_distance(label, u[idx], v[idx]) * scale[idx, None, None]
    mask = 1.0 / (1.0 + np.exp(np.clip(dist / _EDGE, -30.0, 30.0)))  # 1 inside, 0 outside

    fg = _FG[labels] + rng.normal(0.0, _FG_JITTER, size=(n, 3)).astype(np.float32)
    bg = 128.0 + rng.normal(0.0, _BG_SPREAD, size=(n, 3)).astype(np.float32)
    # float32 and in place throughout: a batch of 10,000 images is 123 MB per copy.
    img = rng.standard_normal((n, 3, _SIDE, _SIDE), dtype=np.float32)
    img *= _PIXEL_NOISE
    img += _SHADING * _smooth_field(rng, n)
    img += bg[:, :, None, None]
    img += (fg - bg)[:, :, None, None] * mask[:, None]
    mean = img.mean(axis=(1, 2, 3), keepdims=True)
    contrast = rng.uniform(*_CONTRAST, size=(n, 1, 1, 1)).astype(np.float32)
    brightness = rng.normal(0.0, _BRIGHTNESS, size=(n, 1, 1, 1)).astype(np.float32)
    img -= mean
    img *= contrast
    img += mean + brightness
    np.rint(img, out=img)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _batch(rng: np.random.Generator, name: str, n: int) -> dict:
    # Balanced classes in a random order, as in the official batches (about 1,000 each).
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES))
    images = np.empty((n, 3, _SIDE, _SIDE), dtype=np.uint8)
    # Chunks of 1,000 keep the float32 temporaries in cache (a 10,000-image
    # batch at once spent most of its time faulting in fresh pages).
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        images[start:stop] = synthetic_images(rng, labels[start:stop])
    return {
        b"batch_label": f"synthetic {name} (normcore, not CIFAR-10)".encode(),
        b"labels": [int(c) for c in labels],
        b"data": images.reshape(n, -1),  # rows: 1024 red, 1024 green, 1024 blue values
        b"filenames": [f"synthetic_{name}_{i:05d}.png".encode() for i in range(n)],
    }


def write_synthetic_cifar10(directory: str | os.PathLike, seed: int = 0,
                            batch_size: int = BATCH_SIZE) -> Path:
    """Write a synthetic ``cifar-10-batches-py`` into ``directory``; return its path.

    Parameters
    ----------
    directory : str or os.PathLike
        Parent directory; the batches go into ``directory/cifar-10-batches-py/``.
    seed : int >= 0, default 0
        Same seed, same bytes.
    batch_size : int > 0, default 10000
        Images per batch file (the official size; smaller only for tests).

    Returns
    -------
    pathlib.Path
        The ``cifar-10-batches-py`` directory. Each file is written atomically,
        ``batches.meta`` last, so a directory with ``batches.meta`` is complete.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise TypeError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike), got "
                        f"{type(directory).__name__}")
    root = Path(directory).expanduser() / DIR_NAME
    names = (*TRAIN_BATCHES, TEST_BATCH)
    # One independent stream per file: a file's bytes do not depend on the others'.
    streams = np.random.SeedSequence([int(seed), 0x6369666172]).spawn(len(names))
    for name, ss in zip(names, streams):
        dump_py2(_batch(np.random.default_rng(ss), name, int(batch_size)), root / name)
    meta = {b"num_cases_per_batch": int(batch_size),
            b"label_names": [c.encode() for c in CLASS_NAMES], b"num_vis": 3 * _SIDE * _SIDE}
    dump_py2(meta, root / "batches.meta")
    return root
