"""Batch norm as students write it: two correct forms and one mistake per mutant.

:func:`forward` is a student's ``batchnorm_forward``; ``bug`` switches exactly
one line to the wrong version found in students' files. The cache is the
student's own tuple ``(x, xhat, gamma, mu, var, eps)``, not normcore's, so the
backward passes below are checked on the cache their own forward makes.
"""

from __future__ import annotations

import numpy as np

from mutants import Case

FORWARD_BUGS = ("stats_over_all", "eps_outside_sqrt", "eps_outside_sqrt_test", "unbiased_variance",
                "unbiased_running_var", "eps_in_running_var", "momentum_reversed",
                "running_not_stored", "running_restarts", "test_uses_batch_stats",
                "test_drops_affine", "test_updates_running", "input_mutated", "dtype",
                "running_keepdims")


def forward(*bugs):
    """A student's ``batchnorm_forward`` with the named mistakes in it (usually one)."""
    assert set(bugs) <= set(FORWARD_BUGS), bugs

    def batchnorm_forward(x, gamma, beta, bn_param):
        mode = bn_param["mode"]
        eps = bn_param.get("eps", 1e-5)
        momentum = bn_param.get("momentum", 0.9)
        N, D = x.shape
        running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
        running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
        if "running_restarts" in bugs:  # re-initialised on every call
            running_mean, running_var = np.zeros(D), np.zeros(D)
        cache = None
        if mode == "train":
            mu = x.mean() if "stats_over_all" in bugs else x.mean(axis=0)
            if "input_mutated" in bugs:
                x -= mu  # in place: the caller's x changes
                xmu = x
            else:
                xmu = x - mu
            if "stats_over_all" in bugs:  # np.mean(x), np.var(x): no axis
                var = (xmu ** 2).mean()
            else:
                var = (xmu ** 2).sum(axis=0) / (N - 1 if "unbiased_variance" in bugs else N)
            if "eps_outside_sqrt" in bugs:
                xhat = xmu / (np.sqrt(var) + eps)
            else:
                xhat = xmu / np.sqrt(var + eps)
            out = gamma * xhat + beta
            batch_var = var
            if "unbiased_running_var" in bugs:  # as PyTorch does: not the assignment
                batch_var = var * N / (N - 1)
            if "eps_in_running_var" in bugs:
                batch_var = var + eps
            if "momentum_reversed" in bugs:
                running_mean = (1 - momentum) * running_mean + momentum * mu
                running_var = (1 - momentum) * running_var + momentum * batch_var
            else:
                running_mean = momentum * running_mean + (1 - momentum) * mu
                running_var = momentum * running_var + (1 - momentum) * batch_var
            if "running_keepdims" in bugs:
                running_mean, running_var = running_mean[None], running_var[None]
            cache = (x, xhat, gamma, mu, var, eps)
        elif mode == "test":
            if "test_updates_running" in bugs:  # the train-mode update, run in test mode too
                running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
                running_var = momentum * running_var + (1 - momentum) * x.var(axis=0)
            if "test_uses_batch_stats" in bugs:
                xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
            elif "eps_outside_sqrt_test" in bugs:
                xhat = (x - running_mean) / (np.sqrt(running_var) + eps)
            else:
                xhat = (x - running_mean) / np.sqrt(running_var + eps)
            out = xhat if "test_drops_affine" in bugs else gamma * xhat + beta
        else:
            raise ValueError(f'Invalid forward batchnorm mode "{mode}"')
        if "running_not_stored" not in bugs:
            bn_param["running_mean"] = running_mean
            bn_param["running_var"] = running_var
        if "dtype" in bugs:
            out = out.astype(np.float32)
        return out, cache

    return batchnorm_forward


