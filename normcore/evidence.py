"""Claims that are measured, summarised, checked and recorded in one call.

A sentence such as "batch norm beats the baseline at every batch size" rests on
training runs, and training runs vary with the seed. :class:`Evidence` turns the
per-seed measurements behind such a sentence into

* the numbers the prose quotes (mean ± standard error over the seeds), handed to
  a ``glue`` callable so the text shows them;
* a check of exactly the relation the sentence states, with a margin derived
  from the seeds; a claim that fails raises :class:`ClaimFailed`, so the chapter
  that makes it stops executing;
* a record (one JSON file per chapter), from which the book's appendix lists
  every claim with its measured values, its margin and its outcome.

The test
    ``greater(a, b)`` holds when ``mean(a) - mean(b) > 2 * se``, where ``se`` is
    the standard error of the difference of the two means: Welch's
    ``sqrt(var(a)/n_a + var(b)/n_b)`` with the unbiased per-seed variances, or,
    with ``paired=True``, ``std(a - b) / sqrt(n)``. Two standard errors is about
    a 95 % one-sided margin for five or more seeds; it is stated on every record.
    ``above(a, t)`` holds when ``mean(a) - 2 * se(a) > t``. ``indistinguishable``
    holds when ``|mean(a) - mean(b)| <= 2 * se``: the data cannot tell them apart.

Data-set scope
    ``on=("mnist1d",)`` states a claim for some data sets only. On the others it
    is measured and recorded as "not claimed here", never asserted and never
    silently skipped: the appendix shows where each claim was checked.

Example::

    from myst_nb import glue
    from normcore.evidence import Evidence

    ev = Evidence("05_batch_size", glue=glue, dataset=data["name"])
    ev.greater("bs_bn_beats_base", "Batch norm beats the baseline at batch 50.",
               bn_acc_50, base_acc_50)           # one value per seed each

Records go to ``$NORMCORE_CLAIMS_DIR/<chapter>.json`` when that variable is set
(the book's build sets it) and nowhere otherwise.

Numbers in the prose
    The chapters quote a glued value as ``{eval}`ev("key")``` or, formatted,
    ``{eval}`ev("key:.2f")```. In JupyterLab, jupyterlab-myst evaluates that
    expression in the kernel once the chapter has run: ``ev(spec)`` returns the
    value as text, formatted exactly as myst-nb's ``{glue:text}`key:.2f``` would.
    The book's build (which keeps no kernel) reads the same key from the glued
    outputs instead. So one line of prose shows the same number in both.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from normcore.storage import atomic_writer

__all__ = ["Evidence", "Claim", "ClaimFailed", "GluedText", "CLAIMS_DIR_ENV", "mean_se",
           "glue_text"]

CLAIMS_DIR_ENV = "NORMCORE_CLAIMS_DIR"
MARGIN_SE = 2.0  # how many standard errors a stated difference must clear


class ClaimFailed(AssertionError):
    """A chapter states something its own measurements do not support."""


def _values(name: str, values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value (one per seed), got none")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {a}")
    return a


def mean_se(values: Any) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    a = _values("values", values)
    se = float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else 0.0
    return float(a.mean()), se


def _fmt(x: float, fmt: str) -> str:
    return format(x, fmt)


def glue_text(value: Any, spec: str = "") -> str:
    """``value`` as myst-nb's ``{glue:text}`key:spec``` shows it.

    The conversions follow myst-nb's ``format_plain_text``: the spec's type
    character decides whether the value is read as a str, an int or a float.
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a str such as '.3f', got {type(spec).__name__}")
    if spec == "":
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, spec)


class GluedText(str):
    """A glued value as text; its repr is the text itself (no quotes in JupyterLab)."""

    def __repr__(self) -> str:
        return str.__str__(self)


class Claim(dict):
    """One recorded claim (a dict, so it serialises as it is)."""

    @property
    def holds(self) -> bool:
        return bool(self["holds"])

    def _ipython_display_(self) -> None:
        """Show nothing when a cell ends with a claim: the appendix lists it.

        A chapter's claims cell is folded or removed from the page, but its output
        would still print the record there; ``print(claim)`` shows it on demand.
        """
        return None


