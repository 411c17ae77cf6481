"""How samkit draws a figure's face: the header that names the devices and weights kinds, the one
random-weights banner, the canvas, and the rule that figures draw tables, never result rows.

A foundation under every figure: the protocols' own figures (in their `samkit.eval` modules) and
the generic ones of `samkit.results.figures` are drawn on `new_figure` with a `figure_header`, so
they all say, at their top, which device(s) their numbers come from (``"NVIDIA H100 80GB HBM3
(cuda:0)"``, ``"cpu: x86_64 x2"``, see `samkit.wording.device_label`) and which weights kind(s);
where any number comes from random weights, a red banner says
`samkit.wording.RANDOM_WEIGHTS_WARNING`.

Figures are built without pyplot (no global figure state, safe under the Agg backend and in loops;
Jupyter's inline backend still displays them) and never call ``plt.show``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from samkit.wording import RANDOM_WEIGHTS_WARNING, devices_in, has_random_weights, weights_kinds_in

__all__ = [
    "MEMORY_METHODS",
    "is_rows",
    "refuse_rows",
    "figure_header",
    "new_figure",
    "figure_text",
]

#: how each peak-memory method measures, as the figures' captions say it
MEMORY_METHODS: dict[str, str] = {
    "cuda_max_memory_allocated": "CUDA allocator peak (max_memory_allocated; no CUDA context or cache)",
    "cpu_process_peak_rss": "whole-process peak RSS (includes weights, Python and libraries)",
    "unavailable": "not measurable on this platform",
}


def is_rows(data: Any) -> bool:
    """True for result rows (long format, a ``protocol`` column) rather than a table made from them."""
    import pandas as pd

    return isinstance(data, pd.DataFrame) and "protocol" in data.columns


def refuse_rows(data: Any, figure: str, table: str) -> None:
    """Raise TypeError when ``data`` is result rows rather than a table: ``figure`` (its name)
    draws the output of ``table`` (the table function's dotted name), which the message names."""
    if is_rows(data):
        raise TypeError(
            f"{figure} draws tables, not result rows (this frame has a 'protocol' "
            f"column): call {table}(rows) first and pass its output"
        )


_BANNER_FONT = 10.0


def _banner_lines(text: str, width: float) -> int:
    """How many lines the banner wraps to on a figure ``width`` inches wide (bold, `_BANNER_FONT`)."""
    text_inches = len(text) * _BANNER_FONT * 0.62 / 72
    return max(1, math.ceil(text_inches / max(1.0, width - 0.6)))


def figure_header(
    table: Any, title: str, *, extra: Sequence[str] = (), width: float = 8.0
) -> list[tuple[str, str, float]]:
    """The header lines of a figure drawn from ``table``: (kind, text, inches) with kind
    ``title`` / ``line`` / ``banner``: the title, the devices and weights kinds, the ``extra``
    lines, and the random-weights banner where any row has random weights."""
    wrap = max(40, int(width * 15))
    devices = devices_in(table) or ["not recorded"]
    kinds = weights_kinds_in(table) or ["not recorded"]
    lines = [("title", title, 0.34)]
    lines += [
        ("line", t, 0.2) for t in textwrap.wrap(f"device: {', '.join(devices)}  |  weights: {', '.join(kinds)}", wrap)
    ]
    for text in extra:
        lines += [("line", t, 0.2) for t in textwrap.wrap(text, wrap)]
    if has_random_weights(table):
        lines.append(("banner", RANDOM_WEIGHTS_WARNING, 0.26 + 0.2 * _banner_lines(RANDOM_WEIGHTS_WARNING, width)))
    return lines


def new_figure(
    width: float,
    body: float,
    header: list[tuple[str, str, float]],
    *,
    left: float = 0.8,
    bottom: float = 0.7,
    right: float = 0.25,
):
    """A figure of ``width`` inches with the ``header`` (`figure_header`) on top and ``body``
    inches for the axes (margins in inches); returns (figure, axes)."""
    from matplotlib.figure import Figure

    head = 0.12 + sum(inches for _, _, inches in header) + 0.2
    height = head + body
    fig = Figure(figsize=(width, height))
    y = 0.12
    for kind, text, inches in header:
        pos = 1 - (y + (0.05 if kind == "banner" else 0)) / height
        if kind == "title":
            fig.suptitle(text, x=0.5, y=pos, va="top", fontsize=12, fontweight="bold")
        elif kind == "line":
            fig.text(0.5, pos, text, ha="center", va="top", fontsize=8.5)
        else:
            fig.text(
                0.5,
                pos,
                text,
                ha="center",
                va="top",
                fontsize=_BANNER_FONT,
                fontweight="bold",
                color="white",
                wrap=True,
                multialignment="center",
                bbox=dict(facecolor="red", edgecolor="darkred", boxstyle="round,pad=0.3"),
            )
        y += inches
    ax = fig.add_subplot()
    fig.subplots_adjust(
        top=1 - head / height, bottom=bottom / height, left=min(0.6, left / width), right=1 - right / width
    )
    return fig, ax


def figure_text(fig) -> str:
    """All text on a figure (figure texts, axes titles, labels, tick labels, legends, annotations)."""
    parts = [t.get_text() for t in fig.texts]
    for legend in fig.legends:
        parts += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    for ax in fig.axes:
        parts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        parts += [ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        parts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
            parts.append(legend.get_title().get_text())
    return "\n".join(p for p in parts if p)
