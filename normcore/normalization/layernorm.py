"""Layer norm and group norm: statistics per example, over its features (or a group of channels).

The statistics are per row of a (rows, features) view of ``x``: (N, D) for
layer norm, (N, G, C/G*H*W) for group norm. G = 1 is layer norm over
(C, H, W); G = C is instance norm.
"""

from __future__ import annotations

import numpy as np

from normcore.normalization.caches import GroupNormCache, LayerNormCache
from normcore.normalization.kernels import (
    _channel_sum, _channel_sum_of_products, _check_affine_inputs, _check_dout, _check_param,
    _standardize_rows, _standardize_rows_backward,
)
from normcore.validation import check_positive_int

__all__ = ["layernorm_forward", "layernorm_backward",
           "spatial_groupnorm_forward", "spatial_groupnorm_backward"]


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      ln_param: dict) -> tuple[np.ndarray, LayerNormCache]:
    """Layer normalization: standardize each example over its own features.

    The statistics are per example, so the layer behaves the same in train and
    test mode and keeps no running statistics.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
    ln_param : dict
        ``eps`` (1e-5). Any ``mode`` key is ignored.

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : LayerNormCache
    """
    x, gamma, beta = _check_affine_inputs(x, gamma, beta, 2, "(N, D)", lambda s: (s[1],))
    _, eps = _check_param("ln_param", ln_param, need_mode=False)
    mu, var, ivar, xhat = _standardize_rows(x, eps)
    out = xhat * gamma
    out += beta
    return out, LayerNormCache(x, mu, var, ivar, xhat, gamma, eps)


def layernorm_backward(dout: np.ndarray, cache: LayerNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer-norm backward in closed form.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : LayerNormCache

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)
    """
    dout = _check_dout(dout, cache.x)
    dbeta = _channel_sum(dout)
    dgamma = _channel_sum_of_products(dout, cache.xhat)
    dx = _standardize_rows_backward(dout * cache.gamma, cache.xhat, cache.ivar)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int,
                              gn_param: dict) -> tuple[np.ndarray, GroupNormCache]:
    """Group normalization: per example, standardize each group of C/G channels.

    G = 1 is layer norm over (C, H, W); G = C is instance norm.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (1, C, 1, 1)
    G : int
        Number of groups; must divide C.
    gn_param : dict
        ``eps`` (1e-5).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : GroupNormCache
    """
    x, gamma, beta = _check_affine_inputs(x, gamma, beta, 4, "(N, C, H, W)", lambda s: (1, s[1], 1, 1))
    N, C = x.shape[:2]
    G = check_positive_int("G", G)
    if C % G:
        raise ValueError(f"G must divide the number of channels C={C}, got G={G}")
    _, eps = _check_param("gn_param", gn_param, need_mode=False)
    # Each row of the (N, G, C/G*H*W) view is one group of one example.
    mu, var, ivar, xhat = _standardize_rows(x.reshape(N, G, -1), eps)
    xhat = xhat.reshape(x.shape)
    out = xhat * gamma
    out += beta
    return out, GroupNormCache(x, G, mu, var, ivar, xhat, gamma, eps)


def spatial_groupnorm_backward(dout: np.ndarray, cache: GroupNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`spatial_groupnorm_forward` (closed form).

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : GroupNormCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma, dbeta : ndarray, shape (1, C, 1, 1)
    """
    dout = _check_dout(dout, cache.x)
    N, C = dout.shape[:2]
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = _channel_sum_of_products(dout, cache.xhat).reshape(1, C, 1, 1)
    dxhat = (dout * cache.gamma).reshape(N, cache.G, -1)
    dx = _standardize_rows_backward(dxhat, cache.xhat.reshape(N, cache.G, -1), cache.ivar)
    return dx.reshape(dout.shape), dgamma, dbeta
