"""Solver: training to 100 %, divergence, reproducibility, the assignment's behaviour, bad input."""

import os
import pickle
import warnings

import numpy as np
import pytest

from normcore import optim
from normcore.fc_net import FullyConnectedNet
from normcore.solver import Solver

D, C = 20, 10


def _data(n_train=50, n_val=50, seed=0):
    # Random inputs with random labels: nothing to generalize, so 100 % training
    # accuracy can only come from the optimizer fitting every example.
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_val, D))
    y = rng.integers(0, C, n_train + n_val)
    return {"X_train": X[:n_train], "y_train": y[:n_train], "X_val": X[n_train:], "y_val": y[n_train:]}


def _model(seed=0, **kwargs):
    kwargs = {"input_dim": D, "num_classes": C, **kwargs}
    return FullyConnectedNet(kwargs.pop("hidden_dims", [30, 30]), rng=np.random.default_rng(seed), **kwargs)


def _global_state():
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return name, keys.tobytes(), pos, has_gauss, gauss


class _Recorder:
    """A linear model that records which training rows each loss call saw."""

    num_classes = C

    def __init__(self):
        self.params = {"W": np.zeros((1, C))}
        self.batches = []

    def loss(self, X, y=None):
        scores = X @ self.params["W"]
        if y is None:
            return scores
        self.batches.append(X[:, 0].astype(int))
        return 1.0, {"W": np.zeros_like(self.params["W"])}


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_overfits_50_examples(normalization):
    # Adam at 5e-3 with weight scale 0.1 fitted all 50 random labels for every
    # seed we tried (3 seeds, with and without batch norm) within 30 epochs.
    model = _model(hidden_dims=[100, 100], weight_scale=0.1, normalization=normalization)
    solver = Solver(model, _data(), update_rule="adam", optim_config={"learning_rate": 5e-3},
                    batch_size=25, num_epochs=30, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert not solver.diverged and solver.diverged_at is None
    assert model.params is solver.best_params


def test_histories_lr_decay_and_best_params():
    data = _data(n_train=40)
    model = _model(weight_scale=0.1)
    solver = Solver(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                    lr_decay=0.5, batch_size=10, num_epochs=3, verbose=False, seed=1)
    solver.train()
    iterations = 3 * (40 // 10)
    assert len(solver.loss_history) == iterations
    # After the first iteration and at each of the 3 epoch ends (the last
    # iteration is an epoch end).
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 4
    assert solver.epoch == 3
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.05 * 0.5**3, rel=1e-12)
        assert "velocity" in config  # each parameter kept its own state
    assert solver.best_val_acc == max(solver.val_acc_history)
    # The best parameters are what the model now scores with.
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


class _Scripted:
    """A stand-in for a batch-norm network whose validation accuracy is scripted.

    Each training step raises a running statistic by 1 (as batch norm's forward
    pass moves its running mean) and returns the gradient -1 for ``W``, so plain
    SGD at learning rate 1 raises ``W`` by 1. Scoring predicts the class
    ``W + running_mean``: after step t, class 2t. Whether the best check's
    accuracy comes back depends on restoring *both* W and the statistic.
    """

    num_classes = C

    def __init__(self):
        self.params = {"W": np.zeros(1)}
        self.bn_params = [{"mode": "train", "running_mean": np.zeros(1), "running_var": np.ones(1)}]

    def loss(self, X, y=None):
        if y is None:
            k = int(round(self.params["W"][0] + self.bn_params[0]["running_mean"][0]))
            scores = np.zeros((len(X), C))
            scores[:, min(k, C - 1)] = 1.0
            return scores
        self.bn_params[0]["running_mean"] = self.bn_params[0]["running_mean"] + 1
        return 1.0, {"W": -np.ones(1)}


def test_best_model_keeps_the_running_statistics_it_was_scored_with():
    # One iteration per epoch and one check per iteration. Labels: class 2 three
    # times, 4 six times, 6 once, so the checks after steps 1, 2, 3 (predicting
    # class 2, 4, 6) score 0.3, 0.6, 0.1: the best is neither the first nor the last.
    y_val = np.array([2] * 3 + [4] * 6 + [6])
    data = {"X_train": np.zeros((5, 1)), "y_train": np.zeros(5, dtype=int),
            "X_val": np.zeros((10, 1)), "y_val": y_val}
    model = _Scripted()
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1.0},
                    batch_size=5, num_epochs=3, verbose=False, seed=0)
    solver.train()
    assert solver.val_acc_history == [0.3, 0.6, 0.1]
    assert solver.best_val_acc == 0.6
    # Both the parameters and the statistic of step 2 are back (either alone would
    # predict class 2 + 3 = 5 and score 0).
    np.testing.assert_array_equal(model.params["W"], [2.0])
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], [2.0])
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_best_running_statistics_of_a_batchnorm_network_are_copies_per_layer():
    data = _data(n_train=50, n_val=50, seed=3)
    model = _model(weight_scale=0.1, normalization="batchnorm")
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3},
                    batch_size=10, num_epochs=2, verbose=False, seed=2)
    solver.train()
    # One saved dict per normalized layer, holding both statistics; after the swap
    # the model holds exactly them, in arrays of its own (a later training step
    # builds new arrays, so aliasing would not show; copying is what is checked).
    assert len(solver.best_running_stats) == len(model.bn_params) == 2
    for param, saved in zip(model.bn_params, solver.best_running_stats, strict=True):
        assert set(saved) == {"running_mean", "running_var"}
        for key in saved:
            np.testing.assert_array_equal(param[key], saved[key])


