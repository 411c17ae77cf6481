"""EfficientViT-SAM (L0/L1/L2, XL0/XL1) through the ``efficientsam`` package.

Despite its name, PyPI's ``efficientsam`` (1.0.0) packages MIT Han Lab's EfficientViT-SAM
(github.com/mit-han-lab/efficientvit, ``applications/efficientvit_sam``), importable as
``efficientsam``; it is not EfficientSAM (Xiong et al.). The modelling, the predictor and the
automatic mask generator are the package's; this adapter only builds, wraps and converts.

Shapes and conventions (those of ``EfficientViTSamPredictor``):

- The image encoder (EfficientViT backbone + neck) sees the image with its longest side resized
  to ``spec.input_size`` (512 for L0/L1/L2, 1024 for XL0/XL1), normalised with SAM's pixel mean
  and std and zero-padded to a square at the bottom/right. Its output is SAM's ``(1, 256, 64, 64)``
  embedding for every model of the family.
- The prompt encoder and mask decoder are SAM's: point and box prompts are rescaled to a
  1024-pixel longest side whatever the encoder's input size, so prompts are ``(x, y)`` pixels of
  the original image as everywhere in samkit.
- Low-resolution logits are ``(C, 256, 256)`` (as SAM) and ``mask_input`` takes an earlier call's
  ``(1, 256, 256)`` logits.

With torch 2.14.1 the package warns about nothing on import, build, prediction or generation, so
this adapter silences no warnings. Reduced precision (``dtype="bfloat16"``) uses predictor and
generator subclasses whose decoder outputs are cast to float32 (see `_reduced_precision_classes`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from samkit.models.base import Segmenter
from samkit.registry import ModelSpec


@functools.cache
def _reduced_precision_classes() -> tuple[type, type]:
    """Upstream predictor and generator subclasses whose decoder outputs are float32 under autocast.

    The upstream ``predict`` and mask generator convert tensors with ``.numpy()``, which fails on
    bfloat16; these subclasses cast ``predict_torch``'s outputs to float32 (masks stay bool) and
    change nothing else.
    """
    import torch
    from efficientsam.models.efficientvit.sam import (
        EfficientViTSamAutomaticMaskGenerator,
        EfficientViTSamPredictor,
    )

    class Float32OutputPredictor(EfficientViTSamPredictor):
        def predict_torch(self, *args: Any, **kwargs: Any) -> tuple:
            masks, scores, low_res = super().predict_torch(*args, **kwargs)
            masks = masks if masks.dtype == torch.bool else masks.float()
            return masks, scores.float(), low_res.float()

    class Float32OutputGenerator(EfficientViTSamAutomaticMaskGenerator):
        def generate(self, image: np.ndarray) -> list[dict[str, Any]]:
            self.predictor = Float32OutputPredictor(self.predictor.model)
            return super().generate(image)

    Float32OutputGenerator.__name__ = EfficientViTSamAutomaticMaskGenerator.__name__
    return Float32OutputPredictor, Float32OutputGenerator


class EfficientViTSamSegmenter(Segmenter):
    """EfficientViT-SAM; wraps ``EfficientViTSamPredictor`` and ``EfficientViTSamAutomaticMaskGenerator``.

    ``predict`` returns ``(C, H, W)`` masks, ``(C,)`` scores and ``(C, 256, 256)`` low-res logits
    exactly as the upstream predictor (see the module docstring for the input sizes).
    """

    checkpoint_marker = "image_encoder.neck.input_ops.0.op_list.0.conv.weight"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        from efficientsam.sam_model_zoo import create_efficientvit_sam_model

        # the zoo function also sets the family's norm eps (1e-6), as the official loader does
        return create_efficientvit_sam_model(spec.arch, pretrained=False, image_size=spec.input_size)

    def _make_predictor(self, model: Any) -> Any:
        if self.dtype != "float32":
            return _reduced_precision_classes()[0](model)
        from efficientsam.models.efficientvit.sam import EfficientViTSamPredictor

        return EfficientViTSamPredictor(model)

    def _mask_generator_class(self) -> type:
        if self.dtype != "float32":
            return _reduced_precision_classes()[1]
        from efficientsam.models.efficientvit.sam import EfficientViTSamAutomaticMaskGenerator

        return EfficientViTSamAutomaticMaskGenerator

    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool) -> tuple:
        """All boxes in one decoder call, transformed exactly as the upstream ``predict`` does one box."""
        import torch

        pred = self._predictor
        boxes_t = torch.as_tensor(pred.apply_boxes(boxes), dtype=torch.float, device=pred.device)
        masks, scores, low_res = pred.predict_torch(boxes=boxes_t, multimask_output=multimask_output)
        return (masks.cpu().numpy(), scores.float().cpu().numpy(), low_res.float().cpu().numpy())
