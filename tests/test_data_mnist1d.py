"""MNIST-1D through load_dataset: shapes, balance, determinism, RNG hygiene, caching."""

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import normcore.data.mnist1d as nc_mnist1d
from normcore.data import load_dataset
from normcore.data.arrays import SPLIT_KEYS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty per-user cache, so the next load generates the data set."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(cache))
    monkeypatch.delenv("NORMCORE_DATASET", raising=False)
    return cache


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    # Tests that only read the data share one generated copy (generation takes ~1 s).
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture
def cached(shared_cache, monkeypatch):
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(shared_cache))
    monkeypatch.delenv("NORMCORE_DATASET", raising=False)
    return shared_cache


@pytest.fixture
def count_generations(monkeypatch):
    """Count calls of mnist1d's make_dataset (our code imports it at call time)."""
    import mnist1d.data

    calls = []
    real = mnist1d.data.make_dataset

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mnist1d.data, "make_dataset", counting)
    return calls


def test_shapes_dtypes_and_metadata(cached):
    data = load_dataset()
    assert data["name"] == "mnist1d"
    shapes = {"X_train": (3000, 40), "y_train": (3000,), "X_val": (1000, 40), "y_val": (1000,),
              "X_test": (1000, 40), "y_test": (1000,)}
    for key, shape in shapes.items():
        assert data[key].shape == shape, key
        assert data[key].dtype == (np.int64 if key.startswith("y") else np.float64), key
    assert data["class_names"] == tuple("0123456789")
    assert data["input_dim"] == 40 and isinstance(data["input_dim"], int)
    assert "make_dataset" in data["source"] and "seed=42" in data["source"]
    assert len(data["fingerprint"]) == 64 and int(data["fingerprint"], 16) >= 0


def test_training_mean_subtracted_from_every_split(cached):
    data = load_dataset()
    # Features are O(1); the mean of 3000 of them is exact to ~1e-15, so 1e-12 is loose.
    assert np.abs(data["X_train"].mean(axis=0)).max() < 1e-12
    small = load_dataset(num_train=1000)
    assert np.abs(small["X_train"].mean(axis=0)).max() < 1e-12
    # Same raw rows, different means: the splits differ by one per-feature shift.
    shift = small["X_train"][0] - data["X_train"][0]
    np.testing.assert_allclose(small["X_train"], data["X_train"][:1000] + shift, atol=1e-12)
    np.testing.assert_allclose(small["X_val"], data["X_val"] + shift, atol=1e-12)
    np.testing.assert_allclose(small["X_test"], data["X_test"] + shift, atol=1e-12)
    # A smaller num_train keeps the same validation examples.
    np.testing.assert_array_equal(small["y_val"], data["y_val"])
    np.testing.assert_array_equal(small["y_train"], data["y_train"][:1000])


def test_classes_are_balanced(cached):
    data = load_dataset()
    for key in ("y_train", "y_val", "y_test"):
        share = np.bincount(data[key], minlength=10) / len(data[key])
        # The generator makes 500 per class and shuffles; a random 1000-example
        # split has a per-class share within 10% +- 3 standard deviations (~2.8
        # points), so [7%, 13%] holds for any reasonable shuffle but catches a
        # split that groups classes.
        assert share.min() >= 0.07 and share.max() <= 0.13, (key, share)


def test_validation_and_sizes(cached):
    assert load_dataset(num_train=10, num_val=5)["X_val"].shape == (5, 40)
    with pytest.raises(ValueError, match="num_train must be at most 3000"):
        load_dataset(num_train=3001)
    with pytest.raises(ValueError, match="num_val must be at most 1000"):
        load_dataset(num_val=1001)
    with pytest.raises(ValueError, match="num_train"):
        load_dataset(num_train=0)
    with pytest.raises(TypeError, match="num_train"):
        load_dataset(num_train=100.0)
    with pytest.raises(ValueError, match="name must be one of 'mnist1d', 'cifar10'"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="dtype"):
        load_dataset(dtype=np.int64)
    with pytest.raises(ValueError, match="dtype"):
        load_dataset(dtype=np.float16)


def test_environment_variable_picks_the_default(cached, monkeypatch):
    monkeypatch.setenv("NORMCORE_DATASET", "mnist1d")
    assert load_dataset()["name"] == "mnist1d"
    monkeypatch.setenv("NORMCORE_DATASET", "imagenet")
    with pytest.raises(ValueError, match="NORMCORE_DATASET"):
        load_dataset()


def test_float32_option(cached):
    data64 = load_dataset()
    data32 = load_dataset(dtype=np.float32)
    assert data32["X_train"].dtype == np.float32 and data32["y_train"].dtype == np.int64
    # float32 keeps ~7 significant digits of O(1) features.
    np.testing.assert_allclose(data32["X_val"], data64["X_val"], atol=1e-5)
    assert data32["fingerprint"] != data64["fingerprint"]


