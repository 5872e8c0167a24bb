"""Checkers for the layers before normalization: affine, ReLU, softmax loss, dropout.

Backward checkers take ``forward=`` like the normalization ones: by default the
forward of the same name next to the student's backward, else normcore's
values with the assignment's cache (``(x, w, b)``, ``x``, ``(dropout_param,
mask)``), which a student's backward is written to read; normcore's own caches
are named tuples of other layouts.
"""

from __future__ import annotations

import numpy as np

import normcore as nc
from normcore.check.probe import Failed, Probe, rel, require_callable

__all__ = ["check_affine_forward", "check_affine_backward", "check_relu_forward",
           "check_relu_backward", "check_softmax_loss", "check_dropout_forward",
           "check_dropout_backward"]

TOL = 1e-6  # exact formulas in float64 agree to ~1e-15; centred differences to ~1e-9


def _affine_plain(x, w, b):
    return nc.affine_forward(x, w, b)[0], (x, w, b)


def _relu_plain(x):
    return nc.relu_forward(x)[0], x


def _dropout_plain(x, dropout_param):
    out, cache = nc.dropout_forward(x, dropout_param)
    return out, (dropout_param, cache.mask)


def _forward_for(fn, forward, name, ref):
    if forward is not None:
        require_callable("forward", forward)
        return forward
    mod = getattr(fn, "__globals__", {}).get(name)
    return mod if callable(mod) else ref


def _basic_forward(layer, fn, args, ref, n_out=2):
    require_callable("fn", fn)
    with Probe(layer, fn) as p:
        value = p.run(fn, *[a.copy() if isinstance(a, np.ndarray) else a for a in args],
                      names=("out", "cache")[:n_out], label=layer, first=True)
        want = ref(*args)
        if np.shape(value[0]) != np.shape(want[0]):
            p.fail("shape", f"out has shape {np.shape(value[0])}, expected "
                   f"{np.shape(want[0])}", "shape", stop=True)
        p.check("output", rel(value[0], want[0]), TOL)
        if not p.mutation_reported:
            p.ok("inputs unchanged")
    return p.report


def _basic_backward(layer, fn, fwd, plain_fwd, ref_fwd, ref_bwd, args, dout, names):
    """Student's fwd (else ``plain_fwd``) then fn, against normcore and centred differences."""
    with Probe(layer, fn) as p:
        fwd_name = layer.replace("backward", "forward")
        try:
            _, cache = p.call(fwd, *[a.copy() for a in args], label="forward")
        except (Failed, TypeError, ValueError) as err:  # a stub's None does not unpack
            if fwd is not plain_fwd:
                why = getattr(err, "reason", None) or "returned no (out, cache)"
                why = f"raised {why}" if hasattr(err, "reason") else why
                p.note("forward used", f"your {fwd_name} {why}; the cache came from "
                       f"normcore's {fwd_name}")
            fwd = plain_fwd
            _, cache = plain_fwd(*args)
        try:
            value = p.call(fn, dout.copy(), cache, first=True, label=layer)
        except Failed as err:
            own = fwd is plain_fwd and isinstance(err.exc, (KeyError, IndexError, TypeError,
                                                          AttributeError, ValueError))
            p.fail("runs", f"{layer} raised {err.reason}" + (" on normcore's cache" if own
                                                             else ""),
                   "needs_own_cache" if own else "exception", stop=True)
        grads = p.unpack(value, names, layer)
        true = ref_bwd(dout, ref_fwd(*args)[1])
        true = true if isinstance(true, tuple) else (true,)
        for i, (nm, g, t) in enumerate(zip(names, grads, true)):
            if g is None:
                p.fail(nm, f"{nm} returned as None", "unfinished_backward")
            elif np.shape(g) != np.shape(t):
                p.fail(nm, f"{nm} has shape {np.shape(g)}, expected {np.shape(t)}", "shape")
            else:
                def f(v, i=i):
                    a = list(args)
                    a[i] = v
                    return fwd(*a)[0]
                num = nc.eval_numerical_gradient_array(f, args[i].copy(), dout)
                p.check(nm, min(rel(g, t), rel(g, num)), TOL)
        if not p.mutation_reported:
            p.ok("inputs unchanged")
    return p.report


