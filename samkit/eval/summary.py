"""Summaries of result rows across protocols: one row per configuration, each protocol adding its part.

- `summarize`: one row per `SUMMARY_KEYS` combination; each registered protocol present adds its
  summary columns (`Protocol.summarize`), then latency, memory and counts;
- `accuracy_table`: `summarize` of the rows of the protocols with ``accuracy=True`` (not the pure
  measurements, whose rows have their own tables), labelled (weights kind, device label, note);
- `performance_table`: the per-configuration latency / memory table of the protocols that have
  one (`Protocol.performance_table`: the benchmark's), which the generic figures draw.

These are generic (no protocol is named here) and sit in the eval layer because the protocols'
own tables build on them (e.g. the text protocols' AP table on `accuracy_table`);
`samkit.results` writes them into reports.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from samkit.eval.protocol import get_protocol, list_protocols
from samkit.wording import (
    RANDOM_WEIGHTS_WARNING,
    device_label,
    has_random_weights,
    joined,
    weights_labels,
    with_random_warning,
)

__all__ = ["SUMMARY_KEYS", "summarize", "accuracy_table", "performance_table"]

SUMMARY_KEYS = ["model", "weights", "detector", "detector_weights", "device", "dtype", "compile", "dataset"]
"""One `summarize` row per distinct combination of these columns."""


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, weights, detector, detector weights, device, dtype, dataset): each
    protocol's summary, then latency,
    memory and counts.

    Each registered protocol present in a group adds its columns from its ``ok`` rows
    (`samkit.eval.get_protocol(name).summarize`): interactive ``mIoU@k``, ``oracle_mIoU@1``,
    ``NoC@85`` / ``NoC@90`` and failures; box ``box_mIoU``; automatic ``AR@100`` / ``AR@1000``
    (pooled as COCOeval); benchmark ``<phase>_ms``. Then ``encoder_ms`` (median over images),
    ``decoder_ms`` (median over prompts), ``peak_mem_mib`` (max), ``objects``, ``skipped``,
    ``errors`` (rows of any failure status) and ``note`` (the random-weights warning).
    """
    registered = set(list_protocols())
    out = []
    for group, rows in frame.groupby(SUMMARY_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(SUMMARY_KEYS, group))
        ok = rows[rows["status"] == "ok"]
        for name in ok["protocol"].dropna().unique():
            if str(name) in registered:
                rec.update(get_protocol(str(name)).summarize(ok[ok["protocol"] == name]))
        enc = ok.dropna(subset=["encoder_ms"]).drop_duplicates(["image_id", "protocol"])["encoder_ms"]
        rec["encoder_ms"] = enc.median() if len(enc) else float("nan")
        rec["decoder_ms"] = ok["decoder_ms"].median()
        rec["peak_mem_mib"] = ok["peak_mem_mib"].max()
        rec["objects"] = ok.dropna(subset=["object_id"]).drop_duplicates(["image_id", "object_id"]).shape[0]
        rec["skipped"] = int((rows["status"] == "skipped").sum())
        rec["errors"] = int((~rows["status"].isin(["ok", "skipped"])).sum())  # error, oom, ...
        rec["note"] = RANDOM_WEIGHTS_WARNING if has_random_weights(rows) else ""
        out.append(rec)
    return pd.DataFrame(out)


def _measurements() -> list[str]:
    """The registered protocols whose rows are not in the accuracy table (``accuracy=False``)."""
    return [name for name in list_protocols() if not get_protocol(name).accuracy]


def accuracy_table(frame: pd.DataFrame) -> pd.DataFrame:
    """`summarize` of the evaluation rows (not those of a protocol with ``accuracy=False``, such as
    ``benchmark`` / ``video_benchmark``, which have their own tables), labelled.

    One row per (model, weights, device, dtype, dataset), with ``family``, ``weights_kind``,
    ``device_name`` (the rows' values, where recorded), ``device_label`` and ``mem_method`` added
    beside the summary's columns; ``note`` carries `RANDOM_WEIGHTS_WARNING` for random weights.
    """
    rows = frame
    if "protocol" in frame.columns:
        rows = frame[~frame["protocol"].astype("string").fillna("").isin(_measurements())]
    if len(rows) == 0:
        return pd.DataFrame(
            columns=[
                "model",
                "family",
                "weights",
                "weights_kind",
                "device",
                "device_name",
                "device_label",
                "dtype",
                "dataset",
                "note",
            ]
        )
    table = summarize(rows)
    extra = rows.copy()
    for col in ("family", "device_name", "mem_method"):
        if col not in extra.columns:
            extra[col] = pd.NA
    extra["weights_kind"] = weights_labels(extra)
    keyed = extra[SUMMARY_KEYS].astype("string").fillna("\x00")
    labels = (
        pd.concat([keyed, extra[["family", "weights_kind", "device_name", "mem_method"]]], axis=1)
        .groupby(SUMMARY_KEYS, sort=False)
        .agg(
            family=("family", joined),
            weights_kind=("weights_kind", joined),
            device_name=("device_name", joined),
            mem_method=("mem_method", joined),
        )
        .reset_index()
    )
    left = table[SUMMARY_KEYS].astype("string").fillna("\x00")
    merged = left.merge(labels, on=SUMMARY_KEYS, how="left")
    table.insert(1, "family", merged["family"].astype("string").to_numpy())
    table.insert(3, "weights_kind", merged["weights_kind"].astype("string").fillna("unknown").to_numpy())
    table.insert(table.columns.get_loc("device") + 1, "device_name", merged["device_name"].astype("string").to_numpy())
    table.insert(
        table.columns.get_loc("device_name") + 1,
        "device_label",
        [device_label(d, n) for d, n in zip(table["device"], table["device_name"])],
    )
    notes = table["note"] if "note" in table.columns else [""] * len(table)
    table["note"] = [with_random_warning(n, k == "random") for n, k in zip(notes, table["weights_kind"])]
    if merged["mem_method"].notna().any():
        table.insert(table.columns.get_loc("note"), "mem_method", merged["mem_method"].astype("string").to_numpy())
    return table


def performance_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-configuration latency / peak-memory table of ``frame``: the `Protocol.performance_table`
    of every registered protocol that has one (the benchmark's `benchmark_table`), joined when
    several do; an empty frame when none does."""
    tables = [
        get_protocol(name).performance_table(frame)
        for name in list_protocols()
        if get_protocol(name).performance_table is not None
    ]
    if not tables:
        return pd.DataFrame()
    return tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
