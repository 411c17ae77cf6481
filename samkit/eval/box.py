"""Box protocol: the ground-truth box of each object (XYXY, covering its whole pixels) -> one mask -> IoU."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval._runner import RowSink, check_image_batch, resolve_run_id, run_objects, warm_up
from samkit.eval.protocol import Protocol
from samkit.masks import mask_box
from samkit.metrics.masks import boundary_iou, mask_iou
from samkit.metrics.perf import timed

__all__ = ["run_box", "BoxParams", "PROTOCOL"]


def run_box(
    model: Any,
    dataset: Iterable[Any],
    *,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    warmup: bool = True,
    progress: bool = True,
    image_batch: int = 1,
) -> pd.DataFrame:
    """One row per (image, object): the object's box -> one mask (``multimask_output=False``) and its IoU.

    All the boxes of an image go to the model in one ``predict_boxes`` call (one batched decoder
    call); ``decoder_ms`` of a row is that call's time divided by its number of boxes
    (``decoder_batch``). ``image_batch``: images embedded per ``set_images`` call (1:
    ``set_image`` per image); ``encoder_ms`` is each image's share of its call. ``out_path``,
    ``resume`` and ``warmup`` as in `run_interactive`.
    """
    image_batch = check_image_batch(image_batch)
    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    if warmup:  # one untimed set_image + predict, so that no timed call is the first
        warm_up(model, dataset)
    decoded: dict[str, Any] = {}  # the current image's batched call (its sample kept, so ids stay unique)

    def image_boxes(sample: Any) -> dict[str, Any]:
        if decoded.get("sample") is not sample:
            decoded.clear()
            decoded["sample"] = sample
            rows = [i for i, m in enumerate(sample.masks) if m.any()]
            boxes = np.stack([mask_box(sample.masks[i]) for i in rows])
            try:  # predict_boxes' multimask_output defaults to False (one mask per box)
                (masks, scores, _), ms = timed(lambda: model.predict_boxes(boxes), model.device)
                decoded.update(
                    rows={r: k for k, r in enumerate(rows)}, masks=masks, scores=scores, ms=ms / len(rows), n=len(rows)
                )
            except Exception as err:  # noqa: BLE001 - every object of the image records it
                decoded["error"] = err
        if "error" in decoded:
            raise decoded["error"]
        return decoded

    def object_rows(sample: Any, index: int, obj: dict[str, Any]) -> list[dict[str, Any]]:
        gt = sample.masks[index]
        found = image_boxes(sample)
        k = found["rows"][index]
        mask = found["masks"][k, 0]
        return [
            {
                **obj,
                "prompt": "box",
                "iou": mask_iou(gt, mask),
                "boundary_iou": boundary_iou(gt, mask),
                "score": float(found["scores"][k, 0]),
                "decoder_ms": found["ms"],
                "decoder_batch": found["n"],
                "status": "ok",
            }
        ]

    return run_objects(model, dataset, sink, run_id, "box", object_rows, progress, image_batch)


@dataclass
class BoxParams:
    """Parameters of the box protocol."""

    warmup: bool = True
    #: images embedded per ``set_images`` call (batched encoder passes); 1: ``set_image`` per image
    image_batch: int = field(default=1, metadata={"min": 1})


#: the registered ``box`` protocol (`samkit.eval.get_protocol("box")`)
PROTOCOL = Protocol(
    name="box",
    description="the ground-truth box of each object -> one mask -> IoU (box_mIoU)",
    capability="box",
    params=BoxParams,
    runner=lambda model, dataset, p, **common: run_box(
        model, dataset, warmup=p.warmup, image_batch=p.image_batch, **common
    ),
    summarizer=lambda rows: {"box_mIoU": rows["iou"].mean()},
)
