"""MNIST-1D, generated locally by the pinned ``mnist1d`` package and cached.

MNIST-1D (Greydanus, 2020) is ten 1-D digit templates, padded, sheared, scaled,
translated and noised into 40-sample signals. ``mnist1d.data.make_dataset``
builds it in about a second with no network, so the book runs anywhere. We call
``make_dataset`` with the package's default arguments written out here (never its
``get_dataset``, which tries a download with no timeout and writes a pickle into
the working directory), and we save and restore the caller's NumPy and Python
``random`` states around it because it reseeds both.

The generated arrays are cached as ``.npz`` in ``cache_dir("datasets")``. The
file name carries the ``mnist1d`` version and a hash of the arguments, so a new
generator or new arguments never read a stale file; an unreadable file is
regenerated and replaced atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import random
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from normcore.storage import atomic_writer, cache_dir

# mnist1d.data.get_dataset_args() of mnist1d 0.0.2.post1, minus the download URL.
# Written out so the data cannot change behind our back if the package's
# defaults do; tests check they still agree.
MNIST1D_ARGS = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}

NUM_FEATURES = 40
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))
# make_dataset's 4000 training examples are split 3000 / 1000 into train / val.
NUM_TRAIN = 3000
NUM_VAL = 1000
NUM_TEST = 1000

# Bump when the layout of the cached file changes.
_CACHE_FORMAT = 1
_CACHE_KEYS = ("x", "y", "x_test", "y_test")


def mnist1d_version() -> str:
    """The installed ``mnist1d`` package's version."""
    return importlib.metadata.version("mnist1d")


def cache_path() -> Path:
    """Where the generated arrays are cached for this ``mnist1d`` version and these arguments."""
    key = json.dumps({"format": _CACHE_FORMAT, "args": MNIST1D_ARGS}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir("datasets", create=False) / f"mnist1d-{mnist1d_version()}-{digest}.npz"


@contextlib.contextmanager
def _preserved_global_rng() -> Iterator[None]:
    # make_dataset calls random.seed and np.random.seed; a notebook that seeded
    # its own experiment must not have its stream silently replaced.
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def generate() -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset`` and return its arrays.

    Returns
    -------
    dict
        ``x`` (4000, 40) float64, ``y`` (4000,) int64, ``x_test`` (1000, 40)
        float64, ``y_test`` (1000,) int64. The caller's global RNG states are
        unchanged.
    """
    # Imported here: mnist1d imports matplotlib.pyplot and scipy, about 1.5 s
    # that `import normcore.data` should not pay.
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    with _preserved_global_rng():
        raw = make_dataset(ObjectView(dict(MNIST1D_ARGS)))
    return {
        "x": np.asarray(raw["x"], dtype=np.float64),
        "y": np.asarray(raw["y"]).astype(np.int64),
        "x_test": np.asarray(raw["x_test"], dtype=np.float64),
        "y_test": np.asarray(raw["y_test"]).astype(np.int64),
    }


def _check_raw(raw: dict[str, np.ndarray]) -> None:
    n_all = NUM_TRAIN + NUM_VAL
    want = {"x": (n_all, NUM_FEATURES), "y": (n_all,),
            "x_test": (NUM_TEST, NUM_FEATURES), "y_test": (NUM_TEST,)}
    for key, shape in want.items():
        if raw[key].shape != shape:
            raise ValueError(f"MNIST-1D array {key} has shape {raw[key].shape}, expected {shape}")
    for key in ("y", "y_test"):
        if raw[key].dtype != np.int64 or raw[key].min() < 0 or raw[key].max() >= NUM_CLASSES:
            raise ValueError(f"MNIST-1D labels {key} must be int64 in [0, {NUM_CLASSES})")
    for key in ("x", "x_test"):
        if raw[key].dtype != np.float64 or not np.isfinite(raw[key]).all():
            raise ValueError(f"MNIST-1D array {key} must be finite float64")


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    # allow_pickle=False: a cache file is data, never code.
    with np.load(path, allow_pickle=False) as npz:
        raw = {key: npz[key] for key in _CACHE_KEYS}
    _check_raw(raw)
    return raw


def load_raw() -> dict[str, np.ndarray]:
    """Return the generated arrays, from the cache if it holds a readable copy.

    A missing cache file is generated and written atomically; an unreadable or
    malformed one is regenerated and replaced (with a warning), never a crash.
    If the cache cannot be written (read-only home, full disk) the freshly
    generated arrays are still returned, with a warning.
    """
    path = cache_path()
    if path.exists():
        try:
            return _read_cache(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt, not fatal
            warnings.warn(f"MNIST-1D cache file {path} is unreadable ({exc!r}); regenerating it",
                          RuntimeWarning, stacklevel=2)
    raw = generate()
    _check_raw(raw)
    try:
        with atomic_writer(path) as f:
            np.savez(f, **raw)
    except OSError as exc:
        warnings.warn(f"could not cache MNIST-1D at {path} ({exc}); it will be generated again "
                      "next time. Set NORMCORE_CACHE_DIR to a writable directory to fix this.",
                      RuntimeWarning, stacklevel=2)
    return raw
