"""Report files from result rows: the tables (markdown + CSV), the standard figures and an index.

The top layer of the results stack (labels -> tables -> figures -> report): `write_report` makes
the tables with `samkit.tables` and draws them with `samkit.viz`; it computes nothing itself.
`merge_runs` (from `samkit.tables`) is here too, for ``from samkit.report import merge_runs,
write_report``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from samkit import viz
from samkit.labels import present
from samkit.speed_tables import agreement_table, fast_settings_table, flag_agreement
from samkit.tables import (PUBLISHED_NOTE, accuracy_table, ap_table, benchmark_table, caption_lines,
                           join_published, latency_table, memory_table, merge_runs, pareto_table,
                           sequence_table, to_markdown, video_benchmark_table)

__all__ = ["merge_runs", "write_report"]


def _md_view(table: pd.DataFrame) -> pd.DataFrame:
    """The markdown view: ``device_label`` for ``device`` + ``device_name``, ``weights`` (which
    names the kind) for ``weights_kind``; columns empty in every row are left out."""
    drop = [c for c in ("device", "device_name") if "device_label" in table.columns]
    drop += ["weights_kind"] if "weights" in table.columns else []
    view = table.drop(columns=[c for c in drop if c in table.columns])
    return view[[c for c in view.columns if view[c].map(present).any()]]


def write_report(frame: pd.DataFrame, out_dir: str | os.PathLike, *,
                 published: pd.DataFrame | None = None, title: str = "samkit report",
                 pareto_x: str | None = None, pareto_y: str | None = None,
                 dpi: int = 120) -> dict[str, Path]:
    """Write the tables and standard figures of ``frame`` (rows of any set of runs) into ``out_dir``.

    Files (only those the rows have data for):

    - ``accuracy.md`` / ``accuracy.csv``: `samkit.tables.accuracy_table` (evaluation rows);
    - ``benchmark.md`` / ``benchmark.csv``: `samkit.tables.benchmark_table` (benchmark rows);
    - ``agreement.md`` / ``.csv`` and ``fast_settings.md`` / ``.csv`` (rows with other settings
      than float32 eager, or agreement rows): `samkit.speed_tables.agreement_table` and
      `samkit.speed_tables.fast_settings_table` (plain vs best setting, speed-up, agreement);
      the benchmark table then carries ``agreement_mIoU`` / ``agreement_flag`` too;
    - ``ap.md`` / ``ap.csv``: `samkit.tables.ap_table` (text and detector_boxes rows: COCO AP per
      model and detector);
    - ``pareto.png``: accuracy vs latency with the Pareto front (`samkit.viz.pareto_plot` of
      `samkit.tables.pareto_table`); x: ``pareto_x`` or ``end_to_end_ms`` where benchmarked, else
      ``encoder_ms``; y: ``pareto_y`` or the first of ``mIoU@1``, ``box_mIoU``, ``AR@1000`` with
      values;
    - ``latency.png``: encoder / decoder latency bars (`samkit.viz.latency_bars`);
    - ``memory.png``: peak memory per phase (`samkit.viz.memory_bars`);
    - ``video_sequences.md`` / ``.csv``: `samkit.tables.sequence_table` (video rows: J&F per
      sequence; the per-model J&F is in the accuracy table);
    - ``video_benchmark.md`` / ``video_benchmark.csv``: `samkit.tables.video_benchmark_table`
      (video_benchmark rows: fps, times and peak memory per storage option and video length);
    - ``video_memory.png``: peak memory vs video length (`samkit.viz.memory_vs_length`);
    - ``index.md``: what the report holds (devices, weights, warnings) and links to every file.

    ``published`` (columns ``model``, a ``source``, and any numbers) is joined beside the tables
    as ``published_*`` columns (`samkit.tables.join_published`) and drawn as labelled published
    points on the Pareto figure where it has the plotted columns. Returns ``{name: path}``:
    ``accuracy_md``, ``accuracy_csv``, ``benchmark_md``, ``benchmark_csv``, ``ap_md``, ``ap_csv``,
    ``pareto_png``,
    ``latency_png``, ``memory_png``, ``video_benchmark_md``, ``video_benchmark_csv``,
    ``video_memory_png``, ``index_md`` (those written).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    sections: list[str] = []
    acc = accuracy_table(frame)
    bench = benchmark_table(frame)
    video_bench = video_benchmark_table(frame)

    def table_files(name: str, table: pd.DataFrame, caption: str) -> None:
        if published is not None:
            table = join_published(table, published)
        table.to_csv(out / f"{name}.csv", index=False)
        md = to_markdown(_md_view(table), caption, about=table)
        (out / f"{name}.md").write_text(md)
        written[f"{name}_md"] = out / f"{name}.md"
        written[f"{name}_csv"] = out / f"{name}.csv"
        sections.append(f"## {caption}\n\nFiles: [{name}.md]({name}.md), [{name}.csv]({name}.csv)"
                        f"\n\n{md}")

    if len(acc):
        table_files("accuracy", acc, "Accuracy (evaluation protocols)")
    agreement = agreement_table(frame)
    fast_settings = len(agreement) or (len(bench) and ((bench["dtype"].astype("string") != "float32")
                                                       | bench["compile"].astype(bool)).any())
    if len(bench):
        if fast_settings:  # every table that shows a setting's speed shows its agreement
            bench = flag_agreement(bench, agreement)
        table_files("benchmark", bench, "Benchmark: latency (median / p95 ms), peak memory, size")
    if fast_settings:
        if len(agreement):
            table_files("agreement", agreement,
                        "Fast settings: agreement with float32 eager (mean mask IoU, score difference)")
        best = fast_settings_table(frame, frame)
        if len(best):
            table_files("fast_settings", best, "Fast settings: each model's plain setting beside its "
                        "fastest one with agreement >= 0.99 (encoder ms per image)")
    ap = ap_table(frame)
    if len(ap):
        table_files("ap", ap, "Text and detector-box prompts: class-aware COCO mask / box AP")
    sequences = sequence_table(frame)
    if len(sequences):
        table_files("video_sequences", sequences, "Video: J&F per sequence (DAVIS semi-supervised)")
    if len(video_bench):
        table_files("video_benchmark", video_bench,
                    "Video benchmark: tracking fps, init / prompt / propagate ms, peak memory")

    def figure_file(name: str, make: Callable[[], object], caption: str) -> None:
        fig = make()
        fig.savefig(out / f"{name}.png", dpi=dpi)  # type: ignore[attr-defined]
        written[f"{name}_png"] = out / f"{name}.png"
        sections.append(f"## {caption}\n\n![{caption}]({name}.png)\n")

    y = pareto_y or next((c for c in ("mIoU@1", "box_mIoU", "AR@1000")
                          if c in acc.columns and acc[c].notna().any()), None)
    x = pareto_x or ("end_to_end_ms" if "end_to_end_ms" in bench.columns
                     and bench["end_to_end_ms"].notna().any() else "encoder_ms")
    skipped: list[str] = []
    if y is not None:
        try:
            points = pareto_table((acc, bench), x=x, y=y)
            if points[x].isna().all():
                raise ValueError(f"no configuration has both {x} and {y}")
        except ValueError as err:
            skipped.append(f"- Pareto figure not drawn: {err}.")
        else:
            pub = published if published is not None and {x, y} <= set(published.columns) else None
            figure_file("pareto", lambda: viz.pareto_plot(points, x=x, y=y, published=pub),
                        f"Accuracy ({y}) vs latency ({x}), Pareto front")
    latency = latency_table((acc, bench))
    if len(latency):
        figure_file("latency", lambda: viz.latency_bars(latency), "Latency breakdown")
    memory = memory_table((acc, bench))
    if len(memory):
        figure_file("memory", lambda: viz.memory_bars(memory), "Peak memory")
    if len(video_bench) and video_bench["peak_mem_mib"].notna().any():
        figure_file("video_memory", lambda: viz.memory_vs_length(video_bench),
                    "Video tracking: peak memory vs video length")

    everything = pd.concat([t for t in (acc, bench, video_bench) if len(t)], ignore_index=True) \
        if len(acc) or len(bench) or len(video_bench) else frame
    index = [f"# {title}", "", f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from "
             f"{len(frame)} result rows.", ""]
    index += caption_lines(everything)
    if published is not None:
        index.append(f"- {PUBLISHED_NOTE}.")
    index += ["", "## Files", ""]
    index += [f"- [{p.name}]({p.name})" for p in written.values()] + skipped
    index += [""] + sections
    (out / "index.md").write_text("\n".join(index) + "\n")
    written["index_md"] = out / "index.md"
    return written
