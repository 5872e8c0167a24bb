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
    "wrong_count": "count the values each statistic averages: N*H*W per channel for "
                   "spatial batch norm, C/G*H*W per group for group norm",
    "mu_path_forgotten": "the gradient through the mean mu seems to be missing "
                         "(x reaches the output through x - mu and through mu itself)",
    "variance_path": "the gradient through the variance seems to be wrong",
    "unfinished_backward": "the backward pass looks unfinished",
    "needs_own_cache": "the backward pass needs a cache that only your own forward "
                       "produces; the assignment's two backward passes read the same cache",
    "bug_in_forward": "the backward pass is right for your forward pass, so the bug is "
                      "in the forward pass, not here",
    "result_aliases_cache": "the output shares memory with the cache, so a later in-place "
                            "change to out (a next layer's out *= ...) changes the gradient; "
                            "return a new array or cache a copy",
    # any layer
    "input_mutated": "an input was changed in place; compute on a copy "
                     "(x - mu makes one, x -= mu does not)",
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
                            "assignment p is the probability of keeping a unit",
    "dropout_not_inverted": "kept units seem not to be scaled by 1/p (inverted dropout)",
    "dropout_test_scales": "test mode must return x unchanged (inverted dropout scales "
                           "at training time instead)",
}

START = {
    "forward": "Start by computing the statistics with np.mean and np.var over the "
               "right axes (keepdims=True), then out = gamma * xhat + beta; keep what "
               "the backward pass needs in cache.",
    "backward": "Start from out = gamma * xhat + beta: dbeta = dout summed, dgamma = "
                "(dout * xhat) summed over the same axes, then walk back to dx.",
    "basic": "Start from the docstring's shapes; return the tuple the docstring names.",
}


def sentence(diag: str, evidence: str) -> str:
    """The report sentence for a named mistake: the evidence, then the explanation."""
    if diag == "exception":  # the exception's own one-line reason says it all
        return evidence
    return f"{evidence}: {EXPLAIN[diag]}" if evidence else EXPLAIN[diag]
