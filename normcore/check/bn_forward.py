"""Checkers for batch norm's forward pass: ``batchnorm_forward`` and its spatial version.

Both keep running statistics, so both are probed the same way: three train
calls on batches with a non-zero mean (the running statistics must follow the
assignment's update), a test call with running statistics chosen apart from
the batch's (test mode must use them, with eps inside the square root and
gamma/beta applied), and a float32 call. One channel has a standard deviation
of 0.01, so var = 1e-4 is only ten times eps and eps's place shows in the
output at the percent level.
"""

from __future__ import annotations

import numpy as np

import normcore as nc
from normcore.check.models import best_match, stats
from normcore.check.probe import Failed, Probe, agree, rel, require_callable
from normcore.check.variants import output_variants, xhat

__all__ = ["check_batchnorm_forward", "check_spatial_batchnorm_forward"]

MOMENTUM, EPS = 0.9, 1e-5  # the assignment's defaults, which the student must apply
TOL64 = 1e-6   # float64 results agree with normcore to ~1e-15; 1e-6 leaves room for any formulation
# float32 carries ~6e-8 relative; the channel with mean 5 and std 0.01 magnifies it 500 times.
TOL32 = 1e-3

_LOC = np.array([3.0, -2.0, 0.5, 5.0])
_SCALE = np.array([0.01, 0.5, 2.0, 0.05])


def _inputs(kind: str):
    rng = np.random.RandomState(231)
    shape = (6, 4) if kind == "bn" else (3, 4, 2, 3)
    b = (1, 4) if kind == "bn" else (1, 4, 1, 1)
    xs = [_LOC.reshape(b) + _SCALE.reshape(b) * rng.randn(*shape) for _ in range(3)]
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.randn(4)
    return xs, gamma, beta, b


def _affine(xh, gamma, beta, b):
    return gamma.reshape(b) * xh + beta.reshape(b)


def _diagnose_train(out, x, gamma, beta, b, kind, ref_out):
    cands = output_variants(x, kind, EPS, lambda xh: _affine(xh, gamma, beta, b))
    hit = best_match(out, cands, TOL64)
    if hit is None:
        return None, ""
    diag, formula, err = hit
    return diag, (f"train-mode out matches {formula} {agree(err)} and differs from the "
                  f"correct output by {rel(out, ref_out):.1e}")


def _updated(x, rm, rv, kind):
    """Running statistics after one more (train-style) update with the batch x."""
    mu, var, _ = stats(x, kind)
    return (MOMENTUM * rm + (1 - MOMENTUM) * mu.ravel(),
            MOMENTUM * rv + (1 - MOMENTUM) * var.ravel())


def normalize_with(x, mean, var, b):
    return (x - mean.reshape(b)) / np.sqrt(var.reshape(b) + EPS)


def _batch_stats(x, kind, over_all=False):
    """Per-channel batch mean and variance, or one of each over the whole array."""
    if over_all:
        C = x.shape[1]
        return np.full(C, x.mean()), np.full(C, x.var()), x.size
    mu, var, n = stats(x, kind)
    return mu.ravel(), var.ravel(), n


def _sequences(xs, kind, stat, carry=True, reverse=False, over_all=False):
    """Running statistics after each of the train calls, under a model of the update."""
    run, seq = 0.0, []
    for x in xs:
        s = stat(*_batch_stats(x, kind, over_all))
        if not carry:
            run = 0.0
        run = (1 - MOMENTUM) * run + MOMENTUM * s if reverse else MOMENTUM * run + (1 - MOMENTUM) * s
        seq.append(run)
    return np.concatenate(seq)


_VSTATS = {(): lambda m, v, n: v,
           ("unbiased_variance",): lambda m, v, n: v * n / (n - 1),
           ("eps_in_running_var",): lambda m, v, n: v + EPS,
           ("unbiased_variance", "eps_in_running_var"): lambda m, v, n: v * n / (n - 1) + EPS}
_UPDATES = {(): {}, ("momentum_reversed",): {"reverse": True},
            ("running_not_read",): {"carry": False}}
_RUN_TEXT = {"stats_over_all": "statistics over the whole array",
             "unbiased_variance": "the unbiased variance",
             "eps_in_running_var": "var + eps stored", "momentum_reversed": "momentum "
             "reversed", "running_not_read": "nothing carried over between calls"}


def _running_models(xs, kind):
    """Every wrong combination of statistic, update and domain: ``ids -> (model, "")``."""
    cands = {}
    for over_all in (False, True):
        for vids, vstat in _VSTATS.items():
            for uids, kw in _UPDATES.items():
                ids = (("stats_over_all",) if over_all else ()) + vids + uids
                if ids:
                    model = [_sequences(xs, kind, lambda m, v, n: m, over_all=over_all, **kw),
                             _sequences(xs, kind, vstat, over_all=over_all, **kw)]
                    cands[ids] = (np.concatenate(model), "")
    return cands