class Evidence:
    """The claims of one chapter: glue their numbers, check them, record them.

    Parameters
    ----------
    chapter : str
        The chapter's name, e.g. ``"04_weight_init"`` (names the record file).
    glue : callable, optional
        ``glue(key, value, display=False)``, e.g. ``myst_nb.glue``. Without it
        nothing is glued (plain Python, tests).
    dataset : str, optional
        The data set the measurements come from (``on=`` is matched against it).
    record_dir : path, optional
        Where to write ``<chapter>.json``; default ``$NORMCORE_CLAIMS_DIR``, and
        no record when neither is given.
    """

    def __init__(self, chapter: str, glue: Callable | None = None, dataset: str | None = None,
                 record_dir: str | os.PathLike | None = None) -> None:
        if not isinstance(chapter, str) or not chapter:
            raise TypeError(f"chapter must be a non-empty str, got {chapter!r}")
        if glue is not None and not callable(glue):
            raise TypeError(f"glue must be callable, got {type(glue).__name__}")
        self.chapter, self.dataset, self._glue = chapter, dataset, glue
        if record_dir is None:
            record_dir = os.environ.get(CLAIMS_DIR_ENV) or None
        self.path = None if record_dir is None else Path(record_dir) / f"{chapter}.json"
        self.claims: list[Claim] = []
        self.glued: dict[str, Any] = {}
        self._write()  # replaces a stale record from an earlier execution

    # ------------------------------------------------------------ numbers for the prose

    def glue(self, key: str, value: Any) -> Any:
        """Glue one computed value (a count, a setting) for the prose; returns it."""
        if isinstance(value, np.generic):
            # NumPy 2 prints np.float64(0.5) as its text/plain, which a format
            # spec such as {glue:text}`key:.3f` cannot read; glue the Python number.
            value = value.item()
        self.glued[key] = value
        if self._glue is not None:
            self._glue(key, value, display=False)
        return value

    def __call__(self, spec: str) -> GluedText:
        """The glued value ``spec`` names (``"key"`` or ``"key:format"``), as text.

        What the prose's ``{eval}`ev("key:.2f")``` shows in JupyterLab.
        """
        if not isinstance(spec, str):
            raise TypeError(f"spec must be a str such as 'key' or 'key:.3f', got "
                            f"{type(spec).__name__}")
        key, _, fmt = spec.partition(":")
        if key not in self.glued:
            raise KeyError(f"{key!r} has not been glued in {self.chapter} (yet): run the "
                           f"cells above this one")
        return GluedText(glue_text(self.glued[key], fmt))

    def summary(self, key: str, values: Any, fmt: str = ".3f") -> tuple[float, float]:
        """Glue ``key`` as "mean ± se" text, ``key_mean`` and ``key_se`` as numbers."""
        m, se = mean_se(values)
        self.glue(key, f"{_fmt(m, fmt)} ± {_fmt(se, fmt)}")
        self.glue(f"{key}_mean", m)
        self.glue(f"{key}_se", se)
        return m, se

    # ------------------------------------------------------------ claims

    def greater(self, key: str, sentence: str, a: Any, b: Any, *, paired: bool = False,
                on: Sequence[str] | None = None, fmt: str = ".3f") -> Claim:
        """Claim ``mean(a) > mean(b)`` by more than two standard errors of the difference."""
        return self._two(key, sentence, a, b, "greater", paired, on, fmt)

    def less(self, key: str, sentence: str, a: Any, b: Any, *, paired: bool = False,
             on: Sequence[str] | None = None, fmt: str = ".3f") -> Claim:
        """Claim ``mean(a) < mean(b)`` by more than two standard errors of the difference."""
        return self._two(key, sentence, a, b, "less", paired, on, fmt)

    def indistinguishable(self, key: str, sentence: str, a: Any, b: Any, *,
                          paired: bool = False, on: Sequence[str] | None = None,
                          fmt: str = ".3f") -> Claim:
        """Claim the seeds cannot separate ``a`` from ``b``: ``|diff| <= 2 se``."""
        return self._two(key, sentence, a, b, "indistinguishable", paired, on, fmt)

    def above(self, key: str, sentence: str, a: Any, threshold: float, *,
              on: Sequence[str] | None = None, fmt: str = ".3f") -> Claim:
        """Claim ``mean(a) - 2 se(a) > threshold``."""
        return self._one(key, sentence, a, threshold, "above", on, fmt)

    def below(self, key: str, sentence: str, a: Any, threshold: float, *,
              on: Sequence[str] | None = None, fmt: str = ".3f") -> Claim:
        """Claim ``mean(a) + 2 se(a) < threshold``."""
        return self._one(key, sentence, a, threshold, "below", on, fmt)

    def check(self, key: str, sentence: str, holds: bool, measured: dict, criterion: str, *,
              on: Sequence[str] | None = None) -> Claim:
        """A claim with no seeds behind it (an identity, a bound): ``holds`` is the verdict.

        ``measured`` maps names to the numbers that decided it; ``criterion`` says
        in words what was checked, e.g. ``"max relative error < 1e-8"``.
        """
        if not isinstance(holds, (bool, np.bool_)):
            raise TypeError(f"holds must be a bool, got {type(holds).__name__}")
        if not isinstance(criterion, str) or not criterion:
            raise TypeError(f"criterion must be a non-empty str, got {criterion!r}")
        clean = {str(k): (float(v) if isinstance(v, (int, float, np.number)) else str(v))
                 for k, v in dict(measured).items()}
        return self._record(key, sentence, "check", clean, criterion, bool(holds), on)

    # ------------------------------------------------------------ internals

    def _two(self, key, sentence, a, b, relation, paired, on, fmt) -> Claim:
        a, b = _values(f"{key}: a", a), _values(f"{key}: b", b)
        if paired:
            if a.shape != b.shape:
                raise ValueError(f"{key}: paired values need equal lengths, got {a.size} and {b.size}")
            d = a - b
            diff = float(d.mean())
            se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0
        else:
            diff = float(a.mean() - b.mean())
            va = a.var(ddof=1) / a.size if a.size > 1 else 0.0
            vb = b.var(ddof=1) / b.size if b.size > 1 else 0.0
            se = float(math.sqrt(va + vb))
        margin = MARGIN_SE * se
        holds = {"greater": diff > margin, "less": -diff > margin,
                 "indistinguishable": abs(diff) <= margin}[relation]
        (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
        self.glue(f"{key}_a", f"{_fmt(ma, fmt)} ± {_fmt(sa, fmt)}")
        self.glue(f"{key}_b", f"{_fmt(mb, fmt)} ± {_fmt(sb, fmt)}")
        self.glue(f"{key}_diff", f"{_fmt(diff, '+' + fmt)} ± {_fmt(se, fmt)}")
        self.glue(f"{key}_n", int(min(a.size, b.size)))
        measured = {"a_mean": ma, "a_se": sa, "n_a": int(a.size), "b_mean": mb, "b_se": sb,
                    "n_b": int(b.size), "diff": diff, "se_diff": se, "margin": margin}
        test = "paired" if paired else "Welch"
        criterion = {"greater": f"mean(a) - mean(b) > {MARGIN_SE:g} se ({test})",
                     "less": f"mean(b) - mean(a) > {MARGIN_SE:g} se ({test})",
                     "indistinguishable": f"|mean(a) - mean(b)| <= {MARGIN_SE:g} se ({test})"}
        return self._record(key, sentence, relation, measured, criterion[relation], holds, on)

    def _one(self, key, sentence, a, threshold, relation, on, fmt) -> Claim:
        a = _values(f"{key}: a", a)
        threshold = float(threshold)
        m, se = mean_se(a)
        margin = MARGIN_SE * se
        holds = m - margin > threshold if relation == "above" else m + margin < threshold
        self.glue(f"{key}_a", f"{_fmt(m, fmt)} ± {_fmt(se, fmt)}")
        self.glue(f"{key}_n", int(a.size))
        measured = {"a_mean": m, "a_se": se, "n_a": int(a.size), "threshold": threshold,
                    "margin": margin}
        sign = ">" if relation == "above" else "<"
        criterion = (f"mean(a) {'-' if relation == 'above' else '+'} {MARGIN_SE:g} se "
                     f"{sign} {threshold:g}")
        return self._record(key, sentence, relation, measured, criterion, bool(holds), on)

    def _record(self, key, sentence, relation, measured, criterion, holds, on) -> Claim:
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be a non-empty str, got {key!r}")
        if not isinstance(sentence, str) or not sentence:
            raise TypeError(f"sentence must be a non-empty str, got {sentence!r}")
        if on is not None:
            if isinstance(on, str) or not all(isinstance(d, str) for d in on):
                raise TypeError(f"on must be a sequence of data-set names, got {on!r}")
            on = tuple(on)
        if any(c["key"] == key for c in self.claims):
            raise ValueError(f"key {key!r} is already a claim of {self.chapter}")
        asserted = on is None or self.dataset in on
        claim = Claim(key=key, chapter=self.chapter, sentence=sentence, relation=relation,
                      measured=measured, criterion=criterion, holds=bool(holds),
                      asserted=bool(asserted), dataset=self.dataset,
                      claimed_on=None if on is None else list(on),
                      seed_offset=os.environ.get("NORMCORE_SEED_OFFSET", "") or "0")
        self.claims.append(claim)
        self._write()
        if asserted and not holds:
            nums = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in measured.items())
            raise ClaimFailed(f"{self.chapter}: claim {key!r} does not hold on "
                              f"{self.dataset or 'this data set'}: {sentence} "
                              f"[{criterion}; {nums}]")
        return claim

    def _write(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(self.path, "w") as f:
            json.dump({"chapter": self.chapter, "dataset": self.dataset,
                       "claims": self.claims}, f, indent=1)

    def _repr_markdown_(self) -> str:
        rows = [f"| {c['key']} | {'yes' if c['holds'] else 'no'} | "
                f"{'asserted' if c['asserted'] else 'not claimed here'} |" for c in self.claims]
        return "\n".join(["| claim | holds | |", "|---|---|---|", *rows])
