"""The standard figures: accuracy vs latency (Pareto front), latency breakdown, peak memory.

Every function returns a `matplotlib.figure.Figure` built without pyplot (no global figure state,
safe under the Agg backend and in loops; Jupyter's inline backend still displays it), and never
calls ``plt.show``. Save with ``fig.savefig(path)``.

Every figure names, at its top, the device(s) its numbers come from (``"NVIDIA H100 80GB HBM3
(cuda:0)"``, ``"cpu: x86_64 x2"``, see `samkit.report.device_label`) and the weights kind(s). Where
any point or bar comes from random weights, a red banner says so: on accuracy figures
``"RANDOM WEIGHTS: accuracy meaningless"``; on latency / memory figures ``"random weights
(latency/memory are real)"``. Random-weight points are drawn hollow. Published numbers (optional)
are grey crosses labelled "published", never joined to our points or the front.

Inputs are result rows (`samkit.results` rows, e.g. from `samkit.report.merge_runs`) or the tables
made from them (`samkit.report.accuracy_table` / `samkit.results.summarize`,
`samkit.report.benchmark_table`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from samkit.report import (RANDOM_PERF_NOTE, accuracy_table, benchmark_table, device_label,
                           devices_in, weights_kind, weights_kinds_in)

__all__ = [
    "RANDOM_ACCURACY_BANNER",
    "RANDOM_PERF_BANNER",
    "FAMILY_MARKERS",
    "pareto_mask",
    "pareto_points",
    "pareto_plot",
    "latency_bars",
    "memory_bars",
    "has_latency",
    "has_memory",
    "figure_text",
    "click_curves",
]

RANDOM_ACCURACY_BANNER = "RANDOM WEIGHTS: accuracy meaningless"
RANDOM_PERF_BANNER = RANDOM_PERF_NOTE  # "random weights (latency/memory are real)"

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


def _header(table: pd.DataFrame, title: str, *, accuracy: bool, extra: Sequence[str] = (),
            width: float = 8.0) -> list[tuple[str, str]]:
    """The header lines of a figure: (kind, text) with kind title / line / banner / perf_banner."""
    wrap = max(40, int(width * 15))
    devices = devices_in(table) or ["not recorded"]
    kinds = weights_kinds_in(table) or ["not recorded"]
    lines = [("title", title)]
    lines += [("line", t) for t in
              textwrap.wrap(f"device: {', '.join(devices)}  |  weights: {', '.join(kinds)}", wrap)]
    for text in extra:
        lines += [("line", t) for t in textwrap.wrap(text, wrap)]
    if "random" in weights_kinds_in(table):
        lines.append(("banner", RANDOM_ACCURACY_BANNER) if accuracy
                     else ("perf_banner", RANDOM_PERF_BANNER))
    return lines


_HEADER_INCHES = {"title": 0.34, "line": 0.2, "banner": 0.44, "perf_banner": 0.36}


def _figure(width: float, body: float, header: list[tuple[str, str]], *, left: float = 0.8,
            bottom: float = 0.7, right: float = 0.25):
    """A figure of ``width`` inches with the ``header`` on top and ``body`` inches for the axes
    (margins in inches); returns (figure, axes)."""
    from matplotlib.figure import Figure

    head = 0.12 + sum(_HEADER_INCHES[k] for k, _ in header) + 0.2
    height = head + body
    fig = Figure(figsize=(width, height))
    y = 0.12
    for kind, text in header:
        pos = 1 - (y + (0.05 if kind.endswith("banner") else 0)) / height
        if kind == "title":
            fig.suptitle(text, x=0.5, y=pos, va="top", fontsize=12, fontweight="bold")
        elif kind == "line":
            fig.text(0.5, pos, text, ha="center", va="top", fontsize=8.5)
        elif kind == "banner":
            fig.text(0.5, pos, text, ha="center", va="top", fontsize=11, fontweight="bold",
                     color="white", bbox=dict(facecolor="red", edgecolor="darkred",
                                              boxstyle="round,pad=0.3"))
        else:
            fig.text(0.5, pos, text, ha="center", va="top", fontsize=9.5, fontweight="bold",
                     color="darkred", bbox=dict(facecolor="mistyrose", edgecolor="red",
                                                boxstyle="round,pad=0.25"))
        y += _HEADER_INCHES[kind]
    ax = fig.add_subplot()
    fig.subplots_adjust(top=1 - head / height, bottom=bottom / height, left=min(0.6, left / width),
                        right=1 - right / width)
    return fig, ax


def _label_inches(labels: Sequence[str]) -> float:
    """Left margin for y tick labels at font size 8."""
    return 0.25 + 0.062 * max((len(s) for s in labels), default=0)


def _is_rows(data: pd.DataFrame) -> bool:
    """Result rows (long format) rather than a table made from them."""
    return "protocol" in data.columns


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """Ensure ``weights_kind`` and ``device_label`` columns."""
    table = table.copy()
    if "weights_kind" not in table.columns:
        table["weights_kind"] = (table["weights"].map(weights_kind) if "weights" in table.columns
                                 else "unknown")
    if "device_label" not in table.columns:
        devices = table["device"] if "device" in table.columns else [None] * len(table)
        names = table["device_name"] if "device_name" in table.columns else [None] * len(table)
        table["device_label"] = [device_label(d, n) for d, n in zip(devices, names)]
    return table


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


def pareto_mask(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Which points are on the Pareto front of lower ``x`` (latency) and higher ``y`` (accuracy).

    A point is on the front when no other point is at least as good on both (``x' <= x`` and
    ``y' >= y``) and strictly better on one. Identical points are all on the front; points with a
    NaN coordinate never are.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in shape: {xs.shape} vs {ys.shape}")
    valid = ~(np.isnan(xs) | np.isnan(ys))
    mask = np.zeros(xs.shape, dtype=bool)
    for i in np.flatnonzero(valid):
        others = valid.copy()
        others[i] = False
        dominated = others & (xs <= xs[i]) & (ys >= ys[i]) & ((xs < xs[i]) | (ys > ys[i]))
        mask[i] = not dominated.any()
    return mask


def pareto_points(data: pd.DataFrame, x: str = "encoder_ms", y: str = "mIoU@1") -> pd.DataFrame:
    """One row per configuration with numeric ``x`` and ``y``, and a ``pareto`` column.

    ``data``: result rows, or a table that already has the ``x`` and ``y`` columns (a summary, or
    one you joined yourself). From rows, ``y`` comes from `accuracy_table`; ``x`` too where it has
    it (``encoder_ms``, ``decoder_ms``), otherwise from `benchmark_table` (``end_to_end_ms``,
    ``set_image_ms``, …), joined on (model, weights, device, dtype); the latency's device name is
    kept. The front is computed separately for each device, since latencies on different devices
    do not compete. Raises ValueError when a column is missing or the join is ambiguous (several
    benchmark configurations of one model: filter by ``image_size`` / ``batch`` first).
    """
    if _is_rows(data):
        acc = accuracy_table(data)
        if y not in acc.columns:
            raise ValueError(f"no {y!r} in the accuracy table (columns: {list(acc.columns)})")
        if x in acc.columns and acc[x].notna().any():
            points = acc
        else:
            bench = benchmark_table(data)
            if x not in bench.columns:
                raise ValueError(f"no {x!r} in the accuracy or benchmark tables")
            keys = ["model", "weights", "device", "dtype"]
            b = bench[keys + ["device_name", x]].dropna(subset=[x])
            b = b.assign(**{k: b[k].astype("string") for k in keys})
            if b.duplicated(keys).any():
                raise ValueError(f"several benchmark configurations with {x!r} per (model, weights, "
                                 f"device, dtype); filter the rows by image_size / batch first")
            a = acc.drop(columns=[c for c in ("device_name", "device_label", x) if c in acc.columns])
            a = a.assign(**{k: a[k].astype("string") for k in keys})
            points = a.merge(b, on=keys, how="inner")
    else:
        points = data.copy()
    for col in (x, y):
        if col not in points.columns:
            raise ValueError(f"no {col!r} column (columns: {list(points.columns)})")
    points = _labelled(points)
    points[x] = pd.to_numeric(points[x], errors="coerce").astype(float)
    points[y] = pd.to_numeric(points[y], errors="coerce").astype(float)
    points = points[points[x].notna() & points[y].notna()].reset_index(drop=True)
    points["pareto"] = False
    for _, idx in points.groupby("device_label", sort=False).groups.items():
        points.loc[idx, "pareto"] = pareto_mask(points.loc[idx, x], points.loc[idx, y])
    return points


def _not_plotted(data: pd.DataFrame, points: pd.DataFrame, x: str, y: str) -> list[str]:
    """Configurations of result rows that have ``y`` but no ``x`` (so are missing from the plot)."""
    if not _is_rows(data):
        return []
    acc = accuracy_table(data)
    if y not in acc.columns:
        return []
    keys = ["model", "weights", "device", "dtype"]
    shown = {tuple(str(v) for v in row) for row in points[keys].itertuples(index=False)}
    out = []
    for row in acc[acc[y].notna()].itertuples(index=False):
        key = tuple(str(getattr(row, k)) for k in keys)
        if key not in shown:
            out.append(f"{key[0]} ({weights_kind(key[1])}, {key[2]})")
    return list(dict.fromkeys(out))


def _right_half(value: float, values: np.ndarray, logx: bool) -> bool:
    """Whether ``value`` lies in the right part of the data's x range (labels then go left)."""
    vals = values[np.isfinite(values) & ((values > 0) if logx else True)]
    if len(vals) < 2 or not np.isfinite(value) or (logx and value <= 0):
        return False
    f = np.log10 if logx else (lambda v: v)
    lo, hi = f(vals.min()), f(vals.max())
    return hi > lo and (f(value) - lo) / (hi - lo) > 0.55