def _diagnose_running(got_m, got_v, xs, kind):
    """Name the running-statistics mistakes from the means and variances it stored."""
    student = np.concatenate([np.concatenate(got_m), np.concatenate(got_v)])
    hit = best_match(student, _running_models(xs, kind), TOL64)
    if hit is None:
        return None, ""
    ids = hit[0]
    mu1, var1, n = stats(xs[0], kind)
    implied_var = got_v[0] / (1 - MOMENTUM)  # the first update starts from zeros
    if len(ids) > 1:
        ev = ("after three train calls the running statistics match a model with "
              + ", ".join(_RUN_TEXT[i] for i in ids))
    elif ids == ("eps_in_running_var",):
        delta = float(np.median(implied_var - var1.ravel()))
        ev = f"running_var is {delta:.1e} larger than the batch variance (eps = {EPS:g})"
    elif ids == ("unbiased_variance",):
        ratio = float(np.median(implied_var / var1.ravel()))
        ev = f"running_var / batch variance = {ratio:.3f} = N/(N-1) for N = {n}"
    elif ids == ("momentum_reversed",):
        k = float(np.median(got_m[0] / mu1.ravel()))
        ev = (f"after one step running_mean = {k:.2f} x the batch mean; expected "
              f"1 - momentum = {1 - MOMENTUM:.2f}")
    elif ids == ("stats_over_all",):
        ev = "every entry of running_mean equals the whole batch's mean"
    else:
        ev = ("after three train calls the running statistics hold only the last "
              "batch's (1 - momentum) share")
    return ids, ev


def _check_running(p, fn, xs, gamma, beta, param, kind, C):
    name = "running statistics"
    got_m, got_v = [], []
    for k, x in enumerate(xs):
        if k:
            try:
                p.call(fn, x.copy(), gamma.copy(), beta.copy(), param, label=p.report.layer)
            except Failed as err:
                p.fail(name, f"train call {k + 1} raised {err.reason}", "exception")
                return
        rm, rv = param.get("running_mean"), param.get("running_var")
        if rm is None or rv is None:
            p.fail(name, "bn_param has no running_mean/running_var after a train-mode call",
                   "running_not_stored")
            return
        rm, rv = np.array(rm, dtype=np.float64), np.array(rv, dtype=np.float64)
        if rm.shape != (C,) or rv.shape != (C,):
            diag = "sbn_per_pixel" if kind == "sbn" and rm.size == xs[0][0].size else "shape"
            p.fail(name, f"running_mean has shape {rm.shape} and running_var {rv.shape}, "
                   f"expected ({C},)", diag)
            return
        got_m.append(rm)
        got_v.append(rv)
    ref_m = [_sequences(xs[:k + 1], kind, lambda m, v, n: m)[-C:] for k in range(3)]
    ref_v = [_sequences(xs[:k + 1], kind, lambda m, v, n: v)[-C:] for k in range(3)]
    err = max(rel(np.concatenate(got_m), np.concatenate(ref_m)),
              rel(np.concatenate(got_v), np.concatenate(ref_v)))
    p.check(name, err, TOL64, lambda: _diagnose_running(got_m, got_v, xs, kind),
            what="running statistics after three train calls")


def _check_test_mode(p, fn, ref, x, gamma, beta, b, kind):
    C = gamma.size
    rm0 = _LOC + _SCALE  # one standard deviation away from the batch mean
    rv0 = (0.8 * _SCALE) ** 2
    param = {"mode": "test", "running_mean": rm0.copy(), "running_var": rv0.copy()}
    try:
        out, _ = p.unpack(p.call(fn, x.copy(), gamma.copy(), beta.copy(), param,
                                 label=p.report.layer), ("out", "cache"), p.report.layer)
    except Failed as err:
        # Running statistics already found of the wrong shape explain the crash.
        shaped = [q.diagnosis for q in p.report.failures if q.name == "running statistics"
                  and q.diagnosis in ("sbn_per_pixel", "shape")]
        if shaped:
            p.fail("test mode", f"with running statistics of the documented shape ({C},) "
                   f"a test-mode call raised {err.reason}", shaped[0])
        else:
            p.fail("test mode", f"a test-mode call raised {err.reason}", "exception")
        return
    ref_out, _ = ref(x, gamma, beta, {"mode": "test", "running_mean": rm0, "running_var": rv0})
    xmu = x - rm0.reshape(b)

    def diagnose():
        cands = {
            "eps_outside_sqrt": (_affine(xmu / (np.sqrt(rv0.reshape(b)) + EPS), gamma, beta, b),
                                 "(x - running_mean) / (sqrt(running_var) + eps)"),
            "test_uses_batch_stats": (_affine(xhat(x, kind, EPS), gamma, beta, b),
                                      "the train-mode output (batch statistics)"),
            "test_drops_affine": (xmu / np.sqrt(rv0.reshape(b) + EPS),
                                  "(x - running_mean) / sqrt(running_var + eps) alone"),
            "test_updates_running": (_affine(normalize_with(x, *_updated(x, rm0, rv0, kind),
                                                            b), gamma, beta, b),
                                     "normalizing with running statistics updated by "
                                     "this test batch"),
            "running_not_read": (_affine(x / np.sqrt(EPS), gamma, beta, b),
                                 "x / sqrt(0 + eps): running statistics of zeros"),
        }
        hit = best_match(out, cands, TOL64)
        if hit is None:
            return None, ""
        return hit[0], (f"in test mode out matches {hit[1]} {agree(hit[2])}, not the "
                        f"correct output (off by {rel(out, ref_out):.1e})")

    p.check("test mode", rel(out, ref_out), TOL64, diagnose, what="test-mode out")
    after = [np.asarray(param.get(k)) for k in ("running_mean", "running_var")]
    if any(a.shape != (C,) for a in after) or rel(after[0], rm0) + rel(after[1], rv0) > 0:
        p.fail("test mode keeps running statistics",
               "a test-mode call changed bn_param's running statistics", "test_updates_running")


