"""FullyConnectedNet: gradients, loss, the assignment's initialisation, RNG handling, bad input."""

import pickle

import numpy as np
import pytest

from normcore.fc_net import FullyConnectedNet
from normcore.gradient_check import eval_numerical_gradient, rel_error

N, D, HIDDEN, C = 6, 7, (8, 9), 5


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, D)), rng.integers(0, C, n)


def _global_state():
    # get_state()'s key array compares badly with ==; a tuple of plain values does not.
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return name, keys.tobytes(), pos, has_gauss, gauss


# --------------------------------------------------------------------------- #
# Gradients
# --------------------------------------------------------------------------- #

# The assignment's stated ranges for this check are 1e-4 .. 1e-10 for W,
# 1e-8 .. 1e-10 for b and 1e-8 .. 1e-9 for gamma/beta. Over 5 data seeds and all
# 12 combinations below we measured at most 5e-7 for any parameter; centred
# differences (h = 1e-5, float64) lose relative accuracy only on small entries.
# 1e-5 keeps a margin of 20 while any wrong term gives 1e-2 or more.
GRAD_TOL = 1e-5


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep, reg", [(1, 0.0), (0.6, 0.7)], ids=["plain", "dropout+reg"])
def test_gradients_match_numerical_gradients(normalization, keep, reg):
    X, y = _data(1)
    model = FullyConnectedNet(HIDDEN, input_dim=D, num_classes=C, dropout_keep_ratio=keep,
                              normalization=normalization, reg=reg, weight_scale=0.3,
                              dtype=np.float64, seed=123, rng=np.random.default_rng(2))
    # Move off the initial point: zero biases put an example whose inputs are all
    # dropped exactly on the ReLU kinks, where the gradient is undefined and the
    # centred difference averages the two one-sided slopes (the assignment's
    # occasional b error near 1e-3).
    rng = np.random.default_rng(3)
    for name, value in model.params.items():
        if not name.startswith("W"):
            model.params[name] = value + 0.1 * rng.standard_normal(value.shape)

    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, analytic in grads.items():
        # The lambda ignores its argument on purpose: eval_numerical_gradient
        # perturbs model.params[name] in place and the model reads it from there.
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                          verbose=False, h=1e-5)
        hidden_bias = name in {f"b{i}" for i in range(1, model.num_layers)}
        if normalization == "batchnorm" and hidden_bias:
            # Batch norm subtracts the batch mean, cancelling any bias before it:
            # the true gradient is zero. Both values must be rounding noise
            # (analytic: sums of O(1) terms, ~1e-15; numeric: loss rounding
            # ~1e-16 divided by 2h = 2e-5), not a relative error of two noises.
            assert np.abs(analytic).max() < 1e-12, name
            assert np.abs(numeric).max() < 1e-9, name
        else:
            assert rel_error(analytic, numeric) < GRAD_TOL, name


def test_seeded_dropout_gives_the_same_mask_every_call():
    # The gradient check above relies on this; without a seed the loss would be noise.
    X, y = _data(4)
    model = FullyConnectedNet(HIDDEN, input_dim=D, num_classes=C, dropout_keep_ratio=0.5,
                              dtype=np.float64, seed=7)
    # Each layer's mask is the assignment's: np.random.seed(7); rand(N, H) < p,
    # whatever the global generator's state (reseeded differently before each call).
    for global_seed in (0, 1):
        np.random.seed(global_seed)
        _, cache = model.forward(X, mode="train")
        for layer, width in zip(cache.hidden, HIDDEN):
            keep = np.random.RandomState(7).rand(N, width) < 0.5
            np.testing.assert_array_equal(layer.dropout.mask, keep / 0.5)
    np.random.seed(0)
    first = model.loss(X, y)[0]
    np.random.seed(1)
    assert model.loss(X, y)[0] == first
    # And dropout is on: the same weights without it give another loss.
    plain = FullyConnectedNet(HIDDEN, input_dim=D, num_classes=C, dtype=np.float64)
    plain.params = model.params
    assert plain.loss(X, y)[0] != first


