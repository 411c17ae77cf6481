"""Video protocol: semi-supervised video object segmentation on DAVIS-layout data -> J&F.

Per sequence: ``model.video(frames)``; each object is prompted on its first annotated frame with its
ground-truth mask (``prompt="mask"``, DAVIS's semi-supervised setting), its box (``"box"``) or
``clicks`` simulated clicks (``"points"``: SAM's first click farthest from the boundary, then RITM's
clicks against the model's own mask on that frame); then one forward propagation from the
earliest prompted frame tracks all objects together. Each object is scored on the annotated frames
with `samkit.metrics.j_and_f` (the DAVIS 2017 toolkit's semi-supervised evaluation: first and last
frames not scored, void pixels ignored).

One row per (sequence, object): ``J-Mean``, ``J-Recall``, ``J-Decay``, ``F-Mean``, ``F-Recall``,
``F-Decay``, ``J&F-Mean``, and the sequence's ``init_ms`` (frames opened, first frame embedded),
``prompt_ms`` (all prompts), ``propagate_ms``, ``frames``, ``fps`` (propagated frames per second,
prompting and loading apart) and ``peak_mem_mib`` of the propagation. The summary is DAVIS's:
``J&F`` = mean over all objects of (J-Mean + F-Mean) / 2, ``J``, ``F`` (means over objects), and
``video_fps`` (median over sequences). Its table: `sequence_table` (J&F per sequence, the report's
``video_sequences.md``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from samkit.eval._runner import RowSink, resolve_run_id
from samkit.eval.protocol import Protocol, Section, failure_row, row_header
from samkit.metrics.perf import measure_peak_memory, timed
from samkit.wording import device_label, joined, weights_labels, with_random_warning

__all__ = ["run_video", "VideoParams", "PROTOCOL", "summarize_video", "prompt_of", "SEQUENCE_KEYS", "sequence_table"]

PROMPTS = ("mask", "box", "points")
J_AND_F_KEYS = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "J&F-Mean")


def _obj_int(object_id: str, index: int) -> int:
    """A tracker object id (an int) for a dataset object id: itself if it is an int, else its index."""
    try:
        return int(object_id)
    except ValueError:
        return index + 1


def prompt_of(gt: np.ndarray, kind: str) -> dict[str, Any]:
    """The first prompt of an object from its ground-truth mask on its first frame (HxW bool):
    ``mask`` (the mask), ``box`` (its tight XYXY box, covering whole pixels) or ``points``
    (SAM's first click, the mask pixel farthest from its boundary)."""
    from samkit.masks import mask_box
    from samkit.metrics import next_click

    if kind == "mask":
        return {"mask": gt}
    if kind == "box":
        return {"box": mask_box(gt)}
    x, y, _ = next_click(gt, np.zeros_like(gt))
    return {"point_coords": [[x, y]], "point_labels": [1]}


def _prompt_object(tracker: Any, frame: int, oid: int, gt: np.ndarray, kind: str, clicks: int) -> list:
    """Prompt one object; with ``points``, ``clicks`` RITM clicks against the tracker's own mask."""
    from samkit.metrics import next_click

    prompt = prompt_of(gt, kind)
    out = tracker.add_prompt(frame, oid, **prompt)
    given = [prompt.get("point_coords", [[None, None]])[0] + [True]] if kind == "points" else []
    for _ in range(1, clicks if kind == "points" else 1):
        x, y, positive = next_click(gt, out[oid], [c[:2] for c in given])
        given.append([x, y, positive])
        out = tracker.add_prompt(
            frame, oid, point_coords=[c[:2] for c in given], point_labels=[int(c[2]) for c in given]
        )
    return given


def run_video(
    model: Any,
    dataset: Iterable[Any],
    *,
    prompt: str = "mask",
    clicks: int = 1,
    video_storage: str = "stream",
    offload_state_to_cpu: bool = False,
    run_id: str | None = None,
    out_path: Any = None,
    resume: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (sequence, object) of a `samkit.data.DavisDataset` (see the module docstring).

    Args:
        prompt: ``"mask"``, ``"box"`` or ``"points"`` (from the first annotated frame's mask).
        clicks: simulated clicks per object with ``prompt="points"`` (>= 1).
        video_storage, offload_state_to_cpu: the tracker's memory options (`Segmenter.video`).

    Objects the loader skipped and objects without any annotated pixel are rows with status
    ``skipped``; a sequence that fails (e.g. out of memory) is one failure row and the run goes on.
    """
    if prompt not in PROMPTS:
        raise ValueError(f"prompt must be one of {PROMPTS}, got {prompt!r}")
    if not isinstance(clicks, int) or clicks < 1:
        raise ValueError(f"clicks must be an int >= 1, got {clicks!r}")
    from samkit.metrics import j_and_f

    run_id = resolve_run_id(run_id)
    sink = RowSink(out_path, resume)
    for sample in tqdm(dataset, desc=f"video {model.name}", unit="sequence", disable=not progress):
        if sink.done(sample.sequence):
            continue
        base = {**row_header(model, run_id, "video", sample.dataset, sample.sequence), "prompt": prompt}
        sink.extend(
            [
                {**base, "object_id": str(s.get("object_id")), "status": "skipped", "error": str(s.get("reason"))}
                for s in sample.skipped
            ]
        )
        try:
            folder = sample.frame_paths[0].parent
            tracker, init_ms = timed(
                lambda: model.video(
                    [np.asarray(_read(p)) for p in sample.frame_paths] if _mixed(sample) else folder,
                    video_storage=video_storage,
                    offload_state_to_cpu=offload_state_to_cpu,
                ),
                model.device,
            )
            objects, prompts, start = [], {}, sample.masks.shape[1]
            prompt_ms = 0.0
            for k, object_id in enumerate(sample.object_ids):
                present = np.flatnonzero(sample.masks[k].any(axis=(1, 2)) & sample.annotated)
                if not len(present):
                    sink.extend([{**base, "object_id": object_id, "status": "skipped", "error": "empty"}])
                    continue
                first, oid = int(present[0]), _obj_int(object_id, k)
                given, ms = timed(
                    lambda: _prompt_object(tracker, first, oid, sample.masks[k, first], prompt, clicks), model.device
                )
                prompt_ms += ms
                objects.append((k, object_id, oid, first))
                prompts[object_id] = {"frame": first, "clicks": given}
                start = min(start, first)
            if not objects:
                sink.flush()
                continue
            tracked: dict[int, dict[int, np.ndarray]] = {}
            timing: list[float] = []
            memory = measure_peak_memory(
                lambda: timing.append(
                    timed(lambda: tracked.update(tracker.propagate(start_frame=start)), model.device)[1]
                ),
                model.device,
            )
            propagate_ms, frames = timing[0], len(tracked)
            seq = {
                "init_ms": init_ms,
                "prompt_ms": prompt_ms,
                "propagate_ms": propagate_ms,
                "frames": frames,
                "fps": frames / (propagate_ms / 1000.0) if propagate_ms else np.nan,
                "peak_mem_mib": memory.peak_mib,
                "mem_method": memory.method,
                "video_storage": video_storage,
                "offload_state_to_cpu": offload_state_to_cpu,
            }
            h, w = tracker.size
            annotated = np.flatnonzero(sample.annotated)
            for k, object_id, oid, first in objects:
                empty = np.zeros((h, w), bool)
                pred = np.stack([tracked.get(int(t), {}).get(oid, empty) for t in annotated])
                gt = sample.masks[k, annotated]
                void = sample.void[annotated] if sample.void is not None else None
                scores = j_and_f(gt, pred, void)
                sink.extend(
                    [
                        {
                            **base,
                            **seq,
                            "object_id": object_id,
                            "status": "ok",
                            "prompt_frame": first,
                            "clicks": len(prompts[object_id]["clicks"]) or None,
                            "prompt_detail": json.dumps(prompts[object_id], default=int),
                            **scores,
                        }
                    ]
                )
        except Exception as err:  # noqa: BLE001 - recorded; the run goes on
            sink.extend([failure_row(base, err)])
        sink.flush()
    return sink.frame()


def _read(path: Any) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _mixed(sample: Any) -> bool:
    """True when the sequence's frames are not a folder of integer-named JPEGs alone (then read
    them here, in the dataset's order, rather than by the folder's)."""
    names = [p.stem for p in sample.frame_paths]
    folder = sample.frame_paths[0].parent
    in_folder = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    return (
        len(in_folder) != len(names)
        or not all(n.isdigit() for n in names)
        or [int(n) for n in names] != sorted(int(n) for n in names)
    )


@dataclass
class VideoParams:
    """Parameters of the video protocol (see `run_video`)."""

    prompt: str = field(default="mask", metadata={"choices": PROMPTS})
    clicks: int = field(default=1, metadata={"min": 1})
    video_storage: str = field(default="stream", metadata={"choices": ("stream", "cpu", "device")})
    offload_state_to_cpu: bool = False


def summarize_video(rows: pd.DataFrame) -> dict[str, Any]:
    """DAVIS's global numbers: ``J&F``, ``J``, ``F`` (means over objects) and ``video_fps``
    (median over sequences)."""
    if "J-Mean" not in rows.columns:
        return {}
    j, f = rows["J-Mean"].astype(float), rows["F-Mean"].astype(float)
    out = {"J": j.mean(), "F": f.mean(), "J&F": (j.mean() + f.mean()) / 2}
    if "fps" in rows.columns:
        out["video_fps"] = rows.drop_duplicates(["dataset", "image_id"])["fps"].astype(float).median()
    return out


# ------------------------------------------------------------------------------------------- table

SEQUENCE_KEYS = ["model", "weights", "device", "dtype", "dataset", "image_id"]
"""One `sequence_table` row per video sequence of one configuration."""


def sequence_table(frame: pd.DataFrame) -> pd.DataFrame:
    """J&F per sequence of the video protocol's rows: one row per (model, weights, device, dtype,
    dataset, sequence) with ``sequence``, ``objects``, ``J&F`` (mean over its objects of
    ``J&F-Mean``), ``J``, ``F``, ``frames``, ``fps`` and ``peak_mem_mib``, plus ``weights_kind``,
    ``device_label`` and a ``note`` that carries the random-weights warning; empty without such rows.
    The per-model numbers (DAVIS's global J&F over all objects) are in the accuracy table
    (`samkit.eval.summary.accuracy_table`)."""
    if "protocol" not in frame.columns or "J-Mean" not in frame.columns:
        return pd.DataFrame()
    rows = frame[(frame["protocol"].astype("string") == "video") & (frame["status"] == "ok")].copy()
    if not len(rows):
        return pd.DataFrame()
    rows["weights_kind"] = weights_labels(rows)
    for col in ("device_name", "frames", "fps", "peak_mem_mib"):
        if col not in rows.columns:
            rows[col] = np.nan
    keyed = rows.assign(**{k: rows[k].astype("string").fillna("") for k in SEQUENCE_KEYS})
    out = (
        keyed.groupby(SEQUENCE_KEYS, sort=False)
        .agg(
            weights_kind=("weights_kind", joined),
            device_name=("device_name", joined),
            objects=("object_id", "nunique"),
            J=("J-Mean", "mean"),
            F=("F-Mean", "mean"),
            jf=("J&F-Mean", "mean"),
            frames=("frames", "max"),
            fps=("fps", "median"),
            peak_mem_mib=("peak_mem_mib", "max"),
        )
        .reset_index()
        .rename(columns={"image_id": "sequence", "jf": "J&F"})
    )
    out.insert(
        out.columns.get_loc("device") + 1,
        "device_label",
        [device_label(d, n) for d, n in zip(out["device"], out["device_name"])],
    )
    out["note"] = [with_random_warning("", k == "random") for k in out["weights_kind"]]
    first = [
        "model",
        "weights",
        "weights_kind",
        "device",
        "device_label",
        "dtype",
        "dataset",
        "sequence",
        "objects",
        "J&F",
        "J",
        "F",
        "frames",
        "fps",
        "peak_mem_mib",
        "note",
    ]
    return out[first]


def report_sections(rows: pd.DataFrame, published: pd.DataFrame | None = None) -> list[Section]:
    """``video_sequences``: `sequence_table` (where the rows have video rows)."""
    sequences = sequence_table(rows)
    if not len(sequences):
        return []
    return [Section("video_sequences", "Video: J&F per sequence (DAVIS semi-supervised)", table=sequences, order=50)]


#: the registered ``video`` protocol (`samkit.eval.get_protocol("video")`)
PROTOCOL = Protocol(
    name="video",
    description="semi-supervised video object segmentation on DAVIS-layout data -> J&F",
    capability="video",
    params=VideoParams,
    runner=lambda model, dataset, p, **common: run_video(
        model,
        dataset,
        prompt=p.prompt,
        clicks=p.clicks,
        video_storage=p.video_storage,
        offload_state_to_cpu=p.offload_state_to_cpu,
        **common,
    ),
    summarizer=summarize_video,
    report_sections=report_sections,
)
