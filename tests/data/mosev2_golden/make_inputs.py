"""Small deterministic MOSEv2 inputs in the official evaluator's layout (ground truth and predictions).

`write_inputs(root)` writes::

    root/gt/meta.json                     {"videos": {seq: {"objects", "length", "height", "width"}}}
    root/gt/Annotations/<seq>/00000.png   palette PNGs, one per frame, pixel value = object id
    root/pred/results/<seq>/00000.png     predictions, same names (one extra folder level on purpose:
                                          the official tool descends into a lone sub-folder)

and returns ``(gt_root, pred_root)``. Everything is drawn from integer arithmetic and IEEE float
comparisons (no random generator), so the files are the same on every machine and numpy version.

The sequences (each covers some of the official conventions; sizes are chosen for the boundary
tolerances: ``0.008 * diagonal`` is 0.4 px at 30x40, 0.64 at 48x64, 1.28 at 96x128, 1.6 at 120x160,
2.0 at 150x200):

- ``seq_a`` 48x64, 10 frames, objects 1, 2, 3, 5: object 2 disappears (frames 3-5) and reappears,
  is still predicted on its first missing frame and missed on its reappearance; object 3 is a 2x2
  object that appears at frame 4; object 5 never appears in the ground truth but is predicted once;
  gt pixels of value 255 (void in other benchmarks, an ordinary label here); prediction frame 7 is
  entirely empty.
- ``seq_b`` 96x128, 8 frames, objects given as a list ``[1, 2, 4]``: a large object, a small one
  (area 48: the adaptive tolerance is 1 px, below 0.008 * diagonal), and object 4 that is never
  predicted; the predictions are grayscale (mode ``L``) PNGs.
- ``seq_c`` 120x160, 20 frames (more than one of the official 15-frame chunks), ``height`` and
  ``width`` null in meta.json: object 1 disappears and reappears twice and is gone at the end;
  prediction frame 9 is missing (the official tool then scores the frames the prediction folder
  lists, by position).
- ``seq_d`` 150x200, 7 frames: object 1 of area 270 (adaptive tolerance 2 px == 0.008 * diagonal:
  the tie), object 2 of area 64; the last prediction frame is missing (never scored anyway).
- ``seq_e`` 30x40, 6 frames: 0.008 * diagonal = 0.4 px gives an all-zero disk, which OpenCV
  dilates with as if only its top-left element were set; object 2 appears at frame 2.
- ``seq_f`` 48x64, 5 frames: no prediction folder at all.
- ``seq_g`` 48x64, 2 frames: no frame left once the first and last are dropped.

`VARIANTS` maps a name to a function that alters written inputs, for the error cases and quirks
(see ``make_golden.py``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: (height, width, number of frames) per sequence
SEQUENCES: dict[str, tuple[int, int, int]] = {
    "seq_a": (48, 64, 10),
    "seq_b": (96, 128, 8),
    "seq_c": (120, 160, 20),
    "seq_d": (150, 200, 7),
    "seq_e": (30, 40, 6),
    "seq_f": (48, 64, 5),
    "seq_g": (48, 64, 2),
}

#: the object ids meta.json lists per sequence (``seq_b`` as a list, the others as a dict)
OBJECTS: dict[str, list[int]] = {
    "seq_a": [1, 2, 3, 5],
    "seq_b": [1, 2, 4],
    "seq_c": [1, 2],
    "seq_d": [1, 2],
    "seq_e": [1, 2],
    "seq_f": [1, 3],
    "seq_g": [1],
}


def frame_name(t: int) -> str:
    """The file name of frame ``t`` (``00007.png``)."""
    return f"{t:05d}.png"


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


def _seq_a(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_a"]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _rect(gt, 10, 5 + 2 * t, 12, 16, 1)
    if t not in (3, 4, 5):
        _ellipse(gt, 30, 45, 6, 8, 2)
    if t >= 4:
        _rect(gt, 40, 10 + t, 2, 2, 3)
    _rect(gt, 0, 56, 3, 8, 255)
    if t != 7:  # frame 7: an empty prediction
        _rect(pred, 11, 5 + 2 * t, 12, 18, 1)
        if t not in (4, 5, 6):
            _ellipse(pred, 31, 44, 6, 9, 2)
        if t >= 5:
            pred[40, 11 + t] = 3
        if t == 8:
            _rect(pred, 2, 2, 3, 3, 5)
        pred[47, 0] = 255
    return gt, pred


def _seq_b(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_b"]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _ellipse(gt, 48, 40 + 3 * t, 20, 25, 1)
    _rect(gt, 70, 90 - 2 * t, 6, 8, 2)
    _rect(gt, 10, 100, 10, 10, 4)
    _ellipse(pred, 49, 42 + 3 * t, 19, 26, 1)
    _rect(pred, 71, 91 - 2 * t, 6, 7, 2)
    return gt, pred


def _seq_c(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_c"]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    if t not in (4, 5, 6, 12, 13, 14, 18, 19):
        _ellipse(gt, 60, 30 + 4 * t, 10, 14, 1)
    _rect(gt, 90, 120, 15, 20, 2)
    _rect(gt, 90, 120, 4, 4, 0)  # a notch
    if t not in (5, 6, 13, 14, 15):
        _ellipse(pred, 61, 31 + 4 * t, 10, 13, 1)
    _rect(pred, 91, 118, 15, 21, 2)
    return gt, pred


def _seq_d(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_d"]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _rect(gt, 40 + t, 30 + 5 * t, 15, 18, 1)
    _rect(gt, 110, 150 - 3 * t, 8, 8, 2)
    _rect(pred, 41 + t, 31 + 5 * t, 15, 17, 1)
    _rect(pred, 112, 151 - 3 * t, 8, 8, 2)
    return gt, pred


def _seq_e(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_e"]
    gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    _rect(gt, 8, 4 + 3 * t, 8, 10, 1)
    if t >= 2:
        _rect(gt, 20, 30, 5, 5, 2)
    _rect(pred, 9, 5 + 3 * t, 8, 10, 1)
    if t >= 3:
        _rect(pred, 21, 29, 5, 5, 2)
    return gt, pred


def _seq_f(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_f"]
    gt = np.zeros((h, w), np.uint8)
    _rect(gt, 10, 10, 10, 10, 1)
    _rect(gt, 30, 30, 6, 6, 3)
    return gt, np.zeros_like(gt)


def _seq_g(t: int) -> tuple[np.ndarray, np.ndarray]:
    h, w, _ = SEQUENCES["seq_g"]
    gt = np.zeros((h, w), np.uint8)
    _rect(gt, 10, 10 + t, 10, 10, 1)
    return gt, gt.copy()


_DRAW: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "seq_a": _seq_a,
    "seq_b": _seq_b,
    "seq_c": _seq_c,
    "seq_d": _seq_d,
    "seq_e": _seq_e,
    "seq_f": _seq_f,
    "seq_g": _seq_g,
}

#: prediction frames not written: whole sequences (None) or frame indices
MISSING_PREDICTIONS: dict[str, list[int] | None] = {"seq_c": [9], "seq_d": [6], "seq_f": None}


def save_palette_png(path: Path, labels: np.ndarray) -> None:
    """``labels`` (H, W) uint8 as a palette (mode ``P``) PNG."""
    image = Image.fromarray(labels, mode="P")
    image.putpalette(PALETTE)
    image.save(path)


def frames(sequence: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(gt, pred), ...]`` label maps of every frame of ``sequence``."""
    return [_DRAW[sequence](t) for t in range(SEQUENCES[sequence][2])]


