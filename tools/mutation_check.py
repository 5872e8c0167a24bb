"""A small mutation check: do normcore's tests notice small, realistic bugs?

    .venv/bin/python tools/mutation_check.py            # every mutant
    .venv/bin/python tools/mutation_check.py N3 S1      # some, by id
    .venv/bin/python tools/mutation_check.py --list     # the list, nothing run

Each mutant below is one bug a student or a maintainer could plausibly write (a
default changed, a comparison loosened, a term dropped, a check removed), given
as text replacements in one file. The script copies ``normcore/``, ``tests/`` and
``pyproject.toml`` into a temporary directory, checks that the unmutated copy
passes, then for each mutant applies its edits to the copy, runs the fast tests
of that file (``-x``: the first failure kills it) with the copy first on the
path, and puts the file back. The work tree is never written to. It prints a
table (killed, and by which test, or SURVIVED) and the kill rate.

Only mutants that change behaviour are listed: an equivalent mutant (a ``>``
that differs only where a uniform draw equals p exactly, a ``keepdims`` on a sum
that broadcasts either way, the mu path through the variance, whose batch sum is
zero) cannot be killed by any test, and would only dilute the rate. A mutant
whose text no longer occurs exactly once in its file (the code moved on) is
reported as STALE and left out of the rate: update its text.

Outside CI, like the benchmarks: a full run starts pytest once per mutant, which
takes tens of minutes on a shared machine; pass a few ids to rerun those alone.
Killing is monotone in the tests: adding a test or tightening one can only kill
more, so survivors can be rerun alone after a test is added for them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The fast tests that should catch a bug in each file (no notebooks, no browser).
TESTS = {
    "validation.py": ["tests/test_layers.py", "tests/test_normalization.py", "tests/test_gradient_check.py",
                      "tests/test_optim.py", "tests/test_fc_net.py", "tests/test_solver.py"],
    "layers.py": ["tests/test_layers.py", "tests/test_fc_net.py"],
    **{f"normalization/{f}": ["tests/test_normalization.py", "tests/test_normalization_properties.py"]
       for f in ("kernels.py", "batchnorm.py", "layernorm.py")},
    "gradient_check.py": ["tests/test_gradient_check.py"],
    "optim.py": ["tests/test_optim.py"],
    "solver.py": ["tests/test_solver.py"],
    "fc_net.py": ["tests/test_fc_net.py"],
}

TIMEOUT = 600  # seconds per mutant; a mutant that hangs the tests counts as killed


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # inside normcore/
    edits: tuple  # of (old, new): each old must occur exactly once
    what: str


def M(id, file, old, new, what):
    return Mutant(id, file, ((old, new),), what)


MUTANTS = [
    # ---- validation.py: the input checks ------------------------------------
    M("V1", "validation.py", "if not math.isfinite(v):", "if False:",
      "check_real accepts nan and inf (eps=nan, reg=inf)"),
    M("V2", "validation.py",
      "    if isinstance(value, bool) or not isinstance(value, numbers.Integral):\n"
      "        raise TypeError(f\"{name} must be a positive integer",
      "    if not isinstance(value, numbers.Integral):\n"
      "        raise TypeError(f\"{name} must be a positive integer",
      "check_positive_int accepts True as 1"),
    M("V3", "validation.py", "    if value <= 0:", "    if value < 0:", "check_positive_int accepts 0"),
    M("V4", "validation.py", "(v <= low if low_open else v < low)", "(v < low)",
      "open lower bounds become closed (eps=0 accepted)"),
    M("V5", "validation.py", "(v >= high if high_open else v > high)", "(v >= high)",
      "closed upper bounds become open (p=1, momentum=1 refused)"),
    M("V6", "validation.py", "y.max() >= num_classes", "y.max() > num_classes",
      "labels equal to num_classes accepted"),
    M("V7", "validation.py", "(y.min() < 0 or ", "(", "negative labels accepted"),
    M("V8", "validation.py", "if kind not in _REAL_KINDS:", "if kind not in _REAL_KINDS + \"c\":",
      "complex arrays accepted"),
    M("V9", "validation.py", "x.astype(np.float64 if dtype is None else dtype)", "x.astype(np.float64)",
      "integers promoted to float64 whatever the input's float dtype"),
    M("V10", "validation.py", "if x.dtype.kind != \"f\":", "if x.dtype.kind not in \"fiu\":",
      "gradient checkers accept an integer x (perturbation rounded away)"),
    M("V11", "validation.py", "        if x.ndim not in allowed:", "        if False:",
      "rank checks removed"),
    M("V12", "validation.py", "if x.shape != tuple(shape):", "if x.size != np.prod(shape):",
      "shape check compares sizes only ((1, D) accepted for (D,))"),
    M("V13", "validation.py", "FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))",
      "FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))",
      "float16 networks accepted"),
    M("V14", "validation.py", "    _check_ndarray(name, x, ndim, \"real numbers\")",
      "    x = np.asarray(x)\n    _check_ndarray(name, x, ndim, \"real numbers\")",
      "lists silently converted to arrays"),

    # ---- layers.py ------------------------------------------------------------
    M("L1", "layers.py", "    out += b\n", "", "affine forward forgets the bias"),
    M("L2", "layers.py", "db = dout.sum(axis=0)", "db = dout.mean(axis=0)", "affine db averaged instead of summed"),
    M("L3", "layers.py", "dw = x.reshape(N, -1).T @ dout", "dw = x.reshape(N, -1).T @ dout / N",
      "affine dw divided by N"),
    M("L4", "layers.py", "np.where(x > 0, dout, 0)", "np.where(x >= 0, dout, 0)",
      "ReLU passes the gradient at exactly 0"),
    M("L5", "layers.py", "np.maximum(x, 0), ReluCache(x)", "np.maximum(x, 0.01 * x), ReluCache(x)",
      "leaky ReLU forward"),
    M("L6", "layers.py", "    dx /= N\n", "", "softmax gradient not averaged over the batch"),
    M("L7", "layers.py", "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x",
      "softmax without the max shift (overflows)"),
    M("L8", "layers.py", "loss = -log_probs[rows, y].mean()", "loss = -log_probs[rows, y].sum()",
      "softmax loss summed, not averaged"),
    M("L9", "layers.py", "    mask /= p\n", "", "dropout not inverted (no 1/p scale)"),
    M("L10", "layers.py", "mask = (u < p).astype(x.dtype)", "mask = (u > p).astype(x.dtype)",
      "dropout keeps with probability 1 - p"),
    M("L11", "layers.py", "u = np.random.rand(*x.shape) if seed is None",
      "u = np.random.RandomState(0).rand(*x.shape) if seed is None",
      "unseeded dropout draws from a fixed private generator"),
    M("L12", "layers.py", "        return x, DropoutCache(mode, p, None)",
      "        return x * p, DropoutCache(mode, p, None)", "test-mode dropout scales by p"),
    M("L13", "layers.py", "    return dout * cache.mask", "    return dout", "dropout backward ignores the mask"),
    M("L14", "layers.py", "dropout_param[\"p\"], 0.0, 1.0, low_open=True)", "dropout_param[\"p\"], 0.0, 1.0)",
      "dropout p = 0 accepted"),
    M("L15", "layers.py", "else np.random.RandomState(seed).rand(*x.shape)",
      "else np.random.RandomState(seed + 1).rand(*x.shape)",
      "seeded dropout mask differs from the assignment's"),
    M("L16", "layers.py", "w = as_float_array(\"w\", w, x.dtype, ndim=2)", "w = as_float_array(\"w\", w, ndim=2)",
      "integer weights promoted to float64 next to a float32 input"),

    # ---- normalization/ -------------------------------------------------------
    M("N1", "normalization/kernels.py", "DEFAULT_MOMENTUM = 0.9", "DEFAULT_MOMENTUM = 0.99", "default momentum 0.99"),
    M("N2", "normalization/kernels.py", "DEFAULT_EPS = 1e-5", "DEFAULT_EPS = 1e-8", "default eps 1e-8"),
    M("N3", "normalization/batchnorm.py",
      "momentum * running_mean + (1 - momentum) * mu.reshape(C)",
      "(1 - momentum) * running_mean + momentum * mu.reshape(C)", "momentum the wrong way round"),
    M("N4", "normalization/batchnorm.py", "(1 - momentum) * var.reshape(C)", "(1 - momentum) * (var.reshape(C) + eps)",
      "eps stored in the running variance"),
    M("N5", "normalization/batchnorm.py", "var = _channel_sum_of_products(xmu, xmu).reshape(mu.shape) / m",
      "var = _channel_sum_of_products(xmu, xmu).reshape(mu.shape) / (m - 1)", "unbiased batch variance"),
    M("N6", "normalization/batchnorm.py",
      "        bn_param[\"running_mean\"], bn_param[\"running_var\"] = running_mean, running_var\n", "",
      "a first test-mode call leaves bn_param without running statistics"),
    M("N7", "normalization/batchnorm.py", "        mu = running_mean.reshape(gamma_b.shape)\n        var = running_var.reshape(gamma_b.shape)",
      "        mu = x.mean(axis=axis, keepdims=True)\n        var = x.var(axis=axis, keepdims=True)",
      "test mode normalizes with the batch's statistics"),
    M("N8", "normalization/batchnorm.py", "    std = np.sqrt(var + eps)\n", "    std = np.sqrt(var) + eps\n",
      "batch norm: eps outside the square root"),
    M("N9", "normalization/batchnorm.py", "    dx -= dbeta.reshape(stat_shape) / m\n", "", "closed form forgets the mu path"),
    M("N10", "normalization/batchnorm.py", "dgamma = _channel_sum_of_products(dout, xmu) * ivar.reshape(-1)",
      "dgamma = _channel_sum_of_products(dout, cache.x) * ivar.reshape(-1)", "dgamma from x instead of xhat"),
    M("N11", "normalization/batchnorm.py", "    if cache.mode == \"test\":\n        # Running",
      "    if False:\n        # Running", "test-mode backward uses the train-mode formula"),
    M("N12", "normalization/batchnorm.py", "dvar = 0.5 * dstd / np.sqrt(var + cache.eps)", "dvar = 0.5 * dstd / np.sqrt(var)",
      "graph backward drops eps in dvar"),
    M("N13", "normalization/batchnorm.py", "dsq = np.ones_like(xmu) * dvar / N", "dsq = np.ones_like(xmu) * dvar / (N - 1)",
      "graph backward: 1/(N-1) in the variance node"),
    M("N14", "normalization/layernorm.py", "_standardize_rows_backward(dout * cache.gamma, cache.xhat, cache.ivar)",
      "_standardize_rows_backward(dout, cache.xhat, cache.ivar)", "layer-norm backward forgets gamma"),
    M("N15", "normalization/kernels.py", "    ivar = 1.0 / np.sqrt(var + eps)\n    xhat *= ivar",
      "    ivar = 1.0 / (np.sqrt(var) + eps)\n    xhat *= ivar", "layer/group norm: eps outside the square root"),
    M("N16", "normalization/kernels.py", "    dx += mean_dxhat\n", "", "layer/group-norm backward forgets the mean term"),
    M("N17", "normalization/layernorm.py", "_standardize_rows(x.reshape(N, G, -1), eps)",
      "_standardize_rows(x.reshape(N, -1, G).transpose(0, 2, 1).copy(), eps)",
      "group reshape interleaves channels"),
    M("N18", "normalization/kernels.py", "return a.sum(axis=(0, *range(2, a.ndim)))", "return a.sum(axis=(0, 2))",
      "spatial sums leave out the W axis"),
    M("N19", "normalization/layernorm.py", "dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)", "dbeta = dout.sum(axis=(0, 2, 3))",
      "group-norm dbeta of shape (C,), not (1, C, 1, 1)"),
    M("N20", "normalization/kernels.py", "param[\"eps\"], 0.0, low_open=True)", "param[\"eps\"], 0.0)", "eps = 0 accepted"),
    M("N21", "normalization/batchnorm.py", "bn_param[\"momentum\"], 0.0, 1.0)", "bn_param[\"momentum\"], 0.0)",
      "momentum above 1 accepted"),
    M("N22", "normalization/layernorm.py", "    if C % G:", "    if C < G:", "G that does not divide C accepted"),
    M("N23", "normalization/kernels.py", "    check_shape(\"beta\", beta, shape)\n", "", "beta's shape unchecked"),
    M("N24", "normalization/batchnorm.py", "        running_var = np.zeros(C, dtype=x.dtype)",
      "        running_var = np.ones(C, dtype=x.dtype)", "running variance starts at 1 (PyTorch's)"),
    M("N25", "normalization/kernels.py", "gamma = as_float_array(\"gamma\", gamma, x.dtype)",
      "gamma = as_float_array(\"gamma\", gamma)", "integer gamma promoted to float64 next to float32 x"),
    M("N26", "normalization/kernels.py", "dout = as_float_array(\"dout\", dout, x.dtype)", "dout = as_float_array(\"dout\", dout)",
      "integer dout promoted to float64 next to float32 x"),
    M("N27", "normalization/batchnorm.py", "    m = dout.size // dbeta.size\n", "    m = dout.shape[0]\n",
      "spatial closed form divides by N instead of N*H*W"),
    M("N28", "normalization/batchnorm.py", "        return dout * scale, dgamma, dbeta", "        return dout * cache.gamma, dgamma, dbeta",
      "test-mode dx forgets 1/std"),
    M("N29", "normalization/layernorm.py", "    dgamma = _channel_sum_of_products(dout, cache.xhat)\n    dx = _standardize_rows_backward",
      "    dgamma = _channel_sum_of_products(dout, cache.x)\n    dx = _standardize_rows_backward",
      "layer-norm dgamma from x instead of xhat"),

    # ---- gradient_check.py ----------------------------------------------------
    Mutant("G1", "gradient_check.py",
           (("        x[ix] = old - h\n", "        x[ix] = old\n"),
            ("grad[ix] = (fxph - fxmh) / (2 * h)", "grad[ix] = (fxph - fxmh) / h")),
           "forward differences instead of centred"),
    M("G2", "gradient_check.py", "    finally:\n        x[ix] = old\n",
      "    except Exception:\n        raise\n    x[ix] = old\n", "x not restored when f raises"),
    M("G3", "gradient_check.py", "_evaluate_around(f, x, ix, h, copy=True)", "_evaluate_around(f, x, ix, h)",
      "array results not copied (a reused buffer reads 0)"),
    M("G4", "gradient_check.py", "np.maximum(1e-8, np.abs(x) + np.abs(y))", "np.maximum(1e-12, np.abs(x) + np.abs(y))",
      "rel_error floor 1e-12"),
    M("G5", "gradient_check.py", "tuple(random.randrange(m) for m in x.shape)",
      "tuple(int(np.random.randint(m)) for m in x.shape)", "unseeded sparse check draws from NumPy, not random"),
    M("G6", "gradient_check.py", "grad[ix] = np.sum((pos - neg) * df) / (2 * h)", "grad[ix] = np.sum(pos - neg) / (2 * h)",
      "eval_numerical_gradient_array ignores df"),
    M("G7", "gradient_check.py", "return check_real(\"h\", h, 0.0, low_open=True)", "return check_real(\"h\", h, 0.0)",
      "h = 0 accepted"),
    M("G8", "gradient_check.py", "df = as_float_array(\"df\", df, x.dtype)", "check_array(\"df\", df)",
      "integer df refused"),

    # ---- optim.py -------------------------------------------------------------
    M("O1", "optim.py", "    config.setdefault(\"learning_rate\", 1e-2)\n    next_w = w",
      "    config.setdefault(\"learning_rate\", 1e-3)\n    next_w = w", "sgd default learning rate 1e-3"),
    M("O2", "optim.py", "v = config[\"momentum\"] * v - config[\"learning_rate\"] * dw",
      "v = config[\"momentum\"] * v + config[\"learning_rate\"] * dw", "momentum steps uphill"),
    M("O3", "optim.py", "    config[\"velocity\"] = v\n", "", "velocity not stored"),
    M("O4", "optim.py", "(1 - decay) * (dw * dw)", "(1 - decay) * dw", "rmsprop averages dw, not dw**2"),
    M("O5", "optim.py", "dw / (np.sqrt(cache) + config[\"epsilon\"])", "dw / np.sqrt(cache + config[\"epsilon\"])",
      "rmsprop epsilon inside the square root"),
    M("O6", "optim.py", "m_hat = m / (1 - beta1**t)", "m_hat = m / (1 - beta1**config[\"t\"])",
      "adam uses t before incrementing it"),
    M("O7", "optim.py", "v_hat = v / (1 - beta2**t)", "v_hat = v", "adam without the second bias correction"),
    M("O8", "optim.py", "config.setdefault(\"beta2\", 0.999)", "config.setdefault(\"beta2\", 0.99)",
      "adam default beta2 0.99"),
    M("O9", "optim.py", "dw = as_float_array(\"dw\", dw, w.dtype)", "dw = as_float_array(\"dw\", dw)",
      "integer dw promoted to float64 next to a float32 w"),
    M("O10", "optim.py", "config[\"t\"], config[\"m\"], config[\"v\"] = t, m, v", "config[\"t\"], config[\"m\"] = t, m",
      "adam does not store v"),
    M("O11", "optim.py", "config.setdefault(\"momentum\", 0.9)", "config.setdefault(\"momentum\", 0.5)",
      "default momentum 0.5"),

    # ---- solver.py --------------------------------------------------------------
    M("S1", "solver.py", "if val_acc > self.best_val_acc or not self.best_params:",
      "if val_acc >= self.best_val_acc or not self.best_params:", "ties replace the earlier best"),
    M("S2", "solver.py", "max(num_train // self.batch_size, 1)", "num_train // self.batch_size",
      "no floor of 1 iteration per epoch"),
    M("S3", "solver.py", "if not np.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):",
      "if not np.isfinite(loss):", "a non-finite gradient with a finite loss goes unnoticed"),
    M("S4", "solver.py", "num_samples=self.num_val_samples, batch_size=1000)", "num_samples=None, batch_size=1000)",
      "num_val_samples ignored"),
    M("S5", "solver.py", "if len(X) > num_samples:", "if len(X) >= num_samples:",
      "subsamples when num_samples == N"),
    M("S6", "solver.py", "epoch_end = (t + 1) % iterations_per_epoch == 0", "epoch_end = t % iterations_per_epoch == 0",
      "epochs end one iteration early"),
    M("S7", "solver.py", "            self._restore_running_stats(self.best_running_stats)\n", "",
      "best running statistics not restored"),
    M("S8", "solver.py", "            return np.random.choice(n, size)", "            return np.random.permutation(n)[:size]",
      "minibatches without replacement"),
    M("S9", "solver.py", "        return self._rng.choice(n, size)", "        return np.random.choice(n, size)",
      "seeded solver draws from the global RNG"),
    M("S10", "solver.py", "self.diverged, self.diverged_at = True, t", "self.diverged, self.diverged_at = True, t + 1",
      "diverged_at off by one"),
    M("S11", "solver.py", "for start in range(0, len(X), batch_size)",
      "for start in range(0, len(X) - batch_size + 1, batch_size)", "check_accuracy drops the last partial batch"),
    M("S12", "solver.py", "if t == 0 or t == num_iterations - 1 or epoch_end:", "if epoch_end:",
      "no accuracy check after the first iteration"),
    M("S13", "solver.py", "                            config[\"learning_rate\"] *= self.lr_decay",
      "                            config[\"learning_rate\"] *= self.lr_decay ** 2", "learning rate decayed twice"),

    # ---- fc_net.py ----------------------------------------------------------------
    M("F1", "fc_net.py", "isinstance(hidden_dims, (str, bytes))", "isinstance(hidden_dims, str)",
      "hidden_dims=b\"100\" builds layers 49, 48, 48"),
    M("F2", "fc_net.py", "loss += 0.5 * self.reg * sum(", "loss += self.reg * sum(", "L2 term without the 1/2"),
    M("F3", "fc_net.py", "grads[f\"W{i}\"] + self.reg * W", "grads[f\"W{i}\"] + 2 * self.reg * W",
      "L2 gradient doubled"),
    M("F4", "fc_net.py", "noise = np.random.randn(fan_in, fan_out)", "noise = np.random.randn(fan_out, fan_in).T",
      "weights drawn in another order than the assignment's"),
    M("F5", "fc_net.py", "                self.dropout_param[\"seed\"] = seed\n", "                pass\n",
      "dropout seed not stored"),
    M("F6", "fc_net.py", "mode = \"test\" if y is None else \"train\"", "mode = \"train\"",
      "scores computed in train mode"),
    M("F7", "fc_net.py", "                dhidden = dropout_backward(dhidden, layer.dropout)\n",
      "                pass\n", "backward skips dropout"),
    M("F8", "fc_net.py", "if self._rng is None or \"seed\" in param or param[\"mode\"] == \"test\":",
      "if self._rng is None or \"seed\" in param:", "scoring advances the rng"),
]


def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "normcore", dest / "normcore", ignore=ignore)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _env(dest: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE="1")
    env.pop("NORMCORE_SEED_OFFSET", None)  # the tests' own seeds, as in CI
    return env


def _run_tests(dest: Path, tests: list[str]) -> tuple[bool, str, float]:
    """Run ``tests`` in the copy; return (passed, first failing test or reason, seconds)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rf", *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=dest, env=_env(dest), capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {TIMEOUT} s", time.monotonic() - start
    seconds = time.monotonic() - start
    if proc.returncode == 0:
        return True, "", seconds
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, flags=re.M)
    reason = failed[0] if failed else (proc.stdout + proc.stderr).strip().splitlines()[-1]
    return False, reason.removeprefix("tests/"), seconds


