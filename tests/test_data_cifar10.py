"""CIFAR-10 loading on small fakes written in the official on-disk format.

The fakes are protocol-2 pickles of dicts with bytes keys whose ``data`` is a
uint8 (n, 3072) array of channel-major rows, as in ``cifar-10-batches-py``.
``write_fake_cifar10`` is also used by the download tests.
"""

import hashlib
import os
import pickle

import numpy as np
import pytest

from normcore.data import UnsafePickleError, get_CIFAR10_data, load_CIFAR10, load_dataset
from normcore.data import cifar10
from normcore.data.py2_pickle import dumps_py2

N_BATCH = 20   # rows per training batch: 5 batches -> 100 training images
N_TEST = 20
ROW = 3072

# A marked pixel: image MARK_IMAGE of data_batch_1, channel c, row r, column k.
# Distinct r and k so a swapped transpose cannot land on the same spot.
MARK_IMAGE, MARK_C, MARK_R, MARK_K = 3, 2, 5, 17
MARK_VALUE = 255  # other pixels are drawn from 0..200, so the mark is unique


def _dumps(obj, style):
    if style == "numpy2":
        return pickle.dumps(obj, protocol=2)
    # Python 2 strings and NumPy 1's numpy.core.multiarray._reconstruct, as the official files.
    return dumps_py2(obj)


def make_rows(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 201, size=(n, ROW), dtype=np.uint8)


