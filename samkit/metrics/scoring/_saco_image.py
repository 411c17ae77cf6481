"""SA-Co/Gold and Silver image scoring (cgF1 and image-level metrics) as sam3's ``CGF1Evaluator``.

Private to `samkit.metrics.scoring`: `samkit.metrics.scoring.saco.score_saco` is the entry point,
and its docstring lists the official conventions reproduced here. The arithmetic below follows the
official one operation for operation (the same ``1e-4`` / ``1e-6`` guards, the same numpy
expressions, pairs accumulated in the same order), so the values agree to the last bit.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samkit.errors import DatasetError

#: the official score threshold: a prediction counts when ``score >= 0.5`` (``CGF1Eval.threshold``)
SCORE_THRESHOLD = 0.5

#: (metric, IoU threshold or None for the mean over 0.50:0.05:0.95, image level), in the official
#: order (``CGF1_METRICS``)
METRICS: tuple[tuple[str, float | None, bool], ...] = (
    *((name, None, False) for name in ("cgF1", "precision", "recall", "F1")),
    *((name, None, False) for name in ("positive_macro_F1", "positive_micro_F1", "positive_micro_precision")),
    *((name, None, True) for name in ("IL_precision", "IL_recall", "IL_F1", "IL_FPR", "IL_MCC")),
    *(
        (name, threshold, False)
        for threshold in (0.5, 0.75)
        for name in (
            "cgF1",
            "precision",
            "recall",
            "F1",
            "positive_macro_F1",
            "positive_micro_F1",
            "positive_micro_precision",
        )
    ),
)


def iou_thresholds() -> np.ndarray:
    """pycocotools' ``Params.iouThrs``: 0.50, 0.55, ..., 0.95 (the same linspace, bit for bit)."""
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def metric_keys(iou_type: str) -> list[str]:
    """The official result keys, in order: ``cgF1_eval_<iou_type>_<metric>[@<threshold>]``."""
    return [
        f"cgF1_eval_{iou_type}_{name}" + ("" if threshold is None else f"@{threshold}")
        for name, threshold, _ in METRICS
    ]


# --------------------------------------------------------------------------------------------
# reading the files
# --------------------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"SA-Co {what} {path} does not exist (or is not a file)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(
            f"SA-Co {what} {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"SA-Co {what} {path} is not UTF-8 text: {e}") from None


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_box(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 4 and all(_is_number(v) for v in value)


def _check_segmentation(value: Any) -> bool:
    """A COCO segmentation: polygons (a list of coordinate lists) or an RLE dict with size and counts."""
    if isinstance(value, list):
        return all(isinstance(p, list) and all(_is_number(v) for v in p) for p in value)
    if isinstance(value, dict):
        size = value.get("size")
        return (
            isinstance(size, (list, tuple))
            and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in size)
            and isinstance(value.get("counts"), (str, bytes, list))
        )
    return False


@dataclass
class GroundTruth:
    """One annotator's file, indexed as the official ``COCOCustom`` + ``COCOeval._prepare`` see it.

    ``images``: the image-phrase records in file order; ``image_by_id``; ``annotations``: per pair
    id, the annotations whose category the file lists, ordered by category id, then file order
    (the order of the official ``[g for cId in sorted(catIds) for g in _gts[imgId, cId]]``);
    ``category_rank``: the listed category ids -> their rank in sorted order; ``index``: per
    annotation (Python ``id``) its position in the file, for error messages.
    """

    path: Path
    images: list[dict[str, Any]]
    image_by_id: dict[Any, dict[str, Any]]
    annotations: dict[Any, list[dict[str, Any]]]
    category_rank: dict[Any, int]
    index: dict[int, int]


