"""Small deterministic VOS inputs in the official layouts, for the golden outputs of the official
scorers (``make_golden.py``) and samkit's test against them (``tests/metrics/test_scoring_vos.py``).

Nothing here is random: every mask is an ellipse or a rectangle placed by a formula of the frame
index, so the same files come out on every machine (PNG bytes may differ between Pillow versions;
the pixel values never do).

``write_all(root)`` writes, under ``root``:

- ``DAVIS/`` a DAVIS 2017 root (``JPEGImages/480p``, ``Annotations/480p`` palette PNGs with object
  ids and 255 void, ``ImageSets/2017/val.txt``) and ``davis_pred/<seq>/<frame>.png`` indexed PNGs;
- ``MOSE/`` a MOSE v1 root (``JPEGImages/<seq>``, ``Annotations/<seq>``, no ImageSets, no
  resolution folder) and ``mose_pred/``;
- ``sav_gt/`` and ``sav_pred/`` in SA-V's layout ``{video}/{obj:03d}/{frame:05d}.png`` (one binary
  mask per object and frame; objects overlap).

The cases each layout exercises are listed in `DAVIS_CASES`, `MOSE_CASES` and `SAV_CASES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: what the DAVIS-layout sequences exercise (the DAVIS 2017 toolkit's conventions)
DAVIS_CASES = {
    "boat": "3 objects; void (255) ring around object 1; object 3 disappears from frame 5; an empty "
    "predicted frame (3); object 3 predicted after it is gone (false positives on empty gt)",
    "cow": "frame 0 holds ids 1 and 3: object 2 appears late (frame 2) and is scored; id 4 appears at "
    "frame 4, above the first frame's largest id, and is not scored; the prediction never holds id 3 "
    "(zero padding) and predicts object 2 before it appears",
    "dog": "1 object touching the right/bottom borders; gt and prediction both empty on frame 3; an "
    "empty prediction on frame 4; the prediction lacks the first and last frames (never read) and "
    "has an extra frame past the last annotation (ignored); 60x250 frames (radius 3 boundary disk)",
}

#: what the MOSE-layout sequences exercise
MOSE_CASES = {
    "m_one": "as DAVIS' boat, at 96x128, in MOSE's layout (Annotations/<seq>, no ImageSets)",
    "m_two": "as DAVIS' cow at 48x64",
}

#: what the SA-V pair exercises (sam2's sav_evaluator conventions)
SAV_CASES = {
    "sav_a": "3 overlapping objects, 7 annotated frames every 4th frame (00000, 00004, ...); object 002 "
    "enters the gt at the 4th frame and is predicted empty before it (frames skipped until it first "
    "appears), object 001 has an empty predicted frame; gt PNGs are 'L' 0/255",
    "sav_b": "2 objects at 80x100 with 'P' 0/1 gt PNGs; object 001 disappears from the 4th frame "
    "(empty gt and prediction count as J = F = 1 once seen); object 001's annotations start one "
    "frame later (its own first and last frames are dropped); object 000 is predicted one frame "
    "before it enters the gt (a false positive that counts)",
    "sav_c": "in the gt, missing from the predictions: skipped by the official non-strict default",
    "sav_extra": "only in the predictions: ignored",
}

#: DAVIS' colour palette (PASCAL VOC colour map) for the first 256 indices, flattened RGB
PALETTE: list[int] = []
for _index in range(256):
    _r = _g = _b = 0
    _c = _index
    for _bit in range(8):
        _r |= ((_c >> 0) & 1) << (7 - _bit)
        _g |= ((_c >> 1) & 1) << (7 - _bit)
        _b |= ((_c >> 2) & 1) << (7 - _bit)
        _c >>= 3
    PALETTE.extend((_r, _g, _b))


def ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """(H, W) bool: pixels whose centres lie inside the ellipse."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def rect(shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    """(H, W) bool: rows y0..y1-1 and columns x0..x1-1 (clipped to the image)."""
    out = np.zeros(shape, bool)
    out[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return out


def save_indexed(path: Path, label: np.ndarray) -> None:
    """An indexed ('P') PNG with DAVIS' palette holding ``label``'s values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    label = np.ascontiguousarray(label, np.uint8)
    img = Image.frombytes("P", (label.shape[1], label.shape[0]), label.tobytes())
    img.putpalette(PALETTE)
    img.save(path)


def save_gray(path: Path, label: np.ndarray) -> None:
    """A grayscale ('L') PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(label, np.uint8)).save(path)


def save_jpeg(path: Path, shape: tuple[int, int], t: int) -> None:
    """A small frame image (the DAVIS toolkit's loader lists them; nobody scores them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    rgb = np.stack([(xx * 3 + t * 10) % 256, (yy * 5) % 256, np.full(shape, 40 * t % 256)], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=90)


def paint(shape: tuple[int, int], layers: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """A label map: each (value, mask) painted in order (later ones on top)."""
    label = np.zeros(shape, np.uint8)
    for value, mask in layers:
        label[mask] = value
    return label


# ------------------------------------------------------------------------------ DAVIS-style


def boat(shape: tuple[int, int], t: int) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) label maps of frame t of 8 (see `DAVIS_CASES`)."""
    h, w = shape
    s = h / 48
    o1 = ellipse(shape, 20 * s, (14 + 3 * t) * s, 8 * s, 10 * s)
    ring = ellipse(shape, 20 * s, (14 + 3 * t) * s, 9.5 * s, 11.5 * s) & ~o1
    o2 = rect(shape, int(30 * s), int((40 - 2 * t) * s), int(44 * s), int((56 - 2 * t) * s))
    o3 = rect(shape, int(4 * s), int(44 * s), int(12 * s), int(60 * s)) if t < 5 else np.zeros(shape, bool)
    gt = paint(shape, [(2, o2), (3, o3), (1, o1), (255, ring)])
    p1 = ellipse(shape, (21 + (t % 3) - 1) * s, (15 + 3 * t) * s, 8 * s, (9 + t % 2) * s)
    p2 = rect(shape, int(31 * s), int((40 - 2 * t) * s), int(44 * s), int((55 - 2 * t) * s))
    p3 = rect(shape, int(5 * s), int(45 * s), int(12 * s), int(60 * s)) if t < 7 else np.zeros(shape, bool)
    pred = paint(shape, [(2, p2), (3, p3), (1, p1)])
    if t == 3:
        pred[:] = 0
    return gt, pred


def cow(shape: tuple[int, int], t: int) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) label maps of frame t of 7 (see `DAVIS_CASES`)."""
    h, w = shape
    s = h / 96
    o1 = ellipse(shape, 48 * s, (30 + 4 * t) * s, 20 * s, 16 * s)
    o2 = rect(shape, int(10 * s), int((70 + t) * s), int(30 * s), int((100 + t) * s)) if t >= 2 else None
    o3 = ellipse(shape, 80 * s, 100 * s, (8 + t) * s, 12 * s)
    o4 = rect(shape, int(60 * s), int(2 * s), int(70 * s), int(12 * s)) if t >= 4 else None
    layers = [(1, o1), (3, o3)] + ([(2, o2)] if o2 is not None else []) + ([(4, o4)] if o4 is not None else [])
    gt = paint(shape, layers)
    p1 = ellipse(shape, 50 * s, (31 + 4 * t) * s, 19 * s, 17 * s)
    p2 = rect(shape, int(12 * s), int((72 + t) * s), int(30 * s), int((98 + t) * s))
    pred = paint(shape, [(1, p1), (2, p2)])  # never id 3: the toolkit pads it with an empty mask
    return gt, pred


def dog(shape: tuple[int, int], t: int) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) label maps of frame t of 6 (see `DAVIS_CASES`)."""
    h, w = shape
    o1 = rect(shape, 20 + 2 * t, 150 + 10 * t, h, w)  # touches the right and bottom borders
    if t == 3:
        o1[:] = False
    gt = paint(shape, [(1, o1)])
    p1 = rect(shape, 22 + 2 * t, 148 + 10 * t, h, w - 3)
    if t in (3, 4):
        p1[:] = False
    pred = paint(shape, [(1, p1)])
    return gt, pred


Frames = Callable[[tuple[int, int], int], tuple[np.ndarray, np.ndarray]]

#: DAVIS sequences: name -> (frame function, (H, W), frames, predicted frame indices)
DAVIS_SEQUENCES: dict[str, tuple[Frames, tuple[int, int], int, list[int]]] = {
    "boat": (boat, (48, 64), 8, list(range(8))),
    "cow": (cow, (96, 128), 7, list(range(7))),
    "dog": (dog, (60, 250), 6, [1, 2, 3, 4, 6]),  # no 00000 / 00005; an extra 00006
}

#: MOSE sequences, as `DAVIS_SEQUENCES`
MOSE_SEQUENCES: dict[str, tuple[Frames, tuple[int, int], int, list[int]]] = {
    "m_one": (boat, (96, 128), 8, list(range(8))),
    "m_two": (cow, (48, 64), 7, list(range(7))),
}


def _write_sequences(sequences: dict, image_dir: Path, annotation_dir: Path, pred_dir: Path) -> None:
    for name, (frames, shape, n, predicted) in sequences.items():
        for t in range(max(n, max(predicted) + 1)):
            gt, pred = frames(shape, t)
            if t < n:
                save_jpeg(image_dir / name / f"{t:05d}.jpg", shape, t)
                save_indexed(annotation_dir / name / f"{t:05d}.png", gt)
            if t in predicted:
                save_indexed(pred_dir / name / f"{t:05d}.png", pred)


def write_davis(root: str | Path) -> tuple[Path, Path]:
    """A DAVIS 2017 root and a prediction folder under ``root``; returns ``(davis_root, pred_root)``."""
    root = Path(root)
    davis, pred = root / "DAVIS", root / "davis_pred"
    _write_sequences(DAVIS_SEQUENCES, davis / "JPEGImages" / "480p", davis / "Annotations" / "480p", pred)
    imagesets = davis / "ImageSets" / "2017"
    imagesets.mkdir(parents=True, exist_ok=True)
    (imagesets / "val.txt").write_text("".join(f"{name}\n" for name in DAVIS_SEQUENCES))
    (imagesets / "train.txt").write_text("dog\n")
    return davis, pred


def write_mose(root: str | Path) -> tuple[Path, Path]:
    """A MOSE v1 root and a prediction folder under ``root``; returns ``(mose_root, pred_root)``."""
    root = Path(root)
    mose, pred = root / "MOSE", root / "mose_pred"
    _write_sequences(MOSE_SEQUENCES, mose / "JPEGImages", mose / "Annotations", pred)
    return mose, pred


# ------------------------------------------------------------------------------------ SA-V


def sav_a(shape: tuple[int, int], t: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(gt, pred) object masks of annotated frame t of 7 (see `SAV_CASES`)."""
    gt = {
        "000": ellipse(shape, 24, 20 + 2 * t, 12, 14),
        "001": rect(shape, 14, 24 + 2 * t, 34, 44 + 2 * t),  # overlaps 000
        "002": rect(shape, 2, 48, 12, 62) if t >= 3 else np.zeros(shape, bool),
    }
    pred = {
        "000": ellipse(shape, 25, 21 + 2 * t, 11, 14),
        "001": rect(shape, 15, 24 + 2 * t, 34, 42 + 2 * t) if t != 2 else np.zeros(shape, bool),
        "002": rect(shape, 3, 47, 12, 61) if t >= 4 else np.zeros(shape, bool),
    }
    return gt, pred


def sav_b(shape: tuple[int, int], t: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(gt, pred) object masks of annotated frame t of 6 (see `SAV_CASES`)."""
    empty = np.zeros(shape, bool)
    gt = {
        "000": ellipse(shape, 40, 50, 20 + t, 30) if t >= 2 else empty,
        "001": ellipse(shape, 30, 30 + 5 * t, 10, 10) if t < 3 else empty,
    }
    pred = {
        "000": ellipse(shape, 41, 52, 20 + t, 28) if t >= 1 else empty,  # t=1: false positive
        "001": ellipse(shape, 31, 30 + 5 * t, 9, 11) if t < 3 else empty,
    }
    return gt, pred


def sav_c(shape: tuple[int, int], t: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(gt, pred) object masks of frame t of 5; the prediction is never written."""
    mask = rect(shape, 5, 5 + t, 20, 25 + t)
    return {"000": mask}, {"000": mask}


#: SA-V videos: name -> (frame function, (H, W), annotated frames, gt writer, write the prediction,
#: per-object first annotated frame index)
SAV_VIDEOS: dict[str, tuple[Callable, tuple[int, int], int, Callable, bool, dict[str, int]]] = {
    "sav_a": (sav_a, (48, 64), 7, save_gray, True, {}),
    "sav_b": (sav_b, (80, 100), 6, save_indexed, True, {"001": 1}),
    "sav_c": (sav_c, (32, 40), 5, save_gray, False, {}),
}


def write_sav(root: str | Path) -> tuple[Path, Path]:
    """An SA-V-layout gt folder and prediction folder under ``root``; returns ``(gt_root, pred_root)``.

    Frames are named as SA-V's 6 fps annotations of 24 fps videos: ``00000, 00004, 00008, ...``.
    Ground truth of ``save_gray`` videos holds 0/255, of ``save_indexed`` ones 0/1; predictions are
    indexed 0/1 PNGs as sam2's ``vos_inference.py`` writes them.
    """
    root = Path(root)
    gt_root, pred_root = root / "sav_gt", root / "sav_pred"
    for name, (frames, shape, n, save_gt, predicted, first) in SAV_VIDEOS.items():
        for t in range(n):
            gt, pred = frames(shape, t)
            for obj, mask in gt.items():
                if t < first.get(obj, 0):
                    continue
                value = 255 if save_gt is save_gray else 1
                save_gt(gt_root / name / obj / f"{4 * t:05d}.png", mask.astype(np.uint8) * value)
            if predicted:
                for obj, mask in pred.items():
                    save_indexed(pred_root / name / obj / f"{4 * t:05d}.png", mask.astype(np.uint8))
    extra = pred_root / "sav_extra" / "000"
    for t in range(3):
        save_indexed(extra / f"{4 * t:05d}.png", rect((16, 16), 2, 2, 8, 8).astype(np.uint8))
    return gt_root, pred_root


def write_all(root: str | Path) -> dict[str, Path]:
    """Every layout under ``root``: ``{"davis", "davis_pred", "mose", "mose_pred", "sav_gt", "sav_pred"}``."""
    davis, davis_pred = write_davis(root)
    mose, mose_pred = write_mose(root)
    sav_gt, sav_pred = write_sav(root)
    return {
        "davis": davis,
        "davis_pred": davis_pred,
        "mose": mose,
        "mose_pred": mose_pred,
        "sav_gt": sav_gt,
        "sav_pred": sav_pred,
    }


if __name__ == "__main__":
    import sys

    for key, path in write_all(sys.argv[1] if len(sys.argv) > 1 else "vos_inputs").items():
        print(f"{key}: {path}")
