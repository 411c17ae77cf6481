"""SA-Co/VEval phrase HOTA, as sam3's ``VideoPhraseHotaEvaluator`` computes it.

Private to `samkit.metrics.scoring`. The official evaluator is ``VideoPhraseHotaEvaluator`` of
``sam3/eval/saco_veval_evaluators.py``, which runs the TrackEval fork ``sam3/eval/hota_eval_toolkit``
(YouTube-VIS dataset, HOTA metric) on every (video, noun phrase) pair (github.com/facebookresearch/sam3,
commit ``99d02f28c8d34610ab35559b72642b01f10fdb1e``). This is samkit's own numpy / scipy /
pycocotools implementation; ``tests/metrics/test_scoring_saco_veval_hota_cgf1.py`` compares it with
the official outputs.

Official conventions and quirks reproduced:

- Predictions count when ``score > 0.5`` (strictly); the score value is then ignored (every kept
  prediction weighs the same). In a kept prediction, a frame whose area is 0, or whose box is
  ``None`` or all zeros, is empty (box, mask and area dropped); otherwise box, mask and area must be
  all given or all ``None`` (the official code asserts; samkit raises `samkit.errors.DatasetError`).
- Every (video_id, category_id) pair of a kept prediction or of a ground-truth annotation is its
  own sequence, numbered 1, 2, ... in sorted pair order (``_veval_common.pair_video_ids``);
  ``video_np_pairs`` negatives without either are not scored. A sequence has ``len(file_names)``
  frames of its video.
- A frame holds a detection when its box (``bbox``) / segmentation (``mask``) is truthy: ground-truth
  ``None`` frames are absent, but a ground-truth ``[0, 0, 0, 0]`` box or empty-mask RLE is a detection
  (it has IoU 0 with everything). Ground-truth track ids are the annotation ids (an id twice in one
  frame is an error), prediction ids their order.
- Similarities per frame: box IoU in float32 with zero-area boxes giving 0 (TrackEval's
  ``_calculate_box_ious`` on ``xywh``); mask IoU by pycocotools (uncompressed ground-truth RLE
  compressed first).
- HOTA per sequence (Luiten et al. 2020, TrackEval's definition) at the 19 alphas
  ``np.arange(0.05, 0.99, 0.05)``: Hungarian matching per frame on (global alignment x similarity),
  a match counts at alpha when ``similarity >= alpha - eps`` (compared in float32 for boxes, as the
  pinned numpy 1.x does), LocA sums matched similarities in float64 (numpy 1.x promotion);
  AssA / AssRe / AssPr averaged over TPs, DetA = TP / (TP + FN + FP), HOTA = sqrt(DetA * AssA),
  OWTA = sqrt(DetRe * AssA). A sequence without predictions or without ground truth has
  LocA = 1 and all other fields 0.
- Dataset level: TP / FN / FP summed over sequences, AssA / AssRe / AssPr and LocA TP-weighted
  (1e-10 guards on LocA), the other fields recomputed from them; every reported number is the
  mean over the 19 alphas. When every annotation has ``tags``, the sequences holding an annotation
  tagged ``"tracking_challenging_pair"`` are combined again (``..._challenging_phrase_...`` keys).
- Where the official evaluator stops with an error (no annotations at all, all annotations tagged
  but none challenging, a prediction for a video the ground truth lacks), samkit raises
  `samkit.errors.DatasetError`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from samkit.errors import DatasetError
from samkit.metrics.scoring._veval_common import DATASET_NAME, Pair, compress_rle, pair_video_ids

#: predictions count when ``score > HOTA_SCORE_THRESHOLD`` (strictly)
HOTA_SCORE_THRESHOLD = 0.5
#: the HOTA sub-metrics reported, in the official order
HOTA_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
#: TrackEval's localisation thresholds alpha (19 values, 0.05 ... 0.95)
ALPHAS = np.arange(0.05, 0.99, 0.05)
#: the tag that marks annotations of the "challenging" sequences
CHALLENGING_TAG = "tracking_challenging_pair"
#: (official iou type, field of the records, key prefix)
IOU_TYPES = (("bbox", "bboxes", "bbox"), ("segm", "segmentations", "mask"))

_EPS = float(np.finfo(float).eps)
_COUNTS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")


# --------------------------------------------------------------------------------------------
# shared with the cgF1 module: reading records, numbering the (video, phrase) pairs
# --------------------------------------------------------------------------------------------


def field(record: Any, key: str, what: str) -> Any:
    """``record[key]``, or a `DatasetError` naming ``what`` (e.g. ``"annotation 3"``)."""
    if not isinstance(record, Mapping):
        raise DatasetError(f"SA-Co/VEval {what} must be a JSON object; got {type(record).__name__}")
    if key not in record:
        raise DatasetError(f"SA-Co/VEval {what} has no {key!r} field (it has {sorted(map(str, record))})")
    return record[key]


def records(container: Any, key: str | None, what: str) -> list:
    """The list ``container[key]`` (``container`` itself when ``key`` is None), checked to be a list."""
    value = container if key is None else field(container, key, what)
    if not isinstance(value, list):
        raise DatasetError(f"SA-Co/VEval {what}{'' if key is None else '.' + key} must be a list")
    return value


def pair_ids(gt: Mapping, preds: Sequence[Mapping], *, negatives: bool = False) -> dict[Pair, int]:
    """`samkit.metrics.scoring._veval_common.pair_video_ids` (the official renumbering of the
    (video_id, category_id) pairs to 1, 2, ...), after checking the fields it reads and that every
    pair's video is in the ground truth (the official evaluator fails otherwise)."""
    for i, pred in enumerate(preds):
        field(pred, "video_id", f"prediction {i}"), field(pred, "category_id", f"prediction {i}")
    for i, ann in enumerate(records(gt, "annotations", "ground truth")):
        field(ann, "video_id", f"annotation {i}"), field(ann, "category_id", f"annotation {i}")
    if negatives:
        for i, vnp in enumerate(records(gt, "video_np_pairs", "ground truth")):
            field(vnp, "video_id", f"video_np_pair {i}"), field(vnp, "category_id", f"video_np_pair {i}")
    try:
        ids = pair_video_ids(gt, preds, negatives)
    except TypeError:
        raise DatasetError("SA-Co/VEval video_id and category_id values must be comparable (all numbers)") from None
    known = {field(v, "id", f"video {i}") for i, v in enumerate(records(gt, "videos", "ground truth"))}
    for video_id, category_id in ids:
        if video_id not in known:
            raise DatasetError(
                f"SA-Co/VEval pair (video_id={video_id!r}, category_id={category_id!r}) names a video "
                "that the ground truth's 'videos' lacks (the official evaluator fails on it)"
            )
    return ids


