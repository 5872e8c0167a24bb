"""Batch, layer, spatial batch and group normalization: forward and backward.

All four layers standardize ``x`` over some axes and then scale and shift it::

    xhat = (x - mean(x)) / sqrt(var(x) + eps)        # statistics over `axis`
    out  = gamma * xhat + beta

They differ only in the axes of the statistics and of ``gamma``/``beta``:

==================  =================  =========================  ===============
layer               x                  statistics over            gamma, beta
==================  =================  =========================  ===============
batch norm          (N, D)             the batch, axis 0          (D,)
layer norm          (N, D)             the features, axis 1       (D,)
spatial batch norm  (N, C, H, W)       axes (0, 2, 3)             (C,)
group norm          (N, C, H, W)       each group of C/G channels (1, C, 1, 1)
==================  =================  =========================  ===============

so the standardization and its closed-form gradient are written once
(:func:`_standardize`, :func:`_standardize_backward`). Statistics keep the
reduced axes as size-1 dimensions (``keepdims=True``) so they broadcast against
``x``: in a batch-norm cache ``mu`` has shape (1, D).

Batch norm additionally has :func:`batchnorm_backward`, a node-by-node walk
back through the computation graph whose intermediates the cache names.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from normcore.validation import check_array, check_choice, check_positive_int, check_real, check_shape

__all__ = [
    "BatchNormCache", "LayerNormCache", "GroupNormCache",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
]

_DEFAULT_EPS = 1e-5
_DEFAULT_MOMENTUM = 0.9


class BatchNormCache(NamedTuple):
    """The nodes of the batch-norm computation graph, by name.

    The forward pass in train mode, one node per line::

        mu   = mean(x, axis)          # per-feature batch mean
        xmu  = x - mu
        sq   = xmu ** 2               # not kept: only needed to form var
        var  = mean(sq, axis)         # biased batch variance
        std  = sqrt(var + eps)
        ivar = 1 / std
        xhat = xmu * ivar
        out  = gamma * xhat + beta

    In test mode ``mu`` and ``var`` are the running statistics instead.
    Statistics have the shape of ``x`` with the reduced axes set to 1; ``gamma``
    is stored in that broadcastable shape too.
    """

    mode: str
    x: np.ndarray
    mu: np.ndarray
    xmu: np.ndarray
    var: np.ndarray
    std: np.ndarray
    ivar: np.ndarray
    xhat: np.ndarray
    gamma: np.ndarray
    eps: float
    axis: tuple[int, ...]


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


# --------------------------------------------------------------------------- #
# Shared pieces
# --------------------------------------------------------------------------- #

def _standardize(x: np.ndarray, axis: tuple[int, ...], eps: float):
    """Return ``mu, xmu, var, std, ivar, xhat`` with statistics over ``axis`` (keepdims)."""
    mu = x.mean(axis=axis, keepdims=True)
    xmu = x - mu
    sq = np.square(xmu)
    var = sq.mean(axis=axis, keepdims=True)
    std = np.sqrt(var + eps)
    ivar = 1.0 / std
    # sq has served its purpose; its memory becomes xhat, saving an allocation.
    xhat = np.multiply(xmu, ivar, out=sq)
    return mu, xmu, var, std, ivar, xhat


def _standardize_backward(dxhat: np.ndarray, xhat: np.ndarray, ivar: np.ndarray,
                          axis: tuple[int, ...]) -> np.ndarray:
    """Gradient through ``xhat = (x - mean) / sqrt(var + eps)`` in closed form.

    ``dx = ivar * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``, means over
    ``axis``. ``dxhat`` is overwritten with the result (callers pass a temporary).
    """
    m = xhat.size // ivar.size
    mean_dxhat = dxhat.sum(axis=axis, keepdims=True) / m
    prod = dxhat * xhat
    mean_dxhat_xhat = prod.sum(axis=axis, keepdims=True) / m
    # Reuse prod's memory for xhat * mean(dxhat * xhat) + mean(dxhat).
    correction = np.multiply(xhat, mean_dxhat_xhat, out=prod)
    correction += mean_dxhat
    dx = np.subtract(dxhat, correction, out=dxhat)
    dx *= ivar
    return dx


def _check_param(name: str, param: Any, need_mode: bool) -> tuple[str | None, float]:
    if not isinstance(param, dict):
        raise TypeError(f"{name} must be a dict, got {type(param).__name__}")
    mode = None
    if need_mode:
        if "mode" not in param:
            raise ValueError(f"{name}['mode'] is required: 'train' or 'test'")
        mode = check_choice(f"{name}['mode']", param["mode"], ("train", "test"))
    eps = check_real(f"{name}['eps']", param.get("eps", _DEFAULT_EPS), 0.0, low_open=True)
    return mode, eps


def _check_dout(dout: Any, shape: tuple[int, ...]) -> None:
    check_array("dout", dout)
    if dout.shape != shape:
        raise ValueError(f"dout must have shape {shape} (the forward input's), got {dout.shape}")


def _bn_forward(x, gamma_b, beta_b, bn_param, axis):
    """Batch norm over ``axis``; gamma_b/beta_b already broadcast against x."""
    mode, eps = _check_param("bn_param", bn_param, need_mode=True)
    momentum = check_real("bn_param['momentum']", bn_param.get("momentum", _DEFAULT_MOMENTUM), 0.0, 1.0)
    C = gamma_b.size
    running_mean = bn_param.get("running_mean")
    running_var = bn_param.get("running_var")
    if running_mean is None:
        running_mean = np.zeros(C, dtype=x.dtype)
    if running_var is None:
        running_var = np.zeros(C, dtype=x.dtype)
    check_shape("bn_param['running_mean']", running_mean, (C,))
    check_shape("bn_param['running_var']", running_var, (C,))
    stat_shape = gamma_b.shape

    if mode == "train":
        mu, xmu, var, std, ivar, xhat = _standardize(x, axis, eps)
        # The assignment's convention: biased batch variance, eps not included.
        running_mean = momentum * running_mean + (1 - momentum) * mu.reshape(C)
        running_var = momentum * running_var + (1 - momentum) * var.reshape(C)
    else:
        mu = running_mean.reshape(stat_shape)
        var = running_var.reshape(stat_shape)
        xmu = x - mu
        std = np.sqrt(var + eps)
        ivar = 1.0 / std
        xhat = xmu * ivar
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var

    out = xhat * gamma_b
    out += beta_b
    cache = BatchNormCache(mode, x, mu, xmu, var, std, ivar, xhat, gamma_b, eps, axis)
    return out, cache


def _bn_backward_closed(dout: np.ndarray, cache: BatchNormCache):
    """Closed-form batch-norm backward over ``cache.axis``; grads of gamma/beta keep dims."""
    _check_dout(dout, cache.x.shape)
    axis, xhat = cache.axis, cache.xhat
    dbeta = dout.sum(axis=axis, keepdims=True)
    prod = dout * xhat
    dgamma = prod.sum(axis=axis, keepdims=True)
    scale = cache.gamma * cache.ivar
    if cache.mode == "test":
        # Running statistics are constants: the layer is a per-feature affine map.
        return np.multiply(dout, scale, out=prod), dgamma, dbeta
    m = xhat.size // dbeta.size
    # dx = gamma * ivar * (dout - dbeta/m - xhat * dgamma/m), written into prod's memory.
    dx = np.multiply(xhat, dgamma / m, out=prod)
    dx += dbeta / m
    np.subtract(dout, dx, out=dx)
    dx *= scale
    return dx, dgamma, dbeta


def _check_bn_inputs(x, gamma, beta, ndim: int, x_shape_doc: str) -> int:
    check_array("x", x)
    if x.ndim != ndim:
        raise ValueError(f"x must be a {ndim}-D array of shape {x_shape_doc}, got shape {x.shape}")
    C = x.shape[1]
    check_array("gamma", gamma)
    check_shape("gamma", gamma, (C,))
    check_array("beta", beta)
    check_shape("beta", beta, (C,))
    return C


# --------------------------------------------------------------------------- #
# Batch norm
# --------------------------------------------------------------------------- #

def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      bn_param: dict) -> tuple[np.ndarray, BatchNormCache]:
    """Batch normalization of a minibatch of feature vectors.

    In train mode each feature is standardized with the minibatch's mean and
    biased variance, and the running statistics are updated::

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var

    In test mode the running statistics are used instead.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
        Scale and shift.
    bn_param : dict
        ``mode`` (required): ``'train'`` or ``'test'``; ``eps`` (1e-5);
        ``momentum`` (0.9); ``running_mean``, ``running_var``: shape (D,), created
        as zeros in x's dtype on first use. The updated running statistics are
        stored back into ``bn_param`` (as new arrays).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : BatchNormCache
    """
    D = _check_bn_inputs(x, gamma, beta, 2, "(N, D)")
    return _bn_forward(x, gamma.reshape(1, D), beta.reshape(1, D), bn_param, (0,))


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch-norm backward, one step per node of the computation graph.

    Each line is the local derivative of one forward node (see
    :class:`BatchNormCache`) times the gradient flowing into it, in reverse order.
    Where a node broadcasts in the forward pass (``x - mu``), its gradient sums in
    the backward pass, and vice versa. See :func:`batchnorm_backward_alt` for the
    same result in closed form.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : BatchNormCache
        From :func:`batchnorm_forward` in train mode.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)
    """
    if cache.mode != "train":
        dx, dgamma, dbeta = _bn_backward_closed(dout, cache)
        return dx, dgamma.reshape(-1), dbeta.reshape(-1)
    _check_dout(dout, cache.x.shape)
    N = dout.shape[0]
    xmu, var, std, ivar, xhat, gamma = cache.xmu, cache.var, cache.std, cache.ivar, cache.xhat, cache.gamma

    # out = gamma * xhat + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    # xhat = xmu * ivar: xmu reaches out along two paths, this is the first.
    divar = (dxhat * xmu).sum(axis=0, keepdims=True)
    dxmu_direct = dxhat * ivar
    # ivar = 1 / std
    dstd = -divar / std**2
    # std = sqrt(var + eps)
    dvar = 0.5 * dstd / np.sqrt(var + cache.eps)
    # var = mean(sq): every sq[i] gets 1/N of dvar
    dsq = np.ones_like(xmu) * dvar / N
    # sq = xmu ** 2: the second path into xmu
    dxmu_via_var = 2 * xmu * dsq
    dxmu = dxmu_direct + dxmu_via_var
    # xmu = x - mu: x gets dxmu directly, mu gets minus its sum
    dmu = -dxmu.sum(axis=0, keepdims=True)
    # mu = mean(x): every x[i] gets 1/N of dmu
    dx = dxmu + np.ones_like(xmu) * dmu / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch-norm backward in closed form: the graph's steps simplified on paper.

    ``dx = gamma * ivar / N * (N * dout - dbeta - xhat * dgamma)``, computed in
    place in one work buffer.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : BatchNormCache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)
    """
    dx, dgamma, dbeta = _bn_backward_closed(dout, cache)
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)


# --------------------------------------------------------------------------- #
# Layer norm
# --------------------------------------------------------------------------- #

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
    _check_bn_inputs(x, gamma, beta, 2, "(N, D)")
    _, eps = _check_param("ln_param", ln_param, need_mode=False)
    mu, _, var, _, ivar, xhat = _standardize(x, (1,), eps)
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
    _check_dout(dout, cache.x.shape)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * cache.xhat).sum(axis=0)
    dx = _standardize_backward(dout * cache.gamma, cache.xhat, cache.ivar, (1,))
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- #
# Spatial batch norm and group norm, for (N, C, H, W) activations
# --------------------------------------------------------------------------- #

def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                              bn_param: dict) -> tuple[np.ndarray, BatchNormCache]:
    """Batch norm for images: one mean and variance per channel over (N, H, W).

    Equal to :func:`batchnorm_forward` on the (N*H*W, C) view of ``x``, computed
    without transposing ``x`` into that view.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict
        As for :func:`batchnorm_forward`; running statistics have shape (C,).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : BatchNormCache
    """
    C = _check_bn_inputs(x, gamma, beta, 4, "(N, C, H, W)")
    return _bn_forward(x, gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1), bn_param, (0, 2, 3))


def spatial_batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`spatial_batchnorm_forward` (closed form).

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : BatchNormCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma, dbeta : ndarray, shape (C,)
    """
    dx, dgamma, dbeta = _bn_backward_closed(dout, cache)
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)


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
    check_array("x", x)
    if x.ndim != 4:
        raise ValueError(f"x must be a 4-D array of shape (N, C, H, W), got shape {x.shape}")
    N, C = x.shape[:2]
    check_array("gamma", gamma)
    check_shape("gamma", gamma, (1, C, 1, 1))
    check_array("beta", beta)
    check_shape("beta", beta, (1, C, 1, 1))
    G = check_positive_int("G", G)
    if C % G:
        raise ValueError(f"G must divide the number of channels C={C}, got G={G}")
    _, eps = _check_param("gn_param", gn_param, need_mode=False)

    mu, _, var, _, ivar, xhat = _standardize(x.reshape(N, G, -1), (2,), eps)
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
    _check_dout(dout, cache.x.shape)
    N = dout.shape[0]
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * cache.xhat).sum(axis=(0, 2, 3), keepdims=True)
    dxhat = (dout * cache.gamma).reshape(N, cache.G, -1)
    dx = _standardize_backward(dxhat, cache.xhat.reshape(N, cache.G, -1), cache.ivar, (2,))
    return dx.reshape(dout.shape), dgamma, dbeta
