"""LVOS (v1 and v2) semi-supervised VOS scores, as LVOS's official evaluator computes them.

`score_lvos` reproduces lvos-evaluation's ``evaluation_method.py --task semi-supervised``
(``lvos/evaluation.py``'s ``LVOSEvaluation`` and the global and per-sequence tables of the script),
value for value: checked against the evaluator's own output at commit ``25cb02d1455b`` on generated
inputs (``tests/data/lvos_golden``, golden outputs made by its ``make_golden.py``). No OpenCV: J and
the boundary F are `samkit.metrics.video.jaccard` and `samkit.metrics.video.boundary_f`, which equal
the DAVIS code LVOS's ``lvos/metrics.py`` copies.

Layout (LVOS's README and `samkit.data.LvosDataset`; the official ``--lvos_path`` is ``root/val``)::

    gt_root/<split>/Annotations/<video>/<frame>.png   palette PNGs, 0 background, k object k
    gt_root/<split>/valid_meta.json                   {"videos": {<video>: {"objects": {<k>:
                                                      {"frame_range": {"start": <frame>, "end":
                                                      <frame>, "frame_nums": <int>}}}}}}
    pred_root/<video>/<frame>.png                     indexed PNGs (index k = object k), same names

Frame names are the frame's index in the 30 fps video, eight digits (``00000001``, ``00000006``,
...): LVOS annotates every fifth frame. ``gt_root`` may also be the split folder itself.

Official mode: the conventions reproduced (all of them; there is no other mode)

- **Meta file**: the evaluator reads ``<lvos_path>/<set>_meta.json`` with ``--set`` ``valid`` (its
  default) or ``test`` (it refuses anything else): for ``split="val"`` that is
  ``val/valid_meta.json``. LVOS's README calls the files ``<split>_meta.json`` and
  `samkit.data.LvosDataset` reads ``val/val_meta.json``: samkit takes ``valid_meta.json`` and falls
  back to ``val_meta.json`` (``notes["meta"]`` says which). Other splits: ``<split>_meta.json``
  (``train`` is not an official split; the evaluator refuses it).
- **Videos**: every video of the meta json, in sorted order; a video's objects in the meta json's
  order. Folders not in the meta json are ignored; JPEG frames are never read.
- **Frames scored**, per object, from its ``frame_range``: the names ``start, start + 5, ...``
  below ``end`` (``range(start, end, 5)``, eight digits), the first (the reference) dropped, and
  the object gets ``frame_nums - 2`` per-frame slots, filled in order. With the usual meta
  (``end = start + 5 * (frame_nums - 1)``) that scores every annotated frame of the range but the
  first and the last. Where the meta disagrees with itself, as the evaluator: a range holding
  fewer than ``frame_nums - 1`` frames leaves its last slots at **0** (they count as J = F = 0;
  ``notes["unfilled_slots"]`` and a warning name them); one holding exactly ``frame_nums`` frames
  skips its last (the slot ``frame_nums - 1`` never exists); one holding more (the evaluator's
  IndexError) or ``frame_nums < 2`` (its ValueError) is an error here. ``frame_nums == 2``: no slot,
  the object's means are NaN (and so are the summary means of its group).
- **Objects that leave and return**: every frame of the range is scored, gt present or not: an
  empty gt against an empty prediction scores J = F = 1, against predicted pixels 0. Frames
  outside an object's range are never scored for it. An object the prediction never holds is
  scored against empty masks.
- **Pixels**: both PNGs are read with ``np.array(PIL.Image.open(path))`` (palette indices, not
  colours); an object's masks are ``== int(id)``. **Void** (255) is not excluded: the evaluator
  passes no void mask, so 255 is background for every object (predicting it costs nothing).
- **Per frame**: J = ``db_eval_iou`` (empty union: 1), F = ``db_eval_boundary`` (DAVIS' boundary
  F, tolerance ``ceil(0.008 * diagonal)`` px; both boundaries empty: 1, one empty: 0).
- **Per object**: ``J-Mean`` and ``F-Mean`` the means of its slots; ``V-Mean`` the evaluator's
  "variance" measure: ``sqrt(round(mean((m - (J + F) / 2) ** 2), 4))`` over the slots, ``m`` the
  mean of ``(J + F) / 2`` (numpy's ``round`` to 4 decimals before the square root).
- **Seen / unseen**: a video is *unseen* when its name is in the evaluator's
  ``unseen_videos.txt``, which it reads from its working directory (the one in its repository:
  the 51 LVOS v2 ``val`` videos of `LVOS_V2_VAL_UNSEEN`; the meta json has no categories). Give
  ``unseen_videos`` to use another list.
- **Summary**: fractions, unrounded (the evaluator's CSV rounds to 3 decimals), in its order:
  ``J&F-Mean = ((Js + Fs) + (Ju + Fu)) / 4``, ``J-Mean = (Js + Ju) / 2``, ``J-seen-Mean = Js``,
  ``J-unseen-Mean = Ju``, the same for F and V, where ``Js`` is the mean of ``J-Mean`` over the
  objects of seen videos and ``Ju`` over those of unseen videos. So seen and unseen weigh the same
  whatever their sizes, and with no object in one group (e.g. LVOS v1, or a subset without an
  unseen video) every combined key is NaN: a warning says so.
- **Per object table**: the evaluator's per-sequence CSV (``Sequence`` = ``<video>_<position>``,
  the 1-based position of the object in the meta json, not its id; ``J-Mean``, ``F-Mean``,
  ``V-Mean``), unrounded.
- **Errors**: where the evaluator stops (a missing prediction frame or folder: it prints
  "<video> frame <name> not found!" and calls ``sys.exit()``, which exits with status 0; an
  annotation missing; a prediction of another size: its assertion), samkit raises
  `samkit.errors.ParameterError` naming the video, the object and the file. Prediction frames that
  are never scored (each object's first and last) may be missing.
- **Processes**: ``num_processes`` scores videos in spawned processes; the results are gathered in
  video order, so they equal the serial ones bit for bit. (The evaluator's ``--mp_nums > 1``
  gathers them in completion order, which can move a mean in its last bit.)

The evaluator's optional Cython extension (``lvos/metric_ops/_get_binary_c``, built by hand, see its
README) computes another boundary map: ``seg ^ (e | s | se)`` instead of DAVIS'
``seg ^ e | seg ^ s | seg ^ se`` (``e``, ``s``, ``se`` the right, lower and lower-right
neighbours), so an object pixel is on the boundary only when all three neighbours are background.
That changes F and V (J is untouched), although its README says the results are the same. samkit
reproduces the evaluator as it runs by default, without the extension; ``cython_extension=True``
reproduces it with the extension built (checked against that run too).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samkit.errors import ParameterError
from samkit.metrics.masks import _dilate, _disk
from samkit.metrics.scoring._png import check_processes, map_ordered, read_png, require_dir
from samkit.metrics.scoring.result import VOSScore
from samkit.metrics.video import boundary_f, jaccard
from samkit.params import check_bool

__all__ = ["score_lvos", "LVOS_SUMMARY_KEYS", "LVOS_V2_VAL_UNSEEN", "OFFICIAL_COMMIT"]

#: the evaluator's global table, in its order (``evaluation_method.py``'s ``g_measures``)
LVOS_SUMMARY_KEYS: tuple[str, ...] = (
    "J&F-Mean",
    "J-Mean",
    "J-seen-Mean",
    "J-unseen-Mean",
    "F-Mean",
    "F-seen-Mean",
    "F-unseen-Mean",
    "V-Mean",
    "V-seen-Mean",
    "V-unseen-Mean",
)

#: the lvos-evaluation commit the golden outputs were made with
OFFICIAL_COMMIT = "25cb02d1455b5d0c964a9836ff5242fb51df55ee"

#: the videos the evaluator counts as unseen: its ``unseen_videos.txt`` (LVOS v2 ``val``), in order
LVOS_V2_VAL_UNSEEN: tuple[str, ...] = (
    "R3UJGYwy", "K3OUeINk", "058oeZ2p", "xpI7xRWN", "FiRTBMg2", "nfcT3owb", "JGG6MrhF", "yfzVCnvU",
    "6mNj04tC", "yWnanBID", "v3uNUctx", "49TNsJzk", "gw84JOqH", "711gAS21", "dtHbJvYy", "tAyQIobn",
    "vJ8W2TO5", "FmzvB44A", "8lxxCA5h", "N6CONZUW", "Oj1z5fO0", "gdqCcvs2", "LWVlKBlK", "yxCvN6OJ",
    "pMntJwSQ", "p9RjdKoh", "9NA8c5C3", "m37l7ti1", "nwflTTf1", "LY2zehlH", "beR0WT11", "afoR2rH6",
    "xQZlxhxV", "o36i3YWC", "cdzAjcuN", "IlvtT6D6", "YfoFnMgm", "FiQUhyRi", "9oLyy7aJ", "9RoNInYO",
    "wrrX6bxv", "q2HE4zaM", "rvwT3piq", "ZFqAoImI", "bwcKqVSN", "QE1wMR58", "eEcUJVBZ", "Qf9YVXOW",
    "SRRojucs", "PQfn7XV2", "3bvEjhOT",
)  # fmt: skip

_STEP = 5  # LVOS annotates every fifth frame of the 30 fps video
_PER_OBJECT_COLUMNS = ["sequence", "object", "name", "unseen", "J-Mean", "F-Mean", "V-Mean", "frames", "scored"]

_CONVENTIONS = {
    "units": "fractions (J, F and V in [0, 1]), unrounded (the official CSVs round to 3 decimals)",
    "frames_scored": "per object, the frames start, start+5, ... below its frame_range end, the first dropped, "
    "into frame_nums-2 slots (unfilled slots count as 0)",
    "void": "255 counts as background and is not excluded (the evaluator passes no void mask)",
    "missing_objects": "an object the prediction never holds is scored against empty masks",
    "summary": "seen and unseen means weigh the same: J&F-Mean = (J-seen + F-seen + J-unseen + F-unseen) / 4",
    "per_object_name": "<video>_<position of the object in the meta json, from 1> (the official Sequence column)",
}


@dataclass(frozen=True)
class _Object:
    """One object of the meta json, checked (picklable)."""

    key: str  # the meta json's key
    label: int  # its pixel value
    start: int
    end: int
    frame_nums: int

    @property
    def count(self) -> int:
        """Frames ``range(start, end, 5)`` holds."""
        return len(range(self.start, self.end, _STEP))

    @property
    def slots(self) -> int:
        """The evaluator's per-frame slots: ``frame_nums - 2``."""
        return self.frame_nums - 2

    @property
    def scored(self) -> int:
        """Slots that get a value: frames ``start + 5k`` for ``k = 1 .. scored``."""
        return max(0, min(self.count - 1, self.slots))