def _affine_args():
    rng = np.random.RandomState(231)
    return rng.randn(4, 2, 3), rng.randn(6, 5), rng.randn(5)


def check_affine_forward(fn):
    """Check ``affine_forward(x, w, b)`` on x of shape (N, d1, d2). Returns a Report."""
    return _basic_forward("affine_forward", fn, _affine_args(), nc.affine_forward)


def check_affine_backward(fn, forward=None):
    """Check ``affine_backward(dout, cache) -> dx, dw, db``. Returns a Report."""
    require_callable("fn", fn)
    fwd = _forward_for(fn, forward, "affine_forward", _affine_plain)
    dout = np.random.RandomState(0).randn(4, 5)
    return _basic_backward("affine_backward", fn, fwd, _affine_plain, nc.affine_forward,
                           nc.affine_backward, _affine_args(), dout, ("dx", "dw", "db"))


def _relu_x():
    x = np.random.RandomState(231).randn(5, 4)
    return np.where(np.abs(x) < 0.05, 0.5, x)  # away from the kink, where any subgradient is right


def check_relu_forward(fn):
    """Check ``relu_forward(x)``. Returns a Report."""
    return _basic_forward("relu_forward", fn, (_relu_x(),), nc.relu_forward)


def check_relu_backward(fn, forward=None):
    """Check ``relu_backward(dout, cache)``. Returns a Report."""
    require_callable("fn", fn)
    fwd = _forward_for(fn, forward, "relu_forward", _relu_plain)
    dout = np.random.RandomState(0).randn(5, 4)
    return _basic_backward("relu_backward", fn, fwd, _relu_plain, nc.relu_forward,
                           nc.relu_backward, (_relu_x(),), dout, ("dx",))


def check_softmax_loss(fn):
    """Check ``softmax_loss(x, y) -> loss, dx``, including scores of size 1e3.

    Returns
    -------
    Report
    """
    require_callable("fn", fn)
    rng = np.random.RandomState(231)
    x, y = rng.randn(6, 4), rng.randint(0, 4, 6)
    with Probe("softmax_loss", fn) as p:
        loss, dx = p.run(fn, x.copy(), y.copy(), names=("loss", "dx"), label="softmax_loss",
                         first=True)
        ref_loss, ref_dx = nc.softmax_loss(x, y)
        n = x.shape[0]

        def diag_loss():
            if rel(loss, ref_loss * n) <= TOL:
                return "softmax_not_averaged", f"loss is {n} = N times normcore's"
            return None, ""
        right = p.check("loss", rel(loss, ref_loss), TOL, diag_loss)
        right = p.check("dx", rel(dx, ref_dx), TOL) and right
        _check_large_scores(p, fn, 1000 * x, y, right)
    return p.report


def _check_large_scores(p, fn, big, y, right):
    """Scores spread over about +-2000: a naive exp overflows, a probability underflows.

    A non-finite loss or dx is the signature: NaN when exp itself overflows
    (inf / inf), inf when a probability underflows to 0 before the log. A finite
    result is compared with normcore only if the function is right at ordinary
    scores (otherwise that failure is already reported).
    """
    ref_loss, ref_dx = nc.softmax_loss(big, y)
    try:
        loss, dx = p.unpack(p.call(fn, big, y.copy(), label="softmax_loss"),
                            ("loss", "dx"), "softmax_loss")
    except Failed as err:
        p.fail("large scores", f"with scores of size 1e3 softmax_loss raised {err.reason}",
               "softmax_overflow")
        return
    values = np.concatenate([np.ravel(np.asarray(loss, dtype=float)),
                             np.ravel(np.asarray(dx, dtype=float))])
    if np.any(np.isnan(values)):
        p.fail("large scores", "with scores of size 1e3 the loss or dx is NaN "
               f"(normcore's loss: {ref_loss:.4g})", "softmax_overflow")
    elif not np.all(np.isfinite(values)):
        p.fail("large scores", f"with scores of size 1e3 the loss is {float(loss):g} "
               f"(normcore's: {ref_loss:.4g})", "softmax_underflow")
    elif right:
        p.check("large scores", max(rel(loss, ref_loss), rel(dx, ref_dx)), TOL,
                what="loss and dx at scores of size 1e3")
    else:
        p.ok("large scores", "finite")


