"""Generic tables of result rows: markdown with captions, published numbers beside ours, and what
the generic figures draw. No protocol is named here: a protocol's own tables are in its
`samkit.eval` module; the per-configuration summaries (`samkit.eval.accuracy_table`,
`samkit.eval.performance_table`) are in `samkit.eval.summary`.

Every table says where its numbers come from, on its face:

- ``weights`` (readable) and ``weights_kind`` (`samkit.wording.weights_label` of the rows' typed
  ``weights_kind`` / ``weights_official`` columns) on every row, and a ``note`` that carries
  `samkit.wording.RANDOM_WEIGHTS_WARNING` where the weights are random;
- ``device`` and ``device_name`` columns (``"cuda:0"`` + ``"NVIDIA H100 80GB HBM3"``; ``"cpu"`` +
  ``"cpu: x86_64 x2"``) and their ``device_label``, so a CPU number is never read as a GPU number;
- numbers quoted from papers or READMEs only ever appear in ``published_*`` columns
  (`join_published`), beside ours, never in place of them.

`to_markdown` repeats the devices, the weights kinds and, where any row has random weights, the
warning in the caption. The figure tables (`pareto_table`, `latency_table`, `memory_table`) are
what `samkit.results.figures` draws: the accuracy table beside the performance table (the
benchmark's, with ``<phase>_ms`` and ``<phase>_peak_mib`` columns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval import accuracy_table, performance_table
from samkit.plotting import is_rows
from samkit.wording import (
    RANDOM_WEIGHTS_WARNING,
    device_label,
    devices_in,
    present,
    random_models,
    weights_kinds_in,
    weights_labels,
)

__all__ = [
    "PUBLISHED_NOTE",
    "Tables",
    "published_params",
    "published_performance",
    "join_published",
    "caption_lines",
    "to_markdown",
    "pareto_mask",
    "pareto_table",
    "latency_table",
    "memory_table",
]

#: the caption line of every table that shows published figures beside measured ones
PUBLISHED_NOTE = "published_* columns are quoted from their sources (published_source), not measured here"

_JOIN_KEYS = ["model", "weights", "device", "dtype"]
_CONFIG_COLUMNS = [
    "model",
    "family",
    "weights",
    "weights_kind",
    "device",
    "device_name",
    "device_label",
    "dtype",
    "dataset",
    "image_size",
    "batch",
]
"""The columns of the figure tables that say which configuration a row is (those present)."""

Tables = pd.DataFrame | Sequence[pd.DataFrame]
"""Result rows, one table, or an ``(accuracy table, performance table)`` pair (the performance
table: `samkit.eval.performance_table`, the benchmark's `benchmark_table`)."""


# ------------------------------------------------------------------------------ published numbers


def published_performance() -> pd.DataFrame:
    """The authors' published speed figures for the registered models (long format).

    Columns: model, metric (its name says the device and source, e.g. ``"encoder_ms (A100; SAM
    FAQ)"``), value, device, conditions, source. These are the authors' numbers on their hardware;
    show them beside samkit's measurements (e.g. with `join_published`), never instead of them.
    """
    from importlib import resources

    with resources.files("samkit").joinpath("published_perf.csv").open() as f:
        return pd.read_csv(f)


def published_params() -> pd.DataFrame:
    """The registry's published parameter counts: columns ``model``, ``params_M``, ``source``."""
    from samkit.registry import REGISTRY

    return pd.DataFrame(
        [
            {"model": s.name, "params_M": s.params_published_m, "source": s.params_source}
            for s in REGISTRY.values()
            if s.params_published_m is not None
        ]
    )


def join_published(table: pd.DataFrame, published: pd.DataFrame, on: str | Sequence[str] = "model") -> pd.DataFrame:
    """``table`` with a user-provided table of published numbers joined beside it.

    Every column of ``published`` other than the keys ``on`` becomes ``published_<column>``
    (a ``source`` column, which should say where the numbers come from, becomes
    ``published_source``), so published numbers stand beside ours and never replace them. A left
    join: ``table`` keeps its rows and order; models without published numbers get empty cells.
    """
    keys = [on] if isinstance(on, str) else list(on)
    missing = [k for k in keys if k not in published.columns or k not in table.columns]
    if missing:
        raise ValueError(f"join key(s) {missing} must be columns of both tables")
    if published.duplicated(keys).any():
        dup = published.loc[published.duplicated(keys, keep=False), keys].drop_duplicates()
        raise ValueError(f"published numbers must have one row per {keys}; duplicated: {dup.to_dict('records')}")
    renamed = {
        c: (c if str(c).startswith("published_") else f"published_{c}") for c in published.columns if c not in keys
    }
    clash = [c for c in renamed.values() if c in table.columns]
    if clash:
        raise ValueError(f"table already has column(s) {clash}")
    pub = published.rename(columns=renamed)
    left = table.copy()
    key_str = {k: left[k].astype("string") for k in keys}
    pub = pub.assign(**{k: pub[k].astype("string") for k in keys})
    left = left.assign(**{f"\x00{k}": key_str[k] for k in keys})
    merged = left.merge(pub.rename(columns={k: f"\x00{k}" for k in keys}), on=[f"\x00{k}" for k in keys], how="left")
    return merged.drop(columns=[f"\x00{k}" for k in keys]).reset_index(drop=True)


# --------------------------------------------------------------------------------------- markdown


def _format_cell(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if not present(value):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        a = abs(v)
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        if a >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def caption_lines(df: pd.DataFrame, caption: str = "") -> list[str]:
    """The caption of a table: its title, devices, weights kinds, and the warnings that apply."""
    lines = [f"**{caption}**"] if caption else []
    devices = devices_in(df)
    lines.append(f"- Device(s): {', '.join(devices)}" if devices else "- Device(s): not recorded in this table")
    kinds = weights_kinds_in(df)
    lines.append(f"- Weights: {', '.join(kinds)}" if kinds else "- Weights: not recorded in this table")
    if "random" in kinds:
        models = random_models(df)
        lines.append(
            f"- **WARNING: {RANDOM_WEIGHTS_WARNING}.**"
            + (f" Random-weight rows: {', '.join(models)}." if models else "")
        )
    if any(str(c).startswith("published_") for c in df.columns):
        lines.append(f"- {PUBLISHED_NOTE}.")
    return lines


def to_markdown(df: pd.DataFrame, caption: str = "", about: pd.DataFrame | None = None) -> str:
    """A GitHub-flavoured markdown table with its caption above it (see `caption_lines`).

    ``about``: the table the caption describes when ``df`` is a view of it with columns left out
    (e.g. ``weights_kind``, which the caption reads); default ``df``. Numbers are rounded for
    reading (3 decimals below 1, 2 below 10, 1 below 100, none above); the CSV written beside it
    keeps full precision. Empty cells are fields that do not apply.
    """
    header = [_format_cell(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    lines = caption_lines(df if about is None else about, caption) + [""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_format_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- figure tables


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``weights_kind`` as `samkit.wording.weights_label` (``"unknown"`` where not
    recorded) and a ``device_label`` column."""
    table = table.copy()
    table["weights_kind"] = weights_labels(table) if len(table) else pd.Series(dtype="string")
    if "device_label" not in table.columns:
        devices = table["device"] if "device" in table.columns else [None] * len(table)
        names = table["device_name"] if "device_name" in table.columns else [None] * len(table)
        table["device_label"] = [device_label(d, n) for d, n in zip(devices, names)]
    return table


def _pair(data: Tables) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(accuracy table, performance table) of rows or of a pair; None for a single table."""
    if isinstance(data, pd.DataFrame):
        return (accuracy_table(data), performance_table(data)) if is_rows(data) else None
    items = list(data)
    if len(items) != 2 or not all(isinstance(t, pd.DataFrame) for t in items):
        raise TypeError(
            "expected result rows, one table, or an (accuracy_table, benchmark_table) "
            f"pair; got {type(data).__name__} of {len(items)} item(s)"
        )
    return items[0], items[1]


def _perf_source(data: Tables) -> pd.DataFrame:
    """The table latency and memory come from: the benchmark table where it has rows, else the
    accuracy table (of rows or a pair), else the table given."""
    pair = _pair(data)
    if pair is None:
        return data  # type: ignore[return-value]
    acc, bench = pair
    return bench if len(bench) else acc


def _config_part(table: pd.DataFrame) -> pd.DataFrame:
    return table[[c for c in _CONFIG_COLUMNS if c in table.columns]].copy()


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


def pareto_table(data: Tables, x: str = "encoder_ms", y: str = "mIoU@1") -> pd.DataFrame:
    """One row per configuration with a numeric ``y``: its ``x`` (NaN where not measured) and a
    ``pareto`` column (on the front of lower ``x`` and higher ``y``, computed per device).

    ``data``: result rows, an ``(accuracy_table, benchmark_table)`` pair, or one table that already
    has the ``x`` and ``y`` columns. From rows or a pair, ``y`` comes from the accuracy table;
    ``x`` too where it has it (``encoder_ms``, ``decoder_ms``), otherwise from the benchmark table
    (``end_to_end_ms``, ``set_image_ms``, …), left-joined on (model, weights, device, dtype); the
    latency's device name is kept. Rows with an empty ``x`` are the configurations a figure cannot
    place (never on the front). The front is computed separately for each ``device_label``, since
    latencies on different devices do not compete. Raises ValueError when a column is missing or
    the join is ambiguous (several benchmark configurations of one model: filter by
    ``image_size`` / ``batch`` first).
    """
    pair = _pair(data)
    if pair is not None:
        acc, bench = pair
        if y not in acc.columns:
            raise ValueError(f"no {y!r} in the accuracy table (columns: {list(acc.columns)})")
        if x in acc.columns and acc[x].notna().any():
            points = acc.copy()
        else:
            if x not in bench.columns:
                raise ValueError(f"no {x!r} in the accuracy or benchmark tables")
            b = bench[_JOIN_KEYS + ["device_name", x]].dropna(subset=[x])
            b = b.assign(**{k: b[k].astype("string") for k in _JOIN_KEYS})
            if b.duplicated(_JOIN_KEYS).any():
                raise ValueError(
                    f"several benchmark configurations with {x!r} per (model, weights, "
                    f"device, dtype); filter the rows by image_size / batch first"
                )
            a = acc.drop(columns=[c for c in ("device_name", "device_label", x) if c in acc.columns])
            a = a.assign(**{k: a[k].astype("string") for k in _JOIN_KEYS})
            points = a.merge(b, on=_JOIN_KEYS, how="left")
    else:
        points = data.copy()  # type: ignore[union-attr]
    for col in (x, y):
        if col not in points.columns:
            raise ValueError(f"no {col!r} column (columns: {list(points.columns)})")
    points = _labelled(points)
    points[x] = pd.to_numeric(points[x], errors="coerce").astype(float)
    points[y] = pd.to_numeric(points[y], errors="coerce").astype(float)
    points = points[points[y].notna()].reset_index(drop=True)
    points["pareto"] = False
    for _, idx in points.groupby("device_label", sort=False).groups.items():
        points.loc[idx, "pareto"] = pareto_mask(points.loc[idx, x], points.loc[idx, y])
    return points


def latency_table(data: Tables, phases: tuple[str, str] = ("set_image", "predict_point")) -> pd.DataFrame:
    """What `samkit.results.figures.latency_bars` draws: one row per configuration with a latency.

    Columns: the configuration's (model, family, weights, weights_kind, device, device_name,
    device_label, dtype, dataset, image_size, batch: those present), ``encoder_ms`` and
    ``decoder_ms`` (median ms; NaN where not measured) and ``encoder_part`` / ``decoder_part``
    (what they are). From a benchmark table (rows, a pair or the table, preferred where it has
    rows): the ``phases`` medians (default ``set_image`` and ``predict_point``); from an accuracy
    table: its ``encoder_ms`` (set_image, per image) and ``decoder_ms`` (predict, per prompt).
    """
    table = _perf_source(data)
    enc, dec = f"{phases[0]}_ms", f"{phases[1]}_ms"
    if enc in table.columns or dec in table.columns:
        names = (f"image encoder ({phases[0]})", f"decoder ({phases[1]})")
    else:
        enc, dec = "encoder_ms", "decoder_ms"
        names = ("image encoder (set_image, per image)", "decoder (predict, per prompt)")
    table = _labelled(table)
    out = _config_part(table)
    for name, col in (("encoder_ms", enc), ("decoder_ms", dec)):
        out[name] = pd.to_numeric(table[col], errors="coerce").astype(float) if col in table.columns else np.nan
    out["encoder_part"], out["decoder_part"] = names
    return out[out["encoder_ms"].notna() | out["decoder_ms"].notna()].reset_index(drop=True)


def memory_table(data: Tables) -> pd.DataFrame:
    """What `samkit.results.figures.memory_bars` draws: peak memory per configuration and phase (long format).

    Columns: the configuration's (as in `latency_table`), ``config`` (0, 1, … in table order),
    ``phase`` (``"set_image"``, … from a benchmark table's ``<phase>_peak_mib``; ``"evaluation
    (max over phases)"`` from an accuracy table's ``peak_mem_mib``), ``peak_mib`` (MiB; NaN where
    that phase was not measured) and ``mem_method`` (how memory was measured). Only
    configurations with at least one number, and phases with a number somewhere, are listed.
    """
    table = _labelled(_perf_source(data))
    cols = [c for c in table.columns if str(c).endswith("_peak_mib")]
    series = {c[: -len("_peak_mib")]: c for c in cols if pd.to_numeric(table[c], errors="coerce").notna().any()}
    if not series and "peak_mem_mib" in table.columns:
        series = {"evaluation (max over phases)": "peak_mem_mib"}
    values = pd.DataFrame(
        {name: pd.to_numeric(table[col], errors="coerce").astype(float) for name, col in series.items()},
        index=table.index,
    )
    keep = values.notna().any(axis=1) if series else pd.Series(False, index=table.index)
    config = _config_part(table)[keep].reset_index(drop=True)
    config["mem_method"] = table.loc[keep, "mem_method"].to_numpy() if "mem_method" in table.columns else pd.NA
    values = values[keep].reset_index(drop=True)
    records = []
    for i in range(len(config)):
        for name in series:
            records.append(
                {**config.iloc[i].to_dict(), "config": i, "phase": name, "peak_mib": float(values.at[i, name])}
            )
    columns = list(config.columns[:-1]) + ["config", "phase", "peak_mib", "mem_method"]
    return pd.DataFrame(records, columns=columns)
