"""scikit-image's sample photos (shipped with the package, no download) with fixed demo prompts.

No ground truth: these are for looking at masks and timing models, not for accuracy.
Points are (x, y) pixels, boxes XYXY pixels, chosen by hand on each photo's main object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SamplePhoto", "SAMPLE_PROMPTS", "sample_photo", "sample_photos", "sample_photo_dataset"]

#: photo name -> (object, point (x, y), box XYXY)
SAMPLE_PROMPTS: dict[str, tuple[str, tuple[int, int], tuple[int, int, int, int]]] = {
    "astronaut": ("head", (220, 130), (140, 15, 300, 185)),
    "coffee": ("cup", (250, 150), (170, 15, 430, 255)),
    "chelsea": ("left eye", (175, 120), (130, 85, 220, 160)),
    "rocket": ("rocket", (330, 280), (300, 120, 360, 420)),
}


@dataclass(frozen=True)
class SamplePhoto:
    """A sample photo: ``image`` HxWx3 uint8 RGB, one point prompt (x, y) and one box (XYXY)."""

    name: str
    image: np.ndarray
    object: str
    point: tuple[int, int]
    box: tuple[int, int, int, int]


def sample_photo(name: str) -> SamplePhoto:
    """One of `SAMPLE_PROMPTS`' photos, loaded from scikit-image's bundled data."""
    import skimage.data

    if name not in SAMPLE_PROMPTS:
        raise KeyError(f"No sample photo {name!r}; available: {', '.join(SAMPLE_PROMPTS)}")
    obj, point, box = SAMPLE_PROMPTS[name]
    return SamplePhoto(name, getattr(skimage.data, name)(), obj, point, box)


def sample_photos(names: list[str] | None = None) -> list[SamplePhoto]:
    """The sample photos named (default: all of `SAMPLE_PROMPTS`)."""
    return [sample_photo(n) for n in (names or list(SAMPLE_PROMPTS))]


def sample_photo_dataset(names: list[str] | None = None) -> list[Any]:
    """The sample photos as `Sample` objects with no ground truth (N = 0 masks), for timing runs.

    ``meta`` carries the demo prompts (``object``, ``point`` (x, y), ``box`` XYXY).
    """
    from samkit.data.sample import Sample

    out = []
    for photo in sample_photos(names):
        h, w = photo.image.shape[:2]
        out.append(
            Sample(
                image=photo.image,
                masks=np.zeros((0, h, w), bool),
                object_ids=[],
                image_id=photo.name,
                dataset="skimage",
                meta={"object": photo.object, "point": photo.point, "box": photo.box},
            )
        )
    return out