def pareto_plot(data: pd.DataFrame, x: str = "encoder_ms", y: str = "mIoU@1", *,
                logx: bool = False, published: pd.DataFrame | None = None,
                title: str | None = None, annotate: bool = True):
    """Accuracy (``y``, higher is better) against latency (``x``, lower is better), front drawn.

    ``data``: result rows or a table (see `pareto_points`). Markers by family, colour by model,
    hollow markers for random weights; the front (per device) is a dashed staircase. ``published``:
    optional table with ``model``, ``x``, ``y`` (and ``source``) columns, drawn as grey crosses
    labelled "published", outside the front. ``logx``: log-scale latency axis.
    """
    points = pareto_points(data, x=x, y=y)
    if points.empty:
        raise ValueError(f"no configuration has both {x!r} and {y!r}")
    extra = []
    missing = _not_plotted(data, points, x, y)
    if missing:
        extra.append(f"not shown (no {x}): {', '.join(missing)}")
    header = _header(points, title or f"{y} vs {x}", accuracy=True, width=8.0, extra=extra)
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


def _latency_table(data: pd.DataFrame, phases: tuple[str, str]) -> tuple[pd.DataFrame, str, str, str, str]:
    """(table, encoder column, decoder column, encoder label, decoder label)."""
    enc, dec = f"{phases[0]}_ms", f"{phases[1]}_ms"
    if _is_rows(data):
        bench = benchmark_table(data)
        table = bench if len(bench) else accuracy_table(data)
    else:
        table = data
    if enc in table.columns or dec in table.columns:
        names = (f"image encoder ({phases[0]})", f"decoder ({phases[1]})")
    else:
        enc, dec = "encoder_ms", "decoder_ms"
        names = ("image encoder (set_image, per image)", "decoder (predict, per prompt)")
    table = _labelled(table)
    for col in (enc, dec):
        table[col] = (pd.to_numeric(table[col], errors="coerce").astype(float)
                      if col in table.columns else np.nan)
    table = table[table[enc].notna() | table[dec].notna()].reset_index(drop=True)
    return table, enc, dec, names[0], names[1]


