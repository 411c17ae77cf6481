"""`GridMaskGenerator`: automatic "segment everything" masks for any `Segmenter`.

segment-anything's ``SamAutomaticMaskGenerator`` algorithm written over the Segmenter interface,
with the same parameters, defaults and output records: the generator of the families that ship
none (EfficientSAM, SAM 3, EdgeTAM), and, over the fast grid decoder of
`samkit.models._fast_decoder` (a segmenter's ``_grid_decode``), the default generator of SAM,
MobileSAM and SAM 2 (`Sam2GridMaskGenerator`: sam2's parameters), faster than theirs:

1. crop boxes: the whole image, then ``crop_n_layers`` layers of ``(2**i)**2`` overlapping crops;
2. per crop: embed it, prompt one foreground point per grid cell (``points_per_batch`` points a
   decoder call, through the segmenter's ``_grid_decode`` where it has one, else
   ``_predict_logits_batch``), keep masks with predicted IoU ``> pred_iou_thresh`` and stability
   score ``>= stability_score_thresh`` (each filter only when its threshold is > 0), binarise the
   logits at the mask threshold, drop masks whose box touches a crop edge that is not an image
   edge (within 20 pixels), box NMS at ``box_nms_thresh`` (by predicted IoU);
3. across crops: box NMS at ``crop_nms_thresh`` preferring masks from smaller crops;
4. if ``min_mask_region_area > 0``: fill holes and remove islands smaller than it (8-connected),
   then box NMS at ``max(box_nms_thresh, crop_nms_thresh)`` preferring unchanged masks.

The fast grid decoder makes low-res logits only for the candidates past the IoU filter, and
the stability score, mask, box and area of their image-size logits come from the low-res logits
and the resize described per axis (`samkit.models._sparse_masks`): whole cells of pixels decided
from the low-res window bounds, only the pixels near a threshold interpolated, so the image-size
logits are never made; masks are kept small (cells and edge pixels, or packed bits) until the
records need them. The other families resize every kept candidate's logits, as upstream does.

The user's image set on the segmenter is left alone: the work runs on a sibling Segmenter
(`Segmenter._sibling`) that shares the same ``torch.nn.Module`` but has its own image state.

Between chunks of model work (after each crop's encoder pass and after each decoder batch of
``points_per_batch`` points) `GridMaskGenerator.generate` calls the callable in the context
variable `between_batches`, if one is set (none by default: no call, no change). The segmentation
service sets it to hand the model to waiting clicks (`samkit.serve.lanes`); the callback may run
other model work on other segmenters, but must not touch this generator's sibling, which holds
the crop being decoded. The masks do not depend on it.

Records (one dict per mask, best first within each NMS step), exactly upstream's keys:
``segmentation`` (HxW bool, or an RLE dict for the RLE output modes), ``area`` (int pixels),
``bbox`` (XYWH ints, upstream's convention: ``w = x1 - x0`` of the inclusive pixel box),
``predicted_iou`` (float), ``point_coords`` (``[[x, y]]`` pixels of the image), ``stability_score``
(float), ``crop_box`` (XYWH ints).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.images import to_rgb_uint8
from samkit.masks import encode_rle, rle_json, to_pycoco_rle

if TYPE_CHECKING:
    import torch

    from samkit.models.base import Segmenter

__all__ = [
    "GridMaskGenerator",
    "Sam2GridMaskGenerator",
    "OUTPUT_MODES",
    "point_grid",
    "layer_point_grids",
    "crop_boxes",
    "stability_score",
    "mask_boxes",
    "masks_to_rle",
    "rle_to_mask",
    "rle_area",
    "coco_rle",
    "remove_small_regions",
    "between_batches",
]

#: the ``output_mode`` values of the generators (SamAutomaticMaskGenerator's)
OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")
#: logits above this are mask pixels (SAM's ``mask_threshold``)
MASK_THRESHOLD = 0.0
#: a box side within this many pixels of a crop edge (that is not an image edge) drops the mask
CROP_EDGE_TOLERANCE = 20.0

#: called (no arguments) by `GridMaskGenerator.generate` between chunks of model work: after each
#: crop's ``set_image`` and after each decoder batch; None (the default): nothing is called. Set it
#: for one thread's calls with ``token = between_batches.set(fn)`` ... ``between_batches.reset(token)``.
between_batches: ContextVar[Callable[[], object] | None] = ContextVar("samkit_between_batches", default=None)


def _between_batches() -> None:
    hook = between_batches.get()
    if hook is not None:
        hook()


# --------------------------------------------------------------------------- grids and crops
def point_grid(n_per_side: int) -> np.ndarray:
    """``(n*n, 2)`` float64 cell centres of an ``n x n`` grid on ``[0, 1]^2`` as ``(x, y)``, x fastest."""
    if n_per_side < 1:
        return np.empty((0, 2))
    half_cell = 0.5 / n_per_side
    centres = np.linspace(half_cell, 1 - half_cell, n_per_side)
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def layer_point_grids(n_per_side: int, n_layers: int, downscale: int) -> list[np.ndarray]:
    """One `point_grid` per crop layer ``0..n_layers``; layer ``i`` has ``int(n / downscale**i)`` a side."""
    return [point_grid(int(n_per_side / downscale**i)) for i in range(n_layers + 1)]


def crop_boxes(image_hw: tuple[int, int], n_layers: int, overlap_ratio: float) -> tuple[list[list[int]], list[int]]:
    """Crop boxes (XYXY int pixels) and their layer: the whole image, then ``(2**i)**2`` crops a layer.

    Crops of layer ``i`` overlap by ``int(overlap_ratio * short_side * 2 / 2**i)`` pixels and are
    listed column by column (x outer, y inner), as upstream.
    """
    height, width = image_hw
    boxes, layers = [[0, 0, width, height]], [0]
    short_side = min(height, width)
    for layer in range(1, n_layers + 1):
        n = 2**layer
        overlap = int(overlap_ratio * short_side * (2 / n))
        crop_w = math.ceil((overlap * (n - 1) + width) / n)
        crop_h = math.ceil((overlap * (n - 1) + height) / n)
        xs = [int((crop_w - overlap) * i) for i in range(n)]
        ys = [int((crop_h - overlap) * i) for i in range(n)]
        for x0, y0 in product(xs, ys):
            boxes.append([x0, y0, min(x0 + crop_w, width), min(y0 + crop_h, height)])
            layers.append(layer)
    return boxes, layers


# --------------------------------------------------------------------------- mask utilities
def stability_score(logits: torch.Tensor, offset: float, threshold: float = MASK_THRESHOLD) -> torch.Tensor:
    """IoU of the masks ``logits > threshold + offset`` and ``logits > threshold - offset``.

    ``logits``: ``(N, H, W)``; returns ``(N,)`` float32 (NaN where both masks are empty).
    """
    inner = (logits > threshold + offset).flatten(-2).sum(-1)
    outer = (logits > threshold - offset).flatten(-2).sum(-1)
    return inner / outer


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` bool masks -> ``(N, 4)`` int64 XYXY boxes of inclusive pixel indices; 0s if empty."""
    import torch

    n, height, width = masks.shape
    if n == 0:
        return torch.zeros(0, 4, dtype=torch.int64, device=masks.device)
    rows = masks.any(dim=-1).to(torch.uint8)  # (N, H)
    cols = masks.any(dim=-2).to(torch.uint8)  # (N, W)
    y0 = rows.argmax(dim=-1)
    y1 = height - 1 - rows.flip(-1).argmax(dim=-1)
    x0 = cols.argmax(dim=-1)
    x1 = width - 1 - cols.flip(-1).argmax(dim=-1)
    boxes = torch.stack([x0, y0, x1, y1], dim=-1).to(torch.int64)
    return boxes * rows.any(dim=-1, keepdim=True)


