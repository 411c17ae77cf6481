"""Small deterministic LVOS inputs in the official evaluator's layout (ground truth and predictions).

`write_inputs(root)` writes::

    root/gt/val/JPEGImages/<video>/<frame>.jpg     frames (the official evaluator never reads them;
                                                    they make the folder an `LvosDataset` root too)
    root/gt/val/Annotations/<video>/<frame>.png    palette PNGs: 0 background, k object k, 255 void
    root/gt/val/valid_meta.json                    {"videos": {<video>: {"objects": {<k>:
                                                    {"frame_range": {"start", "end", "frame_nums"}}}}}}
    root/pred/<video>/<frame>.png                  the predictions, indexed PNGs, same names

and returns ``(gt_root, pred_root)`` = ``(root/gt, root/pred)``. Frame names are the frame's index
in the 30 fps video, eight digits, every fifth frame (LVOS annotates at 6 fps): ``00000001``,
``00000006``, ... or ``00000000``, ``00000005``, ... The meta json is named ``valid_meta.json``: the
official evaluator reads ``<lvos_path>/<set>_meta.json`` with ``--set valid`` (its default; it
accepts only ``valid`` and ``test``) and ``--lvos_path`` the ``val`` folder.

Nothing is random: every mask is a rectangle or an ellipse placed by a formula of the frame index.

The videos (frame index ``t``, frame name ``step * t + offset``):

- ``R3UJGYwy`` (in the toolkit's ``unseen_videos.txt``: an *unseen* video), 40x56, 12 frames named
  ``5t + 1``: object 1 over the whole video; object 2 from t = 3 to t = 10 (its frame range), gone
  at t = 6, 7 (empty gt inside its range) and back at t = 8; a void (255) band in the gt. The
  prediction is empty at t = 5, holds object 2 while it is gone (t = 6, 7: false positives on an
  empty gt), misses its return (t = 8) and predicts it after its range (t = 11, never scored), and
  holds a 255 pixel.
- ``seenA001``, 48x64, 14 frames named ``5t``: the meta lists objects in the order 3, 1, 2 (the
  official per-object names ``<video>_<position>`` follow that order, not the ids); object 3 is
  never predicted (a missing object); object 2 is a 3x3 square from t = 2 to t = 9; id 4 is in the
  gt and the prediction but not in the meta (never scored). Grayscale (mode ``L``) prediction PNGs.
- ``seenB002``, 72x104 (boundary tolerance 2 px), 10 frames named ``5t + 1``: objects 1 (whole
  video), 2 (from t = 4) and 5 (t = 1 .. 5, ids not contiguous); the prediction lacks frames t = 0
  and t = 9 (the first and last of every range: never read) and marks some pixels 255.

`VARIANTS` alter written inputs for the quirks and error cases; `UNSEEN` gives, per variant, the
unseen-video list the official evaluator is run with instead of its own ``unseen_videos.txt``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: video -> (height, width, number of frames, name step, name offset)
VIDEOS: dict[str, tuple[int, int, int, int, int]] = {
    "R3UJGYwy": (40, 56, 12, 5, 1),
    "seenA001": (48, 64, 14, 5, 0),
    "seenB002": (72, 104, 10, 5, 1),
}

#: video -> {object id: (first frame index, last frame index)} in meta order (the frame ranges)
OBJECTS: dict[str, dict[str, tuple[int, int]]] = {
    "R3UJGYwy": {"1": (0, 11), "2": (3, 10)},
    "seenA001": {"3": (0, 13), "1": (0, 13), "2": (2, 9)},
    "seenB002": {"1": (0, 9), "2": (4, 9), "5": (1, 5)},
}

#: prediction frames (indices) not written
MISSING_PREDICTIONS: dict[str, list[int]] = {"seenB002": [0, 9]}


def frame_name(video: str, t: int) -> str:
    """The eight-digit name of frame ``t`` of ``video`` (its index in the 30 fps video)."""
    _, _, _, step, offset = VIDEOS[video]
    return f"{step * t + offset:08d}"


def _palette() -> list[int]:
    """A DAVIS-style palette (index 0 black), 256 RGB entries."""
    out = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out += [r, g, b]
    return out


PALETTE = _palette()


def _rect(a: np.ndarray, y0: int, x0: int, hh: int, ww: int, value: int) -> None:
    a[max(y0, 0) : max(y0 + hh, 0), max(x0, 0) : max(x0 + ww, 0)] = value


def _ellipse(a: np.ndarray, cy: float, cx: float, ry: float, rx: float, value: int) -> None:
    yy, xx = np.ogrid[: a.shape[0], : a.shape[1]]
    a[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = value


def _unseen_video(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = VIDEOS["R3UJGYwy"][:2]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _rect(gt, 8, 4 + 2 * t, 12, 14, 1)
    if 3 <= t <= 10 and t not in (6, 7):
        _ellipse(gt, 28, 40, 5, 7, 2)
    _rect(gt, 0, 46, 3, 10, 255)
    if t != 5:  # t = 5: an empty prediction
        _rect(pred, 9, 4 + 2 * t, 12, 15, 1)
        if 3 <= t <= 11 and t != 8:
            _ellipse(pred, 29, 40 - (t % 3), 5, 8, 2)
        if t % 4 == 1:
            pred[39, 0] = 255
    return gt, pred


def _seen_a(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = VIDEOS["seenA001"][:2]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _ellipse(gt, 24, 12 + 3 * t, 9, 11, 1)
    _rect(gt, 36, 40, 8, 12, 3)
    if 2 <= t <= 9:
        _rect(gt, 4, 50 - t, 3, 3, 2)
    if t in (4, 5, 6):
        _rect(gt, 40, 2, 4, 4, 4)
    _ellipse(pred, 25, 13 + 3 * t - (t % 2), 9, 10, 1)
    if 3 <= t <= 9 and t != 6:
        _rect(pred, 4 + (t % 2), 50 - t, 3, 3, 2)
    if t == 5:
        _rect(pred, 40, 2, 4, 4, 4)
    return gt, pred


def _seen_b(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = VIDEOS["seenB002"][:2]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _rect(gt, 10 + t, 8 + 6 * t, 20, 24, 1)
    if t >= 4:
        _ellipse(gt, 54, 80 - 2 * t, 10, 12, 2)
    if 1 <= t <= 5:
        _rect(gt, 56, 8 + t, 6, 9, 5)
    _rect(gt, 66, 60, 6, 44, 255)
    _rect(pred, 10 + t + 2 * (t % 3), 8 + 6 * t, 20, 24 - 3 * (t % 4), 1)
    if t >= 5:
        _ellipse(pred, 55, 80 - 2 * t + 4 * (t % 2), 10, 11 - (t % 3), 2)
    if 2 <= t <= 4:
        _rect(pred, 57, 8 + t, 6, 8, 5)
    if t % 3 == 0:
        _rect(pred, 68, 62, 2, 10, 255)
    return gt, pred


_DRAW: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "R3UJGYwy": _unseen_video,
    "seenA001": _seen_a,
    "seenB002": _seen_b,
}


def frames(video: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(gt, pred), ...]`` label maps of every frame of ``video``."""
    return [_DRAW[video](t) for t in range(VIDEOS[video][2])]


