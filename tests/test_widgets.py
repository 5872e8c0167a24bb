"""Slider widgets over precomputed frames: one frame per value, the right client-side links."""

from __future__ import annotations

import io
import re

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from normcore.widgets import figure_png, format_value, slider_stack, slider_stack_2d


def frame_for(*values):
    """A small figure that draws its arguments, so every frame's pixels differ."""
    fig = Figure(figsize=(2.0, 1.5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, sum(float(np.log10(v)) for v in values)])
    ax.set_title(" ".join(f"{v:.1e}" for v in values))
    return fig


def jslinks(box):
    return [(l.source[0], l.source[1], l.target[0], l.target[1]) for l in box.links]


def test_slider_stack_has_one_frame_per_value_and_links_index():
    values = np.logspace(-4, 0, 5)
    box = slider_stack(values, frame_for, description="weight scale")
    slider, stack = box.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(stack, widgets.Stack)
    assert [label for label, _ in slider.options] == [
        "1.0e-04", "1.0e-03", "1.0e-02", "1.0e-01", "1.0e+00"]
    # The slider's values are the sweep's own values, not their labels.
    assert [v for _, v in slider.options] == values.tolist()
    assert len(stack.children) == 5
    assert all(isinstance(c, widgets.HTML) and c.value.startswith('<img src="data:image/png;base64,')
               for c in stack.children)
    assert len({c.value for c in stack.children}) == 5, "two positions show the same frame"
    # SelectionSlider syncs "index" to the browser ("value" stays in Python).
    assert jslinks(box) == [(slider, "index", stack, "selected_index")]
    assert box.links[0]._model_name == "LinkModel"  # a client-side link, not a Python observer
    assert slider.description == "weight scale" and stack.selected_index == 0


def test_frames_follow_value_order():
    seen = []

    def record(v):
        seen.append(v)
        return frame_for(v)

    slider_stack([1e-3, 1e-1, 1e-2], record)
    assert seen == [1e-3, 1e-1, 1e-2]


def test_slider_stack_2d_nests_stacks():
    a, b = [1e-3, 1e-2, 1e-1], [10, 50]
    calls = []

    def make(x, y):
        calls.append((x, y))
        return frame_for(x, y)

    box = slider_stack_2d(a, b, make, description_a="weight scale", description_b="batch size")
    slider_a, slider_b, outer = box.children
    assert slider_b.options == (("10", 10), ("50", 50))  # integers read as integers
    assert len(outer.children) == 3 and all(len(s.children) == 2 for s in outer.children)
    assert calls == [(x, y) for x in a for y in b]
    frames = [f.value for s in outer.children for f in s.children]
    assert len(set(frames)) == 6
    links = jslinks(box)
    assert links[0] == (slider_a, "index", outer, "selected_index")
    assert links[1:] == [(slider_b, "index", s, "selected_index") for s in outer.children]


def test_labels():
    assert format_value(1e-3) == "1.0e-03"
    assert format_value(np.float64(0.25)) == "2.5e-01"
    assert format_value(np.int64(5)) == "5"
    assert format_value(None) == "none"
    assert format_value("batchnorm") == "batchnorm"
    assert format_value(0.5, "{:.2f}") == "0.50"
    assert format_value(0.5, lambda v: f"{v:.0%}") == "50%"
    # ipywidgets reserves the value None for "nothing selected"; it stands as "none".
    box = slider_stack([None, "batchnorm"], lambda v: frame_for(2.0 if v else 3.0))
    assert box.children[0].options == (("none", "none"), ("batchnorm", "batchnorm"))


def test_duplicate_labels_are_refused():
    with pytest.raises(ValueError, match="duplicate slider labels"):
        slider_stack([1.0e-3, 1.04e-3], frame_for)
    assert len(slider_stack([1.0e-3, 1.04e-3], frame_for, fmt="{:.2e}").children[1].children) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="values must not be empty"):
        slider_stack([], frame_for)
    with pytest.raises(TypeError, match="make_figure must be callable"):
        slider_stack([1.0], "plot")
    with pytest.raises(TypeError, match="make_figure must return a matplotlib Figure"):
        slider_stack([1.0], lambda v: None)
    with pytest.raises(ValueError, match="values_b must be 1-D"):
        slider_stack_2d([1.0], np.ones((2, 2)), frame_for)
    with pytest.raises(TypeError, match="fmt must be a format string"):
        slider_stack([1.0], frame_for, fmt=3)


def test_png_is_compact_and_faithful():
    fig = Figure(figsize=(11.0, 3.2))
    axes = fig.subplots(1, 3)
    for ax in axes:
        for k in range(3):
            ax.plot(np.random.default_rng(k).random(200))
    png = figure_png(fig, dpi=80)
    im = Image.open(io.BytesIO(png))
    assert im.size == (880, 256)  # 11 x 3.2 inches at 80 dpi
    assert im.mode == "P"  # palette PNG
    # Budget: a 20-frame slider should stay near 1 MB of PNG; three noisy panels
    # are about the busiest figure the book draws (measured ~35 kB).
    assert len(png) < 60_000


def test_frames_carry_a_text_alternative():
    import matplotlib.pyplot as plt
    from normcore.widgets import figure_alt, slider_stack

    def make(v):
        fig, (a, b) = plt.subplots(1, 2)
        fig.suptitle(f"Scale {v}")
        a.set(title="loss", xlabel="iteration", ylabel="loss")
        b.set(title="accuracy", xlabel="epoch")
        return fig

    def alts(box):
        return [re.search(r'alt="([^"]*)"', f.value).group(1) for f in box.children[1].children]

    box = slider_stack([1, 2], make, description="scale")
    titles = alts(box)
    # The slider position and what the figure shows, read off the figure itself.
    assert titles[0] == ("scale = 1: Scale 1. Panel 1: loss (x: iteration, y: loss). "
                         "Panel 2: accuracy (x: epoch).")
    assert titles[1].startswith("scale = 2: Scale 2.")
    custom = slider_stack([1, 2], make, alt=lambda v: f"curves at <scale> {v}")
    assert alts(custom) == ["curves at &lt;scale&gt; 1", "curves at &lt;scale&gt; 2"]
    with pytest.raises(TypeError, match="alt must give a non-empty str"):
        slider_stack([1], make, alt=lambda v: "")
    fig = plt.figure()
    assert figure_alt(fig) == "A figure."
    plt.close("all")
