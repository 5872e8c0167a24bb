"""The sweep runner: grid order, reproducibility across executors, and the result cache."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import normcore.sweeps as sw
import normcore.sweeps.cache
import normcore.sweeps.executors
from normcore.sweeps import RunConfig, RunResult, run_sweep

ROOT = Path(__file__).resolve().parent.parent

# Tiny but real: two hidden layers, 100 examples, one epoch of 2 iterations, so a
# whole sweep trains in well under a second and still exercises every code path.
BASE = RunConfig(hidden_dims=(8, 8), num_train=100, num_val=50, batch_size=50, num_epochs=1,
                 dataset="mnist1d")
GRID = {"normalization": [None, "batchnorm"], "weight_scale": [1e-2, 1e-1]}
SEEDS = (0, 1)


def assert_same_run(a: RunResult, b: RunResult) -> None:
    """Bit-identical results; only the wall time may differ."""
    assert a.config == b.config
    for field in ("loss_history", "train_acc_history", "val_acc_history"):
        # Exact equality: the runs must be reproducible to the bit, not approximately.
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    for field in ("best_val_acc", "best_train_acc", "final_loss", "diverged"):
        # array_equal with equal_nan: a diverged run's final loss is NaN in both.
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field


def assert_same_sweep(a, b) -> None:
    assert a.axes == b.axes and a.seeds == b.seeds and len(a.runs) == len(b.runs)
    for x, y in zip(a.runs, b.runs):
        assert_same_run(x, y)


@pytest.fixture
def counted(monkeypatch):
    """Count calls of the training function (serial sweeps call it in this process)."""
    calls = []
    real = sw.train_run

    def counting(config):
        calls.append(config)
        return real(config)

    # run_sweep calls it through the executors module, where serial sweeps look it up.
    monkeypatch.setattr(sw.executors, "train_run", counting)
    return calls


@pytest.fixture(scope="module")
def serial():
    return run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=False, progress=False)


def test_runs_come_in_grid_order_with_seeds_innermost(serial):
    assert serial.axes == {"normalization": (None, "batchnorm"), "weight_scale": (1e-2, 1e-1)}
    order = [(r.config.normalization, r.config.weight_scale, r.config.seed) for r in serial.runs]
    assert order == [(n, w, s) for n in (None, "batchnorm") for w in (1e-2, 1e-1) for s in SEEDS]
    assert all(r.config.hidden_dims == (8, 8) for r in serial.runs)


def test_metric_shape_and_select(serial):
    acc = serial.metric("best_val_acc")
    assert acc.shape == (2, 2, 2)
    picked = serial.select(normalization="batchnorm", weight_scale=1e-1)
    assert [r.config.seed for r in picked] == list(SEEDS)
    assert acc[1, 1, 0] == picked[0].best_val_acc
    # A value computed differently but equal up to rounding still selects.
    assert serial.select(weight_scale=10 ** -1.0, normalization=None)[0].config.normalization is None
    assert len(serial.select(normalization=None)) == 4
    assert serial.metric(lambda r: len(r.loss_history)).tolist() == [[[2, 2]] * 2] * 2
    with pytest.raises(ValueError, match="weight_scale=0.5"):
        serial.select(weight_scale=0.5)
    with pytest.raises(ValueError, match="'reg' is not an axis"):
        serial.select(reg=0.0)
    with pytest.raises(ValueError, match="name must be one of"):
        serial.metric("accuracy")


def test_result_fields_are_consistent(serial):
    r = serial.runs[0]
    assert r.loss_history.dtype == np.float64 and r.loss_history.shape == (2,)
    # Accuracy is measured before training and after the one epoch.
    assert r.train_acc_history.shape == r.val_acc_history.shape == (2,)
    assert r.best_val_acc == r.val_acc_history.max()
    assert r.final_loss == pytest.approx(r.loss_history.mean(), rel=1e-12)  # last 100 = all 2
    assert 0.0 <= r.best_train_acc <= 1.0 and r.seconds > 0 and r.cpu_seconds > 0


def test_seeds_differ_and_global_rng_is_untouched(serial):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    again = run_sweep({}, BASE, seeds=(0, 1), executor="serial", cache=False, progress=False)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert not np.array_equal(again.runs[0].loss_history, again.runs[1].loss_history)


def test_process_pool_matches_serial(serial):
    pooled = run_sweep(GRID, BASE, seeds=SEEDS, executor=None, cache=False, progress=False)
    assert_same_sweep(serial, pooled)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_any_process_executor_matches_serial(serial, method):
    # The default pool forks when this process has one thread; a notebook kernel
    # gets the forkserver. Both fresh-interpreter start methods must agree too.
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        res = run_sweep(GRID, BASE, seeds=SEEDS, executor=pool, cache=False, progress=False)
    assert_same_sweep(serial, res)


def test_dask_executor_matches_serial(serial):
    distributed = pytest.importorskip("distributed")
    # Threads in this process: starts in about a second, needs no network.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = run_sweep(GRID, BASE, seeds=SEEDS, executor=client.get_executor(), cache=False,
                        progress=False)
    assert_same_sweep(serial, res)


def test_process_pool_from_a_jupyter_kernel(serial, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # A kernel spec of our own, so the kernel is this interpreter whatever other
    # "python3" kernels the machine has installed.
    spec_dir = tmp_path / "kernels" / "normcore-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "normcore test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    code = f"""
