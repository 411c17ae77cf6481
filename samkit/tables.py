"""Tables from result rows: merge runs, pivot benchmarks, summarise accuracy, prepare what figures draw.

The second layer of the results stack (labels -> tables -> figures -> report). Every table says
where its numbers come from, on its face:

- ``weights`` (readable) and ``weights_kind`` (`samkit.labels.weights_label` of the rows' typed
  ``weights_kind`` / ``weights_official`` columns) on every row, and a ``note`` that carries
  `samkit.labels.RANDOM_WEIGHTS_WARNING` where the weights are random;
- ``device`` and ``device_name`` columns (``"cuda:0"`` + ``"NVIDIA H100 80GB HBM3"``; ``"cpu"`` +
  ``"cpu: x86_64 x2"``) and their ``device_label``, so a CPU number is never read as a GPU number;
- numbers quoted from papers or READMEs only ever appear in ``published_*`` columns
  (`join_published`), beside ours, never in place of them.

`to_markdown` repeats the devices, the weights kinds and, where any row has random weights, the
warning in the caption. The figure tables (`pareto_table`, `latency_table`, `memory_table`,
`click_curve_table`) are what `samkit.viz` draws.

Benchmark rows (``protocol == "benchmark"``) carry, besides the `samkit.rows.COLUMNS`:
``phase``, ``median_ms``, ``p95_ms``, ``mean_ms``, ``repeats``, ``peak_mem_mib``, ``mem_method``,
``params`` (whole model, a count), ``flops`` (one call of that phase, a count; a multiply-add is 2
FLOPs), ``image_size`` and ``batch``. Missing ones are treated as empty.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from samkit.labels import (RANDOM_WEIGHTS_WARNING, device_label, devices_in, joined, present,
                           random_models, weights_kinds_in, weights_labels)
from samkit.eval.benchmark import PHASES  # benchmark phases in display order; others follow, sorted
from samkit.results import SUMMARY_KEYS, summarize
from samkit.rows import load_results

__all__ = [
    "PHASES",
    "BENCHMARK_KEYS",
    "PUBLISHED_NOTE",
    "Tables",
    "is_rows",
    "merge_runs",
    "benchmark_table",
    "VIDEO_BENCHMARK_KEYS",
    "video_benchmark_table",
    "accuracy_table",
    "ap_table",
    "sequence_table",
    "published_params",
    "published_performance",
    "join_published",
    "caption_lines",
    "to_markdown",
    "pareto_mask",
    "pareto_table",
    "latency_table",
    "memory_table",
    "click_curve_table",
]


BENCHMARK_KEYS: list[str] = ["model", "weights", "device", "device_name", "dtype", "compile",
                             "image_batch", "image_size", "batch"]
"""One `benchmark_table` row per distinct combination of these columns."""

PUBLISHED_NOTE = ("published_* columns are quoted from their sources (published_source), "
                  "not measured here")

_BENCH_EXTRA = ["phase", "median_ms", "p95_ms", "mean_ms", "repeats", "mem_method", "params",
                "flops", "image_size", "batch", "device_name", "compile", "image_batch", "compile_ms",
                "per_image_ms"]
_BENCH_NUMERIC = ["median_ms", "p95_ms", "mean_ms", "repeats", "peak_mem_mib", "params", "flops",
                  "compile_ms", "per_image_ms"]
_JOIN_KEYS = ["model", "weights", "device", "dtype"]
_CONFIG_COLUMNS = ["model", "family", "weights", "weights_kind", "device", "device_name",
                   "device_label", "dtype", "dataset", "image_size", "batch"]
"""The columns of the figure tables that say which configuration a row is (those present)."""

Tables = Union[pd.DataFrame, Sequence[pd.DataFrame]]
"""Result rows, one table, or an ``(accuracy_table, benchmark_table)`` pair."""


def is_rows(data: Any) -> bool:
    """True for result rows (long format, a ``protocol`` column) rather than a table made from them."""
    return isinstance(data, pd.DataFrame) and "protocol" in data.columns


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
    if not present(device) or not devices:
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
    """All rows of any set of runs (files, folders searched recursively): `samkit.rows.load_results`.

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
    names = {str(p) for p in phases if present(p)}
    return [p for p in PHASES if p in names] + sorted(names - set(PHASES))


