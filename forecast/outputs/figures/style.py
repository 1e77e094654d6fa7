"""One look for every figure: matplotlib's settings, the colours, the footer that names what drew it.

Matplotlib runs on the Agg backend with math-text parsing off, so labels from data files are drawn literally (a
``$`` in a label is a dollar sign, never TeX). Nothing here computes a statistic: every figure module draws numbers
it is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 100
MAX_LABEL = 60
DOWN_COLOR = "#c0392b"
RC = {"text.parse_math": False, "font.size": 10, "axes.titlesize": 12, "figure.titlesize": 13,
      "figure.dpi": DPI, "savefig.dpi": DPI, "svg.hashsalt": "forecast", "svg.fonttype": "none"}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Draw (and save) inside this: the one set of matplotlib settings."""
    with plt.rc_context(RC):
        yield


def clip(text: Any, n: int = MAX_LABEL) -> str:
    """One line of at most ``n`` characters (an ellipsis marks a cut)."""
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1] + "…"


def module_path(module: str) -> str:
    """A module's file relative to the package's parent folder, e.g. ``forecast/outputs/figures/history.py``."""
    return module.replace(".", "/") + ".py"


def stamp(fig: Figure, what: str, module: str) -> None:
    """The footer: on the left what the figure shows numbers of (the command, inputs, date), on the right the
    module that drew it (``__name__`` of the caller; a test checks the file exists). Drawn last, just below the
    lowest thing on the figure (or in its bottom margin), so it overlaps nothing; on a figure too narrow for both
    on one line, the module goes on a line of its own."""
    renderer = fig.canvas.get_renderer()
    y = min(fig.get_tightbbox(renderer).y0 / fig.get_figheight(), 0.04) - 0.005
    left = fig.text(0.01, y, clip(what, 120), fontsize=8, color="0.35", ha="left", va="top")
    right = fig.text(0.99, y, f"made by {module_path(module)}", fontsize=8, color="0.55", ha="right", va="top")
    a, b = left.get_window_extent(renderer), right.get_window_extent(renderer)
    if a.x1 + 0.02 * fig.bbox.width > b.x0:
        right.set_position((0.01, y - 1.25 * a.height / fig.bbox.height))
        right.set_horizontalalignment("left")


def subplots(*args: Any, **kwargs: Any) -> tuple[Figure, Any]:
    """``plt.subplots`` at the report's resolution."""
    return plt.subplots(*args, **kwargs)
