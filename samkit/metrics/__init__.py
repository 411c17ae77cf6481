"""Segmentation metrics, each matching a reference implementation's definition.

- ``mask_iou``, ``mask_iou_matrix``: mask IoU as pycocotools' ``mask.iou`` (non-crowd).
- ``boundary_iou``: Boundary IoU as the Boundary IoU API's ``mask_to_boundary`` + IoU.
- ``jaccard``, ``boundary_f``, ``j_and_f``: DAVIS 2017 J, F and their sequence statistics.
- ``next_click``, ``noc``, ``NoCResult``: RITM's click simulator and NoC metric.
- ``mask_ar``: class-agnostic mask Average Recall of automatic masks, as pycocotools' COCOeval.
- ``time_call``, ``count_parameters``, ``parameter_breakdown``, ``count_flops``,
  ``flop_breakdown``, ``measure_peak_memory`` and their result types: speed, size and memory.

Only numpy is imported here; scipy is imported by ``next_click``, pycocotools by ``mask_ar`` and
torch by the ``perf`` functions when first called.
"""

from samkit.metrics.clicks import NoCResult, next_click, noc
from samkit.metrics.masks import boundary_iou, mask_iou, mask_iou_matrix
from samkit.metrics.perf import (
    FlopCount,
    MemoryStats,
    TimingStats,
    count_flops,
    count_parameters,
    flop_breakdown,
    measure_peak_memory,
    parameter_breakdown,
    time_call,
)
from samkit.metrics.proposals import mask_ar
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
    "mask_ar",
    "time_call",
    "TimingStats",
    "count_parameters",
    "parameter_breakdown",
    "count_flops",
    "flop_breakdown",
    "FlopCount",
    "measure_peak_memory",
    "MemoryStats",
]
