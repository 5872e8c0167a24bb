"""Spatial batch norm and group norm as students write them, right and wrong.

Spatial batch norm is usually the (N*H*W, C) view handed to ``batchnorm_forward``
(here :func:`mutants.bn.forward`), or the statistics taken directly over axes
(0, 2, 3). Group norm reshapes x so that each group's channels and pixels share
one axis. Caches are the student's own tuples.
"""

from __future__ import annotations

import numpy as np

from mutants import Case
from mutants.bn import backward_closed as bn_backward_closed
from mutants.bn import forward as bn_forward

_bn = bn_forward()


def sbn_forward_view(x, gamma, beta, bn_param):
    """Correct: transpose to (N, H, W, C), flatten to (N*H*W, C), reuse batch norm."""
    N, C, H, W = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, cache = _bn(flat, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def sbn_backward_view(dout, cache):
    """Correct: the same view for the gradients."""
    N, C, H, W = dout.shape
    dflat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx, dgamma, dbeta = bn_backward_closed(dflat, cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def sbn_forward(bug=None):
    """A student's ``spatial_batchnorm_forward`` over axes (0, 2, 3) directly."""

    def spatial_batchnorm_forward(x, gamma, beta, bn_param):
        N, C, H, W = x.shape
        if bug == "sbn_per_pixel":  # every (c, h, w) column normalized over N alone
            out, cache = _bn(x.reshape(N, -1), np.repeat(gamma, H * W),
                             np.repeat(beta, H * W), bn_param)
            return out.reshape(x.shape), cache
        if bug == "unknown_reshape":  # (N, C, H, W) -> (-1, C) without the transpose
            out, cache = _bn(x.reshape(-1, C), gamma, beta, bn_param)
            return out.reshape(x.shape), cache
        eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
        keep = bug != "missing_keepdims"
        g, b = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
        if bn_param["mode"] == "train":
            mu = x.mean(axis=(0, 2, 3), keepdims=keep)
            var = x.var(axis=(0, 2, 3), keepdims=keep)
            for key, stat in (("running_mean", mu), ("running_var", var)):
                bn_param[key] = m * bn_param.get(key, np.zeros(C)) + (1 - m) * stat.ravel()
        else:
            mu = bn_param["running_mean"].reshape(1, C, 1, 1)
            var = bn_param["running_var"].reshape(1, C, 1, 1)
        xhat = (x - mu) / np.sqrt(var + eps)
        return g * xhat + b, (x, xhat, g, mu, var, eps)

    return spatial_batchnorm_forward


def sbn_backward(bug=None):
    """A student's ``spatial_batchnorm_backward`` over axes (0, 2, 3) directly."""

    def spatial_batchnorm_backward(dout, cache):
        x, xhat, g, mu, var, eps = cache
        M = dout.shape[0] * dout.shape[2] * dout.shape[3]
        if bug == "wrong_count":  # batch norm's N, copied: not N*H*W
            M = dout.shape[0]
        ax = (0, 2, 3)
        dbeta, dgamma = dout.sum(axis=ax), (dout * xhat).sum(axis=ax)
        dxhat = dout * g
        s1 = dxhat.sum(axis=ax, keepdims=True)
        if bug == "mu_path_forgotten":
            s1 = 0.0
        s2 = (dxhat * xhat).sum(axis=ax, keepdims=True)
        dx = (M * dxhat - s1 - xhat * s2) / (M * np.sqrt(var + eps))
        if bug == "shape":
            dgamma, dbeta = dgamma.reshape(1, -1, 1, 1), dbeta.reshape(1, -1, 1, 1)
        return dx, dgamma, dbeta

    return spatial_batchnorm_backward


def gn_forward(bug=None):
    """A student's ``spatial_groupnorm_forward`` through the (N, G, C/G, H, W) view."""

    def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
        eps = gn_param.get("eps", 1e-5)
        N, C, H, W = x.shape
        if bug == "gn_interleaved_groups":  # channel c lands in group c % G
            v = x.reshape(N, C // G, G, H, W)
            axes = (1, 3, 4)
        else:
            v = x.reshape(N, G, C // G, H, W)
            axes = (2,) if bug == "gn_no_spatial_pool" else (2, 3, 4)
        mu = v.mean(axis=axes, keepdims=True)
        var = v.var(axis=axes, keepdims=True)
        std = np.sqrt(var) + eps if bug == "eps_outside_sqrt" else np.sqrt(var + eps)
        xhat = ((v - mu) / std).reshape(x.shape)
        if bug == "gn_gamma_shape":  # written for gamma of shape (C,)
            out = xhat * gamma[:, None, None] + beta[:, None, None]
        else:
            out = xhat * gamma + beta
        return out, (x, xhat, gamma, G, var, eps)

    return gn_forward_named(spatial_groupnorm_forward)


def gn_forward_named(fn):
    fn.__name__ = "spatial_groupnorm_forward"
    return fn


def gn_forward_flat(x, gamma, beta, G, gn_param):
    """Correct: rows of the (N*G, C/G*H*W) view, statistics with np.mean/np.var."""
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    rows = x.reshape(N * G, -1)
    mu, var = rows.mean(axis=1, keepdims=True), rows.var(axis=1, keepdims=True)
    xhat = ((rows - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return gamma * xhat + beta, (x, xhat, gamma, G, var.reshape(N, G, 1, 1, 1), eps)


def gn_backward(bug=None):
    """A student's ``spatial_groupnorm_backward`` (closed form per group)."""

    def spatial_groupnorm_backward(dout, cache):
        x, xhat, gamma, G, var, eps = cache
        N, C, H, W = dout.shape
        dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
        dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
        if bug == "shape":
            dgamma, dbeta = dgamma.ravel(), dbeta.ravel()
        dxhat = (dout * gamma).reshape(N, G, -1)
        xh = xhat.reshape(N, G, -1)
        M = xh.shape[2]
        s1 = dxhat.sum(axis=2, keepdims=True)
        if bug == "lost_1_over_n":
            s1 = s1 * M
        s2 = (dxhat * xh).sum(axis=2, keepdims=True)
        ivar = 1.0 / np.sqrt(var.reshape(N, G, 1) + eps)
        dx = ivar * (dxhat - s1 / M - xh * s2 / M)
        return dx.reshape(dout.shape), dgamma, dbeta

    return spatial_groupnorm_backward


def gn_backward_graph(dout, cache):
    """Correct: the staged graph on the (N, G, C/G*H*W) view."""
    x, xhat, gamma, G, var, eps = cache
    N = dout.shape[0]
    v = x.reshape(N, G, -1)
    M = v.shape[2]
    mu = v.mean(axis=2, keepdims=True)
    std = np.sqrt(var.reshape(N, G, 1) + eps)
    dxhat = (dout * gamma).reshape(N, G, -1)
    dvar = (dxhat * (v - mu)).sum(axis=2, keepdims=True) * -0.5 / std ** 3
    dmu = -(dxhat / std).sum(axis=2, keepdims=True)
    dx = dxhat / std + dvar * 2 * (v - mu) / M + dmu / M
    return (dx.reshape(dout.shape), (dout * xhat).sum(axis=(0, 2, 3), keepdims=True),
            dout.sum(axis=(0, 2, 3), keepdims=True))


SF, SB = "spatial_batchnorm_forward", "spatial_batchnorm_backward"
GF, GB = "spatial_groupnorm_forward", "spatial_groupnorm_backward"

CASES = [
    Case("sbn_fwd_view", SF, sbn_forward_view),
    Case("sbn_fwd_direct", SF, sbn_forward()),
    Case("sbn_fwd_sbn_per_pixel", SF, sbn_forward("sbn_per_pixel"), expect="sbn_per_pixel"),
    # A real mistake no known signature fits: the report must not guess.
    Case("sbn_fwd_reshape_without_transpose", SF, sbn_forward("unknown_reshape"),
         expect="unnamed"),
    Case("sbn_fwd_missing_keepdims", SF, sbn_forward("missing_keepdims"),
         expect="missing_keepdims"),
    Case("sbn_bwd_view", SB, sbn_backward_view, sbn_forward_view),
    Case("sbn_bwd_direct", SB, sbn_backward(), sbn_forward()),
    Case("sbn_bwd_mu_path_forgotten", SB, sbn_backward("mu_path_forgotten"), sbn_forward(),
         expect="mu_path_forgotten"),
    Case("sbn_bwd_wrong_count", SB, sbn_backward("wrong_count"), sbn_forward(),
         expect="wrong_count"),
    Case("sbn_bwd_shape", SB, sbn_backward("shape"), sbn_forward(), expect="shape"),
    Case("gn_fwd_view", GF, gn_forward()),
    Case("gn_fwd_flat", GF, gn_forward_flat),
    *[Case(f"gn_fwd_{b}", GF, gn_forward(b), expect=b)
      for b in ("eps_outside_sqrt", "gn_no_spatial_pool", "gn_gamma_shape",
                "gn_interleaved_groups")],
    Case("gn_bwd_closed", GB, gn_backward(), gn_forward()),
    Case("gn_bwd_graph", GB, gn_backward_graph, gn_forward_flat),
    Case("gn_bwd_lost_1_over_n", GB, gn_backward("lost_1_over_n"), gn_forward(),
         expect="lost_1_over_n"),
    Case("gn_bwd_shape", GB, gn_backward("shape"), gn_forward(), expect="shape"),
]
