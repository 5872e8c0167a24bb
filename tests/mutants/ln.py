"""Layer norm as students write it: the transposed batch-norm code, the direct form,
and one mistake per mutant.

The student's cache is ``(x, xhat, gamma, mu, var, eps)`` with statistics of
shape (N, 1).
"""

from __future__ import annotations

import numpy as np

from mutants import Case

FORWARD_BUGS = ("eps_outside_sqrt", "unbiased_variance", "ln_uses_bn_axis",
                "missing_keepdims", "input_mutated")


def forward(bug=None):
    """A student's ``layernorm_forward`` written directly over axis 1."""
    assert bug is None or bug in FORWARD_BUGS, bug

    def layernorm_forward(x, gamma, beta, ln_param):
        eps = ln_param.get("eps", 1e-5)
        axis = 0 if bug == "ln_uses_bn_axis" else 1
        keep = bug != "missing_keepdims"
        mu = np.mean(x, axis=axis, keepdims=keep)
        var = np.var(x, axis=axis, keepdims=keep, ddof=1 if bug == "unbiased_variance" else 0)
        if bug == "input_mutated":
            x -= mu
            xmu = x
        else:
            xmu = x - mu
        std = np.sqrt(var) + eps if bug == "eps_outside_sqrt" else np.sqrt(var + eps)
        xhat = xmu / std
        return gamma * xhat + beta, (x, xhat, gamma, mu, var, eps)

    return layernorm_forward


def forward_transposed(x, gamma, beta, ln_param):
    """Correct: the batch-norm train code run on x.T, as the assignment hints."""
    eps = ln_param.get("eps", 1e-5)
    xt = x.T
    mu = xt.mean(axis=0)
    var = ((xt - mu) ** 2).mean(axis=0)
    xhat = ((xt - mu) / np.sqrt(var + eps)).T
    return xhat * gamma + beta, (x, xhat, gamma, mu[:, None], var[:, None], eps)


def backward(bug=None):
    """A student's ``layernorm_backward`` (closed form over axis 1)."""

    def layernorm_backward(dout, cache):
        x, xhat, gamma, mu, var, eps = cache
        dgamma = (dout * xhat).sum(axis=0)
        dbeta = dout.sum(axis=0)
        dxhat = dout * gamma
        if bug == "ln_backward_bn_axis":  # the batch-norm line, copied unchanged
            N = dout.shape[0]
            dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) \
                / (N * np.sqrt(var + eps))
        else:
            D = dout.shape[0 if bug == "wrong_count" else 1]  # N copied from batch norm
            keep = bug != "missing_keepdims"
            s1 = dxhat.sum(axis=1, keepdims=keep)
            s2 = (dxhat * xhat).sum(axis=1, keepdims=keep)
            dx = (D * dxhat - s1 - xhat * s2) / (D * np.sqrt(var + eps))
        return dx, dgamma, dbeta

    return layernorm_backward


def backward_transposed(dout, cache):
    """Correct: the batch-norm graph code run on the transposes, then transposed back."""
    x, xhat, gamma, mu, var, eps = cache
    dxhat_t = (dout * gamma).T
    xt = x.T
    mu_t, std_t = mu.ravel(), np.sqrt(var.ravel() + eps)
    n = xt.shape[0]
    xmu = xt - mu_t
    dvar = (dxhat_t * xmu).sum(axis=0) * -0.5 * std_t ** -3
    dmu = -(dxhat_t / std_t).sum(axis=0) + dvar * (-2.0 * xmu).mean(axis=0)
    dx_t = dxhat_t / std_t + dvar * 2.0 * xmu / n + dmu / n
    return dx_t.T, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _stub(x, gamma, beta, ln_param):
    raise NotImplementedError


F, B = "layernorm_forward", "layernorm_backward"
_OK = forward()

CASES = [
    Case("ln_fwd_direct", F, _OK),
    Case("ln_fwd_transposed", F, forward_transposed),
    *[Case(f"ln_fwd_{b}", F, forward(b), expect=b) for b in FORWARD_BUGS],
    Case("ln_fwd_stub", F, _stub, expect="not_attempted"),
    Case("ln_bwd_direct", B, backward(), _OK),
    Case("ln_bwd_transposed", B, backward_transposed, forward_transposed),
    Case("ln_bwd_ln_backward_bn_axis", B, backward("ln_backward_bn_axis"), _OK,
         expect="ln_backward_bn_axis"),
    Case("ln_bwd_wrong_count", B, backward("wrong_count"), _OK, expect="wrong_count"),
    Case("ln_bwd_missing_keepdims", B, backward("missing_keepdims"), _OK,
         expect="missing_keepdims"),
]
