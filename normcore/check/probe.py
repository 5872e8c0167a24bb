"""Calling the student's code safely and recording what it did.

A :class:`Probe` wraps one checker run. It calls the student's function with
its output and warnings silenced, turns every exception into a one-line
reason, recognises the assignment's stubs (``NotImplementedError``, or only
None returned), watches array arguments for in-place changes and collects the
properties into a :class:`~normcore.check.report.Report`. A property that
makes the rest meaningless raises :class:`Stop`, which the ``with`` block
swallows, so a checker reads top to bottom.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import signal
import threading
import traceback
import warnings

import numpy as np

from normcore.check.diagnoses import START, sentence
from normcore.check.report import FAIL, NOTE, PASS, Property, Report

__all__ = ["Probe", "Stop", "Failed", "rel", "one_line", "require_callable", "agree",
           "arrays_in", "classify_exception", "time_limit", "Timeout"]


class Timeout(Exception):
    """The student's code gave no result in time (an endless loop, usually)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Interrupt whatever runs inside after ``seconds``, then again every second.

    The repeats stop each later call of the same checker too, so one endless
    loop costs ``seconds`` plus about a second per remaining call. Only where
    POSIX timers exist and on the main thread (the CLI); elsewhere a no-op.
    """
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def interrupt(signum, frame):
        raise Timeout(f"no result within {seconds:g} s (an endless loop?)")
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Stop(Exception):
    """Ends a checker early; the report already says why."""


class Failed(Exception):
    """The student's function raised; ``reason`` is one line."""

    def __init__(self, exc: BaseException):
        super().__init__(one_line(exc))
        self.exc = exc
        self.reason = one_line(exc)


def require_callable(name: str, fn) -> None:
    """Misuse of the checker itself is the one case that raises."""
    if not callable(fn):
        raise TypeError(f"{name} must be a callable (the student's function), "
                        f"got {type(fn).__name__}")


def one_line(exc: BaseException) -> str:
    """``"ValueError: operands could not ... (layers.py line 212)"``, at most ~140 chars."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(msg) > 110:
        msg = msg[:107] + "..."
    where = ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f"{os.sep}numpy{os.sep}" not in f.filename
              and f"{os.sep}normcore{os.sep}check{os.sep}" not in f.filename]
    if frames:
        where = f" ({os.path.basename(frames[-1].filename)} line {frames[-1].lineno})"
    return f"{type(exc).__name__}{': ' + msg if msg else ''}{where}"


def agree(err: float) -> str:
    """How closely a result matches a model: "to rounding" or "to 3e-07"."""
    return "to rounding" if err < 1e-12 else f"to {err:.0e}"


def rel(a, b) -> float:
    """Largest difference relative to the reference's largest magnitude.

    ``max|a - b| / max|b|``: unlike the assignment's elementwise ``rel_error`` it
    does not blow up at entries that are 0 by construction (e.g. mean-free
    outputs). Shapes that differ, or non-finite values, give ``inf``.
    """
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        return float("inf")
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return float("inf")
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return float("inf")
    return float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), 1e-300))


# A "your code here" region of the assignment's skeleton: from a TODO banner (or the
# START marker) to the first END OF YOUR CODE line.
_REGION = re.compile(r"#\s*(?:TODO\b|\*+\s*START OF YOUR CODE)[^\n]*(.*?)"
                     r"#[\s*]*END OF YOUR CODE", re.S)


def unfilled(fn) -> bool:
    """True when every "your code here" region of ``fn``'s source is still ``pass``.

    The skeleton can fail before it returns its Nones (dropout_forward's
    ``out.astype(...)`` on ``out = None``); its source tells that it is a stub.
    """
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    regions = _REGION.findall(src)
    code = [line.strip() for region in regions for line in region.splitlines()
            if line.strip() and not line.strip().startswith("#")]
    return bool(regions) and all(line == "pass" for line in code)


def is_stub_value(value) -> bool:
    """The assignment's skeleton returns None or a tuple of Nones (its ``pass`` bodies)."""
    if value is None:
        return True
    return isinstance(value, tuple) and all(v is None for v in value)


