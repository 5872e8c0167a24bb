"""Parallel, cached, reproducible training sweeps.

One call trains a network for every combination of a grid of settings and a
list of seeds, and returns the results in grid order::

    import numpy as np
    from normcore.sweeps import RunConfig, run_sweep

    res = run_sweep(grid={"normalization": [None, "batchnorm"],
                          "weight_scale": np.logspace(-4, 0, 20)},
                    base=RunConfig(hidden_dims=(50,) * 7), seeds=(0, 1, 2))
    res.metric("best_val_acc")            # shape (2, 20, 3)
    res.select(normalization="batchnorm", weight_scale=res.axes["weight_scale"][5])

Reproducible
    Each run draws its random numbers (initial weights, minibatches, dropout)
    from generators seeded by a hash of its :class:`RunConfig`, never from NumPy's
    global RNG, so a run gives bit-identical results serially, in a process pool,
    on a ``dask.distributed`` cluster, and from the cache.
Parallel
    ``executor=None`` uses a process pool over all CPU cores; any
    :class:`concurrent.futures.Executor` works, e.g. a dask cluster's::

        from dask.distributed import Client
        with Client("tcp://scheduler:8786") as client:
            res = run_sweep(grid, executor=client.get_executor())

    Workers only compute; the calling process reads and writes the cache.
Cached
    Each finished run is stored in its own file under
    ``<cache>/sweeps/`` (``$NORMCORE_CACHE_DIR``, else ``~/.cache/normcore``; see
    :mod:`normcore.storage`), named by a hash of everything that determines it:
    the configuration, the data set's fingerprint, the source code of the
    modules that train (layers, normalization, blocks, fc_net, optim, solver and
    :func:`train_run`) and the NumPy version. Changing any of them retrains.
    A damaged entry is detected by its checksum, retrained and replaced.
    Clear the cache with::

        python -m normcore.sweeps clear-cache    # or: info

Networks are float32 by default (``RunConfig.dtype``): about as accurate for
these experiments and faster; gradient checks use float64 elsewhere.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import inspect
import itertools
import json
import multiprocessing
import numbers
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from normcore import blocks, optim
from normcore.data import DATASETS, load_dataset
from normcore.fc_net import FullyConnectedNet
from normcore.seeds import seed_offset
from normcore.solver import Solver
from normcore.storage import atomic_writer, cache_dir
from normcore.validation import check_choice, check_positive_int, check_real

__all__ = ["RunConfig", "RunResult", "SweepResult", "run_sweep", "train_run",
           "sweep_cache_dir", "clear_cache"]

# Derived from where the choices live, so a new norm or rule needs no edit here.
NORMALIZATIONS = (None, *blocks.NORMALIZATIONS)
UPDATE_RULES = tuple(optim.__all__)
DTYPES = ("float32", "float64")
METRICS = ("best_val_acc", "best_train_acc", "final_loss", "diverged", "seconds", "cpu_seconds")

# The code whose change changes a result: the cache key hashes its source.
TRAINING_MODULES = ("normcore.layers", "normcore.normalization", "normcore.blocks",
                    "normcore.fc_net", "normcore.optim", "normcore.solver")
CACHE_FORMAT = "normcore-sweep-run-v2"


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run.

    The defaults are the assignment's deep-network experiment (five hidden layers
    of 100, weight scale 2e-2, Adam at 1e-3, batch 50, 10 epochs, 1000 training
    examples). Values are checked on construction; ``hidden_dims`` may be given
    as a list and is stored as a tuple, NumPy scalars are stored as Python numbers.

    Attributes
    ----------
    hidden_dims : tuple of int
    normalization : {None, "batchnorm", "layernorm"}
    weight_scale, reg : float >= 0
    dropout_keep_ratio : float in (0, 1]
    update_rule : {"sgd", "sgd_momentum", "rmsprop", "adam"}
    learning_rate, lr_decay : float > 0
    batch_size, num_epochs, num_train : int > 0
    dataset : str, optional
        ``None`` means ``$NORMCORE_DATASET``, else "mnist1d" (see
        :func:`normcore.data.load_dataset`).
    num_val : int, optional
        Validation examples (default: all of the data set's).
    seed : int >= 0
        Which repetition this is; the run's random generators derive from the
        whole configuration, this field included.
    dtype : {"float32", "float64"}
        Precision of the data and the network.
    """

    hidden_dims: tuple[int, ...] = (100,) * 5
    normalization: str | None = None
    weight_scale: float = 2e-2
    reg: float = 0.0
    dropout_keep_ratio: float = 1.0
    update_rule: str = "adam"
    learning_rate: float = 1e-3
    lr_decay: float = 1.0
    batch_size: int = 50
    num_epochs: int = 10
    dataset: str | None = None
    num_train: int = 1000
    num_val: int | None = None
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        dims = self.hidden_dims
        if isinstance(dims, np.ndarray):
            dims = dims.tolist()
        if not isinstance(dims, (tuple, list)) or not dims:
            raise TypeError(f"hidden_dims must be a non-empty tuple of positive ints, got {dims!r}")
        put("hidden_dims", tuple(check_positive_int(f"hidden_dims[{i}]", d)
                                 for i, d in enumerate(dims)))
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        put("weight_scale", check_real("weight_scale", self.weight_scale, low=0.0))
        put("reg", check_real("reg", self.reg, low=0.0))
        put("dropout_keep_ratio", check_real("dropout_keep_ratio", self.dropout_keep_ratio,
                                             low=0.0, high=1.0, low_open=True))
        check_choice("update_rule", self.update_rule, UPDATE_RULES)
        put("learning_rate", check_real("learning_rate", self.learning_rate, low=0.0, low_open=True))
        put("lr_decay", check_real("lr_decay", self.lr_decay, low=0.0, low_open=True))
        for name in ("batch_size", "num_epochs", "num_train"):
            put(name, check_positive_int(name, getattr(self, name)))
        if self.num_val is not None:
            put("num_val", check_positive_int("num_val", self.num_val))
        if self.dataset is not None:
            check_choice("dataset", self.dataset, DATASETS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise TypeError(f"seed must be a non-negative int, got {self.seed!r}")
        put("seed", int(self.seed))
        check_choice("dtype", self.dtype, DTYPES)

    def canonical(self) -> str:
        """A JSON text that is equal exactly when two configurations are."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclasses.dataclass(frozen=True, eq=False)
class RunResult:
    """The outcome of one run (arrays are float64; compare them with NumPy).

    Attributes
    ----------
    config : RunConfig
    loss_history : ndarray, shape (iterations,)
        Training loss at every iteration (a diverged run stops early; its last
        entry is non-finite).
    train_acc_history, val_acc_history : ndarray, shape (checks,)
        Accuracy before training and after every epoch.
    best_val_acc, best_train_acc : float
        Maxima of the histories.
    final_loss : float
        Mean of the last 100 losses (the assignment's "final training loss");
        non-finite for a diverged run.
    diverged : bool
    seconds : float
        Wall time of the training (when it was trained, if read from the cache).
    cpu_seconds : float
        CPU time of the training process meanwhile (all its threads). Well below
        ``seconds``: the run waited for a core, e.g. other programs were busy.
    """

    config: RunConfig
    loss_history: np.ndarray
    train_acc_history: np.ndarray
    val_acc_history: np.ndarray
    best_val_acc: float
    best_train_acc: float
    final_loss: float
    diverged: bool
    seconds: float
    cpu_seconds: float

    def to_json(self) -> dict:
        return {"config": dataclasses.asdict(self.config),
                "loss_history": self.loss_history.tolist(),
                "train_acc_history": self.train_acc_history.tolist(),
                "val_acc_history": self.val_acc_history.tolist(),
                "best_val_acc": self.best_val_acc, "best_train_acc": self.best_train_acc,
                "final_loss": self.final_loss, "diverged": self.diverged,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "RunResult":
        """Inverse of :meth:`to_json`; raises on anything malformed."""
        cfg = dict(d["config"])
        cfg["hidden_dims"] = tuple(cfg["hidden_dims"])
        arrays = {k: np.asarray(d[k], dtype=np.float64)
                  for k in ("loss_history", "train_acc_history", "val_acc_history")}
        for k, a in arrays.items():
            if a.ndim != 1:
                raise ValueError(f"{k} must be 1-D")
        if not isinstance(d["diverged"], bool):
            raise ValueError("diverged must be a bool")
        return cls(config=RunConfig(**cfg), **arrays,
                   best_val_acc=float(d["best_val_acc"]), best_train_acc=float(d["best_train_acc"]),
                   final_loss=float(d["final_loss"]), diverged=d["diverged"],
                   seconds=float(d["seconds"]), cpu_seconds=float(d["cpu_seconds"]))


# ---------------------------------------------------------------- training

# Data sets loaded by this process, so a worker loads each once, not once per run.
_DATA: dict[tuple, dict] = {}
_DATA_LOCK = threading.Lock()  # dask's threaded workers share this module


def _data_for(config: RunConfig) -> dict:
    key = (config.dataset or os.environ.get("NORMCORE_DATASET"), config.num_train,
           config.num_val, config.dtype)
    with _DATA_LOCK:
        if key not in _DATA:
            _DATA[key] = load_dataset(config.dataset, num_train=config.num_train,
                                      num_val=config.num_val, dtype=np.dtype(config.dtype))
        return _DATA[key]


def _generators(config: RunConfig) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the initial weights and for the solver."""
    digest = hashlib.sha256(b"normcore-run-seed:" + config.canonical().encode()).digest()
    model_ss, solver_ss = np.random.SeedSequence(int.from_bytes(digest[:16], "little")).spawn(2)
    return np.random.default_rng(model_ss), np.random.default_rng(solver_ss)


def train_run(config: RunConfig) -> RunResult:
    """Train one network as ``config`` says and return its histories and metrics.

    Uses neither the cache nor NumPy's global RNG: the result depends on
    ``config`` (and the code and data) only.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig, got {type(config).__name__}")
    data = _data_for(config)
    model_rng, solver_rng = _generators(config)
    model = FullyConnectedNet(
        config.hidden_dims, input_dim=data["input_dim"], num_classes=len(data["class_names"]),
        dropout_keep_ratio=config.dropout_keep_ratio, normalization=config.normalization,
        reg=config.reg, weight_scale=config.weight_scale, dtype=np.dtype(config.dtype),
        rng=model_rng)
    solver = Solver(model, data, update_rule=config.update_rule,
                    optim_config={"learning_rate": config.learning_rate},
                    lr_decay=config.lr_decay, batch_size=config.batch_size,
                    num_epochs=config.num_epochs, verbose=False, seed=solver_rng)
    start, cpu_start = time.perf_counter(), time.process_time()
    # One BLAS thread per run: the pool already puts a run on every core, so more
    # threads only oversubscribe them (a width-256 run took 10x longer with two
    # runs each spawning threads), and a fixed thread count keeps the summation
    # order, hence the result, the same in every process.
    with threadpool_limits(limits=1, user_api="blas"):
        solver.train()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    # float() of a float32 is exact, so these equal what the cache's JSON round-trips.
    loss = np.array([float(v) for v in solver.loss_history], dtype=np.float64)
    train_acc = np.array(solver.train_acc_history, dtype=np.float64)
    val_acc = np.array(solver.val_acc_history, dtype=np.float64)
    with np.errstate(all="ignore"):
        final_loss = float(np.mean(loss[-100:])) if loss.size else float("nan")
    return RunResult(config=config, loss_history=loss, train_acc_history=train_acc,
                     val_acc_history=val_acc, best_val_acc=float(val_acc.max()),
                     best_train_acc=float(train_acc.max()), final_loss=final_loss,
                     diverged=bool(solver.diverged), seconds=seconds,
                     cpu_seconds=cpu_seconds)


def _train_in_worker(config: RunConfig) -> dict:
    # Workers return plain data: cheap to pickle, and identical to what the cache holds.
    return train_run(config).to_json()


# ---------------------------------------------------------------- cache

_CODE_HASH: str | None = None


def code_fingerprint() -> str:
    """SHA-256 of the training code's source and the NumPy version (part of each key)."""
    global _CODE_HASH
    if _CODE_HASH is None:
        h = hashlib.sha256()
        for name in TRAINING_MODULES:
            h.update(name.encode() + b"\0" + inspect.getsource(importlib.import_module(name)).encode())
        for fn in (train_run, _generators):
            h.update(inspect.getsource(fn).encode())
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


# ---------------------------------------------------------------- sweeps

class SweepResult:
    """The runs of a sweep in grid order, with helpers to tabulate them.

    Attributes
    ----------
    axes : dict of str to tuple
        Grid axis name -> its values, in the order given.
    seeds : tuple of int
    runs : list of RunResult
        Row-major over the axes, seeds innermost: ``runs[(i * len(b) + j) * S + s]``
        for axes (a, b).
    stats : dict
        ``cached`` (read from the cache), ``trained`` and ``repaired`` (damaged
        cache entries that were retrained) counts.
    """

    def __init__(self, axes: dict[str, tuple], seeds: tuple[int, ...], runs: list[RunResult],
                 stats: dict[str, int]):
        self.axes = axes
        self.seeds = seeds
        self.runs = runs
        self.stats = stats

    def __repr__(self) -> str:
        shape = " x ".join(f"{k}[{len(v)}]" for k, v in self.axes.items()) or "1"
        return f"<SweepResult {shape} x seeds[{len(self.seeds)}]: {self.stats}>"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values()) + (len(self.seeds),)

    def metric(self, name: str | Callable[[RunResult], float]) -> np.ndarray:
        """A metric for every run, shape ``(len(axis_0), ..., len(seeds))``.

        ``name`` is one of best_val_acc, best_train_acc, final_loss, diverged,
        seconds, cpu_seconds, or a function of a :class:`RunResult` returning a number.
        """
        if callable(name):
            fn = name
        else:
            check_choice("name", name, METRICS)
            fn = lambda r: getattr(r, name)  # noqa: E731
        return np.array([fn(r) for r in self.runs]).reshape(self.shape)

    def select(self, **where: Any) -> list[RunResult]:
        """The runs whose axis values match ``where`` (all seeds), in grid order.

        Real values match within a relative 1e-9, so a value recomputed as
        ``10 ** -3.5`` finds the grid's ``np.logspace`` entry despite rounding.
        """
        index = []
        for name, want in where.items():
            if name not in self.axes:
                raise ValueError(f"{name!r} is not an axis of this sweep; axes: {list(self.axes)}")
            values = self.axes[name]
            hits = [i for i, v in enumerate(values) if _same_value(v, want)]
            if not hits:
                raise ValueError(f"{name}={want!r} is not in the sweep; values: {list(values)}")
            index.append((list(self.axes).index(name), hits[0]))
        chosen = []
        for pos, combo in enumerate(itertools.product(*(range(len(v)) for v in self.axes.values()))):
            if all(combo[a] == i for a, i in index):
                s = len(self.seeds)
                chosen.extend(self.runs[pos * s:(pos + 1) * s])
        return chosen

    def records(self) -> list[dict]:
        """One flat dict per run (axis values, seed and scalar metrics), for a table."""
        out = []
        for r in self.runs:
            row = {name: getattr(r.config, name) for name in self.axes}
            row["seed"] = r.config.seed
            row.update({m: getattr(r, m) for m in METRICS})
            out.append(row)
        return out


def _same_value(a: Any, b: Any) -> bool:
    real = (numbers.Real, np.floating, np.integer)
    if isinstance(a, real) and isinstance(b, real) and not isinstance(a, bool) and not isinstance(b, bool):
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0.0))
    return a == b


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


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m normcore.sweeps",
                                     description="Manage normcore's cache of sweep results.")
    parser.add_argument("command", choices=("clear-cache", "info"),
                        help="clear-cache: delete every cached run; info: where and how big")
    parser.add_argument("--dir", help="a cache directory other than the per-user one")
    args = parser.parse_args(argv)
    cache = args.dir if args.dir else True
    if args.command == "clear-cache":
        n = clear_cache(cache)
        print(f"removed {n} cached run(s) from {sweep_cache_dir(cache)}")
    else:
        directory = sweep_cache_dir(cache)
        files = [p for p in directory.iterdir() if p.suffix == ".json"]
        size = sum(p.stat().st_size for p in files)
        print(f"{directory}: {len(files)} cached run(s), {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
