"""SA-Co scoring: `score_saco` reproduces sam3's official SA-Co evaluators: SA-Co/Gold and Silver
(images, ``kind="image"``) and SA-Co/VEval (videos, ``kind="video"``).

The official image evaluator is ``CGF1Evaluator`` of ``sam3/eval/cgf1_eval.py``, which
``scripts/eval/standalone_cgf1.py`` runs; the official video evaluator is ``VEvalEvaluator`` of
``sam3/eval/saco_veval_eval.py``, which runs the five evaluators of
``sam3/eval/saco_veval_evaluators.py`` (github.com/facebookresearch/sam3, checked at commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e``). samkit re-implements them with numpy, scipy and
pycocotools, and ``tests/metrics/test_scoring_saco.py`` / ``test_scoring_saco_veval*.py`` check
every key against golden outputs of the official code (``tests/data/saco_golden/make_golden.py``,
``tests/data/saco_veval_golden/make_golden.py``). ``docs/metrics_saco.md`` describes the formats
and definitions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from samkit.errors import ParameterError, UnsupportedError
from samkit.metrics.scoring._saco_image import SCORE_THRESHOLD, as_paths, metric_keys, score_image

__all__ = [
    "score_saco",
    "score_saco_video",
    "saco_image_keys",
    "VEVAL_EVALUATORS",
    "SACO_KINDS",
    "SACO_IOU_TYPES",
    "SACO_SCORE_THRESHOLD",
]

#: the benchmarks `score_saco` knows: ``"image"`` (SA-Co/Gold and Silver) and ``"video"`` (SA-Co/VEval)
SACO_KINDS = ("image", "video")

#: what the image evaluator compares: masks (``"segm"``, the official metric) or boxes (``"bbox"``)
SACO_IOU_TYPES = ("segm", "bbox")

#: the official score threshold: predictions with ``score >= 0.5`` count, the others are dropped
SACO_SCORE_THRESHOLD = SCORE_THRESHOLD


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
    iou_type: str | None = None,
) -> dict[str, Any]:
    """Score SA-Co predictions as the official evaluator does ("official mode").

    ``kind="video"`` (SA-Co/VEval) is described in `score_saco_video`, which it calls; the rest of
    this docstring is about ``kind="image"``.

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
        kind: ``"image"`` (SA-Co/Gold and Silver) or ``"video"`` (SA-Co/VEval: one ground-truth
            file, see `score_saco_video`).
        iou_type: ``"segm"`` (masks: the official SA-Co metric, what ``standalone_cgf1.py`` runs;
            the default) or ``"bbox"`` (boxes, which the official gold/silver configs report too).
            Images only: VEval reports boxes and masks together.

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
        if iou_type is not None:
            raise ParameterError(
                f"iou_type applies to kind='image' only (VEval reports box and mask keys together); got {iou_type!r}"
            )
        return score_saco_video(gt, pred_json)
    iou_type = "segm" if iou_type is None else iou_type
    _check_iou_type(iou_type)
    if isinstance(gt, (bytes, bytearray)) or not isinstance(gt, (str, os.PathLike, list, tuple)):
        raise ParameterError(f"gt must be a path or a list of paths (one per annotator); got {type(gt).__name__}")
    gt_paths = as_paths(gt)
    if not gt_paths:
        raise ParameterError("gt must name at least one ground-truth file")
    return score_image(gt_paths, as_paths(pred_json)[0], iou_type)


#: the SA-Co/VEval metric families in the official order (``VEvalEvaluator.evaluators``: YT-VIS
#: mAP, phrase AP, TETA, phrase HOTA, cgF1) -> ``"module:function"`` of samkit's implementation,
#: imported on first use. Each function takes the checked ground-truth dict and prediction list
#: and returns ``(dataset_results, {(video_id, category_id): per-pair results})``.
VEVAL_EVALUATORS: dict[str, str] = {
    "mAP and phrase AP": "samkit.metrics.scoring._veval_map:veval_map",
    "TETA": "samkit.metrics.scoring._veval_teta:veval_teta",
    "phrase HOTA": "samkit.metrics.scoring._veval_hota:veval_hota",
    "cgF1": "samkit.metrics.scoring._veval_cgf1:veval_cgf1",
}


