"""SA-V val/test J and F, as sam2's ``sav_dataset/sav_evaluator.py`` computes them.

`score_sav` reproduces ``sav_evaluator.py`` with its default options (``benchmark([gt_root],
[pred_root], strict=False, ...)`` of ``sav_dataset/utils/sav_benchmark.py``, adapted by the SAM 2
authors from hkchengrex/vos-benchmark), value for value (checked against its own output on
generated inputs: ``tests/data/vos_golden``). No OpenCV: its ``cv2.dilate`` with a
``skimage.morphology.disk`` is reproduced exactly by `samkit.metrics.video.boundary_f`.

Its conventions, all reproduced:

- **Layouts** (gt and predictions alike): SA-V's ``{video}/{obj:03d}/{frame}.png``, one binary mask
  per object and frame (any two values; ``> 0`` is the object; objects may overlap), or DAVIS'
  ``{video}/{frame}.png`` with object ids. A video folder holding only ``.png`` files is the DAVIS
  layout, else every entry is an object folder. ``gt_root/Annotations`` is used instead of
  ``gt_root`` when the two roots list different numbers of entries and the first entry the
  operating system lists in ``Annotations`` is not a PNG (as the official does).
- **Videos**: the video folders in both roots (sorted); a gt video without a prediction folder is
  skipped (``notes["videos_without_prediction"]``), a predicted video without gt ignored. With
  ``strict=True`` (its ``--strict``) either is an error.
- **Frames**: an object's frames are the files of its gt folder (sorted; in the DAVIS layout the
  video's PNGs); the first and the last are dropped (``skip_first_last=False``: its
  ``--do_not_skip_first_and_last_frame``). Each needs the same file in the prediction (a missing
  one, object folder included, is an error); predicted frames without gt are ignored.
- **Empty masks**: frames are counted for an object from the first scored frame where the gt *or*
  the prediction holds it; earlier frames where both are empty are not counted. From then on a
  frame where both are empty scores J = F = 1. An object the gt never holds on its scored frames
  has no score: in the SA-V layout the official stops there (an assertion), and so does samkit.
- **Per frame**: J = |gt & pred| / |gt | pred|; F = DAVIS' boundary F-measure with a disk of
  radius ceil(0.008 * image diagonal).
- **Per object**: J = 100 * mean of its per-frame J, F likewise, J&F = (J + F) / 2 (percent).
  In the DAVIS layout every non-zero gt value is an object, 255 included.
- **Summary**: ``J`` and ``F`` are means over *all objects* of all videos, ``J&F = (J + F) / 2``,
  in percent and unrounded, as ``benchmark`` returns them (it prints them with one decimal).

The official writes ``results.csv`` into ``pred_root``; samkit writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samkit.errors import ParameterError
from samkit.metrics.scoring._png import check_processes, map_ordered, read_png, require_dir
from samkit.metrics.scoring.result import VOSScore
from samkit.metrics.video import boundary_f, jaccard
from samkit.params import check_bool

__all__ = ["score_sav", "SAV_SUMMARY_KEYS"]

#: the summary keys, in the order the official prints them (percent)
SAV_SUMMARY_KEYS = ("J&F", "J", "F")

_CONVENTIONS = {
    "units": "percent (J, F and J&F in [0, 100]), unrounded (the official prints one decimal)",
    "empty_masks": "an object's frames count from the first scored frame where its gt or prediction holds "
    "it; then a frame where both are empty scores J = F = 1",
    "summary": "mean over all objects of all videos",
}


def _read_pair(gt_path: Path, pred_path: Path, video: str, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """One frame's gt and prediction arrays, checked as the official checks them."""
    if not pred_path.is_file():
        raise ParameterError(f"video {video!r}: prediction {pred_path} not found (every gt frame needs one)")
    gt = read_png(gt_path, f"video {video!r} gt")
    pred = read_png(pred_path, f"video {video!r} prediction")
    if gt.shape != pred.shape:
        raise ParameterError(
            f"video {video!r}: shape mismatch: {gt_path} is {gt.shape[1]}x{gt.shape[0]} (WxH), {pred_path} "
            f"is {pred.shape[1]}x{pred.shape[0]}"
        )
    if binary:
        for path, array in ((gt_path, gt), (pred_path, pred)):
            if len(np.unique(array)) > 2:
                raise ParameterError(
                    f"video {video!r}: found more than 1 object in {path}: the SA-V layout holds one object "
                    "mask per PNG (at most two values)"
                )
        gt, pred = gt > 0, pred > 0
    return gt, pred


