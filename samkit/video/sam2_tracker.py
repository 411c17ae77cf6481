"""`Sam2VideoTracker`: SAM 2 / 2.1 video tracking through sam2's own ``SAM2VideoPredictor``.

The video predictor is built from the same packaged config as ``build_sam2_video_predictor`` builds
it (``SAM2VideoPredictor`` with its video post-processing: dynamic multimask via stability,
``binarize_mask_from_pts_for_mem_enc``, ``fill_hole_area=8``) and shares the image model's weight
tensors (no copy). Its inference state is sam2's own ``init_state``, given samkit's frames
(`samkit.video.tracker.FrameTensors`: the resize and normalisation of sam2's JPEG loader) instead of
a path, so any `samkit.video_io.open_video` source works and frames can stream. Given the same
checkpoint and frames, the masks are those of ``build_sam2_video_predictor(...)`` on a JPEG folder
(tested).

``bounded=True`` prunes sam2's ``output_dict_per_obj`` as it propagates (`samkit.video._bounded`,
reach from the predictor's ``num_maskmem``, ``memory_temporal_stride_for_eval`` and
``max_obj_ptrs_in_encoder``); the trackers built on sam2's predictor (EfficientTAM's) inherit it.

sam2's ``fill_hole_area`` step needs its CUDA extension; without it (CPU installs,
``SAM2_BUILD_CUDA=0``) sam2 skips that step with a warning, on both paths alike.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from samkit.errors import PromptError
from samkit.video._bounded import BoundedState, MemoryReach
from samkit.video.tracker import FrameTensors, VideoTracker

__all__ = ["Sam2VideoTracker", "VIDEO_OVERRIDES", "build_video_predictor"]

#: what ``build_sam2_video_predictor(apply_postprocessing=True)`` sets on top of the model config
VIDEO_OVERRIDES = {
    "_target_": "sam2.sam2_video_predictor.SAM2VideoPredictor",
    "binarize_mask_from_pts_for_mem_enc": True,
    "fill_hole_area": 8,
}


def build_video_predictor(segmenter: Any) -> Any:
    """sam2's ``SAM2VideoPredictor`` for ``segmenter``'s spec, holding the segmenter's own weight
    tensors (shared, not copied), on its device, in eval mode."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from samkit.models.sam2 import model_config

    cfg = OmegaConf.create(OmegaConf.to_container(model_config(segmenter.spec), resolve=True))
    for key, value in VIDEO_OVERRIDES.items():
        cfg[key] = value
    with segmenter._quiet_upstream():
        video = instantiate(cfg, _recursive_=True)  # sam2 calls .item() while building: not on "meta"
    video.load_state_dict(segmenter.model.state_dict(keep_vars=True), strict=True, assign=True)
    return video.eval()


@contextlib.contextmanager
def _frames_from(tensors: Any, height: int, width: int) -> Iterator[None]:
    """Make sam2's ``init_state`` take ``tensors`` as the video (its own loader is skipped)."""
    import sam2.sam2_video_predictor as svp

    original = svp.load_video_frames
    svp.load_video_frames = lambda **_: (tensors, height, width)
    try:
        yield
    finally:
        svp.load_video_frames = original


@contextlib.contextmanager
def _upstream_progress(show: bool) -> Iterator[None]:
    """sam2's propagation progress bar on or off (its module's ``tqdm`` while the bar is made)."""
    import sam2.sam2_video_predictor as svp

    original = svp.tqdm
    svp.tqdm = functools.partial(original, disable=not show)
    try:
        yield
    finally:
        svp.tqdm = original


