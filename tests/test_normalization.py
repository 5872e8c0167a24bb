"""Batch, layer, spatial batch and group norm: gradients, statistics, equivalences, bad input."""

import numpy as np
import pytest

import normcore as nc
from normcore.normalization import BatchNormCache


def assignment_inputs(x_shape, param_shape, seed=231):
    """The assignment's gradient-check inputs: np.random.seed(231), then
    x = 5 * randn + 12, gamma, beta, dout from randn, in that order (drawn from a
    private RandomState with the same stream, so the global RNG is untouched)."""
    rs = np.random.RandomState(seed)
    x = 5 * rs.randn(*x_shape) + 12
    gamma = rs.randn(*param_shape)
    beta = rs.randn(*param_shape)
    dout = rs.randn(*x_shape)
    return x, gamma, beta, dout


def numerical_grads(forward, x, gamma, beta, dout):
    """Numerical dx, dgamma, dbeta of sum(forward(x, gamma, beta) * dout).

    Each lambda uses its argument (the assignment's gamma/beta lambdas ignore it
    and work only because the array is perturbed in place)."""
    return (
        nc.eval_numerical_gradient_array(lambda v: forward(v, gamma, beta)[0], x, dout),
        nc.eval_numerical_gradient_array(lambda v: forward(x, v, beta)[0], gamma, dout),
        nc.eval_numerical_gradient_array(lambda v: forward(x, gamma, v)[0], beta, dout),
    )


def bn_train(x, gamma, beta):
    return nc.batchnorm_forward(x, gamma, beta, {"mode": "train"})


# The upper ends of the ranges the assignment states for its own inputs
# (api.md): relative errors of float64 centred differences against a correct
# backward pass. Values near the upper end come from the smallest entries of dx,
# where finite-difference round-off (~1e-11 absolute) is largest relative to the
# entry; a wrong formula gives errors of order 1e-2 .. 1.
@pytest.mark.parametrize("forward, backward, x_shape, p_shape, tol", [
    (bn_train, nc.batchnorm_backward, (4, 5), (5,), 1e-8),
    (bn_train, nc.batchnorm_backward_alt, (4, 5), (5,), 1e-8),
    (lambda x, g, b: nc.layernorm_forward(x, g, b, {}), nc.layernorm_backward, (4, 5), (5,), 1e-8),
    (lambda x, g, b: nc.spatial_batchnorm_forward(x, g, b, {"mode": "train"}),
     nc.spatial_batchnorm_backward, (2, 3, 4, 5), (3,), 1e-6),
    (lambda x, g, b: nc.spatial_groupnorm_forward(x, g, b, 2, {}),
     nc.spatial_groupnorm_backward, (2, 6, 4, 5), (1, 6, 1, 1), 1e-7),
], ids=["bn-graph", "bn-closed", "ln", "spatial-bn", "spatial-gn"])
def test_backward_matches_numerical_gradient(forward, backward, x_shape, p_shape, tol):
    x, gamma, beta, dout = assignment_inputs(x_shape, p_shape)
    _, cache = forward(x, gamma, beta)
    grads = backward(dout, cache)
    for name, analytic, numerical in zip(("dx", "dgamma", "dbeta"), grads, numerical_grads(forward, x, gamma, beta, dout)):
        assert analytic.shape == numerical.shape, name
        assert nc.rel_error(analytic, numerical) < tol, name


def test_bn_test_mode_backward_matches_numerical_gradient():
    x, gamma, beta, dout = assignment_inputs((6, 5), (5,))
    rs = np.random.RandomState(0)
    param = {"mode": "test", "running_mean": rs.randn(5) + 12, "running_var": rs.rand(5) * 25 + 1}

    def forward(x, g, b):
        return nc.batchnorm_forward(x, g, b, param)

    _, cache = forward(x, gamma, beta)
    for backward in (nc.batchnorm_backward, nc.batchnorm_backward_alt):
        grads = backward(dout, cache)
        for analytic, numerical in zip(grads, numerical_grads(forward, x, gamma, beta, dout)):
            # Test mode is a per-feature affine map: centred differences are exact up to
            # round-off, so the errors are far below the train-mode range.
            assert nc.rel_error(analytic, numerical) < 1e-8


