"""Video benchmark protocol: frame rate and peak memory of video tracking against video length.

For every combination of ``lengths`` x ``video_storage`` x ``offload_state_to_cpu``: a synthetic
moving-shapes video of that length and ``size`` (`samkit.data.synthetic_video.moving_shapes`, exact
masks, no files), then

1. ``model.video(frames, video_storage=..., offload_state_to_cpu=...)``, timed: ``init_ms``
   (frames opened or decoded, sam2's state made);
2. every object prompted on frame 0 with its ground-truth mask, timed: ``prompt_ms``;
3. one forward propagation over the whole video, timed (``propagate_ms``; ``fps`` = propagated
   frames / propagation seconds) inside `samkit.metrics.perf.measure_peak_memory`
   (``peak_mem_mib``, ``mem_baseline_mib``, ``mem_method``: on CUDA the allocator's peak, which
   includes frames held on the device and the tracking state; on a CPU the process's peak RSS).

``warmup`` first runs one short untimed track (2 frames, the first storage / offload option), so
no timed call is the first (``warmed_up`` on every row says whether it succeeded).

One row per combination, with ``length``, ``video_storage``, ``offload_state_to_cpu``, ``height``,
``width``, ``objects``, ``frames`` (propagated), the times above and the DAVIS scores of the tracks
against the synthetic truth (``J-Mean``, ``F-Mean``, ``J&F-Mean``: means over objects; with
random weights they are meaningless, and the rows say which weights they come from). A combination
that fails (out of memory, ...) is one row with its `samkit.errors.failure_status`; the others
still run. Summary: ``video_fps`` (median over ok rows) and ``video_peak_mem_mib`` (max).

Its table and figure: `video_benchmark_table` (one row per option and length; the report's
``video_benchmark.md``) and `memory_vs_length` (peak memory against video length, one line per
option; the report's ``video_memory.png``). Its rows are not in the accuracy table.
"""

from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.errors import ParameterError
from samkit.eval._runner import RowSink, resolve_run_id
from samkit.eval.protocol import Protocol, Section, failure_row, row_header
from samkit.metrics.perf import measure_peak_memory, timed
from samkit.params import check_int
from samkit.plotting import MEMORY_METHODS, figure_header, new_figure, refuse_rows
from samkit.wording import RANDOM_WEIGHTS_WARNING, device_label, group_weights_kind, joined, present

__all__ = [
    "run_video_benchmark",
    "VideoBenchmarkParams",
    "PROTOCOL",
    "summarize_video_benchmark",
    "VIDEO_STORAGE",
    "VIDEO_BENCHMARK_KEYS",
    "video_benchmark_table",
    "memory_vs_length",
]

#: the ``video_storage`` options the benchmark sweeps (see `samkit.video.VIDEO_STORAGE`)
VIDEO_STORAGE = ("stream", "cpu", "device")
DATASET = "moving_shapes"
WARMUP_FRAMES = 2


def _check_int_list(name: str, values: Any, minimum: int) -> list[int]:
    """``values`` as a non-empty list of ints >= ``minimum`` (`samkit.errors.ParameterError` naming the item)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ParameterError(f"{name} must be a list of integers >= {minimum}, got {values!r}")
    out = [check_int(f"{name}[{i}]", v, low=minimum) for i, v in enumerate(values)]
    if not out:
        raise ParameterError(f"{name} must be a non-empty list of integers >= {minimum}, got {values!r}")
    return out


def _check_size(size: Any) -> tuple[int, int]:
    values = _check_int_list("size", size, 1)
    if len(values) != 2:
        raise ParameterError(f"size must be [H, W] (two integers >= 1, pixels), got {size!r}")
    return values[0], values[1]


def _free(device: Any) -> None:
    """Drop what the last combination left behind, so the next one's baseline is clean."""
    import torch

    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()


