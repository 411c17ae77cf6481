"""EfficientTAM's neck (the official ``ViTDetNeck``): one feature level, no feature pyramid.

The ViT's ``(B, C, S/16, S/16)`` features go through a 1x1 conv to 256 channels, a channel layer
norm, a 3x3 conv and a channel layer norm (SAM's neck; both convs without bias), and get a sine
position encoding. The output is what sam2's ``ImageEncoder`` expects of a neck: a list of feature
maps and a list of position encodings, one level each (``(B, 256, S/16, S/16)``), so SAM 2's model
uses it with ``use_high_res_features_in_sam=False`` (one feature level).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["ViTDetNeck"]


class ViTDetNeck(nn.Module):
    """``convs.0 = conv_1x1 -> norm_0 -> conv_3x3 -> norm_1`` on the trunk's one level.

    Args:
        position_encoding: sam2's ``PositionEmbeddingSine`` (``(B, C, H, W) -> (B, d_model, H, W)``).
        d_model: output channels (256).
        backbone_channel_list: ``[C]``, the trunk's channels (checked by sam2's ``ImageEncoder``).
        norm: with channel layer norms and bias-free convs (every released model); without: convs
            with bias and no norms.
    """

    def __init__(self, position_encoding: Any, d_model: int, backbone_channel_list: list[int], norm: bool = True):
        super().__init__()
        from sam2.modeling.sam2_utils import LayerNorm2d

        if len(backbone_channel_list) != 1:
            raise ValueError(f"ViTDetNeck takes one feature level, got channels {backbone_channel_list}")
        self.backbone_channel_list = list(backbone_channel_list)
        self.position_encoding = position_encoding
        self.d_model = d_model
        level = nn.Sequential()
        level.add_module("conv_1x1", nn.Conv2d(backbone_channel_list[0], d_model, kernel_size=1, bias=not norm))
        if norm:
            level.add_module("norm_0", LayerNorm2d(d_model))
        level.add_module("conv_3x3", nn.Conv2d(d_model, d_model, kernel_size=3, padding=1, bias=not norm))
        if norm:
            level.add_module("norm_1", LayerNorm2d(d_model))
        self.convs = nn.ModuleList([level])

    def forward(self, xs: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        if len(xs) != 1:
            raise ValueError(f"ViTDetNeck takes one feature level, got {len(xs)}")
        features = self.convs[0](xs[0])
        return [features], [self.position_encoding(features).to(features.dtype)]
