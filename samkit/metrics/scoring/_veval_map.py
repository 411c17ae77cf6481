"""SA-Co/VEval video mAP and phrase AP, as sam3's ``YTVISPredFileEvaluator`` and
``VideoPhraseApEvaluator`` compute them.

Private to `samkit.metrics.scoring` (``saco.score_saco(..., kind="video")`` is the entry point).
The official evaluators are in ``sam3/eval/saco_veval_evaluators.py``: both run ``YTVISeval`` of
``sam3/eval/ytvis_eval.py`` -- pycocotools' ``COCOeval`` with a video-level IoU -- on the
``YTVIS`` index of ``sam3/eval/ytvis_coco_wrapper.py`` (github.com/facebookresearch/sam3, commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e``). This is samkit's own numpy / pycocotools
implementation; ``tests/metrics/test_scoring_saco_veval.py`` compares it with the official outputs.

Conventions reproduced:

- Each video is an "image" of COCOeval. Class mAP (``video_{bbox,mask}_mAP_50_95``) keeps the
  categories: for every category the ground truth's ``categories`` lists, the masklets of that
  category in each video are matched with the predictions of that category there (predictions and
  annotations of unlisted categories are dropped). Phrase AP (``video_{bbox,mask}_phrase_ap_*``)
  ignores categories: every (video, phrase) pair of a prediction or an annotation becomes a video
  of its own (`samkit.metrics.scoring._veval_common.remap_pairs_to_videos`) and all of them form
  one class. ``video_np_pairs`` are not read.
- Video IoU: masks summed over the frames (`~._veval_common.masklet_ious`), boxes in the official
  float32 arithmetic (`~._veval_common.tracklet_ious`), compared with the thresholds in float64.
- Per video (and category): predictions sorted by score, highest first (stable: file order breaks
  ties), only the first 100 kept (``maxDets`` 100); at each IoU threshold 0.50:0.05:0.95 each
  prediction in turn takes the still unmatched ground truth of highest IoU >= the threshold (the
  last of equal IoUs); crowd ground truth (``iscrowd`` true) is matched last, can be matched
  again, and neither its matches nor itself count. pycocotools records a match as the ground
  truth's id, so a prediction matched to an annotation whose ``id`` is 0 counts as a false
  positive (and that annotation stays taken).
- Per category: the videos' predictions pooled (video-id order, then score order), sorted by
  score (stable), precision at the 101 recall points 0:0.01:1 of the interpolated
  precision-recall curve (COCO: ``tp / (tp + fp + eps)``, made monotone from the right, 0 beyond
  the reached recall). A category without ground truth is left out, even if it has predictions.
- ``_50_95`` is the mean over the ten thresholds, 101 recall points and kept categories; ``_50``
  and ``_75`` one threshold; -1 when no category has ground truth. Area ranges (the official
  sets small / medium / large from the mean area over the frames) do not change these keys,
  which use "all".

Neither evaluator reports per-pair values (their video-phrase dicts are empty).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.metrics.scoring._veval_common import (
    DATASET_NAME,
    IOU_TYPES,
    Pair,
    key_prefix,
    pair_video_ids,
    video_ious,
)

#: pycocotools' ``Params.iouThrs``: 0.50, 0.55, ..., 0.95 (the same linspace, bit for bit)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
#: pycocotools' ``Params.recThrs``: 0.00, 0.01, ..., 1.00
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
#: pycocotools' largest ``maxDets``: predictions kept per video (and category), best scores first
MAX_DETS = 100
#: the "all" area range (pixels, mean over the frames)
AREA_ALL = (0.0, 1e5**2)


def map_keys() -> list[str]:
    """The keys `veval_map` returns, in the official order."""
    keys = [f"{DATASET_NAME}_{key_prefix(t)}_mAP_50_95" for t in IOU_TYPES]
    for t in IOU_TYPES:
        keys += [f"{DATASET_NAME}_{key_prefix(t)}_phrase_ap_{s}" for s in ("50_95", "50", "75")]
    return keys


# --------------------------------------------------------------------------------------------
# one video (and category): COCOeval.evaluateImg
# --------------------------------------------------------------------------------------------


@dataclass
class _Matches:
    """pycocotools' per-image record: scores of the kept predictions (score order), the matched
    ground-truth id per threshold and prediction (0: none), which predictions are ignored, and
    which ground truth is ignored."""

    scores: np.ndarray  # (D,)
    matched: np.ndarray  # (T, D) float: ground-truth id, 0 if unmatched
    dt_ignore: np.ndarray  # (T, D) bool
    gt_ignore: np.ndarray  # (G,) bool


def _score_order(dts: Sequence[Mapping]) -> list[int]:
    """Indices of ``dts`` by descending score (stable), the first `MAX_DETS`."""
    order = np.argsort([-d["score"] for d in dts], kind="mergesort")
    return [int(i) for i in order[:MAX_DETS]]


def _mean_area(record: Mapping, boxes: bool) -> float:
    """The official ``area``: mean over the frames of ``areas`` (ground truth, ``None`` as 0) or
    of the boxes' ``w * h`` (predictions: ``loadRes`` recomputes their areas from the boxes)."""
    if boxes:
        values = [0 if b is None else b[2] * b[3] for b in record["bboxes"]]
    else:
        values = [0 if a is None else a for a in record["areas"]]
    return float(np.mean(values))