def test_identical_across_calls_and_fingerprint_tracks_content(cached):
    a, b = load_dataset(), load_dataset()
    for key in SPLIT_KEYS:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["fingerprint"] == b["fingerprint"]
    assert load_dataset(num_train=2999)["fingerprint"] != a["fingerprint"]


def test_identical_across_processes(cached, tmp_path):
    # The child generates in its own empty cache, so equality means the generator
    # is deterministic, not that both read one file.
    here = load_dataset()
    code = ("import json, numpy as np; from normcore.data import load_dataset; d = load_dataset(); "
            "print(json.dumps([d['fingerprint'], float(d['X_train'].sum())]))")
    env = {**os.environ, "NORMCORE_CACHE_DIR": str(tmp_path / "child-cache"),
           "PYTHONHASHSEED": "123", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    fingerprint, total = json.loads(out)
    assert (tmp_path / "child-cache" / "datasets").is_dir()
    assert fingerprint == here["fingerprint"]
    assert total == float(here["X_train"].sum())


def test_generation_leaves_global_rng_states_alone(fresh_cache, count_generations):
    np.random.seed(1234)
    random.seed(5678)
    np_before, py_before = np.random.get_state(), random.getstate()
    load_dataset()
    assert count_generations == [1]  # it really generated, which reseeds both
    np_after = np.random.get_state()
    assert np_after[0] == np_before[0]
    np.testing.assert_array_equal(np_after[1], np_before[1])
    assert np_after[2:] == np_before[2:]
    assert random.getstate() == py_before


def test_generation_writes_nothing_to_cwd_and_uses_no_network(fresh_cache, tmp_path,
                                                              monkeypatch, count_generations):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    load_dataset()
    assert count_generations == [1]
    assert list(work.iterdir()) == []
    assert [p.name for p in (fresh_cache / "datasets").iterdir()] == [nc_mnist1d.cache_path().name]


def test_cache_is_created_then_reused(fresh_cache, count_generations):
    path = nc_mnist1d.cache_path()
    assert not path.exists()
    first = load_dataset()
    assert count_generations == [1] and path.is_file()
    second = load_dataset(num_train=500)
    assert count_generations == [1]
    np.testing.assert_array_equal(second["y_val"], first["y_val"])


@pytest.fixture(scope="module")
def reference(shared_cache):
    """Fingerprint and cache-file bytes of a normally generated copy."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("NORMCORE_CACHE_DIR", str(shared_cache))
        m.delenv("NORMCORE_DATASET", raising=False)
        fingerprint = load_dataset()["fingerprint"]
        return fingerprint, nc_mnist1d.cache_path().read_bytes()


@pytest.mark.parametrize("corrupt", ["garbage", "truncated", "wrong-shape"])
def test_corrupt_cache_is_regenerated(reference, fresh_cache, count_generations, corrupt):
    fingerprint, good_bytes = reference
    path = nc_mnist1d.cache_path()
    path.parent.mkdir(parents=True)
    if corrupt == "garbage":
        path.write_bytes(b"not a zip file")
    elif corrupt == "truncated":
        path.write_bytes(good_bytes[: len(good_bytes) // 3])
    else:
        np.savez(path, x=np.zeros((3, 40)), y=np.zeros(3, np.int64),
                 x_test=np.zeros((3, 40)), y_test=np.zeros(3, np.int64))
    with pytest.warns(RuntimeWarning, match="regenerating"):
        again = load_dataset()
    assert count_generations == [1]
    assert again["fingerprint"] == fingerprint
    # The replacement is whole, so the next load reads it without regenerating.
    load_dataset()
    assert count_generations == [1]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_unwritable_cache_still_returns_data(reference, tmp_path, monkeypatch):
    # A regular file where the cache directory should be: mkdir fails even for root.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="could not cache"):
        data = load_dataset()
    assert data["fingerprint"] == reference[0]


def test_cache_key_follows_generator_version_and_arguments(fresh_cache, monkeypatch):
    path = nc_mnist1d.cache_path()
    with monkeypatch.context() as m:
        m.setattr(nc_mnist1d, "mnist1d_version", lambda: "9.9.9")
        assert nc_mnist1d.cache_path() != path
    with monkeypatch.context() as m:
        m.setitem(nc_mnist1d.MNIST1D_ARGS, "seed", 43)
        assert nc_mnist1d.cache_path() != path
    assert nc_mnist1d.cache_path() == path


def test_explicit_arguments_are_the_packages_defaults():
    # Our written-out arguments reproduce the published data set only while they
    # equal the package's defaults (its download URL aside).
    from mnist1d.data import get_dataset_args

    defaults = get_dataset_args(as_dict=True)
    defaults.pop("url")
    assert nc_mnist1d.MNIST1D_ARGS == defaults


def test_extra_keys_do_not_break_the_solver(cached):
    import normcore as nc

    data = load_dataset(num_train=200)
    model = nc.FullyConnectedNet([20], input_dim=data["input_dim"], num_classes=10,
                                 normalization="batchnorm", dtype=np.float64)
    solver = nc.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                       num_epochs=1, batch_size=50, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 4  # 200 examples / batch 50, one epoch
