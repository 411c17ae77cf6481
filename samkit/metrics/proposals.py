"""Class-agnostic mask Average Recall (AR) of automatic masks, through pycocotools' COCOeval.

AR follows COCO's definition for proposals (``useCats=0``, ``iouType="segm"``): per image, the
top ``k`` predictions by score are matched greedily to ground truth at each IoU threshold
0.50:0.05:0.95; recall at a threshold is matched objects / all non-crowd objects over the
dataset; AR@k is the mean recall over the 10 thresholds. This is the metric of the Segment
Anything paper's zero-shot object proposals (mask AR@1000 on LVIS).

pycocotools is imported when ``mask_ar`` is first called.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from samkit.masks import to_pycoco_rle

__all__ = ["mask_ar", "AREA_RANGES"]

AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
"""COCO's object size bins, by mask area in pixels (COCOeval's default ``areaRng``)."""


def _image_size(gt: np.ndarray, preds: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    """(H, W) of an image from its gt array or, when there is no gt, from its first prediction."""
    if gt.ndim == 3:
        return int(gt.shape[1]), int(gt.shape[2])
    if gt.size:
        raise ValueError(f"gt masks must be (N, H, W), got shape {gt.shape}")
    if not preds:
        return None
    seg = preds[0]["segmentation"]
    if isinstance(seg, Mapping):
        h, w = seg["size"]
        return int(h), int(w)
    h, w = np.asarray(seg).shape
    return int(h), int(w)


def _coco(dataset: dict[str, Any]) -> Any:
    """An in-memory pycocotools COCO object (its progress prints silenced)."""
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def mask_ar(
    gt_masks_per_image: Sequence[Any],
    pred_records_per_image: Sequence[Sequence[Mapping[str, Any]]],
    max_dets: Sequence[int] = (1, 10, 100, 1000),
    *,
    score_key: str = "predicted_iou",
    gt_iscrowd_per_image: Sequence[Sequence[bool]] | None = None,
    gt_areas_per_image: Sequence[Sequence[float]] | None = None,
) -> dict[str, float]:
    """Class-agnostic mask AR at each of ``max_dets`` detections per image.

    Args:
        gt_masks_per_image: per image, an (N, H, W) bool array of ground-truth masks (N may be 0;
            an empty list is accepted for an image without gt, its size then comes from its
            predictions).
        pred_records_per_image: per image, SamAutomaticMaskGenerator records: dicts with
            ``"segmentation"`` (an HxW bool mask, an uncompressed RLE with list counts, or a COCO
            RLE) and the score ``score_key``. An image may have no records.
        max_dets: detection budgets k (sorted, duplicates dropped).
        score_key: the record key that ranks predictions within an image. Default
            ``"predicted_iou"``, the score SamAutomaticMaskGenerator itself ranks by in its NMS;
            ``"stability_score"`` is the other choice.
        gt_iscrowd_per_image: per image, one crowd flag per gt mask. Crowd regions are not
            counted as objects to recall, and predictions matching them are ignored (COCO rules).
        gt_areas_per_image: per image, one area per gt mask for the size ranges (a COCO json's
            ``area`` field, which COCOeval reads: a polygon's area is not its pixel count);
            default: each mask's pixel count. ``AR@k`` (all sizes) does not depend on it.

    Returns:
        ``{"AR@k": ...}`` for each k, plus ``"AR_small@K"``, ``"AR_medium@K"``, ``"AR_large@K"``
        for the largest budget K (COCO size bins on gt mask area in pixels, see
        ``AREA_RANGES``). A value is NaN where there is no non-crowd gt to recall (COCOeval
        reports -1 there).
    """
    from pycocotools import mask as mask_utils
    from pycocotools.cocoeval import COCOeval

    if len(gt_masks_per_image) != len(pred_records_per_image):
        raise ValueError(f"{len(gt_masks_per_image)} gt images but {len(pred_records_per_image)} prediction images")
    if gt_iscrowd_per_image is not None and len(gt_iscrowd_per_image) != len(gt_masks_per_image):
        raise ValueError("gt_iscrowd_per_image needs one entry per image")
    if gt_areas_per_image is not None and len(gt_areas_per_image) != len(gt_masks_per_image):
        raise ValueError("gt_areas_per_image needs one entry per image")
    dets = sorted({int(k) for k in max_dets})
    if not dets or dets[0] < 1:
        raise ValueError(f"max_dets must be positive integers, got {list(max_dets)}")

    images: list[dict[str, Any]] = []
    gt_anns: list[dict[str, Any]] = []
    dt_anns: list[dict[str, Any]] = []

    for index, (gt_in, preds) in enumerate(zip(gt_masks_per_image, pred_records_per_image)):
        gt = np.asarray(gt_in, dtype=bool)
        size = _image_size(gt, preds)
        if size is None:  # no gt and no predictions: nothing to evaluate
            continue
        h, w = size
        image_id = index + 1
        images.append({"id": image_id, "height": h, "width": w})
        n_gt = gt.shape[0] if gt.ndim == 3 else 0
        crowd = [False] * n_gt if gt_iscrowd_per_image is None else [bool(c) for c in gt_iscrowd_per_image[index]]
        if len(crowd) != n_gt:
            raise ValueError(f"image {index}: {len(crowd)} crowd flags for {n_gt} gt masks")
        areas = None if gt_areas_per_image is None else [float(a) for a in gt_areas_per_image[index]]
        if areas is not None and len(areas) != n_gt:
            raise ValueError(f"image {index}: {len(areas)} areas for {n_gt} gt masks")
        for j in range(n_gt):
            rle = to_pycoco_rle(gt[j], h, w)
            # ids start at 1: COCOeval treats a matched id of 0 as "unmatched"
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)) if areas is None else areas[j],
                    "iscrowd": int(crowd[j]),
                }
            )
        for record in preds:
            if score_key not in record:
                raise KeyError(f"image {index}: a prediction has no {score_key!r} score")
            rle = to_pycoco_rle(record["segmentation"], h, w)
            dt_anns.append(
                {
                    "id": len(dt_anns) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "score": float(record[score_key]),
                    "iscrowd": 0,
                }
            )

    labels = [f"AR@{k}" for k in dets] + [f"AR_{a}@{dets[-1]}" for a in ("small", "medium", "large")]
    if not gt_anns:
        return {label: float("nan") for label in labels}

    categories = [{"id": 1, "name": "object"}]
    coco_gt = _coco({"images": images, "categories": categories, "annotations": gt_anns})
    # built directly rather than with loadRes, which fails on an empty result list
    coco_dt = _coco({"images": images, "categories": categories, "annotations": dt_anns})
    evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
    evaluator.params.useCats = 0
    evaluator.params.maxDets = dets
    evaluator.params.areaRng = [list(r) for r in AREA_RANGES.values()]
    evaluator.params.areaRngLbl = list(AREA_RANGES)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    recall = evaluator.eval["recall"]  # (T thresholds, K=1, A areas, M budgets); -1 = no gt

    def average(area: int, det: int) -> float:
        values = recall[:, :, area, det]
        values = values[values > -1]
        return float(values.mean()) if values.size else float("nan")

    out = {f"AR@{k}": average(0, m) for m, k in enumerate(dets)}
    for a, name in enumerate(AREA_RANGES):
        if name != "all":
            out[f"AR_{name}@{dets[-1]}"] = average(a, len(dets) - 1)
    return out
