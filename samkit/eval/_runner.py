"""What the dataset runners share: the image phase, skipped rows, incremental saving, the image loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.eval.protocol import failure_row, row_header
from samkit.metrics.perf import measure_peak_memory, timed
from samkit.rows import new_run_id, rows_to_frame, save_results


def embed(model: Any, image: Any) -> dict[str, Any]:
    """``model.set_image(image)``, timed and with its peak memory: the row fields of the image phase.

    ``peak_mem_mib`` is the phase's peak (CUDA: allocator peak; CPU: the process's peak resident
    set, which includes the loaded model and libraries); ``mem_method`` names which.
    """
    timing: list[float] = []
    memory = measure_peak_memory(
        lambda: timing.append(timed(lambda: model.set_image(image), model.device)[1]), model.device
    )
    return {"encoder_ms": timing[0], "peak_mem_mib": memory.peak_mib, "mem_method": memory.method}


def embed_images(model: Any, images: list[Any]) -> list[dict[str, Any]]:
    """``model.set_images(images)`` (batched encoder passes where the family has them), timed and
    with its peak memory: the image-phase row fields of each image.

    ``encoder_ms`` is the call's time divided by the number of images (each image's share),
    ``peak_mem_mib`` the call's peak, ``image_batch`` the number of images it embedded.
    """
    timing: list[float] = []
    memory = measure_peak_memory(
        lambda: timing.append(timed(lambda: model.set_images(images), model.device)[1]), model.device
    )
    share = timing[0] / len(images)
    return [
        {"encoder_ms": share, "peak_mem_mib": memory.peak_mib, "mem_method": memory.method, "image_batch": len(images)}
        for _ in images
    ]


def check_image_batch(image_batch: Any) -> int:
    """``image_batch`` of a protocol: an int >= 1 (images per `Segmenter.set_images` call)."""
    if isinstance(image_batch, bool) or not isinstance(image_batch, int) or image_batch < 1:
        raise ValueError(f"image_batch must be an int >= 1, got {image_batch!r}")
    return image_batch


def embedded(
    model: Any, samples: Iterable[Any], image_batch: int = 1, wanted: Callable[[Any], bool] | None = None
) -> Iterator[tuple[Any, dict[str, Any] | None, BaseException | None]]:
    """The image phase of a dataset loop, ``image_batch`` images at a time.

    Yields ``(sample, image_phase, error)`` for every sample in order; when a sample is yielded
    its image is the model's current image. ``image_batch=1``: ``set_image`` per image (`embed`,
    ``image_batch`` 1 in the row fields); more: consecutive samples are embedded together by one
    ``set_images`` call (`embed_images`) and made current in turn with ``select_image``. Samples
    for which ``wanted(sample)`` is False are not embedded (phase None); an embedding failure is
    the ``error`` of every sample it would have embedded.
    """

    def want(sample: Any) -> bool:
        try:
            return wanted is None or bool(wanted(sample))
        except Exception:  # noqa: BLE001 - the runner's own code meets the error again
            return True

    group: list[Any] = []

    def flush() -> Iterator[tuple[Any, dict[str, Any] | None, BaseException | None]]:
        keep = [s for s in group if want(s)]
        phases: list[dict[str, Any]] = []
        error: BaseException | None = None
        try:
            if image_batch == 1 and keep:
                phases = [{**embed(model, keep[0].image), "image_batch": 1}]
            elif keep:
                phases = embed_images(model, [s.image for s in keep])
        except Exception as err:  # noqa: BLE001 - recorded by the runner; the run goes on
            error = err
        index = {id(s): i for i, s in enumerate(keep)}
        for sample in group:
            i = index.get(id(sample))
            if i is None:
                yield sample, None, None
            elif error is not None:
                yield sample, None, error
            else:
                if image_batch > 1:
                    model.select_image(i)
                yield sample, phases[i], None

    for sample in samples:
        group.append(sample)
        if len(group) == image_batch:
            yield from flush()
            group = []
    if group:
        yield from flush()


def skipped_rows(base: dict[str, Any], skipped: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for objects the loader skipped (crowd, tiny, empty): counted, never silently dropped."""
    return [
        {**base, "object_id": str(s.get("object_id")), "status": "skipped", "error": str(s.get("reason"))}
        for s in skipped
    ]


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


def run_objects(
    model: Any,
    dataset: Iterable[Any],
    sink: RowSink,
    run_id: str,
    protocol: str,
    object_rows: Callable[[Any, int, dict[str, Any]], list[dict[str, Any]]],
    progress: bool = True,
    image_batch: int = 1,
) -> pd.DataFrame:
    """The image loop of the per-object protocols (interactive, box).

    For each image not already done: embed it once (time and peak memory; ``image_batch``
    images per ``set_images`` call, see `embedded`), then for each object call
    ``object_rows(sample, index, row_base)``. Skipped objects, empty masks and failures become
    rows (the run goes on); the rows are saved after every image.
    """
    from tqdm.auto import tqdm

    pending = (
        s
        for s in tqdm(dataset, desc=f"{protocol} {model.name}", unit="image", disable=not progress)
        if not sink.done(s.image_id)
    )
    for sample, image_phase, error in embedded(model, pending, image_batch):
        base = row_header(model, run_id, protocol, sample.dataset, sample.image_id)
        sink.extend(skipped_rows(base, sample.skipped))
        if error is not None:  # recorded as an error row; the run goes on
            sink.extend([failure_row(base, error)])
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
                sink.extend([failure_row(obj, err)])
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
