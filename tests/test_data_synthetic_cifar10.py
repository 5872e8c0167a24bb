"""The synthetic CIFAR-10 (official format, md5 sums differ), NORMCORE_CIFAR10_VERIFY, and
what loading a small split of a full-size copy costs in memory."""

import os
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from normcore.data import VERIFY_ENV, cifar10, cifar10_verify_default, get_CIFAR10_data
from normcore.data import load_dataset
from normcore.data.synthetic_cifar10 import BATCH_SIZE, write_synthetic_cifar10

ROW = 3072
TOOL = os.path.join(os.path.dirname(__file__), os.pardir, "tools", "make_synthetic_cifar10.py")
OFFICIAL_BATCH_KEYS = {b"batch_label", b"labels", b"data", b"filenames"}


@pytest.fixture(scope="module")
def synthetic_full(tmp_path_factory):
    # Full size through the command-line tool, once for the module (a few seconds):
    # load_dataset's fixed 49,000 / 1,000 split needs all 50,000 training images.
    parent = tmp_path_factory.mktemp("synthetic")
    subprocess.run([sys.executable, TOOL, str(parent)], check=True, capture_output=True)
    return parent / "cifar-10-batches-py"


def _raw_pickle(path):
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="bytes")  # the files are ours: plain pickle is fine here
    return raw, obj


def test_synthetic_files_have_the_official_format(tmp_path):
    root = write_synthetic_cifar10(tmp_path, seed=0, batch_size=100)
    assert root == tmp_path / "cifar-10-batches-py"
    assert sorted(os.listdir(root)) == sorted(cifar10.FILE_MD5)  # no temporary files left
    for name in (*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH):
        raw, batch = _raw_pickle(root / name)
        # Protocol 2, Python 2 strings (no _codecs.encode calls), NumPy 1's reconstructor.
        assert raw[:2] == b"\x80\x02"
        assert b"_codecs" not in raw and b"cnumpy.core.multiarray\n_reconstruct\n" in raw
        assert set(batch) == OFFICIAL_BATCH_KEYS
        data, labels = batch[b"data"], batch[b"labels"]
        assert data.dtype == np.uint8 and data.shape == (100, ROW) and data.flags.c_contiguous
        assert isinstance(labels, list) and all(type(c) is int for c in labels)
        # Balanced classes, as in the official batches: 100 images -> 10 per class.
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 10))
        assert len(batch[b"filenames"]) == 100 and isinstance(batch[b"batch_label"], bytes)
        # Raw pixel scale, like the real images: the whole 0..255 range is used.
        assert data.min() == 0 and data.max() == 255
    raw, meta = _raw_pickle(root / "batches.meta")
    assert meta == {b"num_cases_per_batch": 100, b"num_vis": ROW,
                    b"label_names": [c.encode() for c in cifar10.CLASS_NAMES]}


def test_synthetic_is_deterministic_per_seed(tmp_path):
    def files(seed, where):
        root = write_synthetic_cifar10(tmp_path / where, seed=seed, batch_size=30)
        return {n: (root / n).read_bytes() for n in cifar10.FILE_MD5}

    first, again, other = files(3, "a"), files(3, "b"), files(4, "c")
    assert first == again
    for name in (*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH):
        assert first[name] != other[name], name
    # Each batch file is its own random stream, so no two batches are equal.
    assert len({first[n] for n in cifar10.TRAIN_BATCHES}) == 5


