"""Shared pieces of samkit's SA-Co/VEval scorer: reading the files, the official renumbering of
(video, phrase) pairs, and the video-level IoUs of masklets and box tracklets.

Private to `samkit.metrics.scoring` (``saco.score_saco(..., kind="video")`` is the entry point).
The official evaluator is ``VEvalEvaluator`` of sam3's ``sam3/eval/saco_veval_eval.py``, which runs
the five evaluators of ``sam3/eval/saco_veval_evaluators.py`` (github.com/facebookresearch/sam3,
commit ``99d02f28c8d34610ab35559b72642b01f10fdb1e``). Nothing here is copied from it.

Formats (what sam3's ``YTVISResultsWriter`` and the released ``saco_veval_*.json`` files hold):

- ground truth: a JSON object with ``videos`` (``id``, ``file_names`` one per frame, ``height``,
  ``width``, ``length``, ...), ``annotations`` -- one per masklet: ``id``, ``video_id``,
  ``category_id`` (the noun phrase), ``iscrowd``, and per frame ``segmentations`` (RLE or
  ``None`` where the object is not visible), ``bboxes`` (pixel ``[x, y, w, h]`` or ``None``) and
  ``areas`` (pixels or ``None``) --, ``categories`` (``id``, ``name``) and ``video_np_pairs``
  (``video_id``, ``category_id``, ``num_masklets``; 0 marks a negative phrase);
- predictions: a JSON list of masklets ``{"video_id", "category_id", "score", "segmentations",
  "bboxes", "areas"}``, one entry per frame in each list (a frame without the object is an empty
  RLE with box ``[0, 0, 0, 0]`` and area 0, or ``None`` in all three).

The functions take and return these plain dicts and lists (ids as written), so that every metric
module reads the same records. None of them changes its arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samkit.errors import DatasetError

#: the official result-key prefix (``VEvalEvaluator`` leaves every evaluator's ``dataset_name``
#: at its default ``"video"``)
DATASET_NAME = "video"

#: the official IoU types, in the order every evaluator loops over them
IOU_TYPES = ("bbox", "segm")

#: (video_id, category_id): one video-phrase pair
Pair = tuple[int, int]


def key_prefix(iou_type: str) -> str:
    """``"bbox"`` -> ``"bbox"``, ``"segm"`` -> ``"mask"`` (the official result keys' wording)."""
    return "mask" if iou_type == "segm" else "bbox"


def track_field(iou_type: str) -> str:
    """The per-frame list an IoU type compares: ``"bboxes"`` or ``"segmentations"``."""
    return "segmentations" if iou_type == "segm" else "bboxes"


# --------------------------------------------------------------------------------------------
# reading and checking the files
# --------------------------------------------------------------------------------------------


def _read_json(path: str | os.PathLike, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SA-Co/VEval {what} {path} does not exist (or is not a file)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(
            f"SA-Co/VEval {what} {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"SA-Co/VEval {what} {path} is not UTF-8 text: {e}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_rle(value: Any, height: int, width: int, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("counts"), (str, list)):
        raise DatasetError(f"{where} must be an RLE {{'size': [h, w], 'counts': ...}} or null; got {value!r:.80}")
    size = value.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(s) for s in size)):
        raise DatasetError(f"{where}: 'size' must be [height, width]; got {size!r}")
    if list(size) != [height, width]:
        raise DatasetError(
            f"{where}: RLE size {size} differs from the video's [height, width] [{height}, {width}] "
            "(pycocotools would silently give an empty intersection)"
        )


def _check_box(value: Any, where: str) -> None:
    if value is None:
        return
    if not (isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value)):
        raise DatasetError(f"{where} must be [x, y, w, h] in pixels or null; got {value!r:.80}")
    if value[2] < 0 or value[3] < 0:
        raise DatasetError(f"{where}: a box [x, y, w, h] with a negative width or height: {value}")