def _dropout_x():
    return np.random.RandomState(231).randn(50, 40) + 2.0  # mostly positive, no exact zeros


def check_dropout_forward(fn):
    """Check inverted ``dropout_forward(x, dropout_param)`` (p = keep probability).

    Returns
    -------
    Report
    """
    require_callable("fn", fn)
    x, keep = _dropout_x(), 0.3
    with Probe("dropout_forward", fn) as p:
        out, _ = p.run(fn, x.copy(), {"p": keep, "mode": "train", "seed": 123},
                       names=("out", "cache"), label="dropout_forward", first=True)
        if np.shape(out) != x.shape:
            p.fail("shape", f"out has shape {np.shape(out)}, expected {x.shape}", "shape",
                   stop=True)
        kept = out != 0
        frac = float(kept.mean())
        # 2000 units: the kept fraction's std is sqrt(0.3 * 0.7 / 2000) = 0.01; 0.05 is 5 std.
        if abs(frac - keep) <= 0.05:
            p.ok("fraction kept")
        elif abs(frac - (1 - keep)) <= 0.05:
            p.fail("fraction kept", f"{frac:.2f} of the units are kept with p = {keep}",
                   "dropout_keep_vs_drop")
        else:
            p.fail("fraction kept", f"{frac:.2f} of the units are kept with p = {keep}")
        scale = float(np.median(out[kept] / x[kept])) if kept.any() else 0.0
        # x * mask / p in float64 gives 1/p to ~1e-16 relative: 1e-9 is rounding only.
        if abs(scale - 1 / keep) <= 1e-9:
            p.ok("kept units scaled by 1/p")
        else:
            p.fail("kept units scaled by 1/p", f"kept units are {scale:.3g} times x, "
                   f"expected 1/p = {1 / keep:.3g}",
                   "dropout_not_inverted" if abs(scale - 1) < 1e-9 else None)
        try:
            again = p.call(fn, x.copy(), {"p": keep, "mode": "train", "seed": 123})[0]
            p.check("same seed, same mask", rel(again, out), 0.0)
            test = p.call(fn, x.copy(), {"p": keep, "mode": "test"})[0]
            p.check("test mode is the identity", rel(test, x), TOL,
                    lambda: ("dropout_test_scales", f"test-mode out is {float(np.median(test / x)):.3g} times x"))
        except Failed as err:
            p.fail("runs", f"dropout_forward raised {err.reason}", "exception")
        if not p.mutation_reported:
            p.ok("inputs unchanged")
    return p.report


def check_dropout_backward(fn, forward=None):
    """Check ``dropout_backward(dout, cache)`` in train mode. Returns a Report."""
    require_callable("fn", fn)
    fwd = _forward_for(fn, forward, "dropout_forward", None)
    x = _dropout_x()[:6, :5]
    dout = np.random.RandomState(0).randn(6, 5)
    param = {"p": 0.6, "mode": "train", "seed": 7}

    def plain(v):
        return _dropout_plain(v, dict(param))
    return _basic_backward("dropout_backward", fn,
                           plain if fwd is None else (lambda v: fwd(v, dict(param))), plain,
                           lambda v: nc.dropout_forward(v, dict(param)),
                           nc.dropout_backward, (x,), dout, ("dx",))
