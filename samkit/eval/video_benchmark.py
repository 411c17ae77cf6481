"""Video benchmark protocol: frame rate and peak memory of video tracking against video length.

For every combination of ``lengths`` x ``num_objects`` x ``prompt`` x ``video_storage`` x
``offload_state_to_cpu`` x ``bounded``:
a synthetic moving-shapes video of that length and ``size`` (`samkit.data.streamed_shapes`: the
frames and exact masks of `samkit.data.synthetic_video.moving_shapes`, drawn one frame at a time
when the tracker reads it, so no video is held and memory measures the tracker; no files), then

1. ``model.video(frames, video_storage=..., offload_state_to_cpu=..., bounded=...)``, timed:
   ``init_ms`` (frames opened or decoded, the tracker's state made);
2. ``prompt="mask"``: every object prompted on frame 0 with its ground-truth mask, timed:
   ``prompt_ms``. ``prompt="text"`` (models with the ``text_video`` capability: SAM 3's concept
   tracking): the phrase ``text`` added (`samkit.video.sam3_tracker.Sam3VideoTracker.add_text`),
   with the detection and new-object thresholds at 0, the detections' mask NMS off (with every
   query a detection it would compare 200 x 200 masks: 26 GB at the released size) and at most
   ``num_objects`` instances tracked at once (``max_objects``), so that every query may become an
   instance whatever the weights (the released thresholds find nothing with random weights): the
   rows measure the cost of tracking up to that many instances, not detection. SAM 3's other
   heuristics (hot start, occlusion suppression) can keep fewer: ``instances`` = the distinct ids
   output and ``instances_per_frame`` = their mean count a frame say how many were tracked. SAM 3
   detects on every frame it tracks, so its text rows include the detector;
3. one forward propagation over the whole video, timed (``propagate_ms``; ``fps`` = propagated
   frames / propagation seconds) inside `samkit.metrics.perf.measure_peak_memory`
   (``peak_mem_mib``, ``mem_baseline_mib``, ``mem_method``: on CUDA the allocator's peak, which
   includes frames held on the device and the tracking state; on a CPU the process's peak RSS).
   Each frame's masks are scored as they come and then let go (mask prompts; text rows have no
   J&F: their ids are the model's, not the shapes').

``bounded`` (default ``[True]``): the tracker's bounded state (`samkit.video.tracker`: the
per-frame state no later frame reads is dropped, memory flat in the video's length); ``[True,
False]`` draws both curves. Text rows are always ``bounded=False``: SAM 3's concept tracking keeps
transformers' own state. A model without ``text_video`` gets ``unsupported`` text rows.

``warmup`` first runs one short untimed track (2 frames, the first storage / offload option), so
no timed call is the first (``warmed_up`` on every row says whether it succeeded).

One row per combination, with ``length``, ``prompt``, ``video_storage``, ``offload_state_to_cpu``, ``bounded``,
``height``, ``width``, ``objects`` (shapes in the video; the instance cap of text rows), ``instances``,
``instances_per_frame``, ``frames`` (propagated), the times above and the DAVIS scores of the tracks
against the synthetic truth (``J-Mean``, ``F-Mean``, ``J&F-Mean``: means over objects; with
random weights they are meaningless, and the rows say which weights they come from). A combination
that fails (out of memory, ...) is one row with its `samkit.errors.failure_status`; the others
still run. Summary: ``video_fps`` (median over ok rows) and ``video_peak_mem_mib`` (max).

Its table and figures: `video_benchmark_table` (one row per option and length; the report's
``video_benchmark.md``), `memory_vs_length` (peak memory against video length, one line per
option; the report's ``video_memory.png``; bounded and unbounded side by side) and, where several
object counts were run, `speed_vs_objects` (fps and peak memory against the number of objects;
``video_objects.png``). Its rows are not in the accuracy table.
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
from samkit.params import check_bool, check_int
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
    "speed_vs_objects",
    "PROMPTS",
]

#: the ``video_storage`` options the benchmark sweeps (see `samkit.video.VIDEO_STORAGE`)
VIDEO_STORAGE = ("stream", "cpu", "device")
#: how the benchmark prompts: each object's true mask on frame 0, or a phrase (concept tracking)
PROMPTS = ("mask", "text")
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


def _check_bools(name: str, values: Any) -> list[bool]:
    """``values`` (a bool or a list of them) as a non-empty list of bools (`ParameterError` otherwise)."""
    items = [values] if isinstance(values, (bool, np.bool_)) else values
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise ParameterError(f"{name} must be a non-empty list of bools, got {values!r}")
    out = [check_bool(f"{name}[{i}]", v) for i, v in enumerate(items)]
    if not out:
        raise ParameterError(f"{name} must be a non-empty list of bools (true / false), got {values!r}")
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_prompts(prompt: Any) -> list[str]:
    """``prompt`` (a name or a list of them) as a non-empty list of `PROMPTS` names."""
    items = [prompt] if isinstance(prompt, str) else prompt
    if isinstance(items, bytes) or not hasattr(items, "__iter__"):
        raise ParameterError(f"prompt must be a non-empty list of {PROMPTS}, got {prompt!r}")
    items = list(items)
    if not items or any(p not in PROMPTS for p in items):
        raise ParameterError(f"prompt must be a non-empty list of {PROMPTS}, got {prompt!r}")
    return [str(p) for p in items]


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


class _StreamedScores:
    """Per-object J and F of each tracked frame, scored as it comes (`samkit.metrics.j_and_f`'s
    definition: frames 1 .. T-2, untracked frames count as empty); no mask is kept."""

    def __init__(self, video: Any) -> None:
        self.video = video
        self.oids = [int(o) for o in video.object_ids]
        self.j: dict[int, dict[int, float]] = {oid: {} for oid in self.oids}
        self.f: dict[int, dict[int, float]] = {oid: {} for oid in self.oids}
        self.frames = 0

    def add(self, t: int, masks: dict[int, np.ndarray]) -> None:
        from samkit.metrics import boundary_f, jaccard

        self.frames += 1
        if not 0 < t < self.video.num_frames - 1:
            return
        truth = self.video.masks(t)
        empty = np.zeros(self.video.size, bool)
        for k, oid in enumerate(self.oids):
            pred = masks.get(oid, empty)
            self.j[oid][t], self.f[oid][t] = jaccard(truth[k], pred), boundary_f(truth[k], pred)

    def result(self) -> dict[str, float]:
        """``J-Mean``, ``F-Mean``, ``J&F-Mean``: means over objects (NaN without scored frames)."""
        from samkit.metrics import boundary_f, jaccard
        from samkit.metrics.video import davis_statistics

        scored = range(1, self.video.num_frames - 1)
        empty = np.zeros(self.video.size, bool)
        out = {"J-Mean": [], "F-Mean": [], "J&F-Mean": []}
        for k, oid in enumerate(self.oids):
            for t in scored:
                if t not in self.j[oid]:
                    truth = self.video.masks(t)[k]
                    self.j[oid][t], self.f[oid][t] = jaccard(truth, empty), boundary_f(truth, empty)
            jm = davis_statistics(np.array([self.j[oid][t] for t in scored], dtype=np.float64))[0]
            fm = davis_statistics(np.array([self.f[oid][t] for t in scored], dtype=np.float64))[0]
            out["J-Mean"].append(jm)
            out["F-Mean"].append(fm)
            out["J&F-Mean"].append((jm + fm) / 2)
        return {key: float(np.mean(v)) if v else np.nan for key, v in out.items()}


class _InstanceCount:
    """Distinct object ids and their mean count a frame over a text-prompted propagation."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.outputs = 0
        self.frames = 0

    def add(self, t: int, masks: dict[int, np.ndarray]) -> None:
        self.frames += 1
        self.ids.update(int(oid) for oid in masks)
        self.outputs += len(masks)

    def result(self) -> dict[str, float]:
        per_frame = self.outputs / self.frames if self.frames else np.nan
        no_truth = {key: np.nan for key in ("J-Mean", "F-Mean", "J&F-Mean")}  # the ids are the model's
        return {"instances": len(self.ids), "instances_per_frame": per_frame, **no_truth}


