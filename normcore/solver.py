"""Minibatch training of a classification model, with the CS231n assignment's interface.

A model is any object with

- ``model.params``: dict of parameter name -> ndarray;
- ``model.loss(X, y=None)``: class scores of shape (N, C) when ``y`` is None,
  else ``(loss, grads)`` with a gradient per entry of ``params``.

Usage, as in the assignment::

    solver = Solver(model, data, update_rule="adam",
                    optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100)
    solver.train()

Beyond the assignment, a run whose loss or gradients become non-finite stops
cleanly and records it (``diverged``, ``diverged_at``) instead of flooding the
output with RuntimeWarnings; ``seed=`` makes a run reproducible without touching
NumPy's global RNG; ``progress=True`` shows a progress bar.
"""

from __future__ import annotations

import numbers
import os
import pickle

import numpy as np

from normcore import optim
from normcore.storage import atomic_writer
from normcore.validation import check_labels, check_positive_int, check_real

__all__ = ["Solver"]

# The assignment's keyword arguments and their defaults, then ours.
_DEFAULTS = {
    "update_rule": "sgd",
    "optim_config": None,  # None stands for the assignment's {} (a shared mutable default)
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "num_train_samples": 1000,
    "num_val_samples": None,
    "checkpoint_name": None,
    "print_every": 10,
    "verbose": True,
    "seed": None,
    "progress": False,
}

_DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class Solver:
    """Train a model with minibatch gradient descent and track its accuracy.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of ndarrays) and ``loss(X, y=None)`` (see the module
        docstring).
    data : dict
        ``X_train`` (N_train, ...), ``y_train`` (N_train,), ``X_val`` (N_val, ...),
        ``y_val`` (N_val,); labels are integers.
    update_rule : str or callable, default "sgd"
        The name of a rule in :mod:`normcore.optim` (``"sgd"``,
        ``"sgd_momentum"``, ``"rmsprop"``, ``"adam"``) or a function with the same
        signature ``update(w, dw, config) -> (next_w, config)``.
    optim_config : dict, optional
        Hyper-parameters for the update rule; every parameter gets its own copy.
    lr_decay : float > 0, default 1.0
        ``learning_rate`` is multiplied by this after every epoch.
    batch_size : int, default 100
        Minibatch size; minibatches are drawn with replacement.
    num_epochs : int, default 10
    num_train_samples : int, default 1000
        Training examples (drawn at random) on which training accuracy is measured.
    num_val_samples : int, optional
        The same for validation; None uses the whole validation set.
    checkpoint_name : str or path, optional
        When given, a pickle ``{checkpoint_name}_epoch_{epoch}.pkl`` is written
        at every accuracy check.
    print_every : int, default 10
        Print the loss every this many iterations (when ``verbose``).
    verbose : bool, default True
    seed : int or numpy.random.Generator, optional
        Not in the assignment. When given, minibatches and accuracy subsamples
        come from this generator and NumPy's global RNG is never touched by the
        solver (a model with unseeded dropout still draws from it). When omitted,
        sampling uses ``np.random.choice`` as in the assignment.
    progress : bool, default False
        Not in the assignment: show a tqdm progress bar over iterations.

    Attributes
    ----------
    loss_history : list of float
        The loss of every iteration (the last one non-finite if the run diverged).
    train_acc_history, val_acc_history : list of float
        Accuracies after the first iteration, at the end of every epoch and after
        the last iteration.
    best_val_acc : float
    best_params : dict of str -> ndarray
        The parameters with the best validation accuracy; swapped into the model
        when training ends.
    best_running_stats : list of dict
        Not in the assignment: the batch-norm running statistics
        (``model.bn_params``) at that same moment, restored with ``best_params``.
    epoch : int
    diverged : bool
        Not in the assignment: whether training stopped on a non-finite loss or
        gradient.
    diverged_at : int or None
        The (0-based) iteration at which it did.
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(_DEFAULTS))
        if unknown:
            raise TypeError(
                f"Solver got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(_DEFAULTS)}")
        opts = {**_DEFAULTS, **kwargs}

        if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
            raise TypeError("model must have a dict attribute 'params' and a method 'loss(X, y=None)'")
        self.model = model
        self._set_data(data)

        self.update_rule = _resolve_update_rule(opts["update_rule"])
        optim_config = opts["optim_config"]
        if optim_config is None:
            optim_config = {}
        if not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict, got {type(optim_config).__name__}")
        self.optim_config = optim_config
        self.lr_decay = check_real("lr_decay", opts["lr_decay"], low=0.0, low_open=True)
        self.batch_size = check_positive_int("batch_size", opts["batch_size"])
        self.num_epochs = check_positive_int("num_epochs", opts["num_epochs"])
        self.num_train_samples = check_positive_int("num_train_samples", opts["num_train_samples"])
        self.num_val_samples = opts["num_val_samples"]
        if self.num_val_samples is not None:
            self.num_val_samples = check_positive_int("num_val_samples", self.num_val_samples)
        self.checkpoint_name = opts["checkpoint_name"]
        if self.checkpoint_name is not None and not isinstance(self.checkpoint_name, (str, os.PathLike)):
            raise TypeError(f"checkpoint_name must be a str, a path or None, got {self.checkpoint_name!r}")
        self.print_every = check_positive_int("print_every", opts["print_every"])
        self.verbose = _check_bool("verbose", opts["verbose"])
        self.progress = _check_bool("progress", opts["progress"])
        self._rng = _check_seed(opts["seed"])

        self._reset()

    def _set_data(self, data):
        if not isinstance(data, dict):
            raise TypeError(
                f"data must be a dict with keys {', '.join(_DATA_KEYS)}, got {type(data).__name__}")
        missing = [key for key in _DATA_KEYS if key not in data]
        if missing:
            raise ValueError(f"data is missing the key(s) {', '.join(map(repr, missing))}; "
                             f"it needs {', '.join(_DATA_KEYS)}")
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if not isinstance(X, np.ndarray) or X.ndim < 2 or len(X) == 0:
                raise ValueError(f"data['X_{split}'] must be a non-empty array of shape (N, ...), "
                                 f"got {getattr(X, 'shape', type(X).__name__)}")
            self._check_labels(f"data['y_{split}']", y, len(X))
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

    def _check_labels(self, name, y, n):
        # Bad labels found now name the data set; found by the model, they would
        # surface mid-training. A model without num_classes gets the lower bound only.
        num_classes = getattr(self.model, "num_classes", None)
        if num_classes is None:
            num_classes = np.iinfo(np.int64).max
        check_labels(name, y, n, num_classes)

    def _reset(self):
        """Set up the book-keeping for a fresh run (called by ``__init__``)."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.best_running_stats = []
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.diverged = False
        self.diverged_at = None
        # Each parameter gets its own config: the update rules keep per-parameter
        # state (velocity, moments) in it.
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _sample(self, n, size):
        """``size`` indices into range(n), drawn with replacement."""
        if self._rng is None:
            return np.random.choice(n, size)
        return self._rng.choice(n, size)

    def _step(self):
        """One update from one minibatch.

        Returns
        -------
        finite : bool
            False if the loss or a gradient was non-finite; the parameters are
            then left as they were.
        """
        batch = self._sample(self.X_train.shape[0], self.batch_size)
        X_batch, y_batch = self.X_train[batch], self.y_train[batch]

        # A diverging network overflows; the isfinite check below reports it once,
        # so NumPy's per-operation warnings would only be noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(loss)
        # Non-finite gradients with a finite loss happen too (an overflow in the
        # backward pass); feeding them to the update rule would warn there.
        if not np.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):
            return False

        for name, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = next_config
        return True

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model,
            "update_rule": self.update_rule,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{os.fspath(self.checkpoint_name)}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        # A reader (or a later resume) must never find half a pickle.
        with atomic_writer(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of examples the model classifies correctly.

        Parameters
        ----------
        X : ndarray, shape (N, d_1, ..., d_k)
        y : ndarray of int, shape (N,)
        num_samples : int, optional
            If given and smaller than N, measure on this many examples drawn at
            random (with replacement, as in the assignment).
        batch_size : int, default 100
            Examples per forward pass, to bound memory.

        Returns
        -------
        acc : float
        """
        if not isinstance(X, np.ndarray) or X.ndim < 2:
            raise ValueError(
                f"X must be an array of shape (N, ...), got {getattr(X, 'shape', type(X).__name__)}")
        self._check_labels("y", y, len(X))
        batch_size = check_positive_int("batch_size", batch_size)
        if num_samples is not None:
            check_positive_int("num_samples", num_samples)
            if len(X) > num_samples:
                subset = self._sample(len(X), num_samples)
                X, y = X[subset], y[subset]

        # Scores of a diverged model may overflow; such examples simply count as wrong.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            y_pred = np.concatenate([
                np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                for start in range(0, len(X), batch_size)
            ])
        return float(np.mean(y_pred == y))

    def train(self):
        """Run the optimization; afterwards the model holds ``best_params``."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        bar = self._progress_bar(num_iterations)

        try:
            for t in range(num_iterations):
                if not self._step():
                    self.diverged, self.diverged_at = True, t
                    if self.verbose:
                        print(f"(Iteration {t + 1} / {num_iterations}) diverged: "
                              f"non-finite loss ({self.loss_history[-1]}) or gradient; stopping")
                    break
                if bar is not None:
                    bar.update()
                    bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", refresh=False)
                if self.verbose and t % self.print_every == 0:
                    print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")

                epoch_end = (t + 1) % iterations_per_epoch == 0
                if epoch_end:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        # Every rule in normcore.optim sets a learning_rate; a
                        # custom rule without one has nothing to decay.
                        if "learning_rate" in config:
                            config["learning_rate"] *= self.lr_decay

                if t == 0 or t == num_iterations - 1 or epoch_end:
                    self._record_accuracy()
        finally:
            if bar is not None:
                bar.close()

        # A run that never measured a validation accuracy (divergence at the
        # first step) keeps the model's parameters as they are.
        if self.best_params:
            self.model.params = self.best_params
            self._restore_running_stats(self.best_running_stats)

    def _record_accuracy(self):
        # Test-mode scores do not depend on how examples are batched, so score in
        # large batches: fewer Python-level passes (about a fifth of a small run).
        train_acc = self.check_accuracy(self.X_train, self.y_train,
                                        num_samples=self.num_train_samples, batch_size=1000)
        val_acc = self.check_accuracy(self.X_val, self.y_val,
                                      num_samples=self.num_val_samples, batch_size=1000)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        # The first check always sets best_params, even at accuracy 0, so the
        # swap at the end never leaves the model without parameters.
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}
            self.best_running_stats = self._running_stats()

    def _running_stats(self):
        """Copies of the batch-norm running statistics of ``model.bn_params``, if any.

        They are model state outside ``params``: the best model is its parameters
        *and* the statistics it was scored with. (The assignment swaps in only the
        parameters, which leaves them paired with the last iteration's statistics.)
        """
        return [{k: v.copy() for k, v in p.items() if k.startswith("running_")}
                for p in getattr(self.model, "bn_params", ())]

    def _restore_running_stats(self, stats):
        for param, saved in zip(getattr(self.model, "bn_params", ()), stats):
            param.update(saved)

    def _progress_bar(self, total):
        if not self.progress:
            return None
        from tqdm.auto import tqdm  # imported here so `import normcore` stays cheap

        return tqdm(total=total, desc="training", unit="it")


def _resolve_update_rule(rule):
    if callable(rule):
        return rule
    if isinstance(rule, str) and rule in optim.__all__:
        return getattr(optim, rule)
    raise ValueError(f"update_rule must be one of {', '.join(map(repr, optim.__all__))} "
                     f"or a callable update(w, dw, config); got {rule!r}")


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_seed(seed):
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a non-negative int, a numpy.random.Generator or None, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return np.random.default_rng(int(seed))