def _track(model: Any, video: Any, storage: str, offload: bool) -> dict[str, Any]:
    """One timed track of ``video`` (a `SyntheticVideo`): init, mask prompts on frame 0, forward
    propagation under the memory probe; the row fields."""
    from samkit.metrics import j_and_f

    tracker, init_ms = timed(
        lambda: model.video(video.frames, video_storage=storage, offload_state_to_cpu=offload), model.device
    )
    try:
        oids = [int(o) for o in video.object_ids]

        def prompt_all() -> None:
            for k, oid in enumerate(oids):
                tracker.add_prompt(0, oid, mask=video.masks[k, 0])

        _, prompt_ms = timed(prompt_all, model.device)
        tracked: dict[int, dict[int, np.ndarray]] = {}
        timing: list[float] = []
        memory = measure_peak_memory(
            lambda: timing.append(timed(lambda: tracked.update(tracker.propagate(start_frame=0)), model.device)[1]),
            model.device,
        )
    finally:
        tracker = None  # the tracking state is freed before the next measurement
    propagate_ms, frames = timing[0], len(tracked)
    empty = np.zeros(video.size, bool)
    scores = [
        j_and_f(video.masks[k], np.stack([tracked.get(t, {}).get(oid, empty) for t in range(video.num_frames)]))
        for k, oid in enumerate(oids)
    ]
    quality = {
        key: float(np.mean([s[key] for s in scores])) if scores else np.nan for key in ("J-Mean", "F-Mean", "J&F-Mean")
    }
    return {
        "init_ms": init_ms,
        "prompt_ms": prompt_ms,
        "propagate_ms": propagate_ms,
        "frames": frames,
        "fps": frames / (propagate_ms / 1000.0) if propagate_ms > 0 else np.nan,
        "peak_mem_mib": memory.peak_mib,
        "mem_baseline_mib": memory.baseline_mib,
        "mem_method": memory.method,
        **quality,
    }