# --------------------------------------------------------------------------- #
# Loss
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_initial_loss_is_log_num_classes_with_small_weights(normalization):
    X, _ = _data(5, n=50)
    y = np.random.default_rng(6).integers(0, 10, len(X))
    model = FullyConnectedNet([20, 20], input_dim=D, num_classes=10,
                              normalization=normalization, weight_scale=1e-3, dtype=np.float64)
    loss, _ = model.loss(X, y)
    # Tiny last-layer weights give scores within ~1e-2 of zero (after a norm
    # layer the hidden units are O(1)), hence a near-uniform softmax whose
    # cross-entropy differs from log(10) by ~ score variance / 2 < 1e-3.
    assert abs(loss - np.log(10)) < 1e-2


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_l2_term_covers_weights_only(normalization):
    X, y = _data(7)
    kwargs = dict(input_dim=D, num_classes=C, normalization=normalization, dtype=np.float64,
                  weight_scale=0.2)
    plain = FullyConnectedNet(HIDDEN, reg=0.0, rng=np.random.default_rng(8), **kwargs)
    reg = 0.37
    regularized = FullyConnectedNet(HIDDEN, reg=reg, rng=np.random.default_rng(8), **kwargs)
    # Give biases and gamma/beta non-trivial values: they must not be penalized.
    rng = np.random.default_rng(9)
    for name, value in plain.params.items():
        if not name.startswith("W"):
            plain.params[name] = value + rng.standard_normal(value.shape)
        regularized.params[name] = plain.params[name].copy()

    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = regularized.loss(X, y)
    weights = [v for k, v in plain.params.items() if k.startswith("W")]
    penalty = 0.5 * reg * sum(np.sum(W**2) for W in weights)
    # Same terms summed in a different order: float64 rounding only.
    assert loss1 - loss0 == pytest.approx(penalty, rel=1e-10)
    for name in plain.params:
        extra = reg * plain.params[name] if name.startswith("W") else 0.0
        np.testing.assert_allclose(grads1[name], grads0[name] + extra, rtol=1e-12, atol=1e-14)


def test_test_mode_returns_scores_and_uses_running_statistics():
    X, y = _data(10, n=20)
    model = FullyConnectedNet(HIDDEN, input_dim=D, num_classes=C, normalization="batchnorm",
                              dtype=np.float64, rng=np.random.default_rng(11))
    model.loss(X, y)
    assert all(p["mode"] == "train" and "running_mean" in p for p in model.bn_params)
    scores = model.loss(X)
    assert scores.shape == (len(X), C)
    assert all(p["mode"] == "test" for p in model.bn_params)
    # In test mode each example is scored on its own: a batch of one gives the
    # same scores (in train mode it would be normalized by its own statistics).
    np.testing.assert_allclose(model.loss(X[:1]), scores[:1], rtol=1e-12)


def test_inputs_are_flattened_and_computation_stays_in_dtype():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((4, 2, 3))  # float64 data into a float32 net, as in the assignment
    y = rng.integers(0, C, 4)
    model = FullyConnectedNet([10], input_dim=6, num_classes=C)
    assert all(v.dtype == np.float32 for v in model.params.values())
    loss, grads = model.loss(X, y)
    assert np.isfinite(loss)
    assert all(grads[k].dtype == np.float32 and grads[k].shape == v.shape
               for k, v in model.params.items())
    assert model.loss(X).dtype == np.float32


def test_model_pickles():
    # The solver's checkpoints pickle the model, including one built with rng=.
    model = FullyConnectedNet(HIDDEN, input_dim=D, num_classes=C, dropout_keep_ratio=0.5,
                              normalization="layernorm", rng=np.random.default_rng(13))
    clone = pickle.loads(pickle.dumps(model))
    for name, value in model.params.items():
        np.testing.assert_array_equal(clone.params[name], value)


