"""Small deterministic SA-Co/VEval inputs in the official file formats.

Used by ``make_golden.py`` (run with the official evaluator in a throwaway environment) and by
``tests/metrics/test_scoring_saco_veval.py`` (regenerated in ``tmp_path`` and scored by samkit). Only
numpy, pycocotools and the standard library are needed, so both environments can import it.

Formats (as sam3's ``assets/veval/toy_gt_and_pred`` files and ``YTVISResultsWriter`` write them):

- ground truth: YT-VIS json with ``videos`` (``id``, ``video_name``, ``file_names``, ``height``,
  ``width``, ``length``), ``annotations`` = masklets (``id``, ``video_id``, ``category_id``,
  ``segmentations`` / ``bboxes`` (pixel xywh) / ``areas`` per frame, ``None`` where the object is
  not visible, ``iscrowd`` 0, ``height``, ``width``, ``noun_phrase``), ``categories`` (``id``,
  ``name``; more than are used) and ``video_np_pairs`` (``id``, ``video_id``, ``category_id``,
  ``noun_phrase``, ``num_masklets``; 0 for a negative phrase);
- predictions: a json list of masklets ``{"video_id", "category_id", "bboxes", "score",
  "segmentations", "areas"}`` with one entry per frame: a compressed RLE, its integer pixel box
  and area; a frame without the object is an empty RLE with box ``[0, 0, 0, 0]`` and area 0 (what
  the official writer produces) or, in some masklets, ``None`` for all three.

Four 48x64 videos of 8, 10, 6 and 12 frames with 14 video-phrase pairs (plus one pair that only
predictions name): objects that appear late, leave early or vanish for a frame; negatives
(``num_masklets`` 0) with and without false positives; a positive pair without predictions;
several masklets per pair, overlapping ones, a group mask; an identity switch and a track split in
two; duplicate tracks; predictions whose phrase has no ground truth anywhere; IoUs of exactly 13/20
and 14/20 (just under 0.65 and 0.7 in float32, as the official box IoU is computed); annotation
ids from 0 in one file; scores ``0.49999``, ``0.5`` and ``0.50001`` around the thresholds (HOTA
keeps ``> 0.5``, TETA and cgF1 ``>= 0.5``) and tied scores across videos. A fifth, 6-frame video
has 105 predictions for one pair (mAP keeps the 100 best of each video-phrase pair).

`write_cases(folder)` writes the files and returns ``{case: (gt path, pred path)}``, the cases
``make_golden.py`` scores with the official code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

H, W = 48, 64

#: categories listed in the ground truth (non-contiguous ids; 99 is used nowhere)
CATEGORIES = {
    3: "red ball",
    7: "blue box",
    12: "green bar",
    15: "yellow star",
    21: "person",
    30: "cat",
    42: "tree",
    57: "kite",
    64: "moon",
    99: "unused phrase",
}

#: video id -> (name, number of frames)
VIDEOS = {0: ("sav_toy_000", 8), 1: ("sav_toy_001", 10), 2: ("sav_toy_002", 6), 5: ("sav_toy_005", 12)}


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """HxW bool mask of rows ``y0:y1`` and columns ``x0:x1`` (clipped to the frame)."""
    mask = np.zeros((H, W), dtype=bool)
    mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def disc(cy: float, cx: float, r: float) -> np.ndarray:
    """HxW bool mask of the pixels whose centres lie within ``r`` of ``(cy, cx)``."""
    yy, xx = np.mgrid[0:H, 0:W]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE ``{"size": [H, W], "counts": str}`` (pycocotools)."""
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def box_xywh(mask: np.ndarray) -> list[float]:
    """Pixel ``[x, y, w, h]`` of the mask's bounding box (pycocotools ``toBbox``; zeros if empty)."""
    return [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))]


Masklet = list  # one entry per frame: an HxW bool mask, or None where the object is not there


def frames(n: int, make, present=None) -> Masklet:
    """``[make(t) if t in present else None for t < n]`` (``present`` defaults to every frame)."""
    keep = range(n) if present is None else present
    return [make(t) if t in keep else None for t in range(n)]


# ---- the ground truth ------------------------------------------------------------------------
# (video id, category id) -> masklets; a pair with an empty list is a negative (num_masklets 0).


