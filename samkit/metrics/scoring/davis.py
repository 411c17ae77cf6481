"""DAVIS 2017 and MOSE v1 semi-supervised VOS scores, as the DAVIS 2017 toolkit computes them.

`score_davis2017` reproduces davis2017-evaluation's semi-supervised evaluation
(``DAVISEvaluation(root, "semi-supervised", split).evaluate(results)`` and the global table of its
``evaluation_method.py``), value for value (checked against the toolkit's own output on generated
inputs: ``tests/data/vos_golden``). `score_mosev1` applies the same protocol to MOSE v1's layout.

The toolkit's conventions, all reproduced:

- **Frames**: a sequence's frames are its annotation PNGs (sorted by name); the first (given as
  the prompt) and the last are dropped, frames 1 .. T-2 are scored. Prediction files are read for
  those frames only (``<pred_root>/<seq>/<frame>.png``, the annotation's name): a missing one is an
  error (the toolkit exits); the prediction's first and last frames and frames past the
  annotations are never read. A sequence needs 3 annotated frames.
- **Objects**: ids ``1 .. K``, K the largest id in the *first* annotation frame (after void is
  removed). An id up to K absent from the first frame (appearing later) is scored; an id above K
  is never scored. The prediction's ids are its palette indices: an index above K is an error (the
  toolkit exits: "there is an index higher than the number of objects"); an object the prediction
  never holds is scored against empty masks (the toolkit's zero padding).
- **Void**: 255 in the annotations is turned into background and is *not* excluded (the toolkit
  builds void masks but its semi-supervised path passes none), so predicting void pixels costs.
- **Per frame**: J = ``db_eval_iou`` (empty union: 1), F = ``db_eval_boundary`` (bound_th 0.008
  of the image diagonal), both from `samkit.metrics.video` (checked equal to the toolkit).
- **Per object**: ``db_statistics`` of its per-frame J and F: mean, recall (fraction > 0.5) and
  decay (first quarter minus last quarter), as `samkit.metrics.video.j_and_f` computes them.
- **Summary**: the mean over *all objects* of every sequence (not over sequences) of each
  statistic; ``J&F-Mean = (J-Mean + F-Mean) / 2``; fractions, unrounded (the toolkit's CSV rounds
  to 3 decimals).

Where samkit differs, on purpose: from 256 scored frames in one sequence the toolkit's decay bins
overflow a uint8 (its J-Decay / F-Decay become NaN or wrong); samkit uses the intended bins and
names such sequences in ``notes["long_sequences"]``. The toolkit also insists on JPEG frames
(``JPEGImages``) it never scores: samkit does not read them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samkit.errors import ParameterError
from samkit.metrics.scoring._png import check_processes, check_sequences, map_ordered, read_png, require_dir
from samkit.metrics.scoring.result import VOSScore
from samkit.metrics.video import j_and_f

__all__ = ["score_davis2017", "score_mosev1", "DAVIS_SUMMARY_KEYS"]

#: the toolkit's global table, in its order (``evaluation_method.py``'s ``g_measures``)
DAVIS_SUMMARY_KEYS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")

_STATS = DAVIS_SUMMARY_KEYS[1:]
_VOID = 255
#: from this many scored frames on, the toolkit's decay bins overflow (see the module docstring)
_UINT8_FRAMES = 256

_CONVENTIONS = {
    "units": "fractions (J, F, recalls in [0, 1]; decays in [-1, 1])",
    "frames_scored": "annotated frames 1 .. T-2 of each sequence (the first and the last are dropped)",
    "objects": "ids 1 .. the largest id of each sequence's first annotation frame; larger ids are not scored",
    "void": "255 counts as background and is not excluded (as the toolkit's semi-supervised evaluation)",
    "missing_objects": "an object the prediction never holds is scored against empty masks",
    "summary": "mean over all objects of all sequences",
}


def _frame_names(folder: Path) -> list[str]:
    """The annotation PNGs of a sequence as the toolkit globs them (``*.png``, sorted)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".png") and not p.name.startswith("."))


def _frame_id(name: str) -> str:
    """The toolkit's frame id of a file name: the dot-separated parts but the last, joined."""
    return "".join(name.split(".")[:-1])