def _prompt_text(tracker: Any, text: str, max_objects: int) -> None:
    """``text`` as a concept, every detection kept up to ``max_objects`` instances (see the
    module docstring)."""
    tracker.add_text(text, frame=0)
    tracker.detection_threshold = 0.0
    tracker.new_object_threshold = 0.0
    tracker.detection_nms_threshold = 0.0  # every query a detection: pairwise mask NMS would be N^2 x H x W
    tracker.max_objects = max_objects


def _track(
    model: Any,
    video: Any,
    storage: str,
    offload: bool,
    bounded: bool = True,
    prompt: str = "mask",
    text: str = "a shape",
) -> dict[str, Any]:
    """One timed track of ``video`` (a `samkit.data.streamed_shapes.StreamedShapes`): init, the
    prompts on frame 0 (true masks, or ``text``), forward propagation under the memory probe, each
    frame scored (masks) or counted (text) as it comes; the row fields."""
    if prompt == "text":
        model.require("text_video", "text prompts in the video benchmark")
    tracker, init_ms = timed(
        lambda: model.video(video.frames, video_storage=storage, offload_state_to_cpu=offload, bounded=bounded),
        model.device,
    )
    scores = _StreamedScores(video) if prompt == "mask" else _InstanceCount()
    try:
        first = video.masks(0)

        def prompt_all() -> None:
            if prompt == "text":
                _prompt_text(tracker, text, len(first))
                return
            for k, oid in enumerate(scores.oids):
                tracker.add_prompt(0, oid, mask=first[k])

        _, prompt_ms = timed(prompt_all, model.device)
        timing: list[float] = []

        def propagate() -> None:
            for t, masks in tracker.propagate(start_frame=0):
                scores.add(int(t), masks)

        memory = measure_peak_memory(lambda: timing.append(timed(propagate, model.device)[1]), model.device)
    finally:
        tracker = None  # the tracking state is freed before the next measurement
    propagate_ms, frames = timing[0], scores.frames
    quality = scores.result()
    if prompt == "mask":
        quality |= {"instances": len(first), "instances_per_frame": float(len(first))}
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
    num_objects: Any = (1,),
    prompt: Any = ("mask",),
    text: str = "a shape",
    video_storage: Any = ("stream", "device"),
    offload_state_to_cpu: Any = (False, True),
    bounded: Any = (True,),
    warmup: bool = True,
    seed: int = 0,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (length, num_objects, prompt, video_storage, offload_state_to_cpu, bounded)
    (see the module docstring).

    Args:
        lengths: video lengths, frames (ints >= 1).
        size: ``(H, W)`` of the videos, pixels.
        num_objects: shapes per video (an int or a list of them, each >= 1): each prompted on frame
            0 with its true mask, or, for text, the number of instances tracked.
        prompt: ``"mask"`` and / or ``"text"`` (see the module docstring).
        text: the phrase of the text rows.
        video_storage: tracker frame storage options (``"stream"``, ``"cpu"``, ``"device"``).
        offload_state_to_cpu: tracker state options (bools).
        bounded: tracker bounded-state options (bools; ``[True, False]``: both curves).
        warmup: one untimed 2-frame track before the timed ones.
        seed: the synthetic videos' seed.

    ``out_path``: rows saved after every combination; ``resume``: keep rows already there and skip
    their combinations.
    """
    lengths = _check_int_list("lengths", lengths, 1)
    h, w = _check_size(size)
    counts = _check_int_list("num_objects", [num_objects] if _is_int(num_objects) else num_objects, 1)
    prompts = _check_prompts(prompt)
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"text must be a non-empty phrase (e.g. 'a shape'), got {text!r}")
    storages = [video_storage] if isinstance(video_storage, str) else list(video_storage)
    if not storages or any(s not in VIDEO_STORAGE for s in storages):
        raise ValueError(f"video_storage must be a non-empty list of {VIDEO_STORAGE}, got {video_storage!r}")
    offloads = _check_bools("offload_state_to_cpu", offload_state_to_cpu)
    bounds = _check_bools("bounded", bounded)
    from samkit.data.streamed_shapes import streamed_shapes

    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    done = {
        (
            int(r["length"]),
            int(r["objects"]) if present(r.get("objects")) else 1,
            str(r["prompt"]) if present(r.get("prompt")) else "mask",
            str(r["video_storage"]),
            bool(r["offload_state_to_cpu"]),
            bool(r["bounded"]) if present(r.get("bounded")) else False,  # rows from before the option
        )
        for r in sink.rows
        if pd.notna(r.get("length"))
    }
    combos: list[tuple[int, int, str, str, bool, bool]] = []
    for n, k, p, s, o, b in itertools.product(lengths, counts, prompts, storages, offloads, bounds):
        combo = (n, k, p, s, bool(o), bool(b) and p == "mask")  # concept tracking keeps its own state
        if combo not in done and combo not in combos:
            combos.append(combo)
    warmed = False
    if warmup and combos:
        try:
            _, k, p, s, o, b = combos[0]
            _track(model, streamed_shapes(WARMUP_FRAMES, (h, w), k, seed), s, o, b, p, text)
            warmed = True
        except Exception:  # noqa: BLE001 - untimed; a real problem shows in the timed rows
            pass
        _free(model.device)
    for length, num, how, storage, offload, bound in tqdm(
        combos, desc=f"video_benchmark {model.name}", unit="combination", disable=not progress
    ):
        base = {
            **row_header(model, run_id, "video_benchmark", DATASET, f"{DATASET}@{length}x{h}x{w}"),
            "prompt": how,
            "text": text if how == "text" else "",
            "length": length,
            "video_storage": storage,
            "offload_state_to_cpu": offload,
            "bounded": bound,
            "height": h,
            "width": w,
            "objects": num,
            "seed": seed,
            "warmed_up": warmed,
        }
        try:
            video = streamed_shapes(length, (h, w), num, seed)
            sink.extend([{**base, **_track(model, video, storage, offload, bound, how, text), "status": "ok"}])
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
    #: shapes per video; for text prompts the instances tracked (a list: one row each)
    num_objects: list[int] = field(default_factory=lambda: [1], metadata={"min": 1})
    #: "mask" (true masks on frame 0) and / or "text" (concept tracking of `text`, SAM 3)
    prompt: list[str] = field(default_factory=lambda: ["mask"], metadata={"choices": PROMPTS})
    text: str = "a shape"
    video_storage: list[str] = field(default_factory=lambda: ["stream", "device"], metadata={"choices": VIDEO_STORAGE})
    offload_state_to_cpu: list[bool] = field(default_factory=lambda: [False, True])
    #: the tracker's bounded state (memory flat in the video's length); [true, false]: both curves
    bounded: list[bool] = field(default_factory=lambda: [True])
    warmup: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int_list("lengths", self.lengths, 1)
        _check_int_list("num_objects", [self.num_objects] if _is_int(self.num_objects) else self.num_objects, 1)
        _check_prompts(self.prompt)
        _check_size(self.size)
        if not list(self.video_storage):
            raise ValueError("video_storage must list at least one of " + ", ".join(VIDEO_STORAGE))
        _check_bools("offload_state_to_cpu", self.offload_state_to_cpu)
        _check_bools("bounded", self.bounded)


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
    "prompt",
    "objects",
    "video_storage",
    "offload_state_to_cpu",
    "bounded",
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
    "instances",
    "instances_per_frame",
    "J&F-Mean",
    "length",
    "height",
    "width",
]


def video_benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Video benchmark rows (``protocol == "video_benchmark"``) as one row per (model, weights,
    device, device_name, dtype, prompt, objects, video_storage, offload_state_to_cpu, bounded,
    length, height, width; ``bounded`` empty in rows from before that option).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``: ``instances``
    (distinct ids output; the largest), ``instances_per_frame`` (median), ``frames`` (propagated),
    ``fps`` (propagated frames per second), ``propagate_ms``, ``init_ms``, ``prompt_ms`` (medians
    over the ok rows of merged runs), ``peak_mem_mib`` (the largest, MiB),
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
        "prompt",
        "objects",
        "video_storage",
        "offload_state_to_cpu",
        "bounded",
        "length",
        "height",
        "width",
        "instances",
        "instances_per_frame",
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
    for col in ("offload_state_to_cpu", "bounded"):
        rows[col] = rows[col].map(lambda v: bool(v) if present(v) else pd.NA).astype("object")
    rows["prompt"] = rows["prompt"].map(lambda v: str(v) if present(v) else "mask").astype("object")
    out: list[dict[str, Any]] = []
    for key, group in rows.groupby(VIDEO_BENCHMARK_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(VIDEO_BENCHMARK_KEYS, key))
        rec["family"] = joined(group["family"])
        rec["weights_kind"] = group_weights_kind(group)
        rec["device_label"] = device_label(rec["device"], rec["device_name"])
        g_status = group["status"].astype("string").fillna("ok")
        g = group[g_status == "ok"]
        rec["instances"] = g["instances"].max()
        rec["instances_per_frame"] = g["instances_per_frame"].median()
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
    for col in ("length", "height", "width", "objects", "instances", "frames", "runs", "errors"):
        table[col] = pd.to_numeric(table[col], errors="coerce").round().astype("Int64")
    return table


def _bounded_part(row: Any, prefix: str) -> str:
    """``prefix + "True"`` / ``"False"`` for a row's ``bounded`` option; ``""`` where it is not recorded."""
    value = row.get("bounded") if hasattr(row, "get") else None
    return f"{prefix}{bool(value)}" if present(value) else ""


