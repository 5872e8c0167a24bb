"""Training one run: data, generators, the solver, and the optional measurements."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from normcore.data import load_dataset
from normcore.fc_net import FullyConnectedNet
from normcore.solver import Solver
from normcore.sweeps.config import RunConfig, RunResult
from normcore.sweeps.measures import WeightTrackingSolver, test_statistics, weight_norm_extras

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
        rng=model_rng, norm_groups=config.norm_groups, reg_scope=config.reg_scope)
    tracking = "weight_norms" in config.measure
    solver = (WeightTrackingSolver if tracking else Solver)(model, data, update_rule=config.update_rule,
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
        extras = {}
        if tracking:
            per_epoch = max(data["X_train"].shape[0] // config.batch_size, 1)
            extras.update(weight_norm_extras(solver, config.num_epochs, per_epoch))
        if "test_statistics" in config.measure:
            extras.update(test_statistics(model, data, config.batch_size))
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
                     cpu_seconds=cpu_seconds, extras=extras)


def _train_in_worker(config: RunConfig) -> dict:
    # Workers return plain data: cheap to pickle, and identical to what the cache holds.
    return train_run(config).to_json()
