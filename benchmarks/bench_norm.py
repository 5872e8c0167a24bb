"""Time normcore's batch-norm and layer-norm kernels, and PyTorch's if it is installed.

    python benchmarks/bench_norm.py [--repeats 15] [--min-time 0.01] [--shape N,D] [--dtype float32]

For each shape in (100, 500), (256, 1024), (4096, 1024) and each dtype in
float32, float64 it times with ``timeit``: batch-norm forward (train mode),
graph backward, closed-form backward, forward + closed-form backward; layer-norm
forward, backward, forward + backward. Each figure is the median over
``--repeats`` repeats of the per-call time, each repeat running enough calls to
last at least ``--min-time`` seconds, so allocation and timer noise average out.

If ``torch`` is importable (it is not a normcore dependency), its CPU kernels
(``native_batch_norm``/``native_layer_norm`` and their backward kernels, called
directly, without autograd's bookkeeping) are timed on one thread, each right
after ours, so both see the same machine load; the table shows ours / torch as
the median of the per-repeat ratios (the graph / closed-form speedup likewise).
One thread because NumPy's elementwise kernels use one, and on a shared machine
a multi-threaded torch swings with the neighbours' load. NumPy's BLAS, which
normcore uses for plain row and column sums, is held to one thread as well
(threadpoolctl), so neither side gets a second core.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import timeit

import numpy as np
from threadpoolctl import threadpool_limits

from normcore.normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

SHAPES = ((100, 500), (256, 1024), (4096, 1024))
DTYPES = (np.float32, np.float64)

try:
    import torch
except ImportError:
    torch = None


def numpy_ops(x, gamma, beta, dout):
    """Name -> zero-argument callable running one of our kernels on fixed inputs."""
    _, bn_cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    _, ln_cache = layernorm_forward(x, gamma, beta, {})

    def bn_fwd_bwd():
        _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
        return batchnorm_backward_alt(dout, cache)

    def ln_fwd_bwd():
        _, cache = layernorm_forward(x, gamma, beta, {})
        return layernorm_backward(dout, cache)

    return {
        "BN forward": lambda: batchnorm_forward(x, gamma, beta, {"mode": "train"}),
        "BN backward graph": lambda: batchnorm_backward(dout, bn_cache),
        "BN backward closed": lambda: batchnorm_backward_alt(dout, bn_cache),
        "BN fwd+bwd": bn_fwd_bwd,
        "LN forward": lambda: layernorm_forward(x, gamma, beta, {}),
        "LN backward": lambda: layernorm_backward(dout, ln_cache),
        "LN fwd+bwd": ln_fwd_bwd,
    }


def torch_ops(x, gamma, beta, dout):
    """The same operations with PyTorch's CPU kernels (no autograd)."""
    tx, tg, tb, td = (torch.from_numpy(a.copy()) for a in (x, gamma, beta, dout))
    D = x.shape[1]
    rm, rv = torch.zeros(D, dtype=tx.dtype), torch.ones(D, dtype=tx.dtype)
    eps, mask = 1e-5, [True, True, True]
    aten = torch.ops.aten

    def bn_fwd():
        return torch.native_batch_norm(tx, tg, tb, rm, rv, True, 0.1, eps)

    _, bn_mean, bn_invstd = bn_fwd()

    def bn_bwd(mean=bn_mean, invstd=bn_invstd):
        return aten.native_batch_norm_backward(td, tx, tg, rm, rv, mean, invstd, True, eps, mask)

    def bn_fwd_bwd():
        _, mean, invstd = bn_fwd()
        return bn_bwd(mean, invstd)

    def ln_fwd():
        return torch.native_layer_norm(tx, [D], tg, tb, eps)

    _, ln_mean, ln_rstd = ln_fwd()

    def ln_bwd(mean=ln_mean, rstd=ln_rstd):
        return aten.native_layer_norm_backward(td, tx, [D], mean, rstd, tg, tb, mask)

    def ln_fwd_bwd():
        _, mean, rstd = ln_fwd()
        return ln_bwd(mean, rstd)

    return {
        "BN forward": bn_fwd,
        "BN backward closed": bn_bwd,
        "BN fwd+bwd": bn_fwd_bwd,
        "LN forward": ln_fwd,
        "LN backward": ln_bwd,
        "LN fwd+bwd": ln_fwd_bwd,
    }


