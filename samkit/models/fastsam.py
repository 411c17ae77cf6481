"""FastSAM (FastSAM-s / FastSAM-x) through ultralytics' ``FastSAMPredictor``.

FastSAM (Zhao et al. 2023, "Fast Segment Anything") is not a promptable decoder: it is a
one-class YOLOv8-seg instance segmenter ("segment everything") followed by a prompt-guided
*selection* among its masks. This adapter keeps that split:

- `set_image` runs the everything model once (ultralytics' ``FastSAMPredictor`` with the
  load options ``imgsz``, ``conf``, ``iou``, ``retina_masks``, ``max_det``) and caches its masks.
- `predict` selects among the cached masks exactly as ``FastSAMPredictor.prompt`` (ultralytics
  8.4.190, ``models/fastsam/predict.py``) does, by calling it:

  * box: the one mask with the highest IoU between the (integer, clipped) box and the mask
    (mask pixels inside the box / (box area + mask area - those pixels)); if the box overlaps no
    mask, the first (most confident) mask.
  * points: every mask that contains at least one foreground point (all masks if every point
    is a background point) and no background point; points are truncated to integer pixels.
  * box and points together: the union of both selections.

  The selected masks keep ultralytics' order (confidence, descending).

Outputs of `predict` for FastSAM (same types and ``(H, W)`` as every samkit model):

- ``multimask_output=True``: **all** selected masks, ``C >= 1`` (a box selects one; points may
  select several, e.g. nested masks); ``multimask_output=False``: the first (most confident) of
  them, ``C = 1``.
- ``scores``: the YOLO detection confidence of each selected mask (class score of FastSAM's one
  class, 0..1), **not** a predicted IoU.
- ``low_res_logits`` ``(C, 256, 256)``: the detection's mask logits (its 32 mask coefficients
  times YOLOv8-seg's 32 prototype masks), mapped back to the original image (letterbox padding
  removed, bilinear) and set to `OUTSIDE_LOGIT` outside the detection box (ultralytics crops its
  masks to the box), then resized to 256x256 over the whole image (aspect ratio not kept). They
  describe the mask; there is nothing to feed them back to (FastSAM takes no ``mask_input``).
  ``return_logits=True`` returns the same logits at ``(H, W)``; their sign matches the boolean
  masks except at a few boundary pixels (ultralytics thresholds after its own resampling).
- **No mask selected** (no detection above ``conf``, or no mask contains the points): one
  all-False mask with score 0.0 and logits `OUTSIDE_LOGIT`, so ``C >= 1`` always holds and the
  IoU of that answer is 0. Check ``scores[0] == 0`` to tell this case apart.

`predict_boxes` selects one mask per box (``C = 1``, whatever ``multimask_output``); `generate` is
FastSAM's everything mode (see its docstring); text prompts (FastSAM's CLIP selection) are not
exposed. The official files are full ultralytics checkpoints (a pickled model); samkit reads them
with ultralytics' restricted loader (``torch.load(weights_only=True)`` against its allow-list of
model classes, ``torch_safe_load(..., safe_only=True)``), never with an unrestricted unpickle.
ultralytics is imported offline (see `samkit.backends.ultralytics`). License: ultralytics is
AGPL-3.0 and labels its checkpoint files AGPL-3.0; CASIA-IVA-Lab/FastSAM states Apache-2.0.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from samkit.backends.ultralytics import import_ultralytics, quiet_ultralytics
from samkit.errors import CheckpointError
from samkit.images import to_rgb_uint8
from samkit.models.base import Segmenter
from samkit.params import ParameterSpec, check_choice
from samkit.registry import ModelSpec
from samkit.weights import WeightsInfo

__all__ = [
    "FastSamSegmenter",
    "save_checkpoint",
    "OUTSIDE_LOGIT",
    "EVERYTHING_DEFAULTS",
    "EVERYTHING_PARAMETERS",
]

#: logit value outside a detection's box and for the empty answer (sigmoid ~ 4e-44)
OUTSIDE_LOGIT = -100.0
LOW_RES = 256

#: FastSAM's everything-mode settings: the FastSAM README and the ultralytics FastSAM docs
#: (``retina_masks=True, imgsz=1024, conf=0.4, iou=0.9``); ``max_det`` is ultralytics' default
EVERYTHING_DEFAULTS: dict[str, Any] = {"imgsz": 1024, "conf": 0.4, "iou": 0.9, "retina_masks": True, "max_det": 300}


#: what each everything-mode setting takes (`generate` parameters and `samkit.load` options)
EVERYTHING_PARAMETERS: dict[str, ParameterSpec] = {
    "imgsz": ParameterSpec.integer(low=32),  # pixels, rounded up to a multiple of the stride 32
    "conf": ParameterSpec.fraction(),
    "iou": ParameterSpec.fraction(),
    "retina_masks": ParameterSpec.boolean(),
    "max_det": ParameterSpec.integer(low=1),
}

#: `generate`'s parameters: the everything pass's and the records' ``output_mode``
GENERATE_PARAMETERS: dict[str, ParameterSpec] = {
    **EVERYTHING_PARAMETERS,
    "output_mode": ParameterSpec.choice("binary_mask", "uncompressed_rle", "coco_rle"),
}


def _check_everything(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each everything-mode setting checked (`samkit.errors.ParameterError`)."""
    return ParameterSpec.check_all(EVERYTHING_PARAMETERS, params)


