"""Where normcore keeps files, and how it writes them without ever leaving half a file.

The per-user cache directory holds generated data sets, downloaded CIFAR-10 and
sweep results. It is ``$NORMCORE_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/normcore``, else ``~/.cache/normcore``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, IO, Iterator

CACHE_ENV = "NORMCORE_CACHE_DIR"


def cache_dir(*parts: str, create: bool = True) -> Path:
    """Return the per-user cache directory (or a subdirectory of it)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "normcore"
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it into place only on success.

    A crash, an exception or a full disk leaves ``path`` as it was (absent or the
    old version) and removes the temporary file, so readers never see half a file.
    ``durable=False`` skips the fsync: the rename is still atomic for readers, but
    a power cut may lose the write (right for a status line rewritten every second,
    wrong for cached results).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the
        # permissions an ordinary open() would have (0o666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], mode: str = "wb") -> None:
    """Call ``write(file)`` on a temporary file and rename it to ``path`` on success."""
    with atomic_writer(path, mode) as f:
        write(f)