def _score_sequence(job: tuple[str, str, str]) -> dict[str, Any]:
    """One sequence's per-object statistics (module-level: it runs in pool workers too)."""
    seq, annotations, pred_root = job
    seq_dir = Path(annotations) / seq
    names = _frame_names(seq_dir)
    if not names:
        raise ParameterError(f"sequence {seq!r}: no annotation PNGs in {seq_dir}")
    if len(names) < 3:
        raise ParameterError(
            f"sequence {seq!r} has {len(names)} annotated frame(s) in {seq_dir}: the first and last are "
            "not scored, so at least 3 are needed (the DAVIS toolkit fails on fewer)"
        )
    gts = [read_png(seq_dir / name, f"sequence {seq!r} annotation") for name in names]
    shape = gts[0].shape
    for name, gt in zip(names, gts):
        if gt.shape != shape:
            raise ParameterError(
                f"sequence {seq!r}: annotation {name} is {gt.shape[1]}x{gt.shape[0]} (WxH) but the first is "
                f"{shape[1]}x{shape[0]}"
            )
    gt = np.stack(gts).astype(np.int64)
    gt[gt == _VOID] = 0
    num_objects = int(gt[0].max())
    unscored = sorted(int(v) for v in np.unique(gt) if v > num_objects)

    pred_dir = Path(pred_root) / seq
    if not pred_dir.is_dir():
        raise ParameterError(f"sequence {seq!r}: no prediction folder {pred_dir}")
    frame_ids = [_frame_id(name) for name in names[1:-1]]
    preds = []
    for frame in frame_ids:
        path = pred_dir / f"{frame}.png"
        if not path.is_file():
            raise ParameterError(
                f"sequence {seq!r}: prediction frame {frame} not found ({path}); every annotated frame but "
                "the first and last needs an indexed PNG named as its annotation"
            )
        pred = read_png(path, f"sequence {seq!r} prediction")
        if pred.shape != shape:
            raise ParameterError(
                f"sequence {seq!r}: prediction {path.name} is {pred.shape[1]}x{pred.shape[0]} (WxH) but the "
                f"annotations are {shape[1]}x{shape[0]}"
            )
        preds.append(pred)
    pred = np.stack(preds).astype(np.int64)
    if pred.min() < 0:
        raise ParameterError(f"sequence {seq!r}: prediction values must be palette indices >= 0")
    largest = int(pred.max())
    if largest > num_objects:
        raise ParameterError(
            f"sequence {seq!r}: the prediction holds index {largest}, higher than the number of objects in the "
            f"sequence ({num_objects}, the largest id of its first annotation frame); the DAVIS toolkit "
            "stops on this"
        )
    scored = gt[1:-1]
    rows = []
    for k in range(1, num_objects + 1):
        stats = j_and_f(scored == k, pred == k, skip_first_last=False)
        rows.append({"sequence": seq, "object": k, **{key: stats[key] for key in DAVIS_SUMMARY_KEYS}})
    return {"rows": rows, "frames": len(frame_ids), "unscored_ids": unscored}


def _score(
    benchmark: str,
    annotations: Path,
    pred_root: Path,
    sequences: list[str],
    notes: dict[str, Any],
    num_processes: int,
    progress: bool,
) -> VOSScore:
    """The toolkit's evaluation of ``sequences`` (folders of ``annotations``) against ``pred_root``."""
    sequences = list(dict.fromkeys(sequences))  # a name listed twice is scored once (the toolkit's dict)
    jobs = [(seq, str(annotations), str(pred_root)) for seq in sequences]
    rows: list[dict[str, Any]] = []
    unscored: dict[str, list[int]] = {}
    long_sequences: list[str] = []
    for seq, result in zip(
        sequences, map_ordered(_score_sequence, jobs, num_processes=num_processes, progress=progress, desc=benchmark)
    ):
        rows.extend(result["rows"])
        if result["unscored_ids"]:
            unscored[seq] = result["unscored_ids"]
        if result["frames"] >= _UINT8_FRAMES:
            long_sequences.append(seq)
    columns = ["sequence", "object", *DAVIS_SUMMARY_KEYS]
    per_object = pd.DataFrame(rows, columns=columns)
    if rows:
        j_mean = float(np.mean([r["J-Mean"] for r in rows]))
        f_mean = float(np.mean([r["F-Mean"] for r in rows]))
        summary = {"J&F-Mean": (j_mean + f_mean) / 2}
        summary.update({key: float(np.mean([r[key] for r in rows])) for key in _STATS})
    else:
        summary = dict.fromkeys(DAVIS_SUMMARY_KEYS, math.nan)
    notes = {**notes, **_CONVENTIONS, "sequences": len(sequences), "objects_scored": len(rows)}
    if unscored:
        notes["unscored_ids"] = unscored
    if long_sequences:
        notes["long_sequences"] = (
            f"{', '.join(long_sequences)}: {_UINT8_FRAMES} or more scored frames; the DAVIS toolkit's decay bins "
            "overflow a uint8 there (its decays come out NaN or wrong); samkit's use the intended bins"
        )
    return VOSScore(benchmark=benchmark, summary=summary, per_object=per_object, notes=notes)


