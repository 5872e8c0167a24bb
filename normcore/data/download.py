"""Fetch CIFAR-10's official archive, all or nothing.

The archive is streamed to a hidden temporary file beside the target directory,
its md5 checked, extracted into a hidden temporary directory there, and the
extracted ``cifar-10-batches-py`` renamed into place in one step. Whatever
fails on the way (no network, a dropped connection, a checksum mismatch, a full
disk, a hostile archive) removes the temporary file and directory, so the target
either is complete or does not exist.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from normcore.data import cifar10

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download or extraction failed; the message says what happened and what to do."""


def _fetch(url: str, dest, md5: str, timeout: float, progress: bool) -> None:
    """Stream ``url`` into the open binary file ``dest`` and check its length and md5."""
    from tqdm.auto import tqdm  # only the command line pays for tqdm's import

    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url} answered HTTP {exc.code} {exc.reason}. The address may have "
                            "moved: check https://www.cs.toronto.edu/~kriz/cifar.html and pass "
                            "the new address with --url.") from exc
    except ValueError as exc:
        raise DownloadError(f"{url!r} is not a usable address ({exc}); pass a http(s) URL "
                            "with --url.") from exc
    except (OSError, http.client.HTTPException) as exc:
        # URLError (refused, no DNS, TLS) is an OSError; a server that hangs up
        # before answering raises http.client errors that urlopen does not wrap.
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"Could not reach {url} ({reason}). You appear to be offline or the "
                            "server is unreachable: connect to the internet and run the command "
                            "again, or use the embedded data set (load_dataset('mnist1d'), the "
                            "default), which needs no download.") from exc
    received = 0
    digest = hashlib.md5()
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                  desc="cifar-10-python.tar.gz", disable=not progress) as bar:
            while True:
                try:
                    block = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise DownloadError(
                        f"The transfer from {url} broke off after {received} bytes ({exc}). "
                        "Nothing was kept; run the command again.") from exc
                if not block:
                    break
                # An OSError here is the local disk's (full, read-only): the caller reports it.
                dest.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    if total is not None and received != total:
        raise DownloadError(f"The transfer from {url} was interrupted: received {received} of "
                            f"{total} bytes. Nothing was kept; run the command again.")
    if digest.hexdigest() != md5:
        raise DownloadError(
            f"The file downloaded from {url} has md5 {digest.hexdigest()}, expected {md5}: it "
            "was corrupted in transit or is not the official archive. Nothing was kept; run the "
            "command again, and if it persists check the address (a proxy or captive portal may "
            "be answering instead of the server).")


def _extract(archive: Path, into: Path) -> Path:
    """Extract the regular files and directories under ``cifar-10-batches-py/`` into ``into``."""
    root = cifar10.DIR_NAME
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                parts = PurePosixPath(m.name).parts
                if (not parts or parts[0] != root or ".." in parts
                        or not (m.isfile() or m.isdir())):
                    raise DownloadError(
                        f"The archive holds {m.name!r}, which is not a plain file or directory "
                        f"under {root}/; refusing to extract it. Nothing was kept. Check the "
                        "address you downloaded from.")
            # The "data" filter (Python >= 3.10.12 / 3.11.4) repeats the checks above
            # inside tarfile and drops unsafe permission bits; older Pythons rely on
            # the checks above alone.
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(into, members=members, **safe)
    except (tarfile.TarError, EOFError) as exc:
        raise DownloadError(f"The downloaded archive could not be unpacked ({exc}). Nothing was "
                            "kept; run the command again.") from exc
    extracted = into / root
    if not extracted.is_dir():
        raise DownloadError(f"The archive has no {root}/ directory. Nothing was kept. Check the "
                            "address you downloaded from.")
    return extracted


def download_cifar10(target=None, *, url: str = cifar10.URL, md5: str = cifar10.ARCHIVE_MD5,
                     timeout: float = 60.0, progress: bool = True) -> Path:
    """Download and unpack CIFAR-10 into ``target``, or leave nothing behind.

    Parameters
    ----------
    target : str or os.PathLike, optional
        The ``cifar-10-batches-py`` directory to create; default
        ``$NORMCORE_CIFAR10_DIR``, else ``cache_dir("cifar10")/cifar-10-batches-py``,
        which is where the loaders look.
    url : str
        Where to fetch ``cifar-10-python.tar.gz`` (default: the official address).
    md5 : str
        The archive's md5 hex digest (default: the official archive's).
    timeout : float
        Seconds to wait for the server before giving up on a connect or a read.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``target``, now a complete directory.

    Raises
    ------
    DownloadError
        Offline, HTTP error, interrupted transfer, checksum mismatch, unsafe or
        broken archive, or a file-system error (such as a full disk). No partial
        file or directory remains.
    FileExistsError
        ``target`` already exists (an existing copy is never overwritten).
    """
    if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-f]{32}", md5):
        raise ValueError(f"md5 must be 32 lower-case hex digits, got {md5!r}")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    target = cifar10.default_dir() if target is None else Path(target).expanduser()
    if target.exists():
        raise FileExistsError(f"{target} already exists; remove it first to download again.")
    parent = target.parent
    # Directories this call creates, deepest last, so a failure can remove them too.
    created = [d for d in (parent, *parent.parents) if not d.exists()][::-1]
    tmp_archive = tmp_dir = None
    done = False
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=parent, prefix=".cifar-10-python.", suffix=".tar.gz.part")
        tmp_archive = Path(name)
        with os.fdopen(fd, "wb") as f:
            _fetch(url, f, md5, timeout, progress)
        tmp_dir = Path(tempfile.mkdtemp(dir=parent, prefix=".cifar-10-extract."))
        extracted = _extract(tmp_archive, tmp_dir)
        # Same file system as the target, so this is one atomic rename.
        os.rename(extracted, target)
        done = True
    except OSError as exc:
        raise DownloadError(
            f"Could not write CIFAR-10 under {parent} ({exc}). Nothing was kept. Free some disk "
            "space (the download needs about 350 MB while unpacking) or choose another "
            "directory with --dir.") from exc
    finally:
        if tmp_archive is not None:
            tmp_archive.unlink(missing_ok=True)
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        if not done:
            for d in reversed(created):
                try:
                    d.rmdir()
                except OSError:
                    break
    return target
