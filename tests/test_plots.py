"""Plot helpers: the right panels, labels, palette and legends outside the data."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from normcore.plots import METHOD_COLORS, OKABE_ITO, color_for, plot_histories, plot_metric_vs_param


def fake_run(scale: float, iters: int = 120, epochs: int = 6):
    """A run-like object with the three histories (plots need nothing else)."""
    t = np.arange(iters)
    return SimpleNamespace(loss_history=2.3 * np.exp(-t / (40 * scale)),
                           train_acc_history=np.linspace(0.1, 0.6 * scale, epochs + 1),
                           val_acc_history=np.linspace(0.1, 0.5 * scale, epochs + 1))


def legend_inside_axes(fig: Figure) -> bool:
    fig.draw_without_rendering()  # runs the layout engine; a bare Figure's canvas.draw() does not
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    boxes = [leg.get_window_extent() for leg in legends]
    return any(lb.overlaps(ax.get_window_extent()) for lb in boxes for ax in fig.axes)


def test_histories_three_labelled_panels():
    fig = plot_histories({"batchnorm": [fake_run(1.0), fake_run(1.1)], "none": fake_run(0.7)},
                         title="deep net")
    assert isinstance(fig, Figure)
    loss, train, val = fig.axes
    assert (loss.get_xlabel(), loss.get_ylabel()) == ("iteration", "training loss")
    assert (train.get_xlabel(), val.get_xlabel()) == ("epoch", "epoch")
    assert train.get_ylabel() == val.get_ylabel() == "accuracy"
    # One legend entry per label, not per seed.
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["batchnorm", "none"]
    # Each method keeps its own colour whatever the legend order, so figures in
    # different chapters agree.
    colors = {to_hex(l.get_color()) for l in val.get_lines()}
    assert colors == {METHOD_COLORS["batch norm"].lower(), METHOD_COLORS["no norm"].lower()}
    # Seven accuracy points per run, at epochs 0..6.
    np.testing.assert_array_equal(val.get_lines()[0].get_xdata(), np.arange(7))
    assert not legend_inside_axes(fig)


def test_histories_accepts_solver_like_objects_and_diverged_loss():
    run = fake_run(1.0)
    run.loss_history = list(run.loss_history[:50]) + [np.inf]
    fig = plot_histories({"diverged": run})
    top = fig.axes[0].get_ylim()[1]
    assert np.isfinite(top) and top < 3.0  # the infinite step does not flatten the curve


def test_metric_vs_param_mean_band_and_log_axis():
    x = np.logspace(-4, 0, 5)
    m = np.array([[0.1, 0.2, 0.3]] * 5) + np.arange(5)[:, None] * 0.1
    fig = plot_metric_vs_param(x, {"batchnorm": m, "none": m[:, 0]}, "weight scale",
                               "best validation accuracy")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"  # four decades
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight scale", "best validation accuracy")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), m.mean(axis=1))
    assert len(ax.collections) == 1  # a band only where there are several seeds
    # The band is mean ± standard error: here sd 0.1 over 3 seeds, se 0.1 / sqrt(3).
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    se = 0.1 / np.sqrt(3)
    np.testing.assert_allclose([band.min(), band.max()], [0.2 - se, 0.6 + se], rtol=1e-9)
    assert not legend_inside_axes(fig)
    lin = plot_metric_vs_param([5, 10, 50], {"a": np.ones(3)}, "batch size", "accuracy")
    assert lin.axes[0].get_xscale() == "linear"


def test_metric_vs_param_draws_into_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = plot_metric_vs_param([1, 2], {"a": np.ones(2)}, "x", "y", ax=axes[1])
    assert out is fig and axes[1].get_lines() and not axes[0].get_lines()


def test_metric_vs_param_bad_input():
    with pytest.raises(ValueError, match=r"must have shape \(3, n_seeds\)"):
        plot_metric_vs_param([1, 2, 3], {"a": np.ones(4)}, "x", "y")
    with pytest.raises(TypeError, match="must be a numpy.ndarray"):
        plot_metric_vs_param([1, 2, 3], {"a": [1, 2, 3]}, "x", "y")
    with pytest.raises(TypeError, match="xlabel must be a non-empty string"):
        plot_metric_vs_param([1, 2, 3], {"a": np.ones(3)}, "", "y")
    with pytest.raises(TypeError, match="runs_by_label"):
        plot_histories([fake_run(1.0)])


def test_library_never_leaves_pyplot_figures_open():
    before = plt.get_fignums()
    plot_histories({"a": fake_run(1.0)})
    plot_metric_vs_param([1, 2], {"a": np.ones(2)}, "x", "y")
    assert plt.get_fignums() == before


def test_method_colours_do_not_depend_on_order_or_spelling():
    for spelling in ("batchnorm", "Batch norm", "BN", "spatial batch norm"):
        assert color_for(spelling, index=5) == METHOD_COLORS["batch norm"]
    assert color_for(None) == color_for("none") == color_for("no normalization") == METHOD_COLORS["no norm"]
    assert color_for("layernorm") != color_for("batchnorm")
    # Other labels cycle through the colours no method uses, so they never
    # masquerade as a method.
    others = {color_for("lr 1e-3", i) for i in range(3)}
    assert len(others) == 3 and not others & set(METHOD_COLORS.values())
    assert color_for(0) in OKABE_ITO
    with pytest.raises(TypeError, match="key"):
        color_for(1.5)