def arrays_in(obj):
    """Every ndarray directly in ``obj`` (argument, tuple, list or dict values)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            yield from arrays_in(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from arrays_in(v)


class Probe:
    """Collects properties for one checker; use as ``with Probe(...) as p: ...``."""

    def __init__(self, layer: str, fn):
        self.report = Report(layer, hint=START[layer])
        self.fn = fn
        self.mutation_reported = False

    def __enter__(self) -> "Probe":
        # The student's NaNs, overflows and casts are findings, not warnings to print.
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        self._quiet.enter_context(np.errstate(all="ignore"))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._quiet.close()
        if exc_type is None or exc_type is Stop:
            return exc_type is Stop
        if issubclass(exc_type, Exception):
            # A result of a kind no check foresaw (strings, ragged lists, ...): the
            # checker reports it and never raises because the student's code is wrong.
            self.report.properties.append(Property(
                "result readable", FAIL, f"a result of {self.report.layer} could not be "
                f"read as numbers of the expected shape ({one_line(exc)})"))
            return True
        return False

    # -- recording --------------------------------------------------------------
    def ok(self, name: str, detail: str = "") -> None:
        self.report.properties.append(Property(name, PASS, detail))

    def note(self, name: str, detail: str, diagnosis: str | None = None) -> None:
        self._add(name, NOTE, detail, diagnosis)

    def fail(self, name: str, evidence: str, diagnosis=None, stop: bool = False) -> None:
        """A failed property; ``diagnosis`` is an id, a tuple of ids, or None."""
        self._add(name, FAIL, evidence, diagnosis)
        if stop:
            raise Stop

    def _add(self, name, status, evidence, diagnosis) -> None:
        ids = (diagnosis,) if isinstance(diagnosis, str) else tuple(diagnosis or ())
        detail = sentence(ids, evidence) if ids else evidence
        self.report.properties.append(
            Property(name, status, detail, ids[0] if ids else None, ids[1:]))

    def check(self, name: str, err: float, tol: float, diagnose=None, what: str = "") -> bool:
        """Pass when ``err <= tol``; else fail with ``diagnose()``'s (id, evidence).

        ``diagnose`` returns ``(diagnosis_id, evidence)``, or ``(None, "")`` when
        no known signature fits, in which case the report states the measured
        error and guesses nothing.
        """
        if err <= tol:
            self.ok(name)
            return True
        diag, evidence = diagnose() if diagnose else (None, "")
        if diag is None:
            size = ("not finite or of the wrong shape" if err == float("inf") else
                    f"off by {err:.1e} relative to the reference's largest value "
                    f"(tolerance {tol:.0e})")
            evidence = f"{what + ': ' if what else ''}{size}; no known mistake fits"
        self.fail(name, evidence, diag)
        return False

    # -- calling ----------------------------------------------------------------
    def call(self, fn, *args, first: bool = False, label: str = "call"):
        """``fn(*args)``, silenced; raises :class:`Failed` if the student's code raised.

        With ``first=True`` a stub ends the checker as "not attempted yet".
        Array arguments are watched: a change in place fails "inputs unchanged"
        (reported once). Dicts are not watched: bn_param is meant to change.
        """
        watched = [(a, a.copy()) for arg in args if not isinstance(arg, dict)
                   for a in arrays_in(arg)]
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), \
                    np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = fn(*args)
        except NotImplementedError as exc:
            if first:
                self.not_attempted()
            raise Failed(exc) from None
        except (Exception, SystemExit) as exc:  # the student's bug, reported, never raised
            if first and unfilled(fn):
                self.not_attempted()
            raise Failed(exc) from None
        if first and is_stub_value(value):
            self.not_attempted()
        for arr, before in watched:
            if not self.mutation_reported and arr.shape == before.shape \
                    and not np.array_equal(arr, before, equal_nan=True):
                self.mutation_reported = True
                change = float(np.max(np.abs(arr - before)))
                self.fail("inputs unchanged", f"{label} changed an input array of shape "
                          f"{arr.shape} in place (largest change {change:.3g})",
                          "input_mutated")
        return value

    def not_attempted(self) -> None:
        self.report.attempted = False
        raise Stop

    def unpack(self, value, names: tuple[str, ...], label: str) -> tuple:
        """Check that ``value`` is a tuple of ``len(names)``; stop otherwise."""
        if len(names) == 1:
            return (value,)
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            got = (f"a {type(value).__name__} of length {len(value)}"
                   if isinstance(value, (tuple, list)) else type(value).__name__)
            self.fail("returns", f"{label} must return ({', '.join(names)}), got {got}",
                      "shape", stop=True)
        return tuple(value)

    def run(self, fn, *args, names: tuple[str, ...], label: str, first: bool = False,
            on_error=None):
        """Call, unpack and fail-and-stop on an exception (``on_error`` may name it)."""
        try:
            value = self.call(fn, *args, first=first, label=label)
        except Failed as err:
            diag, evidence = on_error(err) if on_error else (None, "")
            if diag is None:
                diag, evidence = classify_exception(err)
            self.fail("runs", f"{label} raised {err.reason}" + (f"; {evidence}" if evidence else ""),
                      diag, stop=True)
        return self.unpack(value, names, label)


def classify_exception(err: Failed) -> tuple[str, str]:
    """Name an exception's likely mistake from its type and message alone."""
    msg = str(err.exc)
    if isinstance(err.exc, ValueError) and "broadcast" in msg:
        return "missing_keepdims", ""
    return "exception", ""
