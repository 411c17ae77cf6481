"""The generic figures: accuracy vs latency (Pareto front), latency breakdown, peak memory.

Figures take tables (`samkit.results.tables`), never result rows: `pareto_plot` a
`samkit.results.tables.pareto_table` (or the tables it is made of), `latency_bars` a
`samkit.results.tables.latency_table` (or a benchmark / accuracy table), `memory_bars` a
`samkit.results.tables.memory_table` (likewise). Passing result rows (a frame with a ``protocol``
column) raises TypeError naming the table function to call first. A protocol's own figures are in
its `samkit.eval` module (e.g. `samkit.eval.interactive.click_curves`,
`samkit.eval.video_benchmark.memory_vs_length`).

Every function returns a `matplotlib.figure.Figure` built without pyplot (`samkit.plotting`: no
global figure state, safe under the Agg backend and in loops; Jupyter's inline backend still
displays it), and never calls ``plt.show``. Save with ``fig.savefig(path)``.

Every figure names, at its top, the device(s) its numbers come from (``"NVIDIA H100 80GB HBM3
(cuda:0)"``, ``"cpu: x86_64 x2"``, see `samkit.wording.device_label`) and the weights kind(s).
Where any point or bar comes from random weights, a red banner says
`samkit.wording.RANDOM_WEIGHTS_WARNING`; random-weight points are drawn hollow. Published numbers
(optional) are grey crosses labelled "published", never joined to our points or the front.

Every text stays inside the figure, however long a model name or a warning: the header is wrapped
to the figure's width (`samkit.plotting.new_figure`), point labels and legend entries to part of
the axes (`samkit.plotting.fit_text`), long bar labels are wrapped and the left margin measured
to hold them, and the axes leave room for the numbers written at the bars' ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from samkit.plotting import (
    MEMORY_METHODS,
    figure_header,
    fit_text,
    new_figure,
    refuse_rows,
    text_room,
    wrapped,
)
from samkit.results.tables import Tables, latency_table, memory_table, pareto_table

__all__ = [
    "FAMILY_MARKERS",
    "AXIS_LABELS",
    "pareto_plot",
    "latency_bars",
    "memory_bars",
    "has_latency",
    "has_memory",
]

#: matplotlib marker of each family in the figures (other families take the next free marker)
FAMILY_MARKERS: dict[str, str] = {"sam": "o", "sam2": "s", "mobile_sam": "^"}
_OTHER_MARKERS = ("D", "v", "P", "X", "*", "h", "<", ">")

#: axis label of each plotted column
AXIS_LABELS: dict[str, str] = {
    "encoder_ms": "image encoder latency, median ms",
    "decoder_ms": "decoder latency per prompt, median ms",
    "end_to_end_ms": "end-to-end latency (image + one prompt), median ms",
    "set_image_ms": "set_image latency, median ms",
    "predict_point_ms": "predict (one point) latency, median ms",
    "mIoU@1": "mIoU@1 (one click)",
    "box_mIoU": "box-prompt mIoU",
}

_LABEL_PARTS = ("weights_kind", "device_label", "dtype", "dataset", "image_size", "batch")


# ----------------------------------------------------------------------------------------- common


_TICK_FONT = 8.0


def _bar_labels(labels: Sequence[str], width: float) -> list[str]:
    """Bar (y tick) labels wrapped to at most half of a figure ``width`` inches wide."""
    return [wrapped(label, width / 2, _TICK_FONT) for label in labels]


def _label_inches(labels: Sequence[str]) -> float:
    """Left margin (inches) for y tick labels at font size 8: the widest, measured."""
    return 0.25 + max((text_room(s, _TICK_FONT) for s in labels), default=0.0)


def _axes_inches(ax: Any) -> float:
    """The width of ``ax`` in inches."""
    return ax.get_position().width * ax.get_figure().get_figwidth()


def _room_at_bar_ends(ax: Any, ends: np.ndarray, texts: Sequence[str], fontsize: float, logx: bool) -> None:
    """Widen the x axis so that each text, written after its bar's end (``ends``), stays inside it."""
    left, right = ax.get_xlim()
    width = _axes_inches(ax)
    need = right
    for end, text in zip(ends, texts):
        share = min(0.85, (text_room(text, fontsize) + 0.05) / width)  # of the axes, for the text
        if not np.isfinite(end) or end <= 0:
            continue
        if logx and left > 0:
            need = max(need, 10 ** ((np.log10(end) - share * np.log10(left)) / (1 - share)))
        elif not logx:
            need = max(need, left + (end - left) / (1 - share))
    ax.set_xlim(left, need)


