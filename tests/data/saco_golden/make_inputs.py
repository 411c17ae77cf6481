"""Small deterministic SA-Co/Gold and Silver inputs in the official file formats.

Used by ``make_golden.py`` (run by the official evaluator in a throwaway environment) and by
``tests/metrics/test_scoring_saco.py`` (regenerated in ``tmp_path`` and scored by samkit). Only
numpy, pycocotools and the standard library are needed, so both environments can import it.

Formats (sam3's ``scripts/eval/gold/README.md`` and ``sam3/eval/coco_writer.py``):

- a ground-truth file per annotator: COCO json whose ``images`` are image-phrase pairs (``id``,
  ``file_name``, ``text_input``, ``width``, ``height``, ``queried_category``,
  ``is_instance_exhaustive``, ``is_pixel_exhaustive``), ``annotations`` (``id``, ``image_id``,
  ``source``, ``area`` and ``bbox`` normalised by the image size, ``segmentation`` a compressed
  RLE, ``category_id`` 1, ``iscrowd``) and ``categories``;
- a prediction file: a json list of ``{"image_id", "category_id", "segmentation" (compressed
  RLE), "score", "area" (normalised), "bbox" (pixels, xywh)}``, scores and boxes rounded to 5
  decimals as the official writer does.

Six 48x64 images with 22 image-phrase pairs exercise every convention of the official scorer: the
score threshold (scores 0.49999, 0.5, 0.50001), Hungarian rather than greedy matching, IoUs between
0.5 and 0.95, positives without predictions, negatives with and without false positives, crowd
regions, pairs that are not instance-exhaustive in one annotator, annotators who disagree (one says
negative, one draws a group mask), GT masks as polygons and uncompressed RLE, duplicate
predictions, predictions without boxes (single annotator), a category the ground truth does not list, and a
prediction for an image-phrase pair that no ground truth has.

`write_cases(folder)` writes the files and returns the scoring cases (GT file list, prediction
file, IoU type), which ``make_golden.py`` scores with the official code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

H, W = 48, 64
ANNOTATORS = ("a", "b", "c")
BASE_ID = 10000000


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """HxW bool mask of rows ``y0:y1`` and columns ``x0:x1``."""
    mask = np.zeros((H, W), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def disc(cy: float, cx: float, r: float) -> np.ndarray:
    """HxW bool mask of the pixels whose centres lie within ``r`` of ``(cy, cx)``."""
    yy, xx = np.mgrid[0:H, 0:W]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE ``{"size": [H, W], "counts": str}`` (pycocotools)."""
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE ``{"size": [H, W], "counts": [run lengths, column-major]}``."""
    flat = mask.astype(np.uint8).flatten(order="F")
    counts, value, run = [], 0, 0
    for pixel in flat:
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = pixel, 1
    counts.append(run)
    return {"size": [H, W], "counts": [int(c) for c in counts]}


def box_xywh(mask: np.ndarray) -> list[float]:
    """Pixel ``[x, y, w, h]`` of the mask's bounding box (pycocotools ``toBbox``)."""
    return [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))]


# ---- the image-phrase pairs ------------------------------------------------------------------
# A GT object is a mask, ("crowd", mask), ("polygon", mask, [[x0, y0, ...]]) or ("ucrle", mask).
# Per annotator: a list of objects, or None where that annotator's file lacks the pair.
# exhaustive: is_instance_exhaustive per annotator. preds: (mask, score, extra options).

G1, G2, G3 = rect(2, 14, 2, 14), rect(2, 14, 30, 42), rect(30, 44, 40, 60)
LEAF1, LEAF2 = rect(10, 30, 10, 30), rect(10, 30, 16, 36)  # IoU 0.54 with each other
KITE = rect(8, 28, 20, 40)
KITE_POLYGON = [[20.0, 8.0, 40.0, 8.0, 40.0, 28.0, 20.0, 28.0]]
STONE_BOX = {"bbox": False, "box": [48.0, 17.0, 15.0, 15.0]}  # disc(24, 52, 7)'s box is [45, 17, 15, 15]


