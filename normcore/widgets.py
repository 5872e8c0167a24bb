"""Sliders over precomputed figures that work with no kernel, in the static book too.

A kernel-driven ``interact`` slider is dead on a static HTML page. Here every


which runs in the browser: the saved widget state alone animates the page.

Which trait to link: a ``SelectionSlider`` syncs its position to the browser as
``index`` (its ``value`` lives only in Python), and a ``Stack`` shows the child
``selected_index``; so the link is ``(slider, "index") -> (stack, "selected_index")``.

Example
-------
>>> from normcore.widgets import slider_stack
>>> scales = res.axes["weight_scale"]
>>> slider_stack(scales, lambda s: plot_histories({...runs at scale s...}),
...              description="weight scale")
"""

from __future__ import annotations

import base64
import html
import io
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from normcore.validation import check_positive_int

__all__ = ["figure_png", "figure_alt", "format_value", "slider_stack", "slider_stack_2d", "DEFAULT_DPI",
           "PIXEL_DENSITY"]

# A frame is shown at DEFAULT_DPI CSS pixels per figure inch, the same scale as the
# book's static figures (a 6.8-inch figure fills the 680-pixel content column), and
# rendered at PIXEL_DENSITY times that, so it stays sharp on HiDPI screens and under zoom.
DEFAULT_DPI = 100
PIXEL_DENSITY = 2


