"""SAM 3 (Carion et al. 2025, "SAM 3: Segment Anything with Concepts") through transformers.

SAM 3 is a detector and a tracker sharing one vision backbone (a 1008x1008-input ViT). samkit
builds the image parts of the released checkpoint, as one module (`Sam3Image`):

- ``tracker``: transformers' ``Sam3TrackerModel`` (SAM 2-style promptable visual segmentation,
  "PVS"): points, a box, a mask prompt, multimask output; used by ``predict``, ``predict_boxes``
  and ``generate`` (samkit's `GridMaskGenerator`). Processor: ``Sam3TrackerProcessor``.
- ``detector``: transformers' ``Sam3Model`` (promptable concept segmentation): ``predict(text=...)``
  returns every detected instance of a noun phrase. Processor: ``Sam3Processor``.

The two share the ViT backbone (one set of weights, counted once); ``set_image`` runs it **once**
and feeds both necks (the detector's, and the tracker's ``tracker_neck``), so point and text
prompts on one image cost one image encoding. The video tracker's memory modules in the hub file
are not built here; ``.video(frames)`` tracks prompted objects through transformers'
``Sam3TrackerVideoModel`` (`samkit.video.sam3_tracker`), which shares these tracker parts.

Shapes: masks ``(C, H, W)`` bool at the image's size, scores ``(C,)`` (the tracker's predicted IoU),
low-res logits ``(C, 288, 288)`` (SAM 3's mask size: 1008 / 14 * 4; a ``mask_input`` may be
``(1, 288, 288)`` or ``(1, 256, 256)``, which the prompt encoder resizes). ``predict(text=...)``:
``(N, H, W)`` masks of the N instances whose score (``sigmoid(logit) * sigmoid(presence)``) is above
``box_threshold`` (default 0.5, upstream's ``threshold``), best first, their ``(N,)`` scores, and
their ``(N, 288, 288)`` mask logits; N may be 0; ``"a dog. a cat."`` runs one query per phrase.
`Sam3Segmenter.predict_text` gives the same as a `samkit.pipelines.PipelineResult` (phrase, box,
mask, score per instance), the form every text model returns.

The checkpoint is the hub repo ``facebook/sam3`` (gated, SAM License): a folder with
``config.json`` (transformers' ``Sam3VideoConfig``), ``model.safetensors`` and the processor and
tokenizer files. Its keys are mapped as transformers maps them for ``Sam3TrackerModel``
(``detector_model.vision_encoder.backbone.`` -> the shared backbone, ``tracker_neck.`` -> the
tracker's neck, ``tracker_model.`` -> the tracker; files written by transformers 5.24's
``Sam3VideoModel.save_pretrained`` spell the last ``tracker_model.tracker_model.``, read as well).

``samkit.load("sam3", weights="random", config="tiny")`` builds a 112x112-input, few-hundred-thousand
parameter variant for tests and smoke runs; without tokenizer files a random-weights model tokenizes
text with a stand-in (ASCII characters; meaningless, like the weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from samkit.backends.transformers import transformers_module
from samkit.errors import CheckpointError, NotReadyError
from samkit.models._hf_predictor import TransformersPredictor
from samkit.models._hub_segmenter import HubSegmenter, default_processor

__all__ = ["Sam3Segmenter", "Sam3Image", "hub_config", "stand_in_tokenizer"]

#: tracker modules of the hub file (video memory) that the image tracker does not have
_VIDEO_ONLY = tuple(
    "tracker." + k
    for k in (
        "memory_",
        "mask_downsample",
        "object_pointer_proj",
        "temporal_positional_encoding_projection_layer",
        "no_memory_positional_encoding",
        "no_object_pointer",
        "occlusion_spatial_embedding_parameter",
    )
)


def hub_config(name: str = "full") -> Any:
    """``Sam3VideoConfig`` (the hub checkpoint's type) of the ``"full"`` or ``"tiny"`` architecture."""
    transformers = transformers_module()
    if name == "full":
        return transformers.Sam3VideoConfig()
    side, patch = 112, 14
    grid = side // patch
    # width 128 of the necks, the detector and the tracker: transformers' video memory takes 64-channel memories
    # (memory cross-attention kv_in_dim=64) and splits object pointers into 64-channel pieces,
    # which needs a tracker wider than 64 (the released one: 256); Sam3VideoModel builds the
    # tracker's neck from the detector's vision config, so both necks have that width
    width = 128
    vision = {
        "model_type": "sam3_vision_model",
        "fpn_hidden_size": width,
        "backbone_feature_sizes": [[4 * grid, 4 * grid], [2 * grid, 2 * grid], [grid, grid]],
        "backbone_config": {
            "model_type": "sam3_vit_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": side,
            "patch_size": patch,
            "window_size": 4,
            "global_attn_indexes": [1],
            "pretrain_image_size": 56,
        },
    }
    small = {"hidden_size": width, "num_attention_heads": 2, "intermediate_size": 64}
    detector = {
        "vision_config": vision,
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": 600,
            "hidden_size": 32,
            "intermediate_size": 64,
            "projection_dim": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
        },
        "geometry_encoder_config": {**small, "num_layers": 1},
        "detr_encoder_config": {**small, "num_layers": 1},
        "detr_decoder_config": {**small, "num_layers": 2, "num_queries": 8},
        "mask_decoder_config": {"hidden_size": width, "num_attention_heads": 2},
    }
    tracker = {
        "vision_config": vision,
        "image_size": side,
        "prompt_encoder_config": {"hidden_size": width, "image_size": side, "patch_size": patch},
        "mask_decoder_config": {
            "hidden_size": width,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        "memory_attention_hidden_size": width,
        "memory_attention_num_layers": 1,
        "memory_attention_feed_forward_hidden_size": 64,
        "memory_encoder_hidden_size": width,
        "memory_encoder_output_channels": 64,
        "mask_downsampler_embed_dim": width,
        "memory_fuser_embed_dim": width,
        "memory_fuser_intermediate_dim": 64,
        "memory_fuser_num_layers": 1,
    }
    return transformers.Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=4 * grid)


