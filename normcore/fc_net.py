"""A fully connected classifier of any depth, with optional batch, layer or group norm and dropout.

The class keeps the CS231n assignment's constructor, parameter names and
initialisation order, so that after ``np.random.seed(s)`` it holds exactly the
weights the assignment's code would, and a student reproduces the assignment's
printed numbers with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from normcore.blocks import (
    NORMALIZATIONS,
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from normcore.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    softmax_loss,
)
from normcore.validation import (
    check_choice,
    check_float_dtype,
    check_labels,
    check_positive_int,
    check_real,
)

__all__ = ["FullyConnectedNet"]


class HiddenLayerCache(NamedTuple):
    """One hidden layer's caches: its affine-[norm]-ReLU block and its dropout."""

    block: Any
    dropout: Any  # None when the network has no dropout

    @property
    def affine_out(self) -> np.ndarray:
        """The affine layer's output, shape (N, H): what the normalization sees."""
        norm = getattr(self.block, "norm", None)
        # Group norm sees its (N, H) input as (N, H, 1, 1) channels.
        return self.block.relu.x if norm is None else norm.x.reshape(self.block.relu.x.shape)

    @property
    def relu_in(self) -> np.ndarray:
        """The ReLU's input, shape (N, H): the affine output, normalized if the layer normalizes."""
        return self.block.relu.x


class ForwardCache(NamedTuple):
    """Every layer's cache from :meth:`FullyConnectedNet.forward`."""

    hidden: list  # of HiddenLayerCache, one per hidden layer
    output: Any   # the last affine layer's cache


