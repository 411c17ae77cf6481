"""What `Segmenter` batching shares: checking batched prompts, and the embeddings of `set_images`.

- `check_point_sets`: ``(N, K, 2)`` point sets and ``(N, K)`` labels, each set checked like a
  ``predict`` prompt (points inside the image, labels 0/1).
- `ImageBatch`: the images of one ``set_images`` call, each with the upstream predictor's state
  for it (its embeddings and sizes, as the attributes that predictor's ``set_image`` sets), and
  which one is current.
- `chunks`, `slice_batch`: splitting images into encoder passes and a batched tensor (or a
  list / tuple / dict of them) into one image's slice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samkit.errors import PromptError
from samkit.prompts import validate_prompts

__all__ = ["ImageBatch", "check_point_sets", "check_batch_size", "chunks", "slice_batch"]


def check_point_sets(image_hw: tuple[int, int], point_coords: Any,
                     point_labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(N, K, 2)`` float64 ``(x, y)`` pixels and ``(N, K)`` int32 labels, checked.

    Every set is checked as `samkit.prompts.validate_prompts` checks one ``predict`` prompt;
    a wrong shape or a bad set is a `PromptError` naming it.
    """
    if point_coords is None or point_labels is None:
        raise PromptError("predict_points needs point_coords (N, K, 2) and point_labels (N, K).")
    try:
        coords = np.asarray(point_coords, dtype=np.float64)
        labels = np.asarray(point_labels)
    except (TypeError, ValueError) as err:
        raise PromptError(f"point_coords and point_labels must be numeric arrays ({err}).") from None
    if coords.ndim != 3 or coords.shape[-1] != 2 or coords.shape[0] == 0 or coords.shape[1] == 0:
        raise PromptError(f"point_coords must have shape (N, K, 2) with N, K >= 1 (N point sets of "
                          f"K (x, y) pixels), got {coords.shape}.")
    if labels.shape != coords.shape[:2]:
        raise PromptError(f"point_labels must have shape {coords.shape[:2]} (N, K) to match "
                          f"point_coords {coords.shape}, got {labels.shape}.")
    out_labels = np.empty(labels.shape, dtype=np.int32)
    for i, (c, lab) in enumerate(zip(coords, labels)):
        try:
            p = validate_prompts(image_hw, c, lab)
        except PromptError as err:
            raise PromptError(f"point set {i}: {err}") from None
        out_labels[i] = p.point_labels
    return coords, out_labels


def check_batch_size(batch_size: Any) -> int | None:
    """``batch_size`` of `set_images`: None (all images in one pass) or an int >= 1."""
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be None (all images in one pass) or an int >= 1, got "
                         f"{batch_size!r}.")
    return int(batch_size)


def chunks(items: Sequence[Any], size: int | None) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of ``size`` (None: one list of all of them)."""
    step = len(items) if size is None else size
    for start in range(0, len(items), max(step, 1)):
        yield list(items[start:start + step])


def slice_batch(value: Any, i: int) -> Any:
    """Image ``i`` of a batched encoder output, keeping a batch dimension of 1: tensors are cut
    along dim 0; lists, tuples and dicts are cut item by item; anything else is kept."""
    import torch

    if isinstance(value, torch.Tensor):
        return value[i:i + 1]
    if isinstance(value, dict):
        return {k: slice_batch(v, i) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(slice_batch(v, i) for v in value)
    return value


@dataclass
class ImageBatch:
    """The images of one `Segmenter.set_images` call.

    ``images``: the HxWx3 uint8 RGB images; ``states``: for each, the upstream predictor's
    attributes after embedding it (restored by `Segmenter.select_image`); ``selected``: the
    index of the current image; ``passes``: how many encoder passes embedded them.
    """

    images: list[np.ndarray]
    states: list[dict[str, Any]]
    passes: int
    selected: int = 0
    sizes: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = [(int(im.shape[0]), int(im.shape[1])) for im in self.images]
