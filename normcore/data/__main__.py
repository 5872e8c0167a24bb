"""Command line for normcore's data sets.

    python -m normcore.data download cifar10 [--dir DIR]   fetch and unpack CIFAR-10
    python -m normcore.data info                           what is where
    python -m normcore.data selection                      key and title of the selected data
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from normcore.data import cifar10, mnist1d
from normcore.data.dataset import DATASET_ENV, default_dataset
from normcore.data.download import DownloadError, download_cifar10
from normcore.storage import cache_dir


def _download(args: argparse.Namespace) -> int:
    target = Path(args.dir).expanduser() if args.dir else cifar10.default_dir()
    if target.exists():
        try:
            cifar10.verify_checksums(target)
        except (OSError, ValueError) as exc:
            print(f"error: {target} exists but is not an intact official copy:\n  {exc}\n"
                  f"Remove {target} and run this command again.", file=sys.stderr)
            return 1
        print(f"CIFAR-10 is already in {target} (checksums verified); nothing to do.")
        return 0
    try:
        download_cifar10(target, url=args.url, md5=args.md5, progress=not args.quiet)
    except (DownloadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; nothing was kept.", file=sys.stderr)
        return 130
    print(f"CIFAR-10 is in {target}.")
    if target != cifar10.default_dir():
        print(f"Tell the loaders where it is: export {cifar10.CIFAR10_DIR_ENV}={target}")
    print(f"Run every chapter on it: export {DATASET_ENV}=cifar10")
    return 0


def _info(args: argparse.Namespace) -> int:
    try:
        default = default_dataset()
    except ValueError as exc:
        default = f"invalid ({exc})"
    print(f"default data set  : {default}  (${DATASET_ENV}={os.environ.get(DATASET_ENV, '')!r})")
    print(f"cache directory   : {cache_dir(create=False)}")
    path = mnist1d.cache_path()
    print(f"MNIST-1D cache    : {path} ({'present' if path.exists() else 'generated on first use'})")
    root = cifar10.default_dir()
    missing = [n for n in cifar10.FILE_MD5 if not (root / n).is_file()]
    state = "complete" if not missing else ("absent" if not root.exists()
                                            else f"missing {', '.join(missing)}")
    print(f"CIFAR-10 directory: {root} ({state})")
    if not root.exists():
        print(f"  get it with: {cifar10.download_command(root)}")
    return 0


def _selection(args: argparse.Namespace) -> int:
    from normcore.data.identity import selection
    try:
        chosen = selection()
    except (OSError, ValueError) as exc:
        try:
            what = f"data set {default_dataset()} (${DATASET_ENV}={os.environ.get(DATASET_ENV, '')!r})"
        except ValueError:
            what = "the data set"
        print(f"error: {what} cannot be used: {exc}", file=sys.stderr)
        return 1
    print(chosen.key)
    print(chosen.title)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m normcore.data",
                                     description="normcore's data sets: download and inspect.")
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help="download a data set (only cifar10 needs one)")
    dl.add_argument("dataset", choices=["cifar10"])
    dl.add_argument("--dir", help="the cifar-10-batches-py directory to create "
                    f"(default ${cifar10.CIFAR10_DIR_ENV}, else the per-user cache)")
    dl.add_argument("--url", default=cifar10.URL, help="archive address, for a mirror")
    dl.add_argument("--md5", default=cifar10.ARCHIVE_MD5, help="the archive's md5 (with --url)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    dl.set_defaults(run=_download)
    info = sub.add_parser("info", help="show which data set is the default and what is cached")
    info.set_defaults(run=_info)
    sel = sub.add_parser("selection", help="print the selected data's key (line 1) and title "
                         "(line 2), after checking the data can be read; exit 1 with the "
                         "reason if not")
    sel.set_defaults(run=_selection)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