def meta() -> dict:
    """The contents of meta.json."""
    videos = {}
    for seq, (h, w, n) in SEQUENCES.items():
        objects: list[int] | dict[str, dict] = (
            list(OBJECTS[seq]) if seq == "seq_b" else {str(i): {"category": "thing"} for i in OBJECTS[seq]}
        )
        videos[seq] = {"objects": objects, "length": n, "height": h, "width": w}
    videos["seq_c"]["height"] = None
    videos["seq_c"]["width"] = None
    return {"videos": videos}


def write_inputs(root: str | Path) -> tuple[Path, Path]:
    """Write the ground truth and predictions under ``root``; return ``(gt_root, pred_root)``."""
    root = Path(root)
    gt_root, pred_root = root / "gt", root / "pred"
    results = pred_root / "results"
    for seq in SEQUENCES:
        (gt_root / "Annotations" / seq).mkdir(parents=True, exist_ok=True)
        missing = MISSING_PREDICTIONS.get(seq, [])
        if missing is not None:
            (results / seq).mkdir(parents=True, exist_ok=True)
        for t, (gt, pred) in enumerate(frames(seq)):
            save_palette_png(gt_root / "Annotations" / seq / frame_name(t), gt)
            if missing is None or t in missing:
                continue
            if seq == "seq_b":
                Image.fromarray(pred, mode="L").save(results / seq / frame_name(t))
            else:
                save_palette_png(results / seq / frame_name(t), pred)
    (gt_root / "meta.json").write_text(json.dumps(meta(), indent=1))
    return gt_root, pred_root


# ------------------------------------------------------------------------------------- variants


def _two_frames_missing(gt_root: Path, pred_root: Path) -> None:
    """Two more prediction frames of seq_a missing: fewer files than the scored positions."""
    for t in (4, 5):
        (pred_root / "results" / "seq_a" / frame_name(t)).unlink()


def _wrong_shape(gt_root: Path, pred_root: Path) -> None:
    """A prediction frame of seq_b one row short."""
    path = pred_root / "results" / "seq_b" / frame_name(3)
    labels = np.asarray(Image.open(path))[:-1]
    Image.fromarray(np.ascontiguousarray(labels), mode="L").save(path)


def _length_mismatch(gt_root: Path, pred_root: Path) -> None:
    """meta.json's length of seq_a one more than its annotation files."""
    data = json.loads((gt_root / "meta.json").read_text())
    data["videos"]["seq_a"]["length"] += 1
    (gt_root / "meta.json").write_text(json.dumps(data, indent=1))


def _flat_single_sequence(gt_root: Path, pred_root: Path) -> None:
    """Only seq_a, its predictions directly under pred_root: the lone folder is descended into."""
    for seq in SEQUENCES:
        if seq != "seq_a":
            shutil.rmtree(gt_root / "Annotations" / seq)
    shutil.move(str(pred_root / "results" / "seq_a"), str(pred_root / "seq_a"))
    shutil.rmtree(pred_root / "results")


def _flat_all(gt_root: Path, pred_root: Path) -> None:
    """The predictions directly under pred_root (no lone sub-folder): the same scores as the main run."""
    for entry in sorted((pred_root / "results").iterdir()):
        shutil.move(str(entry), str(pred_root / entry.name))
    (pred_root / "results").rmdir()


#: name -> function altering written inputs ``(gt_root, pred_root)`` in place
VARIANTS: dict[str, Callable[[Path, Path], None]] = {
    "two_frames_missing": _two_frames_missing,
    "wrong_shape": _wrong_shape,
    "length_mismatch": _length_mismatch,
    "flat_single_sequence": _flat_single_sequence,
    "flat_all": _flat_all,
}