@pytest.mark.parametrize("kwargs, name", [({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
                                          ({"batch_size": 0}, "batch_size"),
                                          ({"directory": 3}, "directory")])
def test_synthetic_bad_arguments_name_themselves(tmp_path, kwargs, name):
    args = {"directory": tmp_path, **kwargs}
    with pytest.raises(TypeError, match=name):
        write_synthetic_cifar10(**args)


def test_synthetic_full_size_and_sizes_of_the_official_release(synthetic_full):
    assert BATCH_SIZE == 10000
    for name in (*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH):
        _, batch = _raw_pickle(synthetic_full / name)
        assert batch[b"data"].shape == (10000, ROW) and len(batch[b"labels"]) == 10000


def test_synthetic_is_refused_when_verified_and_named(synthetic_full, monkeypatch):
    monkeypatch.setenv(cifar10.CIFAR10_DIR_ENV, str(synthetic_full))
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    # Every batch differs from the official release, so the default (verified) refuses.
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        load_dataset("cifar10", num_train=100)
    for name in cifar10.FILE_MD5:
        assert name in str(err.value)


def test_synthetic_loads_with_verification_off_and_says_so(synthetic_full, monkeypatch):
    monkeypatch.setenv(cifar10.CIFAR10_DIR_ENV, str(synthetic_full))
    monkeypatch.setenv(VERIFY_ENV, "0")
    data = load_dataset("cifar10", num_train=1000, dtype=np.float32)
    assert data["X_train"].shape == (1000, 3, 32, 32) and data["X_train"].dtype == np.float32
    assert "md5 not verified" in data["source"] and str(synthetic_full) in data["source"]
    # Learnable class structure, not noise: a nearest-class-mean classifier on the
    # 1000 training images beats chance (0.1; its sd on 1000 validation images is
    # 0.0095, so 0.13 is 3 sd above it), yet the task is far from trivial (< 0.9).
    x = data["X_train"].reshape(1000, -1)
    centroids = np.stack([x[data["y_train"] == c].mean(axis=0) for c in range(10)])
    xv = data["X_val"].reshape(len(data["X_val"]), -1)
    d2 = (xv ** 2).sum(1)[:, None] - 2 * xv @ centroids.T + (centroids ** 2).sum(1)[None]
    acc = float((d2.argmin(axis=1) == data["y_val"]).mean())
    assert 0.13 < acc < 0.9, acc
    # An explicit verify=True still wins over the variable.
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_dataset("cifar10", num_train=100, verify=True)


@pytest.mark.parametrize("value, want", [(None, True), ("", True), ("1", True), ("0", False),
                                         (" 0 ", False)])
def test_verify_default_reads_the_variable(monkeypatch, value, want):
    if value is None:
        monkeypatch.delenv(VERIFY_ENV, raising=False)
    else:
        monkeypatch.setenv(VERIFY_ENV, value)
    assert cifar10_verify_default() is want


@pytest.mark.parametrize("value", ["yes", "false", "2", "off"])
def test_verify_default_refuses_anything_else_and_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(VERIFY_ENV, value)
    with pytest.raises(ValueError, match=VERIFY_ENV):
        cifar10_verify_default()


# ---------------------------------------------------------------- load what is used

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_split_of_full_size_copy_holds_one_batch_at_a_time(synthetic_full, monkeypatch,
                                                                  dtype):
    monkeypatch.setenv(cifar10.CIFAR10_DIR_ENV, str(synthetic_full))
    tracemalloc.start()  # NumPy reports its array buffers to tracemalloc
    try:
        data = load_dataset("cifar10", num_train=1000, dtype=dtype, verify=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = sum(data[k].nbytes for k in ("X_train", "y_train", "X_val", "y_val",
                                            "X_test", "y_test"))
    batch = BATCH_SIZE * ROW  # one batch of uint8 images: 30.7 MB
    assert data["X_train"].dtype == dtype and data["X_train"].shape == (1000, 3, 32, 32)
    # Besides the arrays returned, at most two batches' worth is alive at once (the
    # batch being read, and its pickle buffer while it is parsed). Holding every
    # image as uint8 would be six batches; as float64, 48.
    assert peak - returned < 2 * batch, (peak, returned)


def test_batches_after_the_last_image_used_are_not_read(synthetic_full, tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for name in ("data_batch_1", "data_batch_2", cifar10.TEST_BATCH):
        os.symlink(synthetic_full / name, root / name)
    # 10,500 training + validation images lie in the first two batches: 3..5 are absent.
    data = get_CIFAR10_data(9500, 1000, 100, cifar10_dir=root, verify=False, dtype=np.float32)
    full = get_CIFAR10_data(9500, 1000, 100, cifar10_dir=synthetic_full, verify=False,
                            dtype=np.float32)
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(data[key], full[key])
    assert data["X_val"].shape == (1000, 3, 32, 32)  # spans the batch boundary at 10,000
    # One image more than the two batches: the third is read, and its absence named.
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        get_CIFAR10_data(19500, 501, 100, cifar10_dir=root, verify=False)