def norm_rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(||a||, ||b||): how far apart two results are, as a whole."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b)))


@pytest.mark.parametrize("seed", range(20))
# Not N = 2: there xhat = +-1 and dx is a residue of cancellation (~eps / var),
# whose relative error measures round-off, not the formulas.
@pytest.mark.parametrize("shape", [(4, 5), (3, 1), (64, 3), (200, 50)])
def test_graph_and_closed_form_backward_agree(seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * rng.uniform(0.1, 10) + rng.uniform(-20, 20)
    gamma = rng.standard_normal(shape[1])
    beta = rng.standard_normal(shape[1])
    dout = rng.standard_normal(shape)
    _, cache = bn_train(x, gamma, beta)
    graph = nc.batchnorm_backward(dout, cache)
    closed = nc.batchnorm_backward_alt(dout, cache)
    # Same mathematics, different order of float64 operations: round-off only.
    # Measured as a whole, not entry by entry (rel_error): an entry of dx that is
    # itself a near-cancellation (dout ~ dbeta/N + xhat*dgamma/N) carries a large
    # relative error while the arrays agree to round-off. Worst of 800 seeds: 1.6e-13.
    for g, c in zip(graph, closed):
        assert norm_rel_error(g, c) < 1e-12


def test_cache_names_every_node():
    x, gamma, beta, _ = assignment_inputs((4, 5), (5,))
    out, cache = bn_train(x, gamma, beta)
    assert isinstance(cache, BatchNormCache)
    # Each node as the forward pass defines it; 1e-12 relative is float64 round-off.
    np.testing.assert_allclose(cache.mu, x.mean(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(cache.xmu, x - cache.mu, rtol=1e-12)
    np.testing.assert_allclose(cache.sq, cache.xmu ** 2, rtol=1e-12)
    np.testing.assert_allclose(cache.var, cache.sq.mean(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(cache.std, np.sqrt(cache.var + cache.eps), rtol=1e-12)
    np.testing.assert_allclose(cache.ivar, 1 / cache.std, rtol=1e-12)
    np.testing.assert_allclose(cache.xhat, cache.xmu * cache.ivar, rtol=1e-12)
    np.testing.assert_allclose(out, cache.gamma * cache.xhat + cache.beta, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bn_train_output_has_mean_beta_and_std_gamma(dtype):
    rng = np.random.default_rng(1)
    N, D = 200, 3
    x = (rng.standard_normal((N, D)) * [1, 5, 50] + [0, -10, 100]).astype(dtype)
    gamma = np.array([1.0, 3.0, 0.5], dtype=dtype)
    beta = np.array([0.0, 11.0, -2.0], dtype=dtype)
    out, _ = nc.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert out.dtype == dtype
    # The batch mean of xhat is 0 up to round-off (float32: ~1e-7 * the offset/std ratio);
    # its std is sqrt(var / (var + eps)) <= 1, off from 1 by eps/(2 var) < 1e-5.
    atol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=atol)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), rtol=1e-4 if dtype == np.float32 else 1e-5)


def test_running_stats_follow_the_assignment_convention():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 4)) * 3 + 1
    param = {"mode": "train", "momentum": 0.8}
    nc.batchnorm_forward(x, np.ones(4), np.zeros(4), param)
    # Created as zeros, then one update: (1 - momentum) * batch statistic, with the
    # biased variance (ddof=0) and no eps added (the source student's bug).
    np.testing.assert_allclose(param["running_mean"], 0.2 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(param["running_var"], 0.2 * x.var(axis=0), rtol=1e-12)
    assert param["running_mean"].dtype == x.dtype
    x32 = x.astype(np.float32)
    p32 = {"mode": "train"}
    nc.batchnorm_forward(x32, np.ones(4, np.float32), np.zeros(4, np.float32), p32)
    assert p32["running_mean"].dtype == np.float32 and p32["running_var"].dtype == np.float32


@pytest.mark.parametrize("forward, x_shape", [
    (nc.batchnorm_forward, (10, 4)), (nc.spatial_batchnorm_forward, (5, 4, 2, 3))])
def test_default_momentum_is_the_assignments_0_9(forward, x_shape):
    rng = np.random.default_rng(12)
    axes = (0,) if len(x_shape) == 2 else (0, 2, 3)
    x1 = rng.standard_normal(x_shape) * 3 + 1
    x2 = rng.standard_normal(x_shape) * 2 - 4
    param = {"mode": "train"}
    gamma, beta = np.ones(4), np.zeros(4)
    forward(x1, gamma, beta, param)
    forward(x2, gamma, beta, param)
    # Two updates from zeros with momentum 0.9: 0.9 * (0.1 * first) + 0.1 * second.
    # (0.99, Keras' default, would give 0.0099 and 0.01.) 1e-12: float64 round-off.
    for key, stat in (("running_mean", np.mean), ("running_var", np.var)):
        expected = 0.9 * 0.1 * stat(x1, axis=axes) + 0.1 * stat(x2, axis=axes)
        np.testing.assert_allclose(param[key], expected, rtol=1e-12)


def test_first_call_in_test_mode_stores_zero_running_statistics():
    # Test mode before any training step: the running statistics are created as
    # zeros (mean 0, variance 0, as on the first train step), used, and stored
    # in bn_param as in train mode, so a later step finds them there.
    rng = np.random.default_rng(13)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    gamma, beta = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    param = {"mode": "test"}
    out, _ = nc.batchnorm_forward(x, gamma, beta, param)
    for key in ("running_mean", "running_var"):
        assert param[key].dtype == np.float32
        np.testing.assert_array_equal(param[key], np.zeros(3))
    # x normalized by mean 0 and variance 0: gamma * x / sqrt(eps) + beta. float32
    # round-off on values up to ~1e3: rtol 1e-6.
    np.testing.assert_allclose(out, gamma * x / np.sqrt(np.float32(1e-5)) + beta, rtol=1e-6, atol=1e-4)


def test_test_mode_uses_running_stats():
    rng = np.random.default_rng(3)
    D = 3
    true_mean = np.array([-2.0, 0.5, 10.0])
    true_std = np.array([0.5, 2.0, 4.0])
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    param = {"mode": "train"}
    for _ in range(300):
        x = rng.standard_normal((100, D)) * true_std + true_mean
        nc.batchnorm_forward(x, gamma, beta, param)
    # With momentum 0.9 the running mean is an exponential average of batch means of
    # 100 draws: its variance is (0.1 / 1.9) * true_std**2 / 100, a standard error of
    # 0.023 * true_std, so 0.15 * true_std (each feature its own) is over six of those.
    # The variance's relative standard error is sqrt(0.1 / 1.9 * 2 / 99) = 0.033;
    # 0.25 is over seven.
    assert np.all(np.abs(param["running_mean"] - true_mean) < 0.15 * true_std)
    np.testing.assert_allclose(param["running_var"], true_std ** 2, rtol=0.25)

    param["mode"] = "test"
    before = (param["running_mean"].copy(), param["running_var"].copy())
    x = rng.standard_normal((7, D)) * true_std + true_mean
    out, _ = nc.batchnorm_forward(x, gamma, beta, param)
    rm, rv = param["running_mean"], param["running_var"]
    expected = gamma * (x - rm) / np.sqrt(rv + 1e-5) + beta
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # Test mode reads the running statistics and never updates them.
    np.testing.assert_array_equal(param["running_mean"], before[0])
    np.testing.assert_array_equal(param["running_var"], before[1])
    # One example at a time gives the same answer: no batch statistics involved.
    one, _ = nc.batchnorm_forward(x[:1], gamma, beta, param)
    np.testing.assert_allclose(one, out[:1], rtol=1e-12, atol=1e-12)


def test_layernorm_uses_per_sample_statistics():
    rng = np.random.default_rng(4)
    N, D = 6, 40
    x = rng.standard_normal((N, D)) * rng.uniform(0.5, 20, (N, 1)) + rng.uniform(-50, 50, (N, 1))
    out, cache = nc.layernorm_forward(x, np.ones(D), np.zeros(D), {"mode": "train"})
    # Each row is standardized: mean 0, std sqrt(var / (var + eps)), within 1e-5 of 1.
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(cache.mu[:, 0], x.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(cache.var[:, 0], x.var(axis=1), rtol=1e-12)
    # A row does not depend on the others, and mode does not matter.
    alone, _ = nc.layernorm_forward(x[2:3], np.ones(D), np.zeros(D), {"mode": "test"})
    np.testing.assert_allclose(alone, out[2:3], rtol=1e-12, atol=1e-12)


def test_spatial_batchnorm_equals_batchnorm_on_the_channel_view():
    rng = np.random.default_rng(5)
    N, C, H, W = 3, 4, 5, 6
    x = rng.standard_normal((N, C, H, W)) * 4 + 7
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    dout = rng.standard_normal(x.shape)

    def to_rows(a):  # (N, C, H, W) -> (N*H*W, C)
        return a.transpose(0, 2, 3, 1).reshape(-1, C)

    sp, bn = {"mode": "train"}, {"mode": "train"}
    out, cache = nc.spatial_batchnorm_forward(x, gamma, beta, sp)
    ref_out, ref_cache = nc.batchnorm_forward(to_rows(x), gamma, beta, bn)
    # Same arithmetic, different summation order: 1e-12 relative covers round-off.
    np.testing.assert_allclose(to_rows(out), ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sp["running_mean"], bn["running_mean"], rtol=1e-12)
    np.testing.assert_allclose(sp["running_var"], bn["running_var"], rtol=1e-12)
    dx, dgamma, dbeta = nc.spatial_batchnorm_backward(dout, cache)
    ref_dx, ref_dgamma, ref_dbeta = nc.batchnorm_backward_alt(to_rows(dout), ref_cache)
    assert dgamma.shape == dbeta.shape == (C,)
    assert nc.rel_error(to_rows(dx), ref_dx) < 1e-10
    assert nc.rel_error(dgamma, ref_dgamma) < 1e-12
    assert nc.rel_error(dbeta, ref_dbeta) < 1e-12

    sp["mode"] = bn["mode"] = "test"
    out, _ = nc.spatial_batchnorm_forward(x, gamma, beta, sp)
    ref_out, _ = nc.batchnorm_forward(to_rows(x), gamma, beta, bn)
    np.testing.assert_allclose(to_rows(out), ref_out, rtol=1e-12, atol=1e-12)


def test_groupnorm_with_one_group_is_layernorm_over_chw():
    rng = np.random.default_rng(6)
    N, C, H, W = 3, 4, 2, 3
    x = rng.standard_normal((N, C, H, W)) * 3 - 5
    dout = rng.standard_normal(x.shape)
    ones, zeros = np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1))
    out, cache = nc.spatial_groupnorm_forward(x, ones, zeros, 1, {})
    D = C * H * W
    ref, ref_cache = nc.layernorm_forward(x.reshape(N, D), np.ones(D), np.zeros(D), {})
    np.testing.assert_allclose(out.reshape(N, D), ref, rtol=1e-12, atol=1e-12)
    dx, _, _ = nc.spatial_groupnorm_backward(dout, cache)
    ref_dx, _, _ = nc.layernorm_backward(dout.reshape(N, D), ref_cache)
    assert nc.rel_error(dx.reshape(N, D), ref_dx) < 1e-10


def test_groupnorm_with_one_channel_per_group_is_instance_norm():
    rng = np.random.default_rng(7)
    N, C, H, W = 2, 6, 4, 5
    x = rng.standard_normal((N, C, H, W)) * rng.uniform(1, 9, (N, C, 1, 1)) + rng.uniform(-9, 9, (N, C, 1, 1))
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    out, _ = nc.spatial_groupnorm_forward(x, gamma, beta, C, {"eps": 1e-5})
    # Instance norm written out directly: statistics per example and channel over (H, W).
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    expected = gamma * (x - mean) / np.sqrt(var + 1e-5) + beta
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_normalization_keeps_float32():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    g, b = np.ones(6, np.float32), np.zeros(6, np.float32)
    for fwd, bwd, param in ((nc.batchnorm_forward, nc.batchnorm_backward_alt, {"mode": "train"}),
                            (nc.batchnorm_forward, nc.batchnorm_backward, {"mode": "train"}),
                            (nc.layernorm_forward, nc.layernorm_backward, {})):
        out, cache = fwd(x, g, b, param)
        assert out.dtype == np.float32
        assert all(grad.dtype == np.float32 for grad in bwd(np.ones_like(x), cache))


# --------------------------------------------------------------------------- #
# Integer input: promoted as NumPy promotes it in the assignment's code
# --------------------------------------------------------------------------- #

def test_the_convolutional_networks_notebooks_spatial_batchnorm_cells_run():
    # The assignment's cells verbatim (ConvolutionalNetworks.ipynb, spatial batch
    # norm forward), with their np.random draws; the second call passes integer
    # gamma and beta.
    np.random.seed(231)
    N, C, H, W = 2, 3, 4, 5
    x = 4 * np.random.randn(N, C, H, W) + 10
    gamma, beta = np.ones(C), np.zeros(C)
    bn_param = {'mode': 'train'}
    out, _ = nc.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    gamma, beta = np.asarray([3, 4, 5]), np.asarray([6, 7, 8])
    out, _ = nc.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    # "Means should be close to beta and stds close to gamma": the mean is beta up
    # to round-off and the std is gamma * sqrt(var / (var + eps)). x = 4 * randn + 10
    # has channel variances near 16, so eps shrinks the std by ~eps / 32 = 3e-7
    # relative; 1e-5 leaves room for a channel whose 40 draws vary far less.
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-5)
    # And exactly what float gamma and beta give.
    ref, _ = nc.spatial_batchnorm_forward(x, gamma.astype(float), beta.astype(float), {'mode': 'train'})
    np.testing.assert_array_equal(out, ref)

    # The test-time cell that follows.
    N, C, H, W = 10, 4, 11, 12
    bn_param = {'mode': 'train'}
    gamma = np.ones(C)
    beta = np.zeros(C)
    for t in range(50):
        x = 2.3 * np.random.randn(N, C, H, W) + 13
        nc.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    bn_param['mode'] = 'test'
    x = 2.3 * np.random.randn(N, C, H, W) + 13
    a_norm, _ = nc.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    # "close to zero and one, but noisier": the running statistics keep 0.9**50
    # = 0.5 % of their zero start, which moves the mean by 0.005 * 13 / 2.3 = 0.03
    # and the std by 0.3 %; their sampling error is ~0.01. 0.1 covers both.
    np.testing.assert_allclose(a_norm.mean(axis=(0, 2, 3)), 0, atol=0.1)
    np.testing.assert_allclose(a_norm.std(axis=(0, 2, 3)), 1, atol=0.1)


