"""`EfficientTamVideoTracker`: EfficientTAM video tracking through sam2's ``SAM2VideoPredictor``.

The official ``EfficientTAMVideoPredictor`` is a copy of sam2's ``SAM2VideoPredictor`` (without
its high-resolution-feature step, which EfficientTAM's one-level encoder never takes), so samkit
runs sam2's predictor on the EfficientTAM modules (`samkit.models.efficient_tam.model`, built with
the official video post-processing: dynamic multimask via stability,
``binarize_mask_from_pts_for_mem_enc``, ``fill_hole_area=8``). The predictor holds the segmenter's
own weight tensors (shared, not copied). Everything else, prompts, propagation, frame storage and
the masks, is `samkit.video.sam2_tracker.Sam2VideoTracker`'s. Given the same checkpoint and frames
the masks are those of the official ``build_efficienttam_video_predictor(...)`` on a JPEG folder
(tests/models/test_efficient_tam.py, against golden outputs of the official code).

As with SAM 2, the ``fill_hole_area`` step needs sam2's CUDA extension; without it (CPU installs)
sam2 skips the step with a warning, as the official code does without its own extension.
"""

from __future__ import annotations

from typing import Any

from samkit.video.sam2_tracker import Sam2VideoTracker

__all__ = ["EfficientTamVideoTracker", "build_video_predictor"]


def build_video_predictor(segmenter: Any) -> Any:
    """sam2's ``SAM2VideoPredictor`` of ``segmenter``'s EfficientTAM architecture, holding the
    segmenter's weight tensors (shared, not copied), on its device, in eval mode."""
    from samkit.models.efficient_tam.model import build_efficient_tam

    video = build_efficient_tam(segmenter.spec.arch, video=True)
    video.load_state_dict(segmenter.model.state_dict(keep_vars=True), strict=True, assign=True)
    return video.eval()


class EfficientTamVideoTracker(Sam2VideoTracker):
    """`VideoTracker` of the EfficientTAM models (see the module docstring)."""

    @staticmethod
    def _build_predictor(model: Any) -> Any:
        return build_video_predictor(model)