def read_ground_truth(path: Path, iou_type: str) -> GroundTruth:
    """Read and check one SA-Co ground-truth file (`DatasetError` naming the file and the record)."""
    data = _read_json(path, "ground-truth file")
    if not isinstance(data, dict):
        raise DatasetError(f"SA-Co ground-truth file {path}: the top level must be a JSON object (COCO layout)")
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"SA-Co ground-truth file {path}: {key!r} must be a list (COCO layout)")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise DatasetError(f"SA-Co ground-truth file {path}: 'annotations' must be a list (COCO layout)")

    images, image_by_id = [], {}
    for i, image in enumerate(data["images"]):
        where = f"SA-Co ground-truth file {path}, images[{i}]"
        if not isinstance(image, dict) or not _is_id(image.get("id")):
            raise DatasetError(f"{where}: an image-phrase record must be an object with an 'id' (number or string)")
        flag = image.get("is_instance_exhaustive")
        if not (isinstance(flag, bool) or _is_number(flag)):
            raise DatasetError(f"{where} (id {image['id']!r}): 'is_instance_exhaustive' must be 0/1 or a boolean")
        if iou_type == "segm" and not all(
            isinstance(image.get(k), int) and not isinstance(image.get(k), bool) for k in ("height", "width")
        ):
            raise DatasetError(f"{where} (id {image['id']!r}): 'height' and 'width' must be integers")
        images.append(image)
        image_by_id[image["id"]] = image

    rank: dict[Any, int] = {}
    for i, category in enumerate(data["categories"]):
        if not isinstance(category, dict) or not _is_id(category.get("id")):
            raise DatasetError(f"SA-Co ground-truth file {path}, categories[{i}]: a category must have an 'id'")
        if category["id"] in rank:
            raise DatasetError(
                f"SA-Co ground-truth file {path}, categories[{i}]: duplicate category id {category['id']!r}"
            )
        rank[category["id"]] = -1
    try:
        for position, category_id in enumerate(sorted(rank)):
            rank[category_id] = position
    except TypeError:
        raise DatasetError(f"SA-Co ground-truth file {path}: category ids mix numbers and strings") from None

    by_pair: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    index: dict[int, int] = {}
    seen_ids: set[Any] = set()
    for i, ann in enumerate(annotations):
        where = f"SA-Co ground-truth file {path}, annotations[{i}]"
        if not isinstance(ann, dict) or not all(_is_id(ann.get(k)) for k in ("id", "image_id", "category_id")):
            raise DatasetError(f"{where}: an annotation must have 'id', 'image_id' and 'category_id'")
        if ann["id"] in seen_ids:
            raise DatasetError(f"{where}: duplicate annotation id {ann['id']!r}")
        seen_ids.add(ann["id"])
        index[id(ann)] = i
        if ann["category_id"] not in rank:
            continue  # the official evaluator only looks at the categories the file lists
        if ann["image_id"] not in image_by_id:
            continue  # never looked at: the official evaluator scores the listed images only
        if "iscrowd" not in ann or not (isinstance(ann["iscrowd"], bool) or _is_number(ann["iscrowd"])):
            raise DatasetError(f"{where} (id {ann['id']!r}): 'iscrowd' must be 0 or 1")
        if iou_type == "segm" and not _check_segmentation(ann.get("segmentation")):
            raise DatasetError(
                f"{where} (id {ann['id']!r}): 'segmentation' must be an RLE {{'size': [h, w], 'counts': ...}} "
                "or a list of polygons"
            )
        if iou_type == "bbox" and not _is_box(ann.get("bbox")):
            raise DatasetError(f"{where} (id {ann['id']!r}): 'bbox' must be [x, y, w, h]")
        by_pair[ann["image_id"]].append(ann)
    ordered = {pair: sorted(anns, key=lambda a: rank[a["category_id"]]) for pair, anns in by_pair.items()}
    return GroundTruth(path, images, image_by_id, ordered, rank, index)


@dataclass
class Predictions:
    """The prediction file: per pair id its records in file order; ``index``: record -> position."""

    path: Path
    by_pair: dict[Any, list[dict[str, Any]]]
    index: dict[int, int]