def _line_keys(data: pd.DataFrame, measured: tuple[str, ...]) -> list[str]:
    """The columns that make one figure line: the model, weights, device and dtype, ``measured``
    (what sets the measurement apart besides the x axis) and the tracker options."""
    order = ("model", "weights", "device", "device_name", "dtype", *measured)
    return [c for c in (*order, "video_storage", "offload_state_to_cpu", "bounded") if c in data.columns]


def _shown(value: Any) -> str:
    """A table cell in a legend: integral floats without ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
    offload_state_to_cpu, bounded). Lines are named by the model and its storage / offload /
    bounded options, plus whatever else varies between lines (weights kind, device, dtype, size);
    bounded lines are solid with round markers, unbounded ones dotted with crosses.

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
    keys = _line_keys(data, ("size", "prompt", "objects"))
    varying = [
        c
        for c in ("weights_kind", "device_label", "dtype", "size")
        if c in data.columns and data[c].astype("string").fillna("").nunique() > 1
    ]
    labelled = [
        c for c in ("prompt", "objects") if c in data.columns and data[c].astype("string").fillna("").nunique() > 1
    ]
    failed = []
    if "failure" in data.columns:
        for _, row in data[data["peak_mem_mib"].isna()].iterrows():
            why = str(row["failure"]) if pd.notna(row["failure"]) and str(row["failure"]) else "no number"
            failed.append(
                f"{row['model']} {row['video_storage']}/offload={bool(row['offload_state_to_cpu'])}"
                f"{_bounded_part(row, '/bounded=')} at {int(row['length'])} frames ({why})"
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
        parts = [f"{c}={_shown(first[c])}" for c in labelled]
        parts += [f"storage={first['video_storage']}", f"offload_state_to_cpu={bool(first['offload_state_to_cpu'])}"]
        parts += [_bounded_part(first, "bounded=")] if _bounded_part(first, "") else []
        parts += [str(first[c]) for c in varying if pd.notna(first[c]) and str(first[c])]
        unbounded = _bounded_part(first, "") == "False"
        ax.plot(
            line["length"],
            line["peak_mem_mib"],
            marker="x" if unbounded else "o",
            markersize=5 if unbounded else 4,
            linestyle=":" if unbounded else "-" if not first["offload_state_to_cpu"] else "--",
            color=f"C{i % 10}",
            label=f"{first['model']} ({', '.join(parts)})",
        )
    if logx:
        ax.set_xscale("log")
    lengths = sorted(data["length"].dropna().unique())
    if len(lengths) <= 8:  # more would crowd: matplotlib's own ticks then
        ax.set_xticks(lengths, [str(int(v)) for v in lengths])
    ax.set_xlabel("video length, frames")
    ax.set_ylabel("peak memory, MiB")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return fig


def speed_vs_objects(table: pd.DataFrame, *, title: str | None = None):
    """Tracking fps (left) and peak memory, MiB (right) against the number of objects (shapes
    prompted with masks, or instances tracked from a phrase), from a `video_benchmark_table`: one
    line per (model, weights, device, dtype, video size, length, prompt, video_storage,
    offload_state_to_cpu, bounded). Text lines are dashed; the header names the device(s), the
    weights kind(s) and how memory was measured (random weights: the red banner)."""
    refuse_rows(table, "speed_vs_objects", "samkit.eval.video_benchmark.video_benchmark_table")
    need = {"objects", "fps", "peak_mem_mib", "prompt", "length"}
    if not need <= set(table.columns):
        raise ValueError(
            f"speed_vs_objects draws a samkit.eval.video_benchmark.video_benchmark_table "
            f"(columns {sorted(need)}); got columns {list(table.columns)}"
        )
    data = table.copy()
    for col in ("objects", "fps", "peak_mem_mib", "length"):
        data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    data = data.dropna(subset=["objects"])
    if data["fps"].isna().all() and data["peak_mem_mib"].isna().all():
        raise ValueError("no fps or peak memory numbers to draw")
    keys = _line_keys(data, ("height", "width", "length", "prompt"))
    varying = [
        c
        for c in ("weights_kind", "device_label", "dtype", "video_storage", "offload_state_to_cpu", "bounded")
        if c in data.columns and data[c].astype("string").fillna("").nunique() > 1
    ]
    memory = _memory_line(data["mem_method"]) if "mem_method" in data.columns else "memory method not recorded"
    header = figure_header(data, title or "Video tracking vs number of objects", extra=[memory], width=10.0)
    fig, (ax_fps, ax_mem) = new_figure(10.0, 4.2, header, ncols=2, left=0.8, bottom=0.7, wspace=0.3)
    for i, (_, line) in enumerate(data.groupby(keys, dropna=False, sort=False)):
        line = line.sort_values("objects")
        first = line.iloc[0]
        parts = [f"{first['prompt']}", f"{_shown(first['length'])} frames"]
        parts += [f"{c}={_shown(first[c])}" for c in varying if present(first[c])]
        style = dict(marker="o", markersize=4, color=f"C{i % 10}", linestyle="--" if first["prompt"] == "text" else "-")
        label = f"{first['model']} ({', '.join(parts)})"
        ax_fps.plot(line["objects"], line["fps"], label=label, **style)
        ax_mem.plot(line["objects"], line["peak_mem_mib"], **style)
    counts = sorted(data["objects"].unique())
    for ax, ylabel in ((ax_fps, "tracking fps, frames/s"), (ax_mem, "peak memory, MiB")):
        if len(counts) <= 8:
            ax.set_xticks(counts, [str(int(v)) for v in counts])
        ax.set_xlabel("objects (prompted masks, or instances of the phrase)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    ax_fps.legend(fontsize=7, loc="best", framealpha=0.85)
    return fig


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``video_benchmark``: `video_benchmark_table`; ``video_memory``: `memory_vs_length` of it
    (where it has a peak memory); ``video_objects``: `speed_vs_objects` (several object counts)."""
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
    if table["objects"].nunique(dropna=True) > 1:
        sections.append(
            Section(
                "video_objects",
                "Video tracking: fps and peak memory vs number of objects",
                figure=lambda: speed_vs_objects(table),
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
        prompt=p.prompt,
        text=p.text,
        video_storage=p.video_storage,
        offload_state_to_cpu=p.offload_state_to_cpu,
        bounded=p.bounded,
        warmup=p.warmup,
        seed=p.seed,
        **common,
    ),
    summarizer=summarize_video_benchmark,
    uses_dataset=False,
    accuracy=False,
    report_sections=report_sections,
)
