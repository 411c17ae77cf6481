"""Synthetic videos: seeded shapes moving over a textured background, with exact mask tracks.

For tests and smoke runs of video trackers and the DAVIS protocol: no files, no downloads, ground
truth exact by construction. `moving_shapes` draws ``num_objects`` shapes (ellipses, rotated
rectangles, star-shaped polygons; the kinds of `samkit.data.synthetic`) in random colours on a
static noise, gradient or stripes background. Each shape moves on a smooth trajectory (its centre a
sum of slow sines, its angle turning at a constant rate) that keeps the centre inside the frame;
shapes are drawn in order, so later objects occlude earlier ones, and each mask is the set of
pixels where its object is visible. Every object is visible in frame 0 (at least a quarter of its
pixels), so a tracker can be prompted there; later it may be partly or wholly hidden.

`write_davis` writes videos in the DAVIS 2017 layout that `DavisDataset` reads back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from samkit.data._subsample import rng_for
from samkit.data.synthetic import BACKGROUNDS, SHAPES, _background

__all__ = ["SyntheticVideo", "moving_shapes", "write_davis", "davis_palette"]


@dataclass
class SyntheticVideo:
    """A synthetic video and its exact ground truth.

    Attributes:
        name: the sequence name.
        frames: (T, H, W, 3) uint8 RGB.
        masks: (K, T, H, W) bool, visible pixels of object k in frame t.
        object_ids: K str ids ``"1"``.. in drawing order (later ids on top); also the label values.
        amodal_masks: (K, T, H, W) bool, each object's whole silhouette, occluded parts included.
        meta: ``seed``, ``background``, ``shapes`` (K kinds), ``colors`` (K RGB tuples) and
            ``centers`` ((K, T, 2) float, (y, x) pixels of each shape's centre per frame).
    """

    name: str
    frames: np.ndarray
    masks: np.ndarray
    object_ids: list[str]
    amodal_masks: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        """T."""
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def num_objects(self) -> int:
        """K."""
        return int(self.masks.shape[0])

    def labels(self) -> np.ndarray:
        """(T, H, W) uint8 label maps: 0 background, k+1 where object k is visible."""
        labels = np.zeros(self.masks.shape[1:], dtype=np.uint8)
        for k, mask in enumerate(self.masks):
            labels[mask] = k + 1
        return labels

    def __repr__(self) -> str:
        h, w = self.size
        return f"SyntheticVideo({self.name!r}, frames={self.num_frames}, size={h}x{w}, objects={self.num_objects})"


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ValueError(f"size must be (H, W) positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _shape_pixels(
    kind: str, params: dict, cy: float, cx: float, angle: float, h: int, w: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and cols of one shape of ``params`` centred at (cy, cx), turned by ``angle``."""
    from skimage import draw

    if kind == "ellipse":
        return draw.ellipse(cy, cx, params["ry"], params["rx"], shape=(h, w), rotation=angle)
    corners = params["corners"]  # (N, 2) (y, x) offsets at angle 0
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = corners @ rot.T + (cy, cx)
    return draw.polygon(pts[:, 0], pts[:, 1], shape=(h, w))


def _shape_params(rng: np.random.Generator, kind: str, scale: float) -> dict:
    if kind == "ellipse":
        ry, rx = rng.uniform(0.1, 0.22, size=2) * scale
        return {"ry": float(ry), "rx": float(rx)}
    if kind == "rectangle":
        hy, hx = rng.uniform(0.08, 0.2, size=2) * scale
        return {"corners": np.array([[-hy, -hx], [-hy, hx], [hy, hx], [hy, -hx]])}
    n = int(rng.integers(3, 7))  # star-shaped polygon around the centre
    thetas = (np.arange(n) + rng.uniform(-0.3, 0.3, size=n)) * (2 * np.pi / n)
    radii = rng.uniform(0.12, 0.22, size=n) * scale
    return {"corners": np.stack([radii * np.sin(thetas), radii * np.cos(thetas)], axis=1)}


def _trajectory(rng: np.random.Generator, num_frames: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) (y, x) centres, kept in [0.05, 0.95] of the frame, and (T,) angles (radians)."""
    t = np.arange(num_frames) / max(num_frames, 1)
    centers = np.empty((num_frames, 2))
    for axis, extent in enumerate((h, w)):
        base = rng.uniform(0.3, 0.7)
        amps = rng.uniform(0.05, 0.125, size=2)  # two sines: at most 0.25 away from base
        freqs = rng.uniform(0.3, 1.2, size=2)  # cycles over the video
        phases = rng.uniform(0, 2 * np.pi, size=2)
        offset = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, freqs, phases))
        centers[:, axis] = (base + offset) * extent
    angles = rng.uniform(0, np.pi) + rng.uniform(-np.pi / 2, np.pi / 2) * t
    return centers, angles


def moving_shapes(
    num_frames: int = 16,
    size: tuple[int, int] = (96, 128),
    num_objects: int = 2,
    seed: int = 0,
    *,
    shapes: Sequence[str] | None = None,
    background: str | None = None,
    name: str = "moving_shapes",
) -> SyntheticVideo:
    """A seeded video of ``num_objects`` shapes moving over a textured background.

    Args:
        num_frames: T >= 1.
        size: (H, W) in pixels.
        num_objects: K >= 0 shapes, drawn in order (later ones on top).
        seed: the video depends only on the seed and the other arguments.
        shapes: kinds to draw from (default: all of ``SHAPES``: ellipse, rectangle, polygon).
        background: ``"noise"``, ``"gradient"`` or ``"stripes"`` (default: seeded choice).
        name: the `SyntheticVideo`'s name.

    Returns a `SyntheticVideo`: frames (T, H, W, 3) uint8 and exact masks (K, T, H, W) bool of the
    visible pixels; every object has at least a quarter of its pixels visible in frame 0.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be an int >= 1, got {num_frames!r}")
    if isinstance(num_objects, bool) or not isinstance(num_objects, int) or num_objects < 0:
        raise ValueError(f"num_objects must be an int >= 0, got {num_objects!r}")
    h, w = _check_size(size)
    kinds = tuple(shapes) if shapes is not None else SHAPES
    if not kinds or any(k not in SHAPES for k in kinds):
        raise ValueError(f"shapes must be a non-empty subset of {SHAPES}, got {shapes!r}")
    if background is not None and background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")

    rng = rng_for(seed, "moving_shapes", str(num_frames), str((h, w)), str(num_objects))
    bg_kind = background or BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    bg = _background(rng, bg_kind, h, w)
    scale = float(min(h, w))
    for _attempt in range(100):  # redraw until every object shows in frame 0
        objects = []
        for _ in range(num_objects):
            kind = kinds[rng.integers(len(kinds))]
            color = tuple(int(c) for c in rng.integers(0, 256, size=3))
            params = _shape_params(rng, kind, scale)
            centers, angles = _trajectory(rng, num_frames, h, w)
            objects.append((kind, color, params, centers, angles))
        amodal = np.zeros((num_objects, num_frames, h, w), dtype=bool)
        for k, (kind, _, params, centers, angles) in enumerate(objects):
            for t in range(num_frames):
                rr, cc = _shape_pixels(kind, params, centers[t, 0], centers[t, 1], angles[t], h, w)
                amodal[k, t, rr, cc] = True
        # visible = drawn and not covered by any later object
        masks = amodal.copy()
        for k in range(num_objects - 2, -1, -1):
            masks[k] &= ~amodal[k + 1 :].any(axis=0)
        drawn0 = amodal[:, 0].sum(axis=(1, 2))
        seen0 = masks[:, 0].sum(axis=(1, 2))
        if np.all((drawn0 > 0) & (seen0 * 4 >= drawn0)):
            break
    frames = np.repeat(bg[None], num_frames, axis=0)
    for k, (_, color, *_rest) in enumerate(objects):
        frames[masks[k]] = color
    meta = {
        "seed": seed,
        "background": bg_kind,
        "shapes": [o[0] for o in objects],
        "colors": [o[1] for o in objects],
        "centers": np.stack([o[3] for o in objects]) if objects else np.zeros((0, num_frames, 2)),
    }
    return SyntheticVideo(
        name=name,
        frames=frames,
        masks=masks,
        object_ids=[str(k + 1) for k in range(num_objects)],
        amodal_masks=amodal,
        meta=meta,
    )


def davis_palette() -> list[int]:
    """The 768-value PASCAL VOC / DAVIS colour palette (index 0 black, 1 dark red, 2 green, ...)."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def write_davis(
    root: str | Path,
    sequences: int | Sequence[str] | Mapping[str, SyntheticVideo] = 2,
    *,
    num_frames: int = 8,
    size: tuple[int, int] = (96, 128),
    num_objects: int = 2,
    seed: int = 0,
    resolution: str = "480p",
    split: str = "val",
    quality: int = 95,
) -> dict[str, SyntheticVideo]:
    """Write synthetic sequences in the DAVIS 2017 layout under ``root`` (for `DavisDataset`).

    Writes ``JPEGImages/<resolution>/<seq>/00000.jpg``... (JPEG at ``quality``, no chroma
    subsampling: frames are lossy, a few grey levels off),
    ``Annotations/<resolution>/<seq>/00000.png``... (palette PNGs, 0 background, object k = k, every
    frame annotated; exact) and adds the names to ``ImageSets/2017/<split>.txt`` (names already
    listed there are kept).

    Args:
        sequences: a count (names ``shapes-000``, ``shapes-001``, ...), a list of names, or a
            mapping ``{name: SyntheticVideo}`` of videos to write as they are.
        num_frames, size, num_objects: of each generated video (`moving_shapes`); 1..254 objects.
        seed: each generated sequence depends on ``seed`` and its name.

    Returns ``{name: SyntheticVideo}``, the videos written (their masks are what `DavisDataset`
    reads back).
    """
    from PIL import Image

    if isinstance(sequences, Mapping):
        videos = dict(sequences)
    else:
        if isinstance(sequences, (int, np.integer)) and not isinstance(sequences, bool):
            if sequences < 0:
                raise ValueError(f"sequences must be >= 0, got {sequences}")
            names = [f"shapes-{i:03d}" for i in range(int(sequences))]
        elif isinstance(sequences, str):
            raise ValueError(f"sequences must be a count or a list of names, got the string {sequences!r}")
        else:
            names = [str(n) for n in sequences]
        if len(set(names)) != len(names):
            raise ValueError(f"sequence names must be unique, got {names}")
        videos = {}
        for n in names:
            sub_seed = int(rng_for(seed, "write_davis", n).integers(2**31))
            videos[n] = moving_shapes(num_frames, size, num_objects, sub_seed, name=n)
    for n, video in videos.items():
        if not n or "/" in n or "\\" in n or n.startswith("."):
            raise ValueError(f"sequence name {n!r} is not a plain folder name")
        if video.num_objects > 254:
            raise ValueError(
                f"sequence {n!r}: DAVIS labels hold at most 254 objects (255 is void), got {video.num_objects}"
            )

    root = Path(root)
    palette = davis_palette()
    for n, video in videos.items():
        frames_dir = root / "JPEGImages" / resolution / n
        ann_dir = root / "Annotations" / resolution / n
        frames_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        labels = video.labels()
        for t in range(video.num_frames):
            Image.fromarray(video.frames[t]).save(
                frames_dir / f"{t:05d}.jpg", quality=int(quality), subsampling=0
            )  # 4:4:4: keeps the textures
            label = Image.fromarray(labels[t])
            label.putpalette(palette)  # mode L -> P, values kept as palette indices
            label.save(ann_dir / f"{t:05d}.png")
    split_file = root / "ImageSets" / "2017" / f"{split}.txt"
    split_file.parent.mkdir(parents=True, exist_ok=True)
    listed = (
        [line.strip() for line in split_file.read_text().splitlines() if line.strip()] if split_file.is_file() else []
    )
    listed += [n for n in videos if n not in listed]
    split_file.write_text("".join(f"{n}\n" for n in listed))
    return videos