def run_video_benchmark(
    model: Any,
    *,
    lengths: Any = (8, 32, 128),
    size: Any = (480, 640),
    num_objects: int = 1,
    video_storage: Any = ("stream", "device"),
    offload_state_to_cpu: Any = (False, True),
    warmup: bool = True,
    seed: int = 0,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (length, video_storage, offload_state_to_cpu) (see the module docstring).

    Args:
        lengths: video lengths, frames (ints >= 1).
        size: ``(H, W)`` of the videos, pixels.
        num_objects: shapes per video, each prompted on frame 0 with its true mask (>= 1).
        video_storage: tracker frame storage options (``"stream"``, ``"cpu"``, ``"device"``).
        offload_state_to_cpu: tracker state options (bools).
        warmup: one untimed 2-frame track before the timed ones.
        seed: the synthetic videos' seed.

    ``out_path``: rows saved after every combination; ``resume``: keep rows already there and skip
    their combinations.
    """
    lengths = _check_int_list("lengths", lengths, 1)
    h, w = _check_size(size)
    if isinstance(num_objects, bool) or not isinstance(num_objects, (int, np.integer)) or num_objects < 1:
        raise ValueError(f"num_objects must be an int >= 1, got {num_objects!r}")
    storages = [video_storage] if isinstance(video_storage, str) else list(video_storage)
    if not storages or any(s not in VIDEO_STORAGE for s in storages):
        raise ValueError(f"video_storage must be a non-empty list of {VIDEO_STORAGE}, got {video_storage!r}")
    offloads = [offload_state_to_cpu] if isinstance(offload_state_to_cpu, bool) else list(offload_state_to_cpu)
    if not offloads or any(not isinstance(o, (bool, np.bool_)) for o in offloads):
        raise ValueError(f"offload_state_to_cpu must be a non-empty list of bools, got {offload_state_to_cpu!r}")
    from samkit.data.synthetic_video import moving_shapes

    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    done = {
        (int(r["length"]), str(r["video_storage"]), bool(r["offload_state_to_cpu"]))
        for r in sink.rows
        if pd.notna(r.get("length"))
    }
    combos = [
        (n, s, bool(o)) for n, s, o in itertools.product(lengths, storages, offloads) if (n, s, bool(o)) not in done
    ]
    warmed = False
    if warmup and combos:
        try:
            _track(model, moving_shapes(WARMUP_FRAMES, (h, w), num_objects, seed), combos[0][1], combos[0][2])
            warmed = True
        except Exception:  # noqa: BLE001 - untimed; a real problem shows in the timed rows
            pass
        _free(model.device)
    for length, storage, offload in tqdm(
        combos, desc=f"video_benchmark {model.name}", unit="combination", disable=not progress
    ):
        base = {
            **row_header(model, run_id, "video_benchmark", DATASET, f"{DATASET}@{length}x{h}x{w}"),
            "prompt": "mask",
            "length": length,
            "video_storage": storage,
            "offload_state_to_cpu": offload,
            "height": h,
            "width": w,
            "objects": num_objects,
            "seed": seed,
            "warmed_up": warmed,
        }
        try:
            video = moving_shapes(length, (h, w), num_objects, seed)
            sink.extend([{**base, **_track(model, video, storage, offload), "status": "ok"}])
        except Exception as err:  # noqa: BLE001 - recorded; the other combinations still run
            sink.extend([failure_row(base, err)])
        _free(model.device)
        sink.flush()
    return sink.frame()


@dataclass
class VideoBenchmarkParams:
    """Parameters of the video benchmark protocol (see `run_video_benchmark`)."""

    lengths: list[int] = field(default_factory=lambda: [8, 32, 128], metadata={"min": 1})
    size: list[int] = field(default_factory=lambda: [480, 640], metadata={"min": 1})
    num_objects: int = field(default=1, metadata={"min": 1})
    video_storage: list[str] = field(default_factory=lambda: ["stream", "device"], metadata={"choices": VIDEO_STORAGE})
    offload_state_to_cpu: list[bool] = field(default_factory=lambda: [False, True])
    warmup: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int_list("lengths", self.lengths, 1)
        _check_size(self.size)
        if not list(self.video_storage):
            raise ValueError("video_storage must list at least one of " + ", ".join(VIDEO_STORAGE))
        offloads = list(self.offload_state_to_cpu)
        if not offloads or any(not isinstance(o, (bool, np.bool_)) for o in offloads):
            raise ValueError(
                f"offload_state_to_cpu must be a non-empty list of bools, got {self.offload_state_to_cpu!r}"
            )


def summarize_video_benchmark(rows: pd.DataFrame) -> dict[str, Any]:
    """``video_fps``: median over combinations of propagated frames per second;
    ``video_peak_mem_mib``: the largest peak memory (MiB)."""
    out: dict[str, Any] = {}
    if "fps" in rows.columns:
        out["video_fps"] = pd.to_numeric(rows["fps"], errors="coerce").astype(float).median()
    if "peak_mem_mib" in rows.columns:
        out["video_peak_mem_mib"] = pd.to_numeric(rows["peak_mem_mib"], errors="coerce").astype(float).max()
    return out


# ----------------------------------------------------------------------------------- table, figure

VIDEO_BENCHMARK_KEYS: list[str] = [
    "model",
    "weights",
    "device",
    "device_name",
    "dtype",
    "video_storage",
    "offload_state_to_cpu",
    "length",
    "height",
    "width",
]
"""One `video_benchmark_table` row per distinct combination of these columns."""

_VIDEO_NUMERIC = [
    "fps",
    "propagate_ms",
    "init_ms",
    "prompt_ms",
    "peak_mem_mib",
    "frames",
    "objects",
    "J&F-Mean",
    "length",
    "height",
    "width",
]


def video_benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Video benchmark rows (``protocol == "video_benchmark"``) as one row per (model, weights,
    device, device_name, dtype, video_storage, offload_state_to_cpu, length, height, width).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``: ``objects``,
    ``frames`` (propagated), ``fps`` (propagated frames per second), ``propagate_ms``, ``init_ms``,
    ``prompt_ms`` (medians over the ok rows of merged runs), ``peak_mem_mib`` (the largest, MiB),
    ``mem_method`` (how memory was measured), ``J&F-Mean`` (against the synthetic truth; median),
    ``runs`` (ok rows), ``errors`` (rows of any failure status), ``failure`` (their statuses, e.g.
    ``oom``) and ``note`` (`RANDOM_WEIGHTS_WARNING` for random weights, else empty). A combination
    that only failed keeps its row, with empty numbers. Empty (these columns) without such rows.
    """
    columns = [
        "model",
        "family",
        "weights",
        "weights_kind",
        "device",
        "device_name",
        "device_label",
        "dtype",
        "video_storage",
        "offload_state_to_cpu",
        "length",
        "height",
        "width",
        "objects",
        "frames",
        "fps",
        "propagate_ms",
        "init_ms",
        "prompt_ms",
        "peak_mem_mib",
        "mem_method",
        "J&F-Mean",
        "runs",
        "errors",
        "failure",
        "note",
    ]
    if "protocol" not in frame.columns:
        return pd.DataFrame(columns=columns)
    rows = frame[frame["protocol"].astype("string") == "video_benchmark"].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    for col in (
        VIDEO_BENCHMARK_KEYS + _VIDEO_NUMERIC + ["family", "status", "mem_method", "weights_kind", "weights_official"]
    ):
        if col not in rows.columns:
            rows[col] = pd.NA
    for col in _VIDEO_NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    rows["offload_state_to_cpu"] = rows["offload_state_to_cpu"].map(lambda v: bool(v) if present(v) else pd.NA)
    out: list[dict[str, Any]] = []
    for key, group in rows.groupby(VIDEO_BENCHMARK_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(VIDEO_BENCHMARK_KEYS, key))
        rec["family"] = joined(group["family"])
        rec["weights_kind"] = group_weights_kind(group)
        rec["device_label"] = device_label(rec["device"], rec["device_name"])
        g_status = group["status"].astype("string").fillna("ok")
        g = group[g_status == "ok"]
        rec["objects"] = g["objects"].max()
        rec["frames"] = g["frames"].max()
        for col in ("fps", "propagate_ms", "init_ms", "prompt_ms", "J&F-Mean"):
            rec[col] = g[col].median()
        rec["peak_mem_mib"] = g["peak_mem_mib"].max()
        rec["mem_method"] = joined(g["mem_method"])
        rec["runs"] = len(g)
        failed = g_status[g_status != "ok"]
        rec["errors"] = len(failed)
        rec["failure"] = joined(failed) if len(failed) else ""
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)
    table = pd.DataFrame(out, columns=columns)
    for col in ("length", "height", "width", "objects", "frames", "runs", "errors"):
        table[col] = pd.to_numeric(table[col], errors="coerce").round().astype("Int64")
    return table


