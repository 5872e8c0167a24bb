"""Models of the known mistakes: what a layer computes when a given bug is in it.

A probe recognises a mistake by its measured signature: the student's result
matches the model of that mistake on the same inputs (and the correct layer
does not). The correct results always come from normcore itself; this module
only holds the *wrong* variants and the statistics they are built from, written
as plainly as a student would.

``kind`` names the layer's statistics: ``"bn"`` (N, D) over axis 0, ``"ln"``
(N, D) over axis 1, ``"sbn"`` (N, C, H, W) over axes (0, 2, 3), ``"gn"``
(N, C, H, W) per example over each group of C/G consecutive channels.
"""

from __future__ import annotations

import numpy as np

from normcore.check.variants import view

__all__ = ["stats", "group_mean", "param_axes", "fit_dx", "best_match"]


def stats(x: np.ndarray, kind: str, G: int | None = None, ddof: int = 0):
    """Mean and variance, shaped to broadcast against ``x``."""
    v, axes = view(x, kind, G=G)
    mu = v.mean(axis=axes, keepdims=True)
    n = v.size // mu.size
    var = ((v - mu) ** 2).sum(axis=axes, keepdims=True) / (n - ddof)
    shape = (x.shape[0], G, 1) if kind == "gn" else mu.shape
    return mu.reshape(shape), var.reshape(shape), n


def group_mean(a: np.ndarray, kind: str, G: int | None = None) -> np.ndarray:
    """The mean of ``a`` over each statistic's domain, broadcast back to ``a.shape``."""
    v, axes = view(a, kind, G=G)
    return np.broadcast_to(v.mean(axis=axes, keepdims=True), v.shape).reshape(a.shape)


def param_axes(x: np.ndarray) -> tuple[int, ...]:
    """The axes dgamma and dbeta sum over: all but the channel axis 1."""
    return (0,) if x.ndim == 2 else (0, 2, 3)


def fit_dx(dx, x, gamma_b, dout, kind, eps, G=None):
    """Fit the student's dx to ``ivar * (dxhat - a * mean(dxhat) - b * xhat * mean(dxhat*xhat))``.

    The correct gradient has a = b = 1. The term in ``a`` lies along the
    all-ones direction of each statistic's group (the path through the mean),
    the term in ``b`` along xhat (the path through the variance), so the fitted
    coefficients say which path is wrong and by what factor.

    Returns
    -------
    a, b : float
    misfit : float
        Part of the error the two directions do not explain (relative); near 0
        when the mistake lies in these paths alone.
    """
    mu, var, _ = stats(x, kind, G)
    v, _ = view(x, kind, G=G)
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = ((v - mu) * ivar).reshape(x.shape)
    ivar_full = np.broadcast_to(ivar, v.shape).reshape(x.shape)
    dxhat = dout * gamma_b
    along_ones = group_mean(dxhat, kind, G)
    along_xhat = xhat * group_mean(dxhat * xhat, kind, G)
    r = dxhat - np.asarray(dx, dtype=np.float64) / ivar_full
    M = np.column_stack([along_ones.ravel(), along_xhat.ravel()])
    (a, b), *_ = np.linalg.lstsq(M, r.ravel(), rcond=None)
    resid = r.ravel() - M @ np.array([a, b])
    err = r.ravel() - M @ np.array([1.0, 1.0])  # the error against the correct dx
    misfit = float(np.linalg.norm(resid) / max(np.linalg.norm(err), 1e-300))
    return float(a), float(b), misfit


def best_match(student, candidates: dict, tol: float):
    """The candidate the student's result matches best, if within ``tol``.

    Parameters
    ----------
    student : array_like
    candidates : dict
        ``diagnosis_id -> (model_result, formula_text)``.
    tol : float
        Largest relative difference (as :func:`normcore.check.probe.rel`) accepted
        as a match.

    Returns
    -------
    (diagnosis_id, formula_text, difference) or None
    """
    from normcore.check.probe import rel  # one home for the metric

    best = None
    for diag, (model, formula) in candidates.items():
        err = rel(student, model)
        if err <= tol and (best is None or err < best[2]):
            best = (diag, formula, err)
    return best