def _score_object(
    video: str, frames: list[str], gt_dir: Path, pred_dir: Path, binary: bool
) -> list[tuple[Any, float, float]]:
    """``(object, J, F)`` per object of the gt, in the official's order (its ``Evaluator``)."""
    in_gt: set = set()
    in_pred: set = set()
    ious: dict[Any, list[float]] = {}
    fs: dict[Any, list[float]] = {}
    for frame in frames:
        gt, pred = _read_pair(gt_dir / frame, pred_dir / frame, video, binary)
        gt_ids = np.unique(gt)
        pred_ids = np.unique(pred)
        in_gt.update(set(gt_ids[gt_ids != 0].tolist()))
        in_pred.update(set(pred_ids[pred_ids != 0].tolist()))
        for obj in in_gt.union(in_pred):
            g, p = gt == obj, pred == obj
            ious.setdefault(obj, []).append(jaccard(g, p))
            fs.setdefault(obj, []).append(boundary_f(g, p))
    return [(obj, float(np.mean(ious[obj]) * 100), float(np.mean(fs[obj]) * 100)) for obj in in_gt]


def _score_video(job: tuple[str, str, str, bool]) -> list[tuple[str, float, float]]:
    """``(object, J, F)`` of every object of one video (module-level: it runs in pool workers too)."""
    video, gt_root, pred_root, skip = job
    gt_video, pred_video = Path(gt_root) / video, Path(pred_root) / video
    entries = sorted(os.listdir(gt_video))
    if all(name.endswith(".png") for name in entries):  # DAVIS layout: one PNG of ids per frame
        frames = entries[1:-1] if skip else entries
        return [(str(obj), j, f) for obj, j, f in _score_object(video, frames, gt_video, pred_video, False)]
    out = []
    for obj_dir in entries:  # SA-V layout: one folder per object
        gt_obj = gt_video / obj_dir
        if not gt_obj.is_dir():
            raise ParameterError(
                f"video {video!r}: {gt_obj} is a file beside object folders; a video folder holds either "
                "object folders (SA-V layout) or only PNGs (DAVIS layout)"
            )
        frames = sorted(os.listdir(gt_obj))
        frames = frames[1:-1] if skip else frames
        scores = _score_object(video, frames, gt_obj, pred_video / obj_dir, True)
        if len(scores) != 1:
            raise ParameterError(
                f"video {video!r}, object {obj_dir}: the gt mask is empty on every scored frame ({len(frames)}), "
                "so the object has no score; sam2's sav_evaluator stops on this too"
            )
        out.append((obj_dir, scores[0][1], scores[0][2]))
    return out


def _videos(folder: Path, entries: list[str]) -> list[str]:
    """The entries that are folders."""
    return [name for name in entries if (folder / name).is_dir()]