class FullyConnectedNet:
    """``{affine - [batch/layer/group norm] - relu - [dropout]} x (L - 1) - affine - softmax``.

    Parameters
    ----------
    hidden_dims : sequence of int
        Sizes of the L - 1 hidden layers (at least one).
    input_dim : int
        Number of input features D; inputs of shape (N, d_1, ..., d_k) with
        d_1 * ... * d_k = D are flattened.
    num_classes : int
        Number of classes C.
    dropout_keep_ratio : float in (0, 1]
        Probability of *keeping* a hidden unit; 1 means no dropout.
    normalization : {None, "batchnorm", "layernorm", "groupnorm"}
    reg : float >= 0
        L2 strength; the loss gains ``0.5 * reg * sum(W**2)`` over the weight
        matrices in ``reg_scope`` (never biases, never gamma/beta).
    weight_scale : float >= 0
        Standard deviation of the normally distributed initial weights.
    dtype : floating dtype
        Parameters are stored and computed in this type: float32 for speed,
        float64 for gradient checks.
    seed : int, optional
        Seed for the dropout layers, making their masks deterministic (for
        gradient checks).
    norm_groups : int, optional
        Not in the assignment. For ``normalization="groupnorm"`` only (and then
        required): the number of groups G of each hidden layer, which must divide
        every hidden width. G = 1 is layer norm; G = width puts every feature in
        a group of its own, which normalizes it to 0 (output ``beta``).
    reg_scope : {"all", "last"}
        Not in the assignment. ``"all"`` (the assignment's) penalizes every
        weight matrix; ``"last"`` only ``WL``, the one layer no normalization
        follows. A normalized layer's output does not depend on the scale of its
        ``W``, so there L2 changes only the effective step size, not the function.
    rng : numpy.random.Generator, optional
        Not in the assignment. When given, the initial weights are drawn from
        ``rng.standard_normal``, unseeded dropout masks are seeded from it, and
        NumPy's global RNG is left untouched, so runs in parallel processes are
        reproducible. When omitted, weights come from
        ``np.random.randn`` exactly as in the assignment.

    Attributes
    ----------
    params : dict of str -> ndarray
        ``W1 .. WL`` (shape (fan_in, fan_out)), ``b1 .. bL``, and for normalized
        networks ``gamma1 .. gamma{L-1}``, ``beta1 .. beta{L-1}``.
    bn_params : list of dict
        One parameter dict per normalization layer (empty without normalization);
        batch norm keeps its running statistics here.
    dropout_param : dict
        ``{"mode", "p"[, "seed"]}`` when dropout is used, else empty.
    num_layers : int
        L, the number of affine layers.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None, rng=None,
                 norm_groups=None, reg_scope="all"):
        hidden_dims = _check_hidden_dims(hidden_dims)
        input_dim = check_positive_int("input_dim", input_dim)
        num_classes = check_positive_int("num_classes", num_classes)
        dropout_keep_ratio = check_real("dropout_keep_ratio", dropout_keep_ratio,
                                        low=0.0, high=1.0, low_open=True)
        check_choice("normalization", normalization, (None, *NORMALIZATIONS))
        reg = check_real("reg", reg, low=0.0)
        check_choice("reg_scope", reg_scope, ("all", "last"))
        norm_groups = _check_norm_groups(norm_groups, normalization, hidden_dims)
        weight_scale = check_real("weight_scale", weight_scale, low=0.0)
        dtype = check_float_dtype("dtype", dtype).type
        if seed is not None:
            _check_seed(seed)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")

        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.reg_scope = reg_scope
        self.norm_groups = norm_groups
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.params = {}
        self._rng = rng

        # The order of the draws is part of the contract: one weight matrix per
        # layer, first to last, and nothing else drawn (biases and gamma/beta are
        # constants), so np.random.seed(s) gives the assignment's weights.
        dims = [input_dim, *hidden_dims, num_classes]
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            if rng is None:
                noise = np.random.randn(fan_in, fan_out)
            else:
                noise = rng.standard_normal((fan_in, fan_out))
            self.params[f"W{i}"] = weight_scale * noise
            self.params[f"b{i}"] = np.zeros(fan_out)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed

        self.bn_params = []
        if normalization is not None:
            extra = {} if norm_groups is None else {"G": norm_groups}
            self.bn_params = [{"mode": "train", **extra} for _ in range(self.num_layers - 1)]

        for name, value in self.params.items():
            self.params[name] = value.astype(dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray of numbers, shape (N, d_1, ..., d_k)
            Inputs with d_1 * ... * d_k = ``input_dim``. They are converted to the
            network's dtype, as in the assignment, whose float64 data feed float32
            networks; integer (e.g. uint8 pixel) and boolean inputs are converted too.
        y : ndarray of int, shape (N,), optional
            Labels in [0, num_classes). Without labels the network runs in test
            mode (batch norm uses its running statistics, dropout is off).

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
            When ``y`` is None.
        loss : float
            Softmax cross-entropy averaged over the batch, plus the L2 term.
        grads : dict of str -> ndarray
            Gradient of ``loss`` for every entry of ``params``, same shapes.
        """
        X = self._check_inputs(X)
        if y is not None:
            check_labels("y", y, X.shape[0], self.num_classes)
        mode = "test" if y is None else "train"
        scores, cache = self._forward(X, mode)
        if mode == "test":
            return scores

        L = self.num_layers
        loss, dscores = softmax_loss(scores, y)
        penalized = range(1, L + 1) if self.reg_scope == "all" else (L,)
        weights = {i: self.params[f"W{i}"] for i in penalized}
        loss += 0.5 * self.reg * sum(float(np.vdot(W, W)) for W in weights.values())

        grads = {}
        dhidden, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, cache.output)
        for i in range(L - 1, 0, -1):
            layer = cache.hidden[i - 1]
            if self.use_dropout:
                dhidden = dropout_backward(dhidden, layer.dropout)
            if self.normalization is None:
                dhidden, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dhidden, layer.block)
            else:
                (dhidden, grads[f"W{i}"], grads[f"b{i}"],
                 grads[f"gamma{i}"], grads[f"beta{i}"]) = affine_norm_relu_backward(dhidden, layer.block)
        if self.reg:
            for i, W in weights.items():
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads

    def forward(self, X, mode="test"):
        """The forward pass alone: class scores and every layer's cache.

        :meth:`loss` runs this and backpropagates; the caches let a reader look
        inside the network (``cache.hidden[l].affine_out``, ``.relu_in``).

        Parameters
        ----------
        X : ndarray of floats, shape (N, d_1, ..., d_k)
        mode : {"test", "train"}
            In "train" mode batch norm normalizes with the batch's own statistics
            (and updates its running averages, as a training step would) and
            dropout is on; "test" mode is what ``loss(X)`` computes.

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
        cache : ForwardCache
        """
        X = self._check_inputs(X)
        check_choice("mode", mode, ("train", "test"))
        return self._forward(X, mode)

    def _forward(self, X, mode):
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for norm_param in self.bn_params:
            norm_param["mode"] = mode

        hidden, caches = X, []
        for i in range(1, self.num_layers):
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            if self.normalization is None:
                hidden, block_cache = affine_relu_forward(hidden, W, b)
            else:
                hidden, block_cache = affine_norm_relu_forward(
                    hidden, W, b, self.params[f"gamma{i}"], self.params[f"beta{i}"],
                    self.bn_params[i - 1], self.normalization)
            dropout_cache = None
            if self.use_dropout:
                hidden, dropout_cache = dropout_forward(hidden, self._dropout_param_for_call())
            caches.append(HiddenLayerCache(block_cache, dropout_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(hidden, self.params[f"W{L}"], self.params[f"b{L}"])
        return scores, ForwardCache(caches, last_cache)

    def _dropout_param_for_call(self):
        # Unseeded dropout draws its masks from the global RNG. A network built
        # with rng= must not touch it, so every call gets a fresh seed from rng
        # instead (on a copy: dropout_param itself stays as the assignment has it).
        # Test mode draws nothing, so scoring does not advance rng.
        param = self.dropout_param
        if self._rng is None or "seed" in param or param["mode"] == "test":
            return param
        return {**param, "seed": int(self._rng.integers(2**32))}

    def _check_inputs(self, X):
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy.ndarray, got {type(X).__name__}")
        if X.ndim < 2:
            raise ValueError(f"X must have shape (N, d_1, ..., d_k), got shape {X.shape}")
        features = int(np.prod(X.shape[1:]))
        if features != self.input_dim:
            raise ValueError(
                f"X must have input_dim={self.input_dim} features per example, "
                f"got shape {X.shape} ({features} features)")
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X must hold real numbers (float, int or bool), got dtype {X.dtype}")
        return X.astype(self.dtype, copy=False)


def _check_hidden_dims(hidden_dims):
    if isinstance(hidden_dims, (str, bytes)) or not isinstance(hidden_dims, Sequence):
        raise TypeError(
            f"hidden_dims must be a list or tuple of positive ints, got {type(hidden_dims).__name__}")
    if len(hidden_dims) == 0:
        raise ValueError("hidden_dims must hold at least one hidden layer size, got an empty sequence")
    return [check_positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]


def _check_norm_groups(norm_groups, normalization, hidden_dims):
    if normalization != "groupnorm":
        if norm_groups is not None:
            raise ValueError(f"norm_groups is for normalization='groupnorm' only, got "
                             f"norm_groups={norm_groups!r} with normalization={normalization!r}")
        return None
    if norm_groups is None:
        raise ValueError("normalization='groupnorm' needs norm_groups, the number of groups G")
    G = check_positive_int("norm_groups", norm_groups)
    if any(h % G for h in hidden_dims):
        raise ValueError(f"norm_groups={G} must divide every hidden width, got hidden_dims={hidden_dims}")
    return G


def _check_seed(seed):
    # Dropout seeds a legacy RandomState, which takes 32-bit unsigned seeds.
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed!r}")
