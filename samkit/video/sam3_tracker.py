"""`Sam3VideoTracker`: SAM 3 video tracking of prompted objects (points, a box, a mask; SAM 3's
"PVS" on video) through transformers' ``Sam3TrackerVideoModel`` and ``Sam3TrackerVideoProcessor``.

The video model is transformers' tracker of the hub file: pretrained,
``Sam3TrackerVideoModel.from_pretrained`` of the checkpoint folder (strict; transformers maps the
``Sam3VideoModel`` file's tracker keys and skips its ``detector_model.`` keys, the text detector,
which this tracker does not use); random weights, ``Sam3TrackerVideoModel`` of the hub config's
``tracker_config`` (`samkit.models.sam3.hub_config`) built under the segmenter's seed. Its image
parts (ViT backbone, tracker neck, prompt encoder, mask decoder) share the segmenter's
``Sam3TrackerModel`` tensors. Sessions, prompts, propagation and masks are transformers' (see
`samkit.video._hub_tracker`); frames stream by default. Text prompts on video (SAM 3's concept
tracking, ``Sam3VideoModel``) are not part of this interface.
"""

from __future__ import annotations

from typing import Any

from samkit.video._hub_tracker import HubVideoTracker, load_video_model

__all__ = ["Sam3VideoTracker"]


class Sam3VideoTracker(HubVideoTracker):
    """`VideoTracker` of SAM 3 (see the module docstring)."""

    @staticmethod
    def _image_part(segmenter: Any) -> Any:
        return segmenter.model.tracker

    @classmethod
    def build_video_model(cls, segmenter: Any) -> Any:
        from samkit.backends.transformers import seeded_build, transformers_module
        from samkit.models.sam3 import hub_config

        transformers = transformers_module()
        weights = segmenter.weights
        if weights.kind == "random":
            config = hub_config(weights.config or "full").tracker_config
            return seeded_build(lambda: transformers.Sam3TrackerVideoModel(config), int(weights.seed or 0))
        return load_video_model(
            transformers.Sam3TrackerVideoModel, weights.path, segmenter.name, ignored=("detector_model.",)
        )

    @classmethod
    def build_processor(cls, segmenter: Any) -> Any:
        """``Sam3TrackerVideoProcessor`` at the model's input side with SAM 3's image processing
        (transformers' ``Sam3ImageProcessor`` defaults: bilinear resize, mean = std = 0.5)."""
        from samkit.backends.transformers import transformers_module

        transformers = transformers_module()
        side = int(segmenter.model.tracker.config.prompt_encoder_config.image_size)
        size = {"height": side, "width": side}
        image_processor = transformers.Sam3ImageProcessor(size=size)
        video_processor = transformers.Sam2VideoVideoProcessor(
            size=size, image_mean=list(image_processor.image_mean), image_std=list(image_processor.image_std)
        )
        return transformers.Sam3TrackerVideoProcessor(
            image_processor=image_processor, video_processor=video_processor, target_size=side
        )
