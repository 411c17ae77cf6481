"""Jupyter widgets (anywidget): `SegmentWidget` (one model, interactive), `CompareWidget`
(several models, the same prompts, side by side) and `VideoWidget` (prompt, propagate and scrub
the masks of a video, SAM 2 / 2.1).

State lives in synced traits (prompts in original image pixels, masks as compact 1-bit PNG bytes),
so everything can be driven and read from Python without a browser; see `samkit.widgets._state`.
Importing this module imports anywidget (not torch).
"""

from samkit.widgets.compare import CompareWidget
from samkit.widgets.segment import SegmentWidget
from samkit.widgets.video import VideoWidget

__all__ = ["SegmentWidget", "CompareWidget", "VideoWidget"]
