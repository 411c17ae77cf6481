"""SAM 3.1 (Meta, 2026-03-27, ``facebook/sam3.1``) for images, through transformers' SAM 3 modules.

SAM 3.1 is SAM 3 with a new video tracker ("Object Multiplex": up to 16 objects per tracker pass).
Its image model is SAM 3's: the same ViT, concept detector and SAM 2-style point/box/mask head;
what changed for images is the neck, which has three heads of three levels each (scales 4, 2, 1)
instead of SAM 3's two heads of four levels (the fourth, 0.5, was discarded): ``convs`` feeds the
detector, ``interactive_convs`` the point/box/mask head, ``propagation_convs`` the video tracker.

Backend: transformers (chosen over ultralytics because samkit's SAM 3 adapter already drives
transformers' ``Sam3Model`` + ``Sam3TrackerModel`` behind every prompt kind: points, boxes,
masks, text and ``generate``). transformers has no SAM 3.1 loader, so samkit maps the original
checkpoint itself (`samkit.models._sam3_original_keys`) and loads it strictly: a tensor the
image model needs that the file lacks, a tensor of the file no rule covers, or a shape that
differs is a `samkit.errors.CheckpointError` naming the keys, never random weights (ultralytics
8.4.190 loads the same file with ``strict=False``). The tests check samkit's mapping against
ultralytics' own loader (``build_sam3._load_checkpoint``) on a synthetic SAM 3.1 file: the same
masks and scores through both backends.

What samkit builds (`samkit.models.sam3.Sam3Image`): the detector (``Sam3Model``) with a
three-level neck whose output the detector uses whole (`three_level_neck`: transformers' SAM 3
detector drops its neck's last level, which in SAM 3 is the discarded 0.5 one), and the tracker
(``Sam3TrackerModel``) with a three-level ``interactive_convs`` neck; the ViT is shared. Not
built: the video tracker (no backend implements Object Multiplex yet), so SAM 3.1 here has no
``video`` capability.

Shapes and prompts are SAM 3's (`samkit.models.sam3`): 1008x1008 input, low-res logits
``(C, 288, 288)``, ``predict(text=...)`` through the detector. Text prompts with the released
weights need SAM 3.1's CLIP tokenizer files (``tokenizer.json`` or ``vocab.json`` +
``merges.txt``) beside the checkpoint or in ``sam3.1_tokenizer/`` there: `fetch_parts`
downloads them from the hub repo with the checkpoint. ``samkit.load("sam3.1", weights="random",
config="tiny")`` builds a small variant for tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samkit.backends.transformers import transformers_module
from samkit.errors import CheckpointError
from samkit.models._sam3_original_keys import map_sam3_1_state_dict
from samkit.models.sam3 import Sam3Segmenter
from samkit.models.sam3 import hub_config as sam3_hub_config
from samkit.registry import ModelSpec

__all__ = ["Sam31Segmenter", "hub_config", "three_level_neck", "check_mapped", "TOKENIZER_FILES", "TOKENIZER_FOLDER"]

#: SAM 3.1's neck levels (Meta's multiplex builder: ``scale_factors=[4.0, 2.0, 1.0]``, none discarded)
SCALES = [4.0, 2.0, 1.0]
#: the hub repo's tokenizer / processor files that text prompts need (fetched by `fetch_parts`)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json")
#: folder beside the checkpoint where `fetch_parts` puts them
TOKENIZER_FOLDER = "sam3.1_tokenizer"


def hub_config(name: str = "full") -> Any:
    """A ``Sam3VideoConfig`` whose detector and tracker have SAM 3.1's three-level necks.

    ``"full"``: SAM 3's released sizes (1008x1008 input, ViT-L/14-sized backbone). ``"tiny"``:
    a 112x112-input variant whose sizes ultralytics' SAM 3 modules can also be built with (its
    SAM heads fix a 2048-wide MLP, 8 heads and a 256-wide IoU head), for tests and smoke runs.
    """
    transformers = transformers_module()
    if name == "full":
        config = transformers.Sam3VideoConfig()
    elif name == "tiny":
        config = _tiny_config(transformers)
    else:
        return sam3_hub_config(name)  # the same error for an unknown name
    config.detector_config.vision_config.scale_factors = list(SCALES)
    config.tracker_config.vision_config.scale_factors = list(SCALES)
    _meta_layer_norms(config)
    return config


def _meta_layer_norms(config: Any) -> None:
    """Layer-norm epsilons as Meta's SAM 3 code has them (``torch.nn.LayerNorm``'s 1e-5, in the ViT
    too: ``sam3/model/vitdet.py``); transformers' SAM 3 configs default to 1e-6."""
    detector = config.detector_config
    for sub in (
        detector.vision_config.backbone_config,
        detector.geometry_encoder_config,
        detector.detr_encoder_config,
        detector.detr_decoder_config,
        detector.mask_decoder_config,
        config.tracker_config.vision_config.backbone_config,
    ):
        sub.layer_norm_eps = 1e-5