def _cython_bmap(seg: np.ndarray) -> np.ndarray:
    """The boundary map of the evaluator's Cython ``compute_b``: ``seg ^ (e | s | se)`` inside, the
    last row and column and the corner as DAVIS' ``_seg2bmap`` (`samkit.metrics.video`)."""
    h, w = seg.shape
    right, down, diag = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    right[:, : w - 1] = seg[:, 1:]
    down[: h - 1, :] = seg[1:, :]
    diag[: h - 1, : w - 1] = seg[1:, 1:]
    bmap = seg ^ (right | down | diag)
    bmap[h - 1, :] = seg[h - 1, :] ^ right[h - 1, :]
    bmap[:, w - 1] = seg[:, w - 1] ^ down[:, w - 1]
    bmap[h - 1, w - 1] = False
    return bmap


def _cython_boundary_f(gt: np.ndarray, pred: np.ndarray) -> float:
    """``f_measure`` with the Cython extension's boundary maps (otherwise DAVIS' boundary F)."""
    pred_b, gt_b = _cython_bmap(pred), _cython_bmap(gt)
    n_pred, n_gt = int(np.count_nonzero(pred_b)), int(np.count_nonzero(gt_b))
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        kernel = _disk(float(np.ceil(0.008 * np.linalg.norm(gt.shape))))  # the evaluator's bound_pix
        precision = int(np.count_nonzero(pred_b & _dilate(gt_b, kernel))) / float(n_pred)
        recall = int(np.count_nonzero(gt_b & _dilate(pred_b, kernel))) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _video_scores(job: tuple[str, str, str, list[_Object], bool]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per object of one video, its per-slot ``(J, F)`` arrays (module-level: runs in workers too)."""
    video, ann_dir, pred_dir, objects, cython = job
    f_measure = _cython_boundary_f if cython else boundary_f
    values = [(np.zeros(obj.slots), np.zeros(obj.slots)) for obj in objects]
    needed: dict[int, list[tuple[int, int]]] = {}  # frame -> [(object index, slot)]
    for index, obj in enumerate(objects):
        for k in range(1, obj.scored + 1):
            needed.setdefault(obj.start + _STEP * k, []).append((index, k - 1))
    for frame in sorted(needed):
        name = f"{frame:08d}.png"
        first = objects[needed[frame][0][0]].key
        gt_path, pred_path = Path(ann_dir) / name, Path(pred_dir) / name
        if not gt_path.is_file():
            raise ParameterError(
                f"LVOS video {video!r}: annotation {gt_path} missing (object {first!r}'s frame_range covers "
                "it; the official evaluator fails on it)"
            )
        if not pred_path.is_file():
            where = f"prediction frame {pred_path}" if Path(pred_dir).is_dir() else f"prediction folder {pred_dir}"
            raise ParameterError(
                f"LVOS video {video!r}: {where} not found (object {first!r} is scored on frame {name}; the "
                "official evaluator stops here: every frame of an object's range but its first and last needs "
                "an indexed PNG named as the annotation)"
            )
        gt = read_png(gt_path, f"LVOS video {video!r} annotation")
        pred = read_png(pred_path, f"LVOS video {video!r} prediction")
        if pred.shape != gt.shape:
            raise ParameterError(
                f"LVOS video {video!r}: prediction {pred_path} is {pred.shape[1]}x{pred.shape[0]} (WxH) but its "
                f"annotation is {gt.shape[1]}x{gt.shape[0]}"
            )
        for index, slot in needed[frame]:
            label = objects[index].label
            gt_mask, pred_mask = gt == label, pred == label
            values[index][0][slot] = jaccard(gt_mask, pred_mask)
            values[index][1][slot] = f_measure(gt_mask, pred_mask)
    return values


def _object_means(j: np.ndarray, f: np.ndarray) -> tuple[float, float, float]:
    """``(J-Mean, F-Mean, V-Mean)`` of one object's slots, as ``db_statistics`` and
    ``db_statistics_var`` compute them (NaN without slots)."""
    n = j.shape[0]
    if n == 0:
        return math.nan, math.nan, math.nan
    jf = (j + f) / 2
    variance = np.sum((np.mean(jf) - jf) ** 2) / n
    return float(np.mean(j)), float(np.mean(f)), math.sqrt(round(variance, 4))


def _group_mean(values: list[float]) -> np.float64:
    """``np.mean`` of a list as the evaluator takes it (NaN for an empty list, without the warning)."""
    if not values:
        return np.float64(math.nan)
    return np.mean(np.asarray(values, dtype=np.float64))


def _summary(seen: dict[str, list[float]], unseen: dict[str, list[float]]) -> dict[str, float]:
    """The evaluator's ``g_res`` from the per-object means of seen and unseen videos."""
    js, ju = _group_mean(seen["J"]), _group_mean(unseen["J"])
    fs, fu = _group_mean(seen["F"]), _group_mean(unseen["F"])
    vs, vu = _group_mean(seen["V"]), _group_mean(unseen["V"])
    values = (((js + fs) + (ju + fu)) / 4.0, (js + ju) / 2, js, ju, (fs + fu) / 2, fs, fu, (vs + vu) / 2, vs, vu)
    return {key: float(value) for key, value in zip(LVOS_SUMMARY_KEYS, values)}


# --------------------------------------------------------------------------------------------
# reading the layout
# --------------------------------------------------------------------------------------------


def _split_dir(root: Path, split: str) -> Path:
    """``root/<split>``, or ``root`` itself when it is the split folder (holds ``Annotations``)."""
    if (root / split).is_dir():
        return root / split
    if (root / "Annotations").is_dir():
        return root
    raise ParameterError(
        f"gt_root {str(root)!r} has no split folder {split!r} (holding Annotations/ and the meta json) and is not "
        "one itself"
    )


def _meta_names(split: str) -> list[str]:
    """Meta json names to look for: the evaluator's ``<set>_meta.json`` first, then LVOS's README name."""
    official = "valid" if split in ("val", "valid") else split
    return list(dict.fromkeys([f"{official}_meta.json", f"{split}_meta.json"]))


def _int_field(value: Any, what: str) -> int:
    """``int(value)`` as the evaluator takes it (ints and digit strings), else `ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParameterError(f"{what} must be an int, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ParameterError(f"{what} must be an int, got {value!r}") from None


def _read_meta(path: Path) -> dict[str, list[_Object]]:
    """video -> its objects (meta order), checked as far as the evaluator depends on them."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ParameterError(f"LVOS meta json {path}: cannot read it ({err})") from None
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise ParameterError(f"LVOS meta json {path}: expected {{'videos': {{<video>: {{'objects': ...}}}}}}")
    out: dict[str, list[_Object]] = {}
    for video in sorted(videos):
        entry = videos[video]
        if not video or "/" in video or "\\" in video or video in (".", ".."):
            raise ParameterError(f"LVOS meta json {path}: {video!r} is not a video folder name")
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objects, dict):
            raise ParameterError(f"LVOS meta json {path}: video {video!r} has no 'objects' mapping")
        checked = []
        for key, obj in objects.items():
            what = f"LVOS meta json {path}: video {video!r} object {key!r}"
            frame_range = obj.get("frame_range") if isinstance(obj, dict) else None
            if not isinstance(frame_range, dict) or not {"start", "end", "frame_nums"} <= set(frame_range):
                raise ParameterError(f"{what}: expected {{'frame_range': {{'start', 'end', 'frame_nums'}}}}")
            item = _Object(
                key=str(key),
                label=_int_field(key, f"{what}: the object id (its pixel value)"),
                start=_int_field(frame_range["start"], f"{what}: frame_range start"),
                end=_int_field(frame_range["end"], f"{what}: frame_range end"),
                frame_nums=_int_field(frame_range["frame_nums"], f"{what}: frame_range frame_nums"),
            )
            if item.frame_nums < 2:
                raise ParameterError(
                    f"{what}: frame_nums {item.frame_nums} < 2 (the official evaluator allocates frame_nums - 2 "
                    "per-frame slots and fails)"
                )
            if item.count > item.frame_nums:
                raise ParameterError(
                    f"{what}: frame_range {item.start} .. {item.end} holds {item.count} frames (every 5th, end "
                    f"excluded), more than frame_nums {item.frame_nums} (the official evaluator fails: more frames "
                    "than per-frame slots)"
                )
            checked.append(item)
        out[video] = checked
    return out