def meta() -> dict:
    """The contents of the meta json (frame ranges from `OBJECTS`, ``frame_nums`` = frames in range)."""
    videos = {}
    for video, objects in OBJECTS.items():
        entries = {}
        for obj, (first, last) in objects.items():
            start, end = int(frame_name(video, first)), int(frame_name(video, last))
            entries[obj] = {"frame_range": {"start": start, "end": end, "frame_nums": last - first + 1}}
        videos[video] = {"objects": entries}
    return {"videos": videos}


def save_palette_png(path: Path, labels: np.ndarray) -> None:
    """``labels`` (H, W) uint8 as a palette (mode ``P``) PNG."""
    image = Image.fromarray(labels, mode="P")
    image.putpalette(PALETTE)
    image.save(path)


def write_inputs(root: str | Path) -> tuple[Path, Path]:
    """Write the ground truth and predictions under ``root``; return ``(gt_root, pred_root)``."""
    root = Path(root)
    gt_root, pred_root = root / "gt", root / "pred"
    split = gt_root / "val"
    for video, (h, w, _, _, _) in VIDEOS.items():
        for folder in (split / "JPEGImages" / video, split / "Annotations" / video, pred_root / video):
            folder.mkdir(parents=True, exist_ok=True)
        missing = MISSING_PREDICTIONS.get(video, [])
        for t, (gt, pred) in enumerate(frames(video)):
            name = frame_name(video, t)
            frame = np.full((h, w, 3), 40 + 10 * t, np.uint8)
            Image.fromarray(frame).save(split / "JPEGImages" / video / f"{name}.jpg")
            save_palette_png(split / "Annotations" / video / f"{name}.png", gt)
            if t in missing:
                continue
            if video == "seenA001":
                Image.fromarray(pred, mode="L").save(pred_root / video / f"{name}.png")
            else:
                save_palette_png(pred_root / video / f"{name}.png", pred)
    (split / "valid_meta.json").write_text(json.dumps(meta(), indent=1))
    return gt_root, pred_root


