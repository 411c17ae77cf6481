"""Prompt validation: points, labels, boxes and mask inputs, checked against the image they refer to.

Conventions (the same as segment-anything's SamPredictor):
- points are ``(x, y)`` in pixels of the original image, shape ``(N, 2)``; pixel ``(i, j)`` covers
  ``[j, j+1) x [i, i+1)``, so a valid point has ``0 <= x < W`` and ``0 <= y < H``;
- labels are 1 (foreground) or 0 (background), shape ``(N,)``;
- a box is ``XYXY`` in pixels, shape ``(4,)``, with ``0 <= x0 <= x1 <= W`` and ``0 <= y0 <= y1 <= H``;
- a mask input is the low-resolution logits of an earlier prediction, shape ``(1, 256, 256)``;
- a text prompt is ``"a dog. a cat."`` or ``["a dog", "a cat"]``: its phrases (`split_phrases`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.errors import PromptError
from samkit.params import check_fraction

__all__ = ["Prompts", "validate_prompts", "split_phrases", "check_threshold"]

LOW_RES = 256


@dataclass(frozen=True)
class Prompts:
    """Validated prompts as numpy arrays (None where absent); coordinates keep float64 precision."""

    point_coords: np.ndarray | None  # (N, 2) float64, (x, y) pixels
    point_labels: np.ndarray | None  # (N,) int32, 0/1
    box: np.ndarray | None  # (4,) float64, XYXY pixels
    mask_input: np.ndarray | None  # (1, 256, 256) float32 logits


def validate_prompts(
    image_hw: tuple[int, int],
    point_coords: Any = None,
    point_labels: Any = None,
    box: Any = None,
    mask_input: Any = None,
) -> Prompts:
    """Check prompts against an image of size ``image_hw = (H, W)``; raise `PromptError` naming the problem."""
    height, width = image_hw
    coords = labels = None
    if point_coords is not None or point_labels is not None:
        if point_coords is None or point_labels is None:
            raise PromptError("point_coords and point_labels must be given together.")
        coords = _numeric(point_coords, "point_coords").astype(np.float64)
        if coords.ndim == 1 and coords.shape == (2,):
            coords = coords[None]
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise PromptError(f"point_coords must have shape (N, 2) as (x, y) pixels, got {coords.shape}.")
        labels = _numeric(point_labels, "point_labels")
        labels = labels.reshape(-1) if labels.ndim == 0 else labels
        if labels.ndim != 1 or len(labels) != len(coords):
            raise PromptError(
                f"point_labels must have shape ({len(coords)},) to match point_coords, got {labels.shape}."
            )
        bad_labels = sorted({float(v) for v in labels} - {0.0, 1.0})
        if bad_labels:
            raise PromptError(f"point_labels must be 1 (foreground) or 0 (background); got {bad_labels}.")
        labels = labels.astype(np.int32)
        if len(coords) == 0:
            coords = labels = None
        else:
            _check_points_inside(coords, width, height)
    box_arr = None
    if box is not None:
        box_arr = _numeric(box, "box").astype(np.float64)
        if box_arr.shape == (1, 4):
            box_arr = box_arr[0]
        if box_arr.shape != (4,):
            raise PromptError(f"box must be one XYXY box of shape (4,), got shape {box_arr.shape}.")
        x0, y0, x1, y1 = (float(v) for v in box_arr)
        if x1 < x0 or y1 < y0:
            raise PromptError(
                f"box must be XYXY with x0 <= x1 and y0 <= y1, got {[x0, y0, x1, y1]} (is it XYWH or YXYX?)."
            )
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise PromptError(f"box {[x0, y0, x1, y1]} lies outside the {width}x{height} (WxH) image.")
    mask = None
    if mask_input is not None:
        mask = _numeric(mask_input, "mask_input").astype(np.float32)
        if mask.shape == (LOW_RES, LOW_RES):
            mask = mask[None]
        if mask.shape != (1, LOW_RES, LOW_RES):
            raise PromptError(
                f"mask_input must be low-res logits of shape (1, {LOW_RES}, {LOW_RES}) "
                f"(the third output of an earlier predict), got {mask.shape}."
            )
    if coords is None and box_arr is None and mask is None:
        raise PromptError("predict() needs a prompt: point_coords/point_labels, box or mask_input.")
    return Prompts(coords, labels, box_arr, mask)


def _numeric(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise PromptError(f"{name} must be a numeric array: {err}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise PromptError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if not np.all(np.isfinite(arr)):
        raise PromptError(f"{name} contains NaN or infinite values.")
    return arr


def _check_points_inside(coords: np.ndarray, width: int, height: int) -> None:
    outside = (coords[:, 0] < 0) | (coords[:, 0] >= width) | (coords[:, 1] < 0) | (coords[:, 1] >= height)
    if outside.any():
        bad = [tuple(float(v) for v in p) for p in coords[outside][:3]]
        raise PromptError(
            f"{int(outside.sum())} point(s) outside the {width}x{height} (WxH) image, e.g. {bad}; "
            "points are (x, y) in pixels with 0 <= x < W and 0 <= y < H."
        )


def split_phrases(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """The phrases of a text prompt: ``"a dog. a cat."`` or ``["a dog", "a cat"]`` -> ``["a dog", "a cat"]``.

    Phrases are lower-cased and stripped; duplicates are dropped (first kept). No phrase at all
    (``""``, ``" . "``, ``[]``) is a `PromptError`.
    """
    if isinstance(text, str):
        parts = text.split(".")
    elif isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
        parts = list(text)
    else:
        raise PromptError(f"text must be a string like 'a dog. a cat.' or a list of phrases, got {type(text).__name__}")
    phrases: list[str] = []
    for part in parts:
        phrase = re.sub(r"\s+", " ", part.replace(".", " ")).strip().lower()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases:
        raise PromptError(f"The text prompt {text!r} is empty: give at least one phrase, e.g. 'a dog. a cat.'")
    return phrases


def check_threshold(name: str, value: Any, default: float | None = None) -> float:
    """``value`` (``default`` when None) as a float; `ParameterError` (a ``ValueError``) naming
    ``name`` unless it is a number in [0, 1] (a bool, a string or a percentage such as 88 is refused)."""
    return check_fraction(name, default if value is None else value)
