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

so they share their code. Batch-norm statistics are per channel (axis 1) and
keep the reduced axes as size-1 dimensions (``keepdims=True``) so they broadcast
against ``x``: in a batch-norm cache ``mu`` has shape (1, D). Layer-norm and
group-norm statistics are per row of a (rows, features) view of ``x``.
Integer or boolean ``x``, ``gamma``, ``beta`` and ``dout`` are promoted to x's
floating dtype (float64 for an integer ``x``), as the assignment's arithmetic
would promote them (its ConvolutionalNetworks notebook passes integer ``gamma``
and ``beta``).

Batch norm additionally has :func:`batchnorm_backward`, a node-by-node walk
back through the computation graph whose intermediates the cache names.

Speed comes from touching each N*D array as few times as possible: sums of
products are taken with ``np.einsum`` (no product array is formed), plain sums
over the rows or columns of a matrix as a product with a vector of ones (BLAS),
scale and shift are folded into per-feature vectors where the algebra allows,
and the closed-form backward passes update their output buffer in place instead
of allocating a new array per step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from normcore.validation import as_float_array, check_choice, check_positive_int, check_real, check_shape

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


# --------------------------------------------------------------------------- #
# Shared pieces
# --------------------------------------------------------------------------- #

def _channel_sum(a: np.ndarray) -> np.ndarray:
    """``a`` summed over every axis but axis 1 (the feature or channel axis): shape (C,)."""
    if a.ndim == 2:
        # BLAS sums the rows of an (N, D) array as ones @ a about twice as fast
        # as a.sum(axis=0) (17 vs 30 us at 256x1024 float32), and no less accurately.
        return np.ones(a.shape[0], dtype=a.dtype) @ a
    return a.sum(axis=(0, *range(2, a.ndim)))


def _channel_sum_of_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a * b)`` summed over every axis but axis 1, without forming ``a * b``."""
    idx = "nchw"[:a.ndim]
    return np.einsum(f"{idx},{idx}->c", a, b)


def _row_sum(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``a`` (or ``a * b``, without forming it) summed over the last axis, kept as size 1.

    Both run lane-wise vectorized sums, about three times faster than
    ``a.sum(axis=-1)`` on 1024-long rows, at some cost in rounding: for float32
    rows of 1024 values whose mean is 1000 standard deviations from zero, the
    error of the mean was 1.7e-4 standard deviations through BLAS (einsum:
    2.2e-4, pairwise sum: 8e-5).
    Immaterial in float64, where the gradient checks run.
    """
    if b is None:
        total = a @ np.ones(a.shape[-1], dtype=a.dtype)  # BLAS: 15 vs einsum's 46 us at 256x1024
    else:
        total = np.einsum("...j,...j->...", a, b)
    return total[..., np.newaxis]


def _standardize_rows(x: np.ndarray, eps: float):
    """Standardize each row (last axis) of ``x``; return ``mu, var, ivar, xhat``.

    The statistics keep the last axis with size 1.
    """
    d = x.shape[-1]
    mu = _row_sum(x) / d
    xhat = x - mu  # holds x - mu until it is scaled in place below
    var = _row_sum(xhat, xhat) / d
    ivar = 1.0 / np.sqrt(var + eps)
    xhat *= ivar
    return mu, var, ivar, xhat


def _standardize_rows_backward(dxhat: np.ndarray, xhat: np.ndarray, ivar: np.ndarray) -> np.ndarray:
    """Gradient through :func:`_standardize_rows` in closed form.

    ``dx = ivar * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``, means over
    the last axis.
    """
    d = xhat.shape[-1]
    mean_dxhat = _row_sum(dxhat) / d
    mean_dxhat_xhat = _row_sum(dxhat, xhat) / d
    dx = xhat * mean_dxhat_xhat
    dx += mean_dxhat
    np.subtract(dxhat, dx, out=dx)
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
    # Checked only when given: the default needs no check, and a check costs a
    # microsecond or so per call, noticeable on small batches.
    eps = _DEFAULT_EPS
    if "eps" in param:
        eps = check_real(f"{name}['eps']", param["eps"], 0.0, low_open=True)
    return mode, eps


def _check_dout(dout: Any, x: np.ndarray) -> np.ndarray:
    """``dout`` as a float array of the forward input's shape (integers promoted to x's dtype)."""
    dout = as_float_array("dout", dout, x.dtype)
    if dout.shape != x.shape:
        raise ValueError(f"dout must have shape {x.shape} (the forward input's), got {dout.shape}")
    return dout


def _check_affine_inputs(x, gamma, beta, ndim: int, x_doc: str, param_shape):
    """Check x's rank and that gamma and beta have ``param_shape(x.shape)``.

    Returns ``x, gamma, beta`` as float arrays: integer or boolean ones promoted
    to x's floating dtype (float64 for an integer x), as ``gamma * xhat + beta``
    would promote them in the assignment's code.
    """
    x = as_float_array("x", x)
    if x.ndim != ndim:
        raise ValueError(f"x must be a {ndim}-D array of shape {x_doc}, got shape {x.shape}")
    shape = param_shape(x.shape)
    gamma = as_float_array("gamma", gamma, x.dtype)
    check_shape("gamma", gamma, shape)
    beta = as_float_array("beta", beta, x.dtype)
    check_shape("beta", beta, shape)
    return x, gamma, beta


