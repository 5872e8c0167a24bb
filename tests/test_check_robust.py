"""normcore.check never raises because the student's code is wrong, only on misuse;
the assignment's unfilled skeletons are "not attempted yet", with how to start."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from normcore.check import CHECKERS, Report


def _string(*args):
    return "hello"


def _ragged(*args):
    return [np.zeros(3), None]


def _ints(*args):
    return (1, 2, 3)


def _raises(*args):
    raise KeyError("boom")


def _exits(*args):
    sys.exit(3)


def _nans(*args):
    return args[0] * np.nan, np.full(3, np.nan), np.full(3, np.nan)


def _recurses(*args):
    return _recurses(*args)


def _objects(*args):
    return object(), object()


def _strings(*args):
    return "a", "b", "c"


def _spoils_param(*args):
    if isinstance(args[-1], dict):
        args[-1]["running_mean"], args[-1]["running_var"] = "x", [1, 2]
    return args[0] + 0.0, None


def _complex(*args):
    return args[0] * 1j, None


def _integers(*args):
    return np.zeros(np.shape(args[0]), dtype=int), None


GARBAGE = [_string, _ragged, _ints, _raises, _exits, _nans, _recurses, _objects,
           _strings, _spoils_param, _complex, _integers]


@pytest.mark.parametrize("layer", list(CHECKERS))
def test_garbage_is_reported_never_raised(layer):
    checker = CHECKERS[layer]
    for bad in GARBAGE:
        runs = [{}] + ([{"forward": bad}] if "backward" in layer else [])
        for kw in runs:
            with np.errstate(all="raise"):  # the checker must not leak float errors
                report = checker(bad, **kw)
            assert isinstance(report, Report)
            assert not report.passed, f"{bad.__name__} passed {layer}:\n{report}"
            assert report.failures or not report.attempted
            assert all(p.detail for p in report.failures), str(report)


def test_garbage_prints_no_warnings(recwarn):
    """Complex results and NaNs are findings in the report, not warnings on stderr."""
    for layer, checker in CHECKERS.items():
        checker(_complex)
        checker(_nans)
    assert not [str(w.message) for w in recwarn]


def test_exception_is_one_line_with_the_students_line():
    report = CHECKERS["batchnorm_forward"](lambda *a: 1 / 0)
    (prop,) = report.failures
    assert prop.name == "runs" and "ZeroDivisionError" in prop.detail
    assert "test_check_robust.py line" in prop.detail and "\n" not in prop.detail


@pytest.mark.parametrize("layer", list(CHECKERS))
def test_misuse_raises_type_error(layer):
    with pytest.raises(TypeError, match="fn must be a callable"):
        CHECKERS[layer]("batchnorm_forward")
    if "backward" in layer:
        with pytest.raises(TypeError, match="forward must be a callable"):
            CHECKERS[layer](lambda dout, cache: None, forward=np.zeros(3))


def _skeleton_forward(*args):
    """As the assignment ships it."""
    out, cache = None, None
    raise NotImplementedError


def _pass_forward(*args):
    out, cache = None, None
    # TODO: your code here
    return out, cache


@pytest.mark.parametrize("layer", list(CHECKERS))
@pytest.mark.parametrize("stub", [_skeleton_forward, _pass_forward])
def test_unfilled_skeleton_is_not_attempted(layer, stub):
    report = CHECKERS[layer](stub)
    assert not report.attempted and report.status == "not attempted yet"
    assert report.hint.startswith("Start")
    lines = str(report).splitlines()
    assert lines[0] == f"{layer}: not attempted yet" and len(lines) > 1
    assert "not attempted yet" in report._repr_html_()


def test_backward_of_a_skeleton_forward_runs_on_normcores():
    """The student wrote the backward pass first: it is checked on normcore's cache."""
    import normcore as nc

    def batchnorm_backward(dout, cache):
        return nc.batchnorm_backward(dout, cache)
    report = CHECKERS["batchnorm_backward"](batchnorm_backward, forward=_skeleton_forward)
    assert report.passed, str(report)
    note = next(p for p in report.properties if p.name == "forward used")
    assert "not attempted yet" in note.detail and "normcore" in note.detail


def test_backward_run_on_normcores_cache_says_so_when_it_fails():
    """A backward that indexes its own tuple cache runs on normcore's, wrongly: say why."""
    def batchnorm_backward(dout, cache):
        x, xhat, gamma = cache[0], cache[1], cache[2]  # the student's (x, xhat, gamma, ...)
        return dout, (dout * xhat).sum(0), dout.sum(0)
    report = CHECKERS["batchnorm_backward"](batchnorm_backward)
    assert not report.passed
    note = next(p for p in report.properties if p.name == "cache")
    assert "BatchNormCache" in note.detail and "forward=your_forward" in note.detail


SKELETON_DROPOUT = '''
import numpy as np

def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    mask, out = None, None
    if mode == "train":
        # TODO: implement the training phase forward pass for inverted dropout.
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        pass

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    elif mode == "test":
        # TODO: implement the test phase forward pass.
        pass
        # END OF YOUR CODE
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)  # the skeleton's own line: fails on None
    return out, cache
'''


def test_skeleton_that_fails_before_returning_is_not_attempted(tmp_path):
    from normcore.check import load_layers
    path = tmp_path / "layers.py"
    path.write_text(SKELETON_DROPOUT)
    report = CHECKERS["dropout_forward"](load_layers(path).dropout_forward)
    assert not report.attempted, str(report)
    filled = SKELETON_DROPOUT.replace("\n        pass\n", "\n        out = None\n", 1)
    path.write_text(filled)  # filled in, wrongly: now the same error is a failure
    report = CHECKERS["dropout_forward"](load_layers(path).dropout_forward)
    assert report.attempted and not report.passed
    assert "'NoneType' object has no attribute 'astype'" in report.failures[0].detail


def test_basic_backward_alone_reads_the_assignments_cache():
    """Without a forward of the student's, the cache has the assignment's layout."""
    def relu_backward(dout, cache):
        x = cache  # the assignment's relu cache is x itself
        return dout * (x > 0)

    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        return dout * mask if dropout_param["mode"] == "train" else dout

    def affine_backward(dout, cache):
        x, w, b = cache
        return ((dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout,
                dout.sum(0))
    for layer, fn in [("relu_backward", relu_backward),
                      ("dropout_backward", dropout_backward),
                      ("affine_backward", affine_backward)]:
        report = CHECKERS[layer](fn)
        assert report.passed, str(report)


def test_basic_backward_needing_its_own_cache_is_named():
    def relu_backward(dout, cache):
        return dout * (cache["x"] > 0)  # reads a dict only its own forward makes
    report = CHECKERS["relu_backward"](relu_backward)
    (prop,) = report.failures
    assert prop.diagnosis == "needs_own_cache" and "on normcore's cache" in prop.detail


def test_notebook_shows_the_report_as_html_markdown_and_text():
    """What Jupyter puts in a check cell's output: all three forms, text within 80."""
    from IPython.core.formatters import DisplayFormatter
    report = CHECKERS["batchnorm_forward"](_nans)
    data, _ = DisplayFormatter().format(report)
    assert {"text/plain", "text/html", "text/markdown"} <= set(data)
    assert data["text/plain"] == str(report)
    assert max(len(line) for line in data["text/plain"].splitlines()) <= 80
    assert data["text/html"].startswith("<p><code>batchnorm_forward</code>")