# --------------------------------------------------------------------------- #
# Initialisation and random numbers
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_construction_draws_exactly_what_the_assignment_draws(normalization, dtype):
    hidden, input_dim, num_classes, scale, seed = [12, 11, 10], 13, 7, 3e-2, 231

    np.random.seed(seed)
    model = FullyConnectedNet(hidden, input_dim=input_dim, num_classes=num_classes,
                              normalization=normalization, weight_scale=scale, dtype=dtype)
    state_after_model = _global_state()

    # The assignment's initialisation, spelled out: one weight_scale * randn
    # matrix per layer in order, computed in float64 and then cast; nothing else
    # touches the RNG.
    np.random.seed(seed)
    expected = {
        "W1": scale * np.random.randn(13, 12),
        "W2": scale * np.random.randn(12, 11),
        "W3": scale * np.random.randn(11, 10),
        "W4": scale * np.random.randn(10, 7),
    }
    assert _global_state() == state_after_model

    expected.update({"b1": np.zeros(12), "b2": np.zeros(11), "b3": np.zeros(10), "b4": np.zeros(7)})
    if normalization is not None:
        expected.update({"gamma1": np.ones(12), "gamma2": np.ones(11), "gamma3": np.ones(10),
                         "beta1": np.zeros(12), "beta2": np.zeros(11), "beta3": np.zeros(10)})
    assert set(model.params) == set(expected)
    for name, value in expected.items():
        assert model.params[name].dtype == dtype
        np.testing.assert_array_equal(model.params[name], value.astype(dtype), err_msg=name)

    assert model.num_layers == 4
    assert model.bn_params == ([] if normalization is None else [{"mode": "train"}] * 3)
    assert model.dropout_param == {}


def test_dropout_param_follows_the_assignment():
    model = FullyConnectedNet([5], input_dim=D, num_classes=C, dropout_keep_ratio=0.25, seed=99)
    assert model.use_dropout
    assert model.dropout_param == {"mode": "train", "p": 0.25, "seed": 99}


def test_rng_leaves_the_global_state_alone_and_reproduces():
    X, y = _data(14)
    kwargs = dict(input_dim=D, num_classes=C, normalization="batchnorm", dropout_keep_ratio=0.5)
    np.random.seed(0)
    before = _global_state()
    a = FullyConnectedNet(HIDDEN, rng=np.random.default_rng(42), **kwargs)
    b = FullyConnectedNet(HIDDEN, rng=np.random.default_rng(42), **kwargs)
    # Unseeded dropout masks must come from rng too, not from np.random.
    losses_a = [a.loss(X, y)[0] for _ in range(3)]
    losses_b = [b.loss(X, y)[0] for _ in range(3)]
    assert _global_state() == before

    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert losses_a == losses_b
    # A fresh mask per call: identical losses would mean a frozen mask.
    assert len(set(losses_a)) == 3

    # Scoring uses no dropout, so it draws nothing from rng either.
    rng = np.random.default_rng(44)
    scorer = FullyConnectedNet(HIDDEN, rng=rng, **kwargs)
    rng_state = rng.bit_generator.state
    scorer.loss(X)
    assert rng.bit_generator.state == rng_state

    c = FullyConnectedNet(HIDDEN, rng=np.random.default_rng(43), **kwargs)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("kwargs, error, name", [
    ({"hidden_dims": []}, ValueError, "hidden_dims"),
    ({"hidden_dims": 100}, TypeError, "hidden_dims"),
    ({"hidden_dims": "100"}, TypeError, "hidden_dims"),
    # bytes are a sequence of ints (b"100" is 49, 48, 48): refused like str.
    ({"hidden_dims": b"100"}, TypeError, "hidden_dims"),
    ({"hidden_dims": [10, 0]}, ValueError, r"hidden_dims\[1\]"),
    ({"hidden_dims": [10, -3]}, ValueError, r"hidden_dims\[1\]"),
    ({"hidden_dims": [2.5]}, TypeError, r"hidden_dims\[0\]"),
    ({"input_dim": 0}, ValueError, "input_dim"),
    ({"input_dim": True}, TypeError, "input_dim"),  # a bool is not a size, though True == 1
    ({"num_classes": 3.0}, TypeError, "num_classes"),
    ({"normalization": "groupnorm"}, ValueError, "normalization"),
    ({"normalization": "BatchNorm"}, ValueError, "normalization"),
    ({"weight_scale": -1e-2}, ValueError, "weight_scale"),
    ({"dropout_keep_ratio": 0}, ValueError, "dropout_keep_ratio"),
    ({"dropout_keep_ratio": 1.5}, ValueError, "dropout_keep_ratio"),
    ({"reg": -0.1}, ValueError, "reg"),
    ({"reg": float("inf")}, ValueError, "reg"),
    ({"reg": float("nan")}, ValueError, "reg"),
    ({"weight_scale": float("nan")}, ValueError, "weight_scale"),
    ({"dropout_keep_ratio": float("nan")}, ValueError, "dropout_keep_ratio"),
    ({"dtype": np.int32}, ValueError, "dtype"),
    ({"dtype": np.float16}, ValueError, "dtype"),  # too coarse for gradient checks
    ({"dtype": "nonsense"}, TypeError, "dtype"),
    ({"seed": "7"}, TypeError, "seed"),
    ({"seed": -1}, ValueError, "seed"),
    ({"rng": 42}, TypeError, "rng"),
])
def test_bad_constructor_arguments_are_named(kwargs, error, name):
    args = {"hidden_dims": [10], "input_dim": D, "num_classes": C, **kwargs}
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(error, match=rf"(?<!\w){name}(?!\w)"):
        FullyConnectedNet(**args)