def check_agreement(ours: dict, theirs: dict, dtype) -> None:
    """Refuse to time torch kernels that compute something other than ours."""
    # Float32 results differ by summation order: ~1e-4 relative on
    # 1024-term reductions of values ~10; float64 by ~1e-12.
    rtol, atol = (1e-3, 1e-3) if dtype == np.float32 else (1e-9, 1e-9)
    for name, fn in theirs.items():
        a, b = ours[name](), fn()
        # Forward: (out, cache) vs (out, mean, invstd); backward: (dx, dgamma, dbeta) in both.
        n = 1 if name.endswith("forward") else 3
        for mine, other in zip(a[:n], b[:n]):
            np.testing.assert_allclose(mine, other.numpy(), rtol=rtol, atol=atol, err_msg=name)


def calls_per_repeat(fn, min_time: float) -> int:
    """Smallest 1, 2, 5, 10, 20, ... calls that take at least ``min_time`` seconds."""
    number, _ = timeit.Timer(fn).autorange()
    t = timeit.Timer(fn).timeit(number) / number
    return max(1, int(np.ceil(min_time / t)))


def time_interleaved(impls: dict, repeats: int, min_time: float) -> dict:
    """Seconds per call of each callable, one sample per repeat, callables interleaved."""
    numbers = {k: calls_per_repeat(fn, min_time) for k, fn in impls.items()}
    samples = {k: [] for k in impls}
    for _ in range(repeats):
        for k, fn in impls.items():
            samples[k].append(timeit.Timer(fn).timeit(numbers[k]) / numbers[k])
    return samples


def paired_ratio(a: list, b: list) -> float:
    """Median of the per-repeat ratios a[i] / b[i].

    Samples of one repeat ran back to back, so they saw the same load from
    other processes; their ratio cancels it better than a ratio of medians.
    """
    return statistics.median(x / y for x, y in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="repeats per timing (median taken)")
    parser.add_argument("--min-time", type=float, default=0.01, help="seconds per repeat, at least")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--shape", action="append", metavar="N,D",
                        help="time only this shape (repeatable); default: all three")
    parser.add_argument("--dtype", action="append", choices=[np.dtype(d).name for d in DTYPES],
                        help="time only this dtype (repeatable); default: both")
    args = parser.parse_args()
    use_torch = torch is not None and not args.no_torch
    if use_torch:
        torch.set_num_threads(1)

    print(f"numpy {np.__version__}, python {platform.python_version()}, {platform.machine()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("numpy's BLAS: 1 thread")
    print(f"torch {torch.__version__}, 1 thread" if use_torch else "torch: not timed")
    print(f"median of {args.repeats} repeats, each >= {args.min_time * 1e3:.0f} ms; times in microseconds per call\n")
    header = f"{'shape':>12} {'dtype':>8} {'operation':<20} {'normcore':>10}"
    if use_torch:
        header += f" {'torch':>10} {'ours/torch':>10}"
    print(header)
    print("-" * len(header))

    shapes = [tuple(int(n) for n in s.split(",")) for s in args.shape] if args.shape else SHAPES
    dtypes = [np.dtype(d).type for d in args.dtype] if args.dtype else DTYPES
    rng = np.random.default_rng(0)
    speedups = []
    for shape in shapes:
        for dtype in dtypes:
            # Off-centre, off-scale inputs, as in the assignment's checks.
            x = (5 * rng.standard_normal(shape) + 12).astype(dtype)
            gamma = rng.standard_normal(shape[1]).astype(dtype)
            beta = rng.standard_normal(shape[1]).astype(dtype)
            dout = rng.standard_normal(shape).astype(dtype)
            ours = numpy_ops(x, gamma, beta, dout)
            theirs = torch_ops(x, gamma, beta, dout) if use_torch else {}
            check_agreement(ours, theirs, dtype)
            # Ours and torch's version of an operation run back to back, so a burst of
            # load from other processes hits both sides of a ratio alike.
            impls = {}
            for k, fn in ours.items():
                impls["np", k] = fn
                if k in theirs:
                    impls["torch", k] = theirs[k]
            with threadpool_limits(limits=1):
                samples = time_interleaved(impls, args.repeats, args.min_time)
            t = {k: statistics.median(v) for k, v in samples.items()}
            for name in ours:
                row = f"{str(shape):>12} {np.dtype(dtype).name:>8} {name:<20} {t['np', name] * 1e6:>10.1f}"
                if ("torch", name) in t:
                    ratio = paired_ratio(samples["np", name], samples["torch", name])
                    row += f" {t['torch', name] * 1e6:>10.1f} {ratio:>10.2f}"
                print(row)
            speedups.append((shape, np.dtype(dtype).name,
                             paired_ratio(samples["np", "BN backward graph"], samples["np", "BN backward closed"])))
    print("\nBN backward, graph time / closed-form time:")
    for shape, dtype, s in speedups:
        print(f"{str(shape):>12} {dtype:>8} {s:6.2f}x")


if __name__ == "__main__":
    main()
