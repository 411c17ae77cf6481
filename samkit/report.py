"""Tables and reports from result rows: merge runs, pivot benchmarks, summarise accuracy, write files.

Every table says where its numbers come from, on its face:

- ``weights`` and ``weights_kind`` columns on every row, and a ``note`` that says when the weights
  are random (accuracy meaningless; latency, memory, parameters and FLOPs are real);
- ``device`` and ``device_name`` columns (``"cuda:0"`` + ``"NVIDIA H100 80GB HBM3"``; ``"cpu"`` +
  ``"cpu: x86_64 x2"``), so a CPU number is never read as a GPU number;
- numbers quoted from papers or READMEs only ever appear in ``published_*`` columns
  (`join_published`), beside ours, never in place of them.

`to_markdown` repeats the devices, the weights kinds and, where any row has random weights, the
random-weights warning in the caption. `write_report` writes the tables (markdown + CSV), the
standard figures (`samkit.viz`) and an ``index.md`` that lists them.

Benchmark rows (``protocol == "benchmark"``) carry, besides the `samkit.results.COLUMNS`:
``phase``, ``median_ms``, ``p95_ms``, ``mean_ms``, ``repeats``, ``peak_mem_mib``, ``mem_method``,
``params`` (whole model, a count), ``flops`` (one call of that phase, a count; a multiply-add is 2
FLOPs), ``image_size``, ``batch`` and ``device_name``. Missing ones are treated as empty.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samkit.results import RANDOM_WEIGHTS_NOTE, load_results, summarize

__all__ = [
    "PHASES",
    "BENCHMARK_KEYS",
    "RANDOM_PERF_NOTE",
    "PUBLISHED_NOTE",
    "weights_kind",
    "device_label",
    "devices_in",
    "weights_kinds_in",
    "has_random_weights",
    "merge_runs",
    "benchmark_table",
    "accuracy_table",
    "published_params",
    "published_performance",
    "join_published",
    "to_markdown",
    "write_report",
]

PHASES: tuple[str, ...] = ("set_image", "predict_point", "predict_box", "predict_boxes_batch",
                           "end_to_end", "generate")
"""Benchmark phases in display order; other phase names follow, alphabetically."""

BENCHMARK_KEYS: list[str] = ["model", "weights", "device", "device_name", "dtype", "image_size",
                             "batch"]
"""One `benchmark_table` row per distinct combination of these columns."""

RANDOM_PERF_NOTE = "random weights (latency/memory are real)"
"""Note on benchmark rows (no accuracy in them) measured with random weights."""

PUBLISHED_NOTE = ("published_* columns are quoted from their sources (published_source), "
                  "not measured here")

_BENCH_EXTRA = ["phase", "median_ms", "p95_ms", "mean_ms", "repeats", "mem_method", "params",
                "flops", "image_size", "batch", "device_name"]
_BENCH_NUMERIC = ["median_ms", "p95_ms", "mean_ms", "repeats", "peak_mem_mib", "params", "flops"]
_ACC_KEYS = ["model", "weights", "device", "dtype", "dataset"]


# ------------------------------------------------------------------------------------ labelling


def _present(value: Any) -> bool:
    """True for a real value (not None / NaN / NA / empty string)."""
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):  # array-likes
        return True
    return str(value) != ""


def weights_kind(weights: Any) -> str:
    """``"random(seed=0)"`` -> ``"random"``; ``"pretrained(sha256=…)"`` -> ``"pretrained"``.

    A pretrained file that is not the official one is ``"pretrained (unofficial file)"``; an empty
    value is ``"unknown"``; anything else is returned as it is.
    """
    if not _present(weights):
        return "unknown"
    text = str(weights)
    if text.startswith("random"):
        return "random"
    if text.startswith("pretrained"):
        return "pretrained (unofficial file)" if "unofficial" in text else "pretrained"
    return text


def device_label(device: Any, device_name: Any = None) -> str:
    """A device as people read it: ``"NVIDIA H100 80GB HBM3 (cuda:0)"``, ``"cpu: x86_64 x2"``.

    A CUDA device without a recorded name says so (``"cuda:0 (GPU model not recorded)"``), so an
    unnamed number is never passed off as coming from a particular GPU.
    """
    dev = str(device) if _present(device) else ""
    name = str(device_name) if _present(device_name) else ""
    if name and name != dev:
        if dev and name.lower().startswith(dev.split(":")[0].lower()):  # "cpu: x86_64 x2" on "cpu"
            return name
        return f"{name} ({dev})" if dev else name
    if dev.startswith("cuda"):
        return f"{dev} (GPU model not recorded)"
    return dev or "device not recorded"


def _unique(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def devices_in(frame: pd.DataFrame) -> list[str]:
    """The distinct `device_label` values of a frame's rows (``device`` / ``device_name``)."""
    if frame is None or len(frame) == 0:
        return []
    if "device_label" in frame:
        return _unique(str(d) for d in frame["device_label"])
    if "device" not in frame and "device_name" not in frame:
        return []
    devices = frame["device"] if "device" in frame else pd.Series([None] * len(frame))
    names = frame["device_name"] if "device_name" in frame else pd.Series([None] * len(frame))
    return _unique(device_label(d, n) for d, n in zip(devices, names))


