"""OWLv2 (transformers' ``Owlv2ForObjectDetection``): text phrases -> boxes.

Each phrase is one text query; a box's score is its best query's probability and its label that
phrase, as ``Owlv2Processor.post_process_grounded_object_detection`` computes them (tests check
the boxes and scores against it). OWLv2 pads the image to a square at the bottom-right, so its
boxes are relative to the padded side ``max(H, W)``; they are clipped to the image.
``text_threshold`` does not apply to OWLv2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.backends.transformers import clip_tokenizer, load_folder, seeded_build, transformers_module
from samkit.detectors.base import Detector
from samkit.detectors.detections import Detections, center_to_corners
from samkit.detectors.registry import DetectorSpec

__all__ = ["Owlv2Detector", "tiny_config", "full_config"]

_TEXT_LEN = 16  # OWLv2's text length (its tokenizer's model_max_length)


def tiny_config(tokenizer: Any) -> Any:
    """A tiny OWLv2 (one-layer ViT on 64x64 images, one-layer text model) for tests."""
    T = transformers_module()
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return T.Owlv2Config(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=_TEXT_LEN,
            **ids,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=64,
            patch_size=16,
        ),
        projection_dim=32,
    )


def full_config(tokenizer: Any) -> Any:
    """owlv2-base-patch16-ensemble's architecture: CLIP ViT-B/16 at 960 px, CLIP's text model."""
    T = transformers_module()
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return T.Owlv2Config(text_config=dict(**ids), vision_config=dict(image_size=960, patch_size=16))


class Owlv2Detector(Detector):
    """``owlv2_base``; ``box_threshold`` defaults to 0.1 (transformers' OWLv2 example)."""

    default_box_threshold = 0.1
    default_text_threshold = 0.0

    @classmethod
    def build_random(cls, spec: DetectorSpec, seed: int, config: str) -> tuple[Any, Any]:
        T = transformers_module()
        tokenizer = clip_tokenizer(_TEXT_LEN)
        cfg = tiny_config(tokenizer) if config == "tiny" else full_config(tokenizer)
        side = cfg.vision_config.image_size
        processor = T.Owlv2Processor(
            image_processor=T.Owlv2ImageProcessor(size={"height": side, "width": side}), tokenizer=tokenizer
        )
        model = seeded_build(lambda: T.Owlv2ForObjectDetection(cfg), seed)
        return model, processor

    @classmethod
    def load_checkpoint(cls, spec: DetectorSpec, path: str) -> tuple[Any, Any]:
        T = transformers_module()
        return load_folder(T.Owlv2ForObjectDetection, T.Owlv2Processor, path, spec.name)

    def _detect(self, rgb: np.ndarray, prompt: list[str], box_threshold: float, text_threshold: float) -> Detections:
        import torch

        h, w = rgb.shape[:2]
        inputs = self.processor(
            images=rgb, text=[prompt], return_tensors="pt", padding="max_length", truncation=True, max_length=_TEXT_LEN
        )
        with torch.inference_mode():
            out = self.model(**{k: v.to(self.device) for k, v in inputs.items()})
        probs = out.logits[0].float().sigmoid().cpu()  # (Q, phrases)
        scores, best = probs.max(-1)
        keep = torch.nonzero(scores > box_threshold).flatten()
        side = float(max(h, w))
        boxes = center_to_corners(out.pred_boxes[0].float().cpu()) * side
        labels = np.array([prompt[i] for i in best[keep].tolist()], dtype=object)
        return Detections(boxes[keep].numpy(), scores[keep].numpy(), labels, (h, w))
