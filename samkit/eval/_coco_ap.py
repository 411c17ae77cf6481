"""What the text and detector-box protocols share: each image's ground truth and detections as
json row fields (categories by name, masks as COCO RLE), the detector of a run, and class-aware
COCO AP (pycocotools' COCOeval, ``segm`` and ``bbox``) over any set of such rows.

Rows hold everything COCOeval needs, so the AP of any subset of images, or of runs merged from
several jobs, is computed from the rows alone. Categories are matched by name across rows (each
summary numbers them afresh), so rows of datasets with different category ids still merge.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from samkit.masks import encode_rles, rle_json

__all__ = [
    "ImageTruth",
    "ground_truth",
    "dataset_categories",
    "prompt_phrase",
    "phrase_categories",
    "encode_masks",
    "detections_json",
    "coco_ap",
    "AP_NAMES",
    "load_run_detector",
    "detector_columns",
    "detector_arguments",
]

#: COCOeval's first six statistics, in its order
AP_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl")


def prompt_phrase(name: str) -> str:
    """A category name as a text-prompt phrase: ``"baseball_bat"`` -> ``"baseball bat"``
    (lower case, single spaces; the form `samkit.detectors.split_phrases` gives back)."""
    return " ".join(str(name).replace("_", " ").replace(".", " ").split()).lower()


def phrase_categories(names: Any) -> dict[str, str]:
    """``{prompt phrase: category name}`` for category ``names`` (`prompt_phrase` of each; the
    first name wins where two give the same phrase), in the names' order: the phrases to prompt
    with, and the way back from a detection's phrase to its category."""
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(prompt_phrase(name), name)
    return out


@dataclass(frozen=True)
class ImageTruth:
    """The ground truth of one image for COCO AP.

    annotations: ``{"category": name, "segmentation": RLE (counts str), "bbox": XYWH pixels,
        "area": mask pixels, "iscrowd": 0/1}`` per object, crowd regions included (COCOeval
        ignores detections matched to them).
    size: ``(H, W)`` pixels.
    """

    annotations: list[dict[str, Any]]
    size: tuple[int, int]

    @property
    def categories(self) -> list[str]:
        """The distinct category names of the image, in order of first appearance."""
        return list(dict.fromkeys(a["category"] for a in self.annotations))


def encode_masks(masks: np.ndarray) -> list[dict[str, Any]]:
    """``(N, H, W)`` bool masks -> N COCO RLEs (`samkit.masks.encode_rles`, ``counts`` as str)."""
    return encode_rles(masks)


def dataset_categories(dataset: Any) -> dict[int, str] | None:
    """``{category id: name}`` of a COCO-format dataset (one with a pycocotools ``coco``), else None."""
    coco = getattr(dataset, "coco", None)
    if coco is None:
        return None
    return {int(cid): str(cat.get("name", cid)) for cid, cat in coco.cats.items()}