def videos_by_id(gt: Mapping) -> dict[Any, Mapping]:
    """The ground truth's ``videos`` by id (the last one wins, as in the official dict)."""
    return {v["id"]: v for v in records(gt, "videos", "ground truth")}


def gt_segmentations(ann: Mapping, what: str) -> list:
    """An annotation's per-frame RLEs, uncompressed ones compressed (``None`` kept)."""
    segs = records(ann, "segmentations", what)
    for t, seg in enumerate(segs):
        if seg is not None and not (isinstance(seg, Mapping) and "counts" in seg and "size" in seg):
            raise DatasetError(
                f"SA-Co/VEval {what} segmentation {t} must be an RLE dict with 'size' and 'counts' or null"
            )
    return [compress_rle(seg) for seg in segs]


# --------------------------------------------------------------------------------------------
# similarities
# --------------------------------------------------------------------------------------------


def _box_ious(gt_boxes: list, pred_boxes: list) -> np.ndarray:
    """IoU (n_gt, n_pred) float32 of xywh boxes, zero-area boxes giving 0 (TrackEval's box IoU)."""
    a = np.array(gt_boxes, dtype=np.float32).reshape(-1, 4)
    b = np.array(pred_boxes, dtype=np.float32).reshape(-1, 4)
    for box in (a, b):  # to x0 y0 x1 y1, in float32 like the official
        box[:, 2] = box[:, 0] + box[:, 2]
        box[:, 3] = box[:, 1] + box[:, 3]
    lo = np.maximum(a[:, None, :], b[None, :, :])
    hi = np.minimum(a[:, None, :], b[None, :, :])
    inter = np.maximum(hi[..., 2] - lo[..., 0], 0) * np.maximum(hi[..., 3] - lo[..., 1], 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    tiny = np.float32(_EPS)
    inter[area_a <= tiny, :] = 0
    inter[:, area_b <= tiny] = 0
    inter[union <= tiny] = 0
    union[union <= tiny] = 1
    return inter / union


def _mask_ious(gt_rles: list, pred_rles: list) -> np.ndarray:
    """IoU (n_gt, n_pred) float64 of RLE masks (pycocotools, no crowd)."""
    if not gt_rles or not pred_rles:
        return np.zeros((len(gt_rles), len(pred_rles)))
    try:
        ious = mask_utils.iou(gt_rles, pred_rles, [0] * len(pred_rles))
    except Exception as e:  # malformed RLE
        raise DatasetError(f"SA-Co/VEval segmentation that pycocotools cannot read: {e}") from None
    if (ious < 0).any():  # pycocotools' -1: masks of different sizes (the official asserts IoU >= 0)
        raise DatasetError("SA-Co/VEval prediction and ground-truth masks of one frame have different sizes")
    return ious


# --------------------------------------------------------------------------------------------
# HOTA of one sequence, and combined over sequences
# --------------------------------------------------------------------------------------------


def _final_fields(res: dict[str, np.ndarray]) -> None:
    """DetRe, DetPr, DetA, HOTA and OWTA from the counts and AssA (in place)."""
    tp = res["HOTA_TP"]
    res["DetRe"] = tp / np.maximum(1, tp + res["HOTA_FN"])
    res["DetPr"] = tp / np.maximum(1, tp + res["HOTA_FP"])
    res["DetA"] = tp / np.maximum(1, tp + res["HOTA_FN"] + res["HOTA_FP"])
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])


