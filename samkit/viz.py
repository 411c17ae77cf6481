"""The standard figures: accuracy vs latency (Pareto front), latency breakdown, peak memory, clicks.

The third layer of the results stack (labels -> tables -> figures -> report). Figures take tables
(`samkit.tables`), never result rows: `pareto_plot` a `samkit.tables.pareto_table` (or the
tables it is made of), `latency_bars` a `samkit.tables.latency_table` (or a benchmark / accuracy
table), `memory_bars` a `samkit.tables.memory_table` (likewise), `click_curves` a
`samkit.tables.click_curve_table`, `memory_vs_length` a `samkit.tables.video_benchmark_table`.
Passing result rows (a frame with a ``protocol`` column)
raises TypeError naming the table function to call first.

Every function returns a `matplotlib.figure.Figure` built without pyplot (no global figure state,
safe under the Agg backend and in loops; Jupyter's inline backend still displays it), and never
calls ``plt.show``. Save with ``fig.savefig(path)``.

Every figure names, at its top, the device(s) its numbers come from (``"NVIDIA H100 80GB HBM3
(cuda:0)"``, ``"cpu: x86_64 x2"``, see `samkit.labels.device_label`) and the weights kind(s).
Where any point or bar comes from random weights, a red banner says
`samkit.labels.RANDOM_WEIGHTS_WARNING`; random-weight points are drawn hollow. Published numbers
(optional) are grey crosses labelled "published", never joined to our points or the front.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from samkit.labels import RANDOM_WEIGHTS_WARNING, devices_in, has_random_weights, weights_kinds_in
from samkit.tables import Tables, is_rows, latency_table, memory_table, pareto_table

__all__ = [
    "FAMILY_MARKERS",
    "AXIS_LABELS",
    "MEMORY_METHODS",
    "pareto_plot",
    "latency_bars",
    "memory_bars",
    "memory_vs_length",
    "has_latency",
    "has_memory",
    "figure_text",
    "click_curves",
]

FAMILY_MARKERS: dict[str, str] = {"sam": "o", "sam2": "s", "mobile_sam": "^"}
_OTHER_MARKERS = ("D", "v", "P", "X", "*", "h", "<", ">")

AXIS_LABELS: dict[str, str] = {
    "encoder_ms": "image encoder latency, median ms",
    "decoder_ms": "decoder latency per prompt, median ms",
    "end_to_end_ms": "end-to-end latency (image + one prompt), median ms",
    "set_image_ms": "set_image latency, median ms",
    "predict_point_ms": "predict (one point) latency, median ms",
    "mIoU@1": "mIoU@1 (one click)",
    "box_mIoU": "box-prompt mIoU",
}

MEMORY_METHODS: dict[str, str] = {
    "cuda_max_memory_allocated": "CUDA allocator peak (max_memory_allocated; no CUDA context or cache)",
    "cpu_process_peak_rss": "whole-process peak RSS (includes weights, Python and libraries)",
    "unavailable": "not measurable on this platform",
}

_LABEL_PARTS = ("weights_kind", "device_label", "dtype", "dataset", "image_size", "batch")


# ----------------------------------------------------------------------------------------- common


def _no_rows(data: Any, figure: str, table: str) -> None:
    """Raise TypeError when ``data`` is result rows rather than a table."""
    if is_rows(data):
        raise TypeError(f"{figure} draws tables, not result rows (this frame has a 'protocol' "
                        f"column): call samkit.tables.{table}(rows) first and pass its output")


_BANNER_FONT = 10.0


def _banner_lines(text: str, width: float) -> int:
    """How many lines the banner wraps to on a figure ``width`` inches wide (bold, `_BANNER_FONT`)."""
    text_inches = len(text) * _BANNER_FONT * 0.62 / 72
    return max(1, math.ceil(text_inches / max(1.0, width - 0.6)))


def _header(table: pd.DataFrame, title: str, *, extra: Sequence[str] = (),
            width: float = 8.0) -> list[tuple[str, str, float]]:
    """The header lines of a figure: (kind, text, inches) with kind title / line / banner."""
    wrap = max(40, int(width * 15))
    devices = devices_in(table) or ["not recorded"]
    kinds = weights_kinds_in(table) or ["not recorded"]
    lines = [("title", title, 0.34)]
    lines += [("line", t, 0.2) for t in
              textwrap.wrap(f"device: {', '.join(devices)}  |  weights: {', '.join(kinds)}", wrap)]
    for text in extra:
        lines += [("line", t, 0.2) for t in textwrap.wrap(text, wrap)]
    if has_random_weights(table):
        lines.append(("banner", RANDOM_WEIGHTS_WARNING,
                      0.26 + 0.2 * _banner_lines(RANDOM_WEIGHTS_WARNING, width)))
    return lines


def _figure(width: float, body: float, header: list[tuple[str, str, float]], *, left: float = 0.8,
            bottom: float = 0.7, right: float = 0.25):
    """A figure of ``width`` inches with the ``header`` on top and ``body`` inches for the axes
    (margins in inches); returns (figure, axes)."""
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
            fig.text(0.5, pos, text, ha="center", va="top", fontsize=_BANNER_FONT, fontweight="bold",
                     color="white", wrap=True, multialignment="center",
                     bbox=dict(facecolor="red", edgecolor="darkred", boxstyle="round,pad=0.3"))
        y += inches
    ax = fig.add_subplot()
    fig.subplots_adjust(top=1 - head / height, bottom=bottom / height, left=min(0.6, left / width),
                        right=1 - right / width)
    return fig, ax


def _label_inches(labels: Sequence[str]) -> float:
    """Left margin for y tick labels at font size 8."""
    return 0.25 + 0.062 * max((len(s) for s in labels), default=0)


def _config_labels(table: pd.DataFrame) -> list[str]:
    """Model name plus whatever else varies between the rows (weights kind, device, dtype, …)."""
    varying = [c for c in _LABEL_PARTS if c in table.columns
               and table[c].astype("string").fillna("").nunique() > 1]
    labels = []
    for _, row in table.iterrows():
        extra = [str(row[c]) if c not in ("image_size", "batch") else f"{c}={row[c]}"
                 for c in varying if pd.notna(row[c])]
        labels.append(str(row["model"]) + (f" [{', '.join(extra)}]" if extra else ""))
    return labels


def _marker(family: Any, seen: dict[str, str]) -> str:
    fam = str(family) if pd.notna(family) else "?"
    if fam in FAMILY_MARKERS:
        return FAMILY_MARKERS[fam]
    if fam not in seen:
        seen[fam] = _OTHER_MARKERS[len(seen) % len(_OTHER_MARKERS)]
    return seen[fam]


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


# ----------------------------------------------------------------------------------------- pareto


def _right_half(value: float, values: np.ndarray, logx: bool) -> bool:
    """Whether ``value`` lies in the right part of the data's x range (labels then go left)."""
    vals = values[np.isfinite(values) & ((values > 0) if logx else True)]
    if len(vals) < 2 or not np.isfinite(value) or (logx and value <= 0):
        return False
    f = np.log10 if logx else (lambda v: v)
    lo, hi = f(vals.min()), f(vals.max())
    return hi > lo and (f(value) - lo) / (hi - lo) > 0.55


