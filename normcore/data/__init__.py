"""Data sets for normcore: MNIST-1D (embedded default) and CIFAR-10 (the assignment's).

Every chapter loads its data through one call::

    from normcore.data import load_dataset
    data = load_dataset()            # MNIST-1D: 3000 / 1000 / 1000 examples of 40 features

Environment variables:

``NORMCORE_DATASET``
    ``mnist1d`` (default) or ``cifar10``: the data set ``load_dataset()`` returns
    when no name is given, so ``NORMCORE_DATASET=cifar10 ./dev book`` rebuilds
    every chapter on CIFAR-10 without editing one.
``NORMCORE_CIFAR10_DIR``
    A ``cifar-10-batches-py`` directory to read CIFAR-10 from (default
    ``<cache>/cifar10/cifar-10-batches-py``).
``NORMCORE_CIFAR10_VERIFY``
    ``1`` (default): CIFAR-10 must match the official md5 sums; ``0``: accept a
    copy that differs (re-pickled, or synthetic); the data's ``source`` then
    says "md5 not verified".
``NORMCORE_CACHE_DIR``
    The per-user cache (see :mod:`normcore.storage`); the generated MNIST-1D is
    cached under ``datasets/`` there.

Get CIFAR-10 with ``python -m normcore.data download cifar10``; check what is
where with ``python -m normcore.data info``.
"""

from normcore.data.cifar10 import get_CIFAR10_data, load_CIFAR10
from normcore.data.dataset import (DATASET_ENV, DATASETS, DISPLAY_NAMES, VERIFY_ENV,
                                   cifar10_verify_default, load_dataset)
from normcore.data.safe_pickle import UnsafePickleError

__all__ = ["load_dataset", "load_CIFAR10", "get_CIFAR10_data", "UnsafePickleError",
           "DATASET_ENV", "DATASETS", "DISPLAY_NAMES", "VERIFY_ENV", "cifar10_verify_default"]