def _benchmark_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if "protocol" not in frame.columns:
        return frame.iloc[0:0].copy()
    rows = frame[frame["protocol"].astype("string") == "benchmark"].copy()
    for col in _BENCH_EXTRA + ["family", "status", "peak_mem_mib", "weights_kind", "weights_official"]:
        if col not in rows.columns:
            rows[col] = pd.NA
    for col in _BENCH_NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    # runs from before the fast settings: eager, one image a call
    rows["compile"] = rows["compile"].astype("boolean").fillna(False)
    rows["image_batch"] = pd.to_numeric(rows["image_batch"], errors="coerce").fillna(1).astype("int64")
    return rows


def _kind_of(rows: pd.DataFrame) -> str:
    """The weights kind of a group of rows (all of one ``weights`` value): their labels joined."""
    kind = joined(weights_labels(rows))
    return str(kind) if present(kind) else "unknown"


def benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Pivot benchmark rows: one row per `BENCHMARK_KEYS` (model, weights, device, device_name,
    dtype, compile, image_batch, image_size, batch).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``:

    - ``params_M``: parameters in millions (the rows' ``params``, a whole-model count);
    - ``GFLOPs``: one image + one prompt: the ``end_to_end`` phase's ``flops`` where measured,
      otherwise ``set_image`` + ``predict_point`` where both are; else empty;
    - per phase (``PHASES`` order, then others): ``<phase>_ms`` (median), ``<phase>_p95_ms``,
      ``<phase>_peak_mib``, ``<phase>_GFLOPs`` (only for phases with a ``flops`` value anywhere);
    - ``mem_method`` (how memory was measured), ``repeats`` (fewest timed repeats behind a
      number), ``errors`` / ``skipped`` (rows of that status), ``note`` (`RANDOM_WEIGHTS_WARNING`
      for random weights, else empty);
    - ``compile_ms``: the encoder's compilation at load time (compiled runs; never in a timed call);
      ``set_images_per_image_ms``: the ``set_images`` phase's median / ``image_batch``.

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
        rec["family"] = joined(group["family"])
        rec["weights_kind"] = _kind_of(group)
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
        compile_ms = g["compile_ms"].dropna()
        rec["compile_ms"] = compile_ms.max() if len(compile_ms) else np.nan
        rec["set_images_per_image_ms"] = (by_phase["set_images"]["per_image_ms"].median()
                                          if "set_images" in by_phase else np.nan)
        rec["mem_method"] = joined(g["mem_method"])
        repeats = g["repeats"].dropna()
        rec["repeats"] = int(repeats.min()) if len(repeats) else pd.NA
        rec["errors"] = int((g_status == "error").sum())
        rec["skipped"] = int((g_status == "skipped").sum())
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)

    columns = (["model", "family", "weights", "weights_kind", "device", "device_name", "device_label",
                "dtype", "compile", "image_batch", "image_size", "batch", "params_M", "GFLOPs"]
               + [f"{p}_ms" for p in phases] + [f"{p}_p95_ms" for p in phases]
               + [f"{p}_peak_mib" for p in phases] + [f"{p}_GFLOPs" for p in flop_phases]
               + ["compile_ms", "set_images_per_image_ms", "mem_method", "repeats", "errors", "skipped",
                  "note"])
    table = pd.DataFrame(out, columns=columns)
    for col in ("image_size", "batch"):  # whole numbers stay whole (NaN made them float)
        values = pd.to_numeric(table[col], errors="coerce")
        if values.notna().sum() == table[col].map(present).sum() and (values.dropna() % 1 == 0).all():
            table[col] = values.astype("Int64")
    table["repeats"] = table["repeats"].astype("Int64")
    return table


VIDEO_BENCHMARK_KEYS: list[str] = ["model", "weights", "device", "device_name", "dtype", "video_storage",
                                   "offload_state_to_cpu", "length", "height", "width"]
"""One `video_benchmark_table` row per distinct combination of these columns."""

_PERF_PROTOCOLS = ("benchmark", "video_benchmark")
"""Measurement protocols: their rows have their own tables, not `accuracy_table`."""

_VIDEO_NUMERIC = ["fps", "propagate_ms", "init_ms", "prompt_ms", "peak_mem_mib", "frames", "objects",
                  "J&F-Mean", "length", "height", "width"]