def pareto_plot(table: Tables, x: str = "encoder_ms", y: str = "mIoU@1", *,
                logx: bool = False, published: pd.DataFrame | None = None,
                title: str | None = None, annotate: bool = True):
    """Accuracy (``y``, higher is better) against latency (``x``, lower is better), front drawn.

    ``table``: a `samkit.tables.pareto_table` for the same ``x`` and ``y`` (or what it takes: an
    ``(accuracy_table, benchmark_table)`` pair, or one table with ``x`` and ``y``); its rows
    without ``x`` are named in a "not shown" line. Markers by family, colour by model, hollow
    markers for random weights; the front (per device) is a dashed staircase. ``published``:
    optional table with ``model``, ``x``, ``y`` (and ``source``) columns, drawn as grey crosses
    labelled "published", outside the front. ``logx``: log-scale latency axis.
    """
    _no_rows(table, "pareto_plot", "pareto_table")
    table = pareto_table(table, x=x, y=y)  # a pareto_table gives itself back
    points = table[table[x].notna()].reset_index(drop=True)
    if points.empty:
        raise ValueError(f"no configuration has both {x!r} and {y!r}")
    extra = []
    missing = list(dict.fromkeys(f"{row['model']} ({row['weights_kind']}, {row['device']})"
                                 for _, row in table[table[x].isna()].iterrows()))
    if missing:
        extra.append(f"not shown (no {x}): {', '.join(missing)}")
    header = _header(points, title or f"{y} vs {x}", width=8.0, extra=extra)
    fig, ax = _figure(8.0, 5.0, header, left=0.8, bottom=0.6, right=0.3)
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
        ax.scatter([row[x]], [row[y]], marker=marker, s=70, zorder=3, linewidths=1.6,
                   facecolors="none" if hollow else colour, edgecolors=colour)
        if annotate:
            right = _right_half(row[x], xs, logx)
            ax.annotate(label, (row[x], row[y]), xytext=(-6 if right else 6, 5),
                        textcoords="offset points", ha="right" if right else "left",
                        fontsize=8, fontweight="bold" if row["pareto"] else "normal")
    handles = []
    from matplotlib.lines import Line2D

    for fam, marker in families.items():
        handles.append(Line2D([], [], linestyle="", marker=marker, color="0.3", label=f"family: {fam}"))
    if (points["weights_kind"] == "random").any():
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="none",
                              color="0.3", label="hollow: random weights"))
    devices = list(dict.fromkeys(points["device_label"]))
    for i, dev in enumerate(devices):
        front = points[(points["device_label"] == dev) & points["pareto"]].sort_values(x)
        style = ("--", "-.", ":")[i % 3]
        ax.step(front[x], front[y], where="post", linestyle=style, color="0.35", zorder=2)
        handles.append(Line2D([], [], linestyle=style, color="0.35",
                              label="Pareto front" + (f" ({dev})" if len(devices) > 1 else "")))
    if published is not None and len(published):
        pub = published.copy()
        pub[x] = pd.to_numeric(pub[x], errors="coerce")
        pub[y] = pd.to_numeric(pub[y], errors="coerce")
        pub = pub.dropna(subset=[x, y])
        ax.scatter(pub[x], pub[y], marker="x", s=60, color="0.55", zorder=3)
        for _, row in pub.iterrows():
            src = f": {row['source']}" if "source" in pub.columns and pd.notna(row["source"]) else ""
            right = _right_half(row[x], xs, logx)
            ax.annotate(f"{row['model']} (published{src})", (row[x], row[y]),
                        xytext=(-6 if right else 6, -11), textcoords="offset points",
                        ha="right" if right else "left", fontsize=7, color="0.4", style="italic")
        handles.append(Line2D([], [], linestyle="", marker="x", color="0.55",
                              label="published (not measured here)"))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"{AXIS_LABELS.get(x, x)} (lower is better)")
    ax.set_ylabel(f"{AXIS_LABELS.get(y, y)} (higher is better)")
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.25, y=0.12)
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.85)
    return fig