def _check_track(record: Mapping, video: Mapping, where: str) -> None:
    """Check ``segmentations`` / ``bboxes`` / ``areas``: one entry per frame of ``video``, ``None``
    in all three or in none."""
    n = len(video["file_names"])
    lists = {}
    for key in ("segmentations", "bboxes", "areas"):
        value = record.get(key)
        if not isinstance(value, list):
            raise DatasetError(f"{where}: {key!r} must be a list with one entry per frame")
        if len(value) != n:
            raise DatasetError(
                f"{where}: {key!r} has {len(value)} entries but video {video['id']!r} has {n} frames "
                "(len(file_names)); the official evaluator needs one per frame"
            )
        lists[key] = value
    for t, (seg, box, area) in enumerate(zip(lists["segmentations"], lists["bboxes"], lists["areas"])):
        if not (seg is None) == (box is None) == (area is None):
            raise DatasetError(
                f"{where}, frame {t}: 'segmentations', 'bboxes' and 'areas' must all be null or all be set "
                "(the official HOTA evaluator asserts it)"
            )
        _check_rle(seg, video["height"], video["width"], f"{where}, segmentations[{t}]")
        _check_box(box, f"{where}, bboxes[{t}]")
        if area is not None and not _is_number(area):
            raise DatasetError(f"{where}, areas[{t}] must be a number or null; got {area!r:.80}")


