"""`HubVideoTracker`: video tracking of the transformers families (EdgeTAM, SAM 3) through
transformers' own video-session API.

The Segmenter of those families holds the *image* model; tracking needs the video model
(``EdgeTamVideoModel``, ``Sam3TrackerVideoModel``), which adds the memory modules (memory
attention, memory encoder, object pointers...). It is built by `build_video_model`:

- pretrained weights: transformers' ``from_pretrained`` of the checkpoint folder, strictly (a
  missing, unexpected or mis-shaped key is a `CheckpointError`; SAM 3's detector keys are the one
  part transformers itself skips for the tracker);
- random weights: the video model of the same hub config (``config="tiny"`` or ``"full"``) built
  under the segmenter's seed (so the memory modules are seeded), its image parts then replaced by
  the segmenter's own tensors.

Either way the parts shared with the image model (vision encoder, prompt encoder, mask decoder)
hold the segmenter's tensors (no copy).

A session is transformers' ``processor.init_video_session``; prompts go through
``processor.add_inputs_to_inference_session`` and ``video_model(inference_session=..., frame_idx=...)``,
propagation is ``video_model.propagate_in_video_iterator`` and masks are
``processor.post_process_masks`` (logits > 0) at the video's size: the calls of transformers'
documented video usage, so the masks are theirs (tested against it).

Frames: ``video_storage="cpu"`` / ``"device"`` give the whole video to ``init_video_session``
(decoded and preprocessed up front, stored there). ``"stream"`` (default) gives the session a
frame store that runs the same video processor on one frame when the model asks for it (the
session's ``processed_frames`` is read by index only), so frames are decoded when needed.

``bounded=True`` prunes the session's ``output_dict_per_obj`` as it propagates
(`samkit.video._bounded`; reach from the model's ``num_maskmem`` and
``max_object_pointers_in_encoder``, stride 1 as transformers reads). SAM 3's text-concept session
(``Sam3VideoModel``) is not pruned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from samkit.errors import CheckpointError
from samkit.video._bounded import BoundedState, MemoryReach
from samkit.video.tracker import VideoTracker

__all__ = ["HubVideoTracker", "StreamedFrames", "share_image_weights", "load_video_model"]


class StreamedFrames(Mapping):
    """``frame index -> (3, S, S)`` preprocessed frame, made by ``video_processor`` on first use of
    each access (nothing is kept: a session reads a frame once per model step)."""

    def __init__(self, frames: Any, video_processor: Any, device: Any, dtype: Any) -> None:
        self.frames, self.video_processor = frames, video_processor
        self.device, self.dtype = device, dtype
        self.decoded = 0  # frames decoded so far

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.frames)))

    def __getitem__(self, index: int) -> Any:
        if not 0 <= int(index) < len(self.frames):
            raise KeyError(index)
        self.decoded += 1
        video = np.asarray(self.frames[int(index)])[None]  # a one-frame video (1, H, W, 3)
        pixels = self.video_processor(videos=[video], return_tensors="pt").pixel_values_videos[0][0]
        return pixels.to(self.device, dtype=self.dtype)


def share_image_weights(video_model: Any, image_model: Any) -> None:
    """Make ``video_model``'s parameters and buffers that ``image_model`` also has (same key) hold
    ``image_model``'s tensors; every one of ``image_model``'s keys must be in ``video_model``."""
    image_state = image_model.state_dict(keep_vars=True)
    missing = sorted(set(image_state) - set(video_model.state_dict()))
    if missing:
        raise CheckpointError(f"the video model has no {missing[:5]} of the image model")
    result = video_model.load_state_dict(image_state, strict=False, assign=True)
    assert not result.unexpected_keys, result.unexpected_keys


def load_video_model(cls: Any, path: str, name: str, ignored: tuple[str, ...] = ()) -> Any:
    """``cls.from_pretrained(path)`` (local files only), strictly: `CheckpointError` when a key is
    missing, unexpected (beyond the ``ignored`` prefixes) or of another shape."""
    import torch

    try:  # float32 as samkit's loaded weights (the image parts are then the segmenter's own)
        model, info = cls.from_pretrained(path, local_files_only=True, output_loading_info=True, dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as err:  # RuntimeError: transformers' size mismatch
        raise CheckpointError(f"{path} does not hold {name}'s video model ({cls.__name__}): {err}") from err
    unexpected = [k for k in info.get("unexpected_keys", ()) if not k.startswith(ignored)]
    problems = {
        "missing": list(info.get("missing_keys", ())),
        "unexpected": unexpected,
        "mismatched": [str(m) for m in info.get("mismatched_keys", ())],
    }
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        detail = "; ".join(f"{k} keys: {sorted(v)[:5]}" for k, v in problems.items())
        raise CheckpointError(f"{path} does not hold {name}'s video model ({cls.__name__}): {detail}")
    return model


class HubVideoTracker(VideoTracker):
    """A `VideoTracker` over transformers' video session (abstract; see the module docstring).

    A family says how to build its video model (`build_video_model`) and processor
    (`build_processor`)."""

    @classmethod
    def build_video_model(cls, segmenter: Any) -> Any:
        """The family's transformers video model for ``segmenter``'s weights (CPU, default dtype)."""
        raise NotImplementedError

    @classmethod
    def build_processor(cls, segmenter: Any) -> Any:
        """The family's transformers video processor (``init_video_session`` & co.)."""
        raise NotImplementedError

    def __init__(self, model: Any, frames: Any, **options: Any) -> None:
        import torch

        super().__init__(model, frames, **options)
        video_model = self.build_video_model(model)
        share_image_weights(video_model, self._image_part(model))
        self.video_model = video_model.to(model.device).eval()
        self.processor = self.build_processor(model)
        device = model.device
        state_device = "cpu" if self.offload_state_to_cpu else device
        h, w = self.size
        if self.video_storage == "stream":
            self.session = self.processor.init_video_session(
                inference_device=device,
                inference_state_device=state_device,
                video_storage_device=device,
                dtype=torch.float32,
            )
            self.streamed = StreamedFrames(self.frames, self.processor.video_processor, device, torch.float32)
            self.session.processed_frames = self.streamed
            self.session.video_height, self.session.video_width = h, w
        else:
            storage = device if self.video_storage == "device" else "cpu"
            video = np.stack([self.frames[i] for i in range(self.num_frames)])
            self.session = self.processor.init_video_session(
                video=video,
                inference_device=device,
                inference_state_device=state_device,
                video_storage_device=storage,
                processing_device="cpu",
                dtype=torch.float32,
            )

    @staticmethod
    def _image_part(segmenter: Any) -> Any:
        """The module of ``segmenter`` whose keys the video model shares."""
        return segmenter.model

    def _context(self) -> contextlib.AbstractContextManager:
        import torch

        stack = contextlib.ExitStack()
        stack.enter_context(self._upstream_errors())
        stack.enter_context(torch.inference_mode())
        stack.enter_context(self.model._autocast())
        return stack

    def _upstream_errors(self) -> contextlib.AbstractContextManager:
        """Context that turns a family's known upstream failures into clear errors (none by default)."""
        return contextlib.nullcontext()

    @property
    def obj_ids(self) -> list[int]:
        return [int(i) for i in self.session.obj_ids]

    def _masks(self, output: Any) -> dict[int, np.ndarray]:
        masks = self.processor.post_process_masks(
            [output.pred_masks.float()], original_sizes=[list(self.size)], binarize=True
        )[0]
        masks = masks[:, 0].cpu().numpy()
        return {int(oid): masks[i] for i, oid in enumerate(output.object_ids)}

    def _run_frame(self, frame: int) -> dict[int, np.ndarray]:
        output = self.video_model(inference_session=self.session, frame_idx=frame)
        return self._masks(output)

    def _add_points_or_box(
        self,
        frame: int,
        obj_id: int,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None,
        clear_old_points: bool,
    ) -> dict[int, np.ndarray]:
        from samkit.errors import PromptError

        if box is not None and not clear_old_points:
            raise PromptError(
                "a box must be the first prompt of an object on a frame (it is added "
                "as two corner points before any click): use clear_old_points=True."
            )
        kwargs: dict[str, Any] = {}
        if points is not None:
            kwargs["input_points"] = [[points.astype(np.float64).tolist()]]
            kwargs["input_labels"] = [[labels.astype(np.int64).tolist()]]
        if box is not None:
            kwargs["input_boxes"] = [[box.astype(np.float64).tolist()]]
        with self._context():
            self.processor.add_inputs_to_inference_session(
                inference_session=self.session,
                frame_idx=frame,
                obj_ids=obj_id,
                clear_old_inputs=clear_old_points,
                **kwargs,
            )
            return self._run_frame(frame)

    def _add_mask(self, frame: int, obj_id: int, mask: np.ndarray) -> dict[int, np.ndarray]:
        with self._context():
            self.processor.add_inputs_to_inference_session(
                inference_session=self.session, frame_idx=frame, obj_ids=obj_id, input_masks=mask
            )
            return self._run_frame(frame)

    def _propagate(
        self, reverse: bool, start_frame: int | None, max_frames: int | None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        steps = self.video_model.propagate_in_video_iterator(
            self.session,
            start_frame_idx=start_frame,
            max_frame_num_to_track=max_frames,
            reverse=reverse,
            show_progress_bar=self.progress,
        )
        while True:
            with self._context():  # held for one step at a time, never across the caller's loop
                output = next(steps, None)
                if output is None:
                    return
                frame, masks = int(output.frame_idx), self._masks(output)
            yield frame, masks

    def _new_bounded_state(self) -> BoundedState:
        """Over the session's ``output_dict_per_obj``; transformers reads memories at stride 1."""
        model = self.video_model
        reach = MemoryReach(
            num_maskmem=int(model.num_maskmem),
            stride=1,
            max_obj_ptrs=int(model.config.max_object_pointers_in_encoder),
            num_frames=self.num_frames,
        )
        return BoundedState(reach, lambda: self.session.output_dict_per_obj)

    def reset(self) -> None:
        self.session.reset_tracking_data()
        self._forget_dropped()
        self._prompted = False
