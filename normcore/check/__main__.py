"""``python -m normcore.check path/to/layers.py``: check every layer a file defines.

``path`` may also be the assignment's folder (``assignment2`` or its
``cs231n``): its ``cs231n/layers.py`` is checked. Exit status: 0 when every
layer found passes or is not attempted yet, 1 when any fails (or the file
cannot be imported), 2 for misuse (no such file).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import textwrap

from normcore.check import CHECKERS, LoadError, check_module, load_layers
from normcore.check.probe import unfilled
from normcore.check.report import WIDTH


def unchecked(module) -> list[str]:
    """Public functions the file itself defines that no checker covers (e.g. conv layers)."""
    return [name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and not name.startswith("_") and name not in CHECKERS
            and obj.__module__ == module.__name__]


def _resolve(path: str) -> str:
    """A folder stands for the layers.py in it or in its cs231n package."""
    for candidate in (os.path.join(path, "layers.py"),
                      os.path.join(path, "cs231n", "layers.py")):
        if os.path.isdir(path) and os.path.isfile(candidate):
            return candidate
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m normcore.check",
        description="Check the assignment's layers in a student's layers.py and name "
                    "the mistakes found.",
        epilog="Exit status: 0 when every layer found passes or is not attempted yet, "
               "1 when any fails or the file cannot be imported, 2 when there is no "
               "such file.")
    parser.add_argument("path", help="the student's layers.py (assignment 2 layout), or "
                        "the folder holding cs231n/layers.py")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="fail a layer whose call gives no result in this time "
                             "(default: 60)")
    args = parser.parse_args(argv)
    args.path = _resolve(args.path)
    try:
        module = load_layers(args.path)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except LoadError as err:
        print(f"{args.path}: cannot be imported: {err}")
        return 1
    for note in getattr(module, "__normcore_notes__", []):
        print(textwrap.fill(f"note: {note}", WIDTH, subsequent_indent="  "))
    reports = check_module(module, timeout=args.timeout)
    if not reports:
        print(f"{args.path}: defines none of the assignment's layers")
        return 0
    for report in reports:
        print(report)
    others = unchecked(module)
    todo = [name for name in others if unfilled(getattr(module, name))]
    written = [name for name in others if name not in todo]
    for label, names in (("not attempted yet, no checker here", todo),
                         ("written, no checker here", written)):
        if names:
            print(textwrap.fill(f"{label}: {', '.join(names)}", WIDTH, subsequent_indent="  "))
    failed = [r.layer for r in reports if r.attempted and not r.passed]
    stubs = [r.layer for r in reports if not r.attempted]
    passed = len(reports) - len(failed) - len(stubs)
    which = f" ({', '.join(failed)})" if failed else ""
    print()
    print(textwrap.fill(f"{len(reports)} layer{'s' * (len(reports) != 1)}: {passed} passed, "
                        f"{len(failed)} failed{which}, {len(stubs)} not attempted yet",
                        WIDTH, subsequent_indent="  "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
