"""Put the Colab/Binder install cell at the top of every chapter, from ``_config.yml``.

    .venv/bin/python tools/install_cell.py          # write or update the cells
    .venv/bin/python tools/install_cell.py --check  # exit 1 if any chapter differs

The repository URL lives in one place, ``repository.url`` in ``_config.yml``; set it
there when you publish the book, then run this. The cell installs normcore from
that repository only where it is not installed (Colab, Binder without postBuild),
so it does nothing locally; the rendered book removes it (``remove-cell``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TAG = "install-normcore"


def repository_url(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return url.rstrip("/")


def cell_source(url: str) -> str:
    return ("# On Colab or Binder: install normcore from the book's repository.\n"
            "# Where normcore is already installed (./dev lab), this does nothing.\n"
            "import importlib.util\n"
            "\n"
            "if importlib.util.find_spec(\"normcore\") is None:\n"
            f"    %pip install --quiet \"normcore @ git+{url}\"")


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("[0-9][0-9]_*.ipynb"))


def install_cell(nb: dict) -> dict | None:
    """The chapter's install cell, if it has one."""
    for cell in nb["cells"]:
        if TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def update(path: Path, url: str) -> bool:
    """Write or refresh ``path``'s install cell (just before its first code cell); True if changed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    want = cell_source(url)
    cell = install_cell(nb)
    if cell is not None:
        if "".join(cell["source"]) == want:
            return False
        cell["source"] = want.splitlines(keepends=True)
    else:
        first_code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
        nb["cells"].insert(first_code, {
            "cell_type": "code", "execution_count": None, "id": "install-normcore",
            "metadata": {"tags": [TAG, "remove-cell"]}, "outputs": [],
            "source": want.splitlines(keepends=True)})
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report chapters that differ")
    args = parser.parse_args(argv)
    url = repository_url()
    stale = []
    for path in chapters():
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = install_cell(nb)
        if cell is None or "".join(cell["source"]) != cell_source(url):
            stale.append(path.name)
            if not args.check:
                update(path, url)
    if args.check and stale:
        print("install cell missing or stale in: " + ", ".join(stale) +
              " (run .venv/bin/python tools/install_cell.py)")
        return 1
    print(f"install cells {'checked' if args.check else 'written'} for {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
