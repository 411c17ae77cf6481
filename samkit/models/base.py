"""`Segmenter`: the one SamPredictor-shaped interface every model family is used through.

A family adapter only says how to build its architecture and which upstream predictor and
automatic mask generator to wrap; validation, conversions and the output contract live here, so
every family behaves the same to the evaluation runners and widgets.
"""

from __future__ import annotations

import abc
import contextlib
import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.errors import NotReadyError
from samkit.images import to_rgb_uint8
from samkit.prompts import validate_prompts
from samkit.registry import ModelSpec
from samkit.weights import WeightsInfo

if TYPE_CHECKING:
    import torch

__all__ = ["Segmenter"]


class Segmenter(abc.ABC):
    """A loaded model behind segment-anything's SamPredictor interface.

    Get one with `samkit.load(name, ...)`. Typical use::

        model.set_image(image)                      # HxWx3 uint8 RGB (numpy or PIL)
        masks, scores, logits = model.predict(point_coords=[[x, y]], point_labels=[1])

    Attributes:
        name: registered model name.
        spec: its `ModelSpec` (family, checkpoint, capabilities, ...).
        model: the upstream ``torch.nn.Module`` (eval mode, on ``device``).
        device: ``torch.device`` the model runs on.
        weights: `WeightsInfo`: ``pretrained`` with the file's SHA-256, or ``random`` with the seed.
        capabilities: prompt kinds and features the model supports.
    """

    def __init__(self, spec: ModelSpec, model: torch.nn.Module, weights: WeightsInfo) -> None:
        self.spec = spec
        self.model = model
        self.weights = weights
        self.device = next(model.parameters()).device
        self._predictor = self._make_predictor(model)
        self._image_hw: tuple[int, int] | None = None

    # ----------------------------------------------------------------- family hooks
    #: a state-dict key that only this family's checkpoints have (used to name a wrong file's model)
    checkpoint_marker: str = ""

    @classmethod
    @abc.abstractmethod
    def build_architecture(cls, spec: ModelSpec) -> torch.nn.Module:
        """Build the model of ``spec`` with the upstream package's default initialisation (CPU)."""

    @abc.abstractmethod
    def _make_predictor(self, model: torch.nn.Module) -> Any:
        """The upstream image predictor wrapping ``model``."""

    @abc.abstractmethod
    def _mask_generator_class(self) -> type:
        """The upstream automatic mask generator class."""

    @staticmethod
    def _quiet_upstream() -> contextlib.AbstractContextManager:
        """Context that silences known, harmless upstream warnings (none by default)."""
        return contextlib.nullcontext()

    # ----------------------------------------------------------------- public interface
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def capabilities(self) -> frozenset[str]:
        return self.spec.capabilities

    @property
    def is_image_set(self) -> bool:
        """True once `set_image` has embedded an image."""
        return self._image_hw is not None

    @property
    def original_size(self) -> tuple[int, int] | None:
        """``(H, W)`` of the image set with `set_image`, or None."""
        return self._image_hw

    def num_parameters(self) -> int:
        """Number of parameters of the whole model (encoder, prompt encoder, decoder, and any memory modules)."""
        return sum(p.numel() for p in self.model.parameters())

    def set_image(self, image: Any) -> None:
        """Embed ``image`` (HxWx3 uint8 RGB, numpy or PIL) with the image encoder; prompts then refer to it.

        Grayscale and RGBA images are converted (with a warning); float and 16-bit images are
        rejected (see `samkit.images.to_rgb_uint8`).
        """
        rgb = to_rgb_uint8(image)
        self._image_hw = None
        self._predictor.set_image(rgb)
        self._image_hw = (int(rgb.shape[0]), int(rgb.shape[1]))

    def reset_image(self) -> None:
        """Forget the current image embedding."""
        reset = getattr(self._predictor, "reset_image", None) or self._predictor.reset_predictor
        reset()
        self._image_hw = None

    def predict(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict masks for prompts on the current image, exactly as the family's upstream predictor.

        Args:
            point_coords: ``(N, 2)`` points as ``(x, y)`` pixels of the original image.
            point_labels: ``(N,)`` labels, 1 = foreground, 0 = background.
            box: ``(4,)`` box, XYXY pixels.
            mask_input: ``(1, 256, 256)`` low-res logits from an earlier call (its third output).
            multimask_output: return 3 candidate masks (recommended for one ambiguous click) or 1.
            return_logits: return un-thresholded mask logits instead of boolean masks.

        Returns:
            masks: ``(C, H, W)`` bool (float32 logits if ``return_logits``), C = 3 or 1.
            scores: ``(C,)`` float32, the model's predicted IoU of each mask.
            low_res_logits: ``(C, 256, 256)`` float32, to feed back as ``mask_input``.
        """
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict().")
        prompts = validate_prompts(self._image_hw, point_coords, point_labels, box, mask_input)
        masks, scores, low_res = self._predictor.predict(
            point_coords=prompts.point_coords,
            point_labels=prompts.point_labels,
            box=prompts.box,
            mask_input=prompts.mask_input,
            multimask_output=multimask_output,
            return_logits=return_logits,
        )
        masks = np.asarray(masks, dtype=np.float32) if return_logits else np.asarray(masks).astype(bool)
        return masks, np.asarray(scores, dtype=np.float32), np.asarray(low_res, dtype=np.float32)

    def generate(self, image: Any, **params: Any) -> list[dict[str, Any]]:
        """Automatic "segment everything" masks with the family's upstream mask generator.

        ``params`` are the generator's own (``points_per_side``, ``pred_iou_thresh``,
        ``stability_score_thresh``, ``output_mode``, ...). Returns its records: dicts with
        ``segmentation`` (HxW bool, or RLE), ``area``, ``bbox`` (XYWH), ``predicted_iou``,
        ``point_coords``, ``stability_score``, ``crop_box``. Does not change the image set with
        `set_image`.
        """
        cls = self._mask_generator_class()
        allowed = [p for p in inspect.signature(cls.__init__).parameters
                   if p not in ("self", "model", "kwargs")]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise TypeError(
                f"{self.name}.generate() got unknown parameter(s) {unknown}; "
                f"the {cls.__name__} parameters are: {', '.join(allowed)}."
            )
        rgb = to_rgb_uint8(image)
        with self._quiet_upstream():
            generator = cls(self.model, **params)
        return generator.generate(rgb)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name!r} family={self.family} weights={self.weights} "
                f"device={self.device}>")
