"""normcore.progress: the progress line a build's notebooks write, and the relay that shows it."""

import io
import os
import subprocess
import sys

import pytest

from normcore.progress import PROGRESS_ENV, Progress, read, relay, report

# What myst-nb logs through Sphinx (location prefix, then the message), as copied
# from a real `jupyter-book build` of this book.
EXECUTING = "/src/book/05_batch_size.ipynb: Executing notebook using local CWD [mystnb]\n"
EXECUTED = "/src/book/05_batch_size.ipynb: Executed notebook in 41.27 seconds [mystnb]\n"
FAILED = ("/src/book/06_layer_norm.ipynb: WARNING: Executing notebook failed: "
          "CellExecutionError [mystnb.exec]\n")


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.txt"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    return path


def test_report_does_nothing_when_the_variable_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report("sweep", 1, 2)
    monkeypatch.setenv(PROGRESS_ENV, "")
    report("sweep", 1, 2)
    assert os.listdir(tmp_path) == []


def test_report_replaces_the_one_line_and_read_returns_it(progress_file):
    assert read(progress_file) is None  # nothing reported yet
    report("weight-scale sweep", 3, 40)
    assert read(progress_file) == Progress("weight-scale sweep", 3, 40)
    report("batch-size sweep", 40, 40)
    assert progress_file.read_text() == "batch-size sweep\t40\t40\n"
    assert read(progress_file) == Progress("batch-size sweep", 40, 40)
    # Written through a temporary file renamed into place: none is left behind.
    assert os.listdir(progress_file.parent) == [progress_file.name]


@pytest.mark.parametrize("args, exc, name", [
    ((3, 1, 2), TypeError, "label"), (("", 1, 2), ValueError, "label"),
    (("a\nb", 1, 2), ValueError, "label"), (("a\tb", 1, 2), ValueError, "label"),
    (("s", 1.0, 2), TypeError, "done"), (("s", True, 2), TypeError, "done"),
    (("s", 3, 2), ValueError, "done"), (("s", -1, 2), ValueError, "done"),
    (("s", 0, 0), ValueError, "total"), (("s", 0, "2"), TypeError, "total"),
])
def test_bad_reports_name_the_argument_even_with_the_variable_unset(monkeypatch, args, exc, name):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    with pytest.raises(exc, match=name):
        report(*args)


def test_read_refuses_a_file_that_is_not_a_progress_line(tmp_path):
    path = tmp_path / "p"
    path.write_text("50%\n")
    with pytest.raises(ValueError, match="not a progress file"):
        read(path)


def _lines_with_reports(steps):
    """Yield build-output lines; between them, call report() as a kernel would."""
    for item in steps:
        if isinstance(item, tuple):
            report(*item)
        else:
            yield item


def test_relay_echoes_every_line_and_shows_each_change_under_its_chapter(progress_file):
    out = io.StringIO()
    build = [EXECUTING, ("batch-size sweep", 1, 3), "building [html]\n",
             ("batch-size sweep", 2, 3), "line two\n", "line three\n",
             ("batch-size sweep", 3, 3), EXECUTED, "done\n"]
    summary = relay(_lines_with_reports(build), progress_file, out=out, title="CIFAR-10",
                    interval=60.0, min_gap=0.0)
    text = out.getvalue()
    echoed = [line for line in build if isinstance(line, str)]
    # Every build line is echoed unchanged and in order.
    assert [ln + "\n" for ln in text.splitlines() if not ln.startswith("  >> ")] == echoed
    shown = [ln for ln in text.splitlines() if ln.startswith("  >> ")]
    # Each change once (the unchanged file after "line three" is not repeated).
    assert shown == ["  >> [CIFAR-10] 05_batch_size: batch-size sweep 1/3 (33%)",
                     "  >> [CIFAR-10] 05_batch_size: batch-size sweep 2/3 (66%)",
                     "  >> [CIFAR-10] 05_batch_size: batch-size sweep 3/3 (100%)"]
    assert summary == {"times": {"05_batch_size": 41.27}, "failed": []}


def test_relay_throttles_within_a_task_but_always_shows_the_last_step(progress_file):
    out = io.StringIO()
    build = [("sweep", 1, 4), "a\n", ("sweep", 2, 4), "b\n", ("sweep", 3, 4), "c\n",
             ("sweep", 4, 4), "d\n", ("other", 0, 2), "e\n", FAILED]
    summary = relay(_lines_with_reports(build), progress_file, out=out, interval=60.0,
                    min_gap=3600.0)
    shown = [ln for ln in out.getvalue().splitlines() if ln.startswith("  >> ")]
    assert shown == ["  >> sweep 1/4 (25%)", "  >> sweep 4/4 (100%)", "  >> other 0/2 (0%)"]
    assert summary == {"times": {}, "failed": ["06_layer_norm"]}


def test_relay_shows_progress_while_the_build_is_silent(progress_file):
    # The watcher thread looks every `interval` seconds, between output lines.
    import threading
    out = io.StringIO()
    seen = threading.Event()

    def build():
        yield EXECUTING
        report("sweep", 5, 9)
        assert seen.wait(10), "the relay did not show the change within 10 s"
        yield "after\n"

    class Out(io.StringIO):
        def write(self, s):
            if "sweep 5/9" in s:
                seen.set()
            return super().write(s)

    out = Out()
    relay(build(), progress_file, out=out, interval=0.01, min_gap=0.0)
    lines = out.getvalue().splitlines()
    assert lines.index("  >> 05_batch_size: sweep 5/9 (55%)") < lines.index("after")


def test_relay_command_line_echoes_and_summarises(tmp_path):
    path = tmp_path / "progress.txt"
    path.write_text("sweep\t2\t2\n")
    feed = EXECUTING + "text\n" + EXECUTED + FAILED
    run = subprocess.run([sys.executable, "-m", "normcore.progress", "relay", str(path),
                          "--title", "MNIST-1D"], input=feed, capture_output=True, text=True,
                         check=True)
    lines = run.stdout.splitlines()
    assert lines[:2] == [EXECUTING.rstrip("\n"), "  >> [MNIST-1D] 05_batch_size: sweep 2/2 (100%)"]
    assert "  >> [MNIST-1D] executed 1 notebooks in 41 s: 05_batch_size 41 s" in lines
    assert lines[-1] == "  >> [MNIST-1D] FAILED: 06_layer_norm (its error is above)"

