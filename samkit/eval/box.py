"""Box protocol: the ground-truth box of each object (XYXY, covering its whole pixels) -> one mask -> IoU."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from samkit.eval._runner import (RowSink, embed, error_row, header, resolve_run_id,
                                 skipped_rows, timed_ms, warm_up)
from samkit.metrics.masks import boundary_iou, mask_iou

__all__ = ["run_box"]


def run_box(model: Any, dataset: Iterable[Any], *, run_id: str | None = None, out_path: Any = None,
            resume: bool = False, warmup: bool = True, progress: bool = True) -> pd.DataFrame:
    """One row per (image, object): ``predict(box=gt_box, multimask_output=False)`` and its IoU.

    ``out_path``, ``resume`` and ``warmup`` as in `run_interactive`.
    """
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    if warmup:  # one untimed set_image + predict, so that no timed call is the first
        warm_up(model, dataset)
    for sample in tqdm(dataset, desc=f"box {model.name}", unit="image", disable=not progress):
        if sink.done(sample.image_id):
            continue
        base = header(model, run_id, sample.dataset, sample.image_id, "box")
        sink.extend(skipped_rows(base, sample.skipped))
        try:
            image_phase = embed(model, sample.image)
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            sink.extend([error_row(base, err)])
            continue
        boxes = sample.boxes
        for index, object_id in enumerate(sample.object_ids):
            gt = sample.masks[index]
            obj = {**base, "object_id": str(object_id), "prompt": "box", **image_phase}
            if not gt.any():
                sink.extend([{**obj, "status": "skipped", "error": "empty"}])
                continue
            try:
                (masks, scores, _), decoder_ms = timed_ms(
                    lambda: model.predict(box=boxes[index], multimask_output=False), model.device)
                sink.extend([{**obj, "iou": mask_iou(gt, masks[0]),
                              "boundary_iou": boundary_iou(gt, masks[0]), "score": float(scores[0]),
                              "decoder_ms": decoder_ms, "status": "ok"}])
            except Exception as err:  # noqa: BLE001
                sink.extend([error_row(obj, err, str(object_id))])
        sink.flush()
    return sink.frame()
