"""Video object segmentation predictions in the benchmarks' own layouts, written frame by frame, and
the submission archives of their evaluation servers (the `video` protocol's writers).

Layouts (what the official scorers and servers read):

- ``"davis"`` (DAVIS 2017, MOSE v1 / v2, YouTube-VOS, LVOS): ``<root>/<video>/<frame>.png``, one
  indexed (palette) PNG per frame, pixel value = the object's id (its label value), 0 background,
  DAVIS' palette (sam2's ``tools/vos_inference.py`` ``DAVIS_PALETTE``, the PASCAL VOC colour map).
  Objects cannot overlap in a label map: overlaps are resolved as sam2's palette writer
  (``put_per_obj_mask``) resolves them: the objects are painted in decreasing id order, so where
  masks overlap the **smallest object id wins**.
- ``"sav"`` (SA-V): ``<root>/<video>/<obj:03d>/<frame>.png``, one binary PNG per object and frame
  (palette 0/1, as ``vos_inference.py --per_obj_png_file`` writes them); objects may overlap.

A `PredictionWriter` writes one video: each frame as the tracker yields it (nothing of the whole
video is held), then `PredictionWriter.finish` writes the frames never yielded (before the first
prompt, or where a tracker stopped early) as empty, so every frame the scorers may read exists.

`write_submission` zips a predictions folder as an evaluation server expects it (see
`SUBMISSIONS` for the layouts and their sources).
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from samkit.atomic import atomic_write
from samkit.errors import ParameterError

__all__ = ["LAYOUTS", "SUBMISSIONS", "PredictionWriter", "label_map", "object_folder", "write_submission"]

#: prediction layouts: a label PNG per frame (``davis``) or a binary PNG per object and frame (``sav``)
LAYOUTS = ("davis", "sav")

#: benchmark -> (the predictions layout it takes, the folder its archive puts the videos in, source).
#: YouTube-VOS and LVOS test: ``Annotations/<video>/<frame>.png`` (XMem's and Cutie's
#: ``make_zip``: ``shutil.make_archive(..., root_dir=run_dir, base_dir="Annotations")``); MOSE v1
#: val and DAVIS 2017 test-dev: ``<video>/<frame>.png`` at the archive's root (Cutie's
#: ``make_zip``: zipped from inside the Annotations folder); MOSEv2: ``<video>/<frame>.png`` at the
#: root (MOSE-api ``MOSEv2/sam2_rcms/README.md``: ``cd output; zip -r submission.zip *``; its scorer
#: also descends into a lone top folder); SA-V: ``<video>/<obj:03d>/<frame>.png`` at the root (sam2's
#: ``sav_dataset/README.md``: the layout ``sav_evaluator.py --pred_root`` reads; SA-V val and test
#: annotations are public and scored locally, the README names no server).
SUBMISSIONS: dict[str, tuple[str, str, str]] = {
    "youtube_vos": ("davis", "Annotations", "XMem / Cutie make_zip (YouTube-VOS 2018/2019 CodaLab)"),
    "lvos": ("davis", "Annotations", "Cutie make_zip (LVOS test CodaLab)"),
    "mosev1": ("davis", "", "Cutie make_zip (MOSE val CodaLab)"),
    "mosev2": ("davis", "", "MOSE-api MOSEv2/sam2_rcms/README.md (codabench)"),
    "davis2017": ("davis", "", "Cutie make_zip (DAVIS 2017 test-dev CodaLab)"),
    "sav": ("sav", "", "sam2 sav_dataset/README.md (sav_evaluator.py --pred_root)"),
}


@functools.lru_cache(maxsize=1)
def _palette() -> tuple[int, ...]:
    """DAVIS' 768-value palette (index 0 black, 1 dark red, 2 green, ...; sam2's ``DAVIS_PALETTE``)."""
    from samkit.data.synthetic_video import davis_palette

    return tuple(davis_palette())


def _plain(name: str, what: str) -> str:
    """``name`` if it is a plain file or folder name (no separator, not ``.``/``..``, not empty)."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise ParameterError(f"{what} {name!r} is not a plain file or folder name; predictions are not written")
    return name


def object_folder(object_id: str) -> str:
    """The SA-V layout's folder of an object: ``f"{int(id):03d}"`` for an integer id (``"1"`` ->
    ``"001"``, SA-V's own ``"000"`` stays), else the id itself (a plain folder name)."""
    if object_id.isdigit():
        return f"{int(object_id):03d}"
    return _plain(object_id, "object id")


