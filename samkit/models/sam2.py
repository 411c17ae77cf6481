"""SAM 2 and SAM 2.1 (Hiera encoders) through the ``sam2`` package.

sam2 initialises Hydra's global state when imported, which would clash with an ``@hydra.main``
entry point. This adapter imports sam2 lazily, restores Hydra's global state afterwards, and builds
models from sam2's packaged YAML with OmegaConf + ``hydra.utils.instantiate``, which needs no global
Hydra state.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from importlib import resources
from typing import Any

from samkit.models.base import Segmenter
from samkit.registry import ModelSpec

#: The post-processing overrides `sam2.build_sam.build_sam2` applies by default for image prediction.
IMAGE_POSTPROCESSING = {
    "dynamic_multimask_via_stability": True,
    "dynamic_multimask_stability_delta": 0.05,
    "dynamic_multimask_stability_thresh": 0.98,
}


def import_sam2() -> None:
    """Import sam2 without leaving Hydra's global state initialised by the import."""
    from hydra.core.global_hydra import GlobalHydra

    was_initialized = GlobalHydra.instance().is_initialized()
    import sam2  # noqa: F401  (initialises GlobalHydra on first import)

    if not was_initialized and GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()


def model_config(spec: ModelSpec) -> Any:
    """The resolved OmegaConf ``model`` node of ``spec`` from sam2's packaged YAML."""
    from omegaconf import OmegaConf

    import_sam2()
    text = resources.files("sam2").joinpath(spec.arch).read_text()
    cfg = OmegaConf.create(text)
    extra = cfg.model.get("sam_mask_decoder_extra_args") or {}
    cfg.model.sam_mask_decoder_extra_args = {**extra, **IMAGE_POSTPROCESSING}
    OmegaConf.resolve(cfg)
    return cfg.model


class Sam2Segmenter(Segmenter):
    """SAM 2 / 2.1; wraps ``SAM2ImagePredictor``; ``generate`` is samkit's fast `Sam2GridMaskGenerator`
    (``engine="upstream"``: ``SAM2AutomaticMaskGenerator``)."""

    #: the FPN neck's key (EfficientTAM's files share the trunk's keys but not the neck's)
    checkpoint_marker = "image_encoder.neck.convs.0.conv.weight"
    video_tracker = "samkit.video.sam2_tracker:Sam2VideoTracker"

    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        from hydra.utils import instantiate

        return instantiate(model_config(spec), _recursive_=True)

    def _make_predictor(self, model: Any) -> Any:
        import_sam2()
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        with self._quiet_upstream():
            return SAM2ImagePredictor(model)

    def _predict_boxes(self, boxes: Any, multimask_output: bool) -> tuple:
        return self._predictor.predict(box=boxes, multimask_output=multimask_output)

    #: `predict_points`: one ``SAM2ImagePredictor.predict`` call with ``(N, K, 2)`` points;
    #: `set_images`: ``SAM2ImagePredictor.set_image_batch``, then one image's slice at a time
    batched_decoder = True
    batched_encoder = True
    #: what ``SAM2ImagePredictor.set_image`` sets (sam2 has no public names for them)
    _image_state_keys = ("_features", "_orig_hw", "_is_image_set", "_is_batch")

    def _predict_points(self, coords: Any, labels: Any, multimask_output: bool) -> tuple:
        return self._predictor.predict(point_coords=coords, point_labels=labels, multimask_output=multimask_output)

    def _embed_images(self, images: list) -> list[dict[str, Any]]:
        """``set_image_batch`` (one encoder pass), cut into single-image states as ``set_image``
        leaves them (``_features`` with a batch of 1, ``_orig_hw`` of one image, not a batch)."""
        from samkit.models._batching import slice_batch

        pred = self._predictor
        pred.set_image_batch(list(images))
        features = pred._features
        return [
            {
                "_features": slice_batch(features, i),
                "_orig_hw": [tuple(rgb.shape[:2])],
                "_is_image_set": True,
                "_is_batch": False,
            }
            for i, rgb in enumerate(images)
        ]

    @staticmethod
    @contextlib.contextmanager
    def _quiet_upstream() -> Iterator[None]:
        """sam2's predictor builds its transforms with torch.jit.script, which torch now deprecates."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
            yield

    def _mask_generator_class(self) -> type:
        from samkit.models.grid_generator import Sam2GridMaskGenerator

        return Sam2GridMaskGenerator

    def _upstream_mask_generator_class(self) -> type:
        import_sam2()
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        return SAM2AutomaticMaskGenerator

    def _grid_decode(self, points: Any, multimask_output: bool) -> Any:
        """`GridMaskGenerator`'s decoder pass (`samkit.models._fast_decoder`): one foreground point
        a prompt (``(B, 2)`` pixels of the set image), transformed as SAM2AutomaticMaskGenerator
        does; logits resized to the image as ``SAM2ImagePredictor`` does without hole filling.
        None (decode every mask the upstream way) for one mask a prompt with the decoder's
        stability-based choice, which needs all four low-res masks."""
        import numpy as np
        import torch

        from samkit.models._fast_decoder import decode_points, resize_bilinear
        from samkit.models._sparse_masks import bilinear_resize

        decoder = self.model.sam_mask_decoder
        if not multimask_output and decoder.dynamic_multimask_via_stability:
            return None
        pred = self._predictor
        orig_hw = pred._orig_hw[-1]
        points_t = torch.as_tensor(np.asarray(points), dtype=torch.float32, device=pred.device)
        coords = pred._transforms.transform_coords(points_t, normalize=True, orig_hw=orig_hw)
        features = pred._features
        high_res = [level[-1].unsqueeze(0) for level in features["high_res_feats"]]
        return decode_points(
            decoder,
            self.model.sam_prompt_encoder,
            features["image_embed"][-1].unsqueeze(0),
            coords,
            multimask_output,
            resize_bilinear(orig_hw),
            high_res,
            axes=bilinear_resize(tuple(4 * d for d in features["image_embed"].shape[-2:]), orig_hw),
        )
