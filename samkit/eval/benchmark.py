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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samkit.eval.protocol import Protocol, failure_row, row_header, unsupported_error
from samkit.metrics.perf import count_flops, count_parameters, measure_peak_memory, time_call
from samkit.rows import new_run_id, rows_to_frame, save_results

__all__ = ["run_benchmark", "PHASES", "PHASE_CAPABILITY", "benchmark_image", "BenchmarkParams",
           "PROTOCOL"]

PHASES = ("set_image", "predict_point", "predict_box", "predict_boxes_batch", "end_to_end", "generate",
          "set_images")
DEFAULT_PHASES = PHASES[:-1]
"""The phases run unless ``phases`` says otherwise (``set_images`` only with an image batch)."""
PHASE_CAPABILITY: dict[str, str | None] = {
    "set_image": None, "set_images": None, "predict_point": "points", "predict_box": "box", "predict_boxes_batch": "box",
    "end_to_end": "points", "generate": "automatic",
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


def _phase_calls(model: Any, image: np.ndarray, batch: int, generate_params: dict[str, Any],
                 image_batch: int = 1) -> dict[str, Callable[[], Any]]:
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
    if repeats < 1 or warmup < 0 or batch < 1 or image_size < 1 or image_batch < 1:
        raise ValueError("repeats, batch and image_batch must be >= 1, warmup >= 0, image_size >= 1")
    image = benchmark_image(image_size)
    calls = _phase_calls(model, image, batch, dict(generate_params or {}), int(image_batch))
    base = {**row_header(model, run_id or new_run_id(), "benchmark", "benchmark",
                         f"astronaut@{image_size}"),
            "image_size": int(image_size), "batch": int(batch), "image_batch": int(image_batch),
            "compile_ms": getattr(model, "compile_ms", None), "params": count_parameters(model.model)}
    model.set_image(image)  # predict phases need an embedding
    rows = []
    for phase in phases:
        row = {**base, "prompt": phase, "phase": phase}
        try:
            needs = PHASE_CAPABILITY[phase]
            if needs is not None and needs not in model.capabilities:
                raise unsupported_error(model.name, f"benchmark's {phase}", needs)
            stats = time_call(calls[phase], model.device, warmup=warmup, repeats=repeats)
            row.update(median_ms=stats.median_ms, p95_ms=stats.p95_ms, mean_ms=stats.mean_ms,
                       repeats=stats.repeats, status="ok")
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


def _run(model: Any, dataset: Any, p: BenchmarkParams, *, run_id: str, out_path: Any = None,
         resume: bool = False, progress: bool = True) -> pd.DataFrame:
    frame = run_benchmark(model, image_size=p.image_size, batch=p.batch, warmup=p.warmup,
                          repeats=p.repeats, phases=p.phases, image_batch=p.image_batch,
                          flops=p.flops, memory=p.memory,
                          generate_params=p.generate, run_id=run_id)
    if out_path is not None:
        save_results(frame, out_path)
    return frame


def summarize_benchmark(rows: pd.DataFrame) -> dict[str, Any]:
    """``<phase>_ms``: the median over runs of each phase's median latency; ``params_M``."""
    out: dict[str, Any] = {f"{phase}_ms": group["median_ms"].astype(float).median()
                           for phase, group in rows.groupby("phase", sort=False)}
    if "params" in rows.columns and rows["params"].notna().any():
        out["params_M"] = rows["params"].astype(float).max() / 1e6
    return out


PROTOCOL = Protocol(
    name="benchmark",
    description="latency (median / p95 ms), peak memory, parameters and FLOPs per phase",
    capability=None,
    params=BenchmarkParams,
    runner=_run,
    summarizer=summarize_benchmark,
    uses_dataset=False,
)
