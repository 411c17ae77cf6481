"""Jupyter widgets (anywidget): `SegmentWidget` (one model, interactive) and `CompareWidget`
(several models, the same prompts, side by side).

State lives in synced traits (prompts in original image pixels, masks as compact 1-bit PNG bytes),
so everything can be driven and read from Python without a browser; see `samkit.widgets._state`.
Importing this module imports anywidget (not torch).
"""

from samkit.widgets.compare import CompareWidget
from samkit.widgets.segment import SegmentWidget

__all__ = ["SegmentWidget", "CompareWidget"]
