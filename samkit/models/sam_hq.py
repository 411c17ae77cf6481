"""SAM-HQ (HQ-SAM ViT-B/L/H and Light HQ-SAM ViT-Tiny) through the ``segment-anything-hq`` package.

HQ-SAM keeps SAM's image encoder (ViT-B/L/H, or MobileSAM's TinyViT for ``vit_tiny``), prompt
encoder and mask decoder and adds a learned High-Quality output token whose mask is predicted from
the decoder's features fused with early and final encoder features. The package's ``SamPredictor``
and ``SamAutomaticMaskGenerator`` are segment-anything's, plus one option:

``hq_token_only`` (default ``False``, the upstream predictor's default)
    ``False``: every returned mask is SAM's mask logits plus the HQ mask logits ("use the HQ
    output to correct SAM's"). ``True``: the HQ mask alone. The SAM-HQ demo suggests ``False``
    for images with many objects and for quantitative evaluation (COCO, LVIS, DAVIS, ...), and
    ``True`` for images with a single object. Set it when loading
    (``samkit.load("sam_hq_vit_b", hq_token_only=True)``, or ``model.hq_token_only = True``) or
    per call: ``predict(..., hq_token_only=True)``, ``predict_boxes``, ``generate``.

Shapes and conventions are SAM's, with one difference: ``multimask_output=True`` returns **one**
mask, ``(1, H, W)`` / ``(1,)`` / ``(1, 256, 256)``: upstream keeps the best-scoring of SAM's three
multimask candidates (its score is that candidate's predicted IoU) and adds the HQ mask.
``multimask_output=False`` uses SAM's single-mask token plus the HQ mask.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

from samkit.models._sam_style import SamStylePredict
from samkit.models.base import Segmenter
from samkit.registry import ModelSpec
from samkit.weights import WeightsInfo


def _sam_hq() -> Any:
    """Import segment_anything_hq, hiding the warnings its TinyViT module's timm imports raise.

    (``timm.models.layers`` / ``timm.models.registry`` deprecations, and re-registering timm's
    ``tiny_vit_*`` names, as mobile_sam does.) segment-anything-hq imports timm without declaring
    it; samkit's dependencies include timm.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="timm")
        warnings.filterwarnings("ignore", message="Overwriting tiny_vit", category=UserWarning)
        import segment_anything_hq

    return segment_anything_hq


@functools.cache
def _classes() -> tuple[type, type]:
    """Upstream predictor and generator subclasses that take ``hq_token_only`` from the adapter.

    The predictor's ``hq_token_only`` attribute is the default of its ``predict`` /
    ``predict_torch`` (whose own argument still wins); under autocast its floating outputs are
    float32 (the upstream ``.numpy()`` calls fail on bfloat16). The generator is the upstream
    generator with that predictor, so ``generate`` honours ``hq_token_only`` (upstream's always
    uses ``False``) and SAM-HQ's ``multimask_output``. Nothing else changes.
    """
    import torch

    sam_hq = _sam_hq()

    class HqPredictor(sam_hq.SamPredictor):
        hq_token_only = False

        def predict(self, *args: Any, hq_token_only: bool | None = None, **kwargs: Any) -> tuple:
            hq = self.hq_token_only if hq_token_only is None else bool(hq_token_only)
            return super().predict(*args, hq_token_only=hq, **kwargs)

        def predict_torch(self, *args: Any, hq_token_only: bool | None = None, **kwargs: Any) -> tuple:
            hq = self.hq_token_only if hq_token_only is None else bool(hq_token_only)
            out = super().predict_torch(*args, hq_token_only=hq, **kwargs)
            return tuple(t.float() if t.is_floating_point() and t.dtype != torch.float32 else t for t in out)

    class HqMaskGenerator(sam_hq.SamAutomaticMaskGenerator):
        hq_token_only = False
        multimask_output = True

        def generate(self, image: Any) -> list[dict[str, Any]]:
            predictor = HqPredictor(self.predictor.model)
            predictor.hq_token_only = self.hq_token_only
            self.predictor = predictor
            return super().generate(image, multimask_output=self.multimask_output)

    HqPredictor.__name__ = sam_hq.SamPredictor.__name__
    HqMaskGenerator.__name__ = sam_hq.SamAutomaticMaskGenerator.__name__
    return HqPredictor, HqMaskGenerator


