"""CIFAR-10 as the assignment loads it, from the official Python batches, read safely.

The directory is ``cifar10_dir`` if given, else ``$NORMCORE_CIFAR10_DIR``, else
``cache_dir("cifar10")/cifar-10-batches-py`` (where
``python -m normcore.data download cifar10`` puts it). Every pickle goes through
:func:`normcore.data.safe_pickle.load_pickle`, whether or not checksums are
verified.

The split loader reads one batch at a time and keeps only the uint8 rows it
returns, so asking for 1000 training images never holds all 50,000 (in float64
they would be 1.2 GB).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from normcore.validation import check_float_dtype, check_positive_int
from normcore.data.safe_pickle import UnsafePickleError, load_pickle
from normcore.storage import cache_dir

CIFAR10_DIR_ENV = "NORMCORE_CIFAR10_DIR"
DIR_NAME = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FILE_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
TRAIN_BATCHES = tuple(f"data_batch_{b}" for b in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
_ROW_LEN = 3 * 32 * 32


def default_dir() -> Path:
    """``$NORMCORE_CIFAR10_DIR`` if set, else ``cache_dir("cifar10")/cifar-10-batches-py``."""
    env = os.environ.get(CIFAR10_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return cache_dir("cifar10", create=False) / DIR_NAME


def _resolve_dir(cifar10_dir) -> Path:
    if cifar10_dir is None:
        return default_dir()
    if not isinstance(cifar10_dir, (str, os.PathLike)):
        raise TypeError(f"cifar10_dir must be a path (str or os.PathLike), got {type(cifar10_dir).__name__}")
    return Path(cifar10_dir).expanduser()


def download_command(root: Path) -> str:
    """The shell command that downloads CIFAR-10 into ``root``."""
    cmd = "python -m normcore.data download cifar10"
    return cmd if root == default_dir() else f"{cmd} --dir {root}"


def _fix(root: Path) -> str:
    return (f"Fix: run `{download_command(root)}` (170 MB), point ${CIFAR10_DIR_ENV} or "
            "cifar10_dir= at a complete cifar-10-batches-py directory, or use the embedded "
            "data set: load_dataset('mnist1d') (leave $NORMCORE_DATASET unset).")


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _require_dir(root: Path) -> None:
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 directory {root} does not exist. {_fix(root)}")


def verify_checksums(root: str | os.PathLike) -> None:
    """Check the official md5 sum of every file in a ``cifar-10-batches-py`` directory.

    Raises
    ------
    FileNotFoundError
        The directory or one of its seven files is missing (named).
    ValueError
        One or more files differ from the official release (each named).
    """
    root = Path(root)
    _require_dir(root)
    bad = []
    for name, want in FILE_MD5.items():
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 file {path} is missing. {_fix(root)}")
        got = _md5(path)
        if got != want:
            bad.append(f"{path} (md5 {got}, official {want})")
    if bad:
        raise ValueError(
            "CIFAR-10 checksum mismatch: " + "; ".join(bad) + ". The files differ from the "
            f"official release (corrupt or modified). {_fix(root)} To load a copy you trust "
            "anyway, pass verify=False or set NORMCORE_CIFAR10_VERIFY=0.")


def _load_batch(path: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file as (uint8 rows of shape (n, 3072), int64 labels of shape (n,))."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 batch {path} is missing. {_fix(root)}")
    try:
        batch = load_pickle(path)
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as exc:
        # A short read surfaces as EOFError, or as ValueError from NumPy when the
        # pixel buffer is shorter than the shape says.
        raise ValueError(f"CIFAR-10 batch {path} is truncated or corrupt "
                         f"({type(exc).__name__}: {exc}). {_fix(root)}") from exc

    def bad(what: str) -> ValueError:
        return ValueError(f"CIFAR-10 batch {path} has unexpected content: {what}. {_fix(root)}")

    if not isinstance(batch, dict):
        raise bad(f"expected a dict, got {type(batch).__name__}")
    # Official files have bytes keys; a copy loaded with encoding='latin1' and
    # re-pickled has str keys. Both spell the same names.
    batch = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    for key in ("data", "labels"):
        if key not in batch:
            raise bad(f"no {key!r} entry (keys: {sorted(map(str, batch))})")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != _ROW_LEN:
        desc = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise bad(f"'data' must be a uint8 array of shape (n, {_ROW_LEN}), got {desc}")
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != data.shape[0]:
        raise bad(f"'labels' must be a list of {data.shape[0]} ints")
    y = np.asarray(labels)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise bad(f"'labels' must hold ints, got {y.dtype}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        raise bad(f"labels must lie in [0, {len(CLASS_NAMES)}), got {y.min()}..{y.max()}")
    return data, y


def _load_raw(root: Path, verify: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 images (N, 3, 32, 32) and int64 labels of the training batches and the test batch."""
    if not isinstance(verify, bool):
        raise TypeError(f"verify must be True or False, got {verify!r}")
    _require_dir(root)
    if verify:
        verify_checksums(root)
    parts = [_load_batch(root / name, root) for name in TRAIN_BATCHES]
    x_test, y_test = _load_batch(root / TEST_BATCH, root)
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    # Rows are 1024 red, 1024 green, 1024 blue values, each a row-major 32x32 plane.
    return (x_train.reshape(-1, *IMAGE_SHAPE), y_train,
            x_test.reshape(-1, *IMAGE_SHAPE), y_test)