def read_predictions(path: Path, iou_type: str) -> Predictions:
    """Read and check an SA-Co prediction file (a JSON list of COCO results)."""
    data = _read_json(path, "prediction file")
    if not isinstance(data, list):
        raise DatasetError(
            f"SA-Co prediction file {path}: the top level must be a JSON list of results "
            "({'image_id', 'category_id', 'segmentation', 'score', ...})"
        )
    by_pair: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    index: dict[int, int] = {}
    for i, pred in enumerate(data):
        where = f"SA-Co prediction file {path}, record {i}"
        if not isinstance(pred, dict) or not _is_id(pred.get("image_id")):
            raise DatasetError(f"{where}: a result must be an object with an 'image_id' (the image-phrase pair id)")
        where += f" (image_id {pred['image_id']!r})"
        if not _is_id(pred.get("category_id")):
            raise DatasetError(f"{where}: 'category_id' is missing (the official writer gives 1)")
        if not _is_number(pred.get("score")):
            raise DatasetError(f"{where}: 'score' must be a number")
        has_segmentation = "segmentation" in pred
        if has_segmentation and not _check_segmentation(pred["segmentation"]):
            raise DatasetError(
                f"{where}: 'segmentation' must be an RLE {{'size': [h, w], 'counts': ...}} or a list of polygons"
            )
        if iou_type == "segm" and not has_segmentation:
            raise DatasetError(f"{where}: 'segmentation' is missing (mask scoring needs an RLE per result)")
        if iou_type == "bbox":
            if "bbox" in pred and not _is_box(pred["bbox"]):
                raise DatasetError(f"{where}: 'bbox' must be [x, y, w, h]")
            if "bbox" not in pred and not has_segmentation:
                raise DatasetError(f"{where}: box scoring needs a 'bbox' or a 'segmentation'")
        index[id(pred)] = i
        by_pair[pred["image_id"]].append(pred)
    return Predictions(path, dict(by_pair), index)


# --------------------------------------------------------------------------------------------
# one image-phrase pair against one annotator
# --------------------------------------------------------------------------------------------


@dataclass
class PairResult:
    """What the official ``CGF1Eval.evaluateImg`` returns for one pair, as fields.

    ``tps``/``fps``/``fns`` are None for an image-level true negative (no kept GT, no kept
    prediction: the official dict has no box-level entries); ``local_f1`` is the official
    ``local_F1s`` (None where it has none), ``positive_f1`` its ``local_positive_F1s``.
    """

    il_tp: int
    il_fp: int
    il_tn: int
    il_fn: int
    num_dt: int
    tps: np.ndarray | None = None
    fps: np.ndarray | None = None
    fns: np.ndarray | None = None
    local_f1: np.ndarray | None = None
    positive_f1: np.ndarray | None = None


def _to_rle(segmentation: Any, height: int, width: int) -> Any:
    """pycocotools ``COCO.annToRLE`` (polygons and uncompressed RLE through ``frPyObjects``)."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation["counts"], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


def _geometry(record: dict[str, Any], image: dict[str, Any], iou_type: str, where: str) -> Any:
    """The RLE (``segm``) or ``[x, y, w, h]`` (``bbox``) that the official evaluator compares."""
    from pycocotools import mask as mask_utils

    try:
        if iou_type == "segm":
            return _to_rle(record["segmentation"], image["height"], image["width"])
        if "bbox" in record:
            return record["bbox"]
        rle = _to_rle(record["segmentation"], image.get("height", 0), image.get("width", 0))
        return mask_utils.toBbox(rle)
    except Exception as e:  # pycocotools raises bare Exceptions for unsupported input
        raise DatasetError(f"{where}: cannot read its {'segmentation' if iou_type == 'segm' else 'box'}: {e}") from None


def _describe(record: dict[str, Any]) -> str:
    seg = record.get("segmentation")
    return f"RLE size {seg.get('size')}" if isinstance(seg, dict) else "polygons"


def evaluate_pair(
    pair_id: Any,
    gt: GroundTruth,
    preds: list[dict[str, Any]],
    pred_file: Predictions,
    iou_type: str,
    thresholds: np.ndarray,
) -> PairResult:
    """One pair against one annotator, as ``CGF1Eval.evaluateImg`` (``preds``: all of this pair's
    results, in file order; those of a category ``gt`` does not list are left out here)."""
    from pycocotools import mask as mask_utils
    from scipy.optimize import linear_sum_assignment

    image = gt.image_by_id.get(pair_id)
    if image is None:
        # the official loadRes asserts that results belong to the file's images; without results
        # the pair is scored against no ground truth (a negative)
        if preds:
            raise DatasetError(
                f"SA-Co ground-truth file {gt.path} has no image-phrase pair {pair_id!r}, which the first "
                f"ground-truth file scores and {pred_file.path} has results for (the official evaluator "
                "stops on this too: every file must list the pairs of the first)"
            )
        gt_anns: list[dict[str, Any]] = []
    else:
        gt_anns = gt.annotations.get(pair_id, [])
    rank = gt.category_rank
    listed = sorted((p for p in preds if p["category_id"] in rank), key=lambda p: rank[p["category_id"]])

    kept_gt = [g for g in gt_anns if not g["iscrowd"]]
    kept_dt = [d for d in listed if d["score"] >= SCORE_THRESHOLD]
    n_thr = len(thresholds)
    if not kept_gt and not kept_dt:
        return PairResult(il_tp=0, il_fp=0, il_tn=1, il_fn=0, num_dt=0)
    if kept_gt and not kept_dt:
        return PairResult(
            il_tp=0,
            il_fp=0,
            il_tn=0,
            il_fn=1,
            num_dt=0,
            tps=np.zeros((n_thr,), dtype=np.int64),
            fps=np.zeros((n_thr,), dtype=np.int64),
            fns=np.ones((n_thr,), dtype=np.int64) * len(kept_gt),
            local_f1=np.zeros((n_thr,), dtype=np.int64),
            positive_f1=np.zeros((n_thr,), dtype=np.int64),
        )

    if kept_gt:
        g = [
            _geometry(a, image, iou_type, f"SA-Co ground-truth file {gt.path}, annotations[{gt.index[id(a)]}]")
            for a in kept_gt
        ]
        d = [
            _geometry(p, image, iou_type, f"SA-Co prediction file {pred_file.path}, record {pred_file.index[id(p)]}")
            for p in kept_dt
        ]
        ious = np.asarray(mask_utils.iou(d, g, [0] * len(g)), dtype=np.float64).reshape(len(d), len(g))
        if iou_type == "segm" and (ious < 0).any():
            i, j = (int(v[0]) for v in np.nonzero(ious < 0))
            raise DatasetError(
                f"SA-Co pair {pair_id!r}: prediction record {pred_file.index[id(kept_dt[i])]} of {pred_file.path} "
                f"({_describe(kept_dt[i])}) and annotations[{gt.index[id(kept_gt[j])]}] of {gt.path} "
                f"({_describe(kept_gt[j])}) differ in size (pycocotools would give an IoU of -1: the official "
                f"evaluator counts such a pair as unmatched; the image is {image['height']}x{image['width']})"
            )
    else:
        ious = np.zeros((len(kept_dt), 0))

    matched_dt, matched_gt = linear_sum_assignment(-ious)
    match_scores = ious[matched_dt, matched_gt]
    tps, fps, fns = [], [], []
    for threshold in thresholds:
        tp = (match_scores >= threshold).sum()
        tps.append(tp)
        fps.append(len(kept_dt) - tp)
        fns.append(len(kept_gt) - tp)
    tps_a = np.array(tps, dtype=np.int64)
    fps_a = np.array(fps, dtype=np.int64)
    fns_a = np.array(fns, dtype=np.int64)
    precision = tps_a / (tps_a + fps_a + 1e-4)
    recall = tps_a / (tps_a + fns_a + 1e-4)
    f1 = 2 * precision * recall / (precision + recall + 1e-4)
    positive = len(kept_gt) > 0
    return PairResult(
        il_tp=int(positive),
        il_fp=int(not positive),
        il_tn=0,
        il_fn=0,
        num_dt=len(kept_dt),
        tps=tps_a,
        fps=fps_a,
        fns=fns_a,
        local_f1=f1,
        positive_f1=f1 if positive else None,
    )


def select_best(results: list[PairResult]) -> PairResult:
    """The official oracle (``CGF1Evaluator._select_best_scoring``) over the annotators' results.

    The first annotator's result is replaced by a later one whose mean local F1 over the IoU
    thresholds is strictly higher, or by any later one without a local F1 (a true negative), and
    a true negative is never replaced by one that has a local F1.
    """
    best = results[0]
    for current in results[1:]:
        if best.local_f1 is not None and current.local_f1 is not None:
            if current.local_f1.mean() > best.local_f1.mean():
                best = current
        elif current.local_f1 is None:
            best = current
    return best


# --------------------------------------------------------------------------------------------
# accumulating and summarising (CGF1Eval.accumulate + summarize)
# --------------------------------------------------------------------------------------------


def accumulate(selected: list[PairResult], thresholds: np.ndarray) -> dict[str, Any]:
    """Sums over pairs in the official order and the per-threshold metric arrays."""
    n_thr = len(thresholds)
    tps = np.zeros((n_thr,), dtype=np.int64)
    fps = np.zeros((n_thr,), dtype=np.int64)
    pm_fps = np.zeros((n_thr,), dtype=np.int64)
    fns = np.zeros((n_thr,), dtype=np.int64)
    local_f1s = np.zeros((n_thr,), dtype=np.float64)
    il_tps = il_fps = il_tns = il_fns = 0
    valid_f1_count = 0
    for res in selected:
        il_tps += res.il_tp
        il_fps += res.il_fp
        il_tns += res.il_tn
        il_fns += res.il_fn
        if res.tps is None:
            continue
        tps += res.tps
        fps += res.fps
        fns += res.fns
        if res.positive_f1 is not None:
            local_f1s += res.positive_f1
            pm_fps += res.fps
            if res.num_dt > 0:
                valid_f1_count += 1

    precision = tps / (tps + fps + 1e-4)
    positive_micro_precision = tps / (tps + pm_fps + 1e-4)
    recall = tps / (tps + fns + 1e-4)
    f1 = 2 * precision * recall / (precision + recall + 1e-4)
    positive_micro_f1 = 2 * positive_micro_precision * recall / (positive_micro_precision + recall + 1e-4)
    with np.errstate(divide="ignore", invalid="ignore"):
        positive_macro_f1 = local_f1s / valid_f1_count  # 0/0 = nan when no positive pair has results

    il_rec = il_tps / (il_tps + il_fns + 1e-6)
    il_prec = il_tps / (il_tps + il_fps + 1e-6)
    il_f1 = 2 * il_prec * il_rec / (il_prec + il_rec + 1e-6)
    il_fpr = il_fps / (il_fps + il_tns + 1e-6)
    il_mcc = float(il_tps * il_tns - il_fps * il_fns) / (
        (float(il_tps + il_fps) * float(il_tps + il_fns) * float(il_tns + il_fps) * float(il_tns + il_fns)) ** 0.5
        + 1e-6
    )
    out = {
        "precision": precision,
        "positive_micro_precision": positive_micro_precision,
        "recall": recall,
        "F1": f1,
        "positive_micro_F1": positive_micro_f1,
        "positive_macro_F1": positive_macro_f1,
        "IL_recall": il_rec,
        "IL_precision": il_prec,
        "IL_F1": il_f1,
        "IL_FPR": il_fpr,
        "IL_MCC": il_mcc,
    }
    out["cgF1"] = out["positive_micro_F1"] * out["IL_MCC"]
    return out


def summarize(accumulated: dict[str, Any], thresholds: np.ndarray, iou_type: str) -> dict[str, float]:
    """The official ``summarize`` + key naming: per-threshold arrays averaged over 0.50:0.95 (values
    <= -1, and NaN, left out; -1 when none is left) or read at 0.5 / 0.75."""
    values = []
    for name, threshold, image_level in METRICS:
        s = accumulated[name]
        if image_level:
            values.append(s)
            continue
        if threshold is not None:
            s = s[np.where(threshold == thresholds)[0]]
        values.append(-1 if len(s[s > -1]) == 0 else np.mean(s[s > -1]))
    return {key: float(v) for key, v in zip(metric_keys(iou_type), np.asarray(values))}


# --------------------------------------------------------------------------------------------
# the whole evaluation
# --------------------------------------------------------------------------------------------


def score_image(gt_paths: list[Path], pred_path: Path, iou_type: str) -> dict[str, float]:
    """``CGF1Evaluator(gt_paths, iou_type).evaluate(pred_path)``: see `score_saco`."""
    gts = [read_ground_truth(p, iou_type) for p in gt_paths]
    preds = read_predictions(pred_path, iou_type)
    thresholds = iou_thresholds()

    excluded = {image["id"] for gt in gts[1:] for image in gt.images if not image["is_instance_exhaustive"]}
    pair_ids = [
        image["id"] for image in gts[0].images if image["is_instance_exhaustive"] and image["id"] not in excluded
    ]
    if not pair_ids:
        raise DatasetError(
            f"SA-Co ground truth {', '.join(str(p) for p in gt_paths)}: no image-phrase pair of the first file "
            "is instance-exhaustive in every file, so there is nothing to score"
        )

    selected = []
    for pair_id in pair_ids:
        pair_preds = preds.by_pair.get(pair_id, [])
        results = [evaluate_pair(pair_id, gt, pair_preds, preds, iou_type, thresholds) for gt in gts]
        selected.append(select_best(results))
    return summarize(accumulate(selected, thresholds), thresholds, iou_type)


def as_paths(value: str | os.PathLike | list | tuple) -> list[Path]:
    """One path or a list of them, as ``Path`` objects."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    return [Path(os.fspath(v)) for v in items]
