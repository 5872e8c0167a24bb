"""The caches of the normalization layers: what each forward pass keeps for its backward."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BatchNormCache", "LayerNormCache", "GroupNormCache"]


class BatchNormCache(NamedTuple):
    """The nodes of the batch-norm computation graph, by name.

    The forward pass, one node per line (statistics over ``axis``)::

        mu   = mean(x)                # per-feature batch mean
        xmu  = x - mu
        sq   = xmu ** 2
        var  = mean(sq)               # biased batch variance
        std  = sqrt(var + eps)
        ivar = 1 / std
        xhat = xmu * ivar
        out  = gamma * xhat + beta

    In test mode ``mu`` and ``var`` are the running statistics instead.
    Statistics, ``gamma`` and ``beta`` have the shape of ``x`` with the reduced
    axes set to 1. ``sq`` and ``xhat`` are N*D arrays that the closed-form
    backward never reads, so they are not stored: the properties recompute them
    on access (the forward pass computes ``var`` without forming ``sq``).
    """

    mode: str
    x: np.ndarray
    mu: np.ndarray
    xmu: np.ndarray
    var: np.ndarray
    std: np.ndarray
    ivar: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    axis: tuple[int, ...]

    @property
    def sq(self) -> np.ndarray:
        """The node ``sq = xmu ** 2``."""
        return self.xmu ** 2

    @property
    def xhat(self) -> np.ndarray:
        """The node ``xhat = xmu * ivar``: x standardized per feature."""
        return self.xmu * self.ivar


class LayerNormCache(NamedTuple):
    """Layer-norm intermediates; statistics have shape (N, 1)."""

    x: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    ivar: np.ndarray
    xhat: np.ndarray
    gamma: np.ndarray
    eps: float


class GroupNormCache(NamedTuple):
    """Group-norm intermediates; statistics have shape (N, G, 1), xhat (N, C, H, W)."""

    x: np.ndarray
    G: int
    mu: np.ndarray
    var: np.ndarray
    ivar: np.ndarray
    xhat: np.ndarray
    gamma: np.ndarray
    eps: float
