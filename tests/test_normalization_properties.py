"""Property-based tests of the normalization layers over random shapes and scales.

Hypothesis draws shapes, seeds and scales; NumPy draws the arrays from the seed
(so a failing example is reported as a few numbers, not a large array).
"""

import numpy as np
from hypothesis import given, settings, strategies as st

import normcore as nc

# Deterministic example generation (the same examples in every run and on CI)
# and no example database written into the working tree. Few examples: each
# runs in milliseconds, so the file takes a few seconds.
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)

seeds = st.integers(0, 2**32 - 1)
batch = st.integers(2, 16)
features = st.integers(1, 8)
# Scales and shifts over several orders of magnitude.
log_scale = st.floats(-3, 3)
shift = st.floats(-1e3, 1e3)


def standardized(z, axis):
    """z shifted and scaled to mean 0 and (biased) variance exactly 1 along ``axis``."""
    z = z - z.mean(axis=axis, keepdims=True)
    return z / z.std(axis=axis, keepdims=True)


@PROPERTY_SETTINGS
@given(seed=seeds, N=batch, D=features)
def test_bn_output_is_invariant_to_per_feature_affine_input_changes(seed, N, D):
    rng = np.random.default_rng(seed)
    z = standardized(rng.standard_normal((N, D)), axis=0)
    a = 10 ** rng.uniform(-1, 2, D)  # positive scales: a negative one flips xhat's sign
    b = rng.uniform(-100, 100, D)
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    param = {"mode": "train", "eps": 1e-10}
    out1, _ = nc.batchnorm_forward(z, gamma, beta, dict(param))
    out2, _ = nc.batchnorm_forward(a * z + b, gamma, beta, dict(param))
    # Only eps breaks the invariance: xhat changes by ~eps / (2 a**2) <= 5e-9 relative.
    # Round-off from the shift is ~1e-16 * |b| / a <= 1e-13. |xhat| <= sqrt(N) = 4.
    np.testing.assert_allclose(out2, out1, rtol=0, atol=1e-7 * (1 + np.abs(gamma).max()))


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 8), D=st.integers(2, 16))
def test_ln_output_is_invariant_to_per_sample_affine_input_changes(seed, N, D):
    rng = np.random.default_rng(seed)
    z = standardized(rng.standard_normal((N, D)), axis=1)
    a = 10 ** rng.uniform(-1, 2, (N, 1))
    b = rng.uniform(-100, 100, (N, 1))
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    out1, _ = nc.layernorm_forward(z, gamma, beta, {"eps": 1e-10})
    out2, _ = nc.layernorm_forward(a * z + b, gamma, beta, {"eps": 1e-10})
    # As for batch norm, per row instead of per column.
    np.testing.assert_allclose(out2, out1, rtol=0, atol=1e-7 * (1 + np.abs(gamma).max()))


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       H=st.integers(1, 3), W=st.integers(2, 3))
def test_gn_output_is_invariant_to_per_group_affine_input_changes(seed, N, groups, per_group, H, W):
    rng = np.random.default_rng(seed)
    C = groups * per_group
    z = standardized(rng.standard_normal((N, groups, per_group * H * W)), axis=2)
    a = 10 ** rng.uniform(-1, 2, (N, groups, 1))
    b = rng.uniform(-100, 100, (N, groups, 1))
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    out1, _ = nc.spatial_groupnorm_forward(z.reshape(N, C, H, W), gamma, beta, groups, {"eps": 1e-10})
    out2, _ = nc.spatial_groupnorm_forward((a * z + b).reshape(N, C, H, W), gamma, beta, groups, {"eps": 1e-10})
    # As for batch norm, per example and group.
    np.testing.assert_allclose(out2, out1, rtol=0, atol=1e-7 * (1 + np.abs(gamma).max()))