def _match(gts: Sequence[Mapping], dts: Sequence[Mapping], ious: np.ndarray) -> _Matches | None:
    """Greedy matching of one video (and category) at every threshold, as ``evaluateImg`` with
    the "all" area range; ``dts`` already in score order and truncated, ``ious`` (D, G)."""
    if not gts and not dts:
        return None
    crowd = np.array([bool(g["iscrowd"]) for g in gts], dtype=bool)
    areas = np.array([_mean_area(g, boxes=False) for g in gts])
    ignore = crowd | (areas < AREA_ALL[0]) | (areas > AREA_ALL[1])
    gt_order = np.argsort(ignore.astype(np.int64), kind="mergesort")
    gt_ignore = ignore[gt_order]
    gt_crowd = crowd[gt_order]
    gt_ids = [gts[i]["id"] for i in gt_order]
    n_t, n_d, n_g = len(IOU_THRESHOLDS), len(dts), len(gts)
    matched = np.zeros((n_t, n_d))
    dt_ignore = np.zeros((n_t, n_d), dtype=bool)
    if n_d and n_g:
        iou = ious[:, gt_order]
        for ti, threshold in enumerate(IOU_THRESHOLDS):
            taken = np.zeros(n_g, dtype=bool)
            for di in range(n_d):
                best, m = min(float(threshold), 1 - 1e-10), -1
                for gi in range(n_g):
                    if taken[gi] and not gt_crowd[gi]:
                        continue
                    if m > -1 and not gt_ignore[m] and gt_ignore[gi]:
                        break
                    if iou[di, gi] < best:
                        continue
                    best, m = iou[di, gi], gi
                if m == -1:
                    continue
                dt_ignore[ti, di] = gt_ignore[m]
                matched[ti, di] = gt_ids[m]
                taken[m] = True
    dt_area = np.array([_mean_area(d, boxes=True) for d in dts])
    outside = (dt_area < AREA_ALL[0]) | (dt_area > AREA_ALL[1])
    dt_ignore |= (matched == 0) & outside[None, :]
    scores = np.array([d["score"] for d in dts], dtype=np.float64)
    return _Matches(scores, matched, dt_ignore, gt_ignore)


# --------------------------------------------------------------------------------------------
# one category: COCOeval.accumulate, and the summary
# --------------------------------------------------------------------------------------------