def score_sav(
    gt_root: str | os.PathLike,
    pred_root: str | os.PathLike,
    *,
    strict: bool = False,
    skip_first_last: bool = True,
    num_processes: int = 1,
    progress: bool = False,
) -> VOSScore:
    """SA-V J and F, as sam2's ``sav_evaluator.py --gt_root G --pred_root P`` computes them.

    Args:
        gt_root: SA-V's ``Annotations_6fps`` folder (``{video}/{obj:03d}/{frame}.png``), or a
            DAVIS-layout folder (``{video}/{frame}.png``), or a folder holding ``Annotations``.
        pred_root: the predictions in the same layout (sam2's ``vos_inference.py
            --per_obj_png_file`` writes SA-V's).
        strict: every gt video must have a prediction folder and vice versa (``--strict``); by
            default (the official default) gt videos without predictions are skipped.
        skip_first_last: drop each object's first and last annotated frames (True: the official
            default and SA-V's protocol; False: ``--do_not_skip_first_and_last_frame``).
        num_processes: worker processes (1: this process; the official's ``-n``, default 16 there);
            the values do not depend on it.
        progress: a tqdm bar over videos on stderr.

    Returns a `VOSScore` with `SAV_SUMMARY_KEYS` in percent (unrounded), ``per_object`` rows
    ``sequence`` (the video), ``object`` (the object folder, or the id in the DAVIS layout), ``J&F``,
    ``J``, ``F``, and ``notes`` (the skipped videos among them). Every convention is in the module
    docstring. Missing folders or prediction files, non-binary masks in the SA-V layout, sizes that
    differ, an object never in its gt: `ParameterError`.
    """
    gt = require_dir(gt_root, "gt_root")
    pred = require_dir(pred_root, "pred_root")
    strict = check_bool("strict", strict)
    skip = check_bool("skip_first_last", skip_first_last)
    num_processes = check_processes(num_processes)

    gt_entries, pred_entries = os.listdir(gt), os.listdir(pred)
    notes: dict[str, Any] = {}
    if len(gt_entries) != len(pred_entries) and "Annotations" in gt_entries and (gt / "Annotations").is_dir():
        listed = os.listdir(gt / "Annotations")
        if listed and ".png" not in listed[0]:
            gt = gt / "Annotations"
            gt_entries = listed
            notes["gt_root"] = str(gt)
    gt_videos, pred_videos = set(_videos(gt, gt_entries)), set(_videos(pred, pred_entries))
    missing, extra = sorted(gt_videos - pred_videos), sorted(pred_videos - gt_videos)
    if strict and (missing or extra):
        parts = []
        if missing:
            parts.append(f"gt videos without a prediction folder in {str(pred)!r}: {', '.join(missing)}")
        if extra:
            parts.append(f"predicted videos without gt in {str(gt)!r}: {', '.join(extra)}")
        raise ParameterError("strict: " + "; ".join(parts))
    videos = sorted(gt_videos & pred_videos)

    jobs = [(video, str(gt), str(pred), skip) for video in videos]
    rows = []
    for video, objects in zip(
        videos, map_ordered(_score_video, jobs, num_processes=num_processes, progress=progress, desc="sav")
    ):
        for obj, j, f in objects:
            rows.append({"sequence": video, "object": obj, "J&F": (j + f) / 2, "J": j, "F": f})
    per_object = pd.DataFrame(rows, columns=["sequence", "object", *SAV_SUMMARY_KEYS])
    with np.errstate(all="ignore"):  # no objects: NaN, as the official's mean of an empty list
        global_j = float(np.array([r["J"] for r in rows], dtype=np.float64).mean()) if rows else float("nan")
        global_f = float(np.array([r["F"] for r in rows], dtype=np.float64).mean()) if rows else float("nan")
    summary = {"J&F": (global_j + global_f) / 2, "J": global_j, "F": global_f}
    notes.update(_CONVENTIONS)
    notes["frames_scored"] = (
        "each object's annotated frames but its first and last" if skip else "every annotated frame"
    )
    notes.update({"strict": strict, "videos": len(videos), "objects_scored": len(rows)})
    if missing:
        notes["videos_without_prediction"] = missing
    if extra:
        notes["predicted_videos_without_gt"] = extra
    return VOSScore(benchmark="sav", summary=summary, per_object=per_object, notes=notes)
