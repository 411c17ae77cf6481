"""`VOSScore`: what every VOS scorer returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["VOSScore"]


@dataclass(frozen=True, eq=False)
class VOSScore:
    """One benchmark's score of one set of predictions.

    Attributes:
        benchmark: the benchmark name (a key of `samkit.metrics.scoring.VOS_BENCHMARKS`).
        summary: exactly the official tool's summary keys, values and units (e.g. DAVIS:
            ``"J&F-Mean"`` as a fraction; SA-V: ``"J&F"`` in percent), in its order.
        per_object: one row per (``sequence``, ``object``) with the official per-object metrics.
        notes: the official conventions applied where they matter (e.g. dropped frames), by name.
    """

    benchmark: str
    summary: dict[str, float]
    per_object: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"benchmark", "summary", "notes"}`` as plain JSON values (the per-object table is a CSV)."""
        return {"benchmark": self.benchmark, "summary": dict(self.summary), "notes": dict(self.notes)}
