"""Affine, ReLU, softmax loss and dropout: gradients, numerics, RNG hygiene, bad input."""

import warnings

import numpy as np
import pytest

import normcore as nc

# Gradient checks run in float64 with centred differences (h = 1e-5): truncation
# error ~h**2 = 1e-10 and round-off ~1e-16/h = 1e-11 relative to the function's
# scale, so analytic and numerical gradients of these smooth layers agree to
# ~1e-9 relative. 1e-7 leaves headroom for small gradient entries while still
# catching any real mistake (a wrong term gives errors of order 1).
GRAD_TOL = 1e-7


def test_affine_gradients_and_reshape():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))  # (N, d1, d2): flattened to D = 6
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))

    out, cache = nc.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(4, 6) @ w + b, rtol=1e-12)
    dx, dw, db = nc.affine_backward(dout, cache)
    assert dx.shape == x.shape

    dx_num = nc.eval_numerical_gradient_array(lambda v: nc.affine_forward(v, w, b)[0], x, dout)
    dw_num = nc.eval_numerical_gradient_array(lambda v: nc.affine_forward(x, v, b)[0], w, dout)
    db_num = nc.eval_numerical_gradient_array(lambda v: nc.affine_forward(x, w, v)[0], b, dout)
    assert nc.rel_error(dx, dx_num) < GRAD_TOL
    assert nc.rel_error(dw, dw_num) < GRAD_TOL
    assert nc.rel_error(db, db_num) < GRAD_TOL


def test_relu_forward_and_gradient():
    rng = np.random.default_rng(1)
    # Keep entries away from 0, where ReLU has a kink and centred differences
    # straddling it would disagree with either one-sided derivative.
    x = rng.standard_normal((5, 7))
    x[np.abs(x) < 1e-3] = 0.5
    out, cache = nc.relu_forward(x)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.0))
    dout = rng.standard_normal(x.shape)
    dx = nc.relu_backward(dout, cache)
    dx_num = nc.eval_numerical_gradient_array(lambda v: nc.relu_forward(v)[0], x, dout)
    assert nc.rel_error(dx, dx_num) < GRAD_TOL


def test_relu_gradient_at_exactly_zero_is_zero():
    # The kink: the assignment (and normcore) pass no gradient where x == 0. The
    # test above keeps x away from 0, but an all-zero input reaches it (a dead
    # layer, or zero-initialized activations), and there x >= 0 would pass dout.
    x = np.zeros((3, 4))
    out, cache = nc.relu_forward(x)
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(nc.relu_backward(np.ones_like(x), cache), 0.0)
    mixed = np.array([[-1.0, 0.0, 2.0]])
    _, cache = nc.relu_forward(mixed)
    np.testing.assert_array_equal(nc.relu_backward(np.full((1, 3), 5.0), cache), [[0.0, 0.0, 5.0]])


def test_relu_keeps_float32():
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    out, cache = nc.relu_forward(x)
    assert out.dtype == np.float32
    assert nc.relu_backward(np.ones_like(x), cache).dtype == np.float32


def test_softmax_loss_value_and_gradient():
    rng = np.random.default_rng(2)
    N, C = 50, 10
    # Equal scores: every class has probability 1/C, so the loss is exactly log(C).
    loss, _ = nc.softmax_loss(np.zeros((N, C)), rng.integers(0, C, N))
    assert loss == pytest.approx(np.log(C), rel=1e-12)

    x = 0.1 * rng.standard_normal((N, C))
    y = rng.integers(0, C, N)
    loss, dx = nc.softmax_loss(x, y)
    # Small random scores: the loss is close to log(C) (the assignment's sanity check).
    assert loss == pytest.approx(np.log(C), rel=0.1)
    dx_num = nc.eval_numerical_gradient(lambda v: nc.softmax_loss(v, y)[0], x, verbose=False)
    assert nc.rel_error(dx, dx_num) < GRAD_TOL


def test_softmax_loss_is_stable_for_huge_scores():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5e3, 1e4, 1e4]])
    y = np.array([1, 0, 0])
    # Overflow, 0/0 and log(0) must not happen. Underflow is allowed: exp of a
    # very negative shifted score rounding to 0 is the correct probability.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            loss, dx = nc.softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    # Row 0 picks a class 2e4 below the top: -log p = 2e4 exactly (other terms underflow).
    # Row 1: three equal scores, -log p = log 3. Row 2: two tied top classes beat the
    # label by 5e3, so -log p = 5e3 + log 2. Relative 1e-12 is float64 round-off.
    expected = (2e4 + np.log(3) + 5e3 + np.log(2)) / 3
    assert loss == pytest.approx(expected, rel=1e-12)
    # Each row of the gradient sums to 0 (probabilities minus a one-hot), up to round-off.
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-15)


def test_dropout_train_keeps_expected_fraction_and_scale():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 500)) + 10
    for p in (0.25, 0.6, 1.0):
        out, _ = nc.dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
        kept = out != 0
        # 250,000 Bernoulli(p) draws: the kept fraction's standard deviation is at most
        # 0.001, so 0.005 is five standard deviations.
        assert abs(kept.mean() - p) < 0.005
        # Inverted dropout: kept units are scaled by 1/p, so the expectation is unchanged.
        np.testing.assert_allclose(out[kept], x[kept] / p, rtol=1e-15)


def test_dropout_test_mode_is_identity():
    x = np.random.default_rng(4).standard_normal((10, 20))
    out, cache = nc.dropout_forward(x, {"mode": "test", "p": 0.3})
    np.testing.assert_array_equal(out, x)
    dout = np.ones_like(x)
    np.testing.assert_array_equal(nc.dropout_backward(dout, cache), dout)


def test_dropout_seed_reproduces_the_assignment_and_leaves_global_rng_alone():
    x = np.ones((30, 40))
    param = {"mode": "train", "p": 0.5, "seed": 42}
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    out1, _ = nc.dropout_forward(x, param)
    out2, _ = nc.dropout_forward(x, param)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    np.testing.assert_array_equal(out1, out2)
    # The assignment seeds the global RNG and draws np.random.rand: same mask.
    np.random.seed(42)
    expected = (np.random.rand(*x.shape) < 0.5) / 0.5
    np.testing.assert_array_equal(out1, x * expected)
    different, _ = nc.dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 43})
    assert not np.array_equal(out1, different)


def test_dropout_without_seed_uses_the_global_rng():
    # The assignment draws np.random.rand(*x.shape) < p: the same mask, and the
    # global generator advanced by exactly that draw (a private generator, even a
    # fixed one, would give the same mask twice but not this one).
    x = np.ones((20, 20))
    np.random.seed(5)
    out1, _ = nc.dropout_forward(x, {"mode": "train", "p": 0.5})
    after_dropout = np.random.get_state()[1].copy(), np.random.get_state()[2]
    np.random.seed(5)
    expected = (np.random.rand(*x.shape) < 0.5) / 0.5
    np.testing.assert_array_equal(out1, x * expected)
    np.testing.assert_array_equal(np.random.get_state()[1], after_dropout[0])
    assert np.random.get_state()[2] == after_dropout[1]
    # And the next call draws a new mask.
    out2, _ = nc.dropout_forward(x, {"mode": "train", "p": 0.5})
    assert not np.array_equal(out1, out2)


def test_dropout_gradient_and_dtype():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((10, 8))
    dout = rng.standard_normal(x.shape)
    param = {"mode": "train", "p": 0.7, "seed": 1}
    _, cache = nc.dropout_forward(x, param)
    dx = nc.dropout_backward(dout, cache)
    dx_num = nc.eval_numerical_gradient_array(lambda v: nc.dropout_forward(v, param)[0], x, dout)
    assert nc.rel_error(dx, dx_num) < GRAD_TOL
    out32, _ = nc.dropout_forward(x.astype(np.float32), param)
    assert out32.dtype == np.float32


# --------------------------------------------------------------------------- #
# Integer input: promoted as NumPy promotes it in the assignment's code
# --------------------------------------------------------------------------- #

def test_integer_and_boolean_arrays_are_promoted_to_the_inputs_float_dtype():
    rng = np.random.default_rng(7)
    xi = rng.integers(-5, 6, (4, 2, 3))
    wi = rng.integers(-3, 4, (6, 5))
    bi = rng.integers(-2, 3, 5)
    douti = rng.integers(-4, 5, (4, 5))
    xf, wf, bf, doutf = (a.astype(np.float64) for a in (xi, wi, bi, douti))
    # An integer x becomes float64, and the result is what the float call gives,
    # bit for bit (small integers convert exactly; the arithmetic is the same).
    out, cache = nc.affine_forward(xi, wi, bi)
    ref_out, ref_cache = nc.affine_forward(xf, wf, bf)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ref_out)
    for got, want in zip(nc.affine_backward(douti, cache), nc.affine_backward(doutf, ref_cache)):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, want)
    # Integer weights next to a float32 input take the input's dtype, not float64.
    x32 = xf.astype(np.float32)
    out32, cache32 = nc.affine_forward(x32, wi, bi)
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32, nc.affine_forward(x32, wf.astype(np.float32), bf.astype(np.float32))[0])
    assert all(g.dtype == np.float32 for g in nc.affine_backward(douti, cache32))

    out, cache = nc.relu_forward(xi)
    np.testing.assert_array_equal(out, np.maximum(xf, 0))
    dx = nc.relu_backward(rng.integers(0, 2, xi.shape).astype(bool), cache)
    assert dx.dtype == np.float64

    y = rng.integers(0, 5, 4)
    loss, dscores = nc.softmax_loss(douti, y)
    ref_loss, ref_dscores = nc.softmax_loss(doutf, y)
    assert loss == ref_loss
    np.testing.assert_array_equal(dscores, ref_dscores)

    param = {"mode": "train", "p": 0.5, "seed": 3}
    out, cache = nc.dropout_forward(xi, param)
    np.testing.assert_array_equal(out, nc.dropout_forward(xf, param)[0])
    dx = nc.dropout_backward(rng.integers(-4, 5, xi.shape), cache)
    assert dx.dtype == np.float64
    test_out, _ = nc.dropout_forward(xi.astype(bool), {"mode": "test", "p": 0.5})
    assert test_out.dtype == np.float64


