"""Benchmark protocol: latency, peak memory, parameters and FLOPs of one model, phase by phase.

Phases (``PHASES``): ``set_image`` (image encoder), ``predict_point`` (one point, 3 masks),
``predict_box`` (one box, 1 mask), ``predict_boxes_batch`` (``batch`` boxes in one decoder call),
``end_to_end`` (set_image + one-point predict), ``generate`` (automatic masks), and, not run by
default, ``set_images`` (``image_batch`` images embedded by one `Segmenter.set_images` call; its
``per_image_ms`` is the call's median / ``image_batch``). Each phase is warmed
up, then timed ``repeats`` times (CUDA synchronised; median, p95, mean in ms), then run once more
under the peak-memory probe, and once under the FLOP counter. Host-to-device copies are inside every
timed call: the image goes in as a numpy array and masks come back as numpy arrays, as a user sees it.

The model's fast settings are row columns: ``dtype``, ``compile`` (and ``compile_ms``, the
compilation at load time, never inside a timed call), ``image_batch``.

Its tables: `benchmark_table` (one row per configuration: phases pivoted, parameters, FLOPs; the
report's ``benchmark.md`` and the table the generic latency, memory and Pareto figures draw), and
for runs of several settings (dtype, compile, image batch), `settings_table` (every setting, its
speed-up and agreement) and `fast_settings_table` (each model's plain setting beside its fastest
one whose masks agree with float32 eager, the report's ``fast_settings.md``); the agreement itself
is the agreement protocol's (`samkit.eval.agreement`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval.agreement import agreement_table, flag_agreement
from samkit.eval.protocol import Protocol, Section, failure_row, row_header, unsupported_error
from samkit.fast_settings import setting_label
from samkit.metrics.perf import count_flops, count_parameters, measure_peak_memory, time_call
from samkit.params import check_int
from samkit.rows import new_run_id, rows_to_frame, save_results
from samkit.wording import RANDOM_WEIGHTS_WARNING, device_label, group_weights_kind, joined, present

__all__ = [
    "run_benchmark",
    "PHASES",
    "PHASE_CAPABILITY",
    "benchmark_image",
    "BenchmarkParams",
    "PROTOCOL",
    "BENCHMARK_KEYS",
    "benchmark_table",
    "settings_table",
    "fast_settings_table",
]

#: every phase the benchmark can time, in order (see the module docstring); all but ``set_images`` by default
PHASES = ("set_image", "predict_point", "predict_box", "predict_boxes_batch", "end_to_end", "generate", "set_images")
DEFAULT_PHASES = PHASES[:-1]
"""The phases run unless ``phases`` says otherwise (``set_images`` only with an image batch)."""
PHASE_CAPABILITY: dict[str, str | None] = {
    "set_image": None,
    "set_images": None,
    "predict_point": "points",
    "predict_box": "box",
    "predict_boxes_batch": "box",
    "end_to_end": "points",
    "generate": "automatic",
}
"""The model capability each phase needs; a model without it gets an ``unsupported`` row."""


def benchmark_image(size: int) -> np.ndarray:
    """scikit-image's astronaut photo resized to ``size`` x ``size`` (HxWx3 uint8): real content, fixed."""
    import skimage.data
    import skimage.transform

    image = skimage.data.astronaut()
    if image.shape[0] != size:
        image = skimage.transform.resize(image, (size, size), preserve_range=True, anti_aliasing=True)
    return np.ascontiguousarray(image.round().astype(np.uint8))


