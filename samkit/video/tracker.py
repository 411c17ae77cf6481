"""`VideoTracker`: promptable video object segmentation behind one interface, and its frame source.

``tracker = samkit.load("sam2.1_hiera_tiny").video(frames)``; then ``add_prompt`` on any frame for any
integer object id (points, a box or a mask), ``propagate`` (forward or reverse) yields
``(frame_index, {obj_id: HxW bool mask})`` at the video's size, a later prompt refines a track, and
``reset()`` forgets every prompt and result. A family subclass says how to build its upstream state
and run its predictor; validation and the output contract live here.

Frames are held in one of three ways (``video_storage``):

- ``"stream"`` (default): decoded (and resized to the model's input) when the predictor asks for a
  frame, never all at once; only the source (file or folder) and the one frame in use are in memory;
- ``"cpu"``: all decoded up front into one float32 tensor in CPU memory (sam2's
  ``offload_video_to_cpu=True``);
- ``"device"``: all decoded up front onto the model's device (sam2's default; fastest on a GPU,
  T x 3 x S x S x 4 bytes: 1024x1024 input, 100 frames: 1.2 GiB).

``offload_state_to_cpu=True`` keeps the tracking state (per-frame memories and outputs) in CPU memory,
as sam2's option of that name: less GPU memory for a lower frame rate.

``bounded=True`` keeps the tracking state flat in memory whatever the video's length: upstream keeps
every frame's outputs, but tracking a frame reads only the prompted frames, the last
``num_maskmem - 1`` frames' memories and ``max_obj_ptrs_in_encoder - 1`` frames' object pointers
(15 frames back by default), so after each propagated frame the outputs nothing can read any more
are dropped (`samkit.video._bounded`). The masks are the unbounded tracker's, bit for bit. Kept:
the prompted frames, the frames around them that a propagation from them reads (forward then
reverse from a prompt frame works), and the last frames of each propagation (so it can be
continued, and its last frame re-prompted). Given up: a prompt on a frame whose state (or whose
neighbours' state) was dropped, or a propagation started where the predecessors were dropped, is
an `UnsupportedError` naming the frames, never a silently different result; `reset()` or
``bounded=False`` (every frame's state kept, the default for interactive use) allow it. The
``video`` protocol and the video benchmark track bounded by default. SAM 3's text-concept tracking
(``add_text``) keeps transformers' own state.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

import numpy as np

from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.params import check_bool
from samkit.prompts import validate_prompts
from samkit.video._bounded import BoundedState

__all__ = ["VideoTracker", "VIDEO_STORAGE", "FrameTensors"]

#: ``video_storage`` options: decode each frame when needed, or all up front into CPU memory or onto the device
VIDEO_STORAGE = ("stream", "cpu", "device")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FrameTensors:
    """The frames of a video as the model's input tensors: ``(3, S, S)`` float32, resized with PIL
    to ``S x S`` (as sam2's loader resizes JPEG frames), scaled to [0, 1] and normalised with
    ImageNet's mean and std; ``frames[i]`` decodes frame ``i`` then (streaming), or all are made
    up front by `materialize`."""

    def __init__(
        self, frames: Any, side: int, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD
    ) -> None:
        import torch

        self.frames, self.side = frames, int(side)
        self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.decoded = 0  # frames decoded so far (streaming shows it grows one at a time)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Any:
        import torch
        from PIL import Image

        rgb = self.frames[index]
        self.decoded += 1
        resized = np.asarray(Image.fromarray(rgb).resize((self.side, self.side)))
        tensor = torch.from_numpy(resized / 255.0).permute(2, 0, 1)
        return (tensor.float() - self.mean) / self.std

    def materialize(self, device: Any) -> Any:
        """All frames as one ``(T, 3, S, S)`` float32 tensor on ``device``."""
        import torch

        out = torch.empty((len(self), 3, self.side, self.side), dtype=torch.float32, device=device)
        for i in range(len(self)):
            out[i] = self[i].to(device)
        return out


class VideoTracker(abc.ABC):
    """A video and the objects being tracked in it, for one model.

    Get one with ``model.video(frames, video_storage=..., offload_state_to_cpu=..., bounded=...)``.

    Attributes:
        model: the `Segmenter` it was made from (its weights, device and dtype).
        frames: the `samkit.video_io.VideoFrames` (lazy HxWx3 uint8 RGB frames).
        num_frames, size: T and ``(H, W)`` of the video.
        obj_ids: the object ids prompted so far, in the order they were added.
        bounded: whether the tracking state is pruned as it goes (see the module docstring).
    """

    def __init__(
        self,
        model: Any,
        frames: Any,
        *,
        video_storage: str = "stream",
        offload_state_to_cpu: bool = False,
        bounded: bool = False,
        progress: bool = False,
    ) -> None:
        from samkit.video_io import open_video

        if video_storage not in VIDEO_STORAGE:
            raise ValueError(f"video_storage must be one of {VIDEO_STORAGE}, got {video_storage!r}")
        self.model = model
        self.frames = open_video(frames)
        self.video_storage = video_storage
        self.offload_state_to_cpu = bool(offload_state_to_cpu)
        self.bounded = check_bool("bounded", bounded)
        self.progress = progress
        self._prompted = False
        self._bounded_state: BoundedState | None = None

    # ------------------------------------------------------------------ facts
    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.frames.size)  # type: ignore[return-value]

    @property
    @abc.abstractmethod
    def obj_ids(self) -> list[int]:
        """Object ids prompted so far, in the order they were first prompted."""

    def __repr__(self) -> str:
        h, w = self.size
        return (
            f"<{type(self).__name__} {self.model.name!r} {self.num_frames} frames {w}x{h} "
            f"objects={self.obj_ids} video_storage={self.video_storage} bounded={self.bounded}>"
        )

    @property
    def bounded_state(self) -> BoundedState | None:
        """With ``bounded=True``, the `samkit.video._bounded.BoundedState` that prunes this tracker's
        upstream state (made on first use); None otherwise."""
        if not self.bounded:
            return None
        if self._bounded_state is None:
            state = self._new_bounded_state()
            if state is None:
                raise UnsupportedError(
                    f"{type(self).__name__} has no bounded mode: use model.video(frames, bounded=False)."
                )
            self._bounded_state = state
        return self._bounded_state

    # ------------------------------------------------------------------ checks
    def _check_frame(self, frame: Any) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise PromptError(f"frame must be an int frame index, got {frame!r}")
        if not 0 <= int(frame) < self.num_frames:
            raise PromptError(
                f"frame {frame} is outside the video: it has {self.num_frames} frames (0..{self.num_frames - 1})."
            )
        return int(frame)

    @staticmethod
    def _check_obj_id(obj_id: Any) -> int:
        if isinstance(obj_id, bool) or not isinstance(obj_id, (int, np.integer)):
            raise PromptError(f"obj_id must be an int (any integer you choose), got {obj_id!r}")
        return int(obj_id)

    def _check_mask(self, mask: Any) -> np.ndarray:
        arr = np.asarray(mask)
        if arr.ndim != 2 or arr.shape != self.size:
            raise PromptError(
                f"mask must be an HxW array of the video's size {self.size} (H, W), got shape {arr.shape}."
            )
        if arr.dtype != bool:
            if not np.isin(arr, (0, 1)).all():
                raise PromptError(f"mask must be boolean (or 0/1), got values of dtype {arr.dtype}.")
            arr = arr.astype(bool)
        return arr

    # ------------------------------------------------------------------ public interface
    def add_prompt(
        self,
        frame: int,
        obj_id: int,
        point_coords: Any = None,
        point_labels: Any = None,
        box: Any = None,
        mask: Any = None,
        clear_old_points: bool = True,
    ) -> dict[int, np.ndarray]:
        """Prompt object ``obj_id`` on frame ``frame``: points (``(N, 2)`` ``(x, y)`` pixels of the
        video, labels 1/0), a box (XYXY pixels), points and a box, or a mask (HxW bool at the
        video's size, alone). A new object id starts a new track; a prompt on another frame of a
        known object refines its track (``propagate`` again to carry it).

        ``clear_old_points``: replace this object's earlier points on this frame (default, as
        sam2) or add to them.

        Returns ``{obj_id: HxW bool}``: every object's mask on ``frame`` after this prompt.
        """
        t = self._check_frame(frame)
        oid = self._check_obj_id(obj_id)
        if self.bounded:
            self.bounded_state.check_prompt(t)  # type: ignore[union-attr]
        if mask is not None:
            if any(p is not None for p in (point_coords, point_labels, box)):
                raise PromptError("a mask prompt goes alone: give mask=..., or points / a box.")
            out = self._add_mask(t, oid, self._check_mask(mask))
        else:
            if point_coords is None and box is None:
                raise PromptError("add_prompt needs point_coords/point_labels, a box or a mask.")
            prompts = validate_prompts(self.size, point_coords, point_labels, box)
            out = self._add_points_or_box(
                t, oid, prompts.point_coords, prompts.point_labels, prompts.box, clear_old_points
            )
        self._prompted = True
        return out

    def propagate(
        self, reverse: bool = False, start_frame: int | None = None, max_frames: int | None = None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Track every prompted object through the video, yielding ``(frame_index, {obj_id: HxW
        bool})`` frame by frame (masks at the video's size; an object absent from a frame has an
        all-False mask).

        Args:
            reverse: go backwards (from ``start_frame`` down to frame 0).
            start_frame: default: the earliest prompted frame.
            max_frames: track at most this many frames past the start (default: to the end).
        """
        if not self._prompted:
            raise NotReadyError(
                "propagate() before any prompt: call add_prompt(frame=..., obj_id=..., "
                "point_coords=... | box=... | mask=...) first."
            )
        if start_frame is not None:
            start_frame = self._check_frame(start_frame)
        if max_frames is not None and (not isinstance(max_frames, int) or max_frames < 0):
            raise ValueError(f"max_frames must be an int >= 0, got {max_frames!r}")
        state = self.bounded_state
        if state is None:
            return self._propagate(bool(reverse), start_frame, max_frames)
        start = start_frame if start_frame is not None else min(state.cond_frames(), default=None)
        if start is not None:  # (None: nothing prompted upstream, e.g. SAM 3's text concepts)
            state.check_pass(start, max_frames, bool(reverse))
        state.begin(bool(reverse))
        return self._pruned(self._propagate(bool(reverse), start_frame, max_frames), state)

    @staticmethod
    def _pruned(
        steps: Iterator[tuple[int, dict[int, np.ndarray]]], state: BoundedState
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """``steps``, dropping after each frame the state nothing can read any more."""
        for frame, masks in steps:
            state.after_frame(frame)
            yield frame, masks

    def track(self, reverse: bool = False, **kwargs: Any) -> dict[int, dict[int, np.ndarray]]:
        """`propagate` collected: ``{frame_index: {obj_id: HxW bool}}``."""
        return dict(self.propagate(reverse=reverse, **kwargs))

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget every prompt, object and result (the frames stay loaded)."""

    # ------------------------------------------------------------------ family hooks
    def _new_bounded_state(self) -> BoundedState | None:
        """The family's `BoundedState` over its upstream state (None: no bounded mode)."""
        return None

    def _forget_dropped(self) -> None:
        """After an upstream reset: nothing is dropped any more (families call it in `reset`)."""
        if self._bounded_state is not None:
            self._bounded_state.forget()

    @abc.abstractmethod
    def _add_points_or_box(
        self,
        frame: int,
        obj_id: int,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None,
        clear_old_points: bool,
    ) -> dict[int, np.ndarray]:
        """Checked prompts (pixels of the video) -> every object's mask on ``frame``."""

    @abc.abstractmethod
    def _add_mask(self, frame: int, obj_id: int, mask: np.ndarray) -> dict[int, np.ndarray]:
        """A checked HxW bool mask -> every object's mask on ``frame``."""

    @abc.abstractmethod
    def _propagate(
        self, reverse: bool, start_frame: int | None, max_frames: int | None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """The upstream propagation, as ``(frame_index, {obj_id: mask})``."""
