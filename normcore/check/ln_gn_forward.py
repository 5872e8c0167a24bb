"""Checkers for the per-example normalizations' forward pass: layer norm and group norm.

Neither keeps running statistics; both must give the same output in train and
test mode. Shapes are chosen so mistakes cannot hide: N != D (a lost
``keepdims`` cannot broadcast), G != C/G (an interleaved group reshape mixes
different channels than the right one), rows and channels with means far from
0 and standard deviations down to 0.01 (eps's place shows).
"""

from __future__ import annotations

import numpy as np

import normcore as nc
from normcore.check.bn_forward import EPS, TOL64, check_float32
from normcore.check.models import best_match, group_mean
from normcore.check.probe import (Failed, Probe, Stop, agree, classify_exception, rel,
                                  require_callable)
from normcore.check.variants import output_variants

__all__ = ["check_layernorm_forward", "check_spatial_groupnorm_forward"]

G = 3  # groups of C/G = 2 channels: G != C/G, so an interleaved reshape shows


def _ln_inputs():
    rng = np.random.RandomState(231)
    loc = np.array([3.0, -2.0, 0.5, 5.0, 1.0])[:, None]
    scale = np.array([0.01, 0.5, 2.0, 0.05, 1.0])[:, None]
    x = loc + scale * rng.randn(5, 4)
    return x, rng.uniform(0.5, 1.5, 4), rng.randn(4)


def _gn_inputs():
    rng = np.random.RandomState(231)
    b = (1, 6, 1, 1)
    # Group 0 (channels 0 and 1) shares its mean 3 and has variance ~2e-4, so eps
    # (1e-5) moves its output by percents; the other groups' means differ.
    loc = np.array([3.0, 3.0, 0.5, -0.5, 1.0, -1.0]).reshape(b)
    scale = np.array([0.01, 0.02, 0.5, 0.4, 2.0, 1.5]).reshape(b)
    x = loc + scale * rng.randn(2, 6, 3, 2)
    return x, rng.uniform(0.5, 1.5, b), rng.randn(*b)


def _explain(out, ref_out, cands):
    hit = best_match(out, cands, TOL64)
    if hit is None:
        return None, ""
    return hit[0], (f"out matches {hit[1]} {agree(hit[2])} and differs from the correct "
                    f"output by {rel(out, ref_out):.1e}")


def _common(p, fn, args, ref_out, candidates, make_args, layer):
    """Output, train/test sameness, float32 and untouched inputs."""
    x = args[0]
    out, _ = p.run(fn, *args, names=("out", "cache"), label=layer, first=True)
    if getattr(out, "shape", None) != x.shape:
        return out, False
    if out.dtype != np.float64:
        p.fail("dtype", f"for float64 input out has dtype {out.dtype}", "dtype")
    p.check("output", rel(out, ref_out), TOL64, lambda: _explain(out, ref_out, candidates))
    test_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    test_args[-1] = {**args[-1], "mode": "test"}
    try:
        out_t, _ = p.unpack(p.call(fn, *test_args, label=layer), ("out", "cache"), layer)
        p.check("same in test mode", rel(out_t, out), TOL64,
                what="out with mode='test' compared with mode='train'")
    except Failed as err:
        p.fail("same in test mode", f"a call with mode='test' raised {err.reason}", "exception")
    check_float32(p, fn, make_args, out, layer)
    if not p.mutation_reported:
        p.ok("inputs unchanged")
    return out, True


def check_layernorm_forward(fn):
    """Check a student's ``layernorm_forward(x, gamma, beta, ln_param)``.

    Returns
    -------
    Report
    """
    require_callable("fn", fn)
    x, gamma, beta = _ln_inputs()
    ref_out, _ = nc.layernorm_forward(x, gamma, beta, {})

    def f32(dt, centred):
        v = x - x.mean(axis=1, keepdims=True) if centred else x
        return v.astype(dt), gamma.astype(dt), beta.astype(dt), {}
    with Probe("layernorm_forward", fn) as p:
        cands = output_variants(x, "ln", EPS, lambda xh: gamma * xh + beta)
        out, shaped = _common(p, fn, (x.copy(), gamma.copy(), beta.copy(), {}), ref_out,
                              cands, f32, "layernorm_forward")
        if not shaped:
            p.fail("shape", f"out has shape {getattr(out, 'shape', None)}, expected {x.shape}",
                   "shape")
    return p.report


def check_spatial_groupnorm_forward(fn):
    """Check a student's ``spatial_groupnorm_forward(x, gamma, beta, G, gn_param)``.

    gamma and beta are passed shaped (1, C, 1, 1), as the assignment does.

    Returns
    -------
    Report
    """
    require_callable("fn", fn)
    x, gamma, beta = _gn_inputs()
    ref_out, _ = nc.spatial_groupnorm_forward(x, gamma, beta, G, {})

    def f32(dt, centred):
        v = x - group_mean(x, "gn", G) if centred else x
        return v.astype(dt), gamma.astype(dt), beta.astype(dt), G, {}
    layer = "spatial_groupnorm_forward"
    with Probe(layer, fn) as p:
        try:
            cands = output_variants(x, "gn", EPS, lambda xh: gamma * xh + beta, G)
            out, shaped = _common(p, fn, (x.copy(), gamma.copy(), beta.copy(), G, {}),
                                  ref_out, cands, f32, layer)
        except Stop:
            if not p.report.attempted:
                raise
            if p.report.properties and p.report.properties[-1].name == "runs":
                p.report.properties.pop()  # replaced below if gamma's shape explains it
            out, shaped = None, False
        if not shaped:
            _retry_with_flat_gamma(p, fn, x, gamma, beta, ref_out, out)
    return p.report


def _retry_with_flat_gamma(p, fn, x, gamma, beta, ref_out, out):
    """Fails or misshapes with (1, C, 1, 1) gamma: does (C,) gamma work?"""
    C = x.shape[1]
    try:
        flat, _ = p.unpack(p.call(fn, x.copy(), gamma.reshape(C), beta.reshape(C), G, {},
                                  label="spatial_groupnorm_forward"), ("out", "cache"), "")
    except Failed:
        flat = None
    if flat is not None and rel(flat, ref_out) <= TOL64:
        got = "raises" if out is None else f"returns shape {getattr(out, 'shape', None)}"
        p.fail("gamma shaped (1, C, 1, 1)", f"with gamma of shape {gamma.shape} it {got}; "
               f"with shape ({C},) the output is right", "gn_gamma_shape")
        return
    # Not explained by gamma's shape: report the original call's failure plainly.
    try:
        p.call(fn, x.copy(), gamma.copy(), beta.copy(), G, {}, label="")
        p.fail("shape", f"out has shape {getattr(out, 'shape', None)}, expected {x.shape}",
               "shape")
    except Failed as err:
        diag, _ = classify_exception(err)
        p.fail("runs", f"spatial_groupnorm_forward raised {err.reason}", diag)
