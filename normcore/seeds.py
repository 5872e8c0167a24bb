"""One switch that shifts every seed the book uses: ``$NORMCORE_SEED_OFFSET``.

A result that holds only for seeds 0..4 is an anecdote. Setting
``NORMCORE_SEED_OFFSET=1000`` makes every sweep, every network and every solver
in the chapters draw from seeds 1000..1004 instead, without editing a chapter,
so their claims can be re-checked on fresh randomness::

    from normcore.seeds import seed, seeds
    FullyConnectedNet(..., seed=seed(0))     # 0 + offset
    run_sweep(grid, seeds=range(5))          # run_sweep applies the offset itself
"""

from __future__ import annotations

import numbers
import os

__all__ = ["SEED_OFFSET_ENV", "seed_offset", "seed", "seeds"]

SEED_OFFSET_ENV = "NORMCORE_SEED_OFFSET"


def seed_offset() -> int:
    """``$NORMCORE_SEED_OFFSET`` as a non-negative int (0 when unset or empty)."""
    text = os.environ.get(SEED_OFFSET_ENV, "").strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"${SEED_OFFSET_ENV} must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"${SEED_OFFSET_ENV} must be a non-negative integer, got {text!r}")
    return value


def seed(s: int) -> int:
    """``s`` shifted by the offset: the seed to pass to a network, solver or generator."""
    if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
        raise TypeError(f"s must be a non-negative int, got {s!r}")
    return int(s) + seed_offset()


def seeds(n_or_seeds) -> tuple[int, ...]:
    """``seeds(5)`` is ``(0..4)`` shifted by the offset; a sequence is shifted as given."""
    base = range(n_or_seeds) if isinstance(n_or_seeds, numbers.Integral) else n_or_seeds
    return tuple(seed(s) for s in base)