def test_ties_for_the_best_validation_accuracy_keep_the_first():
    # Scores that ignore W: every check ties. The assignment keeps the first best
    # (val_acc > best_val_acc), i.e. W after the first step, -0.1.
    class Constant:
        num_classes = C

        def __init__(self):
            self.params = {"W": np.zeros(2)}

        def loss(self, X, y=None):
            if y is None:
                return np.zeros((len(X), C))
            return 1.0, {"W": np.ones(2)}

    model = Constant()
    solver = Solver(model, _data(n_train=20), optim_config={"learning_rate": 0.1}, batch_size=10,
                    num_epochs=3, verbose=False, seed=0)
    solver.train()
    assert len(set(solver.val_acc_history)) == 1 and len(solver.val_acc_history) == 4
    np.testing.assert_allclose(model.params["W"], -0.1, rtol=1e-12)


def test_update_rule_may_be_a_callable():
    # A rule of the test's own (not one of optim's): called once per parameter per
    # iteration, with the per-parameter config the solver keeps between steps.
    def counting_sgd(w, dw, config):
        config["calls"] = config.get("calls", 0) + 1
        return w - 1e-2 * dw, config

    model = _model()
    solver = Solver(model, _data(), update_rule=counting_sgd, num_epochs=2, batch_size=10,
                    verbose=False, seed=2)
    solver.train()
    iterations = 2 * (50 // 10)
    assert set(solver.optim_configs) == set(model.params)
    assert all(config["calls"] == iterations for config in solver.optim_configs.values())

    # A name is looked up in optim: "rmsprop" trains as optim.rmsprop wrapped in
    # another function object does, and differently from plain sgd.
    runs = {}
    for key, rule in (("name", "rmsprop"), ("wrapped", lambda w, dw, c: optim.rmsprop(w, dw, c)),
                      ("sgd", "sgd")):
        solver = Solver(_model(), _data(), update_rule=rule, num_epochs=2, batch_size=10,
                        verbose=False, seed=2)
        solver.train()
        runs[key] = solver.loss_history
    assert runs["name"] == runs["wrapped"] != runs["sgd"]


def test_check_accuracy_counts_every_example_in_uneven_batches():
    data = _data(n_train=37)
    solver = Solver(_model(), data, verbose=False)
    X, y = data["X_train"], data["y_train"]
    expected = np.mean(np.argmax(solver.model.loss(X), axis=1) == y)
    # 37 examples in batches of 10: the last batch holds 7.
    assert solver.check_accuracy(X, y, batch_size=10) == expected


def test_progress_bar(capsys):
    solver = Solver(_model(), _data(), num_epochs=1, batch_size=10, verbose=False, progress=True, seed=3)
    solver.train()
    assert "5/5" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# Divergence
# --------------------------------------------------------------------------- #

def test_diverging_run_stops_cleanly_without_runtime_warnings(capsys):
    # 8 affine layers at weight scale 1 without normalization: the initial loss
    # is ~1e5, and plain SGD at 1e-2 overflows float32 within a few steps (we
    # measured a non-finite loss at the third iteration).
    model = _model(hidden_dims=[50] * 7, weight_scale=1.0)
    solver = Solver(model, _data(), update_rule="sgd", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=20, seed=4, print_every=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        solver.train()

    assert solver.diverged is True
    assert solver.diverged_at == len(solver.loss_history) - 1 < 20 * 2
    assert not np.isfinite(solver.loss_history[-1])
    assert np.all(np.isfinite(solver.loss_history[:-1]))
    # The non-finite step was not applied, and the swapped-in best parameters are usable.
    assert all(np.isfinite(v).all() for v in model.params.values())
    out = capsys.readouterr().out
    assert out.count("diverged") == 1


def test_a_non_finite_gradient_with_a_finite_loss_stops_the_run():
    # An overflow in the backward pass alone: the loss is finite, a gradient is
    # not. The step must not be applied (it would turn the parameters into nan).
    class NanAtThirdStep:
        num_classes = C

        def __init__(self):
            self.params = {"W": np.zeros(3), "b": np.zeros(2)}
            self.calls = 0

        def loss(self, X, y=None):
            if y is None:
                return np.zeros((len(X), C))
            self.calls += 1
            db = np.full(2, np.inf) if self.calls == 3 else np.ones(2)
            return 1.0, {"W": np.ones(3), "b": db}

    model = NanAtThirdStep()
    solver = Solver(model, _data(n_train=20), optim_config={"learning_rate": 0.5}, batch_size=10,
                    num_epochs=5, print_every=1000, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solver.train()
    assert solver.diverged is True and solver.diverged_at == 2
    assert solver.loss_history == [1.0, 1.0, 1.0]
    assert all(np.isfinite(v).all() for v in model.params.values())


def test_converging_run_records_no_divergence():
    solver = Solver(_model(), _data(), num_epochs=1, batch_size=25, verbose=False, seed=5)
    solver.train()
    assert solver.diverged is False and solver.diverged_at is None


# --------------------------------------------------------------------------- #
# Random numbers
# --------------------------------------------------------------------------- #

def test_seed_reproduces_the_run_and_leaves_the_global_rng_alone():
    data = _data(n_train=60, n_val=60)

    def run(seed):
        # num_*_samples below the set sizes: the accuracy subsamples are drawn too.
        solver = Solver(_model(6, normalization="batchnorm", dropout_keep_ratio=0.8), data,
                        update_rule="adam", batch_size=10, num_epochs=2, num_train_samples=30,
                        num_val_samples=30, verbose=False, seed=seed)
        solver.train()
        return solver.loss_history, solver.train_acc_history, solver.val_acc_history

    np.random.seed(0)
    before = _global_state()
    first, second = run(7), run(np.random.default_rng(7))
    assert _global_state() == before
    assert first == second
    assert run(8)[0] != first[0]


def test_without_seed_minibatches_come_from_np_random_choice():
    # The assignment's behaviour: after np.random.seed(s) a student gets the same
    # minibatches as with the assignment's Solver.
    n = 30
    data = {"X_train": np.arange(n, dtype=float).reshape(n, 1), "y_train": np.zeros(n, dtype=int),
            "X_val": np.zeros((5, 1)), "y_val": np.zeros(5, dtype=int)}
    model = _Recorder()
    np.random.seed(11)
    Solver(model, data, batch_size=8, num_epochs=1, num_train_samples=10, verbose=False).train()

    np.random.seed(11)
    first_batch = np.random.choice(n, 8)
    np.testing.assert_array_equal(model.batches[0], first_batch)
    assert len(model.batches) == n // 8


def test_batch_size_above_the_training_set_still_trains_one_step_per_epoch():
    # The assignment's max(num_train // batch_size, 1): without the floor, 5
    # examples in batches of 10 would give 0 iterations and train nothing.
    n = 5
    data = {"X_train": np.arange(n, dtype=float).reshape(n, 1), "y_train": np.zeros(n, dtype=int),
            "X_val": np.zeros((4, 1)), "y_val": np.zeros(4, dtype=int)}
    model = _Recorder()
    solver = Solver(model, data, batch_size=10, num_epochs=3, verbose=False, seed=0)
    solver.train()
    assert len(solver.loss_history) == 3 and solver.epoch == 3
    assert [len(batch) for batch in model.batches] == [10, 10, 10]
    assert len(solver.val_acc_history) == 3


class _Scorer:
    """A model that records the rows it scores (test mode) in order."""

    num_classes = C

    def __init__(self):
        self.params = {"W": np.zeros(1)}
        self.scored = []

    def loss(self, X, y=None):
        if y is None:
            self.scored.append(X[:, 0].astype(int))
            return np.zeros((len(X), C))
        return 1.0, {"W": np.zeros(1)}


def test_num_train_and_val_samples_set_how_many_examples_are_scored():
    data = {"X_train": np.arange(30, dtype=float).reshape(30, 1), "y_train": np.zeros(30, dtype=int),
            "X_val": np.arange(50, dtype=float).reshape(50, 1), "y_val": np.zeros(50, dtype=int)}
    model = _Scorer()
    Solver(model, data, batch_size=10, num_epochs=1, num_train_samples=4, num_val_samples=7,
           verbose=False, seed=0).train()
    # Checks after the first iteration and at the epoch's end, train then val each.
    assert [len(rows) for rows in model.scored] == [4, 7, 4, 7]
    model.scored.clear()
    # Without num_val_samples the whole validation set is scored, in order.
    Solver(model, data, batch_size=10, num_epochs=1, num_train_samples=4, verbose=False, seed=0).train()
    assert [len(rows) for rows in model.scored] == [4, 50, 4, 50]
    np.testing.assert_array_equal(model.scored[1], np.arange(50))


@pytest.mark.parametrize("num_samples", [30, 31])
def test_check_accuracy_does_not_subsample_when_asked_for_the_whole_set(num_samples):
    # num_samples >= N: every example once, in order, and no random draw at all
    # (a draw with replacement would repeat some examples and miss others).
    X = np.arange(30, dtype=float).reshape(30, 1)
    model = _Scorer()
    solver = Solver(model, {"X_train": X, "y_train": np.zeros(30, dtype=int), "X_val": X,
                            "y_val": np.zeros(30, dtype=int)}, verbose=False)
    np.random.seed(3)
    before = _global_state()
    solver.check_accuracy(X, np.zeros(30, dtype=int), num_samples=num_samples)
    assert _global_state() == before
    np.testing.assert_array_equal(np.concatenate(model.scored), np.arange(30))


# --------------------------------------------------------------------------- #
# Checkpoints
# --------------------------------------------------------------------------- #

def test_checkpoints_are_written_per_check(tmp_path):
    data = _data(n_train=20)
    solver = Solver(_model(), data, batch_size=10, num_epochs=2, verbose=False, seed=9,
                    checkpoint_name=tmp_path / "run")
    solver.train()
    assert sorted(os.listdir(tmp_path)) == ["run_epoch_0.pkl", "run_epoch_1.pkl", "run_epoch_2.pkl"]
    with open(tmp_path / "run_epoch_2.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 2
    assert checkpoint["loss_history"] == solver.loss_history
    assert set(checkpoint["model"].params) == set(solver.model.params)


def test_a_failing_checkpoint_leaves_no_file(tmp_path):
    model = _model()
    model.unpicklable = lambda: None  # pickle refuses lambdas
    solver = Solver(model, _data(), batch_size=25, num_epochs=1, verbose=False, seed=10,
                    checkpoint_name=tmp_path / "run")
    with pytest.raises((pickle.PicklingError, AttributeError)):
        solver.train()
    # Neither the checkpoint nor the temporary file it was written to remains.
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("kwargs, error, name", [
    ({"learning_rate": 1e-3}, TypeError, "learning_rate"),
    ({"update_rule": "nesterov"}, ValueError, "update_rule"),
    ({"update_rule": 3}, ValueError, "update_rule"),
    ({"update_rule": "check_shape"}, ValueError, "update_rule"),  # a helper in optim, not a rule
    ({"optim_config": [("learning_rate", 1e-3)]}, TypeError, "optim_config"),
    ({"lr_decay": 0}, ValueError, "lr_decay"),
    ({"lr_decay": float("nan")}, ValueError, "lr_decay"),
    ({"lr_decay": float("inf")}, ValueError, "lr_decay"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 10.0}, TypeError, "batch_size"),
    ({"batch_size": True}, TypeError, "batch_size"),  # a bool is not a size, though True == 1
    ({"num_epochs": -1}, ValueError, "num_epochs"),
    ({"num_train_samples": 0}, ValueError, "num_train_samples"),
    ({"num_val_samples": 0}, ValueError, "num_val_samples"),
    ({"print_every": 0}, ValueError, "print_every"),
    ({"checkpoint_name": 5}, TypeError, "checkpoint_name"),
    ({"verbose": "yes"}, TypeError, "verbose"),
    ({"progress": None}, TypeError, "progress"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_bad_keyword_arguments_are_named(kwargs, error, name):
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(error, match=rf"(?<!\w){name}(?!\w)"):
        Solver(_model(), _data(), **kwargs)


@pytest.mark.parametrize("change, error, name", [
    (lambda d: d.pop("X_val"), ValueError, "X_val"),
    (lambda d: d.pop("y_train"), ValueError, "y_train"),
    (lambda d: d.update(y_train=d["y_train"] + C), ValueError, r"y_train"),
    (lambda d: d.update(y_val=-d["y_val"] - 1), ValueError, r"y_val"),
    (lambda d: d.update(y_val=d["y_val"][:-1]), ValueError, r"y_val"),
    (lambda d: d.update(X_train=d["X_train"].tolist()), ValueError, r"X_train"),
])
def test_bad_data_is_named(change, error, name):
    data = _data()
    change(data)
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(error, match=rf"(?<!\w){name}(?!\w)"):
        Solver(_model(), data)


def test_model_without_params_or_loss_is_refused():
    with pytest.raises(TypeError, match="model"):
        Solver(object(), _data())
