"""``load_dataset``: the one entry point every chapter and sweep uses."""

from __future__ import annotations

import os

import numpy as np

from normcore.data import cifar10, mnist1d
from normcore.data.arrays import fingerprint
from normcore.validation import check_choice, check_float_dtype, check_positive_int

DATASET_ENV = "NORMCORE_DATASET"
VERIFY_ENV = "NORMCORE_CIFAR10_VERIFY"
DATASETS = ("mnist1d", "cifar10")
# How pages and prose name each data set.
DISPLAY_NAMES = {"mnist1d": "MNIST-1D", "cifar10": "CIFAR-10"}
DEFAULT_DATASET = "mnist1d"


def default_dataset() -> str:
    """``$NORMCORE_DATASET`` if set (and valid), else ``"mnist1d"``."""
    name = os.environ.get(DATASET_ENV) or DEFAULT_DATASET
    if name not in DATASETS:
        raise ValueError(f"${DATASET_ENV} must be one of {', '.join(DATASETS)}; got {name!r}")
    return name


def cifar10_verify_default() -> bool:
    """Whether CIFAR-10's md5 sums are checked when no ``verify=`` is given.

    ``$NORMCORE_CIFAR10_VERIFY`` unset, empty or ``"1"``: True (the default: only
    the official files load); ``"0"``: False, for a copy known to differ (a
    re-pickled copy, or the synthetic stand-in CI builds the book on). Anything
    else is a ValueError naming the variable, so a typo never turns checking off.
    """
    text = os.environ.get(VERIFY_ENV, "").strip()
    if text in ("", "1"):
        return True
    if text == "0":
        return False
    raise ValueError(f"${VERIFY_ENV} must be 1 (check the official md5 sums) or 0 (accept a "
                     f"copy that differs), got {text!r}")


def _optional_count(name: str, value, available: int) -> int:
    if value is None:
        return available
    value = check_positive_int(name, value)
    if value > available:
        raise ValueError(f"{name} must be at most {available}, got {value}")
    return value


def _mnist1d(num_train, num_val, dtype) -> tuple[dict, str]:
    raw = mnist1d.load_raw()
    n_train = _optional_count("num_train", num_train, mnist1d.NUM_TRAIN)
    n_val = _optional_count("num_val", num_val, mnist1d.NUM_VAL)
    # Validation is always taken from the last 1000 generated training examples,
    # so a smaller num_train never moves examples between training and validation.
    x_train = raw["x"][:n_train]
    x_val = raw["x"][mnist1d.NUM_TRAIN:mnist1d.NUM_TRAIN + n_val]
    mean = x_train.mean(axis=0)
    data = {
        "X_train": (x_train - mean).astype(dtype), "y_train": raw["y"][:n_train].copy(),
        "X_val": (x_val - mean).astype(dtype),
        "y_val": raw["y"][mnist1d.NUM_TRAIN:mnist1d.NUM_TRAIN + n_val].copy(),
        "X_test": (raw["x_test"] - mean).astype(dtype), "y_test": raw["y_test"].copy(),
    }
    args = ", ".join(f"{k}={v!r}" for k, v in mnist1d.MNIST1D_ARGS.items())
    source = (f"mnist1d {mnist1d.mnist1d_version()} make_dataset({args}): training = first "
              f"{n_train} of its 4000 training examples, validation = {n_val} from the last "
              f"1000, test = its 1000 test examples; mean of the {n_train} training examples "
              "subtracted per feature")
    return data, source


def _cifar10(num_train, num_val, dtype, verify) -> tuple[dict, str]:
    n_train = _optional_count("num_train", num_train, 49000)
    n_val = _optional_count("num_val", num_val, 1000)
    data = cifar10.load_splits(49000, n_val, 1000, True, None, verify, dtype,
                               keep_training=n_train)
    source = (f"CIFAR-10 batches in {cifar10.default_dir()} "
              f"({'md5 verified' if verify else 'md5 not verified'}): the assignment's split "
              f"(train = first {n_train} of images 0..48999, validation = {n_val} of images "
              "49000..49999, test = first 1000 of test_batch), mean image of the 49,000 "
              "training images subtracted, shape (N, 3, 32, 32)")
    return data, source


def load_dataset(name: str | None = None, num_train: int | None = None,
                 num_val: int | None = None, dtype=np.float64, verify: bool | None = None) -> dict:
    """Load a data set in the assignment's dict format, training mean subtracted.

    Parameters
    ----------
    name : {"mnist1d", "cifar10"}, optional
        Default: the environment variable ``NORMCORE_DATASET`` if set, else
        ``"mnist1d"``. Setting ``NORMCORE_DATASET=cifar10`` switches every chapter
        to CIFAR-10 without editing it.
    num_train : int, optional
        Training examples to return, a prefix of the full training split (default
        all: 3000 for mnist1d, 49000 for cifar10). More than that is a ValueError.
        Ask only for what is used: CIFAR-10's 49,000 training images are 1.2 GB
        as float64, the assignment's 1000 are 25 MB, and only the rows returned
        are ever converted from uint8.
    num_val : int, optional
        Validation examples (default and maximum 1000 for both).
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        dtype of the ``X_*`` arrays; labels are always int64.
    verify : bool, optional
        CIFAR-10 only: check the official md5 sums (MNIST-1D is generated, not
        downloaded, and has none). Default: :func:`cifar10_verify_default`, True
        unless ``$NORMCORE_CIFAR10_VERIFY=0``.

    Returns
    -------
    dict
        ``X_train`` (num_train, D...), ``y_train`` (num_train,), ``X_val``,
        ``y_val``, ``X_test``, ``y_test``, and metadata: ``name`` (str),
        ``class_names`` (tuple of str), ``input_dim`` (int: 40, or 3072 for
        CIFAR-10 whose X are (N, 3, 32, 32)), ``source`` (str: how the arrays
        were made), ``fingerprint`` (SHA-256 hex of the six arrays; equal across
        calls and processes, usable as a cache key).

    Notes
    -----
    The mean subtracted differs by data set, each matching its reference:

    * mnist1d: the per-feature mean of the returned training examples (with
      ``num_train=1000`` it is the mean of those 1000). Validation is always
      taken from the last 1000 generated training examples and test is the
      generator's 1000 test examples.
    * cifar10: the mean image of the assignment's 49,000 training images,
      whatever ``num_train`` is, exactly as the assignment's ``small_data`` does.
      Validation is images 49000..49999 and test the first 1000 of test_batch.
    """
    name = default_dataset() if name is None else check_choice("name", name, DATASETS)
    dtype = check_float_dtype("dtype", dtype)
    if verify is None:
        verify = cifar10_verify_default() if name == "cifar10" else True
    if not isinstance(verify, bool):
        raise TypeError(f"verify must be True, False or None, got {verify!r}")
    if name == "mnist1d":
        data, source = _mnist1d(num_train, num_val, dtype)
        class_names, input_dim = mnist1d.CLASS_NAMES, mnist1d.NUM_FEATURES
    else:
        data, source = _cifar10(num_train, num_val, dtype, verify)
        class_names, input_dim = cifar10.CLASS_NAMES, int(np.prod(cifar10.IMAGE_SHAPE))
    data.update(name=name, class_names=class_names, input_dim=input_dim, source=source,
                fingerprint=fingerprint(data))
    return data
