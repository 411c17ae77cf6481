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

    #: `predict_points`: one ``predict_torch`` call; `set_images`: one ``model.image_encoder``
    #: pass over the images transformed by ``model.transform`` (all padded to its square)
    batched_decoder = True
    batched_encoder = True
    #: what ``EfficientViTSamPredictor.set_image`` sets
    _image_state_keys = ("features", "original_size", "input_size", "is_image_set")

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        """``(N, K, 2)`` point sets in one decoder call, transformed as the upstream ``predict`` does."""
        import torch

        pred = self._predictor
        coords_t = torch.as_tensor(pred.apply_coords(coords), dtype=torch.float, device=pred.device)
        labels_t = torch.as_tensor(labels, dtype=torch.int, device=pred.device)
        masks, scores, low_res = pred.predict_torch(
            point_coords=coords_t, point_labels=labels_t, multimask_output=multimask_output
        )
        return (masks.cpu().numpy(), scores.float().cpu().numpy(), low_res.float().cpu().numpy())

    def _embed_images(self, images: list) -> list[dict[str, Any]]:
        """One encoder pass; each image prepared as ``EfficientViTSamPredictor.set_image`` does."""
        import torch
        from efficientsam.segment_anything.utils.transforms import ResizeLongestSide

        pred = self._predictor
        model = pred.model
        inputs = []
        for rgb in images:
            if model.image_format != "RGB":
                rgb = rgb[..., ::-1]
            inputs.append(model.transform(rgb).unsqueeze(dim=0).to(pred.device))
        with torch.inference_mode():
            features = model.image_encoder(torch.cat(inputs))
        side = model.image_size[0]
        return [
            {
                "features": features[i : i + 1],
                "original_size": tuple(rgb.shape[:2]),
                "input_size": ResizeLongestSide.get_preprocess_shape(*rgb.shape[:2], long_side_length=side),
                "is_image_set": True,
            }
            for i, rgb in enumerate(images)
        ]
