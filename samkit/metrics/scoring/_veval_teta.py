"""SA-Co/VEval TETA (Track Every Thing Accuracy, Li et al. 2022), as sam3's ``VideoTetaEvaluator``.

Private to `samkit.metrics.scoring`. The official evaluator is ``VideoTetaEvaluator(gt_annot_file,
use_mask=True, is_exhaustive=True)`` of ``sam3/eval/saco_veval_evaluators.py`` (run by
``sam3/eval/saco_veval_eval.py``), which converts the YT-VIS style files to COCO-video, runs the
``COCO`` dataset class and the ``TETA`` metric of ``sam3/eval/teta_eval_toolkit`` and returns ten
``video_mask_*`` numbers (github.com/facebookresearch/sam3, commit
``99d02f28c8d34610ab35559b72642b01f10fdb1e``). This is samkit's own implementation with numpy, scipy
and pycocotools; it keeps the official arithmetic order so the values agree to the last printed
digit. Conventions and quirks reproduced:

- predictions: only ``score >= 0.5`` count (no NMS, no top-k); the score is otherwise unused. Track
  ids are the predictions' positions. A frame counts when its box is not ``None`` and not all zeros
  (its mask is then used even if it is empty); a frame whose box is set but whose mask is ``None``
  makes the official toolkit fail (so it is an error here); ``bboxes``, ``segmentations`` and
  ``areas`` are zipped, so the shortest non-empty one decides how many frames are read.
- ground truth: a masklet frame counts when its box is not ``None``. A sequence is a video, named
  after the folder of its first frame (``/`` -> ``-``); videos sharing a name count once, as the
  last of them. Only frames with at least one ground-truth masklet (any phrase) are evaluated:
  predictions on every other frame are dropped, so they are never false positives.
- classes are the phrases (``category_id``) that have a ground-truth masklet frame, kept by
  *name* as the toolkit does (categories sharing a name map to the last category of that name);
  there is no class-agnostic remapping: a prediction of any phrase can localise a ground-truth
  masklet (LocA), and ClsA then checks its phrase. Negative video-phrase pairs (phrases without
  masklets in a video) have no special treatment: with the exhaustive flag, their predictions are
  class false positives of their phrase when that phrase has masklets somewhere in the data set,
  and are ignored otherwise.
- TETA at the toolkit's single threshold 50: a global Hungarian assignment over all classes
  (alpha 0.5) decides which predictions belong to ground truth of another class; per class,
  predictions overlapping a ground-truth masklet of the class (mask IoU >= 0.5) are kept;
  localisation thresholds ``np.arange(0, 0.99, 0.05)`` (20), class thresholds the last 10 of them;
  ``is_exhaustive=True``: predictions of a class on frames without its masklets, and those of the
  class that overlap nothing, are class false positives (the per-class "no overlapping prediction"
  case *overwrites* that class's false positives counted so far in the sequence, as the toolkit does).
- combining: counts summed over sequences, AssocA/Re/Pr averaged weighted by Loc_TP, then the mean
  over classes (classes with no Loc count ignored) of every field, the mean over thresholds, times
  100, printed ``"{:1.5g}"`` and read back (so 5 significant digits, in percent).
- the official evaluator returns no per (video, phrase) results, so that dict is empty.
- inputs the official toolkit cannot score raise `samkit.errors.DatasetError` instead: no
  ground-truth masklet frame, no prediction frame with ``score >= 0.5``, a prediction on a video or
  frame the ground truth does not have, uncompressed (list) RLE counts.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from samkit.errors import DatasetError, ParameterError

#: a prediction counts when ``score >= SCORE_THRESHOLD`` (``VideoTetaEvaluator.prob_thresh``)
SCORE_THRESHOLD = 0.5

#: the result keys, in the official order (``video_<mask>_<field>``, values in percent)
TETA_KEYS: tuple[str, ...] = (
    "video_mask_teta",
    "video_mask_loc_a",
    "video_mask_assoc_a",
    "video_mask_cls_a",
    "video_mask_loc_re",
    "video_mask_loc_pr",
    "video_mask_assoc_re",
    "video_mask_assoc_pr",
    "video_mask_cls_re",
    "video_mask_cls_pr",
)

_FIELDS = ("TETA", "LocA", "AssocA", "ClsA", "LocRe", "LocPr", "AssocRe", "AssocPr", "ClsRe", "ClsPr")
_ALPHAS = np.arange(0.0, 0.99, 0.05)  # localisation thresholds, the toolkit's exact floats
_N_CLS = len(np.arange(0.5, 0.99, 0.05))  # class thresholds: the last 10 alphas
_EPS = np.finfo("float").eps
_OVERLAP = 0.5  # mask IoU at which a prediction "overlaps" a ground-truth masklet (threshold 50)
_AVERAGE = "average"  # the toolkit's key of the class average (a class of that name is left out)


# --------------------------------------------------------------------------------------------
# inputs -> per-video frames
# --------------------------------------------------------------------------------------------


@dataclass
class _Frame:
    """One evaluated frame: its ground-truth masklets (rows) and kept predictions (columns)."""

    gt_ids: list[int] = field(default_factory=list)
    gt_cls: list[int] = field(default_factory=list)
    gt_rles: list[Any] = field(default_factory=list)
    tk_ids: list[int] = field(default_factory=list)
    tk_cls: list[int] = field(default_factory=list)
    tk_rles: list[Any] = field(default_factory=list)


def _get(record: Any, key: str, where: str) -> Any:
    if not isinstance(record, Mapping) or key not in record:
        raise DatasetError(f"VEval {where}: a record must be an object with {key!r}; got {str(record)[:120]}")
    return record[key]


def _list(record: Any, key: str, where: str) -> list:
    value = _get(record, key, where)
    if not isinstance(value, list):
        raise DatasetError(f"VEval {where}: {key!r} must be a list; got {type(value).__name__}")
    return value


def _is_blank(box: Any) -> bool:
    return box is None or all(x == 0 for x in box)


def _rle(seg: Any, where: str) -> Any:
    if not isinstance(seg, Mapping) or "counts" not in seg or "size" not in seg:
        raise DatasetError(
            f"VEval {where}: a frame with a box needs a COCO RLE mask {{'size', 'counts'}}; got {str(seg)[:80]}"
            " (the official TETA toolkit fails on it)"
        )
    if isinstance(seg["counts"], list):
        raise DatasetError(
            f"VEval {where}: uncompressed RLE (a list of counts) is not allowed; the official TETA toolkit "
            "passes masks to pycocotools' iou unchanged and fails on it. Compress it (pycocotools.mask.frPyObjects)."
        )
    return seg


def _videos(gt: Mapping) -> tuple[dict[Any, int], dict[Any, dict[int, _Frame]], list[tuple[str, Any]]]:
    """(video id -> frame count, video id -> {frame index: ground truth}, [(sequence name, video id)])."""
    lengths: dict[Any, int] = {}
    names: dict[str, Any] = {}
    for i, video in enumerate(_list(gt, "videos", "ground truth")):
        files = _list(video, "file_names", f"ground truth videos[{i}]")
        if not files:
            raise DatasetError(f"VEval ground truth videos[{i}]: 'file_names' is empty")
        lengths[_get(video, "id", f"ground truth videos[{i}]")] = len(files)
        names[os.path.dirname(files[0]).replace("/", "-")] = video["id"]  # last video of a name wins
    frames: dict[Any, dict[int, _Frame]] = {vid: {} for vid in lengths}
    for i, ann in enumerate(_list(gt, "annotations", "ground truth")):
        where = f"ground truth annotations[{i}]"
        vid = _get(ann, "video_id", where)
        if vid not in lengths:
            continue  # the conversion walks the videos, so masklets of unknown videos are never read
        boxes, segs = _list(ann, "bboxes", where), _list(ann, "segmentations", where)
        if len(boxes) < lengths[vid] or len(segs) < lengths[vid]:
            raise DatasetError(f"VEval {where}: needs a box and a mask entry for each of the {lengths[vid]} frames")
        for t in range(lengths[vid]):
            if boxes[t] is None:
                continue
            frame = frames[vid].setdefault(t, _Frame())
            frame.gt_ids.append(int(_get(ann, "id", where)))
            frame.gt_cls.append(int(_get(ann, "category_id", where)))
            frame.gt_rles.append(_rle(segs[t], f"{where} frame {t}"))
    frames = {vid: dict(sorted(f.items())) for vid, f in frames.items()}
    return lengths, frames, list(names.items())


def _add_predictions(preds: Sequence, lengths: dict[Any, int], frames: dict[Any, dict[int, _Frame]]) -> int:
    """Put the kept prediction frames into ``frames`` (ground-truth frames only); returns how many
    frames the official conversion writes (those on ground-truth frames or not)."""
    written, track = 0, 0
    for i, pred in enumerate(preds):
        where = f"predictions[{i}]"
        score = _get(pred, "score", where)
        if not score >= SCORE_THRESHOLD:
            continue
        track += 1
        vid, cls = _get(pred, "video_id", where), int(_get(pred, "category_id", where))
        boxes = _list(pred, "bboxes", where)
        segs = pred.get("segmentations") or [None] * len(boxes)
        areas = pred.get("areas") or [None] * len(boxes)
        for t, (box, seg, _) in enumerate(zip(boxes, segs, areas)):
            if _is_blank(box):
                continue
            if vid not in lengths or t >= lengths[vid]:
                raise DatasetError(
                    f"VEval {where}: video_id {vid!r} frame {t} is not a frame of the ground truth's videos"
                )
            written += 1
            frame = frames[vid].get(t)
            if frame is None:
                continue  # a frame without ground truth: the toolkit ignores it
            frame.tk_ids.append(track)
            frame.tk_cls.append(cls)
            frame.tk_rles.append(_rle(seg, f"{where} frame {t}"))
    return written


# --------------------------------------------------------------------------------------------
# one sequence
# --------------------------------------------------------------------------------------------


@dataclass
class _Step:
    """One timestep of one class's data (ids are the toolkit's relabelled 0..n-1 ids)."""

    gt: np.ndarray  # relabelled ground-truth ids of the class
    tk: np.ndarray  # relabelled ids of the kept predictions
    tk_cls: np.ndarray  # their phrases
    sim: np.ndarray  # mask IoU, len(gt) x len(tk)
    overlap: set  # original ids of predictions overlapping a masklet of the class (IoU >= 0.5)
    n_cls_eval: int  # predictions the class term looks at: overlapping or of the class


@dataclass
class _Data:
    steps: list[_Step]
    n_gt_ids: int
    n_tk_ids: int
    gt_orig: np.ndarray  # relabelled id -> original ground-truth (annotation) id
    tk_orig: np.ndarray  # relabelled id -> original prediction id
    n_gt_dets: int
    n_overlap_dets: int
    n_cls_dets: int


def _relabel(ids: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    unique = np.unique(np.concatenate(ids)) if ids else np.empty(0, int)
    return unique, [np.searchsorted(unique, x).astype(int) for x in ids]


def _class_data(
    raw: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    cls_id: int | None,
    assignment: list[dict] | None,
) -> _Data:
    """The toolkit's per-class preprocessing (``cls_id=None``: all classes, no assignment)."""
    overlaps, exh = [], []
    for t, (gt_ids, gt_cls, tk_ids, tk_cls, sim) in enumerate(raw):
        rows = np.ones(len(gt_ids), bool) if cls_id is None else gt_cls == cls_id
        out: set = set()
        if assignment:
            out = {assignment[t][g] for g in set(assignment[t]) - set(gt_ids[rows].tolist())}
        overlaps.append(set(tk_ids[(sim[rows] >= _OVERLAP).any(axis=0)].tolist()) - out)
        exh.append(set() if cls_id is None else set(tk_ids[tk_cls == cls_id].tolist()))
    kept = np.array(sorted(set().union(*overlaps)), dtype=int)
    gts, tks, cols_cls, sims = [], [], [], []
    for gt_ids, gt_cls, tk_ids, tk_cls, sim in raw:
        rows = np.ones(len(gt_ids), bool) if cls_id is None else gt_cls == cls_id
        cols = np.isin(tk_ids, kept)
        gts.append(gt_ids[rows])
        tks.append(tk_ids[cols])
        cols_cls.append(tk_cls[cols])
        sims.append(sim[rows][:, cols])
    gt_unique, gt_new = _relabel(gts)
    tk_unique, tk_new = _relabel(tks)
    steps = [_Step(*x[:5], len(x[4] | x[5])) for x in zip(gt_new, tk_new, cols_cls, sims, overlaps, exh)]
    return _Data(
        steps,
        len(gt_unique),
        len(tk_unique),
        gt_unique,
        tk_unique,
        sum(len(g) for g in gts),
        sum(len(o) for o in overlaps),
        sum(s.n_cls_eval for s in steps),
    )


