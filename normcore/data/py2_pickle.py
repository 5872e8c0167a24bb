"""Write pickles the way the official CIFAR-10 batches were written: Python 2, protocol 2.

Python 3 writes ``bytes`` at protocol 2 as ``_codecs.encode(text, "latin1")``
calls, and NumPy 2 names its array reconstructor ``numpy._core.multiarray``.
The official batches, made by Python 2 with NumPy 1, hold raw ``str`` strings
(``BINSTRING`` opcodes) and name ``numpy.core.multiarray._reconstruct``. A copy
written by :func:`dump_py2` has the same opcodes, so whatever reads the official
files (:func:`normcore.data.safe_pickle.load_pickle`, the assignment's
``pickle.load(f, encoding="latin1")``) reads it the same way.
"""

from __future__ import annotations

import io
import os
import pickle
import struct

from normcore.storage import atomic_writer

__all__ = ["dumps_py2", "dump_py2"]


class _Py2StylePickler(pickle._Pickler):
    """A protocol-2 pickler that writes ``bytes`` and ``str`` as Python 2 ``str``.

    The pure-Python pickler is subclassed because only it has a per-type
    ``dispatch`` table to override; the C pickler would write ``_codecs.encode``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str


# NumPy 2 names the reconstructor in numpy._core; NumPy 1 (the official files) in numpy.core.
_NUMPY2_GLOBAL = b"cnumpy._core.multiarray\n_reconstruct\n"
_NUMPY1_GLOBAL = b"cnumpy.core.multiarray\n_reconstruct\n"


def dumps_py2(obj) -> bytes:
    """``obj`` as a protocol-2 pickle with Python 2 strings and NumPy 1's reconstructor."""
    buf = io.BytesIO()
    _Py2StylePickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(_NUMPY2_GLOBAL, _NUMPY1_GLOBAL)


def dump_py2(obj, path: str | os.PathLike) -> None:
    """Write :func:`dumps_py2` of ``obj`` to ``path`` atomically (never half a file)."""
    data = dumps_py2(obj)
    with atomic_writer(path, "wb") as f:
        f.write(data)
