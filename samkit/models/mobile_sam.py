"""MobileSAM (TinyViT encoder + SAM decoder) through the official ``mobile_sam`` package."""

from __future__ import annotations

import warnings
from typing import Any

from samkit.models._sam_style import SamGridDecode, SamStylePredict
from samkit.models.base import Segmenter
from samkit.registry import ModelSpec


def _mobile_sam() -> Any:
    """Import mobile_sam, hiding the deprecation and registry-overwrite warnings its timm imports raise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="timm")
        warnings.filterwarnings("ignore", message="Overwriting tiny_vit", category=UserWarning)
        import mobile_sam

    return mobile_sam


class MobileSamSegmenter(SamGridDecode, SamStylePredict, Segmenter):
    """MobileSAM; wraps ``mobile_sam.SamPredictor``; ``generate`` is samkit's fast `GridMaskGenerator`
    (``engine="upstream"``: ``mobile_sam.SamAutomaticMaskGenerator``)."""

    checkpoint_marker = "image_encoder.layers.0.blocks.0.conv1.c.weight"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        return _mobile_sam().sam_model_registry[spec.arch](checkpoint=None)

    def _make_predictor(self, model: Any) -> Any:
        return _mobile_sam().SamPredictor(model)

    def _mask_generator_class(self) -> type:
        from samkit.models.grid_generator import GridMaskGenerator

        return GridMaskGenerator

    def _upstream_mask_generator_class(self) -> type:
        return _mobile_sam().SamAutomaticMaskGenerator
