"""Promptable video object segmentation: ``model.video(frames)`` -> a `VideoTracker`.

`VideoTracker` (samkit/video/tracker.py) is the interface and its checks; each family that tracks
video has its tracker here (`Sam2VideoTracker` for the SAM 2 / 2.1 names).
"""

from samkit.video.tracker import VIDEO_STORAGE, FrameTensors, VideoTracker

__all__ = ["VideoTracker", "VIDEO_STORAGE", "FrameTensors"]