@PROPERTY_SETTINGS
@given(seed=seeds, N=batch, D=features, log_s=log_scale, b=shift)
def test_bn_output_statistics(seed, N, D, log_s, b):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D)) * 10 ** log_s + b
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    out, cache = nc.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    var = x.var(axis=0)
    # Per feature: mean beta, std |gamma| * sqrt(var / (var + eps)) exactly (eps shrinks
    # small-variance features). Round-off: x - mu loses ~1e-16 * |b| / std relative,
    # at most 1e-16 * 1e3 / 1e-3 = 1e-10 of xhat, whose entries are <= sqrt(N) = 4.
    np.testing.assert_allclose(out.mean(axis=0), beta, rtol=0, atol=1e-9 * (1 + np.abs(gamma).max()))
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma) * np.sqrt(var / (var + 1e-5)),
                               rtol=1e-6, atol=1e-9 * np.abs(gamma).max())


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 8), D=st.integers(2, 16), log_s=log_scale, b=shift)
def test_ln_output_statistics(seed, N, D, log_s, b):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D)) * 10 ** log_s + b
    out, _ = nc.layernorm_forward(x, np.ones(D), np.zeros(D), {})
    var = x.var(axis=1)
    # Per example: mean 0 and std sqrt(var / (var + eps)); bounds as for batch norm.
    np.testing.assert_allclose(out.mean(axis=1), 0.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=1), np.sqrt(var / (var + 1e-5)), rtol=1e-6, atol=1e-9)


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 32), D=features, log_s=log_scale, b=shift)
def test_bn_closed_form_backward_equals_graph_backward(seed, N, D, log_s, b):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D)) * 10 ** log_s + b
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    _, cache = nc.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    graph = nc.batchnorm_backward(dout, cache)
    closed = nc.batchnorm_backward_alt(dout, cache)
    # Round-off bounds, not relative errors: dx is a difference of terms of size
    # ~|gamma| * ivar * |dout| * sqrt(N) that can cancel to ~0 (N = 1 or 2 always
    # does), so it is compared with the size of those terms. 1e-12 of it is
    # ~1e4 ulps, far below any formula error (which is of the order of the terms).
    k = np.abs(cache.gamma * cache.ivar).max() * np.abs(dout).max() * np.sqrt(N)
    np.testing.assert_allclose(graph[0], closed[0], rtol=1e-12, atol=1e-12 * k)
    # dgamma and dbeta are sums of N terms, so their round-off scales with
    # N * |dout|. The closed form sums dbeta through BLAS and the graph with
    # dout.sum: the same additions in another order.
    np.testing.assert_allclose(graph[1], closed[1], rtol=1e-12, atol=1e-12 * N * np.abs(dout).max())
    np.testing.assert_allclose(graph[2], closed[2], rtol=1e-12, atol=1e-12 * N * np.abs(dout).max())


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 4), D=st.integers(2, 5), log_s=st.floats(-0.3, 1.7), b=st.floats(-20, 20))
def test_ln_backward_matches_numerical_gradient(seed, N, D, log_s, b):
    rng = np.random.default_rng(seed)
    # Each row gets std exactly 10**log_s (a random row of 2 could be nearly constant).
    x = standardized(rng.standard_normal((N, D)), axis=1) * 10 ** log_s + b
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    _, cache = nc.layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = nc.layernorm_backward(dout, cache)

    def f(v):
        return nc.layernorm_forward(v, gamma, beta, {})[0]

    dx_num = nc.eval_numerical_gradient_array(f, x, dout)
    # Row stds stay >= 0.5 so that h = 1e-5 is small next to them and the h**2
    # truncation term (~h**2 * ivar**3 * |gamma| |dout|) stays below 1e-9; finite-
    # difference round-off is ~1e-16 * |out| * N * D / h < 1e-9. Both are far below
    # any real error, which is of the order of the gradient itself.
    scale = np.abs(gamma).max() * np.abs(dout).max() * cache.ivar.max()
    np.testing.assert_allclose(dx, dx_num, rtol=1e-5, atol=1e-7 * (1 + scale))
    dgamma_num = nc.eval_numerical_gradient_array(lambda v: nc.layernorm_forward(x, v, beta, {})[0], gamma, dout)
    np.testing.assert_allclose(dgamma, dgamma_num, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dbeta, dout.sum(axis=0), rtol=1e-12)


@PROPERTY_SETTINGS
@given(seed=seeds, N=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 2),
       H=st.integers(1, 3), W=st.integers(2, 3), b=st.floats(-20, 20))
def test_gn_backward_matches_numerical_gradient(seed, N, groups, per_group, H, W, b):
    rng = np.random.default_rng(seed)
    C = groups * per_group
    # Each group gets std exactly 3, for the reason given in the layer-norm property.
    z = standardized(rng.standard_normal((N, groups, per_group * H * W)), axis=2)
    x = (z * 3 + b).reshape(N, C, H, W)
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    dout = rng.standard_normal(x.shape)
    _, cache = nc.spatial_groupnorm_forward(x, gamma, beta, groups, {})
    dx, dgamma, dbeta = nc.spatial_groupnorm_backward(dout, cache)
    dx_num = nc.eval_numerical_gradient_array(
        lambda v: nc.spatial_groupnorm_forward(v, gamma, beta, groups, {})[0], x, dout)
    # Bounds as in the layer-norm property.
    scale = np.abs(gamma).max() * np.abs(dout).max() * cache.ivar.max()
    np.testing.assert_allclose(dx, dx_num, rtol=1e-5, atol=1e-7 * (1 + scale))
    assert dgamma.shape == dbeta.shape == (1, C, 1, 1)
    np.testing.assert_allclose(dbeta, dout.sum(axis=(0, 2, 3), keepdims=True), rtol=1e-12)