@pytest.mark.parametrize("forward, x_shape, p_shape, param", [
    (nc.batchnorm_forward, (6, 4), (4,), {"mode": "train"}),
    (nc.layernorm_forward, (6, 4), (4,), {}),
    (nc.spatial_batchnorm_forward, (3, 4, 2, 2), (4,), {"mode": "train"}),
    (lambda x, g, b, p: nc.spatial_groupnorm_forward(x, g, b, 2, p), (3, 4, 2, 2), (1, 4, 1, 1), {}),
], ids=["bn", "ln", "spatial-bn", "gn"])
def test_integer_and_boolean_arrays_are_promoted_to_the_inputs_float_dtype(forward, x_shape, p_shape, param):
    rng = np.random.default_rng(14)
    xi = rng.integers(-9, 10, x_shape)
    gi, bi = rng.integers(1, 5, p_shape), rng.integers(-3, 4, p_shape)
    douti = rng.integers(-3, 4, x_shape)
    backward = {nc.batchnorm_forward: nc.batchnorm_backward_alt, nc.layernorm_forward: nc.layernorm_backward,
                nc.spatial_batchnorm_forward: nc.spatial_batchnorm_backward}.get(forward, nc.spatial_groupnorm_backward)
    for x in (xi.astype(np.float64), xi.astype(np.float32)):
        # Integer gamma, beta and dout take x's dtype and give the float call's
        # result bit for bit (small integers convert exactly).
        out, cache = forward(x, gi, bi, dict(param))
        ref_out, ref_cache = forward(x, gi.astype(x.dtype), bi.astype(x.dtype), dict(param))
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(out, ref_out)
        for got, want in zip(backward(douti, cache), backward(douti.astype(x.dtype), ref_cache)):
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, want)
    # An integer x becomes float64; boolean gamma is 0 or 1.
    out, _ = forward(xi, gi.astype(bool), bi, dict(param))
    ref, _ = forward(xi.astype(np.float64), gi.astype(bool).astype(np.float64), bi.astype(np.float64), dict(param))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ref)