def video_benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Video benchmark rows (``protocol == "video_benchmark"``) as one row per (model, weights,
    device, device_name, dtype, video_storage, offload_state_to_cpu, length, height, width).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``: ``objects``,
    ``frames`` (propagated), ``fps`` (propagated frames per second), ``propagate_ms``, ``init_ms``,
    ``prompt_ms`` (medians over the ok rows of merged runs), ``peak_mem_mib`` (the largest, MiB),
    ``mem_method`` (how memory was measured), ``J&F-Mean`` (against the synthetic truth; median),
    ``runs`` (ok rows), ``errors`` (rows of any failure status), ``failure`` (their statuses, e.g.
    ``oom``) and ``note`` (`RANDOM_WEIGHTS_WARNING` for random weights, else empty). A combination
    that only failed keeps its row, with empty numbers. Empty (these columns) without such rows.
    """
    columns = (["model", "family", "weights", "weights_kind", "device", "device_name", "device_label",
                "dtype", "video_storage", "offload_state_to_cpu", "length", "height", "width",
                "objects", "frames", "fps", "propagate_ms", "init_ms", "prompt_ms", "peak_mem_mib",
                "mem_method", "J&F-Mean", "runs", "errors", "failure", "note"])
    if "protocol" not in frame.columns:
        return pd.DataFrame(columns=columns)
    rows = frame[frame["protocol"].astype("string") == "video_benchmark"].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    for col in VIDEO_BENCHMARK_KEYS + _VIDEO_NUMERIC + ["family", "status", "mem_method",
                                                        "weights_kind", "weights_official"]:
        if col not in rows.columns:
            rows[col] = pd.NA
    for col in _VIDEO_NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    rows["offload_state_to_cpu"] = rows["offload_state_to_cpu"].map(
        lambda v: bool(v) if present(v) else pd.NA)
    out: list[dict[str, Any]] = []
    for key, group in rows.groupby(VIDEO_BENCHMARK_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(VIDEO_BENCHMARK_KEYS, key))
        rec["family"] = joined(group["family"])
        rec["weights_kind"] = _kind_of(group)
        rec["device_label"] = device_label(rec["device"], rec["device_name"])
        g_status = group["status"].astype("string").fillna("ok")
        g = group[g_status == "ok"]
        rec["objects"] = g["objects"].max()
        rec["frames"] = g["frames"].max()
        for col in ("fps", "propagate_ms", "init_ms", "prompt_ms", "J&F-Mean"):
            rec[col] = g[col].median()
        rec["peak_mem_mib"] = g["peak_mem_mib"].max()
        rec["mem_method"] = joined(g["mem_method"])
        rec["runs"] = len(g)
        failed = g_status[g_status != "ok"]
        rec["errors"] = len(failed)
        rec["failure"] = joined(failed) if len(failed) else ""
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)
    table = pd.DataFrame(out, columns=columns)
    for col in ("length", "height", "width", "objects", "frames", "runs", "errors"):
        table[col] = pd.to_numeric(table[col], errors="coerce").round().astype("Int64")
    return table


def _noted(note: Any, random: bool) -> str:
    """A summary's note with the random-weights warning first where the weights are random."""
    text = str(note) if present(note) else ""
    if random and RANDOM_WEIGHTS_WARNING not in text:
        return RANDOM_WEIGHTS_WARNING + (f"; {text}" if text else "")
    return text


