"""Zero-shot CLIP tagging (transformers' ``CLIPModel`` + ``CLIPProcessor``).

Each vocabulary tag becomes the prompt ``"a photo of a {tag}."`` (CLIP's own zero-shot
template); a tag's score is the **softmax**, over the whole vocabulary, of CLIP's logits
``logit_scale.exp() * cos(image, prompt)`` -- exactly ``CLIPModel(...).logits_per_image.softmax(-1)``
(tests check it). Softmax, not sigmoid: CLIP was trained with a softmax contrastive loss, so
its logits are only meaningful relative to each other (they carry no bias; a sigmoid of them is
close to 1 for almost every tag). The scores therefore sum to 1 over the vocabulary: a
threshold is relative to the vocabulary's size and several objects in one image share the
mass. The prompts' text embeddings are computed once per tagger (on the first call) and cached.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from samkit.backends.transformers import clip_tokenizer, load_folder, seeded_build, transformers_module
from samkit.taggers.base import Tagger
from samkit.taggers.registry import TaggerSpec

__all__ = ["ClipTagger", "tiny_config", "full_config", "TEMPLATE"]

#: the prompt of each tag (CLIP's zero-shot template)
TEMPLATE = "a photo of a {}."
_TEXT_LEN = 77  # CLIP's text length
_TEXT_BATCH = 256  # prompts per text-encoder call when embedding the vocabulary
_TINY_SIDE = 32

#: the released architectures (the hub config.json of each repo); clip-vit-base-patch32 is
#: transformers' CLIPConfig default
_FULL = {
    "openai/clip-vit-base-patch32": {},
    "openai/clip-vit-large-patch14": dict(
        text_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12),
        vision_config=dict(
            hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24, patch_size=14
        ),
        projection_dim=768,
    ),
}


def tiny_config(tokenizer: Any) -> Any:
    """A tiny CLIP (one-layer ViT on 32x32 images, one-layer text model) for tests."""
    T = transformers_module()
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return T.CLIPConfig(
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
            image_size=_TINY_SIDE,
            patch_size=16,
        ),
        projection_dim=32,
    )


def full_config(spec: TaggerSpec, tokenizer: Any = None) -> Any:
    """The released architecture of ``spec`` (its hub repo's config.json, from `_FULL`); with a
    ``tokenizer`` (the local one of random builds), the text model's special ids are its own,
    so the text embedding is pooled at its end-of-text token."""
    T = transformers_module()
    kwargs = {k: dict(v) if isinstance(v, dict) else v for k, v in _FULL[spec.arch].items()}
    if tokenizer is not None:
        kwargs["text_config"] = {
            **kwargs.get("text_config", {}),
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
    return T.CLIPConfig(**kwargs)


def _pooled(out: Any) -> Any:
    """The projected embedding of ``get_text_features`` / ``get_image_features`` (transformers 5
    returns an output whose ``pooler_output`` holds it; older versions the tensor itself)."""
    return getattr(out, "pooler_output", out)


class ClipTagger(Tagger):
    """``clip_vit_b32`` / ``clip_vit_l14``: zero-shot tags, softmax over the vocabulary
    (see the module docstring); ``template`` is the prompt of each tag."""

    template: str = TEMPLATE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text_embeds: Any = None

    @classmethod
    def build_random(cls, spec: TaggerSpec, seed: int, config: str) -> tuple[Any, Any]:
        T = transformers_module()
        tokenizer = clip_tokenizer(_TEXT_LEN)
        if config == "tiny":
            cfg = tiny_config(tokenizer)
            image_processor = T.CLIPImageProcessor(
                size={"shortest_edge": _TINY_SIDE}, crop_size={"height": _TINY_SIDE, "width": _TINY_SIDE}
            )
        else:
            cfg = full_config(spec, tokenizer)
            image_processor = T.CLIPImageProcessor()  # 224 px resize + centre crop, CLIP's
        processor = T.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
        model = seeded_build(lambda: T.CLIPModel(cfg), seed)
        return model, processor

    @classmethod
    def load_checkpoint(cls, spec: TaggerSpec, path: str) -> tuple[Any, Any]:
        T = transformers_module()
        return load_folder(T.CLIPModel, T.CLIPProcessor, path, spec.name)

    def prompts(self) -> list[str]:
        """The text prompt of each vocabulary tag, in vocabulary order."""
        return [self.template.format(t) for t in self._vocabulary]

    def text_embeddings(self) -> Any:
        """``(V, D)`` L2-normalised text embeddings of `prompts` (a torch tensor on the model's
        device), computed on the first call and cached."""
        import torch

        if self._text_embeds is None:
            tokenizer = self.processor.tokenizer
            max_len = min(_TEXT_LEN, int(self.model.config.text_config.max_position_embeddings))
            prompts, chunks = self.prompts(), []
            with torch.inference_mode():
                for i in range(0, len(prompts), _TEXT_BATCH):
                    enc = tokenizer(
                        prompts[i : i + _TEXT_BATCH],
                        padding=True,
                        truncation=True,
                        max_length=max_len,
                        return_tensors="pt",
                    )
                    feats = _pooled(
                        self.model.get_text_features(
                            input_ids=enc["input_ids"].to(self.device),
                            attention_mask=enc["attention_mask"].to(self.device),
                        )
                    )
                    chunks.append(feats.float())
                text = torch.cat(chunks)
                self._text_embeds = text / text.norm(p=2, dim=-1, keepdim=True)
        return self._text_embeds

    def _scores(self, rgb: np.ndarray) -> np.ndarray:
        import torch

        text = self.text_embeddings()
        pixels = self.processor.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            image = _pooled(self.model.get_image_features(pixel_values=pixels.to(self.device))).float()
            image = image / image.norm(p=2, dim=-1, keepdim=True)
            logits = (image @ text.T) * self.model.logit_scale.float().exp()
            return logits[0].softmax(-1).cpu().numpy()
