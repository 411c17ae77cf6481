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

from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.images import to_rgb_uint8
from samkit.params import check_bool
from samkit.prompts import validate_prompts

__all__ = [
    "ImageBatching",
    "ImageBatch",
    "check_point_sets",
    "check_batch_size",
    "chunks",
    "slice_batch",
    "batch_outputs",
    "outputs",
]


def check_point_sets(image_hw: tuple[int, int], point_coords: Any, point_labels: Any) -> tuple[np.ndarray, np.ndarray]:
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
        raise PromptError(
            f"point_coords must have shape (N, K, 2) with N, K >= 1 (N point sets of "
            f"K (x, y) pixels), got {coords.shape}."
        )
    if labels.shape != coords.shape[:2]:
        raise PromptError(
            f"point_labels must have shape {coords.shape[:2]} (N, K) to match "
            f"point_coords {coords.shape}, got {labels.shape}."
        )
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
        raise ValueError(f"batch_size must be None (all images in one pass) or an int >= 1, got {batch_size!r}.")
    return int(batch_size)


def chunks(items: Sequence[Any], size: int | None) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of ``size`` (None: one list of all of them)."""
    step = len(items) if size is None else size
    for start in range(0, len(items), max(step, 1)):
        yield list(items[start : start + step])


def slice_batch(value: Any, i: int) -> Any:
    """Image ``i`` of a batched encoder output, keeping a batch dimension of 1: tensors are cut
    along dim 0; lists, tuples and dicts are cut item by item; anything else is kept."""
    import torch

    if isinstance(value, torch.Tensor):
        return value[i : i + 1]
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


def batch_outputs(masks: Any, scores: Any, low_res: Any) -> tuple:
    """Batched upstream outputs ``(B, C, ...)`` as `outputs` (a batch of one squeezed upstream
    gets its batch axis back)."""
    masks, scores, low_res = np.asarray(masks), np.asarray(scores), np.asarray(low_res)
    if masks.ndim == 3:
        masks, scores, low_res = masks[None], scores[None], low_res[None]
    return outputs(masks, scores, low_res, False)


def outputs(masks: Any, scores: Any, low_res: Any, return_logits: bool) -> tuple:
    """Upstream outputs as the interface's numpy types: bool masks (or float32 logits), float32 rest."""
    masks = np.asarray(masks, dtype=np.float32) if return_logits else np.asarray(masks).astype(bool)
    return masks, np.asarray(scores, dtype=np.float32), np.asarray(low_res, dtype=np.float32)


