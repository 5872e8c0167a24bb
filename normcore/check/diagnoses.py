"""The named mistakes: a stable identifier and the plain sentence that explains it.

A probe that recognises a mistake's measured signature reports
``f"{evidence}: {EXPLAIN[id]}"``, e.g. "running_var is 1.0e-05 larger than the
batch variance: eps seems to be stored in the running variance". Tests match
the identifier; students read the sentence.
"""

from __future__ import annotations

__all__ = ["EXPLAIN", "START", "sentence"]

EXPLAIN = {
    # forward, statistics
    "eps_outside_sqrt": "eps seems to be added outside the square root "
                        "(use sqrt(var + eps), not sqrt(var) + eps)",
    "unbiased_variance": "the variance seems to be the unbiased one (divided by N - 1); "
                         "batch norm uses the biased variance (divide by N, np.var's default)",
    "eps_in_running_var": "eps seems to be stored in the running variance "
                          "(keep var + eps local to the normalization)",
    "momentum_reversed": "momentum seems to weigh the batch instead of the history: "
                         "running = momentum * running + (1 - momentum) * batch",
    "running_not_stored": "the running statistics seem never to be stored back: "
                          "assign bn_param['running_mean'] and bn_param['running_var']",
    "running_not_read": "the running statistics seem to restart from zeros on every call: "
                        "read them with bn_param.get('running_mean', ...) before the "
                        "update",
    "test_uses_batch_stats": "test mode seems to normalize with the batch's own statistics; "
                             "it must use running_mean and running_var",
    "test_drops_affine": "test mode seems to drop gamma and beta (out = gamma * xhat + beta)",
    "test_updates_running": "test mode must leave the running statistics unchanged",
    "var_cancellation": "the variance seems to be computed as mean(x**2) - mean(x)**2, "
                        "which cancels when the mean is large against the spread; "
                        "mean((x - mu)**2) or np.var keeps float32's digits",
    "missing_keepdims": "a mean or variance seems to have lost its reduced axis; "
                        "use keepdims=True so it broadcasts against x",
    "ln_uses_bn_axis": "layer norm seems to take its statistics over the batch (axis 0); "
                       "it normalizes each example over its features (axis 1)",
    "stats_over_all": "the mean and variance seem to be single numbers over the whole "
                      "array (np.mean(x) with no axis); each feature, example or group "
                      "needs its own",
    "sbn_per_pixel": "each (channel, pixel) seems to be normalized over N alone; pool N, H "
                     "and W per channel, e.g. through the (N*H*W, C) view of x",
    "gn_no_spatial_pool": "the group statistics do not seem to pool H and W; each group's "
                          "mean and variance run over its C/G channels and all pixels",
    "gn_gamma_shape": "it works only with gamma and beta of shape (C,); the assignment "
                      "passes them shaped (1, C, 1, 1)",
    "gn_interleaved_groups": "the groups seem to interleave channels (g, g+G, ...); a group "
                             "is C/G consecutive channels: reshape x to (N, G, C//G, H, W)",
    # backward
    "ln_backward_bn_axis": "the batch-norm formula seems to be reused with its sums over the "
                           "batch (axis 0); layer norm's sums run over the features (axis 1)",
    "dgamma_drops_eps": "dgamma seems to divide by sqrt(var) without eps; use the forward's "
                        "xhat = (x - mu) / sqrt(var + eps)",
    "dgamma_from_x": "dgamma seems to be computed from x instead of xhat",
    "lost_1_over_n": "a 1/N seems to be lost where a mean's gradient is spread over the "
                     "N values it averaged",
    "wrong_count": "count the values each statistic averages: D per example for layer "
                   "norm, N*H*W per channel for spatial batch norm, C/G*H*W per group "
                   "for group norm",
    "mu_path_forgotten": "the gradient through the mean mu seems to be missing "
                         "(x reaches the output through x - mu and through mu itself)",
    "variance_path": "the gradient through the variance seems to be wrong",
    "unfinished_backward": "the backward pass looks unfinished",
    "needs_own_cache": "the backward pass needs a cache that only your own forward "
                       "produces, and it could not read the cache it was given (both "
                       "batch-norm backward passes must read batchnorm_forward's)",
    "bug_in_forward": "the backward pass is right for your forward pass, so the bug is "
                      "in the forward pass, not here",
    "result_aliases_cache": "the output shares memory with the cache, so a later in-place "
                            "change to out (a next layer's out *= ...) changes the gradient; "
                            "return a new array or cache a copy",
    # any layer
    "input_mutated": "an input was changed in place; work on a copy (x - mu makes a new "
                     "array; x -= mu and dout[x <= 0] = 0 change the caller's)",
    "shape": "a result has the wrong shape",
    "dtype": "a result lost the input's floating precision",
    "exception": "the function raised an exception",
    # other layers
    "softmax_overflow": "exp overflows; subtract each row's max from the scores "
                        "before exp (the softmax does not change)",
    "softmax_underflow": "a probability underflows to 0 before the log; take "
                         "log-probabilities as shifted - log(sum(exp(shifted))) "
                         "instead of log(probs)",
    "softmax_not_averaged": "the loss seems to be summed over the batch, not averaged",
    "dropout_keep_vs_drop": "p seems to be used as the probability of dropping; in the "
                            "current assignment p is the probability of keeping a unit "
                            "(older editions used p for dropping: if your file is from "
                            "one, this is their convention, not a bug)",
    "dropout_not_inverted": "kept units seem not to be scaled by 1/p (inverted dropout)",
    "dropout_test_scales": "test mode must return x unchanged (inverted dropout scales "
                           "at training time instead)",
}

