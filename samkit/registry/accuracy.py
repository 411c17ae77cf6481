"""Published accuracy figures as data: ``samkit/published_accuracy.csv`` (one row per figure the
models' authors, or labelled other authors, print: ``model``, ``benchmark``, ``metric``, ``value``,
``unit``, ``split``, ``conditions``, ``source``), read once for every layer above (the video
protocol's benchmark tables, `samkit.results.published`)."""

from __future__ import annotations

import pandas as pd

__all__ = ["PUBLISHED_ACCURACY_COLUMNS", "published_accuracy"]

#: the columns of ``samkit/published_accuracy.csv``, in order
PUBLISHED_ACCURACY_COLUMNS = ["model", "benchmark", "metric", "value", "unit", "split", "conditions", "source"]


def published_accuracy(benchmark: str | None = None, model: str | None = None) -> pd.DataFrame:
    """The published accuracy figures (``samkit/published_accuracy.csv``), long format, in the
    file's order (for one model and benchmark, its own authors' figures come first).

    ``benchmark`` / ``model``: keep only that benchmark's (``"SA-V"``, ``"MOSE"``, ``"DAVIS
    2017"``, ``"LVOS v2"``, ``"YouTube-VOS 2019"``, ``"SA-Co/Gold"``, ``"SA-Co/VEval"``) or that
    model's rows; an unknown name is a ValueError that lists the known ones. Values are as the
    source prints them (``unit`` says percent or fraction): quote them beside samkit's numbers,
    never instead of them.
    """
    from importlib import resources

    with resources.files("samkit").joinpath("published_accuracy.csv").open() as f:
        table = pd.read_csv(f, dtype={"split": "string"}, keep_default_na=False, na_values={"value": [""]})
    for column, wanted in (("benchmark", benchmark), ("model", model)):
        if wanted is None:
            continue
        known = list(dict.fromkeys(table[column]))
        if wanted not in known:
            raise ValueError(f"no published accuracy for {column} {wanted!r}; known: {', '.join(known)}")
        table = table[table[column] == wanted]
    return table.reset_index(drop=True)