def _read_list(path: Path) -> list[str]:
    """Sequence names of a list file (one a line; blank lines skipped)."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def score_davis2017(
    gt_root: str | os.PathLike,
    pred_root: str | os.PathLike,
    *,
    resolution: str = "480p",
    split: str = "val",
    sequences: list[str] | None = None,
    num_processes: int = 1,
    progress: bool = False,
) -> VOSScore:
    """DAVIS 2017 semi-supervised J and F, as davis2017-evaluation computes them.

    Args:
        gt_root: the DAVIS root: ``Annotations/<resolution>/<seq>/<frame>.png`` palette PNGs (0
            background, k object k, 255 void) and ``ImageSets/2017/<split>.txt``.
        pred_root: ``<seq>/<frame>.png`` indexed PNGs (palette index k = object k, 0 background),
            named as the annotations.
        resolution: the annotation sub-folder, ``"480p"`` (the benchmark's) or ``"Full-Resolution"``.
        split: the sequence list ``ImageSets/2017/<split>.txt`` to score (``"val"``, ``"train"``).
        sequences: score these sequences instead of the split's.
        num_processes: worker processes (1: this process); the values do not depend on it.
        progress: a tqdm bar over sequences on stderr.

    Returns a `VOSScore` with the toolkit's summary keys `DAVIS_SUMMARY_KEYS` (fractions, the mean
    over all objects), ``per_object`` (``sequence``, ``object`` and the same keys per object; the
    toolkit's per-sequence CSV names a row ``f"{sequence}_{object}"``) and the conventions applied
    in ``notes`` (see the module docstring for all of them). Missing folders, a missing prediction
    frame, a prediction index above the sequence's objects, frames of another size: `ParameterError`.
    """
    root = require_dir(gt_root, "gt_root")
    preds = require_dir(pred_root, "pred_root")
    if not isinstance(resolution, str) or not resolution or "/" in resolution or resolution in (".", ".."):
        raise ParameterError(f"resolution must be a folder name such as '480p', got {resolution!r}")
    num_processes = check_processes(num_processes)
    annotations = root / "Annotations" / resolution
    if not annotations.is_dir():
        raise ParameterError(f"gt_root {str(root)!r} has no annotation folder Annotations/{resolution}")
    names = check_sequences(sequences)
    source = "sequences"
    if names is None:
        if not isinstance(split, str) or not split or "/" in split:
            raise ParameterError(f"split must be a split name such as 'val', got {split!r}")
        list_file = root / "ImageSets" / "2017" / f"{split}.txt"
        if not list_file.is_file():
            raise ParameterError(f"gt_root {str(root)!r} has no sequence list ImageSets/2017/{split}.txt")
        names = check_sequences(_read_list(list_file), str(list_file))
        source = f"ImageSets/2017/{split}.txt"
    notes = {"resolution": resolution, "sequence_list": source}
    return _score("davis2017", annotations, preds, names or [], notes, num_processes, progress)


def score_mosev1(
    gt_root: str | os.PathLike,
    pred_root: str | os.PathLike,
    *,
    sequences: list[str] | None = None,
    num_processes: int = 1,
    progress: bool = False,
) -> VOSScore:
    """MOSE v1 semi-supervised J and F: the DAVIS 2017 protocol (`score_davis2017`) on MOSE's layout.

    MOSE v1's official scores come from its CodaLab server, whose scoring program is not published
    (henghuiding/MOSE-api holds dataloaders only, no v1 evaluator). MOSE v1 follows DAVIS 2017:
    DAVIS-style palette annotations, semi-supervised J and F with the toolkit's boundary measure
    (bound_th 0.008 of the diagonal; MOSEv2 is what changed it). So this scores exactly as the
    DAVIS 2017 toolkit does (first and last frames dropped, objects of the first frame, mean over
    all objects; every convention in this module's docstring), checked against the toolkit run on
    the MOSE layout. Only the layout differs:

    Args:
        gt_root: a MOSE split folder holding ``Annotations/<seq>/<frame>.png`` (five-digit frame
            names), or that ``Annotations`` folder itself. No ImageSets and no resolution folder:
            every sequence folder is scored (sorted by name) unless ``sequences`` names some (e.g.
            sam2's ``MOSE_sample_val_list.txt``). MOSE v1's public ``valid`` split annotates the
            first frame only; score a split with full annotations (e.g. part of ``train``).
        pred_root: ``<seq>/<frame>.png`` indexed PNGs, named as the annotations.
        sequences, num_processes, progress: as `score_davis2017`.

    Returns a `VOSScore` with `DAVIS_SUMMARY_KEYS` (fractions). The MOSE leaderboard shows
    ``J&F``, ``J`` and ``F``: those are ``J&F-Mean``, ``J-Mean`` and ``F-Mean`` here.
    """
    root = require_dir(gt_root, "gt_root")
    preds = require_dir(pred_root, "pred_root")
    num_processes = check_processes(num_processes)
    annotations = root / "Annotations" if (root / "Annotations").is_dir() else root
    names = check_sequences(sequences)
    source = "sequences"
    if names is None:
        names = sorted(p.name for p in annotations.iterdir() if p.is_dir() and not p.name.startswith("."))
        source = "every sequence folder"
        if not names:
            raise ParameterError(f"gt_root {str(root)!r}: no sequence folders in {annotations}")
    notes = {
        "layout": "Annotations/<seq>/<frame>.png",
        "sequence_list": source,
        "official_evaluator": "MOSE v1's CodaLab scoring program is not published; scored with the DAVIS 2017 "
        "toolkit's semi-supervised protocol, which MOSE v1 follows",
    }
    return _score("mosev1", annotations, preds, names, notes, num_processes, progress)
