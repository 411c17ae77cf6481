"""Helpers for tests and benchmarks at random weights.

`disk_masks` gives a random-weight SAM-style mask decoder (segment-anything's, MobileSAM's,
sam2's) structure: candidate ``i`` of a one-point prompt becomes a disk around the point, so that
automatic mask generation has masks that survive its quality filters and that NMS can tell apart,
as with trained weights. It acts on the decoder's parts that every decoder path runs (the prompt
encoder, the hypernetwork MLPs and the last activation of the output upscaling), so upstream's
decoder and samkit's fast grid decoder see the same structured model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["disk_masks", "record_agreement"]

#: disk radii in low-res mask pixels (4 model-input pixels each) of mask tokens 0..3
DISK_RADII = (20.0, 5.0, 12.0, 30.0)
#: logit at a disk's centre (0 on its rim, falling quadratically outside): stability score
#: (offset 1) ``(1 - 1/50) / (1 + 1/50) = 0.96``, above the generators' default 0.95
DISK_PEAK = 50.0
#: added to the predicted IoUs (the random head's are about +-0.2), so that SAM's default
#: ``pred_iou_thresh`` 0.88 keeps some candidates and drops others; a random SAM 2 head predicts
#: higher IoUs (with this offset all pass SAM 2's 0.8; an offset of about 0.29 centres them on it)
IOU_OFFSET = 0.85


def _parts(model: Any) -> tuple[Any, Any]:
    """(prompt encoder, mask decoder) of a segment-anything / MobileSAM ``Sam`` or a sam2 model."""
    if hasattr(model, "sam_mask_decoder"):
        return model.sam_prompt_encoder, model.sam_mask_decoder
    if hasattr(model, "mask_decoder") and hasattr(model, "prompt_encoder"):
        return model.prompt_encoder, model.mask_decoder
    raise TypeError(
        f"disk_masks needs a SAM-style model with a prompt encoder and a mask decoder, got {type(model).__name__}"
    )


@contextlib.contextmanager
def disk_masks(model: Any, radii: tuple[float, ...] = DISK_RADII, iou_offset: float = IOU_OFFSET) -> Iterator[None]:
    """While inside, mask token ``i`` of a one-point prompt predicts a disk of radius ``radii[i]``
    low-res pixels around the point (logit ``DISK_PEAK * (1 - d**2 / r**2)``), plus the random
    model's own small logits from the other channels; predicted IoUs are raised by ``iou_offset``
    (default `IOU_OFFSET`; a random SAM 2 head's IoUs sit higher than SAM's, so a smaller offset
    puts them around its default threshold).

    The low-res mask is ``hyper . upscaled``: the last upscaling activation's first four channels
    become ``[1, x, y, x**2 + y**2]`` (centred, normalised low-res pixel coordinates) and the
    hypernetwork outputs' first four ``k * [r**2 - |p|**2, 2 p_x, 2 p_y, -1]`` for the point ``p``.
    """
    import torch

    prompt_encoder, decoder = _parts(model)
    if len(radii) < decoder.num_mask_tokens:
        raise ValueError(f"radii needs {decoder.num_mask_tokens} values, got {len(radii)}")
    seen: dict[str, torch.Tensor] = {}

    def read_points(module: Any, args: Any, kwargs: Any) -> None:
        points = kwargs.get("points")
        if points is not None:  # (B, K, 2) model-input pixels; the first point of each prompt
            seen["points"] = points[0][:, 0, :].float()

    def positions(module: Any, args: Any, out: torch.Tensor) -> torch.Tensor:
        h, w = out.shape[-2:]
        ys, xs = torch.meshgrid(
            torch.arange(h, device=out.device) + 0.5, torch.arange(w, device=out.device) + 0.5, indexing="ij"
        )
        xs, ys = (xs - w / 2) / (w / 2), (ys - h / 2) / (h / 2)
        out = out.clone()
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = 1.0, xs, ys, xs**2 + ys**2
        return out

    def hyper_hook(index: int) -> Any:
        def hook(module: Any, args: Any, out: torch.Tensor) -> torch.Tensor:
            size = 256.0  # low-res side: 4 x the 64x64 embedding of a 1024 input
            p = seen["points"].to(out.device) / 4.0  # model-input pixels -> low-res pixels
            px, py = (p[:, 0] - size / 2) / (size / 2), (p[:, 1] - size / 2) / (size / 2)
            r = radii[index] / (size / 2)
            k = DISK_PEAK / r**2
            out = out.clone()
            out[:, 0] = k * (r**2 - px**2 - py**2)
            out[:, 1], out[:, 2], out[:, 3] = 2 * k * px, 2 * k * py, -k
            return out

        return hook

    def raise_iou(module: Any, args: Any, out: torch.Tensor) -> torch.Tensor:
        return out + iou_offset

    hooks = [
        prompt_encoder.register_forward_pre_hook(read_points, with_kwargs=True),
        decoder.output_upscaling[-1].register_forward_hook(positions),
        decoder.iou_prediction_head.register_forward_hook(raise_iou),
    ]
    hooks += [mlp.register_forward_hook(hyper_hook(i)) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


def _coco_rles(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records' ``segmentation`` (HxW bool, uncompressed or COCO RLE) as pycocotools RLEs
    (`samkit.metrics.proposals`' conversion, which also checks that every record has one size)."""
    import numpy as np

    from samkit.masks import to_pycoco_rle

    first = records[0]["segmentation"]
    h, w = first["size"] if isinstance(first, dict) else np.asarray(first).shape
    return [to_pycoco_rle(r["segmentation"], int(h), int(w)) for r in records]


def record_agreement(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], min_iou: float = 0.99
) -> dict[str, float]:
    """How far two automatic-mask generators' records agree.

    Records are matched one to one by mask IoU (Hungarian assignment, pycocotools' RLE IoU).
    Returns ``n_ours``, ``n_theirs``, ``count_diff`` (relative to ``n_theirs``), ``matched``
    (pairs with IoU >= ``min_iou``), ``matched_fraction`` (of ``max(n_ours, n_theirs)``; 1.0
    when both are empty), ``mean_iou`` of the pairs and ``max_score_diff`` (predicted IoU) of
    the matched pairs.
    """
    import numpy as np
    from pycocotools import mask as mask_utils
    from scipy.optimize import linear_sum_assignment

    n_ours, n_theirs = len(ours), len(theirs)
    out = {"n_ours": n_ours, "n_theirs": n_theirs, "count_diff": abs(n_ours - n_theirs) / max(n_theirs, 1)}
    if not ours or not theirs:
        both_empty = not ours and not theirs
        return {
            **out,
            "matched": 0,
            "matched_fraction": 1.0 if both_empty else 0.0,
            "mean_iou": float("nan"),
            "max_score_diff": float("nan"),
        }
    ious = np.asarray(mask_utils.iou(_coco_rles(ours), _coco_rles(theirs), [0] * n_theirs))
    rows, cols = linear_sum_assignment(-ious)
    good = ious[rows, cols] >= min_iou
    diffs = [abs(ours[i]["predicted_iou"] - theirs[j]["predicted_iou"]) for i, j in zip(rows[good], cols[good])]
    return {
        **out,
        "matched": int(good.sum()),
        "matched_fraction": float(good.sum()) / max(n_ours, n_theirs),
        "mean_iou": float(ious[rows, cols].mean()),
        "max_score_diff": float(max(diffs, default=float("nan"))),
    }