# ---------------------------------------------------------------------------------------- latency


def _latency(table: Tables, phases: tuple[str, str]) -> pd.DataFrame:
    """``table`` as a `samkit.tables.latency_table` (given one, itself)."""
    _no_rows(table, "latency_bars", "latency_table")
    if isinstance(table, pd.DataFrame) and {"encoder_part", "decoder_part"} <= set(table.columns):
        return table
    return latency_table(table, phases)


def has_latency(table: Tables, phases: tuple[str, str] = ("set_image", "predict_point")) -> bool:
    """True when `latency_bars` has something to draw from ``table`` (a table, never rows)."""
    try:
        return len(_latency(table, phases)) > 0
    except (KeyError, ValueError):
        return False


def latency_bars(table: Tables, *, phases: tuple[str, str] = ("set_image", "predict_point"),
                 logx: bool = False, title: str | None = None):
    """Latency per configuration: the encoder and decoder medians as stacked horizontal bars.

    ``table``: a `samkit.tables.latency_table` (or a benchmark / accuracy table or a pair of
    them, prepared with it for ``phases``): ``encoder_ms`` and ``decoder_ms`` per configuration,
    named by ``encoder_part`` / ``decoder_part``. The total (one image + one prompt) is written
    at the end of each bar.
    """
    table = _latency(table, phases)
    if table.empty:
        raise ValueError("no latency numbers to draw")
    enc_name, dec_name = str(table["encoder_part"].iloc[0]), str(table["decoder_part"].iloc[0])
    labels = _config_labels(table)
    header = _header(table, title or "Latency breakdown", width=9.0)
    fig, ax = _figure(9.0, 0.9 + max(1.0, 0.5 * len(table)), header, left=_label_inches(labels),
                      bottom=0.9)
    pos = np.arange(len(table))[::-1]
    e = table["encoder_ms"].astype(float).fillna(0.0).to_numpy()
    d = table["decoder_ms"].astype(float).fillna(0.0).to_numpy()
    ax.barh(pos, e, color="C0", label=enc_name)
    ax.barh(pos, d, left=e, color="C1", label=dec_name)
    partial = (table["encoder_ms"].isna() | table["decoder_ms"].isna()).to_numpy()
    for p, ev, dv, part in zip(pos, e, d, partial):
        parts = [f"{ev + dv:.1f} ms"] + (["(part not measured)"] if part else [])
        ax.text(ev + dv, p, "  " + " ".join(parts), va="center", fontsize=8)
    ax.set_yticks(pos, labels, fontsize=8)
    ax.set_ylim(-0.6, len(table) - 0.4)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("median latency, ms (one image + one prompt)")
    ax.set_xlim(right=ax.get_xlim()[1] * (1.3 if not logx else 3))
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8,
               frameon=False)
    return fig


