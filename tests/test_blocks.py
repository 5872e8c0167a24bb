"""Affine-ReLU and affine-norm-ReLU blocks: forward against the formula, backward against numbers."""

import numpy as np
import pytest

from normcore import blocks
from normcore.gradient_check import eval_numerical_gradient_array, rel_error

# Centred differences with h = 1e-5 in float64 are accurate to about 1e-10
# relative (truncation h**2, rounding eps/h); 1e-7 leaves room for small entries
# while any wrong term in a backward pass gives errors of 1e-2 or more.
GRAD_TOL = 1e-7

# Inputs of shape (N, 2, 3): the blocks must flatten them like affine_forward.
N, IN_SHAPE, M = 6, (2, 3), 4


def _inputs(seed):
    rng = np.random.default_rng(seed)
    D = int(np.prod(IN_SHAPE))
    x = rng.standard_normal((N, *IN_SHAPE))
    w = rng.standard_normal((D, M)) / np.sqrt(D)
    # Non-zero biases and gamma/beta: generic values put no pre-activation
    # exactly on ReLU's kink, where the numerical gradient is meaningless.
    b = 0.1 * rng.standard_normal(M)
    gamma = 1 + 0.2 * rng.standard_normal(M)
    beta = 0.1 * rng.standard_normal(M)
    dout = rng.standard_normal((N, M))
    return x, w, b, gamma, beta, dout


def _normalize(a, normalization, eps=1e-5):
    # Batch norm standardizes each feature over the batch, layer norm each
    # example over its features; both with the biased variance.
    axis = 0 if normalization == "batchnorm" else 1
    mean = a.mean(axis=axis, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=axis, keepdims=True)
    return (a - mean) / np.sqrt(var + eps)


def test_affine_relu_forward_is_max_of_zero_and_affine():
    x, w, b, *_ = _inputs(0)
    out, cache = blocks.affine_relu_forward(x, w, b)
    np.testing.assert_allclose(out, np.maximum(0, x.reshape(N, -1) @ w + b), rtol=1e-14)
    assert isinstance(cache, blocks.AffineReluCache)


def test_affine_relu_backward_matches_numerical_gradient():
    x, w, b, _, _, dout = _inputs(1)
    _, cache = blocks.affine_relu_forward(x, w, b)
    dx, dw, db = blocks.affine_relu_backward(dout, cache)
    assert dx.shape == x.shape

    def out(x_, w_, b_):
        return blocks.affine_relu_forward(x_, w_, b_)[0]

    assert rel_error(dx, eval_numerical_gradient_array(lambda v: out(v, w, b), x, dout)) < GRAD_TOL
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: out(x, v, b), w, dout)) < GRAD_TOL
    assert rel_error(db, eval_numerical_gradient_array(lambda v: out(x, w, v), b, dout)) < GRAD_TOL


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_affine_norm_relu_forward_matches_formula(normalization):
    x, w, b, gamma, beta, _ = _inputs(2)
    norm_param = {"mode": "train"}
    out, cache = blocks.affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization)
    a = x.reshape(N, -1) @ w + b
    expected = np.maximum(0, gamma * _normalize(a, normalization) + beta)
    # Same arithmetic up to operation order: a few ulps of O(1) values.
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert cache.normalization == normalization
    if normalization == "batchnorm":
        # Batch norm in train mode records running statistics in the dict it is given.
        assert norm_param["running_mean"].shape == (M,)


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_affine_norm_relu_backward_matches_numerical_gradient(normalization):
    x, w, b, gamma, beta, dout = _inputs(3)
    args = [x, w, b, gamma, beta]
    _, cache = blocks.affine_norm_relu_forward(*args, {"mode": "train"}, normalization)
    analytic = blocks.affine_norm_relu_backward(dout, cache)
    assert [g.shape for g in analytic] == [a.shape for a in args]

    for i, name in enumerate(["x", "w", "b", "gamma", "beta"]):
        def out(value, i=i):
            trial = list(args)
            trial[i] = value
            return blocks.affine_norm_relu_forward(*trial, {"mode": "train"}, normalization)[0]

        numeric = eval_numerical_gradient_array(out, args[i], dout)
        if normalization == "batchnorm" and name == "b":
            # Batch norm subtracts the batch mean, which removes any bias added
            # before it: the true gradient is exactly zero. Relative error of two
            # rounding-noise values means nothing, so check both are noise:
            # analytic sums N terms of size ~1 (rounding ~1e-15), numeric divides
            # output rounding (~1e-16) by 2h = 2e-5.
            assert np.abs(analytic[i]).max() < 1e-12
            assert np.abs(numeric).max() < 1e-9
        else:
            assert rel_error(analytic[i], numeric) < GRAD_TOL, name


def test_unknown_normalization_is_named():
    x, w, b, gamma, beta, _ = _inputs(4)
    with pytest.raises(ValueError, match="normalization"):
        blocks.affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"}, "instancenorm")


def test_backward_refuses_a_cache_from_another_block():
    x, w, b, gamma, beta, dout = _inputs(5)
    _, relu_cache = blocks.affine_relu_forward(x, w, b)
    _, norm_cache = blocks.affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"}, "layernorm")
    with pytest.raises(TypeError, match="cache"):
        blocks.affine_norm_relu_backward(dout, relu_cache)
    with pytest.raises(TypeError, match="cache"):
        blocks.affine_relu_backward(dout, norm_cache)


def test_groupnorm_block_matches_numerical_gradient_and_groups():
    rng = np.random.default_rng(7)
    x, gamma, beta = rng.standard_normal((5, 6)), rng.standard_normal(6), rng.standard_normal(6)
    dout = rng.standard_normal((5, 6))
    out, cache = blocks.groupnorm_forward(x, gamma, beta, {"G": 3})
    # Each pair of consecutive features of each example is one group.
    g = x.reshape(5, 3, 2)
    xhat = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, xhat.reshape(5, 6) * gamma + beta, rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = blocks.groupnorm_backward(dout, cache)
    assert dx.shape == (5, 6) and dgamma.shape == (6,) and dbeta.shape == (6,)
    args = [x, gamma, beta]
    for i, grad in enumerate((dx, dgamma, dbeta)):
        def f(v, i=i):
            trial = list(args)
            trial[i] = v
            return blocks.groupnorm_forward(*trial, {"G": 3})[0]
        num = eval_numerical_gradient_array(f, args[i], dout)
        # Norm-wise: with groups of two, dx's entries cancel to a few 1e-6 at places,
        # where entry-wise relative error measures only the finite differences' noise.
        assert np.linalg.norm(grad - num) / np.linalg.norm(num) < GRAD_TOL


def test_groupnorm_block_names_bad_arguments():
    x, gamma = np.zeros((4, 6)), np.ones(6)
    with pytest.raises(ValueError, match="'G'"):
        blocks.groupnorm_forward(x, gamma, gamma, {})
    with pytest.raises(ValueError, match=r"gamma must have shape \(6,\)"):
        blocks.groupnorm_forward(x, np.ones((1, 6, 1, 1)), gamma, {"G": 2})
    # Not an array at all is a type error, as in every other layer.
    with pytest.raises(TypeError, match="gamma must be a numpy.ndarray"):
        blocks.groupnorm_forward(x, [1.0] * 6, gamma, {"G": 2})
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        blocks.groupnorm_forward(x.tolist(), gamma, gamma, {"G": 2})
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        blocks.groupnorm_forward(x[None], gamma, gamma, {"G": 2})
    with pytest.raises(ValueError, match="G must divide"):
        blocks.groupnorm_forward(x, gamma, gamma, {"G": 4})