class SamHqSegmenter(SamStylePredict, Segmenter):
    """SAM-HQ; wraps ``segment_anything_hq.SamPredictor`` and ``SamAutomaticMaskGenerator``.

    Attributes:
        hq_token_only: default of ``predict`` / ``predict_boxes`` / ``generate`` (see the module
            docstring); ``samkit.load(name, hq_token_only=True)`` sets it.
    """

    #: only SAM-HQ's decoder has the HQ output token
    checkpoint_marker = "mask_decoder.hf_token.weight"
    load_options = {"hq_token_only": False}
    _image_state_keys = SamStylePredict._image_state_keys + ("interm_features",)

    def __init__(
        self, spec: ModelSpec, model: Any, weights: WeightsInfo, dtype: str = "float32", *, hq_token_only: bool = False
    ) -> None:
        self._hq_token_only = bool(hq_token_only)
        super().__init__(spec, model, weights, dtype)
        self._predictor.hq_token_only = self._hq_token_only
        self._generate_options: tuple[bool, bool] = (True, self._hq_token_only)

    @property
    def hq_token_only(self) -> bool:
        return self._hq_token_only

    @hq_token_only.setter
    def hq_token_only(self, value: bool) -> None:
        self._hq_token_only = bool(value)
        self._predictor.hq_token_only = self._hq_token_only

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        return _sam_hq().sam_model_registry[spec.arch](checkpoint=None)

    def _make_predictor(self, model: Any) -> Any:
        return _classes()[0](model)

    def _mask_generator_class(self) -> type:
        multimask, hq = self._generate_options
        return type(
            "SamAutomaticMaskGenerator",
            (_classes()[1],),
            {"multimask_output": multimask, "hq_token_only": hq, "__doc__": _classes()[1].__doc__},
        )

    @contextlib.contextmanager
    def _hq_for_call(self, hq_token_only: bool | None) -> Iterator[None]:
        self._predictor.hq_token_only = self._hq_token_only if hq_token_only is None else bool(hq_token_only)
        try:
            yield
        finally:
            self._predictor.hq_token_only = self._hq_token_only

    def predict(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        hq_token_only: bool | None = None,
        *,
        text: Any = None,
        **text_options: Any,
    ) -> tuple:
        """`Segmenter.predict`, plus ``hq_token_only`` (None: the model's ``hq_token_only``).

        ``multimask_output=True`` returns one mask here (see the module docstring).
        """
        with self._hq_for_call(hq_token_only):
            return super().predict(
                point_coords, point_labels, box, mask_input, multimask_output, return_logits, text=text, **text_options
            )

    def predict_boxes(self, boxes: Any, multimask_output: bool = False, hq_token_only: bool | None = None) -> tuple:
        """`Segmenter.predict_boxes`, plus ``hq_token_only`` (None: the model's ``hq_token_only``)."""
        with self._hq_for_call(hq_token_only):
            return super().predict_boxes(boxes, multimask_output)

    def predict_points(
        self, point_coords: Any, point_labels: Any, multimask_output: bool = True, hq_token_only: bool | None = None
    ) -> tuple:
        """`Segmenter.predict_points`, plus ``hq_token_only`` (None: the model's ``hq_token_only``);
        ``multimask_output=True`` gives one mask per set here (see the module docstring)."""
        with self._hq_for_call(hq_token_only):
            return super().predict_points(point_coords, point_labels, multimask_output)

    def generate(
        self, image: Any, *, multimask_output: bool = True, hq_token_only: bool | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        """`Segmenter.generate`, plus SAM-HQ's ``multimask_output`` (upstream ``generate``'s
        argument: True keeps one mask per point, the best-scoring candidate plus HQ) and
        ``hq_token_only`` (None: the model's ``hq_token_only``)."""
        hq = self._hq_token_only if hq_token_only is None else bool(hq_token_only)
        self._generate_options = (bool(multimask_output), hq)
        try:
            return super().generate(image, **params)
        finally:
            self._generate_options = (True, self._hq_token_only)