def stand_in_tokenizer() -> Any:
    """A CLIP tokenizer over printable ASCII characters (no merges), for models without tokenizer files.

    Token ids are below 200, inside any SAM 3 text vocabulary; the text it encodes means nothing
    to a model, which is right only for random weights (tests, latency).
    """
    transformers = transformers_module()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for code in range(33, 127):
        vocab[chr(code)] = len(vocab)
        vocab[chr(code) + "</w>"] = len(vocab)
    return transformers.CLIPTokenizer(vocab=vocab, merges=[])


class Sam3Image(torch.nn.Module):
    """SAM 3's image model: ``detector`` (``Sam3Model``) and ``tracker`` (``Sam3TrackerModel``)
    sharing ``detector.vision_encoder.backbone`` (``tracker.vision_encoder.backbone`` is the same
    module, so its parameters are counted once)."""

    def __init__(self, detector: Any, tracker: Any) -> None:
        super().__init__()
        tracker.vision_encoder.backbone = detector.vision_encoder.backbone
        self.detector = detector
        self.tracker = tracker


class _Sam3Predictor(TransformersPredictor):
    """The tracker's predictor, whose ``embed`` runs the shared backbone once for both models."""

    def __init__(self, image_model: Any, processor: Any) -> None:
        super().__init__(image_model.tracker, processor)
        self.image_model = image_model
        self.detector_embeds: Any = None

    def embed(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        """Tracker image embeddings (as ``Sam3TrackerModel.get_image_embeddings``); keeps the
        detector's vision embeddings (as ``Sam3Model.get_vision_features``) in ``detector_embeds``."""
        transformers = transformers_module()
        detector, tracker = self.image_model.detector, self.image_model.tracker
        vision = detector.vision_encoder
        hidden = vision.backbone(pixel_values).last_hidden_state  # (B, h*w, C)
        batch, patch = hidden.shape[0], vision.config.backbone_config.patch_size
        spatial = hidden.view(batch, pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch, -1).permute(
            0, 3, 1, 2
        )
        fpn, pos = vision.neck(spatial)
        self.detector_embeds = transformers.models.sam3.modeling_sam3.Sam3VisionEncoderOutput(
            last_hidden_state=hidden, fpn_hidden_states=fpn, fpn_position_encoding=pos
        )
        maps = list(tracker.vision_encoder.neck(spatial)[0])
        maps[0] = tracker.mask_decoder.conv_s0(maps[0])
        maps[1] = tracker.mask_decoder.conv_s1(maps[1])
        maps = [m.flatten(2).permute(2, 0, 1) for m in maps]
        maps[-1] = maps[-1] + tracker.no_memory_embedding
        return [m.permute(1, 2, 0).view(batch, -1, *size) for m, size in zip(maps, tracker.backbone_feature_sizes)]

    def reset_image(self) -> None:
        super().reset_image()
        self.detector_embeds = None


class Sam3Segmenter(HubSegmenter):
    """SAM 3; wraps transformers' ``Sam3TrackerModel`` + ``Sam3TrackerProcessor`` (points, boxes,
    masks) and ``Sam3Model`` + ``Sam3Processor`` (text), sharing one backbone."""

    ignorable_keys: ClassVar[tuple[str, ...]] = _VIDEO_ONLY
    video_tracker = "samkit.video.sam3_tracker:Sam3VideoTracker"
    encoder_path = "detector.vision_encoder.backbone"  # the backbone the tracker and detector share
    #: per image of `set_images`: the tracker's embeddings and the detector's (for text prompts)
    _image_state_keys: ClassVar[tuple[str, ...]] = ("embeddings", "original_size", "detector_embeds")

    @classmethod
    def hub_config(cls, name: str) -> Any:
        return hub_config(name)

    @classmethod
    def build_from_config(cls, config: Any) -> Any:
        """`Sam3Image` from a ``Sam3VideoConfig`` (the hub file's): its detector and (image) tracker."""
        transformers = transformers_module()
        if getattr(config, "detector_config", None) is None or getattr(config, "tracker_config", None) is None:
            raise CheckpointError(
                f"a SAM 3 checkpoint's config.json is a Sam3VideoConfig (detector_config "
                f"+ tracker_config); got model_type {config.model_type!r}."
            )
        detector = transformers.Sam3Model(config.detector_config)
        tracker = transformers.Sam3TrackerModel(config.tracker_config)
        return Sam3Image(detector, tracker)

    @classmethod
    def map_hub_keys(cls, state_dict: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        backbone = "vision_encoder.backbone."
        for key, value in state_dict.items():
            if key.startswith("detector_model."):
                rest = key[len("detector_model.") :]
                out["detector." + rest] = value
                if rest.startswith(backbone):
                    out["tracker." + rest] = value
            elif key.startswith("tracker_neck."):
                out["tracker.vision_encoder.neck." + key[len("tracker_neck.") :]] = value
            elif key.startswith("tracker_model."):
                # transformers 5.24's save_pretrained writes "tracker_model.tracker_model." (its
                # sam3_tracker renaming reversed once more); both spellings are read
                rest = key[len("tracker_model.") :]
                out["tracker." + rest.removeprefix("tracker_model.")] = value
            else:
                out[key] = value
        return out

    def _pvs_model(self) -> Any:
        return self.model.tracker

    def _make_predictor(self, model: Any) -> _Sam3Predictor:
        return _Sam3Predictor(model, self._make_processor())

    def _side(self) -> int:
        return int(self.model.tracker.config.prompt_encoder_config.image_size)

    def _make_processor(self) -> Any:
        folder = self._processor_folder()
        if folder is not None:
            return transformers_module().Sam3TrackerProcessor.from_pretrained(folder, local_files_only=True)
        return default_processor("Sam3TrackerProcessor", "Sam3ImageProcessor", self._side())

    def _text_processor(self) -> Any:
        """``Sam3Processor`` from the checkpoint folder's files, or (random weights) a stand-in."""
        if getattr(self, "_text_proc", None) is not None:
            return self._text_proc
        transformers = transformers_module()
        path = self.weights.path
        has_tokenizer = path is not None and any((Path(path) / f).is_file() for f in ("tokenizer.json", "vocab.json"))
        if has_tokenizer:
            self._text_proc = transformers.Sam3Processor.from_pretrained(path, local_files_only=True)
        elif self.weights.kind == "random":
            side = self._side()
            image_processor = transformers.Sam3ImageProcessor(size={"height": side, "width": side})
            self._text_proc = transformers.Sam3Processor(
                image_processor=image_processor, tokenizer=stand_in_tokenizer(), target_size=side
            )
        else:
            raise CheckpointError(
                f"{path} has no tokenizer files (tokenizer.json or vocab.json + merges.txt) for "
                f"{self.name}'s text prompts; download the whole hub repo with `samkit weights download "
                f"{self.name}`."
            )
        return self._text_proc

    def predict_text(
        self,
        text: str | list[str],
        *,
        box_threshold: float | None = None,
        text_threshold: float | None = None,
        mask_threshold: float = 0.5,
        return_logits: bool = False,
    ) -> Any:
        """SAM 3's own text path: every instance of each noun phrase of ``text`` on the image set,
        through ``Sam3Model`` and ``Sam3Processor.post_process_instance_segmentation``, one call
        per phrase (``"a dog. a cat."`` -> "a dog", "a cat").

        Args:
            text: ``"yellow school bus"``, ``"a dog. a cat."`` or a list of phrases.
            box_threshold: minimum instance score (``sigmoid(logit) * sigmoid(presence)``), default 0.5
                (upstream's ``threshold``).
            text_threshold: not used by SAM 3 (accepted so that every text model takes the same call).
            mask_threshold: probability above which a pixel is in the mask (upstream's, 0.5).
            return_logits: also give ``mask_logits`` (logits of upstream's upsampled probabilities,
                ``> logit(mask_threshold)`` gives the masks).

        Returns:
            `samkit.pipelines.PipelineResult`: one object per instance (``label`` its phrase,
            ``score`` = ``mask_score`` = the instance score, ``box`` XYXY pixels, ``mask`` HxW bool),
            best first over all phrases; ``low_res_logits`` ``(N, 288, 288)``; ``decoder_ms`` the
            time of this call (``detect_ms`` and ``encoder_ms`` NaN: there is no separate detector,
            and the image was embedded by `set_image`); ``detector`` ``"native"``.
        """
        import math

        from samkit.instances import PipelineResult, SegmentedObject
        from samkit.metrics.perf import timed
        from samkit.prompts import check_threshold, split_phrases

        self.require("text", "text prompts")
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict(text=...).")
        phrases = split_phrases(text)
        threshold = check_threshold("box_threshold", box_threshold, 0.5)
        check_threshold("mask_threshold", mask_threshold, 0.5)
        parts, decoder_ms = timed(
            lambda: [
                (phrase, self._phrase_instances(phrase, threshold, mask_threshold, return_logits)) for phrase in phrases
            ],
            self.device,
        )
        items = [(float(out["scores"][i]), phrase, out, i) for phrase, out in parts for i in range(len(out["scores"]))]
        items.sort(key=lambda item: -item[0])  # stable: phrase order among equal scores
        objects = [
            SegmentedObject(phrase, score, out["boxes"][i], out["masks"][i], score) for score, phrase, out, i in items
        ]
        side = self.low_res_size

        def stacked(key: str, empty: tuple[int, ...]) -> np.ndarray:
            if not items:
                return np.zeros((0, *empty), dtype=np.float32)
            return np.stack([out[key][i] for _, _, out, i in items]).astype(np.float32)

        logits = stacked("logits", self._image_hw) if return_logits else None
        return PipelineResult(
            objects,
            self._image_hw,
            math.nan,
            math.nan,
            decoder_ms,
            "native",
            self.name,
            phrases,
            low_res_logits=stacked("low_res_logits", (side, side)),
            mask_logits=logits,
        )

    def _phrase_instances(
        self, text: str, threshold: float, mask_threshold: float, return_logits: bool
    ) -> dict[str, np.ndarray]:
        """Instances of one phrase: upstream's post-processed masks, scores, boxes, low-res logits."""
        processor = self._text_processor()
        enc = processor(text=text, return_tensors="pt")
        dev = self.device
        with torch.inference_mode(), self._autocast():
            out = self.model.detector(
                vision_embeds=self._predictor.detector_embeds,
                input_ids=enc["input_ids"].to(dev),
                attention_mask=enc["attention_mask"].to(dev),
            )
        out.pred_logits, out.pred_boxes, out.pred_masks = (
            out.pred_logits.float(),
            out.pred_boxes.float(),
            out.pred_masks.float(),
        )
        if out.presence_logits is not None:
            out.presence_logits = out.presence_logits.float()
        result = processor.image_processor.post_process_instance_segmentation(
            out, threshold, mask_threshold, target_sizes=[list(self._image_hw)]
        )[0]
        scores = out.pred_logits[0].sigmoid()
        if out.presence_logits is not None:
            scores = scores * out.presence_logits[0].sigmoid()
        keep = torch.nonzero(scores > threshold).flatten()
        order = torch.argsort(scores[keep], descending=True, stable=True)
        low_res = out.pred_masks[0][keep][order]
        if len(keep):
            masks = result["masks"][order].cpu().numpy().astype(bool)
        else:  # upstream leaves an empty result at the low-res size
            masks = np.zeros((0, *self._image_hw), dtype=bool)
        found = {
            "masks": masks,
            "scores": result["scores"][order].cpu().numpy().astype(np.float32),
            "boxes": result["boxes"][order].cpu().numpy().astype(np.float32).reshape(-1, 4),
            "low_res_logits": low_res.cpu().numpy().astype(np.float32),
        }
        if return_logits:  # upstream upsamples probabilities bilinearly; return their logits
            probs = (
                torch.nn.functional.interpolate(
                    low_res.sigmoid()[None], size=self._image_hw, mode="bilinear", align_corners=False
                )[0]
                if len(keep)
                else torch.zeros((0, *self._image_hw))
            )
            found["logits"] = torch.logit(probs, eps=1e-6).cpu().numpy().astype(np.float32)
        return found
