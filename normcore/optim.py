"""First-order update rules with the CS231n assignment's interface.

Every rule has the signature::

    next_w, config = update(w, dw, config=None)

``w`` is the current parameter array and ``dw`` the gradient of the loss with
respect to it, of the same shape. ``config`` is a dict of hyper-parameters and
of the rule's running state (velocity, moment estimates, ...). The rule fills in
missing hyper-parameters with ``config.setdefault`` and stores its new state back
into ``config``, which it returns; the caller keeps one config per parameter and
passes it back on the next step. ``w`` and ``dw`` are never modified: the new
parameter is a new array.

The :class:`~normcore.solver.Solver` looks a rule up by name in ``__all__``, so a
new rule becomes available to it by being listed there.
"""

from __future__ import annotations

import numpy as np

from normcore.validation import as_float_array, check_shape

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def _start(w, dw, config):
    """Check the shared arguments; return ``w``, ``dw`` and the config dict to fill in.

    Integer or boolean arrays are promoted as NumPy's arithmetic would: ``w`` to
    float64, ``dw`` to ``w``'s floating dtype (so an integer gradient does not
    turn a float32 parameter into float64).
    """
    w = as_float_array("w", w)
    dw = as_float_array("dw", dw, w.dtype)
    check_shape("dw", dw, w.shape)
    if config is None:
        return w, dw, {}
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict or None, got {type(config).__name__}")
    return w, dw, config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w - learning_rate * dw``.

    Parameters
    ----------
    w : ndarray, any shape
        Current parameter.
    dw : ndarray, same shape as ``w``
        Gradient of the loss with respect to ``w``.
    config : dict, optional
        ``learning_rate`` (default 1e-2).

    Returns
    -------
    next_w : ndarray, same shape as ``w``
    config : dict
        The same dict, with defaults filled in.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with (heavy-ball) momentum.

    ``v = momentum * v - learning_rate * dw``, then ``w + v``.

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as ``w``
    config : dict, optional
        ``learning_rate`` (default 1e-2), ``momentum`` (default 0.9) and the state
        ``velocity`` (zeros of ``w``'s shape on the first call).

    Returns
    -------
    next_w : ndarray, same shape as ``w``
    config : dict
        With ``velocity`` updated.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: scale each step by a running root mean square of the gradient.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``, then
    ``w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as ``w``
    config : dict, optional
        ``learning_rate`` (default 1e-2), ``decay_rate`` (default 0.99),
        ``epsilon`` (default 1e-8) and the state ``cache`` (zeros on the first call).

    Returns
    -------
    next_w : ndarray, same shape as ``w``
    config : dict
        With ``cache`` updated.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * (dw * dw)
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates.

    The step counter ``t`` is incremented *before* it is used, as in the paper and
    the assignment, so the first step divides by ``1 - beta1**1``.

    Parameters
    ----------
    w : ndarray, any shape
    dw : ndarray, same shape as ``w``
    config : dict, optional
        ``learning_rate`` (default 1e-3), ``beta1`` (default 0.9), ``beta2``
        (default 0.999), ``epsilon`` (default 1e-8) and the state ``m``, ``v``
        (zeros on the first call) and ``t`` (0 on the first call).

    Returns
    -------
    next_w : ndarray, same shape as ``w``
    config : dict
        With ``m``, ``v`` and ``t`` updated.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = np.zeros_like(w)
    if v is None:
        v = np.zeros_like(w)
    beta1, beta2 = config["beta1"], config["beta2"]

    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])

    config["t"], config["m"], config["v"] = t, m, v
    return next_w, config