def _bn_forward(x, gamma_b, beta_b, bn_param, axis):
    """Batch norm with statistics over ``axis``; gamma_b/beta_b already broadcast against x."""
    mode, eps = _check_param("bn_param", bn_param, need_mode=True)
    momentum = _DEFAULT_MOMENTUM
    if "momentum" in bn_param:
        momentum = check_real("bn_param['momentum']", bn_param["momentum"], 0.0, 1.0)
    C = gamma_b.size
    running_mean = bn_param.get("running_mean")
    running_var = bn_param.get("running_var")
    if running_mean is None:
        running_mean = np.zeros(C, dtype=x.dtype)
    if running_var is None:
        running_var = np.zeros(C, dtype=x.dtype)
    running_mean = as_float_array("bn_param['running_mean']", running_mean, x.dtype)
    check_shape("bn_param['running_mean']", running_mean, (C,))
    running_var = as_float_array("bn_param['running_var']", running_var, x.dtype)
    check_shape("bn_param['running_var']", running_var, (C,))

    if mode == "train":
        m = x.size // C  # values per feature: N, or N*H*W for images
        mu = (_channel_sum(x) / m).reshape(gamma_b.shape)
        xmu = x - mu
        var = _channel_sum_of_products(xmu, xmu).reshape(mu.shape) / m
        # The assignment's convention: biased batch variance, eps not included.
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu.reshape(C)
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.reshape(C)
    else:
        mu = running_mean.reshape(gamma_b.shape)
        var = running_var.reshape(gamma_b.shape)
        xmu = x - mu
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    std = np.sqrt(var + eps)
    ivar = 1.0 / std
    # gamma * xhat + beta with xhat = xmu * ivar, folded into one scale per feature.
    out = xmu * (gamma_b * ivar)
    out += beta_b
    return out, BatchNormCache(mode, x, mu, xmu, var, std, ivar, gamma_b, beta_b, eps, axis)


def _bn_backward_closed(dout: np.ndarray, cache: BatchNormCache):
    """Closed-form batch-norm backward; dgamma and dbeta come back with shape (C,)."""
    dout = _check_dout(dout, cache.x)
    xmu, ivar, stat_shape = cache.xmu, cache.ivar, cache.ivar.shape
    dbeta = _channel_sum(dout)
    # sum(dout * xhat) = ivar * sum(dout * xmu): ivar is constant along the sum.
    dgamma = _channel_sum_of_products(dout, xmu) * ivar.reshape(-1)
    scale = cache.gamma * ivar
    if cache.mode == "test":
        # Running statistics are constants: the layer is a per-feature affine map.
        return dout * scale, dgamma, dbeta
    m = dout.size // dbeta.size
    # dx = gamma * ivar * (dout - dbeta/m - xhat * dgamma/m), in one buffer.
    dx = xmu * (ivar * dgamma.reshape(stat_shape) / -m)
    dx += dout
    dx -= dbeta.reshape(stat_shape) / m
    dx *= scale
    return dx, dgamma, dbeta


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
        as zeros in x's dtype on first use. The running statistics are stored back
        into ``bn_param`` (as new arrays after a train step).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : BatchNormCache
    """
    x, gamma, beta = _check_affine_inputs(x, gamma, beta, 2, "(N, D)", lambda s: (s[1],))
    D = x.shape[1]
    return _bn_forward(x, gamma.reshape(1, D), beta.reshape(1, D), bn_param, (0,))


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch-norm backward, one step per node of the computation graph.

    Each step takes the gradient arriving at one forward node (see
    :class:`BatchNormCache`) and multiplies it by that node's local derivative,
    from ``out`` back to ``x``. Where a node broadcasts in the forward pass
    (``x - mu``), its gradient sums in the backward pass, and where it sums
    (``mean``), its gradient broadcasts. :func:`batchnorm_backward_alt` gives the
    same result in closed form, several times faster.

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
    if cache.mode != "train" or cache.x.ndim != 2:
        # The graph below is batch norm's train-mode graph on (N, D) inputs.
        return _bn_backward_closed(dout, cache)
    dout = _check_dout(dout, cache.x)
    N = dout.shape[0]
    xmu, var, std, ivar = cache.xmu, cache.var, cache.std, cache.ivar
    xhat, gamma = cache.xhat, cache.gamma

    # out = gamma * xhat + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    # xhat = xmu * ivar: xmu reaches xhat along two paths; this is the direct one.
    dxmu_direct = dxhat * ivar
    divar = (dxhat * xmu).sum(axis=0, keepdims=True)
    # ivar = 1 / std
    dstd = -divar / std**2
    # std = sqrt(var + eps)
    dvar = 0.5 * dstd / np.sqrt(var + cache.eps)
    # var = mean(sq): each of the N entries of sq gets 1/N of dvar
    dsq = np.ones_like(xmu) * dvar / N
    # sq = xmu ** 2: the second path into xmu
    dxmu_via_var = 2 * xmu * dsq
    dxmu = dxmu_direct + dxmu_via_var
    # xmu = x - mu: x gets dxmu as it is, mu gets minus its sum over the batch
    dx_direct = dxmu
    dmu = -dxmu.sum(axis=0, keepdims=True)
    # mu = mean(x): each x[i] gets 1/N of dmu
    dx_via_mu = np.ones_like(xmu) * dmu / N
    dx = dx_direct + dx_via_mu
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: np.ndarray, cache: BatchNormCache
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return _bn_backward_closed(dout, cache)


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
    x, gamma, beta = _check_affine_inputs(x, gamma, beta, 4, "(N, C, H, W)", lambda s: (s[1],))
    C = x.shape[1]
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
    return _bn_backward_closed(dout, cache)


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