def label_map(masks: Mapping[int, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """One frame's ``{object id: HxW bool}`` as an (H, W) uint8 label map, as sam2's
    ``put_per_obj_mask`` makes it: objects painted in decreasing id order, so where masks overlap the
    smallest id wins; 0 is background. Ids must be 1..255."""
    out = np.zeros(shape, dtype=np.uint8)
    for object_id in sorted(masks, reverse=True):
        if not 1 <= int(object_id) <= 255:
            raise ParameterError(
                f"object id {object_id} cannot be a label value (1..255) of a DAVIS-layout PNG; use the 'sav' layout"
            )
        out[np.asarray(masks[object_id], dtype=bool)] = int(object_id)
    return out


def _save_png(path: Path, array: np.ndarray) -> None:
    """An (H, W) uint8 array as an indexed PNG with DAVIS' palette, written atomically."""
    from PIL import Image

    h, w = array.shape
    image = Image.frombytes("P", (w, h), np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    image.putpalette(list(_palette()))
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


class PredictionWriter:
    """Writes one video's predictions in ``layout`` under ``root``, frame by frame.

    Args:
        root: the predictions folder (``<root>/<video>/...``).
        video: the video's (sequence's) name, a plain folder name.
        layout: ``"davis"`` or ``"sav"`` (see the module docstring).
        frame_names: the video's T frame names (file stems), in frame order.
        objects: ``{tracker object id: dataset object id}``: in the ``davis`` layout the tracker id
            is the pixel value (1..255), in ``sav`` the dataset id names the object's folder
            (`object_folder`).
        size: ``(H, W)`` of the frames.
        frames: the frame indices to write (default: all; YouTube-VOS submissions hold the frames
            of its meta.json only).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        video: str,
        layout: str,
        *,
        frame_names: list[str],
        objects: Mapping[int, str],
        size: tuple[int, int],
        frames: Iterable[int] | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ParameterError(f"predictions layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout, self.size = layout, (int(size[0]), int(size[1]))
        self.folder = Path(root) / _plain(video, "video name")
        self.frame_names = [_plain(n, f"video {video!r}: frame name") for n in frame_names]
        self.objects = {int(k): str(v) for k, v in objects.items()}
        if layout == "davis":
            label_map({k: np.zeros((1, 1), bool) for k in self.objects}, (1, 1))  # ids checked up front
            self.folders = {}
        else:
            self.folders = {k: object_folder(v) for k, v in self.objects.items()}
        self.frames = set(range(len(frame_names)) if frames is None else (int(t) for t in frames))
        self.written: set[int] = set()

    def path_of(self, object_id: int | None = None) -> Path:
        """The folder an object's predictions go to (``sav``: its own folder), else the video's."""
        if self.layout == "sav" and object_id is not None:
            return self.folder / self.folders[int(object_id)]
        return self.folder

    def write(self, t: int, masks: Mapping[int, np.ndarray]) -> None:
        """Frame ``t``'s ``{tracker object id: HxW bool}`` (objects missing from it are empty);
        frames outside ``frames`` are not written."""
        t = int(t)
        if t not in self.frames:
            return
        known = {k: m for k, m in masks.items() if int(k) in self.objects}
        name = f"{self.frame_names[t]}.png"
        if self.layout == "davis":
            _save_png(self.folder / name, label_map(known, self.size))
        else:
            empty = np.zeros(self.size, dtype=np.uint8)
            for k, folder in self.folders.items():
                mask = known.get(k)
                _save_png(self.folder / folder / name, empty if mask is None else np.asarray(mask, dtype=np.uint8))
        self.written.add(t)

    def finish(self) -> None:
        """Write every frame of ``frames`` not written yet as empty (no object)."""
        for t in sorted(self.frames - self.written):
            self.write(t, {})


def _videos(root: Path, layout: str) -> list[tuple[Path, str]]:
    """``(file, path inside the archive)`` of every PNG of a predictions folder in ``layout``, sorted;
    `ParameterError` when the folder is not in that layout."""
    files: list[tuple[Path, str]] = []
    videos = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not videos:
        raise ParameterError(f"{root} holds no video folders: nothing to submit")
    for video in videos:
        entries = sorted(p for p in video.iterdir() if not p.name.startswith("."))
        pngs = [p for p in entries if p.is_file() and p.suffix.lower() == ".png"]
        folders = [p for p in entries if p.is_dir()]
        if layout == "davis":
            if folders or not pngs:
                raise ParameterError(
                    f"{video} is not a DAVIS-layout video folder (<video>/<frame>.png, no sub-folders): "
                    f"{len(pngs)} PNGs, {len(folders)} folders"
                )
            files += [(p, f"{video.name}/{p.name}") for p in pngs]
        else:
            if pngs or not folders:
                raise ParameterError(
                    f"{video} is not an SA-V-layout video folder (<video>/<obj>/<frame>.png): {len(pngs)} PNGs "
                    f"directly in it, {len(folders)} object folders"
                )
            for obj in folders:
                frames = sorted(p for p in obj.iterdir() if p.is_file() and p.suffix.lower() == ".png")
                if not frames:
                    raise ParameterError(f"{obj}: an object folder without PNGs")
                files += [(p, f"{video.name}/{obj.name}/{p.name}") for p in frames]
    return files


def write_submission(predictions_dir: str | os.PathLike, out_zip: str | os.PathLike, benchmark: str) -> Path:
    """Zip ``predictions_dir`` (written by the `video` protocol, ``predictions_dir=...``) as
    ``benchmark``'s evaluation server expects it; returns the archive's path.

    ``benchmark`` (`SUBMISSIONS`): ``"youtube_vos"`` and ``"lvos"`` (test): ``Annotations/<video>/
    <frame>.png``; ``"mosev1"``, ``"mosev2"``, ``"davis2017"`` (test-dev): ``<video>/<frame>.png``
    at the root; ``"sav"`` (test, or val): ``<video>/<obj>/<frame>.png`` at the root. Only the PNGs
    go in (a scorer's ``results.csv`` or hidden files stay out), in sorted order; the archive is
    written atomically. A folder that is not in the benchmark's layout (``davis`` or ``sav``, see
    the module docstring), an unknown benchmark or a missing folder: `ParameterError`.

    Note MOSEv2's scorer descends into a lone top folder: an archive of a single video must be
    scored with the video folder inside another folder (a full split has many videos).
    """
    if benchmark not in SUBMISSIONS:
        raise ParameterError(f"benchmark must be one of {', '.join(map(repr, SUBMISSIONS))}; got {benchmark!r}")
    root = Path(predictions_dir)
    if not root.is_dir():
        raise ParameterError(f"predictions_dir {str(root)!r} is not a folder")
    layout, top, _ = SUBMISSIONS[benchmark]
    files = _videos(root, layout)
    prefix = f"{top}/" if top else ""

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, name in files:
                archive.write(path, arcname=prefix + name)

    return atomic_write(out_zip, write)
