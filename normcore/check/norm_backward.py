"""Checkers for the normalization layers' backward passes.

A student's backward pass reads the cache of *their* forward pass, so each
checker runs a forward pass first: the one passed as ``forward=``, else the
forward of the same name in the student's module (or notebook), else
normcore's. The gradients are compared with centred differences of that same
forward pass (``normcore.gradient_check``) and with normcore's analytic
gradients. A backward pass that is right for the student's own, wrong forward
is passed, with a note that the bug is in the forward.

When dx is wrong, it is fitted to ``ivar * (dxhat - a * mean(dxhat) - b * xhat
* mean(dxhat * xhat))`` (:func:`normcore.check.models.fit_dx`): the correct
gradient has a = b = 1, a forgotten mean path has a = 0, a lost 1/N makes a
coefficient N, a wrong count k in place of N makes both N/k.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

import normcore as nc
from normcore.check.bn_forward import EPS
from normcore.check.models import best_match, fit_dx, param_axes, stats
from normcore.check.probe import (Failed, Probe, Stop, agree, arrays_in, classify_exception,
                                  is_stub_value, rel, require_callable)

__all__ = ["check_batchnorm_backward", "check_batchnorm_backward_alt",
           "check_layernorm_backward", "check_spatial_batchnorm_backward",
           "check_spatial_groupnorm_backward"]

# Centred differences with h = 1e-5 on inputs whose std is >= 0.1 agree with the
# exact gradient to ~1e-9 relative; 1e-6 leaves a margin and still catches eps (5e-4).
TOL = 1e-6
TOL32 = 1e-3  # float32 gradients: ~6e-8 resolution magnified by mean/std up to 30
G = 2
_CACHE_ERRORS = (KeyError, IndexError, AttributeError, TypeError)


@dataclass(frozen=True)
class _Spec:
    kind: str
    forward_name: str
    ref_forward: Callable
    ref_backward: Callable
    x_shape: tuple
    gamma_shape: tuple
    train: bool  # the forward takes mode='train'

    def forward(self, fwd, x, gamma, beta):
        param = {"mode": "train"} if self.train else {}
        if self.kind == "gn":
            return fwd(x, gamma, beta, G, param)
        return fwd(x, gamma, beta, param)


_SPECS = {
    "batchnorm_backward": _Spec("bn", "batchnorm_forward", nc.batchnorm_forward,
                                nc.batchnorm_backward, (4, 3), (3,), True),
    "batchnorm_backward_alt": _Spec("bn", "batchnorm_forward", nc.batchnorm_forward,
                                    nc.batchnorm_backward_alt, (4, 3), (3,), True),
    "layernorm_backward": _Spec("ln", "layernorm_forward", nc.layernorm_forward,
                                nc.layernorm_backward, (3, 5), (5,), False),
    "spatial_batchnorm_backward": _Spec("sbn", "spatial_batchnorm_forward",
                                        nc.spatial_batchnorm_forward,
                                        nc.spatial_batchnorm_backward, (2, 3, 2, 2), (3,), True),
    "spatial_groupnorm_backward": _Spec("gn", "spatial_groupnorm_forward",
                                        nc.spatial_groupnorm_forward,
                                        nc.spatial_groupnorm_backward, (2, 4, 2, 2),
                                        (1, 4, 1, 1), False),
}


def _inputs(spec: _Spec):
    rng = np.random.RandomState(231)
    n = spec.x_shape[0] if spec.kind == "ln" else spec.x_shape[1]
    b = (n, 1) if spec.kind == "ln" else (1, n) + (1,) * (len(spec.x_shape) - 2)
    loc = np.linspace(-2.0, 3.0, n).reshape(b)
    scale = np.geomspace(0.1, 2.0, n).reshape(b)  # std 0.1: var is 1000 eps, eps still shows
    x = loc + scale * rng.randn(*spec.x_shape)
    gamma = rng.uniform(0.5, 1.5, spec.gamma_shape)
    beta = rng.randn(*spec.gamma_shape)
    return x, gamma, beta, rng.randn(*spec.x_shape)


def _forwards(fn, forward, spec):
    """The forward passes to try, in order: given, the student's module's, normcore's."""
    found = []
    if forward is not None:
        found.append((forward, "the forward you passed"))
    mod = getattr(fn, "__globals__", {}).get(spec.forward_name)
    if callable(mod) and mod is not spec.ref_forward and all(mod is not f for f, _ in found):
        found.append((mod, f"your {spec.forward_name}"))
    if all(f is not spec.ref_forward for f, _ in found):
        found.append((spec.ref_forward, f"normcore's {spec.forward_name}"))
    return found


