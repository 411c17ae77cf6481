"""Report files from result rows: the generic tables and figures, each protocol's sections, an index.

`write_report` computes nothing itself: the accuracy and performance tables come from
`samkit.eval` (`accuracy_table`, `performance_table`), the generic figures from
`samkit.results.figures`, and every other table or figure from the protocols' own report sections,
found through the protocol registry (`samkit.eval.get_protocol(name).sections(rows, published)`,
see `samkit.eval.Section`). No protocol is named here: a new protocol's table reaches the report
from its own module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from samkit.eval import Section, accuracy_table, get_protocol, list_protocols, performance_table
from samkit.results import figures
from samkit.results.tables import (
    PUBLISHED_NOTE,
    caption_lines,
    join_published,
    latency_table,
    memory_table,
    pareto_table,
    to_markdown,
)
from samkit.wording import present

__all__ = ["write_report", "protocol_sections"]

_GENERIC = ("accuracy", "pareto", "latency", "memory", "index")
"""The report's own file names, which no protocol section may take."""


def _md_view(table: pd.DataFrame) -> pd.DataFrame:
    """The markdown view: ``device_label`` for ``device`` + ``device_name``, ``weights`` (which
    names the kind) for ``weights_kind``; columns empty in every row are left out."""
    drop = [c for c in ("device", "device_name") if "device_label" in table.columns]
    drop += ["weights_kind"] if "weights" in table.columns else []
    view = table.drop(columns=[c for c in drop if c in table.columns])
    return view[[c for c in view.columns if view[c].map(present).any()]]


def protocol_sections(frame: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """Every registered protocol's report sections for ``frame`` (registry order), checked: one
    file name once, and none of the report's own (accuracy, pareto, latency, memory, index)."""
    sections = [s for name in list_protocols() for s in get_protocol(name).sections(frame, published)]
    names = [s.name for s in sections]
    clash = sorted({n for n in names if names.count(n) > 1 or n in _GENERIC})
    if clash:
        raise ValueError(f"report sections with a name taken twice or by the report itself: {clash}")
    return sections


def write_report(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    published: pd.DataFrame | None = None,
    title: str = "samkit report",
    pareto_x: str | None = None,
    pareto_y: str | None = None,
    dpi: int = 120,
) -> dict[str, Path]:
    """Write the tables and figures of ``frame`` (rows of any set of runs) into ``out_dir``.

    Files (only those the rows have data for), in this order:

    - ``accuracy.md`` / ``accuracy.csv``: `samkit.eval.accuracy_table` (evaluation rows);
    - every protocol's tables (`protocol_sections`, by their ``order``): ``<name>.md`` /
      ``<name>.csv`` (e.g. the benchmark's ``benchmark``, ``fast_settings``; the agreement's
      ``agreement``; the text protocols' ``ap``; the video protocols' ``video_sequences`` and
      ``video_benchmark``);
    - ``pareto.png``: accuracy vs latency with the Pareto front (`samkit.results.figures.pareto_plot`
      of `samkit.results.tables.pareto_table` of the accuracy and performance tables); x:
      ``pareto_x`` or ``end_to_end_ms`` where benchmarked, else ``encoder_ms``; y: ``pareto_y`` or
      the first of ``mIoU@1``, ``box_mIoU``, ``AR@1000`` with values;
    - ``latency.png``: encoder / decoder latency bars (`samkit.results.figures.latency_bars`);
    - ``memory.png``: peak memory per phase (`samkit.results.figures.memory_bars`);
    - every protocol's figures (by their ``order``): ``<name>.png`` (e.g. ``video_memory.png``);
    - ``index.md``: what the report holds (devices, weights, warnings of the accuracy table and of
      the sections marked ``in_index``) and links to every file.

    ``published`` (columns ``model``, a ``source``, and any numbers) is joined beside every table
    as ``published_*`` columns (`samkit.results.tables.join_published`) and drawn as labelled
    published points on the Pareto figure where it has the plotted columns. Returns ``{name:
    path}``: ``<table>_md``, ``<table>_csv``, ``<figure>_png`` and ``index_md`` (those written),
    e.g. ``accuracy_md``, ``benchmark_csv``, ``pareto_png``, ``video_memory_png``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    sections: list[str] = []
    acc = accuracy_table(frame)
    perf = performance_table(frame)
    parts = protocol_sections(frame, published)
    tables = sorted((s for s in parts if s.table is not None), key=lambda s: s.order)
    drawn = sorted((s for s in parts if s.figure is not None), key=lambda s: s.order)

    def table_files(name: str, table: pd.DataFrame, caption: str) -> None:
        if published is not None:
            table = join_published(table, published)
        table.to_csv(out / f"{name}.csv", index=False)
        md = to_markdown(_md_view(table), caption, about=table)
        (out / f"{name}.md").write_text(md)
        written[f"{name}_md"] = out / f"{name}.md"
        written[f"{name}_csv"] = out / f"{name}.csv"
        sections.append(f"## {caption}\n\nFiles: [{name}.md]({name}.md), [{name}.csv]({name}.csv)\n\n{md}")

    if len(acc):
        table_files("accuracy", acc, "Accuracy (evaluation protocols)")
    for section in tables:
        table_files(section.name, section.table, section.caption)

    def figure_file(name: str, make: Callable[[], object], caption: str) -> None:
        fig = make()
        fig.savefig(out / f"{name}.png", dpi=dpi)  # type: ignore[attr-defined]
        written[f"{name}_png"] = out / f"{name}.png"
        sections.append(f"## {caption}\n\n![{caption}]({name}.png)\n")

    y = pareto_y or next(
        (c for c in ("mIoU@1", "box_mIoU", "AR@1000") if c in acc.columns and acc[c].notna().any()), None
    )
    x = pareto_x or (
        "end_to_end_ms" if "end_to_end_ms" in perf.columns and perf["end_to_end_ms"].notna().any() else "encoder_ms"
    )
    skipped: list[str] = []
    if y is not None:
        try:
            points = pareto_table((acc, perf), x=x, y=y)
            if points[x].isna().all():
                raise ValueError(f"no configuration has both {x} and {y}")
        except ValueError as err:
            skipped.append(f"- Pareto figure not drawn: {err}.")
        else:
            pub = published if published is not None and {x, y} <= set(published.columns) else None
            figure_file(
                "pareto",
                lambda: figures.pareto_plot(points, x=x, y=y, published=pub),
                f"Accuracy ({y}) vs latency ({x}), Pareto front",
            )
    latency = latency_table((acc, perf))
    if len(latency):
        figure_file("latency", lambda: figures.latency_bars(latency), "Latency breakdown")
    memory = memory_table((acc, perf))
    if len(memory):
        figure_file("memory", lambda: figures.memory_bars(memory), "Peak memory")
    for section in drawn:
        figure_file(section.name, section.figure, section.caption)

    headline = [t for t in [acc] + [s.table for s in tables if s.in_index] if len(t)]
    everything = pd.concat(headline, ignore_index=True) if headline else frame
    index = [
        f"# {title}",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from {len(frame)} result rows.",
        "",
    ]
    index += caption_lines(everything)
    if published is not None:
        index.append(f"- {PUBLISHED_NOTE}.")
    index += ["", "## Files", ""]
    index += [f"- [{p.name}]({p.name})" for p in written.values()] + skipped
    index += [""] + sections
    (out / "index.md").write_text("\n".join(index) + "\n")
    written["index_md"] = out / "index.md"
    return written
