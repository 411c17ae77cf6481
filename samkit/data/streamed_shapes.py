"""`streamed_shapes`: `samkit.data.synthetic_video.moving_shapes`, drawn one frame at a time.

``moving_shapes`` holds the whole video (frames, visible and amodal masks: T x H x W x 5 bytes, 1.2
GB for 3,000 frames at 240x320), which is what a memory benchmark of long videos must not do.
`StreamedShapes` draws frame ``t`` and its masks when asked, from the same seed and the same
random draws, so its frames and masks are exactly ``moving_shapes``'s (tested); it holds only the
background, the shapes' parameters and their trajectories (T x 3 floats per object).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from samkit.data._subsample import rng_for
from samkit.data.synthetic import BACKGROUNDS, SHAPES, _background
from samkit.data.synthetic_video import _check_size, _shape_params, _shape_pixels, _trajectory

__all__ = ["StreamedShapes", "streamed_shapes"]


class _Frames(Sequence):
    """``frames[t]``: frame ``t`` (HxWx3 uint8 RGB), drawn when read."""

    def __init__(self, video: StreamedShapes) -> None:
        self.video = video

    def __len__(self) -> int:
        return self.video.num_frames

    def __getitem__(self, t: Any) -> np.ndarray:
        if isinstance(t, slice):
            raise TypeError("StreamedShapes frames are read one index at a time")
        return self.video.frame(int(t))


class StreamedShapes:
    """A `moving_shapes` video made frame by frame (see the module docstring).

    Attributes:
        name: the video's name (``"moving_shapes"``).
        num_frames: T.
        size: ``(H, W)``, pixels.
        num_objects: K shapes.
        object_ids: ``"1"`` .. ``"K"``.
        meta: ``seed``, ``background``, ``shapes``, ``colors``, as `SyntheticVideo.meta` less
            ``centers``.
        frames: a lazy ``Sequence`` of the T frames (`samkit.video_io.open_video` reads it lazily).
    """

    def __init__(
        self, num_frames: int, size: tuple[int, int], num_objects: int, seed: int, name: str = "moving_shapes"
    ) -> None:
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"num_frames must be an int >= 1, got {num_frames!r}")
        if isinstance(num_objects, bool) or not isinstance(num_objects, int) or num_objects < 0:
            raise ValueError(f"num_objects must be an int >= 0, got {num_objects!r}")
        h, w = _check_size(size)
        self.name, self.num_frames, self.size = name, num_frames, (h, w)
        # the random draws of moving_shapes, in its order
        rng = rng_for(seed, "moving_shapes", str(num_frames), str((h, w)), str(num_objects))
        bg_kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
        self.background = _background(rng, bg_kind, h, w)
        scale = float(min(h, w))
        for _attempt in range(100):  # redraw until every object shows in frame 0
            self.objects = []
            for _ in range(num_objects):
                kind = SHAPES[rng.integers(len(SHAPES))]
                color = tuple(int(c) for c in rng.integers(0, 256, size=3))
                params = _shape_params(rng, kind, scale)
                centers, angles = _trajectory(rng, num_frames, h, w)
                self.objects.append((kind, color, params, centers, angles))
            amodal, visible = self._masks(0)
            drawn0, seen0 = amodal.sum(axis=(1, 2)), visible.sum(axis=(1, 2))
            if np.all((drawn0 > 0) & (seen0 * 4 >= drawn0)):
                break
        self.meta = {
            "seed": seed,
            "background": bg_kind,
            "shapes": [o[0] for o in self.objects],
            "colors": [o[1] for o in self.objects],
        }
        self.frames = _Frames(self)

    @property
    def num_objects(self) -> int:
        return len(self.objects)

    @property
    def object_ids(self) -> list[str]:
        return [str(k + 1) for k in range(self.num_objects)]

    def _masks(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(K, H, W) amodal and visible masks of frame ``t``."""
        h, w = self.size
        amodal = np.zeros((self.num_objects, h, w), dtype=bool)
        for k, (kind, _, params, centers, angles) in enumerate(self.objects):
            rr, cc = _shape_pixels(kind, params, centers[t, 0], centers[t, 1], angles[t], h, w)
            amodal[k, rr, cc] = True
        visible = amodal.copy()
        for k in range(self.num_objects - 2, -1, -1):
            visible[k] &= ~amodal[k + 1 :].any(axis=0)
        return amodal, visible

    def masks(self, t: int) -> np.ndarray:
        """(K, H, W) bool: the visible pixels of each object in frame ``t``."""
        if not 0 <= int(t) < self.num_frames:
            raise IndexError(f"frame {t} is outside the video (0..{self.num_frames - 1})")
        return self._masks(int(t))[1]

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t``, HxWx3 uint8 RGB."""
        masks = self.masks(t)
        out = self.background.copy()
        for k, (_, color, *_rest) in enumerate(self.objects):
            out[masks[k]] = color
        return out

    def __repr__(self) -> str:
        h, w = self.size
        return f"StreamedShapes({self.name!r}, frames={self.num_frames}, size={h}x{w}, objects={self.num_objects})"


def streamed_shapes(num_frames: int, size: tuple[int, int], num_objects: int = 1, seed: int = 0) -> StreamedShapes:
    """``moving_shapes(num_frames, size, num_objects, seed)`` drawn one frame at a time (`StreamedShapes`)."""
    return StreamedShapes(num_frames, size, num_objects, seed)