def _tiny_config(transformers: Any) -> Any:
    side, patch, width = 112, 14, 64
    grid = side // patch
    vision = {
        "model_type": "sam3_vision_model",
        "fpn_hidden_size": width,
        "scale_factors": list(SCALES),
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
            "intermediate_size": 128,
            "projection_dim": 512,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "hidden_act": "gelu",  # SAM 3's text encoder (CLIPTextConfig's default is quick_gelu)
            "bos_token_id": 598,
            "eos_token_id": 599,
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
            "mlp_dim": 2048,
            "num_attention_heads": 8,
            "iou_head_hidden_dim": 256,
        },
    }
    return transformers.Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=4 * grid)


_NECK_CLASS: list[type] = []


def three_level_neck(neck: Any) -> Any:
    """Make ``neck`` (a three-level transformers ``Sam3VisionNeck``) SAM 3.1's detector neck: its
    output gets the last level once more at the end, for transformers' ``Sam3Model`` to drop (it
    discards the last of SAM 3's four levels, the 0.5 one); the detector then uses all three
    levels, as SAM 3.1 does. The extra entry is the same tensor (no cost) and has no weights, so
    the state dict keeps transformers' keys (``fpn_layers.0-2``)."""
    if not _NECK_CLASS:
        transformers_module()
        from transformers.models.sam3.modeling_sam3 import Sam3VisionNeck

        class ThreeLevelNeck(Sam3VisionNeck):
            """SAM 3.1's three-level detector neck (see `three_level_neck`)."""

            def forward(self, hidden_states: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
                states, positions = super().forward(hidden_states)
                return states + states[-1:], positions + positions[-1:]

        _NECK_CLASS.append(ThreeLevelNeck)
    neck.__class__ = _NECK_CLASS[0]
    return neck


class Sam31Segmenter(Sam3Segmenter):
    """SAM 3.1's image model (see the module docstring): SAM 3's interface, points, boxes, masks,
    text and ``generate``; loads Meta's ``sam3.1_multiplex.pt`` strictly."""

    #: no video tracker is built (Object Multiplex runs in no backend); `video` says so
    video_tracker = ""

    @classmethod
    def hub_config(cls, name: str) -> Any:
        return hub_config(name)

    @classmethod
    def build_from_config(cls, config: Any) -> Any:
        """`Sam3Image` with SAM 3.1's necks: the detector's made by `three_level_neck`, the tracker's
        three-level (``interactive_convs``)."""
        image = super().build_from_config(config)
        if len(config.detector_config.vision_config.scale_factors) != len(SCALES):
            raise CheckpointError(f"SAM 3.1's necks have {len(SCALES)} levels ({SCALES}); this config has others.")
        three_level_neck(image.detector.vision_encoder.neck)
        return image

    @classmethod
    def read_checkpoint(cls, path: str, spec: ModelSpec) -> dict[str, Any]:
        """The state dict of ``sam3.1_multiplex.pt``: its ``"model"`` dict (or the file itself when
        it is a flat dict of tensors), read with ``torch.load(weights_only=True)``: no code runs."""
        import pickle

        import torch

        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            first = (str(err).strip().splitlines() or ["unpickling error"])[0]
            raise CheckpointError(
                f"{path} is not a plain checkpoint of tensors: loading it would execute code from the file, "
                f"which samkit refuses ({first})."
            ) from None
        except (RuntimeError, EOFError, OSError, ValueError) as err:
            raise CheckpointError(
                f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {err}"
            ) from None
        if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
            obj = obj["model"]
        if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise CheckpointError(
                f"{path} is not in SAM 3.1's layout: expected a dict of tensors (under 'model', as "
                f"sam3.1_multiplex.pt), got {type(obj).__name__}."
            )
        return obj

    @classmethod
    def load_checkpoint(cls, spec: ModelSpec, path: str) -> Any:
        """The full architecture with the weights of Meta's SAM 3.1 file ``path``, mapped by
        samkit and loaded strictly (see the module docstring); nothing is half-loaded."""
        state = cls.read_checkpoint(path, spec)
        mapped = map_sam3_1_state_dict(state)
        transformers_module()
        from transformers.initialization import no_init_weights

        with no_init_weights():  # every tensor is overwritten below, after the check
            model = cls.build_from_config(hub_config(_config_name(mapped.tensors, path)))
        check_mapped(model, mapped, path, spec.name)
        model.load_state_dict({k: mapped.tensors[k] for k in model.state_dict()}, strict=True)
        return model

    @classmethod
    def fetch_parts(cls, spec: ModelSpec, path: str, *, download: bool = True, progress: bool = True) -> None:
        """The tokenizer files text prompts need (`TOKENIZER_FILES` of ``spec.hub_repo``), into
        ``sam3.1_tokenizer/`` beside the checkpoint at the registry's default location, unless
        they are there already. Nothing for an explicit ``checkpoint=`` file (nothing is written
        beside a user's file) or without ``download``: a text prompt then says where to put them."""
        from samkit.weights import default_path

        if not download or spec.hub_repo is None or _tokenizer_folder(path) is not None:
            return
        if Path(path).resolve() != default_path(spec).resolve():
            return
        from samkit.backends.transformers import download_hub_files

        download_hub_files(
            spec.hub_repo,
            list(TOKENIZER_FILES),
            spec.revision,
            Path(path).parent / TOKENIZER_FOLDER,
            name=spec.name,
            gated=spec.gated,
            progress=progress,
            optional=True,
        )

    def _processor_folder(self) -> str | None:
        return None  # SAM 3.1 preprocesses images as SAM 3: transformers' Sam3 defaults

    def _text_processor(self) -> Any:
        """``Sam3Processor`` with the checkpoint's tokenizer files, or (random weights) a stand-in."""
        if getattr(self, "_text_proc", None) is not None:
            return self._text_proc
        if self.weights.kind == "random" or self.weights.path is None:
            return super()._text_processor()
        folder = _tokenizer_folder(self.weights.path)
        if folder is None:
            where = Path(self.weights.path).parent
            raise CheckpointError(
                f"{self.name}'s text prompts need SAM 3.1's CLIP tokenizer files (tokenizer.json, or "
                f"vocab.json + merges.txt) from https://huggingface.co/{self.spec.hub_repo} in {where} "
                f"or {where / TOKENIZER_FOLDER}; samkit.load('{self.name}') fetches them for a checkpoint at "
                "the default location (SAMKIT_CHECKPOINTS)."
            )
        transformers = transformers_module()
        side = self._side()
        self._text_proc = transformers.Sam3Processor(
            image_processor=transformers.Sam3ImageProcessor(size={"height": side, "width": side}),
            tokenizer=transformers.CLIPTokenizerFast.from_pretrained(str(folder), local_files_only=True),
            target_size=side,
        )
        return self._text_proc


#: ViT width -> samkit architecture: the file carries no config, the width tells them apart
_WIDTHS = {1024: "full", 32: "tiny"}


def _config_name(tensors: dict[str, Any], path: str) -> str:
    """``"full"`` (the released width, 1024) or ``"tiny"`` (32, tests) from the file's ViT width."""
    patch = tensors.get("detector.vision_encoder.backbone.embeddings.patch_embeddings.projection.weight")
    width = None if patch is None else int(patch.shape[0])
    if width not in _WIDTHS:
        raise CheckpointError(
            f"{path} is not a SAM 3.1 checkpoint samkit knows: its ViT patch embedding "
            "(detector.backbone.vision_backbone.trunk.patch_embed.proj.weight) is "
            f"{'missing' if width is None else f'{width} wide'}; SAM 3.1's is 1024 wide."
        )
    return _WIDTHS[width]


def _tokenizer_folder(path: str) -> Path | None:
    """The folder with tokenizer files beside the checkpoint ``path`` (itself or ``sam3.1_tokenizer/``)."""
    base = Path(path).parent
    for folder in (base, base / TOKENIZER_FOLDER):
        if (folder / "tokenizer.json").is_file() or all((folder / f).is_file() for f in ("vocab.json", "merges.txt")):
            return folder
    return None


def check_mapped(model: Any, mapped: Any, path: str, name: str) -> None:
    """`CheckpointError` naming the keys unless the mapped file gives every tensor of ``model`` with
    its shape and every tensor of the file is mapped or ignored by a rule."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in mapped.tensors.items()}
    problems = [
        ("missing (the image model needs them, the file lacks them)", [k for k in expected if k not in got]),
        ("unexpected (no rule maps them)", list(mapped.unknown) + [k for k in got if k not in expected]),
        (
            "of another shape",
            [f"{k}: file {got[k]} vs model {expected[k]}" for k in expected if k in got and got[k] != expected[k]],
        ),
    ]
    parts = [
        f"{len(keys)} keys {label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for label, keys in problems
        if keys
    ]
    if parts:
        raise CheckpointError(
            f"{path} is not a SAM 3.1 checkpoint samkit can load as {name}: {'; '.join(parts)}. "
            "Nothing was loaded (no weight is left random)."
        )