def test_integer_running_statistics_are_promoted():
    x = np.random.default_rng(15).standard_normal((4, 3)).astype(np.float32)
    param = {"mode": "test", "running_mean": np.array([1, 0, -1]), "running_var": np.array([4, 1, 9])}
    out, _ = nc.batchnorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), param)
    assert out.dtype == param["running_mean"].dtype == param["running_var"].dtype == np.float32
    # float32 round-off on standardized values of order 1.
    np.testing.assert_allclose(out, (x - [1, 0, -1]) / np.sqrt(np.array([4, 1, 9]) + 1e-5), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- #
# Bad input: the error names the argument
# --------------------------------------------------------------------------- #

X2 = np.zeros((4, 3))
G3, B3 = np.ones(3), np.zeros(3)
X4 = np.zeros((2, 6, 2, 2))
G6, B6 = np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1))
TRAIN = {"mode": "train"}


@pytest.mark.parametrize("call, exc, name", [
    (lambda: nc.batchnorm_forward(X2, np.ones(4), B3, dict(TRAIN)), ValueError, "gamma"),
    (lambda: nc.batchnorm_forward(X2, np.ones((1, 3)), B3, dict(TRAIN)), ValueError, "gamma"),
    (lambda: nc.batchnorm_forward(X2, G3, np.zeros(2), dict(TRAIN)), ValueError, "beta"),
    (lambda: nc.batchnorm_forward(X2, [1.0, 1, 1], B3, dict(TRAIN)), TypeError, "gamma"),
    (lambda: nc.batchnorm_forward(np.zeros(3), G3, B3, dict(TRAIN)), ValueError, "x"),
    # Integer arrays are promoted (see above), so the dtypes refused are those with
    # no meaning as real numbers: complex, strings, objects.
    (lambda: nc.batchnorm_forward(X2.astype(complex), G3, B3, dict(TRAIN)), TypeError, "x"),
    (lambda: nc.batchnorm_forward(X2, G3.astype(str), B3, dict(TRAIN)), TypeError, "gamma"),
    (lambda: nc.batchnorm_forward(X2, G3, B3.astype(object), dict(TRAIN)), TypeError, "beta"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "test", "running_var": G3.astype(complex)}),
     TypeError, "running_var"),
    (lambda: nc.batchnorm_backward(X2.astype(complex), bn_train(X2, G3, B3)[1]), TypeError, "dout"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "eps": float("nan")}), ValueError,
     r"bn_param\['eps'\]"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "eps": float("inf")}), ValueError,
     r"bn_param\['eps'\]"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "momentum": float("nan")}), ValueError,
     "momentum"),
    (lambda: nc.layernorm_forward(X2, G3, B3, {"eps": float("nan")}), ValueError, r"ln_param\['eps'\]"),
    (lambda: nc.spatial_groupnorm_forward(X4.astype(complex), G6, B6, 2, {}), TypeError, "x"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {}), ValueError, r"bn_param\['mode'\]"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "eval"}), ValueError, r"bn_param\['mode'\]"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "eps": 0}), ValueError, r"bn_param\['eps'\]"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "momentum": 1.5}), ValueError, "momentum"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, {"mode": "train", "running_mean": np.zeros(4)}),
     ValueError, "running_mean"),
    (lambda: nc.batchnorm_forward(X2, G3, B3, "train"), TypeError, "bn_param"),
    (lambda: nc.batchnorm_backward(np.zeros((4, 2)), bn_train(X2, G3, B3)[1]), ValueError, "dout"),
    (lambda: nc.batchnorm_backward_alt(np.zeros((4, 2)), bn_train(X2, G3, B3)[1]), ValueError, "dout"),
    (lambda: nc.layernorm_forward(X2, np.ones(4), B3, {}), ValueError, "gamma"),
    (lambda: nc.layernorm_forward(np.zeros((2, 3, 1)), G3, B3, {}), ValueError, "x"),
    (lambda: nc.layernorm_forward(X2, G3, B3, None), TypeError, "ln_param"),
    (lambda: nc.layernorm_forward(X2, G3, B3, {"eps": -1.0}), ValueError, r"ln_param\['eps'\]"),
    (lambda: nc.layernorm_backward(np.zeros((3, 3)), nc.layernorm_forward(X2, G3, B3, {})[1]),
     ValueError, "dout"),
    (lambda: nc.spatial_batchnorm_forward(X2, G3, B3, dict(TRAIN)), ValueError, "x"),
    (lambda: nc.spatial_batchnorm_forward(X4, G3, B3, dict(TRAIN)), ValueError, "gamma"),
    (lambda: nc.spatial_batchnorm_forward(X4, np.ones(6), np.zeros(5), dict(TRAIN)), ValueError, "beta"),
    (lambda: nc.spatial_batchnorm_forward(X4, np.ones(6), np.zeros(6), {}), ValueError, "mode"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, B6, 4, {}), ValueError, "G"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, B6, 0, {}), ValueError, "G"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, B6, 2.0, {}), TypeError, "G"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, B6, True, {}), TypeError, "G"),
    (lambda: nc.spatial_groupnorm_forward(X4, np.ones(6), B6, 2, {}), ValueError, "gamma"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, np.zeros(6), 2, {}), ValueError, "beta"),
    (lambda: nc.spatial_groupnorm_forward(X2, G6, B6, 2, {}), ValueError, "x"),
    (lambda: nc.spatial_groupnorm_forward(X4, G6, B6, 2, []), TypeError, "gn_param"),
    (lambda: nc.spatial_groupnorm_backward(np.zeros((2, 6, 2, 1)),
                                           nc.spatial_groupnorm_forward(X4, G6, B6, 2, {})[1]),
     ValueError, "dout"),
])
def test_bad_input_names_the_argument(call, exc, name):
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(exc, match=rf"(?<!\w){name}(?!\w)"):
        call()
