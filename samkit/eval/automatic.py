"""Automatic ("everything") protocol: ``generate`` per image -> class-agnostic mask recall (AR@k).

Each image row stores ``n_gt`` (objects) and ``ar_hits@k`` = AR of that image x ``n_gt``, i.e. the
number of ground-truth objects recalled, averaged over the IoU thresholds 0.50:0.05:0.95. Summed over
images and divided by the summed ``n_gt`` this is exactly COCOeval's pooled AR@k for one category
(`samkit.eval.summarize` does that), so results of any subset of images can be merged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.eval._runner import RowSink, resolve_run_id, skipped_rows
from samkit.eval.protocol import Protocol, failure_row, row_header
from samkit.metrics.perf import timed
from samkit.metrics.proposals import mask_ar

__all__ = ["run_automatic", "AR_MAX_DETS", "AutomaticParams", "PROTOCOL"]

#: the k of the AR@k summary columns (top-k masks per image by score)
AR_MAX_DETS = (100, 1000)


def run_automatic(
    model: Any,
    dataset: Iterable[Any],
    *,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
    **generate_params: Any,
) -> pd.DataFrame:
    """One row per image: ``generate(image, **generate_params)``, its time and recall hits.

    Columns beyond the standard ones: ``generate_params`` (json), ``generate_ms``, ``num_masks``,
    ``n_gt``, ``ar_hits@100``, ``ar_hits@1000``; ``prompt`` is the generator kind (``grid`` or
    ``everything``). Images without ground truth get ``n_gt`` 0 and no hits.
    """
    check = getattr(model, "check_generate_params", None)  # a Segmenter's; any object with generate() runs
    if check is not None:  # a bad parameter fails here, once, not on every image
        _, generate_params = check(**generate_params)
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    params_text = json.dumps(generate_params, sort_keys=True, default=str)
    first = True
    for sample in tqdm(dataset, desc=f"automatic {model.name}", unit="image", disable=not progress):
        if sink.done(sample.image_id):
            continue
        base = row_header(model, run_id, "automatic", sample.dataset, sample.image_id)
        sink.extend(skipped_rows(base, sample.skipped))
        try:
            if first:  # warm-up: the first call is never timed
                model.generate(sample.image, **generate_params)
                first = False
            records, generate_ms = timed(lambda: model.generate(sample.image, **generate_params), model.device)
            row = {
                **base,
                "prompt": getattr(model, "generator_kind", "grid"),
                "status": "ok",
                "generate_params": params_text,
                "generate_ms": generate_ms,
                "num_masks": len(records),
                "n_gt": int(len(sample.masks)),
            }
            if len(sample.masks):
                ar = mask_ar([sample.masks], [records], max_dets=AR_MAX_DETS)
                for k in AR_MAX_DETS:
                    row[f"ar_hits@{k}"] = ar[f"AR@{k}"] * len(sample.masks)
            sink.extend([row])
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            sink.extend([failure_row(base, err)])
        sink.flush()
    return sink.frame()


def _default_generate() -> dict[str, Any]:
    return {"points_per_side": 32, "pred_iou_thresh": 0.88, "stability_score_thresh": 0.95}


@dataclass
class AutomaticParams:
    """Parameters of the automatic protocol, passed to ``model.generate``.

    ``generate``: the point-grid generators' parameters (SamAutomaticMaskGenerator's names: every
    family but FastSAM). ``everything``: the parameters of a one-pass "everything" model
    (FastSAM: ``conf``, ``iou``, ``imgsz``, ...; default: its documented settings). A model gets
    the dict of its `Segmenter.generator_kind`, so one sweep covers both kinds; the rows say which
    parameters each model ran with (``generate_params``).
    """

    generate: dict[str, Any] = field(default_factory=_default_generate)
    everything: dict[str, Any] = field(default_factory=dict)


def _generate_params(model: Any, params: AutomaticParams) -> dict[str, Any]:
    """The parameter dict for ``model``'s kind of generator."""
    kind = getattr(model, "generator_kind", "grid")
    return dict(params.everything if kind == "everything" else params.generate)


def summarize_automatic(rows: pd.DataFrame) -> dict[str, Any]:
    """``AR@100`` / ``AR@1000`` pooled over images as COCOeval does (summed hits / summed ``n_gt``)."""
    if "n_gt" not in rows.columns:
        return {}
    n_gt = rows["n_gt"].astype(float).sum()
    out: dict[str, Any] = {}
    for k in AR_MAX_DETS:
        col = f"ar_hits@{k}"
        if col in rows.columns:
            out[f"AR@{k}"] = rows[col].astype(float).sum() / n_gt if n_gt else np.nan
    return out


#: the registered ``automatic`` protocol (`samkit.eval.get_protocol("automatic")`)
PROTOCOL = Protocol(
    name="automatic",
    description="generate() per image -> class-agnostic mask AR@100 / AR@1000",
    capability="automatic",
    params=AutomaticParams,
    runner=lambda model, dataset, p, **common: run_automatic(model, dataset, **common, **_generate_params(model, p)),
    summarizer=summarize_automatic,
)
