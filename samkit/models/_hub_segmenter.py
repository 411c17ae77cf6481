"""`HubSegmenter`: the `Segmenter` of families that run a transformers model from a hub checkpoint folder.

A family subclass says which transformers config a named architecture is (``"full"``: the
released one; ``"tiny"``: a few-thousand-parameter one for tests and smoke runs), how to build its
module from a hub config, how the hub file's keys map onto that module, and which processor it
uses. Loading a checkpoint builds the architecture its ``config.json`` describes and loads
``model.safetensors`` key for key and shape for shape (`check_state_dict`).

Prompts follow segment-anything's SamPredictor (see `Segmenter.predict`); the one difference a
family may have is the size of its low-res logits (``low_res_size``: 256 for EdgeTAM, 288 for
SAM 3). ``mask_input`` may be given at that size or at 256x256 (the model's prompt encoder
resizes it, antialiased, as transformers does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from samkit.backends.transformers import check_state_dict, read_folder, transformers_module
from samkit.errors import NotReadyError, PromptError
from samkit.models._batching import outputs
from samkit.models._hf_predictor import TransformersPredictor
from samkit.models.base import Segmenter
from samkit.prompts import LOW_RES, Prompts, validate_prompts
from samkit.registry import ModelSpec

if TYPE_CHECKING:
    import torch

__all__ = ["HubSegmenter"]


class HubSegmenter(Segmenter):
    """A transformers SAM 2-style model behind the Segmenter interface (abstract; see the module docstring)."""

    #: ``samkit.load(name, weights="random", config=...)``: ``"full"`` or ``"tiny"`` (tests, smoke runs)
    build_options: ClassVar[dict[str, Any]] = {"config": "full"}
    #: hub-file key prefixes of modules samkit does not build (a tracker's video memory)
    ignorable_keys: ClassVar[tuple[str, ...]] = ()

    # ----------------------------------------------------------------- family hooks
    @classmethod
    def hub_config(cls, name: str) -> Any:
        """The transformers config (of the hub checkpoint's type) of the named architecture."""
        raise NotImplementedError

    @classmethod
    def build_from_config(cls, config: Any) -> torch.nn.Module:
        """The module samkit runs, built (default initialisation) from a hub-type config."""
        raise NotImplementedError

    @classmethod
    def map_hub_keys(cls, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Hub-file keys -> keys of `build_from_config`'s module (default: unchanged)."""
        return state_dict

    def _pvs_model(self) -> Any:
        """The transformers module that decodes point/box/mask prompts (``image_embeddings=`` forward)."""
        return self.model

    def _make_processor(self) -> Any:
        """The transformers processor of the point/box model."""
        raise NotImplementedError

    # ----------------------------------------------------------------- building and loading
    @classmethod
    def build_architecture(cls, spec: ModelSpec, config: str = "full") -> torch.nn.Module:
        """The ``config`` (``"full"`` or ``"tiny"``) architecture with default initialisation (CPU)."""
        names = ("full", "tiny")
        if config not in names:
            raise ValueError(f"config must be one of {names} for {spec.name}, got {config!r}.")
        return cls.build_from_config(cls.hub_config(config))

    @classmethod
    def load_checkpoint(cls, spec: ModelSpec, path: str) -> torch.nn.Module:
        """Build the architecture of the hub folder ``path`` and load its weights (all of them, checked)."""
        config, state_dict = read_folder(path)
        # every parameter and persistent buffer is overwritten below (checked first), so the
        # random initialisation is skipped (minutes for SAM 3's 850M parameters on a CPU)
        transformers_module()  # hub offline before transformers is imported
        from transformers.initialization import no_init_weights

        with no_init_weights():
            model = cls.build_from_config(config)
        mapped = cls.map_hub_keys(state_dict)
        check_state_dict(model, mapped, path, spec.name, cls.ignorable_keys)
        model.load_state_dict({k: mapped[k] for k in model.state_dict()}, strict=True)
        return model

    def _make_predictor(self, model: torch.nn.Module) -> TransformersPredictor:
        return TransformersPredictor(self._pvs_model(), self._make_processor())

    def _processor_folder(self) -> str | None:
        """The checkpoint folder, when it carries the processor's files (else None)."""
        from pathlib import Path

        path = self.weights.path
        if path and any((Path(path) / f).is_file() for f in ("processor_config.json", "preprocessor_config.json")):
            return path
        return None

    def _mask_generator_class(self) -> type:
        from samkit.models.grid_generator import GridMaskGenerator

        return GridMaskGenerator

    def reset_image(self) -> None:
        self._predictor.reset_image()
        self._image_hw, self._image_batch = None, None

    @property
    def low_res_size(self) -> int:
        """Side of the low-res logits (the third output of ``predict``): the prompt encoder's mask input size."""
        return int(self._pvs_model().prompt_encoder.mask_input_size[0])

    # ----------------------------------------------------------------- prediction
    def predict(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        *,
        text: Any = None,
        **text_options: Any,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`Segmenter.predict` (same shapes and conventions), low-res logits ``(C, s, s)`` with
        ``s = low_res_size``; ``mask_input`` ``(1, s, s)`` or ``(1, 256, 256)``; ``text`` as
        `Segmenter.predict`."""
        if text is not None or text_options:
            return super().predict(
                point_coords, point_labels, box, mask_input, multimask_output, return_logits, text=text, **text_options
            )
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict().")
        self._require_prompts(point_coords, box, mask_input)
        mask = self._mask_prompt(mask_input)
        if point_coords is None and point_labels is None and box is None:
            if mask is None:
                raise PromptError("predict() needs a prompt: point_coords/point_labels, box or mask_input.")
            prompts = Prompts(None, None, None, mask)
        else:
            p = validate_prompts(self._image_hw, point_coords, point_labels, box)
            prompts = Prompts(p.point_coords, p.point_labels, p.box, mask)
        with self._autocast():
            logits, scores, low_res = self._predictor.predict_torch(
                None if prompts.point_coords is None else prompts.point_coords[None],
                None if prompts.point_labels is None else prompts.point_labels[None],
                None if prompts.box is None else prompts.box[None],
                None if prompts.mask_input is None else prompts.mask_input[None],
                multimask_output,
            )
        masks = logits[0].numpy() if return_logits else (logits[0] > 0).numpy()
        return outputs(masks, scores[0].numpy(), low_res[0].numpy(), return_logits)

    def _mask_prompt(self, mask_input: Any) -> np.ndarray | None:
        """``(1, s, s)`` float32 logits with s = 256 or ``low_res_size``; `PromptError` otherwise."""
        if mask_input is None:
            return None
        mask = np.asarray(mask_input, dtype=np.float32)
        sizes = sorted({LOW_RES, self.low_res_size})
        if mask.ndim == 2:
            mask = mask[None]
        if mask.ndim != 3 or mask.shape[0] != 1 or mask.shape[1] != mask.shape[2] or mask.shape[1] not in sizes:
            shapes = " or ".join(f"(1, {s}, {s})" for s in sizes)
            raise PromptError(
                f"mask_input must be low-res logits of shape {shapes} (the third output "
                f"of an earlier predict), got {mask.shape}."
            )
        if not np.isfinite(mask).all():
            raise PromptError("mask_input contains NaN or infinite values.")
        return mask

    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool) -> tuple:
        logits, scores, low_res = self._predictor.predict_torch(None, None, boxes, None, multimask_output)
        return (logits > 0).numpy(), scores.numpy(), low_res.numpy()

    #: `predict_points`: one ``predict_torch`` call; `set_images`: the processor on all the
    #: images, one ``embed`` (vision encoder) pass, cut into single-image embeddings
    batched_decoder = True
    batched_encoder = True
    _image_state_keys: ClassVar[tuple[str, ...]] = ("embeddings", "original_size")

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        logits, scores, low_res = self._predictor.predict_torch(coords, labels, None, None, multimask_output)
        return (logits > 0).numpy(), scores.numpy(), low_res.numpy()

    def _embed_images(self, images: list) -> list[dict[str, Any]]:
        import torch

        from samkit.models._batching import slice_batch

        pred = self._predictor
        inputs = pred.processor(images=list(images), return_tensors="pt")
        with torch.inference_mode():
            embeddings = pred.embed(inputs["pixel_values"].to(pred.device))
        extra = {
            k: getattr(pred, k) for k in self._image_state_keys if k not in ("embeddings", "original_size")
        }  # e.g. SAM 3's detector embeddings
        return [
            {
                "embeddings": slice_batch(embeddings, i),
                "original_size": (int(rgb.shape[0]), int(rgb.shape[1])),
                **{k: _slice_output(v, i) for k, v in extra.items()},
            }
            for i, rgb in enumerate(images)
        ]

    def _predict_logits_batch(
        self, point_coords: Any, point_labels: Any, multimask_output: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batched decoder call for B point prompts (see `Segmenter._predict_logits_batch`)."""
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) first.")
        coords = np.asarray(point_coords, dtype=np.float64)
        labels = np.asarray(point_labels)
        if coords.ndim != 3 or coords.shape[-1] != 2 or labels.shape != coords.shape[:2]:
            raise PromptError(
                f"point_coords must be (B, K, 2) with point_labels (B, K); got {coords.shape} and {labels.shape}."
            )
        with self._autocast():
            logits, scores, _ = self._predictor.predict_torch(coords, labels, None, None, multimask_output)
        return logits, scores


def _slice_output(value: Any, i: int) -> Any:
    """Image ``i`` of a transformers model output (a ``ModelOutput`` of batched tensors)."""
    from samkit.models._batching import slice_batch

    if value is None or not hasattr(value, "to_tuple"):
        return slice_batch(value, i)
    return type(value)(**{k: slice_batch(v, i) for k, v in value.items()})


def default_processor(processor_cls: str, image_processor_cls: str, side: int, **kwargs: Any) -> Any:
    """A transformers processor with its image processor's defaults, resizing to ``side`` x ``side``."""
    transformers = transformers_module()
    image_processor = getattr(transformers, image_processor_cls)(size={"height": side, "width": side})
    return getattr(transformers, processor_cls)(image_processor=image_processor, target_size=side, **kwargs)
