"""MOSEv2's official scorer, re-implemented: ``J``, the adaptive boundary measure ``F_new`` (Ḟ), the
disappearance / reappearance subsets and DAVIS-style ``F``, as MOSE-api's
``MOSEv2/sam2_rcms/tools/score.py`` with ``metricsv2.py`` computes them (checked value for value
against that code at commit ``241977ae2ceceee054fa2a2c8a2690838c451369``; golden outputs made by
``tests/data/mosev2_golden/make_golden.py``). No OpenCV: its disk dilation is reproduced in numpy.

Layout (the official tool's ``--meta``, ``--ann`` and ``--pred``)::

    gt_root/meta.json                    {"videos": {seq: {"objects": ..., "length": L,
                                                           "height": H, "width": W}}}
    gt_root/Annotations/<seq>/<frame>.png   index PNGs (pixel value = object id)
    pred_root/<seq>/<frame>.png             index PNGs, same frame names

``objects`` is iterated as Python iterates it (the keys of a dict, the items of a list); each is an
object id (``int(...)``). Predictions may sit one folder deeper (``pred_root/<one folder>/<seq>``).

Official mode: the conventions reproduced (all of them; there is no other mode)

- **Sequences**: every folder of ``Annotations/`` (hidden entries skipped), each a key of
  ``meta.json``'s ``videos``, with exactly ``length`` entries (else an error, the tool's
  "Server-side error"). Sequences not in ``Annotations/`` are not scored. samkit takes them in
  sorted order (the tool in ``os.listdir`` order, which can move a mean in its last bit).
- **Prediction root**: when ``pred_root`` holds exactly one non-hidden entry and it is a folder,
  that folder is the prediction root (so a lone sequence folder placed directly in ``pred_root``
  is descended into and then counts as missing; the ``notes`` and a warning say so).
- **Frames scored**: positions ``1 .. length - 2``: the first frame (the given reference) and the
  last frame of every sequence are dropped. The frame names are taken **from the prediction
  folder**: its ``*.png`` files (hidden ones skipped) sorted by ``int(name.split('.')[0])``, the
  one at each scored position; the ground truth of that name is read. So a missing prediction
  frame shifts the later positions onto the next names (``notes["frame_name_mismatch"]`` and a
  warning), a missing last frame changes nothing, and fewer than ``length - 1`` files is an error
  (the tool's assertion). A named file that does not exist, or a prediction whose size is not
  meta.json's ``height`` x ``width``, is an error too. ``height``/``width`` null: the size of the
  ground-truth frame named as the first prediction file.
- **Missing prediction video**: every object of the sequence scores ``J = F_new = F = 0`` and has
  no disappear / reappear value (they count as 0 in ``J``, ``F_new``, ``F`` and the ``J&F``'s and
  are left out of the disappear / reappear means). A warning names them. A sequence with
  ``length <= 2`` (no frame left) scores the same zeros.
- **Pixels**: both PNGs are read with ``PIL.Image.open(...).convert("P")``; an object's masks are
  ``== id``. There are no void pixels: 255 is an ordinary label. Predictions are index maps, so
  objects cannot overlap.
- **J** per frame is the smoothed ``(|gt ∧ pred| + 1) / (|gt ∨ pred| + 1)`` (1 when both are empty;
  an empty gt against ``n`` predicted pixels gives ``1 / (n + 1)``, not 0).
- **Boundaries** are DAVIS' one-pixel maps (``samkit.metrics.video._seg2bmap``), matched within a
  disk (``skimage.morphology.disk(r)``, as ``cv2.dilate`` applies it; an all-zero disk, r < 0.586,
  acts as its top-left element alone, as OpenCV does). With ``d = 0.008 * hypot(H, W)`` and
  ``a = ceil(0.1 * sqrt(gt area))`` (``ceil(0.1 * hypot(H, W))`` for an empty gt), ``b = min(d, a)``:
  if ``b < d``, ``F_new`` uses radius ``b`` and ``F`` radius ``ceil(d)``; else both use radius ``d``
  itself (not rounded: a non-integer disk). Precision, recall and the empty cases are DAVIS':
  both boundaries empty gives 1, exactly one empty gives 0.
- **Per object**: ``J``, ``F_new``, ``F`` are means over the scored frames. The scored frames are
  cut into maximal runs of empty / non-empty gt; every run but the first is a segment, an empty
  run a *disappear* segment and a non-empty run a *reappear* segment (an object absent at the
  start and appearing later has a reappear segment and no disappear one). ``disappear_J`` /
  ``disappear_F_new`` are the means over its disappear segments of the segment means of ``J`` /
  ``F_new`` (none: no value), the same for reappear.
- **Summary** (in percent, each rounded with numpy's ``round(x, 2)`` as the tool applies it to
  numpy floats), in the tool's order: ``J&F_new = (mean J + mean F_new) / 2``, ``J``, ``F_new``,
  ``disappear_J&F_new`` and ``reappear_J&F_new`` (means over the objects that have a value; NaN
  when none has), ``F`` and ``J&F = (mean J + mean F) / 2``; means over all objects of all
  sequences.
- **Per object table**: the tool's per-object ``metrics.json`` values (the same keys, rounded the
  same way, NaN where it writes null), plus the unrounded fractions.
- **Processes**: ``num_processes`` scores sequences in parallel (spawned processes); each
  sequence's numbers are computed the same way in every process and gathered in order, so serial
  and pooled results are identical. (The tool uses one process per CPU over 15-frame chunks,
  which does not change its numbers either.)
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samkit.errors import VideoError
from samkit.metrics.masks import _dilate, _disk
from samkit.metrics.scoring.result import VOSScore
from samkit.metrics.video import _seg2bmap
from samkit.params import check_int

__all__ = [
    "score_mosev2",
    "frame_scores",
    "boundary_radii",
    "object_scores",
    "SUMMARY_KEYS",
    "RAW_KEYS",
    "OFFICIAL_COMMIT",
]

#: the official tool's summary keys, in its order (per-object ``metrics.json`` uses the same keys)
SUMMARY_KEYS: tuple[str, ...] = ("J&F_new", "J", "F_new", "disappear_J&F_new", "reappear_J&F_new", "F", "J&F")
#: the unrounded per-object values (fractions), in the order the tool's merge step returns them
RAW_KEYS: tuple[str, ...] = ("j", "f_new", "f", "disappear_j", "disappear_f_new", "reappear_j", "reappear_f_new")
#: the MOSE-api commit the golden outputs were made with
OFFICIAL_COMMIT = "241977ae2ceceee054fa2a2c8a2690838c451369"

_DAVIS_RATIO = 0.008  # F's tolerance: this fraction of the image diagonal
_AREA_RATIO = 0.1  # F_new's tolerance: this fraction of sqrt(gt area)


# --------------------------------------------------------------------------------------------
# per frame
# --------------------------------------------------------------------------------------------


def boundary_radii(shape: tuple[int, int], gt_area: int) -> tuple[float, float]:
    """``(radius of F, radius of F_new)`` in pixels for a frame of ``shape`` and a gt of ``gt_area``.

    ``d = 0.008 * hypot(H, W)``; ``a = ceil(0.1 * sqrt(gt_area))`` (``ceil(0.1 * hypot(H, W))``
    when the gt is empty); ``b = min(d, a)``. If ``b < d`` the radii are ``(ceil(d), b)``, else
    ``(d, d)`` with ``d`` not rounded. numpy float64 arithmetic, as the official code.
    """
    diag = np.linalg.norm(shape)
    davis = _DAVIS_RATIO * diag
    if gt_area > 0:
        adaptive = np.ceil(_AREA_RATIO * np.sqrt(np.int64(gt_area)))
    else:
        adaptive = np.ceil(_AREA_RATIO * diag)
    adaptive = min(davis, adaptive)
    if adaptive < davis:
        return float(np.ceil(davis)), float(adaptive)
    return float(davis), float(davis)


_KERNELS: dict[float, np.ndarray] = {}


def _kernel(radius: float) -> np.ndarray:
    """``skimage.morphology.disk(radius)`` as ``cv2.dilate`` uses it: an all-zero disk acts as its
    element (0, 0) alone (OpenCV's ``preprocess2DKernel`` keeps one point when none is set)."""
    kernel = _KERNELS.get(radius)
    if kernel is None:
        kernel = _disk(radius)
        if not kernel.any():
            kernel = kernel.copy()
            kernel[0, 0] = True
        _KERNELS[radius] = kernel
    return kernel


def _f_measure(pred_b: np.ndarray, gt_b: np.ndarray, n_pred: int, n_gt: int, radius: float) -> float:
    """DAVIS' boundary F of two boundary maps (with their pixel counts) at ``radius``."""
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        kernel = _kernel(radius)
        precision = int(np.count_nonzero(pred_b & _dilate(gt_b, kernel))) / float(n_pred)
        recall = int(np.count_nonzero(gt_b & _dilate(pred_b, kernel))) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def frame_scores(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float, float, bool]:
    """``(J, F_new, F, gt_empty)`` of one object in one frame, as the official tool scores it.

    ``gt`` and ``pred`` are (H, W) boolean masks of one shape. ``J = (|gt ∧ pred| + 1) /
    (|gt ∨ pred| + 1)``; ``F_new`` and ``F`` are DAVIS boundary F-measures at the radii of
    `boundary_radii`. Values are fractions in [0, 1].
    """
    gt = np.asarray(gt, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape or gt.ndim != 2:
        raise ValueError(f"gt and pred must be 2-D masks of one shape; got {gt.shape} and {pred.shape}")
    inter = int(np.count_nonzero(gt & pred))
    union = int(np.count_nonzero(gt | pred))
    j = (inter + 1) / (union + 1)
    area = int(np.count_nonzero(gt))
    r_f, r_new = boundary_radii(gt.shape, area)
    pred_b, gt_b = _seg2bmap(pred), _seg2bmap(gt)
    n_pred, n_gt = int(np.count_nonzero(pred_b)), int(np.count_nonzero(gt_b))
    f = _f_measure(pred_b, gt_b, n_pred, n_gt, r_f)
    f_new = f if r_new == r_f else _f_measure(pred_b, gt_b, n_pred, n_gt, r_new)
    return j, f_new, f, area == 0


# --------------------------------------------------------------------------------------------
# per object
# --------------------------------------------------------------------------------------------


def object_scores(
    j: Sequence[float], f_new: Sequence[float], f: Sequence[float], gt_empty: Sequence[bool]
) -> dict[str, float | None]:
    """One object's `RAW_KEYS` values from its per-frame scores over the scored frames.

    ``j``, ``f_new``, ``f`` are means (numpy float64). The frames are cut into maximal runs of
    equal ``gt_empty``; each run after the first is a disappear (empty gt) or reappear segment;
    ``disappear_*`` / ``reappear_*`` are the means of the segments' means (None without any).
    No frames at all gives 0.0 for the means and None for the rest, as the official tool.
    """
    jv = np.asarray(j, dtype=np.float64)
    fv = np.asarray(f_new, dtype=np.float64)
    f_old = np.asarray(f, dtype=np.float64)
    empty = np.asarray(gt_empty, dtype=bool)
    if not (jv.shape == fv.shape == f_old.shape == empty.shape) or jv.ndim != 1:
        raise ValueError("j, f_new, f and gt_empty must be 1-D and of one length")
    out: dict[str, float | None] = dict.fromkeys(RAW_KEYS)
    if jv.size == 0:
        out.update(j=np.float64(0.0), f_new=np.float64(0.0), f=np.float64(0.0))
        return out
    out.update(j=jv.mean(), f_new=fv.mean(), f=f_old.mean())
    starts = [0, *(np.flatnonzero(empty[1:] != empty[:-1]) + 1).tolist(), empty.size]
    segments: dict[bool, list[tuple[np.float64, np.float64]]] = {True: [], False: []}
    for start, end in zip(starts[1:-1], starts[2:]):
        segments[bool(empty[start])].append((jv[start:end].mean(), fv[start:end].mean()))
    for name, gone in (("disappear", True), ("reappear", False)):
        if segments[gone]:
            out[f"{name}_j"] = np.mean([s[0] for s in segments[gone]])
            out[f"{name}_f_new"] = np.mean([s[1] for s in segments[gone]])
    return out


def _rounded(value: Any) -> float:
    """The tool's ``round(x * 100, 2)`` (numpy's round: its values are numpy floats)."""
    return float(round(np.float64(value) * 100, 2))


def _official_row(raw: dict[str, Any]) -> dict[str, float]:
    """The tool's per-object ``metrics.json`` entry (NaN for its nulls)."""
    j, f_new, f = raw["j"], raw["f_new"], raw["f"]
    dj, df, rj, rf = raw["disappear_j"], raw["disappear_f_new"], raw["reappear_j"], raw["reappear_f_new"]
    nan = math.nan
    return {
        "J&F_new": _rounded((j + f_new) / 2),
        "J": _rounded(j),
        "F_new": _rounded(f_new),
        "disappear_J&F_new": _rounded((dj + df) / 2) if dj is not None and df is not None else nan,
        "reappear_J&F_new": _rounded((rj + rf) / 2) if rj is not None and rf is not None else nan,
        "F": _rounded(f),
        "J&F": _rounded((j + f) / 2),
    }


# --------------------------------------------------------------------------------------------
# reading the layout
# --------------------------------------------------------------------------------------------


@dataclass
class _Sequence:
    """What one worker needs to score one sequence (picklable)."""

    name: str
    gt_dir: str
    pred_dir: str
    length: int
    height: Any
    width: Any
    objects: list[Any]


@dataclass
class _SequenceResult:
    """Per-frame scores of every object of one sequence, and what happened."""

    name: str
    status: str  # "scored", "missing_prediction", "no_frames"
    frames: list[str] = field(default_factory=list)  # the scored frame names
    #: per object of ``_Sequence.objects`` (same order): per-frame ``(j, f_new, f, gt_empty)`` lists
    per_object: list[tuple[list[float], list[float], list[float], list[bool]]] = field(default_factory=list)


def _read_labels(path: str) -> np.ndarray:
    """An index PNG as the tool reads it: ``np.asarray(Image.open(path).convert("P"))``."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("P"))


def _frame_sort_key(name: str, where: str) -> int:
    try:
        return int(name.split(".")[0])
    except ValueError:
        raise VideoError(
            f"MOSEv2 prediction file {name!r} in {where}: frame names must be integers (00012.png), "
            "as the official scorer sorts them by int(name)"
        ) from None


def _score_sequence(seq: _Sequence) -> _SequenceResult:
    """Score every object of one sequence as the official tool's chunks do (see the module doc)."""
    if not os.path.exists(seq.pred_dir):
        return _SequenceResult(seq.name, "missing_prediction")
    if seq.length <= 2:
        return _SequenceResult(seq.name, "no_frames")
    names = [x for x in os.listdir(seq.pred_dir) if not x.startswith(".") and x.endswith(".png")]
    names.sort(key=lambda x: _frame_sort_key(x, seq.pred_dir))
    height, width = seq.height, seq.width
    if height is None or width is None:
        if not names:
            raise VideoError(f"MOSEv2: no prediction frame in {seq.pred_dir} (meta.json gives no height/width)")
        height, width = _read_labels(os.path.join(seq.gt_dir, names[0].split(".")[0] + ".png")).shape
    ids = [int(obj) for obj in seq.objects]
    result = _SequenceResult(seq.name, "scored")
    per_object: list[tuple[list, list, list, list]] = [([], [], [], []) for _ in ids]
    for index in range(1, seq.length - 1):
        if index >= len(names):
            raise VideoError(
                f"MOSEv2: the prediction of sequence {seq.name!r} has {len(names)} PNG frames in {seq.pred_dir}; "
                f"the official scorer reads frame position {index} of {seq.length} and needs at least "
                f"{seq.length - 1} (positions 1 .. {seq.length - 2} are scored)"
            )
        stem = names[index].split(".")[0]
        gt_path = os.path.join(seq.gt_dir, stem + ".png")
        pred_path = os.path.join(seq.pred_dir, stem + ".png")
        if not os.path.exists(gt_path):
            raise VideoError(f"MOSEv2: prediction frame {names[index]!r} of {seq.name!r} has no ground truth {gt_path}")
        if not os.path.exists(pred_path):
            raise VideoError(f"MOSEv2: frame not found: {pred_path} (listed as {names[index]!r})")
        gt = _read_labels(gt_path)
        pred = _read_labels(pred_path)
        if pred.shape != (height, width):
            raise VideoError(
                f"MOSEv2: wrong shape: {pred_path} is {pred.shape[0]}x{pred.shape[1]}, meta.json says {height}x{width}"
            )
        if gt.shape != (height, width):
            raise VideoError(
                f"MOSEv2: ground truth {gt_path} is {gt.shape[0]}x{gt.shape[1]}, meta.json says {height}x{width}"
            )
        result.frames.append(stem)
        for columns, obj_id in zip(per_object, ids):
            values = frame_scores(gt == obj_id, pred == obj_id)
            for column, value in zip(columns, values):
                column.append(value)
    result.per_object = per_object
    return result


def _sequences_of(gt_root: Path, pred_dir: Path) -> list[_Sequence]:
    """The scored sequences, checked against meta.json as the tool checks them."""
    meta_path = gt_root / "meta.json"
    ann = gt_root / "Annotations"
    if not meta_path.is_file():
        raise FileNotFoundError(f"MOSEv2: no meta.json in {gt_root} (the official scorer's --meta)")
    if not ann.is_dir():
        raise FileNotFoundError(f"MOSEv2: no Annotations/ folder in {gt_root} (the official scorer's --ann)")
    try:
        videos = json.loads(meta_path.read_text())["videos"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VideoError(f"MOSEv2: {meta_path} is not a meta.json with a 'videos' mapping ({exc})") from None
    out = []
    for name in sorted(x for x in os.listdir(ann) if not x.startswith(".")):
        if name not in videos:
            raise VideoError(f"MOSEv2: sequence {name!r} of {ann} is not in {meta_path}")
        info = videos[name]
        try:
            length, height, width, objects = info["length"], info["height"], info["width"], info["objects"]
        except (KeyError, TypeError) as exc:
            raise VideoError(f"MOSEv2: {meta_path} gives sequence {name!r} no {exc}") from None
        if not (ann / name).is_dir():
            raise VideoError(f"MOSEv2: {ann / name} is not a sequence folder")
        count = len(os.listdir(ann / name))
        if length != count:
            raise VideoError(
                f"MOSEv2: meta.json gives sequence {name!r} length {length} but {ann / name} holds {count} entries "
                "(the official scorer's integrity check: 'Server-side error')"
            )
        if isinstance(objects, (str, bytes)) or not isinstance(objects, Iterable):
            raise VideoError(
                f"MOSEv2: 'objects' of sequence {name!r} in {meta_path} must be a mapping or a list of ids"
            )
        objects = list(objects)
        for obj in objects:
            try:
                int(obj)
            except (TypeError, ValueError):
                raise VideoError(f"MOSEv2: object {obj!r} of sequence {name!r} in {meta_path} is not an id") from None
        out.append(_Sequence(name, str(ann / name), str(pred_dir / name), int(length), height, width, objects))
    return out


def _prediction_dir(pred_root: Path) -> tuple[Path, str | None]:
    """The tool's rule: a lone non-hidden sub-folder of ``pred_root`` is the prediction root."""
    if not pred_root.is_dir():
        raise FileNotFoundError(f"MOSEv2: prediction folder {pred_root} does not exist")
    entries = [x for x in os.listdir(pred_root) if not x.startswith(".")]
    if len(entries) == 1 and (pred_root / entries[0]).is_dir():
        return pred_root / entries[0], entries[0]
    return pred_root, None


# --------------------------------------------------------------------------------------------
# the scorer
# --------------------------------------------------------------------------------------------


def score_mosev2(
    gt_root: str | os.PathLike, pred_root: str | os.PathLike, *, num_processes: int | None = 1
) -> VOSScore:
    """Score MOSEv2 predictions as the official ``score.py`` does (see the module docstring for the
    layout and every convention reproduced: the official mode).

    Args:
        gt_root: the folder holding ``meta.json`` and ``Annotations/<seq>/<frame>.png``.
        pred_root: the folder holding ``<seq>/<frame>.png`` (or a lone folder that does).
        num_processes: sequences scored in parallel (spawned processes); 1 (default) scores in
            this process, None uses one process per CPU (the official tool's choice). The results
            are identical either way.

    Returns:
        a `VOSScore`: ``summary`` the tool's seven keys (`SUMMARY_KEYS`) in percent, rounded as it
        rounds (NaN for a disappear / reappear mean without any object); ``per_object`` one row per
        (``sequence``, ``object``): the tool's per-object values (`SUMMARY_KEYS`, rounded
        percents, NaN for its nulls), the unrounded fractions (`RAW_KEYS`), ``frames`` (the number
        scored) and ``status`` (``scored``, ``missing_prediction`` or ``no_frames``); ``notes``.

    Raises:
        FileNotFoundError: no ``meta.json``, no ``Annotations/`` or no ``pred_root``.
        samkit.errors.VideoError: what makes the official tool stop (a sequence not in meta.json, a
            length that does not match its files, too few prediction frames, a frame of the wrong
            size), naming the sequence and file.
    """
    num_processes = check_int("num_processes", num_processes, low=1, allow_none=True)
    if num_processes is None:
        num_processes = os.cpu_count() or 1
    gt_root, pred_root = Path(gt_root), Path(pred_root)
    pred_dir, descended = _prediction_dir(pred_root)
    sequences = _sequences_of(gt_root, pred_dir)

    if num_processes > 1 and len(sequences) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        workers = min(num_processes, len(sequences))
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_score_sequence, sequences))
    else:
        results = [_score_sequence(seq) for seq in sequences]

    rows = []
    mismatched = []
    for seq, res in zip(sequences, results):
        gt_names = sorted((x.split(".")[0] for x in os.listdir(seq.gt_dir) if x.endswith(".png")), key=_int_or_name)
        if res.status == "scored" and res.frames != gt_names[1 : seq.length - 1]:
            mismatched.append(seq.name)
        for index, obj in enumerate(seq.objects):
            if res.status == "scored":
                j, f_new, f, empty = res.per_object[index]
                raw = object_scores(j, f_new, f, empty)
            else:
                raw = object_scores([], [], [], [])
            row: dict[str, Any] = {"sequence": seq.name, "object": int(obj)}
            row.update(_official_row(raw))
            row.update({k: math.nan if v is None else float(v) for k, v in raw.items()})
            row.update(frames=len(res.frames), status=res.status)
            rows.append((row, raw))

    summary = _summary([raw for _, raw in rows])
    columns = ["sequence", "object", *SUMMARY_KEYS, *RAW_KEYS, "frames", "status"]
    per_object = pd.DataFrame([row for row, _ in rows], columns=columns)

    missing = [r.name for r in results if r.status == "missing_prediction"]
    notes: dict[str, Any] = {
        "official": f"MOSE-api MOSEv2/sam2_rcms/tools/score.py + metricsv2.py @ {OFFICIAL_COMMIT[:12]}",
        "prediction_root": str(pred_dir),
        "scored_frames": "positions 1 .. length-2 of each sequence (first and last dropped), named by the prediction",
        "missing_predictions": missing,
        "no_scored_frames": [r.name for r in results if r.status == "no_frames"],
        "frame_name_mismatch": mismatched,
    }
    if missing:
        hint = ""
        if descended is not None and descended in {s.name for s in sequences}:
            hint = (
                f" ({pred_root} holds only the folder {descended!r}, which the official scorer takes as the "
                "prediction root: put sequence folders side by side)"
            )
        warnings.warn(
            f"MOSEv2: no prediction for {len(missing)} sequence(s) ({', '.join(missing)}) in {pred_dir}; their "
            f"objects score J = F = 0, as the official scorer counts them{hint}",
            stacklevel=2,
        )
    if mismatched:
        warnings.warn(
            f"MOSEv2: the prediction frames of {', '.join(mismatched)} do not match the ground truth's names "
            "(a frame missing?); the official scorer takes frames by position in the prediction folder, so other "
            "frames were scored",
            stacklevel=2,
        )
    return VOSScore(benchmark="mosev2", summary=summary, per_object=per_object, notes=notes)


def _int_or_name(name: str) -> tuple[int, Any]:
    try:
        return (0, int(name))
    except ValueError:
        return (1, name)


def _summary(raws: list[dict[str, Any]]) -> dict[str, float]:
    """The tool's seven numbers from every object's raw values (in list order)."""

    def mean(key: str) -> np.float64:
        values = [r[key] for r in raws if r[key] is not None]
        return np.mean(np.asarray(values, dtype=np.float64)) if values else np.float64(np.nan)

    j, f_new, f = mean("j"), mean("f_new"), mean("f")
    dj, df = mean("disappear_j"), mean("disappear_f_new")
    rj, rf = mean("reappear_j"), mean("reappear_f_new")
    return {
        "J&F_new": float(round((j + f_new) / 2 * 100, 2)),
        "J": float(round(j * 100, 2)),
        "F_new": float(round(f_new * 100, 2)),
        "disappear_J&F_new": float(round((dj + df) / 2 * 100, 2)),
        "reappear_J&F_new": float(round((rj + rf) / 2 * 100, 2)),
        "F": float(round(f * 100, 2)),
        "J&F": float(round((j + f) / 2 * 100, 2)),
    }
