"""`VideoHandOff`: `Segmenter.video`, which hands the loaded model to its family's `samkit.video.VideoTracker`
(named by ``video_tracker``, imported only when asked for: video sits above models)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["VideoHandOff"]


class VideoHandOff:
    """Video tracking of a `Segmenter` (mixed into it)."""

    #: "module:class" of the family's `samkit.video.VideoTracker` ("" for families without video)
    video_tracker: str = ""

    def video(
        self,
        frames: Any,
        *,
        video_storage: str = "stream",
        offload_state_to_cpu: bool = False,
        bounded: bool = False,
        progress: bool = False,
    ) -> Any:
        """A `samkit.video.VideoTracker` of this model on a video.

        Args:
            frames: a folder of JPEG/PNG frames, a video file (mp4, ...; read with PyAV), a
                ``(T, H, W, 3)`` uint8 array or a list of HxWx3 uint8 frames
                (`samkit.video_io.open_video`).
            video_storage: ``"stream"`` (frames decoded when needed, the default), ``"cpu"`` or
                ``"device"`` (all decoded up front there); see `samkit.video.tracker`.
            offload_state_to_cpu: keep the tracking state in CPU memory (less GPU memory, lower fps).
            bounded: drop, as it propagates, the per-frame state no later frame can read, so memory
                stays flat however long the video (the same masks; a prompt or propagation that
                would read dropped state is an `UnsupportedError`); see `samkit.video.tracker`.
            progress: show the upstream propagation progress bar.

        A family without video tracking raises `UnsupportedError` naming the models that track.
        """
        self.require("video", "video tracking")
        module_name, _, class_name = self.video_tracker.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(
            self,
            frames,
            video_storage=video_storage,
            offload_state_to_cpu=offload_state_to_cpu,
            bounded=bounded,
            progress=progress,
        )
