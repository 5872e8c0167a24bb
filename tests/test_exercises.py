"""Every chapter's exercises run: unfilled they say "not attempted yet", solved they pass.

A chapter's "Your turn" section pairs a code cell tagged ``exercise-skeleton``
(the function a student writes, with the assignment's name and signature) with
the cell after it tagged ``exercise-check`` (which calls :mod:`normcore.check`).
This test runs each check cell twice, without executing the chapter:

* with the skeleton as committed: the report must be "not attempted yet", not an
  error, so a student who runs the cell before writing anything gets a start;
* with the skeleton replaced by normcore's own function of the same name (the
  reference solution): the report must pass, so a broken check cell or a
  checker that rejects a correct answer cannot ship.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import normcore
from normcore.check import Report

BOOK = Path(__file__).resolve().parent.parent / "book"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def exercises() -> list[tuple[str, str, str, str]]:
    """(chapter, function name, skeleton source, check source) for every exercise."""
    found = []
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = _cells(path)
        for i, cell in enumerate(cells):
            if "exercise-skeleton" not in _tags(cell):
                continue
            tree = ast.parse(_source(cell))
            names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
            assert len(names) == 1, (
                f"{path.name}: an exercise-skeleton cell must define exactly one function, "
                f"got {names}")
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            assert nxt is not None and "exercise-check" in _tags(nxt), (
                f"{path.name}: the skeleton of {names[0]} must be followed by its "
                "exercise-check cell")
            found.append((path.stem, names[0], _source(cell), _source(nxt)))
    return found


EXERCISES = exercises()


def _run_check(check_source: str, namespace: dict) -> Report:
    """Execute a check cell; its last expression (the report) is returned."""
    tree = ast.parse(check_source)
    assert tree.body and isinstance(tree.body[-1], ast.Expr), (
        "a check cell must end with the checker call, so the notebook displays its report")
    last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<check cell>", "exec"), namespace)
    report = eval(compile(last, "<check cell>", "eval"), namespace)
    assert isinstance(report, Report), f"the check cell gave {type(report).__name__}, not a Report"
    return report


def test_the_book_has_exercises_to_check():
    # Chapter 2 has two implement exercises; the test must not pass vacuously.
    assert len(EXERCISES) >= 2


@pytest.mark.parametrize("chapter, name, skeleton, check", EXERCISES,
                         ids=[f"{c}:{n}" for c, n, _, _ in EXERCISES])
def test_unfilled_skeleton_is_not_attempted_yet(chapter, name, skeleton, check):
    namespace: dict = {}
    exec(compile(skeleton, f"<{chapter} skeleton>", "exec"), namespace)
    report = _run_check(check, namespace)
    assert not report.attempted and report.status == "not attempted yet", report.summary()
    assert report.hint, "a stub's report says how to start"


@pytest.mark.parametrize("chapter, name, skeleton, check", EXERCISES,
                         ids=[f"{c}:{n}" for c, n, _, _ in EXERCISES])
def test_reference_solution_passes_the_check_cell(chapter, name, skeleton, check):
    assert hasattr(normcore, name), f"{chapter}: normcore has no {name} to serve as the solution"
    report = _run_check(check, {name: getattr(normcore, name)})
    assert report.passed, str(report)