def _pairs() -> list[dict[str, Any]]:
    same = lambda objects: {k: objects for k in ANNOTATORS}  # noqa: E731
    return [
        # 0 image 0: a perfect detection
        dict(image=0, phrase="red block", gt=same([rect(5, 20, 5, 25)]), preds=[(rect(5, 20, 5, 25), 0.93)]),
        # 1 a negative, nothing predicted: image-level true negative
        dict(image=0, phrase="blue disc", gt=same([]), preds=[]),
        # 2 a negative with a false positive scored exactly at the threshold (kept: score >= 0.5)
        dict(image=0, phrase="green bar", gt=same([]), preds=[(rect(30, 40, 10, 50), 0.5)]),
        # 3 image 1: three objects; IoU 0.83 and 0.6 matches, a false positive, and the third
        #   object found only by a prediction under the threshold
        dict(
            image=1,
            phrase="cup",
            gt=same([G1, G2, G3]),
            preds=[
                (rect(2, 14, 2, 12), 0.8),
                (rect(2, 14, 33, 45), 0.7),
                (rect(20, 28, 10, 20), 0.6),
                (G3, 0.49999),
            ],
        ),
        # 4 a positive without predictions (false negative)
        dict(image=1, phrase="plate", gt=same([rect(20, 40, 20, 44)]), preds=[]),
        # 5 a positive whose only prediction is below the threshold
        #   (annotator c says negative: c's true negative wins with three annotators)
        dict(
            image=1,
            phrase="fork",
            gt={"a": [disc(24, 32, 8)], "b": [disc(24, 32, 8)], "c": []},
            preds=[(disc(24, 32, 8), 0.4999)],
        ),
        # 6 image 2: annotator a sees a dog, b and c do not; nothing predicted (b's negative wins)
        dict(image=2, phrase="dog", gt={"a": [rect(10, 30, 10, 30)], "b": [], "c": []}, preds=[]),
        # 7 a says negative, b and c draw slightly different cats; the prediction is b's cat
        dict(
            image=2,
            phrase="cat",
            gt={"a": [], "b": [rect(10, 30, 34, 54)], "c": [rect(10, 30, 36, 54)]},
            preds=[(rect(10, 30, 34, 54), 0.88)],
        ),
        # 8 a and c draw two birds, b one group mask; the prediction is the group
        dict(
            image=2,
            phrase="bird",
            gt={
                "a": [rect(5, 20, 5, 20), rect(5, 20, 22, 37)],
                "b": [rect(5, 20, 5, 37)],
                "c": [rect(5, 20, 5, 20), rect(5, 20, 22, 37)],
            },
            preds=[(rect(5, 20, 5, 37), 0.75)],
        ),
        # 9 image 3: a crowd region and one car; a prediction on the crowd region is a false positive
        dict(
            image=3,
            phrase="car",
            gt=same([("crowd", rect(0, 24, 0, 64)), rect(30, 45, 5, 25)]),
            preds=[(rect(30, 45, 5, 25), 0.9), (rect(2, 20, 2, 60), 0.85)],
        ),
        # 10 only a crowd region: a negative once crowd is ignored; the prediction is a false positive
        dict(image=3, phrase="truck", gt=same([("crowd", rect(24, 48, 0, 64))]), preds=[(rect(26, 46, 2, 60), 0.7)]),
        # 11 not instance-exhaustive for annotator a: not scored
        dict(
            image=3,
            phrase="wheel",
            gt=same([disc(38, 12, 5)]),
            exhaustive={"a": 0, "b": 1, "c": 1},
            preds=[(rect(0, 10, 0, 10), 0.9)],
        ),
        # 12 image 4: exhaustive for a, not for b: not scored either
        dict(
            image=4,
            phrase="tree",
            gt=same([rect(0, 40, 40, 60)]),
            exhaustive={"a": 1, "b": 0, "c": 1},
            preds=[(rect(30, 40, 0, 10), 0.95)],
        ),
        # 13 Hungarian matching: the optimal assignment pairs both predictions at IoU 0.67, where a
        #    greedy one would take the 0.82 pair and leave a 0.33 one
        dict(
            image=4,
            phrase="leaf",
            gt=same([LEAF1, LEAF2]),
            preds=[(rect(10, 30, 12, 32), 0.9), (rect(10, 30, 6, 26), 0.8)],
        ),
        # 14 duplicate predictions, their boxes (from a box head) 3 px right of the masks' (written
        #    without boxes in ``predictions_some_without_boxes.json``, scored with one annotator
        #    only: the official evaluator fails on a pair whose predictions lack boxes when it is
        #    given several ground-truth files)
        dict(
            image=4,
            phrase="stone",
            gt=same([disc(24, 52, 7)]),
            preds=[(disc(24, 52, 7), 0.8, STONE_BOX), (disc(24, 52, 7), 0.8, STONE_BOX)],
        ),
        # 15 image 5: the kite as a polygon (a), an uncompressed RLE (b) and a compressed RLE (c)
        dict(
            image=5,
            phrase="kite",
            gt={"a": [("polygon", KITE, KITE_POLYGON)], "b": [("ucrle", KITE)], "c": [KITE]},
            preds=[(rect(9, 28, 20, 40), 0.50001)],
        ),
        # 16 in a's and c's files only; nothing predicted (b's missing pair counts as negative)
        dict(
            image=5, phrase="string", gt={"a": [rect(28, 46, 28, 30)], "b": None, "c": [rect(28, 46, 28, 30)]}, preds=[]
        ),
        # 17 a negative; a confident prediction of a category the ground truth does not list, and a
        #    low-scored one
        dict(
            image=5,
            phrase="sky",
            gt=same([]),
            preds=[(rect(0, 8, 0, 64), 0.97, {"category_id": 2}), (rect(0, 8, 0, 64), 0.2)],
        ),
        # 18 a positive whose predictions all miss
        dict(image=5, phrase="sun", gt=same([disc(8, 56, 5)]), preds=[(rect(40, 48, 0, 8), 0.66)]),
        # 19 two objects, one found at IoU 0.83 (a match at 0.5..0.8, not at 0.85); annotator c
        #    drew only that one, as predicted (c's perfect score wins with three annotators)
        dict(
            image=5,
            phrase="moon",
            gt={
                "a": [rect(30, 40, 0, 10), rect(30, 40, 50, 60)],
                "b": [rect(30, 40, 0, 10), rect(30, 40, 50, 60)],
                "c": [rect(30, 40, 0, 12)],
            },
            preds=[(rect(30, 40, 0, 12), 0.7), (rect(30, 40, 2, 10), 0.3)],
        ),
        # 20 image 0 again: a positive found by two overlapping predictions
        dict(
            image=0,
            phrase="shadow",
            gt=same([rect(40, 48, 30, 64)]),
            preds=[(rect(40, 48, 32, 64), 0.61), (rect(40, 48, 30, 62), 0.59)],
        ),
        # 21 a ball predicted as its bounding square: box IoU 1, mask IoU 0.70
        dict(image=3, phrase="ball", gt=same([disc(24, 40, 9)]), preds=[(rect(15, 34, 31, 50), 0.77)]),
    ]


