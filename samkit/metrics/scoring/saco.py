"""SA-Co scoring: `score_saco` reproduces sam3's official SA-Co/Gold and Silver image evaluator.

The official evaluator is ``CGF1Evaluator`` of ``sam3/eval/cgf1_eval.py``, which
``scripts/eval/standalone_cgf1.py`` runs (github.com/facebookresearch/sam3, checked at commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e``). samkit re-implements it with numpy, scipy and
pycocotools, and ``tests/metrics/test_scoring_saco.py`` checks every key against golden outputs of
the official code (``tests/data/saco_golden/make_golden.py``). ``docs/metrics_saco.md`` describes
the formats and definitions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from samkit.errors import ParameterError, UnsupportedError
from samkit.metrics.scoring._saco_image import SCORE_THRESHOLD, as_paths, metric_keys, score_image

__all__ = ["score_saco", "saco_image_keys", "SACO_KINDS", "SACO_IOU_TYPES", "SACO_SCORE_THRESHOLD"]

#: the benchmarks `score_saco` knows: ``"image"`` (SA-Co/Gold and Silver) and ``"video"`` (SA-Co/VEval,
#: not implemented yet)
SACO_KINDS = ("image", "video")

#: what the image evaluator compares: masks (``"segm"``, the official metric) or boxes (``"bbox"``)
SACO_IOU_TYPES = ("segm", "bbox")

#: the official score threshold: predictions with ``score >= 0.5`` count, the others are dropped
SACO_SCORE_THRESHOLD = SCORE_THRESHOLD

_VEVAL_MISSING = (
    "SA-Co/VEval (kind='video') is not implemented in samkit yet: its official evaluator "
    "(sam3/eval/saco_veval_eval.py with saco_veval_evaluators.py) combines five families that samkit "
    "does not reproduce: YT-VIS video mAP (bbox and mask), phrase AP, TETA (sam3/eval/teta_eval_toolkit), "
    "phrase HOTA (sam3/eval/hota_eval_toolkit, a TrackEval fork) and video cgF1 / demo F1 "
    "(sam3/eval/ytvis_eval.py). kind='image' scores SA-Co/Gold and SA-Co/Silver."
)


def saco_image_keys(iou_type: str = "segm") -> list[str]:
    """The keys `score_saco` returns for ``kind="image"``, in the official order:
    ``cgF1_eval_<iou_type>_<metric>`` for ``cgF1``, ``precision``, ``recall``, ``F1``,
    ``positive_macro_F1``, ``positive_micro_F1``, ``positive_micro_precision`` (means over the IoU
    thresholds 0.50:0.05:0.95), then ``IL_precision``, ``IL_recall``, ``IL_F1``, ``IL_FPR``,
    ``IL_MCC``, then the seven box-level metrics again at ``@0.5`` and at ``@0.75``."""
    _check_iou_type(iou_type)
    return metric_keys(iou_type)


def _check_iou_type(iou_type: str) -> None:
    if iou_type not in SACO_IOU_TYPES:
        raise ParameterError(f"iou_type must be one of {', '.join(map(repr, SACO_IOU_TYPES))}; got {iou_type!r}")


def score_saco(
    gt: str | os.PathLike | Sequence[str | os.PathLike],
    pred_json: str | os.PathLike,
    kind: str = "image",
    *,
    iou_type: str = "segm",
) -> dict[str, float]:
    """Score SA-Co predictions as the official evaluator does ("official mode").

    Args:
        gt: the ground-truth file, or a list of them, one per annotator (SA-Co/Gold has three,
            ``gold_<subset>_merged_{a,b,c}_release_test.json``; SA-Co/Silver one). COCO json whose
            ``images`` are image-phrase pairs (``id``, ``text_input``, ``height``, ``width``,
            ``is_instance_exhaustive``, ...), with ``annotations`` (``id``, ``image_id``,
            ``category_id``, ``segmentation`` RLE or polygons, ``bbox``, ``iscrowd``) and
            ``categories``.
        pred_json: the predictions, SA-Co's results format (what sam3's ``PredictionDumper``
            writes as ``coco_predictions_segm.json``): a JSON list of
            ``{"image_id": <pair id>, "category_id": 1, "segmentation": <compressed RLE>,
            "score": float, "bbox": [x, y, w, h] (the ground truth's units, optional), "area": ...}``.
        kind: ``"image"`` (SA-Co/Gold and Silver). ``"video"`` (SA-Co/VEval) raises
            `samkit.errors.UnsupportedError`.
        iou_type: ``"segm"`` (masks: the official SA-Co metric, what ``standalone_cgf1.py`` runs)
            or ``"bbox"`` (boxes, which the official gold/silver configs report too).

    Returns:
        exactly the official evaluator's dict, keys in its order (`saco_image_keys`), values
        plain floats in its units (fractions; IL_MCC in [-1, 1]); e.g.
        ``"cgF1_eval_segm_cgF1"``, ``"cgF1_eval_segm_IL_MCC"``,
        ``"cgF1_eval_segm_positive_micro_F1@0.5"``. The papers report cgF1 and pmF1 x 100.

    Official conventions reproduced (``sam3/eval/cgf1_eval.py``):

    - Each ``images`` record is one image-phrase pair. Only pairs of the **first** file that are
      ``is_instance_exhaustive`` there, and not marked non-exhaustive in any other file, are
      scored, in the first file's order. Results for other pair ids are ignored.
    - Predictions count when ``score >= 0.5`` (the threshold is fixed); the others are dropped
      before anything else. Only ground truth and results of a category the ground-truth file
      lists count (SA-Co uses category 1 throughout), ordered by category id, then file order.
    - Crowd ground truth (``iscrowd`` true) is removed before matching: it neither matches nor
      excuses a prediction; a pair whose objects are all crowd is a negative.
    - Per pair, IoUs (pycocotools ``mask.iou``; boxes for ``"bbox"``) are matched one-to-one by the
      Hungarian algorithm (scipy ``linear_sum_assignment`` maximising the summed IoU, not
      greedily by score); at each IoU threshold t in 0.50:0.05:0.95 a matched pair with
      IoU >= t is a TP, the other predictions FPs, the other objects FNs.
    - Image level: a pair with objects is positive, one with predictions is predicted positive,
      giving IL TP / FP / TN / FN (a negative without predictions is a TN and has no box-level
      counts; a positive without predictions adds its objects to FN).
    - Per pair: P = TP / (TP + FP + 1e-4), R = TP / (TP + FN + 1e-4), local F1 =
      2PR / (P + R + 1e-4). Over the pairs: ``precision``, ``recall``, ``F1`` the same from summed
      counts (negatives' FPs included); ``positive_micro_precision`` / ``positive_micro_F1`` with
      only positives' FPs; ``positive_macro_F1`` the mean local F1 over positive pairs that have
      predictions (-1 when there is none); IL precision, recall, F1, FPR with a 1e-6 guard and
      ``IL_MCC = (TP*TN - FP*FN) / (sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) + 1e-6)``;
      ``cgF1 = positive_micro_F1 * IL_MCC`` per threshold. Un-suffixed box-level keys are the mean
      over the ten thresholds (values <= -1 or NaN left out, -1 if none is left), ``@0.5`` and
      ``@0.75`` one threshold.
    - Several annotators (the "oracle" setting): each pair is scored against every file, and the
      first file's result is kept unless a later file gives a strictly higher mean local F1; a
      result without local F1 (a true negative: no objects, no predictions) wins over any other,
      whichever file gives it. A pair missing from a later file counts as a negative there when it
      has no results.
    - Segmentations are read as pycocotools' ``annToRLE`` does (compressed RLE as is; polygons and
      uncompressed RLE rasterised at the pair's ``height`` x ``width``); for ``"bbox"`` the
      ground truth's ``bbox`` is used as written (SA-Co's files store boxes normalised by the
      image size, and sam3's prediction dumper writes results' boxes normalised too, as
      `samkit.eval.saco` does: compare like with like) and a result's ``bbox``, else the box of
      its mask (in pixels: give results a normalised ``bbox`` against normalised ground truth).
    - The standalone script reports no "demo" variants for images (``demo_eval.py`` is the
      training-time evaluator), so neither does samkit.

    Where the official code stops with an error or yields meaningless numbers, samkit raises a
    `samkit.errors.DatasetError` (a ``ValueError``) naming the file and the record instead:
    malformed JSON or records (missing ``image_id``, ``category_id``, ``score``, ``iscrowd``,
    ``is_instance_exhaustive``, ``segmentation``), duplicate annotation or category ids, results
    for a pair that a later annotator's file lacks, no pair left to score, and a result mask whose
    size differs from the ground truth's (pycocotools' IoU of -1, which the official evaluator
    silently counts as a miss). One official failure is not reproduced: with several annotator
    files, the official code crashes on pairs whose results carry no ``bbox`` (its ``loadRes``
    reuses the array it added on the first pass); samkit scores them like a single file would.
    A missing file is a ``FileNotFoundError``.
    """
    if kind not in SACO_KINDS:
        raise ParameterError(f"kind must be one of {', '.join(map(repr, SACO_KINDS))}; got {kind!r}")
    if kind == "video":
        raise UnsupportedError(_VEVAL_MISSING)
    _check_iou_type(iou_type)
    if isinstance(gt, (bytes, bytearray)) or not isinstance(gt, (str, os.PathLike, list, tuple)):
        raise ParameterError(f"gt must be a path or a list of paths (one per annotator); got {type(gt).__name__}")
    gt_paths = as_paths(gt)
    if not gt_paths:
        raise ParameterError("gt must name at least one ground-truth file")
    return score_image(gt_paths, as_paths(pred_json)[0], iou_type)
