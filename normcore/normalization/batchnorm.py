"""Batch norm and spatial batch norm: statistics over the batch (and the pixels), per feature.

Batch-norm statistics are per channel (axis 1) and keep the reduced axes as
size-1 dimensions (``keepdims=True``) so they broadcast against ``x``: in a
batch-norm cache ``mu`` has shape (1, D). Besides the closed-form backward
(:func:`batchnorm_backward_alt`) there is :func:`batchnorm_backward`, a
node-by-node walk back through the computation graph whose intermediates the
cache names. Scale and shift are folded into one per-feature vector where the
algebra allows.
"""

from __future__ import annotations

import numpy as np

from normcore.normalization.caches import BatchNormCache
from normcore.normalization.kernels import (
    DEFAULT_MOMENTUM, _channel_sum, _channel_sum_of_products, _check_affine_inputs,
    _check_dout, _check_param,
)
from normcore.validation import as_float_array, check_real, check_shape

__all__ = ["batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
           "spatial_batchnorm_forward", "spatial_batchnorm_backward"]


def _bn_forward(x, gamma_b, beta_b, bn_param, axis):
    """Batch norm with statistics over ``axis``; gamma_b/beta_b already broadcast against x."""
    mode, eps = _check_param("bn_param", bn_param, need_mode=True)
    momentum = DEFAULT_MOMENTUM
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