def check_float32(p, fn, make_args, own_out, label):
    """float32 in: float32 out, agreeing with the same function's float64 result.

    The comparison is with the student's own float64 ``out``, not the correct
    one, so a wrong formula fails once, where it is wrong, and not again here.
    ``make_args(dtype, centred)`` builds fresh arguments; with ``centred`` x has
    its mean removed. A float32 result that is off only while x has a large
    mean is cancellation (var = mean(x**2) - mean(x)**2): a note, not a failure,
    since float64, the assignment's precision, keeps enough digits.
    """
    out = _first(p, fn, make_args(np.float32, False), label)
    if isinstance(out, str):
        p.fail("float32", f"a float32 call {out}", "exception")
        return
    dt = getattr(out, "dtype", None)
    if dt is None or dt.kind != "f" or dt.itemsize < 4:
        p.fail("float32", f"for float32 input out has dtype {dt}", "dtype")
        return
    if dt != np.float32:
        p.note("float32", f"for float32 input out is {dt} (harmless, twice the memory)")
    err = rel(out, own_out)
    if err <= TOL32:
        p.ok("float32 values")
        return
    o64, o32 = (_first(p, fn, make_args(dt, True), label) for dt in (np.float64, np.float32))
    centred = rel(o32, o64) if not isinstance(o32, str) else float("inf")
    if centred <= TOL32:
        p.note("float32 values", f"float32 out differs from your float64 out by {err:.1e}, "
               f"but only by {centred:.0e} once x has its mean removed",
               "var_cancellation")
        return
    p.check("float32 values", err, TOL32, what="float32 out compared with your float64 out")


def _first(p, fn, args, label):
    """The first returned value of ``fn(*args)``, or a one-line reason it has none."""
    try:
        value = p.call(fn, *args, label=label)
    except Failed as err:
        return f"raised {err.reason}"
    return value[0] if isinstance(value, tuple) and value else value


def _check_bn_like(layer: str, fn, kind: str):
    require_callable("fn", fn)
    ref = nc.batchnorm_forward if kind == "bn" else nc.spatial_batchnorm_forward
    xs, gamma, beta, b = _inputs(kind)
    with Probe(layer, fn) as p:
        param = {"mode": "train"}
        out, _ = p.run(fn, xs[0].copy(), gamma.copy(), beta.copy(), param,
                       names=("out", "cache"), label=layer, first=True)
        ref_out, _ = ref(xs[0], gamma, beta, {"mode": "train"})
        if getattr(out, "shape", None) != xs[0].shape:
            p.fail("shape", f"out has shape {getattr(out, 'shape', type(out).__name__)}, "
                   f"expected {xs[0].shape}", "shape", stop=True)
        if out.dtype != np.float64:
            p.fail("dtype", f"for float64 input out has dtype {out.dtype}", "dtype")
        p.check("train-mode output", rel(out, ref_out), TOL64,
                lambda: _diagnose_train(out, xs[0], gamma, beta, b, kind, ref_out))
        _check_running(p, fn, xs, gamma, beta, param, kind, gamma.size)
        _check_test_mode(p, fn, ref, xs[2], gamma, beta, b, kind)
        axes = (0,) if kind == "bn" else (0, 2, 3)

        def make_args(dt, centred):
            x = xs[0] - xs[0].mean(axis=axes, keepdims=True) if centred else xs[0]
            return (x.astype(dt), gamma.astype(dt), beta.astype(dt), {"mode": "train"})
        check_float32(p, fn, make_args, out, layer)
        if not p.mutation_reported:
            p.ok("inputs unchanged")
    return p.report


def check_batchnorm_forward(fn):
    """Check a student's ``batchnorm_forward(x, gamma, beta, bn_param)``.

    Parameters
    ----------
    fn : callable
        The student's function, with the assignment's signature.

    Returns
    -------
    Report
    """
    return _check_bn_like("batchnorm_forward", fn, "bn")


def check_spatial_batchnorm_forward(fn):
    """Check a student's ``spatial_batchnorm_forward(x, gamma, beta, bn_param)``.

    x is (N, C, H, W), gamma and beta (C,); running statistics must be (C,).

    Returns
    -------
    Report
    """
    return _check_bn_like("spatial_batchnorm_forward", fn, "sbn")
