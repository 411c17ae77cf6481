"""`track_concept`: text -> every instance tracked through a video, for any model that tracks,
as a detect-then-track baseline beside SAM 3's native concept tracking.

An open-vocabulary detector (`samkit.detectors`: Grounding DINO, OWLv2...) finds the boxes of the
phrase on one frame; each box prompts one object (ids 0, 1, ... in the detector's order, most
confident first) into the model's `samkit.video.VideoTracker`; the tracker propagates forward from
that frame and, when it is not frame 0, backwards to frame 0. Objects that appear after that frame
are never found (SAM 3 detects on every frame), and the boxes are the detector's, not the
segmenter's: it is a baseline, and its results say so (`Masklets.method`).
"""

from __future__ import annotations

from typing import Any

from samkit.errors import PromptError
from samkit.params import check_bool
from samkit.video.masklets import ConceptObject, Masklets, collect_masklets

__all__ = ["track_concept"]


def track_concept(
    model: Any,
    detector: Any,
    frames: Any,
    text: str | list[str],
    frame: int = 0,
    *,
    box_threshold: float | None = None,
    text_threshold: float | None = None,
    both_directions: bool = True,
    **video_options: Any,
) -> Masklets:
    """Detect ``text`` on ``frame`` with ``detector``, prompt each box into ``model``'s tracker,
    and propagate; the result has the structure of SAM 3's (`Masklets`).

    Args:
        model: a loaded `Segmenter` that tracks video (``samkit.list_models(capability="video")``).
        detector: an open-vocabulary `samkit.detectors.Detector` (``load_detector(...)``).
        frames: the video (anything ``model.video`` takes: folder, file, ``(T, H, W, 3)`` array...).
        text: ``"a person"``, ``"a person. a dog."`` or a list of phrases; each masklet's phrase
            is the label the detector gave its box.
        frame: the frame to detect on.
        box_threshold, text_threshold: the detector's (default: its family's).
        both_directions: also track from ``frame`` back to frame 0 (when ``frame > 0``).
        video_options: ``model.video`` keyword arguments (``video_storage``, ``offload_state_to_cpu``).

    Returns:
        `Masklets`: per object its phrase, the detector's box score, ``{frame: HxW bool}`` over
        the tracked frames; empty when nothing is detected. Masks are the tracker's (forward
        pass, then the backward pass for the earlier frames).
    """
    model.require("video", "video tracking")
    both = check_bool("both_directions", both_directions)
    tracker = model.video(frames, **video_options)
    t = tracker._check_frame(frame)
    found = detector.detect(tracker.frames[t], text=text, box_threshold=box_threshold, text_threshold=text_threshold)
    info: dict[int, ConceptObject] = {}
    for oid, (box, score, label) in enumerate(zip(found.boxes, found.scores, found.labels)):
        try:
            tracker.add_prompt(t, oid, box=box)
        except PromptError as err:  # a box with no area (clipped to the frame's edge)
            raise PromptError(f"{detector.name} box {box.tolist()} of {label!r} on frame {t}: {err}") from err
        info[oid] = ConceptObject(str(label), float(score), t)
    weights = f"{model.name}: {model.weights}; {detector.name}: {detector.weights}"
    random = "random" in (model.weights.kind, detector.weights.kind)
    method = f"baseline: {detector.name} boxes on frame {t}, tracked by {model.name}"

    def stream() -> Any:
        if not info:
            return
        yield from tracker.propagate(start_frame=t)
        if both and t > 0:
            for k, masks in tracker.propagate(reverse=True, start_frame=t):
                if k != t:  # the forward pass gave the prompted frame
                    yield k, masks

    return collect_masklets(
        stream(),
        info,
        size=tracker.size,
        num_frames=tracker.num_frames,
        weights=weights,
        random_weights=random,
        method=method,
    )
