"""Argument checks shared by layers, networks and the solver.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong value) with a message that names the argument and says what
was expected, so a student sees "gamma must have shape (5,), got (4,)" rather
than a broadcasting error three calls deeper.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np


def check_array(name: str, x: Any, ndim: int | Iterable[int] | None = None) -> np.ndarray:
    """Return ``x`` if it is a floating NumPy array of an allowed rank.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    x : object
        The value to check. It is not converted: a list is refused, so nothing is
        silently coerced.
    ndim : int or iterable of int, optional
        Allowed numbers of dimensions.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must be a {want}-D array, got shape {x.shape}")
    if x.dtype.kind != "f":  # np.issubdtype is ~4 us; layers call this on every array
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    return x


FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float64 or float32.

    float16 is refused (too coarse for gradient checks and running statistics) and
    so are integer types (mean-subtracted data and weights are not integral).
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be numpy.float64 or numpy.float32, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be numpy.float64 or numpy.float32, got {dt}")
    return dt


def check_shape(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``x`` if it is a NumPy array of exactly ``shape``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of shape {shape}, got {type(x).__name__}")
    if x.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {x.shape}")
    return x


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an integer > 0 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number inside the interval.

    ``low``/``high`` bound the interval; ``*_open`` excludes the end point.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {lb}{lo}, {hi}{hb}, got {value!r}")
    return v


def check_labels(name: str, y: Any, n: int, num_classes: int) -> np.ndarray:
    """Return ``y`` if it is an integer vector of length ``n`` with values in [0, num_classes)."""
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of integer labels, got {type(y).__name__}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), got values from {y.min()} to {y.max()}")
    return y
