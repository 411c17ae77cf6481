"""Tables of the fast settings: agreement with float32 eager, and each model's plain vs best setting.

- `agreement_table`: one row per (model, weights, device, dtype, compile) of the ``agreement``
  protocol's rows: mean mask IoU and score difference against float32 eager, per input set and
  pooled, and ``agreement_flag`` where the pooled mean IoU is below
  `samkit.fast_settings.AGREEMENT_THRESHOLD`.
- `flag_agreement`: adds ``agreement_mIoU`` / ``agreement_flag`` to any table with those keys, so
  that every table that shows a setting's speed also shows whether its masks can be trusted.
- `fast_settings_table`: per model (weights, device, image size), the plain setting (float32,
  eager, one image a call) beside the fastest setting whose agreement is measured and >= 0.99,
  with the speed-up of the encoder time per image; the fastest setting of all is shown too, flagged
  when it is not the recommended one.

Random weights carry the usual note: their speed is real, their agreement is not representative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from samkit.fast_settings import AGREEMENT_THRESHOLD, setting_label
from samkit.labels import RANDOM_WEIGHTS_WARNING, device_label, joined, weights_labels
from samkit.tables import benchmark_table

__all__ = ["SETTING_KEYS", "agreement_table", "flag_agreement", "settings_table", "fast_settings_table"]

SETTING_KEYS = ["model", "weights", "device", "dtype", "compile"]
"""A setting of one model: the keys an agreement row and a benchmark row share."""

BELOW = f"agreement below {AGREEMENT_THRESHOLD} mean IoU: not a safe default"
UNMEASURED = "agreement not measured"


def _settings_keys(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["compile"] = out["compile"].astype("boolean").fillna(False).astype(bool) \
        if "compile" in out.columns else False
    for col in ("model", "weights", "device", "dtype"):
        out[col] = out[col].astype("string")
    return out


def agreement_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Agreement per setting (see the module docstring); empty without ``agreement`` rows."""
    columns = SETTING_KEYS + ["weights_kind", "device_label", "agreement_mIoU", "agreement_min_IoU",
                              "score_diff", "max_score_diff", "synthetic_mIoU", "photo_mIoU", "prompts",
                              "agreement_flag", "note"]
    if "protocol" not in rows.columns:
        return pd.DataFrame(columns=columns)
    ok = rows[(rows["protocol"].astype("string") == "agreement")
              & (rows["status"].astype("string") == "ok")]
    if not len(ok):
        return pd.DataFrame(columns=columns)
    ok = _settings_keys(ok)
    out = []
    for key, group in ok.groupby(SETTING_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(SETTING_KEYS, key))
        rec["weights_kind"] = joined(weights_labels(group))
        rec["device_label"] = device_label(rec["device"], joined(group["device_name"]))
        miou = float(group["iou"].mean())
        rec.update(agreement_mIoU=miou, agreement_min_IoU=float(group["min_iou"].min()),
                   score_diff=float(group["score_diff"].mean()),
                   max_score_diff=float(group["max_score_diff"].max()), prompts=len(group))
        for name in ("synthetic", "photo"):
            part = group[group["dataset"].astype("string") == name]
            rec[f"{name}_mIoU"] = float(part["iou"].mean()) if len(part) else np.nan
        rec["agreement_flag"] = "" if miou >= AGREEMENT_THRESHOLD else BELOW
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)
    return pd.DataFrame(out, columns=columns)