def masks_to_rle(masks: torch.Tensor) -> list[dict[str, Any]]:
    """``(N, H, W)`` bool masks -> uncompressed COCO RLEs ``{"size": [H, W], "counts": [...]}``.

    Counts are column-major run lengths starting with a (possibly empty) run of zeros.
    """
    import torch

    n, height, width = masks.shape
    if n == 0:
        return []
    flat = masks.transpose(1, 2).reshape(n, -1)
    rows, cols = (flat[:, 1:] != flat[:, :-1]).nonzero(as_tuple=True)
    per_mask = torch.bincount(rows, minlength=n).tolist()
    starts_all = (cols + 1).cpu()
    first_on = flat[:, 0].tolist()
    total = torch.tensor([height * width])
    zero = torch.zeros(1, dtype=starts_all.dtype)
    out = []
    for starts, on in zip(torch.split(starts_all, per_mask), first_on):
        counts = torch.diff(torch.cat([zero, starts, total])).tolist()
        out.append({"size": [height, width], "counts": [0, *counts] if on else counts})
    return out


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Uncompressed COCO RLE -> ``(H, W)`` bool mask."""
    height, width = rle["size"]
    counts = np.asarray(rle["counts"], dtype=np.int64)
    values = np.arange(len(counts)) % 2 == 1
    return np.ascontiguousarray(np.repeat(values, counts).reshape(width, height).T)


def rle_area(rle: dict[str, Any]) -> int:
    """Number of mask pixels of an uncompressed RLE."""
    return int(sum(rle["counts"][1::2]))


def coco_rle(rle: dict[str, Any]) -> dict[str, Any]:
    """Uncompressed RLE -> pycocotools' compressed RLE with ``counts`` as a str (JSON-serialisable)."""
    height, width = rle["size"]
    return rle_json(to_pycoco_rle(rle, height, width))