def weights_kinds_in(frame: pd.DataFrame) -> list[str]:
    """The distinct `weights_kind` values of a frame's rows."""
    if frame is None or len(frame) == 0:
        return []
    if "weights" in frame:
        return _unique(weights_kind(w) for w in frame["weights"])
    if "weights_kind" in frame:
        return _unique(str(w) for w in frame["weights_kind"])
    return []


def has_random_weights(frame: pd.DataFrame) -> bool:
    """True when any row has random weights."""
    return "random" in weights_kinds_in(frame)


def _random_models(frame: pd.DataFrame) -> list[str]:
    if frame is None or len(frame) == 0 or "model" not in frame:
        return []
    if "weights" in frame:
        kinds = frame["weights"].map(weights_kind)
    elif "weights_kind" in frame:
        kinds = frame["weights_kind"].astype(str)
    else:
        return []
    return _unique(str(m) for m in frame.loc[kinds == "random", "model"])


def _joined(values: Iterable[Any]) -> Any:
    vals = _unique(str(v) for v in values if _present(v))
    return "; ".join(vals) if vals else pd.NA


# ---------------------------------------------------------------------------------------- merging


def _result_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        files += sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    return files


def _provenance_devices(files: Iterable[Path]) -> dict[str, list[str]]:
    """run_id -> the ``devices`` list of its provenance record (``<stem>.provenance.json``)."""
    out: dict[str, list[str]] = {}
    for f in files:
        prov = f.with_suffix(".provenance.json")
        if not prov.is_file():
            continue
        try:
            record = json.loads(prov.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("run_id") and isinstance(record.get("devices"), list):
            out[str(record["run_id"])] = [str(d) for d in record["devices"]]
    return out


def _name_from_provenance(device: Any, devices: list[str]) -> Any:
    """The provenance's name of ``device``: ``devices[i]`` for ``cuda:i``, the CPU entry for cpu."""
    if not _present(device) or not devices:
        return pd.NA
    dev = str(device)
    if dev.startswith("cuda"):
        index = int(dev.split(":", 1)[1]) if ":" in dev and dev.split(":", 1)[1].isdigit() else 0
        gpus = [d for d in devices if not d.startswith("cpu")]
        return gpus[index] if index < len(gpus) else pd.NA
    if dev == "cpu":
        cpus = [d for d in devices if d.startswith("cpu")]
        return cpus[0] if cpus else pd.NA
    return pd.NA


def merge_runs(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All rows of any set of runs (files, folders searched recursively): `samkit.results.load_results`.

    Rows that carry no ``device_name`` get it from their run's provenance file
    (``<stem>.provenance.json``: ``devices[i]`` for ``cuda:i``; the CPU entry for ``cpu``), where
    one is there; otherwise it stays empty.
    """
    frame = load_results(paths)
    names = _provenance_devices(_result_files(paths))
    if "device_name" not in frame.columns:
        frame["device_name"] = pd.NA
    frame["device_name"] = frame["device_name"].astype("string")
    if names:
        missing = frame["device_name"].isna()
        filled = [_name_from_provenance(dev, names.get(str(run), []))
                  for run, dev in zip(frame.loc[missing, "run_id"], frame.loc[missing, "device"])]
        frame.loc[missing, "device_name"] = pd.array(filled, dtype="string")
    return frame


# ----------------------------------------------------------------------------------------- tables


def _phase_order(phases: Iterable[Any]) -> list[str]:
    present = {str(p) for p in phases if _present(p)}
    return [p for p in PHASES if p in present] + sorted(present - set(PHASES))


def _benchmark_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if "protocol" not in frame.columns:
        return frame.iloc[0:0].copy()
    rows = frame[frame["protocol"].astype("string") == "benchmark"].copy()
    for col in _BENCH_EXTRA + ["family", "status", "peak_mem_mib"]:
        if col not in rows.columns:
            rows[col] = pd.NA
    for col in _BENCH_NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    return rows


def benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Pivot benchmark rows: one row per (model, weights, device, device_name, dtype, image_size, batch).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``:

    - ``params_M``: parameters in millions (the rows' ``params``, a whole-model count);
    - ``GFLOPs``: one image + one prompt: the ``end_to_end`` phase's ``flops`` where measured,
      otherwise ``set_image`` + ``predict_point`` where both are; else empty;
    - per phase (``PHASES`` order, then others): ``<phase>_ms`` (median), ``<phase>_p95_ms``,
      ``<phase>_peak_mib``, ``<phase>_GFLOPs`` (only for phases with a ``flops`` value anywhere);
    - ``mem_method`` (how memory was measured), ``repeats`` (fewest timed repeats behind a
      number), ``errors`` / ``skipped`` (rows of that status), ``note`` (random weights).

    Only ``status == "ok"`` rows (or rows without a status) give numbers. Where several rows measure
    the same phase of one configuration (merged runs), the median is the median of their medians,
    p95 and peak memory the largest.
    """
    rows = _benchmark_rows(frame)
    status = rows["status"].astype("string").fillna("ok")
    ok = rows[status == "ok"]
    phases = _phase_order(rows["phase"])  # a phase that only failed still gets its (empty) columns
    flop_phases = [p for p in phases if ok.loc[ok["phase"] == p, "flops"].notna().any()]

    out: list[dict[str, Any]] = []
    for key, group in rows.groupby(BENCHMARK_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(BENCHMARK_KEYS, key))
        rec["family"] = _joined(group["family"])
        rec["weights_kind"] = weights_kind(rec["weights"])
        rec["device_label"] = device_label(rec["device"], rec["device_name"])
        g_status = group["status"].astype("string").fillna("ok")
        g = group[g_status == "ok"]
        params = g["params"].dropna()
        rec["params_M"] = params.max() / 1e6 if len(params) else np.nan
        by_phase = {p: g[g["phase"] == p] for p in phases}
        flops = {p: (by_phase[p]["flops"].max() if by_phase[p]["flops"].notna().any() else np.nan)
                 for p in phases}
        if not math.isnan(flops.get("end_to_end", np.nan)):
            total = flops["end_to_end"]
        elif not (math.isnan(flops.get("set_image", np.nan))
                  or math.isnan(flops.get("predict_point", np.nan))):
            total = flops["set_image"] + flops["predict_point"]
        else:
            total = np.nan
        rec["GFLOPs"] = total / 1e9
        for p in phases:
            rec[f"{p}_ms"] = by_phase[p]["median_ms"].median()
        for p in phases:
            rec[f"{p}_p95_ms"] = by_phase[p]["p95_ms"].max()
        for p in phases:
            rec[f"{p}_peak_mib"] = by_phase[p]["peak_mem_mib"].max()
        for p in flop_phases:
            rec[f"{p}_GFLOPs"] = flops[p] / 1e9
        rec["mem_method"] = _joined(g["mem_method"])
        repeats = g["repeats"].dropna()
        rec["repeats"] = int(repeats.min()) if len(repeats) else pd.NA
        rec["errors"] = int((g_status == "error").sum())
        rec["skipped"] = int((g_status == "skipped").sum())
        rec["note"] = RANDOM_PERF_NOTE if rec["weights_kind"] == "random" else ""
        out.append(rec)

    columns = (["model", "family", "weights", "weights_kind", "device", "device_name", "device_label",
                "dtype", "image_size", "batch", "params_M", "GFLOPs"]
               + [f"{p}_ms" for p in phases] + [f"{p}_p95_ms" for p in phases]
               + [f"{p}_peak_mib" for p in phases] + [f"{p}_GFLOPs" for p in flop_phases]
               + ["mem_method", "repeats", "errors", "skipped", "note"])
    table = pd.DataFrame(out, columns=columns)
    for col in ("image_size", "batch"):  # whole numbers stay whole (NaN made them float)
        values = pd.to_numeric(table[col], errors="coerce")
        if values.notna().sum() == table[col].map(_present).sum() and (values.dropna() % 1 == 0).all():
            table[col] = values.astype("Int64")
    table["repeats"] = table["repeats"].astype("Int64")
    return table


def accuracy_table(frame: pd.DataFrame) -> pd.DataFrame:
    """`samkit.results.summarize` of the non-benchmark rows, labelled.

    One row per (model, weights, device, dtype, dataset), with ``family``, ``weights_kind``,
    ``device_name`` (the rows' values, where recorded), ``device_label`` and ``mem_method`` added
    beside the summary's columns; ``note`` carries `RANDOM_WEIGHTS_NOTE` for random weights.
    """
    rows = frame
    if "protocol" in frame.columns:
        rows = frame[frame["protocol"].astype("string").fillna("") != "benchmark"]
    if len(rows) == 0:
        return pd.DataFrame(columns=["model", "family", "weights", "weights_kind", "device",
                                     "device_name", "device_label", "dtype", "dataset", "note"])
    table = summarize(rows)
    extra = rows.copy()
    for col in ("family", "device_name", "mem_method"):
        if col not in extra.columns:
            extra[col] = pd.NA
    keyed = extra[_ACC_KEYS].astype("string").fillna("\x00")
    labels = (pd.concat([keyed, extra[["family", "device_name", "mem_method"]]], axis=1)
              .groupby(_ACC_KEYS, sort=False)
              .agg(family=("family", _joined), device_name=("device_name", _joined),
                   mem_method=("mem_method", _joined))
              .reset_index())
    left = table[_ACC_KEYS].astype("string").fillna("\x00")
    merged = left.merge(labels, on=_ACC_KEYS, how="left")
    table.insert(1, "family", merged["family"].astype("string").to_numpy())
    table.insert(3, "weights_kind", table["weights"].map(weights_kind))
    table.insert(table.columns.get_loc("device") + 1, "device_name",
                 merged["device_name"].astype("string").to_numpy())
    table.insert(table.columns.get_loc("device_name") + 1, "device_label",
                 [device_label(d, n) for d, n in zip(table["device"], table["device_name"])])
    if merged["mem_method"].notna().any():
        table.insert(table.columns.get_loc("note"), "mem_method",
                     merged["mem_method"].astype("string").to_numpy())
    return table


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

    return pd.DataFrame([{"model": s.name, "params_M": s.params_published_m, "source": s.params_source}
                         for s in REGISTRY.values() if s.params_published_m is not None])


def join_published(table: pd.DataFrame, published: pd.DataFrame,
                   on: str | Sequence[str] = "model") -> pd.DataFrame:
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
        raise ValueError(f"published numbers must have one row per {keys}; duplicated: "
                         f"{dup.to_dict('records')}")
    renamed = {c: (c if str(c).startswith("published_") else f"published_{c}")
               for c in published.columns if c not in keys}
    clash = [c for c in renamed.values() if c in table.columns]
    if clash:
        raise ValueError(f"table already has column(s) {clash}")
    pub = published.rename(columns=renamed)
    left = table.copy()
    key_str = {k: left[k].astype("string") for k in keys}
    pub = pub.assign(**{k: pub[k].astype("string") for k in keys})
    left = left.assign(**{f"\x00{k}": key_str[k] for k in keys})
    merged = left.merge(pub.rename(columns={k: f"\x00{k}" for k in keys}),
                        on=[f"\x00{k}" for k in keys], how="left")
    return merged.drop(columns=[f"\x00{k}" for k in keys]).reset_index(drop=True)


# --------------------------------------------------------------------------------------- markdown


def _format_cell(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if not _present(value):
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
    lines.append(f"- Device(s): {', '.join(devices)}" if devices
                 else "- Device(s): not recorded in this table")
    kinds = weights_kinds_in(df)
    lines.append(f"- Weights: {', '.join(kinds)}" if kinds
                 else "- Weights: not recorded in this table")
    if "random" in kinds:
        models = _random_models(df)
        lines.append(f"- **WARNING: {RANDOM_WEIGHTS_NOTE}.**"
                     + (f" Random-weight rows: {', '.join(models)}." if models else ""))
    if any(str(c).startswith("published_") for c in df.columns):
        lines.append(f"- {PUBLISHED_NOTE}.")
    return lines


def to_markdown(df: pd.DataFrame, caption: str = "") -> str:
    """A GitHub-flavoured markdown table with its caption above it (see `caption_lines`).

    Numbers are rounded for reading (3 decimals below 1, 2 below 10, 1 below 100, none above);
    the CSV written beside it keeps full precision. Empty cells are fields that do not apply.
    """
    header = [_format_cell(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    lines = caption_lines(df, caption) + [""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_format_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------- report


def _md_view(table: pd.DataFrame) -> pd.DataFrame:
    """The markdown view: ``device_label`` for ``device`` + ``device_name``, ``weights`` (which
    names the kind) for ``weights_kind``; columns empty in every row are left out."""
    drop = [c for c in ("device", "device_name") if "device_label" in table.columns]
    drop += ["weights_kind"] if "weights" in table.columns else []
    view = table.drop(columns=[c for c in drop if c in table.columns])
    return view[[c for c in view.columns if view[c].map(_present).any()]]


def write_report(frame: pd.DataFrame, out_dir: str | os.PathLike, *,
                 published: pd.DataFrame | None = None, title: str = "samkit report",
                 pareto_x: str | None = None, pareto_y: str | None = None,
                 dpi: int = 120) -> dict[str, Path]:
    """Write the tables and standard figures of ``frame`` (rows of any set of runs) into ``out_dir``.

    Files (only those the rows have data for):

    - ``accuracy.md`` / ``accuracy.csv``: `accuracy_table` (evaluation rows);
    - ``benchmark.md`` / ``benchmark.csv``: `benchmark_table` (benchmark rows);
    - ``pareto.png``: accuracy vs latency with the Pareto front (`samkit.viz.pareto_plot`);
      x: ``pareto_x`` or ``end_to_end_ms`` where benchmarked, else ``encoder_ms``; y: ``pareto_y``
      or the first of ``mIoU@1``, ``box_mIoU``, ``AR@1000`` with values;
    - ``latency.png``: encoder / decoder latency bars (`samkit.viz.latency_bars`);
    - ``memory.png``: peak memory per phase (`samkit.viz.memory_bars`);
    - ``index.md``: what the report holds (devices, weights, warnings) and links to every file.

    ``published`` (columns ``model``, a ``source``, and any numbers) is joined beside the tables
    as ``published_*`` columns (`join_published`) and drawn as labelled published points on the
    Pareto figure where it has the plotted columns. Returns ``{name: path}``: ``accuracy_md``,
    ``accuracy_csv``, ``benchmark_md``, ``benchmark_csv``, ``pareto_png``, ``latency_png``,
    ``memory_png``, ``index_md`` (those written).
    """
    from samkit import viz

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    sections: list[str] = []
    acc = accuracy_table(frame)
    bench = benchmark_table(frame)

    def table_files(name: str, table: pd.DataFrame, caption: str) -> None:
        if published is not None:
            table = join_published(table, published)
        table.to_csv(out / f"{name}.csv", index=False)
        md = to_markdown(_md_view(table), caption)
        (out / f"{name}.md").write_text(md)
        written[f"{name}_md"] = out / f"{name}.md"
        written[f"{name}_csv"] = out / f"{name}.csv"
        sections.append(f"## {caption}\n\nFiles: [{name}.md]({name}.md), [{name}.csv]({name}.csv)"
                        f"\n\n{md}")

    if len(acc):
        table_files("accuracy", acc, "Accuracy (evaluation protocols)")
    if len(bench):
        table_files("benchmark", bench, "Benchmark: latency (median / p95 ms), peak memory, size")

    def figure_file(name: str, make, caption: str) -> None:
        fig = make()
        fig.savefig(out / f"{name}.png", dpi=dpi)
        written[f"{name}_png"] = out / f"{name}.png"
        sections.append(f"## {caption}\n\n![{caption}]({name}.png)\n")

    y = pareto_y or next((c for c in ("mIoU@1", "box_mIoU", "AR@1000")
                          if c in acc.columns and acc[c].notna().any()), None)
    x = pareto_x or ("end_to_end_ms" if "end_to_end_ms" in bench.columns
                     and bench["end_to_end_ms"].notna().any() else "encoder_ms")
    skipped: list[str] = []
    if y is not None:
        try:
            points = viz.pareto_points(frame, x=x, y=y)
            if points.empty:
                raise ValueError(f"no configuration has both {x} and {y}")
        except ValueError as err:
            skipped.append(f"- Pareto figure not drawn: {err}.")
        else:
            pub = published if published is not None and {x, y} <= set(published.columns) else None
            figure_file("pareto", lambda: viz.pareto_plot(frame, x=x, y=y, published=pub),
                        f"Accuracy ({y}) vs latency ({x}), Pareto front")
    if viz.has_latency(frame):
        figure_file("latency", lambda: viz.latency_bars(frame), "Latency breakdown")
    if viz.has_memory(frame):
        figure_file("memory", lambda: viz.memory_bars(frame), "Peak memory")

    everything = pd.concat([t for t in (acc, bench) if len(t)], ignore_index=True) \
        if len(acc) or len(bench) else frame
    index = [f"# {title}", "", f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from "
             f"{len(frame)} result rows.", ""]
    index += caption_lines(everything)
    if published is not None:
        index.append(f"- {PUBLISHED_NOTE}.")
    index += ["", "## Files", ""]
    index += [f"- [{p.name}]({p.name})" for p in written.values()] + skipped
    index += [""] + sections
    (out / "index.md").write_text("\n".join(index) + "\n")
    written["index_md"] = out / "index.md"
    return written
