"""EfficientSAM-Ti / -S (Xiong et al. 2023) behind the `Segmenter` interface.

No package on PyPI provides EfficientSAM (PyPI's ``efficientsam`` is EfficientViT-SAM), so samkit
carries its own implementation (`samkit.models.efficient_sam.model`), which loads the official
checkpoints unchanged and reproduces the official code's outputs (tests/models/test_efficient_sam.py
compares them with golden outputs of github.com/yformer/EfficientSAM).

Conventions that differ from SAM's:

- The image is resized to 1024 x 1024 without keeping its aspect ratio (no padding) and
  normalised with the ImageNet mean / std of ``[0, 1]`` pixels.
- Prompts are points and boxes only: no ``mask_input`` (`UnsupportedError`). A box is two points
  labelled 2 and 3; points and a box may be combined. The decoder sees at most 6 points (a box
  counts as 2): fewer are padded; more raise `UnsupportedError` (the official code silently
  uses the first 6, which would make click 7 onwards of an evaluation meaningless).
- ``multimask_output=True`` gives the decoder's 3 candidates in its order;
  ``multimask_output=False`` gives the best-scoring of those 3 (as the official example and
  notebooks do, and as the authors advise in yformer/EfficientSAM#28 and #36), not the decoder's
  single-mask token.
- The ``(C, 256, 256)`` low-res logits are resized straight to the image size with bicubic
  interpolation; a mask is ``logits >= 0``.
- ``generate`` uses samkit's `GridMaskGenerator` (SAM's automatic-mask algorithm and defaults),
  since the official repository has only a notebook for "segment everything".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.models.base import Segmenter
from samkit.registry import ModelSpec


class EfficientSamSegmenter(Segmenter):
    """EfficientSAM; see the module docstring for its conventions."""

    #: only EfficientSAM's prompt encoder has a padding-point embedding
    checkpoint_marker = "prompt_encoder.invalid_points.weight"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        from samkit.models.efficient_sam.model import ARCHS, build_efficient_sam

        if spec.arch not in ARCHS:
            raise ValueError(f"unknown EfficientSAM arch {spec.arch!r}; known: {', '.join(ARCHS)}")
        return build_efficient_sam(*ARCHS[spec.arch])

    def _make_predictor(self, model: Any) -> Any:
        from samkit.models.efficient_sam.predictor import EfficientSamPredictor

        return EfficientSamPredictor(model)

    def _mask_generator_class(self) -> type:
        from samkit.models.grid_generator import GridMaskGenerator

        return GridMaskGenerator

    def _predict_reduced(self, prompts: Any, multimask_output: bool, return_logits: bool) -> tuple:
        # the predictor already returns float32 (and bool) numpy arrays under autocast
        return self._predictor.predict(
            prompts.point_coords, prompts.point_labels, prompts.box, None, multimask_output, return_logits
        )

    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool) -> tuple:
        """All boxes as one decoder call of ``B`` prompts of two corner points (labels 2, 3)."""
        import torch

        from samkit.models.efficient_sam.predictor import BOX_LABELS

        pred = self._predictor
        points = torch.as_tensor(boxes.reshape(-1, 2, 2), dtype=torch.float32, device=pred.device)
        labels = torch.tensor([BOX_LABELS], device=pred.device).expand(len(boxes), 2)
        masks, scores, low_res = pred.predict_torch(points, labels, multimask_output)
        return masks.cpu().numpy(), scores.cpu().numpy(), low_res.cpu().numpy()

    def _predict_logits_batch(self, point_coords: Any, point_labels: Any, multimask_output: bool = True) -> tuple:
        """``B`` point prompts in one decoder call: logits ``(B, C, H, W)``, scores ``(B, C)``."""
        import torch

        pred = self._predictor
        points = torch.as_tensor(np.asarray(point_coords), dtype=torch.float32, device=pred.device)
        labels = torch.as_tensor(np.asarray(point_labels), dtype=torch.int64, device=pred.device)
        with self._autocast():
            logits, scores, _ = pred.predict_torch(points, labels, multimask_output, return_logits=True)
        return logits.float(), scores.float()

    #: `predict_points`: one decoder call; `set_images`: one image-encoder pass over the images
    #: resized (each to the encoder's square, as `EfficientSamPredictor.set_image`) and stacked
    batched_decoder = True
    batched_encoder = True
    _image_state_keys = ("embeddings", "original_size")

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        import torch

        pred = self._predictor
        points = torch.as_tensor(coords, dtype=torch.float32, device=pred.device)
        labels_t = torch.as_tensor(labels, dtype=torch.int64, device=pred.device)
        masks, scores, low_res = pred.predict_torch(points, labels_t, multimask_output)
        return masks.cpu().numpy(), scores.cpu().numpy(), low_res.cpu().numpy()

    def _embed_images(self, images: list) -> list[dict[str, Any]]:
        import torch

        pred = self._predictor
        model = pred.model
        with torch.no_grad():
            inputs = [
                model.preprocess(
                    torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
                    .to(pred.device)
                    .to(torch.float32)
                    .div(255)[None]
                )
                for rgb in images
            ]
            embeddings = model.image_encoder(torch.cat(inputs))
        return [
            {"embeddings": embeddings[i : i + 1], "original_size": (int(rgb.shape[0]), int(rgb.shape[1]))}
            for i, rgb in enumerate(images)
        ]