def hota_sequence(frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_gt: int, n_pred: int) -> dict:
    """HOTA arrays (one value per alpha) of one sequence.

    Args:
        frames: per frame ``(gt_ids, pred_ids, similarity)``: int arrays of track indices in
            ``[0, n_gt)`` / ``[0, n_pred)`` and their similarity matrix (len(gt_ids), len(pred_ids)).
        n_gt, n_pred: number of ground-truth / predicted tracks.

    Returns:
        ``{field: float64 array (19,)}`` for `HOTA_FIELDS` and ``HOTA_TP``, ``HOTA_FN``, ``HOTA_FP``.
    """
    n_alpha = len(ALPHAS)
    res = {name: np.zeros(n_alpha) for name in HOTA_FIELDS + _COUNTS}
    n_gt_dets = sum(len(g) for g, _, _ in frames)
    n_pred_dets = sum(len(p) for _, p, _ in frames)
    if n_pred_dets == 0 or n_gt_dets == 0:  # nothing to match: LocA 1, the rest 0
        if n_pred_dets == 0:
            res["HOTA_FN"] = n_gt_dets * np.ones(n_alpha)
        else:
            res["HOTA_FP"] = n_pred_dets * np.ones(n_alpha)
        res["LocA"] = np.ones(n_alpha)
        return res

    # global alignment: soft IoU of each (gt track, predicted track) over the whole sequence
    potential = np.zeros((n_gt, n_pred))
    gt_count = np.zeros((n_gt, 1))
    pred_count = np.zeros((1, n_pred))
    for g, p, sim in frames:
        denom = sim.sum(0)[np.newaxis, :] + sim.sum(1)[:, np.newaxis] - sim
        soft = np.zeros_like(sim)
        ok = denom > sim.dtype.type(_EPS)
        soft[ok] = sim[ok] / denom[ok]
        potential[g[:, np.newaxis], p[np.newaxis, :]] += soft
        gt_count[g] += 1
        pred_count[0, p] += 1
    alignment = potential / (gt_count + pred_count - potential)

    matches = np.zeros((n_alpha, n_gt, n_pred))  # per alpha: matched frames of each track pair
    for g, p, sim in frames:
        if len(g) == 0:
            res["HOTA_FP"] += len(p)
            continue
        if len(p) == 0:
            res["HOTA_FN"] += len(g)
            continue
        rows, cols = linear_sum_assignment(-(alignment[g[:, np.newaxis], p[np.newaxis, :]] * sim))
        matched = sim[rows, cols]
        # a match counts at alpha when sim >= alpha - eps; numpy 1.x (which the official pins)
        # compares a float32 array with a float64 scalar in float32
        hit = matched[np.newaxis, :] >= (ALPHAS - _EPS).astype(sim.dtype)[:, np.newaxis]
        n = hit.sum(1)
        res["HOTA_TP"] += n
        res["HOTA_FN"] += len(g) - n
        res["HOTA_FP"] += len(p) - n
        # LocA: the matched similarities summed left to right in float64 (numpy 1.x: 0 + float32
        # scalar is float64); cumsum is sequential and the zeros in between change nothing
        res["LocA"] += np.cumsum(np.where(hit, matched.astype(np.float64), 0.0), axis=1)[:, -1]
        alpha_idx, match_idx = np.nonzero(hit)
        matches[alpha_idx, g[rows[match_idx]], p[cols[match_idx]]] += 1

    for a in range(n_alpha):
        m = matches[a]
        tp = np.maximum(1, res["HOTA_TP"][a])
        res["AssA"][a] = np.sum(m * (m / np.maximum(1, gt_count + pred_count - m))) / tp
        res["AssRe"][a] = np.sum(m * (m / np.maximum(1, gt_count))) / tp
        res["AssPr"][a] = np.sum(m * (m / np.maximum(1, pred_count))) / tp
    res["LocA"] = np.maximum(1e-10, res["LocA"]) / np.maximum(1e-10, res["HOTA_TP"])
    _final_fields(res)
    return res


