"""`show_video_masks`: a strip of frames with per-object colours, the frames chosen, the warning."""

import numpy as np
import pytest

from samkit.data.synthetic_video import moving_shapes
from samkit.overlays import show_video_masks
from samkit.weights import WeightsInfo
from samkit.wording import RANDOM_WEIGHTS_WARNING

VIDEO = moving_shapes(num_frames=6, size=(24, 32), num_objects=2)
MASKS = {t: {1: VIDEO.masks[0, t], 2: VIDEO.masks[1, t]} for t in range(6)}


def test_strip_of_evenly_spaced_frames_with_random_warning():
    fig = show_video_masks(
        VIDEO.frames, MASKS, max_frames=3, title="sam2.1_hiera_tiny", weights=WeightsInfo(kind="random", seed=0)
    )
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["frame 0", "frame 2", "frame 5"]
    text = fig._suptitle.get_text()
    assert "sam2.1_hiera_tiny" in text and RANDOM_WEIGHTS_WARNING in text
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["object 1", "object 2"]
    # the overlay of frame 2 is coloured exactly where the masks are
    overlay = panels[1].images[1].get_array()
    np.testing.assert_array_equal(np.asarray(overlay)[..., 3] > 0, VIDEO.masks[:, 2].any(axis=0))


def test_chosen_frames_rows_and_frames_without_masks():
    fig = show_video_masks(list(VIDEO.frames), {0: MASKS[0]}, frame_indices=[0, 1, 4], columns=2)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["frame 0", "frame 1", "frame 4"]
    assert RANDOM_WEIGHTS_WARNING not in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="frame_indices"):
        show_video_masks(VIDEO.frames, MASKS, frame_indices=[6])
    with pytest.raises(ValueError, match="at least one frame"):
        show_video_masks(VIDEO.frames[:0], MASKS)
