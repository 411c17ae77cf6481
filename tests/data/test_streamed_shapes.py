"""`streamed_shapes` draws `moving_shapes`'s video one frame at a time: the same frames and masks
(several sizes, object counts and seeds), nothing held; `open_video` reads such a lazy sequence
lazily."""

from __future__ import annotations

import numpy as np
import pytest

from samkit.data.streamed_shapes import streamed_shapes
from samkit.data.synthetic_video import moving_shapes
from samkit.errors import VideoError
from samkit.video_io import open_video


@pytest.mark.parametrize("frames, size, objects, seed", [(5, (32, 48), 1, 0), (7, (40, 30), 3, 4), (3, (16, 16), 0, 1)])
def test_same_frames_and_masks_as_moving_shapes(frames, size, objects, seed):
    held = moving_shapes(frames, size, objects, seed)
    lazy = streamed_shapes(frames, size, objects, seed)
    assert lazy.object_ids == held.object_ids and lazy.size == held.size and len(lazy.frames) == frames
    assert lazy.meta["colors"] == held.meta["colors"] and lazy.meta["background"] == held.meta["background"]
    for t in range(frames):
        assert np.array_equal(lazy.frames[t], held.frames[t]), t
        assert np.array_equal(lazy.masks(t), held.masks[:, t]), t
    with pytest.raises(IndexError):
        lazy.masks(frames)


def test_open_video_reads_a_lazy_sequence_lazily():
    video = streamed_shapes(4, (20, 24), 1, 0)
    drawn = []
    original = video.frame
    video.frame = lambda t: drawn.append(t) or original(t)
    frames = open_video(video.frames)
    assert len(frames) == 4 and frames.size == (20, 24) and set(drawn) == {0}  # frame 0 checked up front
    drawn.clear()
    assert np.array_equal(frames[2], original(2)) and drawn == [2]
    with pytest.raises(VideoError, match="HxWx3 uint8"):
        open_video(_Floats())


class _Floats:
    """A sequence of float frames (refused)."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return np.zeros((4, 4, 3), np.float32)


def _register():  # a Sequence subclass by registration, as any lazy frame source may be
    from collections.abc import Sequence

    Sequence.register(_Floats)


_register()
