"""A library of student implementations, right and wrong, for testing normcore.check.

Every mistake issue 11 lists (found in students' published ``layers.py`` files
and in textbooks) is written here as a student would write it, one mistake per
implementation, next to correct solutions written differently from normcore's.
Each entry is a :class:`Case`: the checker to run, the function, the student's
own forward pass when the function is a backward pass, and the diagnosis id the
checker must name (None for a correct implementation).

The modules hold the implementations: :mod:`mutants.bn` batch norm,
:mod:`mutants.ln` layer norm, :mod:`mutants.spatial` spatial batch norm and
group norm, :mod:`mutants.basic` affine, ReLU, softmax and dropout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Case:
    """One implementation and what the checker must say about it.

    Attributes
    ----------
    name : str
        Short id, used as the pytest id.
    layer : str
        The assignment's function name; ``normcore.check.CHECKERS[layer]`` checks it.
    fn : callable
    forward : callable or None
        The student's forward pass whose cache ``fn`` reads (backward passes).
    expect : str or None
        The diagnosis id the checker must name; None: the checker must pass it.
    also : frozenset
        Other diagnoses that the same mistake rightly causes elsewhere in the
        report (e.g. an unbiased variance shows in the output and in the
        running variance alike); any diagnosis outside ``{expect} | also`` is
        a misdiagnosis.
    """

    name: str
    layer: str
    fn: Callable
    forward: Callable | None = None
    expect: str | None = None
    also: frozenset = field(default_factory=frozenset)


def _collect():
    from mutants import basic, bn, ln, spatial
    cases = bn.CASES + ln.CASES + spatial.CASES + basic.CASES
    names = [c.name for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"duplicate case names: {dupes}"
    return cases


CASES = _collect()
MUTANTS = [c for c in CASES if c.expect is not None]
CORRECT = [c for c in CASES if c.expect is None]
