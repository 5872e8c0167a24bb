"""normcore.data.identity: one key per (data set, copy, seed offset), so builds never mix."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from normcore.data import cifar10
from normcore.data.identity import selection
from test_data_cifar10 import write_fake_cifar10

VARS = ("NORMCORE_DATASET", "NORMCORE_CIFAR10_DIR", "NORMCORE_CIFAR10_VERIFY",
        "NORMCORE_SEED_OFFSET")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fake_copy(tmp_path, monkeypatch):
    root = tmp_path / "a" / "cifar-10-batches-py"
    write_fake_cifar10(root)
    monkeypatch.setenv("NORMCORE_DATASET", "cifar10")
    monkeypatch.setenv("NORMCORE_CIFAR10_DIR", str(root))
    return root


def test_default_is_mnist1d_and_the_offset_is_part_of_the_key(monkeypatch):
    assert selection() == ("mnist1d", "MNIST-1D")
    monkeypatch.setenv("NORMCORE_SEED_OFFSET", "1000")
    assert selection() == ("mnist1d-seeds+1000", "MNIST-1D, seeds shifted by 1000")
    monkeypatch.setenv("NORMCORE_SEED_OFFSET", "0")
    assert selection().key == "mnist1d"


def test_unverified_copies_are_keyed_by_their_content(fake_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCORE_CIFAR10_VERIFY", "0")
    first = selection()
    assert re.fullmatch(r"cifar10-unverified-[0-9a-f]{12}", first.key), first.key
    assert first.title == f"CIFAR-10 (md5 not verified: {fake_copy})"
    # The same bytes elsewhere: the same results, so the same key.
    other = tmp_path / "b" / "cifar-10-batches-py"
    shutil.copytree(fake_copy, other)
    monkeypatch.setenv("NORMCORE_CIFAR10_DIR", str(other))
    assert selection().key == first.key
    # One byte changed in one batch: another data set as far as results go.
    path = other / "data_batch_3"
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 1
    path.write_bytes(bytes(raw))
    assert selection().key != first.key
    monkeypatch.setenv("NORMCORE_SEED_OFFSET", "7")
    assert selection().key.endswith("-seeds+7")


def test_verified_cifar10_must_be_the_official_copy(fake_copy, monkeypatch):
    with pytest.raises(ValueError, match="checksum mismatch.*NORMCORE_CIFAR10_VERIFY=0"):
        selection()
    # With the official table made to match this copy, it is "the" CIFAR-10: one key.
    sums = {n: hashlib.md5((fake_copy / n).read_bytes()).hexdigest() for n in cifar10.FILE_MD5}
    monkeypatch.setattr(cifar10, "FILE_MD5", sums)
    assert selection() == ("cifar10", "CIFAR-10 (md5 verified)")


def test_missing_file_is_named(fake_copy, monkeypatch):
    monkeypatch.setenv("NORMCORE_CIFAR10_VERIFY", "0")
    (fake_copy / "batches.meta").unlink()
    with pytest.raises(FileNotFoundError, match="batches.meta"):
        selection()


def _cli(env):
    full = {k: v for k, v in os.environ.items() if k not in VARS}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "normcore.data", "selection"], env=full,
                          capture_output=True, text=True)


def test_command_line_prints_key_and_title_or_names_the_data_set(fake_copy):
    ok = _cli({"NORMCORE_DATASET": "cifar10", "NORMCORE_CIFAR10_DIR": str(fake_copy),
               "NORMCORE_CIFAR10_VERIFY": "0", "NORMCORE_SEED_OFFSET": "3"})
    assert ok.returncode == 0, ok.stderr
    key, title = ok.stdout.splitlines()
    assert key.startswith("cifar10-unverified-") and key.endswith("-seeds+3")
    assert title.startswith("CIFAR-10 (md5 not verified")
    bad = _cli({"NORMCORE_DATASET": "cifar10", "NORMCORE_CIFAR10_DIR": str(fake_copy)})
    assert bad.returncode == 1 and bad.stdout == ""
    assert "data set cifar10" in bad.stderr and "checksum mismatch" in bad.stderr
    typo = _cli({"NORMCORE_DATASET": "cifar"})
    assert typo.returncode == 1 and "NORMCORE_DATASET" in typo.stderr and "'cifar'" in typo.stderr
