"""The numerical-gradient helpers: accuracy on known functions, x restored, RNG hygiene."""

import random
import re

import numpy as np
import pytest

import normcore as nc


def test_rel_error():
    assert nc.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # |1 - 3| / (1 + 3) = 0.5 is the largest of the elementwise errors.
    assert nc.rel_error(np.array([1.0, 1.0]), np.array([3.0, 1.1])) == pytest.approx(0.5)
    # Both zero: the 1e-8 floor keeps 0/0 out; a tiny absolute gap stays tiny.
    assert nc.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert nc.rel_error(np.zeros(1), np.array([1e-12])) == pytest.approx(1e-4)


def test_eval_numerical_gradient_on_a_known_function(capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x_before = x.copy()
    grad = nc.eval_numerical_gradient(lambda v: np.sum(v ** 3), x, verbose=True)
    # For x**3 the centred difference is exactly 3 x**2 + h**2 (h = 1e-5), plus
    # round-off of about eps * |f| / h ~ 1e-16 * 5 / 1e-5 = 5e-11. A forward
    # difference would be off by ~3 x h ~ 1e-5, so 1e-9 tells the two apart.
    np.testing.assert_allclose(grad, 3 * x ** 2 + 1e-10, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x, x_before)
    # verbose prints one line per entry, index first, as the assignment does.
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == x.size and lines[0].startswith("(0, 0)")


def test_eval_numerical_gradient_array_on_a_cubic_map():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 3))
    # Entries of x kept at |x| >= 0.5, so that relative errors measure the method.
    x = rng.uniform(0.5, 2, 3) * rng.choice([-1, 1], 3)
    df = rng.standard_normal(5)
    grad = nc.eval_numerical_gradient_array(lambda v: A @ v**3, x, df)
    # The gradient of sum((A x**3) * df) is 3 x**2 * (A.T @ df). Centred differences
    # of a cubic are off by h**2 = 1e-10 relative to 3 x**2 >= 0.75, plus round-off
    # ~1e-16 * |f| / h ~ 1e-10; a forward difference is off by ~h / |x| >= 5e-6
    # relative. (A linear map could not tell the two apart: both are exact on it.)
    assert nc.rel_error(grad, 3 * x**2 * (A.T @ df)) < 1e-8


def test_integer_df_and_analytic_grad_are_promoted_but_x_must_be_float():
    x = np.array([1.0, -2.0, 0.5])
    # df = 2 for every output: the gradient of sum(2 * x**2) is 4 x.
    grad = nc.eval_numerical_gradient_array(lambda v: v**2, x, np.full(3, 2))
    np.testing.assert_allclose(grad, 4 * x, rtol=1e-8)
    errors = nc.grad_check_sparse(lambda v: float(np.sum(v)), x, np.ones(3, dtype=int), num_checks=3,
                                  seed=0, verbose=False)
    # Linear f: centred differences exact up to round-off (~1e-16 * |f| / h = 1e-11).
    assert errors.max() < 1e-8
    # x itself is perturbed in place by h: an integer x would round x + h back to x,
    # and promoting a copy would leave f (which may read the caller's array, as the
    # assignment's lambdas do) evaluating the unperturbed point. Refused, saying why.
    with pytest.raises(TypeError, match="x must have a floating dtype .*perturbed in place"):
        nc.eval_numerical_gradient_array(lambda v: v, np.arange(3), np.ones(3))


def test_eval_numerical_gradient_array_copies_reused_outputs():
    # f returns the same buffer each call (as in-place code might): without copying,
    # f(x + h) would be overwritten by f(x - h) and every gradient would read 0.
    buf = np.empty(2)

    def f(v):
        np.multiply(v, 2.0, out=buf)
        return buf

    grad = nc.eval_numerical_gradient_array(f, np.array([1.0, -1.0]), np.ones(2))
    np.testing.assert_allclose(grad, [2.0, 2.0], rtol=1e-8)


def test_x_is_restored_when_f_raises():
    x = np.arange(4.0)
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        nc.eval_numerical_gradient(f, x, verbose=False)
    np.testing.assert_array_equal(x, np.arange(4.0))
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"):
        nc.grad_check_sparse(f, x, np.ones(4), num_checks=3, seed=0, verbose=False)
    np.testing.assert_array_equal(x, np.arange(4.0))


def test_grad_check_sparse_returns_errors_and_prints_the_assignment_format(capsys):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5))
    errors = nc.grad_check_sparse(lambda v: np.sum(v ** 2), x, 2 * x, num_checks=7, seed=0)
    assert errors.shape == (7,)
    # A quadratic: centred differences are exact up to round-off (~1e-11 / |grad|).
    assert errors.max() < 1e-7
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7
    pattern = r"numerical: -?\d+\.\d{6} analytic: -?\d+\.\d{6}, relative error: \d\.\d{6}e[+-]\d\d"
    assert all(re.fullmatch(pattern, line) for line in lines)
    # A wrong analytic gradient is caught.
    wrong = nc.grad_check_sparse(lambda v: np.sum(v ** 2), x, 3 * x, num_checks=7, seed=0, verbose=False)
    assert wrong.min() > 0.1


def test_grad_check_sparse_seed_is_reproducible_and_leaves_global_rngs_alone():
    x = np.random.default_rng(3).standard_normal((20, 20))
    picked = []

    def f(v):
        picked.append(np.flatnonzero(v != x_ref))
        return float(np.sum(v))

    x_ref = x.copy()
    random.seed(9)
    np.random.seed(9)
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    nc.grad_check_sparse(f, x, np.ones_like(x), num_checks=5, seed=11, verbose=False)
    first = [tuple(p) for p in picked]
    picked.clear()
    nc.grad_check_sparse(f, x, np.ones_like(x), num_checks=5, seed=np.random.default_rng(11), verbose=False)
    assert [tuple(p) for p in picked] == first
    assert random.getstate() == py_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    # Without a seed it draws from Python's global random module, as the assignment does.
    picked.clear()
    nc.grad_check_sparse(f, x, np.ones_like(x), num_checks=5, verbose=False)
    assert random.getstate() != py_state


@pytest.mark.parametrize("call, exc, name", [
    (lambda: nc.eval_numerical_gradient(np.sum, [1.0, 2.0]), TypeError, "x"),
    (lambda: nc.eval_numerical_gradient(np.sum, np.arange(3)), TypeError, "x"),
    (lambda: nc.eval_numerical_gradient_array(lambda v: v, np.zeros(3), np.zeros(3, complex)), TypeError, "df"),
    (lambda: nc.grad_check_sparse(np.sum, np.zeros(3), np.zeros(3).astype(str)), TypeError, "analytic_grad"),
    (lambda: nc.eval_numerical_gradient(np.sum, np.zeros(3), h=float("nan")), ValueError, "h"),
    (lambda: nc.eval_numerical_gradient(np.sum, np.zeros(3), h=0.0), ValueError, "h"),
    (lambda: nc.eval_numerical_gradient_array(lambda v: v, np.zeros(3), np.zeros(2)), ValueError, "df"),
    (lambda: nc.grad_check_sparse(np.sum, np.zeros(3), np.zeros(4)), ValueError, "analytic_grad"),
    (lambda: nc.grad_check_sparse(np.sum, np.zeros(3), np.zeros(3), num_checks=0), ValueError, "num_checks"),
    (lambda: nc.grad_check_sparse(np.sum, np.zeros(3), np.zeros(3), seed="a"), TypeError, "seed"),
])
def test_bad_input_names_the_argument(call, exc, name):
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(exc, match=rf"(?<!\w){name}(?!\w)"):
        call()