def forward_np_var(x, gamma, beta, bn_param):
    """Correct, written with np.var and keepdims, eps and momentum read with []."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    rm = bn_param.setdefault("running_mean", np.zeros(D, dtype=x.dtype))
    rv = bn_param.setdefault("running_var", np.zeros(D, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu, var = np.mean(x, axis=0, keepdims=True), np.var(x, axis=0, keepdims=True)
        bn_param["running_mean"] = momentum * rm + (1 - momentum) * mu.ravel()
        bn_param["running_var"] = momentum * rv + (1 - momentum) * var.ravel()
    else:
        mu, var = rm, rv
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (x, xhat, gamma, mu, var, eps)


def forward_mean_of_squares(x, gamma, beta, bn_param):
    """Correct, with var the explicit mean of squared deviations, updated in place."""
    eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    if bn_param["mode"] == "train":
        mu = x.sum(axis=0) / x.shape[0]
        var = ((x - mu) * (x - mu)).mean(axis=0)
        if "running_mean" not in bn_param:
            bn_param["running_mean"], bn_param["running_var"] = np.zeros(D), np.zeros(D)
        bn_param["running_mean"] = bn_param["running_mean"] * m + mu * (1 - m)
        bn_param["running_var"] = bn_param["running_var"] * m + var * (1 - m)
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    return xhat * gamma + beta, (x, xhat, gamma, mu, var, eps)


def forward_cancelling(x, gamma, beta, bn_param):
    """Right in float64, but var = E[x^2] - E[x]^2 cancels in float32 (a note)."""
    eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    rm = bn_param.get("running_mean", np.zeros(x.shape[1], dtype=x.dtype))
    rv = bn_param.get("running_var", np.zeros(x.shape[1], dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        var = (x ** 2).mean(axis=0) - mu ** 2
        bn_param["running_mean"] = m * rm + (1 - m) * mu
        bn_param["running_var"] = m * rv + (1 - m) * var
    else:
        mu, var = rm, rv
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (x, xhat, gamma, mu, var, eps)


def backward_graph(bug=None):
    """The staged computation-graph backward pass, with at most one mistake."""

    def batchnorm_backward(dout, cache):
        x, xhat, gamma, mu, var, eps = cache
        N, D = dout.shape
        dbeta = dout.sum(axis=0)
        if bug == "dgamma_from_x":
            dgamma = (dout * x).sum(axis=0)
        elif bug == "dgamma_drops_eps":
            dgamma = (dout * (x - mu) / np.sqrt(var)).sum(axis=0)
        else:
            dgamma = (dout * xhat).sum(axis=0)
        if bug == "shape":
            dgamma = dgamma[None, :]  # (1, D): summed with keepdims
        dxhat = dout * gamma
        xmu, std = x - mu, np.sqrt(var + eps)
        divar = (dxhat * xmu).sum(axis=0)
        dxmu1 = dxhat / std
        dstd = -divar / std ** 2
        half = 1.0 if bug == "variance_path" else 0.5  # d sqrt(v) = dv / (2 sqrt(v))
        dvar = half * dstd / std
        dsq = (1.0 if bug == "lost_1_over_n" else 1.0 / N) * np.ones((N, D)) * dvar
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -dx1.sum(axis=0)
        dx2 = np.ones((N, D)) * dmu / N
        dx = dx1 if bug == "mu_path_forgotten" else dx1 + dx2
        if bug == "unfinished_none":
            dx = None
        if bug == "unfinished_zero":
            dx = np.zeros_like(x)
        if bug == "unfinished_scalar":  # the skeleton's dgamma = 0 left in place
            dgamma = 0
        if bug == "dtype":
            dx = dx.astype(np.float32)
        return dx, dgamma, dbeta

    return batchnorm_backward


def backward_closed(dout, cache):
    """Correct closed form: dx in one line from xhat."""
    x, xhat, gamma, mu, var, eps = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def backward_needs_seven(dout, cache):
    """A closed form written against a 7-entry cache its forward never made."""
    x, xhat, gamma, mu, var, eps, ivar = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = ivar / N * (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def forward_caches_out(x, gamma, beta, bn_param):
    """Correct values, but the cache holds ``out`` itself (to save memory)."""
    out, (x, xhat, gamma, mu, var, eps) = forward()(x, gamma, beta, bn_param)
    return out, (x, out, gamma, beta, var, eps)


def backward_from_out(dout, cache):
    """Recomputes xhat from the cached out: right until a next layer changes out."""
    x, out, gamma, beta, var, eps = cache
    xhat = (out - beta) / gamma
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def backward_of_eps_outside(dout, cache):
    """The exact gradient of the eps-outside-sqrt forward: right for the wrong forward."""
    x, xhat, gamma, mu, var, eps = cache
    N = dout.shape[0]
    s = np.sqrt(var)
    d = s + eps
    dxhat = dout * gamma
    xmu = x - mu
    ds = -(dxhat * xmu).sum(0) / d ** 2
    dx = (dxhat - dxhat.mean(0)) / d + ds * xmu / (N * s)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def _stub_forward(x, gamma, beta, bn_param):
    raise NotImplementedError("TODO: implement the forward pass")


def _pass_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    return dx, dgamma, dbeta


F, BW, ALT = "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt"
_OK = forward()
_EXPECT = {"eps_outside_sqrt_test": "eps_outside_sqrt", "unbiased_running_var":
           "unbiased_variance", "running_restarts": "running_not_read",
           "running_keepdims": "shape"}
# Test mode reads the zeros too, and writes them back into bn_param.
_ALSO = {"running_restarts": frozenset({"running_not_read", "test_updates_running"})}

CASES = [
    Case("bn_fwd_plain", F, _OK),
    Case("bn_fwd_np_var", F, forward_np_var),
    Case("bn_fwd_mean_of_squares", F, forward_mean_of_squares),
    *[Case(f"bn_fwd_{b}", F, forward(b), expect=_EXPECT.get(b, b),
           also=_ALSO.get(b, frozenset())) for b in FORWARD_BUGS],
    Case("bn_fwd_var_cancellation", F, forward_cancelling, expect="var_cancellation"),
    # Two mistakes at once, as a real student's file holds them: both are named.
    Case("bn_fwd_over_all_and_eps_outside", F, forward("stats_over_all", "eps_outside_sqrt"),
         expect="stats_over_all", also=frozenset({"eps_outside_sqrt"})),
    Case("bn_fwd_unbiased_and_eps_in_running", F,
         forward("unbiased_variance", "eps_in_running_var"), expect="unbiased_variance",
         also=frozenset({"eps_in_running_var"})),
    Case("bn_fwd_stub", F, _stub_forward, expect="not_attempted"),
    Case("bn_bwd_graph", BW, backward_graph(), _OK),
    Case("bn_bwd_closed_as_graph", BW, backward_closed, _OK),
    Case("bn_bwd_graph_np_var_cache", BW, backward_graph(), forward_np_var),
    Case("bn_alt_closed", ALT, backward_closed, _OK),
    Case("bn_alt_graph_as_closed", ALT, backward_graph(), forward_mean_of_squares),
    Case("bn_bwd_pass_stub", BW, _pass_backward, _OK, expect="not_attempted"),
    *[Case(f"bn_bwd_{b}", BW, backward_graph(b), _OK, expect=b)
      for b in ("dgamma_from_x", "dgamma_drops_eps", "lost_1_over_n", "mu_path_forgotten",
                "variance_path", "shape", "dtype")],
    Case("bn_bwd_unfinished_none", BW, backward_graph("unfinished_none"), _OK,
         expect="unfinished_backward"),
    Case("bn_bwd_unfinished_zero", BW, backward_graph("unfinished_zero"), _OK,
         expect="unfinished_backward"),
    Case("bn_bwd_unfinished_scalar", BW, backward_graph("unfinished_scalar"), _OK,
         expect="unfinished_backward"),
    Case("bn_alt_needs_own_cache", ALT, backward_needs_seven, _OK, expect="needs_own_cache"),
    Case("bn_alt_result_aliases_cache", ALT, backward_from_out, forward_caches_out,
         expect="result_aliases_cache"),
    Case("bn_bwd_bug_in_forward", BW, backward_of_eps_outside, forward("eps_outside_sqrt"),
         expect="bug_in_forward"),
]
