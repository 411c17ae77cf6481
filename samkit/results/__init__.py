"""Results: runs merged, generic tables and figures, and report files (the layer above the protocols).

- `samkit.results.merge`: `merge_runs` (the rows of any set of runs, device names from provenance,
  shards joined and checked: `check_shards`);
- `samkit.results.tables`: markdown with captions (`to_markdown`), published numbers beside ours
  (`join_published`), and what the generic figures draw (`pareto_table`, `latency_table`,
  `memory_table`);
- `samkit.results.figures`: the generic figures (`pareto_plot`, `latency_bars`, `memory_bars`);
- `samkit.results.report`: `write_report`, which writes those and every protocol's own report
  sections, found through the protocol registry.

Nothing here names a protocol: a protocol's tables and figures live in its `samkit.eval` module;
the per-configuration summaries (`summarize`, `accuracy_table`, `performance_table`) are in
`samkit.eval.summary`, and the row schema and store in `samkit.rows`.
"""

from samkit.results.merge import ShardMergeError, check_shards, merge_runs
from samkit.results.report import write_report

__all__ = ["merge_runs", "check_shards", "ShardMergeError", "write_report"]
