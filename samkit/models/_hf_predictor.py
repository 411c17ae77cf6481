"""`TransformersPredictor`: SamPredictor-shaped wrapper of a SAM 2-style transformers model, so the
``Segmenter`` base class can drive EdgeTAM and SAM 3's tracker like the other families' upstream predictors."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TransformersPredictor"]


class TransformersPredictor:
    """SamPredictor-shaped wrapper of a SAM 2-style transformers model and its processor.

    ``model`` is an ``EdgeTamModel`` / ``Sam3TrackerModel`` (``image_embeddings=`` forward,
    ``iou_scores`` and ``pred_masks`` outputs), ``processor`` its ``Sam2Processor`` /
    ``Sam3TrackerProcessor``. ``set_image`` runs the vision encoder once (``embed``, overridable)
    and keeps the embeddings; ``predict_torch`` decodes a batch of prompts against them.
    """

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor
        self.embeddings: Any = None
        self.original_size: tuple[int, int] | None = None

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def embed(self, pixel_values: Any) -> Any:
        """Image embeddings of ``pixel_values`` (the model's ``get_image_embeddings``)."""
        return self.model.get_image_embeddings(pixel_values)

    def set_image(self, image: np.ndarray) -> None:
        import torch

        inputs = self.processor(images=image, return_tensors="pt")
        with torch.inference_mode():
            self.embeddings = self.embed(inputs["pixel_values"].to(self.device))
        self.original_size = (int(image.shape[0]), int(image.shape[1]))

    def reset_image(self) -> None:
        self.embeddings = None
        self.original_size = None

    def predict_torch(
        self,
        point_coords: np.ndarray | None,
        point_labels: np.ndarray | None,
        boxes: np.ndarray | None,
        mask_input: np.ndarray | None,
        multimask_output: bool,
    ) -> tuple[Any, Any, Any]:
        """Decode B prompts at once.

        Args:
            point_coords: ``(B, K, 2)`` (x, y) pixels, with ``point_labels`` ``(B, K)``, or None.
            boxes: ``(B, 4)`` XYXY pixels, or None (with points: the same B).
            mask_input: ``(B, 1, h, w)`` low-res logits, or None.
        Returns:
            float32 torch tensors on the CPU: logits ``(B, C, H, W)`` at the image size, scores
            ``(B, C)`` (the model's ``iou_scores``), low-res logits ``(B, C, h, w)``.
        """
        import torch

        if self.embeddings is None:
            raise RuntimeError("set_image first")
        kwargs: dict[str, Any] = {}
        if point_coords is not None:
            kwargs["input_points"] = [np.asarray(point_coords, dtype=np.float64).tolist()]
            kwargs["input_labels"] = [np.asarray(point_labels).astype(int).tolist()]
        if boxes is not None:
            kwargs["input_boxes"] = [np.asarray(boxes, dtype=np.float64).tolist()]
        enc = self.processor(original_sizes=[list(self.original_size)], return_tensors="pt", **kwargs)
        dev = self.device
        inputs = {k: enc[k].to(dev) for k in ("input_points", "input_labels", "input_boxes") if k in enc}
        if mask_input is not None:
            inputs["input_masks"] = torch.as_tensor(np.asarray(mask_input, dtype=np.float32), device=dev)
        with torch.inference_mode():
            out = self.model(image_embeddings=self.embeddings, multimask_output=multimask_output, **inputs)
            low_res = out.pred_masks[0].float()  # (B, C, h, w)
            scores = out.iou_scores[0].float()  # (B, C)
            logits = self.processor.post_process_masks([low_res], [list(self.original_size)], binarize=False)[0]
        return logits.float().cpu(), scores.cpu(), low_res.cpu()
