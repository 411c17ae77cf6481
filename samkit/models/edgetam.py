"""EdgeTAM (Zhou et al. 2025, "EdgeTAM: On-Device Track Anything Model") through transformers.

EdgeTAM is SAM 2 with a RepViT-M1 image encoder (timm ``repvit_m1.dist_in1k``) and a 2D Spatial
Perceiver in its video memory. For images it is SAM 2's promptable model: transformers'
``EdgeTamModel`` with ``Sam2Processor`` (the usage of the transformers EdgeTAM docs and of the
``yonigozlan/EdgeTAM-hf`` model card). The hub file holds the video model (memory modules too);
samkit builds and counts the image model (image encoder, prompt encoder, mask decoder) and ignores
the memory weights, as ``EdgeTamModel.from_pretrained`` does. ``.video(frames)`` tracks through
transformers' ``EdgeTamVideoModel`` (`samkit.video.edgetam_tracker`), which shares the image parts.

Conventions are SAM 2's: 1024x1024 input (the image is resized, not padded), low-res logits
``(C, 256, 256)``, ``multimask_output=False`` picks the most stable of the multimask outputs when
the single-mask output is unstable (SAM 2's dynamic multimask), scores are the predicted IoUs.

``samkit.load("edgetam", weights="random", config="tiny")`` builds a 128x128-input variant for
tests and smoke runs (same RepViT backbone); ``config="full"`` (default) is the released one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from samkit.backends.transformers import transformers_module
from samkit.models._hub_segmenter import HubSegmenter, default_processor

__all__ = ["EdgeTamSegmenter", "hub_config"]

#: timm backbone of the released EdgeTAM (what transformers' EdgeTAM port loads)
_BACKBONE = "repvit_m1.dist_in1k"
#: modules of the hub file's video model that the image model does not have
_VIDEO_ONLY = (
    "memory_",
    "mask_downsample",
    "spatial_perceiver",
    "object_pointer_proj",
    "temporal_positional_encoding_projection_layer",
    "no_memory_positional_encoding",
    "no_object_pointer",
    "occlusion_spatial_embedding_parameter",
)


def hub_config(name: str = "full") -> Any:
    """``EdgeTamVideoConfig`` (the hub checkpoint's type) of the ``"full"`` or ``"tiny"`` architecture.

    transformers' own defaults are not the released model (its EdgeTAM vision default names a
    ResNet-50, its video default a Hiera), so the vision config is spelled out here.
    """
    transformers = transformers_module()
    side = 1024 if name == "full" else 128
    backbone = transformers.TimmWrapperConfig(
        architecture=_BACKBONE, model_args={"in_chans": 3, "features_only": True, "out_indices": [0, 1, 2, 3]}
    )
    grid = side // 16
    vision = transformers.EdgeTamVisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[384, 192, 96, 48],
        backbone_feature_sizes=[[4 * grid, 4 * grid], [2 * grid, 2 * grid], [grid, grid]],
    )
    extra: dict[str, Any] = {}
    if name == "tiny":
        # the video memory at a grid x grid feature map (the released one: 64 x 64 features, 256 2D
        # latents in 16 x 16 windows, rotary sizes [64, 64] for queries, [16, 16] for latent keys)
        extra = {
            "memory_attention_num_layers": 1,
            "memory_attention_feed_forward_hidden_size": 64,
            "perceiver_resampler_num_latents": 16,
            "perceiver_resampler_num_latents_2d": 16,
            "memory_attention_rope_feat_sizes": [grid, grid],
            "memory_attention_rope_k_sizes": [grid // 2, grid // 2],
        }
    return transformers.EdgeTamVideoConfig(
        vision_config=vision, prompt_encoder_config={"image_size": side, "patch_size": 16}, image_size=side, **extra
    )  # image_size: the video model's mask size for its memory encoder


class EdgeTamSegmenter(HubSegmenter):
    """EdgeTAM; wraps transformers' ``EdgeTamModel`` and ``Sam2Processor``."""

    ignorable_keys: ClassVar[tuple[str, ...]] = _VIDEO_ONLY
    encoder_path = "vision_encoder"
    video_tracker = "samkit.video.edgetam_tracker:EdgeTamVideoTracker"

    @classmethod
    def hub_config(cls, name: str) -> Any:
        return hub_config(name)

    @classmethod
    def build_from_config(cls, config: Any) -> Any:
        """``EdgeTamModel`` from an ``EdgeTamVideoConfig`` or ``EdgeTamConfig`` (its image parts)."""
        transformers = transformers_module()
        image_config = transformers.EdgeTamConfig(
            vision_config=config.vision_config.to_dict(),
            prompt_encoder_config=config.prompt_encoder_config.to_dict(),
            mask_decoder_config=config.mask_decoder_config.to_dict(),
        )
        return transformers.EdgeTamModel(image_config)

    @classmethod
    def map_hub_keys(cls, state_dict: dict[str, Any]) -> dict[str, Any]:
        """The timm backbone's keys with ``timm_model.`` (``TimmWrapperModel``'s attribute), which
        transformers adds on loading where a file leaves it out (its ``timm_wrapper`` PrefixChange)."""
        inner, wrapped = "vision_encoder.backbone.", "vision_encoder.backbone.timm_model."
        return {
            (wrapped + k[len(inner) :] if k.startswith(inner) and not k.startswith(wrapped) else k): v
            for k, v in state_dict.items()
        }

    def _make_processor(self) -> Any:
        folder = self._processor_folder()
        if folder is not None:
            return transformers_module().Sam2Processor.from_pretrained(folder, local_files_only=True)
        side = self.model.config.prompt_encoder_config.image_size
        return default_processor("Sam2Processor", "Sam2ImageProcessor", int(side))