#: a prediction for an image-phrase pair that no ground-truth file has (ignored officially)
ORPHAN_ID = 99999999


def _gt_segmentation(obj: Any) -> tuple[np.ndarray, Any, int]:
    """(mask, segmentation as written, iscrowd) of one GT object spec."""
    if isinstance(obj, np.ndarray):
        return obj, rle(obj), 0
    kind = obj[0]
    if kind == "crowd":
        return obj[1], rle(obj[1]), 1
    if kind == "polygon":
        return obj[1], obj[2], 0
    if kind == "ucrle":
        return obj[1], uncompressed_rle(obj[1]), 0
    raise ValueError(kind)


def gt_json(annotator: str, box_units: str = "normalized") -> dict[str, Any]:
    """One annotator's ground-truth file (``box_units``: ``"normalized"`` as the README's sample,
    or ``"pixels"``); the images are listed in a fixed shuffled order, not by id."""
    images, annotations = [], []
    pairs = _pairs()
    shuffled = (3, 0, 1, 2, 7, 6, 5, 4, 8, 9, 21, 10, 11, 20, 12, 13, 14, 19, 15, 16, 17, 18)
    order = [pairs[i] | {"index": i} for i in shuffled]
    assert sorted(p["index"] for p in order) == list(range(len(pairs)))
    for pair in order:
        objects = pair["gt"][annotator]
        if objects is None:
            continue
        pair_id = BASE_ID + pair["index"]
        exhaustive = pair.get("exhaustive", {}).get(annotator, 1)
        images.append(
            {
                "id": pair_id,
                "file_name": f"1/1001/saco_toy_{pair['image']}.jpeg",
                "text_input": pair["phrase"],
                "width": W,
                "height": H,
                "queried_category": str(pair["index"]),
                "is_instance_exhaustive": exhaustive,
                "is_pixel_exhaustive": exhaustive,
            }
        )
        for obj in objects:
            mask, segmentation, iscrowd = _gt_segmentation(obj)
            x, y, w, h = box_xywh(mask)
            scale = (W, H, W, H) if box_units == "normalized" else (1, 1, 1, 1)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": pair_id,
                    "source": "manual",
                    "area": float(mask.sum()) / (H * W),
                    "bbox": [v / s for v, s in zip((x, y, w, h), scale)],
                    "segmentation": segmentation,
                    "category_id": 1,
                    "iscrowd": iscrowd,
                }
            )
    return {
        "info": {"description": f"samkit SA-Co toy ground truth, annotator {annotator}"},
        "images": images,
        "annotations": annotations,
        "categories": [{"supercategory": "object", "id": 1, "name": "object"}],
    }


