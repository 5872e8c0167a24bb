"""Which data, and which seeds, the environment selects: a name for results computed from them.

Everything the chapters compute depends on ``$NORMCORE_DATASET``, on which copy
of CIFAR-10 is read (``$NORMCORE_CIFAR10_DIR``, ``$NORMCORE_CIFAR10_VERIFY``) and
on ``$NORMCORE_SEED_OFFSET``. :func:`selection` turns them into a short key, safe
as a directory name, that differs whenever the results could differ, and a
title a person can read. ``./dev`` keeps one build (and one execution cache)
per key, so a build on one data set never serves or mixes in another's results.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from normcore.data import cifar10
from normcore.data.dataset import DISPLAY_NAMES, cifar10_verify_default, default_dataset
from normcore.seeds import seed_offset

__all__ = ["Selection", "selection", "DISPLAY_NAMES"]


class Selection(NamedTuple):
    """``key``: directory-safe identifier; ``title``: the same in words."""
    key: str
    title: str


def _content_id(root) -> str:
    """Twelve hex digits of a hash over the md5 sums of a CIFAR-10 copy's seven files."""
    cifar10._require_dir(root)
    h = hashlib.sha256()
    for name in cifar10.FILE_MD5:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 file {path} is missing. {cifar10._fix(root)}")
        h.update(f"{name}:{cifar10._md5(path)}\n".encode())
    return h.hexdigest()[:12]


def selection() -> Selection:
    """The data set, copy and seed offset the environment selects, as a key and a title.

    * MNIST-1D is generated, the same everywhere: key ``mnist1d``.
    * CIFAR-10 with verification on (the default) must be the official release:
      its md5 sums are checked here, and the key is ``cifar10``.
    * CIFAR-10 with ``$NORMCORE_CIFAR10_VERIFY=0`` may be any copy: the key is
      ``cifar10-unverified-<hash of its files' md5 sums>``, so two different
      copies (a synthetic one, a re-pickled one) never share results.
    * A non-zero ``$NORMCORE_SEED_OFFSET`` appends ``-seeds+<offset>``.

    Raises
    ------
    ValueError, FileNotFoundError
        An invalid variable, or a CIFAR-10 copy that is missing, incomplete or
        (when verified) not the official one; the message names the file or
        variable and the fix.
    """
    name = default_dataset()
    offset = seed_offset()
    title = DISPLAY_NAMES[name]
    key = name
    if name == "cifar10":
        root = cifar10.default_dir()
        if cifar10_verify_default():
            cifar10.verify_checksums(root)
            title += " (md5 verified)"
        else:
            key += f"-unverified-{_content_id(root)}"
            title += f" (md5 not verified: {root})"
    if offset:
        key += f"-seeds+{offset}"
        title += f", seeds shifted by {offset}"
    return Selection(key, title)
