"""`AutomaticMasks`: `Segmenter.generate` ("segment everything"), through samkit's `GridMaskGenerator`
or the family's upstream generator, and the batched logits the grid generator asks for."""

from __future__ import annotations

import abc
import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.errors import UnsupportedError
from samkit.images import to_rgb_uint8
from samkit.params import ParameterSpec, check_choice

if TYPE_CHECKING:
    import torch

__all__ = ["AutomaticMasks", "GRID_PARAMETERS", "GENERATE_ENGINES"]

#: ``generate(engine=...)`` values
GENERATE_ENGINES = ("samkit", "upstream")

#: what each parameter of the point-grid generators takes (SamAutomaticMaskGenerator's names;
#: samkit's `GridMaskGenerator` and sam2's generator take the same, sam2 adds ``mask_threshold``
#: and ``use_m2m``): thresholds are fractions in [0, 1], counts integers
GRID_PARAMETERS: dict[str, ParameterSpec] = {
    "points_per_side": ParameterSpec.integer(low=1, allow_none=True),
    "points_per_batch": ParameterSpec.integer(low=1),
    "pred_iou_thresh": ParameterSpec.fraction(),
    "stability_score_thresh": ParameterSpec.fraction(),
    "stability_score_offset": ParameterSpec.number(low=0.0),
    "mask_threshold": ParameterSpec.number(),
    "box_nms_thresh": ParameterSpec.fraction(),
    "crop_n_layers": ParameterSpec.integer(low=0),
    "crop_nms_thresh": ParameterSpec.fraction(),
    "crop_overlap_ratio": ParameterSpec.number(low=0.0, high=1.0, high_open=True),
    "crop_n_points_downscale_factor": ParameterSpec.integer(low=1),
    "min_mask_region_area": ParameterSpec.integer(low=0),
    "output_mode": ParameterSpec.choice("binary_mask", "uncompressed_rle", "coco_rle"),
    "use_m2m": ParameterSpec.boolean(),
    "multimask_output": ParameterSpec.boolean(),
}


class AutomaticMasks(abc.ABC):
    """Automatic masks of a `Segmenter` (mixed into it)."""

    #: ``"grid"``: `generate` prompts a grid of points (SamAutomaticMaskGenerator's parameters);
    #: ``"everything"``: one pass of an everything model with its own parameters (FastSAM)
    generator_kind: str = "grid"
    #: the type and range of each `generate` parameter, checked before the generator is built
    #: (`samkit.params`); an "everything" family has its own table
    generate_parameters: dict[str, ParameterSpec] = GRID_PARAMETERS

    @abc.abstractmethod
    def _mask_generator_class(self) -> type:
        """The default generator class of `generate`: the upstream one, or samkit's `GridMaskGenerator`
        (families without one, and SAM / MobileSAM / SAM 2 for its fast decoder)."""

    def _upstream_mask_generator_class(self) -> type | None:
        """The upstream generator class, None for families that ship none (`generate`'s
        ``engine="upstream"``); by default `_mask_generator_class` unless that is samkit's."""
        cls = self._mask_generator_class()
        return None if getattr(cls, "takes_segmenter", False) else cls

    def _predict_logits_batch(
        self, point_coords: Any, point_labels: Any, multimask_output: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits for a batch of point prompts on the image set (used by `GridMaskGenerator`).

        Args:
            point_coords: ``(B, K, 2)`` float ``(x, y)`` pixels of the image set.
            point_labels: ``(B, K)`` labels, 1 = foreground, 0 = background.
        Returns:
            logits ``(B, C, H, W)`` float32 at the set image's size, scores ``(B, C)`` float32.

        This default calls `predict` once per prompt; a family may override it with one batched call.
        """
        import torch

        coords, labels = np.asarray(point_coords), np.asarray(point_labels)
        outs = [
            self.predict(point_coords=c, point_labels=lab, multimask_output=multimask_output, return_logits=True)[:2]
            for c, lab in zip(coords, labels)
        ]
        return (
            torch.stack([torch.from_numpy(m) for m, _ in outs]),
            torch.stack([torch.from_numpy(s) for _, s in outs]),
        )

    def check_generate_params(self, engine: str = "samkit", **params: Any) -> tuple[type, dict[str, Any]]:
        """``(generator class, checked params)`` of a `generate` call, before any work: the
        capability, ``engine``, unknown names (`TypeError` listing the generator's parameters) and
        each parameter's type and range (`samkit.errors.ParameterError`). Protocols call it once
        before a run, so a bad parameter fails at once rather than on every image."""
        self.require("automatic", "automatic mask generation")
        check_choice("engine", engine, GENERATE_ENGINES)
        if engine == "samkit":
            cls = self._mask_generator_class()
        elif engine == "upstream":
            cls = self._upstream_mask_generator_class()
            if cls is None:
                raise UnsupportedError(
                    f"{self.name} ({self.family}) has no upstream automatic mask "
                    "generator; use engine='samkit' (samkit's GridMaskGenerator)."
                )
        takes_segmenter = getattr(cls, "takes_segmenter", False)  # e.g. GridMaskGenerator
        allowed = [
            p
            for p in inspect.signature(cls.__init__).parameters
            if p not in ("self", "segmenter" if takes_segmenter else "model", "kwargs")
        ]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise TypeError(
                f"{self.name}.generate() got unknown parameter(s) {unknown}; "
                f"the {cls.__name__} parameters are: {', '.join(allowed)}."
            )
        return cls, ParameterSpec.check_all(self.generate_parameters, params, where=f"{self.name}.generate(): ")

    def generate(self, image: Any, *, engine: str = "samkit", **params: Any) -> list[dict[str, Any]]:
        """Automatic "segment everything" masks.

        ``engine="samkit"`` (default): samkit's `GridMaskGenerator` where the family has one
        (SAM, MobileSAM and SAM 2 with a faster decoder pass and the same masks as their upstream
        generators; EfficientSAM, SAM 3, EdgeTAM, which ship none), else the family's upstream
        generator. ``engine="upstream"``: the upstream generator (segment-anything's
        ``SamAutomaticMaskGenerator``, sam2's ``SAM2AutomaticMaskGenerator``, ...), where there is one.

        ``params`` are the generator's own (``points_per_side``, ``pred_iou_thresh``,
        ``stability_score_thresh``, ``output_mode``, ...), with the upstream generator's names
        and defaults. Returns its records: dicts with ``segmentation`` (HxW bool, or RLE),
        ``area``, ``bbox`` (XYWH), ``predicted_iou``, ``point_coords``, ``stability_score``,
        ``crop_box``. Does not change the image set with `set_image`.

        Every parameter is checked before any work (type and range, `generate_parameters`): a
        string for a number, a threshold outside [0, 1] (``pred_iou_thresh=88``) or a count below
        its minimum is a `samkit.errors.ParameterError` naming it, its value and what is allowed.
        """
        cls, params = self.check_generate_params(engine, **params)
        takes_segmenter = getattr(cls, "takes_segmenter", False)
        rgb = to_rgb_uint8(image)
        with self._quiet_upstream():
            generator = cls(self if takes_segmenter else self.model, **params)
        with self._autocast():
            return generator.generate(rgb)