def _unseen_list(unseen_videos: Any) -> tuple[set[str], str]:
    """The unseen video names and where they came from."""
    if unseen_videos is None:
        return set(LVOS_V2_VAL_UNSEEN), "the official unseen_videos.txt (LVOS v2 val, 51 videos)"
    if isinstance(unseen_videos, str | os.PathLike):
        path = Path(unseen_videos)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise ParameterError(f"unseen_videos: cannot read {str(path)!r} ({err})") from None
        return {line.strip() for line in text.splitlines()}, str(path)
    if isinstance(unseen_videos, Iterable):
        names = list(unseen_videos)
        if all(isinstance(name, str) for name in names):
            return set(names), f"the list given ({len(names)} videos)"
    raise ParameterError(
        f"unseen_videos must be None, a file with one video name a line, or a list of names; got {unseen_videos!r}"
    )


# --------------------------------------------------------------------------------------------
# the scorer
# --------------------------------------------------------------------------------------------


def score_lvos(
    gt_root: str | os.PathLike,
    pred_root: str | os.PathLike,
    *,
    split: str = "val",
    unseen_videos: str | os.PathLike | Iterable[str] | None = None,
    cython_extension: bool = False,
    num_processes: int = 1,
    progress: bool = False,
) -> VOSScore:
    """LVOS semi-supervised J, F and V, seen and unseen, as lvos-evaluation's ``evaluation_method.py``
    computes them (see the module docstring for the layout and every convention reproduced).

    Args:
        gt_root: the LVOS root holding ``<split>/Annotations/<video>/<frame>.png`` and
            ``<split>/valid_meta.json`` (or ``<split>/<split>_meta.json``), as `samkit.data.LvosDataset`
            reads it; or the split folder itself (the official ``--lvos_path``).
        pred_root: ``<video>/<frame>.png`` indexed PNGs, named as the annotations.
        split: the split folder, ``"val"`` (default; the official ``--set valid``) or ``"test"``
            (whose public annotations hold first frames only: it cannot be scored locally).
        unseen_videos: the videos counted as unseen: None (default) for the evaluator's own
            ``unseen_videos.txt`` (`LVOS_V2_VAL_UNSEEN`), a file with one name a line (what the
            evaluator reads from its working directory), or a list of names.
        cython_extension: reproduce the evaluator with its optional Cython extension built (its
            other boundary map; see the module docstring) instead of as it runs by default.
        num_processes: worker processes (1: this process); the values do not depend on it.
        progress: a tqdm bar over videos on stderr.

    Returns:
        a `VOSScore`: ``summary`` the evaluator's ten keys (`LVOS_SUMMARY_KEYS`), fractions,
        unrounded, NaN where a group has no object; ``per_object`` one row per (``sequence``,
        ``object``) in the evaluator's order: ``name`` (its ``Sequence`` label), ``unseen``,
        ``J-Mean``, ``F-Mean``, ``V-Mean``, ``frames`` (its ``frame_nums - 2`` slots) and
        ``scored`` (slots filled from a frame); ``notes``.

    Raises:
        samkit.errors.ParameterError: missing folders or meta json, a malformed meta json (with
            the evaluator's crashes on ``frame_nums``), a missing annotation, prediction frame or
            prediction folder, a prediction of another size than its annotation; each naming the
            video and the file.
    """
    root = require_dir(gt_root, "gt_root")
    preds = require_dir(pred_root, "pred_root")
    if not isinstance(split, str) or not split or "/" in split or "\\" in split or split in (".", ".."):
        raise ParameterError(f"split must be a split folder name such as 'val', got {split!r}")
    num_processes = check_processes(num_processes)
    cython_extension = check_bool("cython_extension", cython_extension)
    unseen, unseen_source = _unseen_list(unseen_videos)
    split_dir = _split_dir(root, split)
    annotations = split_dir / "Annotations"
    if not annotations.is_dir():
        raise ParameterError(f"LVOS split folder {str(split_dir)!r} has no Annotations/ folder")
    candidates = _meta_names(split)
    meta_path = next((split_dir / name for name in candidates if (split_dir / name).is_file()), None)
    if meta_path is None:
        raise ParameterError(
            f"LVOS split folder {str(split_dir)!r} has no meta json ({' or '.join(candidates)}; the official evaluator "
            "reads <lvos_path>/valid_meta.json for the val split)"
        )
    videos = _read_meta(meta_path)

    jobs = [
        (video, str(annotations / video), str(preds / video), objects, cython_extension)
        for video, objects in videos.items()
    ]
    results = map_ordered(_video_scores, jobs, num_processes=num_processes, progress=progress, desc="lvos")
    rows: list[dict[str, Any]] = []
    groups: dict[bool, dict[str, list[float]]] = {False: {"J": [], "F": [], "V": []}, True: {"J": [], "F": [], "V": []}}
    unfilled: dict[str, int] = {}
    no_slots: list[str] = []
    for (video, _, _, objects, _), values in zip(jobs, results):
        is_unseen = video in unseen
        for position, (obj, (j, f)) in enumerate(zip(objects, values), start=1):
            name = f"{video}_{position}"
            j_mean, f_mean, v_mean = _object_means(j, f)
            for key, value in (("J", j_mean), ("F", f_mean), ("V", v_mean)):
                groups[is_unseen][key].append(value)
            rows.append(
                {
                    "sequence": video,
                    "object": obj.label,
                    "name": name,
                    "unseen": is_unseen,
                    "J-Mean": j_mean,
                    "F-Mean": f_mean,
                    "V-Mean": v_mean,
                    "frames": obj.slots,
                    "scored": obj.scored,
                }
            )
            if obj.slots == 0:
                no_slots.append(name)
            elif obj.scored < obj.slots:
                unfilled[name] = obj.slots - obj.scored

    summary = _summary(groups[False], groups[True])
    per_object = pd.DataFrame(rows, columns=_PER_OBJECT_COLUMNS)
    notes: dict[str, Any] = {
        "official": f"lvos-evaluation evaluation_method.py --task semi-supervised @ {OFFICIAL_COMMIT[:12]}"
        + (", its Cython extension built" if cython_extension else " (no Cython extension: its default)"),
        "meta": str(meta_path),
        **_CONVENTIONS,
        "unseen_list": unseen_source,
        "unseen_videos_scored": [video for video in videos if video in unseen],
        "videos": len(videos),
        "objects_scored": len(rows),
        "objects_seen": len(groups[False]["J"]),
        "objects_unseen": len(groups[True]["J"]),
    }
    if meta_path.name != candidates[0]:
        notes["meta_name"] = (
            f"{meta_path.name}: the official evaluator reads {candidates[0]} (the same contents are expected)"
        )
    if unfilled:
        notes["unfilled_slots"] = unfilled
        warnings.warn(
            f"LVOS: the frame ranges of {', '.join(unfilled)} hold fewer frames than their frame_nums; the official "
            "evaluator leaves those per-frame slots at 0 and so does samkit (they lower J and F)",
            stacklevel=2,
        )
    if no_slots:
        notes["no_scored_frames"] = no_slots
        warnings.warn(
            f"LVOS: {', '.join(no_slots)} have frame_nums 2 and so no scored frame: their means are NaN, and so are "
            "the summary means of their group (as the official evaluator computes them)",
            stacklevel=2,
        )
    empty = [group for group, flag in (("seen", False), ("unseen", True)) if not groups[flag]["J"]]
    if empty:
        notes["empty_group"] = (
            f"no {' and no '.join(empty)} object: the combined keys (J&F-Mean, J-Mean, F-Mean, V-Mean) are NaN, as the "
            "official evaluator computes them"
        )
        warnings.warn(f"LVOS: {notes['empty_group']} (unseen list: {unseen_source})", stacklevel=2)
    return VOSScore(benchmark="lvos", summary=summary, per_object=per_object, notes=notes)