def load_CIFAR10(root, verify: bool = True, dtype=np.float64):
    """Load all of CIFAR-10 as the assignment's ``load_CIFAR10`` does.

    Parameters
    ----------
    root : str or os.PathLike
        A ``cifar-10-batches-py`` directory.
    verify : bool, default True
        Check the official md5 sums first; ``False`` accepts other copies.
    dtype : numpy.float64 or numpy.float32, default numpy.float64

    Returns
    -------
    Xtr : ndarray, shape (50000, 32, 32, 3)
        Training images, pixel values 0..255 as ``dtype``, channels last.
    Ytr : ndarray of int64, shape (50000,)
    Xte : ndarray, shape (10000, 32, 32, 3)
    Yte : ndarray of int64, shape (10000,)

    (Sizes are those of the official release; smaller copies give smaller arrays.)
    """
    dtype = check_float_dtype("dtype", dtype)
    x_train, y_train, x_test, y_test = _load_raw(_resolve_dir(root), verify)

    def channels_last(x):
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1), dtype=dtype)

    return channels_last(x_train), y_train, channels_last(x_test), y_test


def load_splits(num_training: int = 49000, num_validation: int = 1000, num_test: int = 1000,
                subtract_mean: bool = True, cifar10_dir=None, verify: bool = True,
                dtype=np.float64, keep_training: int | None = None) -> dict:
    """The assignment's split and preprocessing, optionally keeping only a training prefix.

    Training images are the first ``num_training`` of the 50,000, validation the
    next ``num_validation``, test the first ``num_test`` of ``test_batch``; the mean
    of the ``num_training`` training images is subtracted from all three. Then only
    the first ``keep_training`` training images are returned (default: all), which
    is the assignment's ``small_data`` without first building 49,000 float images.

    The batches are read one at a time: the mean is accumulated from each batch's
    uint8 rows, and only the rows returned are kept and converted to ``dtype``. So
    the memory used is one batch (30 MB) plus the returned arrays, whatever the
    copy's size; batches beyond the last image needed are not read.

    Returns
    -------
    dict
        ``X_train`` (keep_training, 3, 32, 32), ``y_train``, ``X_val``
        (num_validation, 3, 32, 32), ``y_val``, ``X_test`` (num_test, 3, 32, 32),
        ``y_test``; images as ``dtype``, labels int64.
    """
    num_training = check_positive_int("num_training", num_training)
    num_validation = check_positive_int("num_validation", num_validation)
    num_test = check_positive_int("num_test", num_test)
    if not isinstance(subtract_mean, bool):
        raise TypeError(f"subtract_mean must be True or False, got {subtract_mean!r}")
    if not isinstance(verify, bool):
        raise TypeError(f"verify must be True or False, got {verify!r}")
    dtype = check_float_dtype("dtype", dtype)
    keep = num_training if keep_training is None else check_positive_int("num_train", keep_training)
    if keep > num_training:
        raise ValueError(f"num_train must be at most {num_training}, got {keep}")
    root = _resolve_dir(cifar10_dir)
    _require_dir(root)
    if verify:
        verify_checksums(root)

    need = num_training + num_validation
    total = np.zeros(_ROW_LEN, dtype=np.float64)
    kept = {"train": [], "val": []}
    seen = 0  # training images read so far (the index of this batch's first image)
    for name in TRAIN_BATCHES:
        if seen >= need:
            break  # later batches hold nothing the split uses
        x, y = _load_batch(root / name, root)
        n_train_here = max(min(num_training - seen, len(x)), 0)
        if subtract_mean and n_train_here:
            # Sums of at most 50,000 uint8 values are exact in float64, so the mean
            # equals the assignment's mean of the float64 images bit for bit.
            total += x[:n_train_here].sum(axis=0, dtype=np.float64)
        n_keep_here = max(min(keep - seen, len(x)), 0)
        val_lo = min(max(num_training - seen, 0), len(x))
        val_hi = min(max(need - seen, 0), len(x))
        # Copies, so the batch itself can be freed before the next is read.
        if n_keep_here:
            kept["train"].append((x[:n_keep_here].copy(), y[:n_keep_here].copy()))
        if val_hi > val_lo:
            kept["val"].append((x[val_lo:val_hi].copy(), y[val_lo:val_hi].copy()))
        seen += len(x)
        del x, y
    if seen < need:
        raise ValueError(
            f"num_training + num_validation must be at most {seen} (the training images in "
            f"{root}), got {num_training} + {num_validation}")
    x_test, y_test = _load_batch(root / TEST_BATCH, root)
    if num_test > x_test.shape[0]:
        raise ValueError(f"num_test must be at most {x_test.shape[0]} (the test images in "
                         f"{root}), got {num_test}")
    kept["test"] = [(x_test[:num_test], y_test[:num_test].copy())]

    mean = (total / num_training).astype(dtype) if subtract_mean else None

    def prepare(part):
        rows = np.concatenate([x for x, _ in kept[part]])
        # Rows are 1024 red, 1024 green, 1024 blue values, each a row-major 32x32 plane.
        out = rows.reshape(-1, *IMAGE_SHAPE).astype(dtype)
        if mean is not None:
            out -= mean.reshape(IMAGE_SHAPE)
        return out, np.concatenate([y for _, y in kept[part]])

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (prepare(p) for p in ("train", "val", "test"))
    return {"X_train": x_tr, "y_train": y_tr, "X_val": x_va, "y_val": y_va,
            "X_test": x_te, "y_test": y_te}