@functools.cache
def _predictor_class() -> type:
    """``FastSAMPredictor`` that also keeps each detection's mask coefficients and prototypes.

    Before the upstream ``construct_result`` runs, the (meaningless for one class) class column
    of each detection is set to its row number, so that after upstream's filtering of empty masks
    the kept rows are known; the class column is then restored. Nothing upstream computes changes.
    """
    import_ultralytics()
    import torch
    from ultralytics.models.fastsam import FastSAMPredictor

    class RawKeepingPredictor(FastSAMPredictor):
        def construct_result(self, pred, img, orig_img, img_path, proto):  # noqa: ANN001, ANN202
            cls_col = pred[:, 5].clone()
            coeffs = pred[:, 6:].clone()
            pred[:, 5] = torch.arange(len(pred), dtype=pred.dtype, device=pred.device)
            result = super().construct_result(pred, img, orig_img, img_path, proto)
            rows = result.boxes.data[:, 5].long() if len(result) else cls_col.new_zeros(0).long()
            boxes = pred[rows, :4].clone()  # original-image boxes, before FastSAM's border snapping
            result.boxes.data[:, 5] = cls_col[rows]
            result.samkit_raw = {
                "coeffs": coeffs[rows],
                "proto": proto,
                "boxes": boxes,
                "input_hw": tuple(img.shape[2:]),
            }
            return result

    RawKeepingPredictor.__name__ = FastSAMPredictor.__name__
    return RawKeepingPredictor


