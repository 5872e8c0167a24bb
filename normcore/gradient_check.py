"""Numerical gradients by centred differences, to check analytic backward passes.

Same names and arguments as the CS231n assignment's ``gradient_check.py``.
Every function perturbs ``x`` in place one entry at a time and always puts the
original value back, even when ``f`` raises; ``x`` must therefore be a float
array (``df`` and ``analytic_grad`` may be integer: they are promoted).
"""

from __future__ import annotations

import random
from typing import Callable

import numpy as np

from normcore.validation import as_float_array, check_array, check_positive_int, check_real

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse", "rel_error"]


def rel_error(x, y) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    The 1e-8 floor keeps entries where both values are (near) zero from
    dividing by zero.

    Parameters
    ----------
    x, y : array_like, broadcastable shapes

    Returns
    -------
    float
    """
    x = np.asarray(x)
    y = np.asarray(y)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _check_h(h) -> float:
    return check_real("h", h, 0.0, low_open=True)


def _check_point(x) -> None:
    # x is perturbed in place, so it cannot be promoted to a float copy (f may
    # read the array itself, as the assignment's lambdas do), and an integer x
    # would round x + h back to x.
    check_array("x", x, reason=" (it is perturbed in place by h)")


def _evaluate_around(f, x: np.ndarray, ix: tuple, h: float, copy: bool = False):
    """``(f(x + h e_ix), f(x - h e_ix))``, with ``x[ix]`` put back even if ``f`` raises.

    ``copy`` copies array results: ``f`` may return a view of ``x`` or a buffer it
    reuses on the next call.
    """
    old = x[ix]
    try:
        x[ix] = old + h
        plus = np.array(f(x), copy=True) if copy else f(x)
        x[ix] = old - h
        minus = np.array(f(x), copy=True) if copy else f(x)
    finally:
        x[ix] = old
    return plus, minus


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True,
                            h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by centred differences.

    ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h)``, with an error of order h**2.

    Parameters
    ----------
    f : callable
        Takes ``x`` (mutated in place between calls) and returns a scalar.
    x : ndarray of float, any shape
        Evaluation point; restored on return.
    verbose : bool
        Print each index and its gradient, as the assignment does.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _check_point(x)
    h = _check_h(h)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):  # C order, as the assignment's nditer loop
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                  h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * df)`` at ``x``: backpropagation of ``df`` through ``f``.

    Parameters
    ----------
    f : callable
        Takes ``x`` (mutated in place between calls) and returns an array shaped like ``df``.
    x : ndarray of float, any shape
        Evaluation point; restored on return.
    df : ndarray
        Upstream gradient, the shape of ``f(x)``.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _check_point(x)
    df = as_float_array("df", df, x.dtype)
    h = _check_h(h)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        pos, neg = _evaluate_around(f, x, ix, h, copy=True)
        if pos.shape != df.shape:
            raise ValueError(f"df must have the shape of f(x), {pos.shape}, got {df.shape}")
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5, seed=None, verbose: bool = True) -> np.ndarray:
    """Compare ``analytic_grad`` with centred differences at a few random entries.

    Prints one line per check in the assignment's format and returns the
    relative errors.

    Parameters
    ----------
    f : callable
        Takes ``x`` (mutated in place between calls) and returns a scalar.
    x : ndarray of float
        Evaluation point; restored on return.
    analytic_grad : ndarray, same shape as x
    num_checks : int
        Number of random entries to check (drawn with replacement).
    h : float
        Step size.
    seed : None, int or numpy.random.Generator
        ``None`` draws the entries with Python's global ``random.randrange``, as the
        assignment does. An int or a Generator uses its own NumPy generator and
        leaves every global RNG alone.
    verbose : bool
        Print each check.

    Returns
    -------
    errors : ndarray, shape (num_checks,)
        ``|numerical - analytic| / max(1e-8, |numerical| + |analytic|)`` per check.
    """
    _check_point(x)
    analytic_grad = as_float_array("analytic_grad", analytic_grad, x.dtype)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad must have the shape of x, {x.shape}, got {analytic_grad.shape}")
    num_checks = check_positive_int("num_checks", num_checks)
    h = _check_h(h)
    if seed is None:
        draw = lambda: tuple(random.randrange(m) for m in x.shape)  # noqa: E731
    elif isinstance(seed, np.random.Generator) or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        rng = np.random.default_rng(seed)
        draw = lambda: tuple(int(i) for i in rng.integers(0, x.shape))  # noqa: E731
    else:
        raise TypeError(f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")

    errors = np.empty(num_checks)
    for i in range(num_checks):
        ix = draw()
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        numerical = (fxph - fxmh) / (2 * h)
        analytic = analytic_grad[ix]
        errors[i] = abs(numerical - analytic) / max(1e-8, abs(numerical) + abs(analytic))
        if verbose:
            print("numerical: %f analytic: %f, relative error: %e" % (numerical, analytic, errors[i]))
    return errors
