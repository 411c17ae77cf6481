"""EfficientTAM models: SAM 2's model (``sam2``'s ``SAM2Base``) with EfficientTAM's parts.

What EfficientTAM changes in SAM 2 (github.com/yformer/EfficientTAM, its ``configs/efficienttam/*.yaml``):

- the image encoder: a plain ViT-Ti / ViT-S (`samkit.models.efficient_tam.vit`) and a one-level neck
  (`samkit.models.efficient_tam.neck`) in sam2's ``ImageEncoder``, so one feature level and no
  high-resolution features in the mask decoder;
- in the ``_1`` / ``_2`` models, the memory cross-attention with 2x2-pooled memory keys and values
  (`samkit.models.efficient_tam.pooled_attention`); the other models use SAM 2's ``RoPEAttention``;
- the ``_512x512`` models take 512-pixel inputs (32x32 features, 128x128 low-res masks).

Everything else is SAM 2's own code, used as is from the ``sam2`` package (its classes are the
official repository's copies): ``SAM2Base`` and its settings (those of SAM 2.1 tiny, e.g. 7 memory
frames, object pointers, multimask tracking), memory attention layers, memory encoder, prompt
encoder, mask decoder, and for video ``SAM2VideoPredictor``. Checkpoint keys are the official ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

__all__ = ["Arch", "ARCHS", "build_efficient_tam", "IMAGE_POSTPROCESSING", "VIDEO_POSTPROCESSING"]


@dataclass(frozen=True)
class Arch:
    """One released EfficientTAM: ViT width and heads, input side (pixels), memory cross-attention
    (0: SAM 2's ``RoPEAttention``; 1 / 2: `pooled_attention` variant)."""

    dim: int
    heads: int
    image_size: int = 1024
    cross_attention: int = 0


#: arch key (the official config's name without ``efficienttam_``) -> architecture
ARCHS: dict[str, Arch] = {
    "ti": Arch(192, 3),
    "ti_512x512": Arch(192, 3, 512),
    "ti_1": Arch(192, 3, cross_attention=1),
    "ti_2": Arch(192, 3, cross_attention=2),
    "s": Arch(384, 6),
    "s_512x512": Arch(384, 6, 512),
    "s_1": Arch(384, 6, cross_attention=1),
    "s_2": Arch(384, 6, cross_attention=2),
}

#: what the official ``build_efficienttam`` adds to the config for image prediction (SAM 2's)
IMAGE_POSTPROCESSING: dict[str, Any] = {
    "sam_mask_decoder_extra_args": {
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    }
}
#: what ``build_efficienttam_video_predictor`` adds on top of that (SAM 2's video post-processing)
VIDEO_POSTPROCESSING: dict[str, Any] = {"binarize_mask_from_pts_for_mem_enc": True, "fill_hole_area": 8}

#: the ``SAM2Base`` settings of every released config (efficienttam_*.yaml)
_SAM2_SETTINGS: dict[str, Any] = {
    "num_maskmem": 7,
    "sigmoid_scale_for_mem_enc": 20.0,
    "sigmoid_bias_for_mem_enc": -10.0,
    "use_mask_input_as_output_without_sam": True,
    "directly_add_no_mem_embed": True,
    "use_high_res_features_in_sam": False,
    "multimask_output_in_sam": True,
    "iou_prediction_use_sigmoid": True,
    "use_obj_ptrs_in_encoder": True,
    "add_tpos_enc_to_obj_ptrs": False,
    "only_obj_ptrs_in_the_past_for_eval": True,
    "pred_obj_scores": True,
    "pred_obj_scores_mlp": True,
    "fixed_no_obj_ptr": True,
    "multimask_output_for_tracking": True,
    "use_multimask_token_for_obj_ptr": True,
    "multimask_min_pt_num": 0,
    "multimask_max_pt_num": 1,
    "use_mlp_for_obj_ptr_proj": True,
    "compile_image_encoder": False,  # the official config says True; samkit compiles on request only
}


def _image_encoder(arch: Arch) -> Any:
    from sam2.modeling.backbones.image_encoder import ImageEncoder
    from sam2.modeling.position_encoding import PositionEmbeddingSine

    from samkit.models.efficient_tam.neck import ViTDetNeck
    from samkit.models.efficient_tam.vit import ViTTrunk

    position = PositionEmbeddingSine(num_pos_feats=256, normalize=True, scale=None, temperature=10000)
    neck = ViTDetNeck(position, d_model=256, backbone_channel_list=[arch.dim])
    return ImageEncoder(trunk=ViTTrunk(arch.dim, arch.heads), neck=neck, scalp=0)


def _memory_attention(arch: Arch) -> Any:
    from sam2.modeling.memory_attention import MemoryAttention, MemoryAttentionLayer
    from sam2.modeling.sam.transformer import RoPEAttention

    from samkit.models.efficient_tam.pooled_attention import pooled_rope_attention_class

    grid = arch.image_size // 16
    common = {"rope_theta": 10000.0, "feat_sizes": (grid, grid), "embedding_dim": 256, "num_heads": 1}
    common.update(downsample_rate=1, dropout=0.1)
    if arch.cross_attention:
        cross = pooled_rope_attention_class()(variant=arch.cross_attention, rope_k_repeat=True, kv_in_dim=64, **common)
    else:
        cross = RoPEAttention(rope_k_repeat=True, kv_in_dim=64, **common)
    layer = MemoryAttentionLayer(
        activation="relu",
        cross_attention=cross,
        d_model=256,
        dim_feedforward=2048,
        dropout=0.1,
        pos_enc_at_attn=False,
        pos_enc_at_cross_attn_keys=True,
        pos_enc_at_cross_attn_queries=False,
        self_attention=RoPEAttention(**common),
    )
    return MemoryAttention(d_model=256, pos_enc_at_input=True, layer=layer, num_layers=4)


def _memory_encoder() -> Any:
    from sam2.modeling.memory_encoder import CXBlock, Fuser, MaskDownSampler, MemoryEncoder
    from sam2.modeling.position_encoding import PositionEmbeddingSine

    block = CXBlock(dim=256, kernel_size=7, padding=3, layer_scale_init_value=1e-6, use_dwconv=True)
    return MemoryEncoder(
        out_dim=64,
        position_encoding=PositionEmbeddingSine(num_pos_feats=64, normalize=True, scale=None, temperature=10000),
        mask_downsampler=MaskDownSampler(kernel_size=3, stride=2, padding=1),
        fuser=Fuser(layer=block, num_layers=2),
    )


def build_efficient_tam(arch: str, video: bool = False) -> Any:
    """The EfficientTAM of ``arch`` (a key of `ARCHS`) with sam2's default initialisation, on the CPU.

    ``video=False``: a ``SAM2Base`` with the official image post-processing (what the official
    ``build_efficienttam`` builds); ``video=True``: a ``SAM2VideoPredictor`` with the official video
    post-processing (``build_efficienttam_video_predictor``). Both have the same state-dict keys.
    """
    from samkit.models.sam2 import import_sam2

    if arch not in ARCHS:
        raise ValueError(f"unknown EfficientTAM arch {arch!r}; known: {', '.join(ARCHS)}")
    import_sam2()
    spec = ARCHS[arch]
    settings = copy.deepcopy({**_SAM2_SETTINGS, **IMAGE_POSTPROCESSING, "image_size": spec.image_size})
    if video:
        from sam2.sam2_video_predictor import SAM2VideoPredictor as cls

        settings.update(VIDEO_POSTPROCESSING)
    else:
        from sam2.modeling.sam2_base import SAM2Base as cls
    return cls(
        image_encoder=_image_encoder(spec),
        memory_attention=_memory_attention(spec),
        memory_encoder=_memory_encoder(),
        **settings,
    )