def figure_png(fig: Figure, dpi: int = DEFAULT_DPI, colors: int = 256) -> bytes:
    """Rasterize ``fig`` to a small PNG and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int
        Pixels per figure inch of the PNG. Every frame of a slider is embedded in
        the page, so size adds up quickly.
    colors : int
        Palette size. Plots use few distinct colours, so a 256-colour palette PNG is
        visually the same as RGBA and about a third of its size.

    Returns
    -------
    bytes
        The PNG file's bytes.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    check_positive_int("dpi", dpi)
    check_positive_int("colors", colors)
    if colors > 256:
        raise ValueError(f"colors must be at most 256 (a PNG palette), got {colors}")
    raw = io.BytesIO()
    try:
        fig.savefig(raw, format="png", dpi=dpi, facecolor="white")
    finally:
        # Closing keeps pyplot-made figures from piling up (and from being shown
        # again by the notebook's inline backend at the end of the cell).
        plt.close(fig)
    raw.seek(0)
    with Image.open(raw) as im:
        small = im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, format="png", optimize=True)
    return out.getvalue()


def format_value(value: Any, fmt: str | Callable[[Any], str] | None = None) -> str:
    """The readout of ``value`` on a slider.

    Default: floats in scientific notation with two significant digits
    (``1.0e-03``), integers as they are, ``None`` as "none", anything else ``str``.
    ``fmt`` overrides it: a format string such as ``"{:.2f}"`` or a function.
    """
    if fmt is not None:
        if callable(fmt):
            text = fmt(value)
        elif isinstance(fmt, str):
            text = fmt.format(value)
        else:
            raise TypeError(f"fmt must be a format string or a function, got {type(fmt).__name__}")
        if not isinstance(text, str):
            raise TypeError(f"fmt must produce a str, got {type(text).__name__} for {value!r}")
        return text
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.1e}"
    return str(value)


def _check_values(name: str, values: Any) -> list:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of values, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(values)


def _labels(name: str, values: list, fmt: Any) -> list[str]:
    labels = [format_value(v, fmt) for v in values]
    if len(set(labels)) != len(labels):
        # Duplicate readouts would make two positions indistinguishable to the reader.
        raise ValueError(f"{name} give duplicate slider labels {labels}; pass a finer fmt")
    return labels


def figure_alt(fig: Figure) -> str:
    """A text alternative read off a figure: its title, and each panel's title and axes.

    E.g. ``"Weight scale 1e-3. Panel 1: training loss (x: iteration, y: loss)."``
    Screen readers announce it for slider frames, which cannot carry a caption.
    """
    parts = []
    title = fig._suptitle.get_text().strip() if fig._suptitle is not None else ""
    if title:
        parts.append(title.rstrip(".") + ".")
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"]
    for i, ax in enumerate(axes, start=1):
        name = ax.get_title().strip() or "plot"
        x, y = ax.get_xlabel().strip(), ax.get_ylabel().strip()
        labels = ", ".join(f"{k}: {v}" for k, v in (("x", x), ("y", y)) if v)
        lead = f"Panel {i}: " if len(axes) > 1 else ""
        parts.append(f"{lead}{name}" + (f" ({labels})" if labels else "") + ".")
    return " ".join(parts) or "A figure."


def _frame(make_figure: Callable[..., Figure], args: tuple, dpi: int,
           alt: str | Callable[..., str] | None, label: str) -> widgets.HTML:
    fig = make_figure(*args)
    if not isinstance(fig, Figure):
        raise TypeError(f"make_figure must return a matplotlib Figure, got {type(fig).__name__} "
                        f"for {args!r}")
    css_width = round(fig.get_figwidth() * dpi)
    if alt is None:
        text = f"{label}: {figure_alt(fig)}"
    else:
        text = alt(*args) if callable(alt) else alt
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"alt must give a non-empty str, got {text!r} for {args!r}")
    png = base64.b64encode(figure_png(fig, dpi * PIXEL_DENSITY)).decode("ascii")
    # An <img> in an HTML widget, not an Image widget: only an <img> of our own
    # can carry alt text (ipywidgets' Image has none, and its tooltip breaks the
    # view in the static page). Drawn at PIXEL_DENSITY x the size it is shown at;
    # shrinks with a narrow page (phones, side-by-side windows), never stretches.
    return widgets.HTML(
        value=(f'<img src="data:image/png;base64,{png}" alt="{html.escape(text)}" '
               f'style="width: {css_width}px; max-width: 100%; height: auto;">'))


def _slider(labels: list[str], values: list, description: str) -> widgets.SelectionSlider:
    # ipywidgets takes the value None to mean "nothing selected", so a None in the
    # grid (normalization=None) is represented by its label; make_figure still gets None.
    values = [label if v is None else v for label, v in zip(labels, values)]
    return widgets.SelectionSlider(
        options=list(zip(labels, values)), description=description,
        continuous_update=True,  # frames are precomputed: following the drag is free
        style={"description_width": "initial"},
        layout=widgets.Layout(width="min(100%, 32em)"))


def slider_stack(values: Sequence[Any] | np.ndarray, make_figure: Callable[[Any], Figure],
                 description: str = "value", fmt: str | Callable[[Any], str] | None = None,
                 dpi: int = DEFAULT_DPI,
                 alt: str | Callable[[Any], str] | None = None) -> widgets.VBox:
    """A slider over ``values`` showing ``make_figure(value)`` for the selected value.

    Parameters
    ----------
    values : sequence, length K
        The parameter values, in slider order (e.g. ``res.axes["weight_scale"]``).
    make_figure : callable
        ``make_figure(value) -> Figure``; called once per value, now. The figure is
        rasterized and closed.
    description : str
        The slider's label.
    fmt : str or callable, optional
        Readout format (see :func:`format_value`); the readouts must be distinct.
    dpi : int
        CSS pixels per figure inch at which the frames are shown; they are drawn
        at ``PIXEL_DENSITY`` times that.
    alt : str or callable, optional
        Text alternative of each frame (``alt(value)`` if callable); default: the
        slider's position and :func:`figure_alt` of the frame.

    Returns
    -------
    ipywidgets.VBox
        ``children == (slider, stack)``: a ``SelectionSlider`` with options
        ``(label, value)`` (a None value appears as its label, "none") and a
        ``Stack`` of K ``HTML`` frames (each an ``<img>`` with alt text), linked in the
        browser. The link is kept as the attribute ``links`` (a tuple of one
        ``jslink``), so it stays alive and is inspectable.
    """
    values = _check_values("values", values)
    if not callable(make_figure):
        raise TypeError(f"make_figure must be callable, got {type(make_figure).__name__}")
    if not isinstance(description, str):
        raise TypeError(f"description must be a str, got {type(description).__name__}")
    labels = _labels("values", values, fmt)
    slider = _slider(labels, values, description)
    stack = widgets.Stack([_frame(make_figure, (v,), dpi, alt, f"{description} = {label}")
                           for v, label in zip(values, labels)], selected_index=0)
    box = widgets.VBox([slider, stack])
    box.links = (widgets.jslink((slider, "index"), (stack, "selected_index")),)
    return box


def slider_stack_2d(values_a: Sequence[Any] | np.ndarray, values_b: Sequence[Any] | np.ndarray,
                    make_figure: Callable[[Any, Any], Figure], description_a: str = "a",
                    description_b: str = "b", fmt_a: str | Callable[[Any], str] | None = None,
                    fmt_b: str | Callable[[Any], str] | None = None,
                    dpi: int = DEFAULT_DPI,
                    alt: str | Callable[[Any, Any], str] | None = None) -> widgets.VBox:
    """Two sliders over a grid, showing ``make_figure(a, b)`` for the selected pair.

    ``jslink`` copies a value; it cannot compute a flat index ``i * len(b) + j``.
    So the frames are a ``Stack`` over ``a`` whose children are ``Stack``s over
    ``b``: slider a drives the outer stack, slider b drives every inner stack.

    Parameters
    ----------
    values_a, values_b : sequence, lengths A and B
    make_figure : callable
        ``make_figure(a, b) -> Figure``, called A*B times now.
    description_a, description_b : str
        Slider labels.
    fmt_a, fmt_b : str or callable, optional
        Readout formats (see :func:`format_value`).
    dpi : int
        CSS pixels per figure inch at which the frames are shown; they are drawn
        at ``PIXEL_DENSITY`` times that.
    alt : str or callable, optional
        Text alternative of each frame (``alt(a, b)`` if callable); default: the
        sliders' positions and :func:`figure_alt` of the frame.

    Returns
    -------
    ipywidgets.VBox
        ``children == (slider_a, slider_b, outer_stack)``; ``outer_stack.children[i]
        .children[j]`` is the frame for ``(values_a[i], values_b[j])``. ``links`` holds
        the 1 + A ``jslink``s.
    """
    values_a = _check_values("values_a", values_a)
    values_b = _check_values("values_b", values_b)
    if not callable(make_figure):
        raise TypeError(f"make_figure must be callable, got {type(make_figure).__name__}")
    for name, d in (("description_a", description_a), ("description_b", description_b)):
        if not isinstance(d, str):
            raise TypeError(f"{name} must be a str, got {type(d).__name__}")
    labels_a = _labels("values_a", values_a, fmt_a)
    labels_b = _labels("values_b", values_b, fmt_b)
    slider_a = _slider(labels_a, values_a, description_a)
    slider_b = _slider(labels_b, values_b, description_b)
    inner = [widgets.Stack([_frame(make_figure, (a, b), dpi, alt,
                                   f"{description_a} = {la}, {description_b} = {lb}")
                            for b, lb in zip(values_b, labels_b)], selected_index=0)
             for a, la in zip(values_a, labels_a)]
    outer = widgets.Stack(inner, selected_index=0)
    box = widgets.VBox([slider_a, slider_b, outer])
    box.links = (widgets.jslink((slider_a, "index"), (outer, "selected_index")),
                 *(widgets.jslink((slider_b, "index"), (s, "selected_index")) for s in inner))
    return box