def _gt_pairs() -> dict[tuple[int, int], list[Masklet]]:
    n0, n1, n2, n5 = (VIDEOS[v][1] for v in (0, 1, 2, 5))
    return {
        # video 0: a moving ball that vanishes at frame 4; a box that appears at frame 3 and one
        # that leaves after frame 4; two negatives
        (0, 3): [frames(n0, lambda t: disc(12 + 2 * t, 10 + 3 * t, 6), [0, 1, 2, 3, 5, 6, 7])],
        (0, 7): [
            frames(n0, lambda t: rect(30, 42, 5 + 2 * t, 17 + 2 * t), range(3, n0)),
            frames(n0, lambda t: rect(5, 15, 40, 55), range(0, 5)),
        ],
        (0, 12): [],
        (0, 15): [],
        # video 1: three balls, two overlapping; a person nobody predicts (invisible at 3 and 4);
        # a negative; a box found only under the thresholds
        (1, 3): [
            frames(n1, lambda t: rect(5, 17, 5 + 2 * t, 17 + 2 * t)),
            frames(n1, lambda t: rect(5, 17, 30, 42)),
            frames(n1, lambda t: rect(10, 25, 35, 50)),
        ],
        (1, 21): [frames(n1, lambda t: disc(34, 20 + t, 7), [0, 1, 2, 5, 6, 7, 8, 9])],
        (1, 30): [],
        (1, 7): [frames(n1, lambda t: rect(30, 44, 50, 62))],
        # video 2: two overlapping trees; a green bar (a negative in video 0)
        (2, 42): [frames(n2, lambda t: rect(10, 40, 10, 30)), frames(n2, lambda t: rect(10, 40, 20, 40))],
        (2, 12): [frames(n2, lambda t: rect(42, 46, 5, 60))],
        # two stars, to be found at IoU 13/20 and 14/20 exactly (see the predictions)
        (2, 15): [frames(n2, lambda t: rect(2, 6, 2, 22)), frames(n2, lambda t: rect(2, 6, 30, 50))],
        # video 5: negatives only (the ball is a phrase that has objects in videos 0 and 1)
        (5, 64): [],
        (5, 15): [],
        (5, 3): [],
    }


# ---- the predictions -------------------------------------------------------------------------
# (video id, category id, masklet, score, empty frames written as "empty" RLEs or as None)


def _shift(masklet: Masklet, dy: int = 0, dx: int = 0) -> Masklet:
    """The masklet moved by ``(dy, dx)`` pixels (pixels leaving the frame are dropped)."""
    out = []
    for mask in masklet:
        if mask is None:
            out.append(None)
            continue
        moved = np.zeros_like(mask)
        ys, xs = np.nonzero(mask)
        ys, xs = ys + dy, xs + dx
        keep = (ys >= 0) & (ys < H) & (xs >= 0) & (xs < W)
        moved[ys[keep], xs[keep]] = True
        out.append(moved)
    return out


def _outline(masklet: Masklet, width: int = 2) -> Masklet:
    """The masklet's ``width``-pixel border (same boxes, a fraction of the area)."""
    out = []
    for mask in masklet:
        if mask is None:
            out.append(None)
            continue
        inner = mask.copy()
        for axis in (0, 1):
            for step in range(1, width + 1):
                inner &= np.roll(mask, step, axis) & np.roll(mask, -step, axis)
        out.append(mask & ~inner)
    return out


def _only(masklet: Masklet, keep) -> Masklet:
    """The masklet with every frame outside ``keep`` emptied."""
    return [m if t in keep else None for t, m in enumerate(masklet)]