def remove_small_regions(mask: np.ndarray, min_area: float, mode: str) -> tuple[np.ndarray, bool]:
    """Fill holes (``mode="holes"``) or remove islands (``"islands"``) smaller than ``min_area`` pixels.

    Regions are 8-connected. If every island is small, the largest one is kept. Returns the
    ``(H, W)`` bool mask and whether it changed.
    """
    from scipy import ndimage

    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    holes = mode == "holes"
    labels, n = ndimage.label(~mask if holes else mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    small = sizes < min_area
    if not small.any():
        return mask, False
    if holes:
        return mask | np.isin(labels, np.flatnonzero(small) + 1), True
    keep = np.flatnonzero(~small) + 1
    if len(keep) == 0:
        keep = np.array([int(np.argmax(sizes)) + 1])
    return np.isin(labels, keep), True


# --------------------------------------------------------------------------- the generator
@dataclass
class _RleMask:
    """A mask stored as its uncompressed RLE (the path that makes image-size logits)."""

    rle: dict[str, Any]

    @property
    def area(self) -> int:
        return rle_area(self.rle)

    def to_bool(self) -> np.ndarray:
        return rle_to_mask(self.rle)


def _rle_of(mask: Any) -> dict[str, Any]:
    """The uncompressed RLE of a stored mask (`_RleMask`, or `samkit.models._sparse_masks`' small forms)."""
    import torch

    if isinstance(mask, _RleMask):
        return mask.rle
    return masks_to_rle(torch.from_numpy(mask.to_bool())[None])[0]


@dataclass
class _Found:
    """Masks found so far, stored small (each has ``to_bool()`` and ``area``), plus per-mask CPU
    tensors, all in image pixels."""

    masks: list[Any]
    boxes: torch.Tensor  # (N, 4) int64 XYXY
    scores: torch.Tensor  # (N,) float32 predicted IoU
    stability: torch.Tensor  # (N,) float32
    points: torch.Tensor  # (N, 2) (x, y), `GridMaskGenerator.point_dtype`
    crop_boxes: torch.Tensor  # (N, 4) int64 XYXY

    def __len__(self) -> int:
        return len(self.masks)

    def take(self, keep: torch.Tensor) -> _Found:
        """The masks at indices (or where the bool mask is True) ``keep``, in that order."""
        import torch

        idx = keep.nonzero().flatten() if keep.dtype == torch.bool else keep
        idx = idx.cpu()
        return _Found(
            [self.masks[i] for i in idx.tolist()],
            self.boxes[idx],
            self.scores[idx],
            self.stability[idx],
            self.points[idx],
            self.crop_boxes[idx],
        )

    @staticmethod
    def concat(parts: list[_Found]) -> _Found:
        import torch

        if not parts:
            return _Found(
                [],
                torch.zeros(0, 4, dtype=torch.int64),
                torch.zeros(0),
                torch.zeros(0),
                torch.zeros(0, 2, dtype=torch.float64),
                torch.zeros(0, 4, dtype=torch.int64),
            )
        return _Found(
            [r for p in parts for r in p.masks],
            *(
                torch.cat([getattr(p, k) for p in parts])
                for k in ("boxes", "scores", "stability", "points", "crop_boxes")
            ),
        )


def _nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by box NMS, by decreasing score (torchvision's ``batched_nms``, one category)."""
    import torch
    from torchvision.ops import batched_nms

    return batched_nms(boxes.float(), scores, torch.zeros(len(boxes), dtype=torch.int64), iou_threshold)


class GridMaskGenerator:
    """SamAutomaticMaskGenerator's algorithm over any `Segmenter` (see the module docstring).

    Use it through ``segmenter.generate(image, **params)`` (families return this class from
    ``_mask_generator_class()``), or directly: ``GridMaskGenerator(segmenter, **params).generate(image)``.

    Args:
        segmenter: the `Segmenter` to predict with; the image set on it is not changed.
        points_per_side: grid points along each side (``points_per_side**2`` prompts in layer 0);
            exactly one of it and ``point_grids`` must be given.
        points_per_batch: point prompts per decoder call (memory vs speed).
        pred_iou_thresh: keep masks whose predicted IoU is above this (0 disables the filter).
        stability_score_thresh: keep masks whose stability score is at least this (0 disables).
        stability_score_offset: logit offset of the stability score's two thresholds.
        box_nms_thresh: box IoU cutoff of the NMS within each crop.
        crop_n_layers: crop layers after the whole image; layer ``i`` has ``(2**i)**2`` crops.
        crop_nms_thresh: box IoU cutoff of the NMS across crops.
        crop_overlap_ratio: overlap of layer-1 crops as a fraction of the image's short side.
        crop_n_points_downscale_factor: layer ``i`` uses ``points_per_side / factor**i`` points a side.
        point_grids: explicit grids, one ``(N, 2)`` array of ``(x, y)`` in ``[0, 1)`` per layer.
        min_mask_region_area: if > 0, fill holes and remove islands smaller than this (pixels).
        output_mode: ``"binary_mask"`` (HxW bool), ``"uncompressed_rle"`` or ``"coco_rle"``.
        multimask_output: 3 candidate masks per point (True, upstream's behaviour) or 1; as SAM 2's
            generator parameter of the same name.
    """

    #: `Segmenter.generate` passes the Segmenter itself (not its ``.model``)
    takes_segmenter = True
    #: the records' ``point_coords`` precision (segment-anything keeps float64 grid points)
    point_dtype = "float64"

    def __init__(
        self,
        segmenter: Segmenter,
        points_per_side: int | None = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: list[np.ndarray] | None = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
        multimask_output: bool = True,
    ) -> None:
        if (points_per_side is None) == (point_grids is None):
            raise ValueError(
                "give exactly one of points_per_side and point_grids "
                f"(got points_per_side={points_per_side!r}, point_grids="
                f"{'None' if point_grids is None else 'a list'})."
            )
        if crop_n_layers < 0 or int(crop_n_layers) != crop_n_layers:
            raise ValueError(f"crop_n_layers must be an int >= 0, got {crop_n_layers!r}")
        if points_per_side is not None:
            if int(points_per_side) != points_per_side or points_per_side < 1:
                raise ValueError(f"points_per_side must be an int >= 1, got {points_per_side!r}")
            if crop_n_points_downscale_factor < 1:
                raise ValueError(f"crop_n_points_downscale_factor must be >= 1, got {crop_n_points_downscale_factor!r}")
            grids = layer_point_grids(int(points_per_side), int(crop_n_layers), crop_n_points_downscale_factor)
        else:
            grids = [np.asarray(g, dtype=np.float64) for g in point_grids]
            if len(grids) < crop_n_layers + 1:
                raise ValueError(
                    f"point_grids has {len(grids)} grid(s); crop_n_layers="
                    f"{crop_n_layers} needs one per layer ({crop_n_layers + 1})."
                )
            for i, g in enumerate(grids):
                if g.ndim != 2 or g.shape[1] != 2 or not np.all((g >= 0) & (g < 1)):
                    raise ValueError(
                        f"point_grids[{i}] must be an (N, 2) array of (x, y) in [0, 1), got shape {g.shape}."
                    )
        if points_per_batch < 1:
            raise ValueError(f"points_per_batch must be >= 1, got {points_per_batch!r}")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")
        if output_mode == "coco_rle":
            import pycocotools.mask  # noqa: F401  (fail now, not after the work)
        self.segmenter = segmenter
        self.point_grids = grids
        self.points_per_batch = int(points_per_batch)
        self.pred_iou_thresh = float(pred_iou_thresh)
        self.stability_score_thresh = float(stability_score_thresh)
        self.stability_score_offset = float(stability_score_offset)
        self.box_nms_thresh = float(box_nms_thresh)
        self.crop_n_layers = int(crop_n_layers)
        self.crop_nms_thresh = float(crop_nms_thresh)
        self.crop_overlap_ratio = float(crop_overlap_ratio)
        self.crop_n_points_downscale_factor = crop_n_points_downscale_factor
        self.min_mask_region_area = min_mask_region_area
        self.output_mode = output_mode
        self.multimask_output = bool(multimask_output)
        #: logits above this are mask pixels
        self.mask_threshold = MASK_THRESHOLD

    def generate(self, image: Any) -> list[dict[str, Any]]:
        """Masks of everything in ``image`` (HxWx3 uint8 RGB, numpy or PIL) as upstream's records.

        Calls the `between_batches` callback, if one is set, after each crop's encoder pass and
        each decoder batch."""
        import torch

        rgb = to_rgb_uint8(image)
        height, width = rgb.shape[:2]
        worker = self.segmenter._sibling()
        boxes, layers = crop_boxes((height, width), self.crop_n_layers, self.crop_overlap_ratio)
        with torch.no_grad():
            found = _Found.concat([self._crop(worker, rgb, box, layer) for box, layer in zip(boxes, layers)])
        if len(boxes) > 1 and len(found):
            c = found.crop_boxes
            prefer_small = 1 / ((c[:, 2] - c[:, 0]) * (c[:, 3] - c[:, 1]))
            found = found.take(_nms(found.boxes, prefer_small, self.crop_nms_thresh))
        if self.min_mask_region_area > 0 and len(found):
            found = self._clean_small_regions(found)
        return self._records(found)

    # ----------------------------------------------------------------- steps
    def _crop(self, worker: Segmenter, rgb: np.ndarray, box: list[int], layer: int) -> _Found:
        """Masks of one crop (XYXY ``box``) after the per-crop filters and NMS, in image pixels."""
        import torch

        x0, y0, x1, y1 = box
        points = self.point_grids[layer] * np.array([[x1 - x0, y1 - y0]], dtype=np.float64)
        if len(points) == 0:  # e.g. points_per_side / downscale**layer < 1: nothing to embed
            return _Found.concat([])
        worker.set_image(rgb[y0:y1, x0:x1])
        try:
            _between_batches()
            parts = []
            for i in range(0, len(points), self.points_per_batch):
                parts.append(self._batch(worker, points[i : i + self.points_per_batch], box, rgb.shape[:2]))
                _between_batches()
            found = _Found.concat(parts)
        finally:
            worker.reset_image()
        if len(found):
            found = found.take(_nms(found.boxes, found.scores, self.box_nms_thresh))
        found.crop_boxes = torch.tensor([box], dtype=torch.int64).expand(len(found), 4)
        return found

    def _batch(self, worker: Segmenter, points: np.ndarray, box: list[int], image_hw: tuple[int, int]) -> _Found:
        """One decoder call for ``points`` ((b, 2) crop pixels) and the per-mask filters."""
        import torch
        import torch.nn.functional as F

        scores, decoded = self._decode(worker, points)
        n_out = scores.shape[1]
        scores = scores.flatten(0, 1).float().cpu()
        pts = torch.as_tensor(np.repeat(points, n_out, axis=0)).to(getattr(torch, self.point_dtype))
        keep = torch.ones(len(scores), dtype=torch.bool)
        if self.pred_iou_thresh > 0:
            keep &= scores > self.pred_iou_thresh
        index = keep.nonzero().flatten()
        scores, pts = scores[index], pts[index]
        x0, y0, x1, y1 = box
        height, width = image_hw
        if getattr(decoded, "axes", None) is not None:  # low-res logits and their resize per axis
            return self._threshold_low_res(decoded, index, scores, pts, box, image_hw)
        logits = (decoded.logits if hasattr(decoded, "logits") else decoded)(index).float()
        threshold = self.mask_threshold
        stability = stability_score(logits, self.stability_score_offset, threshold).float().cpu()
        if self.stability_score_thresh > 0:
            keep = stability >= self.stability_score_thresh
            logits, scores, pts, stability = (logits[keep.to(logits.device)], scores[keep], pts[keep], stability[keep])
        masks = logits > threshold
        del logits
        boxes = mask_boxes(masks).cpu() + torch.tensor([[x0, y0, x0, y0]])
        keep = ~_near_crop_edge(boxes, box, (width, height))
        masks = masks[keep.to(masks.device)]
        if (x0, y0, x1, y1) != (0, 0, width, height):
            masks = F.pad(masks, (x0, width - x1, y0, height - y1), value=False)
        offset = torch.tensor([[x0, y0]], dtype=getattr(torch, self.point_dtype))
        return _Found(
            [_RleMask(r) for r in masks_to_rle(masks)],
            boxes[keep],
            scores[keep],
            stability[keep],
            pts[keep] + offset,
            torch.zeros(int(keep.sum()), 4, dtype=torch.int64),
        )

    def _threshold_low_res(
        self,
        decoded: Any,
        index: torch.Tensor,
        scores: torch.Tensor,
        pts: torch.Tensor,
        box: list[int],
        image_hw: tuple[int, int],
    ) -> _Found:
        """`_batch`'s filters from the low-res logits of the masks ``index`` of a fast decoder
        pass (`samkit.models._fast_decoder.PromptMasks` with ``axes``): the stability score,
        mask, box and area of the image-size logits without making them
        (`samkit.models._sparse_masks.threshold_masks`)."""
        import torch

        from samkit.models._sparse_masks import threshold_masks

        x0, y0 = box[:2]
        height, width = image_hw
        t, offset = self.mask_threshold, self.stability_score_offset
        found = threshold_masks(decoded.low_res(index), decoded.axes, (t - offset, t, t + offset))
        stability = (found.counts[:, 2] / found.counts[:, 0]).float()  # NaN where both are empty
        keep = torch.ones(len(stability), dtype=torch.bool)
        if self.stability_score_thresh > 0:
            keep = stability >= self.stability_score_thresh
        boxes = found.boxes + torch.tensor([[x0, y0, x0, y0]])
        keep &= ~_near_crop_edge(boxes, box, (width, height))
        kept = keep.nonzero().flatten()
        return _Found(
            [found.mask(i, (y0, x0), image_hw) for i in kept.tolist()],
            boxes[kept],
            scores[kept],
            stability[kept],
            pts[kept] + torch.tensor([[x0, y0]], dtype=getattr(torch, self.point_dtype)),
            torch.zeros(len(kept), 4, dtype=torch.int64),
        )

    def _decode(self, worker: Segmenter, points: np.ndarray) -> tuple[torch.Tensor, Any]:
        """Predicted IoUs ``(b, C)`` of the ``(b, 2)`` crop-pixel ``points`` and the masks: the
        fast decoder's `PromptMasks` (``logits`` / ``low_res`` of flat indices into the IoUs), or
        a function from flat indices to those masks' logits ``(n, h, w)`` at the crop's size.

        Families with a fast grid decoder (``worker._grid_decode``: SAM, MobileSAM, SAM 2) make
        only the requested masks; the others decode every mask with ``_predict_logits_batch``.
        """
        fast = getattr(worker, "_grid_decode", None)
        decoded = fast(points, self.multimask_output) if fast is not None else None
        if decoded is not None:
            return decoded.scores, decoded
        logits, scores = worker._predict_logits_batch(
            points[:, None, :], np.ones((len(points), 1), dtype=np.int32), self.multimask_output
        )
        flat = logits.flatten(0, 1)
        return scores, lambda index: flat[index.to(flat.device)]

    def _clean_small_regions(self, found: _Found) -> _Found:
        """Fill small holes, remove small islands, recompute boxes and NMS preferring unchanged masks."""
        import torch

        cleaned, unchanged = [], []
        for stored in found.masks:
            mask, filled = remove_small_regions(stored.to_bool(), self.min_mask_region_area, "holes")
            mask, removed = remove_small_regions(mask, self.min_mask_region_area, "islands")
            cleaned.append(mask)
            unchanged.append(not (filled or removed))
        masks = torch.as_tensor(np.stack(cleaned))
        boxes = mask_boxes(masks)
        keep = _nms(boxes, torch.tensor(unchanged, dtype=torch.float32), max(self.box_nms_thresh, self.crop_nms_thresh))
        found = _Found(
            list(found.masks), found.boxes.clone(), found.scores, found.stability, found.points, found.crop_boxes
        )
        for i in keep.tolist():
            if not unchanged[i]:
                found.masks[i] = _RleMask(masks_to_rle(masks[i : i + 1])[0])
                found.boxes[i] = boxes[i]
        return found.take(keep)

    def _records(self, found: _Found) -> list[dict[str, Any]]:
        encode = {"binary_mask": _binary, "uncompressed_rle": _rle_of, "coco_rle": _coco}[self.output_mode]
        return [
            {
                "segmentation": encode(mask),
                "area": int(mask.area),
                "bbox": _xywh(box),
                "predicted_iou": float(score),
                "point_coords": [point],
                "stability_score": float(stab),
                "crop_box": _xywh(crop),
            }
            for mask, box, score, point, stab, crop in zip(
                found.masks,
                found.boxes.tolist(),
                found.scores.tolist(),
                found.points.tolist(),
                found.stability.tolist(),
                found.crop_boxes.tolist(),
            )
        ]


def _binary(mask: Any) -> np.ndarray:
    return mask.to_bool()


def _coco(mask: Any) -> dict[str, Any]:
    """pycocotools' compressed RLE (``counts`` str) of a stored mask: the same string whether
    encoded from the mask or from its uncompressed RLE (`coco_rle`)."""
    return coco_rle(mask.rle) if isinstance(mask, _RleMask) else encode_rle(mask.to_bool())


def _near_crop_edge(boxes: torch.Tensor, crop_box: list[int], image_wh: tuple[int, int]) -> torch.Tensor:
    """``(N,)`` True where an image-pixel XYXY box side is near a crop edge that is not an image edge."""
    import torch

    b = boxes.float()
    crop = torch.tensor(crop_box, dtype=torch.float32)
    full = torch.tensor([0, 0, *image_wh], dtype=torch.float32)
    near_crop = (b - crop).abs() <= CROP_EDGE_TOLERANCE
    near_image = (b - full).abs() <= CROP_EDGE_TOLERANCE
    return (near_crop & ~near_image).any(dim=1)


def _xywh(box: list[int]) -> list[int]:
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


class Sam2GridMaskGenerator(GridMaskGenerator):
    """`GridMaskGenerator` with sam2's ``SAM2AutomaticMaskGenerator`` parameters and defaults
    (``pred_iou_thresh=0.8``, ``mask_threshold``, ``use_m2m``), the default `generate` of SAM 2.

    Two settings run sam2's own generator instead, since their results depend on sam2 internals:
    ``use_m2m=True`` (a second, mask-prompted decoder pass) and ``min_mask_region_area > 0``
    (sam2's predictor also fills holes with its compiled connected-components kernel where it
    is built, and skips that with a warning where it is not).
    """

    #: sam2 keeps its grid points as float32 (``point_coords`` rounded the same way)
    point_dtype = "float32"

    def __init__(
        self,
        segmenter: Segmenter,
        points_per_side: int | None = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.8,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        mask_threshold: float = 0.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: list[np.ndarray] | None = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
        use_m2m: bool = False,
        multimask_output: bool = True,
    ) -> None:
        #: the arguments as given, for sam2's own generator (`generate` with use_m2m / small regions)
        self._upstream_params = {k: v for k, v in locals().items() if k not in ("self", "segmenter", "__class__")}
        super().__init__(
            segmenter, **{k: v for k, v in self._upstream_params.items() if k not in ("mask_threshold", "use_m2m")}
        )
        self.mask_threshold = float(mask_threshold)
        self.use_m2m = bool(use_m2m)

    def generate(self, image: Any) -> list[dict[str, Any]]:
        if self.use_m2m or self.min_mask_region_area > 0:
            seg = self.segmenter
            with seg._quiet_upstream():
                upstream = seg._upstream_mask_generator_class()(seg.model, **self._upstream_params)
            return upstream.generate(to_rgb_uint8(image))
        return super().generate(image)
