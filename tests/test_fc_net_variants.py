"""FullyConnectedNet's options beyond the assignment: group norm, reg_scope, integer inputs."""

import numpy as np
import pytest

from normcore.fc_net import FullyConnectedNet
from normcore.gradient_check import eval_numerical_gradient, rel_error


def net(**kw):
    args = dict(hidden_dims=[6, 4], input_dim=5, num_classes=3, weight_scale=0.5,
                dtype=np.float64, rng=np.random.default_rng(0))
    args.update(kw)
    return FullyConnectedNet(**args)


X = np.random.default_rng(1).standard_normal((7, 5))
Y = np.array([0, 1, 2, 0, 1, 2, 0])


def test_groupnorm_with_one_group_is_layernorm():
    # G = 1 pools all of a layer's features, exactly what layer norm does.
    loss_gn, grads_gn = net(normalization="groupnorm", norm_groups=1).loss(X, Y)
    loss_ln, grads_ln = net(normalization="layernorm").loss(X, Y)
    assert loss_gn == pytest.approx(loss_ln, rel=1e-12)
    for k in grads_ln:
        np.testing.assert_allclose(grads_gn[k], grads_ln[k], rtol=1e-9, atol=1e-12)


def test_groupnorm_gradients_match_numerical_ones():
    model = net(normalization="groupnorm", norm_groups=2, reg=0.1)
    loss, grads = model.loss(X, Y)
    for name in ("W1", "gamma1", "beta2", "W3"):
        num = eval_numerical_gradient(lambda _: model.loss(X, Y)[0], model.params[name],
                                      verbose=False, h=1e-6)
        # float64 centred differences on a smooth loss: agreement to ~1e-7 or better.
        assert rel_error(num, grads[name]) < 1e-6, name


def test_groupnorm_statistics_are_per_group():
    model = net(normalization="groupnorm", norm_groups=2)
    _, cache = model.forward(X, mode="train")
    # The first hidden layer's normalized values: each group of 3 features of each
    # example has mean 0 (gamma = 1, beta = 0 at initialization).
    h = cache.hidden[0].relu_in.reshape(7, 2, 3)
    np.testing.assert_allclose(h.mean(axis=2), 0.0, atol=1e-12)
    assert cache.hidden[0].affine_out.shape == (7, 6)


def test_norm_groups_is_checked():
    with pytest.raises(ValueError, match="needs norm_groups"):
        net(normalization="groupnorm")
    with pytest.raises(ValueError, match="must divide every hidden width"):
        net(normalization="groupnorm", norm_groups=4)
    with pytest.raises(ValueError, match="for normalization='groupnorm' only"):
        net(normalization="batchnorm", norm_groups=2)


def test_reg_scope_last_penalizes_only_the_last_weights():
    a, b = net(reg=0.3), net(reg=0.3, reg_scope="last")
    base_loss, base_grads = net().loss(X, Y)
    loss_a, grads_a = a.loss(X, Y)
    loss_b, grads_b = b.loss(X, Y)
    W = {k: v for k, v in b.params.items() if k.startswith("W")}
    assert loss_a - base_loss == pytest.approx(0.15 * sum(np.sum(w * w) for w in W.values()))
    assert loss_b - base_loss == pytest.approx(0.15 * np.sum(W["W3"] ** 2))
    np.testing.assert_allclose(grads_b["W1"], base_grads["W1"])
    np.testing.assert_allclose(grads_b["W3"], base_grads["W3"] + 0.3 * W["W3"])
    with pytest.raises(ValueError, match="reg_scope must be one of"):
        net(reg_scope="none")


def test_integer_and_boolean_inputs_are_promoted_like_the_assignment():
    # uint8 pixels, as CIFAR-10 stores them, give the same scores as their floats.
    model = net()
    Xi = (np.abs(X) * 10).astype(np.uint8)
    np.testing.assert_allclose(model.loss(Xi), model.loss(Xi.astype(np.float64)))
    assert model.loss(Xi > 3).shape == (7, 3)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        model.loss(X.astype(complex))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        model.loss(X.astype(str))