def get_CIFAR10_data(num_training: int = 49000, num_validation: int = 1000, num_test: int = 1000,
                     subtract_mean: bool = True, cifar10_dir=None, verify: bool = True,
                     dtype=np.float64) -> dict:
    """The assignment's ``get_CIFAR10_data``: split, subtract the mean image, channels first.

    Parameters
    ----------
    num_training, num_validation, num_test : int
        Training = first ``num_training`` training images, validation = the next
        ``num_validation``, test = the first ``num_test`` test images.
    subtract_mean : bool, default True
        Subtract the mean training image from all three splits.
    cifar10_dir : str or os.PathLike, optional
        A ``cifar-10-batches-py`` directory; default ``$NORMCORE_CIFAR10_DIR``,
        else ``cache_dir("cifar10")/cifar-10-batches-py``.
    verify : bool, default True
        Check the official md5 sums; ``False`` accepts other copies. Pickles are
        read with the restricted unpickler either way.
    dtype : numpy.float64 or numpy.float32, default numpy.float64

    Returns
    -------
    dict
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,),
        ``X_val`` (num_validation, 3, 32, 32), ``y_val``, ``X_test``
        (num_test, 3, 32, 32), ``y_test``; labels int64.

    Raises
    ------
    FileNotFoundError
        The directory or a batch file is missing; the message names it and the fix.
    ValueError
        Checksum mismatch, truncated file, unexpected content, or more images
        requested than the copy holds.
    normcore.data.safe_pickle.UnsafePickleError
        A pickle asks for anything beyond plain data and NumPy arrays.
    """
    return load_splits(num_training, num_validation, num_test, subtract_mean,
                       cifar10_dir, verify, dtype)
