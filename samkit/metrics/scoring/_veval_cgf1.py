"""SA-Co/VEval video cgF1 ("demo" F1), as sam3's ``VideoCGF1Evaluator`` computes it.

Private to `samkit.metrics.scoring`. The official evaluator is ``VideoCGF1Evaluator`` of
``sam3/eval/saco_veval_evaluators.py``: ``VideoDemoF1Eval`` of ``sam3/eval/ytvis_eval.py`` (the
image ``CGF1Eval`` of ``sam3/eval/cgf1_eval.py`` with masklet / tracklet IoUs) on every
(video, noun phrase) pair (github.com/facebookresearch/sam3, commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e``). This is samkit's own numpy / scipy / pycocotools
implementation; ``tests/metrics/test_scoring_saco_veval_hota_cgf1.py`` compares it with the official
outputs.

Official conventions and quirks reproduced:

- Pairs: every (video_id, category_id) of a prediction (whatever its score) or annotation, numbered
  in sorted order, then the ``video_np_pairs`` negatives not among them (``pair_ids``). Without
  ``video_np_pairs`` in the ground truth only the per-pair counts are returned (the dataset-level
  cgF1 / IL_MCC keys need the negatives).
- Predictions count when ``score >= 0.5``; ground truth with a truthy ``iscrowd`` is ignored. IoUs
  are computed between all predictions and all annotations of the pair and then subset.
- Masklet and tracklet (box) IoUs are ``_veval_common.masklet_ious`` / ``tracklet_ious``: summed
  intersections over summed unions across the frames (a ``None`` box is ``[0, 0, 0, 0]``; masklet
  IoU 1.0 when the union is 0; box IoUs float32 values as the official torch code gives them).
- Per pair, predictions and annotations are matched one-to-one by the Hungarian algorithm on IoU
  (scipy ``linear_sum_assignment``, not greedy by score); at each threshold t of 0.50:0.05:0.95 a
  matched pair with IoU >= t is a TP (box IoUs compared in float32, as the pinned numpy 1.x does),
  other predictions FP, other annotations FN. A pair with annotations but no kept prediction is
  an image-level FN with all annotations FN; one with neither is an image-level TN and no counts.
- Dataset level: ``positive_micro_F1`` from summed TP / FN and the FPs of positive pairs only,
  with the ``1e-4`` guards; ``IL_MCC`` from pair-level TP / FP / TN / FN with a ``1e-6`` guard;
  ``cgF1 = positive_micro_F1 * IL_MCC``; ``_50_95`` keys are the mean over the ten thresholds
  (values <= -1 or NaN left out, -1 if none is left), ``_50`` / ``_75`` one threshold, and
  ``ilmcc_50`` / ``ilmcc_75`` are ``cgF1 / positive_micro_F1`` at that threshold (NaN for 0 / 0).
- Per pair: TP, FP, FN and F1 = 2TP / (2TP + FP + FN) (1.0 when nothing is there) at 0.5, 0.75 and
  averaged over the thresholds.
- pycocotools' ``loadAnns`` quirk: annotations are looked up by id, so when two annotations share
  an id, the later one is scored twice (in its own pair) and the earlier one not at all.

Where the official evaluator stops with an error (a prediction for a video the ground truth
lacks, tracklets of different lengths, a summed box union of 0), samkit raises
`samkit.errors.DatasetError`.
An empty prediction list (the official crashes in ``loadRes``) is scored as no predictions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from samkit.metrics.scoring._veval_common import DATASET_NAME, Pair, masklet_ious, tracklet_ious
from samkit.metrics.scoring._veval_hota import IOU_TYPES, field, gt_segmentations, pair_ids, records

#: predictions count when ``score >= CGF1_SCORE_THRESHOLD``
CGF1_SCORE_THRESHOLD = 0.5
#: the dataset-level metrics, in the official order per IoU type (each at _50_95, _50, _75)
CGF1_METRICS = ("cgf1_micro", "ilmcc", "positive_micro_f1")
#: pycocotools' ``Params.iouThrs`` (0.50, 0.55, ..., 0.95, bit for bit)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)

_I50 = int(np.flatnonzero(IOU_THRESHOLDS == 0.5)[0])
_I75 = int(np.flatnonzero(IOU_THRESHOLDS == 0.75)[0])


# --------------------------------------------------------------------------------------------
# counts per pair and the dataset-level metrics
# --------------------------------------------------------------------------------------------


def _pair_counts(gts: list[Mapping], dts: list[Mapping], iou_type: str) -> dict[str, Any]:
    """The official per-pair record: IL flags and, unless a true negative, TP/FP/FN per threshold."""
    keep_g = np.array([not ("iscrowd" in g and g["iscrowd"]) for g in gts], dtype=bool)
    keep_d = np.array([d["score"] >= CGF1_SCORE_THRESHOLD for d in dts], dtype=bool)
    n_g, n_d = int(keep_g.sum()), int(keep_d.sum())
    n_thr = len(IOU_THRESHOLDS)
    if n_g == 0 and n_d == 0:
        return {"IL": "TN", "positive": False}
    if n_d == 0:
        zeros = np.zeros(n_thr, dtype=np.int64)
        return {"IL": "FN", "positive": True, "TP": zeros, "FP": zeros, "FN": np.full(n_thr, n_g, dtype=np.int64)}
    if gts and dts:
        if iou_type == "bbox":  # float32 values, as the official torch code gives them
            ious = tracklet_ious([d["bboxes"] for d in dts], [g["bboxes"] for g in gts]).astype(np.float32)
        else:
            ious = masklet_ious([d["segmentations"] for d in dts], [g["segmentations"] for g in gts])
        ious = ious[keep_d, :][:, keep_g]
    else:
        ious = np.zeros((n_d, n_g))
    rows, cols = linear_sum_assignment(-ious)
    matched = ious[rows, cols]
    # numpy 1.x (which the official pins) compares a float32 array with a float64 scalar in float32
    tp = np.array([(matched >= matched.dtype.type(t)).sum() for t in IOU_THRESHOLDS], dtype=np.int64)
    return {"IL": "TP" if n_g else "FP", "positive": n_g > 0, "TP": tp, "FP": n_d - tp, "FN": n_g - tp}


def _summarize(values: np.ndarray, index: int | None = None) -> float:
    """Official ``_summarize``: mean over the thresholds (or one) of the values > -1, else -1."""
    s = values if index is None else values[[index]]
    s = s[s > -1]
    return -1.0 if len(s) == 0 else float(np.mean(s))


def _dataset_metrics(pairs: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    """cgF1 (micro), IL_MCC and positive micro F1 over all pairs, official keys and order."""
    n_thr = len(IOU_THRESHOLDS)
    tp, fn, pos_fp = (np.zeros(n_thr, dtype=np.int64) for _ in range(3))
    il = {"TP": 0, "FP": 0, "TN": 0, "FN": 0}
    for rec in pairs:
        il[rec["IL"]] += 1
        if "TP" in rec:
            tp, fn = tp + rec["TP"], fn + rec["FN"]
            if rec["positive"]:
                pos_fp = pos_fp + rec["FP"]
    precision = tp / (tp + pos_fp + 1e-4)
    recall = tp / (tp + fn + 1e-4)
    pmf1 = 2 * precision * recall / (precision + recall + 1e-4)
    il_tp, il_fp, il_tn, il_fn = il["TP"], il["FP"], il["TN"], il["FN"]
    il_mcc = float(il_tp * il_tn - il_fp * il_fn) / (
        (float(il_tp + il_fp) * float(il_tp + il_fn) * float(il_tn + il_fp) * float(il_tn + il_fn)) ** 0.5 + 1e-6
    )
    cgf1 = pmf1 * il_mcc
    out = {
        f"{prefix}_cgf1_micro_50_95": _summarize(cgf1),
        f"{prefix}_ilmcc_50_95": il_mcc,
        f"{prefix}_positive_micro_f1_50_95": _summarize(pmf1),
    }
    for suffix, index in (("50", _I50), ("75", _I75)):
        c, p = _summarize(cgf1, index), _summarize(pmf1, index)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = float(np.float64(c) / np.float64(p))
        out.update(
            {
                f"{prefix}_cgf1_micro_{suffix}": c,
                f"{prefix}_ilmcc_{suffix}": ratio,
                f"{prefix}_positive_micro_f1_{suffix}": p,
            }
        )
    return out


def _pair_metrics(rec: dict[str, Any], prefix: str) -> dict[str, float]:
    """Per-pair TP / FP / FN / F1 at 0.50:0.95 (mean), 0.5 and 0.75."""
    zeros = np.zeros(len(IOU_THRESHOLDS), dtype=np.int64)
    tp, fp, fn = (rec.get(k, zeros) for k in ("TP", "FP", "FN"))
    denom = 2 * tp + fp + fn
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)
    out = {}
    for suffix, pick in (("50_95", np.mean), ("50", lambda v: v[_I50]), ("75", lambda v: v[_I75])):
        for name, values in (("TP", tp), ("FP", fp), ("FN", fn), ("F1", f1)):
            out[f"{prefix}_{name}_{suffix}"] = float(pick(values))
    return out


def cgf1_keys() -> list[str]:
    """The dataset-level keys of `veval_cgf1` (with ``video_np_pairs`` in the ground truth), in order."""
    return [
        f"{DATASET_NAME}_{prefix}_demo_{metric}_{suffix}"
        for _, _, prefix in IOU_TYPES
        for suffix in ("50_95", "50", "75")
        for metric in CGF1_METRICS
    ]


def veval_cgf1(gt: Mapping, preds: Sequence[Mapping]) -> tuple[dict[str, float], dict[Pair, dict[str, float]]]:
    """Video cgF1 of SA-Co/VEval predictions, as the official ``VideoCGF1Evaluator``.

    Args:
        gt: the loaded VEval ground-truth json (``videos``, ``annotations`` with per-frame
            ``bboxes`` and ``segmentations``, ``video_np_pairs`` listing every (video, phrase)
            pair including the negatives).
        preds: the loaded prediction list (``video_id``, ``category_id``, ``score``, per-frame
            ``bboxes`` xywh and ``segmentations`` RLE). Neither argument is modified.

    Returns:
        ``(dataset_results, per_pair)``: ``dataset_results`` has the keys of `cgf1_keys`
        (``video_bbox_demo_cgf1_micro_50_95``, ..., ``video_mask_demo_positive_micro_f1_75``; empty
        when the ground truth has no ``video_np_pairs``); ``per_pair`` maps every (video_id,
        category_id) to ``{"bbox_TP_50_95": ..., "bbox_F1_75": ..., "mask_TP_50_95": ..., ...}``
        in the official order. The module docstring lists the conventions.
    """
    anns = records(gt, "annotations", "ground truth")
    preds = records(preds, None, "predictions")
    for i, pred in enumerate(preds):
        for key in ("score", "bboxes", "segmentations"):
            field(pred, key, f"prediction {i}")
    with_negatives = "video_np_pairs" in gt
    ids = pair_ids(gt, preds, negatives=with_negatives)

    by_id = {}
    for i, ann in enumerate(anns):
        segs = gt_segmentations(ann, f"annotation {i}")
        records(ann, "bboxes", f"annotation {i}")
        by_id[field(ann, "id", f"annotation {i}")] = {**ann, "segmentations": segs}
    # pycocotools: the ids of each pair's annotations (pairs in id order), looked up by id, and the
    # annotation found filed under its own pair (with duplicate ids the last one is filed repeatedly)
    ann_ids: dict[int, list] = defaultdict(list)
    for ann in anns:
        ann_ids[ids[(ann["video_id"], ann["category_id"])]].append(ann["id"])
    gts: dict[int, list[dict]] = defaultdict(list)
    for seq in sorted(ann_ids):
        for ann_id in ann_ids[seq]:
            found = by_id[ann_id]
            gts[ids[(found["video_id"], found["category_id"])]].append(found)
    dts: dict[int, list[Mapping]] = defaultdict(list)
    for pred in preds:
        dts[ids[(pred["video_id"], pred["category_id"])]].append(pred)

    dataset: dict[str, float] = {}
    per_pair: dict[Pair, dict[str, float]] = {pair: {} for pair in ids}
    for iou_type, _, prefix in IOU_TYPES:
        counts = [_pair_counts(gts[seq], dts[seq], iou_type) for seq in ids.values()]
        if with_negatives:
            dataset.update(_dataset_metrics(counts, f"{DATASET_NAME}_{prefix}_demo"))
        for pair, rec in zip(ids, counts):
            per_pair[pair].update(_pair_metrics(rec, prefix))
    return dataset, per_pair
