"""Result rows and their summaries: the row layer (`samkit.rows`) plus `summarize`, which asks each
protocol in the registry (`samkit.eval`) for its part of a per-model table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from samkit.labels import RANDOM_WEIGHTS_WARNING, has_random_weights
from samkit.rows import (COLUMNS, device_name, load_results, new_run_id, provenance, rows_to_frame,
                         save_results, weights_columns)

__all__ = [
    "COLUMNS", "new_run_id", "device_name", "rows_to_frame", "weights_columns", "provenance",
    "save_results", "load_results", "summarize", "SUMMARY_KEYS",
]

SUMMARY_KEYS = ["model", "weights", "detector", "detector_weights", "device", "dtype", "compile",
                "dataset"]
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
    from samkit.eval import get_protocol, list_protocols

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
        rec["objects"] = ok.dropna(subset=["object_id"]).drop_duplicates(
            ["image_id", "object_id"]).shape[0]
        rec["skipped"] = int((rows["status"] == "skipped").sum())
        rec["errors"] = int((~rows["status"].isin(["ok", "skipped"])).sum())  # error, oom, ...
        rec["note"] = RANDOM_WEIGHTS_WARNING if has_random_weights(rows) else ""
        out.append(rec)
    return pd.DataFrame(out)