# --------------------------------------------------------------------------- #
# Bad input: the error names the argument
# --------------------------------------------------------------------------- #

X = np.zeros((3, 4))
W = np.zeros((4, 2))
B = np.zeros(2)


@pytest.mark.parametrize("call, exc, name", [
    (lambda: nc.affine_forward(X.tolist(), W, B), TypeError, "x"),
    (lambda: nc.affine_forward(np.zeros(4), W, B), ValueError, "x"),
    # Integer arrays are promoted (see above), so the dtypes refused are those with
    # no meaning as real numbers: complex, strings, objects.
    (lambda: nc.affine_forward(X.astype(complex), W, B), TypeError, "x"),
    (lambda: nc.affine_forward(X, W.astype(str), B), TypeError, "w"),
    (lambda: nc.affine_forward(X, W, B.astype(object)), TypeError, "b"),
    (lambda: nc.affine_backward(np.zeros((3, 2), complex), nc.affine_forward(X, W, B)[1]), TypeError, "dout"),
    (lambda: nc.affine_forward(X, np.zeros((5, 2)), B), ValueError, "w"),
    (lambda: nc.affine_forward(X, np.zeros(4), B), ValueError, "w"),
    (lambda: nc.affine_forward(X, W, np.zeros((1, 2))), ValueError, "b"),
    (lambda: nc.affine_forward(X, W, np.zeros(3)), ValueError, "b"),
    (lambda: nc.affine_backward(np.zeros((3, 3)), nc.affine_forward(X, W, B)[1]), ValueError, "dout"),
    (lambda: nc.relu_forward([1.0, -1.0]), TypeError, "x"),
    (lambda: nc.relu_backward(np.zeros(3), nc.relu_forward(X)[1]), ValueError, "dout"),
    (lambda: nc.relu_backward(X.astype(str), nc.relu_forward(X)[1]), TypeError, "dout"),
    (lambda: nc.softmax_loss(X.astype(complex), np.zeros(3, int)), TypeError, "x"),
    (lambda: nc.softmax_loss(np.zeros(3), np.zeros(3, int)), ValueError, "x"),
    (lambda: nc.softmax_loss(X, np.array([0, 1, 4])), ValueError, "y"),
    (lambda: nc.softmax_loss(X, np.array([0, -1, 2])), ValueError, "y"),
    (lambda: nc.softmax_loss(X, np.zeros(3)), TypeError, "y"),
    (lambda: nc.softmax_loss(X, np.zeros(2, int)), ValueError, "y"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": 0.0}), ValueError, r"dropout_param\['p'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": 1.5}), ValueError, r"dropout_param\['p'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": "0.5"}), TypeError, r"dropout_param\['p'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": float("nan")}), ValueError, r"dropout_param\['p'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "train"}), ValueError, r"dropout_param\['p'\]"),
    (lambda: nc.dropout_forward(X, {"p": 0.5}), ValueError, r"dropout_param\['mode'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "eval", "p": 0.5}), ValueError, r"dropout_param\['mode'\]"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": 0.5, "seed": -1}), ValueError, "seed"),
    (lambda: nc.dropout_forward(X, {"mode": "train", "p": 0.5, "seed": 1.5}), TypeError, "seed"),
    (lambda: nc.dropout_forward(X, None), TypeError, "dropout_param"),
    (lambda: nc.dropout_forward(X.astype(np.complex64), {"mode": "test", "p": 0.5}), TypeError, "x"),
])
def test_bad_input_names_the_argument(call, exc, name):
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(exc, match=rf"(?<!\w){name}(?!\w)"):
        call()
