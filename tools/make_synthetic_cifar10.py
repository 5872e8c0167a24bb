"""Write a full-size synthetic CIFAR-10 in the official format: ``DIR/cifar-10-batches-py/``.

    .venv/bin/python tools/make_synthetic_cifar10.py DIR [--seed N]

For building and testing the book on CIFAR-10-shaped data where the real data
set cannot be downloaded (CI). The files are not the official ones, so load
them with ``NORMCORE_CIFAR10_VERIFY=0``::

    NORMCORE_DATASET=cifar10 NORMCORE_CIFAR10_VERIFY=0 \\
        NORMCORE_CIFAR10_DIR=DIR/cifar-10-batches-py ./dev book

See :mod:`normcore.data.synthetic_cifar10` for what the images contain.
"""

from __future__ import annotations

import argparse
import sys
import time

from normcore.data.synthetic_cifar10 import write_synthetic_cifar10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make_synthetic_cifar10.py",
        description="Write a synthetic CIFAR-10 (official format, md5 sums differ) "
                    "into DIR/cifar-10-batches-py.")
    parser.add_argument("dir", metavar="DIR", help="parent directory of cifar-10-batches-py")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    start = time.perf_counter()
    root = write_synthetic_cifar10(args.dir, seed=args.seed)
    print(f"synthetic CIFAR-10 written to {root} in {time.perf_counter() - start:.1f} s "
          "(load it with NORMCORE_CIFAR10_VERIFY=0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