class _EverythingPredictor:
    """The everything pass and ultralytics' prompt selection, in SamPredictor's method shape."""

    def __init__(self, model: Any, device: Any, params: dict[str, Any]) -> None:
        self.params = dict(params)
        overrides = dict(
            task="segment",
            mode="predict",
            rect=True,
            batch=1,
            save=False,
            verbose=False,
            device=str(device),
            **self.params,
        )
        self.ultra = _predictor_class()(overrides=overrides)
        self.ultra.setup_model(model, verbose=False)  # a fused deep copy; ``model`` stays as it is
        self.result: Any = None
        self.masks: Any = None  # (N, H, W) bool torch tensor at the original size

    # ------------------------------------------------------------------ everything
    def run(self, rgb: np.ndarray, params: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """Everything mode on ``rgb`` (HxWx3 uint8): ultralytics' ``Results`` and (N, H, W) bool masks."""
        args = self.ultra.args
        saved = {k: getattr(args, k) for k in self.params}
        try:
            for key, value in (params or self.params).items():
                setattr(args, key, value)
            bgr = np.ascontiguousarray(rgb[..., ::-1])  # ultralytics reads numpy images as BGR
            result = self.ultra(bgr)[0]
        finally:
            for key, value in saved.items():
                setattr(args, key, value)
        return result, self.full_size_masks(result)

    @staticmethod
    def full_size_masks(result: Any) -> Any:
        """(N, H, W) bool masks at the original size, converted as ``FastSAMPredictor.prompt`` does."""
        import torch
        from ultralytics.utils.ops import scale_masks

        hw = tuple(result.orig_shape)
        if len(result) == 0 or result.masks is None:
            return torch.zeros((0, *hw), dtype=torch.bool, device=result.boxes.data.device)
        masks = result.masks.data
        if tuple(masks.shape[1:]) != hw:
            masks = scale_masks(masks[None].float(), hw)[0] > 0.5
        return masks.bool()

    def set_image(self, rgb: np.ndarray) -> None:
        self.result, self.masks = None, None
        self.result, self.masks = self.run(rgb)

    def reset_image(self) -> None:
        self.result, self.masks = None, None

    # ------------------------------------------------------------------ prompts
    def select(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
    ) -> Any:
        """Indices (into the everything masks) that ultralytics' ``prompt`` keeps, in its order."""
        import torch

        result = self.result
        if len(result) == 0:
            return torch.zeros(0, dtype=torch.long)
        indexed = copy.copy(result)  # the class column carries the row number through prompt()
        data = result.boxes.data.clone()
        data[:, 5] = torch.arange(len(data), dtype=data.dtype, device=data.device)
        indexed.boxes = type(result.boxes)(data, result.orig_shape)
        labels = None if point_labels is None else np.asarray(point_labels).astype(np.int64)
        chosen = self.ultra.prompt(indexed, bboxes=box, points=point_coords, labels=labels)[0]
        return chosen.boxes.data[:, 5].long() if len(chosen) else torch.zeros(0, dtype=torch.long)

    def logits(self, rows: Any) -> Any:
        """``(len(rows), H, W)`` float32 mask logits of the everything detections ``rows`` (see module doc)."""
        import torch
        import torch.nn.functional as F
        from ultralytics.utils.ops import scale_masks

        raw, hw = self.result.samkit_raw, tuple(self.result.orig_shape)
        proto = raw["proto"].float()
        c, mh, mw = proto.shape
        logits = (raw["coeffs"][rows].float() @ proto.view(c, -1)).view(-1, mh, mw)
        logits = F.interpolate(logits[None], raw["input_hw"], mode="bilinear")
        logits = scale_masks(logits, hw)[0]
        boxes = raw["boxes"][rows]
        cols = torch.arange(hw[1], device=logits.device, dtype=boxes.dtype)[None, None, :]
        lines = torch.arange(hw[0], device=logits.device, dtype=boxes.dtype)[None, :, None]
        x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
        inside = (cols >= x1) & (cols < x2) & (lines >= y1) & (lines < y2)
        return torch.where(inside, logits, torch.full_like(logits, OUTSIDE_LOGIT))

    def outputs(self, rows: Any, return_logits: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks, scores and low-res logits of the everything detections ``rows`` (one empty mask if none)."""
        import torch
        import torch.nn.functional as F

        h, w = self.result.orig_shape
        if len(rows) == 0:
            logits = torch.full((1, h, w), OUTSIDE_LOGIT)
            masks = logits if return_logits else torch.zeros((1, h, w), dtype=torch.bool)
            low = torch.full((1, LOW_RES, LOW_RES), OUTSIDE_LOGIT)
            return masks.numpy(), np.zeros(1, np.float32), low.numpy()
        rows = rows.to(self.masks.device)
        logits = self.logits(rows)
        low = F.interpolate(logits[None], (LOW_RES, LOW_RES), mode="bilinear")[0]
        masks = logits if return_logits else self.masks[rows]
        scores = self.result.boxes.conf[rows].float()
        return masks.cpu().numpy(), scores.cpu().numpy(), low.float().cpu().numpy()

    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: Any = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self.select(point_coords, point_labels, box)
        if not multimask_output:
            rows = rows[:1]
        return self.outputs(rows, return_logits)


class FastSamSegmenter(Segmenter):
    """FastSAM-s / FastSAM-x; wraps ultralytics' ``FastSAMPredictor`` (see the module docstring).

    Load options (``samkit.load("fastsam_s", imgsz=..., ...)``): the everything pass that
    `set_image` runs: ``imgsz`` (longest side the network sees, default 1024 = ``spec.input_size``;
    smaller is faster, e.g. for tests), ``conf`` (0.4), ``iou`` (0.9, NMS), ``retina_masks``
    (True: masks computed at the original resolution), ``max_det`` (300).

    ``num_parameters()`` counts the model as loaded (unfused: every Conv with its BatchNorm, the
    checkpoint's count: 11,790,483 for FastSAM-s, 71,751,811 for FastSAM-x). ultralytics fuses
    Conv+BN into a copy when it predicts (11,779,987 / 71,721,619); `fused_num_parameters`
    returns that count. Both round to the published 11.8M for FastSAM-s; the published 68M for
    FastSAM-x is below both (see the registry's ``params_source``).
    """

    generator_kind = "everything"
    generate_parameters = GENERATE_PARAMETERS

    #: the segmentation head's prototype branch (layer 22 of YOLOv8-seg); SAM-style files have none
    checkpoint_marker = "model.22.proto.cv1.conv.weight"
    load_options = dict(EVERYTHING_DEFAULTS)
    #: not compiled by samkit: ultralytics swaps modules (Conv+BN fusion) at its first prediction
    encoder_path = None

    def __init__(
        self, spec: ModelSpec, model: Any, weights: WeightsInfo, dtype: str = "float32", **options: Any
    ) -> None:
        if dtype != "float32":
            raise ValueError(
                f"{spec.name}: FastSAM runs in float32 only here (ultralytics' own "
                f"NMS and mask post-processing), got dtype={dtype!r}."
            )
        self.everything_params = _check_everything({**EVERYTHING_DEFAULTS, **options})
        super().__init__(spec, model, weights, dtype)

    # ----------------------------------------------------------------- family hooks
    @classmethod
    def build_architecture(cls, spec: ModelSpec) -> Any:
        """YOLOv8-seg (``spec.arch``, e.g. ``yolov8s-seg.yaml``) with one class, ultralytics' init."""
        import_ultralytics()
        from ultralytics.nn.tasks import SegmentationModel

        with quiet_ultralytics():
            model = SegmentationModel(spec.arch, nc=1, verbose=False)
        model.names = {0: "object"}
        return model

    @classmethod
    def read_checkpoint(cls, path: str | os.PathLike, spec: ModelSpec) -> dict[str, Any]:
        """State dict of an ultralytics checkpoint (``{"model": SegmentationModel, ...}``), read safely."""
        import pickle

        import_ultralytics()
        from ultralytics.nn.tasks import torch_safe_load

        if Path(path).suffix != ".pt":
            raise CheckpointError(f"{path}: ultralytics checkpoints are .pt files.")
        try:
            ckpt, _ = torch_safe_load(str(path), safe_only=True)
        except (TypeError, pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CheckpointError(
                f"{path} is not an ultralytics checkpoint samkit can read safely (weights_only load "
                f"against ultralytics' allow-list of model classes): {first}"
            ) from None
        module = (ckpt.get("ema") or ckpt.get("model")) if isinstance(ckpt, dict) else None
        if module is None or not hasattr(module, "state_dict"):
            keys = sorted(ckpt)[:5] if isinstance(ckpt, dict) else type(ckpt).__name__
            raise CheckpointError(
                f"{path} is not in the ultralytics layout: expected a dict with a "
                f"'model' module (as FastSAM-s.pt), got {keys}."
            )
        return {k: v.float() if v.is_floating_point() else v for k, v in module.state_dict().items()}

    def _make_predictor(self, model: Any) -> _EverythingPredictor:
        return _EverythingPredictor(model, self.device, self.everything_params)

    def _mask_generator_class(self) -> type:
        raise NotImplementedError("FastSAM's generate() is its own everything mode")

    def check_generate_params(self, engine: str = "samkit", **params: Any) -> tuple[type, dict[str, Any]]:
        """``(FastSamSegmenter, checked params)``: names (`TypeError` listing them) and each
        parameter's type and range (`samkit.errors.ParameterError`) of its everything mode."""
        self.require("automatic", "automatic mask generation")
        check_choice("engine", engine, ("samkit",))
        allowed = list(self.generate_parameters)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise TypeError(
                f"{self.name}.generate() got unknown parameter(s) {unknown}; FastSAM's "
                f"everything-mode parameters are: {', '.join(allowed)}."
            )
        return type(self), ParameterSpec.check_all(self.generate_parameters, params, where=f"{self.name}.generate(): ")

    def _predict_boxes(self, boxes: np.ndarray, multimask_output: bool) -> tuple:
        """One everything pass serves every box; ultralytics' selection runs per box (one mask each)."""
        outs = [self._predictor.outputs(self._predictor.select(box=b)[:1], False) for b in boxes]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    #: `set_images` runs the everything pass image by image (ultralytics' predictor here is
    #: set up for batch 1); `predict_points` selects per point set (no decoder to batch)
    batched_decoder = False
    batched_encoder = False
    _image_state_keys = ("result", "masks")

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        """One mask per point set (``C = 1``, whatever ``multimask_output``, as `predict_boxes`):
        the first (most confident) mask ultralytics' selection keeps for that set."""
        outs = [
            self._predictor.outputs(self._predictor.select(point_coords=c, point_labels=lab)[:1], False)
            for c, lab in zip(coords, labels)
        ]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    # the load options, readable back (``Segmenter._sibling`` rebuilds an adapter from them)
    imgsz = property(lambda self: self.everything_params["imgsz"])
    conf = property(lambda self: self.everything_params["conf"])
    iou = property(lambda self: self.everything_params["iou"])
    retina_masks = property(lambda self: self.everything_params["retina_masks"])
    max_det = property(lambda self: self.everything_params["max_det"])

    # ----------------------------------------------------------------- public interface
    def fused_num_parameters(self) -> int:
        """Parameters of the Conv+BN-fused copy ultralytics predicts with."""
        return sum(p.numel() for p in self._predictor.ultra.model.model.parameters())

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
        """Select among the masks of `set_image`'s everything pass as ultralytics' FastSAM does.

        Args:
            point_coords: ``(N, 2)`` points, ``(x, y)`` pixels (truncated to integers upstream).
            point_labels: ``(N,)`` 1 = foreground, 0 = background.
            box: ``(4,)`` XYXY pixels.
            mask_input: not supported by FastSAM (`UnsupportedError` naming the models that are).
            multimask_output: True: every selected mask (``C >= 1``); False: the most confident one.
            return_logits: return the masks' logits (see the module docstring) instead of booleans.

        Returns:
            masks ``(C, H, W)`` bool, scores ``(C,)`` float32 (YOLO confidences, not IoU
            estimates), low-res logits ``(C, 256, 256)`` float32; one all-False mask with score 0
            when nothing is selected.
        """
        return super().predict(
            point_coords, point_labels, box, mask_input, multimask_output, return_logits, text=text, **text_options
        )

    def generate(self, image: Any, **params: Any) -> list[dict[str, Any]]:
        """FastSAM's everything mode: one record per detected mask, most confident first.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL).
            **params: ``imgsz``, ``conf``, ``iou``, ``retina_masks``, ``max_det`` (the everything
                pass; default: the load options, by default FastSAM's ``imgsz=1024, conf=0.4,
                iou=0.9, retina_masks=True`` and ultralytics' ``max_det=300``) and
                ``output_mode``: ``"binary_mask"`` (HxW bool, default), ``"uncompressed_rle"`` or
                ``"coco_rle"`` (as SamAutomaticMaskGenerator). SAM's generator parameters
                (``points_per_side``, ...) do not apply: any other name is a ``TypeError``.

        Returns SamAutomaticMaskGenerator-shaped records:

        - ``segmentation``: the mask at the image size (as `predict` returns it); ``area``: its
          pixel count; ``bbox``: the mask's tight box, XYWH pixels (not the YOLO box, which
          FastSAM snaps to the image border).
        - ``predicted_iou``: the YOLO detection confidence (FastSAM predicts no IoU); it is the
          score the records are ranked by, as SAM's generator ranks by its predicted IoU.
        - ``point_coords``: ``[]`` (no point prompts in everything mode); ``stability_score``:
          NaN (not computed: it needs SAM's logit thresholds); ``crop_box``: the whole image
          ``[0, 0, W, H]`` (no crops). These three carry no information for FastSAM.

        Masks that are empty at the image size are dropped. Does not change the image set with
        `set_image`.
        """
        _, checked = self.check_generate_params(**params)
        output_mode = checked.pop("output_mode", "binary_mask")
        everything = {**self.everything_params, **checked}
        rgb = to_rgb_uint8(image)
        result, masks = self._predictor.run(rgb, everything)
        return _records(masks, result.boxes.conf, output_mode)


def _records(masks: Any, conf: Any, output_mode: str) -> list[dict[str, Any]]:
    """SamAutomaticMaskGenerator-style records of ``masks`` (N, H, W) bool with confidences ``conf``."""
    import torch
    from segment_anything.utils.amg import (
        area_from_rle,
        batched_mask_to_box,
        coco_encode_rle,
        mask_to_rle_pytorch,
    )

    h, w = masks.shape[1:]
    keep = masks.flatten(1).any(1)
    masks, conf = masks[keep], conf[keep]
    if len(masks) == 0:
        return []
    xyxy = batched_mask_to_box(masks)  # SAM's convention: x1, y1, x2, y2 of the extreme pixels
    boxes = torch.cat([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1).tolist()  # XYWH, as SAM's records
    rles = mask_to_rle_pytorch(masks) if output_mode != "binary_mask" else None
    records = []
    for i in range(len(masks)):
        if output_mode == "binary_mask":
            segmentation = masks[i].cpu().numpy()
            area = int(segmentation.sum())
        else:
            area = int(area_from_rle(rles[i]))
            segmentation = coco_encode_rle(rles[i]) if output_mode == "coco_rle" else rles[i]
        records.append(
            {
                "segmentation": segmentation,
                "area": area,
                "bbox": [float(v) for v in boxes[i]],
                "predicted_iou": float(conf[i]),
                "point_coords": [],
                "stability_score": float("nan"),
                "crop_box": [0, 0, int(w), int(h)],
            }
        )
    return records


def save_checkpoint(model: Any, path: str | os.PathLike, imgsz: int = 1024) -> Path:
    """Save a YOLOv8-seg ``model`` (e.g. ``samkit.load("fastsam_s", weights="random").model``) as
    an ultralytics checkpoint in the layout of the released FastSAM-s.pt / FastSAM-x.pt.

    The layout is what ultralytics' own ``strip_optimizer`` writes for released files: a dict
    with the model as an fp16 ``SegmentationModel`` under ``"model"``, ``"train_args"``
    (``task="segment"``, ``imgsz``), ``"epoch": -1``, ``"date"``, ``"version"``, ``"license"``,
    ``"docs"``, and ``None`` for ``optimizer`` / ``ema`` / ``updates`` / ``best_fitness`` /
    ``scaler`` / ``stopper``. Both ``FastSAM(path)`` and ``samkit.load(name, checkpoint=path)``
    read it. The weights are rounded to float16, as in the released files.
    """
    import torch

    import_ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer

    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"ultralytics checkpoints must end in .pt, got {path.name!r}")
    module = copy.deepcopy(model).cpu().float()
    torch.save({"model": module, "train_args": {"task": "segment", "imgsz": int(imgsz), "single_cls": True}}, path)
    with quiet_ultralytics():
        strip_optimizer(path)
    return path