import json
from normcore.sweeps import RunConfig, run_sweep
res = run_sweep({GRID!r}, RunConfig(**json.loads({json.dumps(dataclasses.asdict(BASE))!r})),
                seeds={SEEDS!r}, executor=None, cache=False, progress=False)
print(json.dumps([r.loss_history.tolist() for r in res.runs]))
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="normcore-test",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    out = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in out if o.get("name") == "stdout")
    assert text, f"no output from the kernel: {out}"
    losses = json.loads(text.strip().splitlines()[-1])
    assert losses == [r.loss_history.tolist() for r in serial.runs]


def test_cached_rerun_trains_nothing(serial, counted, tmp_path):
    first = run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=tmp_path, progress=False)
    assert len(counted) == 8 and first.stats == {"cached": 0, "trained": 8, "repaired": 0}
    assert len(list(tmp_path.glob("*.json"))) == 8
    second = run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=tmp_path, progress=False)
    assert len(counted) == 8, "a cached re-run trained again"
    assert second.stats == {"cached": 8, "trained": 0, "repaired": 0}
    assert_same_sweep(serial, second)
    # A larger grid reuses the overlap and trains only what is new.
    run_sweep({**GRID, "weight_scale": [1e-2, 1e-1, 1.0]}, BASE, seeds=SEEDS, executor="serial",
              cache=tmp_path, progress=False)
    assert len(counted) == 8 + 4


def test_diverged_run_survives_the_cache(counted, tmp_path):
    # SGD at learning rate 1e3 from weights of scale 1 overflows within a few steps.
    wild = dataclasses.replace(BASE, update_rule="sgd", learning_rate=1e3, weight_scale=1.0,
                               num_epochs=3)
    fresh = run_sweep({}, wild, executor="serial", cache=tmp_path, progress=False).runs[0]
    assert fresh.diverged and not np.isfinite(fresh.loss_history[-1])
    assert np.isnan(fresh.final_loss)
    again = run_sweep({}, wild, executor="serial", cache=tmp_path, progress=False)
    assert again.stats["cached"] == 1 and len(counted) == 1
    assert_same_run(fresh, again.runs[0])


def test_cache_key_changes_with_config_and_code(counted, tmp_path, monkeypatch):
    run_sweep({}, BASE, executor="serial", cache=tmp_path, progress=False)
    run_sweep({}, dataclasses.replace(BASE, reg=1e-3), executor="serial", cache=tmp_path,
              progress=False)
    assert len(counted) == 2
    monkeypatch.setattr(sw.cache, "_CODE_HASH", "pretend the training code changed")
    run_sweep({}, BASE, executor="serial", cache=tmp_path, progress=False)
    assert len(counted) == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "flip-one-byte", "valid-json-other-key"])
def test_damaged_entry_is_retrained_and_replaced(serial, counted, tmp_path, damage):
    run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=tmp_path, progress=False)
    entries = sorted(tmp_path.glob("*.json"))
    victim = entries[3]
    raw = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        victim.write_bytes(b"\x00\xffnot a cache entry" * 20)
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "flip-one-byte":
        i = len(raw) - 20  # inside the JSON body: only the checksum can notice
        victim.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])
    else:
        victim.write_bytes(entries[2].read_bytes())  # intact, but another run's result
    n = len(counted)
    res = run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=tmp_path, progress=False)
    assert len(counted) == n + 1
    assert res.stats == {"cached": 7, "trained": 1, "repaired": 1}
    assert_same_sweep(serial, res)
    # The entry was rewritten: the next run reads all eight.
    again = run_sweep(GRID, BASE, seeds=SEEDS, executor="serial", cache=tmp_path, progress=False)
    assert again.stats["cached"] == 8 and len(counted) == n + 1


