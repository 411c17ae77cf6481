"""What every runner shares: row headers, timing of one call, error rows, incremental saving."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from samkit.metrics.perf import measure_peak_memory, synchronize
from samkit.results import device_name, new_run_id, rows_to_frame, save_results


def timed_ms(fn: Callable[[], Any], device: Any) -> tuple[Any, float]:
    """``(fn(), milliseconds)``, synchronising CUDA around the call."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, (time.perf_counter() - start) * 1e3


def embed(model: Any, image: Any) -> dict[str, Any]:
    """``model.set_image(image)``, timed and with its peak memory: the row fields of the image phase.

    ``peak_mem_mib`` is the phase's peak (CUDA: allocator peak; CPU: the process's peak resident
    set, which includes the loaded model and libraries); ``mem_method`` names which.
    """
    timing: list[float] = []
    memory = measure_peak_memory(lambda: timing.append(timed_ms(lambda: model.set_image(image),
                                                                model.device)[1]), model.device)
    return {"encoder_ms": timing[0], "peak_mem_mib": memory.peak_mib, "mem_method": memory.method}


def header(model: Any, run_id: str, dataset: str, image_id: str, protocol: str) -> dict[str, Any]:
    """The identifying columns of a row."""
    dtype = getattr(model, "dtype", None) or str(next(model.model.parameters()).dtype).replace("torch.", "")
    return {
        "run_id": run_id, "model": model.name, "family": model.family, "weights": str(model.weights),
        "device": str(model.device), "dtype": dtype, "dataset": dataset, "image_id": image_id,
        "protocol": protocol, "device_name": device_name(model.device),
    }


def error_row(base: dict[str, Any], err: BaseException, object_id: str | None = None) -> dict[str, Any]:
    """A row that records a failure (status ``oom``, ``error``, ...), so the run goes on and it is counted."""
    from samkit.jobs import failure_status

    last = traceback.format_exception_only(type(err), err)[-1].strip()
    return {**base, "object_id": object_id, "status": failure_status(err), "error": last[:500]}


def skipped_rows(base: dict[str, Any], skipped: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for objects the loader skipped (crowd, tiny, empty): counted, never silently dropped."""
    return [{**base, "object_id": str(s.get("object_id")), "status": "skipped",
             "error": str(s.get("reason"))} for s in skipped]


class RowSink:
    """Collects rows; with ``out_path``, saves them atomically after every image.

    With ``resume`` and an existing ``out_path`` (rows of an interrupted run, saved image by image),
    those rows are kept and `done` tells the runner which images to skip, so a rerun loses and
    duplicates nothing.
    """

    def __init__(self, out_path: Any = None, resume: bool = False) -> None:
        self.rows: list[dict[str, Any]] = []
        self.out_path = out_path
        self._done: set[str] = set()
        if resume and out_path is not None and Path(out_path).is_file():
            previous = pd.read_parquet(out_path)
            self.rows = previous.to_dict("records")
            self._done = set(previous["image_id"].dropna().astype(str))

    def done(self, image_id: str) -> bool:
        """True when an earlier, interrupted run already finished this image."""
        return str(image_id) in self._done

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows.extend(rows)

    def flush(self) -> None:
        if self.out_path is not None and self.rows:
            save_results(rows_to_frame(self.rows), self.out_path)

    def frame(self) -> pd.DataFrame:
        self.flush()
        return rows_to_frame(self.rows)


def run_objects(model: Any, dataset: Iterable[Any], sink: RowSink, run_id: str, protocol: str,
                object_rows: Callable[[Any, int, dict[str, Any]], list[dict[str, Any]]],
                progress: bool = True) -> pd.DataFrame:
    """The image loop of the per-object protocols (interactive, box).

    For each image not already done: embed it once (time and peak memory), then for each object
    call ``object_rows(sample, index, row_base)``. Skipped objects, empty masks and failures become
    rows (the run goes on); the rows are saved after every image.
    """
    from tqdm.auto import tqdm

    for sample in tqdm(dataset, desc=f"{protocol} {model.name}", unit="image", disable=not progress):
        if sink.done(sample.image_id):
            continue
        base = header(model, run_id, sample.dataset, sample.image_id, protocol)
        sink.extend(skipped_rows(base, sample.skipped))
        try:
            image_phase = embed(model, sample.image)
        except Exception as err:  # noqa: BLE001 - recorded as an error row; the run goes on
            sink.extend([error_row(base, err)])
            sink.flush()
            continue
        for index, object_id in enumerate(sample.object_ids):
            obj = {**base, "object_id": str(object_id), **image_phase}
            if not sample.masks[index].any():
                sink.extend([{**obj, "status": "skipped", "error": "empty"}])
                continue
            try:
                sink.extend(object_rows(sample, index, obj))
            except Exception as err:  # noqa: BLE001
                sink.extend([error_row(obj, err, str(object_id))])
        sink.flush()
    return sink.frame()


def warm_up(model: Any, dataset: Iterable[Any]) -> None:
    """One untimed set_image + predict, so that no timed call is the first."""
    for sample in dataset:
        model.set_image(sample.image)
        h, w = sample.image.shape[:2]
        model.predict(point_coords=[[w // 2, h // 2]], point_labels=[1])
        return


def resolve_run_id(run_id: str | None) -> str:
    return run_id or new_run_id()
