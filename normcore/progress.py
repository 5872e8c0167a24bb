"""Progress a student can see while a long computation runs inside a notebook.

A chapter executed by the book build runs in a kernel whose output nobody sees
until the chapter is done. :func:`report` lets long loops (the sweeps) say how
far they are by rewriting one line in the file named by
``$NORMCORE_PROGRESS_FILE``; with the variable unset it does nothing, so code
that reports costs nothing outside a build. ``./dev book`` sets the variable and
pipes the build's output through :func:`relay` (``python -m normcore.progress
relay FILE``), which echoes every line and prints the progress line whenever it
changes, under the name of the chapter being executed.

    >>> from normcore import progress
    >>> progress.report("weight-scale sweep", 3, 40)   # no-op unless the variable is set
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import IO, Iterable, NamedTuple

from normcore.storage import atomic_writer

__all__ = ["PROGRESS_ENV", "Progress", "report", "read", "relay"]

PROGRESS_ENV = "NORMCORE_PROGRESS_FILE"


class Progress(NamedTuple):
    """One progress line: ``done`` of ``total`` steps of the task called ``label``."""
    label: str
    done: int
    total: int


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


def report(label: str, done: int, total: int) -> None:
    """Record that ``done`` of ``total`` steps of ``label`` are finished.

    Parameters
    ----------
    label : str
        What is running, e.g. ``"batch-size sweep"``; non-empty, one line.
    done : int, 0 <= done <= total
    total : int > 0

    The line replaces the previous one in ``$NORMCORE_PROGRESS_FILE`` atomically
    (a reader sees the old line or the new one, never half); nothing is written
    when the variable is unset or empty. Arguments are checked either way, so a
    wrong call fails in the tests too, not only in a build.
    """
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    if not label.strip() or "\n" in label or "\r" in label or "\t" in label:
        raise ValueError(f"label must be a non-empty single line without tabs, got {label!r}")
    done, total = _check_count("done", done), _check_count("total", total)
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    if not 0 <= done <= total:
        raise ValueError(f"done must lie in 0..total ({total}), got {done}")
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    # Not durable: the line is rewritten often and worthless after a power cut.
    with atomic_writer(path, "w", durable=False) as f:
        f.write(f"{label.strip()}\t{done}\t{total}\n")


def read(path: str | os.PathLike) -> Progress | None:
    """The line last written by :func:`report` to ``path``, or None if there is none yet."""
    try:
        text = Path(path).read_text()
    except (FileNotFoundError, IsADirectoryError):
        return None
    parts = text.rstrip("\n").split("\t")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError(f"{path} is not a progress file (expected 'label<TAB>done<TAB>total', "
                         f"got {text[:80]!r})")
    return Progress(parts[0], int(parts[1]), int(parts[2]))


# What myst-nb logs (through Sphinx) around each notebook it executes.
_EXECUTING = re.compile(r"([^\s:]+?)(?:\.ipynb)?: Executing notebook using")
_EXECUTED = re.compile(r"([^\s:]+?)(?:\.ipynb)?: Executed notebook in ([0-9.]+) seconds")
# A failure is logged as a warning: Sphinx puts "WARNING: " after the location.
_FAILED = re.compile(r"([^\s:]+?)(?:\.ipynb)?: (?:WARNING: )?Executing notebook failed")


def _chapter(path: str) -> str:
    return Path(path).stem


def relay(lines: Iterable[str], path: str | os.PathLike, out: IO[str] | None = None,
          title: str = "", interval: float = 0.5, min_gap: float = 2.0) -> dict:
    """Echo ``lines`` to ``out`` and, in between, each change of the progress file ``path``.

    Parameters
    ----------
    lines : iterable of str
        The build's output (lines with their newlines), echoed unchanged.
    path : str or os.PathLike
        The progress file (``$NORMCORE_PROGRESS_FILE`` of the build).
    out : text stream, default sys.stdout
    title : str
        Printed in front of every progress line (e.g. the data set).
    interval : float
        Seconds between looks at the file.
    min_gap : float
        Within one task, at most one progress line per ``min_gap`` seconds (the
        last step, ``done == total``, is always shown).

    Returns
    -------
    dict
        ``times``: {chapter: seconds} from myst-nb's "Executed notebook in" lines;
        ``failed``: the chapters whose execution failed, in order.
    """
    out = sys.stdout if out is None else out
    lock = threading.Lock()
    state = {"chapter": None, "last": None, "last_time": 0.0}
    stop = threading.Event()
    prefix = f"[{title}] " if title else ""

    def say(text: str) -> None:
        with lock:
            out.write(text)
            out.flush()

    def check() -> None:
        # Called by the watcher thread and after each echoed line, so a change
        # shows up within `interval` even while the build prints nothing.
        try:
            now_progress = read(path)
        except (OSError, ValueError):
            return  # never let the display break the build
        with lock:
            last = state["last"]
            if now_progress is None or now_progress == last:
                return
            now = time.monotonic()
            same_task = last is not None and now_progress.label == last.label
            if (same_task and now_progress.done < now_progress.total
                    and now - state["last_time"] < min_gap):
                return
            state["last"], state["last_time"] = now_progress, now
            where = f"{state['chapter']}: " if state["chapter"] else ""
            p = now_progress
            out.write(f"  >> {prefix}{where}{p.label} {p.done}/{p.total} "
                      f"({100 * p.done // p.total}%)\n")
            out.flush()

    def watch() -> None:
        while not stop.wait(interval):
            check()

    watcher = threading.Thread(target=watch, name="progress-relay", daemon=True)
    watcher.start()
    times: dict[str, float] = {}
    failed: list[str] = []
    try:
        for line in lines:
            say(line)
            if m := _EXECUTING.search(line):
                state["chapter"] = _chapter(m.group(1))
            elif m := _EXECUTED.search(line):
                times[_chapter(m.group(1))] = float(m.group(2))
            elif m := _FAILED.search(line):
                failed.append(_chapter(m.group(1)))
            check()
    finally:
        stop.set()
        watcher.join()
    return {"times": times, "failed": failed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m normcore.progress",
        description="Echo standard input and show the progress file's changes in between.")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("relay", help="echo stdin; print each change of FILE; summarise")
    rel.add_argument("file", metavar="FILE", help="the progress file ($NORMCORE_PROGRESS_FILE)")
    rel.add_argument("--title", default="", help="shown in front of each progress line")
    args = parser.parse_args(argv)
    summary = relay(sys.stdin, args.file, title=args.title)
    prefix = f"[{args.title}] " if args.title else ""
    if summary["times"]:
        total = sum(summary["times"].values())
        each = ", ".join(f"{c} {t:.0f} s" for c, t in summary["times"].items())
        print(f"  >> {prefix}executed {len(summary['times'])} notebooks in {total:.0f} s: {each}")
    for chapter in summary["failed"]:
        print(f"  >> {prefix}FAILED: {chapter} (its error is above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