def ground_truth(dataset: Any, sample: Any) -> ImageTruth:
    """Every annotation of ``sample``'s image, with its category name.

    COCO-format datasets (`samkit.data.CocoDataset`): all the image's annotations in the json,
    crowd ones and those the loader's ``max_objects`` / ``min_area`` left out included (AP is
    defined over all of them), each with the json's own ``bbox`` and ``area`` (which COCOeval's
    small / medium / large ranges read; a polygon's area is not its pixel count). Other datasets:
    the sample's masks, named by their ``meta["objects"][i]["category"]`` (or ``"shape"``, as
    `SyntheticDataset` gives); a dataset without category names is a ValueError.
    """
    h, w = int(sample.image.shape[0]), int(sample.image.shape[1])
    coco = getattr(dataset, "coco", None)
    source = sample.meta.get("source_image_id")
    if coco is not None and source is not None:
        from pycocotools import mask as mask_utils

        cats = dataset_categories(dataset) or {}
        annotations = []
        for ann in coco.imgToAnns.get(source, []):
            rle = coco.annToRLE(ann)
            bbox = ann.get("bbox") or mask_utils.toBbox(rle).tolist()
            # COCOeval's size ranges read the json's own area (a polygon's, not its pixel count)
            area = ann["area"] if ann.get("area") is not None else mask_utils.area(rle)
            annotations.append(
                {
                    "category": cats.get(int(ann["category_id"]), str(ann["category_id"])),
                    "segmentation": rle_json(rle),
                    "bbox": [float(v) for v in bbox],
                    "area": float(area),
                    "iscrowd": int(ann.get("iscrowd", 0)),
                }
            )
        return ImageTruth(annotations, (h, w))
    objects = sample.meta.get("objects") or [{} for _ in range(len(sample.masks))]
    names = [o.get("category", o.get("shape")) for o in objects]
    if len(sample.masks) and any(n is None for n in names):
        raise ValueError(
            f"{sample.dataset}: image {sample.image_id} has objects without a category "
            "name; the text and detector_boxes protocols need COCO-format data with "
            "categories (samkit.data.CocoDataset), or meta['objects'][i]['category']."
        )
    from pycocotools import mask as mask_utils

    rles = encode_masks(sample.masks)
    annotations = []
    for name, rle, mask in zip(names, rles, sample.masks):
        ys, xs = np.nonzero(mask)
        bbox = (
            [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
            if len(xs)
            else [0.0, 0.0, 0.0, 0.0]
        )
        annotations.append(
            {
                "category": str(name),
                "segmentation": rle,
                "bbox": bbox,
                "area": float(mask_utils.area(rle)),
                "iscrowd": 0,
            }
        )
    return ImageTruth(annotations, (h, w))


def detections_json(
    categories: list[str],
    scores: np.ndarray,
    boxes: np.ndarray | None,
    masks: np.ndarray | None,
    *,
    bboxes: list[list[float]] | None = None,
) -> str:
    """Detections of one image as a json list: ``category``, ``score``, ``bbox`` (XYWH pixels:
    ``bboxes`` as given, e.g. a results file's own, else from the XYXY ``boxes``) and
    ``segmentation`` (COCO RLE of ``masks``, where given). The boxes scored are the detector's,
    never the ones clipped to the image to prompt the segmenter."""
    if bboxes is None:
        xyxy = np.asarray(boxes, np.float64).reshape(-1, 4).tolist()
        bboxes = [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in xyxy]
    rles = encode_masks(masks) if masks is not None else [None] * len(categories)
    out = []
    for name, score, bbox, rle in zip(categories, np.asarray(scores).tolist(), bboxes, rles):
        record = {"category": str(name), "score": float(score), "bbox": [float(v) for v in bbox]}
        if rle is not None:
            record["segmentation"] = rle
        out.append(record)
    return json.dumps(out)


def _quiet(fn: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def coco_ap(rows: pd.DataFrame, iou_types: tuple[str, ...] = ("segm", "bbox"), prefix: str = "") -> dict[str, float]:
    """Class-aware COCO AP of the rows' detections against their ground truth (COCOeval).

    ``rows``: one row per image with ``gt`` and ``detections`` json (`ground_truth`,
    `detections_json`), ``height``, ``width``; rows of the same ``(dataset, image_id)`` count
    once. Returns ``{prefix}mask_AP``, ``mask_AP50``, ``mask_AP75``, ``mask_APs``, ``mask_APm``,
    ``mask_APl`` (``segm``) and the same with ``box_`` (``bbox``), each in ``[0, 1]``; NaN where
    COCOeval has nothing to score (no ground truth), 0 where there is ground truth but no
    detection. Categories: the union of the rows' names, numbered in sorted order.
    """
    if not {"gt", "detections"} <= set(rows.columns) or len(rows) == 0:
        return {}
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rows = rows.drop_duplicates(["dataset", "image_id"])
    per_image = [(json.loads(g), json.loads(d)) for g, d in zip(rows["gt"], rows["detections"])]
    names = sorted({a["category"] for g, d in per_image for a in [*g, *d]})
    cat_ids = {n: i + 1 for i, n in enumerate(names)}
    images, annotations, results = [], [], []
    for k, ((gts, dts), h, w) in enumerate(zip(per_image, rows["height"], rows["width"]), start=1):
        images.append({"id": k, "height": int(h), "width": int(w)})
        for a in gts:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": k,
                    "category_id": cat_ids[a["category"]],
                    "segmentation": a["segmentation"],
                    "bbox": a["bbox"],
                    "area": a["area"],
                    "iscrowd": a["iscrowd"],
                }
            )
        for d in dts:
            results.append({"image_id": k, "category_id": cat_ids[d["category"]], **d})
    out: dict[str, float] = {}
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n} for n, i in cat_ids.items()],
    }
    _quiet(gt.createIndex)
    for iou_type in iou_types:
        label = "mask" if iou_type == "segm" else "box"
        keys = [f"{prefix}{label}_{name}" for name in AP_NAMES]
        if not annotations:
            out.update({k: math.nan for k in keys})
            continue
        if iou_type == "segm":
            dts = [
                {k: v for k, v in r.items() if k not in ("bbox", "category")} for r in results if "segmentation" in r
            ]
        else:
            dts = [{k: v for k, v in r.items() if k not in ("segmentation", "category")} for r in results]
        if not dts:
            out.update({k: 0.0 for k in keys})
            continue
        dt = _quiet(lambda: gt.loadRes(dts))
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.params.imgIds = [im["id"] for im in images]
        _quiet(evaluator.evaluate)
        _quiet(evaluator.accumulate)
        _quiet(evaluator.summarize)
        # COCOeval's -1 means "nothing in this area range": no number, not a zero
        out.update({k: (float(v) if v >= 0 else math.nan) for k, v in zip(keys, evaluator.stats[:6])})
    return out


def load_run_detector(name: str, model: Any, weights: str | None, config: str, seed: int) -> Any:
    """The detector of a run: ``load_detector(name)`` on the model's device; ``weights`` ``"same"``
    (or None) follows the model's (random with random, else pretrained); the rows say which."""
    from samkit.detectors import load_detector

    kind = weights if weights not in (None, "same") else ("random" if model.weights.kind == "random" else "pretrained")
    return load_detector(name, kind, device=model.device, seed=seed, config=config, progress=False, download=False)


def detector_arguments(params: Any) -> dict[str, Any]:
    """A protocol's detector parameters (``detector``, ``detector_weights``, ``detector_config``,
    ``detector_seed``, ``box_threshold``, ``text_threshold``) as keyword arguments of its runner."""
    names = ("detector", "detector_weights", "detector_config", "detector_seed", "box_threshold", "text_threshold")
    return {name: getattr(params, name) for name in names}


def detector_columns(detector: Any) -> dict[str, Any]:
    """The detector fields of a row: ``detector`` (name), ``detector_weights`` (readable),
    ``detector_weights_kind`` (``pretrained`` / ``random``), ``detector_config``."""
    if detector is None:
        return {"detector": "native", "detector_weights": None, "detector_weights_kind": None, "detector_config": None}
    return {
        "detector": detector.name,
        "detector_weights": str(detector.weights),
        "detector_weights_kind": detector.weights.kind,
        "detector_config": getattr(detector.weights, "config", None),
    }
