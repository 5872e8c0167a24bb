"""Affine, ReLU, softmax loss and inverted dropout as functional layers.

Every layer is a pair of pure functions with the CS231n assignment's contract:
``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache) -> grads``.
The caches are named tuples, so ``cache.x`` reads better than ``cache[0]``.
Integer and boolean arrays are promoted, as NumPy's arithmetic promotes them in
the assignment's code: to the floating dtype of the layer's input, or float64
when that input is itself integer. Only arrays with no meaning as real numbers
(complex, strings, objects) and wrong shapes are refused.
Normalization layers live in :mod:`normcore.normalization`.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from normcore.validation import as_float_array, check_choice, check_labels, check_real

__all__ = [
    "AffineCache", "ReluCache", "DropoutCache",
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "softmax_loss", "dropout_forward", "dropout_backward",
]


class AffineCache(NamedTuple):
    """What :func:`affine_backward` needs: the inputs of the forward pass."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray


class ReluCache(NamedTuple):
    """What :func:`relu_backward` needs: the forward input."""

    x: np.ndarray


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs.

    ``mask`` holds ``keep / p`` (0 or 1/p) in x's dtype; it is ``None`` in test mode,
    where dropout is the identity.
    """

    mode: str
    p: float
    mask: np.ndarray | None


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, AffineCache]:
    """Fully connected layer ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        A minibatch; each example is flattened to D = d_1 * ... * d_k values.
    w : ndarray, shape (D, M)
        Weights.
    b : ndarray, shape (M,)
        Biases.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : AffineCache
    """
    x = as_float_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k) with at least 2 dimensions, got {x.shape}")
    w = as_float_array("w", w, x.dtype, ndim=2)
    b = as_float_array("b", b, x.dtype, ndim=1)
    D = int(np.prod(x.shape[1:]))
    if w.shape[0] != D:
        raise ValueError(f"w must have shape ({D}, M) to match x of shape {x.shape}, got {w.shape}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape ({w.shape[1]},) to match w of shape {w.shape}, got {b.shape}")
    out = x.reshape(x.shape[0], D) @ w
    out += b
    return out, AffineCache(x, w, b)


def affine_backward(dout: np.ndarray, cache: AffineCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : AffineCache
        From :func:`affine_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    x, w, _ = cache
    N = x.shape[0]
    dout = as_float_array("dout", dout, x.dtype, ndim=2)
    if dout.shape != (N, w.shape[1]):
        raise ValueError(f"dout must have shape {(N, w.shape[1])}, got {dout.shape}")
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    """Rectified linear unit ``max(0, x)``, elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : ReluCache
    """
    x = as_float_array("x", x)
    return np.maximum(x, 0), ReluCache(x)


def relu_backward(dout: np.ndarray, cache: ReluCache) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: pass ``dout`` where ``x > 0``.

    Parameters
    ----------
    dout : ndarray, same shape as x
    cache : ReluCache

    Returns
    -------
    dx : ndarray, same shape as x
    """
    x = cache.x
    dout = as_float_array("dout", dout, x.dtype)
    if dout.shape != x.shape:
        raise ValueError(f"dout must have shape {x.shape}, got {dout.shape}")
    # At x == 0 the subgradient 0 is chosen, as in the assignment.
    return np.where(x > 0, dout, 0)


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of a softmax over class scores, and its gradient.

    Works in log space (log-sum-exp after subtracting each row's maximum), so
    scores of magnitude 1e4 neither overflow nor produce ``log(0)``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores.
    y : ndarray of int, shape (N,)
        Labels in ``[0, C)``.

    Returns
    -------
    loss : float
        Mean over the N examples.
    dx : ndarray, shape (N, C)
        Gradient of ``loss`` with respect to ``x``.
    """
    x = as_float_array("x", x, ndim=2)
    N, C = x.shape
    check_labels("y", y, N, C)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return float(loss), dx


def _check_dropout_param(dropout_param: Any) -> tuple[float, str]:
    if not isinstance(dropout_param, dict):
        raise TypeError(f"dropout_param must be a dict, got {type(dropout_param).__name__}")
    if "p" not in dropout_param:
        raise ValueError("dropout_param['p'] is required: the probability of keeping a unit, in (0, 1]")
    if "mode" not in dropout_param:
        raise ValueError("dropout_param['mode'] is required: 'train' or 'test'")
    p = check_real("dropout_param['p']", dropout_param["p"], 0.0, 1.0, low_open=True)
    mode = check_choice("dropout_param['mode']", dropout_param["mode"], ("train", "test"))
    seed = dropout_param.get("seed")
    if seed is not None:
        # RandomState accepts seeds in [0, 2**32); say so before it does, naming the key.
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"dropout_param['seed'] must be None or an integer, got {seed!r}")
        if not 0 <= seed < 2**32:
            raise ValueError(f"dropout_param['seed'] must be in [0, 2**32), got {seed!r}")
    return p, mode


def dropout_forward(x: np.ndarray, dropout_param: dict) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout: keep each unit with probability ``p`` and scale it by ``1/p``.

    Scaling at training time keeps the expected activation unchanged, so test
    mode is the identity.

    Parameters
    ----------
    x : ndarray, any shape
    dropout_param : dict
        ``p`` (required): probability of *keeping* a unit, in (0, 1].
        ``mode`` (required): ``'train'`` or ``'test'``.
        ``seed`` (optional): with a seed the mask is
        ``np.random.RandomState(seed).rand(*x.shape) < p``, the same numbers the
        assignment draws after ``np.random.seed(seed)``, but the global RNG is left
        alone. Without one the mask comes from the global ``np.random.rand``.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : DropoutCache
    """
    x = as_float_array("x", x)
    p, mode = _check_dropout_param(dropout_param)
    if mode == "test":
        return x, DropoutCache(mode, p, None)
    seed = dropout_param.get("seed")
    u = np.random.rand(*x.shape) if seed is None else np.random.RandomState(seed).rand(*x.shape)
    # The mask carries the 1/p scale, so forward and backward are one multiply each.
    mask = (u < p).astype(x.dtype)
    mask /= p
    return x * mask, DropoutCache(mode, p, mask)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Backward pass of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray, same shape as x
    cache : DropoutCache

    Returns
    -------
    dx : ndarray, same shape as x
    """
    dtype = None if cache.mask is None else cache.mask.dtype
    dout = as_float_array("dout", dout, dtype)
    if cache.mode == "test":
        return dout
    if dout.shape != cache.mask.shape:
        raise ValueError(f"dout must have shape {cache.mask.shape}, got {dout.shape}")
    return dout * cache.mask