def _config_labels(table: pd.DataFrame) -> list[str]:
    """Model name plus whatever else varies between the rows (weights kind, device, dtype, …)."""
    varying = [c for c in _LABEL_PARTS if c in table.columns and table[c].astype("string").fillna("").nunique() > 1]
    labels = []
    for _, row in table.iterrows():
        extra = [
            str(row[c]) if c not in ("image_size", "batch") else f"{c}={row[c]}" for c in varying if pd.notna(row[c])
        ]
        labels.append(str(row["model"]) + (f" [{', '.join(extra)}]" if extra else ""))
    return labels


def _marker(family: Any, seen: dict[str, str]) -> str:
    fam = str(family) if pd.notna(family) else "?"
    if fam in FAMILY_MARKERS:
        return FAMILY_MARKERS[fam]
    if fam not in seen:
        seen[fam] = _OTHER_MARKERS[len(seen) % len(_OTHER_MARKERS)]
    return seen[fam]


# ----------------------------------------------------------------------------------------- pareto


def _right_half(value: float, values: np.ndarray, logx: bool) -> bool:
    """Whether ``value`` lies in the right part of the data's x range (labels then go left)."""
    vals = values[np.isfinite(values) & ((values > 0) if logx else True)]
    if len(vals) < 2 or not np.isfinite(value) or (logx and value <= 0):
        return False
    f = np.log10 if logx else (lambda v: v)
    lo, hi = f(vals.min()), f(vals.max())
    return hi > lo and (f(value) - lo) / (hi - lo) > 0.55


def pareto_plot(
    table: Tables,
    x: str = "encoder_ms",
    y: str = "mIoU@1",
    *,
    logx: bool = False,
    published: pd.DataFrame | None = None,
    title: str | None = None,
    annotate: bool = True,
):
    """Accuracy (``y``, higher is better) against latency (``x``, lower is better), front drawn.

    ``table``: a `samkit.results.tables.pareto_table` for the same ``x`` and ``y`` (or what it
    takes: an ``(accuracy table, performance table)`` pair, or one table with ``x`` and ``y``); its rows
    without ``x`` are named in a "not shown" line. Markers by family, colour by model, hollow
    markers for random weights; the front (per device) is a dashed staircase. ``published``:
    optional table with ``model``, ``x``, ``y`` (and ``source``) columns, drawn as grey crosses
    labelled "published", outside the front. ``logx``: log-scale latency axis.
    """
    refuse_rows(table, "pareto_plot", "samkit.results.tables.pareto_table")
    table = pareto_table(table, x=x, y=y)  # a pareto_table gives itself back
    points = table[table[x].notna()].reset_index(drop=True)
    if points.empty:
        raise ValueError(f"no configuration has both {x!r} and {y!r}")
    extra = []
    missing = list(
        dict.fromkeys(
            f"{row['model']} ({row['weights_kind']}, {row['device']})" for _, row in table[table[x].isna()].iterrows()
        )
    )
    if missing:
        extra.append(f"not shown (no {x}): {', '.join(missing)}")
    header = figure_header(points, title or f"{y} vs {x}", width=8.0, extra=extra)
    fig, ax = new_figure(8.0, 5.0, header, left=0.8, bottom=0.6, right=0.3)
    room = 0.45 * _axes_inches(ax)  # a label or legend entry takes at most this much of the axes
    labels = _config_labels(points)
    models = list(dict.fromkeys(points["model"].astype(str)))
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    seen: dict[str, str] = {}
    families: dict[str, str] = {}
    xs = points[x].to_numpy(dtype=float)
    if published is not None and x in published.columns:
        xs = np.concatenate([xs, pd.to_numeric(published[x], errors="coerce").to_numpy(dtype=float)])
    for (_, row), label in zip(points.iterrows(), labels):
        family = row["family"] if "family" in points.columns else None
        marker = _marker(family, seen)
        families[str(family) if pd.notna(family) else "?"] = marker
        colour = colours[str(row["model"])]
        hollow = row["weights_kind"] == "random"
        ax.scatter(
            [row[x]],
            [row[y]],
            marker=marker,
            s=70,
            zorder=3,
            linewidths=1.6,
            facecolors="none" if hollow else colour,
            edgecolors=colour,
        )
        if annotate:
            right = _right_half(row[x], xs, logx)
            note = ax.annotate(
                label,
                (row[x], row[y]),
                xytext=(-6 if right else 6, 4),
                textcoords="offset points",
                ha="right" if right else "left",
                va="bottom",  # a wrapped label grows upwards, away from its point
                fontsize=8,
                fontweight="bold" if row["pareto"] else "normal",
            )
            fit_text(note, room)
    handles = []
    from matplotlib.lines import Line2D

    for fam, marker in families.items():
        handles.append(Line2D([], [], linestyle="", marker=marker, color="0.3", label=f"family: {fam}"))
    if (points["weights_kind"] == "random").any():
        handles.append(
            Line2D(
                [], [], linestyle="", marker="o", markerfacecolor="none", color="0.3", label="hollow: random weights"
            )
        )
    devices = list(dict.fromkeys(points["device_label"]))
    for i, dev in enumerate(devices):
        front = points[(points["device_label"] == dev) & points["pareto"]].sort_values(x)
        style = ("--", "-.", ":")[i % 3]
        ax.step(front[x], front[y], where="post", linestyle=style, color="0.35", zorder=2)
        handles.append(
            Line2D(
                [], [], linestyle=style, color="0.35", label="Pareto front" + (f" ({dev})" if len(devices) > 1 else "")
            )
        )
    if published is not None and len(published):
        pub = published.copy()
        pub[x] = pd.to_numeric(pub[x], errors="coerce")
        pub[y] = pd.to_numeric(pub[y], errors="coerce")
        pub = pub.dropna(subset=[x, y])
        ax.scatter(pub[x], pub[y], marker="x", s=60, color="0.55", zorder=3)
        for _, row in pub.iterrows():
            src = f": {row['source']}" if "source" in pub.columns and pd.notna(row["source"]) else ""
            right = _right_half(row[x], xs, logx)
            note = ax.annotate(
                f"{row['model']} (published{src})",
                (row[x], row[y]),
                xytext=(-6 if right else 6, -5),
                textcoords="offset points",
                ha="right" if right else "left",
                va="top",  # below its cross, growing downwards
                fontsize=7,
                color="0.4",
                style="italic",
            )
            fit_text(note, room)
        handles.append(Line2D([], [], linestyle="", marker="x", color="0.55", label="published (not measured here)"))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"{AXIS_LABELS.get(x, x)} (lower is better)")
    ax.set_ylabel(f"{AXIS_LABELS.get(y, y)} (higher is better)")
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.25, y=0.12)
    legend = ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.85)
    for text in legend.get_texts():
        fit_text(text, room)
    return fig


