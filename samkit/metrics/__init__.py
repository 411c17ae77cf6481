"""Segmentation metrics, each matching a reference implementation's definition.

- ``mask_iou``, ``mask_iou_matrix``: mask IoU as pycocotools' ``mask.iou`` (non-crowd).
- ``boundary_iou``: Boundary IoU as the Boundary IoU API's ``mask_to_boundary`` + IoU.
- ``jaccard``, ``boundary_f``, ``j_and_f``: DAVIS 2017 J, F and their sequence statistics.
- ``next_click``, ``noc``, ``NoCResult``: RITM's click simulator and NoC metric.

Only numpy is imported here; scipy is imported by ``next_click`` when first called.
"""

from samkit.metrics.clicks import NoCResult, next_click, noc
from samkit.metrics.masks import boundary_iou, mask_iou, mask_iou_matrix
from samkit.metrics.video import boundary_f, j_and_f, jaccard

__all__ = [
    "mask_iou",
    "mask_iou_matrix",
    "boundary_iou",
    "jaccard",
    "boundary_f",
    "j_and_f",
    "next_click",
    "noc",
    "NoCResult",
]
