"""Read the CIFAR-10 pickles without letting them run code.

A pickle is a small program: its ``GLOBAL`` opcodes name any importable callable
and ``REDUCE`` calls it, so ``pickle.load`` on a doctored ``data_batch_1`` could
delete files. CIFAR-10's batches need only dicts, lists, bytes, ints and NumPy's
array reconstruction, so :func:`load_pickle` admits exactly those globals and
refuses everything else before it is ever imported or called.

The names we admit, and why each is needed:

* ``numpy.core.multiarray._reconstruct`` - the official files were written by
  Python 2 with NumPy 1; ``numpy._core.multiarray._reconstruct`` - copies
  re-pickled under NumPy 2. Both resolve to NumPy 2's function directly, so
  loading an official file does not import the deprecated ``numpy.core`` shim.
* ``numpy.ndarray`` and ``numpy.dtype`` - the arguments of ``_reconstruct``.
* ``_codecs.encode`` - Python 3 writes ``bytes`` at protocol 2 as
  ``_codecs.encode(text, "latin1")``; we substitute a function that accepts only
  latin-1, so a pickle cannot reach other codecs through it.
* ``builtins.bytes`` (empty bytes at protocol 2), ``dict``, ``list``, ``str``,
  ``int`` - plain constructors that run no code of their own.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the CIFAR-10 allow-list."""


def _latin1_encode(text, encoding="latin1"):
    # Stand-in for _codecs.encode: the only call a protocol-2 bytes object needs.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(
            f"_codecs.encode is admitted only as encode(str, 'latin1'), got encoding {encoding!r}")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
    ("builtins", "bytes"): bytes,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "str"): str,
    ("builtins", "int"): int,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path: Path):
        # encoding="bytes" keeps Python 2 str objects (keys, pixel buffers) as bytes,
        # which is what NumPy's array state expects; fix_imports maps __builtin__
        # to builtins before find_class sees it.
        super().__init__(file, encoding="bytes", fix_imports=True)
        self._path = path

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._path}: refusing to load: the pickle asks for {module}.{name}, "
                "which a CIFAR-10 batch never needs (it may try to run code). "
                "Delete this file and download the data set again with "
                "`python -m normcore.data download cifar10`."
            ) from None


def load_pickle(path: str | os.PathLike):
    """Unpickle ``path`` admitting only the globals a CIFAR-10 batch needs.

    Parameters
    ----------
    path : str or os.PathLike
        The pickle file.

    Returns
    -------
    object
        The unpickled object (for CIFAR-10, a dict with ``bytes`` keys).

    Raises
    ------
    UnsafePickleError
        The pickle names a global outside the allow-list; the message names the
        file and the global. Nothing from the pickle has been called.
    pickle.UnpicklingError, EOFError, ValueError
        The file is not a complete pickle (callers add the path and the fix).
    """
    path = Path(path)
    with open(path, "rb") as f:
        return _RestrictedUnpickler(f, path).load()