# ---------------------------------------------------------------------------------------- latency


def _latency(table: Tables, phases: tuple[str, str]) -> pd.DataFrame:
    """``table`` as a `samkit.results.tables.latency_table` (given one, itself)."""
    refuse_rows(table, "latency_bars", "samkit.results.tables.latency_table")
    if isinstance(table, pd.DataFrame) and {"encoder_part", "decoder_part"} <= set(table.columns):
        return table
    return latency_table(table, phases)


def has_latency(table: Tables, phases: tuple[str, str] = ("set_image", "predict_point")) -> bool:
    """True when `latency_bars` has something to draw from ``table`` (a table, never rows)."""
    try:
        return len(_latency(table, phases)) > 0
    except (KeyError, ValueError):
        return False


def latency_bars(
    table: Tables,
    *,
    phases: tuple[str, str] = ("set_image", "predict_point"),
    logx: bool = False,
    title: str | None = None,
):
    """Latency per configuration: the encoder and decoder medians as stacked horizontal bars.

    ``table``: a `samkit.results.tables.latency_table` (or a benchmark / accuracy table or a pair
    of them, prepared with it for ``phases``): ``encoder_ms`` and ``decoder_ms`` per configuration,
    named by ``encoder_part`` / ``decoder_part``. The total (one image + one prompt) is written
    at the end of each bar.
    """
    table = _latency(table, phases)
    if table.empty:
        raise ValueError("no latency numbers to draw")
    enc_name, dec_name = str(table["encoder_part"].iloc[0]), str(table["decoder_part"].iloc[0])
    labels = _bar_labels(_config_labels(table), 9.0)
    header = figure_header(table, title or "Latency breakdown", width=9.0)
    fig, ax = new_figure(9.0, 0.9 + max(1.0, 0.5 * len(table)), header, left=_label_inches(labels), bottom=0.9)
    pos = np.arange(len(table))[::-1]
    e = table["encoder_ms"].astype(float).fillna(0.0).to_numpy()
    d = table["decoder_ms"].astype(float).fillna(0.0).to_numpy()
    ax.barh(pos, e, color="C0", label=enc_name)
    ax.barh(pos, d, left=e, color="C1", label=dec_name)
    partial = (table["encoder_ms"].isna() | table["decoder_ms"].isna()).to_numpy()
    totals = []
    for p, ev, dv, part in zip(pos, e, d, partial):
        parts = [f"{ev + dv:.1f} ms"] + (["(part not measured)"] if part else [])
        totals.append("  " + " ".join(parts))
        ax.text(ev + dv, p, totals[-1], va="center", fontsize=8)
    ax.set_yticks(pos, labels, fontsize=8)
    ax.set_ylim(-0.6, len(table) - 0.4)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("median latency, ms (one image + one prompt)")
    ax.set_xlim(right=ax.get_xlim()[1] * (1.3 if not logx else 3))
    _room_at_bar_ends(ax, e + d, totals, 8, logx)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    return fig