def has_latency(data: pd.DataFrame, phases: tuple[str, str] = ("set_image", "predict_point")) -> bool:
    """True when `latency_bars` has something to draw."""
    try:
        return len(_latency_table(data, phases)[0]) > 0
    except (KeyError, ValueError):
        return False


def latency_bars(data: pd.DataFrame, *, phases: tuple[str, str] = ("set_image", "predict_point"),
                 logx: bool = False, title: str | None = None):
    """Latency per configuration: the encoder and decoder medians as stacked horizontal bars.

    From benchmark rows / `benchmark_table`: the ``phases`` medians (default ``set_image`` and
    ``predict_point``); from evaluation rows / summaries: ``encoder_ms`` and ``decoder_ms``. The
    total (one image + one prompt) is written at the end of each bar.
    """
    table, enc, dec, enc_name, dec_name = _latency_table(data, phases)
    if table.empty:
        raise ValueError("no latency numbers to draw")
    labels = _config_labels(table)
    header = _header(table, title or "Latency breakdown", accuracy=False, width=9.0)
    fig, ax = _figure(9.0, 0.9 + max(1.0, 0.5 * len(table)), header, left=_label_inches(labels),
                      bottom=0.9)
    pos = np.arange(len(table))[::-1]
    e = table[enc].fillna(0.0).to_numpy()
    d = table[dec].fillna(0.0).to_numpy()
    ax.barh(pos, e, color="C0", label=enc_name)
    ax.barh(pos, d, left=e, color="C1", label=dec_name)
    partial = (table[enc].isna() | table[dec].isna()).to_numpy()
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