def _precision(images: list[_Matches]) -> np.ndarray | None:
    """(T, R) interpolated precision of one category over its videos (in video-id order), or None
    when it has no ground truth that counts (pycocotools leaves it at -1)."""
    if not images:
        return None
    scores = np.concatenate([e.scores for e in images])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([e.matched for e in images], axis=1)[:, order]
    dt_ignore = np.concatenate([e.dt_ignore for e in images], axis=1)[:, order]
    gt_ignore = np.concatenate([e.gt_ignore for e in images])
    n_pos = np.count_nonzero(gt_ignore == 0)
    if n_pos == 0:
        return None
    tps = np.logical_and(matched, np.logical_not(dt_ignore))
    fps = np.logical_and(np.logical_not(matched), np.logical_not(dt_ignore))
    tp_sum = np.cumsum(tps, axis=1).astype(float)
    fp_sum = np.cumsum(fps, axis=1).astype(float)
    out = np.zeros((len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)))
    for ti, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
        n = len(tp)
        if n == 0:
            continue
        recall = tp / n_pos
        precision = tp / (fp + tp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        at = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
        out[ti] = np.where(at < n, precision[np.minimum(at, n - 1)], 0.0)
    return out


def _summarize(per_category: list[np.ndarray]) -> tuple[float, float, float]:
    """pycocotools' ``stats[0:3]``: mean precision over IoU 0.50:0.95, at 0.5 and at 0.75 (-1 when
    no category counts). Categories that pycocotools leaves at -1 are simply absent here, which
    keeps the order of the values it averages."""
    if not per_category:
        return -1.0, -1.0, -1.0
    s = np.stack(per_category, axis=-1)  # (T, R, K)
    out = []
    for threshold in (None, 0.5, 0.75):
        part = s if threshold is None else s[np.where(threshold == IOU_THRESHOLDS)[0]]
        kept = part[part > -1]
        out.append(-1.0 if len(kept) == 0 else float(np.mean(kept)))
    return out[0], out[1], out[2]


# --------------------------------------------------------------------------------------------
# the two evaluators
# --------------------------------------------------------------------------------------------


def _by_pair(records: Sequence[Mapping]) -> dict[Pair, list[Mapping]]:
    out: dict[Pair, list[Mapping]] = defaultdict(list)
    for r in records:
        out[(r["video_id"], r["category_id"])].append(r)
    return out


def veval_map(gt: Mapping[str, Any], preds: Sequence[Mapping[str, Any]]) -> tuple[dict[str, float], dict[Pair, dict]]:
    """Class mAP and phrase AP of checked VEval records (`~._veval_common.load_veval`).

    Returns ``(dataset_results, video_np_results)``: ``video_{bbox,mask}_mAP_50_95`` then
    ``video_{bbox,mask}_phrase_ap_{50_95,50,75}`` (`map_keys`, fractions in [0, 1], -1 without
    ground truth) and an empty per-pair dict, as the two official evaluators return.
    """
    gts_by_pair = _by_pair(gt["annotations"])
    dts_by_pair = _by_pair(preds)
    pairs = list(pair_video_ids(gt, preds))  # sorted (video_id, category_id): phrase AP's video order
    categories = sorted({int(c["id"]) for c in gt["categories"]})
    results: dict[str, float] = {}
    matches: dict[str, dict[Pair, _Matches | None]] = {}
    for iou_type in IOU_TYPES:
        per_pair = {}
        for pair in pairs:
            gts = gts_by_pair.get(pair, [])
            dts = dts_by_pair.get(pair, [])
            kept = [dts[i] for i in _score_order(dts)]
            ious = video_ious(kept, gts, iou_type) if gts and kept else np.zeros((len(kept), len(gts)))
            per_pair[pair] = _match(gts, kept, ious)
        matches[iou_type] = per_pair

    # class mAP: per listed category, its pairs in video-id order
    for iou_type in IOU_TYPES:
        by_category: dict[int, list[_Matches]] = defaultdict(list)
        listed = set(categories)
        for (_video, category), m in sorted(matches[iou_type].items()):
            if category in listed and m is not None:
                by_category[category].append(m)
        precisions = [p for c in categories if (p := _precision(by_category.get(c, []))) is not None]
        results[f"{DATASET_NAME}_{key_prefix(iou_type)}_mAP_50_95"] = _summarize(precisions)[0]

    # phrase AP: every pair a video of one class, in pair order
    for iou_type in IOU_TYPES:
        images = [m for pair in pairs if (m := matches[iou_type][pair]) is not None]
        precision = _precision(images)
        stats = _summarize([] if precision is None else [precision])
        prefix = f"{DATASET_NAME}_{key_prefix(iou_type)}_phrase_ap"
        results[f"{prefix}_50_95"], results[f"{prefix}_50"], results[f"{prefix}_75"] = stats
    return results, {}