@pytest.mark.parametrize("make_X, make_y, error, name", [
    (lambda: np.zeros((4, D + 1)), lambda: None, ValueError, "input_dim"),
    (lambda: np.zeros(D), lambda: None, ValueError, "X"),
    (lambda: np.zeros((4, D)).tolist(), lambda: None, TypeError, "X"),
    (lambda: np.zeros((4, D), dtype=complex), lambda: None, TypeError, "X"),
    (lambda: np.zeros((4, D)), lambda: np.array([0, 1, 2, C]), ValueError, "y"),
    (lambda: np.zeros((4, D)), lambda: np.array([0, -1, 2, 3]), ValueError, "y"),
    (lambda: np.zeros((4, D)), lambda: np.array([0, 1, 2]), ValueError, "y"),
    (lambda: np.zeros((4, D)), lambda: np.array([0.0, 1, 2, 3]), TypeError, "y"),
])
def test_bad_loss_arguments_are_named(make_X, make_y, error, name):
    model = FullyConnectedNet([10], input_dim=D, num_classes=C)
    # The name as a whole word: "x" must not match the "x" of "expected" in an
    # unrelated error from deeper down.
    with pytest.raises(error, match=rf"(?<!\w){name}(?!\w)"):
        model.loss(make_X(), make_y())


def test_forward_exposes_each_layers_activations():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((64, 12))
    model = FullyConnectedNet([20, 30], input_dim=12, num_classes=4, normalization="batchnorm",
                              weight_scale=0.3, dtype=np.float64, rng=np.random.default_rng(1))
    scores, cache = model.forward(X)
    # Test mode is exactly what loss(X) computes.
    np.testing.assert_array_equal(scores, model.loss(X))
    assert len(cache.hidden) == 2
    scores, cache = model.forward(X, mode="train")
    for layer, width in zip(cache.hidden, (20, 30)):
        assert layer.affine_out.shape == layer.relu_in.shape == (64, width)
        # Train mode normalizes with the batch's statistics, and gamma = 1,
        # beta = 0 at initialization: each unit's ReLU input has mean 0, std 1
        # (up to eps = 1e-5 in the variance: tolerance 1e-4).
        np.testing.assert_allclose(layer.relu_in.mean(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(layer.relu_in.std(axis=0), 1, atol=1e-4)
    # The first layer's affine output is X @ W1 + b1.
    np.testing.assert_allclose(cache.hidden[0].affine_out, X @ model.params["W1"] + model.params["b1"])
    with pytest.raises(ValueError, match="mode"):
        model.forward(X, mode="eval")
