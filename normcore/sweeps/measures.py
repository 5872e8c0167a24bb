"""Measurements a run can take besides its histories (``RunConfig.measure``).

``"test_statistics"`` (batch norm only)
    After training, the validation accuracy of the trained network under four
    ways of normalizing at test time:

    ``val_acc_running``
        the running averages, as the assignment's test mode uses them;
    ``val_acc_population``
        population statistics: the mean and variance of each layer's inputs
        over the whole training set, recomputed after training with the final
        weights ("precise BN"). The running averages instead mix statistics of
        weights from many steps back, each from one small batch;
    ``val_acc_unbiased``
        the running variance times B/(B-1), B the batch size: the running
        average of biased batch variances is shrunk by (B-1)/B, and Ioffe &
        Szegedy's inference step (their Algorithm 2) corrects it so;
    ``val_acc_train_mode``
        validation batches of B examples normalized by their own statistics,
        as every training step was: what the network saw while it learned.

``"weight_norms"``
    ``weight_norms``, shape (num_epochs + 1, L): the Frobenius norm of each
    layer's W before training and after each epoch; ``relative_step``, shape
    (num_epochs, L): the mean over each epoch's updates of
    ``||W_new - W_old|| / ||W_old||``, the step size relative to the weights. A
    layer followed by normalization computes the same function at any scale of
    its W, so this relative step, not the learning rate alone, sets how fast it
    learns (van Laarhoven 2017; Hoffer et al. 2018). A diverged run's missing
    epochs are NaN.
"""

from __future__ import annotations

import numpy as np

from normcore.solver import Solver

__all__ = ["WeightTrackingSolver", "test_statistics", "weight_norm_extras"]


class WeightTrackingSolver(Solver):
    """A :class:`~normcore.solver.Solver` that records each W's norm and relative step."""

    def __init__(self, model, data, **kwargs):
        super().__init__(model, data, **kwargs)
        self._names = [f"W{i}" for i in range(1, model.num_layers + 1)]
        self.initial_norms = [float(np.linalg.norm(model.params[n])) for n in self._names]
        self.norms: list[list[float]] = []   # after each successful update
        self.steps: list[list[float]] = []   # ||dW|| / ||W|| of each successful update

    def _step(self):
        before = [self.model.params[n].copy() for n in self._names]
        finite = super()._step()
        if finite:
            after = [self.model.params[n] for n in self._names]
            norms = [float(np.linalg.norm(a)) for a in after]
            with np.errstate(divide="ignore", invalid="ignore"):
                self.steps.append([float(np.linalg.norm(a - b) / np.linalg.norm(b))
                                   for a, b in zip(after, before)])
            self.norms.append(norms)
        return finite


def weight_norm_extras(solver: WeightTrackingSolver, num_epochs: int,
                       iterations_per_epoch: int) -> dict:
    """``weight_norms`` (num_epochs + 1, L) and ``relative_step`` (num_epochs, L)."""
    L = len(solver.initial_norms)
    norms = np.full((num_epochs + 1, L), np.nan)
    steps = np.full((num_epochs, L), np.nan)
    norms[0] = solver.initial_norms
    done = np.array(solver.norms).reshape(-1, L)
    step = np.array(solver.steps).reshape(-1, L)
    for e in range(num_epochs):
        end = (e + 1) * iterations_per_epoch
        if len(done) >= end:  # a diverged run has no complete later epochs
            norms[e + 1] = done[end - 1]
            steps[e] = step[end - iterations_per_epoch:end].mean(axis=0)
    return {"weight_norms": norms, "relative_step": steps}


def _accuracy(model, X, y) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


def test_statistics(model, data: dict, batch_size: int) -> dict:
    """Validation accuracy of a trained batch-norm network under four test-time statistics.

    Parameters
    ----------
    model : FullyConnectedNet
        Trained, with ``normalization="batchnorm"``; its ``bn_params`` are left
        exactly as they were.
    data : dict
        ``X_train``, ``X_val``, ``y_val`` as from :func:`normcore.data.load_dataset`.
    batch_size : int
        B, the training batch size.

    Returns
    -------
    dict of str to float
        ``val_acc_running``, ``val_acc_population``, ``val_acc_unbiased``,
        ``val_acc_train_mode``.
    """
    if model.normalization != "batchnorm":
        raise ValueError(f"test statistics need a batch-norm network, got {model.normalization!r}")
    saved = [dict(p) for p in model.bn_params]
    X_val, y_val = data["X_val"], data["y_val"]
    out = {"val_acc_running": _accuracy(model, X_val, y_val)}
    try:
        # Momentum 0 makes one train-mode pass store the whole training set's
        # statistics; each layer sees its input normalized the same way.
        for p in model.bn_params:
            p["momentum"] = 0.0
        model.forward(data["X_train"], mode="train")
        out["val_acc_population"] = _accuracy(model, X_val, y_val)

        B = batch_size
        for p, s in zip(model.bn_params, saved):
            p.clear()
            p.update(s)
            p["running_var"] = s["running_var"] * (B / (B - 1)) if B > 1 else s["running_var"]
        out["val_acc_unbiased"] = _accuracy(model, X_val, y_val)

        # Whole batches of B only: a last, smaller batch would be normalized
        # with noisier statistics than any training step saw.
        n = (len(y_val) // B) * B
        correct = 0
        for start in range(0, n, B):
            scores, _ = model.forward(X_val[start:start + B], mode="train")
            correct += int(np.sum(np.argmax(scores, axis=1) == y_val[start:start + B]))
        out["val_acc_train_mode"] = correct / n if n else float("nan")
    finally:
        for p, s in zip(model.bn_params, saved):
            p.clear()
            p.update(s)
    return out
