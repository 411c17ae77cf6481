"""Protocols: registered parts that run a model over a dataset and give tidy result rows.

`list_protocols()` / `get_protocol(name)` list and fetch them; each is one module here holding a
`Protocol` object (name, needed capability, parameters dataclass, ``run``, ``summarize`` and,
optionally, its report sections: its tables and figures), with its tables and figures beside it:

- ``interactive``: SAM-paper interactive protocol (first click farthest from the boundary, then
  RITM clicks), mIoU after k clicks and NoC (`run_interactive`; `click_curve_table`, `click_curves`).
- ``box``: ground-truth box -> mask IoU (`run_box`).
- ``automatic``: automatic masks -> per-image recall hits for AR@100/1000 (`run_automatic`).
- ``benchmark``: latency, peak memory, parameters and FLOPs per phase (`run_benchmark`;
  `benchmark_table`, the fast-settings tables).
- ``agreement``, ``text``, ``detector_boxes``, ``video``, ``video_benchmark``: see their modules.

``get_protocol(name).run(model, dataset, **params)`` runs any of them the same way; a model
without the needed capability gets one ``unsupported`` row. Each image is embedded once; every
object and click reuses the embedding.

Across protocols (`samkit.eval.summary`): `summarize` (one row per configuration, each protocol
adding its columns), `accuracy_table` (labelled) and `performance_table` (the benchmark's, which
the generic figures of `samkit.results` draw).
"""

from samkit.eval.automatic import run_automatic
from samkit.eval.benchmark import run_benchmark
from samkit.eval.box import run_box
from samkit.eval.interactive import run_interactive
from samkit.eval.protocol import Protocol, Section, get_protocol, list_protocols
from samkit.eval.summary import SUMMARY_KEYS, accuracy_table, performance_table, summarize

__all__ = [
    "Protocol",
    "Section",
    "list_protocols",
    "get_protocol",
    "run_interactive",
    "run_box",
    "run_automatic",
    "run_benchmark",
    "SUMMARY_KEYS",
    "summarize",
    "accuracy_table",
    "performance_table",
]
