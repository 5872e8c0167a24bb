"""The book's figures: training histories and metric-versus-parameter plots.

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``: a notebook displays the returned figure, a widget rasterizes it.
Figures are created without pyplot's figure manager, so a figure returned as a
cell's value is shown once (not again by the inline backend) and nothing needs
closing. All share one style: the Okabe-Ito palette, which stays distinguishable
with the common colour-vision deficiencies, labelled axes and legends placed
outside the data.

Example
-------
>>> from normcore.plots import plot_histories
>>> fig = plot_histories({"batchnorm": res.select(normalization="batchnorm"),
...                       "none": res.select(normalization=None)})
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

import matplotlib
import numpy as np
from matplotlib.figure import Figure

# Importing pyplot lets a Jupyter kernel install its inline display hook, so a
# Figure returned as a cell's value renders as an image rather than as its repr.
import matplotlib.pyplot  # noqa: F401  (imported for that side effect only)

from normcore.validation import check_positive_int

__all__ = ["OKABE_ITO", "METHOD_COLORS", "STYLE", "PAGE_WIDTH", "style", "use_book_figures",
           "color_for", "plot_histories", "plot_metric_vs_param"]

# Okabe & Ito (2008), "Color Universal Design"; black last, it reads as "reference".
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7",
             "#F0E442", "#000000")

STYLE = {
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}


#: Width of the book's content column in figure inches (680 CSS px at 100 dpi, the
#: column of the book's theme at a 1280-pixel window). A figure no wider than this
#: is shown at its natural size, so 9-point text stays at 12 CSS px.
PAGE_WIDTH = 6.8


def use_book_figures() -> None:
    """Set up a notebook for the book's figures: the style, and 2x (retina) PNGs.

    Call once at the top of a chapter. Inline figures are then drawn at twice
    their displayed size, sharp on HiDPI screens; the style is :data:`STYLE`.
    """
    matplotlib.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not in a Jupyter kernel: nothing is displayed inline
        return
    set_matplotlib_formats("retina")


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply the book's matplotlib style inside a ``with`` block (for one's own figures)."""
    with matplotlib.rc_context(STYLE):
        yield


# One colour per normalization method, the same in every chapter, so a reader
# who learned "blue is batch norm" in one figure can trust it in the next.
METHOD_COLORS = {
    "batch norm": "#0072B2",      # blue
    "layer norm": "#D55E00",      # vermillion
    "group norm": "#009E73",      # green
    "instance norm": "#CC79A7",   # reddish purple
    "no norm": "#000000",         # black: the reference
}
_METHOD_ALIASES = {
    "batchnorm": "batch norm", "bn": "batch norm", "spatial batch norm": "batch norm",
    "spatial batchnorm": "batch norm", "batch normalization": "batch norm",
    "layernorm": "layer norm", "ln": "layer norm", "layer normalization": "layer norm",
    "groupnorm": "group norm", "gn": "group norm", "group normalization": "group norm",
    "instancenorm": "instance norm", "in": "instance norm",
    "instance normalization": "instance norm",
    "none": "no norm", "no normalization": "no norm", "baseline": "no norm",
    "without normalization": "no norm", "no norm": "no norm",
}
_OTHER_COLORS = tuple(c for c in OKABE_ITO if c not in METHOD_COLORS.values())


def color_for(key: int | str | None, index: int = 0) -> str:
    """A palette colour for a curve.

    A normalization method's name (``"batchnorm"``, ``"batch norm"``, ``None``,
    ``"layer norm"``, ...) always gets that method's colour (:data:`METHOD_COLORS`);
    an int, or any other label, gets the ``index``-th (or ``key``-th) of the
    remaining colours, cycling.
    """
    if key is None or isinstance(key, str):
        name = "none" if key is None else key.strip().lower()
        method = name if name in METHOD_COLORS else _METHOD_ALIASES.get(name)
        if method:
            return METHOD_COLORS[method]
        return _OTHER_COLORS[index % len(_OTHER_COLORS)]
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return _OTHER_COLORS[int(key) % len(_OTHER_COLORS)]
    raise TypeError(f"key must be an int, a label string or None, got {type(key).__name__}")