class ImageBatching:
    """Batched prompts and images of a `Segmenter` (mixed into it): `predict_points`, `set_images`,
    `select_image`, `predict_batch`."""

    def predict_points(
        self, point_coords: Any, point_labels: Any, multimask_output: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict one object per point set, all N sets in one batched decoder call where the
        family can (`batched_decoder`; else one ``predict`` per set).

        Args:
            point_coords: ``(N, K, 2)``: N sets of K points, ``(x, y)`` pixels of the original image.
            point_labels: ``(N, K)``: 1 = foreground, 0 = background.
            multimask_output: C = 3 candidates per set (the family's count, as ``predict``) or 1.
        Returns:
            masks ``(N, C, H, W)`` bool, scores ``(N, C)`` float32, low-res logits
            ``(N, C, s, s)`` float32 (s = 256; SAM 3: 288): entry ``i`` is what
            ``predict(point_coords[i], point_labels[i], multimask_output=...)`` returns (within
            float rounding of a batched decoder call).
        """
        multimask_output = check_bool("multimask_output", multimask_output)
        if self._image_hw is None:
            raise NotReadyError(f"{self.name}: call set_image(image) before predict_points().")
        self.require("points", "point prompts")
        coords, labels = check_point_sets(self._image_hw, point_coords, point_labels)
        with self._autocast():
            return batch_outputs(*self._predict_points(coords, labels, multimask_output))

    #: True when `predict_points` decodes all its point sets in one decoder call (False: a loop)
    batched_decoder: bool = False
    #: True when `set_images` embeds ``batch_size`` images per encoder pass (False: one at a time)
    batched_encoder: bool = False
    #: attributes of the upstream predictor that hold one image's embedding (`set_images` keeps
    #: them per image and `select_image` puts them back)
    _image_state_keys: tuple[str, ...] = ()
    _image_batch: Any = None  # the `samkit.models._batching.ImageBatch` of `set_images`

    def _predict_points(self, coords: np.ndarray, labels: np.ndarray, multimask_output: bool) -> tuple:
        """``(N, K, 2)`` checked point sets -> masks, scores, low-res logits (default: a loop of
        ``predict``; families with a batched decoder override it)."""
        outs = [
            self.predict(point_coords=c, point_labels=lab, multimask_output=multimask_output)
            for c, lab in zip(coords, labels)
        ]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    def _embed_images(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Embed ``images`` (one encoder pass where `batched_encoder`) -> the predictor's state
        for each (`_image_state_keys`). Default: the predictor's ``set_image``, one at a time."""
        states = []
        for rgb in images:
            self._predictor.set_image(rgb)
            states.append({k: getattr(self._predictor, k) for k in self._image_state_keys})
        return states

    def set_images(self, images: Any, batch_size: int | None = None) -> None:
        """Embed several images (each HxWx3 uint8 RGB, numpy or PIL; sizes may differ), in
        encoder passes of ``batch_size`` images (None: all in one pass) where the family has a
        batched encoder (`batched_encoder`), else one at a time.

        Image 0 is then current (`predict`, `predict_boxes`, ... refer to it); `select_image(i)`
        makes image ``i`` current, `predict_batch` prompts every image. The embeddings of all
        images are kept (memory grows with their number); `set_image` or `reset_image` drop them.
        """
        size = check_batch_size(batch_size)
        if isinstance(images, np.ndarray) and images.ndim == 3:
            raise ValueError(
                "set_images takes a sequence of images (a list, or an (N, H, W, 3) array); for one image use set_image."
            )
        rgbs = [to_rgb_uint8(im) for im in images]
        if not rgbs:
            raise ValueError("set_images needs at least one image.")
        if not self._image_state_keys:
            raise UnsupportedError(
                f"{self.name}: set_images is not available for the "
                f"{self.family} family (no per-image predictor state declared)."
            )
        self.reset_image()
        states: list[dict[str, Any]] = []
        passes = 0
        try:
            with self._autocast():
                for chunk in chunks(rgbs, size if self.batched_encoder else 1):
                    states.extend(self._embed_images(chunk))
                    passes += 1
        except BaseException:
            self.reset_image()
            raise
        self._image_batch = ImageBatch(rgbs, states, passes)
        self.select_image(0)

    @property
    def num_images(self) -> int:
        """Number of images of the last `set_images` (0 without one, or after `set_image`)."""
        return 0 if self._image_batch is None else len(self._image_batch.images)

    @property
    def image_sizes(self) -> list[tuple[int, int]]:
        """``(H, W)`` of each image of the last `set_images` (empty without one)."""
        return [] if self._image_batch is None else list(self._image_batch.sizes)

    @property
    def selected_image(self) -> int | None:
        """Index of the current image of the `set_images` batch (None without one)."""
        return None if self._image_batch is None else self._image_batch.selected

    def select_image(self, index: int) -> None:
        """Make image ``index`` of the last `set_images` the current image (no encoder pass)."""
        batch = self._image_batch
        if batch is None:
            raise NotReadyError(f"{self.name}: call set_images(images) before select_image().")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(batch.images):
            raise IndexError(f"image index must be an int in [0, {len(batch.images)}), got {index!r}.")
        for key, value in batch.states[index].items():
            setattr(self._predictor, key, value)
        batch.selected = int(index)
        self._image_hw = batch.sizes[index]
        self._rgb = batch.images[index]

    def predict_batch(
        self,
        point_coords: Any = None,
        point_labels: Any = None,
        boxes: Any = None,
        multimask_output: bool | None = None,
    ) -> list[tuple | None]:
        """Prompt every image of the last `set_images`: one `predict_boxes` or `predict_points`
        call (one batched decoder call where the family has one) per image.

        Args:
            point_coords: one ``(N_i, K_i, 2)`` array per image (with ``point_labels``, one
                ``(N_i, K_i)`` each), or
            boxes: one ``(N_i, 4)`` XYXY array per image. Exactly one of the two kinds.
                An entry that is None or holds no prompts gives None (nothing decoded).
            multimask_output: as `predict_boxes` / `predict_points`; None: their defaults
                (False for boxes, True for points).
        Returns:
            one ``(masks, scores, low_res_logits)`` per image (or None), as `predict_boxes` /
            `predict_points` return them. The image current before the call stays current.
        """
        batch = self._image_batch
        if batch is None:
            raise NotReadyError(f"{self.name}: call set_images(images) before predict_batch().")
        if (boxes is None) == (point_coords is None and point_labels is None):
            raise PromptError(
                "predict_batch takes exactly one kind of prompt: boxes=[(N_i, 4), ...] "
                "or point_coords=[(N_i, K, 2), ...] with point_labels=[(N_i, K), ...]."
            )
        n = len(batch.images)
        if boxes is not None:
            entries = [(b,) for b in self._per_image(boxes, "boxes", n)]
        else:
            if point_coords is None or point_labels is None:
                raise PromptError("point_coords and point_labels must be given together.")
            entries = list(
                zip(self._per_image(point_coords, "point_coords", n), self._per_image(point_labels, "point_labels", n))
            )
        before = batch.selected
        results: list[tuple | None] = []
        try:
            for i, entry in enumerate(entries):
                if entry[0] is None or np.size(entry[0]) == 0:
                    results.append(None)
                    continue
                self.select_image(i)
                try:
                    if boxes is not None:
                        multi = False if multimask_output is None else multimask_output
                        results.append(self.predict_boxes(entry[0], multimask_output=multi))
                    else:
                        multi = True if multimask_output is None else multimask_output
                        results.append(self.predict_points(entry[0], entry[1], multimask_output=multi))
                except PromptError as err:
                    raise PromptError(f"image {i}: {err}") from None
        finally:
            self.select_image(before)
        return results

    @staticmethod
    def _per_image(values: Any, name: str, n: int) -> list[Any]:
        if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)) or len(values) != n:
            got = f"length {len(values)}" if isinstance(values, (list, tuple)) else type(values).__name__
            raise PromptError(f"{name} must be a list with one entry per image of set_images ({n}), got {got}.")
        return list(values)
