"""Grounding DINO (transformers' ``GroundingDinoForObjectDetection``): text -> boxes.

``detect`` joins the phrases as Grounding DINO expects (``"a dog. a cat."``, lower case), runs
the processor and the model, and keeps the queries whose best token probability passes
``box_threshold``, exactly as ``GroundingDinoProcessor.post_process_grounded_object_detection``
does (tests check the boxes and scores against it). Each kept box is labelled with the prompt
phrase that holds its best token (transformers' own ``text_labels`` instead join the tokens
above ``text_threshold``, which may straddle phrases); boxes whose best phrase has no token
above ``text_threshold`` are dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.backends.transformers import bert_tokenizer, load_folder, seeded_build, transformers_module
from samkit.detectors.base import Detector
from samkit.detectors.detections import Detections, center_to_corners
from samkit.detectors.registry import DetectorSpec

__all__ = ["GroundingDinoDetector", "tiny_config", "full_config", "prompt_text"]


def prompt_text(phrases: list[str]) -> str:
    """``["a dog", "a cat"]`` -> ``"a dog. a cat."`` (Grounding DINO's prompt format)."""
    return " ".join(f"{p}." for p in phrases)


def tiny_config(vocab_size: int) -> Any:
    """A tiny Grounding DINO (Swin, BERT and transformer of a few thousand weights) for tests."""
    T = transformers_module()
    return T.GroundingDinoConfig(
        backbone_config=T.SwinConfig(
            embed_dim=16,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            window_size=7,
            out_indices=[2, 3, 4],
            image_size=224,
        ),
        text_config=T.BertConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=64,
        ),
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,  # decoder_layers >= 2 (see DESIGN pitfalls)
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_queries=20,
        num_feature_levels=4,
        max_text_len=32,
    )


def full_config(spec: DetectorSpec) -> Any:
    """The released architecture: transformers' defaults are grounding-dino-tiny's (Swin-T);
    grounding-dino-base has a Swin-B backbone (as its hub config.json)."""
    T = transformers_module()
    if spec.name == "grounding_dino_base":
        backbone = T.SwinConfig(
            embed_dim=128,
            depths=[2, 2, 18, 2],
            num_heads=[4, 8, 16, 32],
            window_size=12,
            image_size=384,
            out_indices=[2, 3, 4],
        )
        return T.GroundingDinoConfig(backbone_config=backbone)
    return T.GroundingDinoConfig()


class GroundingDinoDetector(Detector):
    """``grounding_dino_tiny`` / ``grounding_dino_base``; thresholds default to Grounded-SAM's
    (box 0.35, text 0.25)."""

    default_box_threshold = 0.35
    default_text_threshold = 0.25

    @classmethod
    def build_random(cls, spec: DetectorSpec, seed: int, config: str) -> tuple[Any, Any]:
        T = transformers_module()
        tokenizer = bert_tokenizer()
        cfg = tiny_config(len(tokenizer)) if config == "tiny" else full_config(spec)
        size = (
            {"shortest_edge": 128, "longest_edge": 192}
            if config == "tiny"
            else {"shortest_edge": 800, "longest_edge": 1333}
        )
        processor = T.GroundingDinoProcessor(
            image_processor=T.GroundingDinoImageProcessor(size=size), tokenizer=tokenizer
        )
        model = seeded_build(lambda: T.GroundingDinoForObjectDetection(cfg), seed)
        return model, processor

    @classmethod
    def load_checkpoint(cls, spec: DetectorSpec, path: str) -> tuple[Any, Any]:
        T = transformers_module()
        return load_folder(T.GroundingDinoForObjectDetection, T.GroundingDinoProcessor, path, spec.name)

    def _chunks(self, phrases: list[str]) -> list[list[str]]:
        """``phrases`` in consecutive groups whose prompt fits the model's ``max_text_len`` tokens
        (with [CLS] and [SEP]); one phrase that alone does not fit is a `PromptError`."""
        from samkit.errors import PromptError

        limit = int(self.model.config.max_text_len)
        tokenizer = self.processor.tokenizer

        def length(group: list[str]) -> int:
            return len(tokenizer(prompt_text(group))["input_ids"])

        chunks: list[list[str]] = []
        for phrase in phrases:
            if length([phrase]) > limit:
                raise PromptError(
                    f"{self.name}: the phrase {phrase!r} is {length([phrase])} tokens "
                    f"with [CLS]/[SEP]; the model reads at most {limit}."
                )
            if chunks and length(chunks[-1] + [phrase]) <= limit:
                chunks[-1].append(phrase)
            else:
                chunks.append([phrase])
        return chunks

    def _detect(self, rgb: np.ndarray, prompt: list[str], box_threshold: float, text_threshold: float) -> Detections:
        """One forward pass per group of phrases that fits ``max_text_len`` tokens (one pass for
        a short prompt; a long vocabulary, e.g. 80 COCO names, is queried in groups, as
        Grounded-SAM does), the detections of every group together."""
        chunks = self._chunks(prompt)
        if len(chunks) == 1:
            return self._detect_chunk(rgb, prompt, box_threshold, text_threshold)
        parts = [self._detect_chunk(rgb, c, box_threshold, text_threshold) for c in chunks]
        h, w = rgb.shape[:2]
        return Detections(
            np.concatenate([d.boxes for d in parts]).reshape(-1, 4),
            np.concatenate([d.scores for d in parts]),
            np.concatenate([np.asarray(d.labels, dtype=object) for d in parts]),
            (h, w),
        )

    def _detect_chunk(
        self, rgb: np.ndarray, prompt: list[str], box_threshold: float, text_threshold: float
    ) -> Detections:
        import torch

        h, w = rgb.shape[:2]
        text = prompt_text(prompt)
        inputs = self.processor(images=rgb, text=text, return_tensors="pt", return_offsets_mapping=True)
        offsets = inputs.pop("offset_mapping")[0].tolist()
        with torch.inference_mode():
            out = self.model(**{k: v.to(self.device) for k, v in inputs.items()})
        probs = out.logits[0].float().sigmoid().cpu()  # (Q, max_text_len); padded tokens give 0
        scores = probs.max(-1).values
        keep = scores > box_threshold
        boxes = center_to_corners(out.pred_boxes[0].float().cpu()) * torch.tensor([w, h, w, h])
        phrase_tokens = _phrase_tokens(text, prompt, offsets)
        labels, good = [], []
        for q in torch.nonzero(keep).flatten().tolist():
            best = [float(probs[q, idx].max()) if idx else -1.0 for idx in phrase_tokens]
            p = int(np.argmax(best))
            if best[p] > text_threshold:
                labels.append(prompt[p])
                good.append(q)
        return Detections(boxes[good].numpy(), scores[good].numpy(), np.array(labels, dtype=object), (h, w))


def _phrase_tokens(text: str, phrases: list[str], offsets: list[list[int]]) -> list[list[int]]:
    """Token positions of each phrase of ``text`` (from the tokenizer's character offsets)."""
    spans, start = [], 0
    for p in phrases:
        begin = text.index(p, start)
        spans.append((begin, begin + len(p)))
        start = begin + len(p)
    return [[i for i, (a, b) in enumerate(offsets) if b > a and a >= lo and b <= hi] for lo, hi in spans]