#: How to start each layer, shown when it is "not attempted yet".
START = {
    "affine_forward": "Start by flattening x to (N, D) with x.reshape(x.shape[0], -1); "
                      "out = that @ w + b; cache (x, w, b).",
    "affine_backward": "Start from out = x2d @ w + b: dx = dout @ w.T reshaped to x.shape, "
                       "dw = x2d.T @ dout, db = dout summed over the batch.",
    "relu_forward": "Start with out = np.maximum(0, x); cache x.",
    "relu_backward": "Start from out = max(0, x): dx is dout where x > 0 and 0 elsewhere.",
    "softmax_loss": "Start by subtracting each row's max from x; log-probabilities are "
                    "shifted - log(sum(exp(shifted))); the loss is minus the mean of the "
                    "correct classes' ones; dx = (probs - one_hot(y)) / N.",
    "batchnorm_forward": "Start in train mode: mu and var over axis 0 (np.var's biased "
                         "variance), xhat = (x - mu) / sqrt(var + eps), out = gamma * xhat "
                         "+ beta; then update running_mean and running_var with momentum "
                         "and store them in bn_param.",
    "batchnorm_backward": "Start from the last node: dbeta = dout.sum(0), dgamma = (dout * "
                          "xhat).sum(0), dxhat = dout * gamma; then walk back through xhat "
                          "= xmu * ivar, ivar = 1 / std, std = sqrt(var + eps), var = "
                          "mean(xmu**2), xmu = x - mu and mu = mean(x).",
    "batchnorm_backward_alt": "Start from dxhat = dout * gamma: dx = (dxhat - mean(dxhat) - "
                              "xhat * mean(dxhat * xhat)) / sqrt(var + eps), the means over "
                              "axis 0; dgamma and dbeta as in the graph version.",
    "layernorm_forward": "Start from batch norm's train mode with the statistics over axis "
                         "1 (each example's features, keepdims=True) and no running "
                         "statistics.",
    "layernorm_backward": "Start from batch norm's closed form with its means over axis 1 "
                          "(keepdims=True); dgamma and dbeta still sum over axis 0.",
    "dropout_forward": "Start in train mode with mask = (np.random.rand(*x.shape) < p) / p "
                       "(p keeps a unit) and out = x * mask; in test mode out = x.",
    "dropout_backward": "Start with dx = dout * mask in train mode and dx = dout in test "
                        "mode.",
    "spatial_batchnorm_forward": "Start by moving channels last: x.transpose(0, 2, 3, 1)"
                                 ".reshape(-1, C) is (N*H*W, C); run batchnorm_forward on "
                                 "it, then undo the reshape and the transpose.",
    "spatial_batchnorm_backward": "Start with the view of dout the forward used, call "
                                  "batchnorm_backward_alt on it, and undo the view on dx.",
    "spatial_groupnorm_forward": "Start by reshaping x to (N, G, C // G * H * W): each row "
                                 "is one group of one example; normalize the rows, reshape "
                                 "back, out = gamma * xhat + beta with gamma (1, C, 1, 1).",
    "spatial_groupnorm_backward": "Start with dgamma and dbeta summed over axes (0, 2, 3) "
                                  "with keepdims=True; then dxhat = dout * gamma, viewed "
                                  "as (N, G, -1), goes through layer norm's closed form "
                                  "row by row.",
}


def sentence(diag, evidence: str) -> str:
    """The report sentence for a named mistake (or a tuple of them): evidence, then why."""
    ids = (diag,) if isinstance(diag, str) else tuple(diag)
    if ids == ("exception",):  # the exception's own one-line reason says it all
        return evidence
    explained = "; and ".join(EXPLAIN[i] for i in ids)
    return f"{evidence}: {explained}" if evidence else explained
