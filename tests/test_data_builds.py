"""The books ./dev test built: every chapter executed on its data set, and no page shows another's.

``./dev test`` builds the default book and the whole book on a synthetic CIFAR-10,
then sets ``NORMCORE_BOOK_HTML`` (the default build's site) and
``NORMCORE_CIFAR10_BUILD`` (the CIFAR-10 build's directory, ``_build/<key>``).
The CIFAR-10 build stops at the first failing cell (``nb_execution_raise_on_error``),
so its existence already says every assertion passed; these tests check that it
is complete and that each page says which data it ran on. Without the variables
they skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def _need(var: str) -> Path:
    value = os.environ.get(var)
    if not value:
        message = f"${var} is not set: run through ./dev test, which builds the books"
        if IN_CI:
            pytest.fail(message + " (CI=true: these checks must run)")
        pytest.skip(message)
    return Path(value)


def chapters() -> list[str]:
    """The notebooks of _toc.yml, as docnames (``book/01_forward``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names += [c["file"] for c in part.get("chapters", [])]
    return [n for n in names if (ROOT / f"{n}.ipynb").is_file()]


def test_the_toc_has_chapters():
    assert len(chapters()) >= 7, chapters()


@pytest.mark.parametrize("chapter", chapters())
def test_every_chapter_executed_on_cifar10_without_error(chapter):
    build = _need("NORMCORE_CIFAR10_BUILD")
    executed = build / "_build" / "jupyter_execute" / f"{chapter}.ipynb"
    assert executed.is_file(), f"{chapter} was not executed in the CIFAR-10 build {build}"
    nb = json.loads(executed.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code, f"{executed} has no code cells"
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"{chapter}: code cells {not_run} were not executed on CIFAR-10"
    errors = [o.get("ename") for c in code for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{chapter}: errors on CIFAR-10: {errors}"


@pytest.mark.parametrize("chapter", chapters())
def test_each_page_says_which_data_it_ran_on_and_only_that(chapter):
    cifar = _need("NORMCORE_CIFAR10_BUILD") / "_build" / "html" / f"{chapter}.html"
    default = _need("NORMCORE_BOOK_HTML") / f"{chapter}.html"
    cifar_page, default_page = cifar.read_text(), default.read_text()
    # The build banner (book/_ext/normcore_book.py) on every page.
    assert "data set: cifar10" in cifar_page and "data set: mnist1d" not in cifar_page
    assert "not verified" in cifar_page  # the synthetic copy is not the official one
    assert "data set: mnist1d" in default_page and "data set: cifar10" not in default_page
    assert "not verified" not in default_page


def test_dev_book_on_unreadable_cifar10_fails_at_once_naming_the_data_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORMCORE_")}
    missing = tmp_path / "nowhere" / "cifar-10-batches-py"
    env.update(NORMCORE_DATASET="cifar10", NORMCORE_CIFAR10_DIR=str(missing))
    run = subprocess.run([str(ROOT / "dev"), "book"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "data set cifar10" in run.stderr and str(missing) in run.stderr
    assert "dev: no book built" in run.stderr
    assert "building the book" not in run.stdout  # stopped before Sphinx started


# ---------------------------------------------------------- numbers in JupyterLab
EVAL_KEY = re.compile(r'\{eval\}`ev\("([^":`]+)')


def _executed_code_cells(build: Path) -> dict[tuple, list]:
    """The build's executed notebooks (jupyter-cache keeps code cells, outputs in place)."""
    runs = {}
    for f in (build / ".jupyter_cache" / "executed").glob("*/base.ipynb"):
        cells = json.loads(f.read_text())["cells"]
        runs[tuple("".join(c["source"]) for c in cells)] = cells
    return runs


@pytest.mark.parametrize("chapter", chapters())
def test_every_number_in_the_prose_is_glued_above_it(chapter):
    # JupyterLab (jupyterlab-myst) evaluates a markdown cell's {eval}`ev("key")` when
    # Run All reaches that cell, so the key must be glued by a code cell above it,
    # or the reader sees an error where the book shows the number. The book itself
    # does not care about order, so only this test sees a number quoted too early.
    build = _need("NORMCORE_BOOK_HTML").parent
    source = json.loads((ROOT / f"{chapter}.ipynb").read_text())["cells"]
    code = tuple("".join(c["source"]) for c in source if c["cell_type"] == "code")
    executed = _executed_code_cells(build).get(code)
    assert executed is not None, (f"{chapter}: no executed copy of this version in "
                                  f"{build / '.jupyter_cache'} (was the book built from it?)")
    runs, glued, early = iter(executed), set(), []
    for i, cell in enumerate(source):
        if cell["cell_type"] == "code":
            glued |= {o["metadata"]["scrapbook"]["name"] for o in next(runs).get("outputs", [])
                      if "scrapbook" in o.get("metadata", {})}
        else:
            early += [f"cell {i}: {k}" for k in EVAL_KEY.findall("".join(cell["source"]))
                      if k not in glued]
    assert not early, (f"{chapter}: numbers quoted above the code that glues them "
                       f"(JupyterLab shows an error there): {early}")