def predictions(drop_boxes: bool = False) -> list[dict[str, Any]]:
    """The prediction file's records, in the official writer's layout (pairs in id order);
    ``drop_boxes``: the predictions marked ``{"bbox": False}`` have no ``"bbox"``."""
    records = []
    for index, pair in enumerate(_pairs()):
        for pred in pair["preds"]:
            mask, score = pred[0], pred[1]
            options = pred[2] if len(pred) > 2 else {}
            record = {
                "image_id": BASE_ID + index,
                "category_id": options.get("category_id", 1),
                "segmentation": rle(mask),
                "score": round(score, 5),
                "area": float(mask.sum()) / (H * W),
            }
            if options.get("bbox", True) or not drop_boxes:
                record["bbox"] = [round(v, 5) for v in options.get("box", box_xywh(mask))]
            records.append(record)
    orphan = rect(0, 10, 0, 10)
    records.append({"image_id": ORPHAN_ID, "category_id": 1, "segmentation": rle(orphan), "score": 0.9, "area": 0.03})
    return records


def negative_pair_ids() -> set[int]:
    """Pair ids that annotator a labels negative (no object, crowd regions aside)."""
    out = set()
    for index, pair in enumerate(_pairs()):
        objects = pair["gt"]["a"]
        if objects is not None and all(not isinstance(o, np.ndarray) and o[0] == "crowd" for o in objects):
            out.add(BASE_ID + index)
    return out


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def write_cases(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Write every input file under ``folder``; return ``{case: {"gt": [paths], "pred": path,
    "iou_type": "segm" | "bbox"}}``, the cases the golden file holds."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gt = {k: _write(folder / f"gold_toy_merged_{k}_test.json", gt_json(k)) for k in ANNOTATORS}
    gt_px = {k: _write(folder / f"gold_toy_pixel_boxes_{k}_test.json", gt_json(k, "pixels")) for k in ANNOTATORS}
    preds = predictions()
    pred = _write(folder / "coco_predictions_segm.json", preds)
    negatives = negative_pair_ids()
    pred_neg = _write(folder / "predictions_on_negatives.json", [p for p in preds if p["image_id"] in negatives])
    pred_empty = _write(folder / "predictions_empty.json", [])
    pred_nobox = _write(folder / "predictions_some_without_boxes.json", predictions(drop_boxes=True))
    three, two = [gt[k] for k in ANNOTATORS], [gt["a"], gt["b"]]
    return {
        "gold_three_annotators_segm": {"gt": three, "pred": pred, "iou_type": "segm"},
        "gold_two_annotators_segm": {"gt": two, "pred": pred, "iou_type": "segm"},
        "silver_one_annotator_segm": {"gt": [gt["a"]], "pred": pred, "iou_type": "segm"},
        "gold_three_annotators_bbox": {"gt": three, "pred": pred, "iou_type": "bbox"},
        "gold_pixel_boxes_bbox": {"gt": [gt_px[k] for k in ANNOTATORS], "pred": pred, "iou_type": "bbox"},
        "silver_pixel_boxes_bbox": {"gt": [gt_px["a"]], "pred": pred, "iou_type": "bbox"},
        "silver_predictions_on_negatives_only_segm": {"gt": [gt["a"]], "pred": pred_neg, "iou_type": "segm"},
        "gold_empty_predictions_segm": {"gt": three, "pred": pred_empty, "iou_type": "segm"},
        "silver_some_without_boxes_segm": {"gt": [gt["a"]], "pred": pred_nobox, "iou_type": "segm"},
        "silver_some_without_boxes_bbox": {"gt": [gt_px["a"]], "pred": pred_nobox, "iou_type": "bbox"},
    }