# ------------------------------------------------------------------------------------- variants


def _edit_meta(gt_root: Path, edit: Callable[[dict], None]) -> None:
    path = gt_root / "val" / "valid_meta.json"
    data = json.loads(path.read_text())
    edit(data["videos"])
    path.write_text(json.dumps(data, indent=1))


def _meta_quirks(gt_root: Path, pred_root: Path) -> None:
    """frame_nums that disagree with the ranges: the evaluator's zero slots, a skipped frame, no frame."""

    def edit(videos: dict) -> None:
        # 12 frames in range but frame_nums 14: two per-frame slots are never filled and stay 0
        videos["R3UJGYwy"]["objects"]["1"]["frame_range"]["frame_nums"] = 14
        # 10 frames in range but frame_nums 9: range(start, end, 5) has 9 entries, the 9th is skipped
        videos["seenB002"]["objects"]["1"]["frame_range"]["frame_nums"] = 9
        # frame_nums 2 over a 3-frame range (t = 1 .. 3): no slot at all, the object's means are NaN
        videos["seenB002"]["objects"]["5"]["frame_range"].update(end=16, frame_nums=2)

    _edit_meta(gt_root, edit)


def _missing_prediction_frame(gt_root: Path, pred_root: Path) -> None:
    """A scored prediction frame of seenA001 missing (t = 3)."""
    (pred_root / "seenA001" / f"{frame_name('seenA001', 3)}.png").unlink()


def _missing_prediction_video(gt_root: Path, pred_root: Path) -> None:
    """No prediction folder for seenB002."""
    shutil.rmtree(pred_root / "seenB002")


def _wrong_shape(gt_root: Path, pred_root: Path) -> None:
    """A prediction frame of R3UJGYwy (t = 4) one column short."""
    path = pred_root / "R3UJGYwy" / f"{frame_name('R3UJGYwy', 4)}.png"
    labels = np.asarray(Image.open(path))[:, :-1]
    save_palette_png(path, np.ascontiguousarray(labels))


def _range_longer_than_frame_nums(gt_root: Path, pred_root: Path) -> None:
    """seenA001 object 1: 14 frames in range, frame_nums 10 (more frames than per-frame slots)."""
    _edit_meta(gt_root, lambda videos: videos["seenA001"]["objects"]["1"]["frame_range"].update(frame_nums=10))


def _frame_nums_below_two(gt_root: Path, pred_root: Path) -> None:
    """seenB002 object 2: frame_nums 1 (a negative number of per-frame slots)."""
    _edit_meta(gt_root, lambda videos: videos["seenB002"]["objects"]["2"]["frame_range"].update(frame_nums=1))


def _missing_gt_frame(gt_root: Path, pred_root: Path) -> None:
    """An annotation of seenB002 inside object 1's range missing (t = 5)."""
    (gt_root / "val" / "Annotations" / "seenB002" / f"{frame_name('seenB002', 5)}.png").unlink()


def _no_op(gt_root: Path, pred_root: Path) -> None:
    """The main inputs, run with another unseen-video list (see `UNSEEN`)."""


#: name -> function altering written inputs ``(gt_root, pred_root)`` in place
VARIANTS: dict[str, Callable[[Path, Path], None]] = {
    "custom_unseen": _no_op,
    "meta_quirks": _meta_quirks,
    "missing_prediction_frame": _missing_prediction_frame,
    "missing_prediction_video": _missing_prediction_video,
    "wrong_shape": _wrong_shape,
    "range_longer_than_frame_nums": _range_longer_than_frame_nums,
    "frame_nums_below_two": _frame_nums_below_two,
    "missing_gt_frame": _missing_gt_frame,
}

#: run name -> the unseen-video list to use instead of the toolkit's ``unseen_videos.txt``
UNSEEN: dict[str, list[str]] = {"custom_unseen": ["seenA001"]}