def _phase_calls(
    model: Any, image: np.ndarray, batch: int, generate_params: dict[str, Any], image_batch: int = 1
) -> dict[str, Callable[[], Any]]:
    h, w = image.shape[:2]
    point = dict(point_coords=np.array([[w // 2, h // 2]]), point_labels=np.array([1]))
    box = np.array([w * 0.25, h * 0.25, w * 0.75, h * 0.75])
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, [w, h], size=(batch, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return {
        "set_image": lambda: model.set_image(image),
        "predict_point": lambda: model.predict(**point),
        "predict_box": lambda: model.predict(box=box, multimask_output=False),
        "predict_boxes_batch": lambda: model.predict_boxes(boxes),
        "end_to_end": lambda: (model.set_image(image), model.predict(**point)),
        "generate": lambda: model.generate(image, **generate_params),
        "set_images": lambda: model.set_images([image] * image_batch),
    }


def run_benchmark(
    model: Any,
    *,
    image_size: int = 1024,
    batch: int = 8,
    warmup: int = 2,
    repeats: int = 10,
    phases: Sequence[str] = DEFAULT_PHASES,
    image_batch: int = 1,
    flops: bool = True,
    memory: bool = True,
    generate_params: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> pd.DataFrame:
    """One row per phase: ``median_ms``, ``p95_ms``, ``mean_ms``, ``peak_mem_mib``, ``flops`` and more.

    ``flops`` counts one call of the phase with ``FlopCounterMode`` (a multiply-add = 2 FLOPs;
    ``generate`` is not counted). A phase that fails gives a row whose ``status`` is
    `samkit.errors.failure_status` of the error (``oom``, ``unsupported``, ``error``, ...) and the
    others still run; a phase the model lacks the capability for (`PHASE_CAPABILITY`) is
    ``unsupported`` without being called. ``params`` is the whole model's parameter count, on every
    row.
    """
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        raise ValueError(f"Unknown benchmark phase(s) {unknown}; phases: {', '.join(PHASES)}")
    repeats = check_int("repeats", repeats, low=1)
    batch = check_int("batch", batch, low=1)
    image_batch = check_int("image_batch", image_batch, low=1)
    image_size = check_int("image_size", image_size, low=1)
    warmup = check_int("warmup", warmup, low=0)
    generate_params = dict(generate_params or {})
    check = getattr(model, "check_generate_params", None)
    if check is not None and "generate" in phases and "automatic" in model.capabilities:  # fail here, once
        _, generate_params = check(**generate_params)
    image = benchmark_image(image_size)
    calls = _phase_calls(model, image, batch, generate_params, image_batch)
    base = {
        **row_header(model, run_id or new_run_id(), "benchmark", "benchmark", f"astronaut@{image_size}"),
        "image_size": int(image_size),
        "batch": int(batch),
        "image_batch": int(image_batch),
        "compile_ms": getattr(model, "compile_ms", None),
        "params": count_parameters(model.model),
    }
    model.set_image(image)  # predict phases need an embedding
    rows = []
    for phase in phases:
        row = {**base, "prompt": phase, "phase": phase}
        try:
            needs = PHASE_CAPABILITY[phase]
            if needs is not None and needs not in model.capabilities:
                raise unsupported_error(model.name, f"benchmark's {phase}", needs)
            stats = time_call(calls[phase], model.device, warmup=warmup, repeats=repeats)
            row.update(
                median_ms=stats.median_ms,
                p95_ms=stats.p95_ms,
                mean_ms=stats.mean_ms,
                repeats=stats.repeats,
                status="ok",
            )
            if phase == "set_image":
                row["encoder_ms"] = stats.median_ms
            elif phase == "set_images":
                row["per_image_ms"] = row["encoder_ms"] = stats.median_ms / image_batch
            elif phase.startswith("predict"):
                row["decoder_ms"] = stats.median_ms
            if memory:
                mem = measure_peak_memory(calls[phase], model.device)
                row.update(peak_mem_mib=mem.peak_mib, mem_method=mem.method)
            if flops and phase != "generate":
                row["flops"] = count_flops(calls[phase])
        except Exception as err:  # noqa: BLE001 - recorded, the other phases still run
            row = failure_row(row, err)
            _free_cuda(model.device)
        rows.append(row)
    if "set_images" in phases and model.is_image_set:
        model.set_image(image)  # leave one image set, as the other phases do
    return rows_to_frame(rows)


def _free_cuda(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()


@dataclass
class BenchmarkParams:
    """Parameters of the benchmark protocol (see `run_benchmark`)."""

    image_size: int = field(default=1024, metadata={"min": 1})
    batch: int = field(default=8, metadata={"min": 1})
    warmup: int = field(default=2, metadata={"min": 0})
    repeats: int = field(default=10, metadata={"min": 1})
    phases: list[str] = field(default_factory=lambda: list(DEFAULT_PHASES), metadata={"choices": PHASES})
    image_batch: int = field(default=1, metadata={"min": 1})
    flops: bool = True
    memory: bool = True
    generate: dict[str, Any] = field(default_factory=lambda: {"points_per_side": 32})


def _run(
    model: Any,
    dataset: Any,
    p: BenchmarkParams,
    *,
    run_id: str,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    frame = run_benchmark(
        model,
        image_size=p.image_size,
        batch=p.batch,
        warmup=p.warmup,
        repeats=p.repeats,
        phases=p.phases,
        image_batch=p.image_batch,
        flops=p.flops,
        memory=p.memory,
        generate_params=p.generate,
        run_id=run_id,
    )
    if out_path is not None:
        save_results(frame, out_path)
    return frame


def summarize_benchmark(rows: pd.DataFrame) -> dict[str, Any]:
    """``<phase>_ms``: the median over runs of each phase's median latency; ``params_M``."""
    out: dict[str, Any] = {
        f"{phase}_ms": group["median_ms"].astype(float).median() for phase, group in rows.groupby("phase", sort=False)
    }
    if "params" in rows.columns and rows["params"].notna().any():
        out["params_M"] = rows["params"].astype(float).max() / 1e6
    return out


# ------------------------------------------------------------------------------------------ tables

BENCHMARK_KEYS: list[str] = [
    "model",
    "weights",
    "device",
    "device_name",
    "dtype",
    "compile",
    "image_batch",
    "image_size",
    "batch",
]
"""One `benchmark_table` row per distinct combination of these columns."""

_BENCH_EXTRA = [
    "phase",
    "median_ms",
    "p95_ms",
    "mean_ms",
    "repeats",
    "mem_method",
    "params",
    "flops",
    "image_size",
    "batch",
    "device_name",
    "compile",
    "image_batch",
    "compile_ms",
    "per_image_ms",
]
_BENCH_NUMERIC = [
    "median_ms",
    "p95_ms",
    "mean_ms",
    "repeats",
    "peak_mem_mib",
    "params",
    "flops",
    "compile_ms",
    "per_image_ms",
]


def _phase_order(phases: Iterable[Any]) -> list[str]:
    names = {str(p) for p in phases if present(p)}
    return [p for p in PHASES if p in names] + sorted(names - set(PHASES))


def _benchmark_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if "protocol" not in frame.columns:
        return frame.iloc[0:0].copy()
    rows = frame[frame["protocol"].astype("string") == "benchmark"].copy()
    for col in _BENCH_EXTRA + ["family", "status", "peak_mem_mib", "weights_kind", "weights_official"]:
        if col not in rows.columns:
            rows[col] = pd.NA
    for col in _BENCH_NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    # runs from before the fast settings: eager, one image a call
    rows["compile"] = rows["compile"].astype("boolean").fillna(False)
    rows["image_batch"] = pd.to_numeric(rows["image_batch"], errors="coerce").fillna(1).astype("int64")
    return rows


def benchmark_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Pivot benchmark rows: one row per `BENCHMARK_KEYS` (model, weights, device, device_name,
    dtype, compile, image_batch, image_size, batch).

    Columns, after the keys, ``family``, ``weights_kind`` and ``device_label``:

    - ``params_M``: parameters in millions (the rows' ``params``, a whole-model count);
    - ``GFLOPs``: one image + one prompt: the ``end_to_end`` phase's ``flops`` where measured,
      otherwise ``set_image`` + ``predict_point`` where both are; else empty;
    - per phase (``PHASES`` order, then others): ``<phase>_ms`` (median), ``<phase>_p95_ms``,
      ``<phase>_peak_mib``, ``<phase>_GFLOPs`` (only for phases with a ``flops`` value anywhere);
    - ``mem_method`` (how memory was measured), ``repeats`` (fewest timed repeats behind a
      number), ``errors`` / ``skipped`` (rows of that status), ``note`` (`RANDOM_WEIGHTS_WARNING`
      for random weights, else empty);
    - ``compile_ms``: the encoder's compilation at load time (compiled runs; never in a timed call);
      ``set_images_per_image_ms``: the ``set_images`` phase's median / ``image_batch``.

    Only ``status == "ok"`` rows (or rows without a status) give numbers. Where several rows measure
    the same phase of one configuration (merged runs), the median is the median of their medians,
    p95 and peak memory the largest.
    """
    rows = _benchmark_rows(frame)
    status = rows["status"].astype("string").fillna("ok")
    ok = rows[status == "ok"]
    phases = _phase_order(rows["phase"])  # a phase that only failed still gets its (empty) columns
    flop_phases = [p for p in phases if ok.loc[ok["phase"] == p, "flops"].notna().any()]

    out: list[dict[str, Any]] = []
    for key, group in rows.groupby(BENCHMARK_KEYS, dropna=False, sort=False):
        rec: dict[str, Any] = dict(zip(BENCHMARK_KEYS, key))
        rec["family"] = joined(group["family"])
        rec["weights_kind"] = group_weights_kind(group)
        rec["device_label"] = device_label(rec["device"], rec["device_name"])
        g_status = group["status"].astype("string").fillna("ok")
        g = group[g_status == "ok"]
        params = g["params"].dropna()
        rec["params_M"] = params.max() / 1e6 if len(params) else np.nan
        by_phase = {p: g[g["phase"] == p] for p in phases}
        flops = {p: (by_phase[p]["flops"].max() if by_phase[p]["flops"].notna().any() else np.nan) for p in phases}
        if not math.isnan(flops.get("end_to_end", np.nan)):
            total = flops["end_to_end"]
        elif not (math.isnan(flops.get("set_image", np.nan)) or math.isnan(flops.get("predict_point", np.nan))):
            total = flops["set_image"] + flops["predict_point"]
        else:
            total = np.nan
        rec["GFLOPs"] = total / 1e9
        for p in phases:
            rec[f"{p}_ms"] = by_phase[p]["median_ms"].median()
        for p in phases:
            rec[f"{p}_p95_ms"] = by_phase[p]["p95_ms"].max()
        for p in phases:
            rec[f"{p}_peak_mib"] = by_phase[p]["peak_mem_mib"].max()
        for p in flop_phases:
            rec[f"{p}_GFLOPs"] = flops[p] / 1e9
        compile_ms = g["compile_ms"].dropna()
        rec["compile_ms"] = compile_ms.max() if len(compile_ms) else np.nan
        rec["set_images_per_image_ms"] = (
            by_phase["set_images"]["per_image_ms"].median() if "set_images" in by_phase else np.nan
        )
        rec["mem_method"] = joined(g["mem_method"])
        repeats = g["repeats"].dropna()
        rec["repeats"] = int(repeats.min()) if len(repeats) else pd.NA
        rec["errors"] = int((g_status == "error").sum())
        rec["skipped"] = int((g_status == "skipped").sum())
        rec["note"] = RANDOM_WEIGHTS_WARNING if rec["weights_kind"] == "random" else ""
        out.append(rec)

    columns = (
        [
            "model",
            "family",
            "weights",
            "weights_kind",
            "device",
            "device_name",
            "device_label",
            "dtype",
            "compile",
            "image_batch",
            "image_size",
            "batch",
            "params_M",
            "GFLOPs",
        ]
        + [f"{p}_ms" for p in phases]
        + [f"{p}_p95_ms" for p in phases]
        + [f"{p}_peak_mib" for p in phases]
        + [f"{p}_GFLOPs" for p in flop_phases]
        + ["compile_ms", "set_images_per_image_ms", "mem_method", "repeats", "errors", "skipped", "note"]
    )
    table = pd.DataFrame(out, columns=columns)
    for col in ("image_size", "batch"):  # whole numbers stay whole (NaN made them float)
        values = pd.to_numeric(table[col], errors="coerce")
        if values.notna().sum() == table[col].map(present).sum() and (values.dropna() % 1 == 0).all():
            table[col] = values.astype("Int64")
    table["repeats"] = table["repeats"].astype("Int64")
    return table


def settings_table(bench_rows: pd.DataFrame, agreement_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every benchmarked setting: ``setting`` label, ``encoder_ms`` per image (``set_images`` per
    image with an image batch, else ``set_image``), ``predict_point_ms``, ``compile_ms``, the
    speed-up of the encoder against the same model's plain setting, and the agreement columns."""
    bench = benchmark_table(bench_rows)
    if not len(bench):
        return pd.DataFrame()
    agreement = agreement_table(agreement_rows) if agreement_rows is not None else pd.DataFrame()
    bench = flag_agreement(bench, agreement)
    per_image = bench.get("set_images_per_image_ms", pd.Series(np.nan, index=bench.index))
    single = bench.get("set_image_ms", pd.Series(np.nan, index=bench.index))
    bench["encoder_ms"] = np.where((bench["image_batch"] > 1) | single.isna(), per_image, single)
    bench["setting"] = [
        setting_label(d, c, b) for d, c, b in zip(bench["dtype"], bench["compile"], bench["image_batch"])
    ]
    bench["plain"] = (bench["dtype"] == "float32") & ~bench["compile"] & (bench["image_batch"] == 1)
    group = ["model", "weights", "device", "image_size"]
    plain = bench[bench["plain"]].groupby(group, dropna=False)["encoder_ms"].min().rename("plain_encoder_ms")
    bench = bench.merge(plain.reset_index(), on=group, how="left")
    bench["speedup"] = bench["plain_encoder_ms"] / bench["encoder_ms"]
    keep = [
        "model",
        "weights",
        "weights_kind",
        "device",
        "device_label",
        "image_size",
        "setting",
        "dtype",
        "compile",
        "image_batch",
        "encoder_ms",
        "predict_point_ms",
        "compile_ms",
        "speedup",
        "agreement_mIoU",
        "agreement_flag",
        "note",
    ]
    return bench[[c for c in keep if c in bench.columns]]


def fast_settings_table(bench_rows: pd.DataFrame, agreement_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model (weights, device, image size), the plain setting (float32, eager, one image a
    call) beside the best one, with the speed-up of the encoder time per image.

    ``best_*``: the fastest setting (encoder ms per image) whose agreement is measured and
    >= 0.99 (float32 eager counts, being the reference); ``fastest_*``: the fastest of all, with
    its ``fastest_flag`` when it is not safe (below the threshold, or not measured).
    """
    table = settings_table(bench_rows, agreement_rows)
    columns = [
        "model",
        "weights",
        "weights_kind",
        "device",
        "device_label",
        "image_size",
        "plain_encoder_ms",
        "plain_predict_point_ms",
        "best_setting",
        "best_encoder_ms",
        "best_predict_point_ms",
        "speedup",
        "best_agreement_mIoU",
        "best_compile_ms",
        "fastest_setting",
        "fastest_speedup",
        "fastest_agreement_mIoU",
        "fastest_flag",
        "note",
    ]
    if not len(table):
        return pd.DataFrame(columns=columns)
    out = []
    for _, group in table.groupby(["model", "weights", "device", "image_size"], dropna=False, sort=False):
        timed = group[group["encoder_ms"].notna()]
        plain = timed[(timed["dtype"] == "float32") & ~timed["compile"] & (timed["image_batch"] == 1)]
        safe = timed[timed["agreement_flag"] == ""]
        first = group.iloc[0]
        rec: dict[str, Any] = {
            c: first[c] for c in ("model", "weights", "weights_kind", "device", "device_label", "image_size", "note")
        }
        p = plain.loc[plain["encoder_ms"].idxmin()] if len(plain) else None
        b = safe.loc[safe["encoder_ms"].idxmin()] if len(safe) else None
        f = timed.loc[timed["encoder_ms"].idxmin()] if len(timed) else None
        rec["plain_encoder_ms"] = p["encoder_ms"] if p is not None else np.nan
        rec["plain_predict_point_ms"] = p.get("predict_point_ms", np.nan) if p is not None else np.nan
        if b is not None:
            rec.update(
                best_setting=b["setting"],
                best_encoder_ms=b["encoder_ms"],
                best_predict_point_ms=b.get("predict_point_ms", np.nan),
                speedup=b["speedup"],
                best_agreement_mIoU=b["agreement_mIoU"],
                best_compile_ms=b.get("compile_ms", np.nan),
            )
        if f is not None:
            rec.update(
                fastest_setting=f["setting"],
                fastest_speedup=f["speedup"],
                fastest_agreement_mIoU=f["agreement_mIoU"],
                fastest_flag=f["agreement_flag"],
            )
        out.append(rec)
    return pd.DataFrame(out, columns=columns)


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``benchmark``: `benchmark_table`; where the rows have other settings than float32 eager (or
    agreement rows), with each setting's ``agreement_mIoU`` / ``agreement_flag``, and then
    ``fast_settings``: `fast_settings_table` (after the agreement protocol's ``agreement`` table)."""
    bench = benchmark_table(rows)
    agreement = agreement_table(rows)
    fast_settings = len(agreement) or (
        len(bench) and ((bench["dtype"].astype("string") != "float32") | bench["compile"].astype(bool)).any()
    )
    sections = []
    if len(bench):
        if fast_settings:  # every table that shows a setting's speed shows its agreement
            bench = flag_agreement(bench, agreement)
        sections.append(
            Section(
                "benchmark",
                "Benchmark: latency (median / p95 ms), peak memory, size",
                table=bench,
                order=10,
                in_index=True,
            )
        )
    if fast_settings:
        best = fast_settings_table(rows, rows)
        if len(best):
            sections.append(
                Section(
                    "fast_settings",
                    "Fast settings: each model's plain setting beside "
                    "its fastest one with agreement >= 0.99 (encoder ms per image)",
                    table=best,
                    order=30,
                )
            )
    return sections


#: the registered ``benchmark`` protocol (`samkit.eval.get_protocol("benchmark")`)
PROTOCOL = Protocol(
    name="benchmark",
    description="latency (median / p95 ms), peak memory, parameters and FLOPs per phase",
    capability=None,
    params=BenchmarkParams,
    runner=_run,
    summarizer=summarize_benchmark,
    uses_dataset=False,
    accuracy=False,
    performance_table=benchmark_table,
    report_sections=report_sections,
)
