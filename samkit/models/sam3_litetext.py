"""SAM3-LiteText (Zeng et al. 2026, arXiv:2602.12173) through transformers' ``Sam3LiteTextModel``.

SAM3-LiteText is SAM 3's concept detector with its 353M-parameter CLIP text encoder replaced by a
distilled MobileCLIP one; the ViT and the detector heads are SAM 3's. Three variants are
published on the hub by the authors (VIL, University of Bristol), converted for transformers
5.24 (``Sam3LiteTextModel``, context length 16):

============================  ==================  =========================================
hub repo                      text encoder        text encoder + projection (transformers)
============================  ==================  =========================================
``vil-uob/sam3-litetext-s0``  MobileCLIP-S0       6 layers (RepMixer first and last), 42.54M
``vil-uob/sam3-litetext-s1``  MobileCLIP-S1       12 transformer layers, 63.53M
``vil-uob/sam3-litetext-l``   MobileCLIP2-L       12 layers of width 768, 123.80M
============================  ==================  =========================================

The hub checkpoints hold the detector only (no SAM 2-style tracker, no video model), so the
only prompt is text: ``predict(text=...)`` / `predict_text`, exactly SAM 3's text path
(`samkit.models.sam3.Sam3Segmenter.predict_text`: every instance of each phrase, score
``sigmoid(logit) * sigmoid(presence)``, masks at the image size, ``(N, 288, 288)`` low-res
logits). Points, boxes, mask prompts, ``generate`` and video are not supported (the registry
capabilities say ``text`` only); transformers has no LiteText tracker or video model.

A checkpoint is the hub repo's folder (``config.json``: ``Sam3LiteTextConfig``,
``model.safetensors``, processor / tokenizer files); its keys are ``Sam3LiteTextModel``'s and are
loaded key for key under ``detector.``. ``samkit.load("sam3_litetext_s0", weights="random",
config="tiny")`` builds a 112x112-input variant (text tokenized by a stand-in without tokenizer
files, as for SAM 3). ``config="full"`` builds the variant the name says.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from samkit.backends.transformers import transformers_module
from samkit.errors import CheckpointError
from samkit.models.sam3 import Sam3Segmenter
from samkit.registry import ModelSpec

__all__ = ["Sam3LiteTextSegmenter", "Sam3LiteTextImage", "hub_config", "TEXT_CONFIGS"]

#: the released text encoders (from the authors' builder, efficientsam3 ``sam3_litetext`` branch):
#: MobileCLIP-S0 "mct" = 4 transformer layers between two RepMixer blocks; S1 and 2-L "base" stacks
TEXT_CONFIGS: dict[str, dict[str, Any]] = {
    "s0": {"num_hidden_layers": 6, "use_repmixer_blocks": True},
    "s1": {"num_hidden_layers": 12, "use_repmixer_blocks": False},
    "l": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "projection_dim": 768,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "use_repmixer_blocks": False,
    },
}
#: the "-16" checkpoints: text context of 16 tokens (position embeddings of 16)
CONTEXT = 16


def hub_config(name: str = "full", variant: str = "s0") -> Any:
    """``Sam3LiteTextConfig`` of the ``"full"`` architecture of ``variant`` (``"s0"``, ``"s1"``,
    ``"l"``), or of the ``"tiny"`` one (112x112 input, a three-layer text encoder with RepMixer
    blocks, for tests)."""
    transformers = transformers_module()
    if variant not in TEXT_CONFIGS:
        raise ValueError(f"variant must be one of {tuple(TEXT_CONFIGS)}, got {variant!r}.")
    if name == "full":
        return transformers.Sam3LiteTextConfig(
            text_config={**TEXT_CONFIGS[variant], "max_position_embeddings": CONTEXT}
        )
    if name != "tiny":
        raise ValueError(f"config must be one of ('full', 'tiny'), got {name!r}.")
    from samkit.models.sam3 import hub_config as sam3_hub_config

    detector = sam3_hub_config("tiny").detector_config.to_dict()
    text = {
        "vocab_size": 600,
        "hidden_size": 32,
        "intermediate_size": 64,
        "projection_dim": 32,
        "num_hidden_layers": 3,
        "num_attention_heads": 2,
        "max_position_embeddings": CONTEXT,
        "repmixer_kernel_size": 3,
    }
    parts = ("vision_config", "geometry_encoder_config", "detr_encoder_config", "detr_decoder_config")
    return transformers.Sam3LiteTextConfig(
        text_config=text,
        mask_decoder_config=detector["mask_decoder_config"],
        **{k: detector[k] for k in parts},
    )


class Sam3LiteTextImage(torch.nn.Module):
    """SAM3-LiteText's image model: ``detector`` (transformers' ``Sam3LiteTextModel``)."""

    def __init__(self, detector: Any) -> None:
        super().__init__()
        self.detector = detector


class _DetectorPredictor:
    """Embeds an image for the detector (``get_vision_features``); ``detector_embeds`` is what
    `Sam3Segmenter.predict_text` decodes phrases against."""

    def __init__(self, detector: Any, processor: Any) -> None:
        self.detector = detector
        self.processor = processor
        self.embeddings: Any = None
        self.detector_embeds: Any = None
        self.original_size: tuple[int, int] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.detector.parameters()).device

    def embed(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``(B, h*w, C)`` ViT features; keeps the whole ``Sam3VisionEncoderOutput`` in ``detector_embeds``."""
        self.detector_embeds = self.detector.get_vision_features(pixel_values=pixel_values)
        return self.detector_embeds.last_hidden_state

    def set_image(self, image: Any) -> None:
        inputs = self.processor(images=image, return_tensors="pt")
        with torch.inference_mode():
            self.embeddings = self.embed(inputs["pixel_values"].to(self.device))
        self.original_size = (int(image.shape[0]), int(image.shape[1]))

    def reset_image(self) -> None:
        self.embeddings = self.detector_embeds = self.original_size = None


