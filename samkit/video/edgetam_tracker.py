"""`EdgeTamVideoTracker`: EdgeTAM video tracking through transformers' ``EdgeTamVideoModel`` and
``Sam2VideoProcessor`` (the EdgeTAM video usage of the transformers docs).

The video model is the hub file's own type: pretrained, ``EdgeTamVideoModel.from_pretrained`` of
the checkpoint folder (strict); random weights, ``EdgeTamVideoModel`` of the same hub config
(`samkit.models.edgetam.hub_config`) built under the segmenter's seed. Its image parts share the
segmenter's ``EdgeTamModel`` tensors. Sessions, prompts, propagation and masks are transformers'
(see `samkit.video._hub_tracker`); frames stream by default.

Known limitation (transformers 5.24's ``EdgeTamVideoModel``, not samkit): a video where one object
has a mask prompt and another object points or a box fails on the frame where the two meet (its
mask path gives ``object_score_logits`` of shape (1, 1), its decoder (1, 1, 1), and its forward
concatenates them: ``RuntimeError: Tensors must have same number of dimensions``); samkit raises
`UnsupportedError` saying so. One object with any prompts, several objects with points / boxes,
and several objects all prompted with masks on one frame work. SAM 3 has no such problem.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from samkit.video._hub_tracker import HubVideoTracker, load_video_model

__all__ = ["EdgeTamVideoTracker"]


class EdgeTamVideoTracker(HubVideoTracker):
    """`VideoTracker` of EdgeTAM (see the module docstring)."""

    @contextlib.contextmanager
    def _upstream_errors(self) -> Iterator[None]:
        from samkit.errors import UnsupportedError

        try:
            yield
        except RuntimeError as err:
            if "same number of dimensions" not in str(err):
                raise
            raise UnsupportedError(
                "EdgeTAM (transformers' EdgeTamVideoModel) cannot track an object prompted with a mask "
                "together with an object prompted with points or a box (its mask and point paths give "
                "object scores of different shapes); prompt every object with masks, or none; call "
                f"reset() to start again. Upstream error: {err}"
            ) from err

    @classmethod
    def build_video_model(cls, segmenter: Any) -> Any:
        from samkit.backends.transformers import seeded_build, transformers_module
        from samkit.models.edgetam import hub_config

        transformers = transformers_module()
        weights = segmenter.weights
        if weights.kind == "random":
            config = hub_config(weights.config or "full")
            return seeded_build(lambda: transformers.EdgeTamVideoModel(config), int(weights.seed or 0))
        return load_video_model(transformers.EdgeTamVideoModel, weights.path, segmenter.name)

    @classmethod
    def build_processor(cls, segmenter: Any) -> Any:
        """``Sam2VideoProcessor`` with the image and video processors at the model's input side
        (transformers' defaults otherwise: bilinear resize, ImageNet mean and std)."""
        from samkit.backends.transformers import transformers_module

        transformers = transformers_module()
        side = int(segmenter.model.config.prompt_encoder_config.image_size)
        size = {"height": side, "width": side}
        return transformers.Sam2VideoProcessor(
            image_processor=transformers.Sam2ImageProcessor(size=size),
            video_processor=transformers.Sam2VideoVideoProcessor(size=size),
            target_size=side,
        )