class Sam2VideoTracker(VideoTracker):
    """`VideoTracker` of the SAM 2 / 2.1 models (see the module docstring)."""

    def __init__(self, model: Any, frames: Any, **options: Any) -> None:
        import torch

        super().__init__(model, frames, **options)
        self.predictor = self._build_predictor(model)
        h, w = self.size
        tensors = FrameTensors(self.frames, self.predictor.image_size)
        self.frame_tensors = tensors
        if self.video_storage == "stream":
            images = tensors
        else:
            images = tensors.materialize(model.device if self.video_storage == "device" else "cpu")
        with _frames_from(images, h, w), self._context(), torch.inference_mode():
            self.state = self.predictor.init_state(
                video_path="samkit",
                offload_video_to_cpu=self.video_storage != "device",
                offload_state_to_cpu=self.offload_state_to_cpu,
            )

    @staticmethod
    def _build_predictor(model: Any) -> Any:
        """The family's sam2 ``SAM2VideoPredictor`` holding ``model``'s weights."""
        return build_video_predictor(model)

    def _context(self) -> contextlib.AbstractContextManager:
        stack = contextlib.ExitStack()
        stack.enter_context(self.model._autocast())
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="cannot import name '_C'")
        warnings.filterwarnings("ignore", message=".*Skipping the post-processing step.*")
        return stack

    @property
    def obj_ids(self) -> list[int]:
        return [int(i) for i in self.state["obj_ids"]]

    def _masks(self, obj_ids: Any, logits: Any) -> dict[int, np.ndarray]:
        masks = (logits[:, 0] > 0.0).cpu().numpy()
        return {int(oid): masks[i] for i, oid in enumerate(obj_ids)}

    def _add_points_or_box(
        self,
        frame: int,
        obj_id: int,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None,
        clear_old_points: bool,
    ) -> dict[int, np.ndarray]:
        if box is not None and not clear_old_points:
            raise PromptError(
                "a box must be the first prompt of an object on a frame (sam2 adds it "
                "as two corner points before any click): use clear_old_points=True."
            )
        with self._context():
            _, obj_ids, logits = self.predictor.add_new_points_or_box(
                self.state,
                frame_idx=frame,
                obj_id=obj_id,
                points=None if points is None else points.astype(np.float32),
                labels=None if labels is None else labels.astype(np.int32),
                box=None if box is None else box.astype(np.float32),
                clear_old_points=clear_old_points,
                normalize_coords=True,
            )
        return self._masks(obj_ids, logits)

    def _add_mask(self, frame: int, obj_id: int, mask: np.ndarray) -> dict[int, np.ndarray]:
        with self._context():
            _, obj_ids, logits = self.predictor.add_new_mask(self.state, frame_idx=frame, obj_id=obj_id, mask=mask)
        return self._masks(obj_ids, logits)

    def _propagate(
        self, reverse: bool, start_frame: int | None, max_frames: int | None
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        steps = self.predictor.propagate_in_video(
            self.state, start_frame_idx=start_frame, max_frame_num_to_track=max_frames, reverse=reverse
        )
        first = True
        while True:
            # the contexts hold for each step only: none of them leaks into the caller's loop
            with self._context(), _upstream_progress(self.progress) if first else contextlib.nullcontext():
                item = next(steps, None)  # sam2 makes its progress bar on the first step
            first = False
            if item is None:
                return
            frame, obj_ids, logits = item
            yield int(frame), self._masks(obj_ids, logits)

    def _new_bounded_state(self) -> BoundedState:
        """Over sam2's ``output_dict_per_obj`` (the prompts not yet propagated are in its
        ``temp_output_dict_per_obj``); the reach is the predictor's own settings."""
        p = self.predictor
        reach = MemoryReach(
            num_maskmem=int(p.num_maskmem),
            stride=int(p.memory_temporal_stride_for_eval),
            max_obj_ptrs=int(p.max_obj_ptrs_in_encoder) if p.use_obj_ptrs_in_encoder else 0,
            num_frames=self.num_frames,
        )
        return BoundedState(
            reach,
            lambda: self.state["output_dict_per_obj"],
            lambda: {t for out in self.state["temp_output_dict_per_obj"].values() for t in out["cond_frame_outputs"]},
        )

    def reset(self) -> None:
        self.predictor.reset_state(self.state)
        self._forget_dropped()
        self._prompted = False
