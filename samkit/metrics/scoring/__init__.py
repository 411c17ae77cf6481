"""Official scorers of the video and concept-segmentation benchmarks, re-implemented and checked
value for value against the official evaluators (golden outputs made by committed scripts).

- `score_vos(gt_root, pred_root, benchmark)`: semi-supervised VOS, ``benchmark`` one of
  `VOS_BENCHMARKS` (``"davis2017"``, ``"mosev1"``, ``"sav"``, ``"mosev2"``, ``"lvos"``), each with its
  official tool's keys, units and conventions (see each benchmark's module).
- `score_saco(gt, pred_json, kind=...)`: SA-Co (image cgF1 / IL metrics; video VEval).

Each returns a `VOSScore` (``summary`` with exactly the official tool's keys and values,
``per_object`` one row per sequence and object) or, for SA-Co, a dict of the official keys.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from samkit.errors import ParameterError
from samkit.metrics.scoring.result import VOSScore
from samkit.metrics.scoring.saco import score_saco

__all__ = ["score_vos", "score_saco", "VOSScore", "VOS_BENCHMARKS"]

#: benchmark name -> "module:function" (imported on first use) of its scorer; each function takes
#: ``(gt_root, pred_root, **options)`` and returns a `VOSScore`
VOS_BENCHMARKS: dict[str, str] = {
    "davis2017": "samkit.metrics.scoring.davis:score_davis2017",
    "mosev1": "samkit.metrics.scoring.davis:score_mosev1",
    "sav": "samkit.metrics.scoring.sav:score_sav",
    "mosev2": "samkit.metrics.scoring.mosev2:score_mosev2",
    "lvos": "samkit.metrics.scoring.lvos:score_lvos",
}


def score_vos(gt_root: str | os.PathLike, pred_root: str | os.PathLike, benchmark: str, **options: Any) -> VOSScore:
    """Score the predictions under ``pred_root`` against the ground truth under ``gt_root`` as
    ``benchmark``'s official evaluator does (see `VOS_BENCHMARKS` and each scorer's docstring for
    the layouts, keys, units and the official conventions reproduced).

    - ``"davis2017"`` (`samkit.metrics.scoring.davis.score_davis2017`): ``gt_root`` the DAVIS root
      (``Annotations/480p``, ``ImageSets/2017``), ``pred_root`` ``<seq>/<frame>.png`` indexed PNGs;
      summary ``J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay`` as fractions;
      options ``resolution``, ``split``, ``sequences``, ``num_processes``, ``progress``.
    - ``"mosev1"`` (`samkit.metrics.scoring.davis.score_mosev1`): the DAVIS 2017 protocol on MOSE's
      ``Annotations/<seq>/`` layout, the same keys; options ``sequences``, ``num_processes``,
      ``progress``.
    - ``"sav"`` (`samkit.metrics.scoring.sav.score_sav`): sam2's ``sav_evaluator.py``;
      ``{video}/{obj:03d}/{frame}.png`` folders; summary ``J&F, J, F`` in percent; options
      ``strict``, ``skip_first_last``, ``num_processes``, ``progress``.

    An unknown ``benchmark``, missing folders and predictions the official tool refuses raise
    `samkit.errors.ParameterError`. ``samkit score vos --benchmark B --gt DIR --pred DIR`` is the
    command line of this function.
    """
    if benchmark not in VOS_BENCHMARKS:
        raise ParameterError(f"benchmark must be one of {', '.join(map(repr, VOS_BENCHMARKS))}; got {benchmark!r}")
    module, _, function = VOS_BENCHMARKS[benchmark].partition(":")
    scorer = getattr(importlib.import_module(module), function)
    return scorer(gt_root, pred_root, **options)