def _as_runs(label: str, value: Any) -> list:
    """One run or a sequence of runs (e.g. several seeds) -> list of runs."""
    runs = [value] if hasattr(value, "loss_history") else value
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence) or not runs:
        raise TypeError(f"runs_by_label[{label!r}] must be a run (RunResult or Solver) or a "
                        f"non-empty list of runs, got {type(value).__name__}")
    for r in runs:
        for attr in ("loss_history", "train_acc_history", "val_acc_history"):
            if not hasattr(r, attr):
                raise TypeError(f"runs_by_label[{label!r}] holds a {type(r).__name__} without "
                                f"{attr}; expected a RunResult or a Solver")
    return list(runs)


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (shorter windows at the start, so the length is kept)."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    idx = np.arange(1, len(y) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_histories(runs_by_label: Mapping[str, Any], title: str | None = None,
                   smooth: int | None = None, figsize: tuple[float, float] = (PAGE_WIDTH, 2.8)) -> Figure:
    """The assignment's three panels for several runs: loss, train and val accuracy.

    Parameters
    ----------
    runs_by_label : mapping of str to run or list of runs
        A run is anything with ``loss_history`` (one value per iteration) and
        ``train_acc_history``/``val_acc_history`` (one per epoch, starting before
        training): a :class:`normcore.sweeps.RunResult` or a :class:`normcore.Solver`.
        Several runs under one label (seeds) share a colour and a legend entry.
    title : str, optional
        Figure title.
    smooth : int, optional
        Window (iterations) of the moving average drawn over the raw loss; default
        about 2 % of the run, so the trend shows through the minibatch noise.
    figsize : (float, float)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes in one row; one legend outside them, on the right.
    """
    if not isinstance(runs_by_label, Mapping) or not runs_by_label:
        raise TypeError("runs_by_label must be a non-empty mapping of label -> run(s), got "
                        f"{type(runs_by_label).__name__}")
    if smooth is not None:
        check_positive_int("smooth", smooth)
    groups = {str(k): _as_runs(str(k), v) for k, v in runs_by_label.items()}
    with style():
        fig = Figure(figsize=figsize, layout="constrained")
        ax_loss, ax_train, ax_val = fig.subplots(1, 3)
        loss_top = 0.0
        for i, (label, runs) in enumerate(groups.items()):
            color = color_for(label, i)
            for j, run in enumerate(runs):
                loss = np.asarray(run.loss_history, dtype=float)
                it = np.arange(1, len(loss) + 1)
                finite = loss[np.isfinite(loss)]
                if finite.size:
                    # The 99th percentile keeps one exploding step from flattening the rest.
                    loss_top = max(loss_top, float(np.percentile(finite, 99)))
                w = smooth or max(1, len(loss) // 50)
                ax_loss.plot(it, loss, color=color, alpha=0.2, linewidth=0.6)
                ax_loss.plot(it, _smooth(np.where(np.isfinite(loss), loss, np.nan), w),
                             color=color, label=label if j == 0 else None)
                for ax, hist in ((ax_train, run.train_acc_history), (ax_val, run.val_acc_history)):
                    acc = np.asarray(hist, dtype=float)
                    ax.plot(np.arange(len(acc)), acc, color=color, marker="o", markersize=3)
        if loss_top > 0:
            ax_loss.set_ylim(0, loss_top * 1.05)
        ax_loss.set(xlabel="iteration", ylabel="training loss", title="Training loss")
        ax_train.set(xlabel="epoch", ylabel="accuracy", title="Training acc.")
        ax_val.set(xlabel="epoch", ylabel="accuracy", title="Validation acc.")
        lo = min(min(ax_train.get_ylim()[0], ax_val.get_ylim()[0]), 0.0)
        for ax in (ax_train, ax_val):
            ax.set_ylim(lo, 1.0)
        # Below the panels: beside them it would take a third of a page-wide figure.
        fig.legend(loc="outside lower center", ncols=min(len(groups), 4))
        if title:
            fig.suptitle(title)
    return fig


def _check_param_values(param_values: Any) -> np.ndarray:
    if isinstance(param_values, np.ndarray):
        values = param_values
    elif isinstance(param_values, Sequence) and not isinstance(param_values, (str, bytes)):
        values = np.array(param_values, dtype=object)
    else:
        raise TypeError(f"param_values must be a sequence or array, got {type(param_values).__name__}")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"param_values must be a non-empty 1-D sequence, got shape {values.shape}")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise TypeError("param_values must hold real numbers")
    return values.astype(float)