def write_fake_cifar10(root, n_batch=N_BATCH, n_test=N_TEST, style="numpy2", rows=None):
    """Write a ``cifar-10-batches-py`` look-alike into ``root``; return the raw rows and labels.

    ``style="numpy2"``: pickled by Python 3 under NumPy 2; ``"py2-numpy1"``:
    Python 2 strings and NumPy 1's ``numpy.core.multiarray._reconstruct``.
    """
    os.makedirs(root, exist_ok=True)
    raw = {}
    names = [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        n = n_test if name == "test_batch" else n_batch
        data = make_rows(n, seed=i) if rows is None else rows(i, n)
        if name == "data_batch_1":
            data[MARK_IMAGE, MARK_C * 1024 + MARK_R * 32 + MARK_K] = MARK_VALUE
        labels = [(7 * j + i) % 10 for j in range(n)]
        batch = {b"batch_label": f"fake batch {i}".encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{i}_{j}.png".encode() for j in range(n)]}
        with open(os.path.join(root, name), "wb") as f:
            f.write(_dumps(batch, style))
        raw[name] = (data, np.array(labels, dtype=np.int64))
    meta = {b"num_cases_per_batch": n_batch,
            b"label_names": [c.encode() for c in cifar10.CLASS_NAMES], b"num_vis": ROW}
    with open(os.path.join(root, "batches.meta"), "wb") as f:
        f.write(_dumps(meta, style))
    return raw


def _train_rows(raw):
    return (np.concatenate([raw[f"data_batch_{b}"][0] for b in range(1, 6)]),
            np.concatenate([raw[f"data_batch_{b}"][1] for b in range(1, 6)]))


@pytest.fixture
def fake(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    return root, write_fake_cifar10(root)


def test_load_CIFAR10_shapes_dtypes_and_values(fake):
    root, raw = fake
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root, verify=False)
    assert Xtr.shape == (5 * N_BATCH, 32, 32, 3) and Xtr.dtype == np.float64
    assert Xte.shape == (N_TEST, 32, 32, 3) and Xte.dtype == np.float64
    assert Ytr.dtype == np.int64 and Yte.dtype == np.int64
    rows, labels = _train_rows(raw)
    np.testing.assert_array_equal(Ytr, labels)
    np.testing.assert_array_equal(Yte, raw["test_batch"][1])
    # Same multiset of pixel values per image: nothing lost or invented.
    np.testing.assert_array_equal(np.sort(Xtr.reshape(len(Xtr), -1), axis=1),
                                  np.sort(rows, axis=1).astype(np.float64))


def test_known_pixel_lands_channels_last_in_load_CIFAR10(fake):
    root, _ = fake
    Xtr, _, _, _ = load_CIFAR10(root, verify=False)
    assert Xtr[MARK_IMAGE, MARK_R, MARK_K, MARK_C] == MARK_VALUE
    # The mark is the image's only 255, so any other layout would put it elsewhere.
    assert np.unravel_index(Xtr[MARK_IMAGE].argmax(), (32, 32, 3)) == (MARK_R, MARK_K, MARK_C)


def test_known_pixel_lands_channels_first_in_get_CIFAR10_data(fake):
    root, _ = fake
    data = get_CIFAR10_data(60, 20, 10, subtract_mean=False, cifar10_dir=root, verify=False)
    x = data["X_train"][MARK_IMAGE]
    assert x[MARK_C, MARK_R, MARK_K] == MARK_VALUE
    assert np.unravel_index(x.argmax(), (3, 32, 32)) == (MARK_C, MARK_R, MARK_K)


def test_get_CIFAR10_data_matches_the_assignment_recipe(fake):
    root, raw = fake
    data = get_CIFAR10_data(num_training=70, num_validation=20, num_test=10,
                            cifar10_dir=root, verify=False)
    assert set(data) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}
    # The assignment's steps, written out independently: float images (N, 32, 32, 3),
    # split, mean image of the training split, subtract, transpose to channels first.
    rows, labels = _train_rows(raw)
    Xtr = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    Xte = raw["test_batch"][0].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    X_train, X_val, X_test = Xtr[:70], Xtr[70:90], Xte[:10]
    mean_image = np.mean(X_train, axis=0)
    expect = {"X_train": (X_train - mean_image).transpose(0, 3, 1, 2),
              "X_val": (X_val - mean_image).transpose(0, 3, 1, 2),
              "X_test": (X_test - mean_image).transpose(0, 3, 1, 2)}
    for key, want in expect.items():
        assert data[key].shape == want.shape and data[key].dtype == np.float64
        # Integer pixel sums are exact in float64, so the two recipes agree exactly.
        np.testing.assert_array_equal(data[key], want)
    np.testing.assert_array_equal(data["y_train"], labels[:70])
    np.testing.assert_array_equal(data["y_val"], labels[70:90])
    np.testing.assert_array_equal(data["y_test"], raw["test_batch"][1][:10])
    # Mean subtracted: the training split is centred (rounding of 70 values of size 255).
    assert np.abs(data["X_train"].mean(axis=0)).max() < 1e-10


def test_float32_option(fake):
    root, _ = fake
    data = get_CIFAR10_data(70, 20, 10, cifar10_dir=root, verify=False, dtype=np.float32)
    ref = get_CIFAR10_data(70, 20, 10, cifar10_dir=root, verify=False)
    assert data["X_train"].dtype == np.float32 and data["y_train"].dtype == np.int64
    # float32 keeps about 7 digits of pixel values up to 255.
    np.testing.assert_allclose(data["X_val"], ref["X_val"], atol=1e-4)


def test_directory_from_environment(fake, monkeypatch):
    root, _ = fake
    monkeypatch.setenv(cifar10.CIFAR10_DIR_ENV, str(root))
    data = get_CIFAR10_data(70, 20, 10, verify=False)
    assert data["X_train"].shape == (70, 3, 32, 32)


def test_python2_numpy1_pickles_load_identically(tmp_path):
    old = tmp_path / "old"
    write_fake_cifar10(old, style="py2-numpy1")
    text = (old / "data_batch_1").read_bytes()
    # The crafted file really uses NumPy 1's module name and no _codecs calls.
    assert b"numpy.core.multiarray" in text and b"numpy._core" not in text
    assert b"_codecs" not in text
    new = tmp_path / "new"
    write_fake_cifar10(new, style="numpy2")
    for a, b in zip(load_CIFAR10(old, verify=False), load_CIFAR10(new, verify=False)):
        np.testing.assert_array_equal(a, b)


def test_verify_with_official_sums_names_every_mismatching_file(fake):
    root, _ = fake
    with pytest.raises(ValueError, match="checksum mismatch") as info:
        get_CIFAR10_data(70, 20, 10, cifar10_dir=root)
    msg = str(info.value)
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        assert name in msg
    assert "verify=False" in msg


def test_verify_names_only_the_file_that_differs(fake, monkeypatch):
    root, _ = fake
    sums = {name: hashlib.md5((root / name).read_bytes()).hexdigest() for name in cifar10.FILE_MD5}
    monkeypatch.setattr(cifar10, "FILE_MD5", sums)
    # All sums right: verification passes and the data loads.
    assert get_CIFAR10_data(70, 20, 10, cifar10_dir=root)["X_train"].shape == (70, 3, 32, 32)
    monkeypatch.setitem(sums, "data_batch_3", "0" * 32)
    with pytest.raises(ValueError, match="data_batch_3") as info:
        load_CIFAR10(root)
    assert "data_batch_2" not in str(info.value)


class _TouchMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        # Loading this with plain pickle.load opens (creates) the marker file.
        return (open, (self.marker, "w"))


class _MkdirMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("payload, global_name", [(_TouchMarker, "io.open"),
                                                   (_MkdirMarker, "posix.mkdir")])
def test_code_running_pickle_is_refused(fake, tmp_path, payload, global_name):
    root, _ = fake
    marker = tmp_path / "pwned"
    batch = {b"data": payload(str(marker)), b"labels": [0]}
    (root / "data_batch_2").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(UnsafePickleError) as info:
        load_CIFAR10(root, verify=False)
    assert str(root / "data_batch_2") in str(info.value)
    assert global_name in str(info.value)
    assert not marker.exists()
    # The payload is real: an unrestricted load does create the marker.
    with open(root / "data_batch_2", "rb") as f:
        pickle.load(f)
    assert marker.exists()


def test_missing_directory_names_path_and_fix(tmp_path):
    root = tmp_path / "nowhere" / "cifar-10-batches-py"
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data(cifar10_dir=root, verify=False)
    msg = str(info.value)
    assert str(root) in msg
    assert "python -m normcore.data download cifar10" in msg and "mnist1d" in msg


def test_missing_batch_names_it(fake):
    root, _ = fake
    (root / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        load_CIFAR10(root, verify=False)


def test_truncated_batch_names_it(fake):
    root, _ = fake
    path = root / "data_batch_5"
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        load_CIFAR10(root, verify=False)
    assert str(path) in str(info.value)
    assert "python -m normcore.data download cifar10" in str(info.value)


@pytest.mark.parametrize("batch, complaint", [
    ({b"labels": [0]}, "no 'data' entry"),
    ({b"data": np.zeros((1, ROW)), b"labels": [0]}, "uint8"),
    ({b"data": np.zeros((1, 1024), np.uint8), b"labels": [0]}, "3072"),
    ({b"data": np.zeros((2, ROW), np.uint8), b"labels": [0]}, "list of 2 ints"),
    ({b"data": np.zeros((1, ROW), np.uint8), b"labels": [10]}, r"\[0, 10\)"),
    ({b"data": np.zeros((1, ROW), np.uint8), b"labels": [1.5]}, "must hold ints"),
    ([1, 2, 3], "expected a dict"),
])
def test_unexpected_content_is_named(fake, batch, complaint):
    root, _ = fake
    (root / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=complaint) as info:
        load_CIFAR10(root, verify=False)
    assert str(root / "test_batch") in str(info.value)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"num_training": 90, "num_validation": 20}, ValueError, "num_training"),
    ({"num_test": N_TEST + 1}, ValueError, "num_test"),
    ({"num_training": 0}, ValueError, "num_training"),
    ({"num_validation": 2.0}, TypeError, "num_validation"),
    ({"dtype": np.int32}, ValueError, "dtype"),
    ({"verify": "no"}, TypeError, "verify"),
    ({"cifar10_dir": 3}, TypeError, "cifar10_dir"),
])
def test_bad_arguments_name_themselves(fake, kwargs, exc, name):
    root, _ = fake
    args = {"num_training": 60, "num_validation": 20, "num_test": 10, "cifar10_dir": root,
            "verify": False}
    args.update(kwargs)
    with pytest.raises(exc, match=name):
        get_CIFAR10_data(**args)


