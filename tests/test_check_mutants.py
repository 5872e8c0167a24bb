"""normcore.check against the mutant library: every mistake failed and named, every
correct implementation passed.

The library (tests/mutants) holds one implementation per mistake issue 11 lists,
written as a student writes it, and several correct implementations written
differently from normcore's. A mutant passes this test only if the checker fails
it *and* names its mistake, and names nothing else (a misdiagnosis fails too).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import normcore as nc
from mutants import CASES, CORRECT, MUTANTS, Case
from normcore.check import CHECKERS, Report
from normcore.check.diagnoses import EXPLAIN
from normcore.check.report import WIDTH

# Findings that are right to report on a function that still passes: the bug is
# in the forward pass the backward pass was given; float32 cancellation that
# float64, the assignment's precision, hides.
NOTES = {"bug_in_forward", "var_cancellation"}

# Every mistake issue 11 lists, by the id the checker names it with; the
# library must hold a mutant for each.
ISSUE_11 = {
    "eps_outside_sqrt", "test_uses_batch_stats", "test_drops_affine",
    "eps_in_running_var", "sbn_per_pixel", "gn_no_spatial_pool", "gn_gamma_shape",
    "ln_backward_bn_axis", "dgamma_drops_eps", "needs_own_cache", "unfinished_backward",
    "unbiased_variance", "momentum_reversed", "running_not_stored", "missing_keepdims",
    "mu_path_forgotten", "dgamma_from_x", "lost_1_over_n", "gn_interleaved_groups",
    "bug_in_forward", "shape", "dtype", "input_mutated", "result_aliases_cache",
}


def test_two_mistakes_in_one_result_are_both_named():
    case = next(c for c in MUTANTS if c.name == "bn_fwd_over_all_and_eps_outside")
    prop = run(case).failures[0]
    assert prop.name == "train-mode output"
    assert prop.ids == ("stats_over_all", "eps_outside_sqrt")
    assert prop.tag == "[stats_over_all, eps_outside_sqrt]"


@functools.lru_cache(maxsize=None)  # several tests read one case's report
def run(case: Case) -> Report:
    checker = CHECKERS[case.layer]
    if case.forward is not None:
        return checker(case.fn, forward=case.forward)
    return checker(case.fn)


def test_library_covers_every_listed_mistake():
    named = {c.expect for c in MUTANTS}
    assert ISSUE_11 <= named, f"no mutant for {sorted(ISSUE_11 - named)}"


def test_every_layer_has_two_correct_alternatives():
    per_layer = {layer: sum(c.layer == layer for c in CORRECT) for layer in CHECKERS}
    assert all(n >= 2 for n in per_layer.values()), per_layer


@pytest.mark.parametrize("case", [c for c in MUTANTS
                                  if c.expect not in NOTES | {"not_attempted", "unnamed"}],
                         ids=lambda c: c.name)
def test_mutant_fails_and_is_named(case):
    report = run(case)
    assert report.attempted and not report.passed, str(report)
    named = {i for p in report.failures for i in p.ids}
    assert case.expect in named, str(report)
    assert named <= {case.expect} | case.also, f"misdiagnosis:\n{report}"
    # The student reads the plain sentence, not the id.
    for prop in report.failures:
        assert all(EXPLAIN[i] in prop.detail for i in prop.ids if i != "exception")
    assert case.expect in " ".join(p.tag for p in report.failures)
    assert case.expect in "".join(str(report).split())  # the tag may wrap at its comma


@pytest.mark.parametrize("case", [c for c in MUTANTS if c.expect in NOTES],
                         ids=lambda c: c.name)
def test_finding_that_is_not_a_failure_is_noted(case):
    report = run(case)
    assert report.passed, str(report)
    assert case.expect in report.diagnoses
    note = next(p for p in report.properties if p.diagnosis == case.expect)
    assert note.status == "note" and EXPLAIN[case.expect] in note.detail


def test_bug_in_forward_is_named_on_the_forward_too():
    """The backward right for its wrong forward passes; the forward's checker fails it."""
    case = next(c for c in MUTANTS if c.expect == "bug_in_forward")
    assert "eps_outside_sqrt" in CHECKERS["batchnorm_forward"](case.forward).diagnoses


@pytest.mark.parametrize("case", [c for c in MUTANTS if c.expect == "unnamed"],
                         ids=lambda c: c.name)
def test_unknown_mistake_is_measured_not_guessed(case):
    report = run(case)
    assert not report.passed
    assert all(not p.ids for p in report.failures), str(report)
    assert "no known mistake fits" in report.failures[0].detail
    assert "off by" in report.failures[0].detail


@pytest.mark.parametrize("case", [c for c in MUTANTS if c.expect == "not_attempted"],
                         ids=lambda c: c.name)
def test_stub_is_not_attempted_with_how_to_start(case):
    report = run(case)
    assert not report.attempted and not report.passed
    assert report.status == "not attempted yet"
    assert report.hint.startswith("Start")
    assert "not attempted yet" in str(report) and report.hint.split()[1] in str(report)


@pytest.mark.parametrize("case", CORRECT, ids=lambda c: c.name)
def test_correct_alternative_passes(case):
    report = run(case)
    assert report.passed, str(report)
    assert report.diagnoses == [], str(report)


@pytest.mark.parametrize("layer", list(CHECKERS))
def test_normcore_passes_its_own_checker(layer):
    report = CHECKERS[layer](getattr(nc, layer))
    assert report.passed, str(report)
    assert not report.diagnoses, str(report)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_fits_80_columns_and_renders(case):
    report = run(case)
    text = str(report)
    assert max(len(line) for line in text.splitlines()) <= WIDTH == 80, text
    assert text.splitlines()[0] == report.summary()
    html = report._repr_html_()
    assert report.layer in html and report.status in html
    assert report._repr_markdown_().startswith(f"**`{report.layer}`**")


def test_float32_is_compared_with_the_students_own_float64():
    """A wrong formula fails where it is wrong, not a second time in float32."""
    case = next(c for c in MUTANTS if c.name == "bn_fwd_eps_outside_sqrt")
    report = run(case)
    assert [p.name for p in report.failures] == ["train-mode output"]
    assert any(p.name == "float32 values" and p.passed for p in report.properties)


def test_backward_checker_finds_the_forward_next_to_it():
    """Without forward=, the forward of the same name in the backward's module is used."""
    namespace = {"np": np}
    exec(  # a notebook's two cells: the student's own forward and backward
        "def batchnorm_forward(x, gamma, beta, bn_param):\n"
        "    mu, var = x.mean(0), x.var(0)\n"
        "    xhat = (x - mu) / np.sqrt(var + 1e-5)\n"
        "    return gamma * xhat + beta, {'xhat': xhat, 'g': gamma, 'v': var}\n"
        "def batchnorm_backward_alt(dout, c):\n"
        "    N, dxh = len(dout), dout * c['g']\n"
        "    dx = (N * dxh - dxh.sum(0) - c['xhat'] * (dxh * c['xhat']).sum(0))\n"
        "    return dx / (N * np.sqrt(c['v'] + 1e-5)), (dout * c['xhat']).sum(0), "
        "dout.sum(0)\n", namespace)
    report = CHECKERS["batchnorm_backward_alt"](namespace["batchnorm_backward_alt"])
    assert report.passed, str(report)