def combine_sequences(results: list[dict]) -> dict:
    """TrackEval's combination over sequences (sums, TP-weighted AssA/AssRe/AssPr/LocA)."""
    res = {name: sum(r[name] for r in results) for name in _COUNTS}
    for name in ("AssRe", "AssPr", "AssA"):
        res[name] = sum(r[name] * r["HOTA_TP"] for r in results) / np.maximum(1.0, res["HOTA_TP"])
    loca = sum(r["LocA"] * r["HOTA_TP"] for r in results)
    res["LocA"] = np.maximum(1e-10, loca) / np.maximum(1e-10, res["HOTA_TP"])
    _final_fields(res)
    return res


# --------------------------------------------------------------------------------------------
# the evaluator
# --------------------------------------------------------------------------------------------


def _kept_predictions(preds: Sequence[Mapping]) -> list[dict]:
    """Predictions with ``score > 0.5``, empty frames set to None (new dicts; inputs untouched)."""
    kept = []
    for i, pred in enumerate(records(preds, None, "predictions")):
        what = f"prediction {i}"
        score = field(pred, "score", what)
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise DatasetError(f"SA-Co/VEval {what} has a non-numeric score {score!r}")
        if not score > HOTA_SCORE_THRESHOLD:
            continue
        boxes, segs, areas = (records(pred, k, what) for k in ("bboxes", "segmentations", "areas"))
        if not len(boxes) == len(segs) == len(areas):
            raise DatasetError(f"SA-Co/VEval {what} has bboxes, segmentations and areas of different lengths")
        new_boxes, new_segs = [], []
        for t, (box, seg, area) in enumerate(zip(boxes, segs, areas)):
            if area == 0 or box is None or all(x == 0 for x in box):
                box = seg = area = None
            if not (area is None) == (box is None) == (seg is None):
                raise DatasetError(
                    f"SA-Co/VEval {what}, frame {t}: box, mask and area must be all given or all null "
                    "(the official evaluator asserts it)"
                )
            new_boxes.append(box)
            new_segs.append(seg)
        kept.append({**pred, "bboxes": new_boxes, "segmentations": new_segs})
    return kept


def _sequence_frames(
    gt_tracks: list[Mapping], pred_tracks: list[Mapping], key: str, n_frames: int, seq: int
) -> tuple[list, int, int]:
    """Per frame (gt ids, pred ids, similarity) with ids relabelled 0.. as TrackEval does."""
    present_gt, present_pred = [], []
    for t in range(n_frames):
        try:
            gts = [(ann["id"], ann[key][t]) for ann in gt_tracks if ann[key][t]]
            preds = [(j, pr[key][t]) for j, pr in enumerate(pred_tracks) if pr[key][t]]
        except IndexError:
            raise DatasetError(
                f"SA-Co/VEval sequence {seq}: a track has fewer {key} than its video's {n_frames} frames"
            ) from None
        ids = [i for i, _ in gts]
        if len(set(ids)) != len(ids):
            raise DatasetError(
                f"SA-Co/VEval ground truth has the same annotation id twice in frame {t} of sequence {seq}"
            )
        present_gt.append(gts)
        present_pred.append(preds)
    gt_index = {i: k for k, i in enumerate(sorted({i for gts in present_gt for i, _ in gts}))}
    pred_index = {j: k for k, j in enumerate(sorted({j for preds in present_pred for j, _ in preds}))}
    frames = []
    for gts, preds in zip(present_gt, present_pred):
        similarity = (_box_ious if key == "bboxes" else _mask_ious)([d for _, d in gts], [d for _, d in preds])
        frames.append(
            (
                np.array([gt_index[i] for i, _ in gts], dtype=int),
                np.array([pred_index[j] for j, _ in preds], dtype=int),
                similarity,
            )
        )
    return frames, len(gt_index), len(pred_index)