def _is_cache_error(err: Failed) -> bool:
    e = err.exc
    return isinstance(e, _CACHE_ERRORS) or (isinstance(e, ValueError) and "unpack" in str(e))


def _run_pair(p, layer, fn, forward, spec, x, gamma, beta, dout):
    """Forward then the student's backward; returns (grads, out, fwd, source)."""
    skipped, cache_errors = [], []
    for fwd, source in _forwards(fn, forward, spec):
        try:
            value = p.call(lambda *a: spec.forward(fwd, *a), x.copy(), gamma.copy(),
                           beta.copy(), label=source)
        except Failed as err:
            skipped.append(f"{source} is not attempted yet"
                           if isinstance(err.exc, NotImplementedError)
                           else f"{source} raised {err.reason}")
            continue
        if is_stub_value(value) or not isinstance(value, tuple) or len(value) != 2:
            skipped.append(f"{source} is not attempted yet")
            continue
        out, cache = value
        try:
            grads = p.call(fn, dout.copy(), cache, first=True, label=layer)
        except Failed as err:
            if _is_cache_error(err):
                cache_errors.append((source, err.reason))
                continue
            diag, _ = classify_exception(err)
            p.fail("runs", f"{layer} raised {err.reason}", diag, stop=True)
        for s in skipped:
            p.note("forward used", f"{s}; the cache came from {source}")
        for src, reason in cache_errors:
            p.note("cache", f"{layer} raised {reason} on the cache of {src}; it ran on the "
                   f"cache of {source}", "needs_own_cache")
        return grads, out, fwd, source
    if cache_errors:
        src, reason = cache_errors[-1]
        own = [s for s, _ in cache_errors if not s.startswith("normcore")]
        evidence = (f"{layer} raised {reason} reading the cache {own[0]} returns" if own else
                    f"{layer} raised {reason} on normcore's cache, and no forward of yours "
                    f"was found; pass it: check_{layer}(fn, forward=your_{spec.forward_name})")
        p.fail("reads the cache", evidence, "needs_own_cache", stop=True)
    p.fail("runs", "; ".join(skipped) or "no forward pass could run", "exception", stop=True)


def _numerical(spec, fwd, x, gamma, beta, dout):
    def f(which):
        def g(v):
            args = [x, gamma, beta]
            args[which] = v
            return spec.forward(fwd, *args)[0]
        return g
    with np.errstate(all="ignore"):
        return [nc.eval_numerical_gradient_array(f(i), a.copy(), dout)
                for i, a in enumerate((x, gamma, beta))]


