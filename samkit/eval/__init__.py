"""Evaluation runners: protocols over a model and a dataset, producing tidy result rows.

- `run_interactive`: SAM-paper interactive protocol (first click farthest from the boundary, then
  RITM clicks), mIoU after k clicks and NoC.
- `run_box`: ground-truth box -> mask IoU.
- `run_automatic`: automatic masks -> per-image recall hits for AR@100/1000.
- `run_benchmark`: latency, peak memory, parameters and FLOPs per phase (set_image, predict, ...).
Each image is embedded once; every object and click reuses the embedding.
"""

from samkit.eval.automatic import run_automatic
from samkit.eval.box import run_box
from samkit.eval.interactive import run_interactive
from samkit.eval.speed import run_benchmark

__all__ = ["run_interactive", "run_box", "run_automatic", "run_benchmark"]