def _list_field(data: Mapping, key: str, where: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise DatasetError(f"{where}: {key!r} must be a list")
    return value


def check_gt(data: Any, source: str = "ground truth") -> dict[str, Any]:
    """Check a VEval ground-truth object (`DatasetError` naming ``source``, the record and the field);
    returns it unchanged.

    Checked: the top level is an object with lists ``videos``, ``annotations``, ``categories``
    (``video_np_pairs`` optional); video ids and annotation ids are unique integers; every video
    has ``file_names`` (at least one), integer ``height``, ``width`` and ``length``; every
    annotation has integer ``video_id`` (of a listed video) and ``category_id``, ``iscrowd`` and
    per-frame lists as `_check_track` wants; every ``video_np_pairs`` record has integer
    ``video_id`` (of a listed video) and ``category_id``.
    """
    if not isinstance(data, dict):
        raise DatasetError(f"SA-Co/VEval {source}: the top level must be a JSON object (YT-VIS layout)")
    where = f"SA-Co/VEval {source}"
    videos = {}
    for i, video in enumerate(_list_field(data, "videos", where)):
        at = f"{where}, videos[{i}]"
        if not isinstance(video, dict) or not _is_int(video.get("id")):
            raise DatasetError(f"{at}: a video must be an object with an integer 'id'")
        if video["id"] in videos:
            raise DatasetError(f"{at}: duplicate video id {video['id']!r}")
        names = video.get("file_names")
        if not isinstance(names, list) or not names:
            raise DatasetError(f"{at} (id {video['id']}): 'file_names' must be a non-empty list, one per frame")
        for key in ("height", "width", "length"):
            if not _is_int(video.get(key)) or video[key] <= 0:
                raise DatasetError(
                    f"{at} (id {video['id']}): {key!r} must be a positive integer; got {video.get(key)!r}"
                )
        videos[video["id"]] = video
    for i, category in enumerate(_list_field(data, "categories", where)):
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            raise DatasetError(f"{where}, categories[{i}]: a category must be an object with an integer 'id'")
    seen = set()
    for i, ann in enumerate(_list_field(data, "annotations", where)):
        at = f"{where}, annotations[{i}]"
        if not isinstance(ann, dict):
            raise DatasetError(f"{at}: an annotation must be an object")
        for key in ("id", "video_id", "category_id"):
            if not _is_int(ann.get(key)):
                raise DatasetError(f"{at}: {key!r} must be an integer; got {ann.get(key)!r}")
        if ann["id"] in seen:
            raise DatasetError(f"{at}: duplicate annotation id {ann['id']}")
        seen.add(ann["id"])
        if ann["video_id"] not in videos:
            raise DatasetError(f"{at} (id {ann['id']}): video_id {ann['video_id']} is not in 'videos'")
        if not (isinstance(ann.get("iscrowd"), bool) or _is_number(ann.get("iscrowd"))):
            raise DatasetError(f"{at} (id {ann['id']}): 'iscrowd' must be 0 or 1")
        _check_track(ann, videos[ann["video_id"]], f"{at} (id {ann['id']})")
    if "video_np_pairs" in data:
        for i, vnp in enumerate(_list_field(data, "video_np_pairs", where)):
            at = f"{where}, video_np_pairs[{i}]"
            if not isinstance(vnp, dict) or not all(_is_int(vnp.get(k)) for k in ("video_id", "category_id")):
                raise DatasetError(f"{at}: needs integer 'video_id' and 'category_id'")
            if vnp["video_id"] not in videos:
                raise DatasetError(f"{at}: video_id {vnp['video_id']} is not in 'videos'")
    return data


def check_preds(preds: Any, gt: Mapping, source: str = "predictions") -> list[dict[str, Any]]:
    """Check VEval predictions against the (checked) ground truth; returns them unchanged.

    Each record needs integer ``video_id`` (a video of the ground truth: the official ``loadRes``
    asserts it) and ``category_id``, a number ``score``, and per-frame ``segmentations``,
    ``bboxes`` and ``areas`` (`_check_track`). An empty list is refused: the official evaluator
    fails on it (``loadRes`` reads the first record).
    """
    if not isinstance(preds, list):
        raise DatasetError(
            f"SA-Co/VEval {source}: the top level must be a JSON list of masklets "
            "({'video_id', 'category_id', 'score', 'segmentations', 'bboxes', 'areas'})"
        )
    if not preds:
        raise DatasetError(
            f"SA-Co/VEval {source}: the list is empty; the official evaluator fails on an empty prediction "
            "file (its loadRes reads the first record), so there is no official score to reproduce"
        )
    videos = {v["id"]: v for v in gt["videos"]}
    for i, pred in enumerate(preds):
        at = f"SA-Co/VEval {source}, record {i}"
        if not isinstance(pred, dict):
            raise DatasetError(f"{at}: a prediction must be an object")
        for key in ("video_id", "category_id"):
            if not _is_int(pred.get(key)):
                raise DatasetError(f"{at}: {key!r} must be an integer; got {pred.get(key)!r}")
        at += f" (video_id {pred['video_id']}, category_id {pred['category_id']})"
        if not _is_number(pred.get("score")):
            raise DatasetError(f"{at}: 'score' must be a number; got {pred.get('score')!r}")
        if pred["video_id"] not in videos:
            raise DatasetError(f"{at}: video_id {pred['video_id']} is not in the ground truth's 'videos'")
        _check_track(pred, videos[pred["video_id"]], at)
    return preds


def load_veval(gt: str | os.PathLike, pred_json: str | os.PathLike) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read and check a VEval ground-truth file and a prediction file: ``(gt dict, pred list)``.

    A missing file is a ``FileNotFoundError``; malformed JSON or records a `DatasetError` naming
    the file, the record and the field.
    """
    gt_data = check_gt(_read_json(gt, "ground-truth file"), f"ground-truth file {gt}")
    preds = check_preds(_read_json(pred_json, "prediction file"), gt_data, f"prediction file {pred_json}")
    return gt_data, preds


# --------------------------------------------------------------------------------------------
# the official preprocessing steps
# --------------------------------------------------------------------------------------------


def fill_ann_height_width(gt: Mapping) -> dict[str, Any]:
    """A copy of ``gt`` whose annotations all have ``height`` and ``width``, taken from their video
    where missing (sam3's ``_fill_in_ann_height_width``, which the HOTA evaluator runs)."""
    videos = {v["id"]: v for v in gt["videos"]}
    out = dict(gt)
    out["annotations"] = []
    for ann in gt["annotations"]:
        ann = dict(ann)
        video = videos[ann["video_id"]]
        ann.setdefault("height", video["height"])
        ann.setdefault("width", video["width"])
        out["annotations"].append(ann)
    return out


def compress_rle(rle: Any) -> Any:
    """An RLE with list ``counts`` (uncompressed) as pycocotools' compressed form with ``str``
    counts; ``None`` and compressed RLEs as given (sam3's ``_compress_rle``)."""
    if rle is None or not isinstance(rle["counts"], list):
        return rle
    from pycocotools import mask as mask_utils

    try:
        out = mask_utils.frPyObjects(rle, rle["size"][0], rle["size"][1])
    except Exception as e:  # pycocotools raises bare Exceptions
        raise DatasetError(f"SA-Co/VEval: an uncompressed RLE that pycocotools cannot read: {e}") from None
    return {"size": [int(s) for s in out["size"]], "counts": out["counts"].decode("ascii")}


def pair_video_ids(gt: Mapping, preds: Sequence[Mapping], add_negative_np_pairs: bool = False) -> dict[Pair, int]:
    """The official renumbering of video-phrase pairs to new "video" ids 1, 2, ... (sam3's
    ``remap_video_category_pairs_to_unique_video_ids``, which phrase AP, phrase HOTA and cgF1 use
    so that each pair is scored as a video of its own).

    The pairs are every ``(video_id, category_id)`` of a prediction (whatever its score) or of a
    ground-truth annotation, sorted, numbered from 1; with ``add_negative_np_pairs`` (cgF1 does
    it when ``video_np_pairs`` exists) the ``video_np_pairs`` not among them follow, in file
    order. The dict's order is the id order.
    """
    pairs = {(p["video_id"], p["category_id"]) for p in preds}
    pairs.update((a["video_id"], a["category_id"]) for a in gt["annotations"])
    ids = {pair: i + 1 for i, pair in enumerate(sorted(pairs))}
    if add_negative_np_pairs:
        for vnp in gt["video_np_pairs"]:
            ids.setdefault((vnp["video_id"], vnp["category_id"]), len(ids) + 1)
    return ids


def remap_pairs_to_videos(
    gt: Mapping, preds: Sequence[Mapping], add_negative_np_pairs: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(gt, preds)`` with every video-phrase pair turned into a video of its own, as the
    official remapping does (see `pair_video_ids`).

    Returned copies (the arguments are unchanged; per-frame lists are shared, copy them before
    changing them): predictions and annotations get the pair's new ``video_id``, in their
    original order; ``videos`` holds one copy of the original video per pair, in id order, with
    the new ``id`` and ``orig_video_id`` / ``orig_category_id``.
    """
    ids = pair_video_ids(gt, preds, add_negative_np_pairs)
    videos = {v["id"]: v for v in gt["videos"]}
    out = dict(gt)
    out["annotations"] = [dict(a, video_id=ids[(a["video_id"], a["category_id"])]) for a in gt["annotations"]]
    out["videos"] = [
        dict(videos[video_id], id=new_id, orig_video_id=video_id, orig_category_id=category_id)
        for (video_id, category_id), new_id in ids.items()
    ]
    new_preds = [dict(p, video_id=ids[(p["video_id"], p["category_id"])]) for p in preds]
    return out, new_preds


# --------------------------------------------------------------------------------------------
# video-level IoU (sam3's ``YTVISevalMixin.computeIoU``)
# --------------------------------------------------------------------------------------------


def masklet_ious(dt_tracks: Sequence[Sequence[Any]], gt_tracks: Sequence[Sequence[Any]]) -> np.ndarray:
    """Masklet IoU ``(len(dt_tracks), len(gt_tracks))`` float64, as the official ``iou_masklets``.

    Each track is a list of per-frame RLEs (``None``: not there). Over the frames (``zip``, the
    shorter list decides): where both have a mask, the intersection and union of the two are
    added; where one has, its area is added to the union. IoU = intersection / union in float64;
    1.0 where the union is 0 (both empty throughout: the official quirk). Pixel counts are exact
    integers: per frame, pycocotools' ``iou`` ``i / (a + b - i)`` is turned back into ``i``.
    """
    from pycocotools import mask as mask_utils

    n_d, n_g = len(dt_tracks), len(gt_tracks)
    inter = np.zeros((n_d, n_g), dtype=np.int64)
    union = np.zeros((n_d, n_g), dtype=np.int64)
    if n_d == 0 or n_g == 0:
        return np.zeros((n_d, n_g))
    d_len = np.array([len(t) for t in dt_tracks])
    g_len = np.array([len(t) for t in gt_tracks])
    for t in range(int(max(d_len.max(), g_len.max()))):
        d_idx = [i for i, track in enumerate(dt_tracks) if t < len(track) and track[t] is not None]
        g_idx = [j for j, track in enumerate(gt_tracks) if t < len(track) and track[t] is not None]
        d_rles = [compress_rle(dt_tracks[i][t]) for i in d_idx]
        g_rles = [compress_rle(gt_tracks[j][t]) for j in g_idx]
        d_area = np.zeros(n_d, dtype=np.int64)
        g_area = np.zeros(n_g, dtype=np.int64)
        if d_rles:
            d_area[d_idx] = mask_utils.area(d_rles)
        if g_rles:
            g_area[g_idx] = mask_utils.area(g_rles)
        alive = (d_len > t)[:, None] & (g_len > t)[None, :]
        union += np.where(alive, d_area[:, None] + g_area[None, :], 0)
        if d_rles and g_rles:
            ious = np.asarray(mask_utils.iou(d_rles, g_rles, [0] * len(g_rles)), dtype=np.float64)
            sums = d_area[d_idx][:, None] + g_area[g_idx][None, :]
            frame_inter = np.rint(ious * sums / (1.0 + ious)).astype(np.int64)
            block = np.ix_(d_idx, g_idx)
            inter[block] += frame_inter
            union[block] -= frame_inter
    out = np.ones((n_d, n_g))
    positive = union > 0
    out[positive] = inter[positive] / union[positive]
    return out


def _boxes_f32(tracks: Sequence[Sequence[Any]]) -> np.ndarray:
    """(n, frames, 4) float32 boxes, ``None`` as ``[0, 0, 0, 0]`` (as the official YT-VIS index)."""
    rows = [[[0, 0, 0, 0] if box is None else box for box in track] for track in tracks]
    try:
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1, 4)
    except ValueError:
        raise DatasetError(
            "SA-Co/VEval: the box tracks of one video-phrase pair have different numbers of frames"
        ) from None


def tracklet_ious(dt_tracks: Sequence[Sequence[Any]], gt_tracks: Sequence[Sequence[Any]]) -> np.ndarray:
    """Tracklet (box) IoU ``(len(dt_tracks), len(gt_tracks))``, as the official ``iou_tracklets``.

    Each track is a list of per-frame ``[x, y, w, h]`` (``None``: ``[0, 0, 0, 0]``). Per frame the
    intersection and union of the two boxes, summed over the frames, divided. The official code
    does this in torch float32: the corners ``x + w`` etc., areas, intersections and unions here
    are float32 operation for operation, and the quotient of the two sums is float32 (returned as
    float64 holding float32 values, since the official matching compares them in float64). The
    frame sums are exact float64 sums rounded once to float32: the same as torch for pixel boxes
    whose summed areas stay below 2**24; above that torch's blocked float32 summation can differ
    in the last bits. A pair whose summed union is 0 is an error in the official code (an
    assertion) and a `DatasetError` here.
    """
    n_d, n_g = len(dt_tracks), len(gt_tracks)
    if n_d == 0 or n_g == 0:
        return np.zeros((n_d, n_g))
    d, g = _boxes_f32(dt_tracks), _boxes_f32(gt_tracks)
    if d.shape[1] != g.shape[1]:
        raise DatasetError("SA-Co/VEval: a prediction and an annotation of one pair have different numbers of frames")

    def corners(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        x0, y0 = b[..., 0], b[..., 1]
        x1, y1 = x0 + b[..., 2], y0 + b[..., 3]
        return x0, y0, x1, y1, (x1 - x0) * (y1 - y0)

    dx0, dy0, dx1, dy1, d_area = (v[:, None] for v in corners(d))
    gx0, gy0, gx1, gy1, g_area = (v[None] for v in corners(g))
    zero = np.float32(0)
    w = np.maximum(np.minimum(dx1, gx1) - np.maximum(dx0, gx0), zero)
    h = np.maximum(np.minimum(dy1, gy1) - np.maximum(dy0, gy0), zero)
    inter = w * h
    union = (d_area + g_area) - inter
    inter_sum = inter.astype(np.float64).sum(-1).astype(np.float32)
    union_sum = union.astype(np.float64).sum(-1).astype(np.float32)
    if not (union_sum > 0).all():
        raise DatasetError(
            "SA-Co/VEval: a predicted and a ground-truth box track are both empty in every frame "
            "(the official evaluator asserts against this)"
        )
    return (inter_sum / union_sum).astype(np.float64)


def video_ious(dts: Sequence[Mapping], gts: Sequence[Mapping], iou_type: str) -> np.ndarray:
    """`tracklet_ious` (``"bbox"``) or `masklet_ious` (``"segm"``) of prediction and annotation
    records, rows in the order of ``dts``."""
    key = track_field(iou_type)
    tracks_d = [r[key] for r in dts]
    tracks_g = [r[key] for r in gts]
    return masklet_ious(tracks_d, tracks_g) if iou_type == "segm" else tracklet_ious(tracks_d, tracks_g)