def _preds_main() -> list[tuple[int, int, Masklet, float, str]]:
    gt = _gt_pairs()
    n0, n1, n2, n5 = (VIDEOS[v][1] for v in (0, 1, 2, 5))
    ball0 = gt[(0, 3)][0]
    box_late, box_early = gt[(0, 7)]
    b1, b2, b3 = gt[(1, 3)]
    switch = b1[:5] + b2[5:]  # follows ball 1, then ball 2 (an identity switch)
    tree1, tree2 = gt[(2, 42)]
    return [
        # video 0 -- the ball: exact (empty RLE at frame 4), a duplicate, a shifted copy under 0.5
        (0, 3, ball0, 0.93, "empty"),
        (0, 3, ball0, 0.81, "none"),
        (0, 3, _shift(ball0, 2, 3), 0.45, "empty"),
        # the late box, one frame early (an extra frame); the early box shrunk (IoU 0.8);
        # the early box followed two frames too long, just under the threshold
        (0, 7, frames(n0, lambda t: rect(30, 42, 5 + 2 * t, 17 + 2 * t), range(2, n0)), 0.5, "empty"),
        (0, 7, frames(n0, lambda t: rect(5, 15, 40, 52), range(0, 5)), 0.50001, "none"),
        (0, 7, frames(n0, lambda t: rect(5, 15, 40, 55), range(0, 7)), 0.49999, "empty"),
        # negative "green bar": a confident and a low false positive
        (0, 12, frames(n0, lambda t: rect(40, 46, 0, 30)), 0.7, "empty"),
        (0, 12, frames(n0, lambda t: rect(0, 4, 0, 10), [1, 2]), 0.2, "none"),
        # video 1 -- the identity switch, ball 2 exact, ball 3's outline moved by a pixel (box IoU
        # 0.77, mask IoU 0.30), and a
        # fragment of ball 1 (frames 5..9) tied in score with a prediction of video 2
        (1, 3, switch, 0.88, "empty"),
        (1, 3, b2, 0.77, "empty"),
        (1, 3, _shift(_outline(b3), 1, 1), 0.66, "none"),
        (1, 3, _only(b1, range(5, n1)), 0.55, "empty"),
        # negative "cat": a confident false positive
        (1, 30, frames(n1, lambda t: disc(24, 32, 5)), 0.95, "empty"),
        # the box found only under every threshold, and a prediction that matches nothing
        (1, 7, gt[(1, 7)][0], 0.4999, "empty"),
        (1, 7, frames(n1, lambda t: rect(0, 6, 0, 6)), 0.6, "empty"),
        # video 2 -- one group mask over both trees, tree 2 exact, tree 1 split in two tracks
        (2, 42, frames(n2, lambda t: rect(10, 40, 10, 40)), 0.9, "empty"),
        (2, 42, tree2, 0.85, "empty"),
        (2, 42, _only(tree1, range(0, 3)), 0.7, "none"),
        (2, 42, _only(tree1, range(3, n2)), 0.55, "empty"),
        # the green bar found exactly but scored low
        (2, 12, gt[(2, 12)][0], 0.3, "empty"),
        # the stars at IoU 13/20 and 14/20: as float32 (the box IoU) just under the thresholds 0.65
        # and 0.7, as float64 (the mask IoU) equal to them
        (2, 15, frames(n2, lambda t: rect(2, 6, 2, 15)), 0.62, "empty"),
        (2, 15, frames(n2, lambda t: rect(2, 6, 30, 44)), 0.58, "none"),
        # "kite" has no video_np_pair and no ground truth anywhere
        (2, 57, frames(n2, lambda t: rect(0, 8, 50, 60)), 0.8, "empty"),
        # video 5 -- false positives on negatives (one empty for some frames); nothing for "yellow star"
        (5, 64, frames(n5, lambda t: disc(8, 50, 4), range(2, 9)), 0.99, "empty"),
        (5, 3, frames(n5, lambda t: disc(30, 10 + 2 * t, 5)), 0.61, "none"),
    ]


def _preds_perfect() -> list[tuple[int, int, Masklet, float, str]]:
    """Every ground-truth masklet predicted exactly, with decreasing scores above 0.5."""
    out = []
    for index, ((video, cat), masklets) in enumerate(sorted(_gt_pairs().items())):
        for j, masklet in enumerate(masklets):
            out.append((video, cat, masklet, round(0.95 - 0.02 * index - 0.005 * j, 5), "empty"))
    return out


def _record(video: int, cat: int, masklet: Masklet, score: float, empty: str) -> dict[str, Any]:
    """One prediction in the official writer's layout."""
    segs, boxes, areas = [], [], []
    for mask in masklet:
        if mask is None and empty == "none":
            segs.append(None)
            boxes.append(None)
            areas.append(None)
            continue
        mask = np.zeros((H, W), bool) if mask is None else mask
        segs.append(rle(mask))
        boxes.append([int(v) for v in box_xywh(mask)])
        areas.append(int(mask.sum()))
    return {
        "video_id": video,
        "category_id": cat,
        "bboxes": boxes,
        "score": score,
        "segmentations": segs,
        "areas": areas,
    }


#: the order in which the prediction records are written (not sorted by video or phrase)
_MAIN_ORDER = (8, 0, 21, 15, 3, 12, 1, 9, 22, 4, 13, 16, 2, 10, 19, 24, 5, 14, 6, 17, 11, 20, 7, 23, 18)


def predictions(kind: str = "main") -> list[dict[str, Any]]:
    """The prediction records: ``"main"``, ``"perfect"`` or ``"negatives"`` (the main records on
    pairs whose ``num_masklets`` is 0)."""
    if kind == "perfect":
        return [_record(*p) for p in _preds_perfect()]
    preds = _preds_main()
    assert sorted(_MAIN_ORDER) == list(range(len(preds)))
    records = [_record(*preds[i]) for i in _MAIN_ORDER]
    if kind == "negatives":
        negatives = {pair for pair, masklets in _gt_pairs().items() if not masklets}
        records = [r for r in records if (r["video_id"], r["category_id"]) in negatives]
    return records


def _video(video_id: int, name: str, n: int) -> dict[str, Any]:
    return {
        "id": video_id,
        "video_name": name,
        "file_names": [f"{name}/{4 * t:05d}.jpg" for t in range(n)],
        "height": H,
        "width": W,
        "length": n,
    }


