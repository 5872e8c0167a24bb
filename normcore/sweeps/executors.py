"""Running a sweep: every grid point and seed, from the cache or on a pool of workers."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import multiprocessing
import numbers
import os
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from normcore import progress as build_progress
from normcore.seeds import seed_offset
from normcore.sweeps.cache import _entry_key, _entry_path, _read_entry, _write_entry, sweep_cache_dir
from normcore.sweeps.config import RunConfig, RunResult
from normcore.sweeps.results import SweepResult
from normcore.sweeps.training import _data_for, _train_in_worker, train_run

def _check_grid(grid: Any) -> dict[str, tuple]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of RunConfig field -> values, got {type(grid).__name__}")
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    axes = {}
    for name, values in grid.items():
        if name == "seed":
            raise ValueError("grid must not contain 'seed'; pass seeds=(...) instead")
        if name not in fields:
            raise ValueError(f"grid key {name!r} is not a RunConfig field; fields: {sorted(fields)}")
        if isinstance(values, np.ndarray):
            if values.ndim != 1:
                raise ValueError(f"grid[{name!r}] must be 1-D, got shape {values.shape}")
            values = values.tolist()
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
        axes[name] = tuple(values)
    return axes


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be non-negative ints, got {s!r}")
    out = tuple(int(s) for s in seeds)
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {out}")
    return out


def _worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_pool(n_jobs: int) -> cf.ProcessPoolExecutor:
    """A process pool over the CPU cores, started the fastest way that is safe here."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        # fork: no new interpreter, and the data this process loaded comes along.
        # Safe only while no other thread can hold a lock at the moment of the
        # fork (the child would deadlock on it); macOS libraries break under fork.
        ctx = multiprocessing.get_context("fork")
    elif "forkserver" in multiprocessing.get_all_start_methods():
        # A Jupyter kernel always runs several threads. The forkserver starts one
        # clean interpreter and forks the workers from it; preloading this module
        # there makes each worker start in milliseconds.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["normcore.sweeps"])
    else:
        ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=min(_worker_count(), n_jobs), mp_context=ctx)


def run_sweep(grid: Mapping[str, Sequence[Any]], base: RunConfig | None = None,
              seeds: Sequence[int] = (0,), executor: None | str | cf.Executor = None,
              cache: bool | str | os.PathLike = True, progress: bool = True) -> SweepResult:
    """Train ``base`` with every combination of ``grid`` values and every seed.

    Parameters
    ----------
    grid : mapping of str to sequence
        RunConfig field -> values to try, e.g. ``{"weight_scale": np.logspace(-4, 0, 20)}``.
        ``{}`` runs ``base`` alone (per seed).
    base : RunConfig, optional
        The settings not in the grid (default ``RunConfig()``).
    seeds : sequence of int
        Repetitions; each is a different, reproducible random draw. Each is shifted
        by ``$NORMCORE_SEED_OFFSET`` (see :mod:`normcore.seeds`).
    executor : None, "serial" or concurrent.futures.Executor
        ``None``: a process pool over all cores (serial if one core or one job);
        ``"serial"``: in this process; an Executor (e.g. ``client.get_executor()``
        of dask.distributed): submit the runs to it (it is not shut down).
    cache : bool or path
        ``True``: the per-user cache; ``False``: neither read nor write; a path: that directory.
    progress : bool
        Show a tqdm progress bar (notebook-aware).

    Returns
    -------
    SweepResult
        Runs in grid order whatever order they finished in.
    """
    axes = _check_grid(grid)
    base = RunConfig() if base is None else base
    if not isinstance(base, RunConfig):
        raise TypeError(f"base must be a RunConfig, got {type(base).__name__}")
    seeds = _check_seeds(seeds)
    if not (executor is None or executor == "serial" or isinstance(executor, cf.Executor)):
        raise TypeError(f"executor must be None, 'serial' or a concurrent.futures.Executor, "
                        f"got {executor!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    directory = sweep_cache_dir(cache)

    # $NORMCORE_SEED_OFFSET shifts every seed, so a chapter's claims can be rerun on
    # fresh randomness without editing it; the result's ``seeds`` are the shifted ones.
    offset = seed_offset()
    seeds = tuple(s + offset for s in seeds)
    configs = [dataclasses.replace(base, **dict(zip(axes, combo)), seed=s)
               for combo in itertools.product(*axes.values()) for s in seeds]
    results: list[RunResult | None] = [None] * len(configs)
    keys: list[dict | None] = [None] * len(configs)
    stats = {"cached": 0, "trained": 0, "repaired": 0}
    todo = []
    for i, config in enumerate(configs):
        if directory is not None:
            keys[i] = _entry_key(config, _data_for(config)["fingerprint"])
            try:
                results[i] = _read_entry(_entry_path(directory, keys[i]), keys[i])
            except ValueError:
                stats["repaired"] += 1  # retrained below; the write replaces the entry
            if results[i] is not None:
                stats["cached"] += 1
                continue
        todo.append(i)

    from tqdm.auto import tqdm  # here, so importing normcore.sweeps stays cheap

    # A book build shows this line in the terminal (normcore.progress); elsewhere a no-op.
    label = "sweep over " + (" x ".join(axes) or "seeds") + f" ({len(seeds)} seeds)"
    build_progress.report(label, len(configs) - len(todo), len(configs))

    serial = executor == "serial" or (executor is None and (len(todo) <= 1 or _worker_count() == 1))
    pool, futures = None, {}
    if not serial:
        pool = _default_pool(len(todo)) if executor is None else executor
        # Submitting starts the workers: with fork, before tqdm starts its monitor thread.
        futures = {pool.submit(_train_in_worker, configs[i]): i for i in todo}
    try:
        with tqdm(total=len(configs), initial=len(configs) - len(todo), desc="sweep",
                  unit="run", disable=not progress) as bar:
            def finish(i: int, result_json: dict) -> None:
                results[i] = RunResult.from_json(result_json)
                stats["trained"] += 1
                if directory is not None:
                    try:
                        _write_entry(_entry_path(directory, keys[i]), keys[i], result_json)
                    except OSError as err:
                        warnings.warn(f"could not write the sweep cache in {directory}: {err}",
                                      stacklevel=4)
                bar.update()
                build_progress.report(label, len(configs) - len(todo) + stats["trained"],
                                      len(configs))

            if serial:
                for i in todo:
                    finish(i, train_run(configs[i]).to_json())
            else:
                for fut in cf.as_completed(futures):
                    finish(futures[fut], fut.result())
    finally:
        if executor is None and pool is not None:
            pool.shutdown(cancel_futures=True)
    return SweepResult(axes, seeds, results, stats)