def accuracy_table(frame: pd.DataFrame) -> pd.DataFrame:
    """`samkit.results.summarize` of the evaluation rows (not ``benchmark`` / ``video_benchmark``,
    which have their own tables), labelled.

    One row per (model, weights, device, dtype, dataset), with ``family``, ``weights_kind``,
    ``device_name`` (the rows' values, where recorded), ``device_label`` and ``mem_method`` added
    beside the summary's columns; ``note`` carries `RANDOM_WEIGHTS_WARNING` for random weights.
    """
    rows = frame
    if "protocol" in frame.columns:
        rows = frame[~frame["protocol"].astype("string").fillna("").isin(_PERF_PROTOCOLS)]
    if len(rows) == 0:
        return pd.DataFrame(columns=["model", "family", "weights", "weights_kind", "device",
                                     "device_name", "device_label", "dtype", "dataset", "note"])
    table = summarize(rows)
    extra = rows.copy()
    for col in ("family", "device_name", "mem_method"):
        if col not in extra.columns:
            extra[col] = pd.NA
    extra["weights_kind"] = weights_labels(extra)
    keyed = extra[SUMMARY_KEYS].astype("string").fillna("\x00")
    labels = (pd.concat([keyed, extra[["family", "weights_kind", "device_name", "mem_method"]]], axis=1)
              .groupby(SUMMARY_KEYS, sort=False)
              .agg(family=("family", joined), weights_kind=("weights_kind", joined),
                   device_name=("device_name", joined), mem_method=("mem_method", joined))
              .reset_index())
    left = table[SUMMARY_KEYS].astype("string").fillna("\x00")
    merged = left.merge(labels, on=SUMMARY_KEYS, how="left")
    table.insert(1, "family", merged["family"].astype("string").to_numpy())
    table.insert(3, "weights_kind", merged["weights_kind"].astype("string").fillna("unknown").to_numpy())
    table.insert(table.columns.get_loc("device") + 1, "device_name",
                 merged["device_name"].astype("string").to_numpy())
    table.insert(table.columns.get_loc("device_name") + 1, "device_label",
                 [device_label(d, n) for d, n in zip(table["device"], table["device_name"])])
    notes = table["note"] if "note" in table.columns else [""] * len(table)
    table["note"] = [_noted(n, k == "random") for n, k in zip(notes, table["weights_kind"])]
    if merged["mem_method"].notna().any():
        table.insert(table.columns.get_loc("note"), "mem_method",
                     merged["mem_method"].astype("string").to_numpy())
    return table


SEQUENCE_KEYS = ["model", "weights", "device", "dtype", "dataset", "image_id"]
"""One `sequence_table` row per video sequence of one configuration."""


def sequence_table(frame: pd.DataFrame) -> pd.DataFrame:
    """J&F per sequence of the video protocol's rows: one row per (model, weights, device, dtype,
    dataset, sequence) with ``sequence``, ``objects``, ``J&F`` (mean over its objects of
    ``J&F-Mean``), ``J``, ``F``, ``frames``, ``fps`` and ``peak_mem_mib``, plus ``weights_kind``,
    ``device_label`` and a ``note`` that carries the random-weights warning; empty without such rows.
    The per-model numbers (DAVIS's global J&F over all objects) are in `accuracy_table`."""
    if "protocol" not in frame.columns or "J-Mean" not in frame.columns:
        return pd.DataFrame()
    rows = frame[(frame["protocol"].astype("string") == "video") & (frame["status"] == "ok")].copy()
    if not len(rows):
        return pd.DataFrame()
    rows["weights_kind"] = weights_labels(rows)
    for col in ("device_name", "frames", "fps", "peak_mem_mib"):
        if col not in rows.columns:
            rows[col] = np.nan
    keyed = rows.assign(**{k: rows[k].astype("string").fillna("") for k in SEQUENCE_KEYS})
    out = (keyed.groupby(SEQUENCE_KEYS, sort=False)
           .agg(weights_kind=("weights_kind", joined), device_name=("device_name", joined),
                objects=("object_id", "nunique"), J=("J-Mean", "mean"), F=("F-Mean", "mean"),
                jf=("J&F-Mean", "mean"), frames=("frames", "max"), fps=("fps", "median"),
                peak_mem_mib=("peak_mem_mib", "max"))
           .reset_index().rename(columns={"image_id": "sequence", "jf": "J&F"}))
    out.insert(out.columns.get_loc("device") + 1, "device_label",
               [device_label(d, n) for d, n in zip(out["device"], out["device_name"])])
    out["note"] = [_noted("", k == "random") for k in out["weights_kind"]]
    first = ["model", "weights", "weights_kind", "device", "device_label", "dtype", "dataset", "sequence",
             "objects", "J&F", "J", "F", "frames", "fps", "peak_mem_mib", "note"]
    return out[first]


AP_PROTOCOLS = ("text", "detector_boxes")
"""The protocols whose summaries are COCO AP (`ap_table`)."""

_AP_PREFIXES = ("text_mask_", "text_box_", "mask_", "box_")