def _memory_table(data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """(table, {series name: column})."""
    if _is_rows(data):
        bench = benchmark_table(data)
        table = bench if len(bench) else accuracy_table(data)
    else:
        table = data
    table = _labelled(table)
    cols = [c for c in table.columns if str(c).endswith("_peak_mib")]
    series = {c[: -len("_peak_mib")]: c for c in cols
              if pd.to_numeric(table[c], errors="coerce").notna().any()}
    if not series and "peak_mem_mib" in table.columns:
        series = {"evaluation (max over phases)": "peak_mem_mib"}
    for col in series.values():
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    if series:
        table = table[table[list(series.values())].notna().any(axis=1)].reset_index(drop=True)
    else:
        table = table.iloc[0:0]
    return table, series


def has_memory(data: pd.DataFrame) -> bool:
    """True when `memory_bars` has something to draw."""
    try:
        return len(_memory_table(data)[0]) > 0
    except (KeyError, ValueError):
        return False


def memory_bars(data: pd.DataFrame, *, title: str | None = None):
    """Peak memory (MiB) per phase per configuration, as grouped horizontal bars.

    The subtitle says how memory was measured (``mem_method``): the CUDA allocator's peak and a
    CPU process's peak RSS are different quantities, and the figure says which it shows.
    """
    table, series = _memory_table(data)
    if table.empty:
        raise ValueError("no peak memory numbers to draw")
    labels = _config_labels(table)
    n, k = len(table), len(series)
    methods: list[str] = []
    if "mem_method" in table.columns:
        for value in table["mem_method"].dropna().astype(str):
            methods += [m for m in value.split("; ") if m not in methods]
    method_line = ("memory: " + "; ".join(f"{m} = {MEMORY_METHODS.get(m, m)}" for m in methods)
                   if methods else "memory method not recorded")
    header = _header(table, title or "Peak memory", accuracy=False, extra=[method_line], width=9.0)
    rows_legend = -(-k // 4)
    bottom = 0.8 + 0.25 * rows_legend
    fig, ax = _figure(9.0, bottom + max(1.0, max(0.5, 0.22 * k) * n), header,
                      left=_label_inches(labels), bottom=bottom)
    height = 0.8 / k
    centres = np.arange(n)[::-1].astype(float)
    for j, (name, col) in enumerate(series.items()):
        offs = centres + 0.4 - height * (j + 0.5)
        vals = table[col].to_numpy()
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


# ----------------------------------------------------------------------------------------- clicks


def click_curves(data: pd.DataFrame, *, title: str | None = None):
    """mIoU after k clicks, one line per configuration, from interactive result rows.

    Each point is the mean over objects of the IoU after k clicks (best-score mask at click 1);
    dashed horizontal lines mark the NoC thresholds 0.85 and 0.90.
    """
    rows = data[(data["protocol"] == "interactive") & (data["status"] == "ok")]
    if rows.empty:
        raise ValueError("no interactive rows to draw")
    rows = _labelled(rows.copy())
    curves = rows.groupby(["model", "weights", "device", "dtype", "dataset", "clicks"],
                          dropna=False, sort=False)["iou"].mean().reset_index()
    header = _header(rows, title or "mIoU vs number of clicks", accuracy=True, width=8.0)
    fig, ax = _figure(8.0, 4.0, header)
    for key, curve in curves.groupby(["model", "weights", "device", "dtype", "dataset"],
                                     dropna=False, sort=False):
        ax.plot(curve["clicks"], curve["iou"], marker="o", markersize=3,
                label=f"{key[0]} ({weights_kind(key[1])}, {key[2]}, {key[3]})")
    for thr in (0.85, 0.90):
        ax.axhline(thr, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("clicks")
    ax.set_ylabel("mIoU")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig
