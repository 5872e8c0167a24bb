"""Time the assignment's weight-scale experiment: serial, parallel, and from the cache.

20 weight scales (np.logspace(-4, 0, 20)) x {batchnorm, none}, hidden (50,) * 7,
1000 MNIST-1D training examples, batch 50, 10 epochs, Adam 1e-3, one seed.

    python benchmarks/bench_sweep.py [--repeats 1]

Both cold runs start from an empty temporary cache directory; the cached run
reads the one the parallel run filled. Each time is the median of --repeats.
Targets (issue 4, on 2 cores): cold parallel <= 15 s, cached <= 1 s,
speedup serial / parallel >= 1.7.

The machine's load average is printed too: on shared cores the speedup says as
much about the neighbours as about the pool. "Busy" is the sum of the runs'
own training times divided by (workers x wall time): near 100 % the pool kept
every worker training. Per-run CPU time far below per-run wall time means the
runs waited for a core (other processes), not that they did more work.
Before each parallel run a probe measures how many cores are really free: one
pure-Python loop per worker, in parallel; the sum of their CPU times over the
wall time (2.0 = both cores free). Neighbours in other containers do not show in
`top` but do show here.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import statistics
import tempfile
import time

import numpy as np

from normcore.sweeps import RunConfig, run_sweep
from normcore.sweeps.executors import _worker_count

GRID = {"normalization": ["batchnorm", None], "weight_scale": np.logspace(-4, 0, 20)}
BASE = RunConfig(hidden_dims=(50,) * 7, num_train=1000, batch_size=50, num_epochs=10,
                 update_rule="adam", learning_rate=1e-3, dataset="mnist1d")


def _spin(n: int) -> float:
    start = time.process_time()
    x = 0
    for i in range(n):
        x += i
    return time.process_time() - start


def free_cores(workers: int, n: int = 4_000_000) -> float:
    """CPU-seconds per wall-second that ``workers`` busy processes get right now."""
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_spin, [1000] * workers))  # start the workers outside the timing
        start = time.perf_counter()
        cpu = sum(pool.map(_spin, [n] * workers))
        return cpu / (time.perf_counter() - start)


def timed(executor, cache) -> tuple[float, object]:
    start = time.perf_counter()
    res = run_sweep(GRID, BASE, seeds=(0,), executor=executor, cache=cache, progress=False)
    return time.perf_counter() - start, res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeats per measurement; the median is reported")
    args = parser.parse_args()
    workers = _worker_count()

    load_before = os.getloadavg()
    rows = []
    print(f"{len(GRID['normalization']) * len(GRID['weight_scale'])} runs, {workers} worker "
          f"processes; per repeat: wall times, then per-run CPU time summed")
    for k in range(args.repeats):
        with tempfile.TemporaryDirectory() as d_serial, tempfile.TemporaryDirectory() as d_par:
            t_s, res_s = timed("serial", d_serial)
            free = free_cores(workers)
            t_p, res_p = timed(None, d_par)
            t_c, res_c = timed(None, d_par)
        assert res_c.stats["trained"] == 0, res_c.stats
        same = all(np.array_equal(a.loss_history, b.loss_history, equal_nan=True)
                   for a, b in zip(res_s.runs, res_p.runs))
        assert same, "serial and parallel results differ"
        cpu_s = sum(r.cpu_seconds for r in res_s.runs)
        cpu_p = sum(r.cpu_seconds for r in res_p.runs)
        busy = sum(r.seconds for r in res_p.runs) / (workers * t_p)
        rows.append((t_s, t_p, t_c, t_s / t_p, free))
        print(f"  repeat {k + 1}: serial {t_s:6.2f} s (CPU {cpu_s:5.2f} s) | parallel {t_p:6.2f} s "
              f"(CPU {cpu_p:5.2f} s, workers busy {busy:.0%}, free cores {free:.2f}) | "
              f"cached {t_c:5.2f} s | speedup {t_s / t_p:.2f}x")

    s, p, c, speedup, free = (statistics.median(col) for col in zip(*rows))
    print(f"median of {args.repeats}:")
    print(f"  serial (cold):   {s:6.2f} s")
    print(f"  parallel (cold): {p:6.2f} s   target <= 15 s")
    print(f"  cached:          {c:6.2f} s   target <= 1 s")
    print(f"  speedup serial/parallel: {speedup:.2f}x   target >= 1.7x "
          f"(free cores measured before the parallel run: {free:.2f} of {workers})")
    print("  load average (1 min) before / after: "
          f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    acc = res_s.metric("best_val_acc")[..., 0]
    print(f"  best val acc: batchnorm max {acc[0].max():.3f}, none max {acc[1].max():.3f}")


if __name__ == "__main__":
    main()
