"""`SyntheticDataset`: seeded shapes on textured backgrounds with exact instance masks.

For tests and smoke runs: no files, no downloads, and ground truth that is exact by construction.
Each image draws 1 to ``max_shapes`` shapes (ellipses, rotated rectangles, star-shaped polygons of
3 to 6 vertices; skimage.draw) in random colours, in order, on a noise, gradient or stripes
background; later shapes occlude earlier ones and each mask is the set of pixels where its shape is
visible. A shape left with no visible pixel is skipped as ``"occluded"`` (``"empty"`` if it drew no
pixel at all, e.g. on a tiny image), one under ``min_area`` pixels as ``"tiny"``; both are recorded
in `Sample.skipped`.

Image ``i`` depends only on ``seed`` and ``i``. `SyntheticDataset.write_coco` and
`SyntheticDataset.write_folder` write the samples to disk for `CocoDataset` / `FolderDataset`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._subsample import (
    check_options,
    id_sort_key,
    rng_for,
    select_objects,
    subsample,
)
from samkit.data.sample import Sample

__all__ = ["SyntheticDataset", "SHAPES", "BACKGROUNDS"]

#: the shapes a synthetic image draws its objects from
SHAPES = ("ellipse", "rectangle", "polygon")
#: the background textures a synthetic image is drawn on
BACKGROUNDS = ("noise", "gradient", "stripes")


class SyntheticDataset(IdDataset):
    """``num_images`` synthetic images of ``size`` (H, W) pixels, deterministic given ``seed``.

    ``image_id`` is ``str(i)`` for i in 0..num_images-1; object ids are ``"1"``.. in drawing order
    (later ids on top), so ``object_id`` is also the value the shape has in a label image.
    ``meta["objects"]`` gives each kept shape's ``shape``, ``color`` (RGB), ``area`` (visible
    pixels) and ``drawn_area`` (pixels before occlusion); ``meta["num_shapes"]`` counts the shapes
    drawn (kept + skipped + left out by ``max_objects``). Options ``max_images``, ``max_objects``,
    ``seed``, ``min_area`` as the other loaders (``seed`` also seeds the drawing).
    """

    def __init__(
        self,
        num_images: int = 8,
        size: tuple[int, int] = (128, 160),
        max_shapes: int = 4,
        seed: int = 0,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        min_area: int = 0,
        name: str = "synthetic",
    ) -> None:
        check_options(max_images, max_objects, min_area)
        if not isinstance(num_images, int) or num_images < 0:
            raise ValueError(f"num_images must be an int >= 0, got {num_images!r}")
        if not isinstance(max_shapes, int) or max_shapes < 0:
            raise ValueError(f"max_shapes must be an int >= 0, got {max_shapes!r}")
        if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
            raise ValueError(f"size must be (H, W) positive ints, got {size!r}")
        self.num_images, self.size, self.max_shapes = num_images, (size[0], size[1]), max_shapes
        self.seed, self.max_objects, self.min_area, self.name = seed, max_objects, min_area, name
        self.skipped_images: list[dict] = []  # synthetic images are never skipped
        self.image_ids: list[str] = subsample([str(i) for i in range(num_images)], max_images, seed, "images")

    def __repr__(self) -> str:
        return f"SyntheticDataset(images={len(self)}, size={self.size}, max_shapes={self.max_shapes}, seed={self.seed})"

    def _load(self, image_id: str) -> Sample:
        h, w = self.size
        rng = rng_for(self.seed, "synthetic", image_id)
        background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
        image = _background(rng, background, h, w)
        labels = np.zeros((h, w), dtype=np.int32)
        shapes, colors, drawn = [], [], []
        num_shapes = int(rng.integers(1, self.max_shapes + 1)) if self.max_shapes else 0
        for k in range(1, num_shapes + 1):
            shape = SHAPES[rng.integers(len(SHAPES))]
            color = tuple(int(c) for c in rng.integers(0, 256, size=3))
            rr, cc = _draw(rng, shape, h, w)
            labels[rr, cc] = k
            image[rr, cc] = color
            shapes.append(shape)
            colors.append(color)
            drawn.append(int(len(rr)))
        ids = [str(k) for k in range(1, len(shapes) + 1)]
        areas = np.bincount(labels.ravel(), minlength=len(shapes) + 1)[1:]
        # zero-area shapes: "empty" if nothing was drawn, else "occluded"
        hidden = [
            {"object_id": ids[i], "reason": "empty" if drawn[i] == 0 else "occluded"}
            for i in range(len(ids))
            if areas[i] == 0
        ]
        visible = [i for i in range(len(ids)) if areas[i] > 0]
        keep, skipped, eligible = select_objects(
            [ids[i] for i in visible],
            [int(areas[i]) for i in visible],
            None,
            image_id=image_id,
            min_area=self.min_area,
            max_objects=self.max_objects,
            seed=self.seed,
        )
        keep = [visible[i] for i in keep]
        skipped = sorted(hidden + skipped, key=lambda s: id_sort_key(s["object_id"]))
        masks = labels[None] == np.array([k + 1 for k in keep], dtype=np.int32)[:, None, None]
        objects = [
            {"shape": shapes[i], "color": colors[i], "area": int(areas[i]), "drawn_area": drawn[i]} for i in keep
        ]
        meta = {
            "index": int(image_id),
            "seed": self.seed,
            "background": background,
            "num_shapes": num_shapes,
            "objects": objects,
            "num_eligible_objects": eligible,
        }
        return Sample(
            image=image,
            masks=masks,
            object_ids=[ids[i] for i in keep],
            image_id=image_id,
            dataset=self.name,
            meta=meta,
            skipped=skipped,
        )

    def write_coco(self, directory: str | Path) -> Path:
        """Write the samples as ``directory/images/<image_id>.png`` plus a COCO json
        ``directory/annotations.json`` (compressed RLE, ``iscrowd`` 0, one category per shape kind;
        annotation ids count from 1, the synthetic object id kept as ``synthetic_object_id``).
        Skipped objects are not written. Returns the json's path."""
        directory = Path(directory)
        images_dir = directory / "images"
        images_dir.mkdir(parents=True, exist_ok=True)
        categories = {s: i + 1 for i, s in enumerate(SHAPES)}
        images, annotations = [], []
        for sample in self:
            file_name = f"{sample.image_id}.png"
            _save_png(sample.image, images_dir / file_name)
            images.append(
                {"id": int(sample.image_id), "file_name": file_name, "height": sample.height, "width": sample.width}
            )
            for j, (rle, box) in enumerate(zip(sample.to_coco_rle(), sample.boxes)):
                obj = sample.meta["objects"][j]
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": int(sample.image_id),
                        "category_id": categories[obj["shape"]],
                        "segmentation": rle,
                        "area": obj["area"],
                        "iscrowd": 0,
                        "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])],
                        "synthetic_object_id": sample.object_ids[j],
                    }
                )
        path = directory / "annotations.json"
        path.write_text(
            json.dumps(
                {
                    "info": {"description": f"samkit SyntheticDataset seed={self.seed} size={self.size}"},
                    "images": images,
                    "annotations": annotations,
                    "categories": [{"id": i, "name": s} for s, i in categories.items()],
                }
            )
        )
        return path

    def write_folder(self, directory: str | Path, per_object: bool = False) -> Path:
        """Write the samples in `FolderDataset`'s layout under ``directory`` and return it:
        ``images/<image_id>.png`` and either ``masks/<image_id>.png`` (label PNG, 0 background,
        value = object id; 8-bit, or 16-bit beyond 255) or, with ``per_object``,
        ``masks/<image_id>/<object_id>.png`` (0/255, one per object)."""
        directory = Path(directory)
        (directory / "images").mkdir(parents=True, exist_ok=True)
        (directory / "masks").mkdir(parents=True, exist_ok=True)
        for sample in self:
            _save_png(sample.image, directory / "images" / f"{sample.image_id}.png")
            if per_object:
                folder = directory / "masks" / sample.image_id
                folder.mkdir(exist_ok=True)
                for object_id, mask in zip(sample.object_ids, sample.masks):
                    _save_png(mask.astype(np.uint8) * 255, folder / f"{object_id}.png")
                continue
            values = [int(o) for o in sample.object_ids]
            dtype = np.uint8 if max(values, default=0) <= 255 else np.uint16
            label = np.zeros((sample.height, sample.width), dtype=dtype)
            for value, mask in zip(values, sample.masks):
                label[mask] = value
            _save_png(label, directory / "masks" / f"{sample.image_id}.png")
        return directory