@pytest.fixture(scope="module")
def full_size_fake(tmp_path_factory):
    # load_dataset("cifar10") uses the assignment's fixed split (49,000 / 1,000 of
    # 50,000), so it needs a copy of the official size. Cheap rows keep this fast.
    root = tmp_path_factory.mktemp("full") / "cifar-10-batches-py"
    cols = (np.arange(ROW) % 201).astype(np.uint16)

    def rows(i, n):
        r = ((np.arange(n) * (i + 3)) % 201).astype(np.uint16)[:, None]
        return ((r + cols) % 201).astype(np.uint8)

    raw = write_fake_cifar10(root, n_batch=10000, n_test=1000, style="py2-numpy1", rows=rows)
    return root, raw


def test_load_dataset_cifar10_is_the_assignments_small_data(full_size_fake, monkeypatch):
    root, raw = full_size_fake
    monkeypatch.setenv(cifar10.CIFAR10_DIR_ENV, str(root))
    monkeypatch.setenv("NORMCORE_DATASET", "cifar10")
    small = load_dataset(num_train=500, num_val=200, verify=False)
    assert small["name"] == "cifar10"
    assert small["class_names"] == cifar10.CLASS_NAMES and small["input_dim"] == 3072
    assert small["X_train"].shape == (500, 3, 32, 32) and small["X_val"].shape == (200, 3, 32, 32)
    assert small["X_test"].shape == (1000, 3, 32, 32) and small["y_train"].dtype == np.int64
    # The assignment's small_data: the mean image of all 49,000 training images is
    # subtracted, then the first num_train are kept; validation is images 49000...
    rows, labels = _train_rows(raw)
    mean = rows[:49000].mean(axis=0, dtype=np.float64).reshape(3, 32, 32)
    images = rows.reshape(-1, 3, 32, 32)
    # Sums of integer pixels are exact in float64, so equality is exact.
    np.testing.assert_array_equal(small["X_train"], images[:500] - mean)
    np.testing.assert_array_equal(small["X_val"], images[49000:49200] - mean)
    test_images = raw["test_batch"][0].reshape(-1, 3, 32, 32)
    np.testing.assert_array_equal(small["X_test"], test_images - mean)
    np.testing.assert_array_equal(small["y_train"], labels[:500])
    np.testing.assert_array_equal(small["y_val"], labels[49000:49200])
    assert len(small["fingerprint"]) == 64
    again = load_dataset(num_train=500, num_val=200, verify=False)
    assert again["fingerprint"] == small["fingerprint"]
    with pytest.raises(ValueError, match="num_train"):
        load_dataset(num_train=49001, verify=False)


def test_asking_for_more_images_than_the_copy_holds_says_how_many(fake):
    root, _ = fake  # 5 x 20 training images, 20 test images
    with pytest.raises(ValueError, match=r"at most 100 .*got 90 \+ 11"):
        get_CIFAR10_data(90, 11, 10, cifar10_dir=root, verify=False)
    with pytest.raises(ValueError, match="num_test must be at most 20"):
        get_CIFAR10_data(90, 10, 21, cifar10_dir=root, verify=False)
    assert get_CIFAR10_data(90, 10, 20, cifar10_dir=root, verify=False)["X_val"].shape[0] == 10
