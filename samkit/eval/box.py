"""Box protocol: the ground-truth box of each object (XYXY, covering its whole pixels) -> one mask -> IoU."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from samkit.data.sample import mask_box
from samkit.eval._runner import RowSink, resolve_run_id, run_objects, warm_up
from samkit.eval.protocol import Protocol
from samkit.metrics.masks import boundary_iou, mask_iou
from samkit.metrics.perf import timed

__all__ = ["run_box", "BoxParams", "PROTOCOL"]


def run_box(model: Any, dataset: Iterable[Any], *, run_id: str | None = None, out_path: Any = None,
            resume: bool = False, warmup: bool = True, progress: bool = True) -> pd.DataFrame:
    """One row per (image, object): ``predict(box=gt_box, multimask_output=False)`` and its IoU.

    ``out_path``, ``resume`` and ``warmup`` as in `run_interactive`.
    """
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    if warmup:  # one untimed set_image + predict, so that no timed call is the first
        warm_up(model, dataset)

    def object_rows(sample: Any, index: int, obj: dict[str, Any]) -> list[dict[str, Any]]:
        gt = sample.masks[index]
        box = mask_box(gt)
        (masks, scores, _), decoder_ms = timed(
            lambda: model.predict(box=box, multimask_output=False), model.device)
        return [{**obj, "prompt": "box", "iou": mask_iou(gt, masks[0]),
                 "boundary_iou": boundary_iou(gt, masks[0]), "score": float(scores[0]),
                 "decoder_ms": decoder_ms, "status": "ok"}]

    return run_objects(model, dataset, sink, run_id, "box", object_rows, progress)


@dataclass
class BoxParams:
    """Parameters of the box protocol."""

    warmup: bool = True


PROTOCOL = Protocol(
    name="box",
    description="the ground-truth box of each object -> one mask -> IoU (box_mIoU)",
    capability="box",
    params=BoxParams,
    runner=lambda model, dataset, p, **common: run_box(model, dataset, warmup=p.warmup, **common),
    summarizer=lambda rows: {"box_mIoU": rows["iou"].mean()},
)