def _save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


def _background(rng: np.random.Generator, kind: str, h: int, w: int) -> np.ndarray:
    """HxWx3 uint8 texture: two random colours mixed by noise, a linear gradient or stripes."""
    c0, c1 = rng.integers(0, 256, size=(2, 3)).astype(np.float64)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    along = xx * np.cos(angle) + yy * np.sin(angle)
    if kind == "noise":
        t = rng.random((h, w))
    elif kind == "gradient":
        t = (along - along.min()) / max(np.ptp(along), 1.0)
    else:  # stripes
        period = rng.uniform(4, max(5.0, min(h, w) / 4))
        t = ((along // period) % 2).astype(np.float64)
    image = c0 + t[..., None] * (c1 - c0) + rng.normal(0, 8, size=(h, w, 3))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _draw(rng: np.random.Generator, shape: str, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and cols of one random shape, clipped to the image; centre inside the image."""
    from skimage import draw

    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    scale = min(h, w)
    angle = rng.uniform(0, np.pi)
    if shape == "ellipse":
        ry, rx = rng.uniform(0.08, 0.3, size=2) * scale
        return draw.ellipse(cy, cx, ry, rx, shape=(h, w), rotation=angle)
    if shape == "rectangle":
        hy, hx = rng.uniform(0.08, 0.3, size=2) * scale
        corners = np.array([[-hy, -hx], [-hy, hx], [hy, hx], [hy, -hx]])
    else:  # star-shaped polygon, 3 to 6 vertices around the centre
        n = int(rng.integers(3, 7))
        thetas = (np.arange(n) + rng.uniform(-0.3, 0.3, size=n)) * (2 * np.pi / n)
        radii = rng.uniform(0.15, 0.3, size=n) * scale
        corners = np.stack([radii * np.sin(thetas), radii * np.cos(thetas)], axis=1)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = corners @ rot.T + (cy, cx)
    return draw.polygon(pts[:, 0], pts[:, 1], shape=(h, w))