def _memory_line(methods_of: Any) -> str:
    """The subtitle that says how memory was measured (``mem_method`` values, ``"; "``-joined)."""
    methods: list[str] = []
    for value in methods_of.dropna().astype(str):
        methods += [m for m in value.split("; ") if m and m not in methods]
    return (
        "memory: " + "; ".join(f"{m} = {MEMORY_METHODS.get(m, m)}" for m in methods)
        if methods
        else "memory method not recorded"
    )


def memory_vs_length(table: pd.DataFrame, *, logx: bool = False, title: str | None = None):
    """Peak memory (MiB) of video tracking against video length (frames), from a
    `video_benchmark_table`: one line per (model, weights, device, dtype, video size, video_storage,
    offload_state_to_cpu). Lines are named by the model and its storage /
    offload option, plus whatever else varies between lines (weights kind, device, dtype, size).

    The header names the device(s), the weights kind(s) and how memory was measured; random
    weights get the red banner. Combinations that failed (e.g. ``oom``) are listed under the
    title, not drawn.
    """
    refuse_rows(table, "memory_vs_length", "samkit.eval.video_benchmark.video_benchmark_table")
    need = {"length", "peak_mem_mib", "video_storage", "offload_state_to_cpu"}
    if not need <= set(table.columns):
        raise ValueError(
            f"memory_vs_length draws a samkit.eval.video_benchmark.video_benchmark_table "
            f"(columns {sorted(need)}); got columns {list(table.columns)}"
        )
    data = table.copy()
    data["peak_mem_mib"] = pd.to_numeric(data["peak_mem_mib"], errors="coerce").astype(float)
    data["length"] = pd.to_numeric(data["length"], errors="coerce").astype(float)
    if data["peak_mem_mib"].isna().all():
        raise ValueError("no peak memory numbers to draw")
    data["size"] = [
        f"{h}x{w}" if pd.notna(h) and pd.notna(w) else ""
        for h, w in zip(data.get("height", [pd.NA] * len(data)), data.get("width", [pd.NA] * len(data)))
    ]
    keys = [
        c
        for c in ("model", "weights", "device", "device_name", "dtype", "size", "video_storage", "offload_state_to_cpu")
        if c in data.columns
    ]
    varying = [
        c
        for c in ("weights_kind", "device_label", "dtype", "size")
        if c in data.columns and data[c].astype("string").fillna("").nunique() > 1
    ]
    failed = []
    if "failure" in data.columns:
        for _, row in data[data["peak_mem_mib"].isna()].iterrows():
            why = str(row["failure"]) if pd.notna(row["failure"]) and str(row["failure"]) else "no number"
            failed.append(
                f"{row['model']} {row['video_storage']}/offload={bool(row['offload_state_to_cpu'])}"
                f" at {int(row['length'])} frames ({why})"
            )
    extra = [_memory_line(data["mem_method"]) if "mem_method" in data.columns else "memory method not recorded"]
    if failed:
        extra.append("not drawn: " + "; ".join(failed))
    header = figure_header(data, title or "Peak memory vs video length", extra=extra, width=9.0)
    fig, ax = new_figure(9.0, 4.2, header, left=0.9, bottom=0.7)
    for i, (_, line) in enumerate(data.groupby(keys, dropna=False, sort=False)):
        line = line.dropna(subset=["peak_mem_mib", "length"]).sort_values("length")
        if line.empty:
            continue
        first = line.iloc[0]
        parts = [f"storage={first['video_storage']}", f"offload_state_to_cpu={bool(first['offload_state_to_cpu'])}"]
        parts += [str(first[c]) for c in varying if pd.notna(first[c]) and str(first[c])]
        ax.plot(
            line["length"],
            line["peak_mem_mib"],
            marker="o",
            markersize=4,
            linestyle="-" if not first["offload_state_to_cpu"] else "--",
            color=f"C{i % 10}",
            label=f"{first['model']} ({', '.join(parts)})",
        )
    if logx:
        ax.set_xscale("log")
    ax.set_xticks(
        sorted(data["length"].dropna().unique()), [str(int(v)) for v in sorted(data["length"].dropna().unique())]
    )
    ax.set_xlabel("video length, frames")
    ax.set_ylabel("peak memory, MiB")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return fig


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``video_benchmark``: `video_benchmark_table`, and ``video_memory``: `memory_vs_length` of
    it (where it has a peak memory)."""
    table = video_benchmark_table(rows)
    if not len(table):
        return []
    sections = [
        Section(
            "video_benchmark",
            "Video benchmark: tracking fps, init / prompt / propagate ms, peak memory",
            table=table,
            order=60,
            in_index=True,
        )
    ]
    if table["peak_mem_mib"].notna().any():
        sections.append(
            Section(
                "video_memory",
                "Video tracking: peak memory vs video length",
                figure=lambda: memory_vs_length(table),
                order=60,
            )
        )
    return sections


#: the registered ``video_benchmark`` protocol (`samkit.eval.get_protocol("video_benchmark")`)
PROTOCOL = Protocol(
    name="video_benchmark",
    description="video tracking fps, init / prompt / propagate ms and peak memory vs video length",
    capability="video",
    params=VideoBenchmarkParams,
    runner=lambda model, dataset, p, **common: run_video_benchmark(
        model,
        lengths=p.lengths,
        size=p.size,
        num_objects=p.num_objects,
        video_storage=p.video_storage,
        offload_state_to_cpu=p.offload_state_to_cpu,
        warmup=p.warmup,
        seed=p.seed,
        **common,
    ),
    summarizer=summarize_video_benchmark,
    uses_dataset=False,
    accuracy=False,
    report_sections=report_sections,
)