def _annotation(ann_id: int, video: int, cat: int, masklet: Masklet, size: bool) -> dict[str, Any]:
    segs = [None if m is None else rle(m) for m in masklet]
    boxes = [None if m is None else box_xywh(m) for m in masklet]
    areas = [None if m is None else float(m.sum()) for m in masklet]
    ann = {"id": ann_id, "segmentations": segs, "bboxes": boxes, "areas": areas, "iscrowd": 0, "video_id": video}
    if size:
        ann |= {"height": H, "width": W}
    return ann | {"category_id": cat, "noun_phrase": CATEGORIES[cat]}


def gt_json(
    pairs: dict[tuple[int, int], list[Masklet]] | None = None,
    *,
    ann_size: bool = True,
    np_pairs: bool = True,
    videos: dict[int, tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """A ground-truth file: ``ann_size`` writes ``height``/``width`` in every annotation (the
    official files do; the HOTA evaluator fills them in from the video otherwise; without them the
    annotation ids start at 0, which pycocotools' matching takes for "unmatched"), ``np_pairs``
    writes ``video_np_pairs`` (without it the official cgF1 skips IL_MCC and cgF1)."""
    pairs = _gt_pairs() if pairs is None else pairs
    videos = VIDEOS if videos is None else videos
    annotations, np_list = [], []
    for (video, cat), masklets in pairs.items():  # annotations grouped by pair, pairs unsorted
        for masklet in masklets:
            ann_id = (101 if ann_size else 0) + 7 * len(annotations)
            annotations.append(_annotation(ann_id, video, cat, masklet, ann_size))
        np_list.append(
            {
                "id": 500 + len(np_list),
                "video_id": video,
                "category_id": cat,
                "noun_phrase": CATEGORIES[cat],
                "num_masklets": len(masklets),
            }
        )
    out = {
        "info": {"version": "v1", "description": "samkit SA-Co/VEval toy ground truth"},
        "videos": [_video(v, *videos[v]) for v in sorted(videos)],
        "annotations": annotations,
        "categories": [{"id": k, "name": v} for k, v in CATEGORIES.items()],
    }
    if np_pairs:
        out["video_np_pairs"] = sorted(np_list, key=lambda p: (p["video_id"], p["id"]))
    return out


# ---- a pair with more predictions than mAP keeps (maxDets 100) --------------------------------

MANY_VIDEO = {4: ("sav_toy_004", 6)}


def many_case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(gt, preds): two balls in one 6-frame video and 105 predictions of them: 99 tiny false
    positives scored 0.99 down to 0.50, ball 1 exactly at rank 100 and ball 2 exactly at rank 101
    (beyond the 100 detections mAP keeps), then three more false positives."""
    n = MANY_VIDEO[4][1]
    ball1 = frames(n, lambda t: rect(10, 20, 5 + 3 * t, 15 + 3 * t))
    ball2 = frames(n, lambda t: rect(30, 40, 40, 52))
    gt = gt_json({(4, 3): [ball1, ball2], (4, 7): []}, videos=MANY_VIDEO)
    preds = []
    for i in range(99):
        y, x = 2 * (i // 30), 2 * (i % 30)
        tiny = frames(n, lambda t: rect(y, y + 2, x, x + 2))
        preds.append(_record(4, 3, tiny, round(0.99 - 0.005 * i, 5), "empty"))
    preds.append(_record(4, 3, ball1, 0.49, "empty"))
    preds.append(_record(4, 3, ball2, 0.48, "empty"))
    for i in range(3):
        preds.append(_record(4, 3, frames(n, lambda t: rect(44, 46, 10 * i, 10 * i + 4)), 0.3, "none"))
    preds.insert(50, preds.pop(99))  # file order differs from score order
    return gt, preds


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def write_cases(folder: str | Path) -> dict[str, tuple[Path, Path]]:
    """Write every input file under ``folder``; return ``{case: (gt json, pred json)}``, the
    cases the golden file holds."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gt = _write(folder / "veval_toy_gt.json", gt_json())
    gt_nosize = _write(folder / "veval_toy_gt_no_ann_size.json", gt_json(ann_size=False))
    gt_nopairs = _write(folder / "veval_toy_gt_no_np_pairs.json", gt_json(np_pairs=False))
    pred = _write(folder / "veval_toy_pred.json", predictions("main"))
    pred_perfect = _write(folder / "veval_toy_pred_perfect.json", predictions("perfect"))
    pred_neg = _write(folder / "veval_toy_pred_negatives.json", predictions("negatives"))
    many_gt, many_preds = many_case()
    gt_many = _write(folder / "veval_many_gt.json", many_gt)
    pred_many = _write(folder / "veval_many_pred.json", many_preds)
    return {
        "main": (gt, pred),
        "main_gt_without_annotation_size_ids_from_0": (gt_nosize, pred),
        "main_gt_without_video_np_pairs": (gt_nopairs, pred),
        "perfect": (gt, pred_perfect),
        "negatives_only": (gt, pred_neg),
        "many_predictions": (gt_many, pred_many),
    }