def _diagnose_dgamma(dgamma, x, dout, spec):
    mu, var, _ = stats(x, spec.kind, G if spec.kind == "gn" else None)
    if spec.kind == "gn":
        xmu = (x.reshape(x.shape[0], G, -1) - mu).reshape(x.shape)
        var = np.broadcast_to(var, (x.shape[0], G, x[0].size // G)).reshape(x.shape)
    else:
        xmu = x - mu
    axes = param_axes(x)
    shape = np.shape(dgamma)
    cands = {
        "dgamma_drops_eps": ((dout * xmu / np.sqrt(var)).sum(axis=axes).reshape(shape),
                             "sum(dout * (x - mu) / sqrt(var))"),
        "dgamma_from_x": ((dout * x).sum(axis=axes).reshape(shape), "sum(dout * x)"),
    }
    hit = best_match(dgamma, cands, TOL)
    if hit is None:
        return None, ""
    return hit[0], f"dgamma matches {hit[1]} {agree(hit[2])}"


def _diagnose_dx(dx, x, gamma, dout, spec, true_dx):
    kind, g = spec.kind, (G if spec.kind == "gn" else None)
    gamma_b = gamma.reshape((1, -1, 1, 1)) if x.ndim == 4 else gamma
    if kind == "ln":
        mu, var, _ = stats(x, "ln")
        ivar = 1 / np.sqrt(var + EPS)
        xhat, dxhat = (x - mu) * ivar, dout * gamma_b
        model = ivar * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
        if rel(dx, model) <= TOL:
            return "ln_backward_bn_axis", f"dx matches the batch-norm formula applied to " \
                f"layer norm's cache {agree(rel(dx, model))}"
    a, b, misfit = fit_dx(dx, x, gamma_b, dout, kind, EPS, g)
    n = stats(x, kind, g)[2]
    err = rel(dx, true_dx)
    # The modelled mistakes lie wholly in the two directions, so their fit is exact
    # to rounding; a coefficient off by eps-sized terms (eps / var <= 1e-3 here)
    # still matches within 0.02. More than 1 % of the error left unexplained means
    # another mistake, which is not guessed at.
    if misfit > 0.01:
        return None, ""
    if abs(a) < 0.02 and abs(b - 1) < 0.02:
        return "mu_path_forgotten", (f"dx is off by {err:.1e} and the whole error lies along "
                                     "the all-ones direction (a constant per statistic)")
    k = n / a if abs(a) > 1e-9 else 0.0  # the count the means seem to divide by
    if abs(a - b) < 0.02 * abs(a) and 1.5 < abs(k) < n - 0.5 and abs(k - round(k)) < 0.02:
        return "wrong_count", (f"dx's mean-path and variance-path terms are both {a:.2f} "
                               f"times the correct ones: the means' gradients seem divided "
                               f"by {round(k)}, where each statistic averages {n} values")
    if any(abs(c - n) < 0.02 * n for c in (a, b)):
        return "lost_1_over_n", (f"dx's mean-path and variance-path terms are {a:.2f} and "
                                 f"{b:.2f} times the correct ones, with N = {n}")
    if abs(a - 1) < 0.02:
        return "variance_path", (f"dx is off by {err:.1e} along xhat: its variance-path term "
                                 f"is {b:.2f} times the correct one")
    return None, ""


def _check_backward(layer: str, fn, forward):
    require_callable("fn", fn)
    if forward is not None:
        require_callable("forward", forward)
    spec = _SPECS[layer]
    x, gamma, beta, dout = _inputs(spec)
    with Probe(layer, fn) as p:
        grads, out, fwd, source = _run_pair(p, layer, fn, forward, spec, x, gamma, beta, dout)
        grads = p.unpack(grads, ("dx", "dgamma", "dbeta"), layer)
        names = ("dx", "dgamma", "dbeta")
        missing = [nm for nm, gr in zip(names, grads) if gr is None]
        if missing:
            p.fail("complete", f"{', '.join(missing)} returned as None", "unfinished_backward",
                   stop=True)
        # dout is random, so no true gradient here is zero; a zero one is unwritten.
        zeros = [nm for nm, gr in zip(names, grads) if not np.any(np.asarray(gr, dtype=float))]
        if zeros:
            p.fail("complete", f"{', '.join(zeros)} {'is' if len(zeros) == 1 else 'are'} "
                   "all zeros", "unfinished_backward", stop=True)
        want = (x.shape, gamma.shape, gamma.shape)
        bad = [f"{nm} has shape {np.shape(gr)}, expected {w}"
               for nm, gr, w in zip(names, grads, want) if np.shape(gr) != w]
        if bad:
            p.fail("shapes", "; ".join(bad), "shape", stop=True)
        if any(np.asarray(gr).dtype != np.float64 for gr in grads):
            p.fail("dtype", "for float64 input a gradient is not float64", "dtype")
        ref_out, ref_cache = spec.ref_forward(x, gamma, beta, {"mode": "train"}) \
            if spec.train else spec.forward(spec.ref_forward, x, gamma, beta)
        true = spec.ref_backward(dout, ref_cache)
        forward_ok = rel(out, ref_out) <= TOL
        num = _numerical(spec, fwd, x, gamma, beta, dout) if not forward_ok else true
        in_forward = False
        for nm, gr, nu, tr in zip(names, grads, num, true):
            if rel(gr, tr) <= TOL:
                p.ok(nm)
            elif not forward_ok and rel(gr, nu) <= TOL:
                p.ok(nm)
                in_forward = True
            elif not forward_ok:
                p.fail(nm, f"{nm} differs from the gradient of {source} by {rel(gr, nu):.1e} "
                       f"and from the correct one by {rel(gr, tr):.1e}; that forward is "
                       f"itself wrong: check it with check_{spec.forward_name} first")
            elif nm == "dgamma":
                p.check(nm, rel(gr, tr), TOL, lambda: _diagnose_dgamma(gr, x, dout, spec))
            elif nm == "dx":
                p.check(nm, rel(gr, tr), TOL, lambda: _diagnose_dx(gr, x, gamma, dout, spec, tr))
            else:
                p.check(nm, rel(gr, tr), TOL)
        if in_forward:
            p.note("forward", f"the gradients match centred differences of {source}, whose "
                   f"output is off by {rel(out, ref_out):.1e}", "bug_in_forward")
        if fwd is spec.ref_forward and p.report.failures:
            # normcore's cache is a named tuple: indexing it as one's own tuple runs, wrongly.
            p.note("cache", f"no forward of yours was found, so this ran on the cache of "
                   f"{source} ({type(ref_cache).__name__}); if {layer} reads your own "
                   f"forward's cache, pass it: check_{layer}(fn, forward=your_forward)")
        _check_alias(p, layer, fn, fwd, spec, x, gamma, beta, dout)
        _check_float32(p, layer, fn, fwd, spec, x, gamma, beta, dout, grads[0])
        if not p.mutation_reported:
            p.ok("inputs unchanged")
    return p.report


def _check_alias(p, layer, fn, fwd, spec, x, gamma, beta, dout):
    """Does an in-place change to out (as a next layer may make) change the gradient?"""
    try:
        out, cache = p.call(lambda *a: spec.forward(fwd, *a), x.copy(), gamma.copy(),
                            beta.copy(), label="forward")
        if not isinstance(out, np.ndarray) or not any(
                np.shares_memory(out, a) for a in arrays_in(cache)):
            return
        pristine = copy.deepcopy(cache)
        out *= 2.0  # keeps signs and zeros, so a cache of ReLU's output stays valid
        before = p.call(fn, dout.copy(), pristine, label=layer)
        after = p.call(fn, dout.copy(), cache, label=layer)
    except (Failed, Stop, ValueError, TypeError):
        return
    change = max(rel(a, b) for a, b in zip(after, before))
    if change > 1e-12:  # the same call on equal caches: anything above rounding is the alias
        p.fail("result independent of cache", f"out shares memory with the cache; after "
               f"out *= 2 the gradients changed by {change:.1e}", "result_aliases_cache")


def _check_float32(p, layer, fn, fwd, spec, x, gamma, beta, dout, own_dx):
    """float32 dx agrees with the student's own float64 dx (a wrong formula fails once)."""
    f32 = [a.astype(np.float32) for a in (x, gamma, beta, dout)]
    try:
        _, cache = p.call(lambda *a: spec.forward(fwd, *a), *f32[:3], label="forward")
        dx = p.call(fn, f32[3], cache, label=layer)[0]
    except (Failed, Stop, ValueError, TypeError) as err:
        p.fail("float32", f"a float32 run raised {getattr(err, 'reason', err)}", "exception")
        return
    dt = getattr(dx, "dtype", None)
    if dt is None or dt.kind != "f" or dt.itemsize < 4:
        p.fail("float32", f"for float32 input dx has dtype {dt}", "dtype")
        return
    if dt != np.float32:
        p.note("float32", f"for float32 input dx is {dt} (harmless, twice the memory)")
    p.check("float32 values", rel(dx, own_dx), TOL32,
            what="float32 dx compared with your float64 dx")


def _make(layer: str, doc: str):
    def checker(fn, forward=None):
        return _check_backward(layer, fn, forward)
    checker.__name__ = checker.__qualname__ = f"check_{layer}"
    checker.__doc__ = f"""Check a student's ``{layer}(dout, cache)``{doc}.

    Parameters
    ----------
    fn : callable
        The student's backward pass.
    forward : callable, optional
        The student's ``{_SPECS[layer].forward_name}``, whose cache ``fn`` reads.
        By default the one defined next to ``fn`` (same module or notebook), else
        normcore's.

    Returns
    -------
    Report
    """
    return checker


check_batchnorm_backward = _make("batchnorm_backward", " (through the computation graph)")
check_batchnorm_backward_alt = _make("batchnorm_backward_alt", " (the closed form)")
check_layernorm_backward = _make("layernorm_backward", "")
check_spatial_batchnorm_backward = _make("spatial_batchnorm_backward", "")
check_spatial_groupnorm_backward = _make("spatial_groupnorm_backward", "")