# ----------------------------------------------------------------------------------------- memory


def _memory(table: Tables) -> pd.DataFrame:
    """``table`` as a `samkit.results.tables.memory_table` (given one, itself)."""
    refuse_rows(table, "memory_bars", "samkit.results.tables.memory_table")
    if isinstance(table, pd.DataFrame) and {"config", "phase", "peak_mib"} <= set(table.columns):
        return table
    return memory_table(table)


def has_memory(table: Tables) -> bool:
    """True when `memory_bars` has something to draw from ``table`` (a table, never rows)."""
    try:
        return len(_memory(table)) > 0
    except (KeyError, ValueError):
        return False


def memory_bars(table: Tables, *, title: str | None = None):
    """Peak memory (MiB) per phase per configuration, as grouped horizontal bars.

    ``table``: a `samkit.results.tables.memory_table` (or a benchmark / accuracy table or a pair of
    them, prepared with it). The subtitle says how memory was measured (``mem_method``): the CUDA
    allocator's peak and a CPU process's peak RSS are different quantities, and the figure says
    which it shows.
    """
    table = _memory(table)
    if table.empty:
        raise ValueError("no peak memory numbers to draw")
    configs = table.drop_duplicates("config", keep="first").reset_index(drop=True)
    series = list(dict.fromkeys(table["phase"].astype(str)))
    values = table.pivot_table(index="config", columns="phase", values="peak_mib", aggfunc="max", dropna=False).reindex(
        index=configs["config"], columns=series
    )
    labels = _bar_labels(_config_labels(configs), 9.0)
    n, k = len(configs), len(series)
    methods: list[str] = []
    if "mem_method" in configs.columns:
        for value in configs["mem_method"].dropna().astype(str):
            methods += [m for m in value.split("; ") if m not in methods]
    method_line = (
        "memory: " + "; ".join(f"{m} = {MEMORY_METHODS.get(m, m)}" for m in methods)
        if methods
        else "memory method not recorded"
    )
    header = figure_header(configs, title or "Peak memory", extra=[method_line], width=9.0)
    rows_legend = -(-k // 4)
    bottom = 0.8 + 0.25 * rows_legend
    fig, ax = new_figure(
        9.0, bottom + max(1.0, max(0.5, 0.22 * k) * n), header, left=_label_inches(labels), bottom=bottom
    )
    height = 0.8 / k
    centres = np.arange(n)[::-1].astype(float)
    ends, numbers = [], []
    for j, name in enumerate(series):
        offs = centres + 0.4 - height * (j + 0.5)
        vals = values[name].to_numpy(dtype=float)
        ax.barh(offs, np.nan_to_num(vals), height=height, color=f"C{j % 10}", label=name)
        for o, v in zip(offs, vals):
            if not np.isnan(v):
                ends.append(v)
                numbers.append(f" {v:.0f}")
                ax.text(v, o, numbers[-1], va="center", fontsize=7)
    ax.set_yticks(centres, labels, fontsize=8)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlabel("peak memory, MiB")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.15)
    _room_at_bar_ends(ax, np.asarray(ends, dtype=float), numbers, 7, False)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="lower center",
        ncol=min(k, 4),
        fontsize=8,
        frameon=False,
        title="phase",
        title_fontsize=8,
    )
    return fig
