"""Combinations of known mistakes in a normalization's statistics.

Real students' files often hold two mistakes at once (statistics over the whole
array *and* eps outside the square root, say), which no single-mistake model
matches. This module builds every combination of the independent choices a
forward pass makes, each named by the tuple of its mistakes' ids:

- the domain of the statistics: the right one, or a known wrong one for the
  layer (the whole array; each (channel, pixel) over N; the batch axis for
  layer norm; no spatial pooling or interleaved channels for group norm);
- where eps goes: inside or outside the square root;
- the variance's divisor: N or N - 1.

The correct choice of all three is left out: that is the reference itself.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["DOMAINS", "view", "xhat", "output_variants", "describe"]

#: the wrong domains worth modelling, per layer kind
DOMAINS = {
    "bn": ("stats_over_all",),
    "sbn": ("sbn_per_pixel", "stats_over_all"),
    "ln": ("ln_uses_bn_axis", "stats_over_all"),
    "gn": ("gn_no_spatial_pool", "gn_interleaved_groups", "stats_over_all"),
}

_TEXT = {
    "stats_over_all": "statistics over the whole array",
    "sbn_per_pixel": "statistics per (channel, pixel) over N",
    "ln_uses_bn_axis": "statistics over the batch (axis 0)",
    "gn_no_spatial_pool": "statistics over each group's channels at each pixel",
    "gn_interleaved_groups": "groups of channels (g, g+G, ...)",
    "eps_outside_sqrt": "eps outside the square root",
    "unbiased_variance": "the variance divided by N - 1",
}


def view(x: np.ndarray, kind: str, domain: str | None = None, G: int | None = None):
    """A view of x and the axes each statistic runs over, for a domain."""
    N = x.shape[0]
    if domain == "stats_over_all":
        return x.reshape(1, -1), (1,)
    if domain == "sbn_per_pixel":
        return x.reshape(N, -1), (0,)
    if domain == "ln_uses_bn_axis":
        return x, (0,)
    if domain in ("gn_no_spatial_pool", "gn_interleaved_groups"):
        C, H, W = x.shape[1:]
        if domain == "gn_no_spatial_pool":
            return x.reshape(N, G, C // G, H, W), (2,)
        return x.reshape(N, C // G, G, H, W), (1, 3, 4)  # channel c in group c % G
    if kind == "gn":
        return x.reshape(N, G, -1), (2,)
    return x, {"bn": (0,), "ln": (1,), "sbn": (0, 2, 3)}[kind]


def xhat(x, kind, eps, G=None, domain=None, ddof=0, eps_outside=False) -> np.ndarray:
    """The normalized x under one combination of choices."""
    v, axes = view(x, kind, domain, G)
    mu = v.mean(axis=axes, keepdims=True)
    n = v.size // mu.size
    var = ((v - mu) ** 2).sum(axis=axes, keepdims=True) / (n - ddof)
    std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return ((v - mu) / std).reshape(x.shape)


def describe(ids: tuple[str, ...]) -> str:
    """``"the output with statistics over the whole array and eps outside ..."``."""
    parts = [_TEXT[i] for i in ids]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"the output with {listed}"


def output_variants(x, kind, eps, affine, G=None) -> dict:
    """Every wrong combination: ``ids -> (affine(xhat), description)``.

    ``affine`` maps xhat to the layer's output (gamma * xhat + beta).
    """
    found = {}
    for domain, outside, ddof in itertools.product((None,) + DOMAINS[kind], (False, True),
                                                   (0, 1)):
        ids = tuple(i for i, on in ((domain, domain), ("eps_outside_sqrt", outside),
                                    ("unbiased_variance", ddof)) if on)
        if ids:
            out = affine(xhat(x, kind, eps, G, domain, ddof, outside))
            found[ids] = (out, describe(ids))
    return found
