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

from normcore.sweeps.cache import clear_cache, code_fingerprint, sweep_cache_dir
from normcore.sweeps.config import MEASURES, RunConfig, RunResult
from normcore.sweeps.executors import run_sweep
from normcore.sweeps.results import SweepResult
from normcore.sweeps.training import train_run

__all__ = ["RunConfig", "RunResult", "SweepResult", "run_sweep", "train_run",
           "sweep_cache_dir", "clear_cache", "code_fingerprint", "MEASURES"]
