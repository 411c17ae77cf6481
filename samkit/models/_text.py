"""`TextPrompts`: the text half of `Segmenter` (``predict(text=...)``, `predict_text`): SAM 3 answers
natively in its adapter; any other model through the object `samkit.pipelines.attach_text_detector`
puts in ``text_prompter``."""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.prompts import split_phrases
from samkit.registry import list_models

__all__ = ["TextPrompts"]


class TextPrompts:
    """Text prompts of a `Segmenter` (mixed into it; uses its image state and ``require``)."""

    @property
    def text_detector(self) -> Any:
        """The open-vocabulary detector that gives this model text prompts
        (`samkit.pipelines.attach_text_detector`), or None."""
        return getattr(self.text_prompter, "detector", None)

    @property
    def text_source(self) -> str | None:
        """How this model takes text: ``"native"`` (SAM 3), ``"detector:<name>"`` (boxes of an
        attached open-vocabulary detector, see `samkit.pipelines.attach_text_detector`), or None."""
        if "text" in self.spec.capabilities:
            return "native"
        if self.text_prompter is not None:
            return self.text_prompter.source
        return None

    def _predict_text_outputs(
        self, text: Any, prompts: tuple, return_logits: bool, options: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``predict(text=...)``: `predict_text` as ``(masks, scores, low_res_logits)``."""
        if any(p is not None for p in prompts):
            raise PromptError(
                "predict(text=...) takes the text alone; to combine a phrase with a "
                "box or points, detect first and prompt with the boxes."
            )
        if return_logits and self.text_source != "native":
            raise PromptError(
                f"{self.name}: return_logits is not available with text through a "
                "detector (the boxes are decoded to masks in one batched call); use "
                "the low-res logits (third output) instead."
            )
        result = self.predict_text(text, return_logits=return_logits, **options)
        masks = result.mask_logits if return_logits else result.masks
        low_res = result.low_res_logits
        if low_res is None:  # nothing found
            side = int(getattr(self, "low_res_size", 256))
            low_res = np.zeros((0, side, side), dtype=np.float32)
        return masks, result.scores, low_res

    def predict_text(
        self,
        text: str | list[str],
        *,
        box_threshold: float | None = None,
        text_threshold: float | None = None,
        return_logits: bool = False,
    ) -> Any:
        """Every instance of each phrase of ``text`` on the image set (Grounded-SAM).

        Through the attached text detector (`samkit.pipelines.attach_text_detector`): its boxes for the phrases,
        then every box in one batched ``predict_boxes`` call. SAM 3 overrides this with its own
        text path.

        Args:
            text: ``"a dog. a cat."`` or ``["a dog", "a cat"]``; empty text is a `PromptError`.
            box_threshold, text_threshold: the detector's thresholds (default: its family's).
            return_logits: SAM 3 only (full-size logits of the masks).

        Returns:
            `samkit.pipelines.PipelineResult`: one object per instance (``label`` = its phrase,
            ``score`` = detection score, ``box`` XYXY, ``mask`` HxW bool, ``mask_score``), most
            confident first; empty when nothing is found (not an error). ``detect_ms`` and
            ``decoder_ms`` are this call's stage times; ``encoder_ms`` is NaN (the image was
            embedded by `set_image`); ``low_res_logits`` ``(N, 256, 256)``.
        """
        self._require_text()
        if self._image_hw is None or self._rgb is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict(text=...).")
        if return_logits:
            raise PromptError(f"{self.name}: return_logits with text is SAM 3's only.")
        phrases = split_phrases(text)
        return self.text_prompter.predict_text(
            self, self._rgb, phrases, box_threshold=box_threshold, text_threshold=text_threshold
        )

    def _require_text(self) -> None:
        """`UnsupportedError` for text on a model without it, saying both ways to get it."""
        if "text" in self.capabilities:
            return
        native = list_models(capability="text")
        raise UnsupportedError(
            f"{self.name} does not take text prompts by itself (models that do: "
            f"{', '.join(native) or 'none'}). Give it an open-vocabulary detector: "
            f"samkit.load({self.name!r}, text_detector='grounding_dino_tiny'), or "
            f"samkit.pipelines.attach_text_detector(model, 'grounding_dino_tiny')."
        )
