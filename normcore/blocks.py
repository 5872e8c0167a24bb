"""Composite blocks of layers: affine-ReLU and affine-norm-ReLU.

This is what the assignment calls ``layer_utils.py``. A block chains layer
functions from :mod:`normcore.layers` and :mod:`normcore.normalization` and keeps
their caches side by side in a named tuple, so the backward pass undoes the chain
in reverse order. :class:`~normcore.fc_net.FullyConnectedNet` is built from these
blocks; they are the only place the combinations are defined.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from normcore.layers import affine_backward, affine_forward, relu_backward, relu_forward
from normcore.normalization import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from normcore.validation import as_float_array, check_choice, check_shape

__all__ = [
    "AffineReluCache",
    "AffineNormReluCache",
    "NORMALIZATIONS",
    "affine_relu_forward",
    "affine_relu_backward",
    "affine_norm_relu_forward",
    "affine_norm_relu_backward",
    "groupnorm_forward",
    "groupnorm_backward",
]

def groupnorm_forward(x, gamma, beta, gn_param):
    """Group norm of a fully connected layer: its M features as M channels of 1x1.

    Parameters
    ----------
    x : ndarray, shape (N, M)
    gamma, beta : ndarray, shape (M,)
    gn_param : dict
        ``"G"`` (int dividing M, the number of groups of M/G consecutive
        features) and optionally ``"eps"``. ``G = 1`` is layer norm.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : GroupNormCache
        From :func:`~normcore.normalization.spatial_groupnorm_forward`.
    """
    if not isinstance(gn_param, dict) or "G" not in gn_param:
        raise ValueError("gn_param must be a dict with the number of groups 'G'")
    # The reshapes below need arrays of these shapes; the layer checks G.
    x = as_float_array("x", x, ndim=2)
    n, m = x.shape
    check_shape("gamma", gamma, (m,))
    check_shape("beta", beta, (m,))
    out, cache = spatial_groupnorm_forward(
        x.reshape(n, m, 1, 1), gamma.reshape(1, m, 1, 1), beta.reshape(1, m, 1, 1),
        gn_param["G"], gn_param)
    return out.reshape(n, m), cache


def groupnorm_backward(dout, cache):
    """Backward pass for :func:`groupnorm_forward`: ``dx`` (N, M), ``dgamma``, ``dbeta`` (M,)."""
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout[:, :, None, None], cache)
    return dx.reshape(dout.shape), dgamma.reshape(-1), dbeta.reshape(-1)


# normalization name -> (forward, backward). Batch norm uses the closed-form
# backward: it is the faster of the two and computes the same gradient as the
# node-by-node version (the tests of normcore.normalization compare them).
_NORM_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward_alt),
    "layernorm": (layernorm_forward, layernorm_backward),
    "groupnorm": (groupnorm_forward, groupnorm_backward),
}

#: The normalizations an affine-norm-ReLU block accepts.
NORMALIZATIONS = tuple(_NORM_LAYERS)


class AffineReluCache(NamedTuple):
    """What :func:`affine_relu_backward` needs: the two layers' caches."""

    affine: Any
    relu: Any


class AffineNormReluCache(NamedTuple):
    """What :func:`affine_norm_relu_backward` needs.

    ``normalization`` records which layer ran, so the backward pass cannot be
    asked to undo a different one.
    """

    affine: Any
    norm: Any
    relu: Any
    normalization: str


def _check_cache(cache, kind, producer):
    # A cache from another block would fail deep inside a layer with an
    # unrelated message; name the mismatch here instead.
    if not isinstance(cache, kind):
        raise TypeError(
            f"cache must be the {kind.__name__} returned by {producer}, got {type(cache).__name__}")


def affine_relu_forward(x, w, b):
    """Affine transform followed by ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        Input; each example is flattened to D = d_1 * ... * d_k features.
    w : ndarray, shape (D, M)
        Weights.
    b : ndarray, shape (M,)
        Biases.

    Returns
    -------
    out : ndarray, shape (N, M)
        ``max(0, x @ w + b)``.
    cache : AffineReluCache
    """
    a, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, AffineReluCache(affine_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass for :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : AffineReluCache
        From the forward pass.

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    _check_cache(cache, AffineReluCache, "affine_relu_forward")
    da = relu_backward(dout, cache.relu)
    return affine_backward(da, cache.affine)


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization):
    """Affine transform, batch, layer or group normalization, then ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        Input; each example is flattened to D features.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)
    gamma : ndarray, shape (M,)
        Scale of the normalization layer.
    beta : ndarray, shape (M,)
        Shift of the normalization layer.
    norm_param : dict
        The normalization layer's parameter dict (``mode``, ``eps``, running
        statistics for batch norm, ``G`` for group norm); batch norm updates it
        in place.
    normalization : {"batchnorm", "layernorm", "groupnorm"}

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : AffineNormReluCache
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    norm_forward, _ = _NORM_LAYERS[normalization]
    a, affine_cache = affine_forward(x, w, b)
    an, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(an)
    return out, AffineNormReluCache(affine_cache, norm_cache, relu_cache, normalization)


def affine_norm_relu_backward(dout, cache):
    """Backward pass for :func:`affine_norm_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : AffineNormReluCache
        From the forward pass.

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    dgamma : ndarray, shape (M,)
    dbeta : ndarray, shape (M,)
    """
    _check_cache(cache, AffineNormReluCache, "affine_norm_relu_forward")
    _, norm_backward = _NORM_LAYERS[cache.normalization]
    dan = relu_backward(dout, cache.relu)
    da, dgamma, dbeta = norm_backward(dan, cache.norm)
    dx, dw, db = affine_backward(da, cache.affine)
    return dx, dw, db, dgamma, dbeta