def _challenging(gt_anns: list[Mapping], ids: dict[Pair, int]) -> set[int] | None:
    """Sequence ids of the "challenging" combination, or None when not every annotation has tags."""
    if not all("tags" in ann for ann in gt_anns):
        return None
    seqs = {ids[(a["video_id"], a["category_id"])] for a in gt_anns if CHALLENGING_TAG in a["tags"]}
    if not seqs:
        raise DatasetError(
            f"SA-Co/VEval ground truth: every annotation has 'tags' but none is tagged {CHALLENGING_TAG!r} "
            "(the official evaluator fails on this)"
        )
    for ann in gt_anns:
        if ids[(ann["video_id"], ann["category_id"])] in seqs and CHALLENGING_TAG not in ann["tags"]:
            raise DatasetError(
                f"SA-Co/VEval annotation {ann.get('id')!r} lacks the tag {CHALLENGING_TAG!r} that other "
                "annotations of its (video, phrase) pair have (the official evaluator asserts per pair)"
            )
    return seqs


def hota_keys(challenging: bool = False) -> list[str]:
    """The dataset-level keys of `veval_hota`, in order (``..._challenging_...`` ones when tagged)."""
    groups = ("all", "challenging") if challenging else ("all",)
    return [
        f"{DATASET_NAME}_{prefix}_{group}_phrase_{name}"
        for _, _, prefix in IOU_TYPES
        for group in groups
        for name in HOTA_FIELDS
    ]


def veval_hota(gt: Mapping, preds: Sequence[Mapping]) -> tuple[dict[str, float], dict[Pair, dict[str, float]]]:
    """Phrase HOTA of SA-Co/VEval predictions, as the official ``VideoPhraseHotaEvaluator``.

    Args:
        gt: the loaded VEval ground-truth json (``videos`` with ``id`` and ``file_names``,
            ``annotations`` with ``id``, ``video_id``, ``category_id``, per-frame ``bboxes`` (xywh
            pixels or null) and ``segmentations`` (RLE or null), optional ``tags``).
        preds: the loaded prediction list (``video_id``, ``category_id``, ``score``, per-frame
            ``bboxes``, ``segmentations``, ``areas``). Neither argument is modified.

    Returns:
        ``(dataset_results, per_pair)``: ``dataset_results`` has the keys of `hota_keys`
        (``video_bbox_all_phrase_HOTA``, ..., ``video_mask_all_phrase_OWTA``) as fractions;
        ``per_pair`` maps each scored (video_id, category_id) to ``{"bbox_HOTA": ..., ...,
        "mask_OWTA": ...}``, in the official order. The module docstring lists the conventions.
    """
    anns = records(gt, "annotations", "ground truth")
    if not anns:
        raise DatasetError("SA-Co/VEval ground truth has no annotations (the official HOTA evaluator fails on it)")
    kept = _kept_predictions(preds)
    ids = pair_ids(gt, kept)
    videos = videos_by_id(gt)
    challenging = _challenging(anns, ids)

    gt_by_seq: dict[int, list[dict]] = defaultdict(list)
    pred_by_seq: dict[int, list[dict]] = defaultdict(list)
    for i, ann in enumerate(anns):
        field(ann, "id", f"annotation {i}")
        segs = gt_segmentations(ann, f"annotation {i}")
        records(ann, "bboxes", f"annotation {i}")
        gt_by_seq[ids[(ann["video_id"], ann["category_id"])]].append({**ann, "segmentations": segs})
    for pred in kept:
        pred_by_seq[ids[(pred["video_id"], pred["category_id"])]].append(pred)

    dataset: dict[str, float] = {}
    per_pair: dict[Pair, dict[str, float]] = {pair: {} for pair in ids}
    for _, key, prefix in IOU_TYPES:
        seq_results = []
        for (video_id, _), seq in ids.items():
            n_frames = len(records(videos[video_id], "file_names", f"video {video_id}"))
            frames, n_gt, n_pred = _sequence_frames(gt_by_seq[seq], pred_by_seq[seq], key, n_frames, seq)
            seq_results.append(hota_sequence(frames, n_gt, n_pred))
        for pair, res in zip(ids, seq_results):
            per_pair[pair].update({f"{prefix}_{name}": float(res[name].mean()) for name in HOTA_FIELDS})
        groups = [("all", seq_results)]
        if challenging is not None:
            groups.append(("challenging", [r for r, s in zip(seq_results, ids.values()) if s in challenging]))
        for group, results in groups:
            combined = combine_sequences(results)
            for name in HOTA_FIELDS:
                dataset[f"{DATASET_NAME}_{prefix}_{group}_phrase_{name}"] = float(np.mean(combined[name]))
    return dataset, per_pair