def _alignment(data: _Data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global alignment score (Jaccard of the soft per-frame matches) between track ids."""
    num = np.zeros((data.n_gt_ids, data.n_tk_ids))
    gt_count = np.zeros((data.n_gt_ids, 1))
    tk_count = np.zeros((1, data.n_tk_ids))
    for s in data.steps:
        denom = s.sim.sum(0, keepdims=True) + s.sim.sum(1, keepdims=True) - s.sim
        soft = np.zeros_like(s.sim)
        ok = denom > (0 + _EPS)
        soft[ok] = s.sim[ok] / denom[ok]
        num[s.gt[:, None], s.tk[None, :]] += soft
        gt_count[s.gt] += 1
        tk_count[0, s.tk] += 1
    return num / (gt_count + tk_count - num), gt_count, tk_count


def _match(step: _Step, ga: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching maximising alignment x IoU; (rows, cols) before any IoU threshold."""
    return linear_sum_assignment(-(ga[step.gt[:, None], step.tk[None, :]] * step.sim))


def _assignment(data: _Data) -> list[dict]:
    """Original gt id -> original prediction id matched at alpha 0.5, per timestep (all classes)."""
    if data.n_overlap_dets == 0 or data.n_gt_dets == 0:
        return [{} for _ in data.steps]
    ga, _, _ = _alignment(data)
    out = []
    for s in data.steps:
        rows, cols = _match(s, ga)
        keep = s.sim[rows, cols] >= 0.5 - _EPS
        out.append(dict(zip(data.gt_orig[s.gt[rows[keep]]].tolist(), data.tk_orig[s.tk[cols[keep]]].tolist())))
    return out


def _zero_result() -> dict[str, Any]:
    res = {f: np.zeros(len(_ALPHAS)) for f in ("Loc_TP", "Loc_FN", "Loc_FP", "AssocA", "AssocRe", "AssocPr")}
    res.update({f: np.zeros(_N_CLS) for f in ("Cls_TP", "Cls_FN", "Cls_FP")})
    return res


def _final(res: dict[str, Any]) -> dict[str, Any]:
    """The toolkit's final fields (Loc*, Cls* as a mean over the class thresholds, TETA)."""
    tp, fn, fp = res["Loc_TP"], res["Loc_FN"], res["Loc_FP"]
    res["LocRe"] = tp / np.maximum(1, tp + fn)
    res["LocPr"] = tp / np.maximum(1, tp + fp)
    res["LocA"] = tp / np.maximum(1, tp + fn + fp)
    tp, fn, fp = res["Cls_TP"], res["Cls_FN"], res["Cls_FP"]
    res["ClsRe"] = np.mean(tp / np.maximum(1, tp + fn))
    res["ClsPr"] = np.mean(tp / np.maximum(1, tp + fp))
    res["ClsA"] = np.mean(tp / np.maximum(1, tp + fn + fp))
    res["TETA"] = (res["LocA"] + res["AssocA"] + res["ClsA"]) / 3
    return res


def _teta_class(data: _Data, name: str, cls_id: int, id2name: dict[int, str], cls_fp: dict) -> dict[str, Any]:
    """TETA counts of one class in one sequence; adds class false positives to ``cls_fp``."""
    res = _zero_result()
    if data.n_overlap_dets == 0 or data.n_gt_dets == 0:
        if data.n_overlap_dets == 0:
            res["Loc_FN"] = data.n_gt_dets * np.ones(len(_ALPHAS))
        cls_fp[name] = data.n_cls_dets * np.ones(_N_CLS)  # overwrites, as the toolkit does
        return _final(res)
    ga, gt_count, tk_count = _alignment(data)
    counts = [np.zeros_like(ga) for _ in _ALPHAS]
    for s in data.steps:
        if len(s.gt) == 0:
            cls_fp[name] += s.n_cls_eval
            continue
        rows, cols = _match(s, ga)
        cls_fp[name] += s.n_cls_eval - len(s.overlap)
        for a, alpha in enumerate(_ALPHAS):
            keep = s.sim[rows, cols] >= alpha - _EPS
            r, c = rows[keep], cols[keep]
            matched = set(data.tk_orig[s.tk[c]].tolist())
            phrases = s.tk_cls[c]
            right = int(np.sum(phrases == cls_id))
            if alpha >= 0.5:
                for wrong in phrases[phrases != cls_id].tolist():
                    if wrong in id2name:
                        cls_fp[id2name[wrong]][a - 10] += 1
                res["Cls_TP"][a - 10] += right
                res["Cls_FN"][a - 10] += len(r) - right
            res["Loc_TP"][a] += len(r)
            res["Loc_FN"][a] += len(s.gt) - len(r)
            res["Loc_FP"][a] += len(s.overlap - matched)
            if len(r):
                counts[a][s.gt[r], s.tk[c]] += 1
    for a in range(len(_ALPHAS)):
        m, tp = counts[a], np.maximum(1, res["Loc_TP"][a])
        res["AssocA"][a] = np.sum(m * (m / np.maximum(1, gt_count + tk_count - m))) / tp
        res["AssocRe"][a] = np.sum(m * (m / np.maximum(1, gt_count))) / tp
        res["AssocPr"][a] = np.sum(m * (m / np.maximum(1, tk_count))) / tp
    return _final(res)


def _raw_steps(frames: dict[int, _Frame]) -> list[tuple[np.ndarray, ...]]:
    raw = []
    for f in frames.values():
        if f.gt_rles and f.tk_rles:
            sim = np.asarray(mask_utils.iou(f.gt_rles, f.tk_rles, [False] * len(f.tk_rles)), dtype=float)
        else:
            sim = np.zeros((len(f.gt_rles), len(f.tk_rles)))
        raw.append(tuple(np.asarray(x, dtype=int) for x in (f.gt_ids, f.gt_cls, f.tk_ids, f.tk_cls)) + (sim,))
    return raw


def _sequence(
    frames: dict[int, _Frame], classes: list[str], name2id: dict[str, int], id2name: dict[int, str], seq: str
) -> dict[str, dict[str, Any]]:
    """Per-class TETA counts of one video (class false positives added at the end, as the toolkit)."""
    for t, f in frames.items():
        if len(set(f.gt_ids)) != len(f.gt_ids):
            raise DatasetError(f"VEval ground truth: video {seq!r} frame {t} has the same annotation id twice")
    raw = _raw_steps(frames)
    everything = _class_data(raw, None, None)
    assignment = _assignment(everything)
    gt_phrases = {c for r in raw for c in r[1].tolist()}
    tk_phrases = Counter(c for r in raw for c in r[3].tolist())
    cls_fp = {name: np.zeros(_N_CLS) for name in classes}
    res: dict[str, dict[str, Any]] = {}
    for name in classes:
        cls_id = name2id[name]
        if cls_id in gt_phrases:
            res[name] = _teta_class(_class_data(raw, cls_id, assignment), name, cls_id, id2name, cls_fp)
        elif cls_id in tk_phrases:  # the toolkit's empty-class branch, without walking the frames
            cls_fp[name] = tk_phrases[cls_id] * np.ones(_N_CLS)
            res[name] = _final(_zero_result())
        # else: every count is 0 and nothing can add class FPs to it; adding zeros changes no sum
    for name in classes:
        if name in res:
            res[name]["Cls_FP"] += cls_fp[name]
    return res


# --------------------------------------------------------------------------------------------
# combining and the entry point
# --------------------------------------------------------------------------------------------


def _combine_sequences(per_seq: list[dict[str, Any]]) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for f in ("Loc_TP", "Loc_FN", "Loc_FP", "Cls_TP", "Cls_FN", "Cls_FP"):
        res[f] = sum(r[f] for r in per_seq)
    for f in ("AssocRe", "AssocPr", "AssocA"):
        res[f] = sum(r[f] * r["Loc_TP"] for r in per_seq) / np.maximum(1.0, res["Loc_TP"])
    return _final(res)


def _printed(value: float) -> float:
    """The toolkit's summary row: percent printed with ``"{:1.5g}"`` and read back."""
    return float(f"{100 * np.mean(value):1.5g}")


def veval_teta(gt: dict, preds: list[dict]) -> tuple[dict[str, float], dict[tuple[int, int], dict[str, float]]]:
    """TETA of SA-Co/VEval predictions, as sam3's ``VideoTetaEvaluator(use_mask=True, is_exhaustive=True)``.

    ``gt`` is a loaded VEval ground-truth json (``videos`` with ``id`` and ``file_names``;
    ``annotations`` with ``id``, ``video_id``, ``category_id``, per-frame ``bboxes`` (XYWH or
    ``None``) and ``segmentations`` (compressed COCO RLE or ``None``); ``categories`` with ``id`` and
    ``name``), ``preds`` the loaded prediction list (``video_id``, ``category_id``, ``score``,
    per-frame ``bboxes`` and ``segmentations``). Neither is modified.

    Returns ``(dataset_results, per_pair)``: ``dataset_results`` maps `TETA_KEYS` in the official
    order (``video_mask_teta``, ``_loc_a``, ``_assoc_a``, ``_cls_a``, ``_loc_re``, ``_loc_pr``,
    ``_assoc_re``, ``_assoc_pr``, ``_cls_re``, ``_cls_pr``) to percentages with 5 significant digits;
    ``per_pair`` is empty, since the official evaluator returns no per (video_id, category_id)
    results. The module docstring lists the official conventions reproduced. Inputs the official
    toolkit cannot score raise `samkit.errors.DatasetError`.
    """
    if not isinstance(gt, Mapping):
        raise ParameterError(f"gt must be the loaded VEval ground-truth dict; got {type(gt).__name__}")
    if not isinstance(preds, Sequence) or isinstance(preds, (str, bytes)):
        raise ParameterError(f"preds must be the loaded VEval prediction list; got {type(preds).__name__}")
    lengths, frames, sequences = _videos(gt)
    if not any(frames.values()):
        raise DatasetError(
            "VEval ground truth has no masklet frame (every box is None): the official TETA toolkit "
            "fails on it (IndexError), so there is nothing to score"
        )
    if _add_predictions(preds, lengths, frames) == 0:
        raise DatasetError(
            f"VEval predictions have no frame with a box at score >= {SCORE_THRESHOLD}: the official TETA "
            "toolkit fails on it (IndexError), so TETA is undefined"
        )
    # phrases with a masklet frame in an evaluated video (a video shadowed by a later one of the
    # same name does not count)
    seen = {c for _, vid in sequences for frame in frames[vid].values() for c in frame.gt_cls}
    categories = _list(gt, "categories", "ground truth")
    classes = [c["name"] for c in categories if c["id"] in seen]
    name2id = {c["name"]: c["id"] for c in categories}
    id2name = {i: n for n, i in name2id.items() if n in classes}
    per_class: dict[str, list[dict[str, Any]]] = {name: [] for name in classes}
    for seq, vid in sequences:
        for name, res in _sequence(frames[vid], classes, name2id, id2name, seq).items():
            per_class[name].append(res)
    # a class without any result in any sequence is all zeros, which the class mean leaves out anyway
    combined = {name: _combine_sequences(r) for name, r in per_class.items() if r and name != _AVERAGE}
    kept = [r for r in combined.values() if (r["Loc_TP"] + r["Loc_FN"] + r["Loc_FP"] > 0 + _EPS).any()]
    if not kept:  # every class empty (only possible through the name quirks): the toolkit's mean of nothing
        return dict.fromkeys(TETA_KEYS, float("nan")), {}
    average = {f: np.mean([r[f] for r in kept], axis=0) for f in _FIELDS}
    return {key: _printed(average[f]) for key, f in zip(TETA_KEYS, _FIELDS)}, {}
