"""The on-disk cache of finished runs: one checksummed file per run, keyed by everything that determines it."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
from pathlib import Path

import numpy as np

from normcore.storage import atomic_writer, cache_dir
from normcore.sweeps.config import CACHE_FORMAT, TRAINING_MODULES, RunConfig, RunResult

_CODE_HASH: str | None = None


def code_fingerprint() -> str:
    """SHA-256 of the training code's source and the NumPy version (part of each key)."""
    global _CODE_HASH
    if _CODE_HASH is None:
        h = hashlib.sha256()
        for name in TRAINING_MODULES:
            h.update(name.encode() + b"\0" + inspect.getsource(importlib.import_module(name)).encode())
        h.update(np.__version__.encode())
        _CODE_HASH = h.hexdigest()
    return _CODE_HASH


def sweep_cache_dir(cache: bool | str | os.PathLike = True) -> Path | None:
    """The directory a ``cache`` argument of :func:`run_sweep` stands for (None: no cache)."""
    if cache is True:
        return cache_dir("sweeps")
    if cache is False or cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        path = Path(cache).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(f"cache must be a directory, but {path} is a file")
        path.mkdir(parents=True, exist_ok=True)
        return path
    raise TypeError(f"cache must be True, False or a directory path, got {cache!r}")


def _entry_key(config: RunConfig, data_fingerprint: str) -> dict:
    return {"format": CACHE_FORMAT, "config": dataclasses.asdict(config),
            "data": data_fingerprint, "code": code_fingerprint()}


def _entry_path(directory: Path, key: dict) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return directory / f"{name}.json"


def _read_entry(path: Path, key: dict) -> RunResult | None:
    """The cached result, None if absent; raises ValueError if the entry is damaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ValueError(f"unreadable: {err}") from err
    # Layout: one header line "<format> <sha256 of the body>", then the JSON body.
    header, sep, body = raw.partition(b"\n")
    parts = header.split(b" ")
    if not sep or len(parts) != 2 or parts[0] != CACHE_FORMAT.encode():
        raise ValueError("bad header")
    if hashlib.sha256(body).hexdigest().encode() != parts[1]:
        raise ValueError("checksum mismatch")
    try:
        entry = json.loads(body)
        if entry["key"] != json.loads(json.dumps(key)):
            raise ValueError("entry belongs to another key")
        return RunResult.from_json(entry["result"])
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"malformed: {err!r}") from err


def _write_entry(path: Path, key: dict, result_json: dict) -> None:
    body = json.dumps({"key": key, "result": result_json}).encode()
    header = f"{CACHE_FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode()
    with atomic_writer(path, "wb") as f:
        f.write(header + body)


def clear_cache(cache: bool | str | os.PathLike = True) -> int:
    """Delete every cached run (and stray temporary files); return how many files went."""
    directory = sweep_cache_dir(cache)
    if directory is None or not directory.is_dir():
        return 0
    removed = 0
    for p in directory.iterdir():
        if p.is_file() and (p.suffix == ".json" or p.name.endswith(".tmp")):
            p.unlink()
            removed += 1
    return removed
