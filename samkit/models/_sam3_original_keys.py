"""Meta's original SAM 3.1 checkpoint keys -> the keys of samkit's SAM 3 image module (transformers).

SAM 3.1 (``facebook/sam3.1``, ``sam3.1_multiplex.pt``) is stored in Meta's own layout, not
transformers': ``detector.*`` is SAM 3's concept detector (ViT, the text encoder, geometry
encoder, DETR encoder/decoder, scoring and segmentation heads) with a three-head neck, and
``tracker.model.*`` is the Object Multiplex video tracker, whose ``interactive_*`` /
``interactivity_*`` parts are the SAM 2-style point/box/mask head. `map_sam3_1_state_dict` maps
every tensor the image model needs onto `samkit.models.sam3.Sam3Image` keys (``detector.*``:
transformers' ``Sam3Model``; ``tracker.*``: its ``Sam3TrackerModel``), splits fused attention
projections (``qkv`` / ``in_proj_*`` -> ``q_proj`` / ``k_proj`` / ``v_proj``), stacks SAM's four
point embeddings, drops the ViT's class-token position and transposes CLIP's text projection.

Nothing is guessed: a tensor is mapped, or ignored by a named rule (the video tracker, the
neck's propagation head, buffers transformers recomputes, point exemplars transformers' detector
does not take), or reported as unknown; the caller turns unknown and missing keys into a
`samkit.errors.CheckpointError` that names them.

The renamings are samkit's own, written from the module names of Meta's code (as ultralytics
8.4.190 ports it: ``ultralytics/models/sam/sam3``, ``build_sam3.py``) and transformers 5.24's
module names; the 3.1-specific names (``interactive_convs``, ``propagation_convs``,
``tracker.model.interactive_*``, ``tracker.model.interactivity_no_mem_embed``) are the ones
ultralytics' ``_load_checkpoint`` renames for SAM 3.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MappedState", "map_sam3_1_state_dict", "IGNORED_RULES"]

#: (pattern on the original key, why the image model does not need it); checked in order
IGNORED_RULES: tuple[tuple[str, str], ...] = (
    (
        r"detector\.backbone\.vision_backbone\.propagation_convs\..*",
        "the neck's propagation head feeds the multiplex video tracker only",
    ),
    (
        r"detector\.backbone\.vision_backbone\.trunk\.blocks\.\d+\.attn\.freqs_cis",
        "rotary-embedding table, recomputed by transformers from the config",
    ),
    (
        r"detector\.geometry_encoder\.points_(direct_project|pool_project|pos_enc_project)\..*",
        "point exemplars of the concept detector: transformers' Sam3Model encodes box exemplars only",
    ),
    (
        r"tracker\.model\.interactive_(mask_downsample|obj_ptr_proj)\..*",
        "memory inputs of the interactive tracker (video only)",
    ),
    (
        r"tracker\.model\.(?!interactive_|interactivity_).*",
        "the Object Multiplex video tracker (no backend runs it yet)",
    ),
)

_NECK_LAYERS = {
    "dconv_2x2_0": "scale_layers.0",
    "dconv_2x2_1": "scale_layers.2",
    "dconv_2x2": "scale_layers.0",
    "conv_1x1": "proj1",
    "conv_3x3": "proj2",
}

#: three-layer MLPs of SAM's mask decoder: original ``layers.i`` -> transformers' names
_MLP3 = {"0": "proj_in", "1": "layers.0", "2": "proj_out"}


def _layer_plus_one(match: re.Match) -> str:
    return f"layer{int(match.group(1)) + 1}"


def _rename_attention(name: str) -> str:
    """``out_proj`` -> ``o_proj`` (the q/k/v split of ``in_proj_*`` happens later)."""
    return name.replace("out_proj.", "o_proj.")


# ----------------------------------------------------------------------------- detector sections
_VIT = (
    (r"pos_embed", "embeddings.position_embeddings"),
    (r"patch_embed\.proj\.(weight|bias)", r"embeddings.patch_embeddings.projection.\1"),
    (r"ln_pre\.(weight|bias)", r"layer_norm.\1"),
    (r"blocks\.(\d+)\.norm([12])\.(weight|bias)", r"layers.\1.layer_norm\2.\3"),
    (r"blocks\.(\d+)\.attn\.qkv\.(weight|bias)", r"layers.\1.attention.qkv.\2"),
    (r"blocks\.(\d+)\.attn\.proj\.(weight|bias)", r"layers.\1.attention.o_proj.\2"),
    (r"blocks\.(\d+)\.mlp\.(fc[12])\.(weight|bias)", r"layers.\1.mlp.\2.\3"),
)

_TEXT = (
    (r"token_embedding\.weight", "text_model.embeddings.token_embedding.weight"),
    (r"positional_embedding", "text_model.embeddings.position_embedding.weight"),
    (r"ln_final\.(weight|bias)", r"text_model.final_layer_norm.\1"),
    (r"text_projection", "text_projection.weight"),
    (
        r"transformer\.resblocks\.(\d+)\.attn\.(in_proj_weight|in_proj_bias)",
        r"text_model.encoder.layers.\1.self_attn.\2",
    ),
    (
        r"transformer\.resblocks\.(\d+)\.attn\.out_proj\.(weight|bias)",
        r"text_model.encoder.layers.\1.self_attn.out_proj.\2",
    ),
    (r"transformer\.resblocks\.(\d+)\.ln_([12])\.(weight|bias)", r"text_model.encoder.layers.\1.layer_norm\2.\3"),
    (r"transformer\.resblocks\.(\d+)\.mlp\.c_fc\.(weight|bias)", r"text_model.encoder.layers.\1.mlp.fc1.\2"),
    (r"transformer\.resblocks\.(\d+)\.mlp\.c_proj\.(weight|bias)", r"text_model.encoder.layers.\1.mlp.fc2.\2"),
)

_ATTN_PART = r"(in_proj_weight|in_proj_bias|out_proj\.weight|out_proj\.bias)"

_GEOMETRY = (
    (rf"encode\.(\d+)\.self_attn\.{_ATTN_PART}", r"layers.\1.self_attn.\2"),
    (rf"encode\.(\d+)\.cross_attn_image\.{_ATTN_PART}", r"layers.\1.cross_attn.\2"),
    (r"encode\.(\d+)\.linear([12])\.(weight|bias)", r"layers.\1.mlp.fc\2.\3"),
    (r"encode\.(\d+)\.norm([123])\.(weight|bias)", r"layers.\1.layer_norm\2.\3"),
    (r"img_pre_norm\.(weight|bias)", r"vision_layer_norm.\1"),
    (r"norm\.(weight|bias)", r"prompt_layer_norm.\1"),
    (r"encode_norm\.(weight|bias)", r"output_layer_norm.\1"),
    (
        r"(label_embed|cls_embed|boxes_direct_project|boxes_pool_project|boxes_pos_enc_project|final_proj)\.(weight|bias)",
        r"\1.\2",
    ),
)

_DETR_ENCODER = (
    (rf"layers\.(\d+)\.self_attn\.{_ATTN_PART}", r"layers.\1.self_attn.\2"),
    (rf"layers\.(\d+)\.(?:cross_attn_image|cross_attn)\.{_ATTN_PART}", r"layers.\1.cross_attn.\2"),
    (r"layers\.(\d+)\.linear([12])\.(weight|bias)", r"layers.\1.mlp.fc\2.\3"),
    (r"layers\.(\d+)\.norm([123])\.(weight|bias)", r"layers.\1.layer_norm\2.\3"),
)

_DECODER_LAYER_NORMS = {
    "norm1": "vision_cross_attn_layer_norm",
    "catext_norm": "text_cross_attn_layer_norm",
    "norm2": "self_attn_layer_norm",
    "norm3": "mlp_layer_norm",
}

_DETR_DECODER = (
    (rf"layers\.(\d+)\.self_attn\.{_ATTN_PART}", r"layers.\1.self_attn.\2"),
    (rf"layers\.(\d+)\.ca_text\.{_ATTN_PART}", r"layers.\1.text_cross_attn.\2"),
    (rf"layers\.(\d+)\.cross_attn\.{_ATTN_PART}", r"layers.\1.vision_cross_attn.\2"),
    (r"layers\.(\d+)\.linear([12])\.(weight|bias)", r"layers.\1.mlp.fc\2.\3"),
    *((rf"layers\.(\d+)\.{old}\.(weight|bias)", rf"layers.\1.{new}.\2") for old, new in _DECODER_LAYER_NORMS.items()),
    (r"norm\.(weight|bias)", r"output_layer_norm.\1"),
    (r"presence_token_out_norm\.(weight|bias)", r"presence_layer_norm.\1"),
    (
        r"(query_embed|reference_points|presence_token|instance_query_embed|instance_reference_points)\.weight",
        r"\1.weight",
    ),
)

#: decoder MLP heads whose ``layers.i`` become ``layer{i+1}``: original name -> transformers' name
_DETR_DECODER_MLPS = {
    "bbox_embed": "box_head",
    "instance_bbox_embed": "instance_box_head",
    "presence_token_head": "presence_head",
    "ref_point_head": "ref_point_head",
    "boxRPB_embed_x": "box_rpb_embed_x",
    "boxRPB_embed_y": "box_rpb_embed_y",
}

_SCORING = (
    (r"prompt_mlp\.layers\.(\d+)\.(weight|bias)", None),  # layer{i+1}, below
    (r"prompt_mlp\.out_norm\.(weight|bias)", r"text_mlp_out_norm.\1"),
    (r"prompt_proj\.(weight|bias)", r"text_proj.\1"),
    (r"hs_proj\.(weight|bias)", r"query_proj.\1"),
)

_SEGMENTATION = (
    (r"pixel_decoder\.(conv_layers|norms)\.(\d+)\.(weight|bias)", r"pixel_decoder.\1.\2.\3"),
    (r"(?:mask_predictor\.)?mask_embed\.layers\.(\d+)\.(weight|bias)", r"mask_embedder.layers.\1.\2"),
    (r"instance_seg_head\.(weight|bias)", r"instance_projection.\1"),
    (r"semantic_seg_head\.(weight|bias)", r"semantic_projection.\1"),
    (rf"cross_attend_prompt\.{_ATTN_PART}", r"prompt_cross_attn.\1"),
    (r"cross_attn_norm\.(weight|bias)", r"prompt_cross_attn_norm.\1"),
)

# ----------------------------------------------------------------------------- tracker sections
_PROMPT_ENCODER = (
    (r"not_a_point_embed\.weight", "not_a_point_embed.weight"),
    (r"no_mask_embed\.weight", "no_mask_embed.weight"),
    (r"mask_downscaling\.0\.(weight|bias)", r"mask_embed.conv1.\1"),
    (r"mask_downscaling\.1\.(weight|bias)", r"mask_embed.layer_norm1.\1"),
    (r"mask_downscaling\.3\.(weight|bias)", r"mask_embed.conv2.\1"),
    (r"mask_downscaling\.4\.(weight|bias)", r"mask_embed.layer_norm2.\1"),
    (r"mask_downscaling\.6\.(weight|bias)", r"mask_embed.conv3.\1"),
)

_TWO_WAY_ATTN = r"(self_attn|cross_attn_token_to_image|cross_attn_image_to_token)"

_MASK_DECODER = (
    (
        rf"transformer\.layers\.(\d+)\.{_TWO_WAY_ATTN}\.(q_proj|k_proj|v_proj|out_proj)\.(weight|bias)",
        r"transformer.layers.\1.\2.\3.\4",
    ),
    (r"transformer\.layers\.(\d+)\.norm([1234])\.(weight|bias)", r"transformer.layers.\1.layer_norm\2.\3"),
    (r"transformer\.layers\.(\d+)\.mlp\.lin1\.(weight|bias)", r"transformer.layers.\1.mlp.proj_in.\2"),
    (r"transformer\.layers\.(\d+)\.mlp\.lin2\.(weight|bias)", r"transformer.layers.\1.mlp.proj_out.\2"),
    (
        r"transformer\.final_attn_token_to_image\.(q_proj|k_proj|v_proj|out_proj)\.(weight|bias)",
        r"transformer.final_attn_token_to_image.\1.\2",
    ),
    (r"transformer\.norm_final_attn\.(weight|bias)", r"transformer.layer_norm_final_attn.\1"),
    (r"output_upscaling\.0\.(weight|bias)", r"upscale_conv1.\1"),
    (r"output_upscaling\.1\.(weight|bias)", r"upscale_layer_norm.\1"),
    (r"output_upscaling\.3\.(weight|bias)", r"upscale_conv2.\1"),
    (r"(iou_token|mask_tokens|obj_score_token)\.weight", r"\1.weight"),
    (r"(conv_s0|conv_s1)\.(weight|bias)", r"\1.\2"),
)

_MASK_DECODER_MLPS = (
    r"(output_hypernetworks_mlps\.\d+|iou_prediction_head|pred_obj_score_head)\.layers\.([012])\.(weight|bias)"
)


@dataclass
class MappedState:
    """What `map_sam3_1_state_dict` made of a checkpoint.

    Attributes:
        tensors: samkit key -> tensor (``detector.*`` / ``tracker.*`` of `Sam3Image`).
        ignored: original key -> why the image model does not need it.
        unknown: original keys no rule covers (an error for the caller).
    """

    tensors: dict[str, Any] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def _apply(rules: tuple, rest: str) -> str | None:
    for pattern, repl in rules:
        m = re.fullmatch(pattern, rest)
        if m is not None:
            return None if repl is None else m.expand(repl)
    return None


def _detector_target(rest: str) -> str | None:
    """samkit key (under ``detector.`` unless it starts with ``tracker.``) of a ``detector.`` key."""
    sections = (  # (original prefix, samkit prefix, rules, attention output named o_proj)
        ("backbone.vision_backbone.trunk.", "vision_encoder.backbone.", _VIT, False),
        ("backbone.language_backbone.encoder.", "text_encoder.", _TEXT, False),  # CLIP keeps out_proj
        ("geometry_encoder.", "geometry_encoder.", _GEOMETRY, True),
        ("transformer.encoder.", "detr_encoder.", _DETR_ENCODER, True),
        ("segmentation_head.", "mask_decoder.", _SEGMENTATION, True),
    )
    for prefix, target, rules, o_proj in sections:
        if rest.startswith(prefix):
            mapped = _apply(rules, rest[len(prefix) :])
            if mapped is None:
                return None
            return target + (_rename_attention(mapped) if o_proj else mapped)
    m = re.fullmatch(r"backbone\.vision_backbone\.(convs|interactive_convs)\.(\d+)\.(\w+)\.(weight|bias)", rest)
    if m is not None:
        head, level, layer, kind = m.groups()
        if layer not in _NECK_LAYERS:
            return None
        where = "vision_encoder.neck" if head == "convs" else "tracker.vision_encoder.neck"
        return f"{where}.fpn_layers.{level}.{_NECK_LAYERS[layer]}.{kind}"
    m = re.fullmatch(r"backbone\.language_backbone\.resizer\.(weight|bias)", rest)
    if m is not None:
        return f"text_projection.{m.group(1)}"
    if rest.startswith("transformer.decoder."):
        inner = rest[len("transformer.decoder.") :]
        m = re.fullmatch(r"(\w+)\.layers\.(\d+)\.(weight|bias)", inner)
        if m is not None and m.group(1) in _DETR_DECODER_MLPS:
            return f"detr_decoder.{_DETR_DECODER_MLPS[m.group(1)]}.layer{int(m.group(2)) + 1}.{m.group(3)}"
        mapped = _apply(_DETR_DECODER, inner)
        return None if mapped is None else "detr_decoder." + _rename_attention(mapped)
    if rest.startswith("dot_prod_scoring."):
        inner = rest[len("dot_prod_scoring.") :]
        m = re.fullmatch(r"prompt_mlp\.layers\.(\d+)\.(weight|bias)", inner)
        if m is not None:
            return f"dot_product_scoring.text_mlp.layer{int(m.group(1)) + 1}.{m.group(2)}"
        mapped = _apply(_SCORING, inner)
        return None if mapped is None else "dot_product_scoring." + mapped
    return None


def _tracker_target(rest: str) -> str | None:
    """samkit key (under ``tracker.``) of a ``tracker.model.`` key of the interactive head."""
    if rest == "interactivity_no_mem_embed":
        return "no_memory_embedding"
    prefix = "interactive_sam_prompt_encoder."
    if rest.startswith(prefix):
        mapped = _apply(_PROMPT_ENCODER, rest[len(prefix) :])
        return None if mapped is None else "prompt_encoder." + mapped
    prefix = "interactive_sam_mask_decoder."
    if rest.startswith(prefix):
        inner = rest[len(prefix) :]
        m = re.fullmatch(_MASK_DECODER_MLPS, inner)
        if m is not None:
            return f"mask_decoder.{m.group(1)}.{_MLP3[m.group(2)]}.{m.group(3)}"
        mapped = _apply(_MASK_DECODER, inner)
        return None if mapped is None else "mask_decoder." + _rename_attention(mapped)
    return None


def _split_fused(key: str, value: Any, out: dict[str, Any]) -> None:
    """Store ``value`` at ``key``, splitting a fused q/k/v projection into three."""
    for fused, base in ((".qkv.weight", ".{}_proj.weight"), (".qkv.bias", ".{}_proj.bias")):
        if key.endswith(fused):
            stem = key[: -len(fused)]
            for name, part in zip("qkv", value.chunk(3, dim=0)):
                out[stem + base.format(name)] = part
            return
    for fused, base in ((".in_proj_weight", ".{}_proj.weight"), (".in_proj_bias", ".{}_proj.bias")):
        if key.endswith(fused):
            stem = key[: -len(fused)]
            for name, part in zip("qkv", value.chunk(3, dim=0)):
                out[stem + base.format(name)] = part
            return
    out[key] = value


def map_sam3_1_state_dict(state: dict[str, Any]) -> MappedState:
    """Map a SAM 3.1 checkpoint (Meta's layout) onto `samkit.models.sam3.Sam3Image` keys.

    Args:
        state: original key -> tensor (the ``"model"`` dict of ``sam3.1_multiplex.pt``).

    Returns:
        `MappedState`: the mapped tensors (the shared ViT under both ``detector.`` and
        ``tracker.``; the prompt encoder's random-feature matrix under both of its transformers
        names), the ignored keys with their reasons, and the unknown keys.
    """
    result = MappedState()
    point_embeddings: dict[int, Any] = {}
    for key, value in state.items():
        reason = next((why for pattern, why in IGNORED_RULES if re.fullmatch(pattern, key)), None)
        if reason is not None:
            result.ignored[key] = reason
            continue
        target: str | None = None
        if key.startswith("detector."):
            target = _detector_target(key[len("detector.") :])
            if target is not None and not target.startswith("tracker."):
                target = "detector." + target
        elif key.startswith("tracker.model."):
            rest = key[len("tracker.model.") :]
            m = re.fullmatch(r"interactive_sam_prompt_encoder\.point_embeddings\.(\d+)\.weight", rest)
            if m is not None:
                point_embeddings[int(m.group(1))] = value
                continue
            if rest == "interactive_sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix":
                result.tensors["tracker.prompt_encoder.shared_embedding.positional_embedding"] = value
                result.tensors["tracker.shared_image_embedding.positional_embedding"] = value
                continue
            target = _tracker_target(rest)
            target = None if target is None else "tracker." + target
        if target is None:
            result.unknown.append(key)
            continue
        if target.endswith("vision_encoder.backbone.embeddings.position_embeddings"):
            value = value[:, 1:, :]  # drop the class-token position (SAM 3 keeps no class token)
        elif target.endswith("text_encoder.text_projection.weight"):
            value = value.T  # CLIP stores (width, out); transformers' Linear (out, width)
        _split_fused(target, value, result.tensors)
    if point_embeddings:
        import torch

        order = sorted(point_embeddings)
        if order != list(range(len(order))):
            result.unknown.extend(
                f"tracker.model.interactive_sam_prompt_encoder.point_embeddings.{i}.weight" for i in order
            )
        else:
            result.tensors["tracker.prompt_encoder.point_embed.weight"] = torch.cat(
                [point_embeddings[i] for i in order], dim=0
            )
    for key in [k for k in result.tensors if k.startswith("detector.vision_encoder.backbone.")]:
        result.tensors["tracker." + key[len("detector.") :]] = result.tensors[key]
    return result
