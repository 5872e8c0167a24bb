"""Update rules against their formulas, written out here independently, over several steps."""

import numpy as np
import pytest

from normcore import optim

# The rules and these references do the same float64 arithmetic, possibly in a
# different order; rounding differences stay within a few ulps per step.
RTOL = 1e-12

STEPS = 5
SHAPE = (4, 5)


def _gradients(seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(SHAPE)
    return w0, [rng.standard_normal(SHAPE) for _ in range(STEPS)]


def _run(rule, w0, grads, config):
    w, ws = w0, []
    for dw in grads:
        w, config = rule(w, dw, config)
        ws.append(w)
    return ws, config


def test_sgd_matches_formula_and_default_learning_rate():
    w0, grads = _gradients()
    ws, config = _run(optim.sgd, w0, grads, None)
    assert config == {"learning_rate": 1e-2}
    expected = w0.copy()
    for dw, w in zip(grads, ws):
        expected = expected - 1e-2 * dw
        np.testing.assert_allclose(w, expected, rtol=RTOL)


def test_sgd_momentum_matches_formula():
    w0, grads = _gradients(1)
    lr, mu = 3e-2, 0.8
    ws, config = _run(optim.sgd_momentum, w0, grads, {"learning_rate": lr, "momentum": mu})
    expected, velocity = w0.copy(), np.zeros(SHAPE)
    for dw, w in zip(grads, ws):
        velocity = mu * velocity - lr * dw
        expected = expected + velocity
        np.testing.assert_allclose(w, expected, rtol=RTOL)
    np.testing.assert_allclose(config["velocity"], velocity, rtol=RTOL)


def test_sgd_momentum_defaults():
    w0, grads = _gradients(2)
    _, config = optim.sgd_momentum(w0, grads[0])
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9
    # From rest, the first velocity is just the scaled negative gradient.
    np.testing.assert_allclose(config["velocity"], -1e-2 * grads[0], rtol=RTOL)


def test_rmsprop_matches_formula():
    w0, grads = _gradients(3)
    ws, config = _run(optim.rmsprop, w0, grads, None)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    expected, square_avg = w0.copy(), np.zeros(SHAPE)
    for dw, w in zip(grads, ws):
        square_avg = 0.99 * square_avg + 0.01 * dw**2
        expected = expected - 1e-2 * dw / (np.sqrt(square_avg) + 1e-8)
        np.testing.assert_allclose(w, expected, rtol=RTOL)
    np.testing.assert_allclose(config["cache"], square_avg, rtol=RTOL)


def test_adam_matches_formula():
    w0, grads = _gradients(4)
    lr, b1, b2, eps = 5e-3, 0.8, 0.95, 1e-6
    ws, config = _run(optim.adam, w0, grads,
                      {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps})
    expected, first, second = w0.copy(), np.zeros(SHAPE), np.zeros(SHAPE)
    for step, (dw, w) in enumerate(zip(grads, ws), start=1):
        first = b1 * first + (1 - b1) * dw
        second = b2 * second + (1 - b2) * dw**2
        unbiased_first = first / (1 - b1**step)
        unbiased_second = second / (1 - b2**step)
        expected = expected - lr * unbiased_first / (np.sqrt(unbiased_second) + eps)
        np.testing.assert_allclose(w, expected, rtol=RTOL)
    assert config["t"] == STEPS
    np.testing.assert_allclose(config["m"], first, rtol=RTOL)
    np.testing.assert_allclose(config["v"], second, rtol=RTOL)


def test_adam_defaults_and_first_step_increments_t_before_use():
    w0, grads = _gradients(5)
    next_w, config = optim.adam(w0, grads[0])
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]) == \
        (1e-3, 0.9, 0.999, 1e-8)
    assert config["t"] == 1
    # With t = 1 the bias corrections undo the (1 - beta) factors exactly, so the
    # first step is lr * dw / (|dw| + eps): lr in the direction of -sign(dw).
    # (Using t = 0 would divide by zero.)
    np.testing.assert_allclose(w0 - next_w, 1e-3 * grads[0] / (np.abs(grads[0]) + 1e-8), rtol=1e-10)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_rules_leave_inputs_alone_and_respect_given_hyperparameters(rule):
    w0, grads = _gradients(6)
    w_before, dw_before = w0.copy(), grads[0].copy()
    config = {"learning_rate": 0.25}
    _, returned = rule(w0, grads[0], config)
    assert returned is config  # the caller's dict carries the state to the next step
    assert config["learning_rate"] == 0.25
    np.testing.assert_array_equal(w0, w_before)
    np.testing.assert_array_equal(grads[0], dw_before)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_rules_keep_float32(rule):
    # The solver trains float32 networks; a rule that upcast would double their memory.
    w = np.ones(SHAPE, dtype=np.float32)
    next_w, _ = rule(w, np.full(SHAPE, 0.5, dtype=np.float32))
    assert next_w.dtype == np.float32


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_integer_arrays_are_promoted_as_numpy_would(rule):
    rng = np.random.default_rng(7)
    dw_int = rng.integers(-3, 4, SHAPE)
    # An integer gradient takes the parameter's dtype: a float32 net stays float32
    # (NumPy's own promotion of float32 with int64 would give float64), and the
    # step is the float gradient's, bit for bit (small integers convert exactly).
    w32 = rng.standard_normal(SHAPE).astype(np.float32)
    next_w, _ = rule(w32, dw_int)
    assert next_w.dtype == np.float32
    np.testing.assert_array_equal(next_w, rule(w32, dw_int.astype(np.float32))[0])
    # An integer parameter becomes float64.
    w_int = rng.integers(-3, 4, SHAPE)
    next_w, _ = rule(w_int, dw_int)
    assert next_w.dtype == np.float64
    np.testing.assert_array_equal(next_w, rule(w_int.astype(np.float64), dw_int.astype(np.float64))[0])


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_bad_arguments_are_named(rule):
    w = np.zeros(SHAPE)
    with pytest.raises(ValueError, match="dw"):
        rule(w, np.zeros((5, 4)))
    with pytest.raises(TypeError, match="config"):
        rule(w, np.zeros(SHAPE), [("learning_rate", 1e-3)])
    # No meaning as real numbers, or not an array at all.
    with pytest.raises(TypeError, match="dw"):
        rule(w, np.zeros(SHAPE, complex))
    with pytest.raises(TypeError, match="w"):
        rule(w.tolist(), np.zeros(SHAPE))