class Sam3LiteTextSegmenter(Sam3Segmenter):
    """SAM3-LiteText: SAM 3's text prompts through transformers' ``Sam3LiteTextModel`` (see the
    module docstring); no point, box or mask prompts."""

    ignorable_keys: ClassVar[tuple[str, ...]] = ()
    video_tracker = ""
    encoder_path = "detector.vision_encoder.backbone"
    batched_decoder = False
    _image_state_keys: ClassVar[tuple[str, ...]] = ("embeddings", "original_size", "detector_embeds")

    @classmethod
    def build_architecture(cls, spec: ModelSpec, config: str = "full") -> torch.nn.Module:
        """The ``config`` (``"full"``: the variant of ``spec.arch``; ``"tiny"``) architecture (CPU)."""
        names = ("full", "tiny")
        if config not in names:
            raise ValueError(f"config must be one of {names} for {spec.name}, got {config!r}.")
        return cls.build_from_config(hub_config(config, spec.arch))

    @classmethod
    def hub_config(cls, name: str) -> Any:
        return hub_config(name)

    @classmethod
    def build_from_config(cls, config: Any) -> Sam3LiteTextImage:
        """`Sam3LiteTextImage` from a ``Sam3LiteTextConfig`` (the hub folder's ``config.json``)."""
        if getattr(config, "model_type", None) != "sam3_lite_text":
            raise CheckpointError(
                "a SAM3-LiteText checkpoint's config.json is a Sam3LiteTextConfig (model_type "
                f"'sam3_lite_text'); got model_type {getattr(config, 'model_type', None)!r}."
            )
        return Sam3LiteTextImage(transformers_module().Sam3LiteTextModel(config))

    @classmethod
    def map_hub_keys(cls, state_dict: dict[str, Any]) -> dict[str, Any]:
        return {"detector." + k: v for k, v in state_dict.items()}

    def _make_predictor(self, model: Any) -> _DetectorPredictor:
        return _DetectorPredictor(model.detector, self._text_processor())

    def _side(self) -> int:
        return int(self.model.detector.config.vision_config.backbone_config.image_size)

    @property
    def low_res_size(self) -> int:
        """Side of the detector's mask logits: 4x the ViT grid (288 at 1008 input)."""
        return int(self.model.detector.config.vision_config.backbone_feature_sizes[0][0])

    def _pvs_model(self) -> Any:
        raise NotImplementedError(f"{self.name} has no point/box decoder (its checkpoint is the detector only).")
