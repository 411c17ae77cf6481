"""Segment Anything (ViT-B/L/H) through the ``segment-anything`` package."""

from __future__ import annotations

from typing import Any

from samkit.models._sam_style import SamGridDecode, SamStylePredict
from samkit.models.base import Segmenter
from samkit.registry import ModelSpec


class SamSegmenter(SamGridDecode, SamStylePredict, Segmenter):
    """SAM ViT-B/L/H; wraps ``segment_anything.SamPredictor``; ``generate`` is samkit's fast
    `GridMaskGenerator` (``engine="upstream"``: ``SamAutomaticMaskGenerator``)."""

    checkpoint_marker = "image_encoder.blocks.0.attn.qkv.weight"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        from segment_anything import sam_model_registry

        return sam_model_registry[spec.arch](checkpoint=None)

    def _make_predictor(self, model: Any) -> Any:
        from segment_anything import SamPredictor

        return SamPredictor(model)

    def _mask_generator_class(self) -> type:
        from samkit.models.grid_generator import GridMaskGenerator

        return GridMaskGenerator

    def _upstream_mask_generator_class(self) -> type:
        from segment_anything import SamAutomaticMaskGenerator

        return SamAutomaticMaskGenerator