def ap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """COCO AP of the text and detector_boxes rows: one row per (model, weights, detector,
    detector weights, device, dtype, dataset) and protocol, labelled as `accuracy_table`.

    Columns: the configuration (with ``detector``, ``detector_weights``), ``protocol``, the AP
    columns that protocol has (``text_mask_AP`` ... / ``mask_AP`` ..., ``box_AP`` ...: COCOeval's
    AP, AP50, AP75, APs, APm, APl in ``[0, 1]``), ``encoder_ms``, ``decoder_ms`` and
    ``text_detect_ms`` (medians per image), ``images`` and ``note`` (random weights of the model
    or of its detector). Empty (no rows) when the frame has no such rows.
    """
    if "protocol" not in frame.columns:
        return pd.DataFrame()
    parts = []
    for name in AP_PROTOCOLS:
        rows = frame[frame["protocol"].astype("string") == name]
        if not len(rows):
            continue
        table = accuracy_table(rows)
        table.insert(table.columns.get_loc("dataset") + 1, "protocol", name)
        ok = rows[rows["status"] == "ok"]
        keyed = ok[SUMMARY_KEYS].astype("string").fillna("\x00")
        images = keyed.assign(image_id=ok["image_id"]).groupby(SUMMARY_KEYS)["image_id"].nunique()
        want = table[SUMMARY_KEYS].astype("string").fillna("\x00")
        table["images"] = [int(images.get(tuple(k), 0)) for k in want.itertuples(index=False)]
        keep = [c for c in table.columns
                if not c.startswith(_AP_PREFIXES) or table[c].notna().any()]
        drop = {"mIoU@1", "objects", "skipped", "errors", "peak_mem_mib", "text_detections"}
        parts.append(table[[c for c in keep if c not in drop and not c.startswith(("mIoU", "NoC"))]])
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    first = [c for c in out.columns if not c.startswith(_AP_PREFIXES) and c not in (
        "encoder_ms", "decoder_ms", "text_detect_ms", "images", "mem_method", "note")]
    ap_cols = [c for c in out.columns if c.startswith(_AP_PREFIXES)]
    last = [c for c in ("encoder_ms", "decoder_ms", "text_detect_ms", "images", "note") if c in out.columns]
    return out[first + ap_cols + last]


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
    lines.append(f"- Device(s): {', '.join(devices)}" if devices
                 else "- Device(s): not recorded in this table")
    kinds = weights_kinds_in(df)
    lines.append(f"- Weights: {', '.join(kinds)}" if kinds
                 else "- Weights: not recorded in this table")
    if "random" in kinds:
        models = random_models(df)
        lines.append(f"- **WARNING: {RANDOM_WEIGHTS_WARNING}.**"
                     + (f" Random-weight rows: {', '.join(models)}." if models else ""))
    if any(str(c).startswith("published_") for c in df.columns):
        lines.append(f"- {PUBLISHED_NOTE}.")
    return lines


