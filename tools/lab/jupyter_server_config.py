"""JupyterLab for reading the book: ``./dev lab`` starts it with this file.

* The file browser is rooted at the repository, so ``normcore/`` is one click
  away from ``book/``; Lab opens on ``book/``.
* Chapters under ``book/`` are committed without outputs. JupyterLab autosaves
  about every two minutes, so without help a reading session writes outputs,
  execution counts, widget state and the kernel's version into the committed
  notebooks. The pre-save hook below strips exactly those before a chapter under
  ``book/`` is written; the reader's own edits to the source are kept. The open
  notebook keeps its outputs on screen until it is closed; reopened, it shows the
  chapter as committed, to be run again (no "model not found" widgets).

Use: ``jupyter lab --config tools/lab/jupyter_server_config.py`` (what ``./dev lab``
does). Importing this file without Jupyter's ``get_config`` only defines the hook
(tests use that).
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOOK = "book/"

# Cell metadata that records a session, not the book (timings, scroll and collapse
# state, jupyterlab-myst's evaluated inline expressions).
SESSION_CELL_METADATA = ("execution", "scrolled", "collapsed", "jupyter", "ExecuteTime",
                         "user_expressions")
# Notebook metadata kept as committed: the reader's kernel and Python version are theirs.
COMMITTED_NB_METADATA = ("kernelspec", "language_info")


def strip_book_outputs(model: dict, path: str, contents_manager=None, **kwargs) -> None:
    """Pre-save hook: a chapter under ``book/`` is saved as it is committed.

    Clears outputs and execution counts, drops the saved widget state and the
    session's cell metadata, and keeps the kernel metadata the file on disk has.
    Other files (a student's own notebook elsewhere) are saved untouched.
    """
    if model.get("type") != "notebook" or not path.lstrip("/").startswith(BOOK):
        return
    nb = model.get("content")
    if not isinstance(nb, dict):
        return
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        meta = cell.get("metadata", {})
        for key in SESSION_CELL_METADATA:
            meta.pop(key, None)
    nb_meta = nb.setdefault("metadata", {})
    nb_meta.pop("widgets", None)
    on_disk = _committed_metadata(path, contents_manager)
    if on_disk is None:  # a new notebook: nothing committed to keep
        return
    for key in COMMITTED_NB_METADATA:
        if key in on_disk:
            nb_meta[key] = on_disk[key]
        else:
            nb_meta.pop(key, None)


def _committed_metadata(path: str, contents_manager) -> dict | None:
    root = Path(getattr(contents_manager, "root_dir", REPO) or REPO)
    try:
        return json.loads((root / path.lstrip("/")).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None


if "get_config" in globals():  # loaded by Jupyter as a config file
    c = get_config()  # noqa: F821
    c.ServerApp.root_dir = str(REPO)
    c.ServerApp.default_url = "/lab/tree/book"
    c.FileContentsManager.pre_save_hook = strip_book_outputs
