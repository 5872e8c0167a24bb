"""How a data set's arrays are typed and identified, shared by every loader."""

from __future__ import annotations

import hashlib
from typing import Mapping

import numpy as np

# The arrays a loader returns, in the order the fingerprint hashes them.
SPLIT_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


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
