"""Jupyter widgets (anywidget): `SegmentWidget` (one model, interactive), `CompareWidget`
(several models, the same prompts, side by side) and `VideoWidget` (prompt, propagate and scrub
the masks of a video, SAM 2 / 2.1).

State lives in synced traits (prompts in original image pixels, masks as compact 1-bit PNG bytes),
so everything can be driven and read from Python without a browser; see `samkit.widgets._state`.
Importing this module imports anywidget (not torch): the ``widgets`` extra
(``pip install 'samkit[widgets]'``); without it, importing this package is a `MissingExtraError`.
"""

from samkit.errors import require_extra

require_extra("anywidget", "widgets", "samkit.widgets (the Jupyter widgets)")

from samkit.widgets.compare import CompareWidget  # noqa: E402
from samkit.widgets.segment import SegmentWidget  # noqa: E402
from samkit.widgets.video import VideoWidget  # noqa: E402

__all__ = ["SegmentWidget", "CompareWidget", "VideoWidget"]