def _veval_function(name: str):
    import importlib

    module, _, function = VEVAL_EVALUATORS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), function)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        raise UnsupportedError(f"SA-Co/VEval {name} ({module}) is not part of this samkit installation") from None


def score_saco_video(
    gt: str | os.PathLike | Sequence[str | os.PathLike], pred_json: str | os.PathLike
) -> dict[str, Any]:
    """Score SA-Co/VEval video predictions as sam3's ``VEvalEvaluator.run_eval`` does.

    Args:
        gt: the ground-truth file (``saco_veval_<subset>_<split>.json``; a list holding one path is
            accepted too): YT-VIS json with ``videos`` (``id``, ``file_names`` one per frame,
            ``height``, ``width``, ``length``), ``annotations`` (one per masklet: ``id``,
            ``video_id``, ``category_id`` = the noun phrase, ``iscrowd``, per-frame
            ``segmentations`` (RLE), ``bboxes`` (pixel ``[x, y, w, h]``) and ``areas``, ``None``
            where the object is not visible), ``categories`` and ``video_np_pairs``
            (``video_id``, ``category_id``, ``num_masklets``, 0 for a negative phrase).
        pred_json: the predictions as sam3's ``YTVISResultsWriter`` dumps them: a JSON list of
            masklets ``{"video_id", "category_id", "score", "segmentations", "bboxes", "areas"}``
            with one entry per frame of the video in each list (an empty frame is an empty RLE with
            box ``[0, 0, 0, 0]`` and area 0, or ``None`` in all three).

    Returns:
        ``{"dataset_results": {...}, "video_np_results": [...]}`` exactly as the official
        evaluator returns it (and writes to its ``eval_res_file``), keys in its order:
        ``dataset_results`` holds ``video_{bbox,mask}_mAP_50_95``,
        ``video_{bbox,mask}_phrase_ap_{50_95,50,75}``, the ten ``video_mask_`` TETA keys (percent,
        5 significant digits), ``video_{bbox,mask}_all_phrase_{HOTA,DetA,AssA,DetRe,DetPr,AssRe,
        AssPr,LocA,OWTA}`` and the cgF1 keys ``video_{bbox,mask}_demo_{cgf1_micro,ilmcc,
        positive_micro_f1}_{50_95,50,75}`` (without ``video_np_pairs`` in the ground truth the
        official evaluator skips the cgF1 keys); ``video_np_results`` one dict per video-phrase
        pair, ``{"video_id", "category_id", "bbox_HOTA", ..., "mask_F1_75"}`` (per-pair HOTA
        metrics, then TP / FP / FN / F1 at 0.5:0.95, 0.5 and 0.75 for boxes and masks), in the
        official order: the pairs of predictions and annotations sorted, then negative pairs.

    The conventions of each family are in the docstrings of the private modules named by
    `VEVAL_EVALUATORS` and in ``docs/metrics_saco.md``. Bad input raises a
    `samkit.errors.DatasetError` naming the file, the record and the field (records the official
    code rejects or silently misreads: a prediction for a video the ground truth lacks, lists that
    do not have one entry per frame, RLE sizes other than the video's, an empty prediction list);
    a missing file is a ``FileNotFoundError``.
    """
    from collections import defaultdict

    from samkit.metrics.scoring._veval_common import load_veval

    if isinstance(gt, (list, tuple)):
        if len(gt) != 1:
            raise ParameterError(f"SA-Co/VEval has one ground-truth file; got {len(gt)} in gt")
        gt = gt[0]
    if not isinstance(gt, (str, os.PathLike)) or not isinstance(pred_json, (str, os.PathLike)):
        raise ParameterError(f"gt and pred_json must be paths; got {type(gt).__name__} and {type(pred_json).__name__}")
    gt_data, preds = load_veval(gt, pred_json)
    dataset_results: dict[str, float] = {}
    per_pair: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for name in VEVAL_EVALUATORS:
        results, pairs = _veval_function(name)(gt_data, preds)
        dataset_results.update(results)
        for pair, values in pairs.items():
            per_pair[pair].update(values)
    if not dataset_results:
        dataset_results = {"": 0.0}
    rows = [
        {"video_id": video_id, "category_id": category_id, **values}
        for (video_id, category_id), values in per_pair.items()
    ]
    return {"dataset_results": dataset_results, "video_np_results": rows}
