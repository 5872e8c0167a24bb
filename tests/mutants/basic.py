"""Affine, ReLU, softmax loss and dropout as students write them, right and wrong."""

from __future__ import annotations

import numpy as np

from mutants import Case


def affine_forward_dot(x, w, b):
    """Correct: np.dot on the (N, D) view."""
    return np.dot(x.reshape(x.shape[0], -1), w) + b, (x, w, b)


def affine_forward_matmul(x, w, b):
    """Correct: @ on the view from np.prod of the trailing shape."""
    flat = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    return flat @ w + b, (x, w, b)


def affine_backward_dot(dout, cache):
    x, w, b = cache
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(x.shape[0], -1).T, dout)
    return dx, dw, dout.sum(axis=0)


def affine_backward_einsum(dout, cache):
    x, w, b = cache
    flat = x.reshape(len(x), -1)
    return (np.einsum("nm,dm->nd", dout, w).reshape(x.shape),
            np.einsum("nd,nm->dm", flat, dout), np.einsum("nm->m", dout))


def relu_forward_maximum(x):
    return np.maximum(0, x), x


def relu_forward_mask(x):
    out = x * (x > 0)
    return out, x


def relu_backward_mask(dout, cache):
    return dout * (cache > 0)


def relu_backward_where(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def softmax(bug=None):
    """A student's ``softmax_loss``; ``bug`` names its one mistake."""

    def softmax_loss(x, y):
        N = x.shape[0]
        shifted = x if bug == "softmax_no_shift" else x - x.max(axis=1, keepdims=True)
        if bug in ("softmax_no_shift", "softmax_probs_then_log"):
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            losses = -np.log(probs[np.arange(N), y])
        else:
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            probs = np.exp(log_probs)
            losses = -log_probs[np.arange(N), y]
        loss = losses.sum() if bug == "softmax_not_averaged" else losses.mean()
        dx = probs.copy()
        dx[np.arange(N), y] -= 1
        return loss, dx / N

    return softmax_loss


def softmax_loss_logsumexp(x, y):
    """Correct: the log-sum-exp written out with its max term added back."""
    m = x.max(axis=1)
    lse = m + np.log(np.exp(x - m[:, None]).sum(axis=1))
    N = len(y)
    loss = float(np.mean(lse - x[np.arange(N), y]))
    dx = np.exp(x - lse[:, None])
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def dropout_forward(bug=None):
    """A student's inverted ``dropout_forward``; ``bug`` names its one mistake."""

    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if "seed" in dropout_param:
            np.random.seed(dropout_param["seed"])
        mask = None
        if mode == "train":
            keep = np.random.rand(*x.shape)
            keep = keep >= p if bug == "dropout_keep_vs_drop" else keep < p
            mask = keep if bug == "dropout_not_inverted" else keep / p
            out = x * mask
        else:
            out = x * p if bug == "dropout_test_scales" else x
        return out, (dropout_param, mask)

    return dropout_forward


def dropout_forward_binomial(x, dropout_param):
    """Correct: the mask drawn with a Generator seeded from the parameter."""
    p = dropout_param["p"]
    if dropout_param["mode"] != "train":
        return x, (dropout_param, None)
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = rng.binomial(1, p, size=x.shape) * (1.0 / p)
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    param, mask = cache
    return dout * mask if param["mode"] == "train" else dout


def dropout_backward_where(dout, cache):
    param, mask = cache
    return dout if mask is None else np.where(mask != 0, dout / param["p"], 0.0)


CASES = [
    Case("affine_fwd_dot", "affine_forward", affine_forward_dot),
    Case("affine_fwd_matmul", "affine_forward", affine_forward_matmul),
    Case("affine_bwd_dot", "affine_backward", affine_backward_dot, affine_forward_dot),
    Case("affine_bwd_einsum", "affine_backward", affine_backward_einsum, affine_forward_matmul),
    Case("relu_fwd_maximum", "relu_forward", relu_forward_maximum),
    Case("relu_fwd_mask", "relu_forward", relu_forward_mask),
    Case("relu_bwd_mask", "relu_backward", relu_backward_mask, relu_forward_maximum),
    Case("relu_bwd_where", "relu_backward", relu_backward_where, relu_forward_mask),
    Case("softmax_shifted", "softmax_loss", softmax()),
    Case("softmax_logsumexp", "softmax_loss", softmax_loss_logsumexp),
    Case("softmax_not_averaged", "softmax_loss", softmax("softmax_not_averaged"),
         expect="softmax_not_averaged"),
    Case("softmax_no_shift", "softmax_loss", softmax("softmax_no_shift"),
         expect="softmax_overflow"),
    Case("softmax_probs_then_log", "softmax_loss", softmax("softmax_probs_then_log"),
         expect="softmax_underflow"),
    Case("dropout_fwd_rand", "dropout_forward", dropout_forward()),
    Case("dropout_fwd_binomial", "dropout_forward", dropout_forward_binomial),
    *[Case(f"dropout_fwd_{b}", "dropout_forward", dropout_forward(b), expect=b)
      for b in ("dropout_keep_vs_drop", "dropout_not_inverted", "dropout_test_scales")],
    Case("dropout_bwd_mask", "dropout_backward", dropout_backward, dropout_forward()),
    Case("dropout_bwd_where", "dropout_backward", dropout_backward_where,
         dropout_forward_binomial),
]