def _apply(path: Path, edits) -> str | None:
    """Apply the edits to ``path``; return its original text, or None if an edit is stale."""
    original = text = path.read_text()
    for old, new in edits:
        if text.count(old) != 1:
            return None
        text = text.replace(old, new)
    path.write_text(text)
    return original


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="mutant ids to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)

    ids = {m.id for m in MUTANTS}
    assert len(ids) == len(MUTANTS), "duplicate mutant id"
    unknown = set(args.ids) - ids
    if unknown:
        parser.error(f"unknown mutant id(s): {', '.join(sorted(unknown))}")
    mutants = [m for m in MUTANTS if not args.ids or m.id in args.ids]
    if args.list:
        for m in mutants:
            print(f"{m.id:4} {m.file:18} {m.what}")
        return 0

    with tempfile.TemporaryDirectory(prefix="normcore-mutants-") as tmp:
        dest = Path(tmp)
        _copy_tree(dest)
        where = subprocess.run([sys.executable, "-c", "import normcore; print(normcore.__file__)"],
                               cwd=dest, env=_env(dest), capture_output=True, text=True, check=True).stdout
        if not where.strip().startswith(str(dest)):
            print(f"the copy is not the normcore imported ({where.strip()}); stopping", file=sys.stderr)
            return 2
        files = sorted({m.file for m in mutants})
        baseline = sorted({t for f in files for t in TESTS[f]})
        ok, reason, seconds = _run_tests(dest, baseline)
        if not ok:
            print(f"the unmutated tests fail ({reason}); fix them first", file=sys.stderr)
            return 2
        print(f"unmutated: {len(baseline)} test files pass ({seconds:.0f} s)\n")

        rows, killed, stale = [], 0, 0
        print(f"{'id':4}  {'file':18} {'result':8} {'s':>4}  mutant / killed by")
        for m in mutants:
            path = dest / "normcore" / m.file
            original = _apply(path, m.edits)
            if original is None:
                stale += 1
                result, reason, seconds = "STALE", "text not found exactly once", 0.0
            else:
                try:
                    ok, reason, seconds = _run_tests(dest, TESTS[m.file])
                finally:
                    path.write_text(original)
                result = "SURVIVED" if ok else "killed"
                killed += not ok
            rows.append((m, result, reason))
            print(f"{m.id:4}  {m.file:18} {result:8} {seconds:4.0f}  {m.what}"
                  + (f"\n{'':39}by {reason}" if result == "killed" else ""), flush=True)

        counted = len(mutants) - stale
        print(f"\nkilled {killed} of {counted} mutants: kill rate {killed / counted:.0%}"
              + (f" ({stale} stale, not counted)" if stale else ""))
        survivors = [m.id for m, result, _ in rows if result == "SURVIVED"]
        if survivors:
            print("survived: " + ", ".join(survivors))
    return 0 if not survivors and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
