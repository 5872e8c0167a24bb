"""Launch buttons lead somewhere: every chapter installs normcore from the configured repository."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import install_cell  # noqa: E402

CHAPTERS = install_cell.chapters()


def test_every_chapter_is_covered():
    assert len(CHAPTERS) >= 7, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_install_cell_uses_the_configured_repository(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = install_cell.install_cell(nb)
    assert cell is not None, f"{path.name} has no install cell: run tools/install_cell.py"
    assert "".join(cell["source"]) == install_cell.cell_source(install_cell.repository_url()), (
        f"{path.name}: install cell is stale; run tools/install_cell.py")
    # It comes before any other code, so a Colab reader runs it first.
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert first_code is cell
    # The book's pages do not show it: they were built where normcore is installed.
    assert "remove-cell" in cell["metadata"]["tags"]


def test_install_cell_does_nothing_where_normcore_is_installed():
    # The cell's only action is guarded by this condition.
    assert importlib.util.find_spec("normcore") is not None


def test_a_bad_repository_url_is_named(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: git@github.com:x/y\n")
    with pytest.raises(ValueError, match="repository.url must be an https URL"):
        install_cell.repository_url(tmp_path)


def test_binder_installs_the_package():
    post = (ROOT / "binder" / "postBuild").read_text()
    reqs = (ROOT / "binder" / "requirements.txt").read_text()
    assert "pip install" in post and "-e ." in post
    assert "-r ../requirements.txt" in reqs
