"""How a data set's arrays are typed and identified, shared by every loader."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# The arrays a loader returns, in the order the fingerprint hashes them.
SPLIT_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float64 or float32.

    float16 is refused (too coarse for gradient checks) and so are integer types
    (mean-subtracted data is not integral).
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be numpy.float64 or numpy.float32, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be numpy.float64 or numpy.float32, got {dt}")
    return dt


def fingerprint(data: Mapping[str, np.ndarray]) -> str:
    """SHA-256 hex digest of the six split arrays: names, dtypes, shapes and bytes.

    Equal digests mean equal arrays, in this process or any other, so the digest
    can key a cache of results computed from the data.
    """
    h = hashlib.sha256()
    for key in SPLIT_KEYS:
        a = np.ascontiguousarray(data[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()