def flag_agreement(table: pd.DataFrame, agreement: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``agreement_mIoU`` and ``agreement_flag`` joined on `SETTING_KEYS`.

    float32 eager is the reference (mIoU 1 by definition); any other setting without an
    agreement row is flagged `UNMEASURED`, one below the threshold `BELOW`.
    """
    out = _settings_keys(table)
    agree = _settings_keys(agreement)[SETTING_KEYS + ["agreement_mIoU"]] if len(agreement) else \
        pd.DataFrame(columns=SETTING_KEYS + ["agreement_mIoU"])
    out = out.drop(columns=[c for c in ("agreement_mIoU", "agreement_flag") if c in out.columns])
    out = out.merge(agree.astype({"compile": bool}), on=SETTING_KEYS, how="left")
    reference = (out["dtype"] == "float32") & ~out["compile"]
    out.loc[reference, "agreement_mIoU"] = 1.0
    miou = pd.to_numeric(out["agreement_mIoU"], errors="coerce")
    out["agreement_flag"] = np.where(miou.isna(), UNMEASURED,
                                     np.where(miou < AGREEMENT_THRESHOLD, BELOW, ""))
    out.loc[reference, "agreement_flag"] = ""
    return out


def settings_table(bench_rows: pd.DataFrame, agreement_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every benchmarked setting: ``setting`` label, ``encoder_ms`` per image (``set_images`` per
    image with an image batch, else ``set_image``), ``predict_point_ms``, ``compile_ms``, the
    speed-up of the encoder against the same model's plain setting, and the agreement columns."""
    bench = benchmark_table(bench_rows)
    if not len(bench):
        return pd.DataFrame()
    agreement = agreement_table(agreement_rows) if agreement_rows is not None else pd.DataFrame()
    bench = flag_agreement(bench, agreement)
    per_image = bench.get("set_images_per_image_ms", pd.Series(np.nan, index=bench.index))
    single = bench.get("set_image_ms", pd.Series(np.nan, index=bench.index))
    bench["encoder_ms"] = np.where((bench["image_batch"] > 1) | single.isna(), per_image, single)
    bench["setting"] = [setting_label(d, c, b) for d, c, b in
                        zip(bench["dtype"], bench["compile"], bench["image_batch"])]
    bench["plain"] = (bench["dtype"] == "float32") & ~bench["compile"] & (bench["image_batch"] == 1)
    group = ["model", "weights", "device", "image_size"]
    plain = bench[bench["plain"]].groupby(group, dropna=False)["encoder_ms"].min().rename("plain_encoder_ms")
    bench = bench.merge(plain.reset_index(), on=group, how="left")
    bench["speedup"] = bench["plain_encoder_ms"] / bench["encoder_ms"]
    keep = ["model", "weights", "weights_kind", "device", "device_label", "image_size", "setting", "dtype",
            "compile", "image_batch", "encoder_ms", "predict_point_ms", "compile_ms", "speedup",
            "agreement_mIoU", "agreement_flag", "note"]
    return bench[[c for c in keep if c in bench.columns]]


def fast_settings_table(bench_rows: pd.DataFrame, agreement_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model, the plain setting beside the best one (see the module docstring).

    ``best_*``: the fastest setting (encoder ms per image) whose agreement is measured and
    >= 0.99 (float32 eager counts, being the reference); ``fastest_*``: the fastest of all, with
    its ``fastest_flag`` when it is not safe (below the threshold, or not measured).
    """
    table = settings_table(bench_rows, agreement_rows)
    columns = ["model", "weights", "weights_kind", "device", "device_label", "image_size",
               "plain_encoder_ms", "plain_predict_point_ms", "best_setting", "best_encoder_ms",
               "best_predict_point_ms", "speedup", "best_agreement_mIoU", "best_compile_ms",
               "fastest_setting", "fastest_speedup", "fastest_agreement_mIoU", "fastest_flag", "note"]
    if not len(table):
        return pd.DataFrame(columns=columns)
    out = []
    for _, group in table.groupby(["model", "weights", "device", "image_size"], dropna=False, sort=False):
        timed = group[group["encoder_ms"].notna()]
        plain = timed[(timed["dtype"] == "float32") & ~timed["compile"] & (timed["image_batch"] == 1)]
        safe = timed[timed["agreement_flag"] == ""]
        first = group.iloc[0]
        rec: dict[str, Any] = {c: first[c] for c in ("model", "weights", "weights_kind", "device",
                                                     "device_label", "image_size", "note")}
        p = plain.loc[plain["encoder_ms"].idxmin()] if len(plain) else None
        b = safe.loc[safe["encoder_ms"].idxmin()] if len(safe) else None
        f = timed.loc[timed["encoder_ms"].idxmin()] if len(timed) else None
        rec["plain_encoder_ms"] = p["encoder_ms"] if p is not None else np.nan
        rec["plain_predict_point_ms"] = p.get("predict_point_ms", np.nan) if p is not None else np.nan
        if b is not None:
            rec.update(best_setting=b["setting"], best_encoder_ms=b["encoder_ms"],
                       best_predict_point_ms=b.get("predict_point_ms", np.nan), speedup=b["speedup"],
                       best_agreement_mIoU=b["agreement_mIoU"], best_compile_ms=b.get("compile_ms", np.nan))
        if f is not None:
            rec.update(fastest_setting=f["setting"], fastest_speedup=f["speedup"],
                       fastest_agreement_mIoU=f["agreement_mIoU"], fastest_flag=f["agreement_flag"])
        out.append(rec)
    return pd.DataFrame(out, columns=columns)
