"""The detect-then-track baseline (`samkit.video.concept_baseline.track_concept`) is exactly its
recipe: the detector's boxes on one frame, each prompted into the model's tracker, tracked forward
and back; tiny random OWLv2 and EdgeTAM (any tracking model works the same way)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.detectors import load_detector
from samkit.errors import UnsupportedError
from samkit.video.concept_baseline import track_concept

T, H, W = 4, 48, 64
FRAME = 1  # detect on a middle frame: both directions are tracked


def _frames() -> np.ndarray:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 60, (T, H, W, 3), dtype=np.uint8)
    for t in range(T):
        frames[t, 12:32, 6 + 5 * t : 26 + 5 * t] = (220, 60, 60)
    return frames


FRAMES = _frames()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """torch on one thread: two threads on two busy shared cores are many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def detector():
    return load_detector("owlv2_base", "random", config="tiny", device="cpu", seed=0)


@pytest.fixture(scope="module")
def model():
    return samkit.load("edgetam", weights="random", config="tiny", seed=2, device="cpu")


def _two_boxes(detector) -> tuple[float, np.ndarray]:
    """A box threshold that keeps the two best boxes (random weights score every box)."""
    scores = np.sort(detector.detect(FRAMES[FRAME], text="a red square", box_threshold=0.0).scores)[::-1]
    assert scores[1] > scores[2]
    return float((scores[1] + scores[2]) / 2)


def test_baseline_is_detect_prompt_and_track(model, detector):
    threshold = _two_boxes(detector)
    masklets = track_concept(model, detector, FRAMES, "a red square", frame=FRAME, box_threshold=threshold)
    found = detector.detect(FRAMES[FRAME], text="a red square", box_threshold=threshold)
    assert len(found) == 2 and masklets.obj_ids == [0, 1]
    # the recipe by hand: the same boxes into a tracker, forward from FRAME, then back to 0
    tracker = model.video(FRAMES)
    for oid, box in enumerate(found.boxes):
        tracker.add_prompt(FRAME, oid, box=box)
    forward = tracker.track(start_frame=FRAME)
    backward = tracker.track(reverse=True, start_frame=FRAME)
    expected = {**{t: m for t, m in backward.items() if t != FRAME}, **forward}
    for oid, masklet in masklets.by_id.items():
        assert masklet.phrase == found.labels[oid] == "a red square"
        assert masklet.score == pytest.approx(float(found.scores[oid]))
        assert masklet.frames == list(range(T)) and masklet.frame_scores == {}
        for t in range(T):
            np.testing.assert_array_equal(masklet.masks[t], expected[t][oid], err_msg=f"frame {t} object {oid}")
    areas = [m.masks[t].sum() for m in masklets for t in range(T)]
    assert any(0 < a < H * W for a in areas)  # random weights: not all empty or full
    assert masklets.random_weights and "RANDOM WEIGHTS" in repr(masklets)
    assert "baseline: owlv2_base" in masklets.method and "edgetam" in masklets.method


def test_forward_only_and_nothing_found(model, detector):
    threshold = _two_boxes(detector)
    forward = track_concept(
        model, detector, FRAMES, "a red square", frame=FRAME, box_threshold=threshold, both_directions=False
    )
    assert all(m.frames == list(range(FRAME, T)) for m in forward) and len(forward) == 2
    none = track_concept(model, detector, FRAMES, "a red square", box_threshold=1.0, video_storage="cpu")
    assert len(none) == 0 and none.num_frames == T and none.size == (H, W)


def test_a_model_that_does_not_track(detector):
    image_only = samkit.load("mobile_sam", weights="random", device="cpu")
    with pytest.raises(UnsupportedError, match="video tracking"):
        track_concept(image_only, detector, FRAMES, "a red square")
