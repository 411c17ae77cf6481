"""Published accuracy of the registered models: ``samkit/published_accuracy.csv``, read and shaped
to stand beside measured numbers (never in their place).

The file holds, one row per figure, what the models' authors (or, labelled, another paper's
authors) print: the VOS J&F of SAM 2 / 2.1 and EdgeTAM (SA-V, MOSE, DAVIS 2017, LVOS v2; G for
YouTube-VOS 2019) and SAM 3's SA-Co/Gold and SA-Co/VEval numbers. Columns: ``model`` (a registry
name), ``benchmark``, ``metric``, ``value`` (as printed), ``unit`` (``percent`` or ``fraction``, as
printed), ``split`` (the benchmark's split or subset; ``not stated`` where the source names none),
``conditions`` (what the figure is, and any reading of the source: a mapped row name, third-party
figures) and ``source`` (repository, file, commit, table and row).

- `published_accuracy`: the file, optionally one benchmark's or one model's rows;
- `published_beside`: one benchmark's figures as one row per model, the table
  `samkit.results.write_report` takes as ``published=`` (it joins it beside every table as
  ``published_*`` columns, e.g. beside the SA-Co table: ``write_report(rows, out,
  published=published_beside("SA-Co/Gold", split="metaclip"))``).

The video protocol's per-benchmark tables (``vos_<benchmark>``) put the VOS figures of this file
beside the measured J&F themselves (`samkit.eval.video.vos_benchmark_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from samkit.registry.accuracy import PUBLISHED_ACCURACY_COLUMNS, published_accuracy

__all__ = ["PUBLISHED_ACCURACY_COLUMNS", "published_accuracy", "published_beside"]


def published_beside(benchmark: str, split: str | None = None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One benchmark's published figures as one row per model, for `samkit.results.write_report`'s
    ``published=`` (or `samkit.results.tables.join_published`).

    Columns: ``model``, one column per (metric, split) named ``"<metric> (<benchmark> <split>)"``
    with ``", %"`` before the closing bracket for percentages (e.g. ``"cgF1 (SA-Co/Gold metaclip,
    %)"``, ``"IL_MCC (SA-Co/Gold metaclip)"``), holding the value as printed, then ``conditions``
    (what the figures are: e.g. SAM 3 with its own text prompts, no external detector) and
    ``source`` (the model's distinct conditions and sources, joined with ``"; "``). Joined beside a
    table, the columns read ``published_cgF1 (SA-Co/Gold metaclip, %)`` ..., ``published_conditions``
    and ``published_source``. The join is by model alone: a row of the same model under other
    conditions (SAM 3 segmenting a detector's boxes) gets the same figures, and
    ``published_conditions`` says what they were measured as.

    ``split``: only that split or subset (e.g. ``"metaclip"``, ``"average"``, ``"test"``);
    ``metrics``: only those metrics (e.g. ``["cgF1", "IL_MCC", "positive_micro_F1"]``). Where the
    file has two figures for one model, metric and split (two papers), the first listed, the
    model's own authors', is kept; `published_accuracy` has both.
    """
    table = published_accuracy(benchmark)
    if split is not None:
        if split not in set(table["split"]):
            known = ", ".join(dict.fromkeys(table["split"]))
            raise ValueError(f"no published {benchmark} figures for split {split!r}; known: {known}")
        table = table[table["split"] == split]
    if metrics is not None:
        table = table[table["metric"].isin(list(metrics))]
    table = table.drop_duplicates(["model", "metric", "split"], keep="first")
    if not len(table):
        return pd.DataFrame(columns=["model", "source"])
    names = [
        f"{m} ({benchmark} {s}{', %' if u == 'percent' else ''})"
        for m, s, u in zip(table["metric"], table["split"], table["unit"])
    ]
    table = table.assign(column=names)
    wide = table.pivot(index="model", columns="column", values="value")
    wide = wide[list(dict.fromkeys(names))]  # the file's order
    models = list(dict.fromkeys(table["model"]))
    out = wide.loc[models].reset_index()
    out.columns.name = None
    for column in ("conditions", "source"):
        texts = table.groupby("model", sort=False)[column].agg(lambda s: "; ".join(dict.fromkeys(s)))
        out[column] = texts.loc[models].to_numpy()
    return out