def test_cache_path_that_is_a_file_is_refused(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    with pytest.raises(ValueError, match="cache must be a directory"):
        run_sweep({}, BASE, executor="serial", cache=blocker, progress=False)


def test_cache_dir_follows_environment(counted, tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(tmp_path / "elsewhere"))
    run_sweep({}, BASE, executor="serial", cache=True, progress=False)
    assert len(list((tmp_path / "elsewhere" / "sweeps").glob("*.json"))) == 1
    assert sw.sweep_cache_dir(False) is None


def test_clear_cache_command(tmp_path):
    run_sweep({}, BASE, seeds=(0, 1), executor="serial", cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 2
    env_cmd = [sys.executable, "-m", "normcore.sweeps"]
    info = subprocess.run(env_cmd + ["info", "--dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert "2 cached run(s)" in info.stdout
    out = subprocess.run(env_cmd + ["clear-cache", "--dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert "removed 2" in out.stdout
    assert not list(tmp_path.glob("*.json"))


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="grid key 'weight_sacle'"):
        run_sweep({"weight_sacle": [1e-2]}, BASE, executor="serial", cache=False)
    with pytest.raises(ValueError, match="seeds="):
        run_sweep({"seed": [0, 1]}, BASE, executor="serial", cache=False)
    with pytest.raises(TypeError, match=r"grid\['reg'\] must be a non-empty list"):
        run_sweep({"reg": 0.1}, BASE, executor="serial", cache=False)
    with pytest.raises(ValueError, match="normalization must be one of"):
        run_sweep({"normalization": ["instancenorm"]}, BASE, executor="serial", cache=False)
    with pytest.raises(ValueError, match="norm_groups must be given exactly when"):
        run_sweep({"normalization": ["groupnorm"]}, BASE, executor="serial", cache=False)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run_sweep({}, BASE, seeds=(1, 1), executor="serial", cache=False)
    with pytest.raises(TypeError, match="executor must be"):
        run_sweep({}, BASE, executor="threads", cache=False)
    with pytest.raises(TypeError, match="cache must be"):
        run_sweep({}, BASE, executor="serial", cache=3)
    with pytest.raises(ValueError, match="weight_scale must be in"):
        RunConfig(weight_scale=-1.0)
    with pytest.raises(TypeError, match="hidden_dims"):
        RunConfig(hidden_dims=50)


def test_config_stores_plain_python_values():
    c = RunConfig(hidden_dims=[np.int64(5), 6], weight_scale=np.float64(0.5), batch_size=np.int64(10))
    assert c.hidden_dims == (5, 6) and type(c.hidden_dims[0]) is int
    assert type(c.weight_scale) is float and type(c.batch_size) is int
    assert json.loads(c.canonical())["hidden_dims"] == [5, 6]


# ---------------------------------------------------------------- options added later

def test_later_fields_at_their_defaults_keep_earlier_random_draws():
    # canonical() seeds the run's generators; a configuration written before
    # norm_groups, reg_scope and measure existed must draw the same numbers.
    text = RunConfig().canonical()
    assert "reg_scope" not in text and "measure" not in text and "norm_groups" not in text
    assert RunConfig(reg_scope="last").canonical() != text
    assert "measure" in RunConfig(normalization="batchnorm", measure=("weight_norms",)).canonical()


def test_new_options_are_checked():
    with pytest.raises(ValueError, match="reg_scope must be one of"):
        RunConfig(reg_scope="first")
    with pytest.raises(ValueError, match="must divide every hidden width"):
        RunConfig(normalization="groupnorm", norm_groups=3, hidden_dims=(10, 10))
    with pytest.raises(ValueError, match="norm_groups must be given exactly"):
        RunConfig(normalization="layernorm", norm_groups=2)
    with pytest.raises(ValueError, match="measure must be one of"):
        RunConfig(measure=("accuracy",))
    with pytest.raises(TypeError, match="measure must be a tuple"):
        RunConfig(measure="weight_norms")
    with pytest.raises(ValueError, match="needs normalization='batchnorm'"):
        RunConfig(measure=("test_statistics",))


MEASURED = RunConfig(hidden_dims=(20, 20), normalization="batchnorm", num_train=200,
                     num_val=200, batch_size=20, num_epochs=2,
                     measure=("test_statistics", "weight_norms"))


@pytest.fixture(scope="module")
def measured():
    return train_run_cached(MEASURED)


def train_run_cached(config):
    return run_sweep({}, config, executor="serial", cache=False, progress=False).runs[0]


def test_test_statistics_are_accuracies_and_running_matches_the_solver(measured):
    ex = measured.extras
    for key in ("val_acc_running", "val_acc_population", "val_acc_unbiased", "val_acc_train_mode"):
        # Accuracies over 200 validation examples: multiples of 1/200 in [0, 1].
        assert 0.0 <= ex[key] <= 1.0 and abs(ex[key] * 200 - round(ex[key] * 200)) < 1e-9, key
    # The running averages are what the solver scored its best model with.
    assert ex["val_acc_running"] == measured.best_val_acc


def test_population_statistics_are_the_training_set_statistics():
    from normcore.sweeps.measures import test_statistics
    from normcore.fc_net import FullyConnectedNet

    rng = np.random.default_rng(0)
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="batchnorm",
                              weight_scale=0.5, dtype=np.float64, rng=rng)
    X = rng.standard_normal((50, 4)) + 3.0
    data = {"X_train": X, "X_val": X[:20], "y_val": np.zeros(20, dtype=int)}
    model.bn_params[0].update(running_mean=np.zeros(6), running_var=np.ones(6))
    before = {k: v.copy() for k, v in model.bn_params[0].items() if k.startswith("running")}
    out = test_statistics(model, data, batch_size=10)
    # The model's own statistics are left exactly as they were.
    for k, v in before.items():
        np.testing.assert_array_equal(model.bn_params[0][k], v)
    # With population statistics, test mode on the training set equals train mode on
    # it as one batch, so the two score the same.
    model.bn_params[0]["momentum"] = 0.0
    model.forward(X, mode="train")
    test_scores = model.loss(X)
    train_scores, _ = model.forward(X, mode="train")
    np.testing.assert_allclose(test_scores, train_scores, rtol=1e-6, atol=1e-9)
    assert set(out) == {"val_acc_running", "val_acc_population", "val_acc_unbiased",
                        "val_acc_train_mode"}


def test_weight_norms_have_one_row_per_epoch_and_match_the_weights(measured):
    norms, steps = measured.extras["weight_norms"], measured.extras["relative_step"]
    L = len(MEASURED.hidden_dims) + 1
    assert norms.shape == (MEASURED.num_epochs + 1, L)
    assert steps.shape == (MEASURED.num_epochs, L)
    # Adam moves every weight by about the learning rate per step, so a step is
    # neither zero nor as large as the weights themselves.
    assert np.all(steps > 0) and np.all(steps < 1)
    # Row 0 is the initial norm: weight_scale * sqrt(fan_in * fan_out) within 20 %
    # (a sum of 100s of squared normals is within a few % of its mean).
    # (layers 2 and 3: 20 x 20 and 20 x 10, whatever the data's input width).
    expected = MEASURED.weight_scale * np.sqrt([20 * 20, 20 * 10])
    np.testing.assert_allclose(norms[0, 1:], expected, rtol=0.2)


def test_extras_survive_the_cache(tmp_path):
    first = run_sweep({}, MEASURED, executor="serial", cache=tmp_path, progress=False)
    again = run_sweep({}, MEASURED, executor="serial", cache=tmp_path, progress=False)
    assert again.stats["cached"] == 1
    a, b = first.runs[0].extras, again.runs[0].extras
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_groupnorm_and_last_layer_regularization_train():
    base = dataclasses.replace(BASE, hidden_dims=(20, 20), num_epochs=1, reg=0.5)
    runs = run_sweep({"reg_scope": ["all", "last"]}, dataclasses.replace(
        base, normalization="groupnorm", norm_groups=4), executor="serial", cache=False,
        progress=False).runs
    assert not any(r.diverged for r in runs)
    # The first loss includes the L2 term of the initial weights: penalizing one
    # matrix of three adds less than penalizing all of them.
    assert runs[1].loss_history[0] < runs[0].loss_history[0]


def test_sweep_reports_progress_to_the_build(tmp_path, monkeypatch):
    from normcore import progress

    path = tmp_path / "progress"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(path))
    run_sweep({"reg": [0.0, 1e-3]}, dataclasses.replace(BASE, num_epochs=1), executor="serial",
              cache=False, progress=False)
    last = progress.read(path)
    # The last line says the whole sweep is done, and over which axis.
    assert last is not None and last.done == last.total == 2 and "reg" in last.label
