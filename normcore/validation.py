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


# dtype.kind codes: floating, then what NumPy promotes to floating without loss of
# meaning (signed and unsigned integers, booleans). Complex, strings, bytes,
# objects, dates and records have no meaning as activations or weights.
_REAL_KINDS = "fiub"


def _check_ndarray(name: str, x: Any, ndim: int | Iterable[int] | None, what: str) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {what}, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must be a {want}-D array, got shape {x.shape}")


def check_array(name: str, x: Any, ndim: int | Iterable[int] | None = None,
                reason: str = "") -> np.ndarray:
    """Return ``x`` if it is a floating NumPy array of an allowed rank.

    The strict check, for arrays that are written to in place (the point a
    numerical gradient perturbs by ``h``: an integer array would round ``h``
    away). Arrays that are only read are checked by :func:`as_float_array`,
    which promotes integers as NumPy does.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    x : object
        The value to check. It is not converted: a list is refused, so nothing is
        silently coerced.
    ndim : int or iterable of int, optional
        Allowed numbers of dimensions.
    reason : str, optional
        Why a float is required, appended to the error message.
    """
    _check_ndarray(name, x, ndim, "floats")
    if x.dtype.kind != "f":  # np.issubdtype is ~4 us; layers call this on every array
        raise TypeError(f"{name} must have a floating dtype{reason}, got {x.dtype}")
    return x


def as_float_array(name: str, x: Any, dtype: Any = None,
                   ndim: int | Iterable[int] | None = None) -> np.ndarray:
    """Return ``x`` as a floating array, promoting integer and boolean arrays.

    What the assignment's code does implicitly (``gamma * xhat`` with an integer
    ``gamma`` is a float array), done once at the layer's entry so every
    intermediate and the cache are floating. Float arrays are returned as they
    are, whatever their precision (NumPy's promotion decides mixed precisions).

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    x : object
        A NumPy array of floats, integers or booleans. Anything else is refused:
        a list (nothing is silently converted), and arrays with no meaning as
        real numbers (complex, strings, objects).
    dtype : floating dtype, optional
        What integer and boolean arrays become: the layer's working dtype, i.e.
        the floating dtype of its main input. Default float64.
    ndim : int or iterable of int, optional
        Allowed numbers of dimensions.
    """
    _check_ndarray(name, x, ndim, "real numbers")
    kind = x.dtype.kind
    if kind == "f":  # the fast path: layers call this on every array
        return x
    if kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers (a float, integer or boolean dtype), "
                        f"got dtype {x.dtype}")
    return x.astype(np.float64 if dtype is None else dtype)


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