# ----------------------------------------------------------------------------------------- memory


def _memory(table: Tables) -> pd.DataFrame:
    """``table`` as a `samkit.tables.memory_table` (given one, itself)."""
    _no_rows(table, "memory_bars", "memory_table")
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

    ``table``: a `samkit.tables.memory_table` (or a benchmark / accuracy table or a pair of them,
    prepared with it). The subtitle says how memory was measured (``mem_method``): the CUDA
    allocator's peak and a CPU process's peak RSS are different quantities, and the figure says
    which it shows.
    """
    table = _memory(table)
    if table.empty:
        raise ValueError("no peak memory numbers to draw")
    configs = table.drop_duplicates("config", keep="first").reset_index(drop=True)
    series = list(dict.fromkeys(table["phase"].astype(str)))
    values = table.pivot_table(index="config", columns="phase", values="peak_mib", aggfunc="max",
                               dropna=False).reindex(index=configs["config"], columns=series)
    labels = _config_labels(configs)
    n, k = len(configs), len(series)
    methods: list[str] = []
    if "mem_method" in configs.columns:
        for value in configs["mem_method"].dropna().astype(str):
            methods += [m for m in value.split("; ") if m not in methods]
    method_line = ("memory: " + "; ".join(f"{m} = {MEMORY_METHODS.get(m, m)}" for m in methods)
                   if methods else "memory method not recorded")
    header = _header(configs, title or "Peak memory", extra=[method_line], width=9.0)
    rows_legend = -(-k // 4)
    bottom = 0.8 + 0.25 * rows_legend
    fig, ax = _figure(9.0, bottom + max(1.0, max(0.5, 0.22 * k) * n), header,
                      left=_label_inches(labels), bottom=bottom)
    height = 0.8 / k
    centres = np.arange(n)[::-1].astype(float)
    for j, name in enumerate(series):
        offs = centres + 0.4 - height * (j + 0.5)
        vals = values[name].to_numpy(dtype=float)
        ax.barh(offs, np.nan_to_num(vals), height=height, color=f"C{j % 10}", label=name)
        for o, v in zip(offs, vals):
            if not np.isnan(v):
                ax.text(v, o, f" {v:.0f}", va="center", fontsize=7)
    ax.set_yticks(centres, labels, fontsize=8)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlabel("peak memory, MiB")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.15)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=min(k, 4), fontsize=8,
               frameon=False, title="phase", title_fontsize=8)
    return fig


# ----------------------------------------------------------------------------------- video memory


def _memory_line(methods_of: Any) -> str:
    """The subtitle that says how memory was measured (``mem_method`` values, ``"; "``-joined)."""
    methods: list[str] = []
    for value in methods_of.dropna().astype(str):
        methods += [m for m in value.split("; ") if m and m not in methods]
    return ("memory: " + "; ".join(f"{m} = {MEMORY_METHODS.get(m, m)}" for m in methods)
            if methods else "memory method not recorded")


def memory_vs_length(table: pd.DataFrame, *, logx: bool = False, title: str | None = None):
    """Peak memory (MiB) of video tracking against video length (frames), from a
    `samkit.tables.video_benchmark_table`: one line per (model, weights, device, dtype, video
    size, video_storage, offload_state_to_cpu). Lines are named by the model and its storage /
    offload option, plus whatever else varies between lines (weights kind, device, dtype, size).

    The header names the device(s), the weights kind(s) and how memory was measured; random
    weights get the red banner. Combinations that failed (e.g. ``oom``) are listed under the
    title, not drawn.
    """
    _no_rows(table, "memory_vs_length", "video_benchmark_table")
    need = {"length", "peak_mem_mib", "video_storage", "offload_state_to_cpu"}
    if not need <= set(table.columns):
        raise ValueError(f"memory_vs_length draws a samkit.tables.video_benchmark_table (columns "
                         f"{sorted(need)}); got columns {list(table.columns)}")
    data = table.copy()
    data["peak_mem_mib"] = pd.to_numeric(data["peak_mem_mib"], errors="coerce").astype(float)
    data["length"] = pd.to_numeric(data["length"], errors="coerce").astype(float)
    if data["peak_mem_mib"].isna().all():
        raise ValueError("no peak memory numbers to draw")
    data["size"] = [f"{h}x{w}" if pd.notna(h) and pd.notna(w) else ""
                    for h, w in zip(data.get("height", [pd.NA] * len(data)),
                                    data.get("width", [pd.NA] * len(data)))]
    keys = [c for c in ("model", "weights", "device", "device_name", "dtype", "size", "video_storage",
                        "offload_state_to_cpu") if c in data.columns]
    varying = [c for c in ("weights_kind", "device_label", "dtype", "size") if c in data.columns
               and data[c].astype("string").fillna("").nunique() > 1]
    failed = []
    if "failure" in data.columns:
        for _, row in data[data["peak_mem_mib"].isna()].iterrows():
            why = str(row["failure"]) if pd.notna(row["failure"]) and str(row["failure"]) else "no number"
            failed.append(f"{row['model']} {row['video_storage']}/offload={bool(row['offload_state_to_cpu'])}"
                          f" at {int(row['length'])} frames ({why})")
    extra = [_memory_line(data["mem_method"]) if "mem_method" in data.columns
             else "memory method not recorded"]
    if failed:
        extra.append("not drawn: " + "; ".join(failed))
    header = _header(data, title or "Peak memory vs video length", extra=extra, width=9.0)
    fig, ax = _figure(9.0, 4.2, header, left=0.9, bottom=0.7)
    for i, (_, line) in enumerate(data.groupby(keys, dropna=False, sort=False)):
        line = line.dropna(subset=["peak_mem_mib", "length"]).sort_values("length")
        if line.empty:
            continue
        first = line.iloc[0]
        parts = [f"storage={first['video_storage']}",
                 f"offload_state_to_cpu={bool(first['offload_state_to_cpu'])}"]
        parts += [str(first[c]) for c in varying if pd.notna(first[c]) and str(first[c])]
        ax.plot(line["length"], line["peak_mem_mib"], marker="o", markersize=4,
                linestyle="-" if not first["offload_state_to_cpu"] else "--", color=f"C{i % 10}",
                label=f"{first['model']} ({', '.join(parts)})")
    if logx:
        ax.set_xscale("log")
    ax.set_xticks(sorted(data["length"].dropna().unique()),
                  [str(int(v)) for v in sorted(data["length"].dropna().unique())])
    ax.set_xlabel("video length, frames")
    ax.set_ylabel("peak memory, MiB")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return fig


# ----------------------------------------------------------------------------------------- clicks


def click_curves(table: pd.DataFrame, *, title: str | None = None):
    """mIoU after k clicks, one line per configuration, from a `samkit.tables.click_curve_table`.

    Each point is the table's ``mIoU`` (mean over objects of the IoU after k clicks; best-score
    mask at click 1); dashed horizontal lines mark the NoC thresholds 0.85 and 0.90.
    """
    _no_rows(table, "click_curves", "click_curve_table")
    if not {"clicks", "mIoU"} <= set(table.columns):
        raise ValueError("click_curves draws a samkit.tables.click_curve_table (columns clicks, "
                         f"mIoU); got columns {list(table.columns)}")
    if table.empty:
        raise ValueError("no interactive rows to draw")
    keys = ["model", "weights", "device", "dtype", "dataset"]
    header = _header(table, title or "mIoU vs number of clicks", width=8.0)
    fig, ax = _figure(8.0, 4.0, header)
    for _, curve in table.groupby(keys, dropna=False, sort=False):
        first = curve.iloc[0]
        ax.plot(curve["clicks"].astype(float), curve["mIoU"].astype(float), marker="o", markersize=3,
                label=f"{first['model']} ({first['weights_kind']}, {first['device']}, {first['dtype']})")
    for thr in (0.85, 0.90):
        ax.axhline(thr, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("clicks")
    ax.set_ylabel("mIoU")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig
