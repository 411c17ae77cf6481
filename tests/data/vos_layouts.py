"""Small deterministic video object segmentation datasets in their official layouts, for the loaders'
tests (``test_data_vos_layouts.py``).

Each ``write_*`` function writes one benchmark's files under ``root`` exactly as its release lays
them out and returns what a loader must read back: ``{video: Expected}``. Nothing is random: every
mask is a rectangle placed by a formula of the frame index, frames are smooth gradients (JPEG keeps
them close), all frames are 32x48 (HxW).

- `write_sav`: SA-V val (``sav_val.txt``, ``JPEGImages_24fps``, ``Annotations_6fps/<video>/<obj>``):
  overlapping objects (a "hand" inside a "person"), an object that appears at the second annotated
  frame and is gone at the third, an object folder of empty PNGs; annotations every 4th frame; masks
  as palette 0/1 and as grayscale 0/255 PNGs.
- `write_mose`: MOSE v1 or MOSEv2 (``train`` densely annotated, ``valid`` with the first frame only;
  MOSEv2 with ``meta_<split>.json`` at the root): an object that appears late and leaves, a tiny one.
- `write_youtube_vos`: YouTube-VOS (``train``, ``valid``, ``valid_all_frames``, ``meta.json``):
  frames every 5th of 30 fps; valid annotates each object only on its first frame (a PNG holds only
  the objects that appear there); train holds a label meta.json does not list.
- `write_lvos`: LVOS v2 (``val`` dense with 255 void, ``test`` first-appearance only,
  ``<split>_meta.json`` with ``frame_range``): eight-digit frame names from 00000001 in steps of 5.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from samkit.data.synthetic_video import davis_palette

H, W = 32, 48


@dataclass
class Expected:
    """What a loader must read back for one video.

    ``masks[obj]`` is the (T, H, W) ground truth over the loader's frames (False where not
    annotated); ``first_frame[obj]`` and ``annotated_frames[obj]`` are frame indices.
    """

    frame_names: list[str]
    annotated: list[int]
    masks: dict[str, np.ndarray]
    first_frame: dict[str, int]
    annotated_frames: dict[str, list[int]]
    void: np.ndarray | None = None
    skipped: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def frame(t: int) -> np.ndarray:
    """Frame ``t`` as HxWx3 uint8: smooth, so that JPEG keeps it close."""
    yy, xx = np.mgrid[:H, :W]
    return np.stack([yy * 7, xx * 5, np.full((H, W), (30 * t) % 256)], axis=2).astype(np.uint8)


def box(y0: int, x0: int, h: int, w: int) -> np.ndarray:
    """An (H, W) bool rectangle (clipped to the frame)."""
    m = np.zeros((H, W), bool)
    m[max(y0, 0) : max(y0 + h, 0), max(x0, 0) : max(x0 + w, 0)] = True
    return m


PALETTE = davis_palette()


def save_jpg(path: Path, t: int) -> None:
    """Frame ``t`` as a JPEG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame(t)).save(path, quality=95)


def save_label(path: Path, label: np.ndarray) -> None:
    """An (H, W) label map as a palette PNG (as DAVIS, MOSE, YouTube-VOS and LVOS store them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(label.astype(np.uint8), mode="P")
    img.putpalette(PALETTE)
    img.save(path)


def save_binary(path: Path, mask: np.ndarray, mode: str = "P") -> None:
    """A one-object mask PNG: palette 0/1 (``"P"``, as sam2 writes them) or grayscale 0/255 (``"L"``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":
        img = Image.fromarray(mask.astype(np.uint8), mode="P")
        img.putpalette(PALETTE)
    else:
        img = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
    img.save(path)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _first(track: np.ndarray) -> int:
    return int(np.flatnonzero(track.any(axis=(1, 2)))[0])


# ------------------------------------------------------------------------------------------- SA-V
#: SA-V val videos: number of 24 fps frames
SAV_VIDEOS = {"sav_000001": 12, "sav_000002": 8}


def sav_mask(video: str, obj: str, t: int) -> np.ndarray:
    """Object ``obj`` of ``video`` on frame ``t`` (ground truth exists only for t % 4 == 0)."""
    if video == "sav_000001":
        if obj == "000":  # a person moving right
            return box(4, 4 + t, 20, 14)
        if obj == "001":  # their hand, inside the person: the masks overlap
            return box(18, 6 + t, 4, 4)
        if obj == "002":  # appears on frame 4 only (gone on frame 8)
            return box(2, 30, 6, 8) if t == 4 else np.zeros((H, W), bool)
    if video == "sav_000002":
        if obj == "000":
            return box(10, 40 - 2 * t, 10, 6)
        if obj == "001":  # never visible: an empty track
            return np.zeros((H, W), bool)
    raise KeyError((video, obj))


SAV_OBJECTS = {"sav_000001": ["000", "001", "002"], "sav_000002": ["000", "001"]}


def write_sav(root: Path, split: str = "val") -> dict[str, Expected]:
    """SA-V's ``sav_<split>`` folder at ``root``."""
    expected = {}
    root.mkdir(parents=True, exist_ok=True)
    (root / f"sav_{split}.txt").write_text("".join(f"{v}\n" for v in SAV_VIDEOS))
    for video, t_count in SAV_VIDEOS.items():
        annotated = list(range(0, t_count, 4))
        for t in range(t_count):
            save_jpg(root / "JPEGImages_24fps" / video / f"{t:05d}.jpg", t)
        masks = {}
        for obj in SAV_OBJECTS[video]:
            track = np.zeros((t_count, H, W), bool)
            for t in annotated:
                track[t] = sav_mask(video, obj, t)
                mode = "L" if obj == "001" else "P"
                save_binary(root / "Annotations_6fps" / video / obj / f"{t:05d}.png", track[t], mode)
            masks[obj] = track
        kept = {o: m for o, m in masks.items() if m.any()}
        expected[video] = Expected(
            frame_names=[f"{t:05d}" for t in range(t_count)],
            annotated=annotated,
            masks=kept,
            first_frame={o: _first(m) for o, m in kept.items()},
            annotated_frames={o: annotated for o in kept},
            skipped=[{"object_id": o, "reason": "empty"} for o, m in masks.items() if not m.any()],
        )
    return expected


# ------------------------------------------------------------------------------------------- MOSE
#: MOSE videos per split: number of frames
MOSE_VIDEOS = {"train": {"3b7d1a2c": 8, "9f0e4c6d": 6}, "valid": {"5a6b7c8d": 7, "c1d2e3f4": 6}}


def mose_label(video: str, t: int) -> np.ndarray:
    """The full label map of ``video`` on frame ``t``."""
    label = np.zeros((H, W), np.uint8)
    if video in ("3b7d1a2c", "5a6b7c8d"):
        label[box(4, 2 + 2 * t, 10, 10)] = 1
        if 3 <= t <= 5:  # appears on frame 3, gone after frame 5
            label[box(20, 30, 8, 12)] = 2
    else:
        label[box(12, 20 - t, 12, 12)] = 1
        label[box(0, 44, 2, 2)] = 3  # tiny: 4 pixels a frame
    if video in ("5a6b7c8d", "c1d2e3f4"):
        label[box(26, 4, 4, 6)] = 2 if video == "c1d2e3f4" else 4  # valid: every object on frame 0
    return label


def write_mose(root: Path, version: int = 1) -> dict[str, dict[str, Expected]]:
    """MOSE v1 (or MOSEv2 with its ``meta_<split>.json``) under ``root``: ``{split: {video: Expected}}``."""
    out: dict[str, dict[str, Expected]] = {}
    for split, videos in MOSE_VIDEOS.items():
        out[split] = {}
        for video, t_count in videos.items():
            labels = np.stack([mose_label(video, t) for t in range(t_count)])
            annotated = list(range(t_count)) if split == "train" else [0]
            for t in range(t_count):
                save_jpg(root / split / "JPEGImages" / video / f"{t:05d}.jpg", t)
            for t in annotated:
                save_label(root / split / "Annotations" / video / f"{t:05d}.png", labels[t])
            seen = np.zeros_like(labels)
            seen[annotated] = labels[annotated]
            ids = [int(v) for v in np.unique(seen) if v]
            masks = {str(v): seen == v for v in ids}
            out[split][video] = Expected(
                frame_names=[f"{t:05d}" for t in range(t_count)],
                annotated=annotated,
                masks=masks,
                first_frame={o: _first(m) for o, m in masks.items()},
                annotated_frames={o: annotated for o in masks},
            )
        if version == 2:
            meta = {
                "videos": {
                    v: {"length": t, "height": H, "width": W, "objects": sorted(out[split][v].masks, key=int)}
                    for v, t in videos.items()
                }
            }
            _write_json(root / f"meta_{split}.json", meta)
    return out


# ------------------------------------------------------------------------------------ YouTube-VOS
#: YouTube-VOS videos per split: number of frames at 30 fps (JPEGImages hold every 5th)
YTVOS_VIDEOS = {"train": {"003234408d": 26}, "valid": {"0a49f5265b": 28, "1b2c3d4e5f": 21}}
YTVOS_CATEGORIES = {"1": "person", "2": "dog", "3": "frisbee", "4": "cat"}


def ytvos_label(video: str, t30: int) -> np.ndarray:
    """The full label map of ``video`` on 30 fps frame ``t30``."""
    label = np.zeros((H, W), np.uint8)
    label[box(2, 2 + t30 // 5, 10, 8)] = 1
    if video == "0a49f5265b" and t30 >= 10:  # a dog enters at frame 10
        label[box(20, 30, 8, 10)] = 2
    if video == "1b2c3d4e5f" and t30 >= 15:  # a frisbee enters at frame 15
        label[box(24, 10, 4, 4)] = 3
    if video == "003234408d":
        if 10 <= t30 <= 15:  # enters at frame 10, gone after frame 15
            label[box(18, 26, 10, 12)] = 2
        label[box(30, 0, 2, 3)] = 4  # a label meta.json does not list
    return label


def write_youtube_vos(root: Path) -> dict[str, dict[str, Expected]]:
    """YouTube-VOS ``train``, ``valid`` and ``valid_all_frames`` under ``root``: ``{"train": ...,
    "valid": ..., "valid_all_frames": ...}`` of ``{video: Expected}``."""
    out: dict[str, dict[str, Expected]] = {"train": {}, "valid": {}, "valid_all_frames": {}}
    for split, videos in YTVOS_VIDEOS.items():
        meta: dict = {"videos": {}}
        for video, t_count in videos.items():
            steps = list(range(0, t_count, 5))
            full = {t: ytvos_label(video, t) for t in range(t_count)}
            for t in steps:
                save_jpg(root / split / "JPEGImages" / video / f"{t:05d}.jpg", t)
            if split == "valid":
                for t in range(t_count):
                    save_jpg(root / "valid_all_frames" / "JPEGImages" / video / f"{t:05d}.jpg", t)
            objects: dict = {}
            written: dict[int, np.ndarray] = {}
            for t in steps:
                present = [int(v) for v in np.unique(full[t]) if v and v != 4]
                for v in present:
                    entry = objects.setdefault(str(v), {"category": YTVOS_CATEGORIES[str(v)], "frames": []})
                    if split == "valid" and entry["frames"]:
                        continue
                    entry["frames"].append(f"{t:05d}")
                if split == "train":
                    written[t] = full[t]
                else:  # a PNG on an object's first frame, holding only the objects that appear there
                    new = [v for v in present if objects[str(v)]["frames"] == [f"{t:05d}"]]
                    if new:
                        written[t] = np.where(np.isin(full[t], new), full[t], 0).astype(np.uint8)
            if split == "valid":  # valid's frames: from an object's first frame to the end
                for entry in objects.values():
                    first = int(entry["frames"][0])
                    entry["frames"] = [f"{t:05d}" for t in steps if t >= first]
            for t, label in written.items():
                save_label(root / split / "Annotations" / video / f"{t:05d}.png", label)
            meta["videos"][video] = {"objects": objects}
            for key, names in ((split, steps), ("valid_all_frames", list(range(t_count)))):
                if key == "valid_all_frames" and split != "valid":
                    continue
                index = {t: i for i, t in enumerate(names)}
                masks = {}
                for obj in objects:
                    track = np.zeros((len(names), H, W), bool)
                    for t, label in written.items():
                        track[index[t]] = label == int(obj)
                    masks[obj] = track
                annotated = sorted(index[t] for t in written)
                out[key][video] = Expected(
                    frame_names=[f"{t:05d}" for t in names],
                    annotated=annotated,
                    masks=masks,
                    first_frame={o: _first(m) for o, m in masks.items()},
                    annotated_frames={o: annotated if split == "train" else [_first(m)] for o, m in masks.items()},
                    skipped=[{"object_id": "4", "reason": "not in meta.json"}] if split == "train" else [],
                    extra={
                        "category": {o: e["category"] for o, e in objects.items()},
                        "frames": {o: [index[int(f)] for f in e["frames"]] for o, e in objects.items()},
                    },
                )
        _write_json(root / split / "meta.json", meta)
    return out


# ------------------------------------------------------------------------------------------- LVOS
#: LVOS videos per split: number of frames (6 fps, named 1 + 5 * i)
LVOS_VIDEOS = {"val": {"0tCWPOrc": 10, "7K7WVzGG": 6}, "test": {"2a3B4c5D": 8}}


def lvos_name(i: int) -> str:
    """The file stem of the ``i``-th frame of an LVOS video (``00000001``, ``00000006``, ...)."""
    return f"{1 + 5 * i:08d}"


def lvos_label(video: str, i: int) -> np.ndarray:
    """The full label map of ``video`` on its ``i``-th frame (255: void)."""
    label = np.zeros((H, W), np.uint8)
    label[box(6, 2 + 3 * i, 12, 10)] = 1
    if video != "7K7WVzGG" and 3 <= i <= 6:  # appears on frame 3, leaves after frame 6
        label[box(22, 20, 8, 14)] = 2
    if video == "7K7WVzGG":
        label[box(22, 36, 6, 6)] = 2
    label[31, :] = 255  # a void row
    return label


def write_lvos(root: Path) -> dict[str, dict[str, Expected]]:
    """LVOS v2 ``val`` and ``test`` under ``root``: ``{split: {video: Expected}}``."""
    out: dict[str, dict[str, Expected]] = {}
    for split, videos in LVOS_VIDEOS.items():
        out[split] = {}
        meta: dict = {"videos": {}}
        for video, t_count in videos.items():
            labels = np.stack([lvos_label(video, i) for i in range(t_count)])
            names = [lvos_name(i) for i in range(t_count)]
            for i, stem in enumerate(names):
                save_jpg(root / split / "JPEGImages" / video / f"{stem}.jpg", i)
            ids = [int(v) for v in np.unique(labels) if v not in (0, 255)]
            firsts = {v: _first(labels == v) for v in ids}
            written: dict[int, np.ndarray] = {}
            if split == "test":  # each object's first frame, holding only the objects that appear there
                for i in set(firsts.values()):
                    keep = [u for u, j in firsts.items() if j == i]
                    written[i] = np.where(np.isin(labels[i], keep + [255]), labels[i], 0).astype(np.uint8)
            else:
                written = dict(enumerate(labels))
            for i, label in written.items():
                save_label(root / split / "Annotations" / video / f"{names[i]}.png", label)
            objects = {}
            for v in ids:
                present = np.flatnonzero((labels == v).any(axis=(1, 2)))
                start, end = names[present[0]], names[present[-1]]
                # one video gives frame ids as strings, the other as ints (the loader takes both)
                frame_range = (
                    {"start": start, "end": end} if video != "7K7WVzGG" else {"start": int(start), "end": int(end)}
                )
                objects[str(v)] = {"frame_range": {**frame_range, "frame_nums": int(len(present))}}
            meta["videos"][video] = {"objects": objects}
            annotated = sorted(written)
            void = np.zeros((t_count, H, W), bool)
            masks = {str(v): np.zeros((t_count, H, W), bool) for v in ids}
            for i, label in written.items():
                void[i] = label == 255
                for v in ids:
                    masks[str(v)][i] = label == v
            out[split][video] = Expected(
                frame_names=names,
                annotated=annotated,
                masks=masks,
                first_frame={o: _first(m) for o, m in masks.items()},
                annotated_frames={o: annotated if split == "val" else [_first(m)] for o, m in masks.items()},
                void=void,
                extra={
                    "frame_range": {o: {k: int(x) for k, x in e["frame_range"].items()} for o, e in objects.items()}
                },
            )
        _write_json(root / split / f"{split}_meta.json", meta)
    return out