def plot_metric_vs_param(param_values: Sequence[float] | np.ndarray,
                         metrics_by_label: Mapping[str, np.ndarray], xlabel: str, ylabel: str,
                         logx: bool | None = None, logy: bool = False, title: str | None = None,
                         ax: Any = None, figsize: tuple[float, float] = (PAGE_WIDTH * 0.75, 3.2)) -> Figure:
    """Mean of a metric across seeds against a parameter, with mean ± standard error shaded.

    Parameters
    ----------
    param_values : sequence of float, shape (P,)
        The parameter's values (x axis), e.g. ``res.axes["weight_scale"]``.
    metrics_by_label : mapping of str to ndarray, shape (P, S) or (P,)
        One curve per label: the metric for each parameter value and seed, e.g.
        ``res.metric("best_val_acc")[1]``. The line is the mean over seeds; the band
        is mean ± one standard error of the mean, the spread the book's claims test
        (see :mod:`normcore.evidence`). NaN entries are ignored.
    xlabel, ylabel : str
        Axis labels (required: a figure without them explains nothing).
    logx : bool, optional
        Logarithmic x axis. Default: when all values are positive and span more
        than two decades, as for weight scales or learning rates.
    logy : bool
        Logarithmic y axis (e.g. for a loss that explodes).
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (to combine panels) instead of a new figure.
    figsize : (float, float)
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.
    """
    x = _check_param_values(param_values)
    if not isinstance(metrics_by_label, Mapping) or not metrics_by_label:
        raise TypeError("metrics_by_label must be a non-empty mapping of label -> array, got "
                        f"{type(metrics_by_label).__name__}")
    for name, value in (("xlabel", xlabel), ("ylabel", ylabel)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    curves = {}
    for label, m in metrics_by_label.items():
        if not isinstance(m, np.ndarray):
            raise TypeError(f"metrics_by_label[{label!r}] must be a numpy.ndarray, "
                            f"got {type(m).__name__}")
        if m.ndim == 1:
            m = m[:, None]
        if m.ndim != 2 or m.shape[0] != len(x):
            raise ValueError(f"metrics_by_label[{label!r}] must have shape ({len(x)}, n_seeds) "
                             f"or ({len(x)},), got {m.shape}")
        curves[str(label)] = m.astype(float)
    if logx is None:
        logx = bool(np.all(x > 0) and x.max() / x.min() > 100)
    with style():
        if ax is None:
            fig = Figure(figsize=figsize, layout="constrained")
            ax = fig.subplots()
        else:
            fig = ax.figure
        for i, (label, m) in enumerate(curves.items()):
            color = color_for(str(label), i)
            with np.errstate(all="ignore"), _quiet_all_nan():
                mean = np.nanmean(m, axis=1)
                n = np.sum(np.isfinite(m), axis=1)
                se = np.nanstd(m, axis=1, ddof=1) / np.sqrt(n)
                lo, hi = mean - se, mean + se
            ax.plot(x, mean, color=color, marker="o", markersize=3.5, label=label)
            if m.shape[1] > 1:
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set(xlabel=xlabel, ylabel=ylabel)
        if title:
            ax.set_title(title)
        # "best" would sit on top of a curve that fills the axes; outside never does.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


@contextlib.contextmanager
def _quiet_all_nan() -> Iterator[None]:
    # An all-NaN column (every seed diverged) is drawn as a gap, which is the point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
