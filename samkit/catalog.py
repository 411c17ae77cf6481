"""`model_table`: the registered models as a pandas table (family, capabilities, params, checkpoint status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samkit.registry import REGISTRY, list_models
from samkit.weights import find_checkpoint

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["model_table", "count_parameters", "text_support"]


def count_parameters(name: str) -> int:
    """Parameters of the model's real architecture, counted by building it (random weights, CPU)."""
    from samkit.loading import build_random

    model = build_random(REGISTRY[name], seed=0)
    return sum(p.numel() for p in model.parameters())


def text_support(capabilities: frozenset[str]) -> str:
    """``"native"`` (text in the capabilities), ``"detector"`` (box prompts: text through an
    open-vocabulary detector's boxes) or ``"no"``."""
    if "text" in capabilities:
        return "native"
    return "detector" if "box" in capabilities else "no"


def model_table(pattern: str | None = None, *, count: bool = False) -> pd.DataFrame:
    """One row per registered model matching ``pattern``, indexed by name.

    Columns: family, capabilities, text (``native``: the model takes text itself; ``detector``:
    through an open-vocabulary detector, ``samkit.load(name, text_detector=...)``; ``no``: it takes
    no box prompts, so neither), params_published_M (the authors' figure), checkpoint (file name),
    present (the file is in the checkpoint folder), size_MB (official file size), and with
    ``count=True`` params_counted_M (parameters of the architecture samkit builds; builds each model).
    """
    import pandas as pd

    rows = []
    for name in list_models(pattern):
        spec = REGISTRY[name]
        row = {
            "name": name,
            "family": spec.family,
            "capabilities": ",".join(sorted(spec.capabilities)),
            "text": text_support(spec.capabilities),
            "params_published_M": spec.params_published_m,
            "checkpoint": spec.checkpoint,
            "present": find_checkpoint(spec) is not None,
            "size_MB": round(spec.size_bytes / 2**20, 1) if spec.size_bytes else None,
        }
        if count:
            row["params_counted_M"] = round(count_parameters(name) / 1e6, 2)
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")
