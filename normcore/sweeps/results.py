"""A finished sweep: its runs in grid order, and helpers to tabulate them."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from normcore.sweeps.config import METRICS, RunResult
from normcore.validation import check_choice

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