def to_markdown(df: pd.DataFrame, caption: str = "", about: pd.DataFrame | None = None) -> str:
    """A GitHub-flavoured markdown table with its caption above it (see `caption_lines`).

    ``about``: the table the caption describes when ``df`` is a view of it with columns left out
    (e.g. ``weights_kind``, which the caption reads); default ``df``. Numbers are rounded for reading (3 decimals below 1, 2 below 10, 1 below 100, none above);
    the CSV written beside it keeps full precision. Empty cells are fields that do not apply.
    """
    header = [_format_cell(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    lines = caption_lines(df if about is None else about, caption) + [""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_format_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- figure tables


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``weights_kind`` as `samkit.labels.weights_label` (``"unknown"`` where not
    recorded) and a ``device_label`` column."""
    table = table.copy()
    table["weights_kind"] = weights_labels(table) if len(table) else pd.Series(dtype="string")
    if "device_label" not in table.columns:
        devices = table["device"] if "device" in table.columns else [None] * len(table)
        names = table["device_name"] if "device_name" in table.columns else [None] * len(table)
        table["device_label"] = [device_label(d, n) for d, n in zip(devices, names)]
    return table


def _pair(data: Tables) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(accuracy table, benchmark table) of rows or of a pair; None for a single table."""
    if isinstance(data, pd.DataFrame):
        return (accuracy_table(data), benchmark_table(data)) if is_rows(data) else None
    items = list(data)
    if len(items) != 2 or not all(isinstance(t, pd.DataFrame) for t in items):
        raise TypeError("expected result rows, one table, or an (accuracy_table, benchmark_table) "
                        f"pair; got {type(data).__name__} of {len(items)} item(s)")
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
                raise ValueError(f"several benchmark configurations with {x!r} per (model, weights, "
                                 f"device, dtype); filter the rows by image_size / batch first")
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


def latency_table(data: Tables, phases: tuple[str, str] = ("set_image", "predict_point")
                  ) -> pd.DataFrame:
    """What `samkit.viz.latency_bars` draws: one row per configuration with a latency.

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
        out[name] = (pd.to_numeric(table[col], errors="coerce").astype(float)
                     if col in table.columns else np.nan)
    out["encoder_part"], out["decoder_part"] = names
    return out[out["encoder_ms"].notna() | out["decoder_ms"].notna()].reset_index(drop=True)


def memory_table(data: Tables) -> pd.DataFrame:
    """What `samkit.viz.memory_bars` draws: peak memory per configuration and phase (long format).

    Columns: the configuration's (as in `latency_table`), ``config`` (0, 1, … in table order),
    ``phase`` (``"set_image"``, … from a benchmark table's ``<phase>_peak_mib``; ``"evaluation
    (max over phases)"`` from an accuracy table's ``peak_mem_mib``), ``peak_mib`` (MiB; NaN where
    that phase was not measured) and ``mem_method`` (how memory was measured). Only
    configurations with at least one number, and phases with a number somewhere, are listed.
    """
    table = _labelled(_perf_source(data))
    cols = [c for c in table.columns if str(c).endswith("_peak_mib")]
    series = {c[: -len("_peak_mib")]: c for c in cols
              if pd.to_numeric(table[c], errors="coerce").notna().any()}
    if not series and "peak_mem_mib" in table.columns:
        series = {"evaluation (max over phases)": "peak_mem_mib"}
    values = pd.DataFrame({name: pd.to_numeric(table[col], errors="coerce").astype(float)
                           for name, col in series.items()}, index=table.index)
    keep = values.notna().any(axis=1) if series else pd.Series(False, index=table.index)
    config = _config_part(table)[keep].reset_index(drop=True)
    config["mem_method"] = (table.loc[keep, "mem_method"].to_numpy() if "mem_method" in table.columns
                            else pd.NA)
    values = values[keep].reset_index(drop=True)
    records = []
    for i in range(len(config)):
        for name in series:
            records.append({**config.iloc[i].to_dict(), "config": i, "phase": name,
                            "peak_mib": float(values.at[i, name])})
    columns = list(config.columns[:-1]) + ["config", "phase", "peak_mib", "mem_method"]
    return pd.DataFrame(records, columns=columns)


def click_curve_table(rows: pd.DataFrame) -> pd.DataFrame:
    """What `samkit.viz.click_curves` draws: mean IoU after k clicks per configuration.

    From interactive result rows (``protocol == "interactive"``, ``status == "ok"``): one row per
    (model, weights, device, dtype, dataset) and ``clicks``, in order of appearance then clicks,
    with ``weights_kind``, ``device_name``, ``device_label``, ``mIoU`` (mean over objects of the IoU
    after that many clicks; the best-score mask at click 1) and ``objects`` (how many). Empty
    when there are no such rows.
    """
    columns = ["model", "weights", "weights_kind", "device", "device_name", "device_label", "dtype",
               "dataset", "clicks", "mIoU", "objects"]
    if not is_rows(rows):
        raise TypeError("click_curve_table takes result rows (a frame with a 'protocol' column)")
    ok = rows[(rows["protocol"].astype("string") == "interactive")
              & (rows["status"].astype("string") == "ok")]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    keys = ["model", "weights", "device", "dtype", "dataset"]
    ok = ok.assign(weights_kind=weights_labels(ok),
                   device_name=ok["device_name"] if "device_name" in ok.columns else pd.NA)
    grouped = ok.groupby(keys + ["clicks"], dropna=False, sort=False)
    table = grouped.agg(weights_kind=("weights_kind", joined), device_name=("device_name", joined),
                        mIoU=("iou", "mean"), objects=("iou", "count")).reset_index()
    table["weights_kind"] = table["weights_kind"].fillna("unknown")
    table["device_label"] = [device_label(d, n) for d, n in zip(table["device"], table["device_name"])]
    order = {k: i for i, k in enumerate(dict.fromkeys(
        tuple(str(v) for v in row) for row in table[keys].itertuples(index=False)))}
    table["\x00order"] = [order[tuple(str(v) for v in row)]
                          for row in table[keys].itertuples(index=False)]
    table = table.sort_values(["\x00order", "clicks"], kind="stable").drop(columns="\x00order")
    return table[columns].reset_index(drop=True)
