"""``python -m normcore.sweeps clear-cache|info``: manage the cache of sweep results."""

from __future__ import annotations

import argparse
import sys

from normcore.sweeps.cache import clear_cache, sweep_cache_dir

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m normcore.sweeps",
                                     description="Manage normcore's cache of sweep results.")
    parser.add_argument("command", choices=("clear-cache", "info"),
                        help="clear-cache: delete every cached run; info: where and how big")
    parser.add_argument("--dir", help="a cache directory other than the per-user one")
    args = parser.parse_args(argv)
    cache = args.dir if args.dir else True
    if args.command == "clear-cache":
        n = clear_cache(cache)
        print(f"removed {n} cached run(s) from {sweep_cache_dir(cache)}")
    else:
        directory = sweep_cache_dir(cache)
        files = [p for p in directory.iterdir() if p.suffix == ".json"]
        size = sum(p.stat().st_size for p in files)
        print(f"{directory}: {len(files)} cached run(s), {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
