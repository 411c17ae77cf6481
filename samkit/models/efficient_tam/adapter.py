"""EfficientTAM-Ti / -S (Xiong et al., "Efficient Track Anything", ICCV 2025) behind the `Segmenter` interface.

No package provides EfficientTAM (github.com/yformer/EfficientTAM, Apache-2.0), so samkit builds it
itself (`samkit.models.efficient_tam.model`): SAM 2's model from the ``sam2`` package with samkit's
plain-ViT image encoder and, in the ``_1`` / ``_2`` models, samkit's pooled memory cross-attention.
It loads the official checkpoint files unchanged (``{"model": state_dict}``) and gives the official
code's outputs for images and video (tests/models/test_efficient_tam.py compares them with golden
outputs of the official repository, tests/data/efficient_tam/make_golden.py).

Images go through sam2's ``SAM2ImagePredictor`` (the official ``EfficientTAMImagePredictor`` is a
copy of it that also knows 512-pixel models), so the conventions are SAM 2's: the image is resized
(not padded) to the model's square input, ImageNet normalisation, points / box / mask prompts,
scores are the predicted IoUs, ``multimask_output=False`` picks the most stable of the multimask
outputs when the single-mask output is unstable (SAM 2's dynamic multimask). The low-res logits are
``(C, S/4, S/4)``: 256x256 for the 1024-pixel models, 128x128 for the ``_512x512`` ones, whose
``mask_input`` is accordingly ``(1, 128, 128)``. ``.video(frames)`` tracks with sam2's
``SAM2VideoPredictor`` on the same modules (`samkit.video.efficient_tam_tracker`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from samkit.errors import NotReadyError, PromptError
from samkit.models._batching import outputs
from samkit.models.sam2 import Sam2Segmenter, import_sam2
from samkit.params import check_bool
from samkit.prompts import LOW_RES, Prompts, validate_prompts
from samkit.registry import ModelSpec

__all__ = ["EfficientTamSegmenter", "feature_sizes"]


def feature_sizes(image_size: int) -> list[tuple[int, int]]:
    """What ``SAM2ImagePredictor._bb_feat_sizes`` must be for a ``image_size`` input (strides 4, 8,
    16; only the last is used with one feature level): the official predictor's values for 1024 and 512."""
    return [(image_size // s, image_size // s) for s in (4, 8, 16)]


class EfficientTamSegmenter(Sam2Segmenter):
    """EfficientTAM; sam2's ``SAM2ImagePredictor`` around samkit's build of the official architecture."""

    #: only EfficientTAM's one-level ViTDet neck has this key (SAM 2's FPN neck: ``convs.N.conv``)
    checkpoint_marker = "image_encoder.neck.convs.0.conv_1x1.weight"
    video_tracker = "samkit.video.efficient_tam_tracker:EfficientTamVideoTracker"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        from samkit.models.efficient_tam.model import build_efficient_tam

        return build_efficient_tam(spec.arch)

    def _make_predictor(self, model: Any) -> Any:
        import_sam2()
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        with self._quiet_upstream():
            predictor = SAM2ImagePredictor(model)
        predictor._bb_feat_sizes = feature_sizes(model.image_size)
        return predictor

    @property
    def low_res_size(self) -> int:
        """Side of the low-res logits (and of ``mask_input``): a quarter of the input side."""
        return int(self.model.image_size) // 4

    def predict(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        *,
        text: str | list[str] | None = None,
        **text_options: Any,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`Segmenter.predict`; for the 512-pixel models ``mask_input`` is ``(1, 128, 128)`` low-res
        logits (the third output of an earlier call) instead of ``(1, 256, 256)``."""
        if mask_input is None or text is not None or self.low_res_size == LOW_RES:
            return super().predict(
                point_coords, point_labels, box, mask_input, multimask_output, return_logits, text=text, **text_options
            )
        multimask_output = check_bool("multimask_output", multimask_output)
        return_logits = check_bool("return_logits", return_logits)
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict().")
        self._require_prompts(point_coords, box, mask_input)
        mask = self._mask_prompt(mask_input)
        if point_coords is None and point_labels is None and box is None:
            prompts = Prompts(None, None, None, mask)
        else:
            prompts = dataclasses.replace(
                validate_prompts(self._image_hw, point_coords, point_labels, box), mask_input=mask
            )
        with self._autocast():
            masks, scores, low_res = self._predict_reduced(prompts, multimask_output, return_logits)
        return outputs(masks, scores, low_res, return_logits)

    def _mask_prompt(self, mask_input: Any) -> np.ndarray:
        """``(1, s, s)`` float32 logits, s = `low_res_size` (``(s, s)`` is taken too); `PromptError` otherwise."""
        side = self.low_res_size
        mask = np.asarray(mask_input.detach().cpu() if hasattr(mask_input, "detach") else mask_input)
        if not np.issubdtype(mask.dtype, np.number):
            raise PromptError(f"mask_input must be numeric, got dtype {mask.dtype}.")
        mask = mask.astype(np.float32)
        if mask.shape == (side, side):
            mask = mask[None]
        if mask.shape != (1, side, side):
            raise PromptError(
                f"mask_input must be low-res logits of shape (1, {side}, {side}) for {self.name} "
                f"(the third output of an earlier predict), got {mask.shape}."
            )
        if not np.isfinite(mask).all():
            raise PromptError("mask_input contains NaN or infinite values.")
        return mask
